"""Cassettes: the recorded interactions, their YAML file, and redaction of secrets."""

from __future__ import annotations

from ._atomic import remove_stale_temporaries_in
from ._file import url_problem
from ._model import (
    CLIENT_CLOSED,
    COMPLETE,
    ERROR_NAMES,
    REDACTED,
    Cassette,
    CassetteError,
    Chunk,
    Ending,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    StrPath,
    header_value,
    is_event_stream,
    round_us,
    set_chunk_data,
    set_chunk_t,
)
from ._provenance import expired_by, major_changes, note, now, parse_age
from ._redact import Redaction
from ._yamlio import field_locator

__all__ = [
    "CLIENT_CLOSED",
    "COMPLETE",
    "ERROR_NAMES",
    "REDACTED",
    "Cassette",
    "CassetteError",
    "Chunk",
    "Ending",
    "Interaction",
    "RecordedRequest",
    "RecordedResponse",
    "Redaction",
    "StrPath",
    "expired_by",
    "field_locator",
    "header_value",
    "is_event_stream",
    "major_changes",
    "note",
    "now",
    "parse_age",
    "remove_stale_temporaries_in",
    "round_us",
    "set_chunk_data",
    "set_chunk_t",
    "url_problem",
]
