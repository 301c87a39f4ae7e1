"""Which recorded interaction answers a request, and, when none does, how the closest differs."""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from ._cassette import Interaction, RecordedRequest

__all__ = ["REDACTED", "Matcher", "NoRecording", "parse_match_on"]

# What redaction writes in place of a secret. On replay it matches any value, so a test
# that sends a real key (or a dummy one in CI) is answered by the recording all the same.
REDACTED = "REDACTED"

_DEFAULT_PORTS = {"http": 80, "https": 443}

_MATCH_ON_CHOICES = ("body", "json", "headers:NAME")


class NoRecording(LookupError):
    """A request that the cassette has no recording for."""


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
    """Validate `match_on` entries: "body", "json" or "headers:NAME" (method and URL always)."""
    if match_on is None:
        return ()
    if isinstance(match_on, str):
        match_on = (match_on,)
    checked = []
    for item in match_on:
        if not isinstance(item, str) or not (
            item in ("body", "json", "method", "url")
            or (item.startswith("headers:") and len(item) > len("headers:"))
        ):
            raise ValueError(
                f"match_on: unknown entry {item!r}; use any of {', '.join(_MATCH_ON_CHOICES)} "
                "(method and URL are always matched)"
            )
        if item not in ("method", "url"):
            checked.append(item.lower() if item.startswith("headers:") else item)
    return tuple(checked)


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
    # Exact values first, so a redacted one never takes the value an exact one needs.
    for key, value in sorted(recorded, key=lambda pair: pair[1] == REDACTED):
        values = remaining.get(key)
        if not values:
            return False
        if value == REDACTED:
            values.pop()
        elif value in values:
            values.remove(value)
        else:
            return False
    return True


def _json_or_none(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:
        return _NOT_JSON


_NOT_JSON = object()


def _json_matches(recorded: object, live: object) -> bool:
    """Equal as JSON, where a recorded "REDACTED" (a redacted body field) matches any value."""
    if recorded == REDACTED:
        return True
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

    Method and URL always count (query parameters in any order; a redacted recorded value
    matches any value); `match_on` adds "body", "json" (equal as JSON) or "headers:NAME".
    Identical requests are answered in recorded order; once each recording of a request
    has been played, further ones replay the last (a client's retry or reconnect after
    the recording ran out still gets an answer).
    """

    def __init__(self, interactions: Sequence[Interaction], match_on: Sequence[str] | None = None):
        self.interactions = interactions
        self.match_on = parse_match_on(match_on)
        self._targets = [_Target.of(i.request.url) for i in interactions]
        self._by_where: dict[tuple[str, tuple[str, str, int | None, str]], list[int]] = defaultdict(
            list
        )
        for index, (interaction, target) in enumerate(
            zip(interactions, self._targets, strict=True)
        ):
            self._by_where[(interaction.request.method.upper(), target.where)].append(index)
        self._served: dict[tuple[int, ...], int] = {}

    def find(self, request: RecordedRequest) -> int:
        """The index of the interaction that answers `request`, or raise NoRecording."""
        target = _Target.of(request.url)
        candidates = self._by_where.get((request.method.upper(), target.where), ())
        matching = tuple(
            index
            for index in candidates
            if _query_matches(self._targets[index].query, target.query)
            and self._extras_match(self.interactions[index].request, request)
        )
        if not matching:
            raise NoRecording(self.explain(request))
        served = self._served.get(matching, 0)
        self._served[matching] = served + 1
        return matching[min(served, len(matching) - 1)]

    def _extras_match(self, recorded: RecordedRequest, live: RecordedRequest) -> bool:
        return not any(self._differs(rule, recorded, live) for rule in self.match_on)

    @staticmethod
    def _differs(rule: str, recorded: RecordedRequest, live: RecordedRequest) -> str | None:
        if rule == "body":
            if not _body_matches(recorded.body, live.body, as_json=False):
                return f"body: recorded {_preview(recorded.body)}, got {_preview(live.body)}"
        elif rule == "json":
            if not _body_matches(recorded.body, live.body, as_json=True):
                return f"json body: recorded {_preview(recorded.body)}, got {_preview(live.body)}"
        else:
            name = rule.partition(":")[2]
            want, got = recorded.header(name), live.header(name)
            if want != got and not (want == REDACTED and got is not None):
                return f"header {name}: recorded {want!r}, got {got!r}"
        return None

    def differences(self, recorded: RecordedRequest, live: RecordedRequest) -> list[str]:
        """How `live` differs from `recorded`, one readable line per difference."""
        out: list[str] = []
        if recorded.method.upper() != live.method.upper():
            out.append(f"method: recorded {recorded.method}, got {live.method}")
        rt, lt = _Target.of(recorded.url), _Target.of(live.url)
        for label, want, got in zip(
            ("scheme", "host", "port", "path"), rt.where, lt.where, strict=True
        ):
            if want != got:
                out.append(f"{label}: recorded {want!r}, got {got!r}")
        if not _query_matches(rt.query, lt.query):
            want_q, got_q = dict(rt.query), dict(lt.query)
            for key in sorted(set(want_q) | set(got_q)):
                if key not in got_q:
                    out.append(f"query {key}: recorded {want_q[key]!r}, missing now")
                elif key not in want_q:
                    out.append(f"query {key}: not recorded, got {got_q[key]!r}")
                elif want_q[key] != got_q[key] and want_q[key] != REDACTED:
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
        lines.extend(f"  {diff}" for diff in diffs)
        return "\n".join(lines)


def _preview(body: bytes, limit: int = 60) -> str:
    text = body.decode("utf-8", "replace")
    return repr(text if len(text) <= limit else text[:limit] + "...")
