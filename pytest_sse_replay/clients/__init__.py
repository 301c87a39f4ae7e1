"""One face per client library, the replay and recording transports, and the routing
that sends every client in the process through the active cassette."""

from __future__ import annotations

from ._answer import Answerer
from ._faces import Face
from ._recording import RecordingTransport
from ._replay import ReplayTransport
from ._routing import routed
from ._serve import FaultSpecError, ReplayServer, parse_fault

__all__ = [
    "Answerer",
    "Face",
    "FaultSpecError",
    "RecordingTransport",
    "ReplayServer",
    "ReplayTransport",
    "parse_fault",
    "routed",
]
