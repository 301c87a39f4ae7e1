"""Secrets never reach a cassette: redaction of headers and query parameters, and scrubbing.

A listed header or query parameter has its value replaced by `REDACTED` (which matches any
value on replay). The value itself is then a known secret: wherever else it appears in the
cassette (another request's URL, a response header, inside an event's data) it is replaced
too. That is the only change ever made to recorded bytes; the chunk boundaries and times
are kept, so a secret straddling two chunks is removed and the cut moves to its end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

from ._cassette import Cassette, Chunk, Interaction, RecordedResponse
from ._matching import REDACTED

__all__ = ["DEFAULT_HEADERS", "DEFAULT_QUERY", "MIN_SECRET_LENGTH", "Redaction"]

DEFAULT_HEADERS = frozenset(
    {"authorization", "x-api-key", "api-key", "cookie", "set-cookie", "proxy-authorization"}
)
DEFAULT_QUERY = frozenset({"api_key", "apikey", "token", "access_token", "key"})

# Values shorter than this are not hunted for elsewhere: replacing every "1" or "abc"
# in a recording would destroy it, and such values are not secrets worth the name.
MIN_SECRET_LENGTH = 6

_AUTH_SCHEME = re.compile(r"^(Bearer|Basic|Token|Digest)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Redaction:
    """Which header and query-parameter names hold secrets (case-insensitive)."""

    headers: frozenset[str] = DEFAULT_HEADERS
    query: frozenset[str] = DEFAULT_QUERY

    def extend(self, headers: Iterable[str] = (), query: Iterable[str] = ()) -> Redaction:
        return replace(
            self,
            headers=self.headers | {h.strip().lower() for h in headers if h.strip()},
            query=self.query | {q.strip().lower() for q in query if q.strip()},
        )

    def apply(self, cassette: Cassette) -> set[str]:
        """Redact `cassette` in place; returns the secret values that were found."""
        secrets: set[str] = set()
        for interaction in cassette.interactions:
            self._redact_fields(interaction, secrets)
        secrets = {s for s in secrets if len(s) >= MIN_SECRET_LENGTH and s != REDACTED}
        if secrets:
            scrubber = _Scrubber(secrets)
            for interaction in cassette.interactions:
                scrubber.interaction(interaction)
        return secrets

    # -- the listed fields ---------------------------------------------------------------------

    def _redact_fields(self, interaction: Interaction, secrets: set[str]) -> None:
        request = interaction.request
        request.url = self._redact_url(request.url, secrets)
        request.headers = self._redact_headers(request.headers, secrets)
        response = interaction.response
        response.headers = self._redact_headers(response.headers, secrets)

    def _redact_headers(
        self, headers: list[tuple[str, str]], secrets: set[str]
    ) -> list[tuple[str, str]]:
        out = []
        for name, value in headers:
            if name.lower() in self.headers and value != REDACTED:
                secrets.update(_secret_parts(name.lower(), value))
                value = REDACTED
            out.append((name, value))
        return out

    def _redact_url(self, url: str, secrets: set[str]) -> str:
        parts = urlsplit(url)
        if not parts.query:
            return url
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        if not any(key.lower() in self.query for key, _ in pairs):
            return url
        redacted = []
        for key, value in pairs:
            if key.lower() in self.query and value != REDACTED:
                secrets.add(value)
                value = REDACTED
            redacted.append((key, value))
        return urlunsplit(parts._replace(query=urlencode(redacted)))


def _secret_parts(name: str, value: str) -> list[str]:
    """The whole value and the pieces of it that may travel alone."""
    parts = [value]
    scheme = _AUTH_SCHEME.match(value)
    if scheme:  # "Bearer abc": the token travels without its scheme (e.g. in a URL)
        parts.append(value[scheme.end() :])
    if name in ("cookie", "set-cookie"):
        pairs = value.split(";") if name == "cookie" else value.split(";")[:1]
        for pair in pairs:
            _, eq, cookie = pair.strip().partition("=")
            if eq:
                parts.append(cookie)
    return [p.strip() for p in parts if p.strip()]


class _Scrubber:
    """Replaces known secret values wherever they appear, in text and in bodies."""

    def __init__(self, secrets: set[str]) -> None:
        forms: set[str] = set()
        for secret in secrets:
            forms.update({secret, quote(secret, safe=""), quote_plus(secret, safe="")})
        # Longest first, so a secret that contains another is replaced whole.
        ordered = sorted(forms, key=len, reverse=True)
        self._text = re.compile("|".join(re.escape(f) for f in ordered))
        self._bytes = re.compile(b"|".join(re.escape(f.encode()) for f in ordered))

    def text(self, value: str) -> str:
        return self._text.sub(REDACTED, value)

    def interaction(self, interaction: Interaction) -> None:
        request = interaction.request
        request.url = self.text(request.url)
        request.headers = [(k, self.text(v)) for k, v in request.headers]
        request.body = self._bytes.sub(REDACTED.encode(), request.body)
        response = interaction.response
        response.headers = [(k, self.text(v)) for k, v in response.headers]
        response.chunks = self.chunks(response)
        if response.end.kind == "error":
            response.end = replace(response.end, message=self.text(response.end.message))

    def chunks(self, response: RecordedResponse) -> list[Chunk]:
        """The body with secrets replaced, cut at the same places (moved past a secret)."""
        body = response.body
        matches = list(self._bytes.finditer(body))
        if not matches:
            return response.chunks
        new_body = self._bytes.sub(REDACTED.encode(), body)
        out: list[Chunk] = []
        old_end = new_start = 0
        for chunk in response.chunks:
            old_end += len(chunk.data)
            new_end = _moved(old_end, matches, len(REDACTED))
            if new_end > new_start:
                out.append(Chunk(chunk.t, new_body[new_start:new_end]))
                new_start = new_end
        return out


def _moved(offset: int, matches: list[re.Match[bytes]], replacement: int) -> int:
    """Where `offset` in the old body lands in the new one (a cut inside a secret: its end)."""
    shift = 0
    for match in matches:
        start, end = match.span()
        if end <= offset:
            shift += replacement - (end - start)
        elif start < offset:
            return start + shift + replacement
        else:
            break
    return offset + shift
