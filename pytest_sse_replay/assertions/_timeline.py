"""The message of a failed assertion: the broken rules, their hints, and the stream's
timeline with the offending events marked."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from .._text import clip, one_line, plural
from ..sse import Event
from ._rules import Failure, Stream

__all__ = ["raise_failures", "render"]

# A stream of up to _FULL events is shown whole; a longer one shows _CONTEXT events either
# side of each marked event (at most _MAX_MARKED of them), its first and last events, and
# "... N events ..." for the rest.
_FULL = 30
_CONTEXT = 2
_MAX_MARKED = 20
_EDGE = 5  # events shown at each end of a long stream with nothing marked
_NAME_WIDTH = 32
_ID_WIDTH = 16
_DATA_WIDTH = 48


# --------------------------------------------------------------------------- rendering


def render(failures: Sequence[Failure], stream: Stream, *, rules: int | None = None) -> str:
    """The assertion message: the broken rules, hints, then the marked timeline.

    With `rules` (a contract's rule count) every failure gets a `[k]` label, repeated on
    its notes in the timeline, under a "Contract: k of n rules failed" heading.
    """
    lines: list[str] = []
    marks: dict[int, list[str]] = {}
    if rules is None:
        (failure,) = failures
        lines.append(f"{failure.rule}: {failure.problem}")
        lines.extend(failure.hints)
        marks = failure.marks
    else:
        lines.append(f"Contract: {len(failures)} of {plural(rules, 'rule')} failed")
        for number, failure in enumerate(failures, 1):
            lines.append(f"  [{number}] {failure.rule}: {failure.problem}")
            lines.extend(f"      {hint}" for hint in failure.hints)
            for i, notes in failure.marks.items():
                marks.setdefault(i, []).extend(f"[{number}] {note}" for note in notes)
    lines.extend(_timeline(stream.events, marks))
    return "\n".join(lines)


def _select(count: int, marked: list[int]) -> tuple[list[int], int]:
    """Indices to show (ascending) and how many marked events are left out."""
    if count <= _FULL:
        return list(range(count)), 0
    if not marked:
        keep = set(range(_EDGE)) | set(range(count - _EDGE, count))
    else:
        keep = {0, count - 1}
        for i in marked[:_MAX_MARKED]:
            keep.update(range(max(0, i - _CONTEXT), min(count, i + _CONTEXT + 1)))
    # A gap of one event costs the same line as "... 1 event ...": show the event.
    shown = sorted(keep)
    for before, after in itertools.pairwise(shown):
        if after - before == 2:
            keep.add(before + 1)
    shown = sorted(keep)
    return shown, sum(1 for i in marked if i not in keep)


def _preview(data: str) -> str:
    return clip(one_line(data), _DATA_WIDTH)


def _timeline(events: Sequence[Event], marks: dict[int, list[str]]) -> list[str]:
    if not events:
        return ["timeline: no events"]
    shown, left_out = _select(len(events), sorted(marks))
    with_t = any(event.t for event in events)
    with_id = any(event.id for event in events)
    rows: list[tuple[str, ...]] = []
    for i in shown:
        event = events[i]
        row = [str(i)]
        if with_t:
            row.append(f"{event.t:.3f}")
        row.append(clip(event.name, _NAME_WIDTH))
        if with_id:
            row.append(clip(event.id, _ID_WIDTH))
        row.append(_preview(event.data))
        rows.append(tuple(row))
    header: tuple[str, ...] = ("#", "t", "name", "id", "data")
    header = tuple(h for h in header if (h != "t" or with_t) and (h != "id" or with_id))
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    # Numbers align right, text left; the data column is padded only to align notes.
    right = 2 if with_t else 1

    def line(marker: str, cells: Sequence[str], note: str = "") -> str:
        parts = [
            cell.rjust(width) if k < right else cell.ljust(width)
            for k, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        text = f"{marker} " + "  ".join(parts)
        return f"{text}  <- {note}" if note else text.rstrip()

    out = [f"timeline ({plural(len(events), 'event')}):", line(" ", header)]
    previous = -1
    for i, cells in zip(shown, rows, strict=True):
        if i - previous > 1:
            out.append(f"  ... {plural(i - previous - 1, 'event')} ...")
        notes = marks.get(i)
        out.append(line(">" if notes else " ", cells, "; ".join(notes) if notes else ""))
        previous = i
    if previous < len(events) - 1:  # pragma: no cover - the last event is always shown
        out.append(f"  ... {plural(len(events) - 1 - previous, 'event')} ...")
    if left_out:
        out.append(f"  ({plural(left_out, 'more marked event')} not shown)")
    return out


def raise_failures(
    failures: Sequence[Failure | None], stream: Stream, *, rules: int | None = None
) -> None:
    """Raise one AssertionError for the failures, if any."""
    __tracebackhide__ = True
    broken = [failure for failure in failures if failure is not None]
    if broken:
        raise AssertionError(render(broken, stream, rules=rules))
