"""The pytest plugin: options, marker and fixtures. Wiring only: the work is elsewhere.

Heavy imports (httpx, respx, yaml) happen inside the fixtures, so a pytest run whose
tests use no cassette pays nothing for this plugin being installed.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from ._options import (
    EXPIRED_ACTIONS,
    INI_DIR,
    INI_DRIFT,
    INI_INCOMPLETE,
    INI_MAX_AGE,
    INI_MODE,
    INI_RECORD_ON_ERROR,
    INI_REDACT_HEADERS,
    INI_REDACT_QUERY,
    INI_SPEED,
    INI_TERMINAL,
    INI_VERIFY_TIMING,
    MARKER,
    OPT_EXPIRED,
    OPT_RECORD,
    OPT_SPEED,
    RECORD_MODES,
)

if TYPE_CHECKING:
    from ._drift import DriftTally
    from ._session import ActiveCassette

_ACTIVE = pytest.StashKey["ActiveCassette"]()
_TALLY: pytest.StashKey[DriftTally] = pytest.StashKey()
_TALLY_PROPERTY = "sse-replay-tally"
_RUN_STARTED = pytest.StashKey[float]()

DOCS = "docs/plugin.md"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sse-replay", "SSE cassettes (pytest-sse-replay)")
    group.addoption(
        "--sse-record",
        dest=OPT_RECORD,
        nargs="?",
        const="once",
        default=None,
        choices=RECORD_MODES,
        metavar="MODE",
        help="record SSE cassettes: none (replay only, the default), once (a bare "
        "--sse-record: record cassettes that do not exist), new (record what has no "
        "recording), all (record everything afresh), verify (every request live, nothing "
        "written, each stream compared with its cassette by structure). Overrides ini "
        "sse_record_mode.",
    )
    group.addoption(
        "--sse-expired",
        dest=OPT_EXPIRED,
        default=None,
        choices=EXPIRED_ACTIONS,
        metavar="ACTION",
        help="what a cassette older than ini sse_max_age does: warn (the default), fail the "
        "test, or record (re-record it as --sse-record=all would).",
    )
    group.addoption(
        "--sse-speed",
        dest=OPT_SPEED,
        default=None,
        metavar="FACTOR",
        help="replay speed for the whole run: 0 = no waiting, 1 = as recorded, 2 = twice "
        "as fast. Overrides the marker and ini sse_speed.",
    )
    parser.addini(INI_DIR, "folder of SSE cassettes, relative to the rootdir", default="cassettes")
    parser.addini(INI_MODE, "record mode when --sse-record is not given", default="none")
    parser.addini(
        INI_SPEED, "replay speed when neither --sse-speed nor the marker sets one", default="0"
    )
    parser.addini(
        INI_REDACT_HEADERS, "more header names whose values never reach a cassette", type="args"
    )
    parser.addini(
        INI_REDACT_QUERY, "more query parameters whose values never reach a cassette", type="args"
    )
    parser.addini(
        INI_TERMINAL, "pattern of the event that must end every recorded event stream", default=""
    )
    parser.addini(
        INI_INCOMPLETE,
        "fail or warn: a recorded stream that is empty, broke or lacks its terminal event",
        default="fail",
    )
    parser.addini(
        INI_RECORD_ON_ERROR, "true: save the recording of a test that failed", default="false"
    )
    parser.addini(INI_DRIFT, "fail or warn: a cassette that drifted under verify", default="fail")
    parser.addini(
        INI_VERIFY_TIMING,
        "factor within which verify's live timing may differ from the cassette's (warnings)",
        default="3",
    )
    parser.addini(INI_MAX_AGE, "age past which a cassette is expired: 90d, 12w, 36h", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(name=None, *, speed=None, faults=(), match_on=None, redact_headers=(), "
        "redact_query=(), terminal=None): answer every httpx/httpx2 request in this test from "
        "the SSE cassette `name` (default: derived from the test), or record it with --sse-record. "
        f"See {DOCS}.",
    )
    config.stash[_RUN_STARTED] = time.time()
    # Bad settings are a usage error at start-up, not a failure in every test.
    from ._config import RecordMode, parse_speed

    mode = config.getoption(OPT_RECORD)
    if mode is None:
        RecordMode.parse(config.getini(INI_MODE) or "none", f"ini {INI_MODE}")
    speed = config.getoption(OPT_SPEED)
    if speed is not None:
        parse_speed(speed, "--sse-speed")
    parse_speed(config.getini(INI_SPEED) or "0", f"ini {INI_SPEED}")
    from ._config import trust_settings
    from ._drift import DriftTally

    trust_settings(config)
    config.stash[_TALLY] = DriftTally()
    if not hasattr(config, "workerinput"):  # not a pytest-xdist worker
        config.pluginmanager.register(_WorkerTallies(config), "sse-replay-worker-tallies")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A marked test gets the cassette without asking for the fixture; unmarked tests pay nothing.
    for item in items:
        if (
            isinstance(item, pytest.Function)
            and item.get_closest_marker(MARKER) is not None
            and "sse_cassette" not in item.fixturenames
        ):
            item.fixturenames.append("sse_cassette")


def _closest_markers(item: pytest.Item) -> list[pytest.Mark]:
    """All sse_cassette marks of the closest node that has any (test > class > module)."""
    marks: list[pytest.Mark] = []
    owner = None
    for node, mark in item.iter_markers_with_node(MARKER):
        if owner is None:
            owner = node
        if node is not owner:
            break
        marks.append(mark)
    # iter_markers_with_node walks a node's marks last-applied first; decorators read
    # top-down, so the first cassette named on the test is the one recordings go to.
    return marks[::-1]


@pytest.fixture
def sse_faults() -> tuple[Any, ...]:
    """Faults added to the cassette's own: parametrize it, e.g. with `faults.matrix()`."""
    return ()


@pytest.fixture
def sse_cassette(request: pytest.FixtureRequest, sse_faults: Any) -> Iterator[ActiveCassette]:
    """The active SSE cassette of this test (activates the default one when unmarked)."""
    from ._config import resolve
    from ._routing import routed
    from ._session import ActiveCassette

    item = request.node
    settings = resolve(item, _closest_markers(item))
    active = ActiveCassette(
        settings,
        test=item.nodeid,
        run_started=request.config.stash[_RUN_STARTED],
        extra_faults=tuple(sse_faults or ()),
    )
    item.stash[_ACTIVE] = active
    try:
        with routed(active):
            yield active
    finally:
        active.close()
        active.save()


@pytest.fixture
def sse_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """Base URL of a real HTTP server on 127.0.0.1 replaying this test's cassette, for
    clients that are not httpx (requests, a browser's EventSource, curl)."""
    from ._serve import sse_server_fixture

    yield from sse_server_fixture(request, _closest_markers(request.node))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    active = item.stash.get(_ACTIVE, None)
    if active is None:
        return (yield)
    try:
        result = yield
    except Exception as exc:
        active.failed = True
        # A missing recording: the message says all there is to say; a traceback through
        # httpx and respx internals would only bury it.
        if not (active.misses and type(exc).__name__ == "NoRecording"):
            problems = _account(item, active)
            if problems:  # e.g. the broken recording the test failed on: shown beside it
                item.add_report_section("call", "sse-replay", "\n\n".join(problems))
            raise
        result = None
    # Also when the test passed: code under test may have swallowed a missing recording,
    # and that is still a failure, with the message it would have seen.
    if active.misses:
        active.failed = True
        pytest.fail("\n\n".join(active.misses), pytrace=False)
    problems = _account(item, active)
    if problems:
        active.failed = True
        pytest.fail("\n\n".join(problems), pytrace=False)
    return result


def _account(item: pytest.Item, active: ActiveCassette) -> list[str]:
    """Tally this test's trust checks (kept for the end of the run); the problems that fail it."""
    from ._drift import DriftTally, account

    tally, problems = account(active, item.nodeid)
    if hasattr(item.config, "workerinput"):
        # A pytest-xdist worker: the tally travels to the controller with the test's report.
        item.user_properties.append((_TALLY_PROPERTY, tally.as_dict()))
    else:
        item.config.stash.setdefault(_TALLY, DriftTally()).add(tally)
    return problems


class _WorkerTallies:
    """On the pytest-xdist controller: adds what the workers tallied, test by test."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":  # every phase's report carries the test's properties
            return
        for name, value in report.user_properties:
            if name == _TALLY_PROPERTY and isinstance(value, dict):
                self.config.stash[_TALLY].add(value)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    tally = config.stash.get(_TALLY, None)
    for title, lines in tally.sections() if tally is not None else ():
        terminalreporter.section(title)
        for line in lines:
            terminalreporter.write_line(line)
