"""The local SSE server's contract, pinned with real httpx clients over real sockets."""

from __future__ import annotations

import json
import re
import socket
import sys
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from pytest_sse_replay.demo._server import create_app, run_server

TIMEOUT = httpx.Timeout(5.0)


@dataclass
class Ev:
    type: str
    data: str
    id: str

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class Parsed:
    events: list[Ev] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)

    @property
    def types(self) -> list[str]:
        return [event.type for event in self.events]


def parse(raw: bytes) -> Parsed:
    """A tiny SSE reader for whole bodies (our real parser is tested elsewhere)."""
    text = raw.decode("utf-8").removeprefix("\ufeff")
    *lines, _unfinished = re.split(r"\r\n|\r|\n", text)
    parsed = Parsed()
    event_type, last_id = "", ""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                parsed.events.append(Ev(event_type or "message", "\n".join(data), last_id))
            event_type, data = "", []
        elif line.startswith(":"):
            parsed.comments.append(line[1:].strip())
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event_type = value
            elif name == "data":
                data.append(value)
            elif name == "id":
                last_id = value
            elif name == "retry":
                parsed.retry.append(int(value))
    return parsed


def only_crlf(raw: bytes) -> bool:
    return (
        b"\r\n" in raw
        and b"\r" not in raw.replace(b"\r\n", b"")
        and b"\n" not in raw.replace(b"\r\n", b"")
    )


def only_lf(raw: bytes) -> bool:
    return b"\n" in raw and b"\r" not in raw


@pytest.fixture
def client(live_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server, timeout=TIMEOUT) as client:
        yield client


def raw_body(
    client: httpx.Client, method: str, url: str, **kwargs: Any
) -> tuple[httpx.Response, bytes]:
    with client.stream(method, url, **kwargs) as response:
        return response, b"".join(response.iter_raw())


def open_at_once(client: httpx.Client, requests: list[httpx.Request]) -> list[httpx.Response]:
    """Send the requests from parallel threads and return the responses, still streaming."""
    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        futures = [pool.submit(client.send, request, stream=True) for request in requests]
    errors = [error for future in futures if (error := future.exception()) is not None]
    responses = [future.result() for future in futures if future.exception() is None]
    if errors:
        for response in responses:
            response.close()
        raise errors[0]
    return responses


def wait_for_free_slot(client: httpx.Client, make: Any) -> int:
    """The status of a new stream, retried for a while as long as it is 429."""
    deadline = time.monotonic() + 3.0
    while True:
        response = client.send(make(), stream=True)
        status = response.status_code
        response.close()
        if status != 429 or time.monotonic() > deadline:
            return status
        time.sleep(0.02)


# Shape 1: data-only events.


def test_generate_streams_sections_then_done(client: httpx.Client) -> None:
    """POST /v1/generate streams data-only section events then done, with LF line ends."""
    response, raw = raw_body(
        client,
        "POST",
        "/v1/generate",
        headers={"x-api-key": "k", "accept": "text/event-stream"},
        json={"prompt": "tides", "sections": 2},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert only_lf(raw)
    assert raw.startswith(b'data: {"type":"section","index":0,"text":"Section 1 about tides."}\n\n')
    events = parse(raw).events
    assert set(parse(raw).types) == {"message"}
    assert [event.json() for event in events] == [
        {"type": "section", "index": 0, "text": "Section 1 about tides."},
        {"type": "section", "index": 1, "text": "Section 2 about tides."},
        {"type": "done"},
    ]


def test_generate_without_api_key_is_401(client: httpx.Client) -> None:
    """POST /v1/generate without x-api-key answers 401 with a JSON error."""
    response = client.post("/v1/generate", json={})
    assert response.status_code == 401
    assert response.json()["error"]["status"] == 401


def test_generate_fail_sends_error_event_mid_stream(client: httpx.Client) -> None:
    """With fail: 429 the stream sends one section, then the error event, then ends."""
    _, raw = raw_body(
        client, "POST", "/v1/generate", headers={"x-api-key": "k"}, json={"fail": 429}
    )
    assert [event.json()["type"] for event in parse(raw).events] == ["section", "error"]
    assert raw.endswith(b'data: {"type":"error","statusCode":429}\n\n')


def test_generate_rejects_a_non_object_body(client: httpx.Client) -> None:
    """A body that is not a JSON object is a 400."""
    response = client.post("/v1/generate", headers={"x-api-key": "k"}, content=b"[1]")
    assert response.status_code == 400


# Shape 2: async job + stream.


def create_job(client: httpx.Client, body: dict[str, Any]) -> str:
    response = client.post("/v2/jobs", headers={"x-api-key": "k"}, json=body)
    assert response.status_code == 200
    job_id = response.json()["job_id"]
    assert isinstance(job_id, str)
    return job_id


def test_job_stream_sends_named_events_with_sequence_and_ids(client: httpx.Client) -> None:
    """The job stream sends intermediate, proposed_change, final, usage with rising sequence ids."""
    job_id = create_job(client, {"prompt": "fix the title"})
    response, raw = raw_body(
        client, "GET", "/v2/jobs/stream", params={"job_id": job_id, "api_key": "sk-123"}
    )
    assert response.status_code == 200
    assert only_crlf(raw)
    events = parse(raw).events
    assert [e.type for e in events] == [
        "intermediate",
        "intermediate",
        "proposed_change",
        "final",
        "usage",
    ]
    assert [e.json()["sequence"] for e in events] == [1, 2, 3, 4, 5]
    assert [e.id for e in events] == ["1", "2", "3", "4", "5"]
    assert all(e.json()["job_id"] == job_id for e in events)


def test_job_stream_echoes_the_api_key(client: httpx.Client) -> None:
    """The api_key comes back in the x-echo-key header and in the usage event's data."""
    job_id = create_job(client, {"prompt": "echo"})
    response, raw = raw_body(
        client, "GET", "/v2/jobs/stream", params={"job_id": job_id, "api_key": "sk-secret"}
    )
    assert response.headers["x-echo-key"] == "sk-secret"
    assert parse(raw).events[-1].json()["api_key"] == "sk-secret"


def test_job_ids_are_derived_from_the_body(client: httpx.Client) -> None:
    """The same body gives the same job id, another body another one."""
    assert create_job(client, {"prompt": "a"}) == create_job(client, {"prompt": "a"})
    assert create_job(client, {"prompt": "a"}) != create_job(client, {"prompt": "b"})


def test_unknown_job_sends_an_error_event(client: httpx.Client) -> None:
    """Streaming a job that was never created sends one named error event."""
    _, raw = raw_body(
        client, "GET", "/v2/jobs/stream", params={"job_id": "job_nope", "api_key": "k"}
    )
    [event] = parse(raw).events
    assert event.type == "error"
    assert event.id == "1"
    assert event.json() == {"sequence": 1, "job_id": "job_nope", "error": "unknown job"}


def test_job_endpoints_need_a_key(client: httpx.Client) -> None:
    """Creating a job needs x-api-key and streaming it needs the api_key query parameter."""
    assert client.post("/v2/jobs", json={}).status_code == 401
    assert client.get("/v2/jobs/stream", params={"job_id": "x"}).status_code == 401


def test_job_stream_resumes_after_last_event_id(client: httpx.Client) -> None:
    """With Last-Event-ID: 3 the job stream starts at sequence 4."""
    job_id = create_job(client, {"prompt": "resume"})
    _, raw = raw_body(
        client,
        "GET",
        "/v2/jobs/stream",
        params={"job_id": job_id, "api_key": "k"},
        headers={"last-event-id": "3"},
    )
    assert [e.id for e in parse(raw).events] == ["4", "5"]


# Shape 3: job status stream.

BEARER = {"authorization": "Bearer t0ken"}


def test_job_status_stream(client: httpx.Client) -> None:
    """Status then progress 0..1 with heartbeat comments between events, completed last, CRLF."""
    response, raw = raw_body(client, "GET", "/jobs/j1/stream", headers=BEARER)
    assert response.status_code == 200
    assert only_crlf(raw)
    parsed = parse(raw)
    assert parsed.types == ["status", "status"] + ["progress"] * 5 + ["completed"]
    assert [e.json()["progress"] for e in parsed.events if e.type == "progress"] == [
        0.0,
        0.25,
        0.5,
        0.75,
        1.0,
    ]
    assert b'event: progress\r\ndata: {"progress":0.25}\r\n\r\n' in raw
    assert parsed.comments == ["heartbeat"] * 7
    assert parsed.retry == [2000]
    assert raw.endswith(b'event: completed\r\ndata: {"status":"completed","job_id":"j1"}\r\n\r\n')


@pytest.mark.parametrize(
    ("job_id", "terminal", "last_progress"), [("fail", "failed", 0.5), ("cancel", "canceled", 0.25)]
)
def test_job_status_other_terminals(
    client: httpx.Client, job_id: str, terminal: str, last_progress: float
) -> None:
    """Job "fail" ends with failed and job "cancel" with canceled, after partial progress."""
    _, raw = raw_body(client, "GET", f"/jobs/{job_id}/stream", headers=BEARER)
    events = parse(raw).events
    assert events[-1].type == terminal
    assert [e.json()["progress"] for e in events if e.type == "progress"][-1] == last_progress


def test_finished_job_sends_one_terminal_event(client: httpx.Client) -> None:
    """Job "done" has finished already: its stream is one completed event."""
    _, raw = raw_body(client, "GET", "/jobs/done/stream", headers=BEARER)
    assert raw == b'event: completed\r\ndata: {"status":"completed","job_id":"done"}\r\n\r\n'


@pytest.mark.parametrize(
    "headers", [{}, {"authorization": "Basic dTpw"}, {"authorization": "Bearer"}]
)
def test_job_status_needs_a_bearer_token(client: httpx.Client, headers: dict[str, str]) -> None:
    """Without a bearer token the job status stream is a 401."""
    response = client.get("/jobs/j1/stream", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_job_status_past_ten_streams_is_429(client: httpx.Client) -> None:
    """Twelve streams at once: ten stream, two get 429 with Retry-After: 1; closing frees slots."""

    def make() -> httpx.Request:
        return client.build_request("GET", "/jobs/held/stream?hold=5", headers=BEARER)

    responses = open_at_once(client, [make() for _ in range(12)])
    try:
        assert sorted(r.status_code for r in responses) == [200] * 10 + [429] * 2
        for response in responses:
            if response.status_code == 429:
                assert response.headers["retry-after"] == "1"
                assert (
                    response.read()
                    == b'{"error":{"status":429,"message":"at most 10 concurrent streams"}}'
                )
    finally:
        for response in responses:
            response.close()
    assert wait_for_free_slot(client, make) == 200


# Shape 4: multi-agent run.


def test_run_stream_order(client: httpx.Client) -> None:
    """A run streams job.started, overlapping agent start/complete pairs, score, complete (LF)."""
    body = {"responseMode": "stream", "agents": ["a", "b", "c"]}
    response, raw = raw_body(client, "POST", "/runs", json=body)
    assert response.status_code == 200
    assert only_lf(raw)
    events = parse(raw).events
    assert [(e.type, e.json().get("agentId")) for e in events] == [
        ("job.started", None),
        ("agent.started", "a"),
        ("agent.started", "b"),
        ("agent.completed", "a"),
        ("agent.started", "c"),
        ("agent.completed", "b"),
        ("agent.completed", "c"),
        ("score.computed", None),
        ("complete", None),
    ]
    run_id = events[0].json()["runId"]
    assert events[-1].json() == {"runId": run_id, "status": "complete"}


def test_run_fail_ends_with_error(client: httpx.Client) -> None:
    """With fail: true the run ends with an error event and no score."""
    body = {"responseMode": "stream", "agents": ["a", "b"], "fail": True}
    _, raw = raw_body(client, "POST", "/runs", json=body)
    types = parse(raw).types
    assert types[-1] == "error"
    assert "score.computed" not in types
    assert "complete" not in types


def test_run_without_stream_mode_answers_json(client: httpx.Client) -> None:
    """Without responseMode: stream the run is an ordinary JSON response."""
    response = client.post("/runs", json={"agents": ["a", "b"]})
    assert response.headers["content-type"] == "application/json"
    assert response.json()["status"] == "complete"


def test_run_past_five_streams_is_429(client: httpx.Client) -> None:
    """Seven runs at once: five stream, two get 429."""

    def make() -> httpx.Request:
        body = {"responseMode": "stream", "agents": ["a"], "hold": 5}
        return client.build_request("POST", "/runs", json=body)

    responses = open_at_once(client, [make() for _ in range(7)])
    try:
        assert sorted(r.status_code for r in responses) == [200] * 5 + [429] * 2
    finally:
        for response in responses:
            response.close()
    assert wait_for_free_slot(client, make) == 200


# Faults and odd streams.


def test_break_raises_remote_protocol_error(client: httpx.Client) -> None:
    """/break sends three events and half a fourth, then the client gets RemoteProtocolError."""
    received: list[bytes] = []
    with (
        client.stream("GET", "/break") as response,
        pytest.raises(httpx.RemoteProtocolError) as info,
    ):
        received.extend(response.iter_raw())
    assert str(info.value) == (
        "peer closed connection without sending complete message body (incomplete chunked read)"
    )
    body = b"".join(received)
    assert body.endswith(b'\n\ndata: {"type":"tick",')
    assert [e.json()["n"] for e in parse(body).events] == [1, 2, 3]


def test_silent_stream_hits_the_read_timeout(live_server: str) -> None:
    """/silent sends one event then nothing, so a 0.2 s read timeout fires."""
    timeout = httpx.Timeout(5.0, read=0.2)
    with (
        httpx.Client(base_url=live_server, timeout=timeout) as client,
        client.stream("GET", "/silent") as response,
    ):
        chunks = response.iter_raw()
        assert next(chunks) == b'data: {"type":"tick","n":1}\n\n'
        with pytest.raises(httpx.ReadTimeout):
            next(chunks)


def test_endless_stream_counts_on_with_ids(client: httpx.Client) -> None:
    """/endless sends numbered events with ids, resuming after Last-Event-ID."""
    with client.stream("GET", "/endless", headers={"last-event-id": "41"}) as response:
        received = b""
        for chunk in response.iter_raw():
            received += chunk
            if len(parse(received).events) >= 5:
                break
    events = parse(received).events[:5]
    assert [e.id for e in events] == ["42", "43", "44", "45", "46"]
    assert events[0].json() == {"type": "tick", "n": 42}


def test_gzip_stream_is_compressed_per_event(client: httpx.Client) -> None:
    """/gzip is one gzip stream sync-flushed after each event, which httpx decodes."""
    response, raw = raw_body(client, "GET", "/gzip")
    assert response.headers["content-encoding"] == "gzip"
    assert raw.startswith(b"\x1f\x8b")
    assert raw.count(b"\x00\x00\xff\xff") >= 3  # the empty block each Z_SYNC_FLUSH ends with
    decoded = zlib.decompress(raw, wbits=16 + zlib.MAX_WBITS)
    assert client.get("/gzip").content == decoded
    assert [e.json()["n"] for e in parse(decoded).events] == [1, 2, 3]


def test_bom_stream(client: httpx.Client) -> None:
    """/bom starts with a UTF-8 BOM and carries multi-byte characters, with CRLF line ends."""
    _, raw = raw_body(client, "GET", "/bom")
    assert raw.startswith(b'\xef\xbb\xbfdata: {"type":"text"')
    assert only_crlf(raw)
    assert [e.json() for e in parse(raw).events] == [
        {"type": "text", "text": "héllo wörld"},
        {"type": "text", "text": "日本語 🙂"},
        {"type": "done"},
    ]


def test_slow_first_delays_the_first_event(client: httpx.Client) -> None:
    """/slow-first sends its headers at once and its first event only after `wait`."""
    started = time.monotonic()
    with client.stream("GET", "/slow-first", params={"wait": 0.3}) as response:
        headers_at = time.monotonic() - started
        chunks = response.iter_raw()
        first = next(chunks)
        first_at = time.monotonic() - started
        rest = b"".join(chunks)
    assert first == b'data: {"type":"tick","n":1}\n\n'
    assert first_at >= 0.3
    assert first_at - headers_at > 0.15
    assert len(parse(first + rest).events) == 3


@pytest.mark.parametrize("code", [200, 404, 429, 500, 503])
def test_status_endpoint(client: httpx.Client, code: int) -> None:
    """/status/{code} answers that status with a JSON body, and Retry-After: 2 for 429."""
    response = client.get(f"/status/{code}")
    assert response.status_code == code
    assert response.json()["status"] == code
    assert response.headers.get("retry-after") == ("2" if code == 429 else None)


def test_status_without_body(client: httpx.Client) -> None:
    """/status/204 has no body, and a status outside 200..599 is a 400."""
    response = client.get("/status/204")
    assert (response.status_code, response.content) == (204, b"")
    assert client.get("/status/99").status_code == 400


def test_json_endpoint(client: httpx.Client) -> None:
    """/json is an ordinary JSON response."""
    response = client.get("/json")
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"ok": True, "items": [1, 2, 3]}


# The server itself.


def test_run_server_binds_localhost_and_stops() -> None:
    """run_server yields http://127.0.0.1:PORT with a real port, and nothing listens after."""
    with run_server(delay=0.005) as url, httpx.Client(timeout=TIMEOUT) as client:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        assert int(url.rsplit(":", 1)[1]) > 0
        assert client.get(f"{url}/json").status_code == 200
    with httpx.Client(timeout=TIMEOUT) as client, pytest.raises(httpx.ConnectError):
        client.get(f"{url}/json")


def test_stop_is_quick_with_open_streams() -> None:
    """Stopping cuts an endless stream and a 30 s silence short at once; both end cleanly."""
    with httpx.Client(timeout=TIMEOUT) as client:
        with run_server(delay=0.005) as url:
            endless = client.send(client.build_request("GET", f"{url}/endless"), stream=True)
            silent = client.send(client.build_request("GET", f"{url}/silent"), stream=True)
            endless_chunks, silent_chunks = endless.iter_raw(), silent.iter_raw()
            assert next(endless_chunks).startswith(b"id: 1\n")
            assert next(silent_chunks) == b'data: {"type":"tick","n":1}\n\n'
            stopping = time.monotonic()
        assert time.monotonic() - stopping < 2.0
        # Both streams end cleanly: the server finished them rather than cutting them off.
        b"".join(endless_chunks)
        assert b"".join(silent_chunks) == b""
        endless.close()
        silent.close()


def test_port_in_use_is_an_error() -> None:
    """Asking for a port that is taken raises OSError at once."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match="in use"), run_server(port=port):
            pass  # pragma: no cover


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without uvicorn the server says which extra to install."""
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    with pytest.raises(ImportError, match=r"pip install 'pytest-sse-replay\[server\]'"):
        create_app()
    with pytest.raises(ImportError, match="uvicorn"), run_server():
        pass  # pragma: no cover


def test_negative_delay_is_rejected() -> None:
    """create_app refuses a negative delay."""
    with pytest.raises(ValueError, match="delay"):
        create_app(delay=-1)
