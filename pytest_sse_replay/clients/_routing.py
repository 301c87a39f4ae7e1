"""Send every httpx, httpx2, aiohttp and requests client in the process through the cassette.

httpx: through respx's public API (`respx.MockRouter`, using its "httpx" mocker, which
reaches every client however it was built, an SDK's included). Our router answers all
requests itself, telling sync from async by which of its two handlers respx calls.
httpx2 (respx does not support it): the equivalent patch of httpx2's own network
transports, `HTTPTransport.handle_request` and `AsyncHTTPTransport.handle_async_request`.
aiohttp and requests (where installed): see _aiohttp_face and _requests_face.
All are undone when the test ends, whether it passed or failed.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import httpx
import respx

from ._answer import Answerer
from ._faces import HTTPX, HTTPX2, Face

__all__ = ["routed"]


class RequestHandler(Protocol):
    """Where routing sends every request: the active cassette of a test."""

    def handle(self, face: Face, request: Any, network: Any, *, is_async: bool) -> Any: ...

    async def ahandle(self, face: Face, request: Any, network: Any) -> Any: ...

    # aiohttp and requests walk plans themselves: they ask the cassette's Answerer.
    answerer: Any


class _CassetteRouter(respx.MockRouter):
    def __init__(self, cassette: RequestHandler) -> None:
        super().__init__(assert_all_called=False, assert_all_mocked=True, using="httpx")
        self._cassette = cassette

    def handler(self, request: httpx.Request) -> httpx.Response:
        # The "httpx" mocker only patches clients, so a plain transport of our own still
        # reaches the network: that is what a recording goes through.
        response: httpx.Response = self._cassette.handle(HTTPX, request, None, is_async=False)
        return response

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response = await self._cassette.ahandle(HTTPX, request, None)
        return response


class _Unpatched:
    """A client's own transport, called through its original (unpatched) method."""

    def __init__(self, transport: Any, original: Any) -> None:
        self._transport = transport
        self._original = original

    def handle_request(self, request: Any) -> Any:
        return self._original(self._transport, request)

    async def handle_async_request(self, request: Any) -> Any:
        return await self._original(self._transport, request)

    def close(self) -> None:
        """The client owns its transport and closes it."""

    async def aclose(self) -> None:
        """The client owns its transport and closes it."""


@contextlib.contextmanager
def _httpx2_patched(cassette: RequestHandler, face: Face) -> Iterator[None]:
    module = face.module
    sync_cls, async_cls = module.HTTPTransport, module.AsyncHTTPTransport
    sync_original = sync_cls.handle_request
    async_original = async_cls.handle_async_request

    def handle_request(self: Any, request: Any) -> Any:
        return cassette.handle(face, request, _Unpatched(self, sync_original), is_async=False)

    async def handle_async_request(self: Any, request: Any) -> Any:
        return await cassette.ahandle(face, request, _Unpatched(self, async_original))

    sync_cls.handle_request = handle_request
    async_cls.handle_async_request = handle_async_request
    try:
        yield
    finally:
        sync_cls.handle_request = sync_original
        async_cls.handle_async_request = async_original


@contextlib.contextmanager
def routed(cassette: RequestHandler) -> Iterator[None]:
    """While active, every httpx / httpx2 / aiohttp / requests request goes to `cassette`."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(_CassetteRouter(cassette))
        if HTTPX2 is not None:
            stack.enter_context(_httpx2_patched(cassette, HTTPX2))
        for route in _more_clients():
            stack.enter_context(route(cassette.answerer))
        yield


@functools.cache
def _more_clients() -> list[Callable[[Answerer], contextlib.AbstractContextManager[None]]]:
    """aiohttp and requests, where installed (optional extras); imported here, on first use
    by a test with a cassette, never at pytest start-up, and looked up once per process."""
    routes: list[Callable[[Answerer], contextlib.AbstractContextManager[None]]] = []
    if importlib.util.find_spec("requests") is not None:
        from ._requests import routed_requests

        routes.append(routed_requests)
    if importlib.util.find_spec("aiohttp") is not None:
        from ._aiohttp import routed_aiohttp

        routes.append(routed_aiohttp)
    return routes
