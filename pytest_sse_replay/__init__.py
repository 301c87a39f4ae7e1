"""pytest-sse-replay: record Server-Sent-Events streams once, replay them exactly."""

from __future__ import annotations

from ._cassette import Cassette, CassetteError
from ._event import Event

__all__ = [
    "Cassette",
    "CassetteError",
    "Event",
]
