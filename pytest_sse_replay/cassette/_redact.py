"""Secrets never reach a cassette, nor any output: what a secret is, and scrubbing.

A listed header, query parameter or request-body field, and the user-info of a URL, has its
value replaced by `REDACTED` (which matches any value on replay). The value itself is then a
known secret: wherever else it appears (another request's URL, a response header, inside an
event's data), in any form a server may echo it (raw, percent-encoded, JSON-escaped, base64),
it is replaced too. That is the only change ever made to recorded bytes; the chunk boundaries
and times are kept, so a secret straddling two chunks is removed and the cut moves to its end.

Every output of the project (the cassette, `sse-replay record`'s progress, `serve`'s log,
failure messages, the events a test sees while recording) goes through `Redaction`.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import (
    parse_qsl,
    quote,
    quote_plus,
    unquote,
    unquote_plus,
    urlencode,
    urlsplit,
    urlunsplit,
)

from .._text import loads_json
from ..sse import Event
from ._model import REDACTED, Cassette, Chunk, Interaction, RecordedRequest

__all__ = [
    "DEFAULT_BODY_KEYS",
    "DEFAULT_HEADERS",
    "DEFAULT_QUERY",
    "MAX_HUNTED_LENGTH",
    "MIN_SECRET_LENGTH",
    "MIXED_FORMS_MAX",
    "Redaction",
]

DEFAULT_HEADERS = frozenset(
    {"authorization", "x-api-key", "api-key", "cookie", "set-cookie", "proxy-authorization"}
)
DEFAULT_QUERY = frozenset({"api_key", "apikey", "token", "access_token", "key"})
DEFAULT_BODY_KEYS = frozenset(
    {
        "api_key",
        "apikey",
        "token",
        "access_token",
        "refresh_token",
        "password",
        "secret",
        "client_secret",
    }
)

# Values shorter than this are not hunted for elsewhere: replacing every "1" or "abc"
# in a recording would destroy it, and such values are not secrets worth the name.
MIN_SECRET_LENGTH = 6
# Values longer than this are redacted where they stand but not hunted elsewhere: building
# the patterns for every form of a secret costs about 65 microseconds a character (a 1 MB
# file uploaded under a field named "secret" took minutes to record); a credential is shorter.
MAX_HUNTED_LENGTH = 16 * 1024

# Any scheme: "ApiKey", "SSWS", "Key", "OAuth" send the bare token after it just as "Bearer".
_AUTH_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)\s+", re.IGNORECASE)
_FORM = "application/x-www-form-urlencoded"
_BOUNDARY = re.compile(r'(?:^|;)\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)
# The name of a part is in its Content-Disposition line (another header of the part may have
# a `name` parameter too); `\b` keeps `filename="..."` out; `name*=UTF-8''...` is RFC 5987.
_DISPOSITION = re.compile(rb"^content-disposition\s*:(.*)$", re.IGNORECASE | re.MULTILINE)
_PART_NAME = re.compile(rb'\bname(\*?)\s*=\s*(?:"([^"]*)"|([^;\s]+))', re.IGNORECASE)
# Parameters of an auth scheme written as `key=value, key="value"` (Digest, AWS SigV4) whose
# values identify or prove the credential, and may be echoed without the rest of the header.
# (A user name is not: a common one, "status" say, would be replaced all through the events.)
_SECRET_AUTH_PARAMETERS = frozenset({"response", "cnonce", "credential", "signature"})
_GENERIC_NAMES = frozenset({"key"})
# A text inside a text (JSON in a JSON string, in a form value, in a query value) is read
# this many levels deep for secret fields; past that a value is what it looks like.
_NESTING = 4
_USER_INFO = re.compile(r"^([^:/?#]*://)([^/?#]*)@")
# The lookbehind starts a scheme only where a run of scheme characters starts: tried from
# every position of a long run of letters, the pattern was quadratic.
_NESTED_USER_INFO = re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://([^/?#@\s]*)@")
# `;` separates parameters too: servers that split on it would read a secret there.
_SEPARATOR = re.compile("([&;])")


@dataclass(frozen=True)
class Redaction:
    """Which header, query-parameter and request-body field names hold secrets
    (case-insensitive); the user-info of a URL always does.

    `apply` redacts a cassette; `request_secrets`, `url` and `scrub` are what every other
    output (terminal, logs, failure messages) uses, so that none shows what a cassette
    would not.
    """

    headers: frozenset[str] = DEFAULT_HEADERS
    query: frozenset[str] = DEFAULT_QUERY
    body_keys: frozenset[str] = DEFAULT_BODY_KEYS

    @functools.cached_property
    def _body_names(self) -> frozenset[str]:
        # Body field names are compared without case, "_" or "-": a JSON API spells
        # client_secret "clientSecret" or "client-secret" as often as not.
        return frozenset(map(_body_key, self.body_keys))

    @functools.cached_property
    def _nested_names(self) -> frozenset[str]:
        # A document inside a value may be a query string as well as a body; but "key" there
        # is as often a field's name ({"key": "status"}) as a credential.
        return self._body_names | frozenset(map(_body_key, self.query - _GENERIC_NAMES))

    def extend(
        self, headers: Iterable[str] = (), query: Iterable[str] = (), body_keys: Iterable[str] = ()
    ) -> Redaction:
        return replace(
            self,
            headers=self.headers | _lowered(headers),
            query=self.query | _lowered(query),
            body_keys=self.body_keys | _lowered(body_keys),
        )

    def apply(self, cassette: Cassette, secrets: Iterable[str] = ()) -> set[str]:
        """Redact `cassette` in place; returns the secret values that were found.

        `secrets` are hunted too: values known from elsewhere (the request as sent, before
        a `sse_before_record` hook rewrote or dropped the header that held them)."""
        found: set[str] = set(secrets)
        for interaction in cassette.interactions:
            self._redact_fields(interaction, found)
        secrets = _hunted(found)
        if secrets:
            scrubber = _scrubber(frozenset(secrets))
            for interaction in cassette.interactions:
                scrubber.interaction(interaction)
        return secrets

    # -- for the outputs that are not a cassette -----------------------------------------------

    def request(self, request: RecordedRequest) -> tuple[RecordedRequest, frozenset[str]]:
        """A copy of `request` as a cassette would hold it, and the secrets worth hunting
        that it carries (`request` itself is left alone)."""
        secrets: set[str] = set()
        copy = RecordedRequest(request.method, request.url, list(request.headers), request.body)
        self._redact_request(copy, secrets)
        hunted = frozenset(_hunted(secrets))
        if hunted:
            _scrubber(hunted).request(copy)
        return copy, hunted

    def request_secrets(
        self, request: RecordedRequest, response_headers: Sequence[tuple[str, str]] = ()
    ) -> frozenset[str]:
        """The values worth hunting that `request` (and its response's headers) carry."""
        secrets: set[str] = set()
        self._redact_headers(list(response_headers), secrets)
        return self.request(request)[1] | _hunted(secrets)

    def url(self, url: str, secrets: Iterable[str] = ()) -> str:
        """`url` as a cassette would show it: user-info and listed query values redacted,
        and any of `secrets` elsewhere in it replaced. Works on a bare path (`/s?key=...`) too."""
        found: set[str] = set()
        shown = self._redact_url(url, found)
        return self.scrub(shown, _hunted(found) | set(secrets))

    def scrub(self, text: str, secrets: Iterable[str], *, clipped: bool = False) -> str:
        """`text` with every form of every secret (of hunting length) replaced by REDACTED.

        `clipped`: `text` may show long values cut in the middle (`'abc...xyz'`, as pytest
        shortens an assertion's operands): the end of a secret after "..." and its start
        before, 6 characters or more, are replaced too."""
        hunted = frozenset(_hunted(secrets))
        if not hunted:
            return text
        text = _scrubber(hunted).text(text)
        if clipped and "..." in text:
            text = _clipped_scrubbed(text, hunted)
        return text

    def find(self, data: bytes, secrets: Iterable[str]) -> list[tuple[int, int]]:
        """Where `scrub` would replace a form of one of `secrets` in `data`: (start, end)
        byte offsets, in order (what `sse-replay scan --secret` reports)."""
        hunted = frozenset(_hunted(secrets))
        return _scrubber(hunted).spans(data) if hunted else []

    def event(self, event: Event, secrets: Iterable[str]) -> Event:
        """`event` with its fields scrubbed of `secrets` (the same object if none is there)."""
        return self.event_scrubber(secrets)(event)

    def event_scrubber(self, secrets: Iterable[str]) -> Callable[[Event], Event]:
        """`event()` for many events and the same secrets: the patterns are built once."""
        hunted = frozenset(_hunted(secrets))
        if not hunted:
            return _same
        text = _scrubber(hunted).text

        def scrub(event: Event) -> Event:
            data, id_, type_ = text(event.data), text(event.id), text(event.type)
            if data is event.data and id_ is event.id and type_ is event.type:
                return event
            return Event(type_, data, id_, event.retry, event.t)

        return scrub

    # -- the listed fields ---------------------------------------------------------------------

    def _redact_fields(self, interaction: Interaction, secrets: set[str]) -> None:
        self._redact_request(interaction.request, secrets)
        response = interaction.response
        response.headers = self._redact_headers(response.headers, secrets)

    def _redact_request(self, request: RecordedRequest, secrets: set[str]) -> None:
        request.url = self._redact_url(request.url, secrets)
        request.headers = self._redact_headers(request.headers, secrets)
        if request.body:
            request.body = self._redact_body(request.body, request.header("content-type"), secrets)

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

    def _redact_url(self, url: str, secrets: set[str], *, again: bool = True) -> str:
        try:
            parts = urlsplit(url)
        except ValueError:
            # Not a URL urlsplit takes (an unbalanced "[", a bad IPv6 host, a host with a
            # character that normalizes to "/"): still shown, so still redacted.
            if not again:
                return self._redact_url_text(url, secrets)
            scheme, sep, rest = url.partition("//")
            end = min((rest.find(c) for c in "/?#" if c in rest), default=len(rest))
            netloc = rest[:end].replace("[", "\x00").replace("]", "\x01")
            swapped = self._redact_url(scheme + sep + netloc + rest[end:], secrets, again=False)
            return swapped.replace("\x00", "[").replace("\x01", "]")
        if "@" in parts.netloc:
            userinfo, _, hostport = parts.netloc.rpartition("@")
            user, colon, password = userinfo.partition(":")
            shown = []
            for value in (user, password) if colon else (user,):
                if value and value != REDACTED:
                    secrets.add(value)
                    secrets.add(unquote(value))
                shown.append(REDACTED if value else value)
            parts = parts._replace(netloc=":".join(shown) + "@" + hostport)
            url = urlunsplit(parts)
        if "=" in parts.fragment:
            # An OAuth implicit grant hands the token over in the fragment.
            fragment = self._redact_parameters(parts.fragment, secrets)
            if fragment != parts.fragment:
                parts = parts._replace(fragment=fragment)
                url = urlunsplit(parts)
        if not parts.query:
            return url
        semicolons = ";" in parts.query
        if semicolons:
            # Redacted as text, every other byte kept: parse_qsl splits on "&" only, and
            # writing its pairs back would percent-encode the ";" (and lose what follows it).
            query = self._redact_parameters(parts.query, secrets)
            if query != parts.query:
                parts = parts._replace(query=query)
                url = urlunsplit(parts)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        for _, value in pairs:
            # A URL inside a query value (a redirect target: `?next=https://user:pass@host/`)
            # carries credentials too: they become secrets, replaced wherever they stand.
            for match in _NESTED_USER_INFO.finditer(value) if "://" in value else ():
                secrets.update(part for part in match.group(1).split(":", 1) if part)
            # So does a JSON document or a query string in a value (`?state={"token": ...}`).
            _nested_secrets(value, self._nested_names, secrets)
        if semicolons or not any(self._secret_parameter(key) for key, _ in pairs):
            return url
        redacted = []
        for key, value in pairs:
            if self._secret_parameter(key) and value != REDACTED:
                secrets.add(value)
                value = REDACTED
            redacted.append((key, value))
        return urlunsplit(parts._replace(query=urlencode(redacted)))

    def _redact_url_text(self, url: str, secrets: set[str]) -> str:
        """The last resort for a URL nothing parses: the user-info and the listed query
        values, found as text."""

        def user_info(match: re.Match[str]) -> str:
            values = match.group(2).split(":", 1)
            secrets.update(v for v in values if v)
            return match.group(1) + ":".join(REDACTED if v else v for v in values) + "@"

        url = _USER_INFO.sub(user_info, url, count=1)
        head, mark, query = url.partition("?")
        return head + mark + self._redact_parameters(query, secrets) if mark else url

    def _redact_parameters(self, query: str, secrets: set[str]) -> str:
        """The listed query values of `query` redacted as text, `&` or `;` between them."""

        # Split, not a regex over the whole query: a long run of name characters without "="
        # made a pattern retry from every position (quadratic).
        fields = _SEPARATOR.split(query)
        for index in range(0, len(fields), 2):
            key, eq, value = fields[index].partition("=")
            if eq and self._secret_parameter(unquote_plus(key)) and value != REDACTED:
                secrets.update({value, unquote_plus(value)})
                fields[index] = f"{key}={REDACTED}"
        return "".join(fields)

    def _secret_parameter(self, name: str) -> bool:
        """A query parameter named in the query list, or like a secret body field
        (`?password=`, `?client_secret=`)."""
        return name.lower() in self.query or _body_key(name) in self._body_names

    def _redact_body(self, body: bytes, content_type: str | None, secrets: set[str]) -> bytes:
        kind = (content_type or "").split(";")[0].strip().lower()
        if kind == _FORM:
            return self._redact_form(body, secrets)
        if kind.startswith("multipart/"):
            return self._redact_multipart(body, content_type or "", secrets)
        if "json" in kind or body.lstrip()[:1] in (b"{", b"["):
            return self._redact_json(body, secrets)
        return body

    def _redact_form(self, body: bytes, secrets: set[str]) -> bytes:
        # Field by field, the others kept byte for byte: a strict parse would give up (and
        # leave the password in) on a flag without "=" ("&remember"), a trailing "&" or a
        # raw UTF-8 byte, all of which servers accept.
        fields = body.split(b"&")
        changed = False
        for index, field in enumerate(fields):
            key, eq, value = field.partition(b"=")
            name = unquote_plus(key.decode("utf-8", "replace"))
            if eq and _body_key(name) in self._body_names and value != _REDACTED:
                secrets.add(unquote_plus(value.decode("utf-8", "replace")))
                secrets.add(value.decode("utf-8", "replace"))
                fields[index] = key + b"=" + _REDACTED
                changed = True
            elif eq:
                decoded = unquote_plus(value.decode("utf-8", "replace"))
                _nested_secrets(decoded, self._nested_names, secrets)
        return b"&".join(fields) if changed else body

    def _redact_multipart(self, body: bytes, content_type: str, secrets: set[str]) -> bytes:
        """Each part named like a secret field gets REDACTED for its content; the others,
        and every delimiter and part header, are kept byte for byte."""
        match = _BOUNDARY.search(content_type)
        if not match:
            return body
        delimiter = b"--" + (match.group(1) or match.group(2)).encode("utf-8", "replace")
        pieces = body.split(delimiter)
        changed = False
        for index in range(1, len(pieces)):
            piece = pieces[index]
            head_end, gap = piece.find(b"\r\n\r\n"), 4
            if head_end < 0:
                head_end, gap = piece.find(b"\n\n"), 2
            if head_end < 0:
                continue
            content = piece[head_end + gap :]
            # The line end before the next delimiter belongs to the delimiter, not the value.
            trail = b"\r\n" if content.endswith(b"\r\n") else content[len(content.rstrip(b"\n")) :]
            value = content[: len(content) - len(trail)]
            text = value.decode("utf-8", "replace")
            if _body_key(_part_name(piece[:head_end])) in self._body_names and value != _REDACTED:
                # As the bytes may be read back: UTF-8 or Latin-1, a server's other guess.
                secrets.update({text, value.decode("latin-1")})
                pieces[index] = piece[: head_end + gap] + _REDACTED + trail
                changed = True
            else:
                _nested_secrets(text, self._nested_names, secrets)
        return delimiter.join(pieces) if changed else body

    def _redact_json(self, body: bytes, secrets: set[str]) -> bytes:
        found: set[str] = set()
        try:
            document = json.loads(body)
            redacted = _redact_json_value(document, self._body_names, found)
        except ValueError:
            # Not one JSON document as Python reads it: JSON lines, a number longer than
            # Python's digit limit, text after the end, a cut-off body. Found as text.
            return self._redact_json_text(body, secrets)
        except RecursionError:
            # Nested too deep to read or walk field by field: no field of it can be shown
            # to be free of a secret, so none of it is kept.
            return REDACTED.encode()
        # Before the comparison: a secret in a document inside a string changes nothing
        # here, and is replaced where it stands by the hunt.
        secrets.update(found)
        if redacted == document:
            return body
        # A name given twice keeps only its last value in `document`: the text has them all.
        self._redact_json_text(body, secrets)
        # Written again the way it was (compact or spaced), so the body stays recognisable.
        spaced = b'": ' in body or b", " in body
        separators = (", ", ": ") if spaced else (",", ":")
        return json.dumps(redacted, ensure_ascii=False, separators=separators).encode()

    def _redact_json_text(self, body: bytes, secrets: set[str]) -> bytes:
        """Each `"name": value` whose name is a secret field gets "REDACTED" for a string,
        number or boolean value; every other byte is kept."""

        def member(match: re.Match[bytes]) -> bytes:
            name = _json_text(match.group(1))
            value = match.group(2)
            if name is None or _body_key(name) not in self._body_names or value == _QUOTED:
                return match.group()
            text = _json_text(value[1:-1]) if value.startswith(b'"') else None
            secrets.add(value.decode("utf-8", "replace") if text is None else text)
            return match.group()[: match.start(2) - match.start()] + _QUOTED

        return _JSON_MEMBER.sub(member, body)


def _json_text(escaped: bytes) -> str | None:
    """The text of a JSON string literal's inside, or None when it is not one."""
    try:
        text = json.loads(b'"' + escaped + b'"')
    except ValueError:
        return None
    return text if isinstance(text, str) else None


# A member of a JSON object, found as text: its name, and a string, number or boolean value.
_JSON_MEMBER = re.compile(
    rb'"((?:[^"\\]|\\.)*)"\s*:\s*("(?:[^"\\]|\\.)*"|-?[0-9][-+.0-9eE]*|true|false)'
)


def _clipped_scrubbed(text: str, secrets: frozenset[str]) -> str:
    """`text` with the end of a secret right after each "..." and its start right before
    replaced (each "..." looked at once: a long captured output may hold many)."""
    forms = sorted({v for s in secrets for v in _variants(s)}, key=len, reverse=True)
    out: list[str] = []
    at = 0
    for mark in re.finditer(r"\.\.\.", text):
        start, end = mark.span()
        if start < at:
            continue  # inside what the previous mark replaced
        head = _longest(text, start, forms, before=True)
        tail = _longest(text, end, forms, before=False)
        out += [text[at : start - head], REDACTED if head else "", "..."]
        out.append(REDACTED if tail else "")
        at = end + tail
    out.append(text[at:])
    return "".join(out)


def _longest(text: str, at: int, forms: list[str], *, before: bool) -> int:
    """The length of the longest start of a form ending at `at` (`before`), or end of a form
    starting there: 6 characters or more, shorter than the form (else it was scrubbed)."""
    best = 0
    for form in forms:
        for size in range(len(form) - 1, max(MIN_SECRET_LENGTH, best + 1) - 1, -1):
            if (
                text.startswith(form[:size], at - size)
                if before
                else text.startswith(form[-size:], at)
            ):
                best = size
                break
    return best


def _same(event: Event) -> Event:
    return event


def _body_key(name: str) -> str:
    """A body field's name as compared: `clientSecret`, `client-secret` -> "clientsecret";
    `user[password]` (Rails, PHP) -> "password"."""
    if name.endswith("]") and "[" in name:
        name = name[name.rindex("[") + 1 : -1] or name[: name.index("[")]
    return name.lower().replace("_", "").replace("-", "")


def _lowered(names: Iterable[str]) -> frozenset[str]:
    return frozenset(n.strip().lower() for n in names if n.strip())


def _hunted(secrets: Iterable[str]) -> set[str]:
    return {s for s in secrets if MIN_SECRET_LENGTH <= len(s) <= MAX_HUNTED_LENGTH} - {REDACTED}


def _part_name(head: bytes) -> str:
    """The field name of a multipart part, from the Content-Disposition line of its head."""
    line = _DISPOSITION.search(head)
    named = _PART_NAME.search(line.group(1)) if line else None
    if named is None:
        return ""
    name = (named.group(2) or named.group(3) or b"").decode("utf-8", "replace")
    if named.group(1):  # name*=UTF-8''api%5Fkey
        name = unquote(name.partition("''")[2] or name)
    return name


def _redact_json_value(
    value: object, keys: frozenset[str], found: set[str], depth: int = 0
) -> object:
    """`value` with every field named in `keys` (any depth) holding REDACTED instead.

    A string that holds a document of its own is read for secrets too (`found`); it is
    left as it is here, and the hunt replaces them inside it."""
    if isinstance(value, dict):
        out: dict[object, object] = {}
        for key, item in value.items():
            if isinstance(key, str) and _body_key(key) in keys and item != REDACTED:
                _leaves(item, found)
                out[key] = REDACTED if item is not None else None
            else:
                out[key] = _redact_json_value(item, keys, found, depth)
        return out
    if isinstance(value, list):
        return [_redact_json_value(item, keys, found, depth) for item in value]
    if isinstance(value, str):
        _nested_secrets(value, keys, found, depth + 1)
    return value


def _nested_secrets(text: str, keys: frozenset[str], found: set[str], depth: int = 1) -> None:
    """Adds to `found` the values of fields named in `keys` in a document held in `text`:
    JSON (`{"payload": "{\\"api_key\\": ...}"}`) or a form or query string (`a=1&token=...`)."""
    if depth > _NESTING or len(text) < MIN_SECRET_LENGTH:
        return
    start = text.lstrip()[:1]
    if start in ("{", "["):
        try:
            _redact_json_value(loads_json(text), keys, found, depth)
        except ValueError:
            pass  # not JSON after all: no field of it is a secret
        except RecursionError:
            # Too deep to walk from here: none of it can be shown free of a secret, so all
            # of it is one (replaced wherever it stands).
            found.add(text)
        return
    if "=" not in text:
        return
    for field in re.split("[&;#]", text):
        key, eq, value = field.partition("=")
        if not eq:
            continue
        # A URL's query (a redirect target: `next=/callback?access_token=...`): its first
        # name starts after the "?".
        key = key.rpartition("?")[2]
        if _body_key(unquote_plus(key).strip()) in keys:
            found.update({value, unquote_plus(value)})
        else:
            _nested_secrets(unquote_plus(value), keys, found, depth + 1)


def _leaves(value: object, found: set[str]) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _leaves(item, found)
    elif isinstance(value, list):
        for item in value:
            _leaves(item, found)
    elif value is not None and not isinstance(value, bool):
        found.add(str(value))


def _secret_parts(name: str, value: str) -> list[str]:
    """The whole value and the pieces of it that may travel alone."""
    parts = [value]
    scheme = _AUTH_SCHEME.match(value)
    if scheme:  # "Bearer abc": the token travels without its scheme (e.g. in a URL)
        parts.append(value[scheme.end() :])
        if scheme.group(1).lower() == "basic":  # "user:password", base64-encoded
            parts.extend(_basic_credentials(value[scheme.end() :]))
        for piece in value[scheme.end() :].split(","):
            name, eq, given = piece.partition("=")
            if eq and name.strip().lower() in _SECRET_AUTH_PARAMETERS:
                given = given.strip().strip('"')
                # An AWS credential is "access key id/date/region/service/aws4_request".
                parts += [given, given.split("/")[0]]
    if name in ("cookie", "set-cookie"):
        pairs = value.split(";") if name == "cookie" else value.split(";")[:1]
        for pair in pairs:
            _, eq, cookie = pair.strip().partition("=")
            if eq:
                parts += [cookie, cookie.strip().strip('"')]  # a cookie value may be quoted
    return [p.strip() for p in parts if p.strip()]


def _basic_credentials(token: str) -> list[str]:
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode()
    except ValueError:
        return []
    _, colon, password = decoded.partition(":")
    return [decoded, password] if colon else [decoded]


# -- the forms a secret is hunted in -----------------------------------------------------------

_B64_STD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_URL = _B64_STD[:62] + b"-_"


_JSON_SHORT = {"\b": b"b", "\f": b"f", "\n": b"n", "\r": b"r", "\t": b"t"}


def _hex(value: int, width: int) -> bytes:
    """A regex for `value` in hex, either case: 0x2f -> 2[fF]."""
    out = b""
    for digit in f"{value:0{width}x}":
        out += f"[{digit}{digit.upper()}]".encode() if digit.isalpha() else digit.encode()
    return out


def _char_forms(char: str) -> list[bytes]:
    """Every way one character of a secret may be written, as regexes: JSON-escaped
    (`\\uXXXX` in either case, `\\/`, `\\"`, `\\\\`, `\\n`...), percent-encoded (either hex
    case, `+` for space) and raw. The raw character comes last: the first alternative that
    fits is taken, and a raw "\\" would stop a match at the start of the "\\u005c" after it."""
    raw = char.encode("utf-8", "surrogatepass")
    forms = []
    code = ord(char)
    if code > 0xFFFF:  # JSON writes it as a surrogate pair
        code -= 0x10000
        high, low = 0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)
        forms.append(rb"\\u" + _hex(high, 4) + rb"\\u" + _hex(low, 4))
    else:
        forms.append(rb"\\u" + _hex(code, 4))
    if char in '/"\\':
        forms.append(re.escape(b"\\" + raw))
    elif char in _JSON_SHORT:
        forms.append(re.escape(b"\\" + _JSON_SHORT[char]))
    if char == " ":
        forms.append(rb"\+")
    forms.append(b"".join(b"%" + _hex(byte, 2) for byte in raw))
    forms.append(re.escape(raw))
    return forms


def _escaped_branches(secret: str) -> list[bytes]:
    """The secret with each character in any of its forms, as one branch per form of the
    first character: every branch then starts with a literal byte, which lets the regex
    engine skip, in C, the positions where no form of a secret can start."""
    rest = b"".join(b"(?:" + b"|".join(_char_forms(char)) + b")" for char in secret[1:])
    return [first + rest for first in _char_forms(secret[0])]


# Past this length a secret (a session cookie, a JWT) is hunted in each form whole, not in
# every mix of forms character by character: that regex grows with the length times the forms
# and took seconds to compile for a cookie of a few kilobytes, on every request recorded.
MIXED_FORMS_MAX = 256


def _branches(secret: str) -> list[bytes]:
    """The regex branches for one form of a secret (see MIXED_FORMS_MAX)."""
    if len(secret) <= MIXED_FORMS_MAX:
        return _escaped_branches(secret)
    raw = secret.encode("utf-8", "surrogatepass")
    units = secret.encode("utf-16-be", "surrogatepass")
    escaped = "".join(f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2))
    percent = "".join(f"%{byte:02X}" for byte in raw)
    lower_hex = re.sub(rb"%[0-9A-F]{2}", lambda m: m.group().lower(), raw)
    forms = {raw, lower_hex, percent.encode(), percent.lower().encode()}
    forms |= {escaped.encode(), re.sub("[a-f]", lambda m: m.group().upper(), escaped).encode()}
    return [re.escape(form) for form in sorted(forms, key=len, reverse=True)]


def _bits_set(alphabet: bytes, known: dict[int, int]) -> bytes:
    """The base64 digits whose bits agree with `known` (bit index -> value)."""
    return bytes(
        alphabet[v]
        for v in range(64)
        if all((v >> (5 - bit)) & 1 == value for bit, value in known.items())
    )


_TO_URL_SAFE = bytes.maketrans(b"+/", b"-_")


def _known_bits(data: bytes, first: int, last: int, digit: int) -> dict[int, int]:
    """The bits of base64 digit `digit` that the secret's bits (stream positions `first` to
    `last`) fix: bit index within the digit -> value."""
    known = {}
    for bit in range(6):
        position = 6 * digit + bit
        if first <= position < last:
            offset = position - first
            known[bit] = (data[offset // 8] >> (7 - offset % 8)) & 1
    return known


def _base64_patterns(secret: str) -> list[tuple[bytes, bytes]]:
    """The secret's bytes base64-encoded at each of the three alignments, in both alphabets:
    (the digits fully determined by the secret, the digits the one before them may be).

    At alignment k the secret starts k bytes into a 3-byte group, so the digits that encode
    only its bits are fully determined; the digit at each end may share bits with the
    neighbouring bytes: it is replaced too when it has the bits it must have (the leading
    one is checked by `_Scrubber`, the trailing one and any `=` padding by the regex).
    """
    data = secret.encode("utf-8", "surrogatepass")
    patterns = []
    for k in range(3):
        first, last = 8 * k, 8 * (k + len(data))  # the secret's bits in the encoded stream
        full_start, full_end = -(-first // 6), last // 6  # the digits of its bits alone
        # Encoded by the C codec and cut, not digit by digit: a secret may be a megabyte.
        standard = base64.b64encode(b"\0" * k + data + b"\0\0")[full_start:full_end]
        for alphabet in (_B64_STD, _B64_URL):
            core = standard if alphabet is _B64_STD else standard.translate(_TO_URL_SAFE)
            head = tail = b""
            if first % 6:  # the digit before shares bits with the byte before the secret
                head = _bits_set(alphabet, _known_bits(data, first, last, full_start - 1))
            if last % 6:  # and the one after, with the byte after it
                known = _known_bits(data, first, last, full_end)
                tail = b"[" + re.escape(_bits_set(alphabet, known)) + b"]?={0,2}"
            if len(core) >= MIN_SECRET_LENGTH:
                patterns.append((re.escape(core) + tail, head))
    return patterns


_PADDED_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{12,}={1,2}")


def _variants(secret: str) -> set[str]:
    """The secret, and the encodings of it that a server may encode once more: a URL holds
    it percent-encoded, a JSON body JSON-escaped, and the echo of that URL or body may be
    percent-encoded again or base64-encoded."""
    escaped = json.dumps(secret)[1:-1]
    # A base64 token is often echoed without its "=" padding (base64url in a JWT or a URL).
    unpadded = secret.rstrip("=") if _PADDED_BASE64.fullmatch(secret) else secret
    return {
        secret,
        unpadded,
        # A lone surrogate (a JSON "\ud800", a byte no encoding reads) is encoded as the
        # scrubber encodes it, rather than raising.
        quote(secret, safe="", errors="surrogatepass"),
        quote_plus(secret, safe="", errors="surrogatepass"),
        escaped,
        escaped.replace("/", "\\/"),
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }


@functools.lru_cache(maxsize=64)
def _scrubber(secrets: frozenset[str]) -> _Scrubber:
    # The same few secrets are scrubbed from every event of a stream: compiled once.
    return _Scrubber(secrets)


class _Scrubber:
    """Replaces known secret values, in every form, wherever they appear."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        ordered = sorted({v for s in secrets for v in _variants(s)}, key=len, reverse=True)
        branches = [branch for secret in ordered for branch in _branches(secret)]
        base64_patterns = [p for secret in ordered for p in _base64_patterns(secret)]
        branches += [pattern for pattern, _ in base64_patterns]
        self._bytes = re.compile(b"|".join(dict.fromkeys(branches)))
        # A base64 match's leading digit, shared with the byte before the secret, is found
        # here rather than by the regex, whose every branch must start with a literal byte.
        self._heads = [(re.compile(p), head) for p, head in base64_patterns if head]

    def spans(self, data: bytes) -> list[tuple[int, int]]:
        """Where secrets are in `data`, in order, not overlapping."""
        spans: list[tuple[int, int]] = []
        for match in self._bytes.finditer(data):
            start, end = match.span()
            if start and data[start - 1] != 61 and (not spans or spans[-1][1] < start):
                before = data[start - 1]  # 61: "=" is never a base64 digit
                if any(before in head and p.match(data, start) for p, head in self._heads):
                    start -= 1
            spans.append((start, end))
        return spans

    def sub(self, data: bytes) -> bytes:
        spans = self.spans(data)
        if not spans:
            return data
        return _replaced(data, spans)

    def text(self, value: str) -> str:
        data = value.encode("utf-8", "surrogateescape")
        scrubbed = self.sub(data)
        return value if scrubbed is data else scrubbed.decode("utf-8", "surrogateescape")

    def request(self, request: RecordedRequest) -> None:
        request.url = self.text(request.url)
        request.headers = [(k, self.text(v)) for k, v in request.headers]
        request.body = self.sub(request.body)

    def interaction(self, interaction: Interaction) -> None:
        self.request(interaction.request)
        response = interaction.response
        response.headers = [(k, self.text(v)) for k, v in response.headers]
        response.chunks = self.chunks(response.chunks)
        if response.end.kind == "error":
            response.end = replace(response.end, message=self.text(response.end.message))

    def chunks(self, chunks: list[Chunk]) -> list[Chunk]:
        """The body with secrets replaced, cut at the same places (moved past a secret)."""
        body = b"".join(chunk.data for chunk in chunks)
        matches = self.spans(body)
        if not matches:
            return chunks
        new_body = _replaced(body, matches)
        out: list[Chunk] = []
        old_end = new_start = 0
        cursor = _Cursor(matches, len(REDACTED))
        for chunk in chunks:
            old_end += len(chunk.data)
            new_end = cursor.moved(old_end)
            if new_end > new_start:
                out.append(Chunk(chunk.t, new_body[new_start:new_end]))
                new_start = new_end
        return out


def _replaced(data: bytes, spans: list[tuple[int, int]]) -> bytes:
    out, at = [], 0
    for start, end in spans:
        out += [data[at:start], _REDACTED]
        at = end
    out.append(data[at:])
    return b"".join(out)


_REDACTED = REDACTED.encode()
_QUOTED = b'"' + _REDACTED + b'"'


class _Cursor:
    """Where offsets of the old body land in the new one, asked in increasing order."""

    def __init__(self, matches: list[tuple[int, int]], replacement: int) -> None:
        self._matches = matches
        self._replacement = replacement
        self._next = 0  # the first match not wholly before the last offset asked
        self._shift = 0

    def moved(self, offset: int) -> int:
        """Where `offset` lands (a cut inside a secret: just after its REDACTED)."""
        while self._next < len(self._matches) and self._matches[self._next][1] <= offset:
            start, end = self._matches[self._next]
            self._shift += self._replacement - (end - start)
            self._next += 1
        if self._next < len(self._matches):
            start, _ = self._matches[self._next]
            if start < offset:
                return start + self._shift + self._replacement
        return offset + self._shift
