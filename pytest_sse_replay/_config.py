"""The plugin's settings: option names, record modes, marker options, and their one precedence.

Command line > marker > ini > default, merged here and nowhere else.
"""

from __future__ import annotations

import difflib
import enum
import hashlib
import inspect
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ._arguments import check_faults, check_speed
from ._matching import parse_match_on
from ._plan import Fault
from ._redact import Redaction

__all__ = [
    "CassetteSettings",
    "MarkerOptions",
    "RecordMode",
    "resolve",
]

from ._options import (
    INI_DIR,
    INI_MODE,
    INI_REDACT_HEADERS,
    INI_REDACT_QUERY,
    INI_SPEED,
    MARKER,
    OPT_RECORD,
    OPT_SPEED,
)


class RecordMode(str, enum.Enum):
    NONE = "none"  # replay only; nothing touches the network
    ONCE = "once"  # record cassettes that do not exist yet; replay the others
    NEW = "new"  # replay what matches; record and append what does not
    ALL = "all"  # record everything afresh

    @classmethod
    def parse(cls, value: str, where: str) -> RecordMode:
        try:
            return cls(value.strip().lower())
        except ValueError:
            choices = ", ".join(mode.value for mode in cls)
            raise pytest.UsageError(
                f"{where}: unknown record mode {value!r}; choose one of: {choices}"
            ) from None


def parse_speed(value: str | float, where: str) -> float:
    try:
        speed = float(value)
    except (TypeError, ValueError):
        raise pytest.UsageError(f"{where}: speed must be a number, got {value!r}") from None
    if speed < 0 or math.isnan(speed) or math.isinf(speed):
        raise pytest.UsageError(f"{where}: speed must be a finite number >= 0, got {value!r}")
    return speed


class MarkerOptions:
    """`@pytest.mark.sse_cassette(name=None, *, speed=None, faults=(), match_on=None, ...)`.

    Built from the marker's arguments, so a wrong keyword is a TypeError that names it.
    """

    def __init__(
        self,
        name: str | None = None,
        *,
        speed: float | None = None,
        faults: Sequence[Fault] = (),
        match_on: Sequence[str] | None = None,
        redact_headers: Sequence[str] = (),
        redact_query: Sequence[str] = (),
    ) -> None:
        if name is not None and not isinstance(name, str | Path):
            raise TypeError(f"sse_cassette: name must be a string, got {name!r}")
        self.name = None if name is None else str(name)
        self.speed = None if speed is None else check_speed(speed, "sse_cassette")
        self.faults = check_faults(faults, "sse_cassette")
        try:
            self.match_on = parse_match_on(match_on)
        except ValueError as exc:
            raise TypeError(f"sse_cassette: {exc}") from None
        self.redact_headers = _names(redact_headers, "redact_headers")
        self.redact_query = _names(redact_query, "redact_query")

    @classmethod
    def from_marker(cls, marker: pytest.Mark) -> MarkerOptions:
        """The marker's options; a wrong one fails the test with the message alone."""
        __tracebackhide__ = True
        known = list(inspect.signature(cls).parameters)
        unknown = [key for key in marker.kwargs if key not in known]
        try:
            if unknown:
                close = difflib.get_close_matches(unknown[0], known, n=1)
                raise TypeError(
                    f"unexpected keyword argument {unknown[0]!r}; "
                    + (f"did you mean {close[0]!r}?" if close else f"options: {', '.join(known)}")
                )
            return cls(*marker.args, **marker.kwargs)
        except (TypeError, ValueError) as exc:
            message = str(exc).replace("MarkerOptions.__init__()", "sse_cassette()")
            message = message.removeprefix("sse_cassette: ")
        # The mistake is in the test's decorator: a traceback into the plugin (or the
        # exception it replaces) would only hide it.
        pytest.fail(f"@pytest.mark.{MARKER}: {message}", pytrace=False)


def _names(value: Sequence[str] | str, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if not all(isinstance(v, str) for v in value):
        raise TypeError(f"sse_cassette: {what} must be header or parameter names")
    return tuple(value)


@dataclass(frozen=True)
class CassetteSettings:
    """Everything one active cassette needs, merged from all sources."""

    paths: tuple[Path, ...]
    mode: RecordMode
    speed: float
    faults: tuple[Fault, ...]
    match_on: tuple[str, ...]
    redaction: Redaction


_UNSAFE = re.compile(r"[^A-Za-z0-9._\-\[\]=+,@]+")
_MAX_NAME = 120


def default_name(item: pytest.Item) -> str:
    """`<module>/<Class.test[params]>`, sanitised for every filesystem, hashed when long."""
    module = Path(item.nodeid.split("::", 1)[0]).stem
    test = item.nodeid.split("::", 1)[1] if "::" in item.nodeid else item.name
    name = _UNSAFE.sub("_", test.replace("::", ".")).strip("._") or "test"
    if len(name) > _MAX_NAME:
        digest = hashlib.sha1(name.encode()).hexdigest()[:10]
        name = f"{name[: _MAX_NAME - 11]}-{digest}"
    return f"{module}/{name}"


def cassette_path(directory: Path, name: str) -> Path:
    path = Path(name)
    if path.suffix not in (".yaml", ".yml"):
        path = path.with_name(path.name + ".yaml")
    return path if path.is_absolute() else directory / path


def resolve(item: pytest.Item, markers: Sequence[pytest.Mark]) -> CassetteSettings:
    """Merge command line > marker > ini > default for one test."""
    __tracebackhide__ = True
    config = item.config
    options = [MarkerOptions.from_marker(m) for m in markers] or [MarkerOptions()]

    directory = Path(config.getini(INI_DIR) or "cassettes")
    if not directory.is_absolute():
        directory = config.rootpath / directory
    names = [opt.name or default_name(item) for opt in options]
    paths = tuple(dict.fromkeys(cassette_path(directory, n) for n in names))

    cli_mode: str | None = config.getoption(OPT_RECORD)
    if cli_mode is not None:
        mode = RecordMode.parse(cli_mode, "--sse-record")
    else:
        mode = RecordMode.parse(config.getini(INI_MODE) or "none", f"ini {INI_MODE}")

    cli_speed: str | None = config.getoption(OPT_SPEED)
    marker_speed = next((o.speed for o in options if o.speed is not None), None)
    if cli_speed is not None:
        speed = parse_speed(cli_speed, "--sse-speed")
    elif marker_speed is not None:
        speed = marker_speed
    else:
        speed = parse_speed(config.getini(INI_SPEED) or "0", f"ini {INI_SPEED}")

    redaction = Redaction().extend(
        headers=_ini_list(config, INI_REDACT_HEADERS), query=_ini_list(config, INI_REDACT_QUERY)
    )
    for opt in options:
        redaction = redaction.extend(opt.redact_headers, opt.redact_query)

    return CassetteSettings(
        paths=paths,
        mode=mode,
        speed=speed,
        faults=tuple(f for o in options for f in o.faults),
        match_on=tuple(dict.fromkeys(m for o in options for m in o.match_on)),
        redaction=redaction,
    )


def _ini_list(config: pytest.Config, name: str) -> list[str]:
    value: Any = config.getini(name)
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    return [str(v) for v in value]
