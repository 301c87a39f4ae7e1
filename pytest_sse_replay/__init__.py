"""pytest-sse-replay: record Server-Sent-Events streams once, replay them exactly."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import faults
    from ._cassette import Cassette, CassetteError
    from ._contract import Contract
    from ._event import Event
    from ._eventlog import EventLog
    from ._matching import NoRecording
    from ._parser import SSEParser, parse_events
    from ._plan import StallWithoutTimeout
    from ._recording import RecordingTransport
    from ._redact import Redaction
    from ._replay import ReplayTransport
    from ._session import ActiveCassette

__all__ = [
    "ActiveCassette",
    "Cassette",
    "CassetteError",
    "Contract",
    "Event",
    "EventLog",
    "NoRecording",
    "RecordingTransport",
    "Redaction",
    "ReplayTransport",
    "SSEParser",
    "StallWithoutTimeout",
    "faults",
    "parse_events",
]

# Imported on first use (PEP 562): the pytest plugin lives in this package, so whatever this
# module imports, every pytest run pays for at start-up, cassettes used or not.
_HOMES = {
    "ActiveCassette": "._session",
    "Cassette": "._cassette",
    "CassetteError": "._cassette",
    "Contract": "._contract",
    "Event": "._event",
    "EventLog": "._eventlog",
    "NoRecording": "._matching",
    "RecordingTransport": "._recording",
    "Redaction": "._redact",
    "ReplayTransport": "._replay",
    "SSEParser": "._parser",
    "StallWithoutTimeout": "._plan",
    "parse_events": "._parser",
}


def __getattr__(name: str) -> Any:
    if name == "faults":
        value: Any = importlib.import_module(".faults", __name__)
    elif name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name], __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
