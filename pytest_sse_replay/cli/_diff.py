"""How two recordings of the same interactions differ: the check to run after re-recording.

Interactions are paired by method and path, in order (the host, port and query values of a
local server change between recordings and say nothing about the stream). For each pair:
event names added, removed or moved; JSON keys that appeared or disappeared per event name;
status and header changes; how the body ended; timing, summarised. Names, order, keys,
status, an ending that is an error in one recording only, and unpaired interactions make the
recordings *differ* (exit 1). Header and timing changes are reported but do not, since they
change with every recording; nor does `complete` against `client_closed` (an SDK that stops
at its terminal event closes the stream before the server ends it), nor one error against
another.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .._text import loads_json, plural
from ..cassette import Cassette, Interaction
from ..sse import Event

__all__ = ["CassetteDiff", "InteractionDiff", "diff_cassettes", "diff_structures"]

# Headers that differ between any two recordings of the same thing.
_VOLATILE_HEADERS = frozenset(
    {"date", "content-length", "server", "x-request-id", "request-id", "cf-ray", "etag", "age"}
)


@dataclass
class InteractionDiff:
    """The differences within one pair of interactions (or one left unpaired)."""

    label: str
    a_index: int | None
    b_index: int | None
    lines: list[str] = field(default_factory=list)
    # Lines that do not make the recordings differ (headers, timing).
    notes: list[str] = field(default_factory=list)

    @property
    def differs(self) -> bool:
        return bool(self.lines)


@dataclass
class CassetteDiff:
    items: list[InteractionDiff]

    @property
    def differs(self) -> bool:
        return any(item.differs for item in self.items)

    def render(self, a: str, b: str) -> str:
        out = [f"--- {a}", f"+++ {b}"]
        for item in self.items:
            if not item.lines and not item.notes:
                out.append(f"{item.label}: same events")
                continue
            out.append(item.label + ("" if item.differs else ": same events"))
            out.extend(f"  {line}" for line in item.lines)
            out.extend(f"  {line}" for line in item.notes)
        changed = sum(item.differs for item in self.items)
        if changed:
            out.append(
                f"differ: {changed} of {plural(len(self.items), 'interaction')} "
                "changed in names, order, keys or status"
            )
        else:
            out.append("same: event names, order, JSON keys and status all match")
        return "\n".join(out)


def _key(interaction: Interaction) -> tuple[str, str]:
    return interaction.request.method.upper(), urlsplit(interaction.request.url).path or "/"


def _pairs(
    a: Sequence[Interaction], b: Sequence[Interaction]
) -> list[tuple[int | None, int | None]]:
    used: set[int] = set()
    pairs: list[tuple[int | None, int | None]] = []
    for i, left in enumerate(a):
        match = next(
            (j for j, right in enumerate(b) if j not in used and _key(right) == _key(left)), None
        )
        if match is not None:
            used.add(match)
        pairs.append((i, match))
    pairs.extend((None, j) for j in range(len(b)) if j not in used)
    return pairs


def diff_cassettes(a: Cassette, b: Cassette) -> CassetteDiff:
    items = []
    for i, j in _pairs(a.interactions, b.interactions):
        if i is None:
            assert j is not None
            right = b.interactions[j]
            method, path = _key(right)
            item = InteractionDiff(f"+#{j} {method} {path}", None, j)
            item.lines.append("only in the second recording")
        elif j is None:
            method, path = _key(a.interactions[i])
            item = InteractionDiff(f"-#{i} {method} {path}", i, None)
            item.lines.append("only in the first recording")
        else:
            item = _diff_pair(a.interactions[i], b.interactions[j], i, j)
        items.append(item)
    return CassetteDiff(items)


def _diff_pair(a: Interaction, b: Interaction, i: int, j: int) -> InteractionDiff:
    method, path = _key(a)
    where = f"#{i}" if i == j else f"#{i} -> #{j}"
    item = InteractionDiff(f"{where} {method} {path}", i, j)
    ra, rb = a.response, b.response
    if ra.status != rb.status:
        item.lines.append(f"status: {ra.status} -> {rb.status}")
    if ra.is_event_stream != rb.is_event_stream:
        item.lines.append(
            f"content-type: {ra.header('content-type')!r} -> {rb.header('content-type')!r}"
        )
    events_a = ra.events() if ra.is_event_stream else []
    events_b = rb.events() if rb.is_event_stream else []
    item.lines.extend(_names(events_a, events_b))
    item.lines.extend(_keys(events_a, events_b))
    if not (ra.is_event_stream or rb.is_event_stream):
        keys_a, keys_b = _body_keys(ra.body), _body_keys(rb.body)
        if keys_a is not None and keys_b is not None and keys_a != keys_b:
            item.lines.append(_key_change("body", keys_a, keys_b))
    if ra.end != rb.end:
        change = f"end: {_ending(ra.end)} -> {_ending(rb.end)}"
        if (ra.end.kind == "error") != (rb.end.kind == "error"):
            item.lines.append(change)
        else:
            # After the same events, a client that stops reading at its terminal event (and
            # closes first) saw what a server that ended the body showed it; and two errors
            # differ in wording from run to run. Worth a note, not a difference.
            kinds = {ra.end.kind, rb.end.kind}
            why = "the client closed first" if "client_closed" in kinds else "both errors"
            item.notes.append(f"{change} ({why}: not a difference)")
    item.notes.extend(_headers(ra.headers, rb.headers))
    item.notes.extend(_timing(ra, rb, events_a, events_b))
    return item


def _ending(end: Any) -> str:
    if end.kind == "error":
        return f"error {end.error}"
    return str(end.kind)


def _names(a: list[Event], b: list[Event]) -> list[str]:
    names_a = [event.name for event in a]
    names_b = [event.name for event in b]
    if names_a == names_b:
        return []
    lines = [f"events: {len(names_a)} -> {len(names_b)}"]
    if Counter(names_a) == Counter(names_b):
        lines.append("reordered (the same events, in another order):")
        lines.extend(f"    {line}" for line in _unified(names_a, names_b))
        return lines
    matcher = difflib.SequenceMatcher(None, names_a, names_b, autojunk=False)
    removed: list[tuple[int, str]] = []
    added: list[tuple[int, str]] = []
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag in ("delete", "replace"):
            removed.extend((k, names_a[k]) for k in range(a0, a1))
        if tag in ("insert", "replace"):
            added.extend((k, names_b[k]) for k in range(b0, b1))
    moved = {name for _, name in removed} & {name for _, name in added}
    for k, name in removed:
        if name in moved:
            continue
        lines.append(f"- {name}  (event {k} of the first)")
    for k, name in added:
        if name in moved:
            continue
        lines.append(f"+ {name}  (event {k} of the second)")
    for name in sorted(moved):
        before = [k for k, n in removed if n == name]
        after = [k for k, n in added if n == name]
        lines.append(f"~ {name} moved: events {_ks(before)} -> {_ks(after)}")
    return lines


def _ks(indices: Sequence[int]) -> str:
    return ",".join(map(str, indices))


def _unified(a: list[str], b: list[str]) -> Iterable[str]:
    for line in difflib.unified_diff(a, b, lineterm="", n=1):
        if line.startswith(("---", "+++")):
            continue
        yield line


def _paths(value: object, prefix: str = "") -> set[str]:
    """Every key path in a JSON value: `a`, `a.b`, `items[].id`."""
    out: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.add(path)
            out |= _paths(inner, path)
    elif isinstance(value, list):
        for inner in value:
            out |= _paths(inner, f"{prefix}[]")
    return out


def _event_keys(events: Iterable[Event]) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {}
    for event in events:
        try:
            value = loads_json(event.data)
        except ValueError:
            continue
        if isinstance(value, dict):
            keys.setdefault(event.name, set()).update(_paths(value))
    return keys


def _body_keys(body: bytes) -> set[str] | None:
    try:
        value = loads_json(body)
    except ValueError:
        return None
    return _paths(value) if isinstance(value, dict | list) else None


def _key_change(name: str, a: set[str], b: set[str]) -> str:
    parts = [f"+{key}" for key in sorted(b - a)] + [f"-{key}" for key in sorted(a - b)]
    return f"keys of {name}: {' '.join(parts)}"


def _keys(a: list[Event], b: list[Event]) -> list[str]:
    keys_a, keys_b = _event_keys(a), _event_keys(b)
    return [
        _key_change(name, keys_a[name], keys_b[name])
        for name in dict.fromkeys([*keys_a, *keys_b])
        if name in keys_a and name in keys_b and keys_a[name] != keys_b[name]
    ]


def _headers(a: Sequence[tuple[str, str]], b: Sequence[tuple[str, str]]) -> list[str]:
    da = {name.lower(): value for name, value in a if name.lower() not in _VOLATILE_HEADERS}
    db = {name.lower(): value for name, value in b if name.lower() not in _VOLATILE_HEADERS}
    lines = []
    for name in sorted(set(da) | set(db)):
        if name not in db:
            lines.append(f"header {name}: removed (was {da[name]!r})")
        elif name not in da:
            lines.append(f"header {name}: added {db[name]!r}")
        elif da[name] != db[name]:
            lines.append(f"header {name}: {da[name]!r} -> {db[name]!r}")
    return lines


def _timing(ra: Any, rb: Any, a: list[Event], b: list[Event]) -> list[str]:
    da = max((chunk.t for chunk in ra.chunks), default=ra.headers_t)
    db = max((chunk.t for chunk in rb.chunks), default=rb.headers_t)
    # Recordings of the same stream never take exactly the same time: only a shift of more
    # than a tenth (and 10 ms) is worth a line.
    if not (a or b) or abs(db - da) <= max(0.01, 0.1 * max(da, db)):
        return []
    parts = [f"timing: {da:.3f}s -> {db:.3f}s"]
    if da > 0 and db > 0:
        parts.append(f"(x{db / da:.2f})")
    if a and b:
        parts.append(f"first event {a[0].t:.3f}s -> {b[0].t:.3f}s")
    return [" ".join(parts)]


def diff_structures(
    a: Cassette, b: Cassette, *, ignore: Sequence[str] = (), timing: float | None = 3.0
) -> tuple[str, bool]:
    """The `--sse-record=verify` comparison between two files, paired as `diff` pairs them:
    the report, and whether they drifted (timing alone is not drift)."""
    from ..assertions import Structure, compare

    lines: list[str] = []
    drifted = 0
    pairs = _pairs(a.interactions, b.interactions)
    for i, j in pairs:
        if i is None or j is None:
            if i is None:
                assert j is not None
                method, path = _key(b.interactions[j])
                lines.append(f"+#{j} {method} {path}: only in the second")
            else:
                method, path = _key(a.interactions[i])
                lines.append(f"-#{i} {method} {path}: only in the first")
            drifted += 1
            continue
        method, path = _key(a.interactions[i])
        where = f"#{i}" if i == j else f"#{i} -> #{j}"
        differences = compare(
            Structure.of(a.interactions[i]),
            Structure.of(b.interactions[j]),
            ignore=ignore,
            timing=timing,
        )
        if not differences:
            lines.append(f"{where} {method} {path}: same structure")
            continue
        drifted += any(d.level == "drift" for d in differences)
        lines.append(f"{where} {method} {path}")
        lines.extend(
            f"  {d}" + (" (warning only)" if d.level == "warning" else "") for d in differences
        )
    if drifted:
        lines.append(
            f"drift: {drifted} of {plural(len(pairs), 'interaction')} changed in structure"
        )
    else:
        lines.append("same structure: status, event names, JSON key paths and types, endings")
    return "\n".join(lines), bool(drifted)
