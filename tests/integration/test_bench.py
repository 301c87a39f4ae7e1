"""`bench/run.py --quick` runs to the end and prints every row: never a timed assertion."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "bench" / "run.py"

# Every figure of the table, and how many rows each prints.
ROWS = {
    "parse_events events/s": 8,
    "parse_events time / reference parser": 8,
    "replay speed 0, Client.iter_raw": 6,
    "replay speed 0, request loop": 4,
    "async replay, AsyncClient": 6,
    "cassette load + replay (b)": 3,
    "speed 1 pacing, 5 ms apart": 4,
    "recording, time to first chunk": 1,
    "recording throughput (b), local server": 1,
    "plugin overhead, pytest wall time": 1,
    "peak memory, replay (c)": 2,
    "replay speed 0, requests vs responses": 2,
    "replay speed 0, aiohttp vs aioresponses": 2,
    "recording, time to first chunk, requests": 1,
    "recording, time to first chunk, aiohttp": 1,
}


def test_quick_run_prints_every_row(tmp_path: Path) -> None:
    """The quick run exits 0, prints each figure's rows with a result, and writes them as JSON."""
    out = tmp_path / "results.json"
    result = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = json.loads(out.read_text(encoding="utf-8"))["rows"]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["figure"]] = counts.get(row["figure"], 0) + 1
        assert row["result"] in ("PASS", "MISS", "info") or row["result"].startswith("pending")
        assert row["target"]
        # Each row is in the printed table, with its result.
        assert any(
            row["case"] in line and line.rstrip().endswith(row["result"])
            for line in result.stdout.splitlines()
        ), row
    assert counts == ROWS
    for figure in ROWS:
        assert figure in result.stdout
