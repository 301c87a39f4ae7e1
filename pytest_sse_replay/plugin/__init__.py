"""The pytest plugin: options, marker and fixtures. Wiring only: the work is elsewhere.

Heavy imports (httpx, respx, yaml) happen inside the fixtures, so a pytest run whose
tests use no cassette pays nothing for this plugin being installed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ._options import (
    EXPIRED_ACTIONS,
    INI_ALLOW_HOSTS,
    INI_DIR,
    INI_DRIFT,
    INI_INCOMPLETE,
    INI_MAX_AGE,
    INI_MODE,
    INI_RECORD_ON_ERROR,
    INI_REDACT_BODY_KEYS,
    INI_REDACT_HEADERS,
    INI_REDACT_QUERY,
    INI_SPEED,
    INI_TERMINAL,
    INI_UNUSED,
    INI_VERIFY_TIMING,
    MARKER,
    OPT_BLOCK_NETWORK,
    OPT_EXPIRED,
    OPT_ORPHANS,
    OPT_RECORD,
    OPT_SPEED,
    RECORD_MODES,
)

if TYPE_CHECKING:
    from ._drift import DriftTally
    from ._run import Run  # noqa: F401  (named in the StashKey below)
    from ._session import ActiveCassette
    from ._summary import RunSummary

_ACTIVE = pytest.StashKey["ActiveCassette"]()
_RUN = pytest.StashKey["Run"]()
# The key under which pytest-xdist workers get the run's shared folder from the controller.
_WORKER_RUN = "sse_replay_run"
_SUMMARY: pytest.StashKey[RunSummary] = pytest.StashKey()
_WORKER_KEY = "sse_replay_summary"
_TALLY: pytest.StashKey[DriftTally] = pytest.StashKey()
_TALLY_PROPERTY = "sse-replay-tally"

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
    group.addoption(
        "--sse-block-network",
        dest=OPT_BLOCK_NETWORK,
        action="store_true",
        default=False,
        help="refuse network connections outside ini sse_allow_hosts in every test of the run, "
        "not only in tests that replay a cassette (NetworkEscape).",
    )
    group.addoption(
        "--sse-orphans",
        dest=OPT_ORPHANS,
        action="store_true",
        default=False,
        help="at the end of the run, list cassette files that no test opened (meaningful "
        "for a full run only).",
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
        INI_UNUSED,
        "recorded interactions a replaying test leaves unplayed: ignore, warn or fail",
        default="warn",
    )
    parser.addini(
        INI_ALLOW_HOSTS,
        "hosts open to other clients in replay (default loopback: 127.0.0.0/8 ::1 localhost; "
        "none closes every host)",
        type="args",
    )
    parser.addini(
        INI_REDACT_BODY_KEYS,
        "more JSON/form request-body field names whose values never reach a cassette",
        type="args",
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
        "redact_query=(), redact_body_keys=(), ignore_json_paths=(), terminal=None): answer "
        "every httpx, httpx2, aiohttp and requests request in this test from the SSE cassette "
        "`name` (default: derived "
        f"from the test), or record it with --sse-record. See {DOCS}.",
    )
    from ._run import Run

    workerinput = getattr(config, "workerinput", None) or {}
    shared = workerinput.get(_WORKER_RUN)
    config.stash[_RUN] = Run(Path(shared)) if shared else Run()
    # Bad settings are a usage error at start-up, not a failure in every test.
    from ._config import RecordMode, parse_speed

    mode = config.getoption(OPT_RECORD)
    if mode is None:
        RecordMode.parse(config.getini(INI_MODE) or "none", f"ini {INI_MODE}")
    speed = config.getoption(OPT_SPEED)
    if speed is not None:
        parse_speed(speed, "--sse-speed")
    parse_speed(config.getini(INI_SPEED) or "0", f"ini {INI_SPEED}")
    from ._config import allow_hosts, unused_policy
    from ._summary import RunSummary

    unused_policy(config)
    allow_hosts(config)
    config.stash[_SUMMARY] = RunSummary()
    from ._config import trust_settings
    from ._drift import DriftTally

    trust_settings(config)
    config.stash[_TALLY] = DriftTally()
    if not hasattr(config, "workerinput"):  # not a pytest-xdist worker
        config.pluginmanager.register(_WorkerTallies(config), "sse-replay-worker-tallies")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    # pytest-xdist, in the controller: every worker shares the run's folder of markers.
    node.workerinput[_WORKER_RUN] = str(node.config.stash[_RUN].folder)


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(_RUN, None)
    if run is not None:
        run.end()


@pytest.hookimpl(tryfirst=True)  # before -k / -m deselect: who shares a cassette is run-wide
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A marked test gets the cassette without asking for the fixture; unmarked tests pay nothing.
    for item in items:
        if (
            isinstance(item, pytest.Function)
            and item.get_closest_marker(MARKER) is not None
            and "sse_cassette" not in item.fixturenames
        ):
            item.fixturenames.append("sse_cassette")

    # Who uses which cassette serves sse_unused, and verify's "not requested" (judged only
    # for a cassette one test uses).
    if any(item.get_closest_marker(MARKER) is not None for item in items):
        from ._hygiene import cassette_users

        config.stash[_SUMMARY].users = {
            path: set(tests) for path, tests in cassette_users(items, _closest_markers).items()
        }


def pytest_deselected(items: list[pytest.Item]) -> None:
    if items:
        summary = items[0].config.stash.get(_SUMMARY, None)
        if summary is not None:
            summary.deselected += len(items)


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
def sse_before_record() -> Callable[[Any], Any] | None:
    """Override to return a function that gets each recorded interaction before it is saved
    and returns it (changed or not) or None to drop it. Default: None (keep all)."""
    return None


@pytest.fixture
def sse_cassette(
    request: pytest.FixtureRequest, sse_faults: Any, sse_before_record: Any
) -> Iterator[ActiveCassette]:
    """The active SSE cassette of this test (activates the default one when unmarked)."""
    from ..clients import routed
    from ..exceptions import CassetteError
    from ._config import resolve
    from ._hooks import check_before_record
    from ._session import ActiveCassette

    item = request.node
    settings = resolve(item, _closest_markers(item))
    request.config.stash[_SUMMARY].opened.update(str(p) for p in settings.paths)
    broken: str | None = None
    try:
        active = ActiveCassette(
            settings,
            test=item.nodeid,
            run=request.config.stash[_RUN],
            extra_faults=tuple(sse_faults or ()),
            before_record=check_before_record(sse_before_record),
        )
    except CassetteError as exc:  # a broken file: its message names it, field and line
        broken = str(exc)
    if broken is not None:  # outside the except: no "during handling" chain in the report
        pytest.fail(broken, pytrace=False)
    item.stash[_ACTIVE] = active
    try:
        with routed(active):
            yield active
    finally:
        active.close()
        from ._hygiene import tally

        tally(active, request.config.stash[_SUMMARY])
        # Saved when the test body ended (pytest_runtest_call); this writes what other
        # fixtures' teardowns recorded after it.
        problem = _save(active, request.config)
        if problem is not None:
            pytest.fail(problem, pytrace=False)


def _save(active: ActiveCassette, config: pytest.Config) -> str | None:
    """Save; a failure is one line naming the cassette (no traceback through temp files)."""
    from ._session import NotSaved

    try:
        path = active.save()
    except NotSaved as exc:
        return str(exc)
    if path is not None:
        config.stash[_SUMMARY].recorded.add(str(active.path))
    return None


@pytest.fixture
def sse_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """Base URL of a real HTTP server on 127.0.0.1 replaying this test's cassette, for
    clients that are not httpx (requests, a browser's EventSource, curl)."""
    from ._config import resolve
    from ._serve_fixture import sse_server_fixture

    paths = resolve(request.node, _closest_markers(request.node)).paths
    request.config.stash[_SUMMARY].opened.update(str(p) for p in paths)
    yield from sse_server_fixture(request, _closest_markers(request.node))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    active = item.stash.get(_ACTIVE, None)
    guard = _network_guard(item, active)
    if active is None and guard is None:
        return (yield)
    failure: BaseException | None = None
    result = None
    with guard.active() if guard is not None else contextlib.nullcontext():
        try:
            result = yield
        except (Exception, pytest.fail.Exception) as exc:
            failure = exc
    problems: list[str] = []
    trust: list[str] = []
    if active is not None:
        active.close()
        problems.extend(active.misses)
        # Trust checks (complete recordings, drift, expiry) before saving: a recording that
        # failed them, or a test that failed, is not saved (ini sse_record_on_error).
        active.failed = failure is not None or bool(active.misses)
        trust = _account(item, active)
        active.failed = active.failed or bool(trust)
        # What was recorded is written now, so that a cassette that cannot be saved fails
        # this test (at teardown it would only be an error beside it).
        problem = _save(active, item.config)
        if problem is not None:
            problems.append(problem)
    if guard is not None:
        problems.extend(dict.fromkeys(str(escape) for escape in guard.escapes))
    if failure is not None and trust and not problems:
        # The test failed on its own; what is wrong with its recordings (e.g. the broken
        # stream it failed on) is shown beside its failure.
        item.add_report_section("call", "sse-replay", "\n\n".join(trust))
        raise failure
    problems.extend(trust)
    if problems:
        # A missing recording or a refused connection fails the test even when the code
        # under test swallowed it. Its explanation comes first: the test's own failure is
        # most likely a consequence. The NoRecording the code let through says nothing
        # more, an escape explains whatever a client made of it (its own wrapped error),
        # and a traceback through httpx, respx or socket internals would only bury them.
        explained = (
            active is not None and active.misses and type(failure).__name__ == "NoRecording"
        ) or (guard is not None and guard.escapes)
        if failure is not None and not explained:
            problems.append(f"then the test failed:\n{_short_traceback(item, failure)}")
        pytest.fail("\n\n".join(problems), pytrace=False)
    if failure is not None:
        raise failure
    if active is not None:
        from ._config import unused_policy
        from ._hygiene import test_ended

        policy = unused_policy(item.config)
        unused = test_ended(item, active, item.config.stash[_SUMMARY], policy)
        if unused is not None and policy == "fail":
            pytest.fail(unused, pytrace=False)
        if unused is not None:
            item.config.stash[_SUMMARY].unused_lines.append(unused)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    active = item.stash.get(_ACTIVE, None)
    if active is not None and active.records:
        # A secret may have been printed before a later request showed it to be one.
        secrets = active.secrets_seen()
        if secrets:
            from ._reports import scrub_report

            redaction = active.settings.redaction
            scrub_report(report, lambda text: redaction.scrub(text, secrets, clipped=True))
    return report


def _account(item: pytest.Item, active: ActiveCassette) -> list[str]:
    """Tally this test's trust checks (kept for the end of the run); the problems that fail it."""
    from ._drift import DriftTally, account

    users = item.config.stash[_SUMMARY].users.get(str(active.path), {item.nodeid})
    tally, problems = account(active, item.nodeid, shared=users != {item.nodeid})
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


def _short_traceback(item: pytest.Item, failure: BaseException) -> str:
    """The test's own failure as pytest shows it, from the test's file on (not the hooks)."""
    info = pytest.ExceptionInfo.from_exception(failure)
    path = getattr(item, "path", None)
    if path is not None:
        info.traceback = info.traceback.cut(path=path).filter(info)
    return str(info.getrepr(style="short", chain=False))


def _network_guard(item: pytest.Item, active: ActiveCassette | None) -> Any:
    """The guard for this test: when its cassette replays, or for every test with
    --sse-block-network; None otherwise."""
    from ._config import allow_hosts, blocks_network

    if not ((active is not None and active.replays) or blocks_network(item.config)):
        return None
    from ._network import NetworkGuard

    networks, names = allow_hosts(item.config)
    return NetworkGuard(networks, names, test=item.nodeid)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    tally = config.stash.get(_TALLY, None)
    for title, lines in tally.sections() if tally is not None else ():
        terminalreporter.section(title)
        for line in lines:
            terminalreporter.write_line(line)
    summary = config.stash.get(_SUMMARY, None)
    if summary is None or hasattr(config, "workerinput"):
        return
    if tally is not None:  # what verify and expiry decided, per cassette, workers included
        summary.verified, summary.drifted, summary.expired = (
            tally.verified,
            tally.drifted,
            tally.expired,
        )
    from ._hygiene import report

    report(terminalreporter, config, summary)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    summary = config.stash.get(_SUMMARY, None)
    if summary is None:
        return
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: the controller reports
        workeroutput[_WORKER_KEY] = summary.to_wire()
        return
    from ._config import unused_policy

    if (
        unused_policy(config) == "fail"
        and summary.shared_unused()
        and session.exitstatus == pytest.ExitCode.OK
    ):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist: a worker's tallies reach the controller."""
    wire = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
    summary = node.config.stash.get(_SUMMARY, None)
    if wire is not None and summary is not None:
        summary.merge(wire)
