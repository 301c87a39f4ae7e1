"""What a run did with its cassettes: the tallies behind the one summary line, unused
interactions, and the cassettes each test opened (for `--sse-orphans`).

One `RunSummary` per pytest process, in `config.stash`. Under pytest-xdist each worker keeps
its own and sends it to the controller as plain data (`to_wire` / `merge`), where the line
and the lists are printed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._text import plural

__all__ = ["CassetteUse", "RunSummary", "find_orphans", "unused_message"]

CASSETTE_SUFFIXES = (".yaml", ".yml")


@dataclass
class CassetteUse:
    """One cassette file across the run: who opened it and which recordings were played."""

    requests: list[str] = field(default_factory=list)  # "METHOD URL" of each recording
    played: set[int] = field(default_factory=set)
    tests: set[str] = field(default_factory=set)  # tests that opened it in replay

    def unplayed(self) -> list[int]:
        return [i for i in range(len(self.requests)) if i not in self.played]


@dataclass
class RunSummary:
    """The run's tallies. Cassettes are counted once each, however many tests used them."""

    replayed: set[str] = field(default_factory=set)  # cassettes that answered a request
    recorded: set[str] = field(default_factory=set)  # cassettes written
    # Incremented by drift verification (--sse-record=verify) and expiry (sse_max_age):
    # counted per cassette where those checks decide, once they exist. Until then, 0.
    verified: int = 0
    drifted: int = 0
    expired: int = 0
    unused: int = 0  # interactions reported as unused (per test, or per shared cassette)
    opened: set[str] = field(default_factory=set)  # every cassette path a test resolved
    deselected: int = 0
    # Shared cassettes (opened by several tests of the collection), checked at the end.
    users: dict[str, set[str]] = field(default_factory=dict)  # path -> tests that use it
    shared: dict[str, CassetteUse] = field(default_factory=dict)
    unused_lines: list[str] = field(default_factory=list)  # per-test reports, for the summary

    def line(self) -> str:
        """`sse-replay: 2 cassettes replayed, 1 recorded, ...`: every count, zeros included,
        so the line reads the same in every run and a zero is visible."""
        return (
            f"sse-replay: {len(self.replayed)} cassettes replayed, {len(self.recorded)} "
            f"recorded, {self.verified} verified, {self.drifted} drifted, {self.expired} "
            f"expired; {self.unused} unused interactions"
        )

    def used_shared(
        self, path: Path, test: str, requests: Sequence[str], played: Iterable[int]
    ) -> None:
        use = self.shared.setdefault(str(path), CassetteUse())
        if not use.requests:
            use.requests = list(requests)
        use.played.update(played)
        use.tests.add(test)

    def shared_unused(self) -> list[tuple[str, CassetteUse]]:
        """Shared cassettes with recordings no test played, among those every one of their
        tests opened in this run (so a partial run does not blame the tests left out)."""
        out = []
        for path, use in sorted(self.shared.items()):
            if self.users.get(path, set()) <= use.tests and use.unplayed():
                out.append((path, use))
        return out

    # -- pytest-xdist ----------------------------------------------------------------------

    def to_wire(self) -> dict[str, Any]:
        """Plain data that execnet can carry from a worker to the controller."""
        return {
            "replayed": sorted(self.replayed),
            "recorded": sorted(self.recorded),
            "verified": self.verified,
            "drifted": self.drifted,
            "expired": self.expired,
            "unused": self.unused,
            "opened": sorted(self.opened),
            "deselected": self.deselected,
            "users": {k: sorted(v) for k, v in self.users.items()},
            "shared": {
                k: [v.requests, sorted(v.played), sorted(v.tests)] for k, v in self.shared.items()
            },
            "unused_lines": self.unused_lines,
        }

    def merge(self, wire: dict[str, Any]) -> None:
        self.replayed.update(wire["replayed"])
        self.recorded.update(wire["recorded"])
        self.verified += wire["verified"]
        self.drifted += wire["drifted"]
        self.expired += wire["expired"]
        self.unused += wire["unused"]
        self.opened.update(wire["opened"])
        # Every worker collects every test: the same deselection, counted once.
        self.deselected = max(self.deselected, wire["deselected"])
        for path, tests in wire["users"].items():
            self.users.setdefault(path, set()).update(tests)
        for path, (requests, played, tests) in wire["shared"].items():
            for test in tests:
                self.used_shared(Path(path), test, requests, played)
        self.unused_lines.extend(wire["unused_lines"])


def unused_message(
    path: Path | str, requests: Sequence[str], unplayed: Sequence[int], *, test: str = ""
) -> str:
    """Which recordings of a cassette were not played: by `test`, or (shared) by any test."""
    count = plural(len(unplayed), "recorded interaction")
    if test:
        head = f"{test}: cassette {path}: {count} not played by the test (ini sse_unused):"
    else:
        head = f"cassette {path}: {count} no test played (ini sse_unused):"
    return "\n".join([head, *(f"  #{i} {requests[i]}" for i in unplayed)])


def find_orphans(directory: Path, opened: Iterable[str]) -> list[Path]:
    """Cassette files under `directory` that no test opened in this run."""
    if not directory.is_dir():
        return []
    seen = {Path(p).resolve() for p in opened}
    return sorted(
        path
        for path in directory.rglob("*")
        if path.suffix in CASSETTE_SUFFIXES and path.is_file() and path.resolve() not in seen
    )
