"""Figure: `parse_events` events/s, against httpx-sse's `connect_sse` over `httpx.MockTransport`.

Ours is the parser alone on the chunks; the baseline is what a user of httpx-sse runs to get
events from the same chunks (httpx's client and text decoding included, as they come with it).
"""

from __future__ import annotations

import re

import httpx
import httpx_sse

from pytest_sse_replay import Event, parse_events

from ._clients import floor_transport
from ._reference_parser import reference_parse_events
from ._timing import Row, interleave, median, paired_ratio, per_second, timed
from ._workloads import CHUNKING_LABELS, CHUNKINGS, URL, Workload

__all__ = ["REFERENCE_TARGET", "TARGETS", "parse_rows"]

FIGURE = "parse_events events/s"
REFERENCE_FIGURE = "parse_events time / reference parser"
# How much slower than the block-at-a-time reference parser (bench/_reference_parser.py)
# parse_events may be, on every workload and chunking.
REFERENCE_TARGET = 1.1
# The speed-up over httpx-sse each workload must reach, with every chunking.
TARGETS = {"a": 2.5, "b": 1.5, "b-crlf": 1.5, "c": 3.0}


def _httpx_sse_events(client: httpx.Client) -> int:
    # Kept in a list, as parse_events keeps its events: holding 100,000 objects costs memory
    # a loop that drops each event at once would not pay.
    with httpx_sse.connect_sse(client, "GET", URL) as source:
        events = list(source.iter_sse())
    return len(events)


def parse_rows(workloads: dict[str, Workload], repeats: int) -> list[Row]:
    rows = [
        _row(workloads[key], chunking, target, repeats)
        for key, target in TARGETS.items()
        for chunking in CHUNKINGS
    ]
    # The reference rows after the others, so that the table keeps one block per figure.
    return [row for row, _ in rows] + [reference for _, reference in rows]


# The least any parser handing out `Event`s can do on a data-only stream: one C regular
# expression over the whole body (no chunks at all), one decode and one Event per event.
_DATA_ONLY = re.compile(rb"data: ([^\n]*)\n\n")


def _regex_floor(body: bytes) -> list[Event]:
    return [Event("message", value.decode(), "", None, 0.0) for value in _DATA_ONLY.findall(body)]


def _row(workload: Workload, chunking: str, target: float, repeats: int) -> tuple[Row, Row]:
    chunks = workload.chunks(chunking)
    with httpx.Client(transport=floor_transport(chunks)) as client:
        # All must see every event, or the comparison means nothing.
        ours_count = len(parse_events(chunks))
        base_count = _httpx_sse_events(client)
        reference_count = len(reference_parse_events(chunks))
        if {ours_count, base_count, reference_count} != {workload.events}:
            raise AssertionError(
                f"({workload.key}, {chunking}): expected {workload.events} events, "
                f"parse_events gave {ours_count}, httpx-sse {base_count}, "
                f"the reference parser {reference_count}"
            )
        runners = {
            "ours": lambda: timed(lambda: parse_events(chunks)),
            "httpx-sse": lambda: timed(lambda: _httpx_sse_events(client)),
            "reference": lambda: timed(lambda: reference_parse_events(chunks)),
        }
        if workload.key == "a":
            runners["regex floor"] = lambda: timed(lambda: _regex_floor(workload.body))
        samples = interleave(runners, repeats)
    ours, base = samples["ours"], samples["httpx-sse"]
    # Events/s is count / seconds: the speed-up is the inverse of the time ratio.
    speedup = 1 / paired_ratio(ours, base)
    data: dict[str, object] = {"events": workload.events, "ours_s": ours, "baseline_s": base}
    if "regex floor" in samples:
        data["regex_floor_s"] = samples["regex floor"]
        data["regex_floor_speedup"] = 1 / paired_ratio(samples["regex floor"], base)
    case = f"({workload.key}) {workload.title}, {CHUNKING_LABELS[chunking]}"
    row = Row(
        FIGURE,
        case,
        per_second(workload.events, median(ours), "ev/s"),
        "httpx-sse " + per_second(workload.events, median(base), "ev/s"),
        f"{speedup:.2f}x",
        f">= {target:g}x",
        speedup >= target,
        data=data,
    )
    # The same rounds, read against the reference parser: time ours / time reference.
    reference = samples["reference"]
    slowdown = paired_ratio(ours, reference)
    reference_row = Row(
        REFERENCE_FIGURE,
        case,
        per_second(workload.events, median(ours), "ev/s"),
        "reference " + per_second(workload.events, median(reference), "ev/s"),
        f"{slowdown:.2f}x",
        f"<= {REFERENCE_TARGET:g}x",
        slowdown <= REFERENCE_TARGET,
        data={"events": workload.events, "ours_s": ours, "reference_s": reference},
    )
    return row, reference_row
