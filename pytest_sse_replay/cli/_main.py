"""The `sse-replay` command line: show, record, serve, diff, check, scan, demo.

Exit codes scripts can rely on: 0 all is well, 1 a check failed (or the recordings differ,
or a request could not be made), 2 usage or bad input (a missing or malformed cassette, a
bad argument). Bad input is reported as one line naming the file or argument, never as a
traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

from .._text import plural
from ..cassette import CassetteError
from ..exceptions import UsageProblem

if TYPE_CHECKING:
    from ..assertions import Contract

__all__ = ["main"]

PROG = "sse-replay"
OK, FAILED, USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE, f"{self.prog}: error: {message}\n")


def _colour(choice: str, stream: IO[str]) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _load(path: str, *, shown: bool = False) -> Any:
    from ..cassette import Cassette, Redaction

    cassette = Cassette.load(path)
    if shown:
        # What is printed about it (diff, check's timelines) is redacted, as `show` does:
        # a cassette written by hand (or by another tool) may hold a secret.
        Redaction().apply(cassette)
    return cassette


# --------------------------------------------------------------------------- show


def _show(args: argparse.Namespace) -> int:
    from ._show import render_html, render_json, render_text, timelines

    cassette = _load(args.cassette, shown=True)
    lines = timelines(cassette)
    if args.interaction is not None:
        count = len(lines)
        if not -count <= args.interaction < count:
            raise UsageProblem(
                f"--interaction {args.interaction}: {args.cassette} has "
                f"{plural(count, 'interaction')}"
            )
        lines = [lines[args.interaction]]
    if args.html:
        out = Path(args.html)
        try:
            out.write_text(render_html(lines, source=args.cassette), encoding="utf-8")
        except OSError as exc:
            raise UsageProblem(f"--html {args.html}: cannot write: {exc.strerror or exc}") from None
        print(f"wrote {out}", file=sys.stderr)
    if args.json:
        print(render_json(lines, source=args.cassette))
    elif not args.html:
        colour = _colour(args.color, sys.stdout)
        print(render_text(lines, colour=colour, source=args.cassette, total=len(cassette)))
    return OK


# --------------------------------------------------------------------------- diff


def _diff(args: argparse.Namespace) -> int:
    from ._diff import diff_cassettes, diff_structures

    if args.structure:
        a, b = _load(args.a, shown=True), _load(args.b, shown=True)
        text, differs = diff_structures(a, b, ignore=args.ignore or ())
        print(f"--- {args.a}\n+++ {args.b}\n{text}")
        return FAILED if differs else OK
    if args.ignore:
        raise UsageProblem("--ignore goes with --structure")

    result = diff_cassettes(_load(args.a, shown=True), _load(args.b, shown=True))
    print(result.render(args.a, args.b))
    return FAILED if result.differs else OK


# --------------------------------------------------------------------------- check


def _name(text: str) -> str:
    """A name to redact; an empty one would redact nothing while looking like it did."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty name redacts nothing")
    return text


def _count_rule(text: str) -> tuple[str, int | None, int | None, int | None]:
    pattern, eq, count = text.rpartition("=")
    if not eq or not pattern:
        raise UsageProblem(f"--count {text!r}: expected PATTERN=N or PATTERN=MIN..MAX")
    try:
        if ".." in count:
            low, _, high = count.partition("..")
            return pattern, None, int(low) if low else None, int(high) if high else None
        return pattern, int(count), None, None
    except ValueError:
        raise UsageProblem(f"--count {text!r}: the counts must be whole numbers") from None


def _check(args: argparse.Namespace) -> int:
    # Every file is checked (and reported) even when an earlier one fails.
    codes = [_check_file(args, path) for path in args.cassette]
    return max(codes)


def _incomplete(cassette: Any, interaction: int | None, terminal: str | None) -> str | None:
    """Each event stream that is empty, broke, or (with `terminal`) does not end with exactly
    one terminal event, one line each; None when every stream is complete."""
    from ..assertions import EventLog, incompleteness

    chosen = range(len(cassette.interactions)) if interaction is None else [interaction]
    problems = []
    for index in chosen:
        recorded = cassette.interactions[index]
        if not recorded.response.is_event_stream:
            continue
        label = f"#{index} {recorded.request.method} {recorded.request.url}"
        # The terminal event itself by assert_terminal, whose message shows the timeline.
        problem = incompleteness(recorded, None)
        if problem is None and terminal is not None:
            try:
                EventLog.from_cassette(cassette, index).assert_terminal(terminal)
            except AssertionError as exc:
                problem = str(exc)
            except (TypeError, ValueError) as exc:
                raise UsageProblem(f"--terminal {terminal}: {exc}") from None
        if problem is not None:
            problems.append(f"{label}: {problem}")
    return "\n".join(problems) or None


def _contracts(args: argparse.Namespace) -> list[Contract]:
    """The rules given on the command line, as contracts (one per --order chain after the
    first); a bad pattern or count is bad input, said before any file is read."""
    from ..assertions import Contract

    count: dict[str, int | tuple[int | None, int | None]] = {}
    for text in args.count or ():
        pattern, n, low, high = _count_rule(text)
        count[pattern] = n if n is not None else (low, high)
    within: dict[str, float] = {}
    for pattern, seconds in args.within or ():
        try:
            within[pattern] = float(seconds)
        except ValueError:
            raise UsageProblem(f"--within {pattern} {seconds}: not a number of seconds") from None
    chains = [list(chain) for chain in args.order or ()]
    try:
        contracts = [
            Contract(
                first=args.first,
                order=chains[0] if chains else (),
                before=[tuple(pair) for pair in args.before or ()],
                pairs=[tuple(triple) for triple in args.pairs or ()],
                once=args.once or (),
                count=count,
                last=args.last,
                increasing=args.increasing or (),
                within=within,
            )
        ]
        contracts += [Contract(order=chain) for chain in chains[1:]]
    except (TypeError, ValueError) as exc:
        raise UsageProblem(str(exc)) from None
    return contracts


def _check_file(args: argparse.Namespace, path: str) -> int:
    from ..assertions import EventLog, RuleResult

    cassette = _load(path, shown=True)
    try:
        log = EventLog.from_cassette(cassette, args.interaction)
    except (IndexError, ValueError) as exc:
        raise UsageProblem(f"--interaction {args.interaction}: {exc}") from None
    # The cassette's own streams first (each complete, each with its terminal event), then
    # the rules on the events, in the order `Contract` applies them.
    results: list[RuleResult] = []
    if args.complete or args.terminal:
        label = f"terminal {args.terminal}" if args.terminal else "complete"
        results.append(RuleResult(label, _incomplete(cassette, args.interaction, args.terminal)))
    for contract in _contracts(args):
        results += contract.results(log)
    if not results:
        raise UsageProblem(
            "no checks given: use --order, --terminal, --complete, --first, --last, --before, "
            "--pairs, --once, --count, --increasing or --within"
        )
    colour = _colour(args.color, sys.stdout)
    for result in results:
        print(f"{_mark(result.holds, colour)} {result.rule}")
        if result.failure is not None:
            print("\n".join(f"    {line}" for line in result.failure.splitlines()))
    held = sum(result.holds for result in results)
    print(f"{path}: {plural(len(log), 'event')}; {_held(held, len(results))}")
    return OK if held == len(results) else FAILED


def _held(held: int, total: int) -> str:
    """`3 of 4 checks hold`, `1 of 2 checks holds`, `the check fails`."""
    if total == 1:
        return "the check holds" if held else "the check fails"
    return f"{held} of {plural(total, 'check')} {'holds' if held == 1 else 'hold'}"


def _mark(ok: bool, colour: bool) -> str:
    text = "ok  " if ok else "FAIL"
    if not colour:
        return text
    return f"\x1b[32m{text}\x1b[0m" if ok else f"\x1b[1;31m{text}\x1b[0m"


# --------------------------------------------------------------------------- scan


def _scan(args: argparse.Namespace) -> int:
    from ._scan import scan_paths

    secrets = list(args.secret or ())
    for name in args.secret_env or ():
        value = os.environ.get(name)
        if not value:
            raise UsageProblem(f"--secret-env {name}: the environment variable is not set")
        secrets.append(value)
    for value in secrets:
        if len(value) < _MIN_SECRET:
            # Never echo the value: it is a secret.
            raise UsageProblem(
                f"a --secret/--secret-env value of {len(value)} characters is too short to "
                f"look for (at least {_MIN_SECRET}): it would match ordinary text"
            )
    try:
        report = scan_paths(args.paths, secrets)
    except FileNotFoundError as exc:
        raise UsageProblem(f"{exc.args[0]}: no such file or folder") from None
    for path, problem in report.not_cassettes:
        print(f"{path}: not a valid cassette, scanned as text ({problem})", file=sys.stderr)
    for finding in report.findings:
        print(finding)
    files = len(report.files)
    found = len(report.findings)
    suspected = plural(found, "suspected secret") if found else "no suspected secrets"
    print(f"{plural(files, 'file')} scanned, {suspected}", file=sys.stderr)
    return FAILED if found else OK


_MIN_SECRET = 6


# --------------------------------------------------------------------------- record


def _headers(values: Sequence[str]) -> list[tuple[str, str]]:
    headers = []
    for text in values:
        name, colon, value = text.partition(":")
        if not colon or not name.strip() or any(c in name for c in " \t\r\n"):
            # Only the first word: the rest may well be a token ("Authorization Bearer ...").
            shown = (text.split() or [""])[0].partition(":")[0]
            raise UsageProblem(f"-H {shown!r}...: expected 'Name: value'")
        headers.append((name.strip(), value.strip()))
    return headers


def _data(value: str | None) -> bytes | None:
    if value is None:
        return None
    if value.startswith("@"):
        name = value[1:]
        if name == "-":
            return sys.stdin.buffer.read()
        try:
            return Path(name).read_bytes()
        except OSError as exc:
            raise UsageProblem(f"-d {value}: cannot read {name}: {exc.strerror or exc}") from None
    return value.encode()


def _record(args: argparse.Namespace) -> int:
    import json
    from urllib.parse import urlsplit

    import httpx

    from ..cassette import (
        CLIENT_CLOSED,
        Cassette,
        RecordedRequest,
        Redaction,
        is_event_stream,
        round_us,
        url_problem,
    )
    from ..clients import RecordingTransport
    from ..sse import SSEParser
    from ._show import Style, event_row, row_line

    redaction = Redaction().extend(
        headers=args.redact_header or (),
        query=args.redact_query or (),
        body_keys=args.redact_body_key or (),
    )
    try:
        parts = urlsplit(args.url)
        parts.port  # noqa: B018 (raises for a port that is not a number from 0 to 65535)
    except ValueError as exc:
        reason = url_problem(exc)  # urlsplit's own message may quote the password
        raise UsageProblem(f"URL {redaction.url(args.url)!r}: {reason}") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageProblem(f"URL {redaction.url(args.url)!r}: expected an http:// or https:// URL")
    if args.max_time is not None and not args.max_time > 0:
        raise UsageProblem(f"--max-time {args.max_time}: expected a number of seconds > 0")
    headers = _headers(args.header or ())
    data = _data(args.data)
    names = {name.lower() for name, _ in headers}
    if "accept" not in names:
        headers.append(("Accept", "text/event-stream"))
    if data is not None and "content-type" not in names:
        try:
            json.loads(data)
        except ValueError:
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        else:
            headers.append(("Content-Type", "application/json"))
    method = (args.request or ("POST" if data is not None else "GET")).upper()
    out = Path(args.output)
    cassette = Cassette()
    if args.append and out.exists():
        cassette = Cassette.load(out)
    # Nothing printed shows what the cassette will not: the URL as redacted, and the
    # request's secrets (and the response's cookies) scrubbed from events and messages.
    sent = RecordedRequest(method, args.url, [(k.lower(), v) for k, v in headers], data or b"")
    secrets = redaction.request_secrets(sent)
    shown_url = redaction.url(args.url, secrets)

    style = Style(_colour(args.color, sys.stdout))
    timeout = httpx.Timeout(10.0, read=args.max_time)
    deadline = None if args.max_time is None else time.monotonic() + args.max_time
    transport = RecordingTransport(cassette)
    before = len(cassette)
    stopped = ""
    events = 0
    start = time.perf_counter()
    try:
        with (
            httpx.Client(transport=transport, timeout=timeout) as client,
            client.stream(method, args.url, headers=headers, content=data) as response,
        ):
            content_type = response.headers.get("content-type", "")
            secrets = redaction.request_secrets(sent, list(response.headers.multi_items()))
            print(
                f"{method} {shown_url} -> {response.status_code} {content_type}".rstrip(),
                file=sys.stderr,
            )
            body: list[bytes] = []
            parser = SSEParser()
            previous = 0.0
            is_stream = is_event_stream([("content-type", content_type)])
            for chunk in response.iter_bytes():
                if is_stream:
                    for event in parser.feed(chunk, round_us(time.perf_counter() - start)):
                        event = redaction.event(event, secrets)
                        print(row_line(event_row(event, event.t - previous), style), flush=True)
                        previous = event.t
                        events += 1
                elif not args.quiet:
                    body.append(chunk)  # printed whole, so a secret cut in two is still found
                if deadline is not None and time.monotonic() >= deadline:
                    stopped = f"stopped after --max-time {args.max_time:g}s"
                    break
            if not is_stream and not args.quiet:
                text = b"".join(body).decode("utf-8", "replace")
                print(redaction.scrub(text, secrets))
    except httpx.TimeoutException as exc:
        if deadline is None or time.monotonic() < deadline - 0.05 or len(cassette) == before:
            return _request_failed(shown_url, redaction.scrub(str(exc), secrets), exc)
        stopped = f"stopped after --max-time {args.max_time:g}s"
    except httpx.HTTPError as exc:
        if len(cassette) == before:
            return _request_failed(shown_url, redaction.scrub(str(exc), secrets), exc)
        detail = redaction.scrub(str(exc), secrets)
        print(f"{PROG} record: the stream broke: {type(exc).__name__}: {detail}", file=sys.stderr)
    except KeyboardInterrupt:
        stopped = "interrupted"
    if len(cassette) == before:
        print(f"{PROG} record: nothing was recorded", file=sys.stderr)
        return FAILED
    if stopped:
        # The client chose to stop: that is how the recording ends, not a read error.
        for interaction in cassette.interactions[before:]:
            if interaction.response.end.kind != "complete":
                interaction.response.end = CLIENT_CLOSED
        print(f"{PROG} record: {stopped}", file=sys.stderr)
    redacted = redaction.apply(cassette)
    try:
        cassette.save(out)
    except OSError as exc:
        raise UsageProblem(f"-o {args.output}: cannot write: {exc.strerror or exc}") from None
    note = f", {plural(len(redacted), 'secret value')} redacted" if redacted else ""
    print(
        f"{PROG} record: {plural(events, 'event')}; wrote {out} "
        f"({plural(len(cassette), 'interaction')}{note})",
        file=sys.stderr,
    )
    return OK


def _request_failed(url: str, detail: str, exc: Exception) -> int:
    print(f"{PROG} record: {url}: {type(exc).__name__}: {detail or 'no detail'}", file=sys.stderr)
    return FAILED


# --------------------------------------------------------------------------- serve


def _serve(args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    from ..clients import FaultSpecError, ReplayServer, parse_fault

    cassette = _load(args.cassette)
    try:
        faults = [parse_fault(spec) for spec in args.fault or ()]
    except FaultSpecError as exc:
        raise UsageProblem(f"--fault {exc}") from None
    if args.speed < 0:
        raise UsageProblem(f"--speed {args.speed:g}: expected a number >= 0")
    if not 0 <= args.port <= 65535:  # bind() would raise OverflowError
        raise UsageProblem(f"--port {args.port}: expected a port from 0 to 65535 (0: a free one)")
    try:
        server = ReplayServer(
            cassette,
            speed=args.speed,
            faults=faults,
            match_on=args.match_on,
            port=args.port,
            cors=not args.no_cors,
            log=None if args.quiet else _log_line,
        )
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    except OSError as exc:
        raise UsageProblem(
            f"--port {args.port}: cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}"
        ) from None
    count = len(cassette)
    print(
        f"serving {args.cassette} ({plural(count, 'interaction')}, "
        f"speed {args.speed:g}{', faults: ' + ', '.join(args.fault) if args.fault else ''}) "
        f"at {server.url}"
    )
    for interaction in cassette:
        parts = urlsplit(interaction.request.url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        print(f"  {interaction.request.method} {server.url}{target}")
    print("Ctrl-C to stop", flush=True)

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # Ctrl-C, and a polite kill, stop it cleanly (even where SIGINT was inherited ignored).
    previous = {
        signum: signal.signal(signum, terminate) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        server.stop()
    print("stopped", flush=True)
    return OK


def _log_line(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)


# --------------------------------------------------------------------------- demo


def _demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    code: int = run_demo(delay=args.delay, keep=args.keep, colour=_colour(args.color, sys.stdout))
    return code


# --------------------------------------------------------------------------- parser


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description=(
            "Look at, record, serve, compare and check Server-Sent-Events cassettes. "
            "Exit codes: 0 ok, 1 a check failed or the recordings differ, 2 usage or bad input."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    def colour_option(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--color",
            "--colour",
            choices=("auto", "always", "never"),
            default="auto",
            help="colour the output: auto (the default) only on a terminal, and not when "
            "NO_COLOR is set",
        )

    show = commands.add_parser(
        "show",
        help="the timeline of a cassette",
        description="Print the timeline of each interaction: request line, status, one row per "
        "event (offset, gap since the previous row, name, id, data preview), comments such as "
        "heartbeats, and how the stream ended.",
    )
    show.add_argument("cassette", metavar="CASSETTE", help="the cassette file (YAML)")
    show.add_argument("--json", action="store_true", help="print JSON instead of a table")
    show.add_argument(
        "--html",
        metavar="OUT",
        help="write an HTML page drawing the events on a time axis, one lane per event name",
    )
    show.add_argument(
        "-i", "--interaction", type=int, metavar="N", help="only interaction N (from 0)"
    )
    colour_option(show)
    show.set_defaults(run=_show)

    record = commands.add_parser(
        "record",
        help="record a request's response into a cassette (curl-like)",
        description="Send one request, print the events as they arrive, and write the response "
        "with every chunk and its timing to a cassette. Secrets are redacted as the plugin does "
        "(authorization, proxy-authorization, x-api-key, api-key, cookie, set-cookie headers; "
        "api_key, apikey, token, "
        "access_token, key query parameters). Without -H Accept, 'Accept: text/event-stream' is "
        "sent; -d with a JSON body sends 'Content-Type: application/json'.",
    )
    record.add_argument("url", metavar="URL")
    record.add_argument("-o", "--output", required=True, metavar="CASSETTE", help="file to write")
    record.add_argument("-X", "--request", metavar="METHOD", help="GET, or POST with -d")
    record.add_argument(
        "-H", "--header", action="append", metavar="'NAME: VALUE'", help="a request header"
    )
    record.add_argument("-d", "--data", metavar="DATA", help="request body; @FILE reads a file")
    record.add_argument(
        "--max-time", type=float, metavar="SECONDS", help="stop reading after this long"
    )
    record.add_argument(
        "--redact-header",
        action="append",
        type=_name,
        metavar="NAME",
        help="another header to redact",
    )
    record.add_argument(
        "--redact-query",
        action="append",
        type=_name,
        metavar="NAME",
        help="another query parameter to redact",
    )
    record.add_argument(
        "--redact-body-key",
        action="append",
        type=_name,
        metavar="NAME",
        help="another JSON/form request-body field to redact",
    )
    record.add_argument(
        "--append", action="store_true", help="add to the cassette instead of replacing it"
    )
    record.add_argument("-q", "--quiet", action="store_true", help="do not print a plain body")
    colour_option(record)
    record.set_defaults(run=_record)

    serve = commands.add_parser(
        "serve",
        help="replay a cassette over real HTTP on 127.0.0.1",
        description="Serve a cassette on 127.0.0.1 for clients that are not httpx (a browser's "
        "EventSource, requests, curl -N). Requests are matched by method, path and query; "
        "Last-Event-ID resumes after that event. Ctrl-C stops it.",
        epilog="Faults: NAME[:ARG,KEY=VALUE,...], e.g. split:size=1, merge, drop:after_events=3, "
        "truncate:after_events=2, error:429,times=2, stall:after_events=2,seconds=30, "
        "skip:agent.*, inject:after_events=1,event=error,data={...}, connection_limit:n=2.",
    )
    serve.add_argument("cassette", metavar="CASSETTE")
    serve.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    serve.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="1 (the default) at the recorded pace, 2 twice as fast, 0 no waiting",
    )
    serve.add_argument(
        "--fault", action="append", metavar="SPEC", help="a fault to inject (repeatable)"
    )
    serve.add_argument(
        "--match-on",
        action="append",
        metavar="RULE",
        help="also match on body, json or headers:NAME (repeatable)",
    )
    serve.add_argument(
        "--no-cors", action="store_true", help="do not send Access-Control-Allow-Origin"
    )
    serve.add_argument("-q", "--quiet", action="store_true", help="do not log each request")
    serve.set_defaults(run=_serve)

    diff = commands.add_parser(
        "diff",
        help="how two recordings of the same interactions differ",
        description="Compare two cassettes: event names added, removed or moved, JSON keys that "
        "appeared or disappeared per event name, status, header and timing changes. Exit 1 when "
        "they differ in event names, order, JSON keys or status (headers and timing are only "
        "reported).",
    )
    diff.add_argument("a", metavar="A", help="the old cassette")
    diff.add_argument("b", metavar="B", help="the new cassette")
    diff.add_argument(
        "--structure",
        action="store_true",
        help="compare by structure, as --sse-record=verify does: status, content type, event "
        "names (repeats collapsed), JSON key paths and types, terminal event, ending; timing "
        "within x3 (warnings only)",
    )
    diff.add_argument(
        "--ignore",
        action="append",
        metavar="PATH",
        help="with --structure: a JSON key path (glob) to leave out, and all below it; repeatable",
    )
    diff.set_defaults(run=_diff)

    check = commands.add_parser(
        "check",
        help="apply ordering assertions to a cassette's events",
        description="Apply EventLog assertions to the events of each cassette (all its event "
        "streams, or one with -i). Patterns are shell globs on the event name, '|' between "
        "alternatives. Exit 1 when a check fails.",
    )
    check.add_argument("cassette", metavar="CASSETTE", nargs="+", help="one or more cassettes")
    check.add_argument(
        "-i", "--interaction", type=int, metavar="N", help="only the stream of interaction N"
    )
    check.add_argument(
        "--order",
        nargs="+",
        action="append",
        metavar="PATTERN",
        help="every match of each pattern comes before every match of the next",
    )
    check.add_argument("--first", metavar="PATTERN", help="the first event matches")
    check.add_argument("--last", metavar="PATTERN", help="the last event matches")
    check.add_argument(
        "--terminal",
        metavar="PATTERN",
        help="each event stream is complete (not empty, not broken) and ends with exactly one "
        "event that matches",
    )
    check.add_argument(
        "--complete", action="store_true", help="each event stream has events and did not break"
    )
    check.add_argument(
        "--before",
        nargs=2,
        action="append",
        metavar=("A", "B"),
        help="the first A before the first B",
    )
    check.add_argument(
        "--pairs",
        nargs=3,
        action="append",
        metavar=("OPEN", "CLOSE", "KEY"),
        help="each OPEN is closed by one CLOSE with the same JSON KEY",
    )
    check.add_argument("--once", action="append", metavar="PATTERN", help="exactly one match")
    check.add_argument(
        "--count", action="append", metavar="PATTERN=N", help="N matches, or MIN..MAX"
    )
    check.add_argument(
        "--increasing", action="append", metavar="KEY", help="a JSON field never goes down"
    )
    check.add_argument(
        "--within",
        nargs=2,
        action="append",
        metavar=("PATTERN", "SECONDS"),
        help="the first match arrives within SECONDS of the request",
    )
    colour_option(check)
    check.set_defaults(run=_check)

    scan = commands.add_parser(
        "scan",
        help="find credentials left in cassettes (a pre-commit and CI check)",
        description="Look through cassettes (files, or folders searched for *.yaml and *.yml) "
        "for what looks like a credential: known token shapes (OpenAI, Anthropic, GitHub, AWS, "
        "Slack, Google, Stripe, JWTs, private keys, Bearer/Basic values that are not REDACTED), "
        "long random strings in auth-like headers, query parameters and JSON keys, and the "
        "values given with --secret/--secret-env (also percent-encoded, JSON-escaped and "
        "base64). Prints FILE:LINE: FIELD: KIND (masked preview); never a whole secret. "
        "Exit 1 when anything is found.",
    )
    scan.add_argument("paths", nargs="+", metavar="PATH", help="a cassette file or a folder")
    scan.add_argument(
        "--secret", action="append", metavar="VALUE", help="a value that must not appear"
    )
    scan.add_argument(
        "--secret-env",
        action="append",
        metavar="NAME",
        help="an environment variable whose value must not appear (keeps it off the command line)",
    )
    scan.set_defaults(run=_scan)

    demo = commands.add_parser(
        "demo",
        help="record, show, replay with faults and check a multi-agent run (local only)",
        description="Start a local SSE server (standard library only), record a multi-agent "
        "run into a temporary cassette, show its timeline, replay it under a few faults and "
        "print which ordering checks hold. Uses no network beyond 127.0.0.1.",
    )
    demo.add_argument(
        "--delay", type=float, default=0.05, help="seconds between the server's events"
    )
    demo.add_argument("--keep", metavar="CASSETTE", help="also save the recording here")
    colour_option(demo)
    demo.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else USAGE
    try:
        code: int = args.run(args)
    except CassetteError as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return USAGE
    except UsageProblem as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return USAGE
    except BrokenPipeError:
        # `sse-replay show x | head`: the reader went away; that is not an error. Point
        # stdout at /dev/null so that the interpreter's final flush stays silent too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        with contextlib.suppress(OSError, ValueError):
            os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return OK
    return code


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pytest-sse-replay")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"
