"""pytest-sse-replay: record Server-Sent-Events streams once, replay them exactly."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import exceptions, faults
    from .assertions._contract import Contract, RuleResult
    from .assertions._eventlog import EventLog
    from .cassette._model import Cassette
    from .cassette._redact import Redaction
    from .clients._aiohttp import recording_session, replay_session
    from .clients._recording import RecordingTransport
    from .clients._replay import ReplayTransport
    from .clients._requests import RecordingAdapter, ReplayAdapter
    from .exceptions import (
        CassetteError,
        FaultSpecError,
        NetworkEscape,
        NoRecording,
        SSEReplayError,
        StallWithoutTimeout,
    )
    from .plugin._session import ActiveCassette
    from .sse._event import Event
    from .sse._parser import SSEParser, parse_events

__all__ = [
    "ActiveCassette",
    "Cassette",
    "CassetteError",
    "Contract",
    "Event",
    "EventLog",
    "FaultSpecError",
    "NetworkEscape",
    "NoRecording",
    "RecordingAdapter",
    "RecordingTransport",
    "Redaction",
    "ReplayAdapter",
    "ReplayTransport",
    "RuleResult",
    "SSEParser",
    "SSEReplayError",
    "StallWithoutTimeout",
    "exceptions",
    "faults",
    "parse_events",
    "recording_session",
    "replay_session",
]

# Imported on first use (PEP 562): the pytest11 entry point (`pytest_sse_replay.plugin`) is
# inside this package, so whatever this module imports, every pytest run pays for at start-up,
# cassettes used or not. The lists above are for readers and type checkers; this table is the
# one the interpreter uses, and tests/unit/test_exported_members.py holds the three together.
_HOMES = {
    "ActiveCassette": ".plugin._session",
    "Cassette": ".cassette._model",
    "CassetteError": ".exceptions",
    "Contract": ".assertions._contract",
    "Event": ".sse._event",
    "EventLog": ".assertions._eventlog",
    "FaultSpecError": ".exceptions",
    "NetworkEscape": ".exceptions",
    "NoRecording": ".exceptions",
    "RecordingAdapter": ".clients._requests",
    "RecordingTransport": ".clients._recording",
    "Redaction": ".cassette._redact",
    "ReplayAdapter": ".clients._requests",
    "ReplayTransport": ".clients._replay",
    "RuleResult": ".assertions._contract",
    "SSEParser": ".sse._parser",
    "SSEReplayError": ".exceptions",
    "StallWithoutTimeout": ".exceptions",
    "parse_events": ".sse._parser",
    "recording_session": ".clients._aiohttp",
    "replay_session": ".clients._aiohttp",
}
_MODULES = ("exceptions", "faults")


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        value: Any = importlib.import_module(f".{name}", __name__)
    elif name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name], __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
