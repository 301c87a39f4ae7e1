"""The servers of the recording figures, each in a process of its own (loopback only).

`python -m bench._serve package` serves the project's own SSE server (demo._server);
`python -m bench._serve agent-run [--quick]` serves workload (b) from memory, one body message
per event, as a plain ASGI app. Either prints its base URL on one line, then serves until its
standard input closes. A process of its own keeps the server off the client's GIL: the figures
time the client, not two threads taking turns.

The servers are started here rather than with `pytest_sse_replay.demo._server.run_server`: that one
binds its socket as `socket(AF_INET, SOCK_STREAM)`, protocol 0, and asyncio sets TCP_NODELAY
only on sockets whose protocol is IPPROTO_TCP, so its connections keep Nagle's algorithm and
every request on a kept-alive connection waits ~40 ms for a delayed ACK (see
docs/performance.md). That wait would swamp what these figures measure.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pytest_sse_replay.demo._server import create_app

from ._workloads import FULL_SIZES, QUICK_SIZES, agent_run

__all__ = ["AGENT_RUN_PATH", "served"]

ROOT = Path(__file__).resolve().parent.parent
AGENT_RUN_PATH = "/agent-run"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def agent_run_app(events: int) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """An ASGI app answering GET /agent-run with workload (b), one body message per event."""
    chunks = agent_run(events).per_event
    headers = [
        (b"content-type", b"text/event-stream; charset=utf-8"),
        (b"cache-control", b"no-store"),
    ]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] != AGENT_RUN_PATH:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    return app


@contextmanager
def served(app: str, *, quick: bool = False) -> Iterator[str]:
    """Start `python -m bench._serve APP` and yield its base URL; stop it on exit."""
    command = [sys.executable, "-m", "bench._serve", app]
    if quick:
        command.append("--quick")
    process = subprocess.Popen(
        command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the bench server did not start (it printed {url!r})")
        yield url
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _serve(app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
    """Serve `app` on 127.0.0.1; print the URL once it listens; stop when stdin closes."""
    import uvicorn

    # IPPROTO_TCP, so that asyncio turns Nagle's algorithm off on every accepted connection.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        loop="asyncio",
        http="h11",
        ws="none",
        lifespan="off",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)

    def watch() -> None:
        while not server.started:
            time.sleep(0.005)
        print(f"http://127.0.0.1:{port}", flush=True)
        sys.stdin.read()  # until the parent closes it (or dies)
        server.should_exit = True

    threading.Thread(target=watch, daemon=True).start()
    server.run(sockets=[sock])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench._serve")
    parser.add_argument("app", choices=["package", "agent-run"])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.app == "package":
        # The project's own SSE server app; 1 ms between the events of a stream.
        _serve(create_app(delay=0.001))
    else:
        sizes = QUICK_SIZES if args.quick else FULL_SIZES
        _serve(agent_run_app(sizes["b"]))


if __name__ == "__main__":
    main()
