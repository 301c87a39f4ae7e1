"""RecordingTransport against the real local server, and the record -> save -> load -> replay trip."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from pytest_sse_replay import Cassette, RecordingTransport, ReplayTransport, parse_events
from tests.drivers import Driver

RUN = {"responseMode": "stream", "agents": ["a", "b"]}

SHAPES = [
    pytest.param(
        "POST",
        "/v1/generate",
        {"json": {"prompt": "x"}, "headers": {"x-api-key": "k"}},
        id="data-only",
    ),
    pytest.param("GET", "/v2/jobs/stream?job_id={job}&api_key=k", {}, id="job-stream-crlf"),
    pytest.param(
        "GET",
        "/jobs/j1/stream",
        {"headers": {"Authorization": "Bearer t"}},
        id="job-status-heartbeats",
    ),
    pytest.param("POST", "/runs", {"json": RUN}, id="multi-agent"),
    pytest.param("GET", "/bom", {}, id="bom-multibyte"),
]


def round_trip(tmp_path: Path, transport: RecordingTransport) -> Cassette:
    path = transport.cassette.save(tmp_path / "trip.yaml")
    return Cassette.load(path)


@pytest.mark.parametrize(("method", "path", "kwargs"), SHAPES)
def test_record_save_load_replay_keeps_bytes_boundaries_and_events(
    driver: Driver,
    live_server: str,
    tmp_path: Path,
    method: str,
    path: str,
    kwargs: dict[str, object],
) -> None:
    """What the client saw live, it sees again from the saved cassette: bytes, cuts and events."""
    if "{job}" in path:
        created = httpx.post(
            live_server + "/v2/jobs", json={"p": 1}, headers={"x-api-key": "k"}, timeout=5
        )
        path = path.format(job=created.json()["job_id"])
    recorder = RecordingTransport()
    live = driver.stream(recorder, method, live_server + path, **kwargs)
    assert live.error is None
    assert len(live.chunks) > 1
    loaded = round_trip(tmp_path, recorder)
    response = loaded.interactions[0].response
    assert [c.data for c in response.chunks] == live.chunks
    assert response.end.kind == "complete"
    replayed = driver.stream(ReplayTransport(loaded), method, live_server + path, **kwargs)
    assert replayed.status == live.status
    assert replayed.chunks == live.chunks
    assert parse_events(replayed.chunks) == parse_events(live.chunks)
    assert parse_events(replayed.chunks)  # the shape really has events


def test_chunk_times_are_recorded_and_rise(driver: Driver, live_server: str) -> None:
    """Each chunk has its arrival time from the request start; times never go down."""
    recorder = RecordingTransport()
    driver.stream(recorder, "POST", live_server + "/runs", json=RUN)
    response = recorder.cassette.interactions[0].response
    times = [c.t for c in response.chunks]
    assert times == sorted(times)
    assert 0 <= response.headers_t <= times[0]
    assert times[-1] - times[0] > 0.005  # the server spaced its events


def test_speed_one_replay_keeps_the_gaps(live_server: str, driver: Driver) -> None:
    """At speed 1 a replay lasts about as long as the recorded stream (loose tolerance)."""
    recorder = RecordingTransport()
    driver.stream(recorder, "GET", live_server + "/slow-first?wait=0.3")
    recorded = recorder.cassette.interactions[0].response.chunks[-1].t
    started = time.monotonic()
    driver.stream(
        ReplayTransport(recorder.cassette, speed=1), "GET", live_server + "/slow-first?wait=0.3"
    )
    elapsed = time.monotonic() - started
    assert recorded >= 0.3
    assert recorded - 0.02 <= elapsed < recorded + 1.0


def test_first_chunk_is_delivered_before_the_stream_ends(driver: Driver, live_server: str) -> None:
    """The recorder hands each chunk on at once: an endless stream can be read and left."""
    recorder = RecordingTransport()
    first = driver.first_chunk(recorder, live_server + "/endless")
    assert first.startswith(b"id: ")
    response = recorder.cassette.interactions[0].response
    assert response.end.kind == "client_closed"
    assert response.chunks[0].data == first


def test_a_broken_stream_is_recorded_up_to_the_break_and_breaks_again(
    driver: Driver, live_server: str, tmp_path: Path
) -> None:
    """A server that breaks mid-event is recorded to the break, and replay breaks the same way."""
    recorder = RecordingTransport()
    live = driver.stream(recorder, "GET", live_server + "/break")
    assert isinstance(live.error, driver.lib.RemoteProtocolError)
    loaded = round_trip(tmp_path, recorder)
    end = loaded.interactions[0].response.end
    assert (end.kind, end.error) == ("error", "RemoteProtocolError")
    replayed = driver.stream(ReplayTransport(loaded), "GET", live_server + "/break")
    assert replayed.chunks == live.chunks
    assert type(replayed.error) is type(live.error)
    assert str(replayed.error) == str(live.error)


def test_gzip_streams_are_recorded_readable_and_replay_the_same_events(
    driver: Driver, live_server: str, tmp_path: Path
) -> None:
    """A gzip-encoded stream is kept decoded (readable, redactable) and replays the same events."""
    recorder = RecordingTransport()
    driver.stream(recorder, "GET", live_server + "/gzip")
    loaded = round_trip(tmp_path, recorder)
    response = loaded.interactions[0].response
    assert response.decoded == "gzip"
    assert response.header("content-encoding") is None
    assert b"data: " in response.body
    events = driver.sse(ReplayTransport(loaded), "GET", live_server + "/gzip")
    live_events = driver.sse(RecordingTransport(), "GET", live_server + "/gzip")
    assert events == live_events
    assert len(events) == 3


def test_sse_clients_work_unchanged_through_the_recorder(driver: Driver, live_server: str) -> None:
    """httpx-sse (httpx) and EventSource (httpx2) read a stream through the recorder."""
    events = driver.sse(RecordingTransport(), "POST", live_server + "/runs", json=RUN)
    assert events[0][0] == "job.started"
    assert events[-1][0] == "complete"


def test_ordinary_responses_and_flows_are_recorded(driver: Driver, live_server: str) -> None:
    """A JSON POST followed by a stream is two interactions of one cassette, in order."""
    recorder = RecordingTransport()
    created = driver.stream(
        recorder, "POST", live_server + "/v2/jobs", json={"p": 1}, headers={"x-api-key": "k"}
    )
    job = created.body.decode().split('"')[3]
    driver.stream(recorder, "GET", f"{live_server}/v2/jobs/stream?job_id={job}&api_key=k")
    kinds = [(i.request.method, i.response.is_event_stream) for i in recorder.cassette]
    assert kinds == [("POST", False), ("GET", True)]


def test_save_redacts_by_default(live_server: str, tmp_path: Path, driver: Driver) -> None:
    """RecordingTransport.save writes no secret: header, query and their echoes are scrubbed."""
    key = "sk-test-abcdef123456"
    created = httpx.post(
        live_server + "/v2/jobs", json={"p": 2}, headers={"x-api-key": key}, timeout=5
    )
    recorder = RecordingTransport()
    job = created.json()["job_id"]
    driver.stream(recorder, "GET", f"{live_server}/v2/jobs/stream?job_id={job}&api_key={key}")
    path = recorder.save(tmp_path / "r.yaml")
    text = path.read_text()
    assert key not in text
    assert "api_key=REDACTED" in text
