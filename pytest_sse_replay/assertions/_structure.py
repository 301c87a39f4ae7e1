"""The shape of a recorded response, and how two shapes differ: what drift means.

A `Structure` keeps what a client's code depends on and drops what changes with every
call: the status and media type; the sequence of event names with repeats of one name
collapsed (a token stream varies in length, not in shape); for each event name, the JSON key
paths of its data with their value types; the terminal event and how the body ended; the
time to the first event and in all. Token text, ids and values are not kept, so they are
never drift. `compare(a, b)` lists the differences; timing ones are only warnings, since no
two runs of a live service take the same time.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Literal

from .._text import loads_json
from ..cassette import Interaction, RecordedResponse
from ..sse import compile_pattern

__all__ = ["Difference", "Structure", "compare", "parse_timing"]

# Timing is compared by ratio, but a stream that takes milliseconds locally varies by more
# than any factor between runs: differences below this many seconds are never reported.
_TIMING_FLOOR = 0.05
_BODY = "(body)"  # the "event name" under which a JSON body's key paths are kept


@dataclass(frozen=True)
class Difference:
    """One way a response's structure changed: `what` (status, content-type, events, keys,
    terminal, end, timing), a readable `message`, and whether it is drift or only a
    `warning` (timing)."""

    what: str
    message: str
    level: Literal["drift", "warning"] = "drift"

    def __str__(self) -> str:
        return f"{self.what}: {self.message}"


@dataclass(frozen=True)
class Structure:
    """The structure of one recorded (or live) response; see the module docstring."""

    status: int
    content_type: str
    names: tuple[str, ...]
    # Event name -> key path -> the JSON types seen there ("string", "number", ...).
    keys: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)
    terminal: str | None = None
    end: str = "complete"
    first_event: float | None = None
    total: float = 0.0

    @classmethod
    def of(cls, response: RecordedResponse | Interaction) -> Structure:
        if isinstance(response, Interaction):
            response = response.response
        content_type = (response.header("content-type") or "").split(";", 1)[0].strip().lower()
        total = max((chunk.t for chunk in response.chunks), default=response.headers_t)
        end = f"error {response.end.error}" if response.end.kind == "error" else response.end.kind
        keys: dict[str, dict[str, set[str]]] = {}
        if not response.is_event_stream:
            try:
                value = loads_json(response.body)
            except ValueError:
                pass
            else:
                _shape(value, "", keys.setdefault(_BODY, {}))
            return cls(response.status, content_type, (), _freeze(keys), None, end, None, total)
        events = response.events()
        for event in events:
            shape = keys.setdefault(event.name, {})
            try:
                value = loads_json(event.data)
            except ValueError:
                shape.setdefault("", set()).add("text" if event.data else "empty")
                continue
            _shape(value, "", shape)
        names = tuple(name for name, _ in groupby(event.name for event in events))
        return cls(
            response.status,
            content_type,
            names,
            _freeze(keys),
            events[-1].name if events else None,
            end,
            events[0].t if events else None,
            total,
        )


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _shape(value: object, path: str, into: dict[str, set[str]]) -> None:
    """Every key path of a JSON value (`a`, `a.b`, `items[].id`) with the types seen there."""
    if path:
        into.setdefault(path, set()).add(_json_type(value))
    elif not isinstance(value, dict):
        into.setdefault("", set()).add(_json_type(value))
    if isinstance(value, dict):
        for key, inner in value.items():
            _shape(inner, f"{path}.{key}" if path else str(key), into)
    elif isinstance(value, list):
        for inner in value:
            _shape(inner, f"{path}[]", into)


def _freeze(keys: dict[str, dict[str, set[str]]]) -> dict[str, dict[str, frozenset[str]]]:
    return {name: {p: frozenset(t) for p, t in paths.items()} for name, paths in keys.items()}


def parse_timing(value: str, where: str) -> float:
    """A timing tolerance: a factor >= 1, written `3` or `3x`; ValueError naming `where`."""
    text = value.strip().lower().removesuffix("x").strip()
    try:
        factor = float(text)
    except ValueError:
        raise ValueError(f"{where}: expected a factor such as 3 or 3x, got {value!r}") from None
    if not factor >= 1 or factor == float("inf"):
        raise ValueError(f"{where}: the factor must be a finite number >= 1, got {value!r}")
    return factor


def _ignored(path: str, ignore: Sequence[str]) -> bool:
    # A pattern ignores the path it names and everything below it.
    return any(
        fnmatch.fnmatchcase(path, pattern)
        or path.startswith((pattern + ".", pattern + "[]"))
        or fnmatch.fnmatchcase(path, pattern + ".*")
        for pattern in ignore
    )


def _types(types: Iterable[str]) -> str:
    return "|".join(sorted(types))


def _sequence(names: Sequence[str]) -> str:
    return " ".join(names) if names else "(no events)"


def compare(
    a: Structure,
    b: Structure,
    *,
    ignore: Sequence[str] = (),
    timing: float | None = 3.0,
) -> list[Difference]:
    """How `b` (live, or the newer recording) differs from `a` (the cassette), in structure.

    `ignore` holds key-path globs left out of the comparison (`usage.*`, `*.id`); `timing` is
    the factor within which the times to the first event and to the end may change (None:
    not compared).
    """
    out: list[Difference] = []
    if a.status != b.status:
        out.append(Difference("status", f"{a.status} -> {b.status}"))
    if a.content_type != b.content_type:
        out.append(
            Difference(
                "content-type", f"{a.content_type or '(none)'} -> {b.content_type or '(none)'}"
            )
        )
        # Another kind of body: its events and keys would only repeat that, at length.
        if a.end != b.end:
            out.append(Difference("end", f"{a.end} -> {b.end}"))
        return out
    if a.names != b.names:
        out.append(Difference("events", f"{_sequence(a.names)} -> {_sequence(b.names)}"))
        matcher = difflib.SequenceMatcher(None, a.names, b.names, autojunk=False)
        for tag, a0, a1, b0, b1 in matcher.get_opcodes():
            if tag in ("delete", "replace"):
                out.extend(
                    Difference("events", f"- {name} (no longer sent)") for name in a.names[a0:a1]
                )
            if tag in ("insert", "replace"):
                out.extend(Difference("events", f"+ {name} (new)") for name in b.names[b0:b1])
    for name in dict.fromkeys([*a.keys, *b.keys]):
        if name not in a.keys or name not in b.keys:
            continue  # a new or missing event name is already reported above
        before, after = a.keys[name], b.keys[name]
        where = "body" if name == _BODY else f"data of {name}"
        for path in dict.fromkeys([*before, *after]):
            if _ignored(path, ignore):
                continue
            label = path or "(the whole value)"
            if path not in after:
                out.append(Difference("keys", f"{where}: - {label} ({_types(before[path])})"))
            elif path not in before:
                out.append(Difference("keys", f"{where}: + {label} ({_types(after[path])})"))
            elif before[path] != after[path]:
                out.append(
                    Difference(
                        "keys",
                        f"{where}: {label}: {_types(before[path])} -> {_types(after[path])}",
                    )
                )
    if a.terminal != b.terminal:
        out.append(Difference("terminal", f"{a.terminal or '(none)'} -> {b.terminal or '(none)'}"))
    if a.end != b.end:
        out.append(Difference("end", f"{a.end} -> {b.end}"))
    if timing is not None:
        out.extend(_timing(a, b, timing))
    return out


def _timing(a: Structure, b: Structure, factor: float) -> list[Difference]:
    out = []
    pairs = [("first event", a.first_event, b.first_event), ("total", a.total, b.total)]
    for label, before, after in pairs:
        if before is None or after is None or abs(after - before) < _TIMING_FLOOR:
            continue
        if after > before * factor or after * factor < before:
            out.append(
                Difference(
                    "timing",
                    f"{label} {before:.3f}s -> {after:.3f}s (outside x{factor:g})",
                    "warning",
                )
            )
    return out


def incompleteness(interaction: Interaction, terminal: str | None) -> str | None:
    """What is wrong with a recorded event stream (empty, broke, no terminal event), or None.

    Responses that are not event streams are never incomplete.
    """
    response = interaction.response
    if not response.is_event_stream:
        return None
    end = response.end
    if end.kind == "error":
        detail = f"{end.error}: {end.message}" if end.message else end.error
        return f"the stream broke ({detail})"
    if not response.body:
        return "the event stream is empty (no bytes at all)"
    events = response.events()
    if not events:
        return "the event stream has no events"
    if terminal is not None and not compile_pattern(terminal)(events[-1].name):
        if end.kind == "client_closed":
            how = "the client closed it"
        else:
            how = "the server ended it"
        return (
            f"no terminal event: the last of {len(events)} events is {events[-1].name!r}, "
            f"not {terminal!r} ({how})"
        )
    return None
