"""A small, real SSE server: the four stream shapes of docs/index.md and the faults of real servers.

The recording tests and `sse-replay demo` run against it. It listens on 127.0.0.1 only. It needs
the `server` extra (uvicorn, starlette, sse-starlette), imported only when the server is used.

Every stream is deterministic: the same request gives the same bytes, with small real gaps of
`delay` seconds between events so that a recording has a timeline.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import importlib
import json
import logging
import re
import socket
import threading
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

import anyio

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["create_app", "run_server"]

LF = "\n"
# sse-starlette's default line end, so what every server built on it sends.
CRLF = "\r\n"

JOB_STREAM_LIMIT = 10
RUN_STREAM_LIMIT = 5
_EXTRA_MODULES = ("uvicorn", "starlette", "sse_starlette")
# Upper bounds on the waits a client may ask for, so that no request can hold the server long.
_MAX_HOLD = 30.0
_MAX_WAIT = 10.0
# How often a long sleep looks at the stop flag: shutdown never waits longer than this.
_POLL = 0.02
# sse-starlette's keep-alive pings would add unrequested, clock-dependent comments to the
# streams (and end /silent's silence). `ping=0` disables them only since sse-starlette 3.x;
# before that 0 made the ping loop spin, so a day is used instead.
_NO_PING = 24 * 3600
_UTF8_BOM = b"\xef\xbb\xbf"


def _require_extra() -> None:
    try:
        for name in _EXTRA_MODULES:
            importlib.import_module(name)
    except ImportError as exc:
        missing = exc.name or "a dependency"
        msg = (
            f"the local SSE server needs {missing!r}, which is not installed: install the "
            "`server` extra, e.g. pip install 'pytest-sse-replay[server]'"
        )
        raise ImportError(msg, name=exc.name) from exc


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _digest(value: object) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def _event(
    sep: str,
    *,
    data: object = None,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
    comment: str | None = None,
) -> bytes:
    """One event encoded as sse-starlette encodes it, JSON data in compact form."""
    from sse_starlette import ServerSentEvent

    text = data if data is None or isinstance(data, str) else _dumps(data)
    return ServerSentEvent(text, event=event, id=id, retry=retry, comment=comment, sep=sep).encode()


def echo_forms(text: str) -> list[tuple[str, str]]:
    """`text` in every form a server may echo a value in: raw, percent-encoded (upper and
    lower hex, `+` for space), JSON-escaped (`\\/`, every character as `\\uXXXX` in either
    case) and base64 (standard and URL-safe, at each of the three byte alignments inside a
    longer blob). Each form is named, e.g. "base64-url-1"."""
    data = text.encode()
    upper = quote(text, safe="")
    forms = [
        ("raw", text),
        ("percent", upper),
        ("percent-lower", re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), upper)),
        ("percent-plus", quote_plus(text, safe="")),
        ("json-slash", json.dumps(text)[1:-1].replace("/", "\\/")),
        ("json-u", "".join(f"\\u{ord(c):04x}" for c in text)),
        ("json-U", "".join(f"\\u{ord(c):04X}" for c in text)),
    ]
    for k in range(3):
        blob = b"<>?"[:k] + data + b"~!"  # "~" and "?" make "/" and "_" in the encodings
        forms.append((f"base64-{k}", base64.b64encode(blob).decode()))
        forms.append((f"base64-url-{k}", base64.urlsafe_b64encode(blob).decode().rstrip("=")))
    return forms


def _json(body: object, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    from starlette.responses import JSONResponse

    return JSONResponse(body, status_code=status, headers=headers)


def _stream(
    chunks: AsyncIterator[bytes], *, sep: str, headers: Mapping[str, str] | None = None
) -> Response:
    from sse_starlette import EventSourceResponse

    return EventSourceResponse(chunks, headers=headers, sep=sep, ping=_NO_PING)


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return _json({"error": {"status": status, "message": message}}, status, headers)


def _last_event_id(request: Request) -> int:
    value = request.headers.get("last-event-id", "")
    return int(value) if value.isdigit() else 0


def _seconds(request: Request, name: str, *, default: float, cap: float) -> float | None:
    """A duration from the query string, clamped to [0, cap]; None when it is not a number."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        return None
    if value != value:  # NaN
        return None
    return min(max(value, 0.0), cap)


async def _json_object(request: Request) -> dict[str, Any] | None:
    """The request's JSON object body ({} when empty); None when it is not a JSON object."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _is_stream(response: Response) -> bool:
    content_type = response.headers.get("content-type", "")
    return response.status_code == 200 and content_type.startswith("text/event-stream")


def _score(agent: str) -> float:
    return int(hashlib.sha256(agent.encode()).hexdigest()[:4], 16) % 100 / 100


Named = tuple[str, dict[str, Any]]


def run_events(body: dict[str, Any]) -> tuple[list[Named], Named]:
    """The events of a multi-agent run for `body` (`agents`, and `fail: true` for the error
    path), and its terminal event. The demo's stdlib origin streams the same ones."""
    agents: list[str] = body["agents"]
    run_id = f"run_{_digest(body)}"
    scores = {agent: _score(agent) for agent in agents}
    events: list[Named] = [("job.started", {"runId": run_id, "agents": agents})]
    # Agents overlap: each starts before the previous one completes.
    for index, agent in enumerate(agents):
        events.append(("agent.started", {"agentId": agent}))
        if index:
            previous = agents[index - 1]
            events.append(("agent.completed", {"agentId": previous, "score": scores[previous]}))
    events.append(("agent.completed", {"agentId": agents[-1], "score": scores[agents[-1]]}))
    if body.get("fail") is True:
        return events, ("error", {"runId": run_id, "status": "error", "message": "the run failed"})
    score = round(sum(scores.values()) / len(scores), 4)
    events.append(("score.computed", {"runId": run_id, "score": score}))
    return events, ("complete", {"runId": run_id, "status": "complete"})


class _DeliberateBreak(Exception):
    """Raised by /break after a partial event, so uvicorn drops the connection."""


class _QuietDeliberateBreak(logging.Filter):
    # uvicorn logs every exception from the app with its traceback; /break's is intended.
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], _DeliberateBreak))


_QUIET_BREAK = _QuietDeliberateBreak()


class _Service:
    """The endpoints and their state (known jobs, the stop flag) for one app."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.stopping = threading.Event()
        self.jobs: dict[str, dict[str, Any]] = {}

    async def pause(self, seconds: float) -> bool:
        """Sleep, waking early when the server stops; True when it is stopping."""
        deadline = time.monotonic() + seconds
        while not self.stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            await anyio.sleep(min(remaining, _POLL))
        return True

    async def _paced(
        self, chunks: list[bytes], *, first_wait: float | None = None
    ) -> AsyncIterator[bytes]:
        """The chunks `delay` apart (the first after `first_wait`), until the server stops."""
        for index, chunk in enumerate(chunks):
            wait = self.delay if index or first_wait is None else first_wait
            if await self.pause(wait):
                return
            yield chunk

    # Shape 1: data-only events.
    async def generate(self, request: Request) -> Response:
        if not request.headers.get("x-api-key"):
            return _error(401, "missing x-api-key header")
        body = await _json_object(request)
        if body is None:
            return _error(400, "the body must be a JSON object")
        sections = body.get("sections", 3)
        fail = body.get("fail")
        if not isinstance(sections, int) or isinstance(sections, bool) or not 0 <= sections <= 100:
            return _error(400, "sections must be an integer from 0 to 100")
        if fail is not None and (not isinstance(fail, int) or isinstance(fail, bool)):
            return _error(400, "fail must be an HTTP status code")
        prompt = str(body.get("prompt", "the topic"))
        events = [
            {"type": "section", "index": index, "text": f"Section {index + 1} about {prompt}."}
            for index in range(sections)
        ]
        if fail is None:
            events.append({"type": "done"})
        else:
            # Mid-stream: after the first section, and nothing follows the error.
            events[1:] = [{"type": "error", "statusCode": fail}]
        return _stream(self._paced([_event(LF, data=event) for event in events]), sep=LF)

    # Shape 2: async job, then its stream.
    async def create_job(self, request: Request) -> Response:
        if not request.headers.get("x-api-key"):
            return _error(401, "missing x-api-key header")
        body = await _json_object(request)
        if body is None:
            return _error(400, "the body must be a JSON object")
        # Derived from the body, so a re-recording gets the same id whatever ran before.
        job_id = f"job_{_digest(body)}"
        self.jobs[job_id] = body
        return _json({"job_id": job_id})

    async def job_stream(self, request: Request) -> Response:
        api_key = request.query_params.get("api_key")
        if not api_key:
            return _error(401, "missing api_key query parameter")
        job_id = request.query_params.get("job_id", "")
        job = self.jobs.get(job_id)
        events: list[tuple[str, dict[str, Any]]]
        if job is None:
            events = [("error", {"sequence": 1, "job_id": job_id, "error": "unknown job"})]
        else:
            prompt = str(job.get("prompt", "the document"))
            events = [
                ("intermediate", {"sequence": 1, "job_id": job_id, "text": "Reading the input"}),
                ("intermediate", {"sequence": 2, "job_id": job_id, "text": "Drafting changes"}),
                (
                    "proposed_change",
                    {
                        "sequence": 3,
                        "job_id": job_id,
                        "change": {"op": "replace", "path": "/title", "value": prompt},
                    },
                ),
                ("final", {"sequence": 4, "job_id": job_id, "status": "succeeded"}),
                (
                    "usage",
                    {
                        "sequence": 5,
                        "job_id": job_id,
                        "input_tokens": len(prompt.split()),
                        "output_tokens": 42,
                        # Echoed on purpose: the redaction tests need a secret that reappears.
                        "api_key": api_key,
                    },
                ),
            ]
        # A reconnect with Last-Event-ID resumes after that event, as an EventSource expects.
        after = _last_event_id(request)
        chunks = [
            _event(CRLF, event=name, id=str(data["sequence"]), data=data)
            for name, data in events
            if data["sequence"] > after
        ]
        return _stream(self._paced(chunks), sep=CRLF, headers={"x-echo-key": api_key})

    # Shape 3: job status stream.
    async def job_status(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _error(401, "missing bearer token", {"WWW-Authenticate": "Bearer"})
        hold = _seconds(request, "hold", default=0.0, cap=_MAX_HOLD)
        if hold is None:
            return _error(400, "hold must be a number of seconds")
        job_id: str = request.path_params["job_id"]
        terminal: tuple[str, dict[str, Any], float]
        if job_id == "fail":
            terminal = ("failed", {"status": "failed", "error": "the job failed"}, 0.5)
        elif job_id == "cancel":
            terminal = ("canceled", {"status": "canceled"}, 0.25)
        else:
            terminal = ("completed", {"status": "completed", "job_id": job_id}, 1.0)
        name, data, reached = terminal
        events: list[bytes] = []
        if job_id != "done":  # "done" finished already: only its terminal event is sent
            events.append(_event(CRLF, event="status", data={"status": "queued"}, retry=2000))
            events.append(_event(CRLF, event="status", data={"status": "running"}))
            events.extend(
                _event(CRLF, event="progress", data={"progress": step / 4})
                for step in range(5)
                if step / 4 <= reached
            )
        heartbeat = _event(CRLF, comment="heartbeat")
        chunks: list[bytes] = []
        for event in events:
            chunks += [event, heartbeat]
        last = _event(CRLF, event=name, data=data)

        async def body() -> AsyncIterator[bytes]:
            async for chunk in self._paced(chunks):
                yield chunk
            if not await self.pause(hold) and not await self.pause(self.delay):
                yield last

        return _stream(body(), sep=CRLF)

    # Shape 4: multi-agent run.
    async def run(self, request: Request) -> Response:
        body = await _json_object(request)
        if body is None:
            return _error(400, "the body must be a JSON object")
        agents = body.get("agents")
        if (
            not isinstance(agents, list)
            or not agents
            or not all(isinstance(agent, str) for agent in agents)
        ):
            return _error(400, "agents must be a non-empty list of strings")
        hold = body.get("hold", 0)
        if not isinstance(hold, (int, float)) or isinstance(hold, bool):
            return _error(400, "hold must be a number of seconds")
        hold = min(max(float(hold), 0.0), _MAX_HOLD)
        if body.get("responseMode") != "stream":
            run_id = f"run_{_digest(body)}"
            if body.get("fail") is True:
                return _json({"runId": run_id, "status": "error", "message": "the run failed"})
            scores = {agent: _score(agent) for agent in agents}
            score = round(sum(scores.values()) / len(scores), 4)
            return _json({"runId": run_id, "status": "complete", "scores": scores, "score": score})
        events, terminal = run_events(body)
        chunks = [_event(LF, event=name, data=data) for name, data in events]
        last = _event(LF, event=terminal[0], data=terminal[1])

        async def stream() -> AsyncIterator[bytes]:
            async for chunk in self._paced(chunks):
                yield chunk
            if not await self.pause(hold) and not await self.pause(self.delay):
                yield last

        return _stream(stream(), sep=LF)

    # Faults and odd streams.
    async def silent(self, request: Request) -> Response:
        seconds = _seconds(request, "seconds", default=_MAX_HOLD, cap=_MAX_HOLD)
        if seconds is None:
            return _error(400, "seconds must be a number")

        async def body() -> AsyncIterator[bytes]:
            if await self.pause(self.delay):
                return
            yield _event(LF, data={"type": "tick", "n": 1})
            # Then nothing, until the silence is over or the server stops; the stream ends.
            await self.pause(seconds)

        return _stream(body(), sep=LF)

    async def endless(self, request: Request) -> Response:
        start = _last_event_id(request) + 1

        async def body() -> AsyncIterator[bytes]:
            n = start
            while not await self.pause(self.delay):
                yield _event(LF, id=str(n), data={"type": "tick", "n": n})
                n += 1

        return _stream(body(), sep=LF)

    async def gzip(self, request: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            compressor = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)  # a gzip container
            for n in (1, 2, 3):
                if await self.pause(self.delay):
                    break
                event = _event(LF, data={"type": "tick", "n": n})
                # A sync flush per event: the client can decode each event as it arrives.
                yield compressor.compress(event) + compressor.flush(zlib.Z_SYNC_FLUSH)
            yield compressor.flush()

        return _stream(body(), sep=LF, headers={"content-encoding": "gzip"})

    async def bom(self, request: Request) -> Response:
        first = _UTF8_BOM + _event(CRLF, data={"type": "text", "text": "héllo wörld"})
        second = _event(CRLF, data={"type": "text", "text": "日本語 🙂"})
        third = _event(CRLF, data={"type": "done"})
        # Write boundaries real servers produce: inside a multi-byte character, inside CRLF.
        in_char = second.index("本".encode()) + 1
        in_crlf = third.index(b"\r\n") + 1
        chunks = [first, second[:in_char], second[in_char:], third[:in_crlf], third[in_crlf:]]
        return _stream(self._paced(chunks), sep=CRLF)

    async def slow_first(self, request: Request) -> Response:
        wait = _seconds(request, "wait", default=0.2, cap=_MAX_WAIT)
        if wait is None:
            return _error(400, "wait must be a number of seconds")
        chunks = [_event(LF, data={"type": "tick", "n": n}) for n in (1, 2, 3)]
        # The headers go at once; the first event only after `wait`.
        return _stream(self._paced(chunks, first_wait=wait), sep=LF)

    async def status(self, request: Request) -> Response:
        from starlette.responses import Response

        code: int = request.path_params["code"]
        if not 200 <= code <= 599:
            return _error(400, "the status must be from 200 to 599")
        headers = {"Retry-After": "2"} if code == 429 else None
        if code in (204, 304):  # no body allowed
            return Response(status_code=code, headers=headers)
        try:
            reason = HTTPStatus(code).phrase
        except ValueError:
            reason = ""
        return _json({"status": code, "reason": reason}, code, headers)

    async def plain_json(self, request: Request) -> Response:
        return _json({"ok": True, "items": [1, 2, 3]})

    # Echoes everything the request carried (URL, headers, the user and password of a Basic
    # authorization, body) in every form of echo_forms(), each event cut in two chunks: the
    # redaction tests show that no echo of a secret reaches a cassette or an output.
    async def echo(self, request: Request) -> Response:
        material = [str(request.url), *(f"{k}: {v}" for k, v in request.headers.items())]
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            with contextlib.suppress(binascii.Error, UnicodeDecodeError):
                material.append(base64.b64decode(token).decode())
        material.append((await request.body()).decode("utf-8", "replace"))
        chunks: list[bytes] = []
        for text in material:
            for form, encoded in echo_forms(text):
                event = _event(LF, event=form, data=encoded)
                chunks += [event[: len(event) // 2], event[len(event) // 2 :]]
        chunks.append(_event(LF, event="done", data="{}"))

        async def body() -> AsyncIterator[bytes]:
            for chunk in chunks:
                if await self.pause(0.0005):
                    return
                yield chunk

        return _stream(body(), sep=LF)

    # Shape 4: a token stream whose shape request headers change, so that a test can make
    # the "live service" drift from its cassette without changing the URL it requests.
    async def tokens(self, request: Request) -> Response:
        shape = request.headers.get("x-shape", "")
        word = request.headers.get("x-word", "tok")
        try:
            count = min(max(int(request.headers.get("x-tokens", "3")), 0), 100)
        except ValueError:
            return _error(400, "x-tokens must be a whole number")
        if shape == "empty":
            return _stream(self._paced([]), sep=LF)
        token = "delta" if shape == "renamed" else "token"
        events = [_event(LF, event="message_start", data={"id": f"msg_{word}", "model": "m1"})]
        for n in range(count):
            index: object = str(n) if shape == "retyped" else n
            events.append(_event(LF, event=token, data={"text": f"{word}{n}", "index": index}))
        if shape != "truncated":  # truncated: the server ends the body early, cleanly
            events.append(_event(LF, event="message_stop", data={"usage": {"tokens": count}}))
        return _stream(self._paced(events), sep=LF)


class _Limited:
    """An endpoint whose event streams are capped: past `limit` open at once it answers 429."""

    def __init__(self, endpoint: Callable[[Request], Awaitable[Response]], limit: int) -> None:
        self._endpoint = endpoint
        self._limit = limit
        self._open = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from starlette.requests import Request

        response = await self._endpoint(Request(scope, receive, send))
        if not _is_stream(response):
            await response(scope, receive, send)
            return
        if self._open >= self._limit:
            # The stream built above was never started, so dropping it costs nothing.
            message = f"at most {self._limit} concurrent streams"
            await _error(429, message, {"Retry-After": "1"})(scope, receive, send)
            return
        # Counted around the whole response, so a stream closed by either side frees its slot.
        self._open += 1
        try:
            await response(scope, receive, send)
        finally:
            self._open -= 1


class _BreakMidEvent:
    """Three events, then half of a fourth, then the connection drops."""

    def __init__(self, service: _Service) -> None:
        self._service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        chunks = [_event(LF, data={"type": "tick", "n": n}) for n in (1, 2, 3)]
        chunks.append(b'data: {"type":"tick",')
        for chunk in chunks:
            if await self._service.pause(self._service.delay):
                break
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await self._service.pause(self._service.delay)
        # With the response started, uvicorn closes the connection without the final empty
        # chunk: the client sees the chunked body end early, as with a real dropped connection.
        msg = "connection broken on purpose by /break"
        raise _DeliberateBreak(msg)


def create_app(*, delay: float = 0.01) -> Starlette:
    """The SSE test server's app; `delay` is the real gap between events, in seconds."""
    if delay < 0:
        msg = f"delay must be >= 0, not {delay!r}"
        raise ValueError(msg)
    _require_extra()
    from starlette.applications import Starlette
    from starlette.routing import Route

    service = _Service(delay)
    routes = [
        Route("/v1/generate", service.generate, methods=["POST"]),
        Route("/v2/jobs", service.create_job, methods=["POST"]),
        Route("/v2/jobs/stream", service.job_stream, methods=["GET"]),
        Route(
            "/jobs/{job_id}/stream",
            _Limited(service.job_status, JOB_STREAM_LIMIT),
            methods=["GET"],
        ),
        Route("/runs", _Limited(service.run, RUN_STREAM_LIMIT), methods=["POST"]),
        Route("/break", _BreakMidEvent(service), methods=["GET"]),
        Route("/silent", service.silent, methods=["GET"]),
        Route("/endless", service.endless, methods=["GET"]),
        Route("/gzip", service.gzip, methods=["GET"]),
        Route("/bom", service.bom, methods=["GET"]),
        Route("/slow-first", service.slow_first, methods=["GET"]),
        Route("/status/{code:int}", service.status, methods=["GET"]),
        Route("/json", service.plain_json, methods=["GET"]),
        Route("/echo", service.echo, methods=["GET", "POST"]),
        Route("/tokens", service.tokens, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    # run_server sets it when stopping, so endless and silent streams end at once.
    app.state.stopping = service.stopping
    return app


def _stop_flag(app: object) -> threading.Event | None:
    flag = getattr(getattr(app, "state", None), "stopping", None)
    return flag if isinstance(flag, threading.Event) else None


@contextlib.contextmanager
def run_server(
    app: ASGIApp | None = None,
    *,
    delay: float = 0.01,
    port: int = 0,
    start_timeout: float = 10.0,
    stop_timeout: float = 5.0,
) -> Iterator[str]:
    """Serve `app` (by default `create_app(delay=delay)`) on 127.0.0.1 in a background thread.

    Yields the base URL, `http://127.0.0.1:PORT`, once the server accepts connections; port 0
    picks a free port. On exit the server stops: an app whose `app.state.stopping` is a
    `threading.Event` has it set so that its open streams can end; other streams are cancelled
    after a second. Starting and stopping each wait at most their timeout.
    """
    _require_extra()
    import uvicorn

    if app is None:
        app = create_app(delay=delay)
    stopping = _stop_flag(app)
    if stopping is not None:
        stopping.clear()
    logging.getLogger("uvicorn.error").addFilter(_QUIET_BREAK)  # idempotent

    # Bound here rather than by uvicorn, so the real port is known before it starts.
    # IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off only on sockets made so, and
    # with it on every request on a kept-alive connection waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    real_port: int = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        loop="asyncio",
        http="h11",
        ws="none",
        lifespan="off",
        # No logging set-up of ours: uvicorn's default would reconfigure the process' logging.
        log_config=None,
        access_log=False,
        # Deterministic headers: no Date, no Server.
        server_header=False,
        date_header=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported by the waiting thread
            errors.append(exc)

    thread = threading.Thread(target=serve, name=f"sse-replay-server-{real_port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + start_timeout
        while not server.started:
            if errors or not thread.is_alive():
                msg = "the local SSE server failed to start"
                raise RuntimeError(msg) from (errors[0] if errors else None)
            if time.monotonic() > deadline:
                msg = f"the local SSE server did not start within {start_timeout} s"
                raise TimeoutError(msg)
            time.sleep(0.005)
        yield f"http://127.0.0.1:{real_port}"
    finally:
        if stopping is not None:
            stopping.set()
        server.should_exit = True
        thread.join(stop_timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(stop_timeout)
        sock.close()
        if thread.is_alive():
            msg = f"the local SSE server did not stop within {2 * stop_timeout} s"
            raise RuntimeError(msg)
