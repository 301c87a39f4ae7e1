"""The cassette file, format version 1 (docs/cassette-format.md): reading it (validated field
by field, every problem a CassetteError naming the file and the field; parsed files cached
per process) and writing it (refusing what the reader would refuse; atomically, with fsync).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import stat
import threading
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from itertools import accumulate, repeat
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from ..exceptions import CassetteError
from . import _atomic, _yamlio
from ._model import (
    CLIENT_CLOSED,
    COMPLETE,
    ERROR_NAMES,
    MAX_SECONDS,
    Chunk,
    Ending,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    set_chunk_data,
    set_chunk_t,
)
from ._yamlio import FieldPath

__all__ = ["VERSION", "build", "document", "read", "url_problem", "write_atomic"]


# --- The file format, version 1 (docs/cassette-format.md) ---------------------------------

VERSION = 1


class _Request(NamedTuple):
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


class _Response(NamedTuple):
    status: int
    headers: tuple[tuple[str, str], ...]
    chunks: tuple[Chunk, ...]
    end: Ending
    headers_t: float
    decoded: str


class _Provenance(NamedTuple):
    recorded_at: datetime | None
    recorded_with: tuple[tuple[str, str], ...]


# What the cache holds: immutable, so one parse serves every `Cassette.load` of the file.
_Parsed = tuple[tuple[tuple[_Request, _Response], ...], _Provenance]


def build(parsed: tuple[tuple[_Request, _Response], ...]) -> list[Interaction]:
    # Fresh lists and dataclasses around the shared immutable parts (Chunk, Ending, bytes,
    # str): cheap, and a caller appending to or editing its cassette never touches another's.
    return [
        Interaction(
            RecordedRequest(request.method, request.url, list(request.headers), request.body),
            RecordedResponse(
                response.status,
                list(response.headers),
                list(response.chunks),
                response.end,
                response.headers_t,
                response.decoded,
            ),
        )
        for request, response in parsed
    ]


# --- Reading ---------------------------------------------------------------------------------

# Parsed files by absolute path, with the (device, inode, mtime_ns, size) they were read at;
# the least recently used are dropped past these bounds. The inode makes a file replaced by
# an atomic save (a new inode) a miss even within the clock's resolution.
_CACHE_MAX_FILES = 128
_CACHE_MAX_BYTES = 256 * 1024 * 1024

_Stamp = tuple[int, int, int, int]


class _ParsedFiles:
    """The cache of parsed files, least recently used first, and the bytes of those files.

    Keyed by the path made absolute, not resolved: resolving costs a system call per folder
    of the path on every load. The stamp says whether an entry is the file opened; a file
    reached through a symlink as well as directly is parsed once per spelling.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[_Stamp, _Parsed]] = {}
        self._bytes = 0  # kept as entries come and go: summing them was a walk per load
        self._lock = threading.Lock()

    def get(self, key: str, stamp: _Stamp) -> _Parsed | None:
        with self._lock:
            hit = self._take(key)
            if hit is None or hit[0] != stamp:
                return None
            self._put(key, hit)  # now the most recently used
            return hit[1]

    def add(self, key: str, stamp: _Stamp, parsed: _Parsed) -> None:
        with self._lock:
            self._take(key)  # another thread's parse of the same file
            self._put(key, (stamp, parsed))
            entries = self._entries
            while len(entries) > 1 and (
                len(entries) > _CACHE_MAX_FILES or self._bytes > _CACHE_MAX_BYTES
            ):
                self._take(next(iter(entries)))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _take(self, key: str) -> tuple[_Stamp, _Parsed] | None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry[0][3]
        return entry

    def _put(self, key: str, entry: tuple[_Stamp, _Parsed]) -> None:
        self._entries[key] = entry
        self._bytes += entry[0][3]


_cache = _ParsedFiles()


def _clear_cache() -> None:
    _cache.clear()


def read(path: Path) -> _Parsed:
    try:
        # Stamp and bytes come from the same open file: a concurrent atomic save replaces
        # the file, so what is read always matches the stamp it is cached under.
        with open(path, "rb") as file:
            info = os.fstat(file.fileno())
            stamp = (info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size)
            key = str(path.absolute())
            cached = _cache.get(key, stamp)
            if cached is not None:
                return cached
            data = file.read()
    except FileNotFoundError as exc:
        raise CassetteError(f"{path}: no such cassette file") from exc
    except OSError as exc:
        raise CassetteError(f"{path}: cannot read the cassette: {exc.strerror or exc}") from exc
    # Handed over in a list that _parse empties: the file's bytes are let go of as soon as
    # the YAML is read, before the bodies are cut into chunks (peak memory).
    holder = [data]
    del data
    parsed = _parse(holder, path)
    _cache.add(key, stamp, parsed)
    return parsed


class _Invalid(Exception):
    """A field of the document that is not what version 1 says; `line` is within a block."""

    def __init__(self, path: FieldPath, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.line = line


def _parse(holder: list[bytes], path: Path) -> _Parsed:
    data = holder.pop()
    try:
        raw = _yamlio.load_fast(data)
    except _yamlio.YAMLError as exc:
        raise CassetteError(_yaml_problem(path, data, exc)) from exc
    except (ValueError, OverflowError, RecursionError) as exc:
        # Kept as a last line of defence: the reader turns the safe constructor's own
        # failures (an unquoted 2024-02-30) into YAML errors with their line.
        raise CassetteError(f"{path}: cannot read the YAML: {exc!r}") from None
    del data
    try:
        return _interpret(raw)
    except _Invalid as exc:
        # Read again only to point at the line: the good path keeps no copy of the file.
        try:
            data = path.read_bytes()
        except OSError:
            data = b""
        raise CassetteError(_field_problem(path, data, exc)) from None


_NO_CONSTRUCTOR = re.compile(r"constructor for the tag '([^']*)'")


def _yaml_problem(path: Path, data: bytes, exc: _yamlio.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    field_path = getattr(exc, "field_path", None)
    if field_path is not None:  # where the reader was when it stopped
        field_name = _yamlio.format_field(field_path) or None
    else:
        field_name = mark and _yamlio.field_at(data, mark.line, mark.column)
    problem = str(getattr(exc, "problem", None) or exc)
    tag = _NO_CONSTRUCTOR.search(problem)
    if isinstance(exc, _yamlio.Refused):
        pass  # already says what and why
    elif tag:
        name = tag[1].replace("tag:yaml.org,2002:", "!!")
        problem = (
            f"the tag {name} is not allowed: cassettes are read with a safe YAML loader, "
            "which builds plain data only"
        )
    elif problem.startswith("duplicate key"):
        if field_name and field_name.endswith("headers"):
            problem += " (a header that repeats is written once, with a list of values)"
    elif getattr(exc, "context", None):
        problem = f"not valid YAML: {exc.context}, {problem}"  # type: ignore[attr-defined]
    else:
        problem = f"not valid YAML: {problem}"
    if mark is None:
        return f"{path}: {problem}"
    where = f"line {mark.line + 1}, column {mark.column + 1}"
    if field_name:
        return f"{path}: {field_name}: {problem} ({where})"
    return f"{path}: {where}: {problem}"


def _field_problem(path: Path, data: bytes, exc: _Invalid) -> str:
    name = _yamlio.format_field(exc.path) or "the document"
    if exc.line is not None:
        name += f" line {exc.line}"
    where = ""
    located = _yamlio.line_of(data, exc.path)
    if located is not None:
        line, node = located
        if exc.line is not None and getattr(node, "style", None) == "|":
            # Content line k of a literal block sits k lines below its "|".
            line += exc.line
        where = f" (line {line} of the file)"
    return f"{path}: {name}: {exc.message}{where}"


def _show(value: object) -> str:
    kinds = {dict: "a mapping", list: "a list", str: "the text", bool: "the boolean"}
    name = type(value).__name__
    kind = kinds.get(type(value), f"{'an' if name[0] in 'aeiou' else 'a'} {name}")
    if value is None:
        return "nothing (null)"
    if isinstance(value, (dict, list)):
        return kind
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{kind} {shown}"


def _mapping(value: object, path: FieldPath) -> dict[Any, Any]:
    if not isinstance(value, dict):
        raise _Invalid(path, f"expected a mapping, got {_show(value)}")
    return value


def _fields(
    value: object, path: FieldPath, required: Sequence[str], optional: Sequence[str] = ()
) -> dict[Any, Any]:
    mapping = _mapping(value, path)
    # Unknown fields first: a misspelt field is also a missing one, and its name says more.
    for key in mapping:
        if key not in required and key not in optional:
            expected = ", ".join([*required, *optional])
            raise _Invalid(path, f"unknown field {key!r} (expected {expected})")
    for key in required:
        if key not in mapping:
            raise _Invalid((*path, key), "missing")
    return mapping


def _text(value: object, path: FieldPath) -> str:
    if not isinstance(value, str):
        raise _Invalid(path, f"expected a text, got {_show(value)}")
    return value


def url_problem(exc: ValueError) -> str:
    """Why urlsplit refused a URL, without quoting it (its message for a host with characters
    that NFKC normalizes to delimiters holds the whole user-info, password included)."""
    text = str(exc)
    if "NFKC" in text:
        return "its host holds characters that normalize to URL delimiters"
    return text


def _url(url: str, path: FieldPath, error: Callable[[FieldPath, str], Exception]) -> str:
    # Replay parses every recorded URL to match requests: one Python cannot parse (a port out of
    # range, a broken IPv6 address) is refused with the file, not raised from inside replay.
    try:
        urlsplit(url).port  # noqa: B018  (the port is only checked when read)
    except ValueError as exc:
        # The reason only ("Invalid IPv6 URL", "Port out of range"): the URL may hold a secret,
        # and urlsplit's NFKC message quotes the user-info with the host.
        raise error(path, f"not a URL that can be parsed: {url_problem(exc)}") from None
    return url


# CR, LF and NUL end a header line: `sse-replay serve` would write a header split in two.
_HEADER_BREAK = re.compile(r"[\r\n\x00]")


def _header_text(text: str, path: FieldPath, error: Callable[[FieldPath, str], Exception]) -> str:
    if _HEADER_BREAK.search(text):
        raise error(path, f"a header name or value holds no CR, LF or NUL, got {text!r}")
    return text


def _seconds(value: object, path: FieldPath) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Invalid(path, f"expected a number of seconds, got {_show(value)}")
    # Compared before float(): an integer of 400 digits has no float.
    if not (0 <= value <= MAX_SECONDS):
        raise _Invalid(
            path, f"expected seconds from 0 to {MAX_SECONDS} (7 days), got {_show(value)}"
        )
    return float(value)


def _interpret(raw: object) -> _Parsed:
    if raw is None:
        raise _Invalid((), "the file is empty (expected version: 1 and interactions)")
    top = _mapping(raw, ())
    if "version" not in top:
        raise _Invalid(("version",), "missing")
    version = top["version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise _Invalid(("version",), f"expected an integer, got {_show(version)}")
    # One version exists. When a second does, a reader for the old one (or a conversion of
    # its plain data) goes here, and the docs' "Versions" section says what changed.
    if version != VERSION:
        reads = f"version {VERSION}"
        if version > VERSION:
            message = (
                f"version {version} is newer than this release of pytest-sse-replay reads "
                f"(it reads cassette {reads}); upgrade pytest-sse-replay"
            )
        else:
            message = f"unknown version {version} (this release reads cassette {reads})"
        raise _Invalid(("version",), message)
    top = _fields(top, (), ("version", "interactions"), ("recorded_at", "recorded_with"))
    items = top["interactions"]
    if not isinstance(items, list):
        raise _Invalid(("interactions",), f"expected a list, got {_show(items)}")
    return tuple(
        _interaction(item, ("interactions", index)) for index, item in enumerate(items)
    ), _provenance(top)


def _provenance(top: dict[Any, Any]) -> _Provenance:
    # Optional version 1 fields: cassettes written before them load as they always did.
    recorded_at = top.get("recorded_at")
    if recorded_at is not None:
        recorded_at = _timestamp(recorded_at, ("recorded_at",))
    versions = _mapping(top.get("recorded_with", {}), ("recorded_with",))
    recorded_with = tuple(
        (_text(name, ("recorded_with",)), _text(version, ("recorded_with", name)))
        for name, version in versions.items()
    )
    return _Provenance(recorded_at, recorded_with)


def _timestamp(value: object, path: FieldPath) -> datetime:
    # Written quoted; an unquoted one (hand-edited) reaches us as YAML's own datetime.
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise _Invalid(
                path, f"expected a UTC time in ISO 8601 (2026-01-31T12:00:00Z), got {_show(value)}"
            ) from None
    if not isinstance(value, datetime):
        raise _Invalid(path, f"expected a UTC time in ISO 8601, got {_show(value)}")
    if value.tzinfo is None:
        raise _Invalid(path, f"the time {value.isoformat()} has no time zone (write it with Z)")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is a time before the year 1 in UTC
        raise _Invalid(path, f"the time {value.isoformat()} is out of range in UTC") from None


def _interaction(value: object, path: FieldPath) -> tuple[_Request, _Response]:
    mapping = _fields(value, path, ("request", "response"))
    return _request(mapping["request"], (*path, "request")), _response(
        mapping["response"], (*path, "response")
    )


def _request(value: object, path: FieldPath) -> _Request:
    mapping = _fields(value, path, ("method", "url", "headers", "body"), ("body_encoding",))
    return _Request(
        method=_text(mapping["method"], (*path, "method")),
        url=_url(_text(mapping["url"], (*path, "url")), (*path, "url"), _Invalid),
        headers=_headers(mapping["headers"], (*path, "headers")),
        body=bytes(_body(mapping, path)),
    )


def _response(value: object, path: FieldPath) -> _Response:
    mapping = _fields(
        value,
        path,
        ("status", "headers", "headers_t", "body", "timeline", "end"),
        ("decoded", "body_encoding"),
    )
    status = mapping["status"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 999:
        raise _Invalid((*path, "status"), f"expected an HTTP status (100-999), got {_show(status)}")
    body = _body(mapping, path)
    return _Response(
        status=status,
        headers=_headers(mapping["headers"], (*path, "headers")),
        chunks=_chunks(body, mapping["timeline"], (*path, "timeline")),
        end=_ending(mapping["end"], (*path, "end")),
        headers_t=_seconds(mapping["headers_t"], (*path, "headers_t")),
        decoded=_text(mapping.get("decoded", ""), (*path, "decoded")),
    )


def _headers(value: object, path: FieldPath) -> tuple[tuple[str, str], ...]:
    headers: list[tuple[str, str]] = []
    for name, values in _mapping(value, path).items():
        if not isinstance(name, str):
            raise _Invalid(path, f"expected header names as text, got {_show(name)}")
        _header_text(name, path, _Invalid)
        if isinstance(values, str):
            headers.append((name, _header_text(values, (*path, name), _Invalid)))
        elif isinstance(values, list):
            headers.extend(
                (name, _header_text(_text(item, (*path, name, i)), (*path, name, i), _Invalid))
                for i, item in enumerate(values)
            )
        else:
            raise _Invalid(
                (*path, name), f"expected a text or a list of texts, got {_show(values)}"
            )
    return tuple(headers)


def _body(mapping: dict[Any, Any], path: FieldPath) -> bytes | memoryview:
    encoding = mapping.get("body_encoding")
    value = mapping["body"]
    if isinstance(value, _yamlio.RawText):
        # The block's text as UTF-8 bytes already (checked by the reader): no decoding, and
        # the mapping lets go of it, so the body is held once while it is cut into chunks.
        mapping["body"] = None
        raw = value.data
        if encoding is None:
            return raw
        raw = bytes(raw)
        if encoding == "crlf":
            if b"\r" in raw:
                raise _Invalid((*path, "body"), "a crlf body must be written with LF line ends")
            return raw.replace(b"\n", b"\r\n")
        if encoding == "base64":
            try:
                return base64.b64decode(b"".join(raw.split()), validate=True)
            except binascii.Error as exc:
                raise _Invalid((*path, "body"), f"not valid base64: {exc}") from None
        value = raw.decode()
    text = _text(value, (*path, "body"))
    try:
        if encoding is None:
            return text.encode("utf-8")
        if encoding == "crlf":
            if "\r" in text:
                raise _Invalid((*path, "body"), "a crlf body must be written with LF line ends")
            return text.replace("\n", "\r\n").encode("utf-8")
        if encoding == "base64":
            # The block scalar wraps the base64 text in lines; the line breaks are not data.
            return base64.b64decode("".join(text.split()), validate=True)
    except UnicodeEncodeError as exc:
        raise _Invalid((*path, "body"), f"not encodable as UTF-8: {exc.reason}") from None
    except binascii.Error as exc:
        raise _Invalid((*path, "body"), f"not valid base64: {exc}") from None
    raise _Invalid(
        (*path, "body_encoding"), f"expected crlf or base64 (or no field), got {_show(encoding)}"
    )


# One "<seconds> <bytes>" line per chunk. The good path does no per-line Python work: one
# regular expression checks the layout (two fields, one space, a line end), then float() and
# int() by map() check the numbers, and min/max their range.
_TIMELINE = re.compile(r"(?:[0-9.eE+-]+ [0-9]+\n)*")
_SECONDS = r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_TIMELINE_LINE = re.compile(rf"({_SECONDS}) +(\d+)", re.ASCII)


def _chunks(body: bytes | memoryview, value: object, path: FieldPath) -> tuple[Chunk, ...]:
    if isinstance(value, _yamlio.RawText):
        value = bytes(value.data).decode()
    timeline = _text(value, path)
    if timeline and not timeline.endswith("\n"):
        timeline += "\n"
    try:
        if not _TIMELINE.fullmatch(timeline):
            raise ValueError
        fields = timeline.split()
        times = list(map(float, fields[0::2]))
        lengths = list(map(int, fields[1::2]))
        if times and not (min(times) >= 0 and max(times) <= MAX_SECONDS):
            raise ValueError
    except ValueError:
        times, lengths = _timeline_slowly(timeline, path)
    ends = list(accumulate(lengths))
    total = ends[-1] if ends else 0
    if total != len(body):
        raise _Invalid(
            path,
            f"the chunk lengths add up to {total} bytes but the body has {len(body)} bytes",
        )
    starts = [0, *ends[:-1]] if ends else []
    if isinstance(body, memoryview):  # a big body, as _yamlio.load_fast hands it out
        pieces = [body[a:b].tobytes() for a, b in zip(starts, ends, strict=True)]
    else:
        pieces = [body[a:b] for a, b in zip(starts, ends, strict=True)]
    return _new_chunks(times, pieces)


def _new_chunks(times: list[float], pieces: list[bytes]) -> tuple[Chunk, ...]:
    """`tuple(map(Chunk, times, pieces))`, in half the time.

    Chunk is frozen, so its generated __init__ sets each field through object.__setattr__: a
    Python call per chunk, a sixth of a cold load for 10,000 chunks. Here the objects are made
    and their two slots filled by map() over C functions. tests/unit/cassette/test_cassette.py
    pins Chunk's fields, so a field added to Chunk cannot be silently left unset.
    """
    chunks: list[Chunk] = list(map(object.__new__, repeat(Chunk, len(times))))
    deque(map(set_chunk_t, chunks, times), maxlen=0)
    deque(map(set_chunk_data, chunks, pieces), maxlen=0)
    return tuple(chunks)


def _timeline_slowly(timeline: str, path: FieldPath) -> tuple[list[float], list[int]]:
    """The timeline read line by line: for what the fast path refused, to name the bad line."""
    times: list[float] = []
    lengths: list[int] = []
    for number, line in enumerate(timeline.split("\n")[:-1], start=1):
        match = _TIMELINE_LINE.fullmatch(line)
        if match is None:
            got = line if len(line) <= 60 else line[:57] + "..."
            raise _Invalid(path, f'expected "<seconds> <bytes>", got "{got}"', number)
        seconds = float(match[1])
        if not seconds <= MAX_SECONDS:
            got = match[1] if len(match[1]) <= 30 else match[1][:27] + "..."
            raise _Invalid(path, f"the time {got} is past {MAX_SECONDS} seconds (7 days)", number)
        try:
            length = int(match[2])
        except ValueError:  # more digits than int() takes from a string
            raise _Invalid(path, f"the length {match[2][:20]}... is too large", number) from None
        times.append(seconds)
        lengths.append(length)
    return times, lengths


def _ending(value: object, path: FieldPath) -> Ending:
    if value == "complete":
        return COMPLETE
    if value == "client_closed":
        return CLIENT_CLOSED
    if isinstance(value, dict):
        mapping = _fields(value, path, ("error",), ("message",))
        error = _text(mapping["error"], (*path, "error"))
        if error not in ERROR_NAMES:
            raise _Invalid(
                (*path, "error"),
                f"unknown exception {error[:60]!r} (expected one of {', '.join(ERROR_NAMES)})",
            )
        return Ending.failed(error, _text(mapping.get("message", ""), (*path, "message")))
    raise _Invalid(
        path,
        "expected complete, client_closed or {error: <exception name>, message: <text>}, "
        f"got {_show(value)}",
    )


# --- Writing ---------------------------------------------------------------------------------


def _encode_body(body: bytes) -> tuple[str, str]:
    """(body_encoding, text): "" for UTF-8 without CR, "crlf", or "base64" for the rest."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "base64", base64.encodebytes(body).decode("ascii")
    if "\r" not in text:
        return "", text
    lf = text.replace("\r\n", "\n")
    # crlf only when every line end is CRLF: no CR left alone, and no LF without its CR.
    if "\r" not in lf and text.count("\n") == text.count("\r\n"):
        return "crlf", lf
    return "base64", base64.encodebytes(body).decode("ascii")


def _invalid_model(path: FieldPath, message: str) -> ValueError:
    return ValueError(f"cannot save the cassette: {_yamlio.format_field(path)}: {message}")


def _check_seconds(value: float, path: FieldPath) -> float:
    # Written as repr() of a float, read by float(): exact. "+ 0.0" turns -0.0 into 0.0,
    # which the timeline's number syntax has no sign for.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _invalid_model(path, f"expected seconds as a float, got {value!r}")
    if not (0 <= value <= MAX_SECONDS):
        raise _invalid_model(path, f"expected seconds from 0 to {MAX_SECONDS}, got {value!r}")
    return float(value) + 0.0


def _check_text(value: object, path: FieldPath) -> str:
    if not isinstance(value, str):
        raise _invalid_model(path, f"expected a str, got {value!r}")
    return value


def _headers_document(headers: Sequence[tuple[str, str]], path: FieldPath) -> dict[str, Any]:
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        _header_text(_check_text(name, path), path, _invalid_model)
        value = _header_text(_check_text(value, (*path, name)), (*path, name), _invalid_model)
        grouped.setdefault(name, []).append(value)
    return {name: values[0] if len(values) == 1 else values for name, values in grouped.items()}


def _put_body(document: dict[str, Any], body: bytes, path: FieldPath) -> None:
    if not isinstance(body, bytes):
        raise _invalid_model((*path, "body"), f"expected bytes, got {type(body).__name__}")
    encoding, text = _encode_body(body)
    # The encoding comes first so that a reader knows how to read the body below it.
    if encoding:
        document["body_encoding"] = encoding
    document["body"] = _yamlio.Block(text)


def document(
    interactions: Sequence[Interaction],
    recorded_at: datetime | None = None,
    recorded_with: dict[str, str] | None = None,
) -> dict[str, Any]:
    items = []
    for index, interaction in enumerate(interactions):
        path: FieldPath = ("interactions", index)
        request, response = interaction.request, interaction.response
        request_doc: dict[str, Any] = {
            "method": _check_text(request.method, (*path, "request", "method")),
            "url": _url(
                _check_text(request.url, (*path, "request", "url")),
                (*path, "request", "url"),
                _invalid_model,
            ),
            "headers": _headers_document(request.headers, (*path, "request", "headers")),
        }
        _put_body(request_doc, request.body, (*path, "request"))
        status = response.status
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 999:
            raise _invalid_model((*path, "response", "status"), f"expected 100-999, got {status!r}")
        response_doc: dict[str, Any] = {
            "status": status,
            "headers": _headers_document(response.headers, (*path, "response", "headers")),
            "headers_t": _check_seconds(response.headers_t, (*path, "response", "headers_t")),
        }
        if response.decoded:
            response_doc["decoded"] = _check_text(response.decoded, (*path, "response", "decoded"))
        chunks = response.chunks
        for number, chunk in enumerate(chunks):
            if not isinstance(chunk.data, bytes):
                raise _invalid_model(
                    (*path, "response", "chunks", number), "chunk data must be bytes"
                )
        _put_body(response_doc, b"".join(chunk.data for chunk in chunks), (*path, "response"))
        response_doc["timeline"] = _yamlio.Block(
            "".join(
                f"{_check_seconds(chunk.t, (*path, 'response', 'chunks', number))!r} "
                f"{len(chunk.data)}\n"
                for number, chunk in enumerate(chunks)
            )
        )
        response_doc["end"] = _ending_document(response.end, (*path, "response", "end"))
        items.append({"request": request_doc, "response": response_doc})
    document: dict[str, Any] = {"version": VERSION}
    if recorded_at is not None:
        if recorded_at.tzinfo is None:
            raise _invalid_model(("recorded_at",), "expected a time with a time zone")
        stamp = recorded_at.astimezone(UTC).isoformat(timespec="seconds")
        document["recorded_at"] = stamp.replace("+00:00", "Z")
    if recorded_with:
        document["recorded_with"] = {
            _check_text(name, ("recorded_with",)): _check_text(version, ("recorded_with", name))
            for name, version in recorded_with.items()
        }
    document["interactions"] = items
    return document


def _ending_document(end: Ending, path: FieldPath) -> object:
    if end.kind in ("complete", "client_closed"):
        return end.kind
    if end.kind == "error":
        if end.error not in ERROR_NAMES:
            raise _invalid_model(
                (*path, "error"),
                f"unknown exception {end.error!r} (expected one of {', '.join(ERROR_NAMES)})",
            )
        return {
            "error": _check_text(end.error, (*path, "error")),
            "message": _check_text(end.message, (*path, "message")),
        }
    raise _invalid_model(path, f"unknown kind {end.kind!r}")


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that readers see the old file or the new one, never a mix.

    Any failure removes the temporary file and leaves the old file untouched.
    """
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        # The temporary file is private (0600); a cassette is shared, like any source file.
        mode = 0o644
    _atomic.remove_stale_temporaries(path)
    fd, temporary = _atomic.create_temporary(path)
    try:
        with open(fd, "wb") as file:
            file.write(data)
            file.flush()
            # On disk before the rename, or a crash could leave the new name on empty data.
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; POSIX only (Windows cannot open a directory).
    flag = getattr(os, "O_DIRECTORY", None)
    if flag is None:
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | flag)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
