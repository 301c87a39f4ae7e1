"""The playback core: what to send, when, and how it ends, decided without doing any I/O.

A recorded response becomes a `Script` (status, headers, timed chunks, ending). Faults are
functions from script to script. A script at a given speed becomes a `Plan`: the response
head and a list of steps (bytes to emit, a deadline to wait for, a stall, a failure). The
sync and async streams in `_faces` walk the same plan with `walk()`: it yields the bytes to
deliver and the seconds to sleep, so the only difference between the two faces is whether
the sleep is awaited. The clock is injected, so tests never really sleep.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from ..cassette import COMPLETE, Chunk, Ending, RecordedRequest, RecordedResponse, header_value
from ..exceptions import StallWithoutTimeout

__all__ = [
    "Fail",
    "Fault",
    "Plan",
    "PlayContext",
    "Script",
    "Stall",
    "StallWithoutTimeout",
    "Step",
    "StreamFailure",
    "WaitUntil",
    "plan",
    "walk",
]


@dataclass(frozen=True, slots=True)
class WaitUntil:
    """Deliver nothing until `t` seconds after the request started (already scaled by speed)."""

    t: float


@dataclass(frozen=True, slots=True)
class Stall:
    """The server goes silent for good: the client's read timeout decides what happens."""


@dataclass(frozen=True, slots=True)
class Fail:
    """The read fails with the exception named `error` (an httpx / httpx2 class name)."""

    error: str
    message: str


# Plain `bytes` in a plan means "deliver this chunk now": it is by far the most common step,
# and testing `step.__class__ is bytes` keeps the speed-0 loop as cheap as iterating a list.
Step = bytes | WaitUntil | Stall | Fail


@dataclass(frozen=True, slots=True)
class Script:
    """One response as it will be played: what a fault reads and rewrites.

    `end` is the recorded `Ending`, or `Stall()` when a fault made the server go silent.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    chunks: tuple[Chunk, ...]
    end: Ending | Stall = COMPLETE
    headers_t: float = 0.0

    @classmethod
    def from_response(cls, response: RecordedResponse) -> Script:
        return cls(
            status=response.status,
            headers=tuple(response.headers),
            chunks=tuple(response.chunks),
            end=response.end,
            headers_t=response.headers_t,
        )

    @property
    def body(self) -> bytes:
        return b"".join(chunk.data for chunk in self.chunks)

    @property
    def duration(self) -> float:
        """Recorded seconds from the request until the last chunk (or the headers)."""
        return max((chunk.t for chunk in self.chunks), default=self.headers_t)

    def with_(self, **changes: object) -> Script:
        return replace(self, **changes)  # type: ignore[arg-type]

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)


@dataclass(frozen=True, slots=True)
class PlayContext:
    """What a fault may know about the request it is applied to."""

    request: RecordedRequest
    # 1 for the first event-stream request this fault sees on this transport, then 2, ...
    attempt: int
    # Event streams this transport is serving right now, not counting this one.
    open_streams: int
    # The client's read timeout in seconds (None: it waits forever): faults.stall uses it
    # to decide whether a silence outlasts the client.
    read_timeout: float | None = None


class Fault(Protocol):
    """A fault rewrites the script of one event-stream response; it holds no state itself."""

    def apply(self, script: Script, context: PlayContext) -> Script: ...


@dataclass(frozen=True, slots=True)
class Plan:
    """A script fixed at one speed: the head to answer with, then the body steps in order."""

    status: int
    headers: tuple[tuple[str, str], ...]
    # Deadline for the status line and headers, in seconds from the request start.
    head_at: float
    steps: list[Step] = field(default_factory=list)
    # Every step is bytes: nothing to wait for, nothing to fail with (speed 0, a clean end).
    plain: bool = False
    # The script time of each bytes step, in order (seconds from the request, not scaled by
    # speed): when its bytes arrived in the recording, so the event log can say when an
    # event arrived at any replay speed.
    times: list[float] = field(default_factory=list)


def plan(script: Script, speed: float) -> Plan:
    """Fix `script` at `speed` (0 = no waiting; 1 = as recorded; 2 = twice as fast).

    Deadlines are absolute offsets from the request start, never gaps from the previous
    chunk: a late chunk does not push the ones after it later, so lateness cannot pile up.
    """
    if speed < 0 or math.isnan(speed) or math.isinf(speed):
        raise ValueError(f"speed must be a finite number >= 0, got {speed!r}")
    steps: list[Step]
    times = [chunk.t for chunk in script.chunks if chunk.data]
    if speed == 0:
        steps = [chunk.data for chunk in script.chunks if chunk.data]
        head_at = 0.0
    else:
        steps = []
        head_at = script.headers_t / speed
        for chunk in script.chunks:
            if not chunk.data:
                continue
            steps.append(WaitUntil(chunk.t / speed))
            steps.append(chunk.data)
    end = script.end
    if isinstance(end, Stall):
        steps.append(end)
    elif end.kind == "error":
        steps.append(Fail(end.error, end.message))
    # "client_closed": the recording stopped where the client stopped reading; replay
    # ends the body there cleanly, which is what the client saw from its side.
    plain = speed == 0 and all(step.__class__ is bytes for step in steps[-1:])
    return Plan(script.status, script.headers, head_at, steps, plain, times)


class StreamFailure(Exception):
    """Raised by `walk`; each face maps it to its own library's exception of that name."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error
        self.message = message


# A read timeout's message is the library's own and differs between its sync and async
# backends, so the core leaves it blank and each face fills in what its client would say.
READ_TIMEOUT_MESSAGE = ""


def walk(
    steps: Sequence[Step],
    start: float,
    clock: Callable[[], float],
    read_timeout: float | None,
    observe: Callable[[bytes], None] | None = None,
) -> Iterator[bytes | float]:
    """Walk a plan: yields `bytes` to deliver, or a `float` number of seconds to sleep.

    `start` is the clock reading when the request began; `read_timeout` is the client's
    (from the request's timeout extension). A wait longer than the read timeout raises
    ReadTimeout at once instead of sleeping: the client would have given up by then, and
    the test need not spend the time.
    """
    # A failure here is the client's (no read timeout) or the recording's: the frames of
    # the replay machinery would only stand between the test's line and the message.
    __tracebackhide__ = True
    for step in steps:
        if step.__class__ is bytes:
            if observe is not None:
                observe(step)
            yield step
        elif isinstance(step, WaitUntil):
            delay = start + step.t - clock()
            if delay > 0:
                if read_timeout is not None and delay > read_timeout:
                    raise StreamFailure("ReadTimeout", READ_TIMEOUT_MESSAGE)
                yield delay
        elif isinstance(step, Stall):
            if read_timeout is None:
                raise StallWithoutTimeout(
                    "faults.stall: this client has no read timeout, so against a real server "
                    "that goes silent it would wait forever. Give the client a timeout "
                    "(e.g. httpx.Client(timeout=10)) so it can notice the stall."
                )
            raise StreamFailure("ReadTimeout", READ_TIMEOUT_MESSAGE)
        elif isinstance(step, Fail):
            raise StreamFailure(step.error, step.message)
