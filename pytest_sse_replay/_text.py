"""Small helpers for the text of messages, shared so every count reads the same way."""

from __future__ import annotations

__all__ = ["call", "clip", "one_line", "plural"]


def plural(count: int, singular: str, plural: str | None = None) -> str:
    """`1 event`, `0 events`, `2 events`; `plural` for irregular words (`1 match`, `2 matches`)."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def call(name: str, *args: object, **kwargs: object) -> str:
    """`name(arg, key=value)`, leaving out keywords whose value is None: how a message or a
    test id shows an assertion or a fault as it was written."""
    parts = [repr(arg) for arg in args]
    parts += [f"{key}={value!r}" for key, value in kwargs.items() if value is not None]
    return f"{name}({', '.join(parts)})"


def clip(text: str, width: int) -> str:
    """`text`, cut to `width` characters with "..." when it is longer."""
    return text if len(text) <= width else text[: width - 3] + "..."


def one_line(text: str) -> str:
    """`text` on one line: CR, LF and tab shown as escapes (event data in a timeline row)."""
    return text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
