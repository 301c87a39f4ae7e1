"""Hypothesis strategies for SSE byte streams, and a serialiser for event sequences."""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis import strategies as st

from pytest_sse_replay._event import Event

BOM = b"\xef\xbb\xbf"
LINE_ENDS = (b"\n", b"\r", b"\r\n")

# Characters that make a value interesting to the parser: the separators it splits on,
# NUL (which voids an `id`), the BOM, and multi-byte UTF-8 of each length.
_SPECIAL_CHARS = [" ", ":", "\x00", "\ufeff", "é", "€", "𝄞", "١"]
# Byte sequences that are not UTF-8: a stray continuation byte, truncated sequences, an
# encoded surrogate, bytes UTF-8 never uses.
INVALID_UTF8 = [
    b"\x80",
    b"\xc3",
    b"\xe2\x82",
    b"\xf0\x9f\x98",
    b"\xed\xa0\x80",
    b"\xff",
    b"\xc0\xaf",
]

# Any character that can sit inside one line: everything but CR and LF.
line_chars = st.one_of(
    st.sampled_from(_SPECIAL_CHARS),
    st.characters(codec="utf-8", exclude_characters="\r\n"),
)


def line_text(max_size: int = 12) -> st.SearchStrategy[str]:
    """Text with no line end in it."""
    return st.text(line_chars, max_size=max_size)


# A field value as bytes: usually text, sometimes invalid UTF-8 mixed in, sometimes long
# enough (over 512 bytes) to take the parser's long-line path.
field_values = st.one_of(
    line_text().map(str.encode),
    st.lists(
        st.one_of(line_text(4).map(str.encode), st.sampled_from(INVALID_UTF8)), max_size=4
    ).map(b"".join),
    st.integers(500, 1200).map(lambda n: b"x" * n),
)

retry_values = st.one_of(
    st.integers(0, 10**12).map(lambda n: str(n).encode()),
    # What int() accepts and the spec does not, and other near misses.
    st.sampled_from(
        [b"", b" 1000", b"1000 ", b"-5", b"+5", b"1_000", "١٢٣".encode(), b"12a", b"1.5", b"0x1"]
    ),
)

_FIELD_NAMES = [b"data", b"event", b"id", b"retry"]
# Names that look like fields and are not, so they must be ignored.
_NEAR_MISS_NAMES = [b"Data", b"data ", b" data", BOM + b"data", b"foo", b""]
_SEPARATORS = [b":", b": ", b":  "]


@st.composite
def field_lines(draw: st.DrawFn) -> bytes:
    """One line of an event stream, without its line end."""
    kind = draw(st.sampled_from(["field", "field", "field", "bare", "comment", "blank", "odd"]))
    if kind == "blank":
        return b""
    if kind == "comment":
        return b":" + draw(field_values)
    if kind == "bare":
        # A line with no colon: the whole line is the field name, the value is empty.
        return draw(st.sampled_from([*_FIELD_NAMES, *_NEAR_MISS_NAMES[:-1]]))
    name = draw(st.sampled_from(_FIELD_NAMES if kind == "field" else _NEAR_MISS_NAMES[:-1]))
    value = draw(retry_values if name == b"retry" else field_values)
    if name == b"id" and draw(st.booleans()):
        value += b"\x00"
    return name + draw(st.sampled_from(_SEPARATORS)) + value


@st.composite
def sse_streams(draw: st.DrawFn) -> bytes:
    """A byte stream shaped like SSE: fields, comments, blank lines, mixed line ends.

    It may start with one or two BOMs and may end without a line end or a blank line, so
    the rules about the start and the end of the stream are exercised too.
    """
    parts = [BOM * draw(st.sampled_from([0, 0, 1, 2]))]
    for line in draw(st.lists(field_lines(), max_size=24)):
        parts.append(line)
        parts.append(draw(st.sampled_from(LINE_ENDS)))
    if draw(st.booleans()):
        parts.append(draw(field_lines()))
    return b"".join(parts)


@st.composite
def chunkings(draw: st.DrawFn, body: bytes) -> list[bytes]:
    """`body` cut into chunks at arbitrary points (empty chunks included)."""
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=16)))
    bounds = [0, *cuts, len(body)]
    return [body[start:end] for start, end in zip(bounds, bounds[1:])]


# Event values the serialiser can write and the parser reads back unchanged: one line of
# text for type and id (the type never empty, the id without NUL), and data whose lines
# are split on LF only (a CR in data would end a line).
_one_line = line_text(16)
event_values = st.builds(
    Event,
    type=st.one_of(st.just("message"), _one_line.filter(bool)),
    data=st.text(st.one_of(line_chars, st.just("\n")), max_size=40),
    id=_one_line.map(lambda text: text.replace("\x00", "")),
    retry=st.one_of(st.none(), st.integers(0, 10**9)),
)


def encode_events(events: Iterable[Event], newline: bytes = b"\n") -> bytes:
    """Serialise a sequence of events as one stream.

    The last event id persists across events, so `id:` is written only when it changes,
    and written empty to reset it.
    """
    out: list[bytes] = []
    current_id = ""
    for event in events:
        lines: list[str] = []
        if event.type != "message":
            lines.append(f"event: {event.type}")
        if event.id != current_id:
            lines.append(f"id: {event.id}" if event.id else "id")
            current_id = event.id
        if event.retry is not None:
            lines.append(f"retry: {event.retry}")
        lines.extend(f"data: {line}" for line in event.data.split("\n"))
        for line in lines:
            out.append(line.encode() + newline)
        out.append(newline)
    return b"".join(out)
