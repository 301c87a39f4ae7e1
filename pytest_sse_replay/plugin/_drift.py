"""Trust in recordings: drift against the live service (`--sse-record=verify`), complete
recordings (`terminal`), and the per-run tallies the plugin reports at the end.

I/O-free: the active cassette hands in recorded and live interactions, and gets back
readable lines; the plugin decides whether they fail the test or only warn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .._text import plural
from ..assertions import Structure, compare, incompleteness
from ..cassette import Interaction
from ..playback import Matcher, NoRecording

if TYPE_CHECKING:
    from ._session import ActiveCassette

__all__ = [
    "DriftTally",
    "Verdict",
    "account",
    "incompleteness",
    "parse_choice",
    "verify",
]

Action = Literal["fail", "warn"]


@dataclass
class DriftTally:
    """What this run's trust checks found, kept in `config.stash` for the end of the run.

    Cassettes are counted once however many tests use them: `verified` is the number compared
    with the live service (`--sse-record=verify`), `drifted` those of them whose live streams
    differ in structure, `expired` those older than `sse_max_age`; `incomplete` counts
    recorded streams that were empty, broke or lacked their terminal event. `reports` are the
    drifted cassettes' differences, `warnings` every other line worth showing (timing,
    expiry, incomplete recordings that only warn, SDK majors).
    """

    verified_paths: set[str] = field(default_factory=set)
    drifted_paths: set[str] = field(default_factory=set)
    expired_paths: set[str] = field(default_factory=set)
    incomplete: int = 0
    reports: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def verified(self) -> int:
        return len(self.verified_paths)

    @property
    def drifted(self) -> int:
        return len(self.drifted_paths)

    @property
    def expired(self) -> int:
        return len(self.expired_paths)

    def as_dict(self) -> dict[str, Any]:
        """Plain data (lists, not sets), as a pytest-xdist worker sends it to the controller."""
        return {
            key: sorted(value) if isinstance(value, set) else value
            for key, value in asdict(self).items()
        }

    def add(self, other: DriftTally | dict[str, Any]) -> None:
        """Add another tally (or its `as_dict()`) to this one."""
        if isinstance(other, DriftTally):
            # Every test adds one, usually empty: no deep copy (asdict) on that path.
            self.verified_paths |= other.verified_paths
            self.drifted_paths |= other.drifted_paths
            self.expired_paths |= other.expired_paths
            self.incomplete += other.incomplete
            self.reports += other.reports
            self.warnings += other.warnings
            return
        data = other
        self.verified_paths.update(map(str, data.get("verified_paths", ())))
        self.drifted_paths.update(map(str, data.get("drifted_paths", ())))
        self.expired_paths.update(map(str, data.get("expired_paths", ())))
        self.incomplete += int(data.get("incomplete", 0))
        self.reports.extend(map(str, data.get("reports", ())))
        self.warnings.extend(map(str, data.get("warnings", ())))

    def sections(self) -> list[tuple[str, list[str]]]:
        """The end-of-run report: (title, lines) for each section that has something."""
        out = []
        if self.verified:
            closing = f"verified {plural(self.verified, 'cassette')} against the live service: "
            out.append(("sse-replay verify", [*self.reports, f"{closing}{self.drifted} drifted"]))
        if self.warnings:
            out.append(("sse-replay warnings", list(self.warnings)))
        return out


def account(
    active: ActiveCassette, test: str, *, shared: bool = False
) -> tuple[DriftTally, list[str]]:
    """The trust checks of one test that used `active`: its tally, and the problems that
    fail it (expired under `fail`, incomplete recordings, drift under `sse_drift = fail`).

    For a cassette `shared` by several tests, a recording this test did not ask for is
    another test's, not drift."""
    tally = DriftTally()
    active.check_recordings()
    problems = list(active.problems)
    tally.warnings.extend(active.warnings)
    path = str(active.path)
    if active.expired:
        tally.expired_paths.add(path)
    tally.incomplete += active.incomplete
    if active.verifies:
        tally.verified_paths.add(path)
        verdict = active.verify(unrequested=not shared)
        tally.warnings.extend(f"{line} ({test})" for line in verdict.warnings)
        if verdict.drifted:
            tally.drifted_paths.add(path)
            report = "\n".join(
                [f"cassette {active.path} drifted from the live service ({test}):"]
                + [f"  {line}" for line in verdict.drift]
            )
            if active.settings.drift == "fail":
                problems.append(report)
                # The differences are in the test's failure; the summary only points there.
                report = f"cassette {active.path} drifted: see the failure of {test}"
            tally.reports.append(report)
    return tally, problems


@dataclass
class Verdict:
    """The comparison of one cassette with the live run: `drift` lines (each a difference,
    under a heading per interaction) and `warnings` (timing)."""

    drift: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def drifted(self) -> bool:
        return bool(self.drift)


def parse_choice(value: str, where: str, choices: Sequence[str]) -> str:
    """`value` when it is one of `choices` (any case); ValueError naming `where` if not."""
    text = value.strip().lower()
    if text not in choices:
        raise ValueError(f"{where}: expected one of {', '.join(choices)}, got {value!r}")
    return text


def _label(interaction: Interaction, index: int, which: str) -> str:
    return f"{which} #{index} {interaction.request.method} {interaction.request.url}"


def verify(
    recorded: Sequence[Interaction],
    live: Sequence[Interaction],
    *,
    match_on: Sequence[str] = (),
    timing: float | None = 3.0,
    unrequested: bool = True,
) -> Verdict:
    """Pair each live interaction with the recording replay would have answered it from,
    and compare their structures; unpaired ones on either side are drift too (recordings
    no live request asked for only when `unrequested`)."""
    verdict = Verdict()
    matcher = Matcher(recorded, match_on)
    used: set[int] = set()
    for n, interaction in enumerate(live):
        try:
            index = matcher.find(interaction.request)
        except NoRecording:
            verdict.drift.append(f"{_label(interaction, n, 'live')}: no recording answers it")
            continue
        used.add(index)
        differences = compare(
            Structure.of(recorded[index]), Structure.of(interaction), timing=timing
        )
        heading = _label(recorded[index], index, "recorded")
        drift = [str(d) for d in differences if d.level == "drift"]
        if drift:
            verdict.drift.append(heading)
            verdict.drift.extend(f"  {line}" for line in drift)
        verdict.warnings.extend(f"{heading}: {d}" for d in differences if d.level == "warning")
    for index, interaction in enumerate(recorded):
        if unrequested and index not in used:
            verdict.drift.append(
                f"{_label(interaction, index, 'recorded')}: not requested by the live run"
            )
    return verdict
