"""`sse-replay serve`: a cassette replayed over real HTTP, pinned with `requests` and raw sockets."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from pytest_sse_replay import Cassette, faults
from pytest_sse_replay.assertions._eventlog import EventLog
from pytest_sse_replay.cli._main import main
from pytest_sse_replay.clients._serve import FaultSpecError, ReplayServer, parse_fault

ROOT = Path(__file__).parents[2]
AGENT_RUN = ROOT / "cassettes" / "agent_run.yaml"
JOBS = ROOT / "cassettes" / "jobs.yaml"
JOB_STATUS = ROOT / "cassettes" / "job_status.yaml"
TIMEOUT = 5
STREAM = "/v2/jobs/stream?job_id=job_7a5a459ad558&api_key=any-key"
RUN_BODY = {"agents": ["planner", "researcher", "writer"], "responseMode": "stream"}


@pytest.fixture
def jobs_server() -> Iterator[str]:
    with ReplayServer(JOBS, speed=0) as url:
        yield url


def _raw_get(url: str, target: str, headers: str = "") -> tuple[bytes, list[bytes]]:
    """GET over a plain socket: the response head and the body's chunks as framed on the wire."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as sock:
        sock.sendall(
            f"GET {target} HTTP/1.1\r\nHost: {host}\r\n{headers}Connection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    chunks = []
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        chunks.append(body[:size])
        body = body[size + 2 :]
    return head, chunks


def _drain(response: requests.Response, into: list[bytes]) -> None:
    """Read the body into `into`, chunk by chunk, until it ends or breaks."""
    into.extend(response.iter_content(chunk_size=None))


def _events(response: requests.Response) -> EventLog:
    return EventLog.from_bytes(b"".join(response.iter_content(chunk_size=None)))


def test_chunks_go_out_as_recorded(jobs_server: str) -> None:
    """Each recorded chunk is one HTTP chunk on the wire, byte for byte."""
    head, chunks = _raw_get(jobs_server, STREAM)
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"Transfer-Encoding: chunked" in head
    recorded = Cassette.load(JOBS).interactions[1].response.chunks
    assert chunks == [chunk.data for chunk in recorded]


def test_requests_client(jobs_server: str) -> None:
    """A `requests` client (stream=True) gets every event, and the JSON answer before it."""
    created = requests.post(f"{jobs_server}/v2/jobs", json={"prompt": "x"}, timeout=TIMEOUT)
    assert created.json() == {"job_id": "job_7a5a459ad558"}
    with requests.get(f"{jobs_server}{STREAM}", stream=True, timeout=TIMEOUT) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        log = _events(response)
    assert log.names == ["intermediate", "intermediate", "proposed_change", "final", "usage"]
    log.assert_increasing("sequence")


def test_recorded_pace() -> None:
    """At speed 1 the stream takes as long as it did when recorded (and no longer)."""
    recorded = Cassette.load(JOB_STATUS).interactions[0].response.chunks[-1].t
    with ReplayServer(JOB_STATUS, speed=1) as url:
        start = time.perf_counter()
        with requests.get(f"{url}/jobs/job_42/stream", stream=True, timeout=TIMEOUT) as response:
            log = _events(response)
        elapsed = time.perf_counter() - start
    assert log.names[-1] == "completed"
    assert recorded * 0.9 <= elapsed < recorded + 1.0


def test_drop_then_resume_with_last_event_id() -> None:
    """After a drop the client gets an error; a reconnect with Last-Event-ID gets the rest once."""
    with ReplayServer(JOBS, speed=0, faults=[faults.drop(after_events=3)]) as url:
        received: list[bytes] = []
        with (
            requests.get(f"{url}{STREAM}", stream=True, timeout=TIMEOUT) as response,
            pytest.raises(requests.exceptions.ChunkedEncodingError),
        ):
            _drain(response, received)
        first = EventLog.from_bytes(b"".join(received))
        assert [event.id for event in first] == ["1", "2", "3"]
        headers = {"Last-Event-ID": first[-1].id}
        with requests.get(f"{url}{STREAM}", headers=headers, stream=True, timeout=5) as response:
            rest = _events(response)
    assert [event.id for event in rest] == ["4", "5"]


def test_error_fault_then_stream() -> None:
    """`error:429` answers the first attempt with 429 and Retry-After, then the stream."""
    fault = parse_fault('error:429,headers={"Retry-After": "2"}')
    with ReplayServer(AGENT_RUN, speed=0, faults=[fault]) as url:
        first = requests.post(f"{url}/runs", json=RUN_BODY, timeout=TIMEOUT)
        assert first.status_code == 429
        assert first.headers["retry-after"] == "2"
        second = requests.post(f"{url}/runs", json=RUN_BODY, timeout=TIMEOUT)
    assert second.status_code == 200
    EventLog.from_bytes(second.content).assert_terminal("complete")


def test_stall_until_client_gives_up() -> None:
    """A stall keeps the connection silent: the client's read timeout fires, and stop() is quick."""
    server = ReplayServer(AGENT_RUN, speed=0, faults=[parse_fault("stall:after_events=2")])
    url = server.start()
    try:
        received: list[bytes] = []
        with (
            requests.post(f"{url}/runs", json=RUN_BODY, stream=True, timeout=0.5) as response,
            pytest.raises(requests.exceptions.ConnectionError),
        ):
            _drain(response, received)
        assert len(EventLog.from_bytes(b"".join(received))) == 2
    finally:
        start = time.perf_counter()
        server.stop()
        assert time.perf_counter() - start < 2


def test_split_and_skip_faults(jobs_server: str) -> None:
    """Faults given as strings reshape the stream as the fault objects do."""
    specs = ["skip:intermediate", "split:size=7"]
    with ReplayServer(JOBS, speed=0, faults=[parse_fault(s) for s in specs]) as url:
        _, chunks = _raw_get(url, STREAM)
    assert {len(chunk) for chunk in chunks[:-1]} == {7}
    assert EventLog.from_bytes(b"".join(chunks)).names == ["proposed_change", "final", "usage"]


def test_no_recording_is_404(jobs_server: str) -> None:
    """A request with no recording gets 404 and the closest recording, as text."""
    response = requests.get(f"{jobs_server}/v3/other", timeout=TIMEOUT)
    assert response.status_code == 404
    assert "no recorded response for GET" in response.text
    assert "closest recorded request" in response.text


def test_cors(jobs_server: str) -> None:
    """Responses allow any origin, and a preflight is answered, so a page on another port works."""
    response = requests.get(f"{jobs_server}{STREAM}", timeout=TIMEOUT)
    assert response.headers["access-control-allow-origin"] == "*"
    preflight = requests.options(
        f"{jobs_server}{STREAM}",
        headers={
            "Origin": "http://127.0.0.1:1234",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "last-event-id",
        },
        timeout=TIMEOUT,
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-headers"] == "last-event-id"


def test_http_1_0_client(jobs_server: str) -> None:
    """An HTTP/1.0 client gets the body unframed, ended by closing the connection."""
    host, port = jobs_server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as sock:
        sock.sendall(f"GET {STREAM} HTTP/1.0\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding" not in head
    assert len(EventLog.from_bytes(body)) == 5


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("split:size=1", faults.split(size=1)),
        ("split:seed=3,size=4", faults.split(size=4, seed=3)),
        ("merge", faults.merge()),
        ("drop:after_events=3", faults.drop(after_events=3)),
        ("drop:after_events=1,after_bytes=5,times=none", faults.drop(1, 5, times=None)),
        ("truncate:-1", faults.truncate(after_events=-1)),
        ("error:503,times=2", faults.error(503, times=2)),
        ("stall:after_events=2,seconds=1.5", faults.stall(after_events=2, seconds=1.5)),
        ("skip:agent.*|score.*", faults.skip("agent.*|score.*")),
        ("connection-limit:2", faults.connection_limit(2)),
    ],
)
def test_parse_fault(spec: str, expected: object) -> None:
    """Each fault's command-line form builds the same fault object."""
    assert parse_fault(spec) == expected


def test_parse_inject() -> None:
    """`inject` takes the event's name, data (JSON allowed, commas included) and position."""
    fault = parse_fault('inject:after_events=1,event=error,data={"status":500,"retry":true}')
    assert isinstance(fault, faults.inject)
    assert fault.after_events == 1
    assert fault.block() == b'event: error\ndata: {"status":500,"retry":true}\n\n'


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("explode", "unknown fault 'explode'"),
        ("split", "needs size="),
        ("drop:after_events=x", "'drop:after_events=x'"),
        ("error:429,503", "'error:429,503'"),
        ("inject:after_events=1", "inject needs event=NAME"),
        ("split:size=1,bogus=2", "unknown option 'bogus' for split; its options are: size, seed"),
        (
            "drop:after_event=3",
            "unknown option 'after_event' for drop; did you mean 'after_events'\\?",
        ),
        ("stall:after_events=1,second=30", "did you mean 'seconds'"),
        ("inject:event=x,dat=1", "unknown option 'dat' for inject; did you mean 'data'"),
    ],
)
def test_parse_fault_errors(spec: str, message: str) -> None:
    """A bad fault string raises FaultSpecError naming what is wrong."""
    with pytest.raises(FaultSpecError, match=message):
        parse_fault(spec)


def test_serve_bad_fault_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """`serve --fault` with a bad spec exits 2 before listening."""
    assert main(["serve", str(JOBS), "--fault", "explode"]) == 2
    assert "--fault unknown fault 'explode'" in capsys.readouterr().err


def test_serve_command_line() -> None:
    """`sse-replay serve` prints its URL, serves, logs requests, and stops on Ctrl-C with 0."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest_sse_replay", "serve", str(JOBS), "--speed", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith(f"serving {JOBS} (2 interactions, speed 0)")
        url = first.rsplit(" at ", 1)[1].strip()
        with requests.get(f"{url}{STREAM}", stream=True, timeout=TIMEOUT) as response:
            assert len(_events(response)) == 5
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
    assert process.returncode == 0, err
    # The access log shows the client's key as the cassette does: redacted.
    assert f"GET {STREAM.replace('any-key', 'REDACTED')} -> 200 (#1)" in out
    assert "any-key" not in out
    assert out.rstrip().endswith("stopped")


def test_serve_busy_port(jobs_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A port already in use is a usage error naming it."""
    port = jobs_server.rsplit(":", 1)[1]
    assert main(["serve", str(JOBS), "--port", port]) == 2
    assert f"--port {port}: cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_sse_server_fixture(pytester: pytest.Pytester) -> None:
    """The `sse_server` fixture serves the test's cassette to a non-httpx client."""
    (pytester.path / "cassettes").mkdir()
    (pytester.path / "cassettes" / "agent_run.yaml").write_bytes(AGENT_RUN.read_bytes())
    pytester.makepyfile(
        """
        import pytest
        import requests
        from pytest_sse_replay import faults
        from pytest_sse_replay.assertions._eventlog import EventLog

        BODY = {"agents": ["planner", "researcher", "writer"], "responseMode": "stream"}

        @pytest.mark.sse_cassette("agent_run")
        def test_run(sse_server):
            response = requests.post(sse_server + "/runs", json=BODY, timeout=5)
            EventLog.from_bytes(response.content).assert_terminal("complete")

        @pytest.mark.sse_cassette("agent_run", faults=[faults.truncate(after_events=-1)])
        def test_truncated(sse_server):
            response = requests.post(sse_server + "/runs", json=BODY, timeout=5)
            assert EventLog.from_bytes(response.content).names[-1] == "score.computed"

        @pytest.mark.sse_cassette("missing")
        def test_missing(sse_server):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*sse_server: no cassette at *missing.yaml*"])


def test_bad_request_body_is_400(jobs_server: str) -> None:
    """A request whose Content-Length is not a number gets 400, and the server keeps serving."""
    host, port = jobs_server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as sock:
        sock.sendall(b"POST /v2/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: many\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 400 ")
    assert requests.post(f"{jobs_server}/v2/jobs", json={}, timeout=TIMEOUT).status_code == 200


@pytest.mark.parametrize("port", ["99999", "-1", "65536"])
def test_serve_port_out_of_range_is_a_usage_error(
    port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --port outside 0-65535 is exit 2 naming it, not an OverflowError traceback from bind()."""
    assert main(["serve", str(JOBS), "--port", port]) == 2
    err = capsys.readouterr().err
    assert f"--port {port}: expected a port from 0 to 65535" in err
    assert "Traceback" not in err


def test_serve_sends_non_ascii_header_values_as_replay_does() -> None:
    """`sse-replay serve` writes a header value beyond latin-1 as UTF-8 bytes instead of
    failing the request in its handler."""
    from pytest_sse_replay.cassette import (
        Chunk,
        Ending,
        Interaction,
        RecordedRequest,
        RecordedResponse,
    )

    response = RecordedResponse(
        200,
        [("content-type", "text/event-stream"), ("x-check", "ok ✓")],
        [Chunk(0.01, b"data: 1\n\n")],
        Ending("complete"),
    )
    cassette = Cassette([Interaction(RecordedRequest("GET", "http://service.test/s"), response)])
    with (
        ReplayServer(cassette) as url,
        socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=5) as sock,
    ):
        sock.sendall(b"GET /s HTTP/1.0\r\nHost: x\r\n\r\n")
        received = b""
        while chunk := sock.recv(4096):
            received += chunk
    assert received.startswith(b"HTTP/1.1 200")
    assert "x-check: ok ✓\r\n".encode() in received
