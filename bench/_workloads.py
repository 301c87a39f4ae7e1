"""The benchmark workloads, generated deterministically (a fixed seed per workload).

(a) token stream: data-only events of 5-30 words, as an AI generation streams them;
(b) agent run: named events with ids and ~300-byte JSON data; (b-crlf) the same with CRLF line
ends (sse-starlette's default); (c) big payloads: events of exactly 64 KiB.

Each is delivered one chunk per event, or in 4 KiB chunks that cut events anywhere (inside a
line, a CRLF pair, a multi-byte character), as a network would.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from pytest_sse_replay.cassette._model import (
    Cassette,
    Chunk,
    Interaction,
    RecordedRequest,
    RecordedResponse,
)

__all__ = [
    "CHUNKINGS",
    "CHUNKING_LABELS",
    "SSE_HEADERS",
    "URL",
    "Workload",
    "cassette_of",
    "make_workloads",
    "tiny_stream",
]

URL = "http://bench.test/v1/stream"
SSE_HEADERS = [("content-type", "text/event-stream; charset=utf-8"), ("cache-control", "no-store")]
CHUNK_SIZE = 4096
# "event": one chunk per event; "4k": 4 KiB chunks cutting events anywhere.
CHUNKINGS = ("event", "4k")
CHUNKING_LABELS = {"event": "1 chunk/event", "4k": "4 KiB chunks"}

FULL_SIZES = {"a": 100_000, "b": 10_000, "c": 200}
QUICK_SIZES = {"a": 5_000, "b": 1_000, "c": 20}

# A fixed vocabulary, with some non-ASCII words: AI streams are rarely pure ASCII.
_VOCABULARY = (
    "the of and to in is that for it as with was on be at by this had not are but from or have "
    "an they which one you were all we her she there would their will when who him been has more "
    "if no out so said what up its about than into them can only other time new some could these "
    "two may first then do any like my now over such our man me even most made after also did "
    "many off before must well back through years much where your way down should because each "
    "just those people how too little state good very make world still own see men work long "
    "here between both under never day same another know while last might us great old year "
    "café naïve résumé façade Größe Straße über déjà señor año 東京 日本語 データ 模型 🙂 ✓ → …"
)
_WORDS = _VOCABULARY.split()


@dataclass(frozen=True)
class Workload:
    """One stream: its events, each one chunk, and the whole body."""

    key: str
    title: str
    per_event: tuple[bytes, ...]
    # Seconds between events in the recorded timeline (only pacing and file size use it).
    gap: float
    body: bytes = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "body", b"".join(self.per_event))

    @property
    def events(self) -> int:
        return len(self.per_event)

    def chunks(self, chunking: str) -> list[bytes]:
        if chunking == "event":
            return list(self.per_event)
        if chunking == "4k":
            body = self.body
            return [body[i : i + CHUNK_SIZE] for i in range(0, len(body), CHUNK_SIZE)]
        raise ValueError(f"unknown chunking {chunking!r}")

    def timed_chunks(self, chunking: str) -> list[Chunk]:
        """The chunks with a recorded timeline: each arrives when its last event is complete."""
        chunks = self.chunks(chunking)
        if chunking == "event":
            return [Chunk(round(self.gap * (n + 1), 6), data) for n, data in enumerate(chunks)]
        duration = self.gap * self.events
        size = len(self.body)
        timed = []
        offset = 0
        for data in chunks:
            offset += len(data)
            timed.append(Chunk(round(duration * offset / size, 6), data))
        return timed


def _words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choices(_WORDS, k=rng.randint(low, high)))


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def token_stream(n: int) -> Workload:
    """(a): `n` data-only events, the last one `done`."""
    rng = random.Random(0xA)
    # Formatted by hand, not by json.dumps: no word needs escaping, and it is 5x faster.
    events = [
        f'data: {{"type":"token","index":{i},"text":"{_words(rng, 5, 30)}"}}\n\n'.encode()
        for i in range(n - 1)
    ]
    events.append(b'data: {"type":"done"}\n\n')
    return Workload("a", "token stream", tuple(events), gap=0.002)


def agent_run(n: int, *, crlf: bool = False) -> Workload:
    """(b): `n` named multi-agent events with ids and ~300-byte JSON data."""
    rng = random.Random(0xB)
    run_id = "run_4f7c1e9a02d3"
    names: list[str] = ["job.started"]
    agents = 0
    while len(names) < n - 1:
        agents += 1
        names.append("agent.started")
        names.extend(["agent.progress"] * rng.randint(3, 12))
        names.append("agent.completed")
    names = names[: n - 1]
    names.append("complete")
    events = []
    agent = 0
    for sequence, name in enumerate(names, 1):
        if name == "agent.started":
            agent += 1
        data: dict[str, object] = {
            "type": name,
            "runId": run_id,
            "agentId": f"agent-{agent:04d}",
            "sequence": sequence,
            "progress": round(sequence / n, 6),
            "score": round(rng.random(), 4),
            "message": "",
        }
        # Pad the message with words until the JSON is 260-340 bytes (no word needs escaping,
        # so the JSON grows by exactly each word's UTF-8 length, plus one for the space).
        size = len(_dumps(data).encode()) - 1
        target = rng.randint(260, 340)
        words = []
        while size < target:
            word = rng.choice(_WORDS)
            words.append(word)
            size += len(word.encode()) + 1
        data["message"] = " ".join(words)
        lines = [f"event: {name}", f"id: {sequence}", f"data: {_dumps(data)}", "", ""]
        events.append(("\r\n" if crlf else "\n").join(lines).encode())
    key, title = ("b-crlf", "agent run, CRLF") if crlf else ("b", "agent run")
    return Workload(key, title, tuple(events), gap=0.002)


def big_payloads(n: int) -> Workload:
    """(c): `n` events of exactly 64 KiB each (a JSON object with a base64 payload)."""
    rng = random.Random(0xC)
    size = 64 * 1024
    events = []
    for i in range(n):
        head = f'data: {{"type":"blob","n":{i},"payload":"'.encode()
        tail = b'"}\n\n'
        room = size - len(head) - len(tail)
        payload = base64.b64encode(rng.randbytes(room))[:room]
        events.append(head + payload + tail)
    return Workload("c", "big payloads", tuple(events), gap=0.01)


def make_workloads(*, quick: bool) -> dict[str, Workload]:
    sizes = QUICK_SIZES if quick else FULL_SIZES
    return {
        "a": token_stream(sizes["a"]),
        "b": agent_run(sizes["b"]),
        "b-crlf": agent_run(sizes["b"], crlf=True),
        "c": big_payloads(sizes["c"]),
    }


def tiny_stream() -> list[bytes]:
    """The stream of the request-loop figures: five short agent events, one chunk each."""
    return list(agent_run(5).per_event)


def cassette_of(chunks: Sequence[Chunk], *, url: str = URL) -> Cassette:
    """A one-interaction cassette answering GET `url` with `chunks`, as if recorded."""
    response = RecordedResponse(200, list(SSE_HEADERS), list(chunks))
    return Cassette([Interaction(RecordedRequest("GET", url, [], b""), response)])
