"""Small helpers for the text of messages, shared so every count reads the same way; and
the one reading of JSON text every layer shares."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_JSON_DEPTH", "call", "clip", "loads_json", "one_line", "plural"]

# Deeper JSON is read as not JSON. json.loads raises RecursionError (not ValueError) a little
# below 1000 levels, and code that walks a parsed value recursively fails well before that
# when called deep in a test's stack: a cassette, a stream or a request body could hold either.
MAX_JSON_DEPTH = 128


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


def loads_json(data: str | bytes | bytearray) -> Any:
    """`json.loads(data)`, raising ValueError (as for text that is not JSON) for a document
    nested deeper than MAX_JSON_DEPTH lists and objects."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    opens = (b"[", b"{") if isinstance(data, bytes | bytearray) else ("[", "{")
    if data.count(opens[0]) + data.count(opens[1]) <= MAX_JSON_DEPTH:  # type: ignore[arg-type]
        return value  # too few brackets to be too deep: the common case, decided in C
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return value
