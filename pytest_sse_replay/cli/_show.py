"""What a cassette holds, as a timeline: rows for a terminal, a JSON document, an HTML page.

`timelines(cassette)` reads each interaction once into a `Timeline` (request line, status,
one `Row` per event or comment with its arrival time, and how the body ended); the three
renderers only format that. Events come from the real parser, fed one line at a time so
that comment lines (`: heartbeat`), which the parser rightly never dispatches, can be shown
at the place and time they arrived.
"""

from __future__ import annotations

import bisect
import hashlib
import html
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, ClassVar, Literal

from .._text import clip, one_line, plural
from ..cassette import Cassette, Ending, Interaction, RecordedResponse
from ..sse import BOM, Event, SSEParser

__all__ = [
    "Row",
    "Timeline",
    "render_html",
    "render_json",
    "render_text",
    "row_line",
    "timelines",
]

# A line and its end, as the spec cuts them: CRLF, CR or LF (CRLF tried first).
_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)")
_NAME_WIDTH = 22
_ID_WIDTH = 10
_DATA_WIDTH = 72
_BODY_PREVIEW = 200
# Event names that usually mean something went wrong: drawn in red.
_BAD = re.compile(r"(^|[._-])(error|fail(ed|ure)?|cancel(l?ed)?|abort(ed)?)($|[._-])", re.I)


@dataclass(frozen=True, slots=True)
class Row:
    """One event, or one comment line, of a stream, at the time its last byte arrived."""

    kind: Literal["event", "comment"]
    t: float
    # Seconds since the previous row (since the request for the first one).
    gap: float
    name: str = ""
    type: str = ""
    id: str = ""
    data: str = ""
    retry: int | None = None
    # A comment's text, without the colon and the one space after it.
    text: str = ""


@dataclass(slots=True)
class Timeline:
    """One interaction, ready to draw."""

    index: int
    method: str
    url: str
    status: int
    content_type: str
    headers_t: float
    is_stream: bool
    end: Ending
    size: int
    chunks: int
    duration: float
    rows: list[Row] = field(default_factory=list)
    # For a response that is not an event stream: the start of its body, as text.
    body: str = ""

    @property
    def events(self) -> list[Row]:
        return [row for row in self.rows if row.kind == "event"]

    @property
    def comments(self) -> list[Row]:
        return [row for row in self.rows if row.kind == "comment"]


def timelines(cassette: Cassette) -> list[Timeline]:
    return [timeline(interaction, index) for index, interaction in enumerate(cassette)]


def timeline(interaction: Interaction, index: int = 0) -> Timeline:
    request, response = interaction.request, interaction.response
    body = response.body
    duration = max((chunk.t for chunk in response.chunks), default=response.headers_t)
    content_type = response.header("content-type") or ""
    line = Timeline(
        index=index,
        method=request.method,
        url=request.url,
        status=response.status,
        content_type=content_type,
        headers_t=response.headers_t,
        is_stream=response.is_event_stream,
        end=response.end,
        size=len(body),
        chunks=len(response.chunks),
        duration=duration,
    )
    if line.is_stream:
        line.rows = stream_rows(response)
    else:
        text = body.decode("utf-8", "replace")
        line.body = text if len(text) <= _BODY_PREVIEW else text[: _BODY_PREVIEW - 3] + "..."
    return line


def stream_rows(response: RecordedResponse) -> list[Row]:
    """The events and comment lines of an event-stream body, in arrival order."""
    body = response.body
    ends = list(accumulate(len(chunk.data) for chunk in response.chunks))
    times = [chunk.t for chunk in response.chunks]

    def arrival(offset: int) -> float:
        # The time of the chunk that holds byte `offset - 1`: when the line was complete.
        if not times:
            return response.headers_t
        return times[min(bisect.bisect_left(ends, offset), len(times) - 1)]

    parser = SSEParser()
    rows: list[Row] = []
    previous = 0.0
    position = 0
    for match in _LINE.finditer(body):
        raw = match.group()
        end = match.end()
        t = arrival(end)
        line = raw.rstrip(b"\r\n")
        if position == 0:
            line = line.removeprefix(BOM)
        position = end
        events = parser.feed(raw, t)
        if line.startswith(b":"):
            text = line[1:].removeprefix(b" ").decode("utf-8", "replace")
            rows.append(Row("comment", t, t - previous, text=text))
            previous = t
        rows.extend(event_row(event, event.t - previous) for event in events)
        if events:
            previous = t
    return rows


def event_row(event: Event, gap: float) -> Row:
    return Row(
        "event",
        event.t,
        gap,
        name=event.name,
        type=event.type,
        id=event.id,
        data=event.data,
        retry=event.retry,
    )


# --------------------------------------------------------------------------- text


class Style:
    """ANSI styles, or none: colour only when asked for (a terminal, or --color=always)."""

    _CODES: ClassVar[dict[str, str]] = {
        "bold": "1",
        "dim": "2",
        "red": "31",
        "green": "32",
        "yellow": "33",
        "cyan": "36",
    }
    # Lanes cycle through these; red is kept for errors.
    _PALETTE = ("36", "33", "35", "34", "32", "96", "93", "95", "94", "92")

    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def __call__(self, text: str, *styles: str) -> str:
        if not self.colour or not styles or not text:
            return text
        codes = ";".join(self._CODES.get(style, style) for style in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"

    def name(self, name: str, padded: str) -> str:
        if _BAD.search(name):
            return self(padded, "1", "31")
        digest = hashlib.blake2s(name.encode(), digest_size=2).digest()
        return self(padded, self._PALETTE[int.from_bytes(digest, "big") % len(self._PALETTE)])


def row_line(
    row: Row,
    style: Style | None = None,
    *,
    data_width: int = _DATA_WIDTH,
    id_width: int = _ID_WIDTH,
) -> str:
    """One row as text: offset, gap, name, id, data preview (comments as `: text`).

    `id_width=0` leaves the id column out (for a stream without ids).
    """
    style = style or Style(False)
    when = f"{row.t:8.3f}s " + style(f"+{row.gap:.3f}".rjust(8), "dim")
    if row.kind == "comment":
        return f"{when}  " + style(clip(f": {one_line(row.text)}", _NAME_WIDTH + 40), "dim")
    name = style.name(row.name, clip(row.name, _NAME_WIDTH).ljust(_NAME_WIDTH))
    ident = style(clip(row.id, id_width).ljust(id_width), "dim") + " " if id_width else ""
    data = clip(one_line(row.data), data_width)
    extra = f"  retry={row.retry}" if row.retry is not None else ""
    return f"{when}  {name} {ident}{data}{extra}".rstrip()


def _end_text(line: Timeline) -> tuple[str, bool]:
    end = line.end
    if end.kind == "complete":
        return "ended normally", True
    if end.kind == "client_closed":
        return "closed by the client before the end", True
    message = f": {end.message}" if end.message else ""
    return f"broke off: {end.error}{message}", False


def _summary(line: Timeline) -> str:
    parts = [plural(len(line.events), "event")] if line.is_stream else []
    if line.comments:
        parts.append(plural(len(line.comments), "comment"))
    parts.append(f"{line.size:,} bytes in {plural(line.chunks, 'chunk')}")
    parts.append(f"{line.duration:.3f}s")
    return ", ".join(parts)


def render_text(
    lines: Sequence[Timeline], *, colour: bool = False, source: str = "", total: int | None = None
) -> str:
    """The timelines as a table; `total` is the cassette's size when `lines` is a selection."""
    style = Style(colour)
    out: list[str] = []
    if source:
        size = plural(len(lines) if total is None else total, "interaction")
        out.append(style(f"{source}: {size}", "bold"))
    for line in lines:
        if out:
            out.append("")
        status = style(str(line.status), "green" if line.status < 400 else "red", "1")
        kind = f" {line.content_type}" if line.content_type else ""
        out.append(
            f"{style(f'#{line.index}', 'bold')} {style(line.method, 'bold')} {line.url}"
            f"  -> {status}{kind}  (headers at {line.headers_t:.3f}s)"
        )
        if line.is_stream:
            id_width = _ID_WIDTH if any(row.id for row in line.rows) else 0
            if line.rows:
                ident = f"{'id':<{id_width}} " if id_width else ""
                out.append(
                    style(f"{'t':>9} {'gap':>8}  {'event':<{_NAME_WIDTH}} {ident}data", "dim")
                )
            out.extend(row_line(row, style, id_width=id_width) for row in line.rows)
        elif line.body:
            out.append(f"  body: {one_line(line.body)}")
        text, good = _end_text(line)
        end = style(text, "green" if good else "red")
        out.append(f"  {end} ({_summary(line)})")
    return "\n".join(out)


# --------------------------------------------------------------------------- JSON


def _ending_json(end: Ending) -> dict[str, str]:
    if end.kind == "error":
        return {"kind": "error", "error": end.error, "message": end.message}
    return {"kind": end.kind}


def _row_json(row: Row) -> dict[str, Any]:
    item: dict[str, Any] = {"kind": row.kind, "t": round(row.t, 6), "gap": round(row.gap, 6)}
    if row.kind == "comment":
        item["text"] = row.text
        return item
    item.update(name=row.name, type=row.type, id=row.id, data=row.data)
    if row.retry is not None:
        item["retry"] = row.retry
    return item


def to_json(lines: Iterable[Timeline]) -> list[dict[str, Any]]:
    return [
        {
            "index": line.index,
            "request": {"method": line.method, "url": line.url},
            "status": line.status,
            "content_type": line.content_type,
            "headers_t": line.headers_t,
            "event_stream": line.is_stream,
            "bytes": line.size,
            "chunks": line.chunks,
            "duration": line.duration,
            "rows": [_row_json(row) for row in line.rows],
            **({} if line.is_stream else {"body": line.body}),
            "end": _ending_json(line.end),
        }
        for line in lines
    ]


def render_json(lines: Sequence[Timeline], *, source: str = "") -> str:
    document = {"cassette": source, "interactions": to_json(lines)}
    return json.dumps(document, indent=2, ensure_ascii=False)


# --------------------------------------------------------------------------- HTML

_LANE_H = 28
_LEFT = 190
_PLOT_W = 900
_RIGHT = 24
_TOP = 28
_AXIS_H = 30
_COLOURS = (
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#cc79a7",
    "#56b4e9",
    "#8c6d31",
    "#6b6ecf",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
)
_ERROR_COLOUR = "#d62728"
_COMMENT_LANE = ": comments"

_CSS = """
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px;
       color: #1f2328; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 28px 0 6px; font-family: ui-monospace, monospace; }
.meta { color: #59636e; margin: 0 0 8px; }
.bad { color: #d62728; font-weight: 600; }
.good { color: #1a7f37; }
svg { display: block; max-width: 100%; height: auto; }
svg text { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; fill: #1f2328; }
svg .tick { fill: #59636e; font-size: 11px; }
svg .lane { fill: #f6f8fa; }
svg .grid { stroke: #d0d7de; stroke-width: 1; }
svg circle { stroke: #fff; stroke-width: 1.5; }
svg circle:hover { stroke: #1f2328; }
details { margin: 6px 0 0; }
table { border-collapse: collapse; font: 12px ui-monospace, monospace; }
td, th { text-align: left; padding: 2px 10px 2px 0; vertical-align: top; }
td.num { text-align: right; }
td.data { max-width: 720px; overflow-wrap: anywhere; }
pre { background: #f6f8fa; padding: 8px; overflow-x: auto; }
"""


def _ticks(duration: float) -> list[float]:
    """About six round tick values from 0 to at least `duration`."""
    if duration <= 0:
        return [0.0]
    raw = duration / 6
    magnitude = 10 ** _floor_log10(raw)
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    count = int(duration / step + 0.999999) + 1
    return [round(i * step, 9) for i in range(count)]


def _floor_log10(value: float) -> int:
    exponent = 0
    while value >= 10:
        value /= 10
        exponent += 1
    while value < 1:
        value *= 10
        exponent -= 1
    return exponent


def _svg(line: Timeline) -> str:
    lanes: dict[str, int] = {}
    for row in line.rows:
        lane = row.name if row.kind == "event" else _COMMENT_LANE
        lanes.setdefault(lane, len(lanes))
    ticks = _ticks(max(line.duration, line.headers_t, 0.001))
    span = ticks[-1] or 1.0
    height = _TOP + len(lanes) * _LANE_H + _AXIS_H
    width = _LEFT + _PLOT_W + _RIGHT

    def x(t: float) -> float:
        return _LEFT + t / span * _PLOT_W

    esc = html.escape
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-label="timeline of interaction {line.index}">'
    ]
    colours: dict[str, str] = {}
    for lane, number in lanes.items():
        y = _TOP + number * _LANE_H
        if number % 2 == 0:
            parts.append(f'<rect class="lane" x="0" y="{y}" width="{width}" height="{_LANE_H}"/>')
        if lane == _COMMENT_LANE:
            colours[lane] = "#8c959f"
        elif _BAD.search(lane):
            colours[lane] = _ERROR_COLOUR
        else:
            colours[lane] = _COLOURS[len([c for c in colours if c != _COMMENT_LANE]) % 10]
        parts.append(
            f'<text x="8" y="{y + _LANE_H / 2 + 4}" fill="{colours[lane]}">'
            f"{esc(clip(lane, 24))}</text>"
        )
    axis_y = _TOP + len(lanes) * _LANE_H
    for tick in ticks:
        tx = x(tick)
        parts.append(
            f'<line class="grid" x1="{tx:.1f}" y1="{_TOP - 6}" x2="{tx:.1f}" y2="{axis_y}"/>'
        )
        parts.append(
            f'<text class="tick" x="{tx:.1f}" y="{axis_y + 16}" text-anchor="middle">'
            f"{tick:g}s</text>"
        )
    parts.append(
        f'<text class="tick" x="{x(line.headers_t):.1f}" y="{_TOP - 10}" '
        f'text-anchor="middle">headers</text>'
    )
    # The ending first, so the points are drawn over it.
    end_x = x(line.duration)
    text, good = _end_text(line)
    colour = "#1a7f37" if good else _ERROR_COLOUR
    parts.append(
        f'<line x1="{end_x:.1f}" y1="{_TOP - 4}" x2="{end_x:.1f}" y2="{axis_y}" '
        f'stroke="{colour}" stroke-width="2" stroke-dasharray="4 3">'
        f"<title>{esc(text)}</title></line>"
    )
    for row in line.rows:
        lane = row.name if row.kind == "event" else _COMMENT_LANE
        cy = _TOP + lanes[lane] * _LANE_H + _LANE_H / 2
        if row.kind == "event":
            tip = f"{row.t:.3f}s (+{row.gap:.3f})  {row.name}"
            if row.id:
                tip += f"  id={row.id}"
            tip += f"\n{clip(row.data, 400)}"
            radius = 6
        else:
            tip = f"{row.t:.3f}s  : {row.text}"
            radius = 4
        parts.append(
            f'<circle cx="{x(row.t):.1f}" cy="{cy:.1f}" r="{radius}" fill="{colours[lane]}">'
            f"<title>{esc(tip)}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(line: Timeline) -> str:
    esc = html.escape
    cells = []
    for row in line.rows:
        if row.kind == "comment":
            cells.append(
                f'<tr><td class="num">{row.t:.3f}</td><td class="num">+{row.gap:.3f}</td>'
                f'<td colspan="3" style="color:#8c959f">: {esc(row.text)}</td></tr>'
            )
        else:
            cells.append(
                f'<tr><td class="num">{row.t:.3f}</td><td class="num">+{row.gap:.3f}</td>'
                f"<td>{esc(row.name)}</td><td>{esc(row.id)}</td>"
                f'<td class="data">{esc(row.data)}</td></tr>'
            )
    return (
        "<details><summary>events</summary><table><tr><th>t (s)</th><th>gap</th>"
        f"<th>event</th><th>id</th><th>data</th></tr>{''.join(cells)}</table></details>"
    )


def render_html(lines: Sequence[Timeline], *, source: str = "") -> str:
    esc = html.escape
    sections = []
    for line in lines:
        text, good = _end_text(line)
        status_class = "good" if line.status < 400 else "bad"
        head = (
            f"<h2>#{line.index} {esc(line.method)} {esc(line.url)}</h2>"
            f'<p class="meta"><span class="{status_class}">{line.status}</span> '
            f"{esc(line.content_type)} · headers at {line.headers_t:.3f}s · {esc(_summary(line))}"
            f' · <span class="{"good" if good else "bad"}">{esc(text)}</span></p>'
        )
        if line.is_stream and line.rows:
            body = _svg(line) + _table(line)
        elif line.is_stream:
            body = '<p class="meta">no events</p>'
        else:
            body = f"<pre>{esc(line.body)}</pre>" if line.body else ""
        sections.append(f"<section>{head}{body}</section>")
    title = f"SSE timeline: {source}" if source else "SSE timeline"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{_CSS}</style></head><body>"
        f"<h1>{esc(title)}</h1>"
        f'<p class="meta">{plural(len(lines), "interaction")}; one lane per event name, '
        "time from sending each request; hover a point for its data.</p>"
        f"{''.join(sections)}</body></html>\n"
    )
