"""The `sse-replay` command line: one module per command, on the public API."""

from __future__ import annotations

from ._main import main

__all__ = [
    "main",
]
