"""Figures: replay at speed 0, sync and async, against the floor (`httpx.MockTransport`)."""

from __future__ import annotations

import asyncio

import httpx

from pytest_sse_replay import ReplayTransport

from ._clients import aread_raw, floor_client, floor_transport, read_raw
from ._timing import Row, atimed, duration, interleave, median, paired_ratio, timed
from ._workloads import CHUNKING_LABELS, CHUNKINGS, URL, Workload, cassette_of

__all__ = ["async_rows", "ratio_row", "speed0_rows"]

SPEED0 = "replay speed 0, Client.iter_raw"
ASYNC = "async replay, AsyncClient"
# At most this many times the floor: one chunk per event, 4 KiB chunks.
SPEED0_TARGETS = {"event": 1.10, "4k": 1.30}
ASYNC_TARGET = 1.6
KEYS = ("a", "b", "c")


def _case(workload: Workload, chunking: str) -> str:
    return f"({workload.key}) {workload.title}, {CHUNKING_LABELS[chunking]}"


def _transport(workload: Workload, chunking: str) -> ReplayTransport:
    return ReplayTransport(cassette_of(workload.timed_chunks(chunking)))


def speed0_rows(workloads: dict[str, Workload], repeats: int) -> list[Row]:
    return [
        _speed0_row(workloads[key], chunking, repeats) for key in KEYS for chunking in CHUNKINGS
    ]


def _speed0_row(workload: Workload, chunking: str, repeats: int) -> Row:
    case = _case(workload, chunking)
    with (
        httpx.Client(transport=_transport(workload, chunking)) as ours,
        floor_client(workload.chunks(chunking)) as floor,
    ):
        # Ours delivers exactly the recorded chunks: the figure times a correct replay.
        with ours.stream("GET", URL) as response:
            if list(response.iter_raw()) != workload.chunks(chunking):
                raise AssertionError(f"{case}: the replay changed the chunks")
        samples = interleave(
            {
                "ours": lambda: timed(lambda: read_raw(ours)),
                "floor": lambda: timed(lambda: read_raw(floor)),
            },
            repeats,
        )
    return ratio_row(SPEED0, case, samples, "floor", SPEED0_TARGETS[chunking])


def async_rows(workloads: dict[str, Workload], repeats: int) -> list[Row]:
    return [_async_row(workloads[key], chunking, repeats) for key in KEYS for chunking in CHUNKINGS]


def _async_row(workload: Workload, chunking: str, repeats: int) -> Row:
    transport = _transport(workload, chunking)
    # httpx's own async path, with MockTransport and the least async stream: what any async
    # transport costs an AsyncClient. Not the row's baseline (the is the sync floor),
    # but the proof of how close to it async can get on this machine.
    async_floor = floor_transport(workload.chunks(chunking))

    async def read(transport: httpx.AsyncBaseTransport) -> float:
        # Timed inside the loop: starting an event loop is not replay's cost.
        async with httpx.AsyncClient(transport=transport) as client:
            return await atimed(lambda: aread_raw(client))

    with floor_client(workload.chunks(chunking)) as floor:
        samples = interleave(
            {
                "ours": lambda: asyncio.run(read(transport)),
                "floor": lambda: timed(lambda: read_raw(floor)),
                "async floor": lambda: asyncio.run(read(async_floor)),
            },
            repeats,
        )
    async_ratio = paired_ratio(samples["async floor"], samples["floor"])
    row = ratio_row(
        ASYNC,
        _case(workload, chunking),
        samples,
        f"sync floor (async floor {async_ratio:.2f}x)",
        ASYNC_TARGET,
    )
    row.data["async_floor_s"] = samples["async floor"]
    row.data["async_floor_ratio"] = async_ratio
    row.data["ours_to_async_floor"] = paired_ratio(samples["ours"], samples["async floor"])
    return row


def ratio_row(
    figure: str,
    case: str,
    samples: dict[str, list[float]],
    base_label: str,
    target: float,
    *,
    ours: str = "ours",
    base: str = "floor",
    strict: bool = False,
) -> Row:
    """A row whose target is a ceiling on ours / base time (`strict`: must stay below it)."""
    ours_s, base_s = samples[ours], samples[base]
    ratio = paired_ratio(ours_s, base_s)
    return Row(
        figure,
        case,
        duration(median(ours_s)),
        f"{base_label} {duration(median(base_s))}",
        f"{ratio:.2f}x",
        f"< {target:.2f}x" if strict else f"<= {target:.2f}x",
        ratio < target if strict else ratio <= target,
        data={"ours_s": ours_s, "baseline_s": base_s},
    )
