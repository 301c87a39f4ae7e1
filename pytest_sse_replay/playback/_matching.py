"""Which recorded interaction answers a request, and, when none does, how the closest differs."""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from .._text import loads_json
from ..cassette import REDACTED, Interaction, RecordedRequest
from ..exceptions import NoRecording

__all__ = [
    "PARTS",
    "REDACTED",
    "Matcher",
    "NoRecording",
    "parse_ignore_json_paths",
    "parse_match_on",
]


_DEFAULT_PORTS = {"http": 80, "https": 443}

# vcrpy's names for the parts of a request. A match_on that names any of them is the
# whole list of parts compared; one that names none compares them all (method and URL).
PARTS = ("method", "scheme", "host", "port", "path", "query")
_URL_PARTS = PARTS[1:]

_MATCH_ON_CHOICES = (*PARTS, "url", "body", "json", "headers:NAME")


@dataclass(frozen=True, slots=True)
class _Target:
    """A URL cut into what must be equal (`where`) and what may come in any order (`query`)."""

    where: tuple[str, str, int | None, str]
    query: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, url: str) -> _Target:
        return _target_of(url)

    @classmethod
    def parse(cls, url: str) -> _Target:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or _DEFAULT_PORTS.get(scheme)
        where = (scheme, (parts.hostname or "").lower(), port, parts.path or "/")
        return cls(where, tuple(sorted(parse_qsl(parts.query, keep_blank_values=True))))


@functools.lru_cache(maxsize=1024)
def _target_of(url: str) -> _Target:
    # A test sends the same few URLs again and again: each is parsed once (immutable).
    return _Target.parse(url)


def parse_match_on(match_on: Sequence[str] | None) -> tuple[str, ...]:
    """Validate `match_on` entries: parts of the request (method, scheme, host, port, path,
    query, or url for all of the URL's) and extras (body, json, headers:NAME).

    Without a part named, the result holds the extras alone (method and URL are implied);
    with one, the parts named ("url" spelled out as its five) and the extras.
    """
    if match_on is None:
        return ()
    if isinstance(match_on, str):
        match_on = (match_on,)
    if not isinstance(match_on, Iterable):
        raise ValueError(f"match_on: expected a list such as ['json'], got {match_on!r}")
    checked: list[str] = []
    for item in match_on:
        if not isinstance(item, str) or not (
            item in _MATCH_ON_CHOICES[:-1]
            or (item.startswith("headers:") and len(item) > len("headers:"))
        ):
            raise ValueError(
                f"match_on: unknown entry {item!r}; use any of {', '.join(_MATCH_ON_CHOICES)} "
                "(naming no part of the request means method and URL)"
            )
        checked.append(item.lower() if item.startswith("headers:") else item)
    if not any(item in PARTS for item in checked):
        # "url" alone (as "method" and "url" were before parts existed) is the default.
        return tuple(dict.fromkeys(item for item in checked if item != "url"))
    checked = [part for item in checked for part in (_URL_PARTS if item == "url" else (item,))]
    if set(checked) >= set(PARTS) and "method" in checked:
        # Every part named: the same as naming none.
        checked = [item for item in checked if item not in PARTS]
    return tuple(dict.fromkeys(checked))


# -- ignore_json_paths: `a.b`, `items[0].id`, `messages[*].timestamp`, `*.debug` -----------

_SEGMENT = re.compile(r"^(?P<key>[^.\[\]]*)(?P<indexes>(?:\[(?:\d+|\*)\])*)$")
_INDEX = re.compile(r"\[(\d+|\*)\]")

# One step of a path: a key ("*" is any key) or a list index (None is any index).
_Step = tuple[str, str] | tuple[str, int | None]


def parse_ignore_json_paths(paths: Sequence[str] | str) -> tuple[tuple[_Step, ...], ...]:
    """Parse paths such as "metadata.request_id" or "messages[*].timestamp"."""
    if isinstance(paths, str):
        paths = (paths,)
    if not isinstance(paths, Iterable):
        raise ValueError(
            f"ignore_json_paths: expected a list of paths like 'a.b[*].c', got {paths!r}"
        )
    parsed = []
    for path in paths:
        if not isinstance(path, str) or not path.strip():
            raise ValueError(f"ignore_json_paths: expected paths like 'a.b[*].c', got {path!r}")
        steps: list[_Step] = []
        for number, segment in enumerate(path.strip().split(".")):
            match = _SEGMENT.match(segment)
            if match is None or (not match["key"] and (number > 0 or not match["indexes"])):
                raise ValueError(
                    f"ignore_json_paths: bad path {path!r} at {segment!r}; use keys joined by "
                    "dots, [N] or [*] for list items, * for any key (e.g. 'messages[*].id')"
                )
            if match["key"]:
                steps.append(("key", match["key"]))
            for index in _INDEX.findall(match["indexes"]):
                steps.append(("index", None if index == "*" else int(index)))
        parsed.append(tuple(steps))
    return tuple(parsed)


def _without(value: object, steps: tuple[_Step, ...]) -> object:
    """`value` with what `steps` points at left out (a copy where anything is left out)."""
    if not steps:
        return value
    (kind, which), rest = steps[0], steps[1:]
    if kind == "key" and isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if which in ("*", key):
                if not rest:
                    continue
                item = _without(item, rest)
            out[key] = item
        return out
    if kind == "index" and isinstance(value, list):
        items = []
        for number, item in enumerate(value):
            if which is None or which == number:
                if not rest:
                    continue
                item = _without(item, rest)
            items.append(item)
        return items
    return value


def _query_matches(
    recorded: tuple[tuple[str, str], ...], live: tuple[tuple[str, str], ...]
) -> bool:
    if recorded == live:  # the common case, and cheap: both are sorted
        return True
    if len(recorded) != len(live):
        return False
    # Per name, every recorded value must be present; a redacted one stands for any value.
    remaining: dict[str, list[str]] = defaultdict(list)
    for key, value in live:
        remaining[key].append(value)
    # Exact values first, then those with a redacted part, then the wholly redacted: a
    # looser one never takes the value a stricter one needs.
    for key, value in sorted(recorded, key=lambda pair: _looseness(pair[1])):
        values = remaining.get(key)
        if not values:
            return False
        if value == REDACTED:
            values.pop()
        elif value in values:
            values.remove(value)
        else:
            fitting = next((v for v in values if _redacted_fits(value, v, _QUERY_SEPARATORS)), None)
            if fitting is None:
                return False
            values.remove(fitting)
    return True


def _looseness(value: str) -> int:
    return 2 if value == REDACTED else 1 if REDACTED in value else 0


def _redacted_fits(recorded: str, live: str, separators: str = "") -> bool:
    """Whether `live` is `recorded` with some text in place of each REDACTED in it: a
    secret redacted inside a value (JSON in a query value, `a=1;api_key=...`) stands for
    any secret, holding none of `separators` (in a query value, `;` and `&`: else
    `a=1;api_key=REDACTED` would answer `a=1;api_key=K;page=2` too). Leftmost matching of
    the parts between is exact for such patterns."""
    if recorded == live:
        return True
    if REDACTED not in recorded:
        return False
    first, *middle, last = recorded.split(REDACTED)
    if len(live) < len(first) + len(last) or not (live.startswith(first) and live.endswith(last)):
        return False
    at, end = len(first), len(live) - len(last)
    for part in middle:
        found = live.find(part, at, end)
        if found < 0 or _holds_any(live, at, found, separators):
            return False
        at = found + len(part)
    return not _holds_any(live, at, end, separators)


def _holds_any(text: str, start: int, end: int, characters: str) -> bool:
    return any(text.find(c, start, end) >= 0 for c in characters)


# What a secret in a query value cannot hold: it would have split the value.
_QUERY_SEPARATORS = ";&"


def _json_or_none(body: bytes) -> object:
    try:
        return loads_json(body)
    except ValueError:
        return _NOT_JSON


_NOT_JSON = object()


def _json_matches(recorded: object, live: object) -> bool:
    """Equal as JSON, where a recorded "REDACTED" (a redacted body field) matches any value,
    and one inside a string any text there."""
    if recorded == REDACTED:
        return True
    if isinstance(recorded, str) and isinstance(live, str):
        return _redacted_fits(recorded, live)
    if isinstance(recorded, dict) and isinstance(live, dict):
        return recorded.keys() == live.keys() and all(
            _json_matches(value, live[key]) for key, value in recorded.items()
        )
    if isinstance(recorded, list) and isinstance(live, list):
        return len(recorded) == len(live) and all(
            _json_matches(r, v) for r, v in zip(recorded, live, strict=True)
        )
    return recorded == live


def _body_matches(recorded: bytes, live: bytes, *, as_json: bool) -> bool:
    """The same body; one with redacted fields (rewritten by redaction) is compared as the
    JSON or form it is, so the live secret and formatting do not count."""
    if as_json:
        want = _json_or_none(recorded)
        got = _json_or_none(live)
        return got is _NOT_JSON if want is _NOT_JSON else _json_matches(want, got)
    if recorded == live:
        return True
    if REDACTED.encode() not in recorded:
        return False
    want = _json_or_none(recorded)
    if want is not _NOT_JSON:
        return _json_matches(want, _json_or_none(live))
    try:
        want_form = sorted(parse_qsl(recorded.decode(), keep_blank_values=True))
        got_form = sorted(parse_qsl(live.decode(), keep_blank_values=True))
    except UnicodeDecodeError:
        return False
    return len(want_form) == len(got_form) and _query_matches(tuple(want_form), tuple(got_form))


class Matcher:
    """Answers requests from a list of interactions.

    By default method and URL count (query parameters in any order; a redacted recorded
    value matches any value); `match_on` adds "body", "json" (equal as JSON) or
    "headers:NAME", or names the parts that count ("method", "scheme", "host", "port",
    "path", "query"). `ignore_json_paths` leaves fields of a JSON body out of "json" (and
    implies it). Identical requests are answered in recorded order; once each recording of
    a request has been played, further ones replay the last (a client's retry or reconnect
    after the recording ran out still gets an answer).
    """

    def __init__(
        self,
        interactions: Sequence[Interaction],
        match_on: Sequence[str] | None = None,
        *,
        ignore_json_paths: Sequence[str] = (),
    ):
        self.interactions = interactions
        rules = parse_match_on(match_on)
        self.parts = tuple(p for p in PARTS if p in rules) or PARTS
        self._ignored = parse_ignore_json_paths(ignore_json_paths) if ignore_json_paths else ()
        if self._ignored and "json" not in rules:
            rules = (*rules, "json")
        self.match_on = tuple(rule for rule in rules if rule not in PARTS)
        self._targets = [_Target.of(i.request.url) for i in interactions]
        self._by_key: dict[tuple[object, ...], list[int]] = defaultdict(list)
        for index, (interaction, target) in enumerate(
            zip(interactions, self._targets, strict=True)
        ):
            self._by_key[self._key(interaction.request.method, target)].append(index)
        self._served: dict[tuple[int, ...], int] = {}

    def _key(self, method: str, target: _Target) -> tuple[object, ...]:
        """What must be equal, of the parts compared (the query is compared apart)."""
        if self.parts is PARTS:
            return (method.upper(), target.where)
        values = dict(zip(_URL_PARTS, target.where, strict=False))
        values["method"] = method.upper()
        return tuple(values[part] for part in self.parts if part != "query")

    def find(self, request: RecordedRequest) -> int:
        """The index of the interaction that answers `request`, or raise NoRecording."""
        matching = self.matching(request)
        if not matching:
            raise NoRecording(self.explain(request))
        served = self._served.get(matching, 0)
        self._served[matching] = served + 1
        return matching[min(served, len(matching) - 1)]

    def matching(self, request: RecordedRequest) -> tuple[int, ...]:
        """The indices of every interaction that could answer `request`, in order."""
        target = _Target.of(request.url)
        candidates = self._by_key.get(self._key(request.method, target), ())
        query = "query" in self.parts
        return tuple(
            index
            for index in candidates
            if (not query or _query_matches(self._targets[index].query, target.query))
            and self._extras_match(self.interactions[index].request, request)
        )

    def _extras_match(self, recorded: RecordedRequest, live: RecordedRequest) -> bool:
        return not any(self._differs(rule, recorded, live) for rule in self.match_on)

    def _json(self, body: bytes) -> object:
        value = _json_or_none(body)
        for steps in self._ignored:
            value = _without(value, steps)
        return value

    def _differs(self, rule: str, recorded: RecordedRequest, live: RecordedRequest) -> str | None:
        if rule == "body":
            if not _body_matches(recorded.body, live.body, as_json=False):
                return f"body: recorded {_preview(recorded.body)}, got {_preview(live.body)}"
        elif rule == "json":
            want, got = self._json(recorded.body), self._json(live.body)
            if not (got is _NOT_JSON if want is _NOT_JSON else _json_matches(want, got)):
                ignoring = " (ignoring ignore_json_paths)" if self._ignored else ""
                return (
                    f"json body{ignoring}: recorded {_preview(recorded.body)}, "
                    f"got {_preview(live.body)}"
                )
        else:
            name = rule.partition(":")[2]
            want, got = recorded.header(name), live.header(name)
            if want != got and not (want == REDACTED and got is not None):
                return f"header {name}: recorded {want!r}, got {got!r}"
        return None

    def differences(self, recorded: RecordedRequest, live: RecordedRequest) -> list[str]:
        """How `live` differs from `recorded` in what is compared, one line per difference."""
        out: list[str] = []
        if "method" in self.parts and recorded.method.upper() != live.method.upper():
            out.append(f"method: recorded {recorded.method}, got {live.method}")
        rt, lt = _Target.of(recorded.url), _Target.of(live.url)
        for label, want, got in zip(_URL_PARTS, rt.where, lt.where, strict=False):
            if label in self.parts and want != got:
                out.append(f"{label}: recorded {want!r}, got {got!r}")
        if "query" in self.parts and not _query_matches(rt.query, lt.query):
            want_q, got_q = dict(rt.query), dict(lt.query)
            for key in sorted(set(want_q) | set(got_q)):
                if key not in got_q:
                    out.append(f"query {key}: recorded {want_q[key]!r}, missing now")
                elif key not in want_q:
                    out.append(f"query {key}: not recorded, got {got_q[key]!r}")
                elif want_q[key] != REDACTED and not _redacted_fits(
                    want_q[key], got_q[key], _QUERY_SEPARATORS
                ):
                    out.append(f"query {key}: recorded {want_q[key]!r}, got {got_q[key]!r}")
            if not out or not out[-1].startswith("query"):
                out.append("query: the same names, repeated a different number of times")
        out.extend(diff for rule in self.match_on if (diff := self._differs(rule, recorded, live)))
        return out

    def explain(self, request: RecordedRequest) -> str:
        """Why nothing answers `request`: the closest recording, and how it differs."""
        lines = [f"no recorded response for {request.method} {request.url}"]
        if not self.interactions:
            lines.append("the cassette has no interactions")
            return "\n".join(lines)
        scored = [
            (self.differences(i.request, request), n) for n, i in enumerate(self.interactions)
        ]
        diffs, index = min(scored, key=lambda pair: (len(pair[0]), pair[1]))
        closest = self.interactions[index].request
        lines.append(f"closest recorded request (#{index}): {closest.method} {closest.url}")
        if self.parts is not PARTS:
            lines.append(f"  (compared: {', '.join((*self.parts, *self.match_on))})")
        lines.extend(f"  {diff}" for diff in diffs)
        return "\n".join(lines)


def _preview(body: bytes, limit: int = 60) -> str:
    text = body.decode("utf-8", "replace")
    return repr(text if len(text) <= limit else text[:limit] + "...")
