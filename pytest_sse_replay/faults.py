"""Faults: the failures real streams have, injected on demand and deterministically.

Each fault is a small immutable value whose `apply(script, context)` rewrites the `Script` of
one event-stream response: its chunks, its timing, how it ends, or the whole response (an
HTTP error instead of the stream). Nothing here does I/O or knows a client library, so a
fault behaves the same for httpx and httpx2, sync and async; the library's own exception
types come from the faces when the plan is walked. Faults compose in a list, applied in
order, each to what the previous one made. See docs/faults.md.

Positions: `after_events=N` counts the events the response dispatches to the client (as
`parse_events` would, so comments and blocks without `data` do not count; after a
Last-Event-ID resume, the events from the resume point). A negative N counts from the end,
like a Python index (`-1`: all but the last event), and like an index a negative N beyond
the first event is an IndexError naming the fault and the stream's event count. A positive
position past the end of the stream leaves it alone, so a fault meant for the middle of a
long stream does nothing to a resumed remainder that is too short to reach it.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import random
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from ._text import call, plural
from .cassette import COMPLETE, Chunk, Ending, is_event_stream
from .playback import (
    Fault,
    PlayContext,
    Script,
    Stall,
    shift_chunks,
    slice_chunks,
    time_before,
    without_ranges,
)
from .sse import BOM, LINE_END, Event, compile_pattern, event_boundaries, parse_events

if TYPE_CHECKING:
    # Typing only: pytest has no public name for what `pytest.param()` returns.
    from _pytest.mark.structures import ParameterSet

__all__ = [
    "Fault",
    "PlayContext",
    "Script",
    "connection_limit",
    "drop",
    "error",
    "inject",
    "matrix",
    "merge",
    "skip",
    "split",
    "stall",
    "truncate",
]

# What httpx and httpx2 (through h11) raise when a chunked body ends without its final empty
# chunk: checked against a real server that breaks the connection
# (tests/integration/test_fault_realism.py).
BROKEN_CHUNKED = (
    "peer closed connection without sending complete message body (incomplete chunked read)"
)
# ... and when a body with a Content-Length ends early.
BROKEN_SIZED = (
    "peer closed connection without sending complete message body "
    "(received {received} bytes, expected {expected})"
)
# The largest piece `split(seed=...)` cuts when no `size` bounds it.
DEFAULT_MAX_SPLIT = 16


# --------------------------------------------------------------------------- validation


def _int(fault: str, name: str, value: object, *, minimum: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"faults.{fault}(): {name} must be an int, not {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"faults.{fault}(): {name} must be >= {minimum}, not {value!r}")
    return value


def _times(fault: str, times: object) -> None:
    if times is not None:
        _int(fault, "times", times, minimum=1)


def _status(fault: str, value: object) -> None:
    status = _int(fault, "status", value)
    if not 400 <= status <= 599:
        raise ValueError(
            f"faults.{fault}(): status must be an HTTP error status (400-599), not {status!r}"
        )


def _due(times: int | None, context: PlayContext) -> bool:
    """Whether a fault limited to the first `times` attempts applies to this one."""
    return times is None or context.attempt <= times


# --------------------------------------------------------------------------- repr


class _Shown:
    """Shows a prepared text as is inside a repr (a body preview, a header mapping)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _preview(data: bytes, width: int = 24) -> _Shown:
    text = repr(data if len(data) <= width else data[:width] + b"...")
    return _Shown(text)


def _headers_shown(headers: tuple[tuple[str, str], ...]) -> _Shown | None:
    if not headers:
        return None
    return _Shown(repr(dict(headers)))


# --------------------------------------------------------------------------- the body


def _is_stream(script: Script) -> bool:
    """Faults rewrite event streams; once one became an error response, later ones leave it."""
    return is_event_stream(script.headers)


def _after_events(body: bytes, after_events: int, fault: object) -> int | None:
    """The offset just after event N (see the module docstring), or None past the end.

    A negative N before the first event is an IndexError, as a Python index would be:
    clamping it to 0 would silently move the fault to the start of the stream.
    """
    boundaries = event_boundaries(body)
    count = len(boundaries)
    if after_events < -count:
        raise IndexError(
            f"faults.{fault!r}: after_events={after_events} is out of range for a stream of "
            f"{plural(count, 'event')} (from the end it can be -1 to -{count})"
            if count
            else f"faults.{fault!r}: after_events={after_events} is out of range for a stream "
            "of 0 events"
        )
    index = after_events if after_events >= 0 else count + after_events
    if index > count:
        return None
    return boundaries[index - 1] if index else 0


def _line_end(body: bytes) -> bytes:
    """The line end the stream uses (its first one), so injected events look like its own."""
    match = LINE_END.search(body)
    return match.group() if match else b"\n"


def _block_ends(body: bytes) -> list[int]:
    """The offset after every blank line: where each block (dispatching or not) ends."""
    ends: list[int] = []
    line_start = len(BOM) if body.startswith(BOM) else 0
    for match in LINE_END.finditer(body, line_start):
        if match.start() == line_start:
            ends.append(match.end())
        line_start = match.end()
    return ends


def _recut(chunks: Sequence[Chunk], sizes: Iterator[int]) -> tuple[Chunk, ...]:
    """The same bytes in pieces of the given sizes. A piece arrives when its last byte did."""
    chunks = [chunk for chunk in chunks if chunk.data]
    ends = list(itertools.accumulate(len(chunk.data) for chunk in chunks))
    body = b"".join(chunk.data for chunk in chunks)
    out: list[Chunk] = []
    position, index = 0, 0
    while position < len(body):
        stop = min(position + next(sizes), len(body))
        # The chunk holding byte stop - 1: ends[index - 1] < stop <= ends[index].
        index = bisect.bisect_left(ends, stop, index)
        out.append(Chunk(chunks[index].t, body[position:stop]))
        position = stop
    return tuple(out)


def _error_script(
    script: Script,
    status: int,
    body: bytes | None,
    content_type: str,
    headers: tuple[tuple[str, str], ...],
    message: str,
) -> Script:
    """An ordinary error response in place of the stream, shaped like a real server's."""
    names = {name.lower() for name, _ in headers}
    if body is None:
        envelope = {"error": {"status": status, "message": message}}
        body = json.dumps(envelope, separators=(",", ":")).encode()
    out = list(headers)
    if "content-length" not in names:
        out.append(("content-length", str(len(body))))
    if "content-type" not in names:
        out.append(("content-type", content_type))
    chunks = (Chunk(script.headers_t, body),) if body else ()
    return Script(status, tuple(out), chunks, COMPLETE, script.headers_t)


_JSON = "application/json"
_TEXT = "text/plain; charset=utf-8"


def _body_bytes(fault: str, body: object) -> tuple[bytes | None, str]:
    """The body to send (None: the default JSON one) and its Content-Type."""
    if body is None:
        return None, _JSON
    if isinstance(body, bytes):
        return body, _TEXT
    if isinstance(body, str):
        return body.encode(), _TEXT
    if isinstance(body, Mapping | list):
        return json.dumps(body, separators=(",", ":")).encode(), _JSON
    raise TypeError(f"faults.{fault}(): body must be bytes, str, a dict or a list, not {body!r}")


def _header_pairs(fault: str, headers: object) -> tuple[tuple[str, str], ...]:
    if headers is None:
        return ()
    problem = TypeError(
        f"faults.{fault}(): headers must be a mapping or (name, value) pairs, not {headers!r}"
    )
    if isinstance(headers, Mapping):
        pairs: list[object] = list(headers.items())
    elif isinstance(headers, Iterable) and not isinstance(headers, str | bytes):
        pairs = list(headers)
    else:
        raise problem
    out: list[tuple[str, str]] = []
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise problem
        name, value = pair
        if not (isinstance(name, str) and isinstance(value, str)):
            raise problem
        # A name outside RFC 9110's token, or a value holding a line end, would let the fault
        # write a header line of its own (`sse-replay serve` writes these bytes to a socket).
        if not _TOKEN.fullmatch(name):
            raise ValueError(f"faults.{fault}(): header name {name!r} is not an HTTP token")
        if _LINE_BREAKING.search(value):
            raise ValueError(
                f"faults.{fault}(): the value of header {name!r} holds a CR, LF or NUL: {value!r}"
            )
        out.append((name, value))
    return tuple(out)


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_LINE_BREAKING = re.compile(r"[\r\n\0]")


# --------------------------------------------------------------------------- the faults


@dataclass(frozen=True, slots=True, repr=False)
class split:
    """Re-cut the body into `size`-byte chunks, or random sizes drawn from `seed`.

    With a seed, sizes run from 1 to `size` (16 when no size is given), drawn with
    `random.Random(seed)`: the same cuts on every machine. Cuts land anywhere: inside CRLF
    pairs, the BOM, multi-byte characters. Each piece arrives when the last of its bytes
    arrived, so the timeline (and its total duration) is kept.
    """

    size: int | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.size is None and self.seed is None:
            raise ValueError(
                "faults.split() needs size= (chunks of that many bytes) or seed= (random sizes)"
            )
        if self.size is not None:
            _int("split", "size", self.size, minimum=1)
        if self.seed is not None:
            _int("split", "seed", self.seed)

    def sizes(self) -> Iterator[int]:
        """The chunk sizes this split cuts, in order (endless)."""
        if self.seed is None:
            assert self.size is not None
            return itertools.repeat(self.size)
        return self._random_sizes(self.seed, self.size or DEFAULT_MAX_SPLIT)

    @staticmethod
    def _random_sizes(seed: int, top: int) -> Iterator[int]:
        rng = random.Random(seed)
        while True:
            yield rng.randint(1, top)

    def apply(self, script: Script, context: PlayContext) -> Script:
        if not _is_stream(script):
            return script
        return script.with_(chunks=_recut(script.chunks, self.sizes()))

    def __repr__(self) -> str:
        return call("split", size=self.size, seed=self.seed)


@dataclass(frozen=True, slots=True, repr=False)
class merge:
    """Deliver the whole body as one chunk, when its last byte arrived."""

    def apply(self, script: Script, context: PlayContext) -> Script:
        if not _is_stream(script):
            return script
        body = script.body
        chunks = (Chunk(script.duration, body),) if body else ()
        return script.with_(chunks=chunks)

    def __repr__(self) -> str:
        return "merge()"


@dataclass(frozen=True, slots=True, repr=False)
class drop:
    """The connection breaks: after event `after_events`, and/or after `after_bytes` bytes.

    With both, the break is `after_bytes` bytes past the end of that event (inside the
    next one). The client gets what a real broken chunked response gives: its library's
    `RemoteProtocolError`, with the message h11 gives. Applies to the first `times`
    attempts (None: every attempt).
    """

    after_events: int | None = None
    after_bytes: int | None = None
    _: KW_ONLY
    times: int | None = 1

    def __post_init__(self) -> None:
        if self.after_events is None and self.after_bytes is None:
            raise ValueError(
                "faults.drop() needs after_events= (break after that event) and/or "
                "after_bytes= (break after that many bytes)"
            )
        if self.after_events is not None:
            _int("drop", "after_events", self.after_events)
        if self.after_bytes is not None:
            _int("drop", "after_bytes", self.after_bytes, minimum=0)
        _times("drop", self.times)

    def apply(self, script: Script, context: PlayContext) -> Script:
        if not (_is_stream(script) and _due(self.times, context)):
            return script
        body = script.body
        cut = 0
        if self.after_events is not None:
            start = _after_events(body, self.after_events, self)
            if start is None:
                return script
            cut = start
        cut += self.after_bytes or 0
        if cut > len(body):
            return script
        return script.with_(
            chunks=tuple(slice_chunks(script.chunks, 0, cut)),
            end=Ending.failed("RemoteProtocolError", _broken_message(script, cut)),
        )

    def __repr__(self) -> str:
        times = None if self.times == 1 else _Shown(repr(self.times))
        return call(
            "drop", after_events=self.after_events, after_bytes=self.after_bytes, times=times
        )


def _broken_message(script: Script, received: int) -> str:
    length = script.header("content-length")
    if length is not None and length.strip().isdigit():
        return BROKEN_SIZED.format(received=received, expected=int(length))
    return BROKEN_CHUNKED


@dataclass(frozen=True, slots=True, repr=False)
class truncate:
    """The body ends cleanly after event `after_events` (`-1`: without its terminal event)."""

    after_events: int

    def __post_init__(self) -> None:
        _int("truncate", "after_events", self.after_events)

    def apply(self, script: Script, context: PlayContext) -> Script:
        if not _is_stream(script):
            return script
        cut = _after_events(script.body, self.after_events, self)
        if cut is None:
            return script
        return script.with_(chunks=tuple(slice_chunks(script.chunks, 0, cut)), end=COMPLETE)

    def __repr__(self) -> str:
        return call("truncate", after_events=self.after_events)


@dataclass(init=False, frozen=True, slots=True, repr=False)
class error:
    """The first `times` attempts are answered with `status` instead of the stream.

    The response is an ordinary one with a body (by default JSON,
    `{"error": {"status": 429, "message": "Too Many Requests"}}`; a dict or list is sent as
    JSON, str or bytes as text) and `headers` (e.g. `{"Retry-After": "2"}`);
    Content-Type and Content-Length are added unless given. `times=None`: every attempt.
    """

    status: int
    body: bytes | None
    headers: tuple[tuple[str, str], ...]
    times: int | None
    content_type: str

    def __init__(
        self,
        status: int,
        *,
        body: bytes | str | Mapping[str, Any] | list[Any] | None = None,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        times: int | None = 1,
    ) -> None:
        _status("error", status)
        _times("error", times)
        data, content_type = _body_bytes("error", body)
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "body", data)
        object.__setattr__(self, "headers", _header_pairs("error", headers))
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "content_type", content_type)

    def apply(self, script: Script, context: PlayContext) -> Script:
        if not (_is_stream(script) and _due(self.times, context)):
            return script
        return _error_script(
            script, self.status, self.body, self.content_type, self.headers, _phrase(self.status)
        )

    def __repr__(self) -> str:
        return call(
            "error",
            self.status,
            body=None if self.body is None else _preview(self.body),
            headers=_headers_shown(self.headers),
            times=None if self.times == 1 else _Shown(repr(self.times)),
        )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


@dataclass(frozen=True, slots=True, repr=False)
class stall:
    """The server goes silent after event `after_events`.

    `seconds=None` (the default): silent for good. Otherwise silent for `seconds`, and
    whether that outlasts the client is decided against the client's read timeout (from
    the request's timeout extension) at every replay speed: longer, and the client gets
    its library's `ReadTimeout` at once, with no real waiting; shorter (or no read
    timeout), and the rest of the stream follows `seconds` later on the timeline, which is
    scaled by the replay speed like the rest of it (so at speed 0 the pause costs nothing).
    A stall for good on a client with no read timeout is an error that says so: a real
    client would hang. Applies to the first `times` attempts (None: every attempt).
    """

    after_events: int = 0
    seconds: float | None = None
    _: KW_ONLY
    times: int | None = 1

    def __post_init__(self) -> None:
        _int("stall", "after_events", self.after_events)
        seconds = self.seconds
        if seconds is not None and (
            not isinstance(seconds, int | float)
            or isinstance(seconds, bool)
            or not math.isfinite(seconds)
            or seconds <= 0
        ):
            raise ValueError(
                "faults.stall(): seconds must be a finite number > 0, or None (for good), "
                f"not {seconds!r}"
            )
        _times("stall", self.times)

    def apply(self, script: Script, context: PlayContext) -> Script:
        if not (_is_stream(script) and _due(self.times, context)):
            return script
        body = script.body
        cut = _after_events(body, self.after_events, self)
        if cut is None:
            return script
        before = slice_chunks(script.chunks, 0, cut)
        timeout = context.read_timeout
        if self.seconds is None or (timeout is not None and self.seconds > timeout):
            return script.with_(chunks=tuple(before), end=Stall())
        after = shift_chunks(slice_chunks(script.chunks, cut, len(body)), self.seconds)
        return script.with_(chunks=tuple(before + after))

    def __repr__(self) -> str:
        return call(
            "stall",
            after_events=self.after_events,
            seconds=self.seconds,
            times=None if self.times == 1 else _Shown(repr(self.times)),
        )


@dataclass(frozen=True, slots=True, repr=False)
class inject:
    """Insert an event after event `after_events` (0: before the first).

    An `Event` is encoded with the stream's own line ends; `str` or `bytes` are inserted
    verbatim (end them with a blank line to make them an event). The inserted bytes are
    one chunk, arriving when the event before them did.
    """

    event: Event | bytes | str
    after_events: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.event, str):
            object.__setattr__(self, "event", self.event.encode())
        elif not isinstance(self.event, Event | bytes):
            raise TypeError(
                f"faults.inject(): event must be an Event, str or bytes, not {self.event!r}"
            )
        if self.event == b"":
            raise ValueError("faults.inject(): the event to insert is empty")
        _int("inject", "after_events", self.after_events)

    def block(self, line_end: bytes = b"\n") -> bytes:
        """The bytes inserted into a stream whose line end is `line_end`."""
        if isinstance(self.event, Event):
            encoded = self.event.encode()
            return encoded if line_end == b"\n" else encoded.replace(b"\n", line_end)
        assert isinstance(self.event, bytes)
        return self.event

    def apply(self, script: Script, context: PlayContext) -> Script:
        if not _is_stream(script):
            return script
        body = script.body
        cut = _after_events(body, self.after_events, self)
        if cut is None:
            return script
        if cut == 0 and body.startswith(BOM):
            cut = len(BOM)  # the BOM is only one at the very start
        added = Chunk(
            time_before(script.chunks, cut, script.headers_t), self.block(_line_end(body))
        )
        chunks = [
            *slice_chunks(script.chunks, 0, cut),
            added,
            *slice_chunks(script.chunks, cut, len(body)),
        ]
        return script.with_(chunks=tuple(chunks))

    def __repr__(self) -> str:
        if isinstance(self.event, Event):
            data = self.event.data
            data = data if len(data) <= 24 else data[:24] + "..."
            shown = _Shown(f"Event({self.event.type!r}, {data!r})")
        else:
            assert isinstance(self.event, bytes)
            shown = _preview(self.event)
        return call("inject", shown, after_events=self.after_events)


@dataclass(frozen=True, slots=True, repr=False)
class skip:
    """Events whose `Event.name` matches `pattern` never arrive.

    `pattern`: shell globs (`fnmatchcase`), `|` separating alternatives, as in the
    assertions. The name is the `event:` field, else the JSON data's `"type"`, so data-only
    streams are filtered the same way. Each skipped event's whole block goes (its `id` and
    `retry` too); comments and other blocks around it stay.
    """

    pattern: str

    def __post_init__(self) -> None:
        compile_pattern(self.pattern)  # a bad pattern fails here, not at the first request

    def apply(self, script: Script, context: PlayContext) -> Script:
        if not _is_stream(script):
            return script
        body = script.body
        matches = compile_pattern(self.pattern)
        boundaries = event_boundaries(body)
        events = parse_events([body])
        blocks = _block_ends(body)
        first = len(BOM) if body.startswith(BOM) else 0
        removed: list[tuple[int, int]] = []
        for event, end in zip(events, boundaries, strict=True):
            if matches(event.name):
                # The event's block starts where the block before it ended.
                at = bisect.bisect_left(blocks, end)
                removed.append((blocks[at - 1] if at else first, end))
        if not removed:
            return script
        _keep_bom_inside(body, removed)
        return script.with_(chunks=without_ranges(script.chunks, removed))

    def __repr__(self) -> str:
        return call("skip", self.pattern)


def _keep_bom_inside(body: bytes, removed: list[tuple[int, int]]) -> None:
    """Leave the blank line before a mid-stream BOM that removing blocks would bring to the start.

    Only a BOM at the very start of a stream is stripped (WHATWG); anywhere else it is part
    of a field name, so `\ufeffdata: x` dispatches nothing. Removed from the front of a stream
    without a BOM of its own, the blocks before one would turn it into the stream's leading
    BOM and make an event of the block after it. Keeping the blank line that ended the last
    removed block (an empty line at the start dispatches nothing) keeps the BOM where it was:
    at the start of a line, not of the stream.
    """
    stop, last = 0, -1
    for k, (start, end) in enumerate(removed):
        if start != stop:
            break
        stop, last = end, k
    if last < 0 or not body.startswith(BOM, stop):
        return
    start, end = removed[last]
    removed[last] = (start, end - (2 if body.endswith(b"\r\n", 0, end) else 1))


@dataclass(init=False, frozen=True, slots=True, repr=False)
class connection_limit:
    """Past `n` event streams open at once on the transport, answer `status` instead.

    Streams are counted across threads and tasks, from the response until the client
    closes it. The answer is shaped like `error`'s (default body
    `{"error": {"status": 429, "message": "at most N concurrent streams"}}`).
    """

    n: int
    status: int
    body: bytes | None
    headers: tuple[tuple[str, str], ...]
    content_type: str

    def __init__(
        self,
        n: int,
        status: int = 429,
        *,
        body: bytes | str | Mapping[str, Any] | list[Any] | None = None,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    ) -> None:
        _int("connection_limit", "n", n, minimum=0)
        _status("connection_limit", status)
        data, content_type = _body_bytes("connection_limit", body)
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "body", data)
        object.__setattr__(self, "headers", _header_pairs("connection_limit", headers))
        object.__setattr__(self, "content_type", content_type)

    def apply(self, script: Script, context: PlayContext) -> Script:
        if not _is_stream(script) or context.open_streams < self.n:
            return script
        message = f"at most {self.n} concurrent streams"
        return _error_script(
            script, self.status, self.body, self.content_type, self.headers, message
        )

    def __repr__(self) -> str:
        return call(
            "connection_limit",
            self.n,
            status=None if self.status == 429 else _Shown(repr(self.status)),
            body=None if self.body is None else _preview(self.body),
            headers=_headers_shown(self.headers),
        )


# --------------------------------------------------------------------------- the matrix


def _standard_cases() -> list[list[Fault]]:
    """The standard set of `matrix()`, each case a list of faults (first: no fault)."""
    cases: list[list[Fault]] = [[]]
    cases += [[split(size=size)] for size in range(1, 8)]
    cases += [[split(seed=seed)] for seed in (1, 2, 3)]
    cases += [
        [merge()],
        # In the middle of the second event: what a real break looks like.
        [drop(after_events=1, after_bytes=5)],
        [error(429)],
        [error(503)],
        [stall(after_events=1)],
    ]
    return cases


def _case_id(case: Sequence[Fault]) -> str:
    """A case's test id: its faults' reprs joined by `+`, or `none`."""
    return "+".join(repr(fault) for fault in case) or "none"


def matrix(
    *extra: Fault | Sequence[Fault], standard: bool = True, without: str = ""
) -> list[ParameterSet]:
    """Fault cases for `@pytest.mark.parametrize`, each with a readable test id.

    The standard set (`standard=True`): no fault, `split(size=1)` to `split(size=7)`,
    `split(seed=1)` to `split(seed=3)`, `merge()`, a drop in the middle of the second event,
    a 429 once, a 503 once, a stall after the first event. `extra` adds cases (a fault, or
    a list of faults applied together); `without` leaves out the cases whose id matches
    (globs, `|` between alternatives, e.g. `"stall*|error(503)"`). Each value is a list
    of faults, for `ReplayTransport(faults=...)` or the `sse_faults` fixture::

        @pytest.mark.parametrize("sse_faults", faults.matrix())
    """
    import pytest  # lazily: the faults run without pytest (e.g. `sse-replay serve`)

    cases = _standard_cases() if standard else []
    for item in extra:
        case: list[Fault] = list(item) if isinstance(item, Sequence) else [item]
        if not all(hasattr(fault, "apply") for fault in case):
            raise TypeError(f"faults.matrix(): not a fault or a list of faults: {item!r}")
        cases.append(case)
    if without:
        left_out = compile_pattern(without)
        kept = [case for case in cases if not left_out(_case_id(case))]
        if len(kept) == len(cases):
            ids = ", ".join(_case_id(case) for case in cases)
            raise ValueError(f"faults.matrix(): without={without!r} matches no case in: {ids}")
        cases = kept
    return [pytest.param(case, id=_case_id(case)) for case in cases]
