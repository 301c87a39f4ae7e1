"""The public surface is exactly what __all__ says, sorted, and the documented names are in it."""

from __future__ import annotations

import pytest_sse_replay


def test_all_is_sorted_and_complete() -> None:
    """Every name in __all__ exists, __all__ is sorted, and no public name is left out of it."""
    exported = pytest_sse_replay.__all__
    assert exported == sorted(exported)
    for name in exported:
        assert hasattr(pytest_sse_replay, name), name
    public = {
        name
        for name, value in vars(pytest_sse_replay).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "").startswith("pytest_sse_replay")
    }
    assert public <= set(exported)


def test_design_names_are_public() -> None:
    """The names the docs promise are importable from the package."""
    for name in [
        "parse_events",
        "SSEParser",
        "Event",
        "Cassette",
        "ReplayTransport",
        "RecordingTransport",
        "EventLog",
        "faults",
        "StallWithoutTimeout",
    ]:
        assert name in pytest_sse_replay.__all__
    for fault in [
        "split",
        "merge",
        "drop",
        "truncate",
        "error",
        "stall",
        "inject",
        "skip",
        "connection_limit",
    ]:
        assert callable(getattr(pytest_sse_replay.faults, fault))


def test_lazy_table_type_checking_imports_and_all_agree() -> None:
    """The names __all__ promises are exactly the lazily imported ones and the ones type
    checkers see, so a name added to one list and forgotten in another fails here."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(pytest_sse_replay.__file__).read_text(encoding="utf-8"))
    checked: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom)
                checked.update(alias.asname or alias.name for alias in statement.names)
    lazy = set(pytest_sse_replay._HOMES) | set(pytest_sse_replay._MODULES)
    assert lazy == set(pytest_sse_replay.__all__) == checked


def test_every_error_is_an_sse_replay_error() -> None:
    """Each error a user can catch is in the exceptions module, under SSEReplayError."""
    from pytest_sse_replay import exceptions

    for name in exceptions.__all__:
        error = getattr(exceptions, name)
        assert issubclass(error, exceptions.SSEReplayError), name
        assert error.__module__ == "pytest_sse_replay", name  # shown as users import it
    assert issubclass(exceptions.NoRecording, AssertionError)


def test_importing_the_plugin_imports_no_client_library_or_yaml() -> None:
    """pytest start-up pays only for the plugin's wiring: no httpx, yaml, aiohttp or requests."""
    import subprocess
    import sys

    code = (
        "import sys, pytest_sse_replay.plugin as p\n"
        "heavy = {'httpx', 'httpx2', 'respx', 'yaml', 'aiohttp', 'requests', 'anyio'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"
