"""A recording test's report, scrubbed of the secrets its requests carried.

While recording, a secret can reach a test's output before redaction knows it is one: an
event that echoes a token is logged, then a later request sends that token in its
`Authorization` header; or the test's own assertion, print or log line shows a live key.
What pytest prints about a test (its failure, its captured output and logs) is built into
the report after the test ran, when every request of it is known: the report is scrubbed
there, in every form a secret is hunted in. Output that bypasses the report (`-s`, live
logging) is written as it happens and cannot be taken back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

__all__ = ["scrub_report"]

# pytest's failure representations are trees a few levels deep (chain -> traceback ->
# entry -> lines); the bound only guards against a cycle in a representation of a plugin.
_MAX_DEPTH = 16


def scrub_report(report: pytest.TestReport, scrub: Callable[[str], str]) -> None:
    """`report` with `scrub` applied to every text of its failure and its sections."""
    if report.longrepr is not None:
        report.longrepr = _scrubbed(report.longrepr, scrub, 0)  # type: ignore[assignment]
    report.sections = [(title, scrub(content)) for title, content in report.sections]
    # An xfail's reason, and what the test gave record_property (the JUnit XML's properties).
    reason = getattr(report, "wasxfail", None)
    if isinstance(reason, str):
        report.wasxfail = scrub(reason)
    report.user_properties = [
        (name, scrub(value) if isinstance(value, str) else value)
        for name, value in report.user_properties
    ]


def _scrubbed(value: object, scrub: Callable[[str], str], depth: int) -> object:
    if isinstance(value, str):
        return scrub(value)
    if depth >= _MAX_DEPTH:
        return value
    if isinstance(value, list):
        value[:] = [_scrubbed(item, scrub, depth + 1) for item in value]
        return value
    if isinstance(value, tuple):
        items = [_scrubbed(item, scrub, depth + 1) for item in value]
        maker: Any = type(value)  # a named tuple is rebuilt as one
        return maker(*items) if hasattr(value, "_fields") else tuple(items)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # pytest's ReprEntry, ReprFileLocation, ExceptionChainRepr...: their texts in place.
        for field in dataclasses.fields(value):
            current = getattr(value, field.name, None)
            new = _scrubbed(current, scrub, depth + 1)
            if new is not current:
                object.__setattr__(value, field.name, new)
    return value
