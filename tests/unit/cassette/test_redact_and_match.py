"""Redaction (secrets never reach a cassette) and request matching, without a network."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_sse_replay.cassette import _redact
from pytest_sse_replay.cassette._model import (
    Cassette,
    Chunk,
    Interaction,
    RecordedRequest,
    RecordedResponse,
)
from pytest_sse_replay.cassette._redact import MAX_HUNTED_LENGTH, Redaction
from pytest_sse_replay.playback._matching import REDACTED, Matcher, NoRecording, parse_match_on

SECRET = "sk-live-987654321"


def interaction(
    url: str = "http://api.test/s",
    headers: list[tuple[str, str]] | None = None,
    chunks: list[bytes] | None = None,
    response_headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    method: str = "GET",
) -> Interaction:
    return Interaction(
        RecordedRequest(method, url, headers or [], body),
        RecordedResponse(
            200,
            response_headers or [("content-type", "text/event-stream")],
            [Chunk(0.1 * (n + 1), c) for n, c in enumerate(chunks or [b"data: x\n\n"])],
        ),
    )


def test_listed_headers_and_query_parameters_are_redacted() -> None:
    """Default header and query names get REDACTED as their value; others are untouched."""
    cassette = Cassette(
        [
            interaction(
                url=f"http://api.test/s?api_key={SECRET}&page=2",
                headers=[("authorization", f"Bearer {SECRET}x"), ("accept", "text/event-stream")],
                response_headers=[("set-cookie", "session=abcdef123; Path=/")],
            )
        ]
    )
    Redaction().apply(cassette)
    request = cassette.interactions[0].request
    assert request.url == "http://api.test/s?api_key=REDACTED&page=2"
    assert request.headers == [("authorization", REDACTED), ("accept", "text/event-stream")]
    assert cassette.interactions[0].response.headers == [("set-cookie", REDACTED)]


def test_a_secret_echoed_elsewhere_is_scrubbed_there_too() -> None:
    """A redacted value found in another URL, a response header or event data is replaced."""
    cassette = Cassette(
        [
            interaction(
                headers=[("x-api-key", SECRET)],
                method="POST",
                body=b'{"k": "' + SECRET.encode() + b'"}',
            ),
            interaction(
                url=f"http://api.test/stream?job=1&echo={SECRET}",
                response_headers=[("content-type", "text/event-stream"), ("x-echo", SECRET)],
                chunks=[b'data: {"key": "sk-live-98', b'7654321"}\n\n', b"data: done\n\n"],
            ),
        ]
    )
    found = Redaction().apply(cassette)
    assert found == {SECRET}
    second = cassette.interactions[1]
    assert SECRET not in second.request.url
    assert ("x-echo", REDACTED) in second.response.headers
    assert second.response.body == b'data: {"key": "REDACTED"}\n\ndata: done\n\n'
    # The cut that fell inside the secret moved to its end; the others stay put.
    assert [c.data for c in second.response.chunks] == [
        b'data: {"key": "REDACTED',
        b'"}\n\n',
        b"data: done\n\n",
    ]
    assert [c.t for c in second.response.chunks] == pytest.approx([0.1, 0.2, 0.3])
    assert SECRET.encode() not in cassette.interactions[0].request.body


def test_short_values_are_not_hunted_for_elsewhere() -> None:
    """A 3-character key is redacted where it stands but not replaced across the body."""
    cassette = Cassette([interaction(headers=[("x-api-key", "abc")], chunks=[b"data: abc\n\n"])])
    Redaction().apply(cassette)
    assert cassette.interactions[0].request.headers == [("x-api-key", REDACTED)]
    assert cassette.interactions[0].response.body == b"data: abc\n\n"


def test_extended_names_are_redacted() -> None:
    """Names added with extend() are redacted like the defaults, case-insensitively."""
    cassette = Cassette(
        [interaction(url="http://a.test/?Sig=zzzzzzzz", headers=[("X-Tenant", "tenant-1234")])]
    )
    Redaction().extend(headers=["x-tenant"], query=["sig"]).apply(cassette)
    assert cassette.interactions[0].request.url == "http://a.test/?Sig=REDACTED"
    assert cassette.interactions[0].request.headers == [("X-Tenant", REDACTED)]


@given(
    cuts=st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=30),
    prefix=st.binary(max_size=40).filter(lambda b: SECRET.encode()[:1] not in b),
)
def test_scrubbing_keeps_every_other_byte_and_the_chunk_count_bound(
    cuts: list[int], prefix: bytes
) -> None:
    """However the body is cut, scrubbing yields body.replace(secret, REDACTED) and no more chunks."""
    body = prefix + b"data: " + SECRET.encode() + b"\n\n" + prefix
    chunks, rest = [], body
    for cut in cuts:
        if not rest:
            break
        chunks.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        chunks.append(rest)
    cassette = Cassette([interaction(headers=[("x-api-key", SECRET)], chunks=chunks)])
    Redaction().apply(cassette)
    response = cassette.interactions[0].response
    assert response.body == body.replace(SECRET.encode(), REDACTED.encode())
    assert len(response.chunks) <= len(chunks)
    assert all(c.data for c in response.chunks)


def test_redacted_query_values_match_any_value() -> None:
    """A recorded REDACTED query value matches whatever value the test sends."""
    matcher = Matcher([interaction(url="http://a.test/s?api_key=REDACTED&job=1")])
    assert matcher.find(RecordedRequest("GET", "http://a.test/s?job=1&api_key=anything")) == 0
    with pytest.raises(NoRecording):
        matcher.find(RecordedRequest("GET", "http://a.test/s?job=2&api_key=anything"))


def test_exact_values_pair_before_redacted_ones() -> None:
    """With a repeated name, an exact recorded value is matched first, the redacted one after."""
    matcher = Matcher([interaction(url="http://a.test/s?k=REDACTED&k=zeta")])
    assert matcher.find(RecordedRequest("GET", "http://a.test/s?k=alpha&k=zeta")) == 0


def test_default_ports_and_host_case_do_not_matter() -> None:
    """http://HOST:80/ and http://host/ are the same place."""
    matcher = Matcher([interaction(url="http://API.test:80/s")])
    assert matcher.find(RecordedRequest("get", "http://api.test/s")) == 0


@pytest.mark.parametrize(
    ("rule", "recorded", "sent", "matches"),
    [
        ("body", b'{"a":1}', b'{"a":1}', True),
        ("body", b'{"a":1}', b'{"a": 1}', False),
        ("json", b'{"a":1,"b":[1]}', b'{"b": [1], "a": 1}', True),
        ("json", b'{"a":1}', b'{"a":2}', False),
    ],
)
def test_match_on_body_and_json(rule: str, recorded: bytes, sent: bytes, matches: bool) -> None:
    """match_on=body compares bytes; match_on=json compares parsed JSON."""
    matcher = Matcher([interaction(method="POST", body=recorded)], match_on=[rule])
    request = RecordedRequest("POST", "http://api.test/s", [], sent)
    if matches:
        assert matcher.find(request) == 0
    else:
        with pytest.raises(
            NoRecording, match=f"{'json body' if rule == 'json' else 'body'}: recorded"
        ):
            matcher.find(request)


def test_match_on_a_header() -> None:
    """match_on=headers:NAME requires that header's value (a REDACTED one matches any)."""
    matcher = Matcher(
        [
            interaction(headers=[("x-tenant", "t1")]),
            interaction(headers=[("x-tenant", REDACTED)], chunks=[b"data: r\n\n"]),
        ],
        match_on=["headers:X-Tenant"],
    )
    assert matcher.find(RecordedRequest("GET", "http://api.test/s", [("x-tenant", "t1")])) == 0
    assert matcher.find(RecordedRequest("GET", "http://api.test/s", [("x-tenant", "t9")])) == 1


def test_unknown_match_on_entry_is_refused() -> None:
    """A bad match_on entry names itself and the valid choices."""
    with pytest.raises(
        ValueError, match=r"match_on: unknown entry 'bdy'; use any of method, .*body"
    ):
        parse_match_on(["bdy"])


@pytest.mark.parametrize(
    "url",
    [
        "http://h/login?next=http://u:hunter2secretXYZ@h2/",
        "http://h/login?next=http%3A%2F%2Fu%3Ahunter2secretXYZ%40h2%2F",
        "http://h/login?a=1&next=https://svc:hunter2secretXYZ@h2/cb?x=1",
    ],
)
def test_credentials_of_a_url_inside_a_query_value_are_redacted(url: str) -> None:
    """A redirect target carried in a query value keeps no password, raw or percent-encoded,
    in the request a cassette holds or in what an output shows."""
    redaction = Redaction()
    request, secrets = redaction.request(RecordedRequest("GET", url, [], b""))
    assert "hunter2secretXYZ" not in request.url
    assert "REDACTED" in request.url
    assert "hunter2secretXYZ" in secrets
    assert "hunter2secretXYZ" not in redaction.url(url)


# -- secrets inside other encodings of a request ------------------------------------------------

MULTIPART = (
    b"--b0und\r\n"
    b'Content-Disposition: form-data; name="note"\r\n\r\n'
    b"hello\r\n"
    b"--b0und\r\n"
    b'Content-Disposition: form-data; name="password"\r\n\r\n'
    b"pw1\r\n"
    b"--b0und\r\n"
    b'Content-Disposition: form-data; name="apiKey"\r\n\r\n' + SECRET.encode() + b"\r\n--b0und\r\n"
    b'Content-Disposition: form-data; name="upload"; filename="token"\r\n'
    b"Content-Type: text/plain\r\n\r\n"
    b"file body\r\n"
    b"--b0und--\r\n"
)


def test_multipart_fields_are_redacted_by_name_keeping_every_other_byte() -> None:
    """A part named like a secret field gets REDACTED for its content, however short; a
    file whose *filename* looks like one is kept, and so is every delimiter."""
    cassette = Cassette(
        [
            interaction(
                method="POST",
                headers=[("content-type", 'multipart/form-data; boundary="b0und"')],
                body=MULTIPART,
                chunks=[f"data: {SECRET}\n\n".encode()],
            )
        ]
    )
    Redaction().apply(cassette)
    body = cassette.interactions[0].request.body
    assert body == MULTIPART.replace(b"pw1", b"REDACTED").replace(SECRET.encode(), b"REDACTED")
    assert cassette.interactions[0].response.chunks[0].data == b"data: REDACTED\n\n"


def test_a_multipart_body_without_a_boundary_is_kept() -> None:
    request = RecordedRequest(
        "POST", "http://api.test/s", [("content-type", "multipart/form-data")], MULTIPART
    )
    assert Redaction().request(request)[0].body == MULTIPART


@pytest.mark.parametrize(
    ("url", "body", "content_type"),
    [
        ("http://api.test/s", f'{{"payload": "{{\\"api_key\\": \\"{SECRET}\\"}}"}}', "json"),
        ("http://api.test/s", f'{{"a": ["x=1&token={SECRET}"]}}', "json"),
        ("http://api.test/s", f"state=%7B%22secret%22%3A%22{SECRET}%22%7D&n=1", "form"),
        (f"http://api.test/s?state=%7B%22token%22%3A%22{SECRET}%22%7D", "", ""),
        (f"http://api.test/s?a=1;api_key={SECRET}", "", ""),
        (f"http://api.test/s?next=%2Fcb%3Faccess_token%3D{SECRET}", "", ""),
    ],
    ids=["json-in-json", "query-in-json", "json-in-form", "json-in-query", "semicolon", "nested"],
)
def test_a_secret_field_inside_a_value_is_hunted(url: str, body: str, content_type: str) -> None:
    """A document inside a value (JSON in a JSON string, a form value or a query value; a
    query string in one) and a `;`-separated parameter are read for secret fields."""
    kinds = {"json": "application/json", "form": "application/x-www-form-urlencoded"}
    headers = [("content-type", kinds[content_type])] if content_type else []
    cassette = Cassette(
        [
            interaction(
                method="POST",
                url=url,
                headers=headers,
                body=body.encode(),
                chunks=[f"data: {SECRET}\n\n".encode()],
            )
        ]
    )
    Redaction().apply(cassette)
    shown = repr(cassette.interactions[0])
    assert "987654321" not in shown
    assert cassette.interactions[0].response.chunks[0].data == b"data: REDACTED\n\n"
    assert SECRET not in Redaction().url(url)


def test_nesting_is_read_only_so_deep() -> None:
    """Four documents deep at most: a value is not unpacked without end."""
    inner = f'{{"token": "{SECRET}"}}'
    for _ in range(6):
        inner = json.dumps({"wrap": inner})
    request = RecordedRequest(
        "POST", "http://api.test/s", [("content-type", "application/json")], inner.encode()
    )
    assert Redaction().request(request)[1] == frozenset()
    shallow = json.dumps({"wrap": json.dumps({"token": SECRET})}).encode()
    request.body = shallow
    assert SECRET in Redaction().request(request)[1]


@pytest.mark.parametrize(
    ("value", "echoed"),
    [
        ("Bearer c2stbGl2ZS05ODc2NTQzMjE==", "c2stbGl2ZS05ODc2NTQzMjE"),
        (
            'Digest username="alice.smith", response="6629fae49393a05397450978507c4ef1"',
            "6629fae49393a05397450978507c4ef1",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261125/us-east-1/s3/aws4_request, "
            "SignedHeaders=host, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
            "AKIAIOSFODNN7EXAMPLE",
        ),
    ],
    ids=["bearer-unpadded", "digest-response", "aws-access-key-id"],
)
def test_an_authorization_part_echoed_alone_is_hunted(value: str, echoed: str) -> None:
    cassette = Cassette(
        [interaction(headers=[("authorization", value)], chunks=[f"data: {echoed}!\n\n".encode()])]
    )
    Redaction().apply(cassette)
    assert cassette.interactions[0].response.chunks[0].data == b"data: REDACTED!\n\n"


def test_a_realm_an_algorithm_or_a_user_name_is_not_taken_for_a_secret() -> None:
    """A common user name ("status") would be replaced all through the events."""
    header = 'Digest username="status", realm="events@api", algorithm=SHA-256-sess'
    data = b"data: events@api SHA-256-sess status\n\n"
    cassette = Cassette([interaction(headers=[("authorization", header)], chunks=[data])])
    Redaction().apply(cassette)
    assert cassette.interactions[0].response.chunks[0].data == data


# -- what an attack on the forms above found --------------------------------------------------


def multipart(head: bytes, value: bytes = SECRET.encode()) -> bytes:
    return b"--abc\r\n" + head + b"\r\n\r\n" + value + b"\r\n--abc--\r\n"


@pytest.mark.parametrize(
    ("head", "content_type"),
    [
        (b'Content-Disposition: form-data; name="password"', "multipart/form-data; boundary = abc"),
        (
            b'Content-Disposition: form-data; name="password"',
            "multipart/form-data; xboundary=zzz; boundary=abc",
        ),
        (
            b'Content-Type: text/plain; name="note"\r\nContent-Disposition: form-data; name="password"',
            "multipart/form-data; boundary=abc",
        ),
        (b'Content-Disposition: form-data; name = "password"', "multipart/form-data; boundary=abc"),
        (
            b"Content-Disposition: form-data; name*=UTF-8''pass%77ord",
            "multipart/form-data; boundary=abc",
        ),
        (
            b'Content-Disposition: form-data; name="user[password]"',
            "multipart/form-data; boundary=abc",
        ),
        (b'Content-Disposition: form-data; name="password"', "multipart/mixed; boundary=abc"),
    ],
    ids=[
        "spaced-boundary",
        "xboundary",
        "name-elsewhere",
        "spaced-name",
        "rfc5987",
        "rails",
        "mixed",
    ],
)
def test_every_way_a_server_reads_a_multipart_field_name_is_redacted(
    head: bytes, content_type: str
) -> None:
    request = RecordedRequest(
        "POST", "http://api.test/s", [("content-type", content_type)], multipart(head)
    )
    shown, secrets = Redaction().request(request)
    assert shown.body == multipart(head, b"REDACTED")
    assert SECRET in secrets


@pytest.mark.parametrize(
    "value", [b"p\xe4sswort-123", "\ud800abcdefg".encode("utf-8", "surrogatepass")]
)
def test_a_secret_that_is_not_utf8_is_redacted_without_an_error(value: bytes) -> None:
    head = b'Content-Disposition: form-data; name="password"'
    ct = [("content-type", "multipart/form-data; boundary=abc")]
    request = RecordedRequest("POST", "http://api.test/s", ct, multipart(head, value))
    assert Redaction().request(request)[0].body == multipart(head, b"REDACTED")
    assert "REDACTED" in repr(request)
    lone = RecordedRequest(
        "POST",
        "http://a/s",
        [("content-type", "application/json")],
        b'{"password": "\\ud800abcdefg"}',
    )
    assert Redaction().request(lone)[0].body == b'{"password": "REDACTED"}'


@pytest.mark.parametrize(
    "body",
    [
        f'{{"password": "{SECRET}", "n": {"9" * 5000}}}',  # past Python's int digit limit
        f'{{"api_key":"{SECRET}"}}\n{{"a":1}}\n',  # JSON lines
        f'{{"token": "{SECRET}", "x": "a\\"b"}} trailing',
        f'{{"password": "{SECRET}", "password": "second-value"}}',  # a name given twice
    ],
    ids=["big-number", "json-lines", "trailing-text", "duplicate-name"],
)
def test_a_json_body_python_does_not_read_as_one_document_is_redacted_as_text(body: str) -> None:
    cassette = Cassette(
        [
            interaction(
                method="POST",
                headers=[("content-type", "application/json")],
                body=body.encode(),
                chunks=[f"data: {SECRET}\n\n".encode()],
            )
        ]
    )
    Redaction().apply(cassette)
    assert SECRET.encode() not in cassette.interactions[0].request.body
    assert b'"REDACTED"' in cassette.interactions[0].request.body
    assert cassette.interactions[0].response.chunks[0].data == b"data: REDACTED\n\n"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"http://a/s?password={SECRET}&n=1", "http://a/s?password=REDACTED&n=1"),
        (f"http://a/s?api-key={SECRET}", "http://a/s?api-key=REDACTED"),
        (f"http://a/s?token={SECRET};a=b", "http://a/s?token=REDACTED;a=b"),
        (
            f"http://a/s?a=1;api_key={SECRET}&token=zzzzzzzz",
            "http://a/s?a=1;api_key=REDACTED&token=REDACTED",
        ),
        (
            "http://a/s?state=" + quote(f"token={SECRET}&return_to=/home?tab=1", safe=""),
            "http://a/s?state=" + quote("token=REDACTED&return_to=/home?tab=1", safe=""),
        ),
    ],
    ids=["password", "dashed", "semicolon-kept", "both-separators", "nested-with-question-mark"],
)
def test_query_parameters_are_redacted_keeping_every_other_byte(url: str, shown: str) -> None:
    assert Redaction().url(url) == shown


@pytest.mark.parametrize(
    "url",
    [
        f"http://a/s?a=1;api_key={SECRET}",
        "http://a/s?state=" + quote(json.dumps({"token": SECRET}), safe=""),
        f"http://a/s?next=/cb?access_token={SECRET}",
    ],
    ids=["semicolon", "json-in-query", "nested-url"],
)
def test_a_secret_redacted_inside_a_value_still_replays(url: str) -> None:
    """The recording holds REDACTED inside the value: it matches any text in its place."""
    cassette = Cassette([interaction(url=url)])
    Redaction().apply(cassette)
    assert SECRET not in cassette.interactions[0].request.url
    matcher = Matcher(list(cassette.interactions), ())
    for live in (url, url.replace(SECRET, "another-key-123")):
        assert matcher.matching(RecordedRequest("GET", live, [], b"")) == (0,)
    other = url.replace("a=1", "a=2").replace("state=", "estate=").replace("/cb", "/cc")
    assert matcher.matching(RecordedRequest("GET", other, [], b"")) == ()


def test_ordinary_words_are_not_taken_for_secrets() -> None:
    """A nested `{"key": "status"}` is a field's name, and a cookie `pref=running=` is not
    base64: neither may be replaced all through the events."""
    data = b'event: status\ndata: {"status": "running"}\n\n'
    cassette = Cassette(
        [
            interaction(
                url="http://a/s?filter=" + quote('{"key": "status", "op": "eq"}', safe=""),
                headers=[("cookie", "pref=running=")],
                chunks=[data],
            )
        ]
    )
    Redaction().apply(cassette)
    assert cassette.interactions[0].response.chunks[0].data == data


def test_a_document_too_deep_to_walk_is_a_secret_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail closed: a nested value the walk runs out of stack on is hunted as a whole."""

    def out_of_stack(*args: object) -> object:
        raise RecursionError

    text = '{"a": [[["token-like value"]]], "token": "sk-nested-1234"}'
    found: set[str] = set()
    monkeypatch.setattr(_redact, "_redact_json_value", out_of_stack)
    _redact._nested_secrets(text, frozenset({"token"}), found)
    assert found == {text}


def test_a_value_longer_than_the_hunting_limit_is_redacted_in_place_only() -> None:
    """A file uploaded under a field named "secret" is replaced, not hunted in every form."""
    big = b"x1y2z3" * (MAX_HUNTED_LENGTH // 3)
    head = b'Content-Disposition: form-data; name="secret"'
    ct = [("content-type", "multipart/form-data; boundary=abc")]
    shown, secrets = Redaction().request(
        RecordedRequest("POST", "http://a/s", ct, multipart(head, big))
    )
    assert shown.body == multipart(head, b"REDACTED")
    assert secrets == frozenset()


def test_a_token_in_the_fragment_is_redacted() -> None:
    """An OAuth implicit grant hands the token over in the fragment."""
    url = f"http://a/cb?x=1#access_token={SECRET}&state=s"
    assert Redaction().url(url) == "http://a/cb?x=1#access_token=REDACTED&state=s"


def test_a_redacted_part_of_a_query_value_does_not_swallow_a_separator() -> None:
    """`a=1;api_key=REDACTED` does not answer `a=1;api_key=K;page=2`: a secret in a query
    value cannot hold the `;` or `&` that would have split it."""
    first, second = f"http://a/s?a=1;api_key={SECRET}", f"http://a/s?a=1;api_key={SECRET};page=2"
    cassette = Cassette([interaction(url=first), interaction(url=second)])
    Redaction().apply(cassette)
    matcher = Matcher(list(cassette.interactions), ())
    assert matcher.matching(RecordedRequest("GET", second, [], b"")) == (1,)
    assert matcher.matching(RecordedRequest("GET", first, [], b"")) == (0,)


def test_the_end_or_start_of_a_secret_beside_an_ellipsis_is_scrubbed() -> None:
    long_secret = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
    text = "assert 'http://h/?n=sk-proj-Ab...xYz0123456789' == 'x' and 'a...b'"
    shown = Redaction().scrub(text, [long_secret], clipped=True)
    assert shown == "assert 'http://h/?n=REDACTED...REDACTED' == 'x' and 'a...b'"
    assert Redaction().scrub(text, [long_secret]) == text  # only when asked
