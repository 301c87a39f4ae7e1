"""`EventLog`: the events of a stream, with ordering assertions that show the timeline.

Every assertion is a function from a snapshot of the log (`Stream`) to a `Failure` or
None, so the `EventLog` methods and the declarative `Contract` share one implementation:
a method raises its one failure, a contract collects all of them and raises once. Only the
failure path formats anything; the passing path is a few list scans over cached names.
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, SupportsIndex, overload

from .._text import call, clip, one_line, plural
from ..cassette import Cassette, StrPath
from ..sse import Event, Pattern, compile_pattern

__all__ = ["EventLog"]

# Timeline rendering. A stream of up to _FULL events is shown whole; a longer one shows
# _CONTEXT events either side of each marked event (at most _MAX_MARKED of them), its
# first and last events, and "... N events ..." for the rest.
_FULL = 30
_CONTEXT = 2
_MAX_MARKED = 20
_EDGE = 5  # events shown at each end of a long stream with nothing marked
_NAME_WIDTH = 32
_ID_WIDTH = 16
_DATA_WIDTH = 48
_MAX_NAMES_LISTED = 12
# How alike a name must be to be offered as "did you mean" (difflib's ratio; its default
# 0.6 offers 'agent.completed' for 'score.computed').
_CLOSE = 0.8


# --------------------------------------------------------------------------- patterns


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


# --------------------------------------------------------------------------- rendering


def render(failures: Sequence[Failure], stream: Stream, *, rules: int | None = None) -> str:
    """The assertion message: the broken rules, hints, then the marked timeline.

    With `rules` (a contract's rule count) every failure gets a `[k]` label, repeated on
    its notes in the timeline, under a "Contract: k of n rules failed" heading.
    """
    lines: list[str] = []
    marks: dict[int, list[str]] = {}
    if rules is None:
        (failure,) = failures
        lines.append(f"{failure.rule}: {failure.problem}")
        lines.extend(failure.hints)
        marks = failure.marks
    else:
        lines.append(f"Contract: {len(failures)} of {plural(rules, 'rule')} failed")
        for number, failure in enumerate(failures, 1):
            lines.append(f"  [{number}] {failure.rule}: {failure.problem}")
            lines.extend(f"      {hint}" for hint in failure.hints)
            for i, notes in failure.marks.items():
                marks.setdefault(i, []).extend(f"[{number}] {note}" for note in notes)
    lines.extend(_timeline(stream.events, marks))
    return "\n".join(lines)


def _select(count: int, marked: list[int]) -> tuple[list[int], int]:
    """Indices to show (ascending) and how many marked events are left out."""
    if count <= _FULL:
        return list(range(count)), 0
    if not marked:
        keep = set(range(_EDGE)) | set(range(count - _EDGE, count))
    else:
        keep = {0, count - 1}
        for i in marked[:_MAX_MARKED]:
            keep.update(range(max(0, i - _CONTEXT), min(count, i + _CONTEXT + 1)))
    # A gap of one event costs the same line as "... 1 event ...": show the event.
    shown = sorted(keep)
    for before, after in itertools.pairwise(shown):
        if after - before == 2:
            keep.add(before + 1)
    shown = sorted(keep)
    return shown, sum(1 for i in marked if i not in keep)


def _preview(data: str) -> str:
    return clip(one_line(data), _DATA_WIDTH)


def _timeline(events: Sequence[Event], marks: dict[int, list[str]]) -> list[str]:
    if not events:
        return ["timeline: no events"]
    shown, left_out = _select(len(events), sorted(marks))
    with_t = any(event.t for event in events)
    with_id = any(event.id for event in events)
    rows: list[tuple[str, ...]] = []
    for i in shown:
        event = events[i]
        row = [str(i)]
        if with_t:
            row.append(f"{event.t:.3f}")
        row.append(clip(event.name, _NAME_WIDTH))
        if with_id:
            row.append(clip(event.id, _ID_WIDTH))
        row.append(_preview(event.data))
        rows.append(tuple(row))
    header: tuple[str, ...] = ("#", "t", "name", "id", "data")
    header = tuple(h for h in header if (h != "t" or with_t) and (h != "id" or with_id))
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    # Numbers align right, text left; the data column is padded only to align notes.
    right = 2 if with_t else 1

    def line(marker: str, cells: Sequence[str], note: str = "") -> str:
        parts = [
            cell.rjust(width) if k < right else cell.ljust(width)
            for k, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        text = f"{marker} " + "  ".join(parts)
        return f"{text}  <- {note}" if note else text.rstrip()

    out = [f"timeline ({plural(len(events), 'event')}):", line(" ", header)]
    previous = -1
    for i, cells in zip(shown, rows, strict=True):
        if i - previous > 1:
            out.append(f"  ... {plural(i - previous - 1, 'event')} ...")
        notes = marks.get(i)
        out.append(line(">" if notes else " ", cells, "; ".join(notes) if notes else ""))
        previous = i
    if previous < len(events) - 1:  # pragma: no cover - the last event is always shown
        out.append(f"  ... {plural(len(events) - 1 - previous, 'event')} ...")
    if left_out:
        out.append(f"  ({plural(left_out, 'more marked event')} not shown)")
    return out


def raise_failures(
    failures: Sequence[Failure | None], stream: Stream, *, rules: int | None = None
) -> None:
    """Raise one AssertionError for the failures, if any."""
    __tracebackhide__ = True
    broken = [failure for failure in failures if failure is not None]
    if broken:
        raise AssertionError(render(broken, stream, rules=rules))


def snapshot(log: EventLog) -> Stream:
    """The events of `log` now; later appends do not change what an assertion sees."""
    return Stream(list(log._events))


# --------------------------------------------------------------------------- EventLog


class EventLog(Sequence[Event]):
    """The events of a stream, in order, with assertions on their names and data.

    A `Sequence[Event]`: indexing gives an `Event`, slicing an `EventLog`, and it compares
    equal to an `EventLog`, list or tuple of equal events (`Event.t` is not compared).

    Assertions match *patterns* against `Event.name`: shell globs with `fnmatchcase`
    rules (`*`, `?`, `[seq]`, `[!seq]`; case-sensitive), several separated by `|`
    (`"complete|error"`; spaces around `|` are ignored; a literal `|` cannot be matched).
    A pattern with an empty alternative raises ValueError. Each assertion raises
    `AssertionError` with the rule, then the timeline with the offending events marked;
    on success it returns the log, so assertions chain. A pattern that matches no event
    fails every assertion, except `assert_count` with a count that allows zero.
    Assertions see a snapshot of the log taken when they start.
    """

    __slots__ = ("_events",)

    def __init__(self, events: Iterable[Event] = ()) -> None:
        if isinstance(events, bytes | bytearray | str):
            raise TypeError("EventLog() takes events; for a raw body use EventLog.from_bytes()")
        items = list(events)
        for item in items:
            if not isinstance(item, Event):
                raise TypeError(f"EventLog() takes Event objects, not {type(item).__name__}")
        self._events = items

    @classmethod
    def _of(cls, events: list[Event]) -> EventLog:
        log = cls.__new__(cls)
        log._events = events
        return log

    @classmethod
    def from_bytes(cls, data: bytes) -> EventLog:
        """The events of a raw `text/event-stream` body (every `Event.t` is 0)."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"from_bytes() takes bytes, not {type(data).__name__}")
        from ..sse import parse_events

        return cls._of(list(parse_events([bytes(data)])))

    @classmethod
    def from_cassette(cls, path: StrPath | Cassette, interaction: int | None = None) -> EventLog:
        """The events recorded in a cassette file (or a loaded `Cassette`).

        By default, the events of every `text/event-stream` response, one interaction
        after another in the cassette's order; other responses (a JSON "create job"
        answer, an error status) contribute nothing, and a cassette without streams gives
        an empty log. Each `Event.t` stays relative to its own request.

        `interaction` picks one interaction by its index among all the cassette's
        interactions (negative counts from the end); IndexError when there is no such
        interaction, ValueError when its response is not an event stream.
        """
        cassette = path if isinstance(path, Cassette) else Cassette.load(path)
        interactions = cassette.interactions
        if interaction is None:
            return cls._of(
                [
                    event
                    for recorded in interactions
                    if recorded.response.is_event_stream
                    for event in recorded.response.events()
                ]
            )
        try:
            chosen = interactions[interaction]
        except IndexError:
            raise IndexError(
                f"no interaction {interaction}: the cassette has {len(interactions)}"
            ) from None
        if not chosen.response.is_event_stream:
            content_type = chosen.response.header("content-type") or "no content-type"
            raise ValueError(
                f"interaction {interaction} ({chosen.request.method} {chosen.request.url}) "
                f"is not an event stream ({content_type})"
            )
        return cls._of(chosen.response.events())

    # -- the sequence

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[Event]:
        return iter(self._events)

    @overload
    def __getitem__(self, index: SupportsIndex) -> Event: ...
    @overload
    def __getitem__(self, index: slice) -> EventLog: ...
    def __getitem__(self, index: SupportsIndex | slice) -> Event | EventLog:
        if isinstance(index, slice):
            return EventLog._of(self._events[index])
        return self._events[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EventLog):
            return self._events == other._events
        if isinstance(other, list | tuple):
            return self._events == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def __repr__(self) -> str:
        return f"EventLog({self._events!r})"

    @property
    def names(self) -> list[str]:
        """Every event's `name`, in order."""
        return [event.name for event in self._events]

    def filter(self, pattern: str) -> EventLog:
        """A new log of the events whose name matches `pattern` (indices start again at 0)."""
        compiled = compile_pattern(pattern)
        return EventLog._of([event for event in self._events if compiled(event.name)])

    def append(self, event: Event) -> None:
        """Add an event at the end (the plugin does this as events reach the client).

        One `list.append`: safe to call from another thread while assertions run, which
        see the events appended before they started.
        """
        self._events.append(event)

    def _check(self, failure: Failure | None, stream: Stream) -> EventLog:
        __tracebackhide__ = True
        raise_failures([failure], stream)
        return self

    # -- the assertions

    def assert_order(self, *patterns: str) -> EventLog:
        """Every event matching pattern i comes before every event matching pattern i+1.

        Each pattern must match at least once. Events matching none of the patterns are
        ignored. An event that matches more than one of the patterns fails the assertion
        (which group it belongs to would be a guess): make the patterns disjoint, e.g.
        `"agent.started"` rather than `"agent.*"` next to `"agent.completed"`. With one
        pattern this only checks that it matches; with none it raises ValueError.

        A pattern ending in `?` is an optional step: when events match it they must keep
        its place in the order, but it need not match at all, so one chain covers the
        success and the error run: `assert_order("job.started", "agent.*",
        "score.computed?", "complete|error")`. The `?` applies to the whole step, all its
        alternatives; here a trailing `?` is never the one-character glob (a literal `?` at
        the end is written `[?]`).
        """
        __tracebackhide__ = True
        stream = snapshot(self)
        return self._check(check_order(stream, patterns), stream)

    def assert_before(self, a: str, b: str) -> EventLog:
        """The first event matching `a` comes before the first event matching `b`.

        Both must match. Later events are not compared (a second `a` after a `b` is
        fine): for "every `a` before every `b`" use `assert_order(a, b)`. Fails when the
        first match of both is the same event.
        """
        __tracebackhide__ = True
        stream = snapshot(self)
        return self._check(check_before(stream, a, b), stream)

    def assert_first(self, pattern: str) -> EventLog:
        """The first event matches `pattern` (an empty log fails)."""
        __tracebackhide__ = True
        stream = snapshot(self)
        return self._check(check_first(stream, pattern), stream)

    def assert_last(self, pattern: str) -> EventLog:
        """The last event matches `pattern` (an empty log fails).

        Other events may match too; for "exactly one, at the end" use `assert_terminal`.
        """
        __tracebackhide__ = True
        stream = snapshot(self)
        return self._check(check_last(stream, pattern), stream)

    def assert_count(
        self,
        pattern: str,
        n: int | None = None,
        *,
        min: int | None = None,
        max: int | None = None,
    ) -> EventLog:
        """Exactly `n` events match, or between `min` and `max` (inclusive, either optional).

        With no count at all it means "at least one". `n` with `min`/`max` is a
        TypeError, a negative count or `min > max` a ValueError. `assert_count(p, 0)`
        (or `max=0`) passes when nothing matches, even on an empty log.
        """
        __tracebackhide__ = True
        stream = snapshot(self)
        return self._check(check_count(stream, pattern, n, min, max), stream)

    def assert_once(self, pattern: str) -> EventLog:
        """Exactly one event matches `pattern` (same as `assert_count(pattern, 1)`)."""
        __tracebackhide__ = True
        stream = snapshot(self)
        return self._check(check_once(stream, pattern), stream)

    def assert_pairs(self, open: str, close: str, key: str) -> EventLog:
        """Each `open` event is later closed by exactly one `close` with the same `key`.

        Events are matched by the value of the top-level JSON field `key` of their data
        (`"a1"` and `1` are different values). Walking the stream in order, each of these
        is a failure, all reported together with each offending event marked:
        an open never closed; an open whose value is already open (reopening after the
        close is fine, nesting the same value is not); a close with no open of its value
        (including a second close); an open or close whose data is not a JSON object or
        has no `key`; an event matching both patterns. Pairs with different values may
        interleave freely. Events matching neither pattern are ignored. The open pattern
        must match at least once (so an empty log fails).
        """
        __tracebackhide__ = True
        stream = snapshot(self)
        return self._check(check_pairs(stream, open, close, key), stream)

    def assert_terminal(self, pattern: str) -> EventLog:
        """Exactly one event matches `pattern`, and it is the last event.

        Fails on an empty log, when nothing matches, when several events match (a second
        `complete`), or when any event follows the terminal one.
        """
        __tracebackhide__ = True
        stream = snapshot(self)
        return self._check(check_terminal(stream, pattern), stream)

    def assert_increasing(self, key: str) -> EventLog:
        """The top-level JSON field `key` never goes down: each value >= the previous one.

        Only events whose data is a JSON object with `key` take part; all others
        (non-JSON data such as `[DONE]`, other objects) are skipped. Equal consecutive
        values pass (non-decreasing). A value that is not a number (a string, a bool,
        null, NaN) fails. At least one event must have the key. To check only some
        events, filter first: `log.filter("progress").assert_increasing("progress")`.
        """
        __tracebackhide__ = True
        stream = snapshot(self)
        return self._check(check_increasing(stream, key), stream)

    def assert_within(self, pattern: str, seconds: float) -> EventLog:
        """The first event matching `pattern` arrived at most `seconds` after the request.

        Compares `Event.t` (seconds from sending the request until the event was
        complete; 0 for logs built from bytes or events without timing), inclusive.
        `pattern` must match; `seconds` must be a number >= 0 (else ValueError).
        """
        __tracebackhide__ = True
        stream = snapshot(self)
        return self._check(check_within(stream, pattern, seconds), stream)
