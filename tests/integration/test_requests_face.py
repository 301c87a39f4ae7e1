"""The requests face: record every stream shape from the real server, replay it exactly."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import sseclient
from hypothesis import given
from hypothesis import strategies as st
from requests.adapters import HTTPAdapter

from pytest_sse_replay import Cassette, NoRecording, RecordingAdapter, ReplayAdapter, parse_events
from tests.integration.test_recording import RUN, SHAPES

Read = Callable[[requests.Response], list[bytes]]


def session(adapter: Any) -> requests.Session:
    s = requests.Session()
    s.mount("http://", adapter)
    return s


def url_of(live_server: str, path: str) -> str:
    if "{job}" in path:
        created = requests.post(
            live_server + "/v2/jobs", json={"p": 1}, headers={"x-api-key": "k"}, timeout=5
        )
        path = path.format(job=created.json()["job_id"])
    return live_server + path


def chunks_of(adapter: Any, method: str, url: str, read: Read, **kwargs: Any) -> list[bytes]:
    with (
        session(adapter) as s,
        s.request(method, url, stream=True, timeout=5, **kwargs) as response,
    ):
        assert response.status_code == 200
        return read(response)


def raw_chunks(response: requests.Response) -> list[bytes]:
    return list(response.iter_content(chunk_size=None))


@pytest.mark.parametrize(("method", "path", "kwargs"), SHAPES)
def test_record_save_load_replay_gives_the_same_chunks(
    live_server: str, tmp_path: Path, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    """iter_content(None) on replay yields exactly the chunks the live stream gave, in order."""
    url = url_of(live_server, path)
    recorder = RecordingAdapter()
    live = chunks_of(recorder, method, url, raw_chunks, **kwargs)
    assert len(live) > 1
    recorded = recorder.cassette.interactions[0].response
    assert [c.data for c in recorded.chunks] == live
    assert recorded.end.kind == "complete"
    loaded = Cassette.load(recorder.save(tmp_path / "requests.yaml"))
    replayed = chunks_of(ReplayAdapter(loaded), method, url, raw_chunks, **kwargs)
    assert replayed == live
    assert parse_events(replayed)


@pytest.mark.parametrize("size", [1, 7, 512])
def test_iter_content_with_a_size_cuts_replayed_chunks_as_urllib3_cuts_live_ones(
    live_server: str, size: int
) -> None:
    """iter_content(n) never joins two chunks and never gives more than n bytes: live = replay."""
    url = live_server + "/runs"

    def read(response: requests.Response) -> list[bytes]:
        return list(response.iter_content(chunk_size=size))

    recorder = RecordingAdapter()
    live = chunks_of(recorder, "POST", url, read, json=RUN)
    replayed = chunks_of(ReplayAdapter(recorder.cassette), "POST", url, read, json=RUN)
    assert replayed == live
    assert max(map(len, live)) <= size


def test_iter_lines_and_content_read_the_same_as_live(live_server: str) -> None:
    """iter_lines() and .content give the live lines and body back on replay."""
    url = live_server + "/bom"
    recorder = RecordingAdapter()
    with session(recorder) as s:
        live_lines = list(s.get(url, stream=True, timeout=5).iter_lines())
        live_body = s.get(url, timeout=5).content
    with session(ReplayAdapter(recorder.cassette)) as s:
        assert list(s.get(url, stream=True, timeout=5).iter_lines()) == live_lines
        assert s.get(url, timeout=5).content == live_body
    assert len(live_lines) > 2


def test_sseclient_parses_the_same_events_from_replay_as_from_the_server(live_server: str) -> None:
    """sseclient-py over a replayed response sees the live stream's events, ids and types."""

    def events(adapter: Any) -> list[tuple[str, str, str | None]]:
        with session(adapter) as s:
            response = s.post(live_server + "/runs", json=RUN, stream=True, timeout=5)
            client = sseclient.SSEClient(response)  # type: ignore[arg-type]
            return [(e.event, e.data, e.id) for e in client.events()]

    recorder = RecordingAdapter()
    live = events(recorder)
    assert live == events(HTTPAdapter())  # recording changed nothing the client sees
    assert events(ReplayAdapter(recorder.cassette)) == live
    assert live[0][0] == "job.started"


def test_gzip_is_recorded_readable_and_replays_the_same_text(live_server: str) -> None:
    """A gzip stream is recorded decoded (no content-encoding) and reads the same on replay."""
    url = live_server + "/gzip"
    recorder = RecordingAdapter()
    live = chunks_of(recorder, "GET", url, raw_chunks)
    recorded = recorder.cassette.interactions[0].response
    assert recorded.decoded == "gzip"
    assert recorded.header("content-encoding") is None
    assert b"data:" in recorded.body
    assert b"".join(chunks_of(ReplayAdapter(recorder.cassette), "GET", url, raw_chunks)) == (
        b"".join(live)
    )


def test_a_request_with_no_recording_raises_no_recording() -> None:
    """ReplayAdapter answers only what the cassette holds; anything else is NoRecording."""
    with session(ReplayAdapter(Cassette())) as s, pytest.raises(NoRecording):
        s.get("http://127.0.0.1:9/nothing", timeout=1)


def test_speed_one_keeps_the_recorded_gaps(live_server: str) -> None:
    """At speed 1 the last chunk comes no sooner than it was recorded."""
    recorder = RecordingAdapter()
    chunks_of(recorder, "POST", live_server + "/runs", raw_chunks, json=RUN)
    last = recorder.cassette.interactions[0].response.chunks[-1].t
    adapter = ReplayAdapter(recorder.cassette, speed=1)
    seen: list[float] = []
    clock = adapter.transport.clock
    start = clock()
    with session(adapter) as s:
        for _ in s.post(live_server + "/runs", json=RUN, stream=True).iter_content(None):
            seen.append(clock() - start)
    assert seen[-1] >= last * 0.99


def _cassette_of(chunks: list[bytes]) -> Cassette:
    from pytest_sse_replay.cassette._model import (
        Chunk,
        Interaction,
        RecordedRequest,
        RecordedResponse,
    )

    response = RecordedResponse(
        200,
        [("content-type", "text/event-stream")],
        [Chunk(0.001 * (n + 1), data) for n, data in enumerate(chunks)],
    )
    return Cassette([Interaction(RecordedRequest("GET", "http://sse.test/s"), response)])


@given(
    chunks=st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=12),
    size=st.one_of(st.none(), st.integers(1, 64)),
)
def test_any_chunking_read_any_way_gives_the_body_cut_only_at_recorded_boundaries(
    chunks: list[bytes], size: int | None
) -> None:
    """iter_content(n) gives the body back whole, pieces of at most n bytes, and never a
    piece that spans two recorded chunks; iter_content(None) gives the chunks themselves."""
    with session(ReplayAdapter(_cassette_of(chunks))) as s:
        response = s.get("http://sse.test/s", stream=True)
        pieces = list(response.iter_content(chunk_size=size))
    assert b"".join(pieces) == b"".join(chunks)
    if size is None:
        assert pieces == chunks
        return
    assert all(0 < len(piece) <= size for piece in pieces)
    boundaries = set(itertools.accumulate(len(c) for c in chunks))
    cuts = set(itertools.accumulate(len(p) for p in pieces))
    assert boundaries <= cuts  # every recorded boundary is kept
