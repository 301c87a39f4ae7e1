"""Figure: pacing at speed 1, 200 chunks 5 ms apart, sync and async.

Lateness is each chunk's arrival out of `iter_raw()`, where a test sees it, minus its recorded
time after the request start. The request starts where the recording's clock started: when the
transport was handed the request (RecordingTransport times chunks from there, so the client's
own work before that is in neither timeline); a clock injected into the transport notes that
instant. The client's overhead before it is kept in the JSON results as `offset_s`.

The baseline is the schedule itself, kept by the bare sleep of the same kind (`time.sleep` /
`asyncio.sleep`) aiming at the same absolute deadlines: what this machine can do at all,
measured in the same run.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence

import httpx

from pytest_sse_replay import ReplayTransport
from pytest_sse_replay.cassette._model import Chunk

from ._timing import Row, duration, interleave, median
from ._workloads import URL, cassette_of

__all__ = ["pacing_rows"]

FIGURE = "speed 1 pacing, 5 ms apart"
GAP = 0.005
TARGETS = {"sync": 0.3e-3, "async": 1.5e-3}


def p99(values: Sequence[float]) -> float:
    """The 99th percentile, nearest-rank: 3rd largest of 200."""
    ordered = sorted(values)
    return ordered[math.ceil(0.99 * len(ordered)) - 1]


def _schedule(count: int) -> list[float]:
    return [round(GAP * (n + 1), 6) for n in range(count)]


class StartClock:
    """`time.perf_counter` for a transport, noting its first reading after `arm()`: the
    instant the transport was handed the request, which its deadlines count from."""

    def __init__(self) -> None:
        self.start: float | None = None

    def arm(self) -> None:
        self.start = None

    def __call__(self) -> float:
        now = time.perf_counter()
        if self.start is None:
            self.start = now
        return now


def _lateness(
    arrivals: Sequence[float], clock: StartClock, sent: float, schedule: Sequence[float]
) -> tuple[list[float], float]:
    assert clock.start is not None
    late = [at - clock.start - t for at, t in zip(arrivals, schedule, strict=True)]
    return late, clock.start - sent


def _ours_sync(
    client: httpx.Client, clock: StartClock, schedule: Sequence[float]
) -> tuple[list[float], float]:
    arrivals = []
    clock.arm()
    sent = time.perf_counter()
    with client.stream("GET", URL) as response:
        for _ in response.iter_raw():
            arrivals.append(time.perf_counter())
    return _lateness(arrivals, clock, sent, schedule)


async def _ours_async(
    transport: ReplayTransport, clock: StartClock, schedule: Sequence[float]
) -> tuple[list[float], float]:
    arrivals = []
    async with httpx.AsyncClient(transport=transport) as client:
        clock.arm()
        sent = time.perf_counter()
        async with client.stream("GET", URL) as response:
            async for _ in response.aiter_raw():
                arrivals.append(time.perf_counter())
    return _lateness(arrivals, clock, sent, schedule)


def _bare_sync(schedule: Sequence[float]) -> list[float]:
    clock = time.perf_counter
    late = []
    start = clock()
    for t in schedule:
        delay = start + t - clock()
        if delay > 0:
            time.sleep(delay)
        late.append(clock() - start - t)
    return late


async def _bare_async(schedule: Sequence[float]) -> list[float]:
    clock = time.perf_counter
    late = []
    start = clock()
    for t in schedule:
        delay = start + t - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        late.append(clock() - start - t)
    return late


def pacing_rows(count: int, repeats: int) -> list[Row]:
    schedule = _schedule(count)
    # One small event per chunk; 5 ms apart from the request on.
    chunks = [
        Chunk(t, f'data: {{"type":"tick","n":{n}}}\n\n'.encode()) for n, t in enumerate(schedule)
    ]
    cassette = cassette_of(chunks)
    sync_clock, async_clock = StartClock(), StartClock()
    sync_transport = ReplayTransport(cassette, speed=1, clock=sync_clock)
    async_transport = ReplayTransport(cassette, speed=1, clock=async_clock)
    runs: dict[str, list[list[float]]] = {name: [] for name in ("sync", "async", "sleep", "asleep")}
    offsets: dict[str, list[float]] = {"sync": [], "async": []}

    def run(name: str, lateness: list[float]) -> float:
        runs[name].append(lateness)
        return 0.0

    def ours(name: str, result: tuple[list[float], float]) -> float:
        offsets[name].append(result[1])
        return run(name, result[0])

    with httpx.Client(transport=sync_transport) as client:
        interleave(
            {
                "sync": lambda: ours("sync", _ours_sync(client, sync_clock, schedule)),
                "sleep": lambda: run("sleep", _bare_sync(schedule)),
                "async": lambda: ours(
                    "async", asyncio.run(_ours_async(async_transport, async_clock, schedule))
                ),
                "asleep": lambda: run("asleep", asyncio.run(_bare_async(schedule))),
            },
            repeats,
            warmup=0,
            budget=0,
        )
    rows = []
    for mode, bare, sleep_name in (("sync", "sleep", "time.sleep"), ("async", "asleep", "asyncio")):
        target = TARGETS[mode]
        p99s = [p99(lateness) for lateness in runs[mode]]
        lasts = [lateness[-1] for lateness in runs[mode]]
        bare_p99 = median([p99(lateness) for lateness in runs[bare]])
        ours_p99 = median(p99s)
        last = median(lasts)
        data = {
            "p99_s": p99s,
            "last_s": lasts,
            "bare_p99_s": [p99(lateness) for lateness in runs[bare]],
            "max_s": [max(lateness) for lateness in runs[mode]],
            "offset_s": offsets[mode],
        }
        rows.append(
            Row(
                FIGURE,
                f"{mode}, p99 lateness ({count} chunks)",
                duration(ours_p99),
                f"bare {sleep_name} {duration(bare_p99)}",
                f"+{duration(max(ours_p99 - bare_p99, 0.0))}",
                f"<= {duration(target)}",
                ours_p99 <= target,
                data=data,
            )
        )
        rows.append(
            Row(
                FIGURE,
                f"{mode}, last-chunk lateness",
                duration(last),
                f"p99 {duration(ours_p99)}",
                "",
                "<= p99",
                last <= ours_p99,
            )
        )
    return rows
