"""The aiohttp face: `replay_session`, `recording_session`, and routing of every session.

A replayed response is a real `aiohttp.ClientResponse` whose `content` is a real
`StreamReader` fed from the plan one recorded chunk per read, at the plan's pace: whatever
read method the client uses is aiohttp's own. A recording hands the client a reader of the
same kind fed from the live one, noting each chunk and its time as the client receives it.
aiohttp's private parts are all in `_aiohttp_private`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import urlencode

import aiohttp
from aiohttp.http_exceptions import ContentLengthError, TransferEncodingError
from multidict import CIMultiDictProxy

from ..cassette import Cassette, RecordedRequest, Redaction, StrPath, header_value
from ..faults import BROKEN_CHUNKED
from ..playback import Fault, StreamFailure
from ._aiohttp_internals import (
    Handler,
    Pull,
    PullReader,
    build_response,
    patched_request,
    request_defaults,
    set_content,
)
from ._answer import Answer, Answerer, is_local_server
from ._recording import recording_cassette
from ._replay import ReplayTransport

__all__ = ["recording_session", "replay_session", "routed_aiohttp"]

_DECODED = ("gzip", "x-gzip", "deflate", "br", "zstd")

# aiohttp >= 3.10 raises SocketTimeoutError (a ServerTimeoutError) when sock_read runs out.
_SOCKET_TIMEOUT: type[Exception] = getattr(
    aiohttp, "SocketTimeoutError", aiohttp.ServerTimeoutError
)
_SOCKET_TIMEOUT_MESSAGE = "Timeout on reading data from socket"

# A cassette names endings in httpx's words whichever library recorded them, so any face
# can replay them: these carry those names into the recorder.
_RemoteProtocolError = type("RemoteProtocolError", (Exception,), {})
_ReadTimeout = type("ReadTimeout", (Exception,), {})


def _error(failure: StreamFailure, headers: Sequence[tuple[str, str]]) -> Exception:
    """The core's neutral failure as what aiohttp really raises (checked side by side with a
    real server in tests/integration/test_client_fault_realism.py)."""
    if failure.error == "ReadTimeout":
        return _SOCKET_TIMEOUT(_SOCKET_TIMEOUT_MESSAGE)
    if failure.error == "RemoteProtocolError":
        cause: Exception
        if header_value(headers, "content-length") is not None:
            cause = ContentLengthError("Not enough data to satisfy content length header.")
        else:
            cause = TransferEncodingError("Not enough data to satisfy transfer length header.")
        return aiohttp.ClientPayloadError(f"Response payload is not completed: {cause!r}")
    return aiohttp.ClientPayloadError(f"{failure.error}: {failure.message}")


def _body(kwargs: dict[str, Any], dumps: Callable[[Any], str]) -> tuple[bytes, str | None]:
    """The request body as bytes, and the Content-Type aiohttp would add for it."""
    data, json = kwargs.get("data"), kwargs.get("json")
    if json is not None:
        return dumps(json).encode("utf-8"), "application/json"
    if data is None:
        return b"", None
    if isinstance(data, bytes | bytearray):
        return bytes(data), "application/octet-stream"
    if isinstance(data, str):
        return data.encode("utf-8"), "text/plain; charset=utf-8"
    if isinstance(data, dict | list | tuple):
        return urlencode(data, doseq=True).encode(), "application/x-www-form-urlencoded"
    return b"", None  # a stream or a FormData: not replayed byte for byte


def _replay_pull(answer: Answer) -> Pull:
    plan = answer.plan
    steps = answer.steps()

    async def pull() -> bytes | None:
        try:
            for item in steps:
                if isinstance(item, float):
                    await asyncio.sleep(item)
                    continue
                return item
        except StreamFailure as failure:
            answer.close()
            raise _error(failure, plan.headers) from None
        return None

    return pull


def _ready(answer: Answer) -> Iterator[bytes] | None:
    """The chunks, when the plan has nothing to wait for, fail with or observe."""
    plan = answer.plan
    if plan.plain and answer.observe is None:
        return iter(cast("list[bytes]", plan.steps))
    return None


def _recording_pull(inner: aiohttp.StreamReader, sink: Any) -> Pull:
    async def pull() -> bytes | None:
        try:
            data = await inner.readany()
        except aiohttp.ClientPayloadError:
            sink.failed(_RemoteProtocolError(BROKEN_CHUNKED))
            raise
        except asyncio.TimeoutError:
            sink.failed(_ReadTimeout(""))  # httpx's async words for it
            raise
        except BaseException as exc:
            sink.failed(exc)
            raise
        if not data:
            sink.complete()
            return None
        sink.chunk(data)
        return data

    return pull


async def _serve(
    answerer: Answerer,
    session: aiohttp.ClientSession,
    method: str,
    str_or_url: Any,
    kwargs: dict[str, Any],
    original: Handler,
) -> aiohttp.ClientResponse:
    url, headers, timeout, raise_for_status, dumps, auto_decompress = request_defaults(
        session, str_or_url, kwargs
    )
    if is_local_server(str(url)):  # a replay server of this process (sse_server), unrecorded
        return await original(session, method, str_or_url, **kwargs)
    params = kwargs.get("params")
    if params:
        url = url.extend_query(params)
    body, content_type = _body(kwargs, dumps)
    if content_type is not None and "content-type" not in headers:
        headers["Content-Type"] = content_type
    method = method.upper()
    live = RecordedRequest(method, str(url), [(k.lower(), v) for k, v in headers.items()], body)
    sock_read = timeout.sock_read
    answer = answerer.answer(live, sock_read)
    if answer is None:
        recorded = await _record(
            answerer, session, live, str_or_url, kwargs, original, auto_decompress, sock_read
        )
        if not isinstance(recorded, Answer):
            return recorded
        answer = recorded
    delay = answer.head_delay()
    if delay > 0:
        if sock_read is not None and delay > sock_read:
            answer.close()
            raise _SOCKET_TIMEOUT(_SOCKET_TIMEOUT_MESSAGE)
        await asyncio.sleep(delay)
    plan = answer.plan
    response = build_response(
        session,
        method,
        url,
        CIMultiDictProxy(headers),
        plan.status,
        _reason(plan.status),
        plan.headers,
        PullReader(_replay_pull(answer), ready=_ready(answer)),
        answer.close,
    )
    if callable(raise_for_status):
        await raise_for_status(response)
    elif raise_for_status:
        response.raise_for_status()
    return response


async def _record(
    answerer: Answerer,
    session: aiohttp.ClientSession,
    live: RecordedRequest,
    str_or_url: Any,
    kwargs: dict[str, Any],
    original: Handler,
    auto_decompress: bool,
    sock_read: float | None,
) -> aiohttp.ClientResponse | Answer:
    """Send `live` and record it: the response teed to the client as it arrives, or, for
    an event stream under faults, the stream read whole and its faulted plan to play."""
    start = answerer.clock()
    with answerer.network():
        response = await original(session, live.method, str_or_url, **kwargs)
    # The headers aiohttp really sent (Host, User-Agent...), as httpx's recordings have them.
    sent = response.request_info.headers
    live.headers = [(k.lower(), v) for k, v in sent.items()] or live.headers
    received = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in response.raw_headers]
    encoding = (response.headers.get("content-encoding") or "").strip().lower()
    decoded = encoding if auto_decompress and encoding in _DECODED else ""
    sink = answerer.record(
        live, response.status, received, start, decoded=decoded, client="aiohttp"
    )
    pull = _recording_pull(response.content, sink)
    if not answerer.plays_recorded(sink.interaction):
        set_content(response, PullReader(pull))
        return response
    with answerer.network():
        try:
            while await pull() is not None:
                pass
        except (aiohttp.ClientError, asyncio.TimeoutError):
            pass  # the recording ends with it, and the plan raises it again
        finally:
            response.close()
    return answerer.replay_recorded(live, sink.interaction, sock_read)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class _Routes:
    """Which answerer a session's requests go to; the patch is on while any is registered.

    A standalone session (`replay_session`) is looked up by identity first; every other
    session goes to the innermost active cassette (the plugin's), or to the network.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[int, Answerer] = {}
        self._active: list[Answerer] = []
        self._users = 0
        self._patch: contextlib.ExitStack | None = None

    async def route(
        self,
        session: aiohttp.ClientSession,
        method: str,
        str_or_url: Any,
        kwargs: dict[str, Any],
        original: Handler,
    ) -> Any:
        answerer = self._sessions.get(id(session))
        if answerer is None and self._active:
            answerer = self._active[-1]
        if answerer is None:
            return await original(session, method, str_or_url, **kwargs)
        return await _serve(answerer, session, method, str_or_url, kwargs, original)

    @contextlib.contextmanager
    def using(self, answerer: Answerer, session: aiohttp.ClientSession | None) -> Iterator[None]:
        with self._lock:
            if session is None:
                self._active.append(answerer)
            else:
                self._sessions[id(session)] = answerer
            self._users += 1
            if self._patch is None:
                self._patch = contextlib.ExitStack()
                self._patch.enter_context(patched_request(self.route))
        try:
            yield
        finally:
            with self._lock:
                if session is None:
                    self._active.remove(answerer)
                else:
                    self._sessions.pop(id(session), None)
                self._users -= 1
                if self._users == 0 and self._patch is not None:
                    self._patch.close()
                    self._patch = None


_ROUTES = _Routes()


@contextlib.contextmanager
def routed_aiohttp(answerer: Answerer) -> Iterator[None]:
    """While active, every aiohttp request (of any session) goes to `answerer`."""
    with _ROUTES.using(answerer, None):
        yield


@contextlib.asynccontextmanager
async def replay_session(
    cassette: Cassette | StrPath,
    *,
    speed: float = 0.0,
    faults: Sequence[Fault] = (),
    match_on: Sequence[str] | None = None,
    **session_kwargs: Any,
) -> AsyncIterator[aiohttp.ClientSession]:
    """An `aiohttp.ClientSession` answered from `cassette`, without the pytest plugin.

    `speed`, `faults` and `match_on` as for `ReplayTransport`; `session_kwargs` go to the
    session (`timeout=aiohttp.ClientTimeout(sock_read=...)` is the read timeout that
    faults.stall outlasts). `resp.content` yields the recorded chunks at the recorded
    pace; a request with no recording raises `NoRecording`.
    """
    transport = ReplayTransport(cassette, speed=speed, faults=faults, match_on=match_on)
    async with aiohttp.ClientSession(**session_kwargs) as session:
        with _ROUTES.using(Answerer(transport, None), session):
            yield session


@contextlib.asynccontextmanager
async def recording_session(
    cassette: Cassette | StrPath | None = None,
    *,
    redaction: Redaction | None = None,
    **session_kwargs: Any,
) -> AsyncIterator[aiohttp.ClientSession]:
    """An `aiohttp.ClientSession` whose every interaction is recorded into `cassette`.

    Each chunk is handed to the client as it arrives and noted with its time. A cassette
    given as a path, or a `Cassette` with a path, is written (redacted, with `redaction` or
    the default lists) when the block ends; a `Cassette` object shows what was recorded.
    """
    cassette = recording_cassette(cassette, "recording_session")
    async with aiohttp.ClientSession(**session_kwargs) as session:
        with _ROUTES.using(Answerer(None, cassette), session):
            yield session
    if cassette.path is not None and cassette.interactions:
        (redaction or Redaction()).apply(cassette)
        cassette.save()
