"""The active cassette of one test (the `sse_cassette` fixture): replay or record, per request."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..assertions import EventLog
from ..cassette import Cassette, Interaction, expired_by, major_changes, now
from ..clients import Answerer, Face, RecordingTransport, ReplayTransport
from ..playback import Fault, Matcher, NoRecording, Played
from ..sse import Event
from . import _drift
from ._config import CassetteSettings, RecordMode
from ._hooks import FIXTURE, BeforeRecord, BeforeRecordError, apply_before_record
from ._network import recording
from ._run import Run

__all__ = ["ActiveCassette", "NotSaved"]


class NotSaved(Exception):
    """A recording could not be written: one line naming the cassette and why."""


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
        run: Run,
        extra_faults: tuple[Fault, ...] = (),
        before_record: BeforeRecord | None = None,
    ) -> None:
        self.settings = settings
        self.path: Path = settings.paths[0]
        self.mode: RecordMode = settings.mode
        self.test = test
        self.events = EventLog()
        self.misses: list[str] = []
        self._run = run
        self._lock = threading.Lock()
        self.before_record = before_record
        # (path, how many interactions) of each loaded file, in `interactions` order.
        self.sources: list[tuple[Path, int]] = []
        # Trust checks: `problems` fail the test when it ends, `warnings` are only reported;
        # `failed` is set by the plugin when the test failed (see save()).
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.failed = False
        self.incomplete = 0
        self.expired = False

        for folder in dict.fromkeys(path.parent for path in settings.paths):
            run.sweep(folder)
        self.existed = self.path.exists()
        # Written earlier in this run, by another test or xdist worker: in `once` mode it
        # is still being recorded, so it replays what it has and records the rest.
        recording_in_this_run = self.existed and run.wrote(self.path)
        loaded: list[Interaction] = []
        if self.mode is not RecordMode.ALL:
            cassettes = [Cassette.load(path) for path in settings.paths if path.exists()]
            # An expired cassette under --sse-expired=record is recorded afresh, as in "all".
            rerecord = self.mode is not RecordMode.VERIFY and self._check_age(cassettes)
            if not rerecord:
                for cassette in cassettes:
                    self.sources.append((cassette.path or self.path, len(cassette.interactions)))
                    loaded.extend(cassette.interactions)
        self._loaded = loaded
        self.verifies = self.mode is RecordMode.VERIFY
        self.replays = self.mode in (RecordMode.NONE, RecordMode.NEW) or (
            self.mode is RecordMode.ONCE and self.existed
        )
        self.records = self.mode in (RecordMode.NEW, RecordMode.ALL, RecordMode.VERIFY) or (
            self.mode is RecordMode.ONCE and (not self.existed or recording_in_this_run)
        )
        faults = settings.faults + extra_faults
        # With faults, a stream being recorded is read whole, then played to the client
        # faulted, exactly as a replay would play it (the cassette keeps the clean stream).
        self._faulted = bool(faults)
        # Secrets of live requests played under faults, and the scrubber the log uses for them.
        self._secrets: frozenset[str] = frozenset()
        self._scrub: Callable[[Event], Event] | None = None
        self.replay = ReplayTransport(
            Cassette(loaded, path=self.path),
            speed=settings.speed,
            faults=faults,
            match_on=settings.match_on,
            ignore_json_paths=settings.ignore_json_paths,
            on_event=self._delivered,
            redaction=settings.redaction,
        )
        self.new = Cassette(path=self.path)
        self._saved = 0  # how many of self.new.interactions are on disk
        self._sent_secrets: frozenset[str] = frozenset()  # see save()
        self._revealed: set[str] = set()  # what redaction found in the recordings saved
        self._recorders: dict[tuple[str, bool], RecordingTransport] = {}
        # aiohttp and requests walk plans themselves: they ask this instead.
        self.answerer = Answerer(
            self.replay if self.replays else None,
            self.new if self.records else None,
            on_event=self._delivered,
            on_miss=self._missed,
            network=recording,
            on_record=self._heard,
            playback=self.replay if self._faulted else None,
        )

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
        scrub = self._scrub
        self.events.append(event if scrub is None else scrub(event))

    def _heard(self, interaction: Interaction) -> Interaction:
        """A live stream about to be played under faults: from now on the log shows events
        as the cassette will, scrubbed of the secrets its request carries."""
        redaction = self.settings.redaction
        secrets = redaction.request_secrets(interaction.request, interaction.response.headers)
        if secrets:
            with self._lock:
                self._secrets |= secrets
                self._scrub = redaction.event_scrubber(self._secrets)
        return interaction

    def secrets_seen(self) -> frozenset[str]:
        """Every secret the requests of this test carried, as far as they are known now
        (what its report is scrubbed of, see _reports.py)."""
        redaction = self.settings.redaction
        with self._lock:
            found = set(self._secrets | self._sent_secrets | self._revealed)
            interactions = list(self.new.interactions)
        for interaction in interactions:  # those saved are redacted already: nothing there
            found |= redaction.request_secrets(interaction.request, interaction.response.headers)
        return frozenset(found)

    def _check_age(self, cassettes: list[Cassette]) -> bool:
        """Expiry (`sse_max_age`, `--sse-expired`) and SDK majors of the cassettes replayed;
        True when this cassette is to be re-recorded (the mode is then "all")."""
        settings = self.settings
        rerecord = False
        for cassette in cassettes:
            path = cassette.path
            changes = major_changes(cassette.recorded_with)
            if changes:
                self.warnings.append(
                    f"cassette {path} was recorded under another major version: "
                    f"{', '.join(changes)} ({self.test})"
                )
            age = expired_by(cassette.recorded_at, settings.max_age, now())
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
        recorder = self._recorder(face, network, is_async=False)
        if not self._faulted:
            with recording():  # the one way to the network in replay (see _network)
                return recorder.handle_request(request)
        with recording():
            response, interaction = recorder.exchange(request)
        if not interaction.response.is_event_stream:
            return response
        try:
            for _ in response.stream:
                pass
        except face.module.HTTPError:
            pass  # the recording ends with it, and the plan raises it again
        finally:
            response.stream.close()
        return self.replay.play_recorded(request, self._heard(interaction))

    async def ahandle(self, face: Face, request: Any, network: Any) -> Any:
        if self.replays:
            try:
                return await self.replay.handle_async_request(request)
            except NoRecording as exc:
                self._missed(exc)
        recorder = self._recorder(face, network, is_async=True)
        if not self._faulted:
            with recording():
                return await recorder.handle_async_request(request)
        with recording():
            response, interaction = await recorder.aexchange(request)
        if not interaction.response.is_event_stream:
            return response
        try:
            async for _ in response.stream:
                pass
        except face.module.HTTPError:
            pass  # the recording ends with it, and the plan raises it again
        finally:
            await response.stream.aclose()
        return await self.replay.aplay_recorded(request, self._heard(interaction))

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
        # Under faults the client's events come from the faulted playback, not the wire.
        on_event = None if self._faulted else self._delivered
        if network is not None:
            # The client's own transport (httpx2): its settings (proxies, TLS) apply.
            return RecordingTransport(
                self.new, network, on_event=on_event, redaction=self.settings.redaction
            )
        key = (face.name, is_async)
        with self._lock:
            recorder = self._recorders.get(key)
            if recorder is None:  # one per library and face, so connections are pooled
                recorder = RecordingTransport(
                    self.new,
                    on_event=on_event,
                    keepalive=not is_async,
                    redaction=self.settings.redaction,
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

    def verify(self, *, unrequested: bool = True) -> _drift.Verdict:
        """The live streams of this test compared with the cassette (`--sse-record=verify`)."""
        return _drift.verify(
            self._loaded,
            self._redacted(),
            match_on=self.settings.match_on,
            timing=self.settings.verify_timing,
            unrequested=unrequested,
        )

    def close(self) -> None:
        with self._lock:
            recorders, self._recorders = self._recorders, {}
        for (_, is_async), recorder in recorders.items():
            if not is_async:
                recorder.close()

    def save(self) -> Path | None:
        """Write what was recorded and is not yet on disk, redacted, atomically and under a
        lock (pytest-xdist). Raises NotSaved, one line naming the cassette, on failure.

        The `sse_before_record` hook sees each interaction first; redaction runs after it, so
        whatever the hook copies or adds is scrubbed like the rest."""
        if self.verifies:
            return None  # verify compares with the cassette and writes nothing
        if self.failed and not self.settings.record_on_error:
            return None  # a failed test's recording is not trusted (ini sse_record_on_error)
        with self._lock:
            if self.before_record is not None and len(self.new.interactions) > self._saved:
                # The secrets as sent: a hook that rewrites or drops the header that held
                # one must not leave its echoes in the body unscrubbed.
                redaction = self.settings.redaction
                for interaction in self.new.interactions[self._saved :]:
                    self._sent_secrets |= redaction.request_secrets(
                        interaction.request, interaction.response.headers
                    )
                try:
                    self.new.interactions[self._saved :] = apply_before_record(
                        self.before_record, self.new.interactions[self._saved :]
                    )
                except BeforeRecordError as exc:  # our check of what it returned: one line
                    self._saved = len(self.new.interactions)
                    raise NotSaved(
                        f"cassette {self.path}: the recording was not saved: {exc}"
                    ) from None
                except BaseException:
                    self._saved = len(self.new.interactions)  # tried once, as below
                    raise
            recorded = list(self.new.interactions)
        if len(recorded) <= self._saved:
            return None
        try:
            with self._run.lock_for(self.path):
                path = self._save_locked(recorded)
                self._run.mark_written(self.path)
        except OSError as exc:
            # The file system's reason, not its traceback through a temporary file's name.
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise NotSaved(
                f"cassette {self.path}: the recording was not saved ({reason})"
            ) from None
        except (ValueError, TypeError, AttributeError) as exc:
            # A value the file cannot hold (save refuses it before writing), or the cassette
            # already on disk does not load. With a hook, most likely something it changed
            # (chunks="..." has no .data).
            if isinstance(exc, AttributeError) and self.before_record is None:
                raise
            hook = f" (after fixture {FIXTURE} changed it)" if self.before_record else ""
            raise NotSaved(
                f"cassette {self.path}: the recording was not saved{hook}: {exc}"
            ) from None
        finally:
            # Tried once: a later save (at teardown) writes only what came after.
            self._saved = len(recorded)
        return path

    def _save_locked(self, recorded: list[Interaction]) -> Path:
        # Afresh ("all", or "once" on a missing file) means: replace what an earlier run
        # left. What another test or xdist worker wrote during this run is kept, and so is
        # a file that appeared while "once" recorded a missing one: another pytest process
        # (a second terminal, a parallel CI job on one checkout) made it meanwhile.
        recorded_at = self.new.recorded_at or now()
        kept = (
            self.mode is RecordMode.NEW
            or (self.mode is RecordMode.ONCE and not self.existed)
            or self._run.wrote(self.path)
        )
        if kept and self.path.exists():
            cassette = Cassette.load(self.path)
            # As old as its oldest recording: recorded_at stays, versions are merged.
            cassette.recorded_at = cassette.recorded_at or recorded_at
        else:
            cassette = Cassette(path=self.path)
            cassette.recorded_at = recorded_at
        on_disk = Matcher(list(cassette.interactions), self.settings.match_on)
        ours = Matcher(recorded, self.settings.match_on)
        for index in range(self._saved, len(recorded)):
            request = recorded[index].request
            # The k-th recording of a request in this test is kept unless the file already
            # has k of them: two tests (or workers) that record the same request at once
            # store it once, and a test that sends a request twice keeps both answers.
            occurrence = ours.matching(request).index(index) + 1
            if len(on_disk.matching(request)) < occurrence:
                cassette.interactions.append(recorded[index])
        cassette.recorded_with.update(self.new.recorded_with)
        self._revealed |= self.settings.redaction.apply(cassette, self._sent_secrets)
        return cassette.save(self.path)
