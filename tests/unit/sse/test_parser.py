"""The SSE parser against the WHATWG HTML rules for parsing and interpreting event streams."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_sse_replay.sse import _parser as _parser
from pytest_sse_replay.sse._event import Event
from pytest_sse_replay.sse._parser import SSEParser, event_boundaries, parse_events
from tests.strategies import (
    BOM,
    LINE_ENDS,
    chunkings,
    encode_events,
    event_values,
    sse_streams,
    token_streams,
)


def parse(body: bytes) -> list[Event]:
    return parse_events([body])


def feed_all(chunks: list[bytes]) -> tuple[list[Event], SSEParser]:
    parser = SSEParser()
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    return events, parser


# The parser splits lines in two ways (one bytes.split for short lines, single-byte finds
# for long ones); the properties run with each forced, and with the real choice.
SPLIT_MODES = {"auto": _parser._SHORT_LINE, "always-split": 10**9, "always-scan": 0}


@contextmanager
def split_mode(mode: str) -> Iterator[None]:
    saved = _parser._SHORT_LINE
    _parser._SHORT_LINE = SPLIT_MODES[mode]
    try:
        yield
    finally:
        _parser._SHORT_LINE = saved


# --- The spec's own examples -------------------------------------------------------------


def test_spec_stock_example_joins_data_lines() -> None:
    """The "YHOO" example: three data lines make one message event, joined by LF."""
    body = b"data: YHOO\ndata: +2\ndata: 10\n\n"
    assert parse(body) == [Event(data="YHOO\n+2\n10")]


def test_spec_four_blocks_example() -> None:
    """The comment-only block fires nothing; a bare `id` resets the id; spaces past one stay."""
    body = (
        b": test stream\n\n"
        b"data: first event\nid: 1\n\n"
        b"data:second event\nid\n\n"
        b"data:  third event\n\n"
    )
    assert parse(body) == [
        Event(data="first event", id="1"),
        Event(data="second event", id=""),
        Event(data=" third event", id=""),
    ]


def test_spec_data_without_value_example() -> None:
    """`data` alone dispatches "", two of them "\\n", and an unterminated last block nothing."""
    body = b"data\n\ndata\ndata\n\ndata:"
    assert parse(body) == [Event(data=""), Event(data="\n")]


def test_spec_space_after_colon_is_optional() -> None:
    """`data:test` and `data: test` give two identical events."""
    events = parse(b"data:test\n\ndata: test\n\n")
    assert events == [Event(data="test"), Event(data="test")]


# --- Line ends ---------------------------------------------------------------------------


@pytest.mark.parametrize("newline", LINE_ENDS, ids=["LF", "CR", "CRLF"])
def test_each_line_end_ends_lines(newline: bytes) -> None:
    """LF, CR and CRLF each end a line, and two of them end the event."""
    body = newline.join([b"event: tick", b"data: a", b"data: b", b"", b""])
    assert parse(body) == [Event(type="tick", data="a\nb")]


def test_mixed_line_ends_in_one_stream() -> None:
    """Line ends of every kind can be mixed within one stream."""
    body = b"data: a\rdata: b\r\ndata: c\n\r\ndata: d\r\r"
    assert parse(body) == [Event(data="a\nb\nc"), Event(data="d")]


def test_lone_cr_is_a_line_end() -> None:
    """A CR not followed by LF ends a line by itself."""
    assert parse(b"data: a\rdata: b\r\r") == [Event(data="a\nb")]


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    """A CR ending one chunk and the LF starting the next are one line end, not two."""
    parser = SSEParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\ndata: b\r\n\r\n") == [Event(data="a\nb")]


def test_cr_at_chunk_end_dispatches_without_waiting() -> None:
    """A blank line ended by a CR dispatches at once, before the next chunk says if an LF follows."""
    parser = SSEParser()
    assert parser.feed(b"data: a\r\r") == [Event(data="a")]
    assert parser.feed(b"\ndata: b\n\n") == [Event(data="b")]


def test_crlf_split_after_blank_line() -> None:
    """The LF of a split CRLF blank line does not make a second blank line (it would reset `event`)."""
    parser = SSEParser()
    assert parser.feed(b"data: a\r\n\r") == [Event(data="a")]
    assert parser.feed(b"\nevent: x\r") == []
    assert parser.feed(b"\ndata: b\r\n\r\n") == [Event(type="x", data="b")]


@pytest.mark.parametrize(
    ("before", "chunk", "expected"),
    [
        (b"", b"data: x\n\n", Event(data="x")),
        (b"event: add\nid: 3\nretry: 50\n", b"data: x\n\n", Event("add", "x", "3", 50)),
        (b"data: a\n", b"data: x\n\n", Event(data="a\nx")),
        (b"data: a", b"data: x\n\n", Event(data="adata: x")),
        (b"id: 1\ndata: a", b"data: x\n\n", Event(data="adata: x", id="1")),
        (b"data: a\r", b"\ndata: x\n\n", Event(data="a\nx")),
        (b"", b"data: a\rb\n\n", Event(data="a")),
        (b"", b"data: a\ndata: b\n\n", Event(data="a\nb")),
    ],
    ids=[
        "alone",
        "after-fields",
        "after-data",
        "after-partial",
        "after-line-and-partial",
        "after-cr",
        "inner-cr",
        "two-lines",
    ],
)
def test_one_event_chunk_after_any_state(before: bytes, chunk: bytes, expected: Event) -> None:
    """A chunk holding exactly one `data:` event is read in the light of what came before it."""
    parser = SSEParser()
    assert parser.feed(b": the stream's start is settled\n") == []
    assert parser.feed(before) == []
    assert parser.feed(chunk) == [expected]
    assert parser.last_event_id == expected.id
    # The type and retry were this event's only; the id stays.
    assert parser.feed(b"data: next\n\n") == [Event(data="next", id=expected.id)]


@pytest.mark.parametrize(
    ("reads", "expected"),
    [
        ([b"data: he", b"llo\n\n"], Event(data="hello")),
        ([b"event: x\nid: 7\nretry: 5\n", b"data: he", b"llo\n\n"], Event("x", "hello", "7", 5)),
        ([b"data: a\n", b"data: b", b"\n\n"], Event(data="a\nb")),
        ([b"data: a\r", b"\ndata: b", b"\n\n"], Event(data="a\nb")),
        ([b"data: \xc3", b"\xa9\n\n"], Event(data="\u00e9")),
    ],
    ids=["split", "after-fields", "after-data", "after-cr", "split-character"],
)
def test_one_data_line_in_several_reads(reads: list[bytes], expected: Event) -> None:
    """A `data:` event completed by its last read is read in the light of what came before."""
    parser = SSEParser()
    events = [event for read in reads for event in parser.feed(read)]
    assert events == [expected]
    assert parser.last_event_id == expected.id
    # Nothing of it is carried over: the next event stands alone.
    assert parser.feed(b"data: next\n\n") == [Event(data="next", id=expected.id)]


# --- The byte order mark -----------------------------------------------------------------


def test_leading_bom_is_stripped() -> None:
    """One UTF-8 BOM at the start of the stream is not part of the first field name."""
    assert parse(BOM + b"data: x\n\n") == [Event(data="x")]


@pytest.mark.parametrize(
    "chunks",
    [
        [b"\xef", b"\xbb", b"\xbfdata: x\n\n"],
        [b"\xef\xbb", b"\xbfdata: x\n\n"],
        [b"\xef", b"\xbb\xbf", b"data: x\n\n"],
    ],
    ids=["1+1+1", "2+1", "1+2"],
)
def test_bom_split_across_chunks_is_stripped(chunks: list[bytes]) -> None:
    """A leading BOM is stripped even when its three bytes arrive in different chunks."""
    assert parse_events(chunks) == [Event(data="x")]


def test_second_bom_is_part_of_the_field_name() -> None:
    """Only one BOM is stripped: a second makes the field name "\\ufeffdata", which is ignored."""
    assert parse(BOM + BOM + b"data: x\n\ndata: y\n\n") == [Event(data="y")]


def test_bom_after_the_start_is_not_stripped() -> None:
    """A BOM later in the stream is content, here part of an unknown field name."""
    assert parse(b"data: a\n\n" + BOM + b"data: b\n\n") == [Event(data="a")]


def test_bom_prefix_that_is_not_a_bom_is_kept() -> None:
    """Bytes that only begin like a BOM are kept and decoded (to U+FFFD), not dropped."""
    parser = SSEParser()
    assert parser.feed(b"\xef\xbb") == []
    assert parser.feed(b"data: x\n\ndata: y\n\n") == [Event(data="y")]


# --- Comments and the field/value split ---------------------------------------------------


def test_comment_lines_are_ignored() -> None:
    """Lines starting with a colon are ignored, wherever they are in a block."""
    body = b": hello\ndata: a\n:no space\n:\ndata: b\n: bye\n\n"
    assert parse(body) == [Event(data="a\nb")]


def test_comment_only_block_dispatches_nothing() -> None:
    """A block of comments (a heartbeat) is not an event."""
    assert parse(b": heartbeat\n\n: heartbeat\n\ndata: x\n\n") == [Event(data="x")]


def test_value_is_split_at_the_first_colon() -> None:
    """The field name ends at the first colon; later colons belong to the value."""
    assert parse(b'data: {"a": "b:c"}\n\n') == [Event(data='{"a": "b:c"}')]


def test_only_one_leading_space_is_removed() -> None:
    """One space after the colon is removed, further spaces (and trailing ones) are kept."""
    assert parse(b"data:   x  \n\n") == [Event(data="  x  ")]


def test_line_without_colon_is_a_field_with_empty_value() -> None:
    """A line with no colon is a field name with the empty value: bare `event` sets no type."""
    assert parse(b"event: a\nevent\ndata\n\n") == [Event(type="message", data="")]


@pytest.mark.parametrize(
    "line",
    [b"foo: bar", b"Data: x", b"data : x", b" data: x", b"DATA: x", b"datas: x"],
)
def test_unknown_fields_are_ignored(line: bytes) -> None:
    """Field names are matched exactly (case and spaces count); anything else is ignored."""
    assert parse(line + b"\ndata: kept\n\n") == [Event(data="kept")]


# --- data and dispatch --------------------------------------------------------------------


@pytest.mark.parametrize("line", [b"data:", b"data: ", b"data"])
def test_data_with_empty_value_dispatches_empty_string(line: bytes) -> None:
    """A `data` field with an empty value still dispatches, with data ""."""
    assert parse(line + b"\n\n") == [Event(data="")]


def test_only_the_last_line_feed_is_removed() -> None:
    """Data lines are joined with LF; only the one final LF is removed, not all trailing ones."""
    assert parse(b"data: a\ndata\ndata:\n\n") == [Event(data="a\n\n")]


def test_block_without_data_is_not_dispatched() -> None:
    """A block with `event:` (and `id:`) but no `data` dispatches nothing."""
    assert parse(b"event: ping\nid: 1\n\n") == []


def test_block_without_data_resets_event_type() -> None:
    """A block that does not dispatch still resets the event type buffer."""
    assert parse(b"event: lost\n\ndata: x\n\n") == [Event(type="message", data="x")]


def test_event_sets_the_type_for_its_block_only() -> None:
    """`event` names the event of its block; the next event is a "message" again."""
    events = parse(b"event: add\ndata: 1\n\ndata: 2\n\n")
    assert [(e.type, e.data) for e in events] == [("add", "1"), ("message", "2")]


def test_last_event_field_wins() -> None:
    """Within a block, a later `event` field replaces an earlier one."""
    assert parse(b"event: a\nevent: b\ndata: x\n\n") == [Event(type="b", data="x")]


def test_empty_event_field_means_message() -> None:
    """An `event:` with an empty value leaves the type "message"."""
    assert parse(b"event:\ndata: x\n\n") == [Event(type="message", data="x")]


# --- id --------------------------------------------------------------------------------------


def test_id_persists_across_events() -> None:
    """The last event id is not reset by a dispatch: later events without `id` keep it."""
    events = parse(b"id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n")
    assert [e.id for e in events] == ["1", "1", "2"]


def test_id_with_nul_is_ignored() -> None:
    """An `id` value containing U+0000 is ignored; the previous id stays in effect."""
    events = parse(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n")
    assert [e.id for e in events] == ["1", "1"]


@pytest.mark.parametrize("line", [b"id", b"id:", b"id: "])
def test_empty_id_resets_the_id(line: bytes) -> None:
    """An `id` field with an empty value sets the last event id back to ""."""
    events = parse(b"id: 1\ndata: a\n\n" + line + b"\ndata: b\n\n")
    assert [e.id for e in events] == ["1", ""]


def test_id_in_a_dataless_block_applies_to_later_events() -> None:
    """An `id` in a block that dispatches nothing still sets the id of the following events."""
    assert parse(b"id: 7\n\ndata: x\n\n") == [Event(data="x", id="7")]


def test_last_event_id_takes_effect_at_the_blank_line() -> None:
    """`last_event_id` (for reconnecting) changes at a blank line, not while a block is unfinished."""
    parser = SSEParser()
    parser.feed(b"id: 1\ndata: a\n\nid: 2\n")
    assert parser.last_event_id == "1"
    assert parser.feed(b"\n") == []
    assert parser.last_event_id == "2"


def test_close_keeps_last_event_id_and_starts_a_new_stream() -> None:
    """After close() the last event id is still there to resume with, and buffers start empty."""
    parser = SSEParser()
    parser.feed(b"id: 5\nretry: 300\ndata: a\n\nevent: x\ndata: unfinished\n")
    assert parser.close() == []
    assert parser.last_event_id == "5"
    assert parser.reconnection_time == 300
    # The unfinished block is gone, and a BOM is stripped again at the new stream's start.
    assert parser.feed(BOM + b"\ndata: b\n\n") == [Event(data="b")]


# --- retry -------------------------------------------------------------------------------------


def test_retry_digits_set_retry_on_the_event() -> None:
    """`retry` with ASCII digits is reported on the event whose block carried it."""
    events = parse(b"retry: 1000\ndata: a\n\ndata: b\n\n")
    assert [e.retry for e in events] == [1000, None]


@pytest.mark.parametrize(
    "value",
    [
        b"1_000",
        b" 1000",
        b"1000 ",
        b"-5",
        b"+5",
        "\u0661\u0662\u0663".encode(),
        b"12a",
        b"1.5",
        b"",
        b"0x10",
    ],
    ids=[
        "underscore",
        "space",
        "trailing-space",
        "minus",
        "plus",
        "arabic",
        "12a",
        "dot",
        "empty",
        "hex",
    ],
)
def test_retry_other_than_ascii_digits_is_ignored(value: bytes) -> None:
    """`retry` is ignored unless its value is ASCII digits only (int() would take several of these)."""
    parser = SSEParser()
    events = parser.feed(b"retry: " + value + b"\ndata: x\n\n")
    assert [e.retry for e in events] == [None]
    assert parser.reconnection_time is None


def test_retry_leading_zeros_are_base_ten() -> None:
    """A retry value is read in base ten, leading zeros included."""
    assert [e.retry for e in parse(b"retry: 0010\ndata: x\n\n")] == [10]


def test_retry_too_long_for_int_is_ignored() -> None:
    """A retry of more digits than Python converts is ignored instead of raising."""
    assert [e.retry for e in parse(b"retry: " + b"9" * 5000 + b"\ndata: x\n\n")] == [None]


def test_reconnection_time_is_set_by_a_dataless_block() -> None:
    """A lone `retry` block dispatches nothing but sets the parser's reconnection time."""
    parser = SSEParser()
    assert parser.feed(b"retry: 3000\n\n") == []
    assert parser.reconnection_time == 3000
    assert [e.retry for e in parser.feed(b"data: x\n\n")] == [None]


# --- UTF-8 -------------------------------------------------------------------------------------


def test_invalid_utf8_is_replaced_and_parsing_goes_on() -> None:
    """Invalid UTF-8 becomes U+FFFD in data, type and id, and the stream goes on."""
    body = b"event: \xffx\nid: \xc3\ndata: a\x80b\xe2\x82\n\ndata: next\n\n"
    assert parse(body) == [
        Event(type="\ufffdx", data="a\ufffdb\ufffd", id="\ufffd"),
        Event(data="next", id="\ufffd"),
    ]


def test_multibyte_character_split_across_chunks() -> None:
    """A UTF-8 character whose bytes arrive in different chunks decodes whole."""
    assert parse_events([b"data: \xe2", b"\x82", b"\xac\xf0\x9f", b"\x98\x80\n\n"]) == [
        Event(data="€😀")
    ]


def test_nul_in_data_is_kept() -> None:
    """U+0000 is only special in `id`; in data it is kept."""
    assert parse(b"data: a\x00b\n\n") == [Event(data="a\x00b")]


# --- The end of the stream and timing ------------------------------------------------------------


@pytest.mark.parametrize("body", [b"data: x", b"data: x\n", b"data: x\r\n", b"data: x\r"])
def test_unfinished_event_at_the_end_is_not_dispatched(body: bytes) -> None:
    """Without the blank line, the end of the stream does not dispatch the last event."""
    parser = SSEParser()
    assert parser.feed(b"data: done\n\n" + body) == [Event(data="done")]
    assert parser.close() == []
    assert parse(body) == []


def test_events_carry_the_time_of_the_chunk_that_completed_them() -> None:
    """Each event's `t` is the `t` given with the chunk holding its blank line."""
    parser = SSEParser()
    assert parser.feed(b"data: a\n", t=1.0) == []
    first = parser.feed(b"\ndata: b\n\ndata: c", t=2.5)
    last = parser.feed(b"\n\n", t=4.0)
    assert [(e.data, e.t) for e in first + last] == [("a", 2.5), ("b", 2.5), ("c", 4.0)]


@pytest.mark.parametrize("newline", LINE_ENDS, ids=["LF", "CR", "CRLF"])
def test_long_data_line(newline: bytes) -> None:
    """A 70 KB data line is parsed whole, with lines of every kind around it."""
    payload = "ü" * 35_000
    body = newline.join([b"data: " + payload.encode(), b"data: tail", b"", b"data: x", b"", b""])
    assert parse(body) == [Event(data=payload + "\ntail"), Event(data="x")]


def test_long_line_in_one_byte_chunks_takes_linear_time() -> None:
    """A 256 KiB line fed a byte at a time is joined once, not rescanned at every byte."""
    size = 256 * 1024
    body = b"data: " + b"x" * size + b"\n\n"
    chunks = [body[i : i + 1] for i in range(len(body))]
    parser = SSEParser()
    start = time.perf_counter()
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    elapsed = time.perf_counter() - start
    assert events == [Event(data="x" * size)]
    # Linear takes ~0.1 s; copying or rescanning the pending line at each byte would move
    # 256 Ki x 128 KiB = 32 GiB, many seconds even at memchr speed.
    assert elapsed < 2.0


# --- event_boundaries -----------------------------------------------------------------------------


def test_event_boundaries_are_after_dispatching_blank_lines() -> None:
    """Boundaries follow the blank lines that dispatch (a whole CRLF), not comment or data-less blocks."""
    body = b": hi\n\ndata: a\r\n\r\nevent: x\n\ndata: b\n\ndata: unfinished"
    first = body.index(b"\r\n\r\n") + 4
    second = body.index(b"b\n\n") + 3
    assert event_boundaries(body) == [first, second]


def test_event_boundaries_with_bom_and_lone_cr() -> None:
    """Offsets count the BOM's bytes, and a lone CR blank line ends where the CR does."""
    body = BOM + b"data: a\r\rdata: b\n\n"
    assert event_boundaries(body) == [len(BOM) + 9, len(body)]


# --- Properties ---------------------------------------------------------------------------------------

# No deadline: the suite runs beside others on two cores, and a slow example is not a bug.
_PROPERTY = settings(deadline=None)


def reference_parse(body: bytes) -> tuple[list[Event], str, int | None]:
    """A literal transcription of the spec: decode the whole stream first, then read lines."""
    text = body.decode("utf-8", "replace")
    text = text.removeprefix("\ufeff")
    *lines, _unterminated = re.split("\r\n|\r|\n", text)
    events: list[Event] = []
    data = type_ = id_buffer = last_event_id = ""
    retry: int | None = None
    reconnection_time: int | None = None
    for line in lines:
        if not line:
            last_event_id = id_buffer
            if data:
                events.append(Event(type_ or "message", data.removesuffix("\n"), id_buffer, retry))
            data = type_ = ""
            retry = None
        elif line.startswith(":"):
            continue
        else:
            field, _colon, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                type_ = value
            elif field == "data":
                data += value + "\n"
            elif field == "id" and "\0" not in value:
                id_buffer = value
            elif field == "retry" and value and all(c in "0123456789" for c in value):
                retry = reconnection_time = int(value)
    return events, last_event_id, reconnection_time


@pytest.mark.parametrize("mode", SPLIT_MODES)
@_PROPERTY
@given(st.data())
def test_chunking_never_changes_the_result(mode: str, data: st.DataObject) -> None:
    """Any cutting of any stream into chunks gives the events, last id and retry of one chunk."""
    body = data.draw(
        st.one_of(sse_streams(), token_streams(), st.binary(max_size=200)), label="body"
    )
    chunks = data.draw(chunkings(body), label="chunks")
    with split_mode(mode):
        whole, whole_parser = feed_all([body])
        cut, cut_parser = feed_all(chunks)
    assert cut == whole
    assert cut_parser.last_event_id == whole_parser.last_event_id
    assert cut_parser.reconnection_time == whole_parser.reconnection_time


@pytest.mark.parametrize("mode", SPLIT_MODES)
@_PROPERTY
@given(st.one_of(sse_streams(), token_streams(), st.binary(max_size=200)))
def test_parser_agrees_with_spec_transcription(mode: str, body: bytes) -> None:
    """The parser's events, last id and retry equal a literal, decode-first reading of the spec."""
    with split_mode(mode):
        events, parser = feed_all([body])
    assert (events, parser.last_event_id, parser.reconnection_time) == reference_parse(body)


@_PROPERTY
@given(st.lists(event_values, max_size=8), st.sampled_from(LINE_ENDS), st.data())
def test_serialised_events_parse_back_equal(
    events: list[Event], newline: bytes, data: st.DataObject
) -> None:
    """Events serialised as a stream (with any line end) and parsed, in any chunks, come back equal."""
    body = encode_events(events, newline)
    assert parse_events(data.draw(chunkings(body), label="chunks")) == events


@settings(_PROPERTY, max_examples=50)
@given(st.one_of(sse_streams(), token_streams(), st.binary(max_size=120)))
def test_truncating_at_a_boundary_keeps_exactly_the_events_before_it(body: bytes) -> None:
    """Cutting the body after boundary i leaves exactly the first i + 1 events."""
    events = parse(body)
    boundaries = event_boundaries(body)
    assert len(boundaries) == len(events)
    assert boundaries == sorted(set(boundaries))
    for i, boundary in enumerate(boundaries):
        assert parse(body[:boundary]) == events[: i + 1]
