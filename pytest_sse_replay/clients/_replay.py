"""`ReplayTransport`: answers httpx and httpx2 requests, sync or async, from a cassette."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, overload

import anyio
import httpx

from ..cassette import Cassette, Interaction, Redaction, StrPath, is_event_stream, round_us
from ..playback import (
    READ_TIMEOUT_MESSAGE,
    Fault,
    Plan,
    Playback,
    Played,
    Player,
    StreamFailure,
    check_faults,
    check_speed,
)
from ..sse import Event, SSEParser
from ._faces import HTTPX2, Face, face_for

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


class ReplayTransport(httpx.BaseTransport, httpx.AsyncBaseTransport, _Httpx2Transports):
    """Answers requests from a cassette, for httpx and httpx2 clients, sync and async.

    `speed=0` delivers at once; `speed=1` at the recorded pace, `2` twice as fast. Every
    chunk is delivered exactly as recorded (its bytes and boundaries), and a recorded
    error ending is raised again at the same point as the client library's exception.
    `faults` apply to event-stream responses. A request with no recording raises
    `NoRecording` naming the closest recorded request and how it differs, with the secrets
    `redaction` (by default the default lists) knows of redacted. A response whose
    headers would come later than the client's read timeout raises its `ReadTimeout` at
    once, as a server slow to answer would make it do. `on_event(event)` is called for each
    event the client is handed, with `Event.t` the time its bytes arrived in the recording
    (seconds from the request; faults that move events move it too), whatever the speed.
    """

    def __init__(
        self,
        cassette: Cassette | StrPath,
        *,
        speed: float = 0.0,
        faults: Sequence[Fault] = (),
        match_on: Sequence[str] | None = None,
        ignore_json_paths: Sequence[str] = (),
        on_event: Callable[[Event], None] | None = None,
        clock: Callable[[], float] = time.perf_counter,
        redaction: Redaction | None = None,
    ) -> None:
        speed = check_speed(speed, "ReplayTransport")
        faults = check_faults(faults, "ReplayTransport")
        self.cassette = cassette if isinstance(cassette, Cassette) else Cassette.load(cassette)
        self.player = Player(
            self.cassette,
            speed=speed,
            faults=faults,
            match_on=match_on,
            ignore_json_paths=ignore_json_paths,
            redaction=redaction,
        )
        self.on_event = on_event
        self.clock = clock

    @property
    def played(self) -> list[Played]:
        """Which recording answered which request, in order."""
        return self.player.played

    @property
    def open_streams(self) -> int:
        """Event streams being served right now."""
        return self.player.open_streams

    # -- the shared core: everything but reading the body and sleeping ------------------------

    def _prepare(self, face: Face, request: Any, body: bytes) -> Playback:
        live = face.recorded_request(request, body)
        return self.player.prepare(live, face.read_timeout(request))

    def _stream(
        self, face: Face, request: Any, playback: Playback, start: float, is_async: bool
    ) -> Any:
        plan = playback.plan
        observe = None
        if self.on_event is not None and is_event_stream(plan.headers):
            observe = self._observer(plan.times)
        return face.response(
            plan.status,
            plan.headers,
            face.replay_stream(
                plan,
                request=request,
                start=start,
                clock=self.clock,
                observe=observe,
                # The stream gives back the slot `prepare` took, when the client closes it.
                on_close=playback.release if playback.holds_slot else None,
                is_async=is_async,
            ),
        )

    def _observer(self, times: list[float]) -> Callable[[bytes], None]:
        # The recorded time, not the replay clock: at speed 0 every event would arrive at
        # about 0 s, and a timing assertion (assert_within) would pass on any recording.
        # The plan's walk hands over its bytes steps in order, one call each.
        parser = SSEParser()
        on_event = self.on_event
        arrivals = iter(times)
        assert on_event is not None

        def observe(chunk: bytes) -> None:
            for event in parser.feed(chunk, round_us(next(arrivals, 0.0))):
                on_event(event)

        return observe

    def _head_wait(
        self, face: Face, request: Any, plan: Plan, start: float, *, is_async: bool
    ) -> float:
        """Seconds to wait before the response head; ReadTimeout when the client would not.

        httpcore reads the status line and headers under the read timeout, so a server that
        is slow to answer gets the client's ReadTimeout (checked against a real socket).
        """
        if not plan.head_at:
            return 0.0
        delay = start + plan.head_at - self.clock()
        timeout = face.read_timeout(request)
        if timeout is not None and delay > timeout:
            with face.mapped_failures(request, is_async=is_async):
                raise StreamFailure("ReadTimeout", READ_TIMEOUT_MESSAGE)
        return delay

    # -- the two faces ------------------------------------------------------------------------

    @overload
    def handle_request(self, request: httpx.Request) -> httpx.Response: ...
    @overload
    def handle_request(self, request: httpx2.Request) -> httpx2.Response: ...
    def handle_request(self, request: Any) -> Any:
        start = self.clock()
        face = face_for(request)
        return self._answer(face, request, self._prepare(face, request, request.read()), start)

    def play_recorded(self, request: Any, interaction: Interaction) -> Any:
        """Answer `request` with `interaction` (not looked up in the cassette), faults
        applied as on replay: how a stream just recorded reaches a client under faults."""
        start = self.clock()
        face = face_for(request)
        live = face.recorded_request(request, request.read())
        playback = self.player.play(interaction, live, face.read_timeout(request))
        return self._answer(face, request, playback, start)

    def _answer(self, face: Face, request: Any, playback: Playback, start: float) -> Any:
        try:
            delay = self._head_wait(face, request, playback.plan, start, is_async=False)
            if delay > 0:
                time.sleep(delay)
        except BaseException:
            playback.release()  # a head wait cut short must not leave its slot taken
            raise
        return self._stream(face, request, playback, start, is_async=False)

    @overload
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response: ...
    @overload
    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response: ...
    async def handle_async_request(self, request: Any) -> Any:
        start = self.clock()
        face = face_for(request)
        playback = self._prepare(face, request, await request.aread())
        return await self._aanswer(face, request, playback, start)

    async def aplay_recorded(self, request: Any, interaction: Interaction) -> Any:
        """`play_recorded` for async clients."""
        start = self.clock()
        face = face_for(request)
        live = face.recorded_request(request, await request.aread())
        playback = self.player.play(interaction, live, face.read_timeout(request))
        return await self._aanswer(face, request, playback, start)

    async def _aanswer(self, face: Face, request: Any, playback: Playback, start: float) -> Any:
        try:
            delay = self._head_wait(face, request, playback.plan, start, is_async=True)
            if delay > 0:
                await anyio.sleep(delay)
        except BaseException:
            playback.release()  # a cancelled task must not leave its slot taken
            raise
        return self._stream(face, request, playback, start, is_async=True)

    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        pass
