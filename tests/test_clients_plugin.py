"""The marker routes requests and aiohttp too: one cassette, many clients, through pytest."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pytest_sse_replay import Cassette
from pytest_sse_replay._server import run_server

from .test_plugin import cassette_file, only_this_plugin, write
from .test_serve import AGENT_RUN

pytest_plugins = ["pytester"]

__all__ = ["only_this_plugin"]  # the autouse fixture of test_plugin.py, for these runs too

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
