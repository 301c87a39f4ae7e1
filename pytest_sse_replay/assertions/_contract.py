"""`Contract`: a stream's ordering rules stated once, checked in one call, all failures at once."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

from ..cassette import Cassette, StrPath
from ..sse import Event
from ._eventlog import EventLog, snapshot
from ._rules import (
    Failure,
    Stream,
    check_before,
    check_count,
    check_first,
    check_increasing,
    check_last,
    check_once,
    check_order,
    check_pairs,
    check_terminal,
    check_within,
)
from ._timeline import raise_failures, render

__all__ = ["Contract", "RuleResult"]

_Rule = Callable[[Stream], Failure | None]


@dataclass(frozen=True, kw_only=True)
class Contract:
    """Rules for a stream, each the `EventLog` assertion of the same name.

    ```python
    AGENT_RUN = Contract(
        first="job.started",
        order=["job.started", "agent.*", "score.computed?", "complete|error"],
        pairs=[("agent.started", "agent.completed", "agentId")],
        terminal="complete|error",
    )
    AGENT_RUN.check(sse_cassette.events)
    ```

    Fields (all optional, keyword-only):

    - `first`, `last`, `terminal`: one pattern each (`assert_first`, `assert_last`,
      `assert_terminal`).
    - `order`: the patterns of one `assert_order` chain.
    - `before`: `(a, b)` pairs, each an `assert_before(a, b)`.
    - `pairs`: `(open, close, key)` triples, each an `assert_pairs`.
    - `once`: patterns, each an `assert_once`.
    - `count`: pattern -> `n` (exactly) or `(min, max)` (inclusive, either may be None).
    - `increasing`: JSON keys, each an `assert_increasing`.
    - `within`: pattern -> seconds, each an `assert_within`.

    A single string (or a single tuple for `before` and `pairs`) stands for a list of
    one. Patterns and counts are checked when the contract is built (TypeError or
    ValueError), not when it is first used. `check()` applies every rule, in the order
    of the fields above, and raises one AssertionError listing every broken rule, with
    one timeline whose notes say which rule (`[2]`) each mark belongs to. A contract
    without rules passes everything.
    """

    first: str | None = None
    order: Sequence[str] = ()
    before: Sequence[tuple[str, str]] | tuple[str, str] = ()
    pairs: Sequence[tuple[str, str, str]] | tuple[str, str, str] = ()
    once: Sequence[str] = ()
    count: Mapping[str, int | tuple[int | None, int | None]] = field(default_factory=dict)
    terminal: str | None = None
    last: str | None = None
    increasing: Sequence[str] = ()
    within: Mapping[str, float] = field(default_factory=dict)
    _rules: tuple[tuple[str, _Rule], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("order", "once", "increasing"):
            object.__setattr__(self, name, _strings(name, getattr(self, name)))
        before = _tuples("before", self.before, 2)
        pairs = _tuples("pairs", self.pairs, 3)
        object.__setattr__(self, "before", before)
        object.__setattr__(self, "pairs", pairs)
        object.__setattr__(self, "count", _mapping("count", self.count))
        object.__setattr__(self, "within", _mapping("within", self.within))
        partial = functools.partial
        rules: list[tuple[str, _Rule]] = []
        if self.first is not None:
            rules.append((f"first {self.first}", partial(check_first, pattern=self.first)))
        if self.order:
            label = f"order {' < '.join(self.order)}"
            rules.append((label, partial(check_order, patterns=self.order)))
        rules += [(f"before {a} < {b}", partial(check_before, a=a, b=b)) for a, b in before]
        rules += [
            (f"pairs {o} / {c} by {k}", partial(check_pairs, open=o, close=c, key=k))
            for o, c, k in pairs
        ]
        rules += [(f"once {p}", partial(check_once, pattern=p)) for p in self.once]
        rules += [_count_rule(pattern, expected) for pattern, expected in self.count.items()]
        if self.terminal is not None:
            rules.append(
                (f"terminal {self.terminal}", partial(check_terminal, pattern=self.terminal))
            )
        if self.last is not None:
            rules.append((f"last {self.last}", partial(check_last, pattern=self.last)))
        rules += [(f"increasing {k}", partial(check_increasing, key=k)) for k in self.increasing]
        rules += [
            (f"within {p} {_seconds(s)}s", partial(check_within, pattern=p, seconds=s))
            for p, s in self.within.items()
        ]
        # Every check validates its arguments before it looks at the stream: one run on
        # an empty stream raises any TypeError or ValueError now, where the contract is
        # written, rather than in the first test that uses it.
        empty = Stream([])
        for _, rule in rules:
            rule(empty)
        object.__setattr__(self, "_rules", tuple(rules))

    def check(self, events: EventLog | Iterable[Event] | bytes | StrPath | Cassette) -> EventLog:
        """Apply every rule to `events`; return them as an `EventLog` when all hold.

        `events` is an `EventLog` (returned as is), any iterable of `Event`, the raw
        bytes of a stream (`EventLog.from_bytes`), or a cassette path or `Cassette`
        (`EventLog.from_cassette`: the events of all its event streams). Raises one
        AssertionError naming every broken rule.
        """
        __tracebackhide__ = True
        log = _as_log(events)
        stream = snapshot(log)
        failures = [rule(stream) for _, rule in self._rules]
        raise_failures(failures, stream, rules=len(self._rules))
        return log

    def results(
        self, events: EventLog | Iterable[Event] | bytes | StrPath | Cassette
    ) -> list[RuleResult]:
        """Each rule applied to `events` on its own, in the order `check` applies them: what a
        report shows rule by rule (`sse-replay check`, the demo) instead of one error."""
        stream = snapshot(_as_log(events))
        out = []
        for label, rule in self._rules:
            failure = rule(stream)
            out.append(RuleResult(label, None if failure is None else render([failure], stream)))
        return out

    @property
    def rules(self) -> list[str]:
        """The rules as written, e.g. `order job.started < agent.* < complete|error`."""
        return [label for label, _ in self._rules]


@dataclass(frozen=True)
class RuleResult:
    """One rule of a `Contract` applied to a stream: the rule as written, and `failure`, the
    message its assertion raises (with the marked timeline), or None when it holds."""

    rule: str
    failure: str | None = None

    @property
    def holds(self) -> bool:
        return self.failure is None


def _as_log(events: EventLog | Iterable[Event] | bytes | StrPath | Cassette) -> EventLog:
    if isinstance(events, EventLog):
        return events
    if isinstance(events, bytes | bytearray | memoryview):
        return EventLog.from_bytes(bytes(events))
    if isinstance(events, str | PathLike | Cassette):
        return EventLog.from_cassette(events)
    return EventLog(events)


def _strings(name: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Iterable):
        raise TypeError(f"Contract {name}: expected a list of str, not {value!r}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"Contract {name}: expected a list of str, got {item!r}")
    return items


def _tuples(name: str, value: object, size: int) -> tuple[Any, ...]:
    if not isinstance(value, Iterable) or isinstance(value, str):
        raise TypeError(f"Contract {name}: expected a list of {size}-tuples, not {value!r}")
    items = tuple(value)
    if len(items) == size and all(isinstance(item, str) for item in items):
        items = (items,)  # one rule given without its list
    for item in items:
        if (
            not isinstance(item, tuple | list)
            or len(item) != size
            or not all(isinstance(part, str) for part in item)
        ):
            raise TypeError(f"Contract {name}: expected {size}-tuples of str, got {item!r}")
    return tuple(tuple(item) for item in items)


def _mapping(name: str, value: object) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"Contract {name}: expected a dict, not {value!r}")
    return dict(value)


def _count_rule(pattern: str, expected: object) -> tuple[str, _Rule]:
    if isinstance(expected, tuple) and len(expected) == 2:
        low, high = expected
        label = f"count {pattern}={'' if low is None else low}..{'' if high is None else high}"
        return label, functools.partial(check_count, pattern=pattern, low=low, high=high)
    if isinstance(expected, int) and not isinstance(expected, bool):
        return f"count {pattern}={expected}", functools.partial(
            check_count, pattern=pattern, n=expected
        )
    raise TypeError(f"Contract count: expected n or (min, max) for {pattern!r}, not {expected!r}")


def _seconds(value: object) -> str:
    return f"{value:g}" if isinstance(value, int | float) else repr(value)
