"""`RecordingTransport`: forwards to a real transport and writes down every chunk with its time.

The client gets each chunk the moment it arrives (vcrpy and cassetter read the whole
stream before delivering anything, so a stream's timing cannot even be observed through
them). The recording is appended to the cassette when the response arrives and filled in
as the body streams, so a recording of a stream the client abandons is still complete up
to where it stopped.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import httpx

from ..cassette import (
    CLIENT_CLOSED,
    COMPLETE,
    ERROR_NAMES,
    Cassette,
    Chunk,
    Ending,
    Interaction,
    RecordedResponse,
    Redaction,
    StrPath,
    note,
    round_us,
    set_chunk_data,
    set_chunk_t,
)
from ..sse import Event, SSEParser
from ._faces import ChunkSink, Face, face_for
from ._replay import _Httpx2Transports

if TYPE_CHECKING:
    import httpx2

__all__ = ["RecordingTransport", "recording_cassette"]

# Content-Encodings the recorder can undo, so the cassette holds readable text that
# redaction can scrub; the encoding header is removed from the recording to match.
_DECODABLE = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}


def recording_cassette(cassette: Cassette | StrPath | None, owner: str) -> Cassette:
    """What a recorder records into, given a `Cassette`, a path, or nothing (a new one)."""
    if cassette is None:
        return Cassette()
    if isinstance(cassette, Cassette):
        return cassette
    path = Path(cassette)
    if path.is_dir():  # said now, not as an OSError about a temporary file at the save
        raise ValueError(f"{owner}({str(path)!r}): a folder, not a cassette file")
    return Cassette(path=path)


class _Recorder(ChunkSink):
    """Receives one response's chunks from the stream wrapper and fills in its recording."""

    def __init__(
        self,
        response: RecordedResponse,
        start: float,
        clock: Callable[[], float],
        encoding: str,
        on_done: Callable[[Interaction], None] | None,
        interaction: Interaction,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        self.response = response
        self._start = start
        self._clock = clock
        self._done = False
        self._on_done = on_done
        self.interaction = interaction
        self._raw: list[Chunk] = []  # kept in case decoding fails part-way
        self._decoder = zlib.decompressobj(_DECODABLE[encoding]) if encoding in _DECODABLE else None
        self._encoding = encoding
        self._on_event = on_event
        self._parser = SSEParser() if on_event is not None and response.is_event_stream else None

    def _append(self, chunk: Chunk) -> None:
        self.response.chunks.append(chunk)
        if self._parser is not None and self._on_event is not None:
            for event in self._parser.feed(chunk.data, chunk.t):
                self._on_event(event)

    def chunk(self, data: bytes) -> None:
        if self._done or not data:
            return
        # round_us() inlined: this runs once per network read.
        t = round((self._clock() - self._start) * 1_000_000) / 1_000_000
        if self._decoder is None and self._parser is None:
            # Once per network read: Chunk's frozen-dataclass __init__ (two
            # object.__setattr__ calls through Python) is most of the recorder's cost per
            # read, so the slots are filled directly, as Cassette.load does.
            chunk = object.__new__(Chunk)
            set_chunk_t(chunk, t)
            set_chunk_data(chunk, data)
            self.response.chunks.append(chunk)
            return
        if self._decoder is None:
            self._append(Chunk(t, data))
            return
        self._raw.append(Chunk(t, data))
        try:
            decoded = self._decoder.decompress(data)
        except zlib.error:
            self._undo_decoding()
            return
        if decoded:
            self._append(Chunk(t, decoded))

    def _undo_decoding(self) -> None:
        # Not what the header said: keep the raw bytes (and the header) rather than guess.
        self._decoder = None
        self.response.chunks[:] = self._raw
        self.response.headers.append(("content-encoding", self._encoding))
        self.response.decoded = ""

    def _finish(self, end: Ending) -> None:
        if self._done:
            return
        self._done = True
        if self._decoder is not None:
            try:
                tail = self._decoder.flush()
            except zlib.error:
                self._undo_decoding()
            else:
                if tail:
                    self._append(Chunk(self._raw[-1].t if self._raw else 0.0, tail))
        self.response.end = end
        if self._on_done is not None:
            self._on_done(self.interaction)

    def complete(self) -> None:
        self._finish(COMPLETE)

    def failed(self, exc: BaseException) -> None:
        if isinstance(exc, Exception):
            name = type(exc).__name__
            if name in ERROR_NAMES:
                self._finish(Ending.failed(name, str(exc)))
            else:  # a cassette names only the errors replay can raise: the nearest honest one
                self._finish(Ending.failed("ReadError", f"{name}: {exc}"))
        else:  # KeyboardInterrupt, task cancellation: the client stopped, not the server
            self._finish(CLIENT_CLOSED)

    def closed_early(self) -> None:
        self._finish(CLIENT_CLOSED)


class RecordingTransport(httpx.BaseTransport, httpx.AsyncBaseTransport, _Httpx2Transports):
    """Forwards to `wrapped` (by default the client library's own network transport) and
    appends every interaction to `cassette`, each chunk with its arrival time.

    `on_done(interaction)` is called when a response's body has ended, however it ended;
    `on_event(event)` for each event the client is handed, as it arrives. The cassette in
    memory holds what was sent, secrets included: `save()` writes it redacted. Given a
    `redaction`, the events passed to `on_event` are scrubbed of the secrets it finds in
    the requests (and response headers) recorded so far, as the cassette will show them,
    and `save()` uses it.

    Given a path (not a `Cassette`), the transport records afresh into that file and writes
    it, redacted (with `redaction`, by default the standard lists), when it is closed: by
    the client that owns it (`Client.close()`, `AsyncClient.aclose()`, leaving their
    `with` blocks), or by leaving its own `with` / `async with` block. Nothing is written
    when nothing was recorded.
    """

    def __init__(
        self,
        cassette: Cassette | StrPath | None = None,
        wrapped: Any = None,
        *,
        on_done: Callable[[Interaction], None] | None = None,
        on_event: Callable[[Event], None] | None = None,
        clock: Callable[[], float] = time.perf_counter,
        keepalive: bool = True,
        redaction: Redaction | None = None,
    ) -> None:
        # Given as a path: written when closed (a Cassette object is the caller's to save).
        self._save_on_close = cassette is not None and not isinstance(cassette, Cassette)
        self.cassette = cassette = recording_cassette(cassette, "RecordingTransport")
        self.redaction = redaction
        self.wrapped = wrapped
        self.on_done = on_done
        self.on_event = on_event
        self.clock = clock
        self.keepalive = keepalive
        self.redaction = redaction
        self._secrets: frozenset[str] = frozenset()
        self._own: dict[tuple[str, bool], Any] = {}
        self._lock = threading.Lock()

    def _transport(self, face: Face, is_async: bool) -> Any:
        if self.wrapped is not None:
            return self.wrapped
        with self._lock:
            key = (face.name, is_async)
            if key not in self._own:
                self._own[key] = face.network_transport(is_async=is_async, keepalive=self.keepalive)
            return self._own[key]

    def _start(self, face: Face, request: Any, body: bytes, response: Any, start: float) -> Any:
        headers_t = round_us(self.clock() - start)
        headers = face.text_headers(response.headers)
        encoding = (response.headers.get("content-encoding") or "").strip().lower()
        decoded = ""
        if encoding in _DECODABLE:
            decoded = encoding
            headers = [
                (k, v) for k, v in headers if k not in ("content-encoding", "content-length")
            ]
        recorded = RecordedResponse(
            status=response.status_code,
            headers=headers,
            # Until the body ends, the recording says what is true so far.
            end=CLIENT_CLOSED,
            headers_t=headers_t,
            decoded=decoded,
        )
        interaction = Interaction(face.recorded_request(request, body), recorded)
        self.cassette.append(interaction)
        return _Recorder(
            recorded,
            start,
            self.clock,
            encoding,
            self.on_done,
            interaction,
            self._observer(interaction),
        )

    def _observer(self, interaction: Interaction) -> Callable[[Event], None] | None:
        on_event, redaction = self.on_event, self.redaction
        if on_event is None or redaction is None:
            return on_event
        found = redaction.request_secrets(interaction.request, interaction.response.headers)
        with self._lock:
            self._secrets = secrets = self._secrets | found
        if not secrets:
            return on_event
        scrub = redaction.event_scrubber(secrets)

        def scrubbed(event: Event) -> None:
            on_event(scrub(event))

        return scrubbed

    @overload
    def handle_request(self, request: httpx.Request) -> httpx.Response: ...
    @overload
    def handle_request(self, request: httpx2.Request) -> httpx2.Response: ...
    def handle_request(self, request: Any) -> Any:
        return self.exchange(request)[0]

    def exchange(self, request: Any) -> tuple[Any, Interaction]:
        """Forward `request`: the response, its body recorded as it is read, and the
        recording it fills in (for the plugin, which may read it whole first)."""
        face = face_for(request)
        note(self.cassette, face.name)  # when, and with what (docs/cassette-format.md)
        body = request.read()
        start = self.clock()
        response = self._transport(face, False).handle_request(request)
        sink = self._start(face, request, body, response, start)
        response.stream = face.recording_stream(response.stream, sink, is_async=False)
        return response, sink.interaction

    @overload
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response: ...
    @overload
    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response: ...
    async def handle_async_request(self, request: Any) -> Any:
        return (await self.aexchange(request))[0]

    async def aexchange(self, request: Any) -> tuple[Any, Interaction]:
        """`exchange` for async clients."""
        face = face_for(request)
        note(self.cassette, face.name)
        body = await request.aread()
        start = self.clock()
        response = await self._transport(face, True).handle_async_request(request)
        sink = self._start(face, request, body, response, start)
        response.stream = face.recording_stream(response.stream, sink, is_async=True)
        return response, sink.interaction

    def save(self, path: StrPath | None = None, *, redaction: Redaction | None = None) -> Path:
        """Write the cassette with secrets redacted (`redaction`, the transport's, or the
        default lists)."""
        (redaction or self.redaction or Redaction()).apply(self.cassette)
        return self.cassette.save(path)

    def close(self) -> None:
        # Only the sync transports this recorder opened; async ones close in aclose().
        for (_, is_async), transport in self._own.items():
            if not is_async:
                transport.close()
        self._save_if_given_a_path()

    async def aclose(self) -> None:
        for (_, is_async), transport in self._own.items():
            if is_async:
                await transport.aclose()
            else:
                transport.close()
        self._save_if_given_a_path()

    def _save_if_given_a_path(self) -> None:
        if self._save_on_close and self.cassette.interactions:
            self.save(redaction=self.redaction)
