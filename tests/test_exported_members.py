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
