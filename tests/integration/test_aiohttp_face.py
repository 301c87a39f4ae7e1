"""The aiohttp face: record every stream shape from the real server, replay it exactly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from pytest_sse_replay import (
    Cassette,
    NoRecording,
    parse_events,
    recording_session,
    replay_session,
)
from pytest_sse_replay.cassette._model import Chunk, Interaction, RecordedRequest, RecordedResponse
from tests.integration.test_recording import RUN, SHAPES

Read = Callable[[aiohttp.ClientResponse], Awaitable[list[bytes]]]


async def iter_any(response: aiohttp.ClientResponse) -> list[bytes]:
    return [chunk async for chunk in response.content.iter_any()]


async def iter_chunked_5(response: aiohttp.ClientResponse) -> list[bytes]:
    return [chunk async for chunk in response.content.iter_chunked(5)]


async def lines(response: aiohttp.ClientResponse) -> list[bytes]:
    return [line async for line in response.content]


async def readlines(response: aiohttp.ClientResponse) -> list[bytes]:
    out = []
    while line := await response.content.readline():
        out.append(line)
    return out


async def read(response: aiohttp.ClientResponse) -> list[bytes]:
    return [await response.read()]


def url_of(live_server: str, path: str) -> str:
    if "{job}" in path:
        created = requests.post(
            live_server + "/v2/jobs", json={"p": 1}, headers={"x-api-key": "k"}, timeout=5
        )
        path = path.format(job=created.json()["job_id"])
    return live_server + path


def fetch(session: Any, method: str, url: str, reader: Read, **kwargs: Any) -> list[bytes]:
    async def main() -> list[bytes]:
        async with session as s, s.request(method, url, **kwargs) as response:
            assert response.status == 200
            return await reader(response)

    return asyncio.run(asyncio.wait_for(main(), 10))


@pytest.mark.parametrize(("method", "path", "kwargs"), SHAPES)
def test_record_save_load_replay_gives_iter_any_the_same_chunks(
    live_server: str, tmp_path: Path, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    """content.iter_any() on replay yields exactly the chunks it yielded live."""
    url = url_of(live_server, path)
    path_ = tmp_path / "aiohttp.yaml"
    live = fetch(recording_session(path_), method, url, iter_any, **kwargs)
    # Usually several reads; on a loaded machine the reader may gather them into one, and
    # the chunks must still come back as they were read.
    assert live
    loaded = Cassette.load(path_)
    recorded = loaded.interactions[0].response
    assert [c.data for c in recorded.chunks] == live
    assert recorded.end.kind == "complete"
    assert fetch(replay_session(loaded), method, url, iter_any, **kwargs) == live
    assert parse_events(live)


@pytest.mark.parametrize("reader", [iter_chunked_5, lines, readlines, read])
def test_every_read_method_sees_what_it_saw_live(live_server: str, reader: Read) -> None:
    """iter_chunked(n), async-for lines, readline() and read() give live and replay alike."""
    url = live_server + "/runs"
    cassette = Cassette()
    live = fetch(recording_session(cassette), "POST", url, reader, json=RUN)
    replayed = fetch(replay_session(cassette), "POST", url, reader, json=RUN)
    assert replayed == live
    assert b"".join(live) == cassette.interactions[0].response.body


def test_gzip_is_recorded_readable_and_replays_the_same_text(live_server: str) -> None:
    """aiohttp decodes gzip; the recording keeps the decoded text, without the header."""
    url = live_server + "/gzip"
    cassette = Cassette()
    live = fetch(recording_session(cassette), "GET", url, read)
    recorded = cassette.interactions[0].response
    assert recorded.decoded == "gzip"
    assert recorded.header("content-encoding") is None
    assert fetch(replay_session(cassette), "GET", url, read) == live


def test_a_request_with_no_recording_raises_no_recording() -> None:
    """replay_session answers only what the cassette holds; anything else is NoRecording."""
    with pytest.raises(NoRecording):
        fetch(replay_session(Cassette()), "GET", "http://127.0.0.1:9/nothing", read)


def test_sessions_outside_a_replay_session_still_reach_the_network(live_server: str) -> None:
    """Only the session replay_session made is answered from the cassette; others are not."""

    async def main() -> int:
        async with (
            replay_session(Cassette()),
            aiohttp.ClientSession() as other,
            other.get(live_server + "/json") as response,
        ):
            return response.status

    assert asyncio.run(asyncio.wait_for(main(), 10)) == 200
    assert aiohttp.ClientSession._request.__module__ == "aiohttp.client"  # patch undone


def test_speed_one_keeps_the_recorded_gaps(live_server: str) -> None:
    """At speed 1 the last chunk comes no sooner than it was recorded."""
    cassette = Cassette()
    fetch(recording_session(cassette), "POST", live_server + "/runs", iter_any, json=RUN)
    last = cassette.interactions[0].response.chunks[-1].t

    async def main() -> float:
        started = time.perf_counter()
        async with (
            replay_session(cassette, speed=1) as s,
            s.post(live_server + "/runs", json=RUN) as response,
        ):
            await response.read()
        return time.perf_counter() - started

    assert asyncio.run(asyncio.wait_for(main(), 10)) >= last * 0.99


@given(chunks=st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=12))
def test_iter_any_gives_back_any_recorded_chunking_exactly(chunks: list[bytes]) -> None:
    """Whatever the recorded chunks, iter_any() on replay yields exactly them."""
    response = RecordedResponse(
        200,
        [("content-type", "text/event-stream")],
        [Chunk(0.001 * (n + 1), data) for n, data in enumerate(chunks)],
    )
    cassette = Cassette([Interaction(RecordedRequest("GET", "http://sse.test/s"), response)])
    assert fetch(replay_session(cassette), "GET", "http://sse.test/s", iter_any) == chunks
