"""`ReplayTransport`: answers httpx and httpx2 requests, sync or async, from a cassette."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

import anyio
import httpx

from ._cassette import Cassette, Interaction, RecordedRequest, StrPath
from ._event import Event
from ._faces import HTTPX2, Face, face_for
from ._matching import Matcher
from ._parser import SSEParser
from ._plan import Fault, Plan, PlayContext, Script, plan
from ._resume import resume

if TYPE_CHECKING:
    import httpx2

__all__ = ["Played", "ReplayTransport"]

if TYPE_CHECKING or HTTPX2 is not None:
    # With httpx2 installed the transport is also an httpx2 transport, so both libraries'
    # clients (and type checkers) accept it. Without it, it is an httpx transport only.
    import httpx2 as _httpx2_module

    class _Httpx2Transports(_httpx2_module.BaseTransport, _httpx2_module.AsyncBaseTransport):
        pass

else:  # pragma: no cover - only where httpx2 is not installed

    class _Httpx2Transports:
        pass


class Played:
    """One request answered by the transport: which recording, and the request as sent."""

    __slots__ = ("index", "interaction", "request")

    def __init__(self, index: int, interaction: Interaction, request: RecordedRequest) -> None:
        self.index = index
        self.interaction = interaction
        self.request = request

    def __repr__(self) -> str:
        return f"<Played #{self.index} {self.request.method} {self.request.url}>"


class ReplayTransport(httpx.BaseTransport, httpx.AsyncBaseTransport, _Httpx2Transports):
    """Answers requests from a cassette, for httpx and httpx2 clients, sync and async.

    `speed=0` delivers at once; `speed=1` at the recorded pace, `2` twice as fast. Every
    chunk is delivered exactly as recorded (its bytes and boundaries), and a recorded
    error ending is raised again at the same point as the client library's exception.
    `faults` apply to event-stream responses. A request with no recording raises
    `NoRecording` naming the closest recorded request and how it differs.
    """

    def __init__(
        self,
        cassette: Cassette | StrPath,
        *,
        speed: float = 0.0,
        faults: Sequence[Fault] = (),
        match_on: Sequence[str] | None = None,
        on_event: Callable[[Event], None] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.cassette = cassette if isinstance(cassette, Cassette) else Cassette.load(cassette)
        plan(Script(200, (), ()), speed)  # validates speed here, not at the first request
        self.speed = speed
        self.faults = tuple(faults)
        self.matcher = Matcher(self.cassette.interactions, match_on)
        self.on_event = on_event
        self.clock = clock
        self.played: list[Played] = []
        self._lock = threading.Lock()
        self._attempts = [0] * len(self.faults)
        self._open_streams = 0

    # -- the shared core: everything but reading the body and sleeping ------------------------

    def _prepare(self, face: Face, request: Any, body: bytes, start: float) -> Plan:
        """Match the request and fix its plan. For an event stream that stays one, a slot
        in `open_streams` is taken here; `_stream` hands it to the stream to give back."""
        live = face.recorded_request(request, body)
        with self._lock:
            index = self.matcher.find(live)
            interaction = self.cassette.interactions[index]
            self.played.append(Played(index, interaction, live))
        script = Script.from_response(interaction.response)
        if not interaction.response.is_event_stream:
            return plan(script, self.speed)
        # A reconnect with Last-Event-ID resumes after that event, before any fault.
        script = resume(
            script, live.header("last-event-id"), interaction.request.header("last-event-id")
        )
        # The slot is taken in the same locked step that reads the count, so that
        # concurrent requests (threads or tasks) never all see the same count and all pass
        # faults.connection_limit; it is given back below if a fault made this no stream.
        with self._lock:
            open_streams = self._open_streams
            self._open_streams += 1
            attempts = self._attempts
            for n in range(len(attempts)):
                attempts[n] += 1
            contexts = [
                PlayContext(live, attempts[n], open_streams, face.read_timeout(request))
                for n in range(len(attempts))
            ]
        try:
            for fault, context in zip(self.faults, contexts, strict=True):
                script = fault.apply(script, context)
            played = plan(script, self.speed)
        except BaseException:
            self._stream_closed()
            raise
        if not _is_event_stream(played.headers):
            self._stream_closed()
        return played

    def _stream(self, face: Face, request: Any, played: Plan, start: float, is_async: bool) -> Any:
        observe = None
        is_stream = _is_event_stream(played.headers)
        if self.on_event is not None and is_stream:
            observe = self._observer(start)
        # The slot in `open_streams` was taken by `_prepare`; the stream gives it back on close.
        on_close = self._stream_closed if is_stream else None
        return face.response(
            played.status,
            played.headers,
            face.replay_stream(
                played,
                request=request,
                start=start,
                clock=self.clock,
                observe=observe,
                on_close=on_close,
                is_async=is_async,
            ),
        )

    def _observer(self, start: float) -> Callable[[bytes], None]:
        parser = SSEParser()
        on_event = self.on_event
        clock = self.clock
        assert on_event is not None

        def observe(chunk: bytes) -> None:
            for event in parser.feed(chunk, round(clock() - start, 6)):
                on_event(event)

        return observe

    def _stream_closed(self) -> None:
        with self._lock:
            self._open_streams -= 1

    @contextlib.contextmanager
    def _slot_given_back_on_error(self, played: Plan) -> Iterator[None]:
        # A head wait cut short (a cancelled task) must not leave its slot taken.
        try:
            yield
        except BaseException:
            if _is_event_stream(played.headers):
                self._stream_closed()
            raise

    @property
    def open_streams(self) -> int:
        """Event streams being served right now."""
        return self._open_streams

    # -- the two faces ------------------------------------------------------------------------

    @overload
    def handle_request(self, request: httpx.Request) -> httpx.Response: ...
    @overload
    def handle_request(self, request: httpx2.Request) -> httpx2.Response: ...
    def handle_request(self, request: Any) -> Any:
        start = self.clock()
        face = face_for(request)
        played = self._prepare(face, request, request.read(), start)
        if played.head_at:
            delay = start + played.head_at - self.clock()
            if delay > 0:
                with self._slot_given_back_on_error(played):
                    time.sleep(delay)
        return self._stream(face, request, played, start, is_async=False)

    @overload
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response: ...
    @overload
    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response: ...
    async def handle_async_request(self, request: Any) -> Any:
        start = self.clock()
        face = face_for(request)
        played = self._prepare(face, request, await request.aread(), start)
        if played.head_at:
            delay = start + played.head_at - self.clock()
            if delay > 0:
                with self._slot_given_back_on_error(played):
                    await anyio.sleep(delay)
        return self._stream(face, request, played, start, is_async=True)

    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


def _is_event_stream(headers: Sequence[tuple[str, str]]) -> bool:
    for key, value in headers:
        if key.lower() == "content-type":
            return value.split(";", 1)[0].strip().lower() == "text/event-stream"
    return False
