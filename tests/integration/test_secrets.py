"""No secret is written or printed: every secret form, every echo form, every output path."""

from __future__ import annotations

import base64
import itertools
import json
import re
import textwrap
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from pytest_sse_replay import Cassette, Redaction
from pytest_sse_replay.cassette._model import Chunk, Interaction, RecordedRequest, RecordedResponse
from pytest_sse_replay.cassette._redact import MIN_SECRET_LENGTH, MIXED_FORMS_MAX, _Scrubber
from pytest_sse_replay.cli._main import main
from pytest_sse_replay.clients._serve import ReplayServer
from pytest_sse_replay.demo._server import echo_forms
from pytest_sse_replay.playback._matching import REDACTED, Matcher, NoRecording

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.usefixtures("only_this_plugin")

# One secret per way a secret travels; "/", "+" and " " make every encoding differ from raw.
SECRETS = {
    "user-info": "ui-Pass.word~0042",
    "header": "hd/Secret+Key 0042",
    "query": "qk/Query+Secret 0042",
    "json-body-nested": "js/Body+Password 0042",
    "form-body": "fm/Client+Secret 0042",
    "custom-ini-key": "ck/Custom+Body 0042",
    "multipart-field": "mp/Multipart+Key 0042",
    "json-in-a-json-string": "jj/Inner+Token 0042",
    "semicolon-query": "sq/Semicolon+Key 0042",
}


def traces(secret: str) -> dict[str, str]:
    """Each form a secret may be echoed in (base64: the part fully determined by its bytes)."""
    data = secret.encode()
    upper = quote(secret, safe="")
    forms = {
        "raw": secret,
        "percent": upper,
        "percent-lower": re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), upper),
        "percent-plus": quote_plus(secret, safe=""),
        "json-slash": json.dumps(secret)[1:-1].replace("/", "\\/"),
        "json-u": "".join(f"\\u{ord(c):04x}" for c in secret),
        "json-U": "".join(f"\\u{ord(c):04X}" for c in secret),
    }
    for k in range(3):
        encoded = base64.b64encode(b"\0" * k + data + b"\0\0").decode()
        first, last = -(-8 * k // 6), 8 * (k + len(data)) // 6  # digits of the secret alone
        forms[f"base64-{k}"] = encoded[first:last]
        forms[f"base64-url-{k}"] = encoded[first:last].replace("+", "-").replace("/", "_")
    return forms


def hits(texts: dict[str, str]) -> dict[tuple[str, str], list[str]]:
    """(secret, form) -> the places (file or output) where that form of that secret shows,
    also of the secret as a URL holds it (percent-encoded), encoded once more."""
    found: dict[tuple[str, str], list[str]] = {}
    for name, secret in SECRETS.items():
        for variant in (secret, quote(secret, safe=""), quote_plus(secret, safe="")):
            for form, trace in traces(variant).items():
                found.setdefault((name, form), []).extend(
                    where for where, text in texts.items() if trace in text
                )
    return found


def _table(table: dict[tuple[str, str], list[str]]) -> str:
    forms = list(dict.fromkeys(form for _, form in table))
    lines = ["| secret \\ form | " + " | ".join(forms) + " |"]
    for name in SECRETS:
        marks = ["leaked" if table[(name, form)] else "redacted" for form in forms]
        lines.append(f"| {name} | " + " | ".join(marks) + " |")
    return "\n".join(lines)


RECORD_ALL_FORMS = """
import json, os, httpx, pytest
from urllib.parse import quote
from pytest_sse_replay import faults

# The secrets come from the environment, as in a real suite: a failing test's source lines
# are printed by pytest itself, and hold only these names.
S = {{name: os.environ["TEST_SECRET_" + name.upper().replace("-", "_")] for name in NAMES}}

@pytest.mark.sse_cassette(faults=FAULTS)
def test_echoes(sse_cassette):
    host = "{url}".replace("http://", "http://alice:" + S["user-info"] + "@")
    with httpx.Client(timeout=10) as client:
        client.get(host + "/echo", params={{"api_key": S["query"]}},
                   headers={{"x-api-key": S["header"]}}).read()
        client.post("{url}/echo", json={{"model": "m", "auth": {{"Password": S["json-body-nested"]}},
                    "items": [{{"session_secret": S["custom-ini-key"]}}]}}).read()
        client.post("{url}/echo", data={{"client_secret": S["form-body"], "n": "1"}}).read()
        client.post("{url}/echo", data={{"api_key": S["multipart-field"]}},
                    files={{"upload": ("a.txt", b"hello")}}).read()
        client.post("{url}/echo", json={{"payload": json.dumps({{"token": S["json-in-a-json-string"]}})}}).read()
        client.get("{url}/echo?a=1;api_key=" + quote(S["semicolon-query"], safe="")).read()
    print("events seen:", [e.data for e in sse_cassette.events])
    sse_cassette.events.assert_count("no-such-event", 1)  # fails: prints the timeline
"""


@pytest.mark.parametrize(
    "faults", ["[]", "[faults.split(size=5)]"], ids=["plain", "faulted-while-recording"]
)
def test_no_secret_form_reaches_a_cassette_or_the_output_of_a_failing_recording(
    pytester: pytest.Pytester, live_server: str, monkeypatch: pytest.MonkeyPatch, faults: str
) -> None:
    """Recording echoes of nine secret kinds in 13 forms: no cassette byte or output line holds
    one, whether the client gets the live stream or, under faults, the replayed one."""
    # The test fails on purpose (to print its timeline); its recording is saved anyway.
    pytester.makeini(
        "[pytest]\nsse_redact_body_keys = session_secret\nsse_record_on_error = true\n"
    )
    for name, secret in SECRETS.items():
        monkeypatch.setenv("TEST_SECRET_" + name.upper().replace("-", "_"), secret)
    source = (
        RECORD_ALL_FORMS.replace("NAMES", repr(list(SECRETS)))
        .replace("FAULTS", faults)
        .format(url=live_server)
    )
    pytester.makepyfile(test_user=textwrap.dedent(source))
    result = pytester.runpytest("--sse-record", "-p", "no:randomly", "-rA")
    result.assert_outcomes(failed=1)
    output = result.stdout.str() + result.stderr.str()
    assert "events seen:" in output  # the events reached the output, scrubbed
    assert "no-such-event" in output
    files = {str(p): p.read_text() for p in Path(pytester.path, "cassettes").rglob("*.yaml")}
    assert len(files) == 1
    (cassette_text,) = files.values()
    assert cassette_text.count("event: done") == 6  # every echo was recorded whole
    # The forms looked for are the forms the server echoes.
    assert {form for form, _ in echo_forms("x")} == set(traces("x"))
    table = hits({**files, "pytest output": output})
    print(_table(table))  # the secret x form table (shown with -s)
    assert {pair: where for pair, where in table.items() if where} == {}
    assert len(table) == len(SECRETS) * 13


def test_a_recorded_cassette_replays_with_other_secrets(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """User-info, a form body field and a nested JSON field recorded as REDACTED match any
    live value on replay under match_on body and json."""
    source = """
    import httpx, pytest

    @pytest.mark.sse_cassette("c", match_on=["{rule}"])
    def test_x():
        url = "{url}".replace("http://", "http://alice:{pw}@")
        with httpx.Client(timeout=10) as client:
            a = client.post(url + "/echo", json={{"auth": {{"token": "{pw}"}}, "n": 1}})
            b = client.post("{url}/echo", data={{"password": "{pw}", "n": "1"}})
        assert b"event: done" in a.content and b"event: done" in b.content
    """
    for rule in ("json", "body"):
        for pw, flags in (("recorded-pw-001", ["--sse-record=all"]), ("another-pw-002", [])):
            pytester.makepyfile(
                test_user=textwrap.dedent(source.format(url=live_server, pw=pw, rule=rule))
            )
            pytester.runpytest(*flags).assert_outcomes(passed=1)
    text = (pytester.path / "cassettes" / "c.yaml").read_text()
    assert "recorded-pw-001" not in text
    assert "alice" not in text  # a short user name is redacted where it stands


def test_no_recording_message_shows_no_live_secret(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """The message of a request with no recording redacts the live request's secrets."""
    pytester.makepyfile(
        test_user=textwrap.dedent(
            f"""
            import httpx, pytest

            @pytest.mark.sse_cassette("c", match_on=["json"])
            def test_x():
                httpx.post("{live_server}/echo", params={{"token": "live-query-token-9"}},
                           json={{"x": 1, "password": "live-body-password-9"}}, timeout=10)
            """
        )
    )
    pytester.runpytest("--sse-record").assert_outcomes(passed=1)
    source = (pytester.path / "test_user.py").read_text()
    pytester.makepyfile(
        test_user=source.replace('"x": 1', '"x": 2')
        .replace("live-query-token-9", "other-query-token-8")
        .replace("live-body-password-9", "other-body-password-8")
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "json body: recorded" in output
    assert "other-query-token-8" not in output
    assert "other-body-password-8" not in output
    assert "token=REDACTED" in output


def test_record_command_prints_no_secret(
    live_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sse-replay record` of an echoing stream: neither its output nor the cassette holds a
    secret of the URL (query, user-info), a header or the body, in any echoed form."""
    out = tmp_path / "echo.yaml"
    url = live_server.replace("http://", f"http://alice:{SECRETS['user-info']}@")
    code = main(
        [
            "record",
            f"{url}/echo?api_key={quote(SECRETS['query'])}",
            "-o",
            str(out),
            "-H",
            f"X-Api-Key: {SECRETS['header']}",
            "-d",
            json.dumps({"a": [{"PASSWORD": SECRETS["json-body-nested"]}]}),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "base64-url-2" in captured.out  # the echoed events were printed
    assert "api_key=REDACTED" in captured.err
    texts = {"stdout": captured.out, "stderr": captured.err, "cassette": out.read_text()}
    assert {pair: where for pair, where in hits(texts).items() if where} == {}


def test_record_command_redacts_the_url_of_a_failed_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A request that cannot be made is reported with its URL redacted."""
    code = main(["record", f"http://127.0.0.1:9/s?api_key={SECRETS['query']}", "-o", "x.yaml"])
    err = capsys.readouterr().err
    assert code == 1
    assert "api_key=REDACTED" in err
    assert {pair: where for pair, where in hits({"stderr": err}).items() if where} == {}


def test_serve_log_and_404_show_no_live_secret() -> None:
    """`serve` logs requests with their keys redacted, and its 404 message shows none."""
    cassette = Cassette([interaction(url="http://api.test/s?api_key=REDACTED")])
    lines: list[str] = []
    with ReplayServer(cassette, speed=0, log=lines.append) as url:
        secret = SECRETS["query"]
        ok = httpx.get(f"{url}/s", params={"api_key": secret}, timeout=5)
        missing = httpx.get(f"{url}/other", params={"api_key": secret}, timeout=5)
    assert ok.status_code == 200
    assert missing.status_code == 404
    log = "\n".join(lines)
    assert "/s?api_key=REDACTED -> 200" in log
    assert "/other?api_key=REDACTED -> 404" in log
    texts = {"log": log, "404": missing.text}
    assert {pair: where for pair, where in hits(texts).items() if where} == {}


def test_show_redacts_a_cassette_written_by_hand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sse-replay show` of a cassette holding a secret (not written by us) shows it redacted."""
    path = tmp_path / "hand.yaml"
    secret = SECRETS["header"]
    Cassette(
        [
            interaction(
                headers=[("authorization", f"Bearer {secret}")],
                chunks=[f"data: {json.dumps({'echo': secret})}\n\n".encode()],
            )
        ]
    ).save(path)
    assert main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "REDACTED" in out
    assert {pair: where for pair, where in hits({"show": out}).items() if where} == {}


def test_check_and_diff_redact_a_cassette_written_by_hand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`check` (its failure timeline) and `diff` (both forms) of cassettes holding a secret
    show it redacted, as `show` does."""
    secret = SECRETS["header"]
    paths = []
    for name, event in (("a", "message"), ("b", "other")):
        path = tmp_path / f"{name}.yaml"
        Cassette(
            [
                interaction(
                    url=f"http://api.test/s?token={quote(secret, safe='')}",
                    headers=[("authorization", f"Bearer {secret}")],
                    chunks=[f"event: {event}\ndata: {json.dumps({'echo': secret})}\n\n".encode()],
                )
            ]
        ).save(path)
        paths.append(str(path))
    outputs = {}
    assert main(["check", paths[0], "--count", "nothing=2"]) == 1
    outputs["check"] = capsys.readouterr().out
    assert "REDACTED" in outputs["check"]
    assert main(["diff", *paths]) == 1
    outputs["diff"] = capsys.readouterr().out
    assert main(["diff", "--structure", *paths]) == 1
    outputs["diff --structure"] = capsys.readouterr().out
    assert {pair: where for pair, where in hits(outputs).items() if where} == {}


# --------------------------------------------------------------------------- units


def interaction(
    url: str = "http://api.test/s",
    headers: list[tuple[str, str]] | None = None,
    chunks: list[bytes] | None = None,
    body: bytes = b"",
    method: str = "GET",
) -> Interaction:
    return Interaction(
        RecordedRequest(method, url, headers or [], body),
        RecordedResponse(
            200,
            [("content-type", "text/event-stream")],
            [Chunk(0.001 * n, data) for n, data in enumerate(chunks or [b"data: x\n\n"])],
        ),
    )


def redacted(item: Interaction, redaction: Redaction | None = None) -> Interaction:
    (redaction or Redaction()).apply(Cassette([item]))
    return item


def test_user_info_is_redacted_and_hunted() -> None:
    """`https://user:pass@host` keeps its host; both parts become REDACTED, and echoes go."""
    item = redacted(
        interaction(url="https://apiuser:pa55word-1@api.test/s", chunks=[b"data: pa55word-1\n\n"])
    )
    assert item.request.url == "https://REDACTED:REDACTED@api.test/s"
    assert item.response.body == b"data: REDACTED\n\n"


def test_json_body_fields_are_redacted_at_any_depth_and_case() -> None:
    """Listed JSON fields, nested in objects and lists, in any case, hold REDACTED."""
    body = json.dumps(
        {"Token": "tok-000001", "a": [{"CLIENT_SECRET": {"v": "cs-000001"}}], "keep": "me"}
    ).encode()
    item = redacted(
        interaction(method="POST", body=body, headers=[("content-type", "application/json")])
    )
    assert json.loads(item.request.body) == {
        "Token": REDACTED,
        "a": [{"CLIENT_SECRET": REDACTED}],
        "keep": "me",
    }


def test_form_body_fields_and_extended_keys_are_redacted() -> None:
    """Form fields (default and extended names) hold REDACTED; the others are kept."""
    item = interaction(
        method="POST",
        body=b"password=pw&pin=1234&n=1",
        headers=[("content-type", "application/x-www-form-urlencoded")],
    )
    redacted(item, Redaction().extend(body_keys=["PIN"]))
    assert item.request.body == b"password=REDACTED&pin=REDACTED&n=1"


def test_a_short_value_is_redacted_where_it_stands_but_not_hunted() -> None:
    """A body value shorter than MIN_SECRET_LENGTH is replaced in its field only."""
    short = "x" * (MIN_SECRET_LENGTH - 1)
    item = interaction(
        method="POST", body=json.dumps({"password": short}).encode(), chunks=[short.encode()]
    )
    redacted(item)
    assert json.loads(item.request.body) == {"password": REDACTED}
    assert item.response.body == short.encode()


def test_redacted_body_fields_match_any_value() -> None:
    """A recorded REDACTED body field matches any live value under body and json matching,
    and only that field is free."""
    recorded = interaction(method="POST", body=b'{"password":"REDACTED","n":1}')
    for rule in ("body", "json"):
        matcher = Matcher([recorded], match_on=[rule])
        live = RecordedRequest("POST", "http://api.test/s", [], b'{"n": 1, "password": "x"}')
        assert matcher.find(live) == 0
        with pytest.raises(NoRecording):
            matcher.find(
                RecordedRequest("POST", "http://api.test/s", [], b'{"password":"x","n":2}')
            )
    form = interaction(method="POST", body=b"password=REDACTED&n=1")
    matcher = Matcher([form], match_on=["body"])
    assert matcher.find(RecordedRequest("POST", "http://api.test/s", [], b"n=1&password=live")) == 0


def test_basic_authorization_password_is_hunted() -> None:
    """The password inside a Basic authorization is hunted, also when echoed decoded."""
    token = base64.b64encode(b"bob:basic-pw-42").decode()
    item = redacted(
        interaction(
            headers=[("authorization", f"Basic {token}")], chunks=[b"data: basic-pw-42\n\n"]
        )
    )
    assert item.response.body == b"data: REDACTED\n\n"


def test_redaction_url_and_event_are_what_outputs_use() -> None:
    """Redaction.url redacts user-info and query values; Redaction.event scrubs an event."""
    from pytest_sse_replay import Event

    redaction = Redaction()
    assert redaction.url("/s?api_key=abc&x=1") == "/s?api_key=REDACTED&x=1"
    event = redaction.event(Event("m", data='{"k": "c2VjcmV0LXZhbHVl"}'), {"secret-value"})
    assert event.data == '{"k": "REDACTED"}'


# Secrets from a small alphabet with every character JSON and URLs escape; fillers from
# characters that are in no encoding of them, so the expected result is exactly known.
_SECRET_CHARS = 'aZ09/+ _-.~"\\é'
# At least one character between two echoes: `\` then `\u0030` is ambiguous even to a reader.
_FILLER = st.text(alphabet="\n:;,!{}[]()#*<>|", min_size=1, max_size=12)
_TEXT_FORMS = ("raw", "percent", "percent-lower", "percent-plus", "json-slash", "json-u", "json-U")


@st.composite
def cuts(draw: st.DrawFn, body: bytes) -> list[Chunk]:
    """`body` cut at random places, each chunk a time later than the one before."""
    points = sorted(draw(st.sets(st.integers(1, max(len(body) - 1, 1)), max_size=12)))
    points = [p for p in points if p < len(body)]
    edges = [0, *points, len(body)]
    return [Chunk(n * 0.01, body[a:b]) for n, (a, b) in enumerate(itertools.pairwise(edges))]


@given(
    secret=st.text(alphabet=_SECRET_CHARS, min_size=MIN_SECRET_LENGTH, max_size=20),
    fillers=st.lists(_FILLER, min_size=2, max_size=5),
    forms=st.lists(st.sampled_from(_TEXT_FORMS), min_size=4, max_size=4),
    data=st.data(),
)
def test_scrubber_removes_every_text_form_keeping_bytes_and_times(
    secret: str, fillers: list[str], forms: list[str], data: st.DataObject
) -> None:
    """For any secret, surrounding bytes and chunking, no text form of the secret survives,
    and every other byte is kept with the time of the chunk it arrived in."""
    encoded = traces(secret)
    pieces = [fillers[0]]
    for filler, form in zip(fillers[1:], forms[: len(fillers) - 1], strict=True):
        pieces += [encoded[form], filler]
    body = "".join(pieces).encode()
    chunks = data.draw(cuts(body))
    out = _Scrubber({secret}).chunks(chunks)
    new_body = b"".join(c.data for c in out)
    assert new_body == REDACTED.join(fillers).encode()

    # Each filler byte arrives at the same time as before.
    def times(chunks: list[Chunk]) -> list[float]:
        return [c.t for c in chunks for _ in c.data]

    old_times, new_times = times(chunks), times(out)
    old_at = new_at = 0
    for n, filler in enumerate(fillers):
        size = len(filler.encode())
        assert old_times[old_at : old_at + size] == new_times[new_at : new_at + size]
        if n + 1 < len(fillers):
            old_at += size + len(pieces[2 * n + 1].encode())
            new_at += size + len(REDACTED)
    assert [c.t for c in out] == sorted(c.t for c in out)
    assert all(c.data for c in out)


@given(
    secret=st.text(st.characters(codec="utf-8"), min_size=MIN_SECRET_LENGTH, max_size=24),
    before=st.binary(max_size=7),
    after=st.binary(max_size=7),
    urlsafe=st.booleans(),
    padded=st.booleans(),
    data=st.data(),
)
def test_scrubber_removes_base64_at_any_alignment(
    secret: str, before: bytes, after: bytes, urlsafe: bool, padded: bool, data: st.DataObject
) -> None:
    """A secret base64-encoded inside a longer blob, at any offset, in either alphabet, padded
    or not, however cut: no digit determined by it survives; the text around stays."""
    assume(secret not in 'data: {"blob": ""}\n\n')
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    blob = encode(before + secret.encode() + after).decode()
    if not padded:
        blob = blob.rstrip("=")
    body = f'data: {{"blob": "{blob}"}}\n\n'.encode()
    out = _Scrubber({secret}).chunks(data.draw(cuts(body)))
    text = b"".join(c.data for c in out).decode()
    assert REDACTED in text
    assert text.startswith('data: {"blob": "')
    assert text.endswith('"}\n\n')
    for form, trace in traces(secret).items():
        if form.startswith("base64"):
            assert trace not in text


def test_marker_redact_body_keys_extends_the_body_fields(
    pytester: pytest.Pytester, live_server: str
) -> None:
    """The marker's redact_body_keys adds field names; their values and echoes are redacted."""
    pytester.makepyfile(
        test_user=textwrap.dedent(
            f"""
            import httpx, pytest

            @pytest.mark.sse_cassette("c", redact_body_keys=["Pin_Code"])
            def test_x():
                r = httpx.post("{live_server}/echo", json={{"pin_code": "pin-8812-secret"}},
                               timeout=10)
                assert b"event: done" in r.content
            """
        )
    )
    pytester.runpytest("--sse-record").assert_outcomes(passed=1)
    text = (pytester.path / "cassettes" / "c.yaml").read_text()
    assert '{"pin_code":"REDACTED"}' in text
    assert "pin-8812-secret" not in text
    assert "cGluLTg4MTItc2VjcmV0" not in text  # its base64 echo, at alignment 0


def test_record_command_redact_body_key(live_server: str, tmp_path: Path) -> None:
    """`record --redact-body-key` adds a form field name to the redacted body fields."""
    out = tmp_path / "form.yaml"
    assert (
        main(
            [
                "record",
                f"{live_server}/echo",
                "-o",
                str(out),
                "-q",
                "-d",
                "otp=otp-774411&n=1",
                "--redact-body-key",
                "otp",
            ]
        )
        == 0
    )
    cassette = Cassette.load(out)
    assert cassette.interactions[0].request.body == b"otp=REDACTED&n=1"
    assert "otp-774411" not in out.read_text()


def test_record_command_malformed_header_shows_only_its_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A -H without a colon is refused naming its first word, not the token after it."""
    code = main(
        ["record", "http://127.0.0.1:9/s", "-o", "x.yaml", "-H", "Authorization Bearer tk-551"]
    )
    err = capsys.readouterr().err
    assert code != 0
    assert "'Authorization'" in err
    assert "tk-551" not in err


# -- found by attack: hooks, loose forms, other schemes, reprs ----------------------------------

HOOK_SECRET = "hk-Echoed-Token-7731"


def test_a_hook_that_drops_the_secret_header_leaves_no_echo_of_it(
    pytester: pytest.Pytester, live_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sse_before_record hook that removes the authorization header (as VCR users filter
    headers) does not stop the echoes of its token in the response from being scrubbed."""
    monkeypatch.setenv("HOOK_SECRET", HOOK_SECRET)
    pytester.makepyfile(
        test_user=textwrap.dedent(
            f"""
            import os, httpx, pytest

            @pytest.fixture
            def sse_before_record():
                def hook(interaction):
                    request = interaction.request
                    request.headers = [h for h in request.headers if h[0] != "authorization"]
                    return interaction
                return hook

            @pytest.mark.sse_cassette("c")
            def test_x():
                token = os.environ["HOOK_SECRET"]
                r = httpx.get("{live_server}/echo", headers={{"authorization": "Bearer " + token}},
                              timeout=10)
                assert b"event: done" in r.content
            """
        )
    )
    pytester.runpytest("--sse-record").assert_outcomes(passed=1)
    text = (pytester.path / "cassettes" / "c.yaml").read_text()
    assert "authorization" not in text.split("response:")[0]  # the hook's change is kept
    assert HOOK_SECRET not in text
    assert "REDACTED" in text


def test_a_hook_returning_the_wrong_type_shows_no_secret(
    pytester: pytest.Pytester, live_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The error of a hook that returns a request instead of the interaction, and pytest's
    traceback of it (which prints every frame's arguments), show the request redacted."""
    monkeypatch.setenv("HOOK_SECRET", HOOK_SECRET)
    pytester.makepyfile(
        test_user=textwrap.dedent(
            f"""
            import os, httpx, pytest

            @pytest.fixture
            def sse_before_record():
                return lambda interaction: interaction.request

            @pytest.mark.sse_cassette("c")
            def test_x():
                httpx.get("{live_server}/json", params={{"token": os.environ["HOOK_SECRET"]}},
                          timeout=10)
            """
        )
    )
    result = pytester.runpytest("--sse-record", "--tb=long")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*must return the interaction*RecordedRequest*token=REDACTED*"])
    assert HOOK_SECRET not in result.stdout.str() + result.stderr.str()


def test_the_repr_of_a_request_or_an_interaction_is_redacted() -> None:
    """repr() of a RecordedRequest or an Interaction (what tracebacks and assertion messages
    show) holds no secret; the objects themselves are left as they are."""
    item = interaction(
        url="https://u:repr-pass-01@api.test/s?token=repr-token-01",
        headers=[("authorization", "Bearer repr-bearer-01")],
        body=b'{"password": "repr-pw-0001"}',
        chunks=[b"data: repr-bearer-01 repr-pw-0001\n\n"],
        method="POST",
    )
    for shown in (repr(item), repr(item.request), str(item.request)):
        assert "repr-" not in shown, shown
        assert "REDACTED" in shown
    assert item.request.header("authorization") == "Bearer repr-bearer-01"


@pytest.mark.parametrize(
    "body",
    [
        b"grant_type=password&password=loose-pw-0042&remember",  # a flag without "="
        b"password=loose-pw-0042&",  # a trailing "&"
        "password=loose-pw-0042&name=\u00e9".encode(),  # a raw UTF-8 byte
        b"Pass_Word=loose-pw-0042",  # another spelling of the name
    ],
)
def test_a_loose_form_body_is_still_redacted(body: bytes) -> None:
    """A form body a strict parser refuses still has its listed fields redacted (and hunted);
    the other fields are kept byte for byte."""
    item = redacted(
        interaction(
            method="POST",
            body=body,
            headers=[("content-type", "application/x-www-form-urlencoded")],
            chunks=[b"data: loose-pw-0042\n\n"],
        )
    )
    assert b"loose-pw-0042" not in item.request.body
    assert item.request.body == body.replace(b"loose-pw-0042", b"REDACTED")
    assert item.response.body == b"data: REDACTED\n\n"


@pytest.mark.parametrize(
    "key", ["clientSecret", "accessToken", "RefreshToken", "api-key", "client-secret"]
)
def test_json_body_keys_match_in_camel_case_and_with_dashes(key: str) -> None:
    """A listed body field is found whatever its spelling: camelCase, dashes or underscores."""
    body = json.dumps({"outer": {key: "camel-secret-01"}}).encode()
    item = redacted(
        interaction(method="POST", body=body, headers=[("content-type", "application/json")])
    )
    assert json.loads(item.request.body) == {"outer": {key: REDACTED}}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("authorization", "ApiKey scheme-token-0042"),
        ("authorization", "SSWS scheme-token-0042"),
        ("authorization", "OAuth scheme-token-0042"),
        ("cookie", 'sid="scheme-token-0042"'),
    ],
)
def test_the_bare_token_of_any_scheme_or_quoted_cookie_is_hunted(name: str, value: str) -> None:
    """The token after any authorization scheme, and a quoted cookie's value, are hunted when a
    server echoes them alone."""
    item = redacted(interaction(headers=[(name, value)], chunks=[b"data: scheme-token-0042\n\n"]))
    assert item.response.body == b"data: REDACTED\n\n"


@given(
    head=st.text(alphabet="[]:@%.hx1\uff03", max_size=30),
    secret=st.text(alphabet="abcXYZ019-_", min_size=MIN_SECRET_LENGTH, max_size=12),
)
def test_redaction_of_any_url_text_never_raises_and_removes_a_listed_value(
    head: str, secret: str
) -> None:
    """Redaction.url takes any text (an unbalanced "[", a bad IPv6 host, a fullwidth "#" in
    the host: what urlsplit refuses) and still replaces a listed query value."""
    shown = Redaction().url(f"http://{head}/s?x=1&token={secret}")
    assert f"token={REDACTED}" in shown
    assert secret not in shown.split("?", 1)[-1]


@pytest.mark.parametrize(
    "host", ["[::1", "[::zz]", "[::1]:port", "example.test:99999", "a\uff03b.test"]
)
def test_record_command_refuses_an_unparsable_url_redacted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], host: str
) -> None:
    """`record` with a URL urlsplit refuses exits 2 with the URL redacted, not a traceback."""
    url = f"http://bob:{SECRETS['user-info']}@{host}/s?api_key={SECRETS['query']}"
    code = main(["record", url, "-o", str(tmp_path / "x.yaml")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("sse-replay record: error: URL 'http://REDACTED:REDACTED@")
    assert "Traceback" not in err
    assert {pair: where for pair, where in hits({"stderr": err}).items() if where} == {}


def test_a_secret_longer_than_the_mixed_forms_limit_is_hunted_in_each_whole_form() -> None:
    """A session cookie of a few kilobytes (past MIXED_FORMS_MAX, hunted whole in each form so
    that its regex stays small) is still replaced raw, percent-encoded in either hex case,
    fully \\u-escaped in either case and base64-encoded."""
    value = "".join(f"{n:04d}/Ab+" for n in range(MIXED_FORMS_MAX))  # 2,048 characters
    forms = {name: text for name, text in traces(value).items() if not name.startswith("json-")}
    forms["json-slash"] = json.dumps(value)[1:-1].replace("/", "\\/")
    forms["json-u"] = "".join(f"\\u{ord(c):04x}" for c in value)
    forms["json-U"] = "".join(f"\\u{ord(c):04X}" for c in value)
    chunks = [f"event: {name}\ndata: <{text}>\n\n".encode() for name, text in forms.items()]
    item = redacted(interaction(headers=[("cookie", f"session={value}")], chunks=chunks))
    body = item.response.body.decode()
    for name in forms:
        assert f"event: {name}\ndata: <REDACTED" in body, name
    assert value[:40] not in body


SHOWN_BEFORE_KNOWN = """
import os, httpx, pytest

KEY = os.environ["TEST_LATE_SECRET"]

@pytest.mark.sse_cassette
def test_late(sse_cassette):
    with httpx.Client(timeout=10) as client:
        # Not a secret yet: "note" is no listed parameter. The echo puts it in the log.
        client.get("{url}/echo", params={{"note": KEY}}).read()
        # Now it is one: the same value as a bearer token.
        client.get("{url}/echo", headers={{"authorization": "Bearer " + KEY}}).read()
    print("seen:", [e.data for e in sse_cassette.events][:3])
    assert sse_cassette.events[0].data == "something else"
"""


@pytest.mark.parametrize(
    "workers", [[], ["-p", "xdist.plugin", "-n", "2"]], ids=["one-process", "xdist"]
)
def test_a_secret_revealed_by_a_later_request_is_scrubbed_from_the_report(
    pytester: pytest.Pytester,
    live_server: str,
    monkeypatch: pytest.MonkeyPatch,
    workers: list[str],
) -> None:
    """Events logged, printed and compared before a later request showed their text to be a
    secret: the test's report (its failure, captured output) is scrubbed when it is made."""
    secret = "lt/Late+Secret 0042"
    monkeypatch.setenv("TEST_LATE_SECRET", secret)
    pytester.makeini("[pytest]\nsse_record_on_error = true\n")
    pytester.makepyfile(test_user=textwrap.dedent(SHOWN_BEFORE_KNOWN.format(url=live_server)))
    result = pytester.runpytest("--sse-record", "-p", "no:randomly", "-rA", *workers)
    result.assert_outcomes(failed=1)
    output = result.stdout.str() + result.stderr.str()
    assert "seen:" in output
    (cassette,) = Path(pytester.path, "cassettes").rglob("*.yaml")
    leaks = {
        (where, form)
        for where, text in {"output": output, "cassette": cassette.read_text()}.items()
        for form, trace in traces(secret).items()
        if trace in text
    }
    assert leaks == set()
    assert "something else" in output  # the assertion's own report is there, scrubbed
    assert "REDACTED" in output


REPORTED_ELSEWHERE = """
import os, httpx, pytest

KEY = os.environ["TEST_LONG_SECRET"]

@pytest.mark.sse_cassette
def test_reported(sse_cassette, record_property):
    with httpx.Client(timeout=10) as client:
        client.get("{url}/echo", params={{"note": KEY}}).read()
        client.get("{url}/echo", headers={{"authorization": "Bearer " + KEY}}).read()
    record_property("seen", sse_cassette.events[0].data)
    # pytest shortens a long operand by cutting out its middle: the secret's end would stay.
    assert sse_cassette.events[0].data == "something else"

@pytest.mark.sse_cassette("other")
def test_expected_to_fail(sse_cassette):
    httpx.get("{url}/echo", headers={{"authorization": "Bearer " + KEY}}, timeout=10).read()
    pytest.xfail("the service said " + KEY)
"""


def test_a_shortened_operand_an_xfail_reason_and_a_property_show_no_secret(
    pytester: pytest.Pytester, live_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
    monkeypatch.setenv("TEST_LONG_SECRET", secret)
    pytester.makeini("[pytest]\nsse_record_on_error = true\njunit_family = legacy\n")
    pytester.makepyfile(test_user=textwrap.dedent(REPORTED_ELSEWHERE.format(url=live_server)))
    result = pytester.runpytest("--sse-record", "-p", "no:randomly", "-rA", "--junitxml=out.xml")
    result.assert_outcomes(failed=1, xfailed=1)
    output = result.stdout.str() + result.stderr.str()
    junit = (pytester.path / "out.xml").read_text()
    assert "...REDACTED" in output  # the shortened operand, its end replaced
    assert "the service said REDACTED" in output
    assert 'name="seen"' in junit
    for where, text in {"output": output, "junit": junit}.items():
        assert "0123456789" not in text, where  # not even the end of it
        assert "sk-proj-AbCd" not in text, where
