"""The `Event` value: one dispatched Server-Sent Event."""

from __future__ import annotations

from typing import Any

from .._text import loads_json

__all__ = ["Event"]

_UNSET: Any = object()


class Event:
    """One event as the WHATWG "dispatch the event" step produces it.

    `t` is when the event was complete, in seconds from sending the request. It is
    metadata about the delivery, not part of what the stream said, so it takes no part
    in equality: the same stream replayed at another speed yields equal events.
    """

    __slots__ = ("_name", "data", "id", "retry", "t", "type")

    def __init__(
        self,
        type: str = "message",
        data: str = "",
        id: str = "",
        retry: int | None = None,
        t: float = 0.0,
    ) -> None:
        self.type = type
        self.data = data
        self.id = id
        self.retry = retry
        self.t = t
        self._name: str = _UNSET

    @property
    def name(self) -> str:
        """The `event:` field if one was given, else the JSON data's `"type"`, else "message".

        Computed on first use: parsing every event's JSON eagerly would cost several
        times the parse itself, and most events are never asked for their name.
        """
        name = self._name
        if name is _UNSET:
            name = self.type
            if name == "message":
                name = _json_type(self.data) or "message"
            self._name = name
        return name

    def json(self) -> Any:
        """The data parsed as JSON (raises `json.JSONDecodeError` when it is not JSON)."""
        return loads_json(self.data)

    def encode(self) -> bytes:
        """This event serialised as an SSE block (LF line ends) that parses back to it."""
        lines = []
        if self.type != "message":
            lines.append(f"event: {self.type}")
        if self.id:
            lines.append(f"id: {self.id}")
        if self.retry is not None:
            lines.append(f"retry: {self.retry}")
        lines.extend(f"data: {line}" for line in self.data.split("\n"))
        return ("\n".join(lines) + "\n\n").encode()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return (
            self.type == other.type
            and self.data == other.data
            and self.id == other.id
            and self.retry == other.retry
        )

    def __hash__(self) -> int:
        return hash((self.type, self.data, self.id, self.retry))

    def __repr__(self) -> str:
        parts = [f"type={self.type!r}", f"data={self.data!r}"]
        if self.id:
            parts.append(f"id={self.id!r}")
        if self.retry is not None:
            parts.append(f"retry={self.retry!r}")
        if self.t:
            parts.append(f"t={self.t:.6f}")
        return f"Event({', '.join(parts)})"


def _json_type(data: str) -> str | None:
    # Cheap test first: only a JSON object can carry a "type" key.
    if not data.startswith("{"):
        return None
    try:
        value = loads_json(data)
    except ValueError:
        return None
    if isinstance(value, dict):
        kind = value.get("type")
        if isinstance(kind, str) and kind:
            return kind
    return None
