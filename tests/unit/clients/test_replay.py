"""ReplayTransport: exact bytes and boundaries, order, pacing, errors, for every client kind."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import anyio
import httpx
import pytest

from pytest_sse_replay import Cassette, Event, ReplayTransport, faults
from pytest_sse_replay.cassette._model import (
    COMPLETE,
    Chunk,
    Ending,
    Interaction,
    RecordedRequest,
    RecordedResponse,
)
from pytest_sse_replay.playback._matching import NoRecording
from pytest_sse_replay.playback._plan import Script, StreamFailure, WaitUntil, plan, walk
from tests.drivers import LIBRARIES, Driver

SSE = [("content-type", "text/event-stream")]
URL = "http://service.test/v1/stream"


def stream_cassette(
    chunks: list[bytes],
    *,
    gap: float = 0.01,
    end: Ending = COMPLETE,
    url: str = URL,
    method: str = "GET",
    headers_t: float = 0.0,
) -> Cassette:
    response = RecordedResponse(
        200,
        list(SSE),
        [Chunk(round(gap * (n + 1), 6), data) for n, data in enumerate(chunks)],
        end,
        headers_t=headers_t,
    )
    return Cassette([Interaction(RecordedRequest(method, url), response)])


CHUNKS = [
    b"event: a\r\ndata: 1\r",
    b'\n\r\ndata: {"type":"x"',
    b"}\n\n",
    b"data: \xc3",
    b"\xa9\n\n",
]


def test_replay_delivers_recorded_bytes_and_boundaries(driver: Driver) -> None:
    """The client's iter_raw sees exactly the recorded chunks, split where they were split."""
    out = driver.stream(ReplayTransport(stream_cassette(CHUNKS)), "GET", URL)
    assert out.status == 200
    assert out.headers["content-type"] == "text/event-stream"
    assert out.chunks == CHUNKS
    assert out.error is None


def test_transport_is_both_faces_for_both_libraries() -> None:
    """One ReplayTransport instance is a sync and an async transport of httpx and httpx2."""
    transport = ReplayTransport(stream_cassette(CHUNKS))
    for lib in LIBRARIES:
        assert isinstance(transport, lib.BaseTransport)
        assert isinstance(transport, lib.AsyncBaseTransport)


def test_replay_accepts_a_path(tmp_path, driver: Driver) -> None:
    """A path is loaded as a cassette."""
    path = stream_cassette(CHUNKS).save(tmp_path / "c.yaml")
    out = driver.stream(ReplayTransport(path), "GET", URL)
    assert out.chunks == CHUNKS


def test_recorded_error_is_raised_again_at_the_same_point(driver: Driver) -> None:
    """A stream that broke while recording breaks at the same byte, with the library's type."""
    message = "peer closed connection without sending complete message body"
    cassette = stream_cassette(CHUNKS[:2], end=Ending.failed("RemoteProtocolError", message))
    out = driver.stream(ReplayTransport(cassette), "GET", URL)
    assert out.chunks == CHUNKS[:2]
    assert isinstance(out.error, driver.lib.RemoteProtocolError)
    assert str(out.error) == message


def test_error_with_no_class_in_the_library_becomes_a_read_error(driver: Driver) -> None:
    """An ending recorded from another client's exception still fails the read, honestly named."""
    cassette = stream_cassette(CHUNKS[:1], end=Ending.failed("SomethingOdd", "boom"))
    out = driver.stream(ReplayTransport(cassette), "GET", URL)
    assert isinstance(out.error, driver.lib.ReadError)
    assert str(out.error) == "SomethingOdd: boom"


def test_identical_requests_are_answered_in_recorded_order(driver: Driver) -> None:
    """Two recordings of one request answer the first and second sending, then the last repeats."""
    first = stream_cassette([b"data: first\n\n"]).interactions[0]
    second = stream_cassette([b"data: second\n\n"]).interactions[0]
    transport = ReplayTransport(Cassette([first, second]))
    bodies = [driver.stream(transport, "GET", URL).body for _ in range(3)]
    assert bodies == [b"data: first\n\n", b"data: second\n\n", b"data: second\n\n"]
    assert [p.index for p in transport.played] == [0, 1, 1]


def test_query_order_does_not_matter(driver: Driver) -> None:
    """Query parameters match in any order."""
    cassette = stream_cassette(CHUNKS, url=URL + "?a=1&b=2&a=0")
    out = driver.stream(ReplayTransport(cassette), "GET", URL + "?b=2&a=0&a=1")
    assert out.body == b"".join(CHUNKS)


def test_unmatched_request_names_the_closest_recording(driver: Driver) -> None:
    """A request with no recording raises NoRecording saying what differs from the closest."""
    transport = ReplayTransport(stream_cassette(CHUNKS, url=URL + "?job=1"))
    with pytest.raises(NoRecording) as info:
        driver.stream(transport, "POST", URL + "?job=2")
    text = str(info.value)
    assert f"no recorded response for POST {URL}?job=2" in text
    assert f"closest recorded request (#0): GET {URL}?job=1" in text
    assert "method: recorded GET, got POST" in text
    assert "query job: recorded '1', got '2'" in text


def test_speed_zero_never_waits(driver: Driver) -> None:
    """At speed 0 a stream recorded over an hour replays at once."""
    cassette = stream_cassette(CHUNKS, gap=900.0, headers_t=60.0)
    started = time.monotonic()
    out = driver.stream(ReplayTransport(cassette, speed=0), "GET", URL)
    assert out.chunks == CHUNKS
    assert time.monotonic() - started < 5  # loose: only "not an hour"; bench/ measures speed


def test_speed_one_keeps_the_recorded_gaps(driver: Driver) -> None:
    """At speed 1 the stream takes about as long as it was recorded (loose tolerance)."""
    cassette = stream_cassette(CHUNKS, gap=0.05)
    started = time.monotonic()
    driver.stream(ReplayTransport(cassette, speed=1), "GET", URL)
    elapsed = time.monotonic() - started
    assert elapsed >= 0.25 - 0.005
    assert elapsed < 2.0


def test_speed_two_halves_the_time(driver: Driver) -> None:
    """At speed 2 the same stream takes about half as long."""
    cassette = stream_cassette(CHUNKS, gap=0.08)
    started = time.monotonic()
    driver.stream(ReplayTransport(cassette, speed=2), "GET", URL)
    elapsed = time.monotonic() - started
    assert 0.2 - 0.005 <= elapsed < 0.39


def test_a_gap_longer_than_the_read_timeout_times_out_without_waiting(driver: Driver) -> None:
    """A recorded gap past the client's read timeout raises ReadTimeout at once."""
    cassette = stream_cassette(CHUNKS[:2], gap=30.0)
    started = time.monotonic()
    out = driver.stream(ReplayTransport(cassette, speed=1), "GET", URL, timeout=1.0)
    assert isinstance(out.error, driver.lib.ReadTimeout)
    assert out.chunks == []
    assert time.monotonic() - started < 1.0


def test_async_pacing_does_not_block_the_event_loop() -> None:
    """While a stream waits for its next chunk, other tasks on the loop keep running."""
    cassette = stream_cassette(CHUNKS, gap=0.04)
    ticks: list[float] = []

    async def ticker(stop: anyio.Event) -> None:
        while not stop.is_set():
            ticks.append(time.monotonic())
            await anyio.sleep(0.005)

    async def main() -> None:
        stop = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(ticker, stop)
            transport = ReplayTransport(cassette, speed=1)
            async with httpx.AsyncClient(transport=transport, timeout=5) as client:
                response = await client.get(URL)
                assert response.content == b"".join(CHUNKS)
            stop.set()

    anyio.run(main)
    assert len(ticks) >= 10  # ~200 ms of replay at a 5 ms tick; a blocked loop gives ~1


def test_pacing_is_by_absolute_deadline_so_lateness_does_not_accumulate() -> None:
    """Each wait is computed from the request start, so a late chunk does not delay the next."""
    now = [100.0]
    script = Script(200, (), tuple(Chunk(0.1 * n, b"x") for n in range(1, 6)))
    sleeps = []
    for item in walk(plan(script, 1.0).steps, 100.0, lambda: now[0], None):
        if isinstance(item, float):
            sleeps.append(round(item, 9))
            now[0] += item + 0.03  # every sleep overshoots by 30 ms
    # Relative gaps would sleep 0.1 each time and end 150 ms late; deadlines absorb it.
    assert sleeps == [0.1, 0.07, 0.07, 0.07, 0.07]
    assert now[0] == pytest.approx(100.0 + 0.5 + 0.03)


def test_plan_at_speed_zero_has_no_waits() -> None:
    """The speed-0 plan is the chunks alone: nothing to wait for."""
    script = Script(200, (), (Chunk(1.0, b"a"), Chunk(2.0, b"b")))
    assert plan(script, 0).steps == [b"a", b"b"]
    assert plan(script, 2).steps == [WaitUntil(0.5), b"a", WaitUntil(1.0), b"b"]


@pytest.mark.parametrize("speed", [-1, float("nan"), float("inf")])
def test_bad_speed_is_refused_at_construction(speed: float) -> None:
    """A negative or non-finite speed is a clear ValueError when the transport is made."""
    with pytest.raises(ValueError, match="speed must be a finite number >= 0"):
        ReplayTransport(stream_cassette(CHUNKS), speed=speed)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"speed": "fast"}, TypeError, "ReplayTransport: speed must be a number >= 0"),
        ({"speed": True}, TypeError, "speed must be a number"),
        ({"faults": [1]}, TypeError, r"faults\[0\] is 1 \(int\), not a fault"),
        ({"faults": [faults.merge]}, TypeError, r"did you mean faults\.merge\(\)\?"),
        (
            {"faults": faults.merge()},
            TypeError,
            r"not one fault: did you mean faults=\[merge\(\)\]",
        ),
        ({"faults": faults.split}, TypeError, r"did you mean faults=\[faults\.split\(\)\]"),
        ({"faults": "merge"}, TypeError, "faults must be a list of faults"),
    ],
    ids=lambda value: repr(value) if not isinstance(value, dict) else repr(value)[:40],
)
def test_bad_arguments_are_refused_at_construction(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    """A wrong speed or faults value fails where the transport is made, saying what was expected."""
    with pytest.raises(error, match=message):
        ReplayTransport(stream_cassette(CHUNKS), **kwargs)  # type: ignore[arg-type]


def test_walk_raises_a_neutral_failure_for_a_recorded_error() -> None:
    """The core raises StreamFailure; only the faces know the libraries' exceptions."""
    script = Script(200, (), (Chunk(0.0, b"a"),), Ending.failed("ReadError", "reset"))
    steps = walk(plan(script, 0).steps, 0.0, lambda: 0.0, None)
    assert next(steps) == b"a"
    with pytest.raises(StreamFailure) as info:
        next(steps)
    assert (info.value.error, info.value.message) == ("ReadError", "reset")


def test_events_delivered_are_observed_with_their_time() -> None:
    """on_event receives each event the client is handed, in order, with its arrival time."""
    seen: list[Event] = []
    transport = ReplayTransport(stream_cassette(CHUNKS), on_event=seen.append)
    with httpx.Client(transport=transport) as client:
        client.get(URL)
    assert [(e.type, e.data) for e in seen] == [
        ("a", "1"),
        ("message", '{"type":"x"}'),
        ("message", "é"),
    ]
    assert [e.name for e in seen] == ["a", "x", "message"]
    assert all(e.t >= 0 for e in seen)


def test_sse_clients_work_unchanged_on_replay(driver: Driver) -> None:
    """httpx-sse's connect_sse (httpx) and the built-in EventSource (httpx2) read a replay."""
    events = driver.sse(ReplayTransport(stream_cassette(CHUNKS)), "GET", URL)
    assert events == [("a", "1", ""), ("message", '{"type":"x"}', ""), ("message", "é", "")]


def test_ordinary_json_responses_replay_too(driver: Driver) -> None:
    """A non-SSE interaction (a JSON POST) is answered like any other."""
    response = RecordedResponse(
        201, [("content-type", "application/json")], [Chunk(0.01, b'{"job_id":"j1"}')]
    )
    cassette = Cassette(
        [Interaction(RecordedRequest("POST", "http://service.test/jobs"), response)]
    )
    out = driver.stream(
        ReplayTransport(cassette), "POST", "http://service.test/jobs", json={"a": 1}
    )
    assert (out.status, out.body) == (201, b'{"job_id":"j1"}')


def test_non_ascii_header_values_replay_as_the_bytes_recorded(driver: Driver) -> None:
    """A header recorded from latin-1 bytes (b"caf\\xe9", read as "café") replays as those
    bytes, and a hand-written value beyond latin-1 as UTF-8: never a UnicodeEncodeError."""
    cassette = stream_cassette([b"data: 1\n\n"])
    cassette.interactions[0].response.headers += [("x-latin", "café"), ("x-check", "ok ✓")]

    def raw_headers() -> list[tuple[bytes, bytes]]:
        with driver.lib.Client(transport=ReplayTransport(cassette)) as client:
            return list(client.get(URL).headers.raw)

    async def araw_headers() -> list[tuple[bytes, bytes]]:
        async with driver.lib.AsyncClient(transport=ReplayTransport(cassette)) as client:
            return list((await client.get(URL)).headers.raw)

    raw = driver.run(raw_headers, araw_headers)
    assert (b"x-latin", b"caf\xe9") in raw
    assert (b"x-check", "ok ✓".encode()) in raw


def test_every_recorder_refuses_a_folder_as_its_cassette(tmp_path: Path) -> None:
    """A folder given as the cassette path is an error at construction, naming it."""
    from pytest_sse_replay import RecordingAdapter, RecordingTransport
    from pytest_sse_replay.clients._aiohttp import recording_session

    with pytest.raises(ValueError, match=r"RecordingTransport\(.*\): a folder, not a cassette"):
        RecordingTransport(tmp_path)
    with pytest.raises(ValueError, match=r"RecordingAdapter\(.*\): a folder, not a cassette"):
        RecordingAdapter(tmp_path)

    async def enter() -> None:
        async with recording_session(tmp_path):
            pass

    with pytest.raises(ValueError, match=r"recording_session\(.*\): a folder, not a cassette"):
        asyncio.run(enter())
