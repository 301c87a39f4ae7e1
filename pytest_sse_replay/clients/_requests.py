"""The requests face: `ReplayAdapter`, `RecordingAdapter`, and routing of every session.

requests reads a body through `response.raw`, which is a urllib3 response: `iter_content`
calls `raw.stream(chunk_size, decode_content=True)` and turns urllib3's exceptions into its
own (`ProtocolError` -> `ChunkedEncodingError`, `ReadTimeoutError` -> `ConnectionError`).
So a replayed response gets a `raw` that walks the plan and raises urllib3's exceptions, and
requests itself does the rest, exactly as it does for a real socket. A recording wraps the
real `raw`: each read from the network is noted with its time as it is handed on.

How a raw stream is cut, like urllib3's: a chunked body comes one read per recorded chunk
(never two chunks joined; a chunk longer than `chunk_size` in pieces of at most that), a
sized body in reads of exactly `chunk_size` bytes until the last.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import requests
import urllib3
from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3.exceptions import IncompleteRead, ProtocolError, ReadTimeoutError

from ..cassette import Cassette, RecordedRequest, Redaction, StrPath, header_value
from ..faults import BROKEN_CHUNKED
from ..playback import Fault, StreamFailure
from ._answer import Answer, Answerer, is_local_server
from ._faces import ChunkSink
from ._recording import recording_cassette
from ._replay import ReplayTransport

__all__ = ["RecordingAdapter", "ReplayAdapter", "routed_requests"]

_DECODED = ("gzip", "x-gzip", "deflate", "br", "zstd")


def recorded_request(request: requests.PreparedRequest) -> RecordedRequest:
    """A prepared request in the cassette's terms: lower-case header names, bytes body."""
    body = request.body
    if body is None:
        data = b""
    elif isinstance(body, str):
        data = body.encode("utf-8")
    elif isinstance(body, bytes | bytearray):
        data = bytes(body)
    else:  # a generator or file: streamed uploads are not replayed byte for byte
        data = b""
    headers = [(str(k).lower(), str(v)) for k, v in request.headers.items()]
    return RecordedRequest(str(request.method), str(request.url), headers, data)


def read_timeout(timeout: Any) -> float | None:
    """The read part of what requests accepts as `timeout`."""
    if isinstance(timeout, tuple):
        timeout = timeout[1]
    elif isinstance(timeout, urllib3.Timeout):
        timeout = timeout.read_timeout
    return None if timeout is None else float(timeout)


def _pool(url: str) -> urllib3.HTTPConnectionPool:
    # urllib3 names the pool in its timeout messages; an unused pool opens no connection.
    parsed = urllib3.util.parse_url(url)
    https = parsed.scheme == "https"
    cls = urllib3.HTTPSConnectionPool if https else urllib3.HTTPConnectionPool
    return cls(parsed.host or "localhost", parsed.port or (443 if https else 80))


def _read_timed_out(url: str, suffix: str = "") -> ReadTimeoutError:
    return ReadTimeoutError(_pool(url), url, f"Read timed out.{suffix}")


class _ReplayRaw:
    """`response.raw` of a replayed response: the urllib3 calls requests makes, on a plan."""

    def __init__(self, answer: Answer, url: str, headers: urllib3.HTTPHeaderDict) -> None:
        self._answer = answer
        self._url = url
        self.headers = headers
        self.status = answer.plan.status
        self.reason = _reason(self.status)
        self.version = 11
        self.chunked = header_value(answer.plan.headers, "content-length") is None
        self.decode_content = False
        self._original_response = None
        self._steps: Iterator[bytes | float] | None = None
        self._left = b""  # bytes of a recorded chunk not yet handed over
        self._received = 0
        self.closed = False

    # -- the network ------------------------------------------------------------------------

    def _next_chunk(self) -> bytes:
        """The next recorded chunk, after waiting for it; b"" at the end."""
        if self._left:
            chunk, self._left = self._left, b""
            return chunk
        if self.closed:
            return b""
        if self._steps is None:
            self._steps = self._answer.steps()
        try:
            for item in self._steps:
                if isinstance(item, float):
                    time.sleep(item)
                    continue
                self._received += len(item)
                return item
        except StreamFailure as failure:
            self.release_conn()
            raise self._error(failure) from None
        self.release_conn()
        return b""

    def _error(self, failure: StreamFailure) -> Exception:
        if failure.error == "ReadTimeout":
            return _read_timed_out(self._url)
        if failure.error == "RemoteProtocolError":
            length = header_value(self._answer.plan.headers, "content-length")
            if length is not None and length.strip().isdigit():
                partial = IncompleteRead(self._received, int(length) - self._received)
                return ProtocolError(f"Connection broken: {partial!r}", partial)
            return ProtocolError("Response ended prematurely")
        return ProtocolError(f"{failure.error}: {failure.message}")

    # -- what requests (and code reading raw) calls -------------------------------------------

    def stream(
        self, amt: int | None = 2**16, decode_content: bool | None = None
    ) -> Iterator[bytes]:
        if self.chunked:
            while chunk := self._next_chunk():
                if amt is not None and len(chunk) > amt:
                    chunk, self._left = chunk[:amt], chunk[amt:]
                yield chunk
        else:
            while data := self.read(amt):
                yield data

    def read(self, amt: int | None = None, decode_content: bool | None = None, **_: Any) -> bytes:
        if amt is None:
            return b"".join(iter(self._next_chunk, b""))
        parts: list[bytes] = []
        size = 0
        while size < amt:
            chunk = self._next_chunk()
            if not chunk:
                break
            if size + len(chunk) > amt:
                chunk, self._left = chunk[: amt - size], chunk[amt - size :]
            parts.append(chunk)
            size += len(chunk)
        return b"".join(parts)

    def release_conn(self) -> None:
        self._answer.close()

    def close(self) -> None:
        self.closed = True
        self._left = b""
        self.release_conn()

    def isclosed(self) -> bool:
        return self.closed

    def getheaders(self) -> urllib3.HTTPHeaderDict:
        return self.headers

    def geturl(self) -> str:
        return self._url


class _RecordingRaw:
    """Wraps the real `response.raw`, noting every read from the network as it is handed on.

    The network is always read as it arrives (one read per HTTP chunk), whatever size the
    client asked for; the pieces the client gets are cut from those reads as urllib3 would.
    """

    def __init__(self, inner: Any, sink: ChunkSink) -> None:
        self._inner = inner
        self._sink = sink
        self._reads: Iterator[bytes] | None = None
        self._left = b""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _network(self) -> Iterator[bytes]:
        sink = self._sink
        try:
            for data in self._inner.stream(None if self._inner.chunked else 2**16, True):
                sink.chunk(data)
                yield data
        except GeneratorExit:
            sink.closed_early()
            raise
        except ProtocolError:
            sink.failed(_RemoteProtocolError(BROKEN_CHUNKED))
            raise
        except ReadTimeoutError:
            sink.failed(_ReadTimeout("timed out"))
            raise
        except BaseException as exc:
            sink.failed(exc)
            raise
        sink.complete()

    def _next_chunk(self) -> bytes:
        if self._left:
            chunk, self._left = self._left, b""
            return chunk
        if self._reads is None:
            self._reads = self._network()
        return next(self._reads, b"")

    # The same cutting as a replayed raw: a recorded read comes back the same way.
    stream = _ReplayRaw.stream
    read = _ReplayRaw.read

    @property
    def chunked(self) -> bool:
        return bool(self._inner.chunked)

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._sink.closed_early()


# A cassette names endings in httpx's words whichever library recorded them, so any face
# can replay them: these carry those names into the recorder.
_RemoteProtocolError = type("RemoteProtocolError", (Exception,), {})
_ReadTimeout = type("ReadTimeout", (Exception,), {})


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def serve(
    answerer: Answerer,
    adapter: BaseAdapter,
    request: requests.PreparedRequest,
    timeout: Any,
    network: Callable[[], requests.Response] | None,
) -> requests.Response:
    """Answer `request` from the cassette, or send it through `network` and record it."""
    url = str(request.url)
    if network is not None and is_local_server(url):
        return network()  # for a replay server of this process (sse_server), unrecorded
    live = recorded_request(request)
    limit = read_timeout(timeout)
    answer = answerer.answer(live, limit)
    if answer is None:
        if network is None:
            raise RuntimeError(f"{live.method} {live.url}: no network to record through")
        recorded = _record(answerer, live, network, limit)
        if isinstance(recorded, requests.Response):
            return recorded
        answer = recorded
    delay = answer.head_delay()
    if delay > 0:
        if limit is not None and delay > limit:
            answer.close()
            error = _read_timed_out(url, f" (read timeout={limit})")
            raise requests.ReadTimeout(error, request=request)
        time.sleep(delay)
    return _response(adapter, request, answer)


def _record(
    answerer: Answerer,
    live: RecordedRequest,
    network: Callable[[], requests.Response],
    limit: float | None,
) -> requests.Response | Answer:
    """Send `live` and record it: the response teed to the client as it arrives, or, for
    an event stream under faults, the stream read whole and its faulted plan to play."""
    start = answerer.clock()
    with answerer.network():
        response = network()
    raw = response.raw
    encoding = (raw.headers.get("content-encoding") or "").strip().lower()
    headers = [(str(k).lower(), str(v)) for k, v in raw.headers.items()]
    sink = answerer.record(
        live,
        response.status_code,
        headers,
        start,
        decoded=encoding if encoding in _DECODED else "",
        client="requests",
    )
    recording = _RecordingRaw(raw, sink)
    if not answerer.plays_recorded(sink.interaction):
        response.raw = recording
        return response
    with answerer.network():
        try:
            for _ in recording._network():
                pass
        except urllib3.exceptions.HTTPError:
            pass  # the recording ends with it, and the plan raises it again
        finally:
            recording.close()
    return answerer.replay_recorded(live, sink.interaction, limit)


def _response(
    adapter: BaseAdapter, request: requests.PreparedRequest, answer: Answer
) -> requests.Response:
    headers = urllib3.HTTPHeaderDict()
    for name, value in answer.plan.headers:
        headers.add(name, value)
    raw = _ReplayRaw(answer, str(request.url), headers)
    response = requests.Response()
    response.status_code = raw.status
    response.headers = requests.structures.CaseInsensitiveDict(headers)
    response.encoding = requests.utils.get_encoding_from_headers(response.headers)
    response.raw = raw
    response.reason = raw.reason
    response.url = str(request.url)
    for cookie in headers.getlist("set-cookie"):
        response.cookies.set(*_cookie(cookie))
    response.request = request
    response.connection = adapter  # type: ignore[assignment]
    return response


def _cookie(header: str) -> tuple[str, str]:
    name, _, rest = header.partition("=")
    return name.strip(), rest.split(";", 1)[0].strip()


class ReplayAdapter(BaseAdapter):
    """A requests transport adapter that answers from a cassette: `session.mount(url, it)`.

    `speed`, `faults` and `match_on` as for `ReplayTransport`. With `stream=True`,
    `iter_content(chunk_size=None)` yields the recorded chunks as they were read; faults
    reach the client as requests' own exceptions (`ChunkedEncodingError` for a dropped
    connection, `ConnectionError` for a read timeout mid-stream).
    """

    def __init__(
        self,
        cassette: Cassette | StrPath,
        *,
        speed: float = 0.0,
        faults: Sequence[Fault] = (),
        match_on: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        self.transport = ReplayTransport(cassette, speed=speed, faults=faults, match_on=match_on)
        self._answerer = Answerer(self.transport, None)

    @property
    def played(self) -> list[Any]:
        """Which recording answered which request, in order."""
        return self.transport.played

    @property
    def open_streams(self) -> int:
        """Event streams being served right now."""
        return self.transport.open_streams

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        return serve(self._answerer, self, request, timeout, None)

    def close(self) -> None:
        pass


class RecordingAdapter(BaseAdapter):
    """A requests transport adapter that sends through a real `HTTPAdapter` (or `adapter`)
    and records every interaction, each chunk with its arrival time, into `cassette`.

    `save()` writes the cassette with secrets redacted.
    """

    def __init__(
        self, cassette: Cassette | StrPath | None = None, *, adapter: BaseAdapter | None = None
    ) -> None:
        super().__init__()
        self.cassette = cassette = recording_cassette(cassette, "RecordingAdapter")
        self.adapter: BaseAdapter = adapter if adapter is not None else HTTPAdapter()
        self._answerer = Answerer(None, cassette)

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        def network() -> requests.Response:
            return self.adapter.send(request, True, timeout, verify, cert, proxies)

        return serve(self._answerer, self, request, timeout, network)

    def save(self, path: StrPath | None = None, *, redaction: Redaction | None = None) -> Any:
        """Write the cassette with secrets redacted (the default lists, or `redaction`)."""
        (redaction or Redaction()).apply(self.cassette)
        return self.cassette.save(path)

    def close(self) -> None:
        self.adapter.close()


@contextlib.contextmanager
def routed_requests(answerer: Answerer) -> Iterator[None]:
    """While active, every `HTTPAdapter.send` (every requests session) goes to `answerer`."""
    original = HTTPAdapter.send

    def send(
        self: HTTPAdapter,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        def network() -> requests.Response:
            return original(self, request, True, timeout, verify, cert, proxies)

        return serve(answerer, self, request, timeout, network)

    HTTPAdapter.send = send  # type: ignore[method-assign]
    try:
        yield
    finally:
        HTTPAdapter.send = original  # type: ignore[method-assign]
