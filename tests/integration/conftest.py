"""Fixtures of the integration tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def only_this_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner pytest runs load our plugin alone: isolated from whatever else is installed, and
    fast (hypothesis' plugin alone would re-import 200 modules in every in-process run).
    A module opts in with `pytestmark = pytest.mark.usefixtures("only_this_plugin")`."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("PYTEST_PLUGINS", "pytest_sse_replay.plugin")
