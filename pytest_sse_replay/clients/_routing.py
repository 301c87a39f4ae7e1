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
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import httpx
import respx

from ._faces import HTTPX, HTTPX2, Face

__all__ = ["routed"]


class RequestHandler(Protocol):
    """Where routing sends every request: the active cassette of a test."""

    def handle(self, face: Face, request: Any, network: Any, *, is_async: bool) -> Any: ...

    async def ahandle(self, face: Face, request: Any, network: Any) -> Any: ...

    # aiohttp and requests walk plans themselves: they ask the cassette's Answerer.
    answerer: Any


class _CassetteRouter(respx.MockRouter):
    def __init__(self) -> None:
        super().__init__(assert_all_called=False, assert_all_mocked=True, using="httpx")
        self.cassette: RequestHandler | None = None

    def handler(self, request: httpx.Request) -> httpx.Response:
        # The "httpx" mocker only patches clients, so a plain transport of our own still
        # reaches the network: that is what a recording goes through.
        assert self.cassette is not None  # respx calls it only between start and stop
        response: httpx.Response = self.cassette.handle(HTTPX, request, None, is_async=False)
        return response

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        assert self.cassette is not None
        response: httpx.Response = await self.cassette.ahandle(HTTPX, request, None)
        return response


# Routers between tests. Building one costs respx two call lists, each a unittest.mock
# object (a third of routing a test); stopping one rolls it back to how it was built, so
# it serves the next test as a new one would. A list, not one router: `routed` may nest.
_idle_routers: list[_CassetteRouter] = []


@contextlib.contextmanager
def _httpx_routed(cassette: RequestHandler) -> Iterator[None]:
    try:
        router = _idle_routers.pop()
    except IndexError:
        router = _CassetteRouter()
    router.cassette = cassette
    with router:
        yield
    # Only after a clean stop; and holding no cassette, so that none outlives its test.
    router.cassette = None
    _idle_routers.append(router)


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
        stack.enter_context(_httpx_routed(cassette))
        if HTTPX2 is not None:
            stack.enter_context(_httpx2_patched(cassette, HTTPX2))

        def route(library: str) -> None:
            face, name = _MORE_CLIENTS[library]
            routes = getattr(importlib.import_module(face, __package__), name)
            stack.enter_context(routes(cassette.answerer))

        waiting = []
        for library in _MORE_CLIENTS:
            if library in sys.modules:
                route(library)
            elif _installed(library):
                waiting.append(library)
        if waiting:
            # Importing aiohttp and requests costs a quarter of a second a process: a library
            # not imported yet is routed the moment the code under test imports it.
            finder = _RouteOnImport(waiting, route)
            sys.meta_path.insert(0, finder)
            stack.callback(_remove_finder, finder)
        yield


# aiohttp and requests (optional extras): the face module that routes each, and its router.
_MORE_CLIENTS = {
    "requests": ("._requests", "routed_requests"),
    "aiohttp": ("._aiohttp", "routed_aiohttp"),
}


@functools.cache
def _installed(library: str) -> bool:
    return importlib.util.find_spec(library) is not None


class _RouteOnImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: when one of `libraries` is imported, it lets the import happen
    as it would, then calls `on_import(library)` before the importer gets the module."""

    def __init__(self, libraries: list[str], on_import: Callable[[str], None]) -> None:
        self.libraries = set(libraries)
        self.on_import = on_import

    def find_spec(
        self, fullname: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.libraries:
            return None
        self.libraries.discard(fullname)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _ThenRoute(spec.loader, lambda: self.on_import(fullname))
        return spec


class _ThenRoute(importlib.abc.Loader):
    def __init__(self, loader: Any, then: Callable[[], None]) -> None:
        self.loader = loader
        self.then = then

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.loader.exec_module(module)
        self.then()


def _remove_finder(finder: _RouteOnImport) -> None:
    with contextlib.suppress(ValueError):
        sys.meta_path.remove(finder)
