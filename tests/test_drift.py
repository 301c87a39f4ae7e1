"""Trust in recordings through pytest: --sse-record=verify, complete recordings, expiry."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def only_this_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner runs load our plugin alone (as in test_plugin.py)."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("PYTEST_PLUGINS", "pytest_sse_replay.plugin")


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
