"""The helpers every message uses: a count with its noun, and JSON read with bounded nesting."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_sse_replay._text import MAX_JSON_DEPTH, loads_json, plural

PACKAGE = Path(__file__).parents[2] / "pytest_sse_replay"


@given(st.integers(min_value=0, max_value=10**6))
def test_plural_agrees_with_the_count(count: int) -> None:
    """Exactly the count 1 takes the singular; every other count the plural."""
    text = plural(count, "event")
    assert text == (f"{count} event" if count == 1 else f"{count} events")


def test_plural_irregular() -> None:
    """An irregular plural is used as given."""
    assert plural(2, "match", "matches") == "2 matches"
    assert plural(1, "match", "matches") == "1 match"


def test_no_inline_plural_left_in_the_package() -> None:
    """No module builds its own plural suffix: every count goes through plural()."""
    inline = re.compile(
        r"""== 1 else ['"]s['"]|(event|value|interaction|check|rule|chunk|byte)\(s\)"""
    )
    offenders = [
        f"{path.name}:{number}"
        for path in sorted(PACKAGE.glob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if inline.search(line)
    ]
    assert offenders == []


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("data", [_nested(MAX_JSON_DEPTH), _nested(MAX_JSON_DEPTH).encode()])
def test_loads_json_reads_json_as_deep_as_the_limit(data: str | bytes) -> None:
    """JSON nested exactly MAX_JSON_DEPTH levels is read as json.loads reads it."""
    assert loads_json(data) == json.loads(data)


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 900, 100_000])
def test_loads_json_refuses_deeper_json_as_not_json(depth: int) -> None:
    """Deeper JSON is a ValueError (what callers already take as "not JSON"), never the
    RecursionError json.loads or a recursive walk of the value would raise."""
    for data in (_nested(depth), '{"a": ' + _nested(depth) + "}"):
        with pytest.raises(ValueError, match="nested deeper than"):
            loads_json(data)
