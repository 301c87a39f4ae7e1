"""Hostile cassette files: every one is refused with a CassetteError, at once, in little memory.

The files in tests/data/hostile/ are the reproducers of an attack on an earlier loader (a
hang, a memory blow-up, stray exception types, values that crashed replay later). The
properties fuzz `Cassette.load` on YAML-ish bytes and hold the fast literal-block reader to
exactly what the safe YAML loader reads.
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import textwrap
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pytest_sse_replay import Cassette, CassetteError, RecordingTransport, ReplayTransport
from pytest_sse_replay.cassette._model import (
    ERROR_NAMES,
    MAX_SECONDS,
    Chunk,
    Ending,
    Interaction,
    RecordedRequest,
    RecordedResponse,
)
from pytest_sse_replay.cassette._yamlio import RawText, load_fast
from tests.drivers import Driver
from tests.fuzz.oracle import check_fast_reader
from tests.fuzz.yamlish import EXAMPLES, documents, mutated_examples, yamlish

HOSTILE = Path(__file__).parents[2] / "data" / "hostile"
URL = "http://127.0.0.1/stream"

# Run in a fresh interpreter: the address space is capped a little above what the imports
# take, so a load that swells with its input dies of MemoryError instead of passing.
_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    from pytest_sse_replay import Cassette, CassetteError
    size = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
    limit = size + (256 << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    start = time.perf_counter()
    try:
        Cassette.load(sys.argv[1])
        kind, message = "loaded", ""
    except CassetteError as exc:
        kind, message = "CassetteError", str(exc)
    except BaseException as exc:
        kind, message = type(exc).__name__, repr(exc)
    seconds = time.perf_counter() - start
    print(json.dumps({"kind": kind, "message": message, "seconds": seconds}))
    """
)

# What each reproducer is refused for.
EXPECTED = {
    "alias_repeats.yaml": "interactions[0]: the anchor &i is not allowed",
    "block_in_flow.yaml": "interactions[0].request.body: not valid YAML",
    "huge_integer_time.yaml": "interactions[0].response.headers_t: a number of 400 characters",
    "huge_time.yaml": "interactions[0].response.timeline line 1: the time 1e308 is past",
    "map_tag_on_a_list.yaml": "interactions: the tag !!map is not allowed",
    "nested_aliases.yaml": "extra.a0: the anchor &a0 is not allowed",
    "set_tag.yaml": "interactions: the tag !!set is not allowed",
    "status_error_name.yaml": "interactions[0].response.end.error: unknown exception",
}


def load_in_child(path: Path) -> dict[str, Any]:
    """Load `path` in a subprocess under a memory cap and a 10 s wall-clock limit."""
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outcome: dict[str, Any] = json.loads(result.stdout)
    return outcome


def test_every_reproducer_has_an_expectation() -> None:
    """Each file in tests/data/hostile/ is checked below, and none is large."""
    names = {path.name for path in HOSTILE.glob("*.yaml")}
    assert names == set(EXPECTED)
    assert all((HOSTILE / name).stat().st_size < 64_000 for name in names)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reproducer_is_refused_quickly_in_bounded_memory(name: str) -> None:
    """Each reproducer gives a CassetteError naming the file and the field, under the caps."""
    path = HOSTILE / name
    outcome = load_in_child(path)
    assert outcome["kind"] == "CassetteError", outcome
    assert outcome["message"].startswith(f"{path}: {EXPECTED[name]}"), outcome


def test_big_blocks_at_many_widths_cost_about_the_file_once() -> None:
    """Big literal blocks at eight indentations do not make eight copies of the file."""
    parts = [
        f"k{i}:\n  body: |{2 + i}\n".encode() + (b" " * (4 + i) + b"x" * 100 + b"\n") * 15_000
        for i in range(8)
    ]
    data = b"".join(parts)
    tracemalloc.start()
    try:
        document = load_fast(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert bytes(document["k5"]["body"].data) == (b"x" * 100 + b"\n") * 15_000
    assert peak < 3 * len(data)


# --- Replaying what the loader lets through --------------------------------------------------


def _cassette(t: float, end: Ending) -> Cassette:
    response = RecordedResponse(
        200, [("content-type", "text/event-stream")], [Chunk(t, b"data: x\n\n")], end, t
    )
    return Cassette([Interaction(RecordedRequest("GET", URL), response)])


@pytest.mark.parametrize("name", ERROR_NAMES)
def test_every_allowed_error_name_replays_as_that_library_error(
    driver: Driver, tmp_path: Path, name: str
) -> None:
    """An ending the loader accepts is raised as the client library's own exception of that name."""
    path = _cassette(0.0, Ending.failed(name, "boom")).save(tmp_path / "c.yaml")
    out = driver.stream(ReplayTransport(Cassette.load(path)), "GET", URL)
    assert type(out.error) is getattr(driver.lib, name)
    assert isinstance(out.error, driver.lib.RequestError)
    assert str(out.error) == "boom"


def test_the_allowed_error_names_are_every_request_error_of_both_libraries() -> None:
    """ERROR_NAMES is exactly the request errors httpx has, and httpx2 has each of them too."""
    import httpx2

    def request_errors(module: Any) -> set[str]:
        return {
            name
            for name, value in vars(module).items()
            if isinstance(value, type) and issubclass(value, module.RequestError)
        }

    assert set(ERROR_NAMES) == request_errors(httpx)
    assert set(ERROR_NAMES) <= request_errors(httpx2)


def test_an_error_name_outside_the_list_cannot_be_saved(tmp_path: Path) -> None:
    """Saving an ending no cassette may hold (HTTPStatusError needs a response) is refused."""
    with pytest.raises(ValueError, match=r"end\.error: unknown exception 'HTTPStatusError'"):
        _cassette(0.0, Ending.failed("HTTPStatusError", "x")).save(tmp_path / "c.yaml")
    assert not (tmp_path / "c.yaml").exists()


class _BrokenStream(httpx.SyncByteStream):
    """One event, then an exception that is no request error."""

    def __iter__(self) -> Iterator[bytes]:
        yield b"data: a\n\n"
        raise ValueError("odd")


def test_recorder_writes_another_exception_as_a_read_error_naming_it(tmp_path: Path) -> None:
    """A body read that raised ValueError is recorded as a ReadError, and the cassette loads."""
    wrapped = httpx.MockTransport(
        lambda request: httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=_BrokenStream()
        )
    )
    recorder = RecordingTransport(wrapped=wrapped)
    with httpx.Client(transport=recorder) as client, pytest.raises(ValueError, match="odd"):
        client.get(URL)
    path = recorder.cassette.save(tmp_path / "c.yaml")
    end = Cassette.load(path).interactions[0].response.end
    assert end == Ending.failed("ReadError", "ValueError: odd")


def test_an_in_memory_status_error_ending_replays_as_a_read_error(driver: Driver) -> None:
    """Built in code with a name whose class needs other arguments, replay still fails honestly."""
    out = driver.stream(
        ReplayTransport(_cassette(0.0, Ending.failed("HTTPStatusError", "x"))), "GET", URL
    )
    assert isinstance(out.error, driver.lib.ReadError)
    assert str(out.error) == "HTTPStatusError: x"


def test_the_latest_time_a_cassette_holds_times_out_as_a_read_timeout(
    driver: Driver, tmp_path: Path
) -> None:
    """A chunk at the 7-day limit, paced, is a ReadTimeout for a client with a read timeout."""
    path = _cassette(MAX_SECONDS, Ending()).save(tmp_path / "c.yaml")
    cassette = Cassette.load(path)
    cassette.interactions[0].response.headers_t = 0.0
    out = driver.stream(
        ReplayTransport(cassette, speed=1.0), "GET", URL, timeout=driver.lib.Timeout(5.0, read=0.05)
    )
    assert isinstance(out.error, driver.lib.ReadTimeout)


class _Woken(Exception):
    """Raised by the interval timer to end a sleep the test does not want to wait out."""


@pytest.fixture
def wake_up() -> Iterator[None]:
    """An interval timer that interrupts the main thread after 50 ms."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise _Woken

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_the_latest_time_is_a_sleep_python_accepts(tmp_path: Path, wake_up: None) -> None:
    """A head wait of 7 days, with no read timeout, starts sleeping (no OverflowError)."""
    path = _cassette(MAX_SECONDS, Ending()).save(tmp_path / "c.yaml")
    transport = ReplayTransport(Cassette.load(path), speed=1.0)
    with httpx.Client(transport=transport, timeout=None) as client, pytest.raises(_Woken):
        client.get(URL)


def test_times_past_the_limit_are_refused_when_saving(tmp_path: Path) -> None:
    """A model with a time past 7 days (or not finite) cannot be written."""
    for t in (MAX_SECONDS + 1.0, math.inf, 1e308):
        with pytest.raises(ValueError, match="expected seconds from 0 to 604800"):
            _cassette(t, Ending()).save(tmp_path / "c.yaml")


@pytest.mark.parametrize("value", ["604800.5", "1.0e+308", "-0.0001", "1.0e+999", ".nan", "-.inf"])
def test_headers_t_outside_seven_days_is_refused(tmp_path: Path, value: str) -> None:
    """headers_t must be a number of seconds from 0 to 604800."""
    text = (HOSTILE / "huge_integer_time.yaml").read_text().replace("9" * 400, value)
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(CassetteError, match=r"headers_t: expected seconds from 0 to 604800"):
        Cassette.load(path)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://[::1/s?token=url-secret-1", "Invalid IPv6 URL"),
        ("http://[::zz]/s", "does not appear to be an IPv4 or IPv6 address"),
        ("http://h:abc/s", "Port could not be cast"),
        ("http://h:99999/s", "Port out of range"),
    ],
)
def test_an_unparsable_url_is_refused_naming_the_field(
    tmp_path: Path, url: str, reason: str
) -> None:
    """A URL that matching and redaction could not parse (an unbalanced bracket, a bad IPv6
    host, a port that is no port) is refused at load, naming the field but not the URL, instead
    of a ValueError in `show`, `diff` or a replay."""
    path = _cassette(0.0, Ending()).save(tmp_path / "c.yaml")
    text = path.read_text().replace(f"url: {URL}", f"url: {url}")
    assert url in text
    path.write_text(text)
    with pytest.raises(CassetteError, match=r"interactions\[0\]\.request\.url: not a URL") as info:
        Cassette.load(path)
    assert reason in str(info.value)
    assert "url-secret-1" not in str(info.value)


# --- Fuzzing in every run ---------------------------------------------------------------------


class _Hang(Exception):
    """A load that ran past the watchdog."""


@pytest.fixture(scope="module")
def watchdog() -> Iterator[None]:
    """Turns SIGALRM into `_Hang`; each example arms it for a generous few seconds."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise _Hang("Cassette.load ran for more than 5 s")

    previous = signal.signal(signal.SIGALRM, handler)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


_counter = iter(range(10**9))


def load_or_refuse(directory: Path, data: bytes) -> None:
    """`Cassette.load` on `data` returns, or raises CassetteError naming the file, within 5 s."""
    path = directory / f"fuzz-{next(_counter)}.yaml"
    path.write_bytes(data)
    signal.alarm(5)
    message = ""
    try:
        Cassette.load(path)
    except CassetteError as exc:
        message = str(exc)
    finally:
        signal.alarm(0)
        path.unlink()
    assert not message or message.startswith(f"{path}: ")


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=yamlish())
@example(data=b"a: &a [1]\nb: [*a, *a]\n")
@example(data=b"version: 1\ninteractions: !!set [a]\n")
def test_load_returns_or_refuses_whatever_the_bytes(
    tmp_path: Path, watchdog: None, data: bytes
) -> None:
    """Any bytes: a cassette, or a CassetteError naming the file; never a hang or another error."""
    load_or_refuse(tmp_path, data)


def test_the_example_cassettes_load() -> None:
    """The mutations start from real cassettes, each of which loads."""
    assert len(EXAMPLES) >= 4
    for path in sorted((Path(__file__).parents[3] / "cassettes").glob("*.yaml")):
        assert len(Cassette.load(path)) >= 1


# --- The fast literal-block reader reads exactly what YAML reads -------------------------------


@settings(max_examples=400)
@given(data=st.one_of(documents(), documents(), mutated_examples()))
@example(data=b"request: {method: GET,\n  body: |\n    x\n  }\n")
@example(data=b"a:\n  body: |\n    x\n   b: 1\n")
@example(data=b"message: |\n  body: |\n    x\n")
def test_fast_reader_reads_what_the_safe_loader_reads(data: bytes) -> None:
    """The fast reader rejects all YAML rejects; where both read, the documents are equal."""
    check_fast_reader(data)


def test_fast_reader_takes_the_fast_path_for_written_cassettes() -> None:
    """For files this package writes, the blocks come back as RawText: the fast path ran."""
    document = load_fast(EXAMPLES[0])
    response = document["interactions"][0]["response"]
    assert isinstance(response["body"], RawText)
    assert isinstance(response["timeline"], RawText)


def test_refusal_names_the_line_of_an_alias(tmp_path: Path) -> None:
    """An alias is refused where it stands, with its line."""
    path = tmp_path / "c.yaml"
    path.write_bytes(b"version: 1\ninteractions:\n- a\n- &x b\n")
    with pytest.raises(
        CassetteError, match=r"interactions\[1\]: the anchor &x is not allowed.*line 4"
    ):
        Cassette.load(path)


_ONE_STREAM = """\
version: 1
interactions:
- request:
    method: GET
    url: {url}
    headers: {{}}
    body: ''
  response:
    status: 200
    headers:
      content-type: {content_type}
    headers_t: 0.1
    body: "data: 1\\n\\n"
    timeline: "0.1 9\\n"
    end: complete
"""


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:99999/stream", "Port out of range"),
        ("http://127.0.0.1:ab/stream", "Port could not be cast"),
        ("'http://[::1/stream'", "Invalid IPv6 URL"),
    ],
)
def test_a_url_replay_cannot_parse_is_refused_when_loading(
    tmp_path: Path, url: str, problem: str
) -> None:
    """A recorded URL with a bad port or IPv6 address is a CassetteError naming request.url,
    not a ValueError raised from inside replay."""
    path = tmp_path / "c.yaml"
    path.write_text(_ONE_STREAM.format(url=url, content_type="text/event-stream"))
    with pytest.raises(CassetteError) as caught:
        Cassette.load(path)
    assert str(caught.value).startswith(f"{path}: interactions[0].request.url: not a URL")
    assert problem in str(caught.value)


@pytest.mark.parametrize("value", ['"text/event-stream\\r\\nx-injected: 1"', '"a\\0b"'])
def test_a_header_value_holding_a_line_break_is_refused(tmp_path: Path, value: str) -> None:
    """A header value with CR, LF or NUL (which `serve` would write as two header lines) is
    refused, naming the header."""
    path = tmp_path / "c.yaml"
    path.write_text(_ONE_STREAM.format(url=URL, content_type=value))
    with pytest.raises(CassetteError) as caught:
        Cassette.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: interactions[0].response.headers.content-type: ")
    assert "holds no CR, LF or NUL" in message


def test_save_refuses_what_load_would_refuse_in_urls_and_headers(tmp_path: Path) -> None:
    """`save` raises ValueError for a bad URL or a header with a line break, writing nothing."""
    response = RecordedResponse(
        200, [("x-a", "1\r\nx-b: 2")], [Chunk(0.1, b"")], Ending("complete")
    )
    for request, bad in (
        (RecordedRequest("GET", "http://h:99999/", [], b""), "request.url"),
        (RecordedRequest("GET", URL, [], b""), "response.headers.x-a"),
    ):
        ok = RecordedResponse(200, [], [Chunk(0.1, b"")], Ending("complete"))
        chosen = response if bad.startswith("response") else ok
        with pytest.raises(ValueError, match=bad):
            Cassette([Interaction(request, chosen)]).save(tmp_path / "c.yaml")
        assert not (tmp_path / "c.yaml").exists()


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("match_on", [["json"], ["body"]])
def test_a_request_body_nested_too_deep_for_python_replays(
    tmp_path: Path, match_on: list[str]
) -> None:
    """A recorded and a sent JSON body 100,000 lists deep are matched (as text), not a
    RecursionError out of the transport."""
    body = ('{"q": ' + _deep(100_000) + "}").encode()
    request = RecordedRequest("POST", URL, [("content-type", "application/json")], body)
    response = RecordedResponse(200, [], [Chunk(0.1, b"ok")], Ending("complete"))
    transport = ReplayTransport(Cassette([Interaction(request, response)]), match_on=match_on)
    with httpx.Client(transport=transport) as client:
        sent = client.post(URL, content=body, headers={"content-type": "application/json"})
    assert sent.content == b"ok"


def test_a_json_request_body_too_deep_to_walk_is_redacted_whole() -> None:
    """A JSON body nested too deep to look at field by field is kept as REDACTED, since no
    field of it can be shown to hold no secret."""
    from pytest_sse_replay.cassette import Redaction

    body = ('{"password": "hunter2-secret", "x": ' + _deep(100_000) + "}").encode()
    request = RecordedRequest("POST", URL, [("content-type", "application/json")], body)
    redacted, _ = Redaction().request(request)
    assert redacted.body == b"REDACTED"
