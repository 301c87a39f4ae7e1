"""Examples, written as a user of the plugin would write them, replaying the cassettes in cassettes/.

The first half of the file stands for the user's application: small clients of the four
stream shapes (docs/index.md), built on httpx and httpx-sse. The tests replay the committed
recordings (tools/record_examples.py made them from the bundled server), with faults.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from pytest_sse_replay import faults

BASE_URL = "https://api.example.com"
API_KEY = "test-key"  # the recordings hold REDACTED, which matches any key


# --------------------------------------------------------------------------- the application


class RateLimited(Exception):
    pass


def generate(client: httpx.Client, prompt: str, **options: Any) -> list[str]:
    """Shape 1: data-only events; the text of each section, until `done`."""
    body = {"prompt": prompt, **options}
    headers = {"x-api-key": API_KEY}
    sections: list[str] = []
    with connect_sse(client, "POST", "/v1/generate", json=body, headers=headers) as source:
        for sse in source.iter_sse():
            event = sse.json()
            if event["type"] == "error":
                if event["statusCode"] == 429:
                    raise RateLimited
                raise RuntimeError(event)
            if event["type"] == "done":
                return sections
            sections.append(event["text"])
    raise RuntimeError("the stream ended without done")


@dataclass
class JobResult:
    status: str = ""
    changes: list[dict[str, Any]] = field(default_factory=list)
    tokens: int = 0
    reconnects: int = 0


def run_job(client: httpx.Client, prompt: str, *, max_reconnects: int = 3) -> JobResult:
    """Shape 2: create a job, then follow its stream, resuming with Last-Event-ID."""
    created = client.post("/v2/jobs", json={"prompt": prompt}, headers={"x-api-key": API_KEY})
    created.raise_for_status()
    params = {"job_id": created.json()["job_id"], "api_key": API_KEY}
    result = JobResult()
    last_id = ""
    while True:
        headers = {"Last-Event-ID": last_id} if last_id else {}
        try:
            with connect_sse(
                client, "GET", "/v2/jobs/stream", params=params, headers=headers
            ) as source:
                for sse in source.iter_sse():
                    last_id = sse.id or last_id
                    data = sse.json()
                    if sse.event == "proposed_change":
                        result.changes.append(data["change"])
                    elif sse.event == "final":
                        result.status = data["status"]
                    elif sse.event == "usage":
                        result.tokens = data["input_tokens"] + data["output_tokens"]
                        return result
        except httpx.RemoteProtocolError:
            if result.reconnects == max_reconnects:
                raise
            result.reconnects += 1


def follow_job(client: httpx.Client, job_id: str) -> tuple[list[float], str]:
    """Shape 3: the progress values of a job, and how it ended."""
    progress: list[float] = []
    headers = {"Authorization": "Bearer any-token"}
    with connect_sse(client, "GET", f"/jobs/{job_id}/stream", headers=headers) as source:
        for sse in source.iter_sse():
            if sse.event == "progress":
                progress.append(sse.json()["progress"])
            elif sse.event in ("completed", "failed", "canceled"):
                return progress, sse.event
    raise RuntimeError("the stream ended without a terminal event")


def run_agents(client: httpx.Client, agents: list[str]) -> dict[str, float]:
    """Shape 4: a multi-agent run; each agent's score, once the run is complete."""
    body = {"agents": agents, "responseMode": "stream"}
    scores: dict[str, float] = {}
    with connect_sse(client, "POST", "/runs", json=body) as source:
        source.response.raise_for_status()
        for sse in source.iter_sse():
            data = json.loads(sse.data)
            if sse.event == "agent.completed":
                scores[data["agentId"]] = data["score"]
            elif sse.event == "complete":
                return scores
            elif sse.event == "error":
                raise RuntimeError(data["message"])
    raise RuntimeError("the run ended without complete")


@pytest.fixture
def client() -> httpx.Client:
    return httpx.Client(base_url=BASE_URL, timeout=10)


# --------------------------------------------------------------------------- data-only events


@pytest.mark.sse_cassette("generate", match_on=["json"])
def test_generate(client: httpx.Client, sse_cassette: Any) -> None:
    """The sections arrive in order and `done` ends the stream."""
    sections = generate(client, "tide pools", sections=3)
    assert sections == [f"Section {n} about tide pools." for n in (1, 2, 3)]
    sse_cassette.events.assert_order("section", "done").assert_terminal("done|error")


@pytest.mark.sse_cassette("generate", match_on=["json"])
def test_generate_rate_limited_mid_stream(client: httpx.Client) -> None:
    """An error event with statusCode 429 in the stream becomes RateLimited."""
    with pytest.raises(RateLimited):
        generate(client, "tide pools", fail=429)


@pytest.mark.sse_cassette("generate", match_on=["json"])
@pytest.mark.parametrize("sse_faults", faults.matrix(without="drop*|error*|stall*"))
def test_generate_whatever_the_chunks(client: httpx.Client, sse_faults: Any) -> None:
    """However the bytes are cut (one byte at a time, at random, all at once), the client
    reads the same sections."""
    assert len(generate(client, "tide pools", sections=3)) == 3


# --------------------------------------------------------------------------- async job + stream


@pytest.mark.sse_cassette("jobs")
def test_job(client: httpx.Client, sse_cassette: Any) -> None:
    """The job's stream gives its change, final status and usage, sequence increasing."""
    result = run_job(client, "Quarterly report")
    assert result.status == "succeeded"
    assert result.changes == [{"op": "replace", "path": "/title", "value": "Quarterly report"}]
    assert result.tokens == 44
    sse_cassette.events.assert_increasing("sequence").assert_before("proposed_change", "final")


@pytest.mark.sse_cassette("jobs", faults=[faults.drop(after_events=2)])
def test_job_resumes_after_a_drop(client: httpx.Client, sse_cassette: Any) -> None:
    """After a dropped connection the client resumes with Last-Event-ID and misses nothing."""
    result = run_job(client, "Quarterly report")
    assert result.reconnects == 1
    assert result.status == "succeeded"
    assert [event.id for event in sse_cassette.events] == ["1", "2", "3", "4", "5"]


@pytest.mark.sse_cassette("jobs", faults=[faults.drop(after_events=1, times=None)])
def test_job_gives_up_when_the_stream_keeps_breaking(client: httpx.Client) -> None:
    """A stream that breaks on every attempt ends in RemoteProtocolError after the retries."""
    with pytest.raises(httpx.RemoteProtocolError):
        run_job(client, "Quarterly report", max_reconnects=2)


# --------------------------------------------------------------------------- job status stream


@pytest.mark.sse_cassette("job_status")
def test_job_status(client: httpx.Client, sse_cassette: Any) -> None:
    """Progress goes from 0 to 1 and the job completes; heartbeats are not events."""
    progress, ending = follow_job(client, "job_42")
    assert progress == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert ending == "completed"
    sse_cassette.events.assert_increasing("progress").assert_terminal("completed|failed|canceled")


@pytest.mark.sse_cassette("job_status")
def test_finished_job_sends_only_its_terminal_event(client: httpx.Client) -> None:
    """An already finished job answers with its terminal event alone."""
    assert follow_job(client, "done") == ([], "completed")


@pytest.mark.sse_cassette("job_status", faults=[faults.stall(after_events=3)])
def test_job_status_stall_times_out(client: httpx.Client) -> None:
    """A server that goes silent past the read timeout gives ReadTimeout, with no real wait."""
    with pytest.raises(httpx.ReadTimeout):
        follow_job(client, "job_42")


# --------------------------------------------------------------------------- multi-agent run

AGENTS = ["planner", "researcher", "writer"]


@pytest.mark.sse_cassette("agent_run")
def test_agent_run(client: httpx.Client, sse_cassette: Any) -> None:
    """Each agent's score is collected, and the events keep the run's contract."""
    assert run_agents(client, AGENTS) == {"planner": 0.91, "researcher": 0.04, "writer": 0.08}
    (
        sse_cassette.events.assert_first("job.started")
        .assert_order("job.started", "agent.*", "score.computed", "complete|error")
        .assert_pairs("agent.started", "agent.completed", "agentId")
        .assert_terminal("complete|error")
    )


@pytest.mark.sse_cassette("agent_run", faults=[faults.error(429, headers={"Retry-After": "1"})])
def test_agent_run_rate_limited(client: httpx.Client) -> None:
    """A 429 at the stream cap reaches the client as an HTTP error with Retry-After."""
    with pytest.raises(httpx.HTTPStatusError) as caught:
        run_agents(client, AGENTS)
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["retry-after"] == "1"


@pytest.mark.sse_cassette("agent_run", faults=[faults.truncate(after_events=-1)])
def test_agent_run_without_terminal_event(client: httpx.Client) -> None:
    """A stream that ends cleanly but without `complete` is an error, not a success."""
    with pytest.raises(RuntimeError, match="without complete"):
        run_agents(client, AGENTS)
