"""Hypothesis strategies for SSE byte streams, and a serialiser for event sequences."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from hypothesis import strategies as st

from pytest_sse_replay.sse._event import Event

BOM = b"\xef\xbb\xbf"
LINE_ENDS = (b"\n", b"\r", b"\r\n")

# Characters that make a value interesting to the parser: the separators it splits on,
# NUL (which voids an `id`), the BOM, and multi-byte UTF-8 of each length.
# (U+0661 is ARABIC-INDIC DIGIT ONE, a digit to str.isdigit() and int() but not ASCII.)
_SPECIAL_CHARS = [" ", ":", "\x00", "\ufeff", "é", "€", "𝄞", "\u0661"]
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


# A field value as bytes: usually text, sometimes invalid UTF-8 mixed in, now and then long
# enough (over 512 bytes) to take the parser's long-line path. (one_of picks its branches
# evenly, so repeating one weights it.)
_text_values = line_text().map(str.encode)
_mixed_values = st.lists(
    st.one_of(line_text(4).map(str.encode), st.sampled_from(INVALID_UTF8)), max_size=4
).map(b"".join)
_long_values = st.integers(500, 1200).map(lambda n: b"x" * n)
field_values: st.SearchStrategy[bytes] = st.one_of(
    _text_values, _text_values, _text_values, _mixed_values, _mixed_values, _long_values
)

retry_values: st.SearchStrategy[bytes] = st.one_of(
    st.integers(0, 10**12).map(lambda n: str(n).encode()),
    # What int() accepts and the spec does not, and other near misses.
    st.sampled_from(
        [
            b"",
            b" 1000",
            b"1000 ",
            b"-5",
            b"+5",
            b"1_000",
            "\u0661\u0662\u0663".encode(),
            b"12a",
            b"1.5",
            b"0x1",
        ]
    ),
)

_FIELD_NAMES = [b"data", b"event", b"id", b"retry"]
# Names that look like fields and are not, so they must be ignored.
_NEAR_MISS_NAMES = [b"Data", b"data ", b" data", BOM + b"data", b"foo"]
_SEPARATORS = [b":", b": ", b":  "]


@st.composite
def field_lines(draw: st.DrawFn) -> bytes:
    """One non-blank line of an event stream, without its line end."""
    kind = draw(st.sampled_from(["field", "field", "field", "bare", "comment", "odd"]))
    if kind == "comment":
        return b":" + draw(field_values)
    if kind == "bare":
        # A line with no colon: the whole line is the field name, the value is empty.
        return draw(st.sampled_from([*_FIELD_NAMES, *_NEAR_MISS_NAMES]))
    name = draw(st.sampled_from(_FIELD_NAMES if kind == "field" else _NEAR_MISS_NAMES))
    value = draw(retry_values if name == b"retry" else field_values)
    if name == b"id" and draw(st.booleans()):
        value += b"\x00"
    return name + draw(st.sampled_from(_SEPARATORS)) + value


@st.composite
def blocks(draw: st.DrawFn) -> list[bytes]:
    """The lines of one block, the blank line that ends it included.

    Most blocks hold a `data` line and so dispatch; some are only comments or fields.
    """
    lines = draw(st.lists(field_lines(), max_size=4))
    if draw(st.integers(0, 3)):
        data_line = b"data" + draw(st.sampled_from(_SEPARATORS)) + draw(field_values)
        lines.insert(draw(st.integers(0, len(lines))), data_line)
    return [*lines, b""]


@st.composite
def sse_streams(draw: st.DrawFn) -> bytes:
    """A byte stream shaped like SSE: blocks of fields and comments, mixed line ends.

    It may start with one or two BOMs and may end inside a block, with or without a line
    end, so the rules about the start and the end of the stream are exercised too.
    """
    lines = [line for block in draw(st.lists(blocks(), max_size=6)) for line in block]
    lines += draw(st.lists(field_lines(), max_size=2))
    parts = [BOM * draw(st.sampled_from([0, 1, 1, 2]))]
    for line in lines:
        parts.append(line)
        parts.append(draw(st.sampled_from(LINE_ENDS)))
    if draw(st.booleans()):
        parts.append(draw(field_lines()))
    return b"".join(parts)


def _tricky_cuts(body: bytes) -> list[int]:
    # Cut points where a parser is most likely to go wrong: inside the BOM, between the CR
    # and LF of a CRLF (or after any CR), inside a multi-byte character; and after each
    # LF, so that chunks are often whole lines or whole events, as servers send them.
    cuts = [1, 2]
    for i, byte in enumerate(body):
        if byte == 0x0D or 0x80 <= byte <= 0xBF:
            cuts.append(i)
            cuts.append(i + 1)
        elif byte == 0x0A:
            cuts.append(i + 1)
    return [cut for cut in cuts if cut <= len(body)]


@st.composite
def chunkings(draw: st.DrawFn, body: bytes) -> list[bytes]:
    """`body` cut into chunks (empty chunks too).

    Half the time at arbitrary and tricky points; half the time after every blank line
    and before every `data: ` (about one event per chunk, as servers flush them), and at
    a few points besides.
    """
    points = st.integers(0, len(body))
    tricky = _tricky_cuts(body)
    if tricky:
        points = st.one_of(points, st.sampled_from(tricky))
    if draw(st.booleans()):
        cuts = draw(st.lists(points, max_size=16))
    else:
        flushes = [
            i
            for i in range(len(body))
            if body[i - 2 : i] == b"\n\n" or body.startswith(b"data: ", i)
        ]
        # Some flushes are skipped, so that chunks also hold two lines or two events.
        often = st.sampled_from([True, True, True, False])
        keep = draw(st.lists(often, min_size=len(flushes), max_size=len(flushes)))
        cuts = [cut for cut, kept in zip(flushes, keep, strict=True) if kept]
        cuts += draw(st.lists(points, max_size=3))
    bounds = [0, *sorted(cuts), len(body)]
    return [body[start:end] for start, end in itertools.pairwise(bounds)]


@st.composite
def token_streams(draw: st.DrawFn) -> bytes:
    """A stream shaped like an AI token stream: mostly one-line `data: ` events.

    Between them, now and then, a line that changes what the next event must look like:
    an `event`, `id` or `retry` field, a `data` line without its blank line, a comment,
    a partial line, or a line end of another kind.
    """
    parts = [BOM * draw(st.sampled_from([0, 0, 0, 1]))]
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["token"] * 6 + ["field", "crlf", "partial"]))
        value = draw(line_text(8)).encode()
        if kind == "token":
            parts.append(b"data: " + value + b"\n\n")
        elif kind == "field":
            parts.append(draw(field_lines()) + b"\n")
        elif kind == "crlf":
            parts.append(b"data: " + value + draw(st.sampled_from([b"\r\n\r\n", b"\r\r", b"\r"])))
        else:
            parts.append(b"data: " + value)
    return b"".join(parts)


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
    and a bare `id` line (the empty value) resets it.
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
