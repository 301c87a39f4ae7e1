from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator

import pytest
from hypothesis import settings

# Import the plugin's lazily loaded modules here, in the outer session: CPython 3.11 can
# fail compiling a module first imported deep inside a nested (pytester) pytest run.
import pytest_sse_replay.clients._aiohttp
import pytest_sse_replay.clients._requests
import pytest_sse_replay.clients._routing  # noqa: F401
from pytest_sse_replay.demo._server import run_server
from tests.drivers import DRIVERS, Driver

# httpx and httpx2 import their httpcore on first use. Imported first inside an in-process
# pytester run, it is dropped from sys.modules when that run ends and imported again later:
# the client would then map the first copy's exception classes and let the second's through.
for _httpcore in ("httpcore", "httpcore2"):
    with contextlib.suppress(ImportError):  # httpcore2 only comes with httpx2
        importlib.import_module(_httpcore)

# The suite runs on two shared cores beside other work: a slow example is not a bug, so no
# property test has a deadline; a failure prints the blob that reproduces it.
settings.register_profile("suite", deadline=None, print_blob=True)
settings.load_profile("suite")


@pytest.fixture(scope="session")
def live_server() -> Iterator[str]:
    """The base URL of the local SSE server (pytest_sse_replay.demo._server), one per session."""
    with run_server(delay=0.005) as url:
        yield url


@pytest.fixture(params=DRIVERS, ids=lambda driver: driver.id)
def driver(request: pytest.FixtureRequest) -> Driver:
    """Each client kind in turn: httpx and httpx2, sync and async."""
    driver: Driver = request.param
    return driver


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests under tests/integration carry the `integration` marker: `-m "not integration"`
    runs the unit tests alone (no sockets, no subprocesses, no pytester), in seconds."""
    for item in items:
        if "integration" in item.path.parts:
            item.add_marker(pytest.mark.integration)


# What the machine running the suite sets must not change what a nested pytest prints: CI
# (or BUILD_NUMBER) makes pytest print the short summary unclipped, COLUMNS re-wraps
# `--help`, FORCE_COLOR / PY_COLORS put escape codes between the words a test looks for.
_OUTPUT_ENVIRONMENT = ("CI", "BUILD_NUMBER", "FORCE_COLOR", "PY_COLORS", "NO_COLOR")


@pytest.fixture(autouse=True)
def _plain_output_environment(request: pytest.FixtureRequest) -> None:
    # Only around nested runs: the browser and docs tests read CI themselves (to fail, not
    # skip, when CI=true and they cannot run).
    if "pytester" not in request.fixturenames:
        return
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    for name in _OUTPUT_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "120")
