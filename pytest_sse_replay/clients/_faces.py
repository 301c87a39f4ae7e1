"""One thin face per HTTP client library (httpx, httpx2): their types, nothing else.

httpx2 keeps httpx's API under another module name, so a face is the same code bound to a
different module. The playback and recording logic never imports either library; it asks
the face of the request in hand for a response, a stream or an exception. Each library's
client checks `isinstance(response.stream, SyncByteStream)` against its own class, so
each face has its own stream classes, built on one shared body of code.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from types import ModuleType
from typing import Any

import anyio
import httpx

from ..cassette import ERROR_NAMES, RecordedRequest
from ..playback import Plan, StreamFailure, walk

_httpx2: ModuleType | None
try:  # httpx2 is optional: `pytest-sse-replay[httpx2]`, Python >= 3.11.
    import httpx2 as _httpx2
except ImportError:  # pragma: no cover - exercised only where httpx2 is not installed
    _httpx2 = None

__all__ = ["Face", "face_for", "header_bytes"]

Clock = Callable[[], float]


def header_bytes(text: str) -> bytes:
    """A recorded header name or value as the bytes on the wire.

    Recording reads header bytes as latin-1, so latin-1 gives them back exactly; a
    hand-written value beyond latin-1 ("\u2713") goes as UTF-8, as a server would send
    it. Left as str, httpx encodes it as ASCII and raises UnicodeEncodeError."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


class Face:
    """The parts of one client library that playback and recording need."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.name: str = module.__name__
        self.request_type: type[Any] = module.Request
        sync_base, async_base = module.SyncByteStream, module.AsyncByteStream
        self._replay_streams = (
            type("ReplayStream", (_ReplayStreamBody, sync_base), {}),
            type("AsyncReplayStream", (_ReplayStreamBody, async_base), {}),
        )
        self._recording_streams = (
            type("RecordingStream", (_RecordingStreamBody, sync_base), {}),
            type("AsyncRecordingStream", (_RecordingStreamBody, async_base), {}),
        )

    def __repr__(self) -> str:
        return f"<Face {self.name}>"

    # -- requests -------------------------------------------------------------------------

    @staticmethod
    def text_headers(headers: Any) -> list[tuple[str, str]]:
        """A request's or response's headers as recorded: lower-case names, order kept."""
        return [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in headers.raw]

    def recorded_request(self, request: Any, body: bytes) -> RecordedRequest:
        return RecordedRequest(
            str(request.method), str(request.url), self.text_headers(request.headers), body
        )

    @staticmethod
    def read_timeout(request: Any) -> float | None:
        timeout = request.extensions.get("timeout") or {}
        value = timeout.get("read")
        return None if value is None else float(value)

    # -- responses ------------------------------------------------------------------------

    def response(self, status: int, headers: Sequence[tuple[str, str]], stream: Any) -> Any:
        raw = [(header_bytes(name), header_bytes(value)) for name, value in headers]
        return self.module.Response(
            status, headers=raw, stream=stream, extensions={"http_version": b"HTTP/1.1"}
        )

    def replay_stream(
        self,
        plan: Plan,
        *,
        request: Any,
        start: float,
        clock: Clock,
        observe: Callable[[bytes], None] | None = None,
        on_close: Callable[[], None] | None = None,
        is_async: bool,
    ) -> Any:
        cls = self._replay_streams[is_async]
        return cls(self, plan, request, start, clock, observe, on_close)

    def recording_stream(self, inner: Any, sink: ChunkSink, *, is_async: bool) -> Any:
        return self._recording_streams[is_async](inner, sink)

    def error(self, name: str, message: str, request: Any = None) -> Exception:
        """An exception of `name` from this library, e.g. RemoteProtocolError."""
        cls = getattr(self.module, name, None) if name in ERROR_NAMES else None
        if not (isinstance(cls, type) and issubclass(cls, self.module.RequestError)):
            # An ending built in code with another name (a cassette file holds only these
            # names): the nearest honest one. HTTPStatusError, say, needs a response to exist.
            cls = self.module.ReadError
            message = f"{name}: {message}"
        return cls(message, request=request)  # type: ignore[no-any-return]

    @contextlib.contextmanager
    def mapped_failures(self, request: Any, *, is_async: bool) -> Iterator[None]:
        """Raise the core's neutral StreamFailure as this library's own exception."""
        __tracebackhide__ = True
        try:
            yield
        except StreamFailure as failure:
            message = failure.message
            if failure.error == "ReadTimeout" and not message:
                # What httpcore says: the socket's "timed out" in sync code; anyio's
                # TimeoutError carries no message, so async clients see "".
                message = "" if is_async else "timed out"
            raise self.error(failure.error, message, request) from None

    # -- the client library's own network transports ----------------------------------------

    def network_transport(self, *, is_async: bool, keepalive: bool = True) -> Any:
        # Without keep-alive each connection closes with its response: for a transport
        # whose owner cannot await its aclose() (a fixture's sync teardown).
        limits = (
            self.module.Limits() if keepalive else self.module.Limits(max_keepalive_connections=0)
        )
        cls = self.module.AsyncHTTPTransport if is_async else self.module.HTTPTransport
        return cls(limits=limits)


class _ReplayStreamBody:
    """The body of a replayed response: walks a plan. Sync and async share all but the sleep."""

    def __init__(
        self,
        face: Face,
        plan: Plan,
        request: Any,
        start: float,
        clock: Clock,
        observe: Callable[[bytes], None] | None,
        on_close: Callable[[], None] | None,
    ) -> None:
        self._face = face
        self._steps = plan.steps
        # Nothing to wait for, fail with or observe: the chunks can be handed over as they
        # are. Speed 0 is the everyday case, and walking the plan through two generators
        # cost a third more than httpx.MockTransport per chunk (bench/).
        self._plain = plan.plain and observe is None
        self._request = request
        self._start = start
        self._clock = clock
        self._observe = observe
        self._on_close = on_close

    def _walk(self) -> Iterator[bytes | float]:
        return walk(
            self._steps, self._start, self._clock, Face.read_timeout(self._request), self._observe
        )

    def __iter__(self) -> Iterator[bytes]:
        if self._plain:
            return iter(self._steps)  # type: ignore[arg-type]
        return self._paced()

    def _paced(self) -> Iterator[bytes]:
        __tracebackhide__ = True
        with self._face.mapped_failures(self._request, is_async=False):
            for item in self._walk():
                if item.__class__ is float:
                    time.sleep(item)
                else:
                    yield item  # type: ignore[misc]

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._plain:
            for step in self._steps:
                yield step  # type: ignore[misc]
            return
        __tracebackhide__ = True
        with self._face.mapped_failures(self._request, is_async=True):
            for item in self._walk():
                if item.__class__ is float:
                    # anyio: the same code under asyncio and trio, never blocking the loop.
                    await anyio.sleep(item)
                else:
                    yield item  # type: ignore[misc]

    def close(self) -> None:
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()

    async def aclose(self) -> None:
        self.close()


class _RecordingStreamBody:
    """Wraps the network stream: hands each chunk on at once and notes it with its time."""

    def __init__(self, inner: Any, sink: ChunkSink) -> None:
        self._inner = inner
        self._sink = sink

    def __iter__(self) -> Iterator[bytes]:
        sink = self._sink
        try:
            for chunk in self._inner:
                sink.chunk(chunk)
                yield chunk
        except GeneratorExit:
            sink.closed_early()
            raise
        except BaseException as exc:
            sink.failed(exc)
            raise
        sink.complete()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        sink = self._sink
        try:
            async for chunk in self._inner:
                sink.chunk(chunk)
                yield chunk
        except GeneratorExit:
            sink.closed_early()
            raise
        except BaseException as exc:
            sink.failed(exc)
            raise
        sink.complete()

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._sink.closed_early()

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._sink.closed_early()


class ChunkSink:
    """What a recording stream reports to: implemented by the recorder."""

    def chunk(self, data: bytes) -> None:
        raise NotImplementedError

    def complete(self) -> None:
        raise NotImplementedError

    def failed(self, exc: BaseException) -> None:
        raise NotImplementedError

    def closed_early(self) -> None:
        raise NotImplementedError


HTTPX = Face(httpx)
HTTPX2: Face | None = Face(_httpx2) if _httpx2 is not None else None


def face_for(request: Any) -> Face:
    """The face of the library `request` belongs to."""
    if isinstance(request, httpx.Request):
        return HTTPX
    if HTTPX2 is not None and isinstance(request, HTTPX2.request_type):
        return HTTPX2
    raise TypeError(f"not an httpx or httpx2 request: {type(request).__qualname__}")
