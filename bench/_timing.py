"""Measuring side by side, and the table the measurements end up in.

Every figure is measured against its baseline in the same run, interleaved: round i runs each
contender once, in an order that rotates from round to round, so that a slow spell of this
shared, noisy machine lands on every contender alike. A row reports the median of the rounds
for each contender and, as its ratio, the median of the per-round ratios (the pairs share
their conditions, so their ratio is steadier than the ratio of two medians).

In-process work that only computes (parsing, replay at speed 0, loading a cassette) is timed
in CPU seconds of the running thread (`timed`): the other processes of a shared machine take
wall time from it at random, not CPU time. Whatever waits on something (a server, a pytest
process, a schedule) is timed on the wall clock (`timed_wall`).
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Row",
    "atimed",
    "duration",
    "format_table",
    "interleave",
    "median",
    "paired_ratio",
    "per_second",
    "size",
    "timed",
    "timed_wall",
]

# A contender: runs the workload once and returns the seconds that count (its set-up, such as
# building a client, is done before it starts the clock).
Runner = Callable[[], float]


def timed(fn: Callable[[], object], clock: Callable[[], float] = time.thread_time) -> float:
    """CPU seconds `fn()` takes, with the garbage collector paused as `timeit` does."""
    gc.collect()
    gc.disable()
    try:
        start = clock()
        fn()
        return clock() - start
    finally:
        gc.enable()


def timed_wall(fn: Callable[[], object]) -> float:
    """Wall seconds `fn()` takes, with the garbage collector paused."""
    return timed(fn, time.perf_counter)


async def atimed(fn: Callable[[], Awaitable[object]]) -> float:
    """CPU seconds `await fn()` takes (the loop runs in this thread), the collector paused."""
    gc.collect()
    gc.disable()
    try:
        start = time.thread_time()
        await fn()
        return time.thread_time() - start
    finally:
        gc.enable()


# Cheap rows get more rounds than asked for, while they fit in this many seconds: a median
# of many short rounds shrugs off a noisy spell that a median of seven could not.
BUDGET = 0.0
MAX_ROUNDS = 41


def interleave(
    runners: Mapping[str, Runner], repeats: int, *, warmup: int = 1, budget: float | None = None
) -> dict[str, list[float]]:
    """Run every contender `repeats` times (after `warmup` unrecorded rounds), interleaved;
    then more rounds, up to MAX_ROUNDS, while the whole takes less than `budget` seconds."""
    budget = BUDGET if budget is None else budget
    names = list(runners)
    samples: dict[str, list[float]] = {name: [] for name in names}
    started = time.perf_counter()
    round_ = 0
    while round_ < warmup + repeats or (
        round_ < warmup + MAX_ROUNDS and time.perf_counter() - started < budget
    ):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            seconds = runners[name]()
            if round_ >= warmup:
                samples[name].append(seconds)
        round_ += 1
    return samples


def paired_ratio(ours: Sequence[float], base: Sequence[float]) -> float:
    """The median of the per-round ratios ours / base."""
    return statistics.median(o / b for o, b in zip(ours, base, strict=True))


@dataclass
class Row:
    """One line of the table.

    `ratio` is what the target is about; `ok` is None for rows that only inform (the
    competitors' own ratios) and for rows that could not be measured (`status` says why).
    """

    figure: str
    case: str
    ours: str
    baseline: str
    ratio: str
    target: str
    ok: bool | None
    status: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def result(self) -> str:
        if self.status:
            return self.status
        if self.ok is None:
            return "info"
        return "PASS" if self.ok else "MISS"

    def as_json(self) -> dict[str, Any]:
        return {
            "figure": self.figure,
            "case": self.case,
            "ours": self.ours,
            "baseline": self.baseline,
            "ratio": self.ratio,
            "target": self.target,
            "result": self.result,
            **self.data,
        }


_COLUMNS = ("figure", "case", "ours", "baseline", "ratio", "target", "result")


def format_table(rows: Sequence[Row]) -> str:
    """The rows as a plain-text table; the figure's name only where it changes."""
    cells: list[list[str]] = []
    previous = None
    for row in rows:
        figure = row.figure if row.figure != previous else ""
        previous = row.figure
        cells.append([figure, row.case, row.ours, row.baseline, row.ratio, row.target, row.result])
    widths = [
        max([len(name)] + [len(line[i]) for line in cells]) for i, name in enumerate(_COLUMNS)
    ]
    # Text columns left-aligned, numbers right-aligned.
    left = {0, 1, 3, 6}

    def line(values: Sequence[str]) -> str:
        parts = [
            v.ljust(w) if i in left else v.rjust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [line(_COLUMNS), rule]
    for values in cells:
        if values[0] and out[-1] != rule:
            out.append("")  # a blank line between figures
        out.append(line(values))
    return "\n".join(out)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def per_second(count: float, seconds: float, unit: str = "/s") -> str:
    """`count` per second, scaled: "1.23 M ev/s"."""
    rate = count / seconds
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if rate >= scale:
            return f"{rate / scale:.2f} {prefix}{unit}"
    return f"{rate:.1f} {unit}"


def duration(seconds: float) -> str:
    """A duration with a unit that keeps three significant digits."""
    if seconds >= 10:
        return f"{seconds:.1f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        ms = seconds * 1e3
        return f"{ms:.1f} ms" if ms >= 100 else f"{ms:.2f} ms"
    return f"{seconds * 1e6:.0f} µs"


def size(count: float) -> str:
    for scale, unit in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count:.0f} B"
