"""`sse-replay serve`: a real HTTP server on 127.0.0.1 that answers from a cassette.

For clients that are not httpx: a browser's `EventSource`, `requests`, `curl -N`. It uses
the standard library's `ThreadingHTTPServer` (no extra dependency) and the same playback
core as `ReplayTransport`: `Script.from_response`, each fault's `apply`, `plan()` and
`walk()`. Each step of the plan goes out as one HTTP/1.1 chunk, flushed at once, so the
client sees the recorded chunk boundaries at the recorded (or scaled) times. A fault that
breaks the stream closes the connection without the final empty chunk: the client sees
exactly what a real server dying mid-stream gives it. A request with `Last-Event-ID`
resumes after that event when the recorded stream has ids.

`sse_server_fixture` is the pytest fixture `sse_server`: the same server for the test's
`@pytest.mark.sse_cassette`, yielding its base URL.
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
import json
import re
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..cassette import Cassette, RecordedRequest, Redaction, StrPath
from ..exceptions import FaultSpecError
from ..playback import (
    Fault,
    NoRecording,
    Player,
    StallWithoutTimeout,
    StreamFailure,
    check_faults,
    check_speed,
    walk,
)
from ._answer import local_servers
from ._faces import header_bytes

__all__ = ["FaultSpecError", "ReplayServer", "parse_fault"]

HOST = "127.0.0.1"
# Headers that describe one connection, not the recorded response: the server sets its own.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "te",
        "trailer",
        "upgrade",
        "proxy-connection",
    }
)
# How often a stalled stream looks at its client and at the stop flag.
_POLL = 0.05


# --------------------------------------------------------------------------- faults


_FAULT_NAMES = (
    "split",
    "merge",
    "drop",
    "truncate",
    "error",
    "stall",
    "inject",
    "skip",
    "connection_limit",
)
# Arguments are split at commas that start another `name=`, so values may hold commas.
_ARG_SPLIT = re.compile(r",(?=\s*[A-Za-z_][A-Za-z0-9_]*\s*=)")


def _value(text: str) -> Any:
    text = text.strip()
    lowered = text.lower()
    if lowered in ("none", "null"):
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    if re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        return float(text)
    if text[:1] in "{[":
        with contextlib.suppress(ValueError):
            return json.loads(text)
    return text


def parse_fault(spec: str) -> Fault:
    """A fault from its command-line form: `NAME[:ARG,KEY=VALUE,...]`.

    `split:size=1`, `drop:after_events=3`, `error:429,times=2`, `stall:after_events=2,seconds=30`,
    `skip:agent.*`, `inject:after_events=1,event=error,data={"status":500}`. Values are read as
    numbers, `true`/`false`/`none`, JSON objects/lists, or text. For `inject`, the keys
    `event` (its name), `data`, `id` and `retry` describe the event to insert.
    """
    from .. import faults

    name, _, rest = spec.partition(":")
    name = name.strip().replace("-", "_")
    if name not in _FAULT_NAMES:
        raise FaultSpecError(
            f"unknown fault {name!r} in {spec!r}; choose one of: {', '.join(_FAULT_NAMES)}"
        )
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    if rest.strip():
        for part in _ARG_SPLIT.split(rest):
            key, eq, value = part.partition("=")
            # Only the first part can be unnamed: the split is before each `name=`.
            if eq and re.fullmatch(r"\s*[A-Za-z_][A-Za-z0-9_]*\s*", key):
                kwargs[key.strip()] = _value(value)
            else:
                args.append(_value(part))
    if name == "inject":
        args, kwargs = _inject_arguments(spec, args, kwargs)
    factory: Callable[..., Fault] = getattr(faults, name)
    _check_options(spec, name, factory, kwargs)
    try:
        return factory(*args, **kwargs)
    except (TypeError, ValueError) as exc:
        raise FaultSpecError(f"{spec!r}: {exc}") from None


def _check_options(
    spec: str, name: str, factory: Callable[..., Fault], kwargs: dict[str, Any]
) -> None:
    """Name an unknown option (and the close one meant) instead of Python's TypeError."""
    parameters = inspect.signature(factory).parameters
    known = [
        key
        for key, parameter in parameters.items()
        if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
    ]
    if name == "inject":  # the event's fields are options of the spec, not of inject()
        known = [key for key in known if key != "event"] + ["event", "data", "id", "retry"]
    if any(parameter.kind is parameter.VAR_KEYWORD for parameter in parameters.values()):
        return
    for key in kwargs:
        if key in known:
            continue
        message = f"{spec!r}: unknown option {key!r} for {name}"
        close = difflib.get_close_matches(key, known, n=1)
        if close:
            message += f"; did you mean {close[0]!r}?"
        else:
            message += f"; its options are: {', '.join(known) or 'none'}"
        raise FaultSpecError(message)


def _inject_arguments(
    spec: str, args: list[Any], kwargs: dict[str, Any]
) -> tuple[list[Any], dict[str, Any]]:
    from ..sse import Event

    fields = {key: kwargs.pop(key) for key in ("event", "data", "id", "retry") if key in kwargs}
    if args:
        fields.setdefault("event", args.pop(0))
    if "event" not in fields and "data" not in fields:
        raise FaultSpecError(f"{spec!r}: inject needs event=NAME and/or data=...")
    data = fields.get("data", "")
    if not isinstance(data, str):
        data = json.dumps(data, separators=(",", ":"))
    event_type = str(fields.get("event") or "message")
    retry = fields.get("retry")
    event = Event(
        type=event_type,
        data=data,
        id="" if fields.get("id") is None else str(fields["id"]),
        retry=int(retry) if retry is not None else None,
    )
    return [event, *args], kwargs


# --------------------------------------------------------------------------- the server


class _Player(Player):
    """The shared Player, plus what a server needs: recordings are matched whatever host
    they were made against, since requests arrive here at 127.0.0.1."""

    def __init__(
        self,
        cassette: Cassette,
        speed: float,
        faults: Sequence[Fault],
        match_on: Sequence[str] | None,
        ignore_json_paths: Sequence[str] = (),
        redaction: Redaction | None = None,
    ) -> None:
        super().__init__(
            cassette,
            speed=speed,
            faults=faults,
            match_on=match_on,
            ignore_json_paths=ignore_json_paths,
            redaction=redaction,
        )
        # (method, path) -> the recorded URL's origin, so a request to this server is
        # matched against recordings made at any host.
        self._origins: dict[tuple[str, str], str] = {}
        self._paths: dict[str, str] = {}
        for interaction in cassette:
            parts = urlsplit(interaction.request.url)
            origin = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
            key = (interaction.request.method.upper(), parts.path or "/")
            self._origins.setdefault(key, origin)
            self._paths.setdefault(parts.path or "/", origin)
        first = cassette.interactions[0].request.url if len(cassette) else "http://localhost/"
        parts = urlsplit(first)
        self._default_origin = urlunsplit((parts.scheme, parts.netloc, "", "", ""))

    def recorded_url(self, method: str, target: str) -> str:
        parts = urlsplit(target)
        path = parts.path or "/"
        origin = self._origins.get(
            (method.upper(), path), self._paths.get(path, self._default_origin)
        )
        return origin + path + (f"?{parts.query}" if parts.query else "")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Port 0 asks the OS for a free port; an explicit port that is busy must fail.
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: ReplayServer) -> None:
        self.owner = owner
        super().__init__(address, _Handler)


class _Aborted(Exception):
    """The stream ends here without its final chunk (a fault, or the server stopping)."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer
    # Replies are written as they are made (one write per chunk), never buffered.
    wbufsize = 0

    def setup(self) -> None:
        super().setup()
        self.server.owner._connections.add(self.connection)

    def finish(self) -> None:
        self.server.owner._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        # BaseHTTPRequestHandler's own lines (errors from parsing a bad request line).
        line = format % args
        path = getattr(self, "path", "")
        if path:
            line = line.replace(path, self._shown_path())
        self.server.owner.log(f"{self.address_string()} {line}")

    def _shown_path(self, live: RecordedRequest | None = None) -> str:
        """The request's path as a cassette would show it: a log must not print a live key."""
        redaction = self.server.owner.redaction
        secrets = redaction.request_secrets(live) if live is not None else ()
        return redaction.url(self.path, secrets)

    def do_GET(self) -> None:
        self._answer()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def do_OPTIONS(self) -> None:
        owner = self.server.owner
        if not owner.cors:
            self._answer()
            return
        # A CORS preflight: allow what the browser asks for (this server is local only).
        self._read_body()
        self.send_response_only(204)
        self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin") or "*")
        self.send_header("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
        asked = self.headers.get("Access-Control-Request-Headers")
        if asked:
            self.send_header("Access-Control-Allow-Headers", asked)
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    # -- reading ------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    # -- answering ----------------------------------------------------------------------

    def _answer(self) -> None:
        with self.server.owner.busy():
            self._answer_now()

    def _answer_now(self) -> None:
        owner = self.server.owner
        start = time.perf_counter()
        try:
            body = self._read_body()
        except ValueError:  # a Content-Length or chunk size that is not a number
            self.close_connection = True
            self._plain(400, "sse-replay: cannot read the request body\n")
            owner.log(f"{self.command} {self._shown_path()} -> 400 (bad request body)")
            return
        player = owner.player
        live = RecordedRequest(
            self.command,
            player.recorded_url(self.command, self.path),
            [(name.lower(), value) for name, value in self.headers.items()],
            body,
        )
        try:
            # A socket client's read timeout is its own business: a stall stays silent.
            playback = player.prepare(live, None)
        except NoRecording as exc:
            self._plain(404, f"sse-replay: {exc}\n")
            owner.log(f"{self.command} {self._shown_path(live)} -> 404 (no recording)")
            return
        with playback:
            plan = playback.plan
            wait = start + plan.head_at - time.perf_counter()
            if plan.head_at and wait > 0 and owner.stopping.wait(wait):
                self.close_connection = True
                return
            outcome = self._send(plan.status, plan.headers, plan.steps, start)
        resumed = live.header("last-event-id")
        if resumed is not None:
            outcome = f", Last-Event-ID {resumed}{outcome}"
        shown = self._shown_path(live)
        index = playback.played.index if playback.played is not None else "?"
        owner.log(f"{self.command} {shown} -> {plan.status} (#{index}){outcome}")

    def _plain(self, status: int, text: str) -> None:
        data = text.encode()
        self.send_response_only(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self._cors_header(())
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _cors_header(self, headers: Sequence[tuple[str, str]]) -> None:
        if self.server.owner.cors and not any(
            name.lower() == "access-control-allow-origin" for name, _ in headers
        ):
            self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin") or "*")

    def _send(
        self, status: int, headers: Sequence[tuple[str, str]], steps: Sequence[Any], start: float
    ) -> str:
        chunked = self.request_version == "HTTP/1.1"
        has_body = self.command != "HEAD" and status >= 200 and status not in (204, 304)
        self.send_response_only(status)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP:
                # send_header encodes strictly as latin-1: a value beyond it goes as the
                # bytes replay sends (UTF-8), not as a UnicodeEncodeError in the handler.
                self.send_header(
                    header_bytes(name).decode("latin-1"), header_bytes(value).decode("latin-1")
                )
        self._cors_header(headers)
        if has_body:
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:  # HTTP/1.0: the body ends when the connection closes
                self.close_connection = True
                self.send_header("Connection", "close")
        else:
            self.send_header("Content-Length", "0")
        self.end_headers()
        if not has_body:
            return ""
        stopping = self.server.owner.stopping
        write = self.wfile.write
        try:
            for item in walk(steps, start, time.perf_counter, None):
                if isinstance(item, bytes):
                    write(b"%x\r\n%s\r\n" % (len(item), item) if chunked else item)
                elif stopping.wait(item):
                    raise _Aborted
        except StreamFailure as failure:
            self.close_connection = True
            return f", broken off ({failure.error})"
        except StallWithoutTimeout:
            self._stall()
            self.close_connection = True
            return ", stalled"
        except _Aborted:
            self.close_connection = True
            return ", stopped"
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return ", client went away"
        if chunked:
            write(b"0\r\n\r\n")
        return ""

    def _stall(self) -> None:
        """Go silent until the client gives up or the server stops."""
        stopping = self.server.owner.stopping
        connection = self.connection
        with contextlib.suppress(OSError, ValueError):
            while not stopping.is_set():
                readable, _, _ = select.select([connection], [], [], _POLL)
                if readable and not connection.recv(1, socket.MSG_PEEK):
                    return


class ReplayServer:
    """A cassette served over HTTP on 127.0.0.1.

    `speed` as for `ReplayTransport` (0 delivers at once, 1 at the recorded pace), `faults`
    apply to event-stream responses. `port=0` picks a free port. Use as a context manager
    (serves from a background thread) or call `serve_forever()` (blocks until `stop()`).
    """

    def __init__(
        self,
        cassette: Cassette | StrPath,
        *,
        speed: float = 1.0,
        faults: Sequence[Fault] = (),
        match_on: Sequence[str] | None = None,
        ignore_json_paths: Sequence[str] = (),
        port: int = 0,
        cors: bool = True,
        log: Callable[[str], None] | None = None,
        redaction: Redaction | None = None,
    ) -> None:
        speed = check_speed(speed, "ReplayServer")
        faults = check_faults(faults, "ReplayServer")
        if not isinstance(cassette, Cassette):
            cassette = Cassette.load(cassette)
        self.cassette = cassette
        # What the access log and the 404 messages must not show (the clients' live keys).
        self.redaction = redaction or Redaction()
        self.player = _Player(
            cassette, speed, faults, match_on, ignore_json_paths, redaction=self.redaction
        )
        self.cors = cors
        self._log = log
        self.stopping = threading.Event()
        self._httpd = _HTTPServer((HOST, port), self)
        self._thread: threading.Thread | None = None
        # Open connections, so that stopping also ends idle keep-alive ones.
        self._connections: set[socket.socket] = set()
        # Requests being answered, so that stopping waits for them to finish (and log).
        self._busy = 0
        self._idle = threading.Condition()

    @property
    def port(self) -> int:
        port: int = self._httpd.server_address[1]
        return port

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log(self, line: str) -> None:
        if self._log is not None:
            self._log(line)

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        with self._idle:
            self._busy += 1
        try:
            yield
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    def serve_forever(self) -> None:
        self._httpd.serve_forever(poll_interval=0.1)

    def start(self) -> str:
        self._thread = threading.Thread(
            target=self.serve_forever, name=f"sse-replay-serve-{self.port}", daemon=True
        )
        self._thread.start()
        local_servers.add(self.url)  # in-process routing leaves requests to it alone
        return self.url

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, end open streams (stalled ones included), close the socket."""
        self.stopping.set()
        local_servers.discard(self.url)
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout)
            self._thread = None
        with self._idle:
            # Streams end at once when `stopping` is set; a write to a stuck client may not.
            self._idle.wait_for(lambda: self._busy == 0, timeout)
        self._httpd.server_close()
        for connection in list(self._connections):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- the fixture
