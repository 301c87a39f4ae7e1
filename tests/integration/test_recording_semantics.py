"""Recording that cannot be silently wrong: a test passes or fails the same way whether it
records or replays, a shared cassette records once per run, and saving fails loudly."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import filelock
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_sse_replay import Cassette, RecordingTransport, ReplayTransport
from pytest_sse_replay.cassette._atomic import STALE_AFTER, remove_stale_temporaries
from pytest_sse_replay.cassette._model import Chunk, Interaction, RecordedRequest, RecordedResponse
from pytest_sse_replay.cassette._redact import Redaction
from pytest_sse_replay.plugin._config import CassetteSettings, RecordMode
from pytest_sse_replay.plugin._run import STALE_AGE, STALE_RUN_AGE, Run, lock_directory
from pytest_sse_replay.plugin._session import ActiveCassette
from pytest_sse_replay.sse._event import Event
from tests.drivers import Driver
from tests.integration.helpers import cassette_file, write

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.usefixtures("only_this_plugin")


# --------------------------------------------------------------------------- 1. faults


FAULTED = """
import anyio, httpx, httpx2, pytest
from pytest_sse_replay import faults

RUN = "{url}/runs"
BODY = {{"responseMode": "stream", "agents": ["a", "b"]}}


@pytest.mark.sse_cassette("compliance", faults=[faults.drop(after_events=2)])
def test_drop_is_reported(sse_cassette):
    with httpx.Client(timeout=10) as client:
        with client.stream("POST", RUN, json=BODY) as r:
            with pytest.raises(httpx.RemoteProtocolError):
                r.read()
    assert len(sse_cassette.events) == 2


@pytest.mark.sse_cassette("compliance_async", faults=[faults.skip("agent.*")])
def test_skipped_events_never_arrive_async_httpx2(sse_cassette):
    async def run():
        async with httpx2.AsyncClient(timeout=10) as client:
            async with client.stream("POST", RUN, json=BODY) as r:
                return await r.aread()

    body = anyio.run(run)
    assert b"agent.started" not in body
    assert "agent.started" not in sse_cassette.events.names
    sse_cassette.events.assert_first("job.started").assert_terminal("complete")


@pytest.mark.parametrize("sse_faults", [[faults.error(503, times=1)]])
@pytest.mark.sse_cassette("compliance_retry")
def test_a_retry_gets_the_stream(sse_cassette, sse_faults):
    with httpx.Client(timeout=10) as client:
        first = client.post(RUN, json=BODY)
        second = client.post(RUN, json=BODY)
    assert first.status_code == 503
    assert second.status_code == 200 and b"complete" in second.content
"""


def test_faults_apply_in_the_run_that_records(pytester: pytest.Pytester, live_server: str) -> None:
    """Marker and sse_faults faults reach the client while recording, exactly as on replay."""
    write(pytester, FAULTED.format(url=live_server))
    pytester.runpytest("--sse-record", "-p", "no:randomly").assert_outcomes(passed=3)
    # The cassette keeps the clean live stream: the faults are not baked into it.
    clean = Cassette.load(cassette_file(pytester, "compliance.yaml")).interactions
    assert len(clean) == 1
    assert clean[0].response.end.kind == "complete"
    assert b"agent.started" in clean[0].response.body
    assert b"event: complete" in clean[0].response.body
    retry = Cassette.load(cassette_file(pytester, "compliance_retry.yaml")).interactions
    assert [i.response.status for i in retry] == [200, 200]
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=3)


def test_a_recorded_break_reaches_the_client_under_faults(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """A live stream that breaks while faults are active is recorded broken and raises the same."""
    write(
        pytester,
        f"""
        import httpx, pytest
        from pytest_sse_replay import faults

        @pytest.mark.sse_cassette(faults=[faults.split(size=3)])
        def test_break(sse_cassette):
            with httpx.Client(timeout=10) as client:
                with client.stream("GET", "{live_server}/break") as r:
                    chunks = []
                    with pytest.raises(httpx.RemoteProtocolError):
                        for chunk in r.iter_raw():
                            chunks.append(chunk)
            assert chunks and all(len(c) <= 3 for c in chunks)
        """,
    )
    # A broken recording is incomplete (see the drift tests): kept here, with a warning.
    pytester.makeini("[pytest]\nsse_incomplete = warn\n")
    pytester.runpytest("--sse-record").assert_outcomes(passed=1)
    recorded = Cassette.load(cassette_file(pytester, "test_user/test_break.yaml"))
    assert recorded.interactions[0].response.end.error == "RemoteProtocolError"
    pytester.runpytest().assert_outcomes(passed=1)


# --------------------------------------------------------------------------- 2. once, shared


SHARED = """
import httpx, pytest

@pytest.mark.sse_cassette("shared")
@pytest.mark.parametrize("n", range(8))
def test_shared(n, sse_cassette):
    with httpx.Client(timeout=10) as client:
        job = client.post("{url}/v2/jobs", json={{"prompt": "audit"}}, headers={{"x-api-key": "k"}})
        assert job.status_code in (200, 201, 202)
        assert client.get("{url}/json", params={{"common": 1}}).json()["ok"]
        assert client.get("{url}/json", params={{"n": n}}).json()["ok"]
"""


def _shared_urls(pytester: pytest.Pytester) -> list[str]:
    cassette = Cassette.load(cassette_file(pytester, "shared.yaml"))
    return sorted(f"{i.request.method} {i.request.url.split('/', 3)[-1]}" for i in cassette)


EXPECTED_SHARED = sorted(
    ["POST v2/jobs", "GET json?common=1"] + [f"GET json?n={n}" for n in range(8)]
)


def test_once_shares_a_cassette_created_in_this_run(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """Eight tests naming one new cassette all pass with once; each distinct request is kept once."""
    write(pytester, SHARED.format(url=live_server))
    pytester.runpytest("--sse-record", "-p", "no:randomly").assert_outcomes(passed=8)
    assert _shared_urls(pytester) == EXPECTED_SHARED
    # The next run is another run: the cassette existed before it, so once only replays.
    before = cassette_file(pytester, "shared.yaml").read_bytes()
    pytester.runpytest("--sse-record", "-p", "no:randomly").assert_outcomes(passed=8)
    assert cassette_file(pytester, "shared.yaml").read_bytes() == before
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=8)


def test_once_shares_a_cassette_across_xdist_workers(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """With -n 2 the workers share the run: all eight pass and no request is recorded twice."""
    write(pytester, SHARED.format(url=live_server))
    result = pytester.runpytest_subprocess("-p", "xdist", "-n", "2", "--sse-record")
    result.assert_outcomes(passed=8)
    assert _shared_urls(pytester) == EXPECTED_SHARED
    pytester.runpytest_subprocess("-p", "xdist", "-n", "2").assert_outcomes(passed=8)
    assert not list((pytester.path / "cassettes").glob(".*.tmp"))


CONCURRENT = """
import subprocess, sys, httpx, pytest

@pytest.mark.sse_cassette("concurrent")
def test_one(sse_cassette):
    assert httpx.get("{url}/json?mine=1", timeout=5).status_code == 200
    # Meanwhile another process (here `sse-replay record`) creates the same cassette.
    subprocess.run(
        [sys.executable, "-m", "pytest_sse_replay", "record", "{url}/json?theirs=1",
         "-o", str(sse_cassette.path)],
        check=True, timeout=60, capture_output=True,
    )
"""


def test_once_keeps_what_another_process_recorded_meanwhile(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """A missing cassette that another process creates while `once` records it is added to,
    not replaced: two runs recording one new cassette at once keep both recordings."""
    write(pytester, CONCURRENT.format(url=live_server))
    pytester.runpytest("--sse-record").assert_outcomes(passed=1)
    cassette = Cassette.load(cassette_file(pytester, "concurrent.yaml"))
    assert sorted(i.request.url.rsplit("?", 1)[1] for i in cassette) == ["mine=1", "theirs=1"]


POLLS = """
import httpx, pytest

@pytest.mark.sse_cassette("polls")
def test_a():
    assert httpx.get("{url}/json?poll=1", timeout=5).status_code == 200

@pytest.mark.sse_cassette("polls")
def test_b(sse_cassette):
    for _ in range(3):
        assert httpx.get("{url}/json?poll=1", timeout=5).status_code == 200
    assert len(sse_cassette.recorded) == {recorded}
"""


@pytest.mark.parametrize(("mode", "recorded", "stored"), [("once", 0, 1), ("all", 3, 3)])
def test_a_request_recorded_in_this_run_is_stored_once_but_repeats_are_kept(
    pytester: pytest.Pytester, live_server: str, mode: str, recorded: int, stored: int
) -> None:
    """once replays what this run recorded; a test's own repeats of a request are all kept."""
    write(pytester, POLLS.format(url=live_server, recorded=recorded))
    pytester.runpytest(f"--sse-record={mode}", "-p", "no:randomly").assert_outcomes(passed=2)
    # all: test_b recorded the poll three times; the first is already in the file (test_a's),
    # so its second and third answers are added.
    assert len(Cassette.load(cassette_file(pytester, "polls.yaml"))) == stored


# --------------------------------------------------------------------------- 3. RecordingTransport(path)


def _send(driver: Driver, transport: Any, url: str) -> None:
    headers = {"x-api-key": "secret-key-value-1"}

    def sync() -> None:
        with driver.client(transport) as client:
            client.get(url, headers=headers)

    async def async_() -> None:
        async with driver.client(transport) as client:
            await client.get(url, headers=headers)

    driver.run(sync, async_)


def test_recording_transport_given_a_path_writes_it_when_the_client_closes(
    driver: Driver, live_server: str, tmp_path: Path
) -> None:
    """RecordingTransport(path) writes the cassette, redacted, when its client is closed."""
    path = tmp_path / "run.yaml"
    transport = RecordingTransport(path)
    _send(driver, transport, live_server + "/json")
    text = path.read_text()
    assert "secret-key-value-1" not in text
    assert "REDACTED" in text
    assert len(Cassette.load(path)) == 1


def test_recording_transport_is_a_context_manager(live_server: str, tmp_path: Path) -> None:
    """Leaving `with` / `async with` a RecordingTransport(path) writes the file."""
    sync_path, async_path = tmp_path / "sync.yaml", tmp_path / "async.yaml"
    with RecordingTransport(sync_path) as transport:
        httpx.Client(transport=transport).get(live_server + "/json")
        assert not sync_path.exists()
    assert len(Cassette.load(sync_path)) == 1

    async def run() -> None:
        async with RecordingTransport(async_path) as transport:
            await httpx.AsyncClient(transport=transport).get(live_server + "/json")

    anyio.run(run)
    assert len(Cassette.load(async_path)) == 1


def test_recording_transport_without_recordings_writes_nothing(tmp_path: Path) -> None:
    """A RecordingTransport(path) closed before any request leaves no file."""
    path = tmp_path / "none.yaml"
    with httpx.Client(transport=RecordingTransport(path)):
        pass
    assert not path.exists()


# --------------------------------------------------------------------------- 4. timing


def _stream_cassette(
    chunks: list[tuple[float, bytes]],
    headers_t: float = 0.0,
    url: str = "http://sse.test/stream",
) -> Cassette:
    response = RecordedResponse(
        200,
        [("content-type", "text/event-stream")],
        [Chunk(t, data) for t, data in chunks],
        headers_t=headers_t,
    )
    request = RecordedRequest("GET", url, [], b"")
    return Cassette([Interaction(request, response)])


TIMED = [(0.1, b"event: start\ndata: 1\n\n"), (0.589, b"event: complete\ndata: 2\n\n")]


@pytest.mark.parametrize("speed", [0, 1, 4])
def test_event_times_are_the_recorded_ones_at_any_speed(
    speed: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each logged event carries its recorded arrival time, whatever the replay speed."""
    monkeypatch.setattr("pytest_sse_replay.clients._faces.time.sleep", lambda seconds: None)
    seen: list[Event] = []
    transport = ReplayTransport(_stream_cassette(TIMED), speed=speed, on_event=seen.append)
    with httpx.Client(transport=transport, timeout=10) as client:
        client.get("http://sse.test/stream")
    assert [(e.name, e.t) for e in seen] == [("start", 0.1), ("complete", 0.589)]


def test_timing_assertions_fail_on_a_slow_recording_at_speed_0(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """assert_within judges the recorded arrival time, so speed 0 cannot make it pass."""
    write(
        pytester,
        f"""
        import httpx, pytest

        @pytest.mark.sse_cassette(speed=0)
        def test_slow(sse_cassette):
            httpx.get("{live_server}/slow-first?wait=0.3", timeout=10)
            assert sse_cassette.events[0].t >= 0.3
            with pytest.raises(AssertionError, match="after the 0.1s limit"):
                sse_cassette.events.assert_within("tick", 0.1)
        """,
    )
    pytester.runpytest("--sse-record").assert_outcomes(passed=1)
    pytester.runpytest().assert_outcomes(passed=1)


def test_an_injected_event_arrives_when_the_event_before_it_did() -> None:
    """faults.inject's event is logged at the recorded time of the event it follows."""
    from pytest_sse_replay import faults

    seen: list[Event] = []
    transport = ReplayTransport(
        _stream_cassette(TIMED),
        faults=[faults.inject(Event("noise", "x"), after_events=1)],
        on_event=seen.append,
    )
    with httpx.Client(transport=transport, timeout=10) as client:
        client.get("http://sse.test/stream")
    assert [(e.name, e.t) for e in seen] == [("start", 0.1), ("noise", 0.1), ("complete", 0.589)]


# --------------------------------------------------------------------------- 6. both errors


def test_a_swallowed_miss_is_reported_before_the_tests_own_failure(
    pytester: pytest.Pytester,
) -> None:
    """A test that swallows a missing recording and then fails shows both, the miss first."""
    write(
        pytester,
        """
        import httpx, pytest

        @pytest.mark.sse_cassette
        def test_run(sse_cassette):
            try:
                httpx.get("http://127.0.0.1:9/stream", timeout=1)
            except Exception:
                pass
            assert sse_cassette.events, "no events"
        """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    miss = out.index("does not exist (record mode 'none')")
    own = out.index("AssertionError: no events")
    assert miss < own
    assert "then the test failed" in out
    assert "sse_cassette.events" in out  # the failing line of the test itself


# --------------------------------------------------------------------------- 7. slow headers


@pytest.mark.parametrize(("speed", "times_out"), [(1, True), (2, True), (4, False)])
def test_headers_later_than_the_read_timeout_time_out_at_once(
    driver: Driver, monkeypatch: pytest.MonkeyPatch, speed: float, times_out: bool
) -> None:
    """A recording whose headers came after the client's read timeout raises its ReadTimeout."""
    slept: list[float] = []

    # anyio.sleep is one function for the whole process: the session's live server runs in
    # another thread and sleeps through it too, so only this thread's sleeps are faked.
    real_sleep = anyio.sleep
    this_thread = threading.get_ident()

    async def no_sleep(seconds: float) -> None:
        if threading.get_ident() != this_thread:
            await real_sleep(seconds)
            return
        slept.append(seconds)

    real_time_sleep = time.sleep

    def no_time_sleep(seconds: float) -> None:
        if threading.get_ident() != this_thread:
            real_time_sleep(seconds)
            return
        slept.append(seconds)

    monkeypatch.setattr("pytest_sse_replay.clients._replay.time.sleep", no_time_sleep)
    monkeypatch.setattr("pytest_sse_replay.clients._replay.anyio.sleep", no_sleep)
    cassette = _stream_cassette([(3.0, b"data: 1\n\n")], headers_t=3.0)
    transport = ReplayTransport(cassette, speed=speed)
    timeout = driver.lib.Timeout(10, read=1)
    outcome = None
    error: BaseException | None = None
    try:
        outcome = driver.stream(transport, "GET", "http://sse.test/stream", timeout=timeout)
    except driver.lib.ReadTimeout as exc:
        error = exc
    if times_out:
        assert isinstance(error, driver.lib.ReadTimeout)
        assert slept == []
    else:
        assert outcome is not None
        assert outcome.status == 200
        assert slept[0] == pytest.approx(0.75, abs=0.05)


@pytest.fixture
def slow_headers_server() -> Iterator[str]:
    """A raw socket server that answers each request's headers after 0.6 s."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.1)  # so the loop notices `stop` soon
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                conn.recv(65536)
                if stop.wait(0.6):
                    return
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                    b"content-length: 9\r\n\r\ndata: 1\n\n"
                )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(5)
    server.close()


def test_slow_headers_fail_as_a_real_slow_server_makes_them(
    driver: Driver, slow_headers_server: str
) -> None:
    """Replay raises the same exception, with the same message, as the live slow server."""
    timeout = driver.lib.Timeout(10, read=0.2)
    url = slow_headers_server + "/stream"
    with pytest.raises(driver.lib.ReadTimeout) as live:
        driver.stream(None, "GET", url, timeout=timeout)
    cassette = _stream_cassette([(0.6, b"data: 1\n\n")], headers_t=0.6, url=url)
    with pytest.raises(driver.lib.ReadTimeout) as replayed:
        driver.stream(ReplayTransport(cassette, speed=1), "GET", url, timeout=timeout)
    assert str(replayed.value) == str(live.value)


# --------------------------------------------------------------------------- 9. saving


def _deny_writes_in(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `folder` read-only; as root (whom permissions do not stop) refuse creating files."""
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    if os.geteuid() != 0:
        return
    real_open = os.open

    def deny(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & os.O_CREAT and Path(os.fsdecode(path)).parent == folder:
            raise PermissionError(13, "Permission denied", os.fsdecode(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)


def test_a_read_only_cassette_folder_fails_the_test_in_one_line(
    pytester: pytest.Pytester, live_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A recording that cannot be written fails its test with one line naming the cassette."""
    write(
        pytester,
        f"""
        import httpx, pytest

        @pytest.mark.sse_cassette("locked")
        def test_x():
            assert httpx.get("{live_server}/json", timeout=5).status_code == 200
        """,
    )
    folder = pytester.path / "cassettes"
    folder.mkdir()
    _deny_writes_in(folder, monkeypatch)
    try:
        result = pytester.runpytest("--sse-record")
    finally:
        folder.chmod(0o755)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        ["*cassette *cassettes/locked.yaml: the recording was not saved (Permission denied)"]
    )
    assert ".tmp" not in out
    assert "Traceback" not in out
    assert not (folder / "locked.yaml").exists()


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_stale_temporary_files_are_removed_by_the_next_save(tmp_path: Path) -> None:
    """A killed save's temporary file goes at the next save; a running save's file stays."""
    path = tmp_path / "run.yaml"
    dead = tmp_path / f".run.yaml.{_dead_pid()}.tmp"
    old = tmp_path / f".run.yaml.{os.getpid()}-3.tmp"
    legacy = tmp_path / ".run.yaml.k2j4_x.tmp"
    running = tmp_path / f".run.yaml.{os.getppid()}.tmp"
    other = tmp_path / ".other.yaml.1.tmp"
    for file in (dead, old, legacy, running, other):
        file.write_bytes(b"partial")
    long_ago = time.time() - STALE_AFTER - 60
    for file in (old, legacy):
        os.utime(file, (long_ago, long_ago))
    Cassette(path=path).save()
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([running.name, other.name, "run.yaml"])


def test_a_save_killed_mid_write_is_cleaned_up_by_the_next_run_that_only_replays(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """A pytest process SIGKILLed between writing the temporary file and renaming it leaves
    no cassette; the next run, replaying another cassette of the folder, removes the file."""
    pytester.makeconftest(
        """
        import os, signal

        real = os.replace

        def replace(source, target, *args, **kwargs):
            if str(source).endswith(".tmp"):
                os.kill(os.getpid(), signal.SIGKILL)
            return real(source, target, *args, **kwargs)

        if os.environ.get("KILL_AT_RENAME"):  # only in the subprocess that is to die
            os.replace = replace
        """
    )
    write(
        pytester,
        f"""
        import httpx, pytest

        @pytest.mark.sse_cassette("killed")
        def test_killed():
            httpx.get("{live_server}/json?n=1", timeout=5)

        @pytest.mark.sse_cassette("kept")
        def test_kept():
            httpx.get("{live_server}/json?n=2", timeout=5)
        """,
    )
    pytester.runpytest("--sse-record", "-k", "kept").assert_outcomes(passed=1)
    env = os.environ.copy()
    env["KILL_AT_RENAME"] = "1"
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "pytest_sse_replay.plugin",
            "--sse-record",
            "-k",
            "killed",
        ],
        cwd=pytester.path,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert process.returncode == -signal.SIGKILL
    folder = pytester.path / "cassettes"
    assert not (folder / "killed.yaml").exists()
    assert [p.name for p in folder.glob(".killed.yaml.*.tmp")]
    pytester.runpytest("-k", "kept").assert_outcomes(passed=1)
    assert sorted(p.name for p in folder.iterdir()) == ["kept.yaml"]


def test_temporary_files_are_named_after_the_cassette_and_the_process(tmp_path: Path) -> None:
    """Only `.<name>.<pid>[-n].tmp` files of that cassette are considered, and fresh ones stay."""
    path = tmp_path / "run.yaml"
    mine = tmp_path / f".run.yaml.{os.getpid()}.tmp"
    mine.write_bytes(b"")
    assert remove_stale_temporaries(path) == []
    assert remove_stale_temporaries(path, now=time.time() + STALE_AFTER + 1) == [mine.name]


def test_the_lock_folder_is_private_to_the_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Save locks live in a 0o700 folder named after the user's id."""
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    directory = lock_directory()
    assert directory == tmp_path / f"pytest-sse-replay-locks-{os.getuid()}"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_a_lock_folder_owned_by_another_user_does_not_break_saving(
    pytester: pytest.Pytester,
    live_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When someone else owns (or we cannot write) the lock folder, recording still saves."""
    temp = tmp_path / "shared-tmp"
    temp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    squatted = temp / f"pytest-sse-replay-locks-{os.getuid()}"
    squatted.mkdir(mode=0o500)
    if os.geteuid() == 0:
        os.chown(squatted, 65534, 65534)
    assert lock_directory() is None
    write(
        pytester,
        f"""
        import httpx, pytest

        @pytest.mark.sse_cassette("saved")
        def test_x():
            assert httpx.get("{live_server}/json", timeout=5).status_code == 200
        """,
    )
    pytester.runpytest("--sse-record").assert_outcomes(passed=1)
    assert len(Cassette.load(cassette_file(pytester, "saved.yaml"))) == 1
    assert list(squatted.iterdir()) == []


# --------------------------------------------------------------------------- the run


def test_a_run_makes_its_folder_only_when_it_saves(tmp_path: Path) -> None:
    """Replaying makes no folder; a save marks the cassette; the run that made it removes it."""
    run = Run()
    cassette = tmp_path / "c.yaml"
    assert not run.wrote(cassette)
    assert run._folder is None
    run.mark_written(cassette)
    assert run.wrote(cassette)
    worker = Run(run.folder)  # how an xdist worker sees the controller's folder
    assert worker.wrote(cassette)
    worker.end()
    assert run.folder.exists()  # a worker never removes the controller's folder
    run.end()
    assert not run.folder.exists()


def _active(path: Path, run: Run, urls: list[int]) -> ActiveCassette:
    settings = CassetteSettings(
        paths=(path,),
        mode=RecordMode.ALL,
        speed=0.0,
        faults=(),
        match_on=(),
        redaction=Redaction(),
    )
    active = ActiveCassette(settings, test="test_x", run=run)
    for n in urls:
        request = RecordedRequest("GET", f"http://sse.test/json?n={n}", [], b"")
        active.new.append(Interaction(request, RecordedResponse(200, [], [Chunk(0.001, b"{}")])))
    return active


@settings(max_examples=40)  # each example writes files with fsync
@given(tests=st.lists(st.lists(st.integers(0, 3), max_size=5), min_size=1, max_size=4))
def test_a_shared_cassette_holds_each_request_as_often_as_one_test_sent_it(
    tests: list[list[int]],
) -> None:
    """After several tests record into one cassette in a run, each request appears as many
    times as the test that sent it most often sent it."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "shared.yaml"
        run = Run()
        try:
            for urls in tests:
                _active(path, run, urls).save()
            stored = [] if not path.exists() else Cassette.load(path).interactions
        finally:
            run.end()
    counts = Counter(int(i.request.url.rsplit("=", 1)[1]) for i in stored)
    expected = Counter[int]()
    for urls in tests:
        expected |= Counter(urls)
    assert counts == expected


def test_stale_lock_files_and_run_folders_are_removed_by_the_next_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One lock file per cassette path ever saved, and the folder of a killed run, would pile
    up in the temporary directory: a save removes lock files untouched for a day and run
    folders untouched for a week, and no other."""
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    locks = lock_directory()
    assert locks is not None
    old, fresh = locks / "old.lock", locks / "fresh.lock"
    killed = tmp_path / "pytest-sse-replay-run-killed"
    alive = tmp_path / "pytest-sse-replay-run-alive"
    for path in (old, fresh):
        path.write_bytes(b"")
    for folder in (killed, alive):
        folder.mkdir()
        (folder / "x.written").write_bytes(b"")
    day_ago = time.time() - STALE_AGE - 60
    os.utime(old, (day_ago, day_ago))
    week_ago = time.time() - STALE_RUN_AGE - 60
    os.utime(killed, (week_ago, week_ago))
    os.utime(alive, (day_ago, day_ago))  # a long run that saved nothing for a day is kept
    held = locks / "held.lock"
    held.write_bytes(b"")
    os.utime(held, (day_ago, day_ago))
    run = Run()
    cassette = tmp_path / "c.yaml"
    with filelock.FileLock(held, timeout=5), run.lock_for(cassette):
        run.mark_written(cassette)
    assert held.exists()  # taken by another save at that moment: not stale
    assert not old.exists()
    assert not killed.exists()
    assert fresh.exists()
    assert alive.exists()
    # The lock just taken says so by its time, whatever filelock does to it.
    (mine,) = (p for p in locks.iterdir() if p not in (fresh, held))
    assert mine.stat().st_mtime > day_ago + STALE_AGE
    run.end()
