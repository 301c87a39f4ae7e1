"""What the faces that walk plans themselves (aiohttp, requests) ask of a cassette.

httpx and httpx2 have transports, so `ReplayTransport` and `RecordingTransport` answer
them. aiohttp and requests have none of the same shape; their faces describe each request
in the library-neutral `RecordedRequest`, and get back either an `Answer` (the plan to play,
from the same `Player` that serves httpx) or, when it is to be recorded, a `ChunkSink` to
report the live response's chunks to. Which of the two, what a miss means, and whether a
stream being recorded reaches the client faulted (read whole, then played like a replay)
are decided here once for every library: the face never knows whether a plugin or a
standalone adapter asked.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, cast

from ..cassette import (
    CLIENT_CLOSED,
    Cassette,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    is_event_stream,
    note,
    round_us,
)
from ..playback import NoRecording, Plan, Playback, walk
from ..sse import Event
from ._recording import _Recorder

if TYPE_CHECKING:
    from ._replay import ReplayTransport

__all__ = ["Answer", "Answerer", "is_local_server", "local_servers"]

# Base URLs of the replay servers running in this process (`ReplayServer`, the `sse_server`
# fixture). A request to one of them is meant for that server, not for the test's in-process
# cassette: the faces send it to the network unrecorded.
local_servers: set[str] = set()


def is_local_server(url: str) -> bool:
    return any(url == base or url.startswith(base + "/") for base in local_servers)


Clock = Callable[[], float]


class Answer:
    """One request answered from the cassette: its playback, and what its stream must report.

    `close()` gives back the stream slot the player took (faults.connection_limit counts
    open streams); it is safe to call more than once.
    """

    __slots__ = ("clock", "observe", "playback", "read_timeout", "start")

    def __init__(
        self,
        playback: Playback,
        start: float,
        clock: Clock,
        read_timeout: float | None,
        observe: Callable[[bytes], None] | None,
    ) -> None:
        self.playback = playback
        self.start = start
        self.clock = clock
        self.read_timeout = read_timeout
        self.observe = observe

    @property
    def plan(self) -> Plan:
        return self.playback.plan

    def steps(self) -> Iterator[bytes | float]:
        """The body: bytes to deliver and seconds to sleep (see `_plan.walk`)."""
        plan = self.playback.plan
        if plan.plain and self.observe is None:
            # Every step is bytes (speed 0, a clean end): nothing to walk.
            return iter(cast("list[bytes]", plan.steps))
        return walk(plan.steps, self.start, self.clock, self.read_timeout, self.observe)

    def head_delay(self) -> float:
        """Seconds still to wait before the status line and headers are due."""
        plan = self.playback.plan
        if not plan.head_at:
            return 0.0
        return max(0.0, self.start + plan.head_at - self.clock())

    def close(self) -> None:
        self.playback.release()


class Answerer:
    """Replays from `replay` (if given), records into `record_into` (if given).

    A request with no recording calls `on_miss(exc)` (which may raise a better-worded
    NoRecording), then is recorded when there is somewhere to record it, else raises.

    With `playback` (a transport with faults), a live event stream is not teed to the
    client: the face reads it whole into the recording, then answers the client with
    `replay_recorded`, the faulted plan of that recording, exactly as a replay would play
    it. The cassette keeps the clean stream; the client sees the faults in both runs.
    """

    def __init__(
        self,
        replay: ReplayTransport | None,
        record_into: Cassette | None,
        *,
        on_event: Callable[[Event], None] | None = None,
        on_miss: Callable[[NoRecording], None] | None = None,
        clock: Clock = time.perf_counter,
        network: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
        on_record: Callable[[Interaction], object] | None = None,
        playback: ReplayTransport | None = None,
    ) -> None:
        self.replay = replay
        self.playback = playback
        self.record_into = record_into
        self.on_event = on_event
        self.on_miss = on_miss
        # Entered around each request that goes to the network to be recorded (the plugin's
        # guard lets exactly those through in replay), and told of each new recording.
        self.network = network
        self.on_record = on_record
        source = replay if replay is not None else playback
        self.clock = clock if source is None else source.clock

    @property
    def faulted(self) -> bool:
        """Whether live event streams reach the client through `replay_recorded`."""
        return self.playback is not None

    def answer(self, live: RecordedRequest, read_timeout: float | None) -> Answer | None:
        """The recording that answers `live`, or None: record it instead."""
        if self.replay is None:
            return None
        start = self.clock()
        try:
            playback = self.replay.player.prepare(live, read_timeout)
        except NoRecording as exc:
            if self.on_miss is not None:
                self.on_miss(exc)
            if self.record_into is None:
                raise
            return None
        return self._answer(self.replay, playback, start, read_timeout)

    def plays_recorded(self, interaction: Interaction) -> bool:
        """Whether the response being recorded is to be read whole and answered by
        `replay_recorded`: an event stream, under faults. Anything else is teed as it is."""
        return self.playback is not None and interaction.response.is_event_stream

    def replay_recorded(
        self, live: RecordedRequest, interaction: Interaction, read_timeout: float | None
    ) -> Answer:
        """`interaction`, just recorded whole, as the plan to answer `live` by, with the
        faults of `playback` applied as on replay (it is not looked up in the cassette)."""
        playback = self.playback
        if playback is None:
            raise RuntimeError(f"{live.method} {live.url}: no faults to play a recording with")
        start = self.clock()
        return self._answer(
            playback, playback.player.play(interaction, live, read_timeout), start, read_timeout
        )

    def _answer(
        self,
        transport: ReplayTransport,
        playback: Playback,
        start: float,
        read_timeout: float | None,
    ) -> Answer:
        plan = playback.plan
        observe = None
        if transport.on_event is not None and is_event_stream(plan.headers):
            observe = transport._observer(plan.times)
        return Answer(playback, start, self.clock, read_timeout, observe)

    def record(
        self,
        live: RecordedRequest,
        status: int,
        headers: Sequence[tuple[str, str]],
        start: float,
        *,
        decoded: str = "",
        client: str = "",
    ) -> _Recorder:
        """Note a live response whose head just arrived; its body goes to the sink returned.

        `headers` are as received, lower-case names; `decoded` names the Content-Encoding
        the client library already undid (its header is left out of the recording);
        `client` the library (its version, and the calling SDK's, go into the cassette).
        """
        if self.record_into is None:
            raise NoRecording(f"{live.method} {live.url}: nothing to record into")
        if client:
            note(self.record_into, client)  # when, and with what (docs/cassette-format.md)
        headers_t = round_us(self.clock() - start)
        kept = list(headers)
        if decoded:
            kept = [(k, v) for k, v in kept if k not in ("content-encoding", "content-length")]
        recorded = RecordedResponse(
            status=status, headers=kept, end=CLIENT_CLOSED, headers_t=headers_t, decoded=decoded
        )
        interaction = Interaction(live, recorded)
        self.record_into.append(interaction)
        if self.on_record is not None:
            self.on_record(interaction)
        # No encoding to undo: these libraries hand the recorder decoded bytes already.
        return _Recorder(
            recorded,
            start,
            self.clock,
            encoding="",
            on_done=None,
            interaction=interaction,
            # Under faults the client's events come from the faulted plan, not the wire.
            on_event=None if self.playback is not None else self.on_event,
        )
