"""The I/O-free playback core: a recording becomes a `Script`, faults rewrite it, and a
`Plan` of steps (emit bytes, wait until, fail with) is what every client face walks."""

from __future__ import annotations

from ._arguments import check_faults, check_speed
from ._matching import REDACTED, Matcher, NoRecording, parse_ignore_json_paths, parse_match_on
from ._plan import (
    READ_TIMEOUT_MESSAGE,
    Fault,
    Plan,
    PlayContext,
    Script,
    Stall,
    StallWithoutTimeout,
    StreamFailure,
    walk,
)
from ._player import Playback, Played, Player
from ._ranges import shift_chunks, slice_chunks, time_before, without_ranges

__all__ = [
    "READ_TIMEOUT_MESSAGE",
    "REDACTED",
    "Fault",
    "Matcher",
    "NoRecording",
    "Plan",
    "PlayContext",
    "Playback",
    "Played",
    "Player",
    "Script",
    "Stall",
    "StallWithoutTimeout",
    "StreamFailure",
    "check_faults",
    "check_speed",
    "parse_ignore_json_paths",
    "parse_match_on",
    "shift_chunks",
    "slice_chunks",
    "time_before",
    "walk",
    "without_ranges",
]
