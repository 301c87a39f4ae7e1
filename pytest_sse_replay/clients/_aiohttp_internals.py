"""Every use of aiohttp's private internals, quarantined in this one file.

aiohttp has no transport to swap: a session opens its own connections. So, as aioresponses
does, routing patches `ClientSession._request`, and a replayed response is a real
`ClientResponse` built by hand around a real `StreamReader`, so that every read method
(`iter_any`, `iter_chunked`, `readline`, `read`, `async for line`) is aiohttp's own code.
The one thing changed in the reader is where data comes from: `_wait` (which aiohttp calls
whenever a read finds the buffer empty) pulls the next chunk instead of waiting for a socket.
A reader fed one chunk per wait hands `iter_any` exactly the recorded chunks.

Checked against aiohttp 3.9 to 3.14; an aiohttp that changes these names fails the tests of
tests/integration/test_aiohttp_face.py, not its users in silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import aiohttp
from aiohttp.helpers import TimerNoop
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

__all__ = [
    "Handler",
    "Pull",
    "PullReader",
    "build_response",
    "patched_request",
    "request_defaults",
    "set_content",
]

# Pulls the next chunk: bytes to feed, None at the end; an exception it raises is the
# reader's from then on, as a broken socket's would be.
Pull = Callable[[], Awaitable[bytes | None]]


class _Protocol:
    """What a StreamReader asks of its connection's protocol."""

    connected = True
    upgraded = False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self, **_: Any) -> None:
        pass


_PROTOCOL = _Protocol()


class PullReader(aiohttp.StreamReader):
    """A real StreamReader that pulls its data (from a plan, or from another reader)."""

    def __init__(
        self, pull: Pull, *, ready: Iterator[bytes] | None = None, limit: int = 2**16
    ) -> None:
        super().__init__(_PROTOCOL, limit, loop=asyncio.get_running_loop())  # type: ignore[arg-type]
        self._pull = pull
        # Chunks that need no waiting (speed 0, a clean end): handed over without a
        # coroutine per chunk, which was most of the cost of a replayed read.
        self._ready = ready
        self._pulling = False

    async def _wait(self, func_name: str) -> None:
        ready = self._ready
        if ready is not None:
            chunk = next(ready, None)
            if chunk is None:
                self.feed_eof()
            else:
                self.feed_data(chunk)
            return
        if self._pulling:
            raise RuntimeError(
                f"{func_name}() called while another coroutine is already waiting for incoming data"
            )
        self._pulling = True
        try:
            data = await self._pull()
        except Exception as exc:
            self.set_exception(exc)
            raise
        finally:
            self._pulling = False
        if data is None:
            self.feed_eof()
        else:
            self.feed_data(data)


class _Connection:
    """Stands for the connection of a replayed response: its release ends the stream."""

    protocol = None
    transport = None

    def __init__(self, on_release: Callable[[], None]) -> None:
        self._on_release: Callable[[], None] | None = on_release

    @property
    def closed(self) -> bool:
        return self._on_release is None

    def release(self) -> None:
        on_release, self._on_release = self._on_release, None
        if on_release is not None:
            on_release()

    close = release


class _StreamWriter:
    output_size = 0


def _constructor_kwargs(session: aiohttp.ClientSession) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "writer": None,
        "continue100": None,
        "timer": TimerNoop(),
        "traces": [],
        "loop": asyncio.get_running_loop(),
        "session": session,
    }
    accepted = inspect.signature(aiohttp.ClientResponse.__init__).parameters
    if "stream_writer" in accepted:  # aiohttp >= 3.12
        kwargs["stream_writer"] = _StreamWriter()
    return {k: v for k, v in kwargs.items() if k in accepted}


def build_response(
    session: aiohttp.ClientSession,
    method: str,
    url: URL,
    request_headers: CIMultiDictProxy[str],
    status: int,
    reason: str,
    headers: Sequence[tuple[str, str]],
    content: aiohttp.StreamReader,
    on_release: Callable[[], None],
) -> aiohttp.ClientResponse:
    """A ClientResponse as `ClientResponse.start()` would have left it."""
    info = aiohttp.RequestInfo(url, method, request_headers, url)
    cls = getattr(session, "_response_class", aiohttp.ClientResponse)
    response: aiohttp.ClientResponse = cls(
        method, url, request_info=info, **_constructor_kwargs(session)
    )
    response.version = aiohttp.HttpVersion11
    response.status = status
    response.reason = reason
    response._headers = CIMultiDictProxy(CIMultiDict(headers))
    response._raw_headers = tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers)
    response._connection = _Connection(on_release)  # type: ignore[assignment]
    response._closed = False
    response.content = content
    content.on_eof(response._response_eof)
    return response


def set_content(response: aiohttp.ClientResponse, content: aiohttp.StreamReader) -> None:
    """Hand the client `content` in place of the response's own reader."""
    response.content = content


def request_defaults(
    session: aiohttp.ClientSession, str_or_url: Any, kwargs: dict[str, Any]
) -> tuple[URL, CIMultiDict[str], aiohttp.ClientTimeout, Any, Callable[[Any], str], bool]:
    """What the session adds to a request: its base URL, default headers, timeout,
    raise_for_status, JSON serializer and auto_decompress."""
    url = session._build_url(str_or_url)
    headers = session._prepare_headers(kwargs.get("headers"))
    timeout = kwargs.get("timeout")
    if not isinstance(timeout, aiohttp.ClientTimeout):
        timeout = session._timeout
    raise_for_status = kwargs.get("raise_for_status")
    if raise_for_status is None:
        raise_for_status = session._raise_for_status
    auto_decompress = kwargs.get("auto_decompress")
    if auto_decompress is None:
        auto_decompress = session._auto_decompress
    return (
        url,
        headers,
        timeout,
        raise_for_status,
        session._json_serialize,
        bool(auto_decompress),
    )


Handler = Callable[..., Awaitable[aiohttp.ClientResponse]]
# (session, method, str_or_url, kwargs, original) -> response
Router = Callable[[aiohttp.ClientSession, str, Any, dict[str, Any], Handler], Awaitable[Any]]


@contextlib.contextmanager
def patched_request(router: Router) -> Iterator[None]:
    """While active, `ClientSession._request` (every request of every session) is `router`'s."""
    original: Handler = aiohttp.ClientSession._request

    async def _request(
        self: aiohttp.ClientSession, method: str, str_or_url: Any, **kwargs: Any
    ) -> Any:
        return await router(self, method, str_or_url, kwargs, original)

    aiohttp.ClientSession._request = _request  # type: ignore[method-assign]
    try:
        yield
    finally:
        aiohttp.ClientSession._request = original  # type: ignore[method-assign,assignment]
