"""The `sse-replay` command line: show, check, diff, record, demo; exit codes and errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_sse_replay import Cassette
from pytest_sse_replay.cassette._model import Chunk, Ending
from pytest_sse_replay.cli._main import main

ROOT = Path(__file__).parents[2]
CASSETTES = ROOT / "cassettes"
AGENT_RUN = CASSETTES / "agent_run.yaml"
JOB_STATUS = CASSETTES / "job_status.yaml"
JOBS = CASSETTES / "jobs.yaml"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
COMMANDS = ["show", "record", "serve", "diff", "check", "scan", "demo"]


def run(*argv: str | Path) -> int:
    return main([str(arg) for arg in argv])


# --------------------------------------------------------------------------- usage


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help(command: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    """`--help` works on the program and on every command, and exits 0."""
    argv = ["--help"] if command is None else [command, "--help"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: sse-replay")
    if command is None:
        for name in COMMANDS:
            assert name in out


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a command the exit code is 2 and the usage is printed to stderr."""
    assert main([]) == 2
    assert "usage: sse-replay" in capsys.readouterr().err


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown option is exit code 2 with argparse's message naming it."""
    assert run("show", AGENT_RUN, "--bogus") == 2
    assert "--bogus" in capsys.readouterr().err


def test_module_and_console_script(tmp_path: Path) -> None:
    """`python -m pytest_sse_replay` runs the same command line, plain text when piped."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest_sse_replay", "show", str(AGENT_RUN)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "NO_COLOR": ""},
    )
    assert result.returncode == 0, result.stderr
    assert "job.started" in result.stdout
    assert not ANSI.search(result.stdout)


# --------------------------------------------------------------------------- show


def test_show_timeline(capsys: pytest.CaptureFixture[str]) -> None:
    """`show` prints the request line, one row per event and heartbeat, and the ending."""
    assert run("show", JOB_STATUS) == 0
    out = capsys.readouterr().out
    assert "#0 GET https://api.example.com/jobs/job_42/stream  -> 200" in out
    assert ": heartbeat" in out
    assert "retry=2000" in out
    rows = [line for line in out.splitlines() if re.match(r"\s+\d+\.\d{3}s\s+\+\d", line)]
    assert [row.split()[2] for row in rows if ": heartbeat" not in row] == [
        "status",
        "status",
        *["progress"] * 5,
        "completed",
        "completed",
    ]
    assert "ended normally (8 events, 7 comments" in out
    assert not ANSI.search(out)


def test_show_colour_only_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    """`--color=always` colours the table; the default does not when stdout is no terminal."""
    assert run("show", AGENT_RUN, "--color=always") == 0
    coloured = capsys.readouterr().out
    assert ANSI.search(coloured)
    assert run("show", AGENT_RUN) == 0
    assert ANSI.sub("", coloured) == capsys.readouterr().out


def test_show_non_stream_body(capsys: pytest.CaptureFixture[str]) -> None:
    """An ordinary JSON response is shown with its body, not as events."""
    assert run("show", JOBS, "-i", "0") == 0
    out = capsys.readouterr().out
    assert 'body: {"job_id":' in out
    assert "#1" not in out


def test_show_json(capsys: pytest.CaptureFixture[str]) -> None:
    """`--json` gives every row with its kind, offset, gap, name and data, and the ending."""
    assert run("show", JOB_STATUS, "--json") == 0
    document = json.loads(capsys.readouterr().out)
    first = document["interactions"][0]
    assert first["request"] == {
        "method": "GET",
        "url": "https://api.example.com/jobs/job_42/stream",
    }
    kinds = [row["kind"] for row in first["rows"]]
    assert kinds.count("comment") == 7
    assert kinds.count("event") == 8
    events = [row for row in first["rows"] if row["kind"] == "event"]
    assert events[-1]["name"] == "completed"
    assert events[0]["retry"] == 2000
    times = [row["t"] for row in first["rows"]]
    assert times == sorted(times)
    assert first["end"] == {"kind": "complete"}


def test_show_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--html OUT` writes one page with one lane per event name on a time axis."""
    out = tmp_path / "timeline.html"
    assert run("show", JOB_STATUS, "--html", out) == 0
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 2
    first = page.split("<svg", 2)[1]
    lanes = re.findall(r'<text x="8" [^>]*>([^<]*)</text>', first)
    assert lanes == ["status", ": comments", "progress", "completed"]
    assert first.count("<circle") == 15
    assert str(out) in capsys.readouterr().err


def test_show_interaction_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    """`-i` past the end is a usage error naming the cassette and its size."""
    assert run("show", AGENT_RUN, "-i", "5") == 2
    assert "has 1 interaction" in capsys.readouterr().err


def test_missing_cassette(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file is exit 2 with one line naming it."""
    missing = tmp_path / "nope.yaml"
    assert run("show", missing) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"sse-replay show: error: {missing}: no such cassette file"


@pytest.mark.parametrize("command", ["show", "check", "diff", "serve"])
def test_malformed_cassette(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A malformed cassette is exit 2 with the CassetteError message, never a traceback."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\ninteractions:\n- request: {method: GET}\n")
    argv: list[str | Path] = [command, bad]
    if command == "check":
        argv += ["--first", "x"]
    if command == "diff":
        argv += [AGENT_RUN]
    assert run(*argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sse-replay {command}: error: {bad}: interactions[0]")
    assert "Traceback" not in err


def test_broken_pipe_is_not_an_error(tmp_path: Path) -> None:
    """`sse-replay show ... | head -1` ends quietly with exit 0."""
    result = subprocess.run(
        f"{sys.executable} -m pytest_sse_replay show {JOB_STATUS} | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.startswith("cassettes") or "job_status" in result.stdout
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- check


def test_check_passes(capsys: pytest.CaptureFixture[str]) -> None:
    """Checks that hold print `ok` each and exit 0."""
    code = run(
        "check",
        AGENT_RUN,
        "--first",
        "job.started",
        "--order",
        "job.started",
        "agent.*",
        "score.computed",
        "complete|error",
        "--pairs",
        "agent.started",
        "agent.completed",
        "agentId",
        "--terminal",
        "complete|error",
        "--count",
        "agent.*=6",
        "--count",
        "agent.started=1..3",
        "--once",
        "score.computed",
        "--before",
        "agent.started",
        "agent.completed",
        "--last",
        "complete",
        "--within",
        "complete",
        "30",
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.count("ok  ") == 10
    assert "10 of 10 checks hold" in out


def test_check_fails_with_timeline(capsys: pytest.CaptureFixture[str]) -> None:
    """A check that fails prints FAIL with the marked timeline and exits 1."""
    assert (
        run("check", JOB_STATUS, "-i", "0", "--increasing", "progress", "--terminal", "status") == 1
    )
    out = capsys.readouterr().out
    assert "ok   increasing progress" in out
    assert "FAIL terminal status" in out
    assert "timeline" in out
    assert "1 of 2 checks holds" in out


def test_check_one_failing_check_reads_as_one(capsys: pytest.CaptureFixture[str]) -> None:
    """One failing check is reported as "the check fails", never "0 of 1 check hold"."""
    assert run("check", JOB_STATUS, "-i", "0", "--terminal", "status") == 1
    out = capsys.readouterr().out
    assert "the check fails" in out
    assert "0 of 1" not in out


def test_check_needs_a_check(capsys: pytest.CaptureFixture[str]) -> None:
    """`check` without any check is a usage error."""
    assert run("check", AGENT_RUN) == 2
    assert "no checks given" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--first", "a||b"], "empty alternative"),
        (["--count", "agent.*"], "PATTERN=N"),
        (["--count", "agent.*=x"], "whole numbers"),
        (["--within", "complete", "soon"], "not a number"),
        (["-i", "7", "--first", "x"], "--interaction 7"),
    ],
)
def test_check_bad_arguments(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad patterns and counts are exit 2 with a message naming the argument."""
    assert run("check", AGENT_RUN, *argv) == 2
    assert message in capsys.readouterr().err


# --------------------------------------------------------------------------- diff


def _edited(tmp_path: Path, source: Path, old: bytes, new: bytes, index: int = -1) -> Path:
    cassette = Cassette.load(source)
    response = cassette.interactions[index].response
    body = response.body
    assert old in body
    response.chunks = [Chunk(response.chunks[-1].t, body.replace(old, new))]
    return cassette.save(tmp_path / f"edited-{source.name}")


def test_diff_same(capsys: pytest.CaptureFixture[str]) -> None:
    """Two equal recordings: exit 0 and `same`."""
    assert run("diff", AGENT_RUN, AGENT_RUN) == 0
    assert "same: event names, order, JSON keys and status all match" in capsys.readouterr().out


def test_diff_key_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A JSON key that appears or disappears for an event name makes the diff exit 1."""
    edited = _edited(tmp_path, AGENT_RUN, b'"score":', b'"points":')
    assert run("diff", AGENT_RUN, edited) == 1
    out = capsys.readouterr().out
    assert "keys of agent.completed: +points -score" in out
    assert "keys of score.computed: +points -score" in out


def test_diff_added_and_removed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An event that disappears, and one that is new, are listed by name."""
    edited = _edited(tmp_path, AGENT_RUN, b"event: score.computed", b"event: score.estimated")
    assert run("diff", AGENT_RUN, edited) == 1
    out = capsys.readouterr().out
    assert "- score.computed  (event 7 of the first)" in out
    assert "+ score.estimated  (event 7 of the second)" in out


def test_diff_reordered(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same events in another order are reported as reordered, exit 1."""
    cassette = Cassette.load(JOBS)
    response = cassette.interactions[1].response
    blocks = response.body.split(b"\r\n\r\n")
    blocks[0], blocks[1] = blocks[2], blocks[0]
    blocks[2] = Cassette.load(JOBS).interactions[1].response.body.split(b"\r\n\r\n")[1]
    response.chunks = [Chunk(0.1, b"\r\n\r\n".join(blocks))]
    edited = cassette.save(tmp_path / "reordered.yaml")
    assert run("diff", JOBS, edited) == 1
    out = capsys.readouterr().out
    assert "reordered (the same events, in another order):" in out
    assert "-proposed_change" in out or "+proposed_change" in out


def test_diff_status_and_headers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A status change makes them differ; a header change alone is only reported."""
    cassette = Cassette.load(AGENT_RUN)
    cassette.interactions[0].response.headers.append(("x-trace", "abc"))
    headers_only = cassette.save(tmp_path / "headers.yaml")
    assert run("diff", AGENT_RUN, headers_only) == 0
    assert "header x-trace: added 'abc'" in capsys.readouterr().out
    cassette.interactions[0].response.status = 429
    status = cassette.save(tmp_path / "status.yaml")
    assert run("diff", AGENT_RUN, status) == 1
    assert "status: 200 -> 429" in capsys.readouterr().out


def _ended(tmp_path: Path, end: Ending, name: str) -> Path:
    cassette = Cassette.load(AGENT_RUN)
    cassette.interactions[0].response.end = end
    return cassette.save(tmp_path / f"{name}.yaml")


def test_diff_client_closed_equals_complete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After the same events, a client that closed first is not a difference: exit 0, noted."""
    closed = _ended(tmp_path, Ending("client_closed"), "closed")
    assert run("diff", AGENT_RUN, closed) == 0
    out = capsys.readouterr().out
    assert "  end: complete -> client_closed" in out
    assert out.rstrip().endswith("same: event names, order, JSON keys and status all match")


def test_diff_error_ending_differs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An ending that is an error in one recording only makes them differ; two errors do not."""
    broken = _ended(tmp_path, Ending.failed("RemoteProtocolError", "peer closed"), "broken")
    assert run("diff", AGENT_RUN, broken) == 1
    assert "end: complete -> error RemoteProtocolError" in capsys.readouterr().out
    other = _ended(tmp_path, Ending.failed("ReadError", "reset"), "other")
    assert run("diff", broken, other) == 0
    assert "end: error RemoteProtocolError -> error ReadError" in capsys.readouterr().out


def test_diff_unpaired_interactions(capsys: pytest.CaptureFixture[str]) -> None:
    """Interactions only in one recording are listed, and the diff exits 1."""
    assert run("diff", JOBS, AGENT_RUN) == 1
    out = capsys.readouterr().out
    assert "only in the first recording" in out
    assert "only in the second recording" in out


# --------------------------------------------------------------------------- record


def test_record_a_run(live_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`record` prints events as they arrive and writes a redacted cassette with the chunks."""
    out = tmp_path / "run.yaml"
    code = run(
        "record",
        f"{live_server}/runs",
        "-o",
        out,
        "-H",
        "Authorization: Bearer secret-token-123",
        "-d",
        '{"agents": ["a1", "a2"], "responseMode": "stream"}',
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    names = [line.split()[2] for line in captured.out.splitlines()]
    assert names[0] == "job.started"
    assert names[-1] == "complete"
    cassette = Cassette.load(out)
    (interaction,) = cassette.interactions
    assert interaction.request.method == "POST"
    assert interaction.request.header("authorization") == "REDACTED"
    assert interaction.request.header("content-type") == "application/json"
    assert "secret-token-123" not in out.read_text()
    assert len(interaction.response.chunks) == len(names)
    assert f"wrote {out}" in captured.err


def test_record_max_time(
    live_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--max-time` stops an endless stream; the recording ends as closed by the client."""
    out = tmp_path / "endless.yaml"
    assert run("record", f"{live_server}/endless", "-o", out, "--max-time", "0.3") == 0
    assert "stopped after --max-time 0.3s" in capsys.readouterr().err
    response = Cassette.load(out).interactions[0].response
    assert response.end.kind == "client_closed"
    assert response.events()


def test_record_append_and_redact_query(
    live_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--append` adds to a cassette; `--redact-query` extends the redacted parameters."""
    out = tmp_path / "status.yaml"
    url = f"{live_server}/status/429?session=abcdef123456"
    assert run("record", url, "-o", out) == 0
    assert run("record", url, "-o", out, "--append", "--redact-query", "session") == 0
    cassette = Cassette.load(out)
    assert len(cassette) == 2
    assert cassette.interactions[1].request.url.endswith("session=REDACTED")
    assert cassette.interactions[1].response.status == 429
    assert '"status":429' in capsys.readouterr().out


def test_record_connection_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A request that cannot be made is exit 1 with the URL and the error."""
    out = tmp_path / "x.yaml"
    assert run("record", "http://127.0.0.1:9/stream", "-o", out, "--max-time", "5") == 1
    assert "http://127.0.0.1:9/stream: ConnectError" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ftp://example.com/x"], "expected an http:// or https:// URL"),
        (["http://127.0.0.1:9/", "-H", "no colon"], "-H 'no'..."),
        (["http://127.0.0.1:9/", "-d", "@/does/not/exist"], "-d @/does/not/exist"),
        (["http://127.0.0.1:9/", "--max-time", "0"], "--max-time 0"),
        (
            ["http://127.0.0.1:9/", "--redact-body-key", " "],
            "argument --redact-body-key: an empty name redacts nothing",
        ),
        (["http://127.0.0.1:9/", "--redact-header", ""], "argument --redact-header: an empty"),
    ],
)
def test_record_bad_input(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad record arguments are exit 2 with a message naming them."""
    assert run("record", *argv, "-o", tmp_path / "x.yaml") == 2
    assert message in capsys.readouterr().err


def test_record_needs_output(capsys: pytest.CaptureFixture[str]) -> None:
    """`-o` is required."""
    assert run("record", "http://127.0.0.1:9/") == 2
    assert "-o/--output" in capsys.readouterr().err


# --------------------------------------------------------------------------- demo


def test_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`demo` records a run, shows it, replays it under faults and prints the checks."""
    kept = tmp_path / "demo.yaml"
    assert run("demo", "--delay", "0.005", "--keep", kept) == 0
    out = capsys.readouterr().out
    assert "1. record" in out
    assert "2. show" in out
    assert "ended normally (9 events" in out
    table = {
        line.strip().split("  ")[0]: line
        for line in out.splitlines()
        if line.startswith("   ") and ("ok" in line or "--" in line)
    }
    assert "no fault" in table
    assert " --" not in table["no fault"]
    assert "RemoteProtocolError" in table["drop(after_events=4)"]
    assert Cassette.load(kept).interactions[0].request.header("authorization") == "REDACTED"


BLOCK_SERVER_EXTRA = """
import sys
# None in sys.modules makes `import name` raise ImportError: as if the extra were absent.
sys.modules.update(dict.fromkeys(["uvicorn", "starlette", "sse_starlette"]))
try:
    import starlette  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("starlette is still importable")
from pytest_sse_replay.cli._main import main
raise SystemExit(main(["demo", "--delay", "0.005", "--color", "never"]))
"""


def test_demo_needs_no_server_extra() -> None:
    """`demo` completes with uvicorn, starlette and sse-starlette unimportable (a bare install)."""
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_SERVER_EXTRA],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "install the" not in result.stderr
    assert "ended normally (9 events, " in result.stdout
    assert "The recording holds every check" in result.stdout


def test_show_a_broken_stream(
    live_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A recording that broke mid-stream shows how it broke, in text, JSON and HTML."""
    out = tmp_path / "break.yaml"
    assert run("record", f"{live_server}/break", "-o", out) == 0
    assert "the stream broke: RemoteProtocolError" in capsys.readouterr().err
    assert run("show", out) == 0
    assert "broke off: RemoteProtocolError" in capsys.readouterr().out
    assert run("show", out, "--json") == 0
    end = json.loads(capsys.readouterr().out)["interactions"][0]["end"]
    assert end["kind"] == "error"
    assert end["error"] == "RemoteProtocolError"
    page = tmp_path / "break.html"
    assert run("show", out, "--html", page) == 0
    assert 'stroke="#d62728"' in page.read_text()


def _deep_cassette(path: Path, depth: int) -> Path:
    """A cassette whose request body, events and plain body are JSON `depth` lists deep."""
    from pytest_sse_replay.cassette._model import Interaction, RecordedRequest, RecordedResponse

    deep = "[" * depth + "]" * depth
    stream = f'event: a\ndata: {deep}\n\nevent: b\ndata: {{"x": {deep}}}\n\n'.encode()
    json_type = [("content-type", "application/json")]
    Cassette(
        [
            Interaction(
                RecordedRequest("POST", "http://127.0.0.1/s", json_type, deep.encode()),
                RecordedResponse(
                    200,
                    [("content-type", "text/event-stream")],
                    [Chunk(0.1, stream)],
                    Ending("complete"),
                ),
            ),
            Interaction(
                RecordedRequest("GET", "http://127.0.0.1/j", [], b""),
                RecordedResponse(200, json_type, [Chunk(0.1, deep.encode())], Ending("complete")),
            ),
        ]
    ).save(path)
    return path


@pytest.mark.parametrize("depth", [900, 100_000])
@pytest.mark.parametrize(
    "command", [("show",), ("diff",), ("diff", "--structure"), ("check", "--order", "a", "b")]
)
def test_deeply_nested_json_in_a_cassette_is_shown_not_a_recursion_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], depth: int, command: tuple[str, ...]
) -> None:
    """JSON nested hundreds of thousands of levels deep in bodies and events is shown and
    compared as text, never a RecursionError traceback."""
    path = _deep_cassette(tmp_path / "deep.yaml", depth)
    argv: list[str | Path] = [command[0], path, *command[1:]]
    if command[0] == "diff":
        argv.append(path)
    assert run(*argv) in (0, 1)
    captured = capsys.readouterr()
    assert "RecursionError" not in captured.out + captured.err
