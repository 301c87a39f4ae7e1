"""`Player`: which recording answers a request, and the plan to play it by.

Matching, Last-Event-ID resume, faults and their bookkeeping (attempt counts, streams open
at once) in one I/O-free place, shared by `ReplayTransport` (in-process clients) and
`sse-replay serve` (clients over a socket), so both play a cassette exactly alike.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from ..cassette import Cassette, Interaction, RecordedRequest, Redaction, is_event_stream
from ._matching import Matcher, NoRecording
from ._plan import Fault, Plan, PlayContext, Script, plan
from ._resume import resume

__all__ = ["Playback", "Played", "Player"]


class Played:
    """One request answered: which recording, and the request as sent."""

    __slots__ = ("index", "interaction", "request")

    def __init__(self, index: int, interaction: Interaction, request: RecordedRequest) -> None:
        self.index = index
        self.interaction = interaction
        self.request = request

    def __repr__(self) -> str:
        return f"<Played #{self.index} {self.request.method} {self.request.url}>"


class Playback:
    """One request being played: which recording answers it (`played`; None for a stream
    just recorded and played back under faults), the `plan` to play it by, and the stream
    slot it holds (faults.connection_limit counts them) until `release()`.

    Its owner releases it when the stream ends, or leaves it as a context manager; releasing
    twice is harmless, so every path that ends a stream may do it.
    """

    __slots__ = ("_release", "plan", "played")

    def __init__(
        self, played: Played | None, plan: Plan, release: Callable[[], None] | None
    ) -> None:
        self.played = played
        self.plan = plan
        self._release = release

    @property
    def holds_slot(self) -> bool:
        return self._release is not None

    def release(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()

    def __enter__(self) -> Playback:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class Player:
    """Answers requests from `cassette` with plans; thread-safe.

    Faults apply to event-stream responses only. A stream holds a slot in `open_streams`
    from `prepare` (or `play`) until its `Playback` is released (faults.connection_limit
    reads the count).
    """

    def __init__(
        self,
        cassette: Cassette,
        *,
        speed: float = 0.0,
        faults: Sequence[Fault] = (),
        match_on: Sequence[str] | None = None,
        ignore_json_paths: Sequence[str] = (),
        redaction: Redaction | None = None,
    ) -> None:
        plan(Script(200, (), ()), speed)  # validates speed now, not at the first request
        self.cassette = cassette
        self.speed = speed
        self.faults = tuple(faults)
        self.matcher = Matcher(cassette.interactions, match_on, ignore_json_paths=ignore_json_paths)
        self.redaction = redaction or Redaction()
        self.played: list[Played] = []
        self._lock = threading.Lock()
        self._attempts = [0] * len(self.faults)
        self._open_streams = 0
        self._plans: dict[int, tuple[Script, Plan]] = {}

    @property
    def open_streams(self) -> int:
        """Event streams being played right now."""
        return self._open_streams

    def prepare(self, live: RecordedRequest, read_timeout: float | None) -> Playback:
        """Which recording answers `live`, and the plan to play it by, as a `Playback` that
        holds its stream slot until released.

        Raises NoRecording when nothing answers it; its message shows the live request as
        a cassette would (secrets redacted), since it ends up in terminals and CI logs.
        """
        with self._lock:
            try:
                index = self.matcher.find(live)
            except NoRecording:
                # Explained again from the request as a cassette would hold it, so that no
                # live secret is shown, even cut short in a preview.
                shown, secrets = self.redaction.request(live)
                explained = self.matcher.explain(shown)
                raise NoRecording(self.redaction.scrub(explained, secrets)) from None
            interaction = self.cassette.interactions[index]
            answer = Played(index, interaction, live)
            self.played.append(answer)
        playback = self.play(interaction, live, read_timeout, index=index)
        playback.played = answer
        return playback

    def play(
        self,
        interaction: Interaction,
        live: RecordedRequest,
        read_timeout: float | None,
        *,
        index: int | None = None,
    ) -> Playback:
        """The plan to play `interaction` by for `live`, faults applied, as a `Playback` that
        holds a stream slot (an event stream) until released.

        `index` is the interaction's place in the cassette (its clean plan is kept); None
        for one that is not in it, such as a stream just recorded and played back faulted.
        """
        recorded = Script.from_response(interaction.response)
        if not interaction.response.is_event_stream:
            return Playback(None, self._plan(index, recorded), None)
        # A reconnect with Last-Event-ID resumes after that event, before any fault.
        script = resume(
            recorded, live.header("last-event-id"), interaction.request.header("last-event-id")
        )
        # The slot is taken in the same locked step that reads the count, so concurrent
        # requests (threads or tasks) never all see the same count and all pass
        # faults.connection_limit; it is given back below if a fault made this no stream.
        with self._lock:
            open_streams = self._open_streams
            self._open_streams += 1
            for n in range(len(self._attempts)):
                self._attempts[n] += 1
            contexts = [
                PlayContext(live, attempt, open_streams, read_timeout) for attempt in self._attempts
            ]
        try:
            for fault, context in zip(self.faults, contexts, strict=True):
                script = fault.apply(script, context)
            planned = (
                self._plan(index, recorded) if script is recorded else plan(script, self.speed)
            )
        except BaseException:
            self._give_back()
            raise
        if not is_event_stream(planned.headers):
            self._give_back()
            return Playback(None, planned, None)
        return Playback(None, planned, self._give_back)

    def _plan(self, index: int | None, script: Script) -> Plan:
        """The plan of a recording planned as it is: made once per recording and kept.

        Making it is a pass over every chunk; a request sent again (a retry, a reconnect, a
        loop) gets the plan made the first time, while the recording is unchanged (the
        scripts compare equal: the same chunk objects, the same end).
        """
        if index is None:
            return plan(script, self.speed)
        with self._lock:
            cached = self._plans.get(index)
        if cached is not None and cached[0] == script:
            return cached[1]
        planned = plan(script, self.speed)
        with self._lock:
            self._plans[index] = (script, planned)
        return planned

    def _give_back(self) -> None:
        """A stream that held a slot has ended (called by its Playback, once)."""
        with self._lock:
            self._open_streams -= 1
