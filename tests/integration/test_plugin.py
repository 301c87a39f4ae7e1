"""The pytest plugin, driven the way users drive it: real test files run through pytest."""

from __future__ import annotations

import textwrap

import pytest

from pytest_sse_replay import Cassette
from pytest_sse_replay.demo._server import run_server
from tests.integration.helpers import cassette_file, write

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.usefixtures("only_this_plugin")


RUN_TEST = """
import httpx, pytest

@pytest.mark.sse_cassette
def test_run():
    with httpx.Client(timeout=10) as client:
        with client.stream("POST", "{url}/runs", json={{"responseMode": "stream", "agents": ["a", "b"]}}) as r:
            body = r.read()
    assert b"complete" in body
"""


def test_help_lists_the_options(pytester: pytest.Pytester) -> None:
    """`pytest --help` shows the option group with both flags and the ini settings."""
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "SSE cassettes (pytest-sse-replay):",
            "*--sse-record*MODE*",
            "*--sse-speed*FACTOR*",
            "*sse_cassette_dir*",
            "*sse_record_mode*",
            "*sse_speed*",
            "*sse_redact_headers*",
            "*sse_redact_query*",
        ]
    )


def test_markers_lists_the_marker_signature(pytester: pytest.Pytester) -> None:
    """`pytest --markers` shows the marker with its signature, and --strict-markers accepts it."""
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(
        ["@pytest.mark.sse_cassette(name=None, *, speed=None, faults=(), match_on=None*"]
    )
    write(pytester, "import pytest\n@pytest.mark.sse_cassette\ndef test_x(): pass\n")
    pytester.runpytest("--strict-markers").assert_outcomes(passed=1)


def test_record_once_then_replay_with_the_server_stopped(pytester: pytest.Pytester) -> None:
    """A bare --sse-record records the missing cassette; the next run replays it offline."""
    with run_server(delay=0.002) as url:
        write(pytester, RUN_TEST.format(url=url))
        pytester.runpytest("--sse-record").assert_outcomes(passed=1)
    path = cassette_file(pytester, "test_user/test_run.yaml")
    assert path.exists()
    cassette = Cassette.load(path)
    assert len(cassette) == 1
    assert cassette.interactions[0].response.is_event_stream
    # The server is gone: only the cassette can answer now.
    pytester.runpytest().assert_outcomes(passed=1)


def test_replay_fills_the_event_log_and_asserts_order(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """sse_cassette.events holds the delivered events in order, checkable with EventLog."""
    source = RUN_TEST.format(url=live_server).replace(
        "def test_run():", "def test_run(sse_cassette):"
    ) + textwrap.indent(
        textwrap.dedent("""
        log = sse_cassette.events
        log.assert_first("job.started").assert_terminal("complete")
        log.assert_pairs("agent.started", "agent.completed", "agentId")
        log.assert_order("job.started", "agent.*", "score.computed", "complete")
        assert len(sse_cassette.played) == {played}
        """),
        "    ",
    )
    write(pytester, source.replace("{played}", "0"))
    pytester.runpytest("--sse-record").assert_outcomes(passed=1)
    write(pytester, source.replace("{played}", "1"))
    pytester.runpytest().assert_outcomes(passed=1)


def test_missing_cassette_fails_with_a_hint(pytester: pytest.Pytester) -> None:
    """In replay mode a missing cassette fails the test, naming the file and the flag to use."""
    write(pytester, RUN_TEST.format(url="http://127.0.0.1:9"))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*cassette *cassettes/test_user/test_run.yaml does not exist (record mode 'none')*",
            "*record it with: pytest --sse-record test_user.py::test_run*",
        ]
    )


def test_unmatched_request_fails_even_when_the_code_swallows_it(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """A request with no recording fails the test even if the code under test catches it."""
    write(pytester, RUN_TEST.format(url=live_server))
    pytester.runpytest("--sse-record").assert_outcomes(passed=1)
    write(
        pytester,
        f"""
        import httpx, pytest

        @pytest.mark.sse_cassette("test_user/test_run")
        def test_other():
            try:
                httpx.get("{live_server}/runs?x=1", timeout=5)
            except Exception:
                pass  # a careless client
        """,
        name="test_other",
    )
    result = pytester.runpytest("test_other.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*cassette *test_run.yaml (record mode 'none'): no recorded response for "
            f"GET {live_server}/runs?x=1",
            f"*closest recorded request (#0): POST {live_server}/runs",
            "*method: recorded POST, got GET",
            "*query x: not recorded, got '1'",
            "*record what is missing with: pytest --sse-record=new test_other.py::test_other",
        ]
    )


def test_new_mode_replays_what_matches_and_appends_the_rest(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """`new` answers recorded requests from the cassette and records only the new ones."""
    write(pytester, RUN_TEST.format(url=live_server))
    pytester.runpytest("--sse-record").assert_outcomes(passed=1)
    path = cassette_file(pytester, "test_user/test_run.yaml")
    # Mark the recording, so a replay can be told from a fresh recording.
    path.write_text(path.read_text().replace('"agentId":"b"', '"agentId":"B"'))
    write(
        pytester,
        f"""
        import httpx, pytest

        @pytest.mark.sse_cassette
        def test_run():
            with httpx.Client(timeout=10) as client:
                first = client.post("{live_server}/runs", json={{"responseMode": "stream", "agents": ["a", "b"]}})
                second = client.get("{live_server}/json")
            assert b'"agentId":"B"' in first.content
            assert second.status_code == 200
        """,
    )
    pytester.runpytest("--sse-record=new").assert_outcomes(passed=1)
    cassette = Cassette.load(path)
    assert [i.request.method for i in cassette] == ["POST", "GET"]
    assert b'"agentId":"B"' in cassette.interactions[0].response.body


def test_all_mode_records_afresh(pytester: pytest.Pytester, live_server: str) -> None:
    """`all` replaces an existing recording with a new one from the server."""
    write(pytester, RUN_TEST.format(url=live_server))
    pytester.runpytest("--sse-record").assert_outcomes(passed=1)
    path = cassette_file(pytester, "test_user/test_run.yaml")
    path.write_text(path.read_text().replace('"agentId":"b"', '"agentId":"B"'))
    pytester.runpytest("--sse-record=all").assert_outcomes(passed=1)
    cassette = Cassette.load(path)
    assert len(cassette) == 1
    assert b'"agentId":"B"' not in cassette.interactions[0].response.body


def test_once_on_an_existing_cassette_only_replays(pytester: pytest.Pytester) -> None:
    """`once` leaves an existing cassette alone and replays it (no server needed)."""
    with run_server(delay=0.001) as url:
        write(pytester, RUN_TEST.format(url=url))
        pytester.runpytest("--sse-record=once").assert_outcomes(passed=1)
    path = cassette_file(pytester, "test_user/test_run.yaml")
    before = path.read_bytes()
    pytester.runpytest("--sse-record=once").assert_outcomes(passed=1)
    assert path.read_bytes() == before


def test_unknown_record_mode_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """An unknown mode on the command line or in the ini file lists the valid ones."""
    result = pytester.runpytest("--sse-record=sometimes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--sse-record: invalid choice: 'sometimes' (choose from *none*once*new*all*)"]
    )
    pytester.makeini("[pytest]\nsse_record_mode = sometimes\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*ini sse_record_mode: unknown record mode 'sometimes'; choose one of: none, once, new, all, verify"
        ]
    )


def test_bad_marker_keyword_names_it(pytester: pytest.Pytester) -> None:
    """A misspelt marker keyword is a clean error naming the keyword."""
    write(pytester, "import pytest\n@pytest.mark.sse_cassette(sped=2)\ndef test_x(): pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*@pytest.mark.sse_cassette: *unexpected keyword argument 'sped'*"]
    )


def test_speed_precedence_command_line_then_marker_then_ini(pytester: pytest.Pytester) -> None:
    """--sse-speed beats the marker, which beats ini sse_speed, which beats the default 0."""
    pytester.makeini("[pytest]\nsse_speed = 3\n")
    write(
        pytester,
        """
        import pytest

        def test_default(sse_cassette, request):
            assert sse_cassette.settings.speed == float(request.config.getoption("sse_speed_option") or 3)

        @pytest.mark.sse_cassette(speed=2)
        def test_marker(sse_cassette, request):
            assert sse_cassette.settings.speed == float(request.config.getoption("sse_speed_option") or 2)
        """,
    )
    pytester.runpytest().assert_outcomes(passed=2)
    pytester.runpytest("--sse-speed=5").assert_outcomes(passed=2)
    result = pytester.runpytest("--sse-speed=-1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_default_names_are_distinct_per_parametrised_case(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """Each parametrised case records its own cassette, named after the test and its id."""
    write(
        pytester,
        f"""
        import httpx, pytest

        class TestJobs:
            @pytest.mark.sse_cassette
            @pytest.mark.parametrize("job", ["done", "fail"])
            def test_status(self, job):
                r = httpx.get(f"{live_server}/jobs/{{job}}/stream", headers={{"Authorization": "Bearer t0ps3cr3t"}}, timeout=5)
                assert r.status_code == 200
        """,
    )
    pytester.runpytest("--sse-record").assert_outcomes(passed=2)
    names = sorted(p.name for p in (pytester.path / "cassettes" / "test_user").iterdir())
    assert names == ["TestJobs.test_status[done].yaml", "TestJobs.test_status[fail].yaml"]


def test_closest_marker_wins_and_a_test_can_use_several(pytester: pytest.Pytester) -> None:
    """A test's own marker beats its class's and module's; several on a test are all used."""
    write(
        pytester,
        """
        import pytest

        pytestmark = pytest.mark.sse_cassette("module_level")

        class TestX:
            pytestmark = pytest.mark.sse_cassette("class_level", speed=2)

            def test_class(self, sse_cassette):
                assert sse_cassette.path.name == "class_level.yaml"
                assert sse_cassette.settings.speed == 2

            @pytest.mark.sse_cassette("first")
            @pytest.mark.sse_cassette("second")
            def test_own(self, sse_cassette):
                assert [p.name for p in sse_cassette.settings.paths] == ["first.yaml", "second.yaml"]
                assert sse_cassette.settings.speed == 0

        def test_module(sse_cassette):
            assert sse_cassette.path.name == "module_level.yaml"
        """,
    )
    pytester.runpytest().assert_outcomes(passed=3)


CLIENTS = """
import anyio, httpx, httpx2, pytest
import sdk

URL = "{url}"

@pytest.mark.sse_cassette("shared")
def test_sdk_clients(sse_cassette):
    assert sdk.status_v1(URL) == 200
    assert sdk.status_v2(URL) == 200
    assert anyio.run(sdk.astatus_v1, URL) == 200
    assert anyio.run(sdk.astatus_v2, URL) == 200
    names = [e.name for e in sse_cassette.events]
    assert names.count("completed") == 4, names
"""

SDK = """
# A library that builds its own clients: the test never passes a transport.
import httpx, httpx2

HEADERS = {"Authorization": "Bearer sdk-secret-token"}

def status_v1(url):
    with httpx.Client(timeout=5, headers=HEADERS) as client:
        return client.get(url + "/jobs/j1/stream").status_code

def status_v2(url):
    with httpx2.Client(timeout=5, headers=HEADERS) as client:
        return client.get(url + "/jobs/j2/stream").status_code

async def astatus_v1(url):
    async with httpx.AsyncClient(timeout=5, headers=HEADERS) as client:
        return (await client.get(url + "/jobs/j3/stream")).status_code

async def astatus_v2(url):
    async with httpx2.AsyncClient(timeout=5, headers=HEADERS) as client:
        async with client.stream("GET", url + "/jobs/j4/stream") as r:
            await r.aread()
            return r.status_code
"""


def test_clients_built_inside_a_library_are_routed(pytester: pytest.Pytester) -> None:
    """httpx and httpx2 clients, sync and async, made inside a helper module, record and replay."""
    pytester.makepyfile(sdk=SDK)
    with run_server(delay=0.001) as url:
        write(pytester, CLIENTS.format(url=url))
        pytester.runpytest("--sse-record").assert_outcomes(passed=1)
    cassette = Cassette.load(cassette_file(pytester, "shared.yaml"))
    assert [i.request.url.rsplit("/", 2)[-2] for i in cassette] == ["j1", "j2", "j3", "j4"]
    assert "sdk-secret-token" not in cassette_file(pytester, "shared.yaml").read_text()
    pytester.runpytest().assert_outcomes(passed=1)  # offline: the server is gone


def test_patches_are_undone_after_a_failing_test(pytester: pytest.Pytester) -> None:
    """After a failing cassette test, the next unmarked test reaches its own transport again."""
    write(
        pytester,
        """
        import httpx, httpx2, pytest

        @pytest.mark.sse_cassette
        def test_fails():
            assert False

        def test_after():
            for lib in (httpx, httpx2):
                client = lib.Client(transport=lib.MockTransport(lambda r: lib.Response(204)))
                assert client.get("http://example.test/").status_code == 204
            assert httpx2.HTTPTransport.handle_request.__qualname__ == "HTTPTransport.handle_request"
        """,
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1, failed=1)


FLOW = """
import httpx, pytest

@pytest.mark.sse_cassette
def test_job_flow(sse_cassette):
    key = "{key}"
    with httpx.Client(base_url="{url}", timeout=10, headers={{"x-api-key": key}}) as client:
        job = client.post("/v2/jobs", json={{"prompt": "hi"}}).json()["job_id"]
        with client.stream("GET", "/v2/jobs/stream", params={{"job_id": job, "api_key": key}}) as r:
            r.read()
    log = sse_cassette.events
    log.assert_order("intermediate", "proposed_change", "final", "usage")
    log.assert_increasing("sequence")
"""


def test_job_flow_records_as_one_cassette_without_secrets(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """POST-then-stream is one cassette; the keys and their echoes never reach the file."""
    real_key = "sk-live-0123456789abcdef"
    write(pytester, FLOW.format(url=live_server, key=real_key))
    pytester.runpytest("--sse-record").assert_outcomes(passed=1)
    path = cassette_file(pytester, "test_user/test_job_flow.yaml")
    text = path.read_text()
    assert real_key not in text  # header, query, echoed header and echoed event data
    assert "REDACTED" in text
    cassette = Cassette.load(path)
    assert [i.request.method for i in cassette] == ["POST", "GET"]
    assert b"REDACTED" in cassette.interactions[1].response.body  # the echo in `usage`
    # Replay with another key (as CI would have): redacted values match anything.
    write(pytester, FLOW.format(url=live_server, key="ci-dummy-key-000000"))
    pytester.runpytest().assert_outcomes(passed=1)


def test_ini_and_marker_extend_redaction(pytester: pytest.Pytester, live_server: str) -> None:
    """sse_redact_headers (ini) and redact_query (marker) add names to the default lists."""
    pytester.makeini("[pytest]\nsse_redact_headers = x-tenant-secret\n")
    write(
        pytester,
        f"""
        import httpx, pytest

        @pytest.mark.sse_cassette(redact_query=["sig"])
        def test_x():
            httpx.get("{live_server}/json", params={{"sig": "signature-value-1"}},
                      headers={{"x-tenant-secret": "tenant-value-1"}}, timeout=5)
        """,
    )
    pytester.runpytest("--sse-record").assert_outcomes(passed=1)
    text = cassette_file(pytester, "test_user/test_x.yaml").read_text()
    assert "signature-value-1" not in text
    assert "tenant-value-1" not in text


def test_xdist_workers_never_corrupt_a_cassette(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """Two workers recording distinct and shared cassettes leave every file whole."""
    tests = "\n".join(
        f"""
@pytest.mark.sse_cassette({name!r})
def test_{n}():
    assert httpx.get("{live_server}/json?n={n}", timeout=5).status_code == 200
"""
        for n, name in enumerate(["shared"] * 6 + [f"own_{i}" for i in range(6)])
    )
    write(pytester, "import httpx, pytest\n" + tests)
    pytester.runpytest_subprocess("-p", "xdist", "-n", "2", "--sse-record=all").assert_outcomes(
        passed=12
    )
    shared = Cassette.load(cassette_file(pytester, "shared.yaml"))
    assert sorted(i.request.url[-3:] for i in shared) == [f"n={n}" for n in range(6)]
    for i in range(6):
        assert len(Cassette.load(cassette_file(pytester, f"own_{i}.yaml"))) == 1
    assert not list((pytester.path / "cassettes").glob("*.tmp*"))


# What each mode does with each state of the cassette: (outcome, interactions afterwards,
# whether the hand-marked recording of the first request survives).
MODE_TABLE = {
    ("none", "missing"): ("failed", None, None),
    ("none", "existing"): ("passed", 1, True),
    ("none", "partial"): ("failed", 1, True),
    ("once", "missing"): ("passed", 1, False),
    ("once", "existing"): ("passed", 1, True),
    ("once", "partial"): ("failed", 1, True),
    ("new", "missing"): ("passed", 1, False),
    ("new", "existing"): ("passed", 1, True),
    ("new", "partial"): ("passed", 2, True),
    ("all", "missing"): ("passed", 1, False),
    ("all", "existing"): ("passed", 1, False),
    ("all", "partial"): ("passed", 2, False),
}

MODE_TEST = """
import httpx, pytest

@pytest.mark.sse_cassette("modes")
def test_modes():
    with httpx.Client(timeout=5) as client:
        client.get("{url}/json?n=1")
        if {partial}:
            client.get("{url}/json?n=2")
"""


@pytest.mark.parametrize(
    ("mode", "state"), list(MODE_TABLE), ids=[f"{m}-{s}" for m, s in MODE_TABLE]
)
def test_each_record_mode_on_each_cassette_state(
    pytester: pytest.Pytester, live_server: str, mode: str, state: str
) -> None:
    """Every mode on a missing, an existing and a partial cassette does what the docs table says."""
    outcome, count, marker_kept = MODE_TABLE[mode, state]
    path = cassette_file(pytester, "modes.yaml")
    if state != "missing":
        write(pytester, MODE_TEST.format(url=live_server, partial=False))
        pytester.runpytest("--sse-record").assert_outcomes(passed=1)
        # Mark the recording (same length: the timeline must still add up), so that a
        # replay can be told from a fresh recording.
        path.write_text(path.read_text().replace('"items"', '"ITEMS"'))
    write(pytester, MODE_TEST.format(url=live_server, partial=state == "partial"))
    pytester.runpytest(f"--sse-record={mode}").assert_outcomes(**{outcome: 1})
    if count is None:
        assert not path.exists()
        return
    cassette = Cassette.load(path)
    assert [i.request.url.rsplit("=", 1)[-1] for i in cassette] == ["1", "2"][:count]
    assert (b'"ITEMS"' in cassette.interactions[0].response.body) is marker_kept
