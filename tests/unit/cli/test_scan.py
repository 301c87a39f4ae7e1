"""`sse-replay scan`: credentials left in cassettes are found, masked, and fail the run."""

from __future__ import annotations

import base64
import json
import random
import signal
import string
from pathlib import Path
from types import FrameType
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_sse_replay.cli._main import main
from pytest_sse_replay.cli._scan import mask, scan_text, secret_forms

ROOT = Path(__file__).parents[3]
CASSETTES = ROOT / "cassettes"


def token(length: int, seed: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    """A random-looking token, made at run time so that no file here holds a key's shape."""
    rng = random.Random(seed)
    # Generated keys mix letters and digits when their alphabet has both: so do these.
    mixed = any(c.isdigit() for c in alphabet) and any(c.isalpha() for c in alphabet)
    for _ in range(100):
        value = "".join(rng.choice(alphabet) for _ in range(length))
        if not mixed or (any(c.isdigit() for c in value) and any(c.isalpha() for c in value)):
            return value
    raise AssertionError("no mixed token in 100 tries")


def jwt(seed: int) -> str:
    def part(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    header = part({"alg": "HS256", "typ": "JWT"})
    return (
        f"{header}.{part({'sub': token(10, seed)})}.{token(43, seed, string.ascii_letters + '_-')}"
    )


# A cassette with one placeholder per place a secret can hide; `plant` fills one in.
TEMPLATE = """\
version: 1
interactions:
- request:
    method: POST
    url: https://api.example.com/v1/generate?user=ada&{query}
    headers:
      host: api.example.com
      accept: text/event-stream
      {header}
      content-type: application/json
    body: |-
      {{"prompt":"tide pools","sections":1}}
  response:
    status: 200
    headers:
      content-type: text/event-stream; charset=utf-8
      etag: '"{etag}"'
      x-request-id: 4f7c1e9a-02d3-4b8e-9a1f-5c6d7e8f9a0b
    body: |+
      data: {{"type":"section","index":0,"text":"Section 1 about tide pools.","{json_key}":"{json_value}"}}

      data: {{"type":"done"}}

    timeline: |
      0.094016 73
      0.250338 23
    end: complete
"""
LINES = {"url": 5, "header": 9, "body": 20}
FIELDS = {
    "url": "interactions[0].request.url",
    "header": "interactions[0].request.headers",
    "body": "interactions[0].response.body",
}


def plant(
    *,
    query: str = "page=2",
    header: str = "x-trace: on",
    json_key: str = "id",
    json_value: str = "sec_1",
) -> str:
    return TEMPLATE.format(
        query=query,
        header=header,
        json_key=json_key,
        json_value=json_value,
        etag=token(40, 99, "0123456789abcdef"),
    )


def scan(tmp_path: Path, text: str, *args: str, name: str = "planted.yaml") -> tuple[int, str, str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return main(["scan", str(path), *args]), str(path), name


def test_example_cassettes_are_clean(capsys: pytest.CaptureFixture[str]) -> None:
    """The example cassettes (REDACTED keys, ids, JSON bodies) hold nothing: exit 0, no findings."""
    assert main(["scan", str(CASSETTES)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "4 files scanned, no suspected secrets" in captured.err


def test_template_without_secrets_is_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A hex etag, a UUID request id and short ids are not taken for secrets."""
    code, _, _ = scan(tmp_path, plant())
    assert code == 0, capsys.readouterr().out


SHAPES = {
    "OpenAI API key": lambda: (
        "sk-proj-" + token(48, 1, string.ascii_letters + string.digits + "_-")
    ),
    "OpenAI API key (legacy)": lambda: "sk-" + token(20, 2) + "T3BlbkFJ" + token(20, 3),
    "Anthropic API key": lambda: (
        "sk-ant-api03-" + token(90, 4, string.ascii_letters + "0123456789_-")
    ),
    "GitHub token": lambda: "ghp_" + token(36, 5),
    "GitHub token (fine-grained)": lambda: "github_pat_" + token(22, 6) + "_" + token(59, 7),
    "AWS access key id": lambda: "AKIA" + token(16, 8, string.ascii_uppercase + string.digits),
    "AWS access key id (session)": lambda: (
        "ASIA" + token(16, 9, string.ascii_uppercase + string.digits)
    ),
    "Slack token": lambda: "xoxb-" + token(12, 10, string.digits) + "-" + token(24, 11),
    "Google API key": lambda: "AIza" + token(35, 12, string.ascii_letters + string.digits + "_-"),
    "Stripe live key": lambda: "sk_" + "live_" + token(24, 13),
    "Stripe test key": lambda: "sk_" + "test_" + token(24, 15),
    "GitLab token": lambda: "gl" + "pat-" + token(20, 16, string.ascii_letters + string.digits),
    "Hugging Face token": lambda: "hf" + "_" + token(34, 17, string.ascii_letters),
    "npm token": lambda: "npm" + "_" + token(36, 18),
    "SendGrid API key": lambda: "SG." + token(22, 19) + "." + token(43, 20),
    "Slack webhook": lambda: (
        "hooks.slack.com/services/T"
        + token(8, 21, string.ascii_uppercase + string.digits)
        + "/B"
        + token(8, 22, string.ascii_uppercase + string.digits)
        + "/"
        + token(24, 23)
    ),
    "JSON Web Token": lambda: jwt(14),
}


@pytest.mark.parametrize("place", ["header", "body", "url"])
@pytest.mark.parametrize("label", SHAPES)
def test_known_shapes_are_found_masked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], label: str, place: str
) -> None:
    """Each known token shape, in a header, a body or a URL, exits 1 naming file:line and field, masked."""
    secret = SHAPES[label]()
    where = {
        "header": {"header": f"x-custom: {secret}"},
        "body": {"json_key": "note", "json_value": secret},
        "url": {"query": f"note={secret}"},
    }[place]
    code, path, _ = scan(tmp_path, plant(**where))
    out = capsys.readouterr().out
    kind = label.split(" (")[0]
    field = FIELDS[place] + (".x-custom" if place == "header" else "")
    assert code == 1
    assert out.splitlines() == [f"{path}:{LINES[place]}: {field}: {kind} ({mask(secret)})"]
    assert secret not in out


def test_private_key_block_is_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A PEM private key block in a body is reported at its BEGIN line."""
    begin = "-----BEGIN " + "RSA PRIVATE KEY-----"
    text = plant(json_key="pem", json_value=begin)
    code, path, _ = scan(tmp_path, text)
    out = capsys.readouterr().out
    assert code == 1
    assert f"{path}:20: interactions[0].response.body: private key block" in out


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("authorization: Bearer " + "live" + "tok3n-" + "Zq81xPq", "Bearer credential"),
        ("authorization: Basic " + base64.b64encode(b"ada:hunter22").decode(), "Basic credential"),
        ("x-session-token: " + token(32, 20), "high-entropy x-session-token"),
        ("cookie: theme=dark; session=" + token(26, 21), "high-entropy cookie"),
        ("x-api-key: " + token(40, 22, "0123456789abcdef"), "high-entropy x-api-key"),
    ],
    ids=["bearer", "basic", "session-header", "cookie", "hex-api-key"],
)
def test_credentials_in_auth_like_headers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], header: str, kind: str
) -> None:
    """Bearer/Basic values and random strings under auth-like header names are found."""
    code, path, _ = scan(tmp_path, plant(header=header))
    out = capsys.readouterr().out
    name = header.split(":")[0]
    assert code == 1
    assert out.startswith(f"{path}:9: interactions[0].request.headers.{name}: {kind} (")
    assert header.split(" ")[-1].split("=")[-1] not in out


def test_high_entropy_query_parameter_and_json_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A random value under an auth-like query key or JSON key is found; under other keys it is not."""
    secret = token(30, 30)
    text = plant(query=f"access_token={secret}", json_key="client_secret", json_value=token(24, 31))
    code, path, _ = scan(tmp_path, text)
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert [line.split(" (")[0] for line in out] == [
        f"{path}:5: interactions[0].request.url: high-entropy access_token",
        f"{path}:20: interactions[0].response.body: high-entropy client_secret",
    ]
    quiet = plant(query=f"cursor={secret}", json_key="blob", json_value=token(24, 31))
    assert scan(tmp_path, quiet, name="quiet.yaml")[0] == 0


@pytest.mark.parametrize(
    "header",
    [
        "authorization: Bearer REDACTED",
        "x-api-key: REDACTED",
        "cookie: session=REDACTED",
        "authorization: Bearer ${OPENAI_API_KEY}",
        "x-session-token: short-id-42",
        "idempotency-key: 9ac2e33d-4754-46c5-a626-c0814c7e7287",
        "x-key-encoding: gzip-deflate-br-zstd-v2-1",
    ],
)
def test_redacted_and_placeholder_values_are_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], header: str
) -> None:
    """REDACTED, placeholders, short ids, UUIDs and joined words in auth-like places are not findings."""
    assert scan(tmp_path, plant(header=header))[0] == 0, capsys.readouterr().out


def test_base64_body_of_ordinary_content_is_clean(tmp_path: Path) -> None:
    """A long base64 payload in a body (not under an auth-like key) is not a finding."""
    payload = base64.b64encode(random.Random(5).randbytes(3000)).decode()
    assert scan(tmp_path, plant(json_key="payload", json_value=payload))[0] == 0


def encoded_forms(secret: str) -> dict[str, str]:
    return {
        "raw": secret,
        "percent": quote(secret, safe=""),
        "json": json.dumps(secret)[1:-1],
        "base64": base64.b64encode(b"user:" + secret.encode()).decode(),
    }


@pytest.mark.parametrize("form", ["raw", "percent", "json", "base64"])
def test_secret_values_are_found_in_every_form(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    form: str,
) -> None:
    """A --secret / --secret-env value is found raw, percent-encoded, JSON-escaped and in base64."""
    secret = 'pa ss/wörd+"42"'
    text = plant(json_key="note", json_value="seen " + encoded_forms(secret)[form])
    if form == "json":
        text = plant(header="x-note: " + encoded_forms(secret)["json"])
    monkeypatch.setenv("MY_SECRET", secret)
    for args in (["--secret", secret], ["--secret-env", "MY_SECRET"]):
        code, path, _ = scan(tmp_path, text, *args)
        out = capsys.readouterr().out
        assert code == 1, (form, out)
        assert (
            "--secret value"
            + {
                "raw": "",
                "percent": ", percent-encoded",
                "json": ", JSON-escaped",
                "base64": ", base64",
            }[form]
            + " ("
            in out
        )
        assert out.startswith(f"{path}:{9 if form == 'json' else 20}: ")
        assert secret not in out


@pytest.mark.parametrize(
    "echo",
    [
        "s3cr3t%2fvalue%2blong_ABC",  # lower-case hex
        "s3cr3t%2F%76alue%2blong_ABC",  # a letter escaped too, mixed-case hex
        "s3cr3t\\/value+long_ABC",  # JSON's "\/" (PHP), inside a YAML double-quoted scalar
        "s3cr3t\\u002Fvalue+long_ABC",  # one character \u-escaped
    ],
)
def test_secret_values_are_found_in_the_forms_redaction_replaces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], echo: str
) -> None:
    """A --secret value is found in every form redaction would have replaced, not only in the
    four forms named by secret_forms."""
    secret = "s3cr3t/value+long_ABC"
    code, path, _ = scan(tmp_path, plant(header=f'x-note: "seen {echo} there"'), "--secret", secret)
    out = capsys.readouterr().out
    assert code == 1, out
    assert out.startswith(f"{path}:9: interactions[0].request.headers.x-note: --secret value")
    assert secret not in out
    assert echo not in out


def test_secret_env_unset_or_short_secret_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unset --secret-env or a value too short to look for exits 2, without echoing the value."""
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    path = tmp_path / "c.yaml"
    path.write_text(plant(), encoding="utf-8")
    assert main(["scan", str(path), "--secret-env", "NOT_SET_ANYWHERE"]) == 2
    assert "NOT_SET_ANYWHERE" in capsys.readouterr().err
    assert main(["scan", str(path), "--secret", "q7z"]) == 2
    err = capsys.readouterr().err
    assert "too short" in err
    assert "q7z" not in err


def test_missing_path_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A PATH that does not exist exits 2 and names it."""
    assert main(["scan", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: no such file or folder" in capsys.readouterr().err


def test_broken_file_is_scanned_as_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file that is not a cassette (nor YAML) is mentioned and still scanned, field "text"."""
    secret = "ghp_" + token(36, 40)
    code, path, _ = scan(tmp_path, f"version: [1\nnot: a cassette\n  key = {secret}\n")
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == f"{path}:3: text: GitHub token ({mask(secret)})\n"
    assert f"{path}: not a valid cassette, scanned as text" in captured.err


def test_folders_are_searched_for_yaml_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder is searched recursively for *.yaml and *.yml; other files are left alone."""
    secret = "AKIA" + token(16, 50, string.ascii_uppercase + string.digits)
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "clean.yaml").write_text(plant(), encoding="utf-8")
    (tmp_path / "a" / "b" / "leak.yml").write_text(plant(header=f"x-k: {secret}"), encoding="utf-8")
    (tmp_path / "a" / "notes.txt").write_text(secret, encoding="utf-8")
    assert main(["scan", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        f"{tmp_path / 'a' / 'b' / 'leak.yml'}:9: interactions[0].request.headers.x-k: "
        f"AWS access key id ({mask(secret)})"
    ]
    assert "2 files scanned, 1 suspected secret" in captured.err


@given(st.text(min_size=6, max_size=80))
def test_mask_never_shows_the_whole_secret(secret: str) -> None:
    """The preview of any secret of 6 or more characters never contains the secret."""
    assert secret not in mask(secret)


@settings(deadline=None)
@given(st.binary(max_size=8), st.text(min_size=6, max_size=40), st.binary(max_size=8))
def test_base64_form_is_found_at_any_alignment(before: bytes, secret: str, after: bytes) -> None:
    """A secret base64-encoded inside a longer value is found whatever bytes surround it."""
    encoded = base64.b64encode(before + secret.encode() + after).decode()
    findings = scan_text(f"body: {encoded}\n", secrets=[secret], fields=False)
    assert findings, encoded
    assert all(secret not in f.preview for f in findings)


def test_secret_forms_name_each_encoding() -> None:
    """The forms of a secret include its percent, JSON and base64 spellings."""
    forms = secret_forms('a b"c/d+é')
    assert forms['a b"c/d+é'] == "raw"
    assert forms["a%20b%22c%2Fd%2B%C3%A9"] == "percent-encoded"
    assert forms['a b\\"c/d+\\u00e9'] == "JSON-escaped"
    assert "base64" in forms.values()
    # A plain word's JSON and percent spellings are the word itself: it keeps the name "raw".
    assert secret_forms("tide-pools-42") == {
        "tide-pools-42": "raw",
        **{
            form: "base64" for form, how in secret_forms("tide-pools-42").items() if how == "base64"
        },
    }


def test_a_line_with_many_findings_is_scanned_in_linear_time() -> None:
    """A hostile line holding 50,000 findings is scanned well within a generous watchdog
    (each new finding was compared with every one before it: hours for a 15 MB line)."""

    def hang(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError("scan_text ran for more than 60 s")

    token_ = token(22, 31)
    line = ", ".join([f'"token": "{token_}"'] * 50_000)
    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(60)
    try:
        found = scan_text(line, fields=False)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert len(found) == 50_000
    assert all(finding.kind.startswith("high-entropy") for finding in found)
