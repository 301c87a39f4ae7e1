"""`sse-replay demo`: the whole loop on one screen, with no network beyond 127.0.0.1.

Starts a small SSE server, records a multi-agent run into a temporary cassette (through
`RecordingTransport`, redacted like the plugin does), shows its timeline, replays it under a
few faults through `ReplayTransport`, and prints which ordering checks hold for each. The
server is the standard library's (`_demo_server`), so the demo runs on the package's own
dependencies, with no extra installed.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from ..assertions import Contract
from ..cassette import Cassette, Redaction
from ..clients import RecordingTransport, ReplayTransport
from ..playback import Fault
from ..sse import Event, SSEParser
from ._show import Style, event_row, render_text, row_line, timelines

__all__ = ["AliasTransport", "run_demo"]

AGENTS = ("planner", "researcher", "writer")
# What a client of a multi-agent run relies on, stated once.
RUN_CONTRACT = Contract(
    first="job.started",
    order=["job.started", "agent.*", "score.computed?", "complete|error"],
    pairs=[("agent.started", "agent.completed", "agentId")],
    terminal="complete|error",
)


class AliasTransport(httpx.BaseTransport):
    """Sends requests for `alias` (e.g. https://api.example.com) to `target` instead.

    Wrapped by a `RecordingTransport`, it records a local server's real bytes and timing
    under the URL the client asked for, as a proxy in front of the real service would.
    The request the client made is left untouched; a copy goes to the target.
    """

    def __init__(self, alias: str, target: str) -> None:
        self.alias = httpx.URL(alias)
        self.target = httpx.URL(target)
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if (url.scheme, url.host, url.port) == (
            self.alias.scheme,
            self.alias.host,
            self.alias.port,
        ):
            url = url.copy_with(
                scheme=self.target.scheme, host=self.target.host, port=self.target.port
            )
        headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"host"]
        forwarded = httpx.Request(
            request.method,
            url,
            headers=headers,
            content=request.read(),
            extensions=request.extensions,
        )
        return self._inner.handle_request(forwarded)

    def close(self) -> None:
        self._inner.close()


def _say(text: str = "") -> None:
    print(text, flush=True)


def _record(base_url: str, style: Style) -> Cassette:
    cassette = Cassette()
    body = {"agents": list(AGENTS), "responseMode": "stream", "prompt": "compare three vendors"}
    parser = SSEParser()
    headers = {"Accept": "text/event-stream", "Authorization": "Bearer demo-key-3f9a8c2e71"}
    with httpx.Client(transport=RecordingTransport(cassette), timeout=10) as client:
        start = time.perf_counter()
        with client.stream("POST", f"{base_url}/runs", json=body, headers=headers) as response:
            _say(f"   -> {response.status_code} {response.headers.get('content-type', '')}")
            previous = 0.0
            for chunk in response.iter_bytes():
                for event in parser.feed(chunk, time.perf_counter() - start):
                    row = event_row(event, event.t - previous)
                    _say("   " + row_line(row, style, data_width=56, id_width=0))
                    previous = event.t
    Redaction().apply(cassette)
    return cassette


def _replay(cassette: Cassette, faults: Sequence[Fault]) -> tuple[list[Event], str]:
    events: list[Event] = []
    outcome = "ended normally"
    parser = SSEParser()
    with httpx.Client(transport=ReplayTransport(cassette, faults=faults), timeout=5) as client:
        request = cassette.interactions[0].request
        try:
            with client.stream(
                request.method,
                request.url,
                content=request.body,
                headers={"Accept": "text/event-stream"},
            ) as response:
                if response.status_code != 200:
                    response.read()
                    return events, f"HTTP {response.status_code}"
                for chunk in response.iter_bytes():
                    events.extend(parser.feed(chunk))
        except httpx.HTTPError as exc:
            outcome = f"{type(exc).__name__}"
    return events, outcome


def run_demo(*, delay: float = 0.05, keep: str | None = None, colour: bool = False) -> int:
    from .. import faults
    from ..demo import run_demo_server

    style = Style(colour)
    with run_demo_server(delay=delay) as base_url:
        _say(style("sse-replay demo", "bold") + f": a local SSE server is up at {base_url}")
        _say()
        _say(style("1. record", "bold") + f"  POST {base_url}/runs  (agents: {', '.join(AGENTS)})")
        cassette = _record(base_url, style)

    with tempfile.TemporaryDirectory(prefix="sse-replay-demo-") as folder:
        path = Path(keep) if keep else Path(folder) / "agent_run.yaml"
        cassette.save(path)
        cassette = Cassette.load(path)
        _say(f"   saved to {path} (the Authorization header is redacted)")
        _say()
        _say(style("2. show", "bold") + f"  sse-replay show {path.name}")
        _say(render_text(timelines(cassette), colour=colour))
        _say()
        _say(style("3. replay under faults, and check the order of events", "bold"))
        cases: list[tuple[str, list[Fault]]] = [
            ("no fault", []),
            ("split(size=1)", [faults.split(size=1)]),
            ("merge()", [faults.merge()]),
            ("drop(after_events=4)", [faults.drop(after_events=4)]),
            ("truncate(after_events=-1)", [faults.truncate(after_events=-1)]),
            ("skip('agent.completed')", [faults.skip("agent.completed")]),
            (
                "inject(error, after_events=2)",
                [
                    faults.inject(
                        Event("error", json.dumps({"status": "error", "message": "overloaded"})),
                        after_events=2,
                    )
                ],
            ),
        ]
        width = max(len(label) for label, _ in cases)
        for number, rule in enumerate(RUN_CONTRACT.rules, 1):
            _say(f"   [{number}] {rule}")
        header = (
            "   "
            + "fault".ljust(width)
            + "  "
            + "  ".join(f"[{n}]" for n in range(1, len(RUN_CONTRACT.rules) + 1))
        )
        _say(style(header + "  events  how it ended", "dim"))
        baseline: list[bool] = []
        for label, case in cases:
            events, outcome = _replay(cassette, case)
            results = [result.holds for result in RUN_CONTRACT.results(events)]
            if not baseline:
                baseline = results
            marks = "  ".join(
                style(" ok", "green") if ok else style(" --", "red", "1") for ok in results
            )
            _say(f"   {label.ljust(width)}  {marks}  {len(events):>6}  {outcome}")
        _say()
        if not all(baseline):
            _say(style("the recording itself breaks a check: see the timeline above", "red"))
            return 1
        _say(
            "The recording holds every check; each fault breaks what a client relying on it "
            "would get wrong. Next:"
        )
        _say("   sse-replay show CASSETTE --html timeline.html   (a picture of the timeline)")
        _say("   sse-replay serve CASSETTE --fault drop:after_events=3   (replay to any client)")
        _say("   @pytest.mark.sse_cassette(faults=[faults.drop(after_events=3)])   (in a test)")
    return 0
