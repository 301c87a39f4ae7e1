"""Figures: the requests and aiohttp faces against each library's own mocking floor.

Replay at speed 0: `ReplayAdapter` against responses, `replay_session` against aioresponses,
both serving workload (b). Neither floor keeps chunks: each hands its body over as one
buffer, so the rows read the way both can be read alike, in 4 KiB pieces
(`iter_content(4096)`, `content.iter_chunked(4096)`) of a cassette cut in 4 KiB chunks, and
also as a stream client reads (`iter_content(None)`, `iter_any()`), where ours yields one
item per recorded chunk (per event) and the floor one item for the whole body.

Recording: time to first chunk through `RecordingAdapter` / `recording_session` against the
same library unrecorded, from the real local server.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import aioresponses.core as aioresponses_core
import requests
import responses
from aiohttp.client_proto import ResponseHandler
from aioresponses import aioresponses

from pytest_sse_replay import RecordingAdapter, ReplayAdapter, recording_session, replay_session

from ._replay import ratio_row
from ._serve import served
from ._timing import Row, atimed, duration, interleave, median, timed
from ._workloads import CHUNKING_LABELS, SSE_HEADERS, URL, Workload, cassette_of

__all__ = ["more_clients_rows"]

REQUESTS = "replay speed 0, requests vs responses"
AIOHTTP = "replay speed 0, aiohttp vs aioresponses"
TTFC_REQUESTS = "recording, time to first chunk, requests"
TTFC_AIOHTTP = "recording, time to first chunk, aiohttp"
TARGET = 1.10
TTFC_TARGET = 1e-4
# (chunking of the cassette, chunk size the client reads with)
READS = (("4k", 4096), ("event", None))


def _case(workload: Workload, chunking: str, size: int | None) -> str:
    how = "iter_content/iter_chunked(4096)" if size else "iter_content(None)/iter_any()"
    return f"({workload.key}) {workload.title}, {CHUNKING_LABELS[chunking]}, {how}"


def _read_requests(session: requests.Session, size: int | None) -> int:
    total = 0
    with session.get(URL, stream=True) as response:
        for chunk in response.iter_content(chunk_size=size):
            total += len(chunk)
    return total


async def _read_aiohttp(session: aiohttp.ClientSession, size: int | None) -> int:
    total = 0
    async with session.get(URL) as response:
        chunks = response.content.iter_chunked(size) if size else response.content.iter_any()
        async for chunk in chunks:
            total += len(chunk)
    return total


def _requests_row(workload: Workload, chunking: str, size: int | None, repeats: int) -> Row:
    body = workload.body
    ours = requests.Session()
    ours.mount("http://", ReplayAdapter(cassette_of(workload.timed_chunks(chunking))))
    floor = requests.Session()
    mock = responses.RequestsMock(assert_all_requests_are_fired=False)
    mock.add(responses.GET, URL, body=body, headers=dict(SSE_HEADERS), stream=True)
    with mock:
        for session in (ours, floor):
            if _read_requests(session, size) != len(body):
                raise AssertionError(f"{REQUESTS}: a contender changed the body")
        samples = interleave(
            {
                "ours": lambda: timed(lambda: _read_requests(ours, size)),
                "floor": lambda: timed(lambda: _read_requests(floor, size)),
            },
            repeats,
        )
    return ratio_row(REQUESTS, _case(workload, chunking, size), samples, "responses", TARGET)


def _aiohttp_row(workload: Workload, chunking: str, size: int | None, repeats: int) -> Row:
    body = workload.body
    cassette = cassette_of(workload.timed_chunks(chunking))

    async def ours() -> float:
        async with replay_session(cassette) as session:
            return await atimed(lambda: _read_aiohttp(session, size))

    async def floor() -> float:
        with aioresponses() as mock:
            mock.get(URL, body=body, headers=dict(SSE_HEADERS), response_class=_FloorResponse)
            async with aiohttp.ClientSession() as session:
                return await atimed(lambda: _read_aiohttp(session, size))

    async def check(run: Callable[[aiohttp.ClientSession], Awaitable[int]]) -> None:
        async with replay_session(cassette) as session:
            if await run(session) != len(body):
                raise AssertionError(f"{AIOHTTP}: the replay changed the body")

    asyncio.run(check(lambda session: _read_aiohttp(session, size)))
    samples = interleave(
        {"ours": lambda: asyncio.run(ours()), "floor": lambda: asyncio.run(floor())}, repeats
    )
    return ratio_row(AIOHTTP, _case(workload, chunking, size), samples, "aioresponses", TARGET)


class _FloorResponse(aiohttp.ClientResponse):
    """aioresponses 0.7.9 builds responses without the `stream_writer` aiohttp 3.12 requires."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", _NoWriter())
        super().__init__(*args, **kwargs)


class _NoWriter:
    output_size = 0


def _unpaused_reader(loop: Any = None) -> aiohttp.StreamReader:
    # aioresponses' own reader pauses its (parser-less) protocol past 128 KiB, which
    # aiohttp >= 3.12 asserts against; a higher limit is the same reader, never paused.
    return aiohttp.StreamReader(ResponseHandler(loop=loop), limit=2**30, loop=loop)


aioresponses_core.stream_reader_factory = _unpaused_reader  # type: ignore[attr-defined]


def _ttfc_row(figure: str, samples: dict[str, list[float]], case: str) -> Row:
    extra = statistics.median(o - p for o, p in zip(samples["ours"], samples["plain"], strict=True))
    return Row(
        figure,
        case,
        duration(median(samples["ours"])),
        f"unrecorded {duration(median(samples['plain']))}",
        f"{'+' if extra >= 0 else '-'}{duration(abs(extra))}",
        f"<= +{duration(TTFC_TARGET)}",
        extra <= TTFC_TARGET,
        data={"ours_s": samples["ours"], "baseline_s": samples["plain"]},
    )


def _requests_first_chunk(session: requests.Session, url: str) -> float:
    start = time.perf_counter()
    with session.get(url, stream=True) as response:
        chunks = response.iter_content(chunk_size=None)
        next(chunks)
        first = time.perf_counter() - start
        for _ in chunks:
            pass
    return first


async def _aiohttp_first_chunk(session: aiohttp.ClientSession, url: str) -> float:
    start = time.perf_counter()
    async with session.get(url) as response:
        await response.content.readany()
        first = time.perf_counter() - start
        await response.read()
    return first


def _ttfc_rows(repeats: int) -> list[Row]:
    with served("package") as base:
        url = f"{base}/slow-first?wait=0"
        plain = requests.Session()
        recording = requests.Session()
        recording.mount("http://", RecordingAdapter())
        samples = interleave(
            {
                "ours": lambda: _requests_first_chunk(recording, url),
                "plain": lambda: _requests_first_chunk(plain, url),
            },
            3 * repeats,
            warmup=2,
            budget=0,
        )
        rows = [_ttfc_row(TTFC_REQUESTS, samples, "GET /slow-first, keep-alive")]

        async def both() -> dict[str, list[float]]:
            # Both sessions live for the whole figure, so connections are kept alive.
            async with aiohttp.ClientSession() as unrecorded, recording_session() as recorder:
                got: dict[str, list[float]] = {"ours": [], "plain": []}
                for round_ in range(2 + 3 * repeats):
                    order = [("ours", recorder), ("plain", unrecorded)]
                    for name, session in order if round_ % 2 else order[::-1]:
                        seconds = await _aiohttp_first_chunk(session, url)
                        if round_ >= 2:
                            got[name].append(seconds)
                return got

        samples = asyncio.run(both())
        rows.append(_ttfc_row(TTFC_AIOHTTP, samples, "GET /slow-first, keep-alive"))
    return rows


def more_clients_rows(workloads: dict[str, Workload], repeats: int) -> list[Row]:
    workload = workloads["b"]
    rows = [_requests_row(workload, chunking, size, repeats) for chunking, size in READS]
    rows += [_aiohttp_row(workload, chunking, size, repeats) for chunking, size in READS]
    return rows + _ttfc_rows(repeats)
