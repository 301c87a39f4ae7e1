"""Figures that start from a cassette file: cold and warm load + replay against vcrpy, and the
peak memory of replaying the big payloads.

vcrpy's cassette is made with vcrpy's own public API (`use_cassette` recording a client whose
transport streams the same chunks), so it holds what vcrpy really keeps: the joined body, no
chunks, no timing. Ours keeps every chunk with its time.
"""

from __future__ import annotations

import shutil
import tempfile
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import vcr

from pytest_sse_replay import Cassette, ReplayTransport

from ._clients import floor_client, floor_transport, read_raw
from ._replay import ratio_row
from ._timing import Row, duration, interleave, median, paired_ratio, size, timed
from ._workloads import CHUNKING_LABELS, CHUNKINGS, Workload, cassette_of

__all__ = ["load_rows", "memory_rows"]

LOAD = "cassette load + replay (b)"
MEMORY = "peak memory, replay (c)"
WARM_TARGET = 1.15
MEMORY_TARGET = 3.0


class _FreshCopies:
    """A new path holding the same cassette for every cold load: nothing can be cached."""

    def __init__(self, original: Path) -> None:
        self._original = original
        self._count = 0

    def __call__(self) -> Path:
        self._count += 1
        path = self._original.with_name(f"cold-{self._count}{self._original.suffix}")
        shutil.copyfile(self._original, path)
        return path


@contextmanager
def _workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="sse-bench-") as name:
        yield Path(name)


def _record_vcrpy(path: Path, workload: Workload) -> None:
    recorder = vcr.VCR(record_mode="all")
    with (
        recorder.use_cassette(str(path)),
        httpx.Client(transport=floor_transport(workload.chunks("event"))) as client,
    ):
        read_raw(client)


def _replay_vcrpy(path: Path, client: httpx.Client) -> Callable[[], int]:
    player = vcr.VCR(record_mode="none")

    def run() -> int:
        # Entering use_cassette is where vcrpy loads the file: it is part of the figure.
        with player.use_cassette(str(path)):
            return read_raw(client)

    return run


def _load_and_replay(path: Path) -> int:
    with httpx.Client(transport=ReplayTransport(Cassette.load(path))) as client:
        return read_raw(client)


def load_rows(workloads: dict[str, Workload], repeats: int) -> list[Row]:
    workload = workloads["b"]
    chunking = "event"
    with _workdir() as tmp:
        ours_path = tmp / "ours.yaml"
        cassette_of(workload.timed_chunks(chunking)).save(ours_path)
        vcr_path = tmp / "vcrpy.yaml"
        _record_vcrpy(vcr_path, workload)
        fresh = _FreshCopies(ours_path)
        expected = len(workload.body)
        vcrpy_client = httpx.Client()  # vcrpy answers it; it never reaches the network
        vcrpy = _replay_vcrpy(vcr_path, vcrpy_client)

        def cold() -> float:
            path = fresh()
            return timed(lambda: _load_and_replay(path))

        def warm() -> float:
            return timed(lambda: _load_and_replay(ours_path))

        floor_chunks = workload.chunks(chunking)

        def floor() -> int:
            # A client of its own each time, as ours gets one around its new transport.
            with floor_client(floor_chunks) as client:
                return read_raw(client)

        checks: list[Callable[[], int]] = [lambda: _load_and_replay(fresh()), vcrpy, floor]
        for check in checks:
            got = check()
            if got != expected:
                raise AssertionError(f"{LOAD}: read {got} bytes, expected {expected}")
        samples = interleave(
            {
                "cold": cold,
                "warm": warm,
                "vcrpy": lambda: timed(vcrpy),
                "floor": lambda: timed(floor),
            },
            repeats,
        )
        vcrpy_client.close()
    chunks = f"{workload.events} chunks"
    vcr_ratio = paired_ratio(samples["vcrpy"], samples["floor"])
    return [
        Row(
            LOAD,
            "vcrpy (1 chunk, no timing)",
            duration(median(samples["vcrpy"])),
            f"floor {duration(median(samples['floor']))}",
            f"{vcr_ratio:.2f}x",
            "(issue: ~4x)",
            None,
            data={"ours_s": samples["vcrpy"], "baseline_s": samples["floor"]},
        ),
        # "Below vcrpy": strictly less.
        ratio_row(
            LOAD,
            f"ours cold ({chunks} + times)",
            samples,
            "vcrpy",
            1.0,
            ours="cold",
            base="vcrpy",
            strict=True,
        ),
        ratio_row(
            LOAD, f"ours warm ({chunks}, cached)", samples, "floor", WARM_TARGET, ours="warm"
        ),
    ]


def _peak(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def memory_rows(workloads: dict[str, Workload], repeats: int) -> list[Row]:
    """Peak traced memory of loading (c) from its file and replaying it, against its size.

    Memory is deterministic: the repeats only guard against a stray allocation elsewhere.
    """
    workload = workloads["c"]
    with _workdir() as tmp:
        return [_memory_row(workload, chunking, tmp, repeats) for chunking in CHUNKINGS]


def _memory_row(workload: Workload, chunking: str, tmp: Path, repeats: int) -> Row:
    body = len(workload.body)
    path = tmp / f"c-{chunking}.yaml"
    cassette_of(workload.timed_chunks(chunking)).save(path)
    fresh = _FreshCopies(path)
    loaded = Cassette.load(path)

    def replay_only() -> int:
        with httpx.Client(transport=ReplayTransport(loaded)) as client:
            return read_raw(client)

    cold = [_peak(lambda: _load_and_replay(fresh())) for _ in range(max(3, repeats // 3))]
    only = [_peak(replay_only) for _ in range(3)]
    peak = median(cold)
    ratio = peak / body
    return Row(
        MEMORY,
        f"(c) load + replay, {CHUNKING_LABELS[chunking]}",
        f"peak {size(peak)}",
        f"body {size(body)}",
        f"{ratio:.2f}x",
        f"<= {MEMORY_TARGET:g}x",
        ratio <= MEMORY_TARGET,
        data={
            "body_bytes": body,
            "peak_bytes": cold,
            "replay_only_peak_bytes": only,
            "file_bytes": path.stat().st_size,
        },
    )
