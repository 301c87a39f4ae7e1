"""`sse-replay demo` and the bundled SSE server the demo and the tests record from."""

from __future__ import annotations

from ._origin import run_demo_server

__all__ = [
    "run_demo_server",
]
