"""What the fast literal-block reader must do on any input: read what the safe loader reads.

Shared by tests/unit/cassette/test_hostile.py and tests/fuzz/fuzz_load.py.
"""

from __future__ import annotations

import math
from typing import Any

import yaml

from pytest_sse_replay.cassette._yamlio import RawText, YAMLError, load, load_fast

__all__ = ["check_fast_reader"]


def _plain(value: Any, inside: frozenset[int] = frozenset()) -> Any:
    """A document with RawText as text and NaN comparable (a cycle, made by aliases, marked)."""
    if isinstance(value, RawText):
        return bytes(value.data).decode("utf-8")
    if isinstance(value, (dict, list)):
        if id(value) in inside:
            return "<cycle>"
        inside = inside | {id(value)}
    if isinstance(value, dict):
        return {_plain(k, inside): _plain(v, inside) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(item, inside) for item in value]
    if isinstance(value, float) and math.isnan(value):
        return "<nan>"
    return value


def _outcome(read: Any, data: bytes) -> tuple[str, Any]:
    try:
        return "ok", read(data)
    except YAMLError as exc:
        return "error", type(exc).__name__


def _reference(data: bytes) -> tuple[str, Any]:
    try:
        return _outcome(
            lambda d: yaml.load(d, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)), data
        )
    except Exception as exc:  # PyYAML's own slips, e.g. IndexError for !!int ''
        return "error", type(exc).__name__


def check_fast_reader(data: bytes) -> None:
    """`load_fast(data)` is `load(data)`; it rejects whatever the safe YAML loader rejects, and
    where both read the file, the documents are equal."""
    fast, plain = _outcome(load_fast, data), _outcome(load, data)
    assert fast[0] == plain[0]
    if fast[0] == "error":
        assert fast[1] == plain[1]
    else:
        assert _plain(fast[1]) == _plain(plain[1])
    expected = _reference(data)
    if expected[0] == "error":
        assert fast[0] == "error"
    elif fast[0] == "ok":
        # Compared only when the reader accepted the file: then it has no aliases, and the
        # safe loader's document is no bigger than the file (an alias bomb never gets here).
        assert _plain(fast[1]) == _plain(expected[1])
    else:  # refused by the cassette rules only: an anchor, alias, tag, merge key, duplicate...
        assert fast[1] in ("Refused", "ConstructorError")
