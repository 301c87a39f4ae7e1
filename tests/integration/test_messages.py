"""Mistakes in a test's own code fail with a message that names them, not a plugin traceback."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

import pytest_sse_replay
from pytest_sse_replay import StallWithoutTimeout, faults
from pytest_sse_replay.clients._serve import ReplayServer

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.usefixtures("only_this_plugin")

ROOT = Path(__file__).parents[2]
AGENT_RUN = ROOT / "cassettes" / "agent_run.yaml"

HEADER = """
import httpx, pytest
from pytest_sse_replay import faults
"""

READ_RUN = """
    with httpx.Client(timeout={timeout}) as client:
        body = {{"agents": ["planner", "researcher", "writer"], "responseMode": "stream"}}
        with client.stream("POST", "https://api.example.com/runs", json=body) as response:
            response.read()
"""


def run_marked(pytester: pytest.Pytester, marker: str, timeout: str = "10") -> pytest.RunResult:
    """Run one test under `marker` that reads the recorded multi-agent run."""
    (pytester.path / "cassettes").mkdir()
    shutil.copy(AGENT_RUN, pytester.path / "cassettes" / "agent_run.yaml")
    source = HEADER + f"\n{marker}\ndef test_run():" + READ_RUN.format(timeout=timeout)
    pytester.makepyfile(test_user=textwrap.dedent(source))
    return pytester.runpytest("-p", "no:cacheprovider")


def assert_no_plugin_frames(result: pytest.RunResult) -> None:
    text = result.stdout.str()
    assert "pytest_sse_replay/" not in text, text
    assert "Traceback" not in text, text
    assert "During handling" not in text, text


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        (
            '@pytest.mark.sse_cassette("agent_run", sped=1)',
            "*@pytest.mark.sse_cassette: unexpected keyword argument 'sped'; did you mean 'speed'?",
        ),
        (
            '@pytest.mark.sse_cassette("agent_run", speed="fast")',
            "*@pytest.mark.sse_cassette: speed must be a number >= 0 *not 'fast'",
        ),
        (
            '@pytest.mark.sse_cassette("agent_run", speed=-1)',
            "*@pytest.mark.sse_cassette: speed must be a finite number >= 0, not -1",
        ),
        (
            '@pytest.mark.sse_cassette("agent_run", faults=[faults.merge])',
            "*@pytest.mark.sse_cassette: faults[[]0] is the class merge, not a fault: "
            "did you mean faults.merge()?",
        ),
        (
            '@pytest.mark.sse_cassette("agent_run", faults=faults.merge())',
            "*@pytest.mark.sse_cassette: faults is a list of faults, not one fault: "
            "did you mean faults=[[]merge()]?",
        ),
        (
            '@pytest.mark.sse_cassette("agent_run", faults=[1])',
            "*@pytest.mark.sse_cassette: faults[[]0] is 1 (int), not a fault*",
        ),
        (
            '@pytest.mark.sse_cassette("agent_run", speed=10**400)',
            "*@pytest.mark.sse_cassette: speed must be a finite number >= 0, not 1000*",
        ),
        (
            '@pytest.mark.sse_cassette("agent_run", redact_query=None)',
            "*@pytest.mark.sse_cassette: redact_query must be header or parameter names",
        ),
        (
            '@pytest.mark.sse_cassette("agent_run", redact_body_keys=["api_key", " "])',
            "*@pytest.mark.sse_cassette: redact_body_keys holds an empty name: [[]'api_key', ' ']",
        ),
        (
            '@pytest.mark.sse_cassette("agent_run", match_on=5)',
            "*@pytest.mark.sse_cassette: match_on: expected a list such as [[]'json'], got 5",
        ),
        (
            '@pytest.mark.sse_cassette("agent_run", ignore_json_paths=None)',
            "*@pytest.mark.sse_cassette: ignore_json_paths: expected a list of paths*, got None",
        ),
    ],
    ids=[
        "typo",
        "speed-text",
        "speed-negative",
        "fault-class",
        "one-fault",
        "not-a-fault",
        "speed-past-float",
        "redact-none",
        "redact-empty-name",
        "match-on-int",
        "ignore-paths-none",
    ],
)
def test_marker_mistake_fails_with_the_message_alone(
    pytester: pytest.Pytester, marker: str, message: str
) -> None:
    """A wrong marker argument fails the test with one line naming it, and no traceback."""
    result = run_marked(pytester, marker)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([message])
    assert_no_plugin_frames(result)


def test_stall_without_timeout_is_public_and_shown_without_plugin_frames(
    pytester: pytest.Pytester,
) -> None:
    """The stall-without-timeout failure names the public exception and hides the replay core."""
    result = run_marked(
        pytester,
        '@pytest.mark.sse_cassette("agent_run", faults=[faults.stall(after_events=2)])',
        timeout="None",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E * pytest_sse_replay.StallWithoutTimeout: faults.stall: this client has no read timeout*"
        ]
    )
    text = result.stdout.str()
    assert "pytest_sse_replay/playback/_plan.py" not in text
    assert "pytest_sse_replay/clients/_faces.py" not in text


def test_stall_without_timeout_is_importable_from_the_package() -> None:
    """StallWithoutTimeout is part of the public surface, under its public name."""
    assert "StallWithoutTimeout" in pytest_sse_replay.__all__
    assert StallWithoutTimeout.__module__ == "pytest_sse_replay"
    assert issubclass(StallWithoutTimeout, RuntimeError)


def test_replay_server_checks_its_arguments() -> None:
    """`sse-replay serve`'s server refuses a fault class as the transport does."""
    with pytest.raises(TypeError, match=r"ReplayServer: faults\[0\] is the class merge"):
        ReplayServer(AGENT_RUN, faults=[faults.merge])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="ReplayServer: speed must be a number"):
        ReplayServer(AGENT_RUN, speed="1")  # type: ignore[arg-type]


@pytest.mark.parametrize("fixture", ["sse_cassette", "sse_server"])
def test_a_broken_cassette_fails_the_test_in_one_line_naming_file_and_field(
    pytester: pytest.Pytester, fixture: str
) -> None:
    """A cassette that does not load fails the test with the loader's one-line message (file,
    field, line), not a traceback through the plugin and the loader."""
    (pytester.path / "cassettes").mkdir()
    (pytester.path / "cassettes" / "broken.yaml").write_text("version: 1\ninteractions: 5\n")
    pytester.makepyfile(
        test_user=f"""
        import pytest

        @pytest.mark.sse_cassette("broken")
        def test_run({fixture}):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*cassettes/broken.yaml: interactions: expected a list, got an int 5 (line 2 of the file)"]
    )
    assert_no_plugin_frames(result)
