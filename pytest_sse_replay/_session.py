"""The active cassette of one test (the `sse_cassette` fixture): replay or record, per request."""

from __future__ import annotations

import hashlib
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import filelock

from . import _drift, _provenance
from ._cassette import Cassette, Interaction
from ._config import CassetteSettings, RecordMode
from ._event import Event
from ._eventlog import EventLog
from ._faces import Face
from ._matching import NoRecording
from ._plan import Fault
from ._player import Played
from ._recording import RecordingTransport
from ._replay import ReplayTransport

__all__ = ["ActiveCassette"]


class ActiveCassette:
    """The cassette in use by a test.

    `events` is every event delivered to the client in this test, in order, across all
    streams, replayed or recorded; `interactions` the recorded interactions (loaded, plus
    any recorded in this test); `played` which of them answered which request.
    """

    def __init__(
        self,
        settings: CassetteSettings,
        *,
        test: str,
        run_started: float,
        extra_faults: tuple[Fault, ...] = (),
    ) -> None:
        self.settings = settings
        self.path: Path = settings.paths[0]
        self.mode: RecordMode = settings.mode
        self.test = test
        self.events = EventLog()
        self.misses: list[str] = []
        self._run_started = run_started
        self._lock = threading.Lock()
        # Trust checks: `problems` fail the test when it ends, `warnings` are only reported;
        # `failed` is set by the plugin when the test failed (see save()).
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.failed = False
        self.incomplete = 0
        self.expired = False

        self.existed = self.path.exists()
        loaded: list[Interaction] = []
        if self.mode is not RecordMode.ALL:
            cassettes = [Cassette.load(path) for path in settings.paths if path.exists()]
            # An expired cassette under --sse-expired=record is recorded afresh, as in "all".
            rerecord = self.mode is not RecordMode.VERIFY and self._check_age(cassettes)
            if not rerecord:
                loaded = [interaction for c in cassettes for interaction in c.interactions]
        self._loaded = loaded
        self.verifies = self.mode is RecordMode.VERIFY
        self.replays = self.mode in (RecordMode.NONE, RecordMode.NEW) or (
            self.mode is RecordMode.ONCE and self.existed
        )
        self.records = self.mode in (RecordMode.NEW, RecordMode.ALL, RecordMode.VERIFY) or (
            self.mode is RecordMode.ONCE and not self.existed
        )
        self.replay = ReplayTransport(
            Cassette(loaded, path=self.path),
            speed=settings.speed,
            faults=settings.faults + extra_faults,
            match_on=settings.match_on,
            on_event=self._delivered,
        )
        self.new = Cassette(path=self.path)
        self._recorders: dict[tuple[str, bool], RecordingTransport] = {}

    def __repr__(self) -> str:
        return f"<ActiveCassette {self.path} mode={self.mode.value}>"

    # -- what the fixture shows ---------------------------------------------------------------

    @property
    def interactions(self) -> list[Interaction]:
        return self._loaded + self.new.interactions

    @property
    def played(self) -> list[Played]:
        return self.replay.played

    @property
    def recorded(self) -> list[Interaction]:
        """Interactions recorded (not replayed) in this test."""
        return self.new.interactions

    def _delivered(self, event: Event) -> None:
        self.events.append(event)

    def _check_age(self, cassettes: list[Cassette]) -> bool:
        """Expiry (`sse_max_age`, `--sse-expired`) and SDK majors of the cassettes replayed;
        True when this cassette is to be re-recorded (the mode is then "all")."""
        settings = self.settings
        rerecord = False
        for cassette in cassettes:
            path = cassette.path
            changes = _provenance.major_changes(cassette.recorded_with)
            if changes:
                self.warnings.append(
                    f"cassette {path} was recorded under another major version: "
                    f"{', '.join(changes)} ({self.test})"
                )
            age = _provenance.expired_by(cassette.recorded_at, settings.max_age, _provenance.now())
            if age is None:
                continue
            self.expired = True
            if settings.expired == "record" and path == self.path:
                self.mode = RecordMode.ALL
                rerecord = True
                self.warnings.append(f"cassette {path} expired ({age}): re-recorded ({self.test})")
                continue
            message = (
                f"cassette {path} is older than sse_max_age ({age})\n"
                f"re-record it with: pytest --sse-record=all {self.test}"
            )
            (self.problems if settings.expired == "fail" else self.warnings).append(message)
        return rerecord

    # -- routing: called by the interceptors for every httpx / httpx2 request ----------------

    def handle(self, face: Face, request: Any, network: Any, *, is_async: bool) -> Any:
        """Answer from the cassette, or record through `network` (sync)."""
        if self.replays:
            try:
                return self.replay.handle_request(request)
            except NoRecording as exc:
                self._missed(exc)
        return self._recorder(face, network, is_async=False).handle_request(request)

    async def ahandle(self, face: Face, request: Any, network: Any) -> Any:
        if self.replays:
            try:
                return await self.replay.handle_async_request(request)
            except NoRecording as exc:
                self._missed(exc)
        return await self._recorder(face, network, is_async=True).handle_async_request(request)

    def _missed(self, exc: NoRecording) -> None:
        if self.records:
            return  # "new": what has no recording is recorded
        message = self._explain_miss(str(exc))
        with self._lock:
            self.misses.append(message)
        raise NoRecording(message) from None

    def _explain_miss(self, detail: str) -> str:
        if not self.existed:
            head = f"cassette {self.path} does not exist (record mode {self.mode.value!r})"
            hint = f"record it with: pytest --sse-record {self.test}"
        else:
            head = f"cassette {self.path} (record mode {self.mode.value!r})"
            hint = f"record what is missing with: pytest --sse-record=new {self.test}"
        return f"{head}: {detail}\n{hint}"

    def _recorder(self, face: Face, network: Any, *, is_async: bool) -> RecordingTransport:
        if network is not None:
            # The client's own transport (httpx2): its settings (proxies, TLS) apply.
            return RecordingTransport(self.new, network, on_event=self._delivered)
        key = (face.name, is_async)
        with self._lock:
            recorder = self._recorders.get(key)
            if recorder is None:  # one per library and face, so connections are pooled
                recorder = RecordingTransport(
                    self.new, on_event=self._delivered, keepalive=not is_async
                )
                self._recorders[key] = recorder
            return recorder

    # -- the end of the test -----------------------------------------------------------------

    def _redacted(self) -> list[Interaction]:
        # What is printed about the recordings is redacted as a saved cassette would be; the
        # recordings themselves stay as they are until save() redacts them.
        copies = Cassette(
            [Interaction(replace(i.request), replace(i.response)) for i in self.new.interactions]
        )
        self.settings.redaction.apply(copies)
        return copies.interactions

    def check_recordings(self) -> None:
        """Each event stream recorded in this test: empty, broke, or without its terminal
        event is a problem (ini `sse_incomplete = fail`) or a warning (`warn`)."""
        if not self.records or self.verifies or not self.new.interactions:
            return
        terminal = self.settings.terminal
        for interaction in self._redacted():
            problem = _drift.incompleteness(interaction, terminal)
            if problem is None:
                continue
            request = interaction.request
            message = (
                f"incomplete recording in cassette {self.path}: {request.method} {request.url}: "
                f"{problem}"
            )
            if terminal is not None:
                message += f" (terminal {terminal!r})"
            self.incomplete += 1
            (self.problems if self.settings.incomplete == "fail" else self.warnings).append(message)

    def verify(self) -> _drift.Verdict:
        """The live streams of this test compared with the cassette (`--sse-record=verify`)."""
        return _drift.verify(
            self._loaded,
            self._redacted(),
            match_on=self.settings.match_on,
            timing=self.settings.verify_timing,
        )

    def close(self) -> None:
        for (_, is_async), recorder in self._recorders.items():
            if not is_async:
                recorder.close()

    def save(self) -> Path | None:
        """Write what was recorded, redacted, atomically and under a lock (pytest-xdist)."""
        if not self.new.interactions or self.verifies:
            return None
        if self.failed and not self.settings.record_on_error:
            return None  # a failed test's recording is not trusted (ini sse_record_on_error)
        recorded_at = self.new.recorded_at or _provenance.now()
        with _lock_for(self.path):
            # Afresh ("all", or "once" on a missing file) means: replace what an earlier run
            # left. What another test or xdist worker wrote during this run is kept.
            if self.path.exists() and (
                self.mode is RecordMode.NEW or self.path.stat().st_mtime >= self._run_started
            ):
                cassette = Cassette.load(self.path)
                cassette.interactions.extend(self.new.interactions)
                # As old as its oldest recording: recorded_at stays, versions are merged.
                cassette.recorded_at = cassette.recorded_at or recorded_at
            else:
                cassette = Cassette(list(self.new.interactions), path=self.path)
                cassette.recorded_at = recorded_at
            cassette.recorded_with.update(self.new.recorded_with)
            self.settings.redaction.apply(cassette)
            return cassette.save(self.path)


def _lock_for(path: Path) -> filelock.FileLock:
    # Lock files live in the temp dir, not beside the cassettes where they would get committed.
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:24]
    directory = Path(tempfile.gettempdir()) / "pytest-sse-replay-locks"
    directory.mkdir(exist_ok=True)
    return filelock.FileLock(directory / f"{digest}.lock", timeout=120)
