"""EventLog and Contract failures as a user sees them: in a real pytest run's output."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.assertions.test_eventlog import save_job_cassette

# The header of every user test file below: a log of the multi-agent shape whose second
# agent never completes.
HEADER = """
import json

from pytest_sse_replay.assertions._contract import Contract
from pytest_sse_replay.sse._event import Event
from pytest_sse_replay.assertions._eventlog import EventLog


def ev(name, t, **data):
    return Event(name, json.dumps(data, separators=(",", ":")), t=t)


def run():
    return EventLog(
        [
            ev("job.started", 0.05, jobId="j1"),
            ev("agent.started", 0.10, agentId="a1"),
            ev("agent.completed", 0.90, agentId="a1"),
            ev("agent.started", 1.00, agentId="a2"),
            ev("complete", 1.25, jobId="j1"),
        ]
    )
"""


def line_of(path: Path, code: str) -> int:
    """The line number of `code` in a file, for the `file.py:N: AssertionError` line."""
    return [line.strip() for line in path.read_text().splitlines()].index(code) + 1


def glob_escape(line: str) -> str:
    """A line as an fnmatch pattern that matches only itself."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in line)


def test_failure_points_at_the_users_line(pytester: pytest.Pytester) -> None:
    """A failing assertion in a chain is reported at the user's line, with the timeline."""
    path = pytester.makepyfile(
        test_stream=HEADER
        + """

def test_agents():
    log = run()
    log.assert_first("job.started").assert_pairs("agent.started", "agent.completed", "agentId")
"""
    )
    code = (
        'log.assert_first("job.started")'
        '.assert_pairs("agent.started", "agent.completed", "agentId")'
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "    def test_agents():",
            "        log = run()",
            f">       {code}",
            "E       AssertionError: assert_pairs('agent.started', 'agent.completed', "
            "'agentId'): 1 open never closed",
            "E       timeline (5 events):",
            "E         #      t  name             data",
            'E         0  0.050  job.started      {"jobId":"j1"}',
            'E         1  0.100  agent.started    {"agentId":"a1"}',
            'E         2  0.900  agent.completed  {"agentId":"a1"}',
            'E       > 3  1.000  agent.started    {"agentId":"a2"}  <- agentId="a2" never closed',
            'E         4  1.250  complete         {"jobId":"j1"}',
            "",
            f"test_stream.py:{line_of(path, code)}: AssertionError",
        ]
    )
    # Our frames are hidden: the traceback has the user's frame only.
    result.stdout.no_fnmatch_line("*pytest_sse_replay/*")
    result.stdout.fnmatch_lines(
        ["FAILED test_stream.py::test_agents - AssertionError: assert_pairs(*"]
    )


def test_contract_failure_lists_every_rule(pytester: pytest.Pytester) -> None:
    """Contract.check reports all broken rules at once, at the line that called check()."""
    path = pytester.makepyfile(
        test_contract=HEADER
        + """

AGENT_RUN = Contract(
    first="job.started",
    pairs=[("agent.started", "agent.completed", "agentId")],
    before=[("score.computed", "complete")],
    terminal="complete|error",
)


def test_agents():
    AGENT_RUN.check(run())
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    lines = [
        ">       AGENT_RUN.check(run())",
        "E       AssertionError: Contract: 2 of 4 rules failed",
        "E         [1] assert_before('score.computed', 'complete'): "
        "no event matches 'score.computed'",
        "E             names in the stream: job.started (1), agent.started (2), "
        "agent.completed (1), complete (1)",
        "E         [2] assert_pairs('agent.started', 'agent.completed', 'agentId'): "
        "1 open never closed",
        "E       timeline (5 events):",
        "E         #      t  name             data",
        'E         0  0.050  job.started      {"jobId":"j1"}',
        'E         1  0.100  agent.started    {"agentId":"a1"}',
        'E         2  0.900  agent.completed  {"agentId":"a1"}',
        'E       > 3  1.000  agent.started    {"agentId":"a2"}  <- [2] agentId="a2" never closed',
        'E         4  1.250  complete         {"jobId":"j1"}',
        "",
        f"test_contract.py:{line_of(path, 'AGENT_RUN.check(run())')}: AssertionError",
    ]
    result.stdout.fnmatch_lines([glob_escape(line) for line in lines])
    result.stdout.no_fnmatch_line("*pytest_sse_replay/*")


def test_passing_assertions_and_contract(pytester: pytest.Pytester) -> None:
    """Assertions that hold let the test pass, in a chain and through a Contract."""
    pytester.makepyfile(
        test_ok=HEADER
        + """

def test_chain():
    run().assert_first("job.started").assert_terminal("complete|error").assert_count(
        "agent.*", min=3
    ).assert_within("agent.*", 0.1)


def test_contract():
    log = run()
    assert Contract(order=["job.started", "agent.*", "complete"], once="complete").check(log) is log
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)


def test_contract_checked_on_a_cassette_file(pytester: pytest.Pytester) -> None:
    """A test can check a contract straight on a recorded cassette file."""
    save_job_cassette(pytester.path / "cassettes" / "job.yaml")
    path = pytester.makepyfile(
        test_cassette="""
from pytest_sse_replay.assertions._contract import Contract
from pytest_sse_replay.assertions._eventlog import EventLog

JOB = Contract(order=["intermediate", "final", "usage"], increasing="sequence")


def test_recorded_stream_keeps_its_contract():
    JOB.check("cassettes/job.yaml")


def test_recorded_stream_has_no_error():
    EventLog.from_cassette("cassettes/job.yaml").assert_count("error", 1)
"""
    )
    code = 'EventLog.from_cassette("cassettes/job.yaml").assert_count("error", 1)'
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            f">       {code}",
            "E       AssertionError: assert_count('error', 1): expected exactly 1 'error', found 0",
            "E       names in the stream: intermediate (1), final (1), usage (1)",
            "E       timeline (3 events):",
            "E         #      t  name          data",
            'E         0  0.200  intermediate  {"sequence":1}',
            'E         1  0.600  final         {"sequence":2}',
            'E         2  0.700  usage         {"sequence":3}',
            "",
            f"test_cassette.py:{line_of(path, code)}: AssertionError",
        ]
    )
