"""The rules behind every ordering assertion: a snapshot of a log (`Stream`) in, a
`Failure` (what is wrong, hints, notes on the events) or None out.

One implementation for `EventLog`'s methods and `Contract`: a method raises its one failure,
a contract collects all of them. Only the failure path formats anything."""

from __future__ import annotations

import difflib
import itertools
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._text import call, plural
from ..sse import Event, Pattern, compile_pattern

__all__ = [
    "Failure",
    "Stream",
    "check_before",
    "check_count",
    "check_first",
    "check_increasing",
    "check_last",
    "check_once",
    "check_order",
    "check_pairs",
    "check_terminal",
    "check_within",
    "count_bounds",
]

_MAX_NAMES_LISTED = 12
# How alike a name must be to be offered as "did you mean" (difflib's ratio; its default
# 0.6 offers 'agent.completed' for 'score.computed').
_CLOSE = 0.8


# --------------------------------------------------------------------------- failures


class Stream:
    """A snapshot of a log taken when an assertion starts: its events and their names."""

    __slots__ = ("events", "names")

    def __init__(self, events: list[Event]) -> None:
        self.events = events
        self.names = [event.name for event in events]

    def find(self, pattern: Pattern) -> list[int]:
        return [i for i, name in enumerate(self.names) if pattern(name)]

    def at(self, index: int) -> str:
        """`#3 agent.started`: how messages refer to one event."""
        return f"#{index} {self.names[index]}"


@dataclass
class Failure:
    """One broken rule: its call as written, what is wrong, and notes on the events."""

    rule: str
    problem: str = ""
    marks: dict[int, list[str]] = field(default_factory=dict)
    hints: list[str] = field(default_factory=list)

    def mark(self, index: int, note: str) -> None:
        self.marks.setdefault(index, []).append(note)


def _no_match(failure: Failure, stream: Stream, patterns: Sequence[str]) -> Failure:
    """Fill `failure` for patterns that match no event, with the names that do exist."""
    if len(patterns) == 1:
        failure.problem = f"no event matches {patterns[0]!r}"
    else:
        failure.problem = "no event matches " + " nor ".join(repr(p) for p in patterns)
    failure.hints.extend(_names_hint(stream, patterns))
    return failure


def _names_hint(stream: Stream, patterns: Sequence[str]) -> list[str]:
    if not stream.names:
        return []
    counts: dict[str, int] = {}
    for name in stream.names:
        counts[name] = counts.get(name, 0) + 1
    listed = [f"{name} ({n})" for name, n in list(counts.items())[:_MAX_NAMES_LISTED]]
    if len(counts) > _MAX_NAMES_LISTED:
        listed.append(f"... {plural(len(counts) - _MAX_NAMES_LISTED, 'more name')}")
    hints = ["names in the stream: " + ", ".join(listed)]
    guesses = []
    for pattern in patterns:
        for glob in compile_pattern(pattern).globs:
            if any(c in glob for c in "*?["):
                continue
            close = difflib.get_close_matches(glob, counts, n=1, cutoff=_CLOSE)
            if close:
                guesses.append(f"{close[0]!r} for {glob!r}")
    if guesses:
        hints.append("did you mean " + ", ".join(guesses) + "?")
    return hints


def _keys_hint(key: str, seen: Iterable[str]) -> list[str]:
    """The JSON keys seen where `key` was expected, and a close one for a likely typo."""
    keys = list(dict.fromkeys(seen))
    if not keys:
        return []
    listed = ", ".join(keys[:_MAX_NAMES_LISTED])
    if len(keys) > _MAX_NAMES_LISTED:
        listed += f", ... {plural(len(keys) - _MAX_NAMES_LISTED, 'more key')}"
    hints = [f"keys in the JSON data: {listed}"]
    close = difflib.get_close_matches(key, keys, n=1, cutoff=_CLOSE)
    if close:
        hints.append(f"did you mean {close[0]!r}?")
    return hints


def _json_object(event: Event) -> tuple[dict[str, Any] | None, str]:
    """The event's data as a JSON object, or None and why it is not one."""
    try:
        value = event.json()
    except ValueError:
        return None, "data is not JSON"
    if not isinstance(value, dict):
        return None, f"data is a JSON {type(value).__name__}, not an object"
    return value, ""


def _identity(value: object) -> object:
    """A dict key equal for equal JSON values only: "1", 1, 1.0 and true all differ."""
    if isinstance(value, dict | list):
        return (list, json.dumps(value, sort_keys=True))
    return (type(value), value)


def _show(value: object) -> str:
    """A JSON value as it appears in the data, for messages: "a1", 3, 0.5, null."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):  # pragma: no cover - values come from json.loads
        return repr(value)


# --------------------------------------------------------------------------- the checks
# Each takes a snapshot and the assertion's arguments (already validated) and returns a
# `Failure` when the rule is broken, None when it holds.


def _step(text: str) -> tuple[str, bool]:
    """An `assert_order` step: its pattern, and whether a trailing `?` made it optional."""
    if not isinstance(text, str):
        raise TypeError(f"an event pattern is a str, not {type(text).__name__}: {text!r}")
    stripped = text.rstrip()
    if not stripped.endswith("?"):
        return text, False
    pattern = stripped[:-1].rstrip()
    if not pattern:
        raise ValueError(f"optional step {text!r} has no pattern before its '?'")
    return pattern, True


def check_order(stream: Stream, patterns: Sequence[str]) -> Failure | None:
    if not patterns:
        raise ValueError("assert_order() needs at least one pattern")
    failure = Failure(call("assert_order", *patterns))
    parsed = [_step(step) for step in patterns]
    patterns = [pattern for pattern, _ in parsed]
    optional = [flag for _, flag in parsed]
    compiled = [compile_pattern(p) for p in patterns]
    matches: list[list[int]] = [[] for _ in patterns]
    overlaps: list[int] = []
    for i, name in enumerate(stream.names):
        hit = [k for k, pattern in enumerate(compiled) if pattern(name)]
        if len(hit) == 1:
            matches[hit[0]].append(i)
        elif hit:
            overlaps.append(i)
            both = " and ".join(repr(patterns[k]) for k in hit)
            failure.mark(i, f"matches {both}")
    if overlaps:
        # Which pattern such an event belongs to is a guess either way: refuse to guess.
        failure.problem = (
            f"{stream.at(overlaps[0])} matches more than one of the patterns "
            "(each event may match only one)"
        )
        if len(overlaps) > 1:
            failure.problem += f", {plural(len(overlaps) - 1, 'more such event')}"
        return failure
    missing = [
        p for p, found, skip in zip(patterns, matches, optional, strict=True) if not (found or skip)
    ]
    if missing:
        return _no_match(failure, stream, missing)
    # An optional step that matched nothing drops out of the chain: its neighbours are
    # compared with each other (the order is transitive, so adjacent present steps suffice).
    present = [k for k, found in enumerate(matches) if found]
    late_total = 0
    for k, j in itertools.pairwise(present):
        first_next = matches[j][0]
        late = [i for i in matches[k] if i > first_next]
        if not late:
            continue
        if not failure.problem:
            failure.problem = (
                f"{stream.at(late[0])} (matching {patterns[k]!r}) comes after "
                f"{stream.at(first_next)} (matching {patterns[j]!r})"
            )
        late_total += len(late)
        failure.mark(first_next, f"first {patterns[j]!r}")
        for i in late:
            failure.mark(i, f"{patterns[k]!r} after #{first_next}")
    if not failure.problem:
        return None
    if late_total > 1:
        failure.problem += f"; {plural(late_total, 'event')} out of order"
    return failure


def check_before(stream: Stream, a: str, b: str) -> Failure | None:
    failure = Failure(call("assert_before", a, b))
    found_a = stream.find(compile_pattern(a))
    found_b = stream.find(compile_pattern(b))
    missing = [p for p, found in ((a, found_a), (b, found_b)) if not found]
    if missing:
        return _no_match(failure, stream, missing)
    first_a, first_b = found_a[0], found_b[0]
    if first_a < first_b:
        return None
    if first_a == first_b:
        failure.problem = f"{stream.at(first_a)} matches both {a!r} and {b!r}"
        failure.mark(first_a, f"matches {a!r} and {b!r}")
        return failure
    failure.problem = (
        f"the first {b!r} ({stream.at(first_b)}) comes before the first {a!r} "
        f"({stream.at(first_a)})"
    )
    failure.mark(first_b, f"first {b!r}, before any {a!r}")
    failure.mark(first_a, f"first {a!r}")
    return failure


def _check_end(stream: Stream, pattern: str, method: str) -> Failure | None:
    compiled = compile_pattern(pattern)
    failure = Failure(call(method, pattern))
    if not stream.names:
        failure.problem = "the log is empty"
        return failure
    which = "first" if method == "assert_first" else "last"
    end = 0 if which == "first" else len(stream.names) - 1
    if compiled(stream.names[end]):
        return None
    failure.problem = f"the {which} event is {stream.at(end)}, which does not match {pattern!r}"
    failure.mark(end, f"{which} event")
    found = stream.find(compiled)
    if found:
        nearest = found[0] if which == "first" else found[-1]
        failure.mark(nearest, f"{which} {pattern!r}")
    else:
        failure.hints.extend(_names_hint(stream, [pattern]))
    return failure


def check_first(stream: Stream, pattern: str) -> Failure | None:
    return _check_end(stream, pattern, "assert_first")


def check_last(stream: Stream, pattern: str) -> Failure | None:
    return _check_end(stream, pattern, "assert_last")


def count_bounds(n: int | None, low: int | None, high: int | None) -> tuple[int, int | None, str]:
    """Validate assert_count's arguments: (minimum, maximum or None, "exactly 2")."""
    if n is not None and (low is not None or high is not None):
        raise TypeError("assert_count() takes n, or min and/or max, not both")
    for label, value in (("n", n), ("min", low), ("max", high)):
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            raise ValueError(f"assert_count() {label} must be an int >= 0, not {value!r}")
    if n is not None:
        return n, n, f"exactly {n}"
    if low is not None and high is not None:
        if low > high:
            raise ValueError(f"assert_count() min={low} is greater than max={high}")
        if low == high:
            return low, high, f"exactly {low}"
        return low, high, f"between {low} and {high}"
    if high is not None:
        return 0, high, f"at most {high}"
    low = 1 if low is None else low
    return low, None, f"at least {low}"


def check_count(
    stream: Stream,
    pattern: str,
    n: int | None = None,
    low: int | None = None,
    high: int | None = None,
    *,
    rule: str | None = None,
) -> Failure | None:
    minimum, maximum, expected = count_bounds(n, low, high)
    found = stream.find(compile_pattern(pattern))
    if minimum <= len(found) and (maximum is None or len(found) <= maximum):
        return None
    if rule is None:
        args = (pattern,) if n is None else (pattern, n)
        rule = call("assert_count", *args, min=low, max=high)
    failure = Failure(rule)
    failure.problem = f"expected {expected} {pattern!r}, found {len(found)}"
    for number, i in enumerate(found, 1):
        failure.mark(i, f"{pattern!r} {number} of {len(found)}")
    if not found:
        failure.hints.extend(_names_hint(stream, [pattern]))
    return failure


def check_once(stream: Stream, pattern: str) -> Failure | None:
    return check_count(stream, pattern, 1, rule=call("assert_once", pattern))


def check_pairs(stream: Stream, open: str, close: str, key: str) -> Failure | None:
    if not isinstance(key, str):
        raise TypeError(f"assert_pairs() key is a str, not {type(key).__name__}")
    opens, closes = compile_pattern(open), compile_pattern(close)
    failure = Failure(call("assert_pairs", open, close, key))
    # Problem kinds (singular, plural), counted for the summary in this fixed order.
    never_closed = ("open never closed", "opens never closed")
    reopened = ("open of a value already open", "opens of a value already open")
    orphan = ("close without an open", "closes without an open")
    no_key = (f"event without {key!r}", f"events without {key!r}")
    not_json = ("event whose data is not a JSON object", "events whose data is not a JSON object")
    ambiguous = ("event matching both patterns", "events matching both patterns")
    kinds = dict.fromkeys((never_closed, reopened, orphan, no_key, not_json, ambiguous), 0)
    open_at: dict[object, tuple[int, object]] = {}  # identity -> (open index, value)
    closed_at: dict[object, int] = {}  # identity -> index of the close that last closed it
    open_count = keyed = 0
    seen_keys: dict[str, None] = {}  # the keys of matched events without `key`, in order
    for i, name in enumerate(stream.names):
        is_open, is_close = opens(name), closes(name)
        if not (is_open or is_close):
            continue
        open_count += is_open
        if is_open and is_close:
            kinds[ambiguous] += 1
            failure.mark(i, f"matches both {open!r} and {close!r}")
            continue
        data, why = _json_object(stream.events[i])
        if data is None:
            kinds[not_json] += 1
            failure.mark(i, why)
            continue
        if key not in data:
            kinds[no_key] += 1
            failure.mark(i, f"no {key!r} in the data")
            seen_keys.update(dict.fromkeys(data))
            continue
        keyed += 1
        value = data[key]
        ident = _identity(value)
        if is_open:
            if ident in open_at:
                kinds[reopened] += 1
                since = open_at[ident][0]
                failure.mark(i, f"{key}={_show(value)} opened again, still open from #{since}")
            else:
                open_at[ident] = (i, value)
        elif ident in open_at:
            closed_at[ident] = i
            del open_at[ident]
        else:
            kinds[orphan] += 1
            if ident in closed_at:
                failure.mark(i, f"{key}={_show(value)} already closed at #{closed_at[ident]}")
            else:
                failure.mark(i, f"{key}={_show(value)} closed without an open")
    for i, value in open_at.values():
        kinds[never_closed] += 1
        failure.mark(i, f"{key}={_show(value)} never closed")
    problems = [plural(count, *kind) for kind, count in kinds.items() if count]
    if keyed == 0:
        # Every matched event lacks the key: a misspelt key, most likely; name the real ones.
        failure.hints.extend(_keys_hint(key, seen_keys))
    if open_count == 0:
        _no_match(failure, stream, [open])
        if problems:
            failure.problem += "; " + ", ".join(problems)
        return failure
    if not problems:
        return None
    failure.problem = ", ".join(problems)
    return failure


def check_terminal(stream: Stream, pattern: str) -> Failure | None:
    compiled = compile_pattern(pattern)
    failure = Failure(call("assert_terminal", pattern))
    if not stream.names:
        failure.problem = "the log is empty"
        return failure
    found = stream.find(compiled)
    last = len(stream.names) - 1
    if not found:
        _no_match(failure, stream, [pattern])
        failure.problem = "no terminal event: " + failure.problem
        failure.mark(last, "last event")
        return failure
    if found == [last]:
        return None
    if len(found) > 1:
        where = ", ".join(f"#{i}" for i in found)
        failure.problem = f"{len(found)} events match {pattern!r} ({where}), expected exactly 1"
    else:
        failure.problem = (
            f"the terminal event {stream.at(found[0])} is followed by "
            f"{plural(last - found[0], 'event')}"
        )
    failure.mark(found[0], "terminal event")
    terminal = set(found)
    for i in range(found[0] + 1, last + 1):
        failure.mark(i, "another terminal event" if i in terminal else "after the terminal event")
    return failure


def _number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return not math.isnan(value)


def check_increasing(stream: Stream, key: str) -> Failure | None:
    if not isinstance(key, str):
        raise TypeError(f"assert_increasing() key is a str, not {type(key).__name__}")
    failure = Failure(call("assert_increasing", key))
    previous: tuple[int, float] | None = None
    keyed = drops = not_numbers = 0
    problems: list[str] = []
    seen_keys: dict[str, None] = {}
    for i, event in enumerate(stream.events):
        data, _ = _json_object(event)
        if data is None:
            continue
        if key not in data:
            seen_keys.update(dict.fromkeys(data))
            continue
        keyed += 1
        value = data[key]
        if not _number(value):
            not_numbers += 1
            failure.mark(i, f"{key}={_show(value)} is not a number")
            if not problems:
                problems.append(f"{key}={_show(value)} at {stream.at(i)} is not a number")
            continue
        if previous is not None and value < previous[1]:
            drops += 1
            was = f"{_show(previous[1])} at #{previous[0]}"
            failure.mark(i, f"{key} {_show(value)} < {was}")
            if not problems:
                problems.append(f"{key} goes down at {stream.at(i)}: {_show(value)} after {was}")
        previous = (i, value)
    if keyed == 0:
        failure.problem = f"no event has {key!r} in its JSON data"
        failure.hints.extend(_keys_hint(key, seen_keys))
        return failure
    if not problems:
        return None
    counts = []
    if drops:
        counts.append(plural(drops, "drop"))
    if not_numbers:
        counts.append(
            plural(not_numbers, "value that is not a number", "values that are not numbers")
        )
    failure.problem = problems[0]
    if drops + not_numbers > 1:
        failure.problem += f" ({', '.join(counts)} in all)"
    return failure


def check_within(stream: Stream, pattern: str, seconds: float) -> Failure | None:
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not seconds >= 0  # also refuses NaN
    ):
        raise ValueError(f"assert_within() seconds must be a number >= 0, not {seconds!r}")
    failure = Failure(call("assert_within", pattern, seconds))
    found = stream.find(compile_pattern(pattern))
    if not found:
        return _no_match(failure, stream, [pattern])
    first = found[0]
    arrived = stream.events[first].t
    if arrived <= seconds:
        return None
    failure.problem = (
        f"the first {pattern!r} ({stream.at(first)}) arrived at {arrived:g}s, "
        f"after the {seconds:g}s limit"
    )
    failure.mark(first, f"{arrived:g}s > {seconds:g}s")
    return failure
