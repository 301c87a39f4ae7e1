"""The run's hygiene, as the plugin's hooks call it: who uses which cassette, unused
recordings, orphan cassette files, and the summary at the end of the run.

Unused recordings are judged where the answer is certain. A cassette that one test of the
collection uses is checked when that test ends (what it did not play is unused, whatever
ran before or after). A cassette several tests share is checked at the end of the run,
across all of them (and across xdist workers): a recording none of them played is unused;
when some of its tests did not run (-k, a file subset), it is not judged at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .._text import plural
from ._options import INI_DIR, MARKER, OPT_ORPHANS
from ._summary import RunSummary, find_orphans, unused_message

if TYPE_CHECKING:
    from ._session import ActiveCassette

__all__ = ["cassette_users", "report", "tally", "test_ended"]


def cassette_users(
    items: Sequence[pytest.Item], markers_of: Callable[[pytest.Item], list[pytest.Mark]]
) -> dict[str, set[str]]:
    """For each cassette path, the tests of the whole collection (deselected included) that
    open it: by the marker or by asking for the `sse_cassette` / `sse_server` fixture."""
    from ._config import resolve

    users: dict[str, set[str]] = defaultdict(set)
    for item in items:
        names = getattr(item, "fixturenames", ())
        if not (
            item.get_closest_marker(MARKER) is not None
            or "sse_cassette" in names
            or "sse_server" in names
        ):
            continue
        try:
            settings = resolve(item, markers_of(item))
        except (Exception, pytest.fail.Exception):  # a bad marker fails its own test only
            continue
        for path in settings.paths:
            users[str(path)].add(item.nodeid)
    return dict(users)


def _by_source(active: ActiveCassette) -> list[tuple[Path, list[str], set[int]]]:
    """Per loaded cassette file: its requests ("METHOD URL") and which of them were played."""
    played = {p.index for p in active.played}
    interactions = active.interactions
    out = []
    offset = 0
    for path, count in active.sources:
        local = {i - offset for i in played if offset <= i < offset + count}
        requests = [
            f"{i.request.method} {i.request.url}" for i in interactions[offset : offset + count]
        ]
        out.append((path, requests, local))
        offset += count
    return out


def tally(active: ActiveCassette, summary: RunSummary) -> None:
    """The end of a test's cassette, passed or failed: which cassettes answered requests."""
    for path, _, local in _by_source(active):
        if local:
            summary.replayed.add(str(path))


def test_ended(
    item: pytest.Item, active: ActiveCassette, summary: RunSummary, policy: str
) -> str | None:
    """After a test that passed: the unused report of the cassettes this test alone uses
    (or None); what it played of shared ones is kept for the end of the run."""
    # Requests that went to an sse_server are played by the server, which this does not see.
    if (
        policy == "ignore"
        or not active.replays
        or "sse_server" in getattr(item, "fixturenames", ())
    ):
        return None
    reports = []
    for path, requests, local in _by_source(active):
        if summary.users.get(str(path), {item.nodeid}) != {item.nodeid}:
            summary.used_shared(path, item.nodeid, requests, local)
            continue
        unplayed = [i for i in range(len(requests)) if i not in local]
        if unplayed:
            summary.unused += len(unplayed)
            reports.append(unused_message(path, requests, unplayed, test=item.nodeid))
    return "\n".join(reports) or None


def report(terminal: pytest.TerminalReporter, config: pytest.Config, summary: RunSummary) -> None:
    """The end of the run: unused recordings, orphans (--sse-orphans), the summary line."""
    shared = summary.shared_unused()
    for _, use in shared:
        summary.unused += len(use.unplayed())
    lines = list(summary.unused_lines)
    lines.extend(unused_message(path, use.requests, use.unplayed()) for path, use in shared)
    if lines:
        terminal.write_sep("-", "sse-replay: unused recorded interactions")
        for line in lines:
            terminal.write_line(line)
    if config.getoption(OPT_ORPHANS):
        _orphans(terminal, config, summary)
    if summary.opened or summary.verified or summary.drifted or summary.expired:
        terminal.write_line(summary.line())


def _orphans(terminal: pytest.TerminalReporter, config: pytest.Config, summary: RunSummary) -> None:
    terminal.write_sep("-", "sse-replay: orphan cassettes")
    if summary.deselected:
        terminal.write_line(
            f"not listed: {summary.deselected} tests were deselected (-k, -m, --deselect), and "
            "the list is only meaningful for a full run"
        )
        return
    directory = Path(config.getini(INI_DIR) or "cassettes")
    if not directory.is_absolute():
        directory = config.rootpath / directory
    orphans = find_orphans(directory, summary.opened)
    terminal.write_line(
        f"{plural(len(orphans), 'cassette file')} under {directory} that no test opened "
        "(only meaningful for a full run: test files left off the command line count as "
        "not opening theirs)" + (":" if orphans else "")
    )
    for path in orphans:
        terminal.write_line(f"  {path}")
