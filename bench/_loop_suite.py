"""The 300-request tiny-stream loop, run by pytest in a process of its own (see `_loop.py`).

Every contender answers the same tiny stream through its own public API, pytest-httpx through
its fixture, hence pytest. Each test times one loop of requests and appends the seconds to the
file named by $BENCH_LOOP_OUT. The tests are ordered in rounds, each round running every
contender once in an order that rotates; round 0 is a warm-up.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import httpx
import pytest
import respx
import vcr
from pytest_httpx import IteratorStream

from pytest_sse_replay import ReplayTransport
from pytest_sse_replay.cassette._model import Chunk

from ._clients import ChunkStream, floor_transport, read_raw
from ._timing import timed
from ._workloads import SSE_HEADERS, URL, cassette_of, tiny_stream

CONTENDERS = ("floor", "ours", "respx", "pytest-httpx", "vcrpy")
ROUNDS = int(os.environ.get("BENCH_LOOP_ROUNDS", "7"))
REQUESTS = int(os.environ.get("BENCH_LOOP_REQUESTS", "300"))
CHUNKS = tiny_stream()


def _order() -> Iterator[object]:
    for round_ in range(ROUNDS + 1):
        shift = round_ % len(CONTENDERS)
        for name in CONTENDERS[shift:] + CONTENDERS[:shift]:
            yield pytest.param(round_, name, id=f"{round_}-{name}")


def _response(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, headers=SSE_HEADERS, stream=ChunkStream(CHUNKS))


@pytest.fixture(scope="session")
def vcr_cassette(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vcrpy cassette of the tiny stream, recorded by vcrpy from the floor transport."""
    path = tmp_path_factory.mktemp("vcrpy") / "tiny.yaml"
    with (
        vcr.VCR(record_mode="all").use_cassette(str(path)),
        httpx.Client(transport=floor_transport(CHUNKS)) as client,
    ):
        read_raw(client)
    return path


def _set_up(
    name: str, request: pytest.FixtureRequest, vcr_cassette: Path
) -> tuple[httpx.Client, AbstractContextManager[object]]:
    """The client to loop with, and the context the loop must run in."""
    if name == "floor":
        return httpx.Client(transport=floor_transport(CHUNKS)), nullcontext()
    if name == "ours":
        timeline = [Chunk(0.01 * (n + 1), data) for n, data in enumerate(CHUNKS)]
        return httpx.Client(transport=ReplayTransport(cassette_of(timeline))), nullcontext()
    if name == "respx":
        router = respx.mock(assert_all_called=False)
        router.get(URL).mock(side_effect=_response)
        return httpx.Client(), router
    if name == "pytest-httpx":
        httpx_mock = request.getfixturevalue("httpx_mock")
        httpx_mock.add_response(
            url=URL, headers=SSE_HEADERS, stream=IteratorStream(CHUNKS), is_reusable=True
        )
        return httpx.Client(), nullcontext()
    if name == "vcrpy":
        player = vcr.VCR(record_mode="none")
        cassette = player.use_cassette(str(vcr_cassette), allow_playback_repeats=True)
        return httpx.Client(), cassette
    raise ValueError(name)


@pytest.mark.parametrize(("round_", "name"), list(_order()))
def test_loop(round_: int, name: str, request: pytest.FixtureRequest, vcr_cassette: Path) -> None:
    """One loop of REQUESTS tiny streams read to the end, timed; its seconds are appended."""
    client, context = _set_up(name, request, vcr_cassette)
    expected = sum(len(chunk) for chunk in CHUNKS)

    def loop() -> None:
        for _ in range(REQUESTS):
            got = read_raw(client)
            if got != expected:
                raise AssertionError(f"{name}: read {got} bytes, expected {expected}")

    with client, context:
        seconds = timed(loop)
    out = os.environ.get("BENCH_LOOP_OUT")
    if out:
        with open(out, "a", encoding="utf-8") as file:
            file.write(json.dumps({"round": round_, "name": name, "seconds": seconds}) + "\n")
