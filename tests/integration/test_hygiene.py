"""Hygiene: unused recordings, orphan cassettes, the run summary, no silent network in replay,
matching by request parts, ignore_json_paths and the sse_before_record hook."""

from __future__ import annotations

import re
import socket
import textwrap
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_sse_replay import Cassette, NetworkEscape
from pytest_sse_replay.cassette._model import Interaction, RecordedRequest, RecordedResponse
from pytest_sse_replay.playback._matching import (
    Matcher,
    NoRecording,
    _without,
    parse_ignore_json_paths,
    parse_match_on,
)
from pytest_sse_replay.plugin._network import NetworkGuard, parse_allow_hosts
from tests.integration.helpers import cassette_file as cassette
from tests.integration.helpers import write

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.usefixtures("only_this_plugin")


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A plain loopback listening socket: what reaches it is counted with `accepted()`."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.setblocking(False)
    try:
        yield server
    finally:
        server.close()


def accepted(server: socket.socket) -> int:
    """How many connections reached `server` (bounded: the backlog is 16)."""
    count = 0
    for _ in range(32):
        try:
            conn, _ = server.accept()
        except BlockingIOError:
            break
        conn.close()
        count += 1
    return count


TWO_REQUESTS = """
import httpx, pytest

@pytest.mark.sse_cassette
def test_run():
    httpx.get("{url}/json?n=1", timeout=5)
    if {both}:
        httpx.get("{url}/json?n=2", timeout=5)
"""


def record_two(pytester: pytest.Pytester, url: str) -> None:
    write(pytester, TWO_REQUESTS.format(url=url, both=True))
    pytester.runpytest("--sse-record").assert_outcomes(passed=1)
    write(pytester, TWO_REQUESTS.format(url=url, both=False))


def test_help_and_markers_list_the_new_options(pytester: pytest.Pytester) -> None:
    """`pytest --help` shows the new flags and ini settings; `--markers` the new keyword."""
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        ["*--sse-block-network*", "*--sse-orphans*", "*sse_unused*", "*sse_allow_hosts*"]
    )
    pytester.runpytest("--markers").stdout.fnmatch_lines(["*ignore_json_paths=()*"])


# -- unused interactions ------------------------------------------------------------------------


def test_unused_interaction_is_reported_in_the_summary(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """sse_unused = warn (the default): a recording the test did not play is listed, test
    and request named, and the test still passes."""
    record_two(pytester, live_server)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*sse-replay: unused recorded interactions*",
            "test_user.py::test_run: cassette *test_user/test_run.yaml: 1 recorded interaction "
            "not played by the test (ini sse_unused):",
            "  #1 GET */json?n=2",
            "sse-replay: 1 cassettes replayed, 0 recorded, 0 verified, 0 drifted, 0 expired; "
            "1 unused interactions",
        ]
    )


def test_unused_interaction_fails_the_test_when_asked(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """sse_unused = fail: the test that left a recording unplayed fails with the report."""
    record_two(pytester, live_server)
    pytester.makeini("[pytest]\nsse_unused = fail\n")
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*1 recorded interaction not played by the test*", "*#1 GET*n=2"])


def test_unused_is_silent_when_ignored_or_all_played(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """sse_unused = ignore says nothing; a test that plays every recording says nothing."""
    record_two(pytester, live_server)
    pytester.makeini("[pytest]\nsse_unused = ignore\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "unused recorded" not in result.stdout.str()
    pytester.makeini("[pytest]\nsse_unused = fail\n")
    write(pytester, TWO_REQUESTS.format(url=live_server, both=True))
    pytester.runpytest().assert_outcomes(passed=1)


def test_bad_unused_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """An unknown sse_unused value stops the run at start-up, listing the choices."""
    pytester.makeini("[pytest]\nsse_unused = sometimes\n")
    write(pytester, "def test_x(): pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*sse_unused: unknown value 'sometimes'*ignore, warn, fail*"])


SHARED = """
import httpx, pytest

@pytest.mark.sse_cassette("shared")
def test_one():
    httpx.get("{url}/json?n=1", timeout=5)

@pytest.mark.sse_cassette("shared")
def test_two():
    httpx.get("{url}/json?n={two}", timeout=5)
"""


def test_shared_cassette_is_judged_across_its_tests_at_the_end(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """A cassette two tests share: each plays its own recording (nothing reported); a
    recording neither plays is reported at the end, and fails the run with sse_unused = fail;
    with one of them deselected, the cassette is not judged."""
    write(pytester, SHARED.format(url=live_server, two=2))
    pytester.runpytest("--sse-record=new").assert_outcomes(passed=2)
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)
    assert "unused recorded" not in result.stdout.str()

    write(pytester, SHARED.format(url=live_server, two=1))
    pytester.makeini("[pytest]\nsse_unused = fail\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["cassette *shared.yaml: 1 recorded interaction no test played*", "  #1 GET */json?n=2"]
    )
    result = pytester.runpytest("-k", "test_one")
    assert result.ret == pytest.ExitCode.OK
    assert "unused recorded" not in result.stdout.str()


# -- orphans and the summary line --------------------------------------------------------------


def test_orphans_are_listed_after_a_full_run_only(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """--sse-orphans lists cassette files no test opened; after a deselecting run it says
    the list would be meaningless instead."""
    record_two(pytester, live_server)
    orphan = cassette(pytester, "old/forgotten.yaml")
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(cassette(pytester, "test_user/test_run.yaml").read_bytes())
    write(pytester, "def test_other(): pass\n", name="test_more")
    result = pytester.runpytest("--sse-orphans")
    result.stdout.fnmatch_lines(
        ["*sse-replay: orphan cassettes*", "1 cassette file under *cassettes that no test*"]
    )
    result.stdout.fnmatch_lines([f"  {orphan}"])
    assert "test_run.yaml" not in result.stdout.str().split("orphan cassettes")[1]

    result = pytester.runpytest("--sse-orphans", "-k", "test_run")
    result.stdout.fnmatch_lines(["not listed: 1 tests were deselected*full run"])


def test_summary_line_comes_from_the_workers_under_xdist(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """With -n 2 the controller prints one line with the workers' counts added up."""
    tests = "\n".join(
        f"""
@pytest.mark.sse_cassette("c{n}")
def test_{n}():
    httpx.get("{live_server}/json?n={n}", timeout=5)
"""
        for n in range(4)
    )
    write(pytester, "import httpx, pytest\n" + tests)
    result = pytester.runpytest_subprocess("-p", "xdist", "-n", "2", "--sse-record")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            "sse-replay: 0 cassettes replayed, 4 recorded, 0 verified, 0 drifted, 0 expired; "
            "0 unused interactions"
        ]
    )
    result = pytester.runpytest_subprocess("-p", "xdist", "-n", "2", "--sse-orphans")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            "0 cassette files under *that no test opened*",
            "sse-replay: 4 cassettes replayed, 0 recorded*",
        ]
    )


def test_no_summary_line_in_a_run_without_cassettes(pytester: pytest.Pytester) -> None:
    """A run that opens no cassette prints no sse-replay line."""
    write(pytester, "def test_x(): pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "sse-replay:" not in result.stdout.str()


# -- no silent network --------------------------------------------------------------------------

ESCAPES = {
    "requests": (
        "import requests\nrequests.get('http://127.0.0.1:{port}/x', timeout=5)",
        "urllib3 (requests)",
    ),
    "http.client": (
        "import http.client\nhttp.client.HTTPConnection('127.0.0.1', {port}, timeout=5).request"
        "('GET', '/')",
        "http.client",
    ),
    "socket": (
        "import socket\nsocket.socket().connect(('127.0.0.1', {port}))",
        "socket (from test_user, line *)",
    ),
    "aiohttp": (
        "import asyncio, aiohttp\n"
        "async def go():\n"
        "    async with aiohttp.ClientSession() as session:\n"
        "        await session.get('http://127.0.0.1:{port}/x')\n"
        "asyncio.run(asyncio.wait_for(go(), 10))",
        "*aiohttp*",  # "aiohappyeyeballs (aiohttp)" since aiohttp 3.10
    ),
}


# requests and aiohttp are routed through the cassette of a marked test (a request with no
# recording is a NoRecording there): they escape only where no cassette routes them.
ROUTED = {"requests", "aiohttp"}


@pytest.mark.parametrize("library", sorted(ESCAPES))
def test_connection_in_replay_raises_network_escape(
    pytester: pytest.Pytester, listener: socket.socket, library: str
) -> None:
    """With sse_allow_hosts = none, a connection by any library that no cassette routes fails
    the test with NetworkEscape naming host, port and library, and never reaches the server."""
    code, who = ESCAPES[library]
    port = listener.getsockname()[1]
    body = textwrap.indent(code.format(port=port), "    ")
    marker = "" if library in ROUTED else "@pytest.mark.sse_cassette\n"
    write(pytester, f"import pytest\n\n{marker}def test_escape():\n{body}\n")
    pytester.makeini("[pytest]\nsse_allow_hosts = none\n")
    result = pytester.runpytest(*(["--sse-block-network"] if library in ROUTED else []))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [f"*network connection to 127.0.0.1:{port} by {who} in test_user.py::test_escape refused*"]
    )
    assert accepted(listener) == 0


def test_swallowed_escape_still_fails_the_test(
    pytester: pytest.Pytester, listener: socket.socket
) -> None:
    """Code that catches every exception, or wraps it in its own, cannot hide a NetworkEscape."""
    port = listener.getsockname()[1]
    write(
        pytester,
        f"""
        import http.client, pytest

        def get():
            http.client.HTTPConnection("127.0.0.1", {port}, timeout=5).request("GET", "/")

        @pytest.mark.sse_cassette
        def test_escape():
            for _ in range(3):
                try:
                    get()
                except Exception:
                    pass

        @pytest.mark.sse_cassette
        def test_wrapped():
            try:
                get()
            except Exception as exc:
                raise ValueError("the service is down") from exc
        """,
    )
    pytester.makeini("[pytest]\nsse_allow_hosts = none\n")
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    # Only the failure reports: the short summary repeats each message, in full when the CI
    # variable is set and clipped to the terminal's width when it is not.
    reports = result.stdout.str().partition("short test summary info")[0]
    # The same refusal, three times: said once.
    assert reports.count("test_escape refused") == 1
    # A client's own error made of the refusal is explained by the refusal.
    assert reports.count("test_wrapped refused") == 1
    assert "the service is down" not in result.stdout.str()
    assert accepted(listener) == 0


def test_loopback_is_open_by_default(
    pytester: pytest.Pytester, listener: socket.socket, live_server: str
) -> None:
    """Under the default allow list a replaying test reaches local servers (its own, and
    the plugin's sse_server), so the connection is made."""
    port = listener.getsockname()[1]
    record_two(pytester, live_server)
    write(
        pytester,
        f"""
        import socket, pytest, requests

        @pytest.mark.sse_cassette("test_user/test_run")
        def test_local(sse_server):
            socket.create_connection(("localhost", {port}), timeout=5).close()
            assert requests.get(sse_server + "/json?n=1", timeout=5).json()["ok"]
        """,
        name="test_local",
    )
    result = pytester.runpytest("test_local.py")
    result.assert_outcomes(passed=1)
    assert accepted(listener) == 1


def test_block_network_covers_unmarked_tests(
    pytester: pytest.Pytester, listener: socket.socket
) -> None:
    """--sse-block-network applies the allow list to tests without a cassette as well."""
    port = listener.getsockname()[1]
    write(
        pytester,
        f"""
        import socket

        def test_plain():
            socket.create_connection(("127.0.0.1", {port}), timeout=5).close()
        """,
    )
    pytester.makeini("[pytest]\nsse_allow_hosts = none\n")
    pytester.runpytest().assert_outcomes(passed=1)
    assert accepted(listener) == 1
    result = pytester.runpytest("--sse-block-network")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*network connection to 127.0.0.1:{port} by socket*refused*"])
    assert accepted(listener) == 0


def test_recording_reaches_the_network_when_every_host_is_closed(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """The cassette's own recording path is never refused: record (once) and record-what-
    is-missing (new) work with sse_allow_hosts = none."""
    pytester.makeini("[pytest]\nsse_allow_hosts = none\n")
    write(pytester, TWO_REQUESTS.format(url=live_server, both=False))
    pytester.runpytest("--sse-record").assert_outcomes(passed=1)
    write(pytester, TWO_REQUESTS.format(url=live_server, both=True))
    pytester.runpytest("--sse-record=new").assert_outcomes(passed=1)
    assert len(Cassette.load(cassette(pytester, "test_user/test_run.yaml"))) == 2


CLIENTS = """
import asyncio, aiohttp, pytest, requests
from pytest_sse_replay import faults

RUN = "{url}/runs"
BODY = {{"responseMode": "stream", "agents": ["a"]}}

async def fetch(method, url, **kwargs):
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
        async with s.request(method, url, **kwargs) as r:
            return await r.read()

@pytest.mark.sse_cassette(faults={faults})
def test_clients():
    assert requests.get("{url}/json?n=1", timeout=5).json()["ok"]
    if {both}:
        assert asyncio.run(fetch("GET", "{url}/json?n=2")).startswith(b"{{")
        assert b"event: complete" in requests.post(RUN, json=BODY, timeout=10).content
        assert b"event: complete" in asyncio.run(fetch("POST", RUN, json=BODY))
"""


@pytest.mark.parametrize("faults", ["[]", "[faults.split(size=5)]"])
def test_requests_and_aiohttp_record_what_is_missing_when_every_host_is_closed(
    pytester: pytest.Pytester, live_server: str, faults: str
) -> None:
    """With sse_allow_hosts = none, --sse-record=new on an existing cassette records new
    requests of requests and aiohttp (event streams read whole under faults included)."""
    pytester.makeini("[pytest]\nsse_allow_hosts = none\n")
    write(pytester, CLIENTS.format(url=live_server, faults=faults, both=False))
    pytester.runpytest("--sse-record").assert_outcomes(passed=1)
    write(pytester, CLIENTS.format(url=live_server, faults=faults, both=True))
    pytester.runpytest("--sse-record=new").assert_outcomes(passed=1)
    recorded = Cassette.load(cassette(pytester, "test_user/test_clients.yaml")).interactions
    assert [i.request.method for i in recorded] == ["GET", "GET", "POST", "POST"]
    assert all(b"event: complete" in i.response.body for i in recorded[2:])
    pytester.runpytest().assert_outcomes(passed=1)


def test_allow_hosts_parsing() -> None:
    """Networks, addresses and names are accepted; none is alone; the default is loopback."""
    networks, names = parse_allow_hosts([], "ini")
    guard = NetworkGuard(networks, names)
    assert guard.allows("127.0.0.2")
    assert guard.allows("::1")
    assert guard.allows("localhost")
    assert guard.allows("::ffff:127.0.0.1")
    assert not guard.allows("10.0.0.1")
    assert not guard.allows("example.com")
    assert parse_allow_hosts(["none"], "ini") == ((), frozenset())
    networks, names = parse_allow_hosts(["10.0.0.0/8, api.internal"], "ini")
    guard = NetworkGuard(networks, names)
    assert guard.allows("10.1.2.3")
    assert guard.allows("API.internal.")
    assert not guard.allows("127.0.0.1")
    with pytest.raises(ValueError, match="'none' closes every host"):
        parse_allow_hosts(["none", "localhost"], "ini")


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "*.internal", "db.internal:5432", "10.0.0.300"])
def test_allow_hosts_entry_that_is_no_host_is_refused(entry: str) -> None:
    """An entry that is neither a network, an address nor a host name (a bad prefix, a
    wildcard, a port) is an error naming it, not a name that silently opens nothing."""
    with pytest.raises(ValueError, match=rf"ini: {re.escape(repr(entry))} is neither a network"):
        parse_allow_hosts([f"localhost {entry}"], "ini")


def test_a_bad_allow_hosts_ini_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """A wrong sse_allow_hosts entry stops the run with a usage error naming the ini."""
    pytester.makeini("[pytest]\nsse_allow_hosts = 127.0.0.0/8 *.internal\n")
    write(pytester, "def test_x():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini sse_allow_hosts: '[*].internal' is neither a network*"])


def test_guard_is_undone_and_names_the_escape() -> None:
    """Inside the guard a refused connection raises NetworkEscape; outside it the socket
    module is as it was."""
    original = socket.socket.connect
    guard = NetworkGuard((), frozenset(), test="t")
    with guard.active(), socket.socket() as sock, pytest.raises(NetworkEscape) as info:
        sock.connect(("127.0.0.1", 9))
    assert socket.socket.connect is original
    assert (info.value.host, info.value.port) == ("127.0.0.1", 9)
    assert info.value.library.startswith("socket (from tests.integration.test_hygiene")
    assert guard.escapes == [info.value]


def test_guard_refuses_a_datagram_sent_without_connect() -> None:
    """A UDP datagram sent with sendto or sendmsg (as a DNS resolver library or a metrics
    client does, without connect) is refused like a connection, before it leaves."""
    guard = NetworkGuard((), frozenset(), test="t")
    sends: list[Callable[[socket.socket], object]] = [
        lambda sock: sock.sendto(b"x", ("127.0.0.1", 9)),
        lambda sock: sock.sendto(b"x", 0, ("127.0.0.1", 9)),
        lambda sock: sock.sendmsg([b"x"], [], 0, ("127.0.0.1", 9)),
    ]
    with guard.active():
        for send in sends:
            with (
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock,
                pytest.raises(NetworkEscape) as info,
            ):
                send(sock)
            assert (info.value.host, info.value.port) == ("127.0.0.1", 9)
    assert len(guard.escapes) == 3
    networks, names = parse_allow_hosts([], "ini")
    with (
        NetworkGuard(networks, names).active(),
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender,
    ):
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(5)
        sender.sendto(b"allowed", receiver.getsockname())  # loopback stays open
        assert receiver.recvfrom(16)[0] == b"allowed"


def test_guard_refuses_a_lookup_by_gethostbyname() -> None:
    """socket.gethostbyname and gethostbyname_ex of a host outside the list are refused
    before the DNS query leaves; an allowed name resolves, and its addresses are open."""
    guard = NetworkGuard((), frozenset({"localhost"}), test="t")
    with guard.active():
        for lookup in (socket.gethostbyname, socket.gethostbyname_ex):
            with pytest.raises(NetworkEscape) as info:
                lookup("service.invalid")
            assert info.value.host == "service.invalid"
        address = socket.gethostbyname("localhost")
        assert guard.allows(address)
    assert len(guard.escapes) == 2


# -- matching by parts, ignore_json_paths ------------------------------------------------------

PORTABLE = """
import httpx, pytest

@pytest.mark.sse_cassette("portable"{match_on})
def test_portable():
    assert httpx.get("{url}/json?n=1", timeout=5).json()["ok"]
"""


def test_recording_replays_on_another_port_without_port_in_match_on(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """match_on=("method", "path", "query") replays a recording made on one port against
    another host and port; the default (method and URL) names the differing port."""
    write(pytester, PORTABLE.format(url=live_server, match_on=""))
    pytester.runpytest("--sse-record").assert_outcomes(passed=1)
    elsewhere = "http://localhost:9"
    parts = ', match_on=("method", "path", "query")'
    write(pytester, PORTABLE.format(url=elsewhere, match_on=parts))
    pytester.runpytest().assert_outcomes(passed=1)
    write(pytester, PORTABLE.format(url=elsewhere, match_on=""))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    recorded_port = live_server.rpartition(":")[2]
    result.stdout.fnmatch_lines(
        [
            "  host: recorded '127.0.0.1', got 'localhost'",
            f"  port: recorded {recorded_port}, got 9",
        ]
    )
    # A query that differs is still a miss when "query" is named, and the message says so.
    write(pytester, PORTABLE.format(url=elsewhere, match_on=parts).replace("n=1", "n=2"))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["  (compared: method, path, query)", "  query n: recorded '1', got '2'"]
    )


JOB = """
import httpx, pytest

@pytest.mark.sse_cassette("job", match_on=["json"]{ignore})
def test_job():
    body = {{"prompt": "audit", "metadata": {{"request_id": "{rid}"}},
            "messages": [{{"text": "hi", "timestamp": {ts}}}]}}
    r = httpx.post("{url}/v2/jobs", json=body, headers={{"x-api-key": "k"}}, timeout=5)
    assert r.json()["job_id"].startswith("job_")
"""


def test_ignore_json_paths_leaves_volatile_fields_out(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """Volatile fields named by ignore_json_paths do not stop a JSON body from matching;
    without them the differing body is a miss, and so is a change elsewhere."""
    ignore = ', ignore_json_paths=("metadata.request_id", "messages[*].timestamp")'
    write(pytester, JOB.format(url=live_server, ignore=ignore, rid="a1", ts=1))
    pytester.runpytest("--sse-record").assert_outcomes(passed=1)
    write(pytester, JOB.format(url=live_server, ignore=ignore, rid="b2", ts=2))
    pytester.runpytest().assert_outcomes(passed=1)
    write(pytester, JOB.format(url=live_server, ignore="", rid="b2", ts=2))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  json body: recorded *"])
    write(
        pytester,
        JOB.format(url=live_server, ignore=ignore, rid="b2", ts=2).replace("audit", "other"),
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  json body (ignoring ignore_json_paths): recorded *"])


def test_bad_ignore_json_path_names_itself(pytester: pytest.Pytester) -> None:
    """A malformed path is a marker error naming the path and the syntax."""
    write(
        pytester,
        "import pytest\n@pytest.mark.sse_cassette(ignore_json_paths=['a..b'])\n"
        "def test_x(): pass\n",
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ignore_json_paths: bad path 'a..b'*"])


def test_match_on_parts_are_the_whole_list() -> None:
    """Naming a part makes match_on the whole list; naming none (or all) is method + URL."""
    assert parse_match_on(["json"]) == ("json",)
    assert parse_match_on(["method", "path", "json"]) == ("method", "path", "json")
    assert parse_match_on(["method", "url"]) == ()
    assert parse_match_on(["url"]) == ()
    assert parse_match_on(["path", "url", "method", "body"]) == ("body",)


def test_json_path_syntax() -> None:
    """Keys by dots, [N] and [*] for list items, * for any key."""
    doc = {"a": {"b": 1, "c": 2}, "items": [{"id": 1, "t": 5}, {"id": 2, "t": 6}], "x": [1, 2]}

    def drop(path: str) -> object:
        (steps,) = parse_ignore_json_paths(path)
        return _without(doc, steps)

    assert drop("a.b") == {**doc, "a": {"c": 2}}
    assert drop("items[*].t") == {**doc, "items": [{"id": 1}, {"id": 2}]}
    assert drop("items[1]") == {**doc, "items": [{"id": 1, "t": 5}]}
    assert drop("*.c") == {**doc, "a": {"b": 1}}
    assert drop("missing.path") == doc
    assert drop("x[0]") == {**doc, "x": [2]}


def recorded(method: str, url: str) -> Interaction:
    return Interaction(RecordedRequest(method, url), RecordedResponse(200, [], []))


@given(
    scheme=st.sampled_from(["http", "https"]),
    host=st.sampled_from(["localhost", "127.0.0.1", "staging.example.com", "API.example.com"]),
    port=st.integers(1, 65535),
)
def test_unnamed_parts_never_decide_a_match(scheme: str, host: str, port: int) -> None:
    """With match_on=(method, path, query), any scheme, host and port replays the recording;
    a different path or method is still a miss."""
    matcher = Matcher(
        [recorded("GET", "http://127.0.0.1:8000/v1/s?a=1&b=2")],
        match_on=("method", "path", "query"),
    )
    assert matcher.find(RecordedRequest("GET", f"{scheme}://{host}:{port}/v1/s?b=2&a=1")) == 0
    with pytest.raises(NoRecording, match="path: recorded '/v1/s', got '/v2/s'"):
        matcher.find(RecordedRequest("GET", f"{scheme}://{host}:{port}/v2/s?a=1&b=2"))
    with pytest.raises(NoRecording, match="method: recorded GET, got POST"):
        matcher.find(RecordedRequest("POST", f"{scheme}://{host}:{port}/v1/s?a=1&b=2"))


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5))


@given(
    base=st.dictionaries(st.text(max_size=5), json_leaf, max_size=4),
    old=json_leaf,
    new=json_leaf,
)
def test_ignored_field_never_decides_a_match(
    base: dict[str, object], old: object, new: object
) -> None:
    """Two bodies that differ only in an ignored field compare equal once it is left out."""
    (steps,) = parse_ignore_json_paths("meta.request_id")
    a = {**base, "meta": {"request_id": old, "keep": 1}}
    b = {**base, "meta": {"request_id": new, "keep": 1}}
    assert _without(a, steps) == _without(b, steps)


# -- sse_before_record --------------------------------------------------------------------------

HOOKED = """
import httpx, pytest

@pytest.fixture
def sse_before_record():
    def hook(interaction):
        if interaction.request.url.endswith("n=2"):
            return None
        interaction.response.headers.append(("x-hooked", "yes"))
        # Copies the secret header into the body: redaction, which runs after, scrubs it.
        interaction.request.body = interaction.request.header("x-api-key").encode()
        return interaction
    return hook

@pytest.mark.sse_cassette
def test_run():
    headers = {{"x-api-key": "sk-secret-123456"}}
    httpx.get("{url}/json?n=1", headers=headers, timeout=5)
    httpx.get("{url}/json?n=2", headers=headers, timeout=5)
"""


def test_before_record_changes_and_drops_interactions(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """The hook's changes are saved, None drops an interaction, and redaction runs after it."""
    write(pytester, HOOKED.format(url=live_server))
    pytester.runpytest("--sse-record").assert_outcomes(passed=1)
    path = cassette(pytester, "test_user/test_run.yaml")
    saved = Cassette.load(path)
    assert [i.request.url.rpartition("?")[2] for i in saved] == ["n=1"]
    assert ("x-hooked", "yes") in saved.interactions[0].response.headers
    assert saved.interactions[0].request.body == b"REDACTED"
    assert "sk-secret-123456" not in path.read_text()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("return 'oops'", "*the recording was not saved: fixture sse_before_record: its function*"),
        (
            "interaction.response.status = '200'; return interaction",
            "*not saved (after fixture sse_before_record changed it): *status: expected 100-999*",
        ),
        (
            "interaction.request.url = 'http://h:99999/'; return interaction",
            "*not saved (after fixture sse_before_record changed it): *Port out of range*",
        ),
        (
            "interaction.response.chunks = 'abc'; return interaction",
            "*not saved (after fixture sse_before_record changed it): *has no attribute 'data'",
        ),
    ],
    ids=["returns-text", "status-text", "bad-url", "chunks-text"],
)
def test_a_hook_that_breaks_the_interaction_fails_the_test_in_one_line(
    pytester: pytest.Pytester, live_server: str, change: str, message: str
) -> None:
    """What a hook returns or changes that cannot be saved fails the test with one line
    naming the cassette and the hook, no traceback through the plugin, and nothing written."""
    source = HOOKED.format(url=live_server).replace("return interaction", change)
    write(pytester, source)
    result = pytester.runpytest("--sse-record")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([message])
    assert "pytest_sse_replay/" not in result.stdout.str()
    assert not cassette(pytester, "test_user/test_run.yaml").exists()


def test_before_record_of_a_wrong_type_names_the_fixture(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """A hook that returns something else than an interaction or None is an error naming
    sse_before_record; so is a fixture that returns no function."""
    source = HOOKED.format(url=live_server).replace("return interaction", "return 'oops'")
    write(pytester, source)
    result = pytester.runpytest("--sse-record")
    # The cassette is saved when the test body ends, so a broken hook fails the test itself.
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*fixture sse_before_record: its function must return*str*"])
    write(
        pytester,
        """
        import pytest

        @pytest.fixture
        def sse_before_record():
            return 42

        @pytest.mark.sse_cassette
        def test_run():
            pass
        """,
    )
    result = pytester.runpytest("--sse-record")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture sse_before_record must return a function*int*"])


@pytest.mark.parametrize(
    ("host", "open_by_default"),
    [
        ("127.1", True),  # IPv4 shorthand the socket layer reads as 127.0.0.1
        ("2130706433", True),  # 127.0.0.1 as one number
        ("0.0.0.0", True),  # connecting to the unspecified address reaches this machine
        ("::", True),
        ("api.localhost", True),  # RFC 6761
        ("167772161", False),  # 10.0.0.1 as one number
        ("10.1", False),
        ("example.com", False),
    ],
)
def test_loopback_in_any_spelling_is_loopback(host: str, open_by_default: bool) -> None:
    """The allow list judges the address a host names, however it is written: loopback in
    another spelling is not a false refusal, and another address in disguise is refused."""
    networks, names = parse_allow_hosts([], "ini sse_allow_hosts")
    assert NetworkGuard(networks, names, test="t").allows(host) is open_by_default
    closed_networks, closed_names = parse_allow_hosts(["none"], "ini sse_allow_hosts")
    assert not NetworkGuard(closed_networks, closed_names, test="t").allows(host)
