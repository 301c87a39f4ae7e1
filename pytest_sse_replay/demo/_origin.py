"""The origin server of `sse-replay demo`, on the standard library alone.

The demo must work on a bare `pip install pytest-sse-replay`, so it cannot use the bundled
server of the recording tests (uvicorn, starlette, sse-starlette: the `server` extra). This
one answers the one request the demo makes, `POST /runs`, with the same multi-agent stream,
byte for byte (the same event encoding, run id and scores), sent as a real server sends it:
HTTP/1.1 chunked transfer encoding, one chunk per event, `delay` real seconds apart. Like
`sse-replay serve`, it is a `http.server.ThreadingHTTPServer` on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ._server import _dumps
from ._server import run_events as _server_run_events

__all__ = ["run_demo_server", "run_events"]

HOST = "127.0.0.1"
# The most the demo's origin reads of a request body: the demo sends a few dozen bytes.
_MAX_BODY = 64 * 1024


def run_events(body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The events of a multi-agent run for `agents`, as the bundled server streams them."""
    events, terminal = _server_run_events(body)
    return [*events, terminal]


def _encode(name: str, data: object) -> bytes:
    """One event as sse-starlette encodes it with LF line ends."""
    return f"event: {name}\ndata: {_dumps(data)}\n\n".encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.stopping = threading.Event()
        super().__init__((HOST, 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the demo prints what it records itself."""

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0] != "/runs":
            self._answer(404, {"error": {"status": 404, "message": f"no route {self.path}"}})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(min(length, _MAX_BODY)))
        except ValueError:
            body = None
        agents = body.get("agents") if isinstance(body, dict) else None
        if not (isinstance(agents, list) and agents and all(isinstance(a, str) for a in agents)):
            self._answer(400, {"error": {"status": 400, "message": "agents must be a list"}})
            return
        assert isinstance(body, dict)
        self.send_response_only(200)
        self.send_header("cache-control", "no-store")
        self.send_header("connection", "keep-alive")
        self.send_header("x-accel-buffering", "no")
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        stopping = self.server.stopping
        try:
            for name, data in run_events(body):
                if stopping.wait(self.server.delay):
                    self.close_connection = True
                    return
                chunk = _encode(name, data)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _answer(self, status: int, value: object) -> None:
        data = _dumps(value).encode()
        self.send_response_only(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextlib.contextmanager
def run_demo_server(delay: float = 0.05) -> Iterator[str]:
    """Serve `POST /runs` on a free port of 127.0.0.1 from a thread; yields the base URL."""
    server = _Server(delay)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}"
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
