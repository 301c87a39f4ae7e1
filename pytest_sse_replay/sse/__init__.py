"""Events: the `Event` value, the WHATWG parser (bytes in, events out) and event patterns."""

from __future__ import annotations

from ._event import Event
from ._parser import BOM, LINE_END, SSEParser, event_boundaries, parse_events
from ._pattern import Pattern, compile_pattern

__all__ = [
    "BOM",
    "LINE_END",
    "Event",
    "Pattern",
    "SSEParser",
    "compile_pattern",
    "event_boundaries",
    "parse_events",
]
