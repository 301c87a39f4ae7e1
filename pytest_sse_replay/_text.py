"""Small helpers for the text of messages, shared so every count reads the same way."""

from __future__ import annotations

__all__ = ["plural"]


def plural(count: int, singular: str, plural: str | None = None) -> str:
    """`1 event`, `0 events`, `2 events`; `plural` for irregular words (`1 match`, `2 matches`)."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"
