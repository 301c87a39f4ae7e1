"""`EventLog`: the events of a stream, with ordering assertions that show the timeline.

Every assertion is a function from a snapshot of the log (`Stream`) to a `Failure` or
None, so the `EventLog` methods and the declarative `Contract` share one implementation:
a method raises its one failure, a contract collects all of them and raises once. Only the
failure path formats anything; the passing path is a few list scans over cached names.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import SupportsIndex, overload

from ..cassette import Cassette, StrPath
from ..sse import Event, compile_pattern
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
from ._timeline import raise_failures

__all__ = ["EventLog", "snapshot"]


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
