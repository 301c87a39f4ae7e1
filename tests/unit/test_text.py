"""The one helper every message uses to print a count with its noun."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pytest_sse_replay._text import plural

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
