"""pytest-sse-replay: record Server-Sent-Events streams once, replay them exactly."""

from __future__ import annotations

from ._cassette import Cassette, CassetteError
from ._event import Event
from ._matching import NoRecording
from ._parser import SSEParser, parse_events
from ._recording import RecordingTransport
from ._replay import ReplayTransport

__all__ = [
    "Cassette",
    "CassetteError",
    "Event",
    "NoRecording",
    "RecordingTransport",
    "ReplayTransport",
    "SSEParser",
    "parse_events",
]
