"""The marker routes requests and aiohttp too: one cassette, many clients, through pytest."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pytest_sse_replay import Cassette
from pytest_sse_replay.demo._server import run_server
from tests.integration.helpers import cassette_file, write
from tests.integration.test_serve import AGENT_RUN

pytest_plugins = ["pytester"]

pytestmark = pytest.mark.usefixtures("only_this_plugin")

MIXED = """
import asyncio, aiohttp, pytest, requests

KEY = "sk-live-0123456789abcdef"

async def stream(url):
    async with aiohttp.ClientSession() as session:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response:
            return [chunk async for chunk in response.content.iter_any()]

@pytest.mark.sse_cassette
def test_flow(sse_cassette):
    # The job is created with requests (module-level, its own session) ...
    created = requests.post("{url}/v2/jobs", json={{"prompt": "hi"}},
                            headers={{"x-api-key": KEY}}, timeout=10)
    job = created.json()["job_id"]
    # ... and its events are streamed with aiohttp.
    chunks = asyncio.run(stream(f"{url}/v2/jobs/stream?job_id={{job}}&api_key={{KEY}}"))
    assert len(chunks) > 1
    log = sse_cassette.events
    log.assert_order("intermediate", "proposed_change", "final", "usage")
    assert len(sse_cassette.played) == {played}
"""


def test_a_requests_post_and_an_aiohttp_stream_record_into_one_cassette_and_replay(
    pytester: pytest.Pytester,
) -> None:
    """A flow split across requests and aiohttp records one redacted cassette and replays
    offline, with sse_cassette.events filled from the aiohttp stream."""
    with run_server(delay=0.002) as url:
        write(pytester, MIXED.format(url=url, played=0))
        pytester.runpytest("--sse-record").assert_outcomes(passed=1)
    path = cassette_file(pytester, "test_user/test_flow.yaml")
    cassette = Cassette.load(path)
    assert [i.request.method for i in cassette.interactions] == ["POST", "GET"]
    stream = cassette.interactions[1]
    assert stream.response.is_event_stream
    assert len(stream.response.chunks) > 1
    text = path.read_text()
    assert "sk-live-0123456789abcdef" not in text  # header, query and echoed body: redacted
    # The server is gone: only the cassette can answer now.
    write(pytester, MIXED.format(url=url, played=2))
    pytester.runpytest().assert_outcomes(passed=1)


def test_faults_and_misses_reach_requests_and_aiohttp_through_the_marker(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """Recorded and replayed requests streams fill sse_cassette.events, the marker's faults
    break them with requests' own exception, and a request with no recording fails the
    test, for aiohttp as for requests."""
    write(
        pytester,
        f"""
        import asyncio, aiohttp, pytest, requests
        from pytest_sse_replay import faults

        RUN = {{"responseMode": "stream", "agents": ["a", "b"]}}

        @pytest.mark.sse_cassette
        def test_rec(sse_cassette):
            with requests.post("{live_server}/runs", json=RUN, stream=True, timeout=5) as r:
                assert b"".join(r.iter_content(None))
            sse_cassette.events.assert_order("job.started", "agent.*", "complete")

        @pytest.mark.sse_cassette("test_user/test_rec", faults=[faults.drop(after_events=1)])
        def test_drop(sse_cassette):
            with requests.post("{live_server}/runs", json=RUN, stream=True, timeout=5) as r:
                with pytest.raises(requests.exceptions.ChunkedEncodingError):
                    list(r.iter_content(None))
            assert sse_cassette.events.names == ["job.started"]

        @pytest.mark.sse_cassette("test_user/test_rec")
        def test_miss():
            async def main():
                async with aiohttp.ClientSession() as s:
                    async with s.get("{live_server}/json") as r:
                        return await r.read()
            asyncio.run(main())
        """,
    )
    pytester.runpytest("--sse-record", "-k", "test_rec").assert_outcomes(passed=1, deselected=2)
    result = pytester.runpytest("-k", "test_drop or test_miss")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_miss*", "*GET http://127.0.0.1:*/json*"])


def test_importing_the_plugin_imports_neither_aiohttp_nor_requests() -> None:
    """Start-up stays cheap: the plugin module pulls in no client library."""
    code = (
        "import sys, pytest_sse_replay, pytest_sse_replay.plugin; "
        "print(sorted(m for m in ('aiohttp', 'requests') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"


def test_clients_are_left_unpatched_after_the_test(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """Routing is undone when the test ends: aiohttp's and requests' own methods are back."""
    write(
        pytester,
        """
        import aiohttp, pytest, requests.adapters

        ORIGINAL = (aiohttp.ClientSession._request, requests.adapters.HTTPAdapter.send)

        @pytest.mark.sse_cassette
        def test_inside():
            assert aiohttp.ClientSession._request is not ORIGINAL[0]
            assert requests.adapters.HTTPAdapter.send is not ORIGINAL[1]

        def test_after():
            assert (aiohttp.ClientSession._request, requests.adapters.HTTPAdapter.send) == ORIGINAL
        """,
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_requests_to_the_sse_server_fixture_reach_it(pytester: pytest.Pytester) -> None:
    """An aiohttp or requests client talking to the test's own sse_server is not answered
    in-process: the request goes to that server, which replays the cassette."""
    (pytester.path / "cassettes").mkdir()
    (pytester.path / "cassettes" / "agent_run.yaml").write_bytes(AGENT_RUN.read_bytes())
    write(
        pytester,
        """
        import asyncio, aiohttp, pytest, requests

        BODY = {"agents": ["planner", "researcher", "writer"], "responseMode": "stream"}

        @pytest.mark.sse_cassette("agent_run")
        def test_both(sse_server, sse_cassette):
            async def main():
                async with aiohttp.ClientSession() as s:
                    async with s.post(sse_server + "/runs", json=BODY) as r:
                        return await r.read()
            via_aiohttp = asyncio.run(main())
            via_requests = requests.post(sse_server + "/runs", json=BODY, timeout=5).content
            assert via_aiohttp == via_requests
            assert b"complete" in via_requests
            assert sse_cassette.played == []  # the server answered, not the in-process cassette
        """,
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)


# A test passes or fails the same way whether it records or replays: the faults of the
# marker and of sse_faults reach requests and aiohttp while recording, as they do httpx.
FAULTED = """
import asyncio, json, pathlib, aiohttp, pytest, requests
from pytest_sse_replay import faults

RUN = "{url}/runs"
BODY = {{"responseMode": "stream", "agents": ["a", "b"]}}
KEY = "sk-live-0123456789abcdef"
LOG = pathlib.Path(__file__).parent / "events.jsonl"
TIMEOUT = aiohttp.ClientTimeout(total=10)


def note(name, sse_cassette):
    # What the client was handed, a line per test and run: the outer test compares runs.
    events = [[e.type, e.data, e.id] for e in sse_cassette.events]
    with LOG.open("a") as f:
        f.write(json.dumps([name, events]) + "\\n")


def job_stream_url(key):
    created = requests.post("{url}/v2/jobs", json={{"prompt": "hi"}},
                            headers={{"x-api-key": key}}, timeout=10)
    return f"{url}/v2/jobs/stream?job_id={{created.json()['job_id']}}&api_key={{key}}"


@pytest.mark.sse_cassette("requests_drop", faults=[faults.drop(after_events=2)])
def test_requests_drop(sse_cassette):
    with requests.post(RUN, json=BODY, stream=True, timeout=10) as r:
        assert r.status_code == 200
        chunks = []
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            for chunk in r.iter_content(None):
                chunks.append(chunk)
    assert b"event: complete" not in b"".join(chunks)
    assert sse_cassette.events.names == ["job.started", "agent.started"]
    note("requests_drop", sse_cassette)


@pytest.mark.sse_cassette("aiohttp_drop", faults=[faults.drop(after_events=2)])
def test_aiohttp_drop(sse_cassette):
    async def main():
        async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
            async with s.post(RUN, json=BODY) as r:
                assert r.status == 200
                with pytest.raises(aiohttp.ClientPayloadError):
                    async for _ in r.content.iter_any():
                        pass

    asyncio.run(main())
    assert sse_cassette.events.names == ["job.started", "agent.started"]
    note("aiohttp_drop", sse_cassette)


@pytest.mark.sse_cassette("requests_stall", faults=[faults.stall(after_events=1)])
def test_requests_stall(sse_cassette):
    with requests.post(RUN, json=BODY, stream=True, timeout=(5, 2)) as r:
        with pytest.raises(requests.exceptions.ConnectionError, match="Read timed out"):
            for _ in r.iter_content(None):
                pass
    assert sse_cassette.events.names == ["job.started"]
    note("requests_stall", sse_cassette)


@pytest.mark.sse_cassette("aiohttp_stall", faults=[faults.stall(after_events=1)])
def test_aiohttp_stall(sse_cassette):
    async def main():
        timeout = aiohttp.ClientTimeout(total=10, sock_read=2)
        async with aiohttp.ClientSession(timeout=timeout) as s:
            async with s.post(RUN, json=BODY) as r:
                with pytest.raises(aiohttp.ServerTimeoutError):
                    async for _ in r.content.iter_any():
                        pass

    asyncio.run(main())
    assert sse_cassette.events.names == ["job.started"]
    note("aiohttp_stall", sse_cassette)


@pytest.mark.parametrize("sse_faults", [[faults.error(503, times=1)]])
@pytest.mark.sse_cassette("requests_retry")
def test_requests_retry(sse_cassette, sse_faults):
    url = job_stream_url(KEY)
    first = requests.get(url, timeout=10)
    second = requests.get(url, timeout=10)
    assert first.status_code == 503
    assert second.status_code == 200 and b"event: usage" in second.content
    sse_cassette.events.assert_order("intermediate", "proposed_change", "final", "usage")
    note("requests_retry", sse_cassette)


@pytest.mark.parametrize("sse_faults", [[faults.error(503, times=1)]])
@pytest.mark.sse_cassette("aiohttp_retry")
def test_aiohttp_retry(sse_cassette, sse_faults):
    url = job_stream_url(KEY)

    async def main():
        async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
            with pytest.raises(aiohttp.ClientResponseError) as info:
                async with s.get(url, raise_for_status=True):
                    pass
            assert info.value.status == 503
            async with s.get(url) as second:
                return second.status, await second.read()

    status, body = asyncio.run(main())
    assert status == 200 and b"event: usage" in body
    sse_cassette.events.assert_order("intermediate", "proposed_change", "final", "usage")
    note("aiohttp_retry", sse_cassette)
"""


def _noted(pytester: pytest.Pytester) -> dict[str, list[list[str]]]:
    """The events each test of FAULTED noted, by test; the log is emptied for the next run."""
    log = pytester.path / "events.jsonl"
    noted: dict[str, list[list[str]]] = dict(map(json.loads, log.read_text().splitlines()))
    log.unlink()
    return noted


def test_faults_apply_while_recording_through_requests_and_aiohttp(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """A drop, a stall and an error status reach requests and aiohttp in the run that
    records exactly as in the replay run (the same exceptions, statuses and scrubbed
    events), while the cassette keeps the clean live stream."""
    write(pytester, FAULTED.format(url=live_server))
    pytester.runpytest("--sse-record", "-p", "no:randomly").assert_outcomes(passed=6)
    recorded = _noted(pytester)
    for name in ("requests_drop", "aiohttp_drop", "requests_stall", "aiohttp_stall"):
        clean = Cassette.load(cassette_file(pytester, f"{name}.yaml")).interactions
        assert len(clean) == 1
        assert clean[0].response.end.kind == "complete"
        assert b"event: complete" in clean[0].response.body
    for name in ("requests_retry", "aiohttp_retry"):
        path = cassette_file(pytester, f"{name}.yaml")
        retry = Cassette.load(path).interactions
        assert [i.response.status for i in retry] == [200, 200, 200]  # the job, two streams
        assert b"event: usage" in retry[2].response.body
        assert "sk-live-0123456789abcdef" not in path.read_text()
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=6)
    replayed = _noted(pytester)
    assert sorted(recorded) == [
        f"{library}_{fault}"
        for library in ("aiohttp", "requests")
        for fault in ("drop", "retry", "stall")
    ]
    assert recorded == replayed
    usage = [data for kind, data, _ in recorded["aiohttp_retry"] if kind == "usage"]
    assert len(usage) == 1
    assert "sk-live-0123456789abcdef" not in usage[0]


LATE_IMPORT = """
import asyncio, sys, pytest

@pytest.mark.sse_cassette
def test_late(sse_cassette):
    # Neither library is imported before the test runs: routing waits for the import.
    assert "requests" not in sys.modules and "aiohttp" not in sys.modules
    import requests
    assert requests.get("{url}/json?n=1", timeout=10).json()["ok"]
    import aiohttp

    async def get():
        async with aiohttp.ClientSession() as session:
            async with session.get("{url}/json?n=2") as response:
                return await response.json()

    assert asyncio.run(asyncio.wait_for(get(), 10))["ok"]
    assert len(sse_cassette.recorded) + len(sse_cassette.played) == 2
"""


def test_a_library_imported_during_the_test_is_routed_too(pytester: pytest.Pytester) -> None:
    """requests and aiohttp imported only inside a marked test still go through its cassette:
    recorded with --sse-record, then replayed with the server gone (in fresh processes, where
    nothing imported either library before the test)."""
    with run_server(delay=0.002) as url:
        write(pytester, LATE_IMPORT.format(url=url))
        pytester.runpytest_subprocess("--sse-record").assert_outcomes(passed=1)
    cassette = Cassette.load(cassette_file(pytester, "test_user/test_late.yaml"))
    assert [i.request.url.rsplit("/", 1)[1] for i in cassette.interactions] == [
        "json?n=1",
        "json?n=2",
    ]
    pytester.runpytest_subprocess().assert_outcomes(passed=1)
