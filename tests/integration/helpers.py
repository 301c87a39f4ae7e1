"""Small helpers of the pytester-driven tests: the files an inner run works on."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


def write(pytester: pytest.Pytester, source: str, name: str = "test_user") -> Path:
    """A test module of the inner run, from indented source."""
    return pytester.makepyfile(**{name: textwrap.dedent(source)})


def cassette_file(pytester: pytest.Pytester, name: str) -> Path:
    """Where the inner run keeps cassette `name` (relative to its cassettes/ folder)."""
    return pytester.path / "cassettes" / name
