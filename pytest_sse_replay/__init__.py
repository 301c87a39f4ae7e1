"""pytest-sse-replay: record Server-Sent-Events streams once, replay them exactly."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import faults
    from ._aiohttp_face import recording_session, replay_session
    from ._cassette import Cassette, CassetteError
    from ._contract import Contract
    from ._event import Event
    from ._eventlog import EventLog
    from ._matching import NoRecording
    from ._network import NetworkEscape
    from ._parser import SSEParser, parse_events
    from ._plan import StallWithoutTimeout
    from ._recording import RecordingTransport
    from ._redact import Redaction
    from ._replay import ReplayTransport
    from ._requests_face import RecordingAdapter, ReplayAdapter
    from ._session import ActiveCassette

__all__ = [
    "ActiveCassette",
    "Cassette",
    "CassetteError",
    "Contract",
    "Event",
    "EventLog",
    "NetworkEscape",
    "NoRecording",
    "RecordingAdapter",
    "RecordingTransport",
    "Redaction",
    "ReplayAdapter",
    "ReplayTransport",
    "SSEParser",
    "StallWithoutTimeout",
    "faults",
    "parse_events",
    "recording_session",
    "replay_session",
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
    "NetworkEscape": "._network",
    "NoRecording": "._matching",
    "RecordingAdapter": "._requests_face",
    "RecordingTransport": "._recording",
    "Redaction": "._redact",
    "ReplayAdapter": "._requests_face",
    "ReplayTransport": "._replay",
    "SSEParser": "._parser",
    "StallWithoutTimeout": "._plan",
    "parse_events": "._parser",
    "recording_session": "._aiohttp_face",
    "replay_session": "._aiohttp_face",
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
