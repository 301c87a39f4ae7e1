"""A real browser's EventSource against `sse-replay serve`: every event in order, then a drop,
a reconnect with Last-Event-ID, and the rest exactly once.

Driven by Playwright for Python launching the system Chromium (Debian's `chromium`), never
a downloaded browser. Where Playwright or Chromium is missing the test skips and says
which; under CI=true a missing browser fails instead, so CI cannot pass without running it.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pytest_sse_replay import faults
from pytest_sse_replay.clients._serve import ReplayServer
from pytest_sse_replay.playback._plan import Fault

pytestmark = pytest.mark.slow

CASSETTE = Path(__file__).parents[2] / "cassettes" / "jobs.yaml"
STREAM = "/v2/jobs/stream?job_id=job_7a5a459ad558&api_key=browser-key"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Every wait is bounded: launch, page load, and the whole stream with its reconnect.
LAUNCH_TIMEOUT_MS = 30_000
STREAM_TIMEOUT_MS = 20_000

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>EventSource</title></head><body>
<script>
  window.received = [];
  window.errors = 0;
  window.done = false;
  const source = new EventSource(%(url)s);
  for (const name of ["intermediate", "proposed_change", "final", "usage"]) {
    source.addEventListener(name, (event) => {
      window.received.push({type: event.type, id: event.lastEventId, data: event.data});
      if (name === "usage") { source.close(); window.done = true; }
    });
  }
  // How many events had arrived when the connection broke: the reconnect must resume there.
  window.beforeError = [];
  source.onerror = () => { window.errors += 1; window.beforeError.push(window.received.length); };
</script></body></html>
"""


PAGES = pytest.StashKey[dict[str, bytes]]()


def _chromium() -> str | None:
    """The system Chromium: $SSE_REPLAY_CHROMIUM, else chromium on the PATH, else None."""
    configured = os.environ.get("SSE_REPLAY_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and the browser test cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def page_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A one-page site on 127.0.0.1 whose script is filled in by the test."""
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    request.node.stash[PAGES] = pages
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_event_source_reconnects_with_last_event_id(
    page_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Chromium's EventSource gets events 1-3, is dropped, resumes with Last-Event-ID 3,
    and gets 4-5 exactly once, from a page on another origin (CORS)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install playwright)")
        return
    executable = _chromium()
    if executable is None:
        _unavailable("no Chromium found (apt-get install chromium, or set SSE_REPLAY_CHROMIUM)")
        return

    log: list[str] = []
    # A `retry:` block first (it dispatches nothing) so the reconnect comes in 50 ms, not 3 s.
    stream_faults: list[Fault] = [faults.inject(b"retry: 50\n\n"), faults.drop(after_events=3)]
    with ReplayServer(CASSETTE, speed=1, faults=stream_faults, log=log.append) as server_url:
        request.node.stash[PAGES]["/"] = (PAGE % {"url": json.dumps(server_url + STREAM)}).encode()
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(tmp_path / "profile"),
                executable_path=executable,
                headless=True,
                args=ARGS,
                timeout=LAUNCH_TIMEOUT_MS,
            )
            try:
                page = context.new_page()
                page.set_default_timeout(STREAM_TIMEOUT_MS)
                page.goto(page_url + "/")
                page.wait_for_function("window.done === true", timeout=STREAM_TIMEOUT_MS)
                received = page.evaluate("window.received")
                errors = page.evaluate("window.errors")
                before_error = page.evaluate("window.beforeError")
            finally:
                context.close()

    assert [event["id"] for event in received] == ["1", "2", "3", "4", "5"]
    assert [event["type"] for event in received] == [
        "intermediate",
        "intermediate",
        "proposed_change",
        "final",
        "usage",
    ]
    assert [json.loads(event["data"])["sequence"] for event in received] == [1, 2, 3, 4, 5]
    assert errors == 1
    streams = [line for line in log if line.startswith("GET /v2/jobs/stream")]
    assert len(streams) == 2
    assert "broken off (RemoteProtocolError)" in streams[0]
    # The server broke off after event 3. Chromium may drop the event that arrived in the
    # same read as the broken ending (it did in our runs): then it resumes from event 2.
    # Either way it asks for what it has not seen, and sees each event exactly once.
    (seen,) = before_error
    assert seen in (2, 3)
    assert streams[1].endswith(f"Last-Event-ID {seen}")
