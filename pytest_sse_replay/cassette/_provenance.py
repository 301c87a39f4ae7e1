"""When and with what a cassette was recorded, and how old is too old.

The SDK that made a request is found by walking the stack at request time to the first
frame outside the client library, this package and the standard library; its top-level
module is mapped to its distribution with `importlib.metadata.packages_distributions()`
(read once per process), and the answer is cached per code file, so a request costs a few
frame hops and dictionary look-ups.
"""

from __future__ import annotations

import functools
import importlib.metadata
import platform
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._model import Cassette

__all__ = [
    "calling_distribution",
    "distribution_version",
    "expired_by",
    "major_changes",
    "note",
    "now",
    "parse_age",
    "versions_for",
]

# Modules whose frames are the machinery between the caller and the network, never an SDK.
# The client libraries and what they are built on: never "the SDK that made the request".
_MACHINERY = frozenset(
    {
        *("httpx", "httpx2", "httpcore", "httpcore2", "respx", "anyio", "sniffio", "h11", "h2"),
        *("aiohttp", "aiohappyeyeballs", "aiosignal", "yarl", "multidict", "frozenlist"),
        *("propcache", "requests", "urllib3", "charset_normalizer", "idna", "certifi"),
    }
)
_SELF = "pytest_sse_replay"
_STDLIB = frozenset(sys.stdlib_module_names)
_MAX_FRAMES = 200  # a bound, however deep the caller's stack is


def now() -> datetime:
    return datetime.now(UTC)


@functools.cache
def _distributions() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()


@functools.cache
def distribution_version(name: str) -> str | None:
    """The installed version of distribution `name`, or None."""
    try:
        return importlib.metadata.version(name)
    except (importlib.metadata.PackageNotFoundError, ValueError):
        # ValueError: an empty name (a cassette's recorded_with may say anything).
        return None


@functools.lru_cache(maxsize=1024)
def _distribution_of(module: str) -> tuple[str, str] | None:
    top = module.partition(".")[0]
    if not top or top in _MACHINERY or top == _SELF or top in _STDLIB:
        return None
    for name in _distributions().get(top, ()):
        version = distribution_version(name)
        if version is not None:
            return name, version
    return None


def calling_distribution() -> tuple[str, str] | None:
    """(distribution, version) of the code that made the current request, or None when the
    first caller outside the machinery is not an installed package (a test, a script)."""
    frame: FrameType | None = sys._getframe(1)
    for _ in range(_MAX_FRAMES):
        if frame is None:
            return None
        module = frame.f_globals.get("__name__", "")
        top = module.partition(".")[0]
        if top and top not in _MACHINERY and top != _SELF and top not in _STDLIB:
            return _distribution_of(module)
        frame = frame.f_back
    return None


def versions_for(client: str) -> dict[str, str]:
    """The versions every recording names: this package, Python and the client library."""
    versions = {"pytest-sse-replay": distribution_version("pytest-sse-replay") or "unknown"}
    versions["python"] = platform.python_version()
    version = distribution_version(client)
    if version is not None:
        versions[client] = version
    return versions


def note(cassette: Cassette, client: str) -> None:
    """Called for each request recorded into `cassette` (from the recording transport): the
    first sets `recorded_at`; the client library's version is noted once, and the calling
    SDK's each time (a test may call several)."""
    if cassette.recorded_at is None:
        cassette.recorded_at = now()
    versions = cassette.recorded_with
    if client not in versions:
        versions.update(versions_for(client))
    sdk = calling_distribution()
    if sdk is not None:
        versions[sdk[0]] = sdk[1]


_AGE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", re.IGNORECASE)
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str, where: str) -> float:
    """`90d`, `12w`, `36h`, `30m`, `45s` in seconds; ValueError naming `where` when bad."""
    match = _AGE.fullmatch(text)
    if match is None:
        raise ValueError(
            f"{where}: expected an age such as 90d, 12w or 36h (s, m, h, d, w), got {text!r}"
        )
    return float(match[1]) * _UNIT[match[2].lower()]


# How far ahead of this machine's clock a recording time may be (another machine's clock).
_CLOCK_SKEW = 86400


def expired_by(recorded_at: datetime | None, max_age: float | None, at: datetime) -> str | None:
    """A phrase saying how old a cassette is when it is older than `max_age`, else None."""
    if recorded_at is None or max_age is None:
        return None
    age = (at - recorded_at).total_seconds()
    when = recorded_at.isoformat(timespec="seconds")
    if age < -_CLOCK_SKEW:
        # A date to come (a hand edit, a wrong clock) would keep a cassette young forever.
        return f"recorded {when}, in the future: its age cannot be known"
    if age <= max_age:
        return None
    return f"recorded {when}, {_days(age)} ago"


def _days(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days"
    return f"{seconds / 3600:.0f} hours"


_NOT_SDKS = frozenset({"pytest-sse-replay", "python"})


def major_changes(recorded_with: dict[str, str]) -> list[str]:
    """`openai 1.99.0 -> 2.3.0` for each recording package now installed in another major
    version (the first number of the version)."""
    out = []
    for name, recorded in recorded_with.items():
        if name in _NOT_SDKS:
            continue
        installed = distribution_version(name)
        if installed is None:
            continue
        if _major(installed) != _major(recorded):
            out.append(f"{name} {recorded} -> {installed}")
    return out


def _major(version: str) -> str:
    return re.split(r"[.+!-]", version.strip(), maxsplit=1)[0]
