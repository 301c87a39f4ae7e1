"""Event patterns: `|`-separated shell globs matched against `Event.name`."""

from __future__ import annotations

import fnmatch
import functools
import re

__all__ = ["Pattern", "compile_pattern"]

# A pattern remembers whether each name it has seen matches. Streams have few distinct
# names, so this stays small; the cap only guards against names made of unique ids.
_MAX_KNOWN_NAMES = 4096


class Pattern:
    """`|`-separated shell globs (`fnmatch.fnmatchcase` rules), matched against a name."""

    __slots__ = ("_known", "_match", "globs")

    def __init__(self, text: str) -> None:
        globs = tuple(glob.strip() for glob in text.split("|"))
        if not all(globs):
            raise ValueError(f"event pattern {text!r} has an empty alternative")
        self.globs = globs
        # fnmatch.translate() anchors each glob at the end; re.match() anchors the start
        # of every alternative. This is exactly fnmatchcase() on each glob, compiled once.
        self._match = re.compile("|".join(fnmatch.translate(glob) for glob in globs)).match
        self._known: dict[str, bool] = {}

    def __call__(self, name: str) -> bool:
        known = self._known.get(name)
        if known is None:
            known = self._match(name) is not None
            if len(self._known) < _MAX_KNOWN_NAMES:
                self._known[name] = known
        return known


@functools.lru_cache(maxsize=1024)
def _compile(text: str) -> Pattern:
    return Pattern(text)


def compile_pattern(text: str) -> Pattern:
    """The compiled form of an event pattern, cached; raises TypeError/ValueError if bad."""
    if not isinstance(text, str):  # lru_cache would accept any hashable value
        raise TypeError(f"an event pattern is a str, not {type(text).__name__}: {text!r}")
    return _compile(text)
