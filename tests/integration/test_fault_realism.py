"""Each injected fault next to the real failure from the local server: the client can't tell.

Every test makes the real failure happen (a connection broken mid-event, a server gone
silent, a real 429/503, the real connection cap), records it, then injects the fault into
a healthy version of the same stream, and compares what the client saw: status, headers,
bytes and their boundaries, exception type and message.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

import pytest

from pytest_sse_replay import Cassette, RecordingTransport, ReplayTransport, faults
from pytest_sse_replay.cassette._model import (
    COMPLETE,
    Chunk,
    Interaction,
    RecordedRequest,
    RecordedResponse,
)
from tests.drivers import Driver, Outcome

SSE = [("content-type", "text/event-stream; charset=utf-8")]


def record(driver: Driver, url: str, *, timeout: float = 5) -> tuple[Outcome, RecordedResponse]:
    """What the client saw from the real server, and the recording made while it did."""
    recorder = RecordingTransport()
    out = driver.stream(recorder, "GET", url, timeout=timeout)
    return out, recorder.cassette.interactions[0].response


def healthy(url: str, chunks: list[Chunk], *more: bytes) -> Cassette:
    """A cassette of the recorded chunks made whole: `more` follows, and the stream ends."""
    t = chunks[-1].t if chunks else 0.0
    chunks = [*chunks, *(Chunk(round(t + 0.005 * (n + 1), 6), data) for n, data in enumerate(more))]
    response = RecordedResponse(200, list(SSE), chunks, COMPLETE)
    return Cassette([Interaction(RecordedRequest("GET", url), response)])


def side_by_side(what: str, real: Any, injected: Any) -> None:
    # Shown with `pytest -s`; the closing note pastes these lines.
    print(f"\n{what}\n  real:     {real!r}\n  injected: {injected!r}")


def test_drop_looks_like_a_real_connection_broken_mid_event(
    live_server: str, driver: Driver
) -> None:
    """Real /break vs drop(after_bytes=...): same bytes and boundaries, same exception and message."""
    url = f"{live_server}/break"
    real, recording = record(driver, url)
    assert isinstance(real.error, driver.lib.RemoteProtocolError)  # the real thing, first
    cassette = healthy(url, recording.chunks, b'"n":4}\n\n')
    fault = faults.drop(after_bytes=len(real.body))
    injected = driver.stream(ReplayTransport(cassette, faults=[fault]), "GET", url, timeout=5)
    side_by_side(f"/break vs {fault} [{driver.id}]", real.error, injected.error)
    assert injected.chunks == real.chunks
    assert type(injected.error) is type(real.error)
    assert str(injected.error) == str(real.error)


def test_drop_at_an_event_boundary_gives_the_same_exception(
    live_server: str, driver: Driver
) -> None:
    """drop(after_events=3) on the same stream raises what the real break raised."""
    url = f"{live_server}/break"
    real, recording = record(driver, url)
    cassette = healthy(url, recording.chunks, b'"n":4}\n\n')
    transport = ReplayTransport(cassette, faults=[faults.drop(after_events=3)])
    injected = driver.stream(transport, "GET", url, timeout=5)
    assert injected.body == real.body[: real.body.rindex(b"data: ")]  # the three whole events
    assert type(injected.error) is type(real.error)
    assert str(injected.error) == str(real.error)


READ_TIMEOUT = 0.3


def test_stall_looks_like_a_real_silent_server_without_the_wait(
    live_server: str, driver: Driver
) -> None:
    """Real /silent vs stall(after_events=1): one event then ReadTimeout; the stall takes ms."""
    url = f"{live_server}/silent?seconds=3"
    started = time.monotonic()
    real, recording = record(driver, url, timeout=READ_TIMEOUT)
    real_seconds = time.monotonic() - started
    assert isinstance(real.error, driver.lib.ReadTimeout)
    cassette = healthy(url, recording.chunks, b'data: {"type":"tick","n":2}\n\n')
    transport = ReplayTransport(cassette, faults=[faults.stall(after_events=1)])
    started = time.monotonic()
    injected = driver.stream(transport, "GET", url, timeout=READ_TIMEOUT)
    injected_seconds = time.monotonic() - started
    side_by_side(
        f"/silent vs stall(after_events=1), read timeout {READ_TIMEOUT} s [{driver.id}]",
        (real.error, f"{real_seconds:.3f} s"),
        (injected.error, f"{injected_seconds:.3f} s"),
    )
    assert injected.chunks == real.chunks
    assert type(injected.error) is type(real.error)
    assert real_seconds >= READ_TIMEOUT
    assert injected_seconds < READ_TIMEOUT / 2  # it did not wait for the timeout


def test_stall_message_matches_the_real_read_timeout(live_server: str, driver: Driver) -> None:
    """The injected ReadTimeout's message is the real one's: "timed out" from a sync socket,
    "" from httpcore's anyio backend (a bare TimeoutError)."""
    url = f"{live_server}/silent?seconds=3"
    real, recording = record(driver, url, timeout=READ_TIMEOUT)
    cassette = healthy(url, recording.chunks, b'data: {"type":"tick","n":2}\n\n')
    transport = ReplayTransport(cassette, faults=[faults.stall(after_events=1)])
    injected = driver.stream(transport, "GET", url, timeout=READ_TIMEOUT)
    side_by_side(f"/silent message [{driver.id}]", str(real.error), str(injected.error))
    assert str(injected.error) == str(real.error)


def stream_cassette(url: str) -> Cassette:
    return healthy(url, [Chunk(0.01, b'data: {"type":"tick","n":1}\n\n')])


@pytest.mark.parametrize(
    ("status", "fault"),
    [
        (429, faults.error(429, headers={"Retry-After": "2"})),
        (503, faults.error(503)),
    ],
    ids=["429", "503"],
)
def test_error_looks_like_a_real_error_response(
    live_server: str, driver: Driver, status: int, fault: faults.error
) -> None:
    """Real /status/N vs error(N): same status, same headers, a JSON body carrying the status."""
    url = f"{live_server}/status/{status}"
    real = driver.stream(None, "GET", url, timeout=5)
    injected = driver.stream(ReplayTransport(stream_cassette(url), faults=[fault]), "GET", url)
    side_by_side(
        f"/status/{status} vs {fault} [{driver.id}]",
        (real.status, real.headers, real.body),
        (injected.status, injected.headers, injected.body),
    )
    assert injected.status == real.status == status
    assert list(injected.headers) == list(real.headers)  # names, in the same order
    assert injected.headers.get("retry-after") == real.headers.get("retry-after")
    assert injected.headers["content-type"] == real.headers["content-type"]
    for out in (real, injected):
        assert out.headers["content-length"] == str(len(out.body))
        body = json.loads(out.body)
        assert isinstance(body, dict)
        assert status in _numbers(body)
    assert injected.error is real.error is None


def _numbers(value: object) -> list[object]:
    if isinstance(value, dict):
        return [n for item in value.values() for n in _numbers(item)]
    return [value]


JOB_LIMIT = 10  # the real job status stream's cap (429 past 10 connections)


def test_connection_limit_looks_like_the_real_cap(live_server: str, driver: Driver) -> None:
    """Real 11th job stream vs connection_limit(10): the same 429, headers and body."""
    url = f"{live_server}/jobs/j1/stream?hold=5"
    auth = {"Authorization": "Bearer t0ken"}
    fault = faults.connection_limit(JOB_LIMIT, headers={"Retry-After": "1"})
    replay = ReplayTransport(stream_cassette(url), faults=[fault])

    def sync(transport: Any) -> tuple[int, dict[str, str], bytes]:
        with driver.client(transport, timeout=5) as client, contextlib.ExitStack() as held:
            for _ in range(JOB_LIMIT):
                response = held.enter_context(client.stream("GET", url, headers=auth))
                assert response.status_code == 200
            response = client.get(url, headers=auth)
            return response.status_code, dict(response.headers), response.content

    async def async_(transport: Any) -> tuple[int, dict[str, str], bytes]:
        async with (
            driver.client(transport, timeout=5) as client,
            contextlib.AsyncExitStack() as held,
        ):
            for _ in range(JOB_LIMIT):
                stream = client.stream("GET", url, headers=auth)
                response = await held.enter_async_context(stream)
                assert response.status_code == 200
            response = await client.get(url, headers=auth)
            return response.status_code, dict(response.headers), response.content

    try:
        real = driver.run(lambda: sync(None), lambda: async_(None))
    finally:
        _wait_until_the_server_frees_its_slots(driver, url, auth)
    injected = driver.run(lambda: sync(replay), lambda: async_(replay))
    side_by_side(f"11th job stream vs {fault} [{driver.id}]", real, injected)
    assert injected == real
    assert replay.open_streams == 0


def _wait_until_the_server_frees_its_slots(driver: Driver, url: str, auth: dict[str, str]) -> None:
    """Other tests share the server: leave only once a new stream is accepted again."""
    deadline = time.monotonic() + 10
    with driver.lib.Client(timeout=5) as client:
        while True:
            with client.stream("GET", url.replace("hold=5", "hold=0"), headers=auth) as response:
                if response.status_code == 200:
                    return
            assert time.monotonic() < deadline, "the server kept the closed streams' slots"
            time.sleep(0.05)
