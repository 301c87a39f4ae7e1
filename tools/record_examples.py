"""Re-record the example cassettes in cassettes/, one per stream shape (docs/index.md).

    .venv/bin/python tools/record_examples.py [--delay SECONDS] [--out cassettes]

Each cassette is a real recording of the bundled local server (pytest_sse_replay.demo._server),
made through `RecordingTransport` and redacted with the plugin's default `Redaction`. The
clients ask for https://api.example.com, as the code under test in docs/ and
tests/unit/test_examples.py does; `AliasTransport` forwards those requests to the local server
on 127.0.0.1, so the bytes and their timing are the server's own. The API keys below are
made up; they are in the cassettes only as REDACTED.

After re-recording, compare with the committed ones: `sse-replay diff OLD NEW` for each.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from pytest_sse_replay import Cassette, RecordingTransport
from pytest_sse_replay.cassette._redact import Redaction
from pytest_sse_replay.cli._demo import AliasTransport
from pytest_sse_replay.demo._server import run_server

BASE = "https://api.example.com"
API_KEY = "sk-example-7f3c9a1e5b"
TOKEN = "tok-example-2d8e6b4f90"
SSE = {"Accept": "text/event-stream"}


def generate(client: httpx.Client) -> None:
    """Shape 1, data-only events: a generation, then one that fails mid-stream with a 429."""
    headers = {**SSE, "x-api-key": API_KEY}
    for body in ({"prompt": "tide pools", "sections": 3}, {"prompt": "tide pools", "fail": 429}):
        with client.stream("POST", "/v1/generate", json=body, headers=headers) as response:
            response.read()


def jobs(client: httpx.Client) -> None:
    """Shape 2, async job then its stream: POST creates the job, GET streams its events."""
    created = client.post(
        "/v2/jobs", json={"prompt": "Quarterly report"}, headers={"x-api-key": API_KEY}
    )
    job_id = created.json()["job_id"]
    params = {"job_id": job_id, "api_key": API_KEY}
    with client.stream("GET", "/v2/jobs/stream", params=params, headers=SSE) as response:
        response.read()


def job_status(client: httpx.Client) -> None:
    """Shape 3, job status: a job run to completion, and one already finished."""
    headers = {**SSE, "Authorization": f"Bearer {TOKEN}"}
    for job in ("job_42", "done"):
        with client.stream("GET", f"/jobs/{job}/stream", headers=headers) as response:
            response.read()


def agent_run(client: httpx.Client) -> None:
    """Shape 4, multi-agent run: three agents, scored, then `complete`."""
    body = {"agents": ["planner", "researcher", "writer"], "responseMode": "stream"}
    with client.stream("POST", "/runs", json=body, headers=SSE) as response:
        response.read()


SHAPES: dict[str, Callable[[httpx.Client], None]] = {
    "generate": generate,
    "jobs": jobs,
    "job_status": job_status,
    "agent_run": agent_run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.05, help="seconds between events")
    parser.add_argument("--out", default=str(Path(__file__).parent.parent / "cassettes"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    with run_server(delay=args.delay) as url:
        for name, record in SHAPES.items():
            cassette = Cassette()
            transport = RecordingTransport(cassette, AliasTransport(BASE, url))
            with httpx.Client(base_url=BASE, transport=transport, timeout=10) as client:
                record(client)
            Redaction().apply(cassette)
            path = cassette.save(out / f"{name}.yaml")
            sys.stdout.write(f"{path}: {len(cassette)} interaction(s)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
