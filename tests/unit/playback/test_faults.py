"""Faults and Last-Event-ID resume: what each does to the stream, as every client kind sees it."""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_sse_replay import Cassette, Event, ReplayTransport, SSEParser, faults, parse_events
from pytest_sse_replay.cassette._model import (
    COMPLETE,
    Chunk,
    Ending,
    Interaction,
    RecordedRequest,
    RecordedResponse,
)
from pytest_sse_replay.playback._plan import (
    PlayContext,
    Script,
    Stall,
    StallWithoutTimeout,
    StreamFailure,
    plan,
    walk,
)
from pytest_sse_replay.playback._resume import resume
from pytest_sse_replay.sse._pattern import compile_pattern
from tests.drivers import Driver
from tests.strategies import BOM, chunkings, encode_events, event_values, sse_streams

SSE = (("content-type", "text/event-stream"),)
URL = "http://service.test/jobs/j1/stream"
BROKEN = "peer closed connection without sending complete message body (incomplete chunked read)"

# A job status stream as sse-starlette writes it: BOM, CRLF line ends, a retry block, ids,
# heartbeat comments, a multi-byte character, one chunk per write.
JOB = [
    BOM + b"retry: 2000\r\n\r\n",
    b'event: status\r\nid: 1\r\ndata: {"status":"queued"}\r\n\r\n',
    b": heartbeat\r\n\r\n",
    b'event: progress\r\nid: 2\r\ndata: {"progress":0.5,"note":"h\xc3\xa9"}\r\n\r\n',
    b": heartbeat\r\n\r\n",
    b'event: progress\r\nid: 3\r\ndata: {"progress":1}\r\n\r\n',
    b'event: completed\r\nid: 4\r\ndata: {"status":"completed"}\r\n\r\n',
]
JOB_NAMES = ["status", "progress", "progress", "completed"]
# Data-only events: the names come from the JSON "type".
DATA_ONLY = [
    b'data: {"type":"section","index":0}\n\n',
    b'data: {"type":"section","index":1}\n\n',
    b'data: {"type":"usage","tokens":7}\n\n',
    b'data: {"type":"done"}\n\n',
]


def script_of(chunks: list[bytes], *, gap: float = 0.01, end: Ending = COMPLETE) -> Script:
    timed = tuple(Chunk(round(gap * (n + 1), 6), data) for n, data in enumerate(chunks))
    return Script(200, SSE, timed, end)


def cassette_of(chunks: list[bytes], *, gap: float = 0.01, url: str = URL) -> Cassette:
    response = RecordedResponse(
        200, list(SSE), [Chunk(round(gap * (n + 1), 6), data) for n, data in enumerate(chunks)]
    )
    return Cassette([Interaction(RecordedRequest("GET", url), response)])


def context(attempt: int = 1, open_streams: int = 0, read_timeout: float | None = 5.0) -> Any:
    return PlayContext(RecordedRequest("GET", URL), attempt, open_streams, read_timeout)


def names(body: bytes) -> list[str]:
    return [event.name for event in parse_events([body])]


def apply_all(script: Script, fault_list: list[Any], ctx: PlayContext | None = None) -> Script:
    for fault in fault_list:
        script = fault.apply(script, ctx or context())
    return script


# --------------------------------------------------------------------------- split / merge


def test_split_size_one_cuts_inside_crlf_bom_and_characters(driver: Driver) -> None:
    """split(size=1) delivers one byte per read: the BOM, CRLF pairs and é arrive in halves."""
    out = driver.stream(
        ReplayTransport(cassette_of(JOB), faults=[faults.split(size=1)]), "GET", URL
    )
    assert out.body == b"".join(JOB)
    assert all(len(chunk) == 1 for chunk in out.chunks)
    assert out.chunks[:3] == [b"\xef", b"\xbb", b"\xbf"]
    joined = [a + b for a, b in itertools.pairwise(out.chunks)]
    assert b"\r\n" in joined
    assert b"\xc3\xa9" in joined


def test_split_keeps_the_events_for_every_sse_client(driver: Driver) -> None:
    """The library's SSE client reads the same events from a byte-by-byte stream."""
    plain = driver.sse(ReplayTransport(cassette_of(JOB)), "GET", URL)
    split = driver.sse(ReplayTransport(cassette_of(JOB), faults=[faults.split(seed=7)]), "GET", URL)
    # httpx-sse also hands out the data-less blocks (the retry block, the heartbeats).
    assert [event for event, data, _ in plain if data] == JOB_NAMES
    assert split == plain


def test_split_by_size_recuts_across_original_chunks() -> None:
    """split(size=7) cuts the whole body in 7-byte pieces, the last one shorter."""
    result = faults.split(size=7).apply(script_of(JOB), context())
    sizes = [len(chunk.data) for chunk in result.chunks]
    assert sizes[:-1] == [7] * (len(sizes) - 1)
    assert 1 <= sizes[-1] <= 7
    assert result.body == b"".join(JOB)


def test_split_piece_arrives_when_its_last_byte_did() -> None:
    """A piece spanning two recorded chunks takes the later arrival time; the total stays."""
    script = Script(200, SSE, (Chunk(0.1, b"abc"), Chunk(0.5, b"def")))
    result = faults.split(size=4).apply(script, context())
    assert result.chunks == (Chunk(0.5, b"abcd"), Chunk(0.5, b"ef"))
    result = faults.split(size=2).apply(script, context())
    assert [chunk.t for chunk in result.chunks] == [0.1, 0.5, 0.5]
    assert result.duration == script.duration


def test_split_seed_gives_pinned_sizes_on_every_machine() -> None:
    """The random sizes come from random.Random(seed): pinned here, so a change shows."""
    assert list(itertools.islice(faults.split(seed=1).sizes(), 8)) == [5, 3, 9, 4, 16, 15, 16, 13]
    sizes = list(itertools.islice(faults.split(size=4, seed=3).sizes(), 8))
    assert sizes == [2, 2, 3, 4, 1, 1, 4, 3]


def test_merge_delivers_one_chunk_when_the_last_byte_arrived(driver: Driver) -> None:
    """merge() turns the stream into one read of the whole body."""
    out = driver.stream(ReplayTransport(cassette_of(JOB), faults=[faults.merge()]), "GET", URL)
    assert out.chunks == [b"".join(JOB)]
    merged = faults.merge().apply(script_of(JOB), context())
    assert merged.chunks == (Chunk(0.07, b"".join(JOB)),)


# --------------------------------------------------------------------------- drop / truncate


def test_drop_after_events_breaks_with_the_libraries_remote_protocol_error(driver: Driver) -> None:
    """drop(after_events=2) delivers two events, then the library's RemoteProtocolError."""
    transport = ReplayTransport(cassette_of(JOB), faults=[faults.drop(after_events=2)])
    out = driver.stream(transport, "GET", URL)
    assert names(out.body) == JOB_NAMES[:2]
    assert out.body == b"".join(JOB[:4])
    assert isinstance(out.error, driver.lib.RemoteProtocolError)
    assert str(out.error) == BROKEN


def test_drop_mid_event_leaves_an_unfinished_event(driver: Driver) -> None:
    """drop(after_events=1, after_bytes=8) breaks 8 bytes into the next block."""
    transport = ReplayTransport(
        cassette_of(JOB), faults=[faults.drop(after_events=1, after_bytes=8)]
    )
    out = driver.stream(transport, "GET", URL)
    assert out.body == b"".join(JOB[:2]) + JOB[2][:8]
    assert names(out.body) == ["status"]
    assert isinstance(out.error, driver.lib.RemoteProtocolError)


def test_drop_after_bytes_counts_from_the_start() -> None:
    """drop(after_bytes=2) cuts inside the BOM; the body is those two bytes."""
    result = faults.drop(after_bytes=2).apply(script_of(JOB), context())
    assert result.body == BOM[:2]
    assert result.end == Ending.failed("RemoteProtocolError", BROKEN)


def test_drop_on_a_sized_body_gives_h11s_sized_message() -> None:
    """With a Content-Length the message says how many bytes came, as h11's does."""
    script = script_of(DATA_ONLY).with_(headers=(*SSE, ("content-length", "140")))
    result = faults.drop(after_bytes=10).apply(script, context())
    assert result.end.message == (  # type: ignore[union-attr]
        "peer closed connection without sending complete message body "
        "(received 10 bytes, expected 140)"
    )


def test_drop_applies_to_the_first_attempt_only_by_default(driver: Driver) -> None:
    """drop() breaks the first stream; a retry (the recording replayed again) gets it whole."""
    transport = ReplayTransport(cassette_of(DATA_ONLY), faults=[faults.drop(after_events=1)])
    first = driver.stream(transport, "GET", URL)
    second = driver.stream(transport, "GET", URL)
    assert isinstance(first.error, driver.lib.RemoteProtocolError)
    assert second.error is None
    assert second.body == b"".join(DATA_ONLY)


def test_drop_times_none_breaks_every_attempt() -> None:
    """times=None: the fault applies to every attempt."""
    fault = faults.drop(after_events=1, times=None)
    for attempt in (1, 2, 5):
        assert fault.apply(script_of(DATA_ONLY), context(attempt)).end.kind == "error"  # type: ignore[union-attr]


def test_positions_past_the_end_leave_the_stream_alone() -> None:
    """A fault placed after more events than the stream has does nothing to it."""
    script = script_of(DATA_ONLY)
    for fault in (
        faults.drop(after_events=5),
        faults.drop(after_bytes=10_000),
        faults.truncate(after_events=9),
        faults.stall(after_events=5),
        faults.inject("data: x\n\n", after_events=5),
    ):
        assert fault.apply(script, context()) == script, fault


def test_negative_positions_count_from_the_end() -> None:
    """after_events=-1 is after all but the last event, like a Python index."""
    script = script_of(DATA_ONLY)
    assert names(faults.truncate(after_events=-1).apply(script, context()).body) == [
        "section",
        "section",
        "usage",
    ]
    assert faults.truncate(after_events=-4).apply(script, context()).body == b""


@pytest.mark.parametrize(
    "fault",
    [
        faults.drop(after_events=-100),
        faults.truncate(after_events=-5),
        faults.stall(after_events=-5),
        faults.inject(b"data: x\n\n", after_events=-5),
    ],
    ids=repr,
)
def test_negative_position_out_of_range_is_an_error(fault: faults.Fault) -> None:
    """A negative position before the first event fails like a Python index, naming it all."""
    with pytest.raises(IndexError) as info:
        fault.apply(script_of(DATA_ONLY), context())
    message = str(info.value)
    assert message.startswith(f"faults.{fault!r}: after_events=")
    assert "out of range for a stream of 4 events (from the end it can be -1 to -4)" in message


def test_negative_position_out_of_range_fails_the_request(driver: Driver) -> None:
    """Through a transport, the out-of-range position fails the request, not a silent clamp."""
    transport = ReplayTransport(cassette_of(JOB), faults=[faults.drop(after_events=-100)])
    with pytest.raises(IndexError, match="after_events=-100 is out of range"):
        driver.stream(transport, "GET", URL)


def test_truncate_ends_cleanly_before_the_terminal_event(driver: Driver) -> None:
    """truncate(after_events=-1): no terminal event and no error, as a server that just stops."""
    transport = ReplayTransport(cassette_of(JOB), faults=[faults.truncate(after_events=-1)])
    out = driver.stream(transport, "GET", URL)
    assert out.error is None
    assert names(out.body) == JOB_NAMES[:-1]


def test_truncate_makes_a_recorded_error_a_clean_end() -> None:
    """Truncating a stream that broke while recording ends it cleanly at the cut."""
    script = script_of(DATA_ONLY, end=Ending.failed("RemoteProtocolError", BROKEN))
    result = faults.truncate(after_events=2).apply(script, context())
    assert result.end == COMPLETE
    assert result.body == b"".join(DATA_ONLY[:2])


# --------------------------------------------------------------------------- error


def test_error_answers_the_first_attempt_then_the_recording(driver: Driver) -> None:
    """error(429, headers=...) is a real-looking 429 once; the retry gets the stream."""
    fault = faults.error(429, headers={"Retry-After": "2"})
    transport = ReplayTransport(cassette_of(DATA_ONLY), faults=[fault])
    first = driver.stream(transport, "GET", URL)
    second = driver.stream(transport, "GET", URL)
    assert first.status == 429
    assert first.headers["retry-after"] == "2"
    assert first.headers["content-type"] == "application/json"
    assert first.body == b'{"error":{"status":429,"message":"Too Many Requests"}}'
    assert first.headers["content-length"] == str(len(first.body))
    assert (second.status, second.body) == (200, b"".join(DATA_ONLY))


@pytest.mark.parametrize(("times", "statuses"), [(2, [503, 503, 200]), (None, [503, 503, 503])])
def test_error_times(times: int | None, statuses: list[int]) -> None:
    """times=N answers the first N attempts with the error; None answers all of them."""
    transport = ReplayTransport(cassette_of(DATA_ONLY), faults=[faults.error(503, times=times)])
    with httpx.Client(transport=transport, timeout=5) as client:
        assert [client.get(URL).status_code for _ in statuses] == statuses


def test_error_body_and_headers_as_given() -> None:
    """A str body is sent as text, a dict as JSON; given headers win over the defaults."""
    text = faults.error(500, body="boom").apply(script_of(DATA_ONLY), context())
    assert (text.status, text.body) == (500, b"boom")
    assert text.header("content-type") == "text/plain; charset=utf-8"
    as_json = faults.error(429, body={"type": "error"}).apply(script_of(DATA_ONLY), context())
    assert as_json.header("content-type") == "application/json"
    given_ = faults.error(
        429, body={"type": "error"}, headers=[("Content-Type", "application/problem+json")]
    ).apply(script_of(DATA_ONLY), context())
    assert given_.body == b'{"type":"error"}'
    assert given_.header("content-type") == "application/problem+json"
    assert given_.header("content-length") == "16"


def test_faults_after_an_error_leave_it_alone() -> None:
    """Once a fault answered with an error, the ones after it in the list do not touch it."""
    result = apply_all(script_of(DATA_ONLY), [faults.error(429), faults.split(size=1)])
    assert len(result.chunks) == 1
    later = apply_all(
        script_of(DATA_ONLY), [faults.error(429, times=1), faults.error(503, times=2)], context(2)
    )
    assert later.status == 503


def test_faults_leave_ordinary_json_responses_of_a_flow_alone(driver: Driver) -> None:
    """POST creates the job (JSON, untouched); only the stream gets the 429, and attempts count streams."""
    job = Interaction(
        RecordedRequest("POST", "http://service.test/jobs"),
        RecordedResponse(
            201, [("content-type", "application/json")], [Chunk(0.01, b'{"job_id":"j1"}')]
        ),
    )
    cassette = Cassette([job, *cassette_of(DATA_ONLY).interactions])
    transport = ReplayTransport(cassette, faults=[faults.error(429)])
    created = driver.stream(transport, "POST", "http://service.test/jobs")
    refused = driver.stream(transport, "GET", URL)
    streamed = driver.stream(transport, "GET", URL)
    assert (created.status, created.body) == (201, b'{"job_id":"j1"}')
    assert refused.status == 429
    assert streamed.status == 200


# --------------------------------------------------------------------------- stall


def test_stall_times_out_at_once_with_the_libraries_read_timeout(driver: Driver) -> None:
    """stall(after_events=1) gives one event, then ReadTimeout, without waiting the timeout."""
    transport = ReplayTransport(cassette_of(JOB), speed=1, faults=[faults.stall(after_events=1)])
    started = time.monotonic()
    out = driver.stream(transport, "GET", URL, timeout=30)
    assert time.monotonic() - started < 5  # the stall itself costs nothing; 30 s would show
    assert isinstance(out.error, driver.lib.ReadTimeout)
    assert names(out.body) == ["status"]


def test_stall_without_a_read_timeout_says_the_client_would_hang(driver: Driver) -> None:
    """A stall for good on a client with no read timeout fails with an explanation."""
    transport = ReplayTransport(cassette_of(JOB), faults=[faults.stall(after_events=1)])
    with pytest.raises(StallWithoutTimeout, match="no read timeout"):
        driver.stream(transport, "GET", URL, timeout=None)


def test_stall_longer_than_the_read_timeout_times_out_even_at_speed_zero(driver: Driver) -> None:
    """Whether a stall outlasts the client depends on seconds vs the read timeout, not speed."""
    fault = faults.stall(after_events=2, seconds=60)
    out = driver.stream(ReplayTransport(cassette_of(JOB), faults=[fault]), "GET", URL, timeout=5)
    assert isinstance(out.error, driver.lib.ReadTimeout)
    assert names(out.body) == JOB_NAMES[:2]


def test_stall_shorter_than_the_read_timeout_delays_the_rest(driver: Driver) -> None:
    """A short stall is a pause on the timeline: at speed 1 the rest comes that much later."""
    fault = faults.stall(after_events=3, seconds=0.2)
    transport = ReplayTransport(cassette_of(JOB, gap=0.001), speed=1, faults=[fault])
    started = time.monotonic()
    out = driver.stream(transport, "GET", URL, timeout=5)
    elapsed = time.monotonic() - started
    assert out.error is None
    assert names(out.body) == JOB_NAMES
    assert 0.2 <= elapsed < 3


def test_short_stall_shifts_the_timeline_by_its_seconds() -> None:
    """The chunks after a short stall arrive `seconds` later; those before are untouched."""
    result = faults.stall(after_events=1, seconds=2).apply(script_of(DATA_ONLY), context())
    assert [chunk.t for chunk in result.chunks] == [0.01, 2.02, 2.03, 2.04]
    assert result.end == COMPLETE
    forever = faults.stall(after_events=1).apply(script_of(DATA_ONLY), context())
    assert forever.end == Stall()
    no_timeout = faults.stall(after_events=1, seconds=60).apply(
        script_of(DATA_ONLY), context(read_timeout=None)
    )
    assert no_timeout.end == COMPLETE  # no read timeout: the client just waits the minute


# --------------------------------------------------------------------------- inject / skip


def test_inject_an_event_in_the_streams_own_line_ends(driver: Driver) -> None:
    """inject(Event) after event 2 arrives there, written with the stream's CRLF line ends."""
    event = Event("error", '{"statusCode":429}')
    transport = ReplayTransport(cassette_of(JOB), faults=[faults.inject(event, after_events=2)])
    out = driver.stream(transport, "GET", URL)
    assert names(out.body) == [*JOB_NAMES[:2], "error", *JOB_NAMES[2:]]
    assert b'event: error\r\ndata: {"statusCode":429}\r\n\r\n' in out.chunks
    injected = parse_events([out.body])[2]
    assert (injected.type, injected.data) == (event.type, event.data)


def test_inject_raw_text_verbatim_into_a_data_only_stream() -> None:
    """A str is inserted as is; its JSON type names the event."""
    raw = 'data: {"type":"error","statusCode":429}\n\n'
    result = faults.inject(raw, after_events=1).apply(script_of(DATA_ONLY), context())
    assert names(result.body) == ["section", "error", "section", "usage", "done"]
    assert raw.encode() in [chunk.data for chunk in result.chunks]


def test_inject_before_the_first_event_keeps_the_bom_first() -> None:
    """after_events=0 inserts after the BOM, which is only a BOM at the very start."""
    result = faults.inject(Event("hello", "hi"), after_events=0).apply(script_of(JOB), context())
    assert result.body.startswith(BOM + b"event: hello\r\ndata: hi\r\n\r\n")
    assert names(result.body) == ["hello", *JOB_NAMES]


def test_skip_named_events_by_glob(driver: Driver) -> None:
    """skip("progress") removes those events; comments and the other events still arrive."""
    transport = ReplayTransport(cassette_of(JOB), faults=[faults.skip("prog*")])
    out = driver.stream(transport, "GET", URL)
    assert names(out.body) == ["status", "completed"]
    assert out.body.count(b": heartbeat") == 2
    assert out.body.startswith(BOM + b"retry: 2000")


def test_skip_data_only_events_by_json_type(driver: Driver) -> None:
    """For data-only streams the name is the JSON "type": skip("usage|sec*") works on it."""
    transport = ReplayTransport(cassette_of(DATA_ONLY), faults=[faults.skip("usage|sec*")])
    out = driver.stream(transport, "GET", URL)
    assert out.body == DATA_ONLY[3]


def test_skip_keeps_what_is_left_of_a_chunk_as_one_chunk() -> None:
    """The rest of a chunk that held a skipped event is delivered as one read, at its time."""
    script = Script(200, SSE, (Chunk(0.1, b"data: a\n\nevent: x\ndata: b\n\ndata: c\n\n"),))
    result = faults.skip("x").apply(script, context())
    assert result.chunks == (Chunk(0.1, b"data: a\n\ndata: c\n\n"),)


# --------------------------------------------------------------------------- connection_limit


def test_connection_limit_refuses_streams_past_n(driver: Driver) -> None:
    """With two streams open, a third is answered 429; once one closes, a new one is served."""
    transport = ReplayTransport(cassette_of(DATA_ONLY), faults=[faults.connection_limit(2)])

    def sync() -> list[int]:
        statuses = []
        with driver.client(transport) as client:
            with (
                client.stream("GET", URL) as a,
                client.stream("GET", URL) as b,
                client.stream("GET", URL) as c,
            ):
                statuses += [a.status_code, b.status_code, c.status_code]
                c.read()
                assert c.json()["error"]["message"] == "at most 2 concurrent streams"
            statuses.append(client.get(URL).status_code)
        return statuses

    async def async_() -> list[int]:
        statuses = []
        async with driver.client(transport) as client:
            async with (
                client.stream("GET", URL) as a,
                client.stream("GET", URL) as b,
                client.stream("GET", URL) as c,
            ):
                statuses += [a.status_code, b.status_code, c.status_code]
                await c.aread()
                assert c.json()["error"]["message"] == "at most 2 concurrent streams"
            statuses.append((await client.get(URL)).status_code)
        return statuses

    assert driver.run(sync, async_) == [200, 200, 429, 200]
    assert transport.open_streams == 0


def test_connection_limit_counts_streams_across_threads() -> None:
    """Eight threads open streams at once through one transport: exactly five get through."""
    transport = ReplayTransport(cassette_of(DATA_ONLY), faults=[faults.connection_limit(5)])
    barrier = threading.Barrier(8, timeout=10)
    statuses: list[int] = []

    def open_one() -> None:
        with httpx.Client(transport=transport, timeout=5) as client, client.stream("GET", URL) as r:
            statuses.append(r.status_code)
            barrier.wait()  # every stream is open (or refused) before any closes

    threads = [threading.Thread(target=open_one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(statuses) == [200] * 5 + [429] * 3
    assert transport.open_streams == 0


def test_connection_limit_counts_streams_across_tasks() -> None:
    """Eight tasks open streams at once on one event loop: exactly five get through."""
    transport = ReplayTransport(cassette_of(DATA_ONLY), faults=[faults.connection_limit(5)])
    statuses: list[int] = []

    async def main() -> None:
        everyone_in = anyio.Event()

        async def open_one(client: httpx.AsyncClient) -> None:
            async with client.stream("GET", URL) as response:
                statuses.append(response.status_code)
                if len(statuses) == 8:
                    everyone_in.set()
                await everyone_in.wait()

        with anyio.fail_after(10):
            async with (
                httpx.AsyncClient(transport=transport) as client,
                anyio.create_task_group() as tg,
            ):
                for _ in range(8):
                    tg.start_soon(open_one, client)

    anyio.run(main)
    assert sorted(statuses) == [200] * 5 + [429] * 3
    assert transport.open_streams == 0


# --------------------------------------------------------------------------- composition


def test_faults_compose_in_order(driver: Driver) -> None:
    """skip, inject, then split(size=3), then a drop: each applies to what the previous made."""
    fault_list: list[faults.Fault] = [
        faults.skip("heartbeat|progress"),
        faults.inject(Event("note", "x"), after_events=1),
        faults.split(size=3),
        faults.drop(after_events=2),
    ]
    out = driver.stream(ReplayTransport(cassette_of(JOB), faults=fault_list), "GET", URL)
    assert names(out.body) == ["status", "note"]
    assert max(len(chunk) for chunk in out.chunks) == 3
    assert isinstance(out.error, driver.lib.RemoteProtocolError)


def test_faults_are_frozen_hashable_values() -> None:
    """Equal arguments make equal faults, usable in sets; they cannot be changed."""
    assert faults.split(size=3) == faults.split(size=3)
    assert len({faults.error(429, headers={"A": "1"}), faults.error(429, headers={"A": "1"})}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        faults.drop(after_events=1).after_events = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    ("fault", "text"),
    [
        (faults.split(size=1), "split(size=1)"),
        (faults.split(seed=3), "split(seed=3)"),
        (faults.split(size=4, seed=3), "split(size=4, seed=3)"),
        (faults.merge(), "merge()"),
        (faults.drop(after_events=3), "drop(after_events=3)"),
        (faults.drop(after_bytes=10, times=None), "drop(after_bytes=10, times=None)"),
        (faults.truncate(after_events=-1), "truncate(after_events=-1)"),
        (faults.error(429), "error(429)"),
        (
            faults.error(503, headers={"Retry-After": "2"}, times=2),
            "error(503, headers={'Retry-After': '2'}, times=2)",
        ),
        (faults.error(500, body=b"boom"), "error(500, body=b'boom')"),
        (faults.stall(after_events=2), "stall(after_events=2)"),
        (faults.stall(after_events=2, seconds=30), "stall(after_events=2, seconds=30)"),
        (
            faults.inject(Event("error", "x"), after_events=1),
            "inject(Event('error', 'x'), after_events=1)",
        ),
        (faults.inject("data: x\n\n"), "inject(b'data: x\\n\\n', after_events=0)"),
        (faults.skip("usage|ping"), "skip('usage|ping')"),
        (faults.connection_limit(5), "connection_limit(5)"),
        (faults.connection_limit(5, status=503), "connection_limit(5, status=503)"),
    ],
    ids=str,
)
def test_repr_reads_like_the_call(fault: Any, text: str) -> None:
    """Each fault's repr is the call that made it, short enough for a test id."""
    assert repr(fault) == text
    assert str(fault) == text


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: faults.split(), ValueError, r"split\(\) needs size= .* or seed="),
        (lambda: faults.split(size=0), ValueError, "size must be >= 1"),
        (lambda: faults.split(size=1.5), TypeError, "size must be an int"),  # type: ignore[arg-type]
        (lambda: faults.split(seed="x"), TypeError, "seed must be an int"),  # type: ignore[arg-type]
        (lambda: faults.drop(), ValueError, "drop.. needs after_events= .* and/or after_bytes="),
        (lambda: faults.drop(after_bytes=-1), ValueError, "after_bytes must be >= 0"),
        (lambda: faults.drop(after_events=1, times=0), ValueError, "times must be >= 1"),
        (lambda: faults.truncate(after_events="2"), TypeError, "after_events must be an int"),  # type: ignore[arg-type]
        (lambda: faults.error(200), ValueError, r"status must be an HTTP error status \(400-599\)"),
        (lambda: faults.error(429, body=3), TypeError, "body must be bytes, str"),  # type: ignore[arg-type]
        (
            lambda: faults.error(429, headers="Retry-After: 2"),  # type: ignore[arg-type]
            TypeError,
            "headers must be a mapping",
        ),
        (
            lambda: faults.error(503, headers={"Retry-After": "2\r\nSet-Cookie: x=1"}),
            ValueError,
            "the value of header 'Retry-After' holds a CR, LF or NUL",
        ),
        (
            lambda: faults.error(503, headers=[("Retry After", "2")]),
            ValueError,
            "header name 'Retry After' is not an HTTP token",
        ),
        (lambda: faults.error(503, headers={"": "2"}), ValueError, "is not an HTTP token"),
        (lambda: faults.stall(seconds=0), ValueError, "seconds must be a finite number > 0"),
        (lambda: faults.stall(seconds=float("inf")), ValueError, "finite number"),
        (lambda: faults.inject(42), TypeError, "event must be an Event, str or bytes"),  # type: ignore[arg-type]
        (lambda: faults.inject(""), ValueError, "the event to insert is empty"),
        (lambda: faults.skip("a||b"), ValueError, "empty alternative"),
        (lambda: faults.skip(3), TypeError, "an event pattern is a str"),  # type: ignore[arg-type]
        (lambda: faults.connection_limit(-1), ValueError, "n must be >= 0"),
    ],
)
def test_bad_arguments_fail_at_construction(
    make: Any, error: type[Exception], message: str
) -> None:
    """A fault with bad arguments fails when it is made, with a message that names the fix."""
    with pytest.raises(error, match=message):
        make()


# --------------------------------------------------------------------------- resume


def test_reconnect_after_a_drop_receives_every_event_once(driver: Driver) -> None:
    """A client that reconnects with Last-Event-ID after a mid-event drop gets each event once."""
    transport = ReplayTransport(
        cassette_of(JOB), faults=[faults.drop(after_events=2, after_bytes=9)]
    )
    parser = SSEParser()
    received: list[Event] = []
    outcomes = []
    for _ in range(3):
        headers = {"Last-Event-ID": parser.last_event_id} if parser.last_event_id else {}
        out = driver.stream(transport, "GET", URL, headers=headers, timeout=5)
        outcomes.append(out)
        for chunk in out.chunks:
            received += parser.feed(chunk)
        parser.close()  # the unfinished event of a broken stream is dropped, as the spec says
        if out.error is None:
            break
    assert isinstance(outcomes[0].error, driver.lib.RemoteProtocolError)
    assert len(outcomes) == 2
    assert transport.played[1].request.header("last-event-id") == "2"
    assert [event.id for event in received] == ["1", "2", "3", "4"]
    assert received == parse_events(JOB)


def test_resume_cuts_after_the_event_with_that_id_and_moves_the_rest_earlier() -> None:
    """Last-Event-ID: 2 gets the events after id 2, their gaps kept, from the new request's start."""
    result = resume(script_of(JOB, gap=1.0), "2")
    assert names(result.body) == ["progress", "completed"]
    assert result.body.startswith(b": heartbeat")
    assert [chunk.t for chunk in result.chunks] == [1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    ("sent", "recorded"),
    [("9", None), ("", None), ("2", "2")],
    ids=["unknown-id", "empty", "recording-already-resumed"],
)
def test_resume_plays_the_whole_stream_when_it_cannot_resume(
    sent: str, recorded: str | None
) -> None:
    """An unknown id, an empty one, or the id the recording was made with: the stream as recorded."""
    script = script_of(JOB)
    assert resume(script, sent, recorded) == script


def test_resume_needs_ids_in_the_recording(driver: Driver) -> None:
    """A stream without ids is replayed whole whatever Last-Event-ID says."""
    transport = ReplayTransport(cassette_of(DATA_ONLY))
    out = driver.stream(transport, "GET", URL, headers={"Last-Event-ID": "1"})
    assert out.body == b"".join(DATA_ONLY)


# --------------------------------------------------------------------------- the matrix


STANDARD_IDS = [
    "none",
    *(f"split(size={n})" for n in range(1, 8)),
    "split(seed=1)",
    "split(seed=2)",
    "split(seed=3)",
    "merge()",
    "drop(after_events=1, after_bytes=5)",
    "error(429)",
    "error(503)",
    "stall(after_events=1)",
]


def test_matrix_is_the_standard_set_with_readable_ids() -> None:
    """matrix() lists the standard cases, each a list of faults with its test id."""
    params = faults.matrix()
    assert [param.id for param in params] == STANDARD_IDS
    assert all(isinstance(param.values[0], list) for param in params)
    assert params[0].values == ([],)
    assert params[1].values == ([faults.split(size=1)],)


def test_matrix_extra_and_without() -> None:
    """Extra cases are added (a fault or a list); `without` leaves out cases by id glob."""
    params = faults.matrix(
        faults.truncate(after_events=-1),
        [faults.merge(), faults.drop(after_events=2)],
        without="split(size=*)|stall*",
    )
    ids = [param.id for param in params]
    assert "stall(after_events=1)" not in ids
    assert "split(size=1)" not in ids
    assert ids[-2:] == ["truncate(after_events=-1)", "merge()+drop(after_events=2)"]
    assert faults.matrix(faults.merge(), standard=False)[0].id == "merge()"


def test_matrix_without_that_matches_nothing_is_an_error() -> None:
    """A `without` pattern that leaves out nothing is a typo: the error lists the case ids."""
    with pytest.raises(ValueError, match=r"matches no case in: none, split\(size=1\)"):
        faults.matrix(without="splt*")


def read_resiliently(driver: Driver, transport: ReplayTransport) -> list[Event]:
    """A client as it should be: retries 429/503, reconnects after a break or a timeout."""
    parser = SSEParser()
    events: list[Event] = []
    for _ in range(4):
        headers = {"Last-Event-ID": parser.last_event_id} if parser.last_event_id else {}
        out = driver.stream(transport, "GET", URL, headers=headers, timeout=2)
        if out.status in (429, 503):
            continue
        for chunk in out.chunks:
            events += parser.feed(chunk)
        parser.close()
        if out.error is None:
            return events
    raise AssertionError("gave up after 4 attempts")


@pytest.mark.parametrize("case", faults.matrix())
def test_a_resilient_client_survives_the_matrix(case: list[Any], driver: Driver) -> None:
    """Under each standard fault a retrying, resuming client still gets every event once."""
    transport = ReplayTransport(cassette_of(JOB), faults=case)
    assert read_resiliently(driver, transport) == parse_events(JOB)


def test_a_naive_client_fails_part_of_the_matrix() -> None:
    """The matrix has teeth: a client that neither retries nor resumes fails several cases."""
    failed = []
    for param in faults.matrix():
        case: list[faults.Fault] = param.values[0]  # type: ignore[assignment]
        transport = ReplayTransport(cassette_of(JOB), faults=case)
        try:
            with httpx.Client(transport=transport, timeout=2) as client:
                response = client.get(URL)
                response.raise_for_status()
                assert parse_events([response.content]) == parse_events(JOB)
        except httpx.HTTPError:
            failed.append(param.id)
    assert failed == [
        "drop(after_events=1, after_bytes=5)",
        "error(429)",
        "error(503)",
        "stall(after_events=1)",
    ]


# --------------------------------------------------------------------------- properties


def timed(chunks: list[bytes], gaps: list[float]) -> Script:
    t, out = 0.0, []
    for data, gap in zip(chunks, itertools.cycle(gaps or [0.01]), strict=False):
        t = round(t + gap, 6)
        out.append(Chunk(t, data))
    return Script(200, SSE, tuple(out))


splits = st.one_of(
    st.integers(1, 40).map(lambda size: faults.split(size=size)),
    st.integers(0, 2**32).map(lambda seed: faults.split(seed=seed)),
    st.tuples(st.integers(1, 9), st.integers(0, 99)).map(
        lambda p: faults.split(size=p[0], seed=p[1])
    ),
)


@st.composite
def scripts(draw: st.DrawFn) -> Script:
    body = draw(sse_streams())
    chunks = [chunk for chunk in draw(chunkings(body)) if chunk]
    gaps = draw(st.lists(st.floats(0, 5, allow_nan=False), max_size=5))
    return timed(chunks, gaps)


@settings(max_examples=150, deadline=None)
@given(scripts(), splits)
def test_any_split_yields_the_same_events(script: Script, split: faults.split) -> None:
    """Wherever a split cuts, the bytes and the events are those of the recording."""
    result = split.apply(script, context())
    assert result.body == script.body
    assert parse_events(c.data for c in result.chunks) == parse_events(
        c.data for c in script.chunks
    )
    assert result.duration == script.duration


@settings(deadline=None)
@given(scripts(), st.integers(0, 2**64))
def test_the_same_seed_gives_the_same_cuts(script: Script, seed: int) -> None:
    """Two splits made with one seed cut a stream at the same places."""
    first = faults.split(seed=seed).apply(script, context())
    second = faults.split(seed=seed).apply(script, context())
    assert [len(c.data) for c in first.chunks] == [len(c.data) for c in second.chunks]


@settings(max_examples=150, deadline=None)
@given(scripts(), st.integers(-12, 12))
def test_truncate_yields_a_prefix_of_the_events(script: Script, n: int) -> None:
    """truncate(after_events=n) leaves exactly events[:n], ending cleanly (an index before
    the first event is an IndexError, as for a Python list)."""
    events = parse_events([script.body])
    if n < -len(events):
        with pytest.raises(IndexError, match="out of range"):
            faults.truncate(after_events=n).apply(script, context())
        return
    result = faults.truncate(after_events=n).apply(script, context())
    assert parse_events(c.data for c in result.chunks) == events[:n]
    assert script.body.startswith(result.body)


@settings(max_examples=150, deadline=None)
@given(scripts(), st.integers(0, 12), st.integers(0, 40))
def test_drop_yields_a_prefix_then_the_break(script: Script, n: int, extra: int) -> None:
    """A drop delivers a prefix of the bytes, so a prefix of the events, then fails."""
    events = parse_events([script.body])
    result = faults.drop(after_events=n, after_bytes=extra).apply(script, context())
    assert script.body.startswith(result.body)
    if result != script:
        assert result.end == Ending.failed("RemoteProtocolError", BROKEN)
        assert parse_events([result.body]) == events[: len(parse_events([result.body]))]
        assert len(parse_events([result.body])) >= min(n, len(events))


@settings(max_examples=150, deadline=None)
@given(st.lists(event_values, max_size=8), st.sampled_from([b"\n", b"\r\n"]), st.data())
def test_skip_removes_exactly_the_matching_events(
    events: list[Event], newline: bytes, data: st.DataObject
) -> None:
    """skip(pattern) removes the events whose name matches, and only those."""
    body = encode_events(events, newline)
    # Any name can be a pattern, except one that reads as alternatives ("a|b", " ").
    usable = {e.name for e in events if "|" not in e.name and e.name.strip()}
    pattern = data.draw(st.sampled_from(sorted(usable | {"message", "zz*"})))
    script = timed([body[i : i + 5] for i in range(0, len(body), 5)], [0.01])
    result = faults.skip(pattern).apply(script, context())
    kept = [(e.type, e.data, e.retry) for e in parse_events([result.body])]
    matches = compile_pattern(pattern)  # a name may hold glob characters: "[0]" matches "0"
    want = [(e.type, e.data, e.retry) for e in parse_events([body]) if not matches(e.name)]
    assert kept == want


def test_skip_never_brings_a_mid_stream_bom_to_the_start() -> None:
    """Skipping the first event must not turn a later BOM into the stream's leading one."""
    body = b"data: 1\n\n\xef\xbb\xbfdata: 2\n\n"
    assert [e.data for e in parse_events([body])] == ["1"]  # the BOM hides `data` there
    result = faults.skip("message").apply(timed([body], [0.01]), context())
    assert parse_events([result.body]) == []
    assert result.body == b"\n\xef\xbb\xbfdata: 2\n\n"


@settings(max_examples=200, deadline=None)
@given(sse_streams(), st.data())
def test_skip_creates_no_event_in_any_stream(body: bytes, data: st.DataObject) -> None:
    """On any stream (leading BOMs, mid-stream BOMs, mixed line ends) skip only removes events."""
    events = parse_events([body])
    usable = {e.name for e in events if "|" not in e.name and e.name.strip()}
    pattern = data.draw(st.sampled_from(sorted(usable | {"message"})))
    result = faults.skip(pattern).apply(timed([body], [0.01]), context())
    matches = compile_pattern(pattern)
    want = [(e.type, e.data) for e in events if not matches(e.name)]
    assert [(e.type, e.data) for e in parse_events([result.body])] == want


@settings(max_examples=100, deadline=None)
@given(scripts(), st.sampled_from([0.5, 1.0, 2.0, 10.0]), st.one_of(st.none(), splits))
def test_total_waiting_is_the_duration_divided_by_speed(
    script: Script, speed: float, split: Any
) -> None:
    """Walking a plan at speed s with a fake clock sleeps duration / s in all, split or not."""
    if split is not None:
        script = split.apply(script, context())
    now = [0.0]
    slept = 0.0
    for item in walk(plan(script, speed).steps, 0.0, lambda: now[0], None):
        if isinstance(item, float):
            slept += item
            now[0] += item
    assert slept == pytest.approx(script.duration / speed, abs=1e-9)


@settings(deadline=None)
@given(st.integers(1, 8), st.integers(0, 9), st.integers(0, 40), st.sampled_from([b"\n", b"\r\n"]))
def test_resuming_after_any_drop_gives_every_event_once(
    count: int, after: int, extra: int, newline: bytes
) -> None:
    """Wherever a stream with ids breaks, resuming from the last id received loses and repeats nothing."""
    events = [Event("tick", f'{{"n":{n}}}', id=str(n)) for n in range(1, count + 1)]
    body = encode_events(events, newline)
    script = timed([body[i : i + 7] for i in range(0, len(body), 7)], [0.01])
    broken = faults.drop(after_events=after, after_bytes=extra).apply(script, context())
    parser = SSEParser()
    received = [event for chunk in broken.chunks for event in parser.feed(chunk.data)]
    rest = resume(script, parser.last_event_id)
    received += parse_events(chunk.data for chunk in rest.chunks)
    assert received == events


def test_walking_a_dropped_plan_raises_the_neutral_failure() -> None:
    """The plan of a drop ends in StreamFailure("RemoteProtocolError", ...) for the faces."""
    script = faults.drop(after_events=1).apply(script_of(DATA_ONLY), context())
    steps = walk(plan(script, 0).steps, 0.0, lambda: 0.0, None)
    assert next(steps) == DATA_ONLY[0]
    with pytest.raises(StreamFailure) as info:
        next(steps)
    assert (info.value.error, info.value.message) == ("RemoteProtocolError", BROKEN)
