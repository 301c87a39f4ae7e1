"""pytest-sse-replay's benchmarks: every figure against its baseline, measured side by side.

    python bench/run.py            # the full run (make bench), a few minutes
    python bench/run.py --quick    # small workloads, few repeats: checks that it all runs

Prints the table and writes it, with every sample, to bench/results.json.
See docs/performance.md for what each row measures.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "bench" / "results.json"
FIGURES = ("parse", "replay", "loop", "async", "load", "pacing", "recording", "plugin", "memory")
BASELINES = ("httpx", "httpx-sse", "respx", "pytest-httpx", "vcrpy", "PyYAML", "pytest", "uvicorn")
# The aiohttp and requests faces against those libraries' own mocking floors (added on
# lines of their own, so that the figures above can grow without touching these).
FIGURES = (*FIGURES, "clients")  # type: ignore[assignment]
BASELINES = (*BASELINES, "requests", "responses", "aiohttp", "aioresponses")  # type: ignore[assignment]


@dataclass(frozen=True)
class Settings:
    quick: bool
    repeats: int
    pacing_chunks: int
    loop_requests: int
    plugin_tests: int
    plugin_repeats: int
    # Seconds a cheap row may spend on extra rounds (see _timing.BUDGET).
    budget: float
    # Warm-up rounds of the slow subprocess figures.
    warmup: int


def settings(quick: bool, repeats: int | None) -> Settings:
    if quick:
        return Settings(True, repeats or 3, 40, 60, 20, repeats or 1, 0.0, 0)
    return Settings(False, repeats or 7, 200, 300, 500, repeats or 7, 1.5, 1)


def _versions() -> dict[str, str]:
    versions = {}
    for name in ("pytest-sse-replay", *BASELINES):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


def _commit() -> str:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return "unknown"
    return result.stdout.strip() or "unknown"


def _load() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _plugin_ready() -> str | None:
    """None when the pytest plugin can be used; otherwise why not."""
    try:
        plugin = importlib.import_module("pytest_sse_replay.plugin")
    except Exception as exc:  # any failure to import means: not ready
        return f"cannot import pytest_sse_replay.plugin: {exc!r}"
    if not hasattr(plugin, "pytest_configure") or not hasattr(plugin, "sse_cassette"):
        return "pytest_sse_replay.plugin has no marker or fixture yet"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/run.py", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small workloads, few repeats")
    parser.add_argument("--repeats", type=int, help="rounds per figure (default 7; quick 3)")
    parser.add_argument(
        "--only", help=f"comma-separated figures to run, of: {', '.join(FIGURES)}", default=""
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the JSON results file")
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()] or list(FIGURES)
    unknown = sorted(set(only) - set(FIGURES))
    if unknown:
        parser.error(f"unknown figures: {', '.join(unknown)}")
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")

    # `python bench/run.py` puts bench/ first on sys.path; the helpers are the `bench` package.
    # Appended, not prepended: a pytest_sse_replay put first on PYTHONPATH (a candidate
    # change, say) is the one measured.
    if str(ROOT) not in sys.path:
        sys.path.append(str(ROOT))
    from bench import (
        _cassettes,
        _loop,
        _more_clients,
        _pacing,
        _parse,
        _plugin,
        _recording,
        _replay,
        _timing,
        _workloads,
    )

    run = settings(args.quick, args.repeats)
    _timing.BUDGET = run.budget
    started = time.perf_counter()
    load_before = _load()
    print(
        f"pytest-sse-replay benchmarks ({'quick' if run.quick else 'full'}): "
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load {load_before}, median of {run.repeats} interleaved rounds",
        flush=True,
    )
    workloads = _workloads.make_workloads(quick=run.quick)

    def plugin() -> list[_timing.Row]:
        why = _plugin_ready()
        if why is not None:
            return [
                _timing.Row(
                    _plugin.FIGURE, "pending", "", "", "", f"<= {_plugin.TARGET:.2f}x", None,
                    status="pending: plugin not ready", data={"why": why},
                )
            ]  # fmt: skip
        return _plugin.plugin_rows(run.plugin_tests, run.plugin_repeats, warmup=run.warmup)

    figures: dict[str, Callable[[], list[_timing.Row]]] = {
        "parse": lambda: _parse.parse_rows(workloads, run.repeats),
        "replay": lambda: _replay.speed0_rows(workloads, run.repeats),
        "loop": lambda: _loop.loop_rows(run.repeats, run.loop_requests),
        "async": lambda: _replay.async_rows(workloads, run.repeats),
        "load": lambda: _cassettes.load_rows(workloads, run.repeats),
        "pacing": lambda: _pacing.pacing_rows(run.pacing_chunks, run.repeats),
        "recording": lambda: _recording.recording_rows(workloads, run.repeats, quick=run.quick),
        "plugin": plugin,
        "memory": lambda: _cassettes.memory_rows(workloads, run.repeats),
        "clients": lambda: _more_clients.more_clients_rows(workloads, run.repeats),
    }
    rows: list[_timing.Row] = []
    failed = False
    for name in only:
        figure_start = time.perf_counter()
        try:
            new = figures[name]()
        except Exception as exc:  # one broken figure must not hide the others
            failed = True
            traceback.print_exc()
            new = [
                _timing.Row(
                    name, "error", "", "", "", "", None, status=f"ERROR: {type(exc).__name__}"
                )
            ]
        for row in new:
            row.data["figure_seconds"] = round(time.perf_counter() - figure_start, 1)
        rows.extend(new)
        print(f"  {name}: {time.perf_counter() - figure_start:.1f} s", file=sys.stderr, flush=True)

    table = _timing.format_table(rows)
    print()
    print(table)
    misses = [row for row in rows if row.result == "MISS"]
    passes = [row for row in rows if row.result == "PASS"]
    elapsed = time.perf_counter() - started
    print(
        f"\n{len(passes)} PASS, {len(misses)} MISS, "
        f"{sum(row.result not in ('PASS', 'MISS') for row in rows)} other; {elapsed:.0f} s; "
        f"load before {load_before}, after {_load()}"
    )
    results: dict[str, Any] = {
        "meta": {
            "quick": run.quick,
            "repeats": run.repeats,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "seconds": round(elapsed, 1),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_before": load_before,
            "load_after": _load(),
            "commit": _commit(),
            "versions": _versions(),
        },
        "rows": [row.as_json() for row in rows],
        "table": table,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"results: {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
