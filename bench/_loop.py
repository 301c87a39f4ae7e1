"""Figure: the 300-request tiny-stream loop, ours and the mocking libraries against the floor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from ._replay import ratio_row
from ._timing import Row, duration, median, paired_ratio

__all__ = ["loop_rows"]

ROOT = Path(__file__).resolve().parent.parent
SUITE = Path(__file__).resolve().parent / "_loop_suite.py"
FIGURE = "replay speed 0, request loop"
TARGET = 1.3
# What the issue measured for the others (ratio to the floor): printed for comparison only.
ISSUE = {"respx": 2.0, "pytest-httpx": 1.5, "vcrpy": 2.4}


def run_suite(rounds: int, requests: int) -> dict[str, list[float]]:
    """Run `_loop_suite.py` under pytest; returns each contender's seconds per round."""
    with tempfile.TemporaryDirectory(prefix="sse-bench-loop-") as name:
        tmp = Path(name)
        out = tmp / "loop.jsonl"
        ini = tmp / "pytest.ini"
        # An ini of its own: the project's (strict markers, -p pytester) is not this suite's.
        ini.write_text("[pytest]\n", encoding="utf-8")
        env = {
            **os.environ,
            "BENCH_LOOP_OUT": str(out),
            "BENCH_LOOP_ROUNDS": str(rounds),
            "BENCH_LOOP_REQUESTS": str(requests),
            "PYTHONPATH": os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(ROOT)])),
        }
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "--tb=short",
            "-p",
            "no:cacheprovider",
            "-c",
            str(ini),
            "--rootdir",
            str(tmp),
            str(SUITE),
        ]
        result = subprocess.run(
            command, cwd=tmp, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"the loop suite failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        samples: dict[str, list[float]] = {}
        for line in out.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record["round"] == 0:  # the warm-up round
                continue
            samples.setdefault(record["name"], []).append(record["seconds"])
    return samples


def loop_rows(repeats: int, requests: int) -> list[Row]:
    samples = run_suite(repeats, requests)
    case = f"{requests} requests, tiny stream"
    rows = [ratio_row(FIGURE, f"ours, {case}", samples, "floor", TARGET)]
    for name, issue in ISSUE.items():
        ratio = paired_ratio(samples[name], samples["floor"])
        rows.append(
            Row(
                FIGURE,
                f"{name}, {case}",
                duration(median(samples[name])),
                f"floor {duration(median(samples['floor']))}",
                f"{ratio:.2f}x",
                f"(issue: {issue:g}x)",
                None,
                data={"ours_s": samples[name], "baseline_s": samples["floor"]},
            )
        )
    return rows
