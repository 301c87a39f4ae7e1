"""One pytest run as all its xdist workers see it: which cassettes it wrote, and save locks.

"Recorded in this run" decides what a save keeps (`once`: a cassette written earlier in
the run takes the other tests' recordings instead of being skipped or replaced), and the
run spans processes. The controller makes a private folder when the run starts and hands
its path to every worker (pytest-xdist's `workerinput`); a save leaves a marker file there
naming the cassette. A marker, unlike a file's modification time, cannot be confused by a
coarse file-system clock or by an earlier run a second before.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from ..cassette import remove_stale_temporaries_in

__all__ = ["STALE_AGE", "Run", "lock_directory"]

# How long a save waits for another process's save of the same cassette.
LOCK_TIMEOUT = 120.0
# A lock file not taken for this long, and the folder of a run that saved nothing for a week
# (killed, most likely), are removed by the next run that saves: one lock file per cassette
# path ever saved (every tmp_path of a test suite) would otherwise pile up in the temp dir.
STALE_AGE = 24 * 3600.0
STALE_RUN_AGE = 7 * 24 * 3600.0
_RUN_PREFIX = "pytest-sse-replay-run-"


def _key(path: Path) -> str:
    return hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:24]


def _user() -> str:
    getuid = getattr(os, "getuid", None)
    if getuid is not None:
        return str(getuid())
    import getpass  # pragma: no cover - Windows

    return getpass.getuser()  # pragma: no cover - Windows


def lock_directory() -> Path | None:
    """This user's folder of save locks in the temp dir, or None when it cannot be used.

    One per user (a folder shared by all users would belong to whoever made it first, with
    their umask), private (0o700), and not trusted when someone else owns it.
    """
    directory = Path(tempfile.gettempdir()) / f"pytest-sse-replay-locks-{_user()}"
    try:
        directory.mkdir(mode=0o700, exist_ok=True)
        info = directory.lstat()
    except OSError:
        return None
    getuid = getattr(os, "getuid", None)
    if not directory.is_dir() or directory.is_symlink():
        return None
    if getuid is not None and info.st_uid != getuid():
        return None
    if not os.access(directory, os.W_OK | os.X_OK):
        return None
    return directory


class Run:
    """The run's shared folder: markers of the cassettes written, and the fallback locks.

    Made on first use, so a run that records nothing creates nothing.
    """

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = folder
        # The process that made the folder removes it when the run ends; a worker is
        # handed the controller's.
        self._made = False
        self._swept: set[Path] = set()  # folders of temporary files
        self._locks_swept: set[Path] = set()

    def sweep(self, directory: Path) -> None:
        """Once per run and folder: remove what saves killed in earlier runs left there."""
        if directory not in self._swept:
            self._swept.add(directory)
            remove_stale_temporaries_in(directory)

    @property
    def folder(self) -> Path:
        if self._folder is None:
            _remove_stale_runs(Path(tempfile.gettempdir()))
            self._folder = Path(tempfile.mkdtemp(prefix=_RUN_PREFIX))
            self._made = True
        return self._folder

    def end(self) -> None:
        if self._made and self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)

    def wrote(self, cassette: Path) -> bool:
        """Whether some test of this run (in any worker) has saved `cassette`."""
        if self._folder is None:
            return False  # nothing saved yet: a run that only replays makes no folder
        return (self._folder / f"{_key(cassette)}.written").exists()

    def mark_written(self, cassette: Path) -> None:
        (self.folder / f"{_key(cassette)}.written").touch()
        # The folder's own time says the run is alive (touching a marker that exists does
        # not change it).
        with contextlib.suppress(OSError):
            os.utime(self.folder)

    @contextlib.contextmanager
    def lock_for(self, cassette: Path) -> Iterator[None]:
        """Held while saving `cassette`, by every process that saves it: kept in the temp dir,
        not beside the cassettes where it would get committed. When this user's lock folder
        cannot be used (another user made it), the run's own folder serves: every worker
        sees it."""
        # Imported here: only a save takes a lock, and a run that only replays (most runs)
        # need not import filelock (about 9 ms).
        import filelock

        directory = lock_directory() or self.folder
        if directory not in self._locks_swept:
            self._locks_swept.add(directory)
            _remove_stale_locks(directory)
        path = directory / f"{_key(cassette)}.lock"
        with filelock.FileLock(path, timeout=LOCK_TIMEOUT):
            # Its time says when it was last taken (filelock 4 opens it without touching
            # it): a lock file older than STALE_AGE is then never one being held.
            with contextlib.suppress(OSError):
                os.utime(path)
            yield


def _stale(entry: Path, age: float) -> bool:
    """This user's `entry` (not followed if a link), untouched for `age` seconds."""
    try:
        info = entry.lstat()
    except OSError:
        return False
    getuid = getattr(os, "getuid", None)
    mine = getuid is None or info.st_uid == getuid()
    return mine and info.st_mtime < time.time() - age


def _remove_stale_runs(directory: Path) -> None:
    for entry in directory.glob(f"{_RUN_PREFIX}*"):
        if _stale(entry, STALE_RUN_AGE) and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)


def _remove_stale_locks(directory: Path) -> None:
    """Each lock file untouched for STALE_AGE is taken (without waiting) before it is removed,
    and looked at again once held: a save that took it meanwhile has touched it."""
    import filelock

    for entry in directory.glob("*.lock"):
        if not _stale(entry, STALE_AGE) or entry.is_symlink() or not entry.is_file():
            continue
        try:
            with filelock.FileLock(entry, timeout=0):
                if _stale(entry, STALE_AGE):
                    entry.unlink()
        except (filelock.Timeout, OSError):
            continue  # being held, or gone: not stale
