"""`sse-replay scan`: find credentials left in cassettes, before they are committed.

A cassette is scanned as text, line by line, so that every finding has a line number and a
file that is not a valid cassette is still scanned (a secret in a broken file is still a
secret). Three things are looked for:

- known token shapes, anywhere (OpenAI, Anthropic, GitHub, GitLab, AWS, Slack, Google,
  Stripe, Hugging Face, npm, SendGrid keys, Slack webhooks, JWTs, private key blocks,
  `Bearer` and `Basic` credentials that are not `REDACTED`);
- long random-looking strings, only in auth-like places: the value of a header, query
  parameter or JSON key whose name holds auth, token, key, secret, password, session, cookie
  or credential. Looking only there is what keeps ids, etags and base64 bodies quiet;
- the values given with `--secret` / `--secret-env`, also percent-encoded, JSON-escaped and
  base64-encoded (at any alignment inside a longer base64 text), and in every other form
  redaction replaces (lower-case hex, `\\/`, `\\uXXXX` for some characters only).

A finding is never printed whole: only a masked preview such as `sk-p…9f2a`.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

from .._text import loads_json
from ..cassette import REDACTED, Redaction

__all__ = [
    "ENTROPY_MIN_LENGTH",
    "Finding",
    "ScanReport",
    "mask",
    "scan_paths",
    "scan_text",
    "secret_forms",
]

# A random string of 20 characters from a 60-odd letter alphabet holds ~4 bits per character
# (Shannon entropy of its own letters); English words, paths, dates and version strings stay
# under 3.5. Hex (16 letters) tops out at 4, so hex needs a longer run: 32 hex digits is a
# 128-bit token, shorter hex runs in auth-like places are mostly ids.
ENTROPY_MIN_LENGTH = 20
ENTROPY_MIN_BITS = 3.5
HEX_MIN_LENGTH = 32
HEX_MIN_BITS = 3.0

_REDACTION = Redaction()

# Names that make a header, query parameter or JSON key an auth-like place.
_AUTH_NAME = re.compile(r"auth|token|key|secret|passw|session|cookie|credential", re.IGNORECASE)
# What a redacted or placeholder value looks like: never a finding.
_PLACEHOLDER = re.compile(
    rf"{REDACTED}|^\*+$|^<[^>]*>$|^\$\{{?[A-Za-z_][A-Za-z0-9_]*\}}?$|^x{{6,}}$", re.IGNORECASE
)

# Before and after a token: not a letter, digit, `_` or `-` (so that a shape inside a longer
# run of base64, a hash or a word is not taken for a token).
_B = r"(?<![A-Za-z0-9_-])"
_E = r"(?![A-Za-z0-9_-])"

# (kind, pattern): the known token shapes, most specific first (an Anthropic key is also an
# `sk-` string). The shapes are the vendors' documented prefixes and lengths.
_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("private key block", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    ("Anthropic API key", re.compile(rf"{_B}sk-ant-[A-Za-z0-9_-]{{20,}}{_E}")),
    ("OpenAI API key", re.compile(rf"{_B}sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{{20,}}{_E}")),
    ("Stripe live key", re.compile(rf"{_B}(?:sk|rk)_live_[A-Za-z0-9]{{20,}}{_E}")),
    # A test key still opens the account's test data and its webhooks.
    ("Stripe test key", re.compile(rf"{_B}(?:sk|rk)_test_[A-Za-z0-9]{{20,}}{_E}")),
    ("GitLab token", re.compile(rf"{_B}gl(?:pat|dt|ptt|rt|oas)-[A-Za-z0-9_-]{{20,}}{_E}")),
    ("Hugging Face token", re.compile(rf"{_B}hf_[A-Za-z]{{30,}}{_E}")),
    ("npm token", re.compile(rf"{_B}npm_[A-Za-z0-9]{{36}}{_E}")),
    ("SendGrid API key", re.compile(rf"{_B}SG\.[A-Za-z0-9_-]{{22}}\.[A-Za-z0-9_-]{{43}}{_E}")),
    (
        "Slack webhook",
        re.compile(r"hooks\.slack\.com/(?:services|workflows)/T[A-Za-z0-9_/]{20,}"),
    ),
    ("GitHub token", re.compile(rf"{_B}(?:gh[pousr]_[A-Za-z0-9]{{30,}}|github_pat_\w{{22,}}){_E}")),
    (
        "AWS access key id",
        re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])"),
    ),
    ("Slack token", re.compile(rf"{_B}xox[abposr]-(?:[0-9]+-)+[A-Za-z0-9]+{_E}")),
    ("Google API key", re.compile(rf"{_B}AIza[A-Za-z0-9_-]{{35}}{_E}")),
    (
        "JSON Web Token",
        re.compile(rf"{_B}eyJ[A-Za-z0-9_-]{{8,}}\.eyJ[A-Za-z0-9_-]{{8,}}\.[A-Za-z0-9_-]*"),
    ),
)
# `Bearer <token>` / `Basic <base64>`: the credential is the word after the scheme.
_SCHEME = re.compile(r"\b(Bearer|Basic)[ \t]+([^\s\"',;\\]+)", re.IGNORECASE)

# Auth-like places on a line: a YAML `name: value` (a header), `name=value` (a query
# parameter, a form field, a cookie) and `"name": "value"` (a JSON key, escaped or not).
_YAML_PAIR = re.compile(r"^\s*(?:-\s+)?([^\s:#][^:]*?):[ \t]+(.+)$")
_EQUALS_PAIR = re.compile(r"(?:^|[?&;\s,\"'])([A-Za-z0-9_.\-\[\]]+)=([^&;\s\"'#,]+)")
_JSON_PAIR = re.compile(r"\\?\"([^\"\\]{1,64})\\?\"\s*:\s*\\?\"([^\"\\]{1,4096})\\?\"")
# The runs of a value that are tested for randomness.
_RUN = re.compile(r"[A-Za-z0-9+/_\-.~%]+=*")
_HEX = re.compile(r"[0-9a-fA-F]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
_SEPARATORS = re.compile(r"[-_./~+%=]")


@dataclass(frozen=True)
class Finding:
    """One suspected credential: where it is, what it looks like, and a masked preview."""

    path: str
    line: int
    field: str
    kind: str
    preview: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.kind} ({self.preview})"


@dataclass
class ScanReport:
    """What a scan found, the files it read, and the files that are not valid cassettes."""

    findings: list[Finding]
    files: list[str]
    not_cassettes: list[tuple[str, str]]


def mask(secret: str) -> str:
    """A preview that identifies a secret without giving it away: `sk-p…9f2a`."""
    if len(secret) >= 16:
        return f"{secret[:4]}…{secret[-4:]}"
    if len(secret) >= 10:
        return f"{secret[:2]}…{secret[-2:]}"
    return f"…({len(secret)} characters)"


def entropy(text: str) -> float:
    """The Shannon entropy of `text`'s own characters, in bits per character."""
    size = len(text)
    counts: dict[str, int] = {}
    for char in text:
        counts[char] = counts.get(char, 0) + 1
    return -sum(n / size * math.log2(n / size) for n in counts.values())


def looks_random(run: str) -> bool:
    """True for a run long and varied enough to be a generated token, not a word or an id."""
    if _HEX.fullmatch(run):
        return len(run) >= HEX_MIN_LENGTH and entropy(run) >= HEX_MIN_BITS
    if len(run) < ENTROPY_MIN_LENGTH or _UUID.fullmatch(run):
        # A canonical UUID is an id (an idempotency key, a request id), not a credential.
        return False
    # Words joined by separators ("gzip-deflate-br-v2") have short pieces; a generated token
    # has at least one long stretch without a separator.
    if max(map(len, _SEPARATORS.split(run))) < 8:
        return False
    # Generated tokens mix letters and digits; hyphenated words, paths and dates do not
    # both, or not with this much variety.
    if not any(c.isdigit() for c in run) or not any(c.isalpha() for c in run):
        return False
    return entropy(run) >= ENTROPY_MIN_BITS


def secret_forms(secret: str) -> dict[str, str]:
    """Each form `secret` may take in a cassette, named: raw, percent-encoded, JSON-escaped,
    base64 (standard and URL-safe, at each of the three alignments inside a longer text)."""
    forms: dict[str, str] = {}
    # In this order, so that a form equal to an earlier one keeps the earlier name (a plain
    # word's JSON spelling is the word itself: "raw").
    for form, how in (
        (secret, "raw"),
        (quote(secret, safe=""), "percent-encoded"),
        (quote_plus(secret, safe=""), "percent-encoded"),
        (json.dumps(secret)[1:-1], "JSON-escaped"),
        (json.dumps(secret, ensure_ascii=False)[1:-1], "JSON-escaped"),
    ):
        forms.setdefault(form, how)
    raw = secret.encode()
    for offset in range(3):
        # The base64 characters that depend on the secret's bytes only: after the bits of the
        # `offset` bytes before it, and before the bits of whatever follows it.
        encoded = base64.b64encode(b"\0" * offset + raw).decode()
        stable = encoded[math.ceil(8 * offset / 6) : (8 * (offset + len(raw))) // 6]
        # A 6-character secret (the shortest looked for) leaves 7 or 8 such characters.
        if len(stable) >= 6:
            forms.setdefault(stable, "base64")
            forms.setdefault(stable.replace("+", "-").replace("/", "_"), "base64")
    return forms


def _jwt_header(token: str) -> bool:
    # As detect-secrets does: a JWT's first part must decode to a JSON object.
    part = token.split(".", 1)[0]
    try:
        value = loads_json(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return False
    return isinstance(value, dict)


def _credential(scheme: str, value: str) -> bool:
    if scheme == "Basic":
        # base64 of "user:password".
        try:
            return b":" in base64.b64decode(value, validate=True)
        except (ValueError, binascii.Error):
            return False
    # A bearer token has digits; "Bearer tokens are sent..." in prose has none.
    return len(value) >= 8 and any(c.isdigit() for c in value)


def _shape_ok(kind: str, token: str) -> bool:
    if kind == "JSON Web Token":
        return _jwt_header(token)
    if kind == "OpenAI API key":
        # Real keys carry the marker T3BlbkFJ; without it, ask for what a generated key has
        # (letters and digits) so that "sk-learn-compatible-estimators" is not one.
        body = token[3:]
        return "T3BlbkFJ" in body or (
            any(c.isdigit() for c in body) and any(c.isalpha() for c in body)
        )
    return True


def _line_hits(
    line: str, forms: dict[str, str], secrets: Sequence[str] = ()
) -> Iterator[tuple[int, int, str, str]]:
    """(start, end, kind, the secret) for each suspected credential of one line."""
    for kind, pattern in _SHAPES:
        for match in pattern.finditer(line):
            token = match.group()
            if _shape_ok(kind, token):
                yield match.start(), match.end(), kind, token
    for match in _SCHEME.finditer(line):
        scheme, value = match.group(1).capitalize(), match.group(2)
        if not _PLACEHOLDER.search(value) and _credential(scheme, value):
            yield match.start(2), match.end(2), f"{scheme} credential", value
    for name, value_start, value in _auth_pairs(line):
        if not _AUTH_NAME.search(name) or _PLACEHOLDER.search(value):
            continue
        for run in _RUN.finditer(value):
            token = run.group().strip("=.-")
            if looks_random(token):
                start = value_start + run.start()
                yield start, start + len(run.group()), f"high-entropy {name}", token
    for form, how in forms.items():
        at = line.find(form)
        while at >= 0:
            kind = "--secret value" + ("" if how == "raw" else f", {how}")
            yield at, at + len(form), kind, form
            at = line.find(form, at + 1)
    if secrets:
        # Every other form redaction knows (lower-case hex, `\/`, `\uXXXX` for some letters,
        # a mix): what a cassette would have had replaced is what a scan must report.
        data = line.encode("utf-8", "surrogateescape")
        for start, end in _REDACTION.find(data, secrets):
            at = len(data[:start].decode("utf-8", "ignore"))
            upto = len(data[:end].decode("utf-8", "ignore"))
            yield at, upto, "--secret value, encoded", line[at:upto]


def _auth_pairs(line: str) -> Iterator[tuple[str, int, str]]:
    """(name, value start, value) of each name/value pair on a line."""
    matches = [_YAML_PAIR.match(line)]
    matches += _EQUALS_PAIR.finditer(line)
    matches += _JSON_PAIR.finditer(line)
    for match in matches:
        if match:
            yield match.group(1), match.start(2), match.group(2)


def scan_text(
    text: str, path: str = "<text>", secrets: Iterable[str] = (), *, fields: bool = True
) -> list[Finding]:
    """The findings of one file's text (`secrets`: the values given with --secret).

    With `fields`, each finding names the cassette field it is in (found by reading the
    text as YAML), else "text".
    """
    secrets = list(secrets)
    forms: dict[str, str] = {}
    for secret in secrets:
        for form, how in secret_forms(secret).items():
            forms.setdefault(form, how)
    found: list[tuple[int, int, str, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        # Earlier rules are more specific: a span already reported (a Bearer's OpenAI key)
        # is not reported again by a vaguer rule. The spans taken never overlap, so sorted by
        # start they are sorted by end too: only the last one starting before `end` can
        # overlap (a bisection, not a scan: a hostile line holds a million findings).
        starts: list[int] = []
        ends: list[int] = []
        for start, end, kind, token in _line_hits(line, forms, secrets):
            at = bisect.bisect_left(starts, end)
            if at and ends[at - 1] > start:
                continue
            starts.insert(at, start)
            ends.insert(at, end)
            found.append((number, start, kind, token))
    if not found:
        return []
    locate = _field_locator(text) if fields else None
    return [
        Finding(path, number, locate(number - 1, column) if locate else "text", kind, mask(token))
        for number, column, kind, token in found
    ]


def _field_locator(text: str) -> Callable[[int, int], str] | None:
    """Finds the cassette field at a 0-based line and column; None when the text is not YAML."""
    from ..cassette import field_locator

    locate = field_locator(text.encode())
    if locate is None:
        return None
    return lambda line, column: locate(line, column) or "text"


def cassette_files(paths: Sequence[str]) -> list[Path]:
    """The files to scan: each file given, and every *.yaml / *.yml under each folder."""
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            files.extend(
                sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
            )
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(name)
    return files


def _cassette_problem(path: Path) -> str | None:
    """None when `path` loads as a cassette, else why not."""
    from ..cassette import Cassette, CassetteError

    try:
        Cassette.load(path)
    except CassetteError as exc:
        return str(exc)
    return None


def scan_paths(paths: Sequence[str], secrets: Iterable[str] = ()) -> ScanReport:
    """Scan files and folders (raises FileNotFoundError for a path that does not exist)."""
    secrets = list(secrets)
    report = ScanReport([], [], [])
    for path in cassette_files(paths):
        data = path.read_bytes()
        problem = _cassette_problem(path)
        if problem is not None:
            report.not_cassettes.append((str(path), problem))
        text = data.decode("utf-8", "replace")
        report.files.append(str(path))
        report.findings.extend(scan_text(text, str(path), secrets))
    return report
