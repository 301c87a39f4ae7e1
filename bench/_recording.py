"""Figures: what recording costs a client talking to a real local server.

Both clients are plain `httpx.Client`s; one has `RecordingTransport()` (wrapping httpx's own
network transport), the other has httpx's transport itself. Their connections are kept alive
across requests, as in a test session, and the server runs in a process of its own.
"""

from __future__ import annotations

import statistics
import time

import httpx

from pytest_sse_replay import RecordingTransport

from ._serve import AGENT_RUN_PATH, served
from ._timing import Row, duration, interleave, median, timed_wall
from ._workloads import Workload

__all__ = ["recording_rows"]

TTFC = "recording, time to first chunk"
THROUGHPUT = "recording throughput (b), local server"
TTFC_TARGET = 1e-3
THROUGHPUT_TARGET = 0.95


def _mib_per_second(size: int, seconds: float) -> str:
    return f"{size / seconds / 2**20:.1f} MiB/s"


def _first_chunk(client: httpx.Client, url: str) -> float:
    """Seconds from sending the request to the first body chunk; the rest is read after."""
    start = time.perf_counter()
    with client.stream("GET", url) as response:
        chunks = response.iter_raw()
        next(chunks)
        first = time.perf_counter() - start
        for _ in chunks:
            pass
    return first


def _read_all(client: httpx.Client, url: str) -> int:
    total = 0
    with client.stream("GET", url) as response:
        for chunk in response.iter_raw():
            total += len(chunk)
    return total


def recording_rows(workloads: dict[str, Workload], repeats: int, *, quick: bool) -> list[Row]:
    rows = []
    # Time to first chunk: the project's own server, an event stream whose first event is sent
    # as soon as the headers are.
    with (
        served("package") as base,
        httpx.Client() as plain,
        httpx.Client(transport=RecordingTransport()) as recording,
    ):
        url = f"{base}/slow-first?wait=0"
        # A first-chunk time is short and jittery: three times the repeats.
        samples = interleave(
            {
                "ours": lambda: _first_chunk(recording, url),
                "plain": lambda: _first_chunk(plain, url),
            },
            3 * repeats,
            warmup=2,
            budget=0,
        )
    extra = statistics.median(o - p for o, p in zip(samples["ours"], samples["plain"], strict=True))
    rows.append(
        Row(
            TTFC,
            "GET /slow-first, keep-alive",
            duration(median(samples["ours"])),
            f"unrecorded {duration(median(samples['plain']))}",
            f"{'+' if extra >= 0 else '-'}{duration(abs(extra))}",
            f"<= +{duration(TTFC_TARGET)}",
            extra <= TTFC_TARGET,
            data={"ours_s": samples["ours"], "baseline_s": samples["plain"]},
        )
    )

    # Throughput: workload (b) served from memory, one body message per event.
    workload = workloads["b"]
    size = len(workload.body)
    recorder = RecordingTransport()
    with (
        served("agent-run", quick=quick) as base,
        httpx.Client() as plain,
        httpx.Client(transport=recorder) as recording,
    ):
        url = f"{base}{AGENT_RUN_PATH}"
        for client in (plain, recording):
            got = _read_all(client, url)
            if got != size:
                raise AssertionError(f"{THROUGHPUT}: read {got} bytes, expected {size}")
        samples = interleave(
            {
                "ours": lambda: timed_wall(lambda: _read_all(recording, url)),
                "plain": lambda: timed_wall(lambda: _read_all(plain, url)),
            },
            repeats,
            budget=0,
        )
        recorded = recorder.cassette.interactions[-1].response
        chunks = len(recorded.chunks)
        if recorded.body != workload.body:
            raise AssertionError(f"{THROUGHPUT}: the recording does not hold the body")
    # Throughput is bytes / seconds: recorded over unrecorded is the inverse time ratio.
    share = statistics.median(p / o for o, p in zip(samples["ours"], samples["plain"], strict=True))
    rows.append(
        Row(
            THROUGHPUT,
            f"{workload.events} events, ~{chunks} reads",
            _mib_per_second(size, median(samples["ours"])),
            f"unrecorded {_mib_per_second(size, median(samples['plain']))}",
            f"{share:.1%}",
            f">= {THROUGHPUT_TARGET:.0%}",
            share >= THROUGHPUT_TARGET,
            data={"ours_s": samples["ours"], "baseline_s": samples["plain"], "bytes": size},
        )
    )
    return rows
