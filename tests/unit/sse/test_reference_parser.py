"""The benchmark's reference parser is WHATWG-exact too, or comparing speeds with it means nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench import _reference_parser
from bench._reference_parser import ReferenceParser, RefEvent, reference_parse_events
from pytest_sse_replay.sse._event import Event
from pytest_sse_replay.sse._parser import parse_events
from tests.strategies import (
    LINE_ENDS,
    chunkings,
    encode_events,
    event_values,
    sse_streams,
    token_streams,
)
from tests.unit.sse.test_parser import reference_parse

_PROPERTY = settings(deadline=None)
# Blocks are found by one split (short lines) or by single-byte finds (long ones): the
# properties run with each forced, and with the real choice.
SPLIT_MODES = {"auto": _reference_parser._SHORT_LINE, "always-split": 10**9, "always-scan": 0}


@contextmanager
def split_mode(mode: str) -> Iterator[None]:
    saved = _reference_parser._SHORT_LINE
    _reference_parser._SHORT_LINE = SPLIT_MODES[mode]
    try:
        yield
    finally:
        _reference_parser._SHORT_LINE = saved


def as_events(events: list[RefEvent]) -> list[Event]:
    return [Event(e.type, e.data, e.id, e.retry) for e in events]


def feed_all(chunks: list[bytes]) -> tuple[list[Event], ReferenceParser]:
    parser = ReferenceParser()
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    return as_events(events), parser


@pytest.mark.parametrize("mode", SPLIT_MODES)
@_PROPERTY
@given(st.one_of(sse_streams(), token_streams(), st.binary(max_size=200)))
def test_reference_agrees_with_spec_transcription(mode: str, body: bytes) -> None:
    """The reference parser's events, last id and retry equal a decode-first reading of the spec."""
    with split_mode(mode):
        events, parser = feed_all([body])
    assert (events, parser.last_event_id, parser.reconnection_time) == reference_parse(body)


@pytest.mark.parametrize("mode", SPLIT_MODES)
@_PROPERTY
@given(st.data())
def test_reference_chunking_never_changes_the_result(mode: str, data: st.DataObject) -> None:
    """Any cutting of a stream gives the reference parser the spec's events, last id and retry."""
    body = data.draw(
        st.one_of(sse_streams(), token_streams(), st.binary(max_size=200)), label="body"
    )
    chunks = data.draw(chunkings(body), label="chunks")
    with split_mode(mode):
        events, parser = feed_all(chunks)
    assert (events, parser.last_event_id, parser.reconnection_time) == reference_parse(body)


@_PROPERTY
@given(st.lists(event_values, max_size=8), st.sampled_from(LINE_ENDS), st.data())
def test_reference_and_parse_events_agree_on_serialised_events(
    events: list[Event], newline: bytes, data: st.DataObject
) -> None:
    """Serialised events, in any chunks, come back equal from the reference and from parse_events."""
    chunks = data.draw(chunkings(encode_events(events, newline)), label="chunks")
    assert as_events(reference_parse_events(chunks)) == parse_events(chunks) == events


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ([b"data: a\r", b"\ndata: b\r\n\r\n"], [Event(data="a\nb")]),
        ([b"data: a\r\r", b"\n\ndata: b\n\n"], [Event(data="a"), Event(data="b")]),
        ([b"\xef\xbb", b"\xbfdata: x\n", b"\n"], [Event(data="x")]),
        ([b"event: e\n", b"\ndata: x\n\n"], [Event(data="x")]),
    ],
    ids=["split-crlf", "cr-blank-then-lf", "split-bom", "blank-line-across-cut"],
)
def test_reference_handles_cuts_at_line_ends(chunks: list[bytes], expected: list[Event]) -> None:
    """CRLF, BOM and blank lines cut between chunks are read as the spec reads them."""
    assert as_events(reference_parse_events(chunks)) == expected
