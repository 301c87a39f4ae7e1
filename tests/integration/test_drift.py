"""Trust in recordings through pytest: --sse-record=verify, complete recordings, expiry."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pytest_sse_replay import Cassette

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.usefixtures("only_this_plugin")


# The stream's shape comes from request headers, read from the environment: the URL, which
# replay and verify match on, stays the same while the "live service" changes.
TOKENS_TEST = """
import os, httpx, pytest

@pytest.mark.sse_cassette{marker}
def test_stream():
    headers = {{
        "x-shape": os.environ.get("SHAPE", ""),
        "x-tokens": os.environ.get("TOKENS", "3"),
        "x-word": os.environ.get("WORD", "tok"),
    }}
    with httpx.Client(timeout=10) as client:
        with client.stream("GET", "{url}/tokens", headers=headers) as r:
            body = r.read()
    assert r.status_code == 200
"""


def write(pytester: pytest.Pytester, url: str, marker: str = "") -> None:
    source = TOKENS_TEST.format(url=url, marker=marker)
    pytester.makepyfile(test_user=textwrap.dedent(source))


def cassette(pytester: pytest.Pytester) -> Path:
    return pytester.path / "cassettes" / "test_user" / "test_stream.yaml"


def record(pytester: pytest.Pytester, url: str, *args: str) -> None:
    write(pytester, url)
    pytester.runpytest("--sse-record=all", *args).assert_outcomes(passed=1)
    assert cassette(pytester).exists()


# --------------------------------------------------------------------------- verify


def test_verify_passes_when_only_token_text_and_counts_change(
    pytester: pytest.Pytester, live_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Other token text and another number of tokens are not drift, and verify writes nothing."""
    record(pytester, live_server)
    before = cassette(pytester).read_bytes()
    monkeypatch.setenv("TOKENS", "7")
    monkeypatch.setenv("WORD", "other")
    result = pytester.runpytest("--sse-record=verify")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*sse-replay verify*", "verified 1 cassette * 0 drifted"])
    assert "drifted from the live service" not in result.stdout.str()
    assert cassette(pytester).read_bytes() == before


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        pytest.param(
            "renamed",
            ["*events: - token (no longer sent)", "*events: + delta (new)"],
            id="event-renamed",
        ),
        pytest.param("retyped", ["*keys: data of token: index: number -> string"], id="key-type"),
        pytest.param(
            "truncated",
            ["*events: - message_stop (no longer sent)", "*terminal: message_stop -> token"],
            id="terminal-lost",
        ),
    ],
)
def test_verify_fails_a_test_whose_live_stream_drifted(
    pytester: pytest.Pytester,
    live_server: str,
    monkeypatch: pytest.MonkeyPatch,
    shape: str,
    expected: list[str],
) -> None:
    """A renamed event, a key of another type or a lost terminal event fails the test, with
    the cassette, the request and each difference in the message."""
    record(pytester, live_server)
    monkeypatch.setenv("SHAPE", shape)
    result = pytester.runpytest("--sse-record=verify")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*cassette *test_stream.yaml drifted from the live service (test_user.py::test_stream):",
            f"*recorded #0 GET {live_server}/tokens",
            *expected,
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*sse-replay verify*",
            "cassette *test_stream.yaml drifted: see the failure of test_user.py::test_stream",
            "verified 1 cassette * 1 drifted",
        ]
    )


def test_verify_with_sse_drift_warn_reports_and_passes(
    pytester: pytest.Pytester, live_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ini sse_drift = warn: the drifted test passes; the differences are in the summary."""
    record(pytester, live_server)
    pytester.makeini("[pytest]\nsse_drift = warn\n")
    monkeypatch.setenv("SHAPE", "renamed")
    result = pytester.runpytest("--sse-record=verify")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*sse-replay verify*",
            "cassette *test_stream.yaml drifted from the live service*",
            "*+ delta (new)",
            "verified 1 cassette * 1 drifted",
        ]
    )


def test_verify_reports_unpaired_requests_on_both_sides(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """A live request no recording answers, and a recording nothing asked for, are drift."""
    record(pytester, live_server)
    source = TOKENS_TEST.format(url=live_server, marker="").replace("/tokens", "/tokens?v=2")
    pytester.makepyfile(test_user=textwrap.dedent(source))
    result = pytester.runpytest("--sse-record=verify")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            f"*live #0 GET {live_server}/tokens?v=2: no recording answers it",
            f"*recorded #0 GET {live_server}/tokens: not requested by the live run",
        ]
    )


SHARED_TEST = """
import httpx, pytest

@pytest.mark.sse_cassette("shared")
def test_stream():
    with httpx.Client(timeout=10) as client:
        client.get("{url}/tokens").raise_for_status()
        client.get("{url}/json").raise_for_status()

@pytest.mark.sse_cassette("shared")
def test_stream_only():
    with httpx.Client(timeout=10) as client:
        client.get("{url}/tokens").raise_for_status()
"""


@pytest.mark.parametrize("xdist", [(), ("-p", "xdist.plugin", "-n", "2")], ids=["serial", "n2"])
def test_verify_of_a_shared_cassette_does_not_blame_a_test_for_another_tests_requests(
    pytester: pytest.Pytester, live_server: str, xdist: tuple[str, ...]
) -> None:
    """Two tests share a cassette and one of them makes a request the other does not: an
    unchanged service verifies clean, each test's live requests paired with the recordings."""
    pytester.makepyfile(test_user=textwrap.dedent(SHARED_TEST.format(url=live_server)))
    pytester.runpytest("--sse-record").assert_outcomes(passed=2)
    assert len(Cassette.load(pytester.path / "cassettes" / "shared.yaml")) == 2
    result = pytester.runpytest(*xdist, "--sse-record=verify")
    result.assert_outcomes(passed=2)
    assert "not requested by the live run" not in result.stdout.str()
    result.stdout.fnmatch_lines(["verified 1 cassette * 0 drifted"])


def test_verify_runs_the_tests_own_assertions_against_the_live_stream(
    pytester: pytest.Pytester, live_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under verify the test sees the live stream: its assertion on the live body fails."""
    record(pytester, live_server)
    source = TOKENS_TEST.format(url=live_server, marker="") + "    assert b'tok0' in body\n"
    pytester.makepyfile(test_user=textwrap.dedent(source))
    monkeypatch.setenv("WORD", "live")
    result = pytester.runpytest("--sse-record=verify")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*assert b'tok0' in *"])


# --------------------------------------------------------------------------- completeness

BREAK_TEST = """
import httpx, pytest

@pytest.mark.sse_cassette
def test_stream():
    with httpx.Client(timeout=10) as client:
        with client.stream("GET", "{url}/break") as r:
            try:
                r.read()
            except httpx.RemoteProtocolError:
                pass  # the code under test copes with a broken stream
"""


@pytest.mark.parametrize(
    ("shape", "marker", "problem"),
    [
        pytest.param("empty", "", "the event stream is empty (no bytes at all)", id="empty"),
        pytest.param(
            "truncated",
            "(terminal='message_stop|error')",
            "no terminal event: the last of 4 events is 'token', not 'message_stop|error' "
            "(the server ended it) (terminal 'message_stop|error')",
            id="truncated",
        ),
    ],
)
def test_an_incomplete_recording_fails_the_recording_test_and_is_not_saved(
    pytester: pytest.Pytester,
    live_server: str,
    monkeypatch: pytest.MonkeyPatch,
    shape: str,
    marker: str,
    problem: str,
) -> None:
    """An empty stream, or one without its terminal event, fails the test that records it,
    naming the cassette, the request and what was wrong; the recording is not saved."""
    write(pytester, live_server, marker)
    monkeypatch.setenv("SHAPE", shape)
    result = pytester.runpytest("--sse-record=all")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [f"incomplete recording in cassette *test_stream.yaml: GET {live_server}/tokens: {problem}"]
    )
    assert not cassette(pytester).exists()


def test_a_stream_that_ends_early_is_fine_without_a_terminal_pattern(
    pytester: pytest.Pytester, live_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no terminal pattern, a stream with events that ends cleanly is a good recording."""
    monkeypatch.setenv("SHAPE", "truncated")
    record(pytester, live_server)


def test_a_broken_recording_fails_even_when_the_code_copes_with_it(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """A stream that broke while recording fails the test, naming the error."""
    pytester.makepyfile(test_user=textwrap.dedent(BREAK_TEST.format(url=live_server)))
    result = pytester.runpytest("--sse-record=all")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            f"incomplete recording in cassette *test_stream.yaml: GET {live_server}/break: "
            "the stream broke (RemoteProtocolError*"
        ]
    )


def test_ini_terminal_and_incomplete_warn_save_the_recording_with_a_warning(
    pytester: pytest.Pytester, live_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ini sse_terminal sets the pattern; sse_incomplete = warn passes, saves and reports."""
    pytester.makeini("[pytest]\nsse_terminal = message_stop\nsse_incomplete = warn\n")
    monkeypatch.setenv("SHAPE", "truncated")
    write(pytester, live_server)
    result = pytester.runpytest("--sse-record=all")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*sse-replay warnings*", "incomplete recording in cassette *: no terminal event*"]
    )
    assert cassette(pytester).exists()


def test_the_marker_terminal_overrides_the_ini(
    pytester: pytest.Pytester, live_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A marker's terminal= wins over ini sse_terminal."""
    pytester.makeini("[pytest]\nsse_terminal = never_sent\n")
    write(pytester, live_server, "(terminal='message_stop')")
    pytester.runpytest("--sse-record=all").assert_outcomes(passed=1)


@pytest.mark.parametrize(("on_error", "saved"), [("", False), ("true", True)])
def test_a_test_that_fails_while_recording_saves_only_with_record_on_error(
    pytester: pytest.Pytester, live_server: str, on_error: str, saved: bool
) -> None:
    """By default a failing test's recording is dropped; sse_record_on_error = true keeps it."""
    if on_error:
        pytester.makeini(f"[pytest]\nsse_record_on_error = {on_error}\n")
    source = TOKENS_TEST.format(url=live_server, marker="") + "    assert False, 'the test'\n"
    pytester.makepyfile(test_user=textwrap.dedent(source))
    pytester.runpytest("--sse-record=all").assert_outcomes(failed=1)
    assert cassette(pytester).exists() is saved


@pytest.mark.parametrize(
    ("ini", "message"),
    [
        ("sse_terminal = a|", "ini sse_terminal: *empty alternative*"),
        ("sse_incomplete = maybe", "ini sse_incomplete: expected one of fail, warn, got 'maybe'"),
        ("sse_drift = loud", "ini sse_drift: expected one of fail, warn, got 'loud'"),
        ("sse_verify_timing = fast", "ini sse_verify_timing: expected a factor such as 3*"),
        ("sse_max_age = 3 months", "ini sse_max_age: expected an age such as 90d*"),
        ("sse_record_on_error = perhaps", "ini sse_record_on_error: expected true or false*"),
    ],
)
def test_bad_trust_settings_are_a_usage_error(
    pytester: pytest.Pytester, ini: str, message: str
) -> None:
    """A bad value stops the run at start-up, naming the setting."""
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile(test_x="def test_x(): pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}"])


# --------------------------------------------------------------------------- provenance, expiry


def test_a_recording_says_when_and_with_what_it_was_recorded(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """recorded_at (UTC, now) and the versions of this package, Python and httpx are written."""
    import platform

    import httpx

    record(pytester, live_server)
    loaded = Cassette.load(cassette(pytester))
    assert loaded.recorded_at is not None
    assert abs((datetime.now(UTC) - loaded.recorded_at).total_seconds()) < 600
    assert loaded.recorded_with["python"] == platform.python_version()
    assert loaded.recorded_with["httpx"] == httpx.__version__
    assert "pytest-sse-replay" in loaded.recorded_with
    assert "recorded_at: '" in cassette(pytester).read_text()


def age(path: Path, days: int, **versions: str) -> None:
    """Make the cassette at `path` look `days` old (and recorded with `versions`)."""
    loaded = Cassette.load(path)
    loaded.recorded_at = datetime.now(UTC) - timedelta(days=days)
    loaded.recorded_with.update(versions)
    loaded.save()


@pytest.mark.parametrize(
    ("action", "outcome", "line"),
    [
        ("fail", "failed", "cassette *test_stream.yaml is older than sse_max_age (recorded *"),
        ("warn", "passed", "cassette *test_stream.yaml is older than sse_max_age (recorded *"),
        ("record", "passed", "cassette *test_stream.yaml expired (recorded *): re-recorded*"),
    ],
)
def test_an_expired_cassette_fails_warns_or_is_re_recorded(
    pytester: pytest.Pytester, live_server: str, action: str, outcome: str, line: str
) -> None:
    """Older than sse_max_age: --sse-expired=fail fails, warn reports, record re-records."""
    record(pytester, live_server)
    age(cassette(pytester), 200)
    pytester.makeini("[pytest]\nsse_max_age = 90d\n")
    result = pytester.runpytest(f"--sse-expired={action}")
    result.assert_outcomes(**{outcome: 1})
    result.stdout.fnmatch_lines([line])
    recorded_at = Cassette.load(cassette(pytester)).recorded_at
    assert recorded_at is not None
    fresh = (datetime.now(UTC) - recorded_at).days < 1
    assert fresh is (action == "record")


def test_a_young_cassette_is_not_expired(pytester: pytest.Pytester, live_server: str) -> None:
    """A cassette younger than sse_max_age replays with no warning, even under fail."""
    record(pytester, live_server)
    age(cassette(pytester), 10)
    pytester.makeini("[pytest]\nsse_max_age = 12w\n")
    result = pytester.runpytest("--sse-expired=fail")
    result.assert_outcomes(passed=1)
    assert "sse-replay warnings" not in result.stdout.str()


SDK_MODULE = """
import httpx

def stream(url):
    with httpx.Client(timeout=10) as client:
        with client.stream("GET", url + "/tokens") as r:
            return r.read()
"""


def test_the_calling_sdk_is_recorded_and_a_new_major_is_reported(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """The installed package whose code made the request is recorded with its version; a
    replay under another major version of it is reported."""
    package = pytester.path / "fakesdk"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(SDK_MODULE))
    info = pytester.path / "fakesdk-2.3.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakesdk\nVersion: 2.3.0\n")
    (info / "top_level.txt").write_text("fakesdk\n")
    pytester.makepyfile(
        test_user=textwrap.dedent(f"""
        import fakesdk, pytest

        @pytest.mark.sse_cassette
        def test_stream():
            assert b"message_stop" in fakesdk.stream("{live_server}")
        """)
    )
    # In a subprocess: the installed distributions are read once per process.
    pytester.runpytest_subprocess("--sse-record=all").assert_outcomes(passed=1)
    assert Cassette.load(cassette(pytester)).recorded_with["fakesdk"] == "2.3.0"
    age(cassette(pytester), 0, fakesdk="1.9.0")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*sse-replay warnings*",
            "cassette *test_stream.yaml was recorded under another major version: "
            "fakesdk 1.9.0 -> 2.3.0 (test_user.py::test_stream)",
        ]
    )


def test_the_verify_report_reaches_the_summary_from_xdist_workers(
    pytester: pytest.Pytester, live_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under pytest-xdist the workers' tallies and reports are summed up by the controller."""
    record(pytester, live_server)
    pytester.makeini("[pytest]\nsse_drift = warn\n")
    monkeypatch.setenv("SHAPE", "retyped")
    result = pytester.runpytest("-p", "xdist.plugin", "-n", "2", "--sse-record=verify")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*sse-replay verify*",
            "cassette *test_stream.yaml drifted from the live service*",
            "*keys: data of token: index: number -> string",
            "verified 1 cassette * 1 drifted",
        ]
    )


def test_trust_messages_never_show_a_secret(
    pytester: pytest.Pytester, live_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Incomplete-recording and drift messages show URLs redacted, as a cassette holds them."""
    secret = "sk-live-0123456789abcdef"
    source = TOKENS_TEST.format(url=live_server, marker="").replace(
        "/tokens", f"/tokens?api_key={secret}"
    )
    pytester.makepyfile(test_user=textwrap.dedent(source))
    monkeypatch.setenv("SHAPE", "empty")
    result = pytester.runpytest("--sse-record=all")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["incomplete recording * GET */tokens?api_key=REDACTED: *"])
    monkeypatch.delenv("SHAPE")
    pytester.runpytest("--sse-record=all").assert_outcomes(passed=1)
    monkeypatch.setenv("SHAPE", "renamed")
    result = pytester.runpytest("--sse-record=verify")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*recorded #0 GET */tokens?api_key=REDACTED"])
    assert secret not in result.stdout.str() + result.stderr.str()


def test_help_lists_the_trust_options(pytester: pytest.Pytester) -> None:
    """`pytest --help` shows verify, --sse-expired and every trust ini setting."""
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*verify (every request live, nothing*"])
    result.stdout.fnmatch_lines(["*--sse-expired*ACTION*"])
    for name in (
        "sse_terminal",
        "sse_incomplete",
        "sse_record_on_error",
        "sse_drift",
        "sse_verify_timing",
        "sse_max_age",
    ):
        result.stdout.fnmatch_lines([f"*{name}*"])


def test_an_incomplete_recording_is_shown_beside_the_failure_it_caused(
    pytester: pytest.Pytester, live_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the test fails on its own (here on the empty body), the incomplete recording is
    named in a section of its failure, and the cassette is not saved."""
    source = TOKENS_TEST.format(url=live_server, marker="") + "    assert body, 'no body'\n"
    pytester.makepyfile(test_user=textwrap.dedent(source))
    monkeypatch.setenv("SHAPE", "empty")
    result = pytester.runpytest("--sse-record=all")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: no body*",
            "*Captured sse-replay call*",
            "incomplete recording in cassette *: the event stream is empty (no bytes at all)",
        ]
    )
    assert not cassette(pytester).exists()


def test_a_tally_counts_each_cassette_once_and_survives_plain_data() -> None:
    """Two tests on one cassette count it once; a tally sent as plain data adds up the same."""
    from pytest_sse_replay.plugin._drift import DriftTally

    first = DriftTally(verified_paths={"a.yaml"}, drifted_paths={"a.yaml"}, reports=["r1"])
    second = DriftTally(verified_paths={"a.yaml", "b.yaml"}, incomplete=1, warnings=["w"])
    total = DriftTally()
    total.add(first)
    total.add(second.as_dict())
    assert (total.verified, total.drifted, total.expired, total.incomplete) == (2, 1, 0, 1)
    assert total.sections() == [
        ("sse-replay verify", ["r1", "verified 2 cassettes against the live service: 1 drifted"]),
        ("sse-replay warnings", ["w"]),
    ]
    assert DriftTally().sections() == []


def test_verify_timing_outside_the_factor_only_warns(
    pytester: pytest.Pytester, live_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A live stream far slower than recorded (100 tokens, not 2) passes with a timing warning;
    a wider sse_verify_timing silences it."""
    monkeypatch.setenv("TOKENS", "2")
    record(pytester, live_server)
    monkeypatch.setenv("TOKENS", "100")
    result = pytester.runpytest("--sse-record=verify")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "verified 1 cassette * 0 drifted",
            "*sse-replay warnings*",
            f"recorded #0 GET {live_server}/tokens: timing: total *s -> *s (outside x3) "
            "(test_user.py::test_stream)",
        ]
    )
    pytester.makeini("[pytest]\nsse_verify_timing = 1000x\n")
    result = pytester.runpytest("--sse-record=verify")
    result.assert_outcomes(passed=1)
    assert "sse-replay warnings" not in result.stdout.str()
