"""The temporary files of atomic saves: named after the cassette and the saving process.

A save writes `.<name>.<pid>.tmp` beside the cassette and renames it over the cassette. A
process killed in between leaves that file behind; the next save of the same cassette
removes it once its process is gone, or once it is older than any save could take (a pid
can be reused, and another machine's pid means nothing here).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import time
from pathlib import Path

__all__ = [
    "STALE_AFTER",
    "create_temporary",
    "remove_stale_temporaries",
    "remove_stale_temporaries_in",
]

# Seconds after which a temporary file is left over whatever its pid says.
STALE_AFTER = 600.0


def _name(path: Path, pid: int, n: int) -> str:
    # A second save of the same file in the same process (another thread) gets `-1`, ...
    return f".{path.name}.{pid}.tmp" if n == 0 else f".{path.name}.{pid}-{n}.tmp"


def create_temporary(path: Path) -> tuple[int, str]:
    """A new private (0o600) file beside `path`: its open descriptor and its path."""
    pid = os.getpid()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for n in itertools.count():
        temporary = str(path.parent / _name(path, pid, n))
        try:
            return os.open(temporary, flags, 0o600), temporary
        except FileExistsError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def _pid_of(path: Path, name: str) -> int | None:
    """The pid in a temporary file's name; None for a name of another form (older versions
    named them `.<name>.<random>.tmp`)."""
    middle = name[len(path.name) + 2 : -len(".tmp")]
    pid, _, n = middle.partition("-")
    if pid.isdigit() and (not n or n.isdigit()):
        return int(pid)
    return None


def _running(pid: int) -> bool:
    if os.name == "nt":  # pragma: no cover - os.kill(pid, 0) is not a probe on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, but belongs to someone else
        return True
    return True


def remove_stale_temporaries(path: Path, *, now: float | None = None) -> list[str]:
    """Remove the temporary files of `path` that no running save owns; returns their names."""
    prefix = f".{path.name}."
    removed: list[str] = []
    now = time.time() if now is None else now
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        pid = _pid_of(path, name)
        mine = pid == os.getpid()
        stale = age > STALE_AFTER or (pid is not None and not mine and not _running(pid))
        if stale:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(name)
    return removed


# `.<cassette name>.<pid>[-n].tmp`, as _name writes them.
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.\d+(?:-\d+)?\.tmp")


def remove_stale_temporaries_in(directory: Path, *, now: float | None = None) -> list[str]:
    """Remove every stale temporary file of a save in `directory` (whatever the cassette):
    a run that only replays then cleans up after a save killed in an earlier run."""
    try:
        names = {m["name"] for e in os.scandir(directory) if (m := _TEMPORARY.fullmatch(e.name))}
    except OSError:
        return []
    removed: list[str] = []
    for name in sorted(names):
        removed.extend(remove_stale_temporaries(directory / name, now=now))
    return removed
