from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_sse_replay._server import run_server

from .clients import DRIVERS, Driver


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
