"""The cassette file, format version 1: layout, exact round trips, errors, cache, atomic writes."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_sse_replay.cassette import _file
from pytest_sse_replay.cassette import _model as _cassette
from pytest_sse_replay.cassette import _yamlio as _yamlio
from pytest_sse_replay.cassette._model import (
    Cassette,
    CassetteError,
    Chunk,
    Ending,
    Interaction,
    RecordedRequest,
    RecordedResponse,
)

SSE_BODY = [
    b'event: status\ndata: {"type": "status", "progress": 0.5}\n\n',
    b': heartbeat\n\nevent: final\ndata: {"type": "fin',
    b'al", "sequence": 3}\n\n',
]


COMPLETE = Ending("complete")


def job_flow(stream_chunks: list[bytes] = SSE_BODY, end: Ending = COMPLETE) -> Cassette:
    """POST creates a job (an ordinary JSON response), GET streams it."""
    create = Interaction(
        RecordedRequest(
            "POST",
            "https://api.example.test/v1/jobs",
            [("content-type", "application/json"), ("x-api-key", "REDACTED")],
            b'{"prompt": "hello"}',
        ),
        RecordedResponse(
            201,
            [("content-type", "application/json")],
            [Chunk(0.042, b'{"job_id": "j-1"}')],
            headers_t=0.041,
        ),
    )
    stream = Interaction(
        RecordedRequest(
            "GET",
            "https://api.example.test/v1/jobs/j-1/stream",
            [("accept", "text/event-stream"), ("authorization", "REDACTED")],
        ),
        RecordedResponse(
            200,
            [
                ("content-type", "text/event-stream"),
                ("set-cookie", "a=1"),
                ("set-cookie", "b=2"),
                ("cache-control", "no-cache"),
            ],
            [Chunk(round(0.1 * (n + 1), 6), data) for n, data in enumerate(stream_chunks)],
            end,
            headers_t=0.05,
        ),
    )
    return Cassette([create, stream])


def one_body(body_chunks: list[bytes], request_body: bytes = b"") -> Cassette:
    response = RecordedResponse(
        200, [], [Chunk(float(n), data) for n, data in enumerate(body_chunks)]
    )
    return Cassette(
        [Interaction(RecordedRequest("POST", "http://x.test/", [], request_body), response)]
    )


def reload(cassette: Cassette, path: Path) -> Cassette:
    """Save, forget the cache, load: the file is really parsed."""
    cassette.save(path)
    _file._clear_cache()
    return Cassette.load(path)


# --- Layout -------------------------------------------------------------------------------


def test_layout_of_a_job_flow(tmp_path: Path) -> None:
    """The file is `version: 1` then `interactions:`, with the fields in the documented order."""
    path = job_flow().save(tmp_path / "flow.yaml")
    text = path.read_text("utf-8")
    assert text.startswith("version: 1\ninteractions:\n- request:\n    method: POST\n")
    assert (
        "  response:\n"
        "    status: 201\n"
        "    headers:\n"
        "      content-type: application/json\n"
        "    headers_t: 0.041\n"
        "    body: |-\n"
        '      {"job_id": "j-1"}\n'
        "    timeline: |\n"
        "      0.042 17\n"
        "    end: complete\n"
    ) in text
    # A GET without a body still says so; `decoded` and `body_encoding` only when needed.
    assert "    body: ''\n" in text
    assert "decoded" not in text
    assert "body_encoding" not in text


def test_plain_sse_body_is_a_readable_block(tmp_path: Path) -> None:
    """A plain SSE body is written once, as a literal block holding the event lines verbatim."""
    text = job_flow().save(tmp_path / "c.yaml").read_text("utf-8")
    assert (
        "    body: |+\n"
        "      event: status\n"
        '      data: {"type": "status", "progress": 0.5}\n'
        "\n"
        "      : heartbeat\n"
        "\n"
        "      event: final\n"
        '      data: {"type": "final", "sequence": 3}\n'
        "\n"
        "    timeline: |\n"
    ) in text


@pytest.mark.parametrize(
    "line",
    [
        'data: {"text": "wave \U0001f44b"}',  # libyaml's emitter refuses block style for these
        "data: a\ttab",
        "data: trailing space ",
        "\tdata: leading tab",
        "  leading spaces",
    ],
)
def test_block_style_for_texts_libyaml_would_quote(tmp_path: Path, line: str) -> None:
    """Emoji, tabs and trailing spaces stay readable in the block, and come back exactly."""
    body = f"{line}\n\ndata: next\n\n".encode()
    cassette = one_body([body])
    loaded = reload(cassette, tmp_path / "c.yaml")
    text = (tmp_path / "c.yaml").read_text("utf-8")
    assert f"      {line}\n" in text
    assert loaded == cassette


def test_timeline_has_one_line_per_chunk(tmp_path: Path) -> None:
    """The timeline holds "<seconds> <bytes>" per chunk; the chunks come back cut the same way."""
    chunks = [b"data: \xc3", b"\xa9\n", b"\n"]  # a cut inside a two-byte UTF-8 character
    response = RecordedResponse(
        200, [], [Chunk(0.0, chunks[0]), Chunk(1e-05, chunks[1]), Chunk(12.5, chunks[2])]
    )
    cassette = Cassette([Interaction(RecordedRequest("GET", "http://x.test/"), response)])
    loaded = reload(cassette, tmp_path / "c.yaml")
    text = (tmp_path / "c.yaml").read_text("utf-8")
    assert "    timeline: |\n      0.0 7\n      1e-05 2\n      12.5 1\n" in text
    assert [c.data for c in loaded.interactions[0].response.chunks] == chunks
    assert [c.t for c in loaded.interactions[0].response.chunks] == [0.0, 1e-05, 12.5]


def test_repeated_headers_are_a_list_in_first_occurrence_order(tmp_path: Path) -> None:
    """A repeated header is written once with a list of its values, in their order.

    Interleaving with other names is not kept: HTTP gives it no meaning.
    """
    cassette = job_flow()
    headers = cassette.interactions[1].response.headers
    headers[2], headers[3] = headers[3], headers[2]
    assert headers[2:] == [("cache-control", "no-cache"), ("set-cookie", "b=2")]
    loaded = reload(cassette, tmp_path / "c.yaml")
    text = (tmp_path / "c.yaml").read_text("utf-8")
    assert "      set-cookie:\n      - a=1\n      - b=2\n      cache-control: no-cache\n" in text
    assert loaded.interactions[1].response.headers == [
        ("content-type", "text/event-stream"),
        ("set-cookie", "a=1"),
        ("set-cookie", "b=2"),
        ("cache-control", "no-cache"),
    ]


def test_decoded_is_written_when_set(tmp_path: Path) -> None:
    """`decoded` (the Content-Encoding the recorder removed) is kept when there was one."""
    cassette = one_body([b"{}"])
    cassette.interactions[0].response.decoded = "gzip"
    loaded = reload(cassette, tmp_path / "c.yaml")
    assert "    decoded: gzip\n" in (tmp_path / "c.yaml").read_text("utf-8")
    assert loaded.interactions[0].response.decoded == "gzip"


# --- Encodings and endings ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        (b"data: plain\n\n", None),
        (b"data: crlf\r\n\r\ndata: two\r\n\r\n", "crlf"),
        (b"no line end at all", None),
        (b"data: \xff\xfe not UTF-8\n\n", "base64"),
        (b"data: mixed\r\n\n", "base64"),  # an LF without its CR
        (b"data: lone\rcr\n", "base64"),
        (b"data: ends in CR\r", "base64"),
    ],
)
def test_each_body_encoding_round_trips(tmp_path: Path, body: bytes, encoding: str | None) -> None:
    """Text, CRLF text and base64 bodies come back byte for byte, marked as documented."""
    cassette = one_body([body[:5], body[5:]], request_body=body)
    loaded = reload(cassette, tmp_path / "c.yaml")
    document = yaml.safe_load((tmp_path / "c.yaml").read_text("utf-8"))
    interaction = document["interactions"][0]
    assert interaction["response"].get("body_encoding") == encoding
    assert interaction["request"].get("body_encoding") == encoding
    assert loaded == cassette
    assert loaded.interactions[0].response.body == body
    assert loaded.interactions[0].request.body == body


def test_crlf_body_is_stored_with_lf(tmp_path: Path) -> None:
    """A CRLF stream is written as readable lines and gets its CRs back on load."""
    cassette = one_body([b"event: a\r\ndata: 1\r\n\r\n"])
    loaded = reload(cassette, tmp_path / "c.yaml")
    text = (tmp_path / "c.yaml").read_text("utf-8")
    assert "    body_encoding: crlf\n    body: |+\n      event: a\n      data: 1\n\n" in text
    assert loaded.interactions[0].response.body == b"event: a\r\ndata: 1\r\n\r\n"


@pytest.mark.parametrize(
    "end",
    [
        Ending("complete"),
        Ending("client_closed"),
        Ending.failed("RemoteProtocolError", "peer closed connection without sending complete"),
    ],
)
def test_each_ending_round_trips(tmp_path: Path, end: Ending) -> None:
    """`end` is complete, client_closed, or an error with its kind and message."""
    loaded = reload(job_flow(end=end), tmp_path / "c.yaml")
    assert loaded.interactions[1].response.end == end


def test_error_ending_layout(tmp_path: Path) -> None:
    """An error ending is a mapping of the exception name and its message."""
    end = Ending.failed("RemoteProtocolError", "peer closed connection")
    text = job_flow(end=end).save(tmp_path / "c.yaml").read_text("utf-8")
    assert text.endswith(
        "    end:\n      error: RemoteProtocolError\n      message: peer closed connection\n"
    )


@pytest.mark.parametrize(
    "text",
    [
        "\n",
        "\n\n",
        "\nafter a leading empty line\n",
        "x\n\n\n",
        "x",
        "   \n",
        " \n x",
        "\t\n",
        "a\n \n\tb",
        "\ufeffBOM first\n",
        "NEL\x85 LS\u2028 PS\u2029\n",
        "control \x00\x01\x1b\x7f\x9f\n",
        "# not a comment\n--- not a document\n...\n",
        "|\n>\n- \n? \n",
        "\U0001f44b\n",
    ],
)
def test_awkward_texts_round_trip(tmp_path: Path, text: str) -> None:
    """Texts at the edges of what a YAML block can hold come back exactly, in any style."""
    cassette = one_body([text.encode()], request_body=text.encode())
    assert reload(cassette, tmp_path / "c.yaml") == cassette


def test_a_crlf_checkout_of_the_file_loads_the_same(tmp_path: Path) -> None:
    """A cassette whose line ends became CRLF (git autocrlf) loads as the same cassette."""
    cassette = job_flow()
    cassette.append(one_body([b"data: x\r\n\r\n"]).interactions[0])
    cassette.append(one_body([b"\xff\x00" * 100]).interactions[0])
    path = cassette.save(tmp_path / "c.yaml")
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    _file._clear_cache()
    assert Cassette.load(path) == cassette


# --- Saving -------------------------------------------------------------------------------


def test_save_uses_and_sets_path(tmp_path: Path) -> None:
    """save(path) creates parent folders, sets `path` and returns it; save() reuses it."""
    cassette = job_flow()
    target = tmp_path / "deep" / "er" / "c.yaml"
    assert cassette.save(target) == target
    assert cassette.path == target
    target.unlink()
    assert cassette.save() == target
    assert target.exists()


def test_save_without_any_path_is_refused() -> None:
    """A cassette with no path cannot be saved without one."""
    with pytest.raises(ValueError, match="no path"):
        job_flow().save()


def test_save_refuses_a_time_it_could_not_read_back(tmp_path: Path) -> None:
    """A non-finite time is refused before anything is written."""
    cassette = one_body([b"x"])
    cassette.interactions[0].response.chunks = [Chunk(float("nan"), b"x")]
    with pytest.raises(ValueError, match=r"interactions\[0\]\.response\.chunks\[0\]"):
        cassette.save(tmp_path / "c.yaml")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_dump_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error while serialising leaves the old file intact and no temporary file behind."""
    path = job_flow().save(tmp_path / "c.yaml")
    before = path.read_bytes()

    def broken(document: Any) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(_yamlio, "dump", broken)
    with pytest.raises(RuntimeError, match="boom"):
        one_body([b"other"]).save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_a_failed_write_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    """A failure while writing or renaming removes the temporary file; the old file stays."""
    path = job_flow().save(tmp_path / "c.yaml")
    before = path.read_bytes()

    def broken(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, step, broken)
    with pytest.raises(OSError, match="No space left"):
        one_body([b"other"]).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]


def test_concurrent_saves_never_mix(tmp_path: Path) -> None:
    """Threads saving different cassettes to one path leave one whole cassette, never a mix."""
    path = tmp_path / "c.yaml"
    cassettes = [one_body([f"data: {n}\n\n".encode() * 200]) for n in range(8)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda c: c.save(path), cassettes))
    _file._clear_cache()
    assert Cassette.load(path) in cassettes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]


# --- Errors -------------------------------------------------------------------------------


def refused(path: Path, text: str) -> str:
    """Write `text`, load it expecting CassetteError, check the file is untouched."""
    path.write_text(text, "utf-8")
    before = path.read_bytes()
    with pytest.raises(CassetteError) as info:
        Cassette.load(path)
    assert path.read_bytes() == before
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    return message


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, str]:
    path = job_flow().save(tmp_path / "cassettes" / "x.yaml")
    return path, path.read_text("utf-8")


def test_malformed_yaml(saved: tuple[Path, str]) -> None:
    """Text that is not YAML is refused with its line and column."""
    path, _ = saved
    message = refused(path, "version: 1\ninteractions: [\n  {request: }\n  oops: ]\n")
    assert "not valid YAML" in message
    assert "line 4, column" in message


def test_missing_field(saved: tuple[Path, str]) -> None:
    """A missing required field is named with its full path."""
    path, text = saved
    message = refused(path, text.replace("    status: 200\n", "", 1))
    assert message.startswith(f"{path}: interactions[1].response.status: missing")


def test_wrong_type(saved: tuple[Path, str]) -> None:
    """A status that is not a number is named, with the value found and its line in the file."""
    path, text = saved
    message = refused(path, text.replace("status: 200", "status: abc", 1))
    assert message == (
        f"{path}: interactions[1].response.status: expected an HTTP status (100-999), "
        f"got the text 'abc' (line {text[: text.index('status: 200')].count(chr(10)) + 1} "
        "of the file)"
    )


def test_unknown_field(saved: tuple[Path, str]) -> None:
    """A misspelt field is refused rather than ignored."""
    path, text = saved
    message = refused(path, text.replace("    body: ''", "    bdoy: ''", 1))
    assert f"{path}: interactions[1].request: " in message
    assert "unknown field 'bdoy'" in message


@pytest.mark.parametrize("version", ["2", "99"])
def test_newer_version(saved: tuple[Path, str], version: str) -> None:
    """A newer format version is refused, saying which versions this release reads."""
    path, text = saved
    message = refused(path, text.replace("version: 1", f"version: {version}", 1))
    assert message.startswith(f"{path}: version: version {version} is newer than")
    assert "reads cassette version 1" in message
    assert "upgrade pytest-sse-replay" in message


@pytest.mark.parametrize("version", ["0", "'1'", "null"])
def test_bad_version(saved: tuple[Path, str], version: str) -> None:
    """An old, absent or non-integer version is refused by name."""
    path, text = saved
    message = refused(path, text.replace("version: 1", f"version: {version}", 1))
    assert message.startswith(f"{path}: version: ")


def test_missing_version(saved: tuple[Path, str]) -> None:
    """A file without a version is refused."""
    path, text = saved
    assert refused(path, text.replace("version: 1\n", "", 1)).startswith(
        f"{path}: version: missing"
    )


def test_timeline_lengths_must_add_up(saved: tuple[Path, str]) -> None:
    """A timeline whose lengths do not sum to the body's length is refused."""
    path, text = saved
    message = refused(path, text.replace("      0.1 57\n", "      0.1 56\n", 1))
    assert message.startswith(f"{path}: interactions[1].response.timeline: ")
    assert "add up to 122 bytes but the body has 123 bytes" in message


def test_timeline_bad_line(saved: tuple[Path, str]) -> None:
    """A timeline line that is not "<seconds> <bytes>" is named by its line."""
    path, text = saved
    bad = text.replace("      0.2 ", "      abc\n      0.2 ", 1)
    message = refused(path, bad)
    file_line = bad[: bad.index("      abc")].count("\n") + 1
    assert message == (
        f'{path}: interactions[1].response.timeline line 2: expected "<seconds> <bytes>", '
        f'got "abc" (line {file_line} of the file)'
    )


def test_hand_edited_timeline_is_read(saved: tuple[Path, str]) -> None:
    """A timeline with extra spaces, integer times and no final line end still reads."""
    path, text = saved
    edited = text.replace(
        "    timeline: |\n      0.1 57\n      0.2 45\n      0.3 21\n",
        "    timeline: |-\n      0.1   57\n      1 45\n      2.5e-1 21\n",
    )
    assert edited != text
    path.write_text(edited, "utf-8")
    chunks = Cassette.load(path).interactions[1].response.chunks
    assert [(c.t, len(c.data)) for c in chunks] == [(0.1, 57), (1.0, 45), (0.25, 21)]


@pytest.mark.parametrize("value", ["-0.5 57", "1e999 57", "nan 57", "0.1 -57", "0.1 5x"])
def test_timeline_bad_numbers(saved: tuple[Path, str], value: str) -> None:
    """Negative, non-finite or malformed numbers in the timeline are refused by line."""
    path, text = saved
    message = refused(path, text.replace("      0.1 57\n", f"      {value}\n", 1))
    assert message.startswith(f"{path}: interactions[1].response.timeline line 1: ")


def test_bad_base64(tmp_path: Path) -> None:
    """A base64 body that does not decode is named."""
    path = one_body([b"\xff\xfe"]).save(tmp_path / "c.yaml")
    text = path.read_text("utf-8")
    message = refused(path, text.replace("//4=", "//4", 1))
    assert message.startswith(f"{path}: interactions[0].response.body: not valid base64")


def test_unknown_body_encoding(saved: tuple[Path, str]) -> None:
    """Only crlf and base64 are body encodings."""
    path, text = saved
    message = refused(path, text.replace("    body: |+", "    body_encoding: rot13\n    body: |+"))
    assert message.startswith(f"{path}: interactions[1].response.body_encoding: expected crlf")


def test_crlf_body_holding_a_cr(tmp_path: Path) -> None:
    """A crlf body is written with LF; a CR in it means the file was damaged."""
    path = one_body([b"a\r\n"]).save(tmp_path / "c.yaml")
    text = path.read_text("utf-8")
    message = refused(path, text.replace("    body: |\n      a\n", '    body: "a\\r\\n"\n', 1))
    assert message.startswith(f"{path}: interactions[0].response.body: ")


def test_bad_ending(saved: tuple[Path, str]) -> None:
    """An `end` that is none of the three forms is refused."""
    path, text = saved
    message = refused(path, text.replace("end: complete", "end: finished"))
    assert message.startswith(f"{path}: interactions[0].response.end: expected complete")


def test_header_values_must_be_text(saved: tuple[Path, str]) -> None:
    """An unquoted number as a header value is refused rather than guessed at."""
    path, text = saved
    message = refused(path, text.replace("cache-control: no-cache", "cache-control: 300"))
    assert message.startswith(f"{path}: interactions[1].response.headers.cache-control: ")
    assert "expected a text or a list of texts, got an int 300" in message


def test_duplicate_keys_are_refused(saved: tuple[Path, str]) -> None:
    """A header written twice would silently lose one value: it is refused."""
    path, text = saved
    message = refused(
        path, text.replace("      cache-control: no-cache\n", "      content-type: text/plain\n")
    )
    assert message.startswith(f"{path}: interactions[1].response.headers: duplicate key")


def test_python_tags_are_refused_never_constructed(saved: tuple[Path, str], tmp_path: Path) -> None:
    """A !!python tag is refused by the safe loader, naming the field, and nothing runs."""
    path, text = saved
    marker = tmp_path / "pwned"
    evil = text.replace(
        "    status: 200",
        f"    status: !!python/object/apply:os.system ['touch {marker}']",
        1,
    )
    message = refused(path, evil)
    assert message.startswith(f"{path}: interactions[1].response.status: the tag ")
    assert "!!python/object/apply:os.system is not allowed" in message
    assert not marker.exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the document: the file is empty"),
        ("- 1\n", "the document: expected a mapping, got a list"),
        ("version: 1\ninteractions: {}\n", "interactions: expected a list, got a mapping"),
        ("version: 1\ninteractions: [3]\n", "interactions[0]: expected a mapping, got an int 3"),
    ],
)
def test_wrong_shapes(tmp_path: Path, text: str, expected: str) -> None:
    """Documents of the wrong shape are refused, naming where."""
    path = tmp_path / "c.yaml"
    assert refused(path, text).startswith(f"{path}: {expected}")


def test_missing_file(tmp_path: Path) -> None:
    """A missing file is a CassetteError caused by FileNotFoundError."""
    with pytest.raises(CassetteError, match="no such cassette file") as info:
        Cassette.load(tmp_path / "nope.yaml")
    assert isinstance(info.value.__cause__, FileNotFoundError)


# --- The cache ----------------------------------------------------------------------------


@pytest.fixture
def count_parses(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every YAML parse, recorded."""
    parses: list[bytes] = []
    real = _yamlio._build

    def counting(data: bytes, blocks: Any) -> Any:
        parses.append(data)
        return real(data, blocks)

    monkeypatch.setattr(_yamlio, "_build", counting)
    return parses


def test_second_load_does_not_reparse(tmp_path: Path, count_parses: list[bytes]) -> None:
    """An unchanged file is parsed once; each load still returns a new, independent Cassette."""
    path = job_flow().save(tmp_path / "c.yaml")
    first = Cassette.load(path)
    second = Cassette.load(tmp_path / "." / "c.yaml")  # another spelling of the same file
    assert len(count_parses) == 1
    assert first == second
    assert first is not second
    assert first.interactions[1].response.chunks is not second.interactions[1].response.chunks
    first.append(first.interactions[0])
    first.interactions[1].response.chunks.pop()
    first.interactions[1].request.headers.clear()
    assert len(second) == 2
    assert Cassette.load(path) == job_flow()
    assert second.path == tmp_path / "c.yaml"


def test_changed_file_is_reread(tmp_path: Path, count_parses: list[bytes]) -> None:
    """A file saved again, or edited in place, is parsed again."""
    path = job_flow().save(tmp_path / "c.yaml")
    Cassette.load(path)
    one_body([b"data: new\n\n"]).save(path)
    assert Cassette.load(path) == one_body([b"data: new\n\n"])
    assert len(count_parses) == 2
    # Same size, same inode: an in-place edit is told by its modification time.
    text = path.read_text("utf-8").replace("data: new", "data: old")
    with open(path, "r+", encoding="utf-8") as file:
        file.write(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert Cassette.load(path) == one_body([b"data: old\n\n"])
    assert len(count_parses) == 3


def test_concurrent_loads_agree(tmp_path: Path) -> None:
    """Threads loading one cassette at once all get equal, separate cassettes."""
    path = job_flow().save(tmp_path / "c.yaml")
    _file._clear_cache()
    barrier = threading.Barrier(4)

    def load(_: int) -> Cassette:
        barrier.wait()
        return Cassette.load(path)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(load, range(8)))
    assert all(result == job_flow() for result in results)
    assert len({id(result.interactions) for result in results}) == len(results)


def test_cache_drops_the_least_recently_used_past_its_bytes(
    tmp_path: Path, count_parses: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the byte bound the least recently used file goes, and the bytes counted are
    those of the files held, a file saved again counted once."""
    _file._clear_cache()
    paths = [one_body([b"data: %d\n\n" % n]).save(tmp_path / f"{n}.yaml") for n in range(3)]
    monkeypatch.setattr(_file, "_CACHE_MAX_BYTES", 2 * paths[0].stat().st_size)
    for path in (paths[0], paths[1], paths[0], paths[2]):  # 1 is the least recently used
        Cassette.load(path)
    assert len(count_parses) == 3
    Cassette.load(paths[0])
    Cassette.load(paths[2])
    assert len(count_parses) == 3
    Cassette.load(paths[1])
    assert len(count_parses) == 4
    for n in (5, 6, 7):  # the same path saved again and again, same size
        one_body([b"data: %d\n\n" % n]).save(paths[1])
        Cassette.load(paths[1])
    assert len(count_parses) == 7
    Cassette.load(paths[2])
    assert len(count_parses) == 7


def test_chunk_fields_are_pinned() -> None:
    """The loader fills Chunk's two slots directly: a new field must be added there too."""
    assert [f.name for f in dataclasses.fields(Chunk)] == ["t", "data"]
    loaded = _file._new_chunks([1.5], [b"x"])
    assert loaded == (Chunk(1.5, b"x"),)
    assert hash(loaded[0]) == hash(Chunk(1.5, b"x"))


# --- The property -------------------------------------------------------------------------


def _parses(url: str) -> bool:
    try:
        urlsplit(url).port  # noqa: B018
    except ValueError:
        return False
    return True


# Characters that stress YAML: its line breaks, indicators, quotes, BOM, controls, tabs.
_AWKWARD = st.sampled_from(
    [
        *"\n\n\n\r\t #:-|>'\"\\!&*?{}[],%@`",
        *["\r\n", "\x85", "\u2028", "\u2029", "\ufeff", "\x00", "\x7f", "\U0001f44b", "..."],
    ]
)
_TEXT = st.lists(st.one_of(_AWKWARD, st.text(max_size=8)), max_size=12).map("".join)
_BODY = st.one_of(
    _TEXT.map(lambda text: text.encode("utf-8")),
    _TEXT.map(lambda text: text.replace("\r", "").replace("\n", "\r\n").encode("utf-8")),
    st.binary(max_size=60),
)
_SECONDS = st.floats(min_value=0.0, max_value=_cassette.MAX_SECONDS, allow_nan=False)
# A header line cannot hold CR, LF or NUL, and a URL must parse: the loader refuses the rest.
_HEADER_TEXT = _TEXT.map(lambda text: text.replace("\r", "").replace("\n", "").replace("\x00", ""))
_URL = st.one_of(_TEXT.map(lambda text: "https://example.com/" + text), _TEXT).filter(
    lambda url: _parses(url)
)
_HEADERS = st.lists(
    st.tuples(st.sampled_from(["content-type", "set-cookie", "x-a"]) | _HEADER_TEXT, _HEADER_TEXT),
    max_size=5,
)


@st.composite
def _chunks(draw: st.DrawFn) -> list[Chunk]:
    body = draw(_BODY)
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=6)))
    bounds = [0, *cuts, len(body)]
    pieces = [body[a:b] for a, b in pairwise(bounds)]
    if not body and draw(st.booleans()):
        pieces = []
    return [Chunk(draw(_SECONDS), piece) for piece in pieces]


_ENDING = st.one_of(
    st.just(Ending("complete")),
    st.just(Ending("client_closed")),
    st.builds(Ending.failed, st.sampled_from(_cassette.ERROR_NAMES), _TEXT),
)
_INTERACTION = st.builds(
    Interaction,
    st.builds(RecordedRequest, _TEXT, _URL, _HEADERS, _BODY),
    st.builds(
        RecordedResponse,
        st.integers(100, 999),
        _HEADERS,
        _chunks(),
        _ENDING,
        _SECONDS,
        _TEXT,
    ),
)


def _grouped(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Headers as the file keeps them: each name's values together, at its first place."""
    order: dict[str, list[str]] = {}
    for name, value in headers:
        order.setdefault(name, []).append(value)
    return [(name, value) for name, values in order.items() for value in values]


def _expected(cassette: Cassette) -> Cassette:
    interactions = []
    for interaction in cassette.interactions:
        request = dataclasses.replace(
            interaction.request, headers=_grouped(interaction.request.headers)
        )
        response = dataclasses.replace(
            interaction.response, headers=_grouped(interaction.response.headers)
        )
        interactions.append(Interaction(request, response))
    return Cassette(interactions)


@contextmanager
def _pure_python_yaml() -> Iterator[None]:
    """Use PyYAML's pure-Python loader and dumper, as where libyaml is missing."""
    saved = _yamlio.LOADER, _yamlio.DUMPER
    _yamlio.LOADER = _yamlio.make_loader(yaml.SafeLoader)
    _yamlio.DUMPER = _yamlio.make_dumper(yaml.SafeDumper)
    try:
        yield
    finally:
        _yamlio.LOADER, _yamlio.DUMPER = saved


def _round_trip_property(tmp_path: Path) -> Callable[[list[Interaction]], None]:
    def check(interactions: list[Interaction]) -> None:
        cassette = Cassette(interactions)
        loaded = reload(cassette, tmp_path / "p.yaml")
        assert loaded == _expected(cassette)
        for got, want in zip(loaded.interactions, interactions, strict=True):
            # Exact times (equal floats), exact bytes, exact cuts.
            assert [(c.t, c.data) for c in got.response.chunks] == [
                (c.t, c.data) for c in want.response.chunks
            ]

    return check


_PROPERTY = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_PROPERTY
@given(st.lists(_INTERACTION, min_size=1, max_size=3))
def test_round_trip_property(tmp_path: Path, interactions: list[Interaction]) -> None:
    """Save then load gives back the cassette: any bytes, cuts, times, endings, headers."""
    _round_trip_property(tmp_path)(interactions)


@settings(_PROPERTY, max_examples=30)
@given(st.lists(_INTERACTION, min_size=1, max_size=2))
def test_round_trip_property_without_libyaml(
    tmp_path: Path, interactions: list[Interaction]
) -> None:
    """The same round trip holds with PyYAML's pure-Python loader and dumper."""
    with _pure_python_yaml():
        _round_trip_property(tmp_path)(interactions)
