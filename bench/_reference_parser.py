"""The reference parser the parse figure is measured against: a plain block-at-a-time design.

WHATWG-exact and bytes-level, like `pytest_sse_replay.sse._parser`, but built the simplest fast way
(tests/unit/sse/test_reference_parser.py holds it to the same properties as the real one):

- line ends are made LF first (a chunk holding a CR is rewritten with two `bytes.replace`);
- the stream is split on the blank line, `\\n\\n`, and only when a chunk can complete an event
  (a chunk with no LF waits in the buffer untouched): by one `bytes.split` when lines are
  short, by jumping from LF to LF with one-byte finds when they are long;
- a block that is one `data: ` line, the token stream's usual event, is one slice and one
  decode; any other block is read line by line and its data decoded once, when it dispatches;
- each event is one `RefEvent`, a class of four slots.

It is not the product's parser: its `feed` holds back the complete lines of an unfinished
block until a blank line arrives (the real one reads them at once, so `retry` and `id` are in
effect as soon as their line ends), and rejoins that block whenever a chunk brings a line end
but no blank line, which is quadratic on a pathological stream of very long blocks.
"""

from __future__ import annotations

import contextlib

__all__ = ["RefEvent", "ReferenceParser", "reference_parse_events"]

_BOM = b"\xef\xbb\xbf"
# A buffer whose first line end is farther than this from where the search starts is split
# into blocks by single-byte finds, a shorter one by `bytes.split`.
_SHORT_LINE = 512


class RefEvent:
    """One dispatched event: four slots and nothing else."""

    __slots__ = ("data", "id", "retry", "type")

    def __init__(self, type: str, data: str, id: str, retry: int | None) -> None:
        self.type = type
        self.data = data
        self.id = id
        self.retry = retry


class ReferenceParser:
    """Feed it bytes, get the `RefEvent`s they complete."""

    __slots__ = ("_blocked", "_head", "_id", "_last_id", "_reconnection_time", "_skip_lf")

    def __init__(self) -> None:
        # The stream's start while it may still be a split BOM; None once settled.
        self._head: bytes | None = b""
        # The unfinished block, line ends already made LF, as the parts that arrived.
        self._blocked: list[bytes] = []
        # The previous chunk ended with CR: an LF starting this one belongs to that CRLF.
        self._skip_lf = False
        self._id = ""
        self._last_id = ""
        self._reconnection_time: int | None = None

    @property
    def last_event_id(self) -> str:
        return self._last_id

    @property
    def reconnection_time(self) -> int | None:
        # The spec sets it when a complete `retry` line is read, even in an unfinished block:
        # read the held-back complete lines for one (only when asked, never in `feed`).
        held = b"".join(self._blocked)
        time = self._reconnection_time
        for line in held.split(b"\n")[:-1]:
            name, colon, value = line.partition(b":")
            if colon and value[:1] == b" ":
                value = value[1:]
            if name == b"retry" and value.isdigit():
                with contextlib.suppress(ValueError):  # too long for int(): no duration
                    time = int(value)
        return time

    def feed(self, chunk: bytes) -> list[RefEvent]:
        head = self._head
        if head is not None:
            chunk = head + chunk
            if len(chunk) < 3 and _BOM.startswith(chunk):
                self._head = chunk
                return []
            self._head = None
            if chunk[:3] == _BOM:
                chunk = chunk[3:]
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[0] == 0x0A:
                chunk = chunk[1:]
        if 0x0D in chunk:
            self._skip_lf = chunk[-1] == 0x0D
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if 0x0A not in chunk:
            if chunk:
                self._blocked.append(chunk)
            return []
        blocked = self._blocked
        if blocked:
            # The blank line may straddle the cut: look from the last held byte on.
            start = sum(map(len, blocked)) - 1
            blocked.append(chunk)
            buffer = b"".join(blocked)
        else:
            start = 0
            buffer = chunk
        # A two-byte find or split looks at every byte in a slow C loop (~1 GB/s) where a
        # one-byte find is a memchr (~100 GB/s): blocks of long lines are found by jumping
        # from LF to LF; short ones by one split.
        lf = buffer.find(b"\n", start)
        if lf - start < _SHORT_LINE:
            blocks = buffer.split(b"\n\n")
            rest = blocks.pop()
            if not blocks:
                self._blocked = [buffer]
                return []
        else:
            blocks = []
            begin = 0
            while lf >= 0:
                if buffer[lf + 1 : lf + 2] == b"\n":
                    blocks.append(buffer[begin:lf])
                    begin = lf + 2
                    lf = buffer.find(b"\n", begin)
                else:
                    lf = buffer.find(b"\n", lf + 1)
            if not blocks:
                self._blocked = [buffer]
                return []
            rest = buffer[begin:]
        self._blocked = [rest] if rest else []
        events: list[RefEvent] = []
        id_buffer = self._id
        for block in blocks:
            if block[:6] == b"data: " and 0x0A not in block:
                raw = block[6:]
                try:
                    text = raw.decode()
                except UnicodeDecodeError:
                    text = raw.decode("utf-8", "replace")
                events.append(RefEvent("message", text, id_buffer, None))
                continue
            type_ = ""
            retry: int | None = None
            data: list[bytes] | None = None
            # The block's lines, then the blank line that ended it.
            for line in (*block.split(b"\n"), b""):
                if not line:
                    if data is not None:
                        raw = b"\n".join(data)
                        try:
                            text = raw.decode()
                        except UnicodeDecodeError:
                            text = raw.decode("utf-8", "replace")
                        events.append(RefEvent(type_ or "message", text, id_buffer, retry))
                        data = None
                    type_ = ""
                    retry = None
                    continue
                name, colon, value = line.partition(b":")
                if colon:
                    if not name:
                        continue
                    if value[:1] == b" ":
                        value = value[1:]
                if name == b"data":
                    if data is None:
                        data = [value]
                    else:
                        data.append(value)
                elif name == b"event":
                    type_ = value.decode("utf-8", "replace")
                elif name == b"id":
                    if 0 not in value:
                        id_buffer = value.decode("utf-8", "replace")
                elif name == b"retry" and value.isdigit():
                    try:
                        number = int(value)
                    except ValueError:  # too long for int(): no duration
                        pass
                    else:
                        retry = self._reconnection_time = number
        self._id = self._last_id = id_buffer
        return events


def reference_parse_events(chunks: list[bytes]) -> list[RefEvent]:
    """Every event of a complete stream (an unfinished last one is dropped)."""
    parser = ReferenceParser()
    events: list[RefEvent] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    return events
