"""The SSE parser: bytes in, `Event`s out, exactly as WHATWG HTML says.

The rules are those of "Parsing an event stream" and "Interpreting an event stream"
(https://html.spec.whatwg.org/multipage/server-sent-events.html). The parser is I/O free:
`SSEParser.feed()` takes whatever bytes the network delivered and returns the events
those bytes completed, so the result never depends on where the chunks were cut.

It works on bytes and decodes UTF-8 once per field. That is the same as decoding the
whole stream first: every byte the parser splits on (CR, LF, colon, space) is ASCII,
and an ASCII byte can neither be part of a multi-byte sequence nor extend an invalid
one, so the replacement characters (U+FFFD) come out the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ._event import Event

__all__ = ["SSEParser", "event_boundaries", "parse_events"]

# Streams are read with the Encoding Standard's "UTF-8 decode", which strips one leading
# byte order mark; the spec's grammar says the same: stream = [ bom ] *event.
BOM = b"\xef\xbb\xbf"
_CR = 0x0D
_LF = 0x0A
# A chunk whose first line is longer than this is split by jumping between line ends
# (see `feed`); shorter ones by one bytes.split().
_SHORT_LINE = 512
# end-of-line = ( cr lf / cr / lf ); the alternation tries CRLF first, so it is one match.
LINE_END = re.compile(rb"\r\n|\r|\n")


class SSEParser:
    """An incremental event stream parser: feed it bytes, get the events they complete.

    One parser reads one stream. `close()` ends it (an unfinished event is dropped) and
    makes the parser ready for the next stream, keeping `last_event_id` and
    `reconnection_time` as an `EventSource` does across a reconnection.
    """

    __slots__ = (
        "_data_first",
        "_data_more",
        "_head",
        "_id_buffer",
        "_last_event_id",
        "_pending",
        "_plain",
        "_reconnection_time",
        "_retry",
        "_skip_lf",
        "_type",
    )

    def __init__(self) -> None:
        self._last_event_id = ""
        self._reconnection_time: int | None = None
        self._reset()

    def _reset(self) -> None:
        # The bytes of the stream's start while they may still be a split BOM; None once
        # the BOM question is settled (it is only ever asked at the very start).
        self._head: bytes | None = b""
        # The line being received, as the parts that arrived. Joined only when its line
        # end arrives, so a long line in many small chunks costs linear time, not
        # quadratic.
        self._pending: list[bytes] = []
        # The previous chunk ended with CR: an LF starting this chunk is the second half
        # of that CRLF, not a second (blank) line.
        self._skip_lf = False
        # "When a stream is parsed, a data buffer, an event type buffer, and a last event
        # ID buffer must be associated with it. They must be initialized to the empty
        # string." The data buffer is kept as the undecoded values of its `data` lines:
        # the first (None while the buffer is empty) and a list of any others.
        self._data_first: bytes | None = None
        self._data_more: list[bytes] | None = None
        self._type = ""
        self._id_buffer = ""
        self._retry: int | None = None
        # Nothing is carried over from earlier chunks but the type, id and retry buffers:
        # no BOM question, no LF owed, no partial line, an empty data buffer. This is
        # when `feed` may take its fast path.
        self._plain = False

    @property
    def last_event_id(self) -> str:
        """The last event ID string: what a reconnection sends as `Last-Event-ID`.

        As in the spec, an `id` field sets the last event ID buffer and the next blank line
        makes it the last event ID string, even when that blank line dispatches nothing;
        an `id` in an unfinished block is not in effect. It is never reset by a dispatch.
        """
        return self._last_event_id

    @property
    def reconnection_time(self) -> int | None:
        """The last valid `retry` value (milliseconds) seen in any block, else None.

        The spec sets the reconnection time as soon as the field is processed, whether or
        not its block dispatches an event (a lone "retry: 3000" block is a common opener).
        """
        return self._reconnection_time

    def feed(self, data: bytes, t: float = 0.0) -> list[Event]:
        """Parse the next chunk; returns the events it completed, each with `t`."""
        # The most common chunk of all, a token stream's, takes a fast path: exactly one
        # `data: ` line and the blank line that dispatches it, with nothing carried over but
        # the type, id and retry. The general path gives the same result, slower.
        one_event = (
            self._plain
            and data[:6] == b"data: "
            and data.find(b"\n") == len(data) - 2
            and data[-1] == _LF
            and _CR not in data
        )
        if not one_event:
            head = self._head
            if head is not None:
                data = head + data
                if len(data) < 3 and BOM.startswith(data):
                    # Perhaps a BOM split over chunks: wait for the bytes that decide it.
                    self._head = data
                    return []
                self._head = None
                if data[:3] == BOM:
                    data = data[3:]
            if self._skip_lf and data:
                self._skip_lf = False
                if data[0] == _LF:
                    data = data[1:]
            # `int in bytes` is a bare memchr; `b"\r" in bytes` costs ten times more per call.
            has_cr = _CR in data
            if not has_cr and _LF not in data:
                # No line end yet: keep the part and look at it again only when one arrives.
                if data:
                    self._pending.append(data)
                    self._plain = False
                return []
            if self._pending:
                self._pending.append(data)
                data = b"".join(self._pending)
                self._pending = []
                # A big event arrives in many reads; once joined, it is often the fast
                # path's one `data: ` line and blank line: one slice of it, not two.
                one_event = (
                    self._data_first is None
                    and not has_cr
                    and data[:6] == b"data: "
                    and data.find(b"\n") == len(data) - 2
                    and data[-1] == _LF
                )
        if one_event:
            self._last_event_id = id_buffer = self._id_buffer
            type_ = self._type
            if type_:
                self._type = ""
            retry = self._retry
            if retry is not None:
                self._retry = None
            raw = data[6:-2]
            try:
                text = raw.decode()
            except UnicodeDecodeError:
                text = raw.decode("utf-8", "replace")
            # Nothing is carried over now (a pending part was joined, a CR would have
            # ruled this path out).
            self._plain = True
            return [Event(type_ or "message", text, id_buffer, retry, t)]
        # A CR ending the chunk has ended its line already; its LF, if the next chunk
        # starts with one, must not end a second line.
        ends_with_cr = self._skip_lf = has_cr and data[-1] == _CR
        if len(data) <= _SHORT_LINE or (
            data.find(b"\n", 0, _SHORT_LINE) >= 0
            or (has_cr and data.find(b"\r", 0, _SHORT_LINE) >= 0)
        ):
            # Short lines (the usual case): split in one C call.
            if has_cr:
                # bytes.splitlines() breaks at exactly CRLF, CR and LF (str.splitlines()
                # would also break at VT, FF, NEL and more), three times faster than
                # replacing CRLF and CR by LF to split on LF. Pending parts hold no CR,
                # so checking the chunk was enough.
                lines = data.splitlines()
                # Without a line end at the end, the last piece is unfinished.
                tail = b"" if ends_with_cr or data[-1] == _LF else lines.pop()
            else:
                lines = data.split(b"\n")
                # The last piece has no line end (it is b"" when the chunk ended with one).
                tail = lines.pop()
        else:
            # A long first line (a big payload): bytes.split and bytes.splitlines look at
            # every byte in a byte-at-a-time C loop, ~30x slower than memchr, so jump from
            # line end to line end with single-byte finds instead.
            lines, tail = _scan_lines(data, has_cr)
        if tail:
            self._pending.append(tail)

        # "Interpreting an event stream", one complete line at a time. This loop is the
        # hot path of everything the plugin does: the state lives in locals, and the
        # common `data: ` line is taken before the general field split.
        events: list[Event] = []
        first = self._data_first
        more = self._data_more
        type_ = self._type
        id_buffer = self._id_buffer
        last_event_id = self._last_event_id
        retry = self._retry
        for line in lines:
            if not line:
                # A blank line: "dispatch the event". First, "set the last event ID string
                # of the event source to the value of the last event ID buffer" (it is not
                # reset: it stays in effect until the server sends another `id`).
                last_event_id = id_buffer
                if first is not None:
                    # The data buffer is each value followed by LF, less the final LF: the
                    # values joined by LF. Strict decoding is the fast path; only invalid
                    # UTF-8 pays for the second, replacing decode.
                    if more is None:
                        raw = first
                    else:
                        raw = b"\n".join([first, *more])
                        more = None
                    try:
                        text = raw.decode()
                    except UnicodeDecodeError:
                        text = raw.decode("utf-8", "replace")
                    first = None
                    # The type is "message" unless the event type buffer is non-empty.
                    events.append(Event(type_ or "message", text, id_buffer, retry, t))
                # "If the data buffer is an empty string, set the data buffer and the event
                # type buffer to the empty string and return": no event, buffers reset.
                type_ = ""
                retry = None
                continue
            if line[:6] == b"data: ":
                value = line[6:]
            else:
                # The usual spellings of the other two common fields are taken by prefix
                # too, which is what the general split below would find for them.
                if line[:7] == b"event: ":
                    name = b"event"
                    value = line[7:]
                elif line[:4] == b"id: ":
                    name = b"id"
                    value = line[4:]
                else:
                    # "Collect the characters on the line before the first U+003A COLON
                    # character (:), and let field be that string", the rest is the value;
                    # a line without a colon is a field name with the empty value.
                    name, colon, value = line.partition(b":")
                    if colon:
                        if not name:
                            # "If the line starts with a U+003A COLON character (:): Ignore
                            # the line."
                            continue
                        # "If value starts with a U+0020 SPACE character, remove it from
                        # value."
                        if value[:1] == b" ":
                            value = value[1:]
                if name != b"data":
                    if name == b"event":
                        type_ = value.decode("utf-8", "replace")
                    elif name == b"id":
                        # "If the field value does not contain U+0000 NULL, then set the
                        # last event ID buffer to the field value. Otherwise, ignore the
                        # field."
                        if 0 not in value:
                            id_buffer = value.decode("utf-8", "replace")
                    elif name == b"retry" and value.isdigit():
                        # "If the field value consists of only ASCII digits, then interpret
                        # the field value as an integer in base ten." bytes.isdigit() is
                        # exactly that (and False for the empty value, which holds no
                        # number); str.isdigit() or int() would take signs, spaces,
                        # underscores, "١٢٣".
                        try:
                            number = int(value)
                        except ValueError:
                            # Longer than Python's int max_str_digits: no usable duration.
                            pass
                        else:
                            # The browser keeps the reconnection time as stream state; we
                            # also report it on the event whose block carried it
                            # (`Event.retry`), None on events whose block had no valid one.
                            retry = number
                            self._reconnection_time = number
                    # "Otherwise: The field is ignored."
                    continue
            # A `data` field: "Append the field value to the data buffer, then append a
            # single U+000A LINE FEED (LF) character to the data buffer." So a `data` line
            # with an empty value still makes the buffer non-empty, and dispatches "".
            if first is None:
                first = value
            elif more is None:
                more = [value]
            else:
                more.append(value)
        self._data_first = first
        self._data_more = more
        self._type = type_
        self._id_buffer = id_buffer
        self._last_event_id = last_event_id
        self._retry = retry
        self._plain = first is None and not self._pending and not self._skip_lf
        return events

    def close(self) -> list[Event]:
        """End the stream. Always returns []: an unfinished event is not dispatched.

        "Once the end of the file is reached, any pending data must be discarded. (If the
        file ends in the middle of an event, before the final empty line, the incomplete
        event is not dispatched.)" The parser is then ready for a new stream.
        """
        self._reset()
        return []


def parse_events(chunks: Iterable[bytes]) -> list[Event]:
    """All the events of a complete stream given as chunks (an unfinished last one is dropped)."""
    parser = SSEParser()
    events: list[Event] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    parser.close()
    return events


def event_boundaries(body: bytes) -> list[int]:
    """For each event `body` dispatches, the offset just after the blank line that did.

    Cutting the body at `event_boundaries(body)[i]` leaves exactly its first i + 1 events.
    Blocks that dispatch nothing (only comments, or no `data` field) have no boundary.
    A CRLF blank line counts whole: the offset is after its LF.
    """
    # Feeding the real parser one line at a time keeps these offsets true to the parser
    # by construction; a line can complete at most one event.
    parser = SSEParser()
    boundaries: list[int] = []
    start = 0
    for match in LINE_END.finditer(body):
        end = match.end()
        if parser.feed(body[start:end]):
            boundaries.append(end)
        start = end
    return boundaries


def _scan_lines(data: bytes, has_cr: bool) -> tuple[list[bytes], bytes]:
    """The complete lines of `data` and the unterminated rest, found by single-byte finds.

    A line ends at CRLF, CR or LF ("end-of-line = ( cr lf / cr / lf )"). The next CR and
    the next LF are each looked up again only once passed, so the scan stays linear.
    """
    lines: list[bytes] = []
    find = data.find
    size = len(data)
    start = 0
    lf = find(b"\n")
    if lf < 0:
        lf = size
    cr = find(b"\r") if has_cr else -1
    if cr < 0:
        cr = size
    while True:
        if lf < cr:
            lines.append(data[start:lf])
            start = lf + 1
            lf = find(b"\n", start)
            if lf < 0:
                lf = size
        elif cr < size:
            lines.append(data[start:cr])
            start = cr + 1
            if lf == start:
                # CRLF is one line end, not a line and then a blank line.
                start += 1
                lf = find(b"\n", start)
                if lf < 0:
                    lf = size
            cr = find(b"\r", start)
            if cr < 0:
                cr = size
        else:
            return lines, data[start:]
