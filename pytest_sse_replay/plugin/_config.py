"""The plugin's settings: option names, record modes, marker options, and their one precedence.

Command line > marker > ini > default, merged here and nowhere else.
"""

from __future__ import annotations

import difflib
import enum
import functools
import hashlib
import inspect
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..cassette import Redaction
from ..playback import Fault, check_faults, check_speed, parse_ignore_json_paths, parse_match_on

__all__ = [
    "CassetteSettings",
    "MarkerOptions",
    "RecordMode",
    "resolve",
]

from ._options import (
    EXPIRED_ACTIONS,
    INI_ALLOW_HOSTS,
    INI_DIR,
    INI_DRIFT,
    INI_INCOMPLETE,
    INI_MAX_AGE,
    INI_MODE,
    INI_RECORD_ON_ERROR,
    INI_REDACT_BODY_KEYS,
    INI_REDACT_HEADERS,
    INI_REDACT_QUERY,
    INI_SPEED,
    INI_TERMINAL,
    INI_UNUSED,
    INI_VERIFY_TIMING,
    MARKER,
    OPT_BLOCK_NETWORK,
    OPT_EXPIRED,
    OPT_RECORD,
    OPT_SPEED,
    UNUSED_CHOICES,
)


class RecordMode(str, enum.Enum):
    NONE = "none"  # replay only; nothing touches the network
    ONCE = "once"  # record cassettes that do not exist yet; replay the others
    NEW = "new"  # replay what matches; record and append what does not
    ALL = "all"  # record everything afresh
    VERIFY = "verify"  # everything live, nothing written; compared with the cassette

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
        ignore_json_paths: Sequence[str] = (),
        redact_body_keys: Sequence[str] = (),
        terminal: str | None = None,
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
        try:
            parse_ignore_json_paths(ignore_json_paths)
        except ValueError as exc:
            raise TypeError(f"sse_cassette: {exc}") from None
        self.ignore_json_paths = (
            (ignore_json_paths,) if isinstance(ignore_json_paths, str) else tuple(ignore_json_paths)
        )
        self.redact_body_keys = _names(redact_body_keys, "redact_body_keys")
        self.terminal = None if terminal is None else _pattern(terminal, "terminal")

    @classmethod
    def from_marker(cls, marker: pytest.Mark) -> MarkerOptions:
        """The marker's options; a wrong one fails the test with the message alone."""
        __tracebackhide__ = True
        known = _marker_parameters()
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


@functools.cache
def _marker_parameters() -> tuple[str, ...]:
    """The marker's parameter names: read from the signature once, not for every test."""
    return tuple(inspect.signature(MarkerOptions).parameters)


def _pattern(value: object, where: str) -> str:
    from ..sse import compile_pattern

    try:
        compile_pattern(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise TypeError(f"sse_cassette: {where}: {exc}") from None
    return str(value)


def _names(value: Sequence[str] | str, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Iterable):
        raise TypeError(f"sse_cassette: {what} must be header or parameter names")
    names = tuple(value)  # once: a generator would be empty the second time
    if not all(isinstance(v, str) for v in names):
        raise TypeError(f"sse_cassette: {what} must be header or parameter names")
    # An empty name would redact nothing, and the user would believe the secret safe.
    if any(not v.strip() for v in names):
        raise ValueError(f"sse_cassette: {what} holds an empty name: {list(names)!r}")
    return names


@dataclass(frozen=True)
class CassetteSettings:
    """Everything one active cassette needs, merged from all sources."""

    paths: tuple[Path, ...]
    mode: RecordMode
    speed: float
    faults: tuple[Fault, ...]
    match_on: tuple[str, ...]
    redaction: Redaction
    ignore_json_paths: tuple[str, ...] = ()
    # Trust in recordings (see _drift.py and _provenance.py).
    terminal: str | None = None
    incomplete: str = "fail"
    record_on_error: bool = False
    drift: str = "fail"
    verify_timing: float = 3.0
    max_age: float | None = None
    expired: str = "warn"


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


# A test's settings, once merged: the collection (who shares a cassette) and the fixture
# both ask, and a run of many small tests would pay for the merge twice.
_RESOLVED = pytest.StashKey["CassetteSettings"]()
_ALLOW_HOSTS = pytest.StashKey[tuple[tuple[Any, ...], frozenset[str]]]()


def resolve(item: pytest.Item, markers: Sequence[pytest.Mark]) -> CassetteSettings:
    """Merge command line > marker > ini > default for one test (kept on the test)."""
    __tracebackhide__ = True
    cached = item.stash.get(_RESOLVED, None)
    if cached is None:
        cached = item.stash[_RESOLVED] = _resolve(item, markers)
    return cached


def _resolve(item: pytest.Item, markers: Sequence[pytest.Mark]) -> CassetteSettings:
    __tracebackhide__ = True
    options = [MarkerOptions.from_marker(m) for m in markers] or [MarkerOptions()]
    run = run_wide(item.config)

    names = [opt.name or default_name(item) for opt in options]
    paths = tuple(dict.fromkeys(cassette_path(run.directory, n) for n in names))

    marker_speed = next((o.speed for o in options if o.speed is not None), None)
    if run.cli_speed is not None:
        speed = run.cli_speed
    elif marker_speed is not None:
        speed = marker_speed
    else:
        speed = run.ini_speed

    redaction = run.redaction
    for opt in options:
        redaction = redaction.extend(opt.redact_headers, opt.redact_query, opt.redact_body_keys)

    trust = dict(run.trust)
    marker_terminal = next((o.terminal for o in options if o.terminal is not None), None)
    if marker_terminal is not None:
        trust["terminal"] = marker_terminal

    return CassetteSettings(
        paths=paths,
        mode=run.mode,
        speed=speed,
        faults=tuple(f for o in options for f in o.faults),
        match_on=tuple(dict.fromkeys(m for o in options for m in o.match_on)),
        redaction=redaction,
        ignore_json_paths=tuple(dict.fromkeys(p for o in options for p in o.ignore_json_paths)),
        **trust,
    )


@dataclass(frozen=True)
class RunWideSettings:
    """The part of every test's settings that comes from the ini file and the command line.

    They cannot change during a run (pytest_configure checked them), so they are read and
    parsed once, not for each test: a run of many small tests paid for it test by test."""

    directory: Path
    mode: RecordMode
    cli_speed: float | None  # --sse-speed, which overrides the marker
    ini_speed: float
    redaction: Redaction  # the defaults and the ini's names; markers add their own
    trust: dict[str, Any]  # see trust_settings(); each test's settings take a copy


_RUN_WIDE = pytest.StashKey[RunWideSettings]()


def run_wide(config: pytest.Config) -> RunWideSettings:
    cached = config.stash.get(_RUN_WIDE, None)
    if cached is None:
        cached = config.stash[_RUN_WIDE] = _read_run_wide(config)
    return cached


def _read_run_wide(config: pytest.Config) -> RunWideSettings:
    directory = Path(config.getini(INI_DIR) or "cassettes")
    if not directory.is_absolute():
        directory = config.rootpath / directory

    cli_mode: str | None = config.getoption(OPT_RECORD)
    if cli_mode is not None:
        mode = RecordMode.parse(cli_mode, "--sse-record")
    else:
        mode = RecordMode.parse(config.getini(INI_MODE) or "none", f"ini {INI_MODE}")

    cli_speed: str | None = config.getoption(OPT_SPEED)
    return RunWideSettings(
        directory=directory,
        mode=mode,
        cli_speed=None if cli_speed is None else parse_speed(cli_speed, "--sse-speed"),
        ini_speed=parse_speed(config.getini(INI_SPEED) or "0", f"ini {INI_SPEED}"),
        redaction=Redaction().extend(
            headers=_ini_list(config, INI_REDACT_HEADERS),
            query=_ini_list(config, INI_REDACT_QUERY),
            body_keys=_ini_list(config, INI_REDACT_BODY_KEYS),
        ),
        trust=trust_settings(config),
    )


def trust_settings(config: pytest.Config) -> dict[str, Any]:
    """The ini and command-line settings of completeness, drift and expiry, checked; a bad
    value is a usage error naming the setting."""
    from ..assertions import parse_timing
    from ..cassette import parse_age
    from ._drift import parse_choice

    try:
        terminal = str(config.getini(INI_TERMINAL) or "").strip() or None
        if terminal is not None:
            _pattern(terminal, f"ini {INI_TERMINAL}")
        on_error = str(config.getini(INI_RECORD_ON_ERROR) or "false").strip().lower()
        if on_error not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"ini {INI_RECORD_ON_ERROR}: expected true or false, got {on_error!r}")
        max_age = str(config.getini(INI_MAX_AGE) or "").strip()
        return {
            "terminal": terminal,
            "incomplete": parse_choice(
                config.getini(INI_INCOMPLETE) or "fail", f"ini {INI_INCOMPLETE}", ("fail", "warn")
            ),
            "record_on_error": on_error in ("true", "1", "yes"),
            "drift": parse_choice(
                config.getini(INI_DRIFT) or "fail", f"ini {INI_DRIFT}", ("fail", "warn")
            ),
            "verify_timing": parse_timing(
                config.getini(INI_VERIFY_TIMING) or "3", f"ini {INI_VERIFY_TIMING}"
            ),
            "max_age": parse_age(max_age, f"ini {INI_MAX_AGE}") if max_age else None,
            "expired": parse_choice(
                config.getoption(OPT_EXPIRED) or "warn", "--sse-expired", EXPIRED_ACTIONS
            ),
        }
    except (TypeError, ValueError) as exc:
        raise pytest.UsageError(str(exc)) from None


def _ini_list(config: pytest.Config, name: str) -> list[str]:
    value: Any = config.getini(name)
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    return [str(v) for v in value]


# -- run-wide settings (ini and command line only) ---------------------------------------------


def unused_policy(config: pytest.Config) -> str:
    """ini sse_unused: what an unplayed recording does: ignore, warn (the default) or fail."""
    value = str(config.getini(INI_UNUSED) or "warn").strip().lower()
    if value not in UNUSED_CHOICES:
        raise pytest.UsageError(
            f"ini {INI_UNUSED}: unknown value {value!r}; choose one of: {', '.join(UNUSED_CHOICES)}"
        )
    return value


def allow_hosts(config: pytest.Config) -> tuple[tuple[Any, ...], frozenset[str]]:
    """ini sse_allow_hosts as (networks, host names); loopback when unset, nothing for none."""
    cached = config.stash.get(_ALLOW_HOSTS, None)
    if cached is not None:
        return cached
    from ._network import parse_allow_hosts

    try:
        parsed = parse_allow_hosts(_ini_list(config, INI_ALLOW_HOSTS), f"ini {INI_ALLOW_HOSTS}")
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[_ALLOW_HOSTS] = parsed
    return parsed


def blocks_network(config: pytest.Config) -> bool:
    """--sse-block-network: the replay network rules for every test, cassette or not."""
    return bool(config.getoption(OPT_BLOCK_NETWORK))
