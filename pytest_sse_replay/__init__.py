"""pytest-sse-replay: record Server-Sent-Events streams once, replay them exactly."""

from __future__ import annotations

from . import faults
from ._cassette import Cassette, CassetteError
from ._contract import Contract
from ._event import Event
from ._eventlog import EventLog
from ._matching import NoRecording
from ._parser import SSEParser, parse_events
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
    "faults",
    "parse_events",
]
