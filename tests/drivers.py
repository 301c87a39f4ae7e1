"""Drive httpx and httpx2 clients, sync or async, through one interface, so each transport
test is written once and runs for all four (the `driver` fixture in conftest.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, TypeVar

import anyio
import httpx
import httpx_sse

httpx2: ModuleType | None
try:
    import httpx2
except ImportError:  # pragma: no cover - httpx2 is part of the test extra
    httpx2 = None

T = TypeVar("T")

LIBRARIES: list[ModuleType] = [httpx] if httpx2 is None else [httpx, httpx2]


@dataclass
class Outcome:
    """What a client saw: the head, every raw chunk as delivered, and how the read ended."""

    status: int
    headers: dict[str, str]
    chunks: list[bytes] = field(default_factory=list)
    error: BaseException | None = None

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


@dataclass
class Driver:
    lib: ModuleType
    is_async: bool

    @property
    def id(self) -> str:
        return f"{self.lib.__name__}-{'async' if self.is_async else 'sync'}"

    def run(self, sync: Callable[[], T], async_: Callable[[], Awaitable[T]]) -> T:
        if self.is_async:
            return anyio.run(async_)
        return sync()

    def client(self, transport: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", 10)
        cls = self.lib.AsyncClient if self.is_async else self.lib.Client
        return cls(transport=transport, **kwargs)

    def stream(self, transport: Any, method: str, url: str, **kwargs: Any) -> Outcome:
        """Send one request, read the body with iter_raw, and keep what arrived."""
        client_kwargs = {k: kwargs.pop(k) for k in ("timeout",) if k in kwargs}

        def sync() -> Outcome:
            with (
                self.client(transport, **client_kwargs) as client,
                client.stream(method, url, **kwargs) as response,
            ):
                out = Outcome(response.status_code, dict(response.headers))
                try:
                    for chunk in response.iter_raw():
                        out.chunks.append(chunk)
                except self.lib.HTTPError as exc:
                    out.error = exc
                return out

        async def async_() -> Outcome:
            async with (
                self.client(transport, **client_kwargs) as client,
                client.stream(method, url, **kwargs) as response,
            ):
                out = Outcome(response.status_code, dict(response.headers))
                try:
                    async for chunk in response.aiter_raw():
                        out.chunks.append(chunk)
                except self.lib.HTTPError as exc:
                    out.error = exc
                return out

        return self.run(sync, async_)

    def first_chunk(self, transport: Any, url: str) -> bytes:
        """Read one chunk of a stream and close it (a client walking away from a stream)."""

        def sync() -> bytes:
            with self.client(transport) as client, client.stream("GET", url) as response:
                for chunk in response.iter_raw():
                    return bytes(chunk)
            return b""

        async def async_() -> bytes:
            async with self.client(transport) as client, client.stream("GET", url) as response:
                async for chunk in response.aiter_raw():
                    return bytes(chunk)
            return b""

        return self.run(sync, async_)

    def sse(
        self, transport: Any, method: str, url: str, **kwargs: Any
    ) -> list[tuple[str, str, str]]:
        """Read a stream with the library's usual SSE client: httpx-sse for httpx, the
        built-in EventSource for httpx2. Returns (event, data, id) triples."""
        if self.lib is httpx:

            def sync() -> list[tuple[str, str, str]]:
                with (
                    self.client(transport) as client,
                    httpx_sse.connect_sse(client, method, url, **kwargs) as source,
                ):
                    return [(e.event, e.data, e.id) for e in source.iter_sse()]

            async def async_() -> list[tuple[str, str, str]]:
                async with (
                    self.client(transport) as client,
                    httpx_sse.aconnect_sse(client, method, url, **kwargs) as source,
                ):
                    return [(e.event, e.data, e.id) async for e in source.aiter_sse()]

            return self.run(sync, async_)

        def sync2() -> list[tuple[str, str, str]]:
            with self.client(transport) as client, client.stream(method, url, **kwargs) as r:
                return [(e.event, e.data, e.id) for e in self.lib.EventSource(r)]

        async def async2() -> list[tuple[str, str, str]]:
            async with self.client(transport) as client, client.stream(method, url, **kwargs) as r:
                return [(e.event, e.data, e.id) async for e in self.lib.EventSource(r)]

        return self.run(sync2, async2)


DRIVERS = [Driver(lib, is_async) for lib in LIBRARIES for is_async in (False, True)]
