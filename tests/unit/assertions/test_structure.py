"""The structure of a response and its comparison: what is drift and what is not; the CLI
commands built on it (`diff --structure`, `check --terminal` over many files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_sse_replay import Cassette
from pytest_sse_replay.assertions._structure import Structure, compare, parse_timing
from pytest_sse_replay.cassette._model import (
    Chunk,
    Ending,
    Interaction,
    RecordedRequest,
    RecordedResponse,
)
from pytest_sse_replay.cli._main import main
from pytest_sse_replay.plugin._drift import incompleteness, verify

URL = "https://api.example.com/v1/stream"
SSE = [("content-type", "text/event-stream; charset=utf-8")]


def event(name: str, data: object) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def stream(
    *events: bytes,
    status: int = 200,
    headers: list[tuple[str, str]] | None = None,
    end: Ending | None = None,
    gap: float = 0.01,
    url: str = URL,
) -> Interaction:
    chunks = [Chunk(round(gap * (n + 1), 6), data) for n, data in enumerate(events)]
    response = RecordedResponse(status, list(SSE if headers is None else headers), chunks)
    if end is not None:
        response.end = end
    return Interaction(RecordedRequest("GET", url), response)


def tokens(words: list[str], *, index_type: type = int, token: str = "token") -> Interaction:
    return stream(
        event("message_start", {"id": "msg_1", "model": "m"}),
        *(
            event(token, {"text": word, "index": index_type(n), "logprob": None})
            for n, word in enumerate(words)
        ),
        event("message_stop", {"usage": {"tokens": len(words)}}),
    )


def differences(a: Interaction, b: Interaction, **kwargs: object) -> list[str]:
    return [str(d) for d in compare(Structure.of(a), Structure.of(b), **kwargs)]  # type: ignore[arg-type]


@given(
    st.lists(st.text(max_size=8), min_size=1, max_size=12),
    st.lists(st.text(max_size=8), min_size=1, max_size=12),
)
def test_token_text_and_count_are_never_drift(first: list[str], second: list[str]) -> None:
    """Two token streams of any texts and any lengths (one or more tokens) have one structure."""
    assert differences(tokens(first), tokens(second), timing=None) == []


def test_structure_collapses_repeats_and_keeps_key_types() -> None:
    """Repeats of a name collapse; key paths carry the union of the JSON types seen."""
    shape = Structure.of(tokens(["a", "b", "c"]))
    assert shape.names == ("message_start", "token", "message_stop")
    assert shape.keys["token"] == {
        "text": frozenset({"string"}),
        "index": frozenset({"number"}),
        "logprob": frozenset({"null"}),
    }
    assert shape.keys["message_stop"]["usage.tokens"] == frozenset({"number"})
    assert shape.terminal == "message_stop"
    assert shape.end == "complete"
    assert shape.first_event == 0.01


@pytest.mark.parametrize(
    ("live", "expected"),
    [
        pytest.param(
            tokens(["a"], token="delta"),
            [
                "events: message_start token message_stop -> message_start delta message_stop",
                "events: - token (no longer sent)",
                "events: + delta (new)",
            ],
            id="renamed",
        ),
        pytest.param(
            tokens(["a"], index_type=str),
            ["keys: data of token: index: number -> string"],
            id="type",
        ),
        pytest.param(
            stream(
                event("message_start", {"id": "x", "model": "m"}), event("token", {"text": "a"})
            ),
            [
                "events: message_start token message_stop -> message_start token",
                "events: - message_stop (no longer sent)",
                "keys: data of token: - index (number)",
                "keys: data of token: - logprob (null)",
                "terminal: message_stop -> token",
            ],
            id="truncated",
        ),
    ],
)
def test_compare_names_each_structural_change(live: Interaction, expected: list[str]) -> None:
    """Renamed events, changed key types, missing keys and a lost terminal are each listed."""
    assert differences(tokens(["a", "b"]), live, timing=None) == expected


def test_status_content_type_and_ending_are_drift() -> None:
    """Status, media type and how the body ended are compared; charset parameters are not."""
    recorded = stream(event("done", {}))
    live = stream(
        event("done", {}),
        status=500,
        headers=[("content-type", "application/json")],
        end=Ending.failed("RemoteProtocolError", "peer closed"),
    )
    assert differences(recorded, live, timing=None) == [
        "status: 200 -> 500",
        "content-type: text/event-stream -> application/json",
        "end: complete -> error RemoteProtocolError",
    ]
    charset = stream(event("done", {}), headers=[("content-type", "text/event-stream")])
    assert differences(recorded, charset, timing=None) == []


def test_ignore_leaves_out_a_key_path_and_what_is_below_it() -> None:
    """`ignore` globs drop key paths, and everything under them, from the comparison."""
    a = stream(event("m", {"usage": {"in": 1}, "id": "x"}))
    b = stream(event("m", {"usage": {"in": "1", "cache": 2}, "id": 3}))
    assert len(differences(a, b, timing=None)) == 3
    assert differences(a, b, timing=None, ignore=["usage", "id"]) == []
    assert differences(a, b, timing=None, ignore=["usage.*"]) == [
        "keys: data of m: id: string -> number"
    ]


def test_timing_outside_the_factor_is_a_warning_only() -> None:
    """Times beyond the tolerance factor are warnings; within it, or tiny, nothing."""
    slow = compare(
        Structure.of(tokens(["a"])),
        Structure.of(
            stream(
                event("message_start", {"id": "msg_1", "model": "m"}),
                event("token", {"text": "a", "index": 0, "logprob": None}),
                event("message_stop", {"usage": {"tokens": 1}}),
                gap=1.0,
            )
        ),
        timing=3,
    )
    assert [d.level for d in slow] == ["warning", "warning"]
    assert str(slow[0]) == "timing: first event 0.010s -> 1.000s (outside x3)"
    same = tokens(["a"])
    assert compare(Structure.of(same), Structure.of(same), timing=3) == []


@pytest.mark.parametrize(("text", "factor"), [("3", 3.0), ("3x", 3.0), (" 1.5X ", 1.5)])
def test_parse_timing_reads_factors(text: str, factor: float) -> None:
    """A timing tolerance is a factor, with or without an x."""
    assert parse_timing(text, "ini sse_verify_timing") == factor


@pytest.mark.parametrize("text", ["0.5", "fast", "inf", "-2"])
def test_parse_timing_refuses_what_is_no_factor(text: str) -> None:
    """Factors below 1, infinite or not numbers are refused, naming the setting."""
    with pytest.raises(ValueError, match="ini sse_verify_timing"):
        parse_timing(text, "ini sse_verify_timing")


def test_verify_pairs_like_replay_and_reports_both_unpaired_sides() -> None:
    """Live requests pair with recordings as replay would; leftovers on each side are drift."""
    recorded = [tokens(["a"]), stream(event("x", {}), url=URL + "?page=2")]
    live = [tokens(["b", "c"]), stream(event("y", {}), url=URL + "?page=3")]
    verdict = verify(recorded, live, timing=None)
    assert verdict.drift == [
        f"live #1 GET {URL}?page=3: no recording answers it",
        f"recorded #1 GET {URL}?page=2: not requested by the live run",
    ]


@pytest.mark.parametrize(
    ("interaction", "terminal", "problem"),
    [
        (stream(), None, "the event stream is empty (no bytes at all)"),
        (stream(b": just a comment\n\n"), None, "the event stream has no events"),
        (
            stream(event("a", {}), end=Ending.failed("ReadTimeout", "timed out")),
            None,
            "the stream broke (ReadTimeout: timed out)",
        ),
        (
            stream(event("a", {})),
            "done|error",
            "no terminal event: the last of 1 events is 'a', not 'done|error' (the server ended it)",
        ),
        (stream(event("a", {}), event("done", {})), "done|error", None),
        (stream(event("a", {})), None, None),
    ],
)
def test_incompleteness(
    interaction: Interaction, terminal: str | None, problem: str | None
) -> None:
    """Empty, eventless, broken, or without the terminal event: each is named; else None."""
    assert incompleteness(interaction, terminal) == problem


def test_a_json_response_is_never_incomplete() -> None:
    """Only event streams can be incomplete."""
    interaction = stream(headers=[("content-type", "application/json")])
    assert incompleteness(interaction, "done") is None


# --------------------------------------------------------------------------- the CLI


def save(tmp_path: Path, name: str, *interactions: Interaction) -> Path:
    return Cassette(list(interactions)).save(tmp_path / name)


def test_diff_structure_exits_1_on_drift_and_0_when_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`diff --structure A B` lists the drift and exits 1; `--ignore` paths make it 0."""
    a = save(tmp_path, "a.yaml", tokens(["a", "b"]))
    b = save(tmp_path, "b.yaml", tokens(["x"], index_type=str))
    assert main(["diff", "--structure", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "#0 GET /v1/stream\n  keys: data of token: index: number -> string\n" in out
    assert "drift: 1 of 1 interaction changed in structure" in out
    assert main(["diff", "--structure", "--ignore", "index", str(a), str(b)]) == 0
    assert "#0 GET /v1/stream: same structure" in capsys.readouterr().out


def test_diff_structure_ignores_token_text_and_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Other tokens, another count: the same structure, exit 0."""
    a = save(tmp_path, "a.yaml", tokens(["a", "b"]))
    b = save(tmp_path, "b.yaml", tokens(["other", "words", "here"]))
    assert main(["diff", "--structure", str(a), str(b)]) == 0
    assert "same structure" in capsys.readouterr().out


def test_diff_ignore_needs_structure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--ignore without --structure is a usage error."""
    a = save(tmp_path, "a.yaml", tokens(["a"]))
    assert main(["diff", "--ignore", "x", str(a), str(a)]) == 2
    assert "--ignore goes with --structure" in capsys.readouterr().err


def test_check_terminal_finds_incomplete_cassettes_among_many(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`check --terminal P FILES...` checks every file's streams, exits 1 if any is incomplete."""
    good = save(tmp_path, "good.yaml", tokens(["a"]))
    empty = save(tmp_path, "empty.yaml", stream())
    truncated = save(tmp_path, "truncated.yaml", stream(event("token", {"text": "a"})))
    assert main(["check", "--terminal", "message_stop", str(good)]) == 0
    capsys.readouterr()
    code = main(["check", "--terminal", "message_stop", str(good), str(empty), str(truncated)])
    out = capsys.readouterr().out
    assert code == 1
    assert f"{good}: 3 events; the check holds" in out
    assert f"#0 GET {URL}: the event stream is empty (no bytes at all)" in out
    assert f"{empty}: 0 events; the check fails" in out
    assert "no terminal event" in out
    assert f"{truncated}: 1 event; the check fails" in out


def test_check_complete_reports_an_empty_stream_without_a_pattern(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`check --complete` finds empty and broken streams with no terminal pattern."""
    empty = save(tmp_path, "empty.yaml", stream())
    assert main(["check", "--complete", str(empty)]) == 1
    assert "FAIL complete" in capsys.readouterr().out
    good = save(tmp_path, "good.yaml", stream(event("a", {})))
    assert main(["check", "--complete", str(good)]) == 0
