"""Each injected fault next to the real failure, through requests and aiohttp: the client can't tell.

As tests/integration/test_fault_realism.py does for httpx and httpx2: the real failure first (a
connection broken mid-event, a silent server, a real 429/503, the real connection cap, a
real Last-Event-ID reconnect), then the fault injected into a healthy recording of the same
stream, compared on what the client saw: status, headers, chunks, exception type and message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import requests

from pytest_sse_replay import (
    Cassette,
    RecordingAdapter,
    ReplayAdapter,
    faults,
    parse_events,
    recording_session,
    replay_session,
)
from pytest_sse_replay.cassette._model import RecordedResponse
from pytest_sse_replay.playback._plan import Fault
from tests.integration.test_fault_realism import (
    JOB_LIMIT,
    READ_TIMEOUT,
    healthy,
    side_by_side,
    stream_cassette,
)


@dataclass
class Seen:
    """What a client saw: the head, every chunk as its read gave it, and how reading ended."""

    status: int
    headers: dict[str, str]
    chunks: list[bytes] = field(default_factory=list)
    error: BaseException | None = None

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


class Requests:
    id = "requests"
    broken = requests.exceptions.ChunkedEncodingError
    timed_out = requests.exceptions.ConnectionError

    def stream(
        self, adapter: Any, url: str, *, timeout: float = 5, headers: dict[str, str] | None = None
    ) -> Seen:
        with requests.Session() as s:
            if adapter is not None:
                s.mount("http://", adapter)
            with s.get(url, stream=True, timeout=timeout, headers=headers) as response:
                seen = Seen(
                    response.status_code, {k.lower(): v for k, v in response.headers.items()}
                )
                try:
                    for chunk in response.iter_content(chunk_size=None):
                        seen.chunks.append(chunk)
                except requests.RequestException as exc:
                    seen.error = exc
                return seen

    def record(self, url: str, *, timeout: float = 5) -> tuple[Seen, RecordedResponse]:
        recorder = RecordingAdapter()
        return self.stream(recorder, url, timeout=timeout), recorder.cassette.interactions[
            0
        ].response

    def replay(self, cassette: Cassette, fault: Sequence[Fault], url: str, **kwargs: Any) -> Seen:
        return self.stream(ReplayAdapter(cassette, faults=list(fault)), url, **kwargs)

    def cap(
        self, adapter: Any, url: str, auth: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        with requests.Session() as s, contextlib.ExitStack() as held:
            if adapter is not None:
                s.mount("http://", adapter)
            for _ in range(JOB_LIMIT):
                response = held.enter_context(s.get(url, headers=auth, stream=True, timeout=5))
                assert response.status_code == 200
            response = s.get(url, headers=auth, timeout=5)
            headers = {k.lower(): v for k, v in response.headers.items()}
            return response.status_code, headers, response.content


class Aiohttp:
    id = "aiohttp"
    broken = aiohttp.ClientPayloadError
    timed_out = aiohttp.ServerTimeoutError

    def stream(
        self, session: Any, url: str, *, timeout: float = 5, headers: dict[str, str] | None = None
    ) -> Seen:
        async def main() -> Seen:
            async with (
                session or aiohttp.ClientSession() as s,
                s.get(
                    url, headers=headers, timeout=aiohttp.ClientTimeout(sock_read=timeout)
                ) as response,
            ):
                seen = Seen(response.status, {k.lower(): v for k, v in response.headers.items()})
                try:
                    async for chunk in response.content.iter_any():
                        seen.chunks.append(chunk)
                except aiohttp.ClientError as exc:
                    seen.error = exc
                return seen

        return asyncio.run(asyncio.wait_for(main(), 15))

    def record(self, url: str, *, timeout: float = 5) -> tuple[Seen, RecordedResponse]:
        cassette = Cassette()
        seen = self.stream(recording_session(cassette), url, timeout=timeout)
        return seen, cassette.interactions[0].response

    def replay(self, cassette: Cassette, fault: Sequence[Fault], url: str, **kwargs: Any) -> Seen:
        return self.stream(replay_session(cassette, faults=fault), url, **kwargs)

    def cap(
        self, session: Any, url: str, auth: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        async def main() -> tuple[int, dict[str, str], bytes]:
            async with session or aiohttp.ClientSession() as s, contextlib.AsyncExitStack() as held:
                for _ in range(JOB_LIMIT):
                    response = await held.enter_async_context(s.get(url, headers=auth))
                    assert response.status == 200
                async with s.get(url, headers=auth) as response:
                    headers = {k.lower(): v for k, v in response.headers.items()}
                    return response.status, headers, await response.read()

        return asyncio.run(asyncio.wait_for(main(), 15))


LIBS = [pytest.param(Requests(), id="requests"), pytest.param(Aiohttp(), id="aiohttp")]
Lib = Requests | Aiohttp


@pytest.mark.parametrize("lib", LIBS)
def test_drop_looks_like_a_real_connection_broken_mid_event(live_server: str, lib: Lib) -> None:
    """Real /break vs drop(after_bytes=...): same chunks, same exception type and message."""
    url = f"{live_server}/break"
    real, recording = lib.record(url)
    assert isinstance(real.error, lib.broken)  # the real thing, first
    cassette = healthy(url, recording.chunks, b'"n":4}\n\n')
    fault = faults.drop(after_bytes=len(real.body))
    injected = lib.replay(cassette, [fault], url)
    side_by_side(f"/break vs {fault} [{lib.id}]", real.error, injected.error)
    assert injected.chunks == real.chunks
    assert type(injected.error) is type(real.error)
    assert str(injected.error) == str(real.error)


@pytest.mark.parametrize("lib", LIBS)
def test_drop_at_an_event_boundary_gives_the_same_exception(live_server: str, lib: Lib) -> None:
    """drop(after_events=3) on the same stream raises what the real break raised."""
    url = f"{live_server}/break"
    real, recording = lib.record(url)
    cassette = healthy(url, recording.chunks, b'"n":4}\n\n')
    injected = lib.replay(cassette, [faults.drop(after_events=3)], url)
    assert injected.body == real.body[: real.body.rindex(b"data: ")]
    assert type(injected.error) is type(real.error)
    assert str(injected.error) == str(real.error)


@pytest.mark.parametrize("lib", LIBS)
def test_a_recorded_break_breaks_again_on_replay(live_server: str, lib: Lib) -> None:
    """The recording of a real break replays the same chunks and the same exception."""
    url = f"{live_server}/break"
    real, recording = lib.record(url)
    assert recording.end.error == "RemoteProtocolError"  # named alike for every library
    cassette = healthy(url, [])
    cassette.interactions[0].response = recording
    injected = lib.replay(cassette, [], url)
    assert injected.chunks == real.chunks
    assert type(injected.error) is type(real.error)
    assert str(injected.error) == str(real.error)


@pytest.mark.parametrize("lib", LIBS)
def test_stall_looks_like_a_real_silent_server_without_the_wait(live_server: str, lib: Lib) -> None:
    """Real /silent vs stall(after_events=1): one event, then the same timeout error at once."""
    url = f"{live_server}/silent?seconds=3"
    started = time.monotonic()
    real, recording = lib.record(url, timeout=READ_TIMEOUT)
    real_seconds = time.monotonic() - started
    assert isinstance(real.error, lib.timed_out)
    cassette = healthy(url, recording.chunks, b'data: {"type":"tick","n":2}\n\n')
    started = time.monotonic()
    injected = lib.replay(cassette, [faults.stall(after_events=1)], url, timeout=READ_TIMEOUT)
    injected_seconds = time.monotonic() - started
    side_by_side(
        f"/silent vs stall(after_events=1), read timeout {READ_TIMEOUT} s [{lib.id}]",
        (real.error, f"{real_seconds:.3f} s"),
        (injected.error, f"{injected_seconds:.3f} s"),
    )
    assert injected.chunks == real.chunks
    assert type(injected.error) is type(real.error)
    assert str(injected.error) == str(real.error)
    assert real_seconds >= READ_TIMEOUT
    assert injected_seconds < READ_TIMEOUT / 2


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize(
    ("status", "fault"),
    [(429, faults.error(429, headers={"Retry-After": "2"})), (503, faults.error(503))],
    ids=["429", "503"],
)
def test_error_looks_like_a_real_error_response(
    live_server: str, lib: Lib, status: int, fault: faults.error
) -> None:
    """Real /status/N vs error(N): same status, header names, Retry-After and JSON body."""
    url = f"{live_server}/status/{status}"
    real = lib.stream(None, url)
    injected = lib.replay(stream_cassette(url), [fault], url)
    side_by_side(
        f"/status/{status} vs {fault} [{lib.id}]",
        (real.status, real.headers, real.body),
        (injected.status, injected.headers, injected.body),
    )
    assert injected.status == real.status == status
    assert list(injected.headers) == list(real.headers)
    assert injected.headers.get("retry-after") == real.headers.get("retry-after")
    assert injected.headers["content-type"] == real.headers["content-type"]
    assert json.loads(injected.body)["error"]["status"] == status
    assert injected.error is real.error is None


@pytest.mark.parametrize("lib", LIBS)
def test_connection_limit_looks_like_the_real_cap(live_server: str, lib: Lib) -> None:
    """Real 11th job stream vs connection_limit(10): the same 429, headers and body."""
    url = f"{live_server}/jobs/j1/stream?hold=5"
    auth = {"Authorization": "Bearer t0ken"}
    fault = faults.connection_limit(JOB_LIMIT, headers={"Retry-After": "1"})
    try:
        real = lib.cap(None, url, auth)
    finally:
        _wait_until_the_server_frees_its_slots(url, auth)
    if isinstance(lib, Requests):
        adapter = ReplayAdapter(stream_cassette(url), faults=[fault])
        injected = lib.cap(adapter, url, auth)
        assert adapter.open_streams == 0
    else:
        injected = lib.cap(replay_session(stream_cassette(url), faults=[fault]), url, auth)
    side_by_side(f"11th job stream vs {fault} [{lib.id}]", real, injected)
    assert injected == real


def _wait_until_the_server_frees_its_slots(url: str, auth: dict[str, str]) -> None:
    """Other tests share the server: leave only once a new stream is accepted again."""
    deadline = time.monotonic() + 10
    while True:
        with requests.get(url.replace("hold=5", "hold=0"), headers=auth, timeout=5) as response:
            if response.status_code == 200:
                return
        assert time.monotonic() < deadline, "the server kept the closed streams' slots"
        time.sleep(0.05)


@pytest.mark.parametrize("lib", LIBS)
def test_last_event_id_resumes_like_the_real_server(live_server: str, lib: Lib) -> None:
    """A reconnect with Last-Event-ID gets, from the cassette, the events the server resends."""
    created = requests.post(
        live_server + "/v2/jobs", json={"p": 3}, headers={"x-api-key": "k"}, timeout=5
    )
    url = f"{live_server}/v2/jobs/stream?job_id={created.json()['job_id']}&api_key=k"
    whole, recording = lib.record(url)
    ids = [event.id for event in parse_events(whole.chunks) if event.id]
    resume_from = {"Last-Event-ID": ids[1]}
    real = lib.stream(None, url, headers=resume_from)
    cassette = healthy(url, [])
    cassette.interactions[0].response = recording
    injected = lib.replay(cassette, [], url, headers=resume_from)
    side_by_side(
        f"Last-Event-ID {ids[1]} [{lib.id}]",
        [e.id for e in parse_events(real.chunks)],
        [e.id for e in parse_events(injected.chunks)],
    )
    assert parse_events(injected.chunks) == parse_events(real.chunks)
    assert len(parse_events(real.chunks)) == len(ids) - 2


@pytest.fixture
def late_headers_server() -> Iterator[str]:
    """A server that reads the request and sends nothing for a second, then closes."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.recv(65536)
                stop.wait(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/late"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_headers_later_than_the_read_timeout_raise_what_the_libraries_raise(
    late_headers_server: str,
) -> None:
    """Recorded headers due after the read timeout (speed 1): requests' ReadTimeout and
    aiohttp's SocketTimeoutError, as from a real server that is late with its headers."""
    url = late_headers_server
    cassette = stream_cassette(url)
    cassette.interactions[0].response.headers_t = 2.0

    def requests_error(adapter: Any) -> BaseException:
        with requests.Session() as s:
            if adapter is not None:
                s.mount("http://", adapter)
            with pytest.raises(requests.RequestException) as caught:
                s.get(url, stream=True, timeout=READ_TIMEOUT)
            return caught.value

    def aiohttp_error(session: Any) -> BaseException:
        async def main() -> None:
            timeout = aiohttp.ClientTimeout(sock_read=READ_TIMEOUT)
            async with session or aiohttp.ClientSession() as s, s.get(url, timeout=timeout):
                pass

        with pytest.raises(aiohttp.ClientError) as caught:
            asyncio.run(asyncio.wait_for(main(), 10))
        return caught.value

    pairs = [
        (requests_error(None), requests_error(ReplayAdapter(cassette, speed=1))),
        (aiohttp_error(None), aiohttp_error(replay_session(cassette, speed=1))),
    ]
    for real, injected in pairs:
        side_by_side("headers late past the read timeout", real, injected)
        assert type(injected) is type(real)
        assert str(injected) == str(real)
