"""The cassette: recorded interactions, what each response was, and how it ended.

The data model only; its YAML file (format version 1, read and validated, cached, written
atomically) is `_file.py` (see docs/cassette-format.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from os import PathLike
from pathlib import Path
from typing import Literal

from ..exceptions import CassetteError
from ..sse import Event
from . import _yamlio

__all__ = [
    "Cassette",
    "CassetteError",
    "Chunk",
    "Ending",
    "Interaction",
    "RecordedRequest",
    "RecordedResponse",
]

StrPath = str | PathLike[str]


@dataclass(frozen=True, slots=True)
class Chunk:
    """One read from the network: `data` arrived `t` seconds after the request was sent."""

    t: float
    data: bytes


@dataclass(frozen=True, slots=True)
class Ending:
    """How a response body ended.

    kind: "complete" (the server ended it), "error" (the read raised `error`, an exception
    class name shared by httpx and httpx2 such as "RemoteProtocolError", with `message`),
    or "client_closed" (the client closed it before its end).
    """

    kind: Literal["complete", "error", "client_closed"] = "complete"
    error: str = ""
    message: str = ""

    @classmethod
    def failed(cls, error: str, message: str) -> Ending:
        return cls("error", error, message)


# The exceptions a body read can end with, by name: the request errors httpx and httpx2 both
# have, each built as `cls(message, request=...)`. A cassette names no other (the recorder
# writes any other exception as a ReadError that names it in its message).
ERROR_NAMES = (
    "CloseError",
    "ConnectError",
    "ConnectTimeout",
    "DecodingError",
    "LocalProtocolError",
    "NetworkError",
    "PoolTimeout",
    "ProtocolError",
    "ProxyError",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "RequestError",
    "TimeoutException",
    "TooManyRedirects",
    "TransportError",
    "UnsupportedProtocol",
    "WriteError",
    "WriteTimeout",
)

# The latest time a cassette holds, in seconds from sending the request: seven days. Far
# beyond any stream a test replays, and far below what a sleep can be asked to wait.
MAX_SECONDS = 7 * 24 * 3600

COMPLETE = Ending()
CLIENT_CLOSED = Ending("client_closed")


def header_value(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    """The first value of header `name` (any case), or None."""
    name = name.lower()
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def is_event_stream(headers: Sequence[tuple[str, str]]) -> bool:
    """Whether the Content-Type of `headers` is text/event-stream (parameters aside)."""
    content_type = header_value(headers, "content-type") or ""
    return content_type.split(";", 1)[0].strip().lower() == "text/event-stream"


def round_us(t: float) -> float:
    """`t` to the microsecond, the precision times are kept at: finer than any network, and
    short in the YAML. round(t, 6) gives the same floats through a decimal conversion, 2-3x
    slower."""
    return round(t * 1_000_000) / 1_000_000


@dataclass(slots=True)
class RecordedRequest:
    method: str
    url: str
    # Header names are lower-case; order and repeats are kept.
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)

    def __repr__(self) -> str:
        # A repr ends up in tracebacks and assertion messages (pytest prints the arguments
        # of every frame): it shows the request as a cassette would, secrets redacted by the
        # default lists.
        from ._redact import Redaction

        shown, _ = Redaction().request(self)
        return (
            f"RecordedRequest(method={shown.method!r}, url={shown.url!r}, "
            f"headers={shown.headers!r}, body={shown.body!r})"
        )


@dataclass(slots=True)
class RecordedResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    # Every read in arrival order; b"".join(c.data for c in chunks) is the body.
    chunks: list[Chunk] = field(default_factory=list)
    end: Ending = COMPLETE
    # Seconds from sending the request until the status line and headers arrived.
    headers_t: float = 0.0
    # The Content-Encoding the recorder decoded (and removed from `headers`), if any.
    decoded: str = ""

    @property
    def body(self) -> bytes:
        return b"".join(chunk.data for chunk in self.chunks)

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)

    @property
    def is_event_stream(self) -> bool:
        return is_event_stream(self.headers)

    def events(self) -> list[Event]:
        """The events of this body, each with `t` the arrival time of its last chunk."""
        from ..sse import SSEParser

        parser = SSEParser()
        events: list[Event] = []
        for chunk in self.chunks:
            events.extend(parser.feed(chunk.data, chunk.t))
        events.extend(parser.close())
        return events


@dataclass(slots=True)
class Interaction:
    request: RecordedRequest
    response: RecordedResponse

    def __repr__(self) -> str:
        # As RecordedRequest's: the response too may echo the request's secrets.
        from ._redact import Redaction

        copy = Interaction(
            RecordedRequest(
                self.request.method, self.request.url, list(self.request.headers), self.request.body
            ),
            replace(self.response, headers=list(self.response.headers)),
        )
        Redaction().apply(Cassette([copy]))
        return f"Interaction(request={copy.request!r}, response={copy.response!r})"


@dataclass(eq=False)
class Cassette:
    """An ordered list of interactions, loaded from or saved to one YAML file.

    `recorded_at` (UTC) and `recorded_with` (distribution or "python" -> version) say when
    and with what the interactions were recorded; None and {} for a cassette that predates
    them, or one built by hand.
    """

    interactions: list[Interaction] = field(default_factory=list)
    path: Path | None = None
    recorded_at: datetime | None = None
    recorded_with: dict[str, str] = field(default_factory=dict)
    # Guards `interactions` while recording transports append from several threads.
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Cassette):
            return NotImplemented
        return self.interactions == other.interactions

    def __iter__(self) -> Iterator[Interaction]:
        return iter(self.interactions)

    def __len__(self) -> int:
        return len(self.interactions)

    def append(self, interaction: Interaction) -> None:
        with self.lock:
            self.interactions.append(interaction)

    @classmethod
    def load(cls, path: StrPath) -> Cassette:
        """Read a cassette file (cached per process by path and modification time).

        Raises `CassetteError` naming the file and the problem. Returns a fresh
        `Cassette` each call (the cache holds the parsed data, not the object), so
        callers may append to it.
        """
        from ._file import build, read  # the file format builds this model: imported here

        path = Path(path)
        parsed, provenance = read(path)
        return cls(
            interactions=build(parsed),
            path=path,
            recorded_at=provenance.recorded_at,
            recorded_with=dict(provenance.recorded_with),
        )

    def save(self, path: StrPath | None = None) -> Path:
        """Write atomically (temporary file in the same folder, then rename)."""
        if path is None:
            if self.path is None:
                raise ValueError("Cassette.save(): no path given and the cassette has none")
            path = self.path
        path = Path(path)
        with self.lock:
            interactions = list(self.interactions)
        # Serialised in full before any file is touched: a model that cannot be written
        # fails here, and the old file stays as it was.
        from ._file import document, write_atomic

        text = _yamlio.dump(document(interactions, self.recorded_at, self.recorded_with))
        write_atomic(path, text.encode("utf-8"))
        self.path = path
        return path


# What redaction writes in place of a secret. On replay it matches any value, so a test
# that sends a real key (or a dummy one in CI) is answered by the recording all the same.
REDACTED = "REDACTED"


set_chunk_t: Callable[[Chunk, float], None] = vars(Chunk)["t"].__set__
set_chunk_data: Callable[[Chunk, bytes], None] = vars(Chunk)["data"].__set__
