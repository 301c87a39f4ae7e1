from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator

import pytest
from hypothesis import settings

# Import the plugin's lazily loaded modules here, in the outer session: CPython 3.11 can
# fail compiling a module first imported deep inside a nested (pytester) pytest run.
import pytest_sse_replay._aiohttp_face
import pytest_sse_replay._requests_face
import pytest_sse_replay._routing  # noqa: F401
from pytest_sse_replay._server import run_server

from .clients import DRIVERS, Driver

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
    """The base URL of the local SSE server (pytest_sse_replay._server), one per session."""
    with run_server(delay=0.005) as url:
        yield url


@pytest.fixture(params=DRIVERS, ids=lambda driver: driver.id)
def driver(request: pytest.FixtureRequest) -> Driver:
    """Each client kind in turn: httpx and httpx2, sync and async."""
    driver: Driver = request.param
    return driver
