"""Every error a user of pytest-sse-replay can catch, under one base class.

```
SSEReplayError
├── CassetteError          a cassette file that cannot be used (names the file and field)
├── NoRecording            a request the cassette has no recording for (also AssertionError)
├── NetworkEscape          in replay, a connection that went around the cassettes
├── StallWithoutTimeout    a stall injected into a client that has no read timeout
├── FaultSpecError         a `--fault` string that does not name a fault or its options
└── UsageProblem           bad input to the `sse-replay` command line (exit code 2)
```

The faults a client sees (a dropped connection, a read timeout) are never these: they are the
client library's own exceptions (`httpx.RemoteProtocolError`, `httpx.ReadTimeout`, ...), as a
real server would cause them.
"""

from __future__ import annotations

__all__ = [
    "CassetteError",
    "FaultSpecError",
    "NetworkEscape",
    "NoRecording",
    "SSEReplayError",
    "StallWithoutTimeout",
    "UsageProblem",
]


class SSEReplayError(Exception):
    """The base class of every error pytest-sse-replay raises on purpose."""


class CassetteError(SSEReplayError):
    """A cassette file that cannot be used: names the file and what is wrong with it."""


class NoRecording(SSEReplayError, LookupError, AssertionError):
    """A request that the cassette has no recording for.

    An `AssertionError` too, as respx's `AllMockedAssertionError` is: in a test, it is a
    failed expectation about the traffic, not a crash.
    """


class NetworkEscape(SSEReplayError, RuntimeError):
    """A connection attempt in replay that did not go through a cassette.

    Not an OSError on purpose: clients retry or wrap OSErrors (urllib3, asyncio's
    create_connection), and this must reach the test as it is.
    """

    def __init__(self, host: str, port: int | None, library: str, test: str = "") -> None:
        self.host = host
        self.port = port
        self.library = library
        where = f"{host}:{port}" if port is not None else host
        who = f" in {test}" if test else ""
        super().__init__(
            f"network connection to {where} by {library}{who} refused: in replay only the "
            "cassette answers (httpx, httpx2, aiohttp and requests go through it). Allow the "
            "host with ini sse_allow_hosts, or record with --sse-record."
        )


class StallWithoutTimeout(SSEReplayError, RuntimeError):
    """A stall was injected but the client has no read timeout: a real one would hang forever."""


class FaultSpecError(SSEReplayError, ValueError):
    """A `--fault` string that does not name a fault or its arguments correctly."""


class UsageProblem(SSEReplayError):
    """Bad input to the command line: reported as `sse-replay COMMAND: error: ...`, exit 2."""


# Shown as the public API names them (`pytest_sse_replay.NoRecording`), as httpx does for its
# own errors: a traceback in a CI log then names what a user can import and catch.
for _error in (
    SSEReplayError,
    CassetteError,
    NoRecording,
    NetworkEscape,
    StallWithoutTimeout,
    FaultSpecError,
    UsageProblem,
):
    _error.__module__ = "pytest_sse_replay"
del _error
