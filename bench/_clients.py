"""The floor every replay figure is held against, and the reads every contender does.

The floor is `httpx.MockTransport` answering with a stream of the very same chunks: the least
any in-process transport can cost an httpx client. Every contender is read the same way, the
way a streaming test reads: `client.stream(...)` and `iter_raw()` to the end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence

import httpx

from ._workloads import SSE_HEADERS, URL

__all__ = ["ChunkStream", "aread_raw", "floor_client", "floor_transport", "read_raw"]


class ChunkStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body that is exactly `chunks`, sync or async."""

    def __init__(self, chunks: Sequence[bytes]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._chunks)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


def floor_transport(chunks: Sequence[bytes]) -> httpx.MockTransport:
    """`httpx.MockTransport` streaming `chunks` as an event-stream response."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=SSE_HEADERS, stream=ChunkStream(chunks))

    return httpx.MockTransport(handler)


def floor_client(chunks: Sequence[bytes]) -> httpx.Client:
    return httpx.Client(transport=floor_transport(chunks))


def read_raw(client: httpx.Client, url: str = URL) -> int:
    """Stream one GET to the end with iter_raw; returns the number of bytes."""
    total = 0
    with client.stream("GET", url) as response:
        for chunk in response.iter_raw():
            total += len(chunk)
    return total


async def aread_raw(client: httpx.AsyncClient, url: str = URL) -> int:
    total = 0
    async with client.stream("GET", url) as response:
        async for chunk in response.aiter_raw():
            total += len(chunk)
    return total
