"""YAML reading and writing for cassettes: safe loading, and literal blocks that read well.

libyaml (`CSafeLoader`/`CSafeDumper`) is used when PyYAML was built with it, the pure-Python
safe classes otherwise. Documents are built from the parser's events by `load`, which refuses
anchors, aliases, tags and merge keys: only plain data is ever constructed, and the work and
memory of a load follow the size of the file.

Long texts (response bodies, timelines) are written as literal block scalars by
`literal_block`, not by the emitter: libyaml refuses block style for any text holding a tab, a
character outside the Basic Multilingual Plane (an emoji, common in AI streams) or a space
before a line end, and would fall back to one double-quoted line of `\\"` and `\\n` escapes.
Those texts are all representable as literal blocks; the emitter lays out everything else, with a
placeholder where each block goes, and `dump` splices the blocks in.
"""

from __future__ import annotations

import functools
import io
import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = [
    "Block",
    "FieldPath",
    "Refused",
    "YAMLError",
    "block_safe",
    "dump",
    "field_at",
    "format_field",
    "line_of",
    "literal_block",
    "load",
    "make_dumper",
    "make_loader",
]

YAMLError = yaml.YAMLError

# A field inside the document: mapping keys and sequence indexes, outermost first.
FieldPath = tuple[str | int, ...]


def make_loader(base: type[Any]) -> type[Any]:
    """A safe loader class on `base` that also refuses duplicate mapping keys."""

    class Loader(base):  # type: ignore[misc]
        # PyYAML keeps the last of two equal keys without a word; in a cassette that silently
        # drops a header or a body, so it is an error (repeated headers are written as a list).
        def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
            seen: set[str] = set()
            for key_node, _ in node.value:
                if isinstance(key_node, ScalarNode):
                    if key_node.value in seen:
                        raise ConstructorError(
                            None,
                            None,
                            f"duplicate key {key_node.value!r}",
                            key_node.start_mark,
                        )
                    seen.add(key_node.value)
            mapping: dict[Any, Any] = super().construct_mapping(node, deep)
            return mapping

    return Loader


class Block:
    """A text to be written as a literal block scalar (see `dump`)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def make_dumper(base: type[Any]) -> type[Any]:
    """A safe dumper class on `base` that writes each `Block` as a placeholder to splice."""

    class Dumper(base):  # type: ignore[misc]
        blocks: list[str]
        token: str

        def represent_block(self, data: Block) -> ScalarNode:
            node: ScalarNode
            if not block_safe(data.text):
                # The emitter escapes what a block cannot hold; double quotes keep every
                # character exactly (a plain or single-quoted scalar would fold line breaks).
                style = '"' if data.text else None
                node = self.represent_scalar("tag:yaml.org,2002:str", data.text, style=style)
                return node
            node = self.represent_scalar("tag:yaml.org,2002:str", f"{self.token}{len(self.blocks)}")
            self.blocks.append(data.text)
            return node

        def represent_text(self, data: str) -> ScalarNode:
            # PyYAML's pure-Python emitter writes NEL, LS and PS raw in plain and single-quoted
            # scalars, where a reader takes them for line breaks; double quotes escape them.
            style = '"' if _not_on_one_line().search(data) else None
            node: ScalarNode = self.represent_scalar("tag:yaml.org,2002:str", data, style=style)
            return node

    Dumper.add_representer(Block, Dumper.represent_block)
    Dumper.add_representer(str, Dumper.represent_text)
    return Dumper


LOADER: type[Any] = make_loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader))
DUMPER: type[Any] = make_dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper))


def load(data: bytes) -> Any:
    """Parse one YAML document into plain data (dicts, lists, str, int, float, ...).

    Raises `YAMLError` for what YAML rejects and `Refused` for what a cassette may not hold.
    """
    return _build(data, None)


class Refused(yaml.MarkedYAMLError):
    """Valid YAML that a cassette may not hold: an anchor, an alias, a tag, a merge key."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem=problem, problem_mark=mark)


# Deeper than any cassette (which nests 7 levels): the limit keeps a hostile file of a
# million "[" from costing more than its parse.
MAX_DEPTH = 64


class _NotOurShape(Exception):
    """A placeholder of `load_fast` found somewhere a cut-out block could not have been."""


class _Frame:
    """A collection being built: its value, and for a mapping the key awaiting its value."""

    __slots__ = ("flow", "key", "key_event", "value")

    def __init__(self, value: dict[Any, Any] | list[Any], flow: bool) -> None:
        self.value = value
        self.flow = flow
        self.key: Any = _NO_KEY
        self.key_event: Any = None


_NO_KEY = object()

# The longest unquoted number read (a float's repr is at most 24 characters).
MAX_NUMBER = 100
_NUMBERS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


def _build(data: bytes, blocks: _Blocks | None) -> Any:
    """The document of `data` built straight from the parser's events.

    PyYAML's composer and constructor would resolve anchors and aliases, which is how a small
    file becomes a huge document (each alias another reference to a whole subtree, and every
    walk over it a walk over each copy); building from events, they are refused at the first
    one. Tags are refused too: a cassette holds plain data, and the package never writes one.
    Scalars are resolved and constructed by the safe loader's own rules, so every value is
    what `yaml.safe_load` would give.
    """
    loader = LOADER(data)
    stack: list[_Frame] = []
    try:
        return _build_document(loader, blocks, stack)
    except YAMLError as exc:
        # Where the builder was: the field, without parsing the file again to find it.
        exc.field_path = _path_of(stack)  # type: ignore[attr-defined]
        raise
    finally:
        loader.dispose()


def _path_of(stack: list[_Frame]) -> FieldPath:
    path: list[str | int] = []
    for frame in stack:
        if isinstance(frame.value, list):
            path.append(len(frame.value))
        elif frame.key is _NO_KEY or not isinstance(frame.key, (str, int)):
            break
        else:
            path.append(frame.key)
    return tuple(path)


def _refuse_node_properties(event: Any) -> None:
    if isinstance(event, yaml.AliasEvent):
        raise Refused(
            f"the alias *{event.anchor} is not allowed: YAML anchors and aliases are refused "
            "(this package never writes them)",
            event.start_mark,
        )
    if event.anchor is not None:
        raise Refused(
            f"the anchor &{event.anchor} is not allowed: YAML anchors and aliases are refused "
            "(this package never writes them)",
            event.start_mark,
        )
    if event.tag is not None:
        name = event.tag.replace("tag:yaml.org,2002:", "!!")
        raise Refused(
            f"the tag {name} is not allowed: a cassette holds plain data, with no tags",
            event.start_mark,
        )


def _scalar(loader: Any, event: Any) -> Any:
    if event.style:  # quoted or block: always a string (a plain one has None, or "" from libyaml)
        return event.value
    tag = loader.resolve(ScalarNode, event.value, event.implicit)
    if tag == "tag:yaml.org,2002:str":
        return event.value
    if tag == "tag:yaml.org,2002:merge":
        raise Refused(
            "the merge key << is not allowed (this package never writes it)", event.start_mark
        )
    if len(event.value) > MAX_NUMBER and tag in _NUMBERS:
        # Python's int() of a long base-60 number (1:1:1:...) takes time that grows with the
        # square of its length; no number in a cassette needs more than a few digits.
        raise Refused(
            f"a number of {len(event.value)} characters (at most {MAX_NUMBER} are read)",
            event.start_mark,
        )
    node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    try:
        return loader.construct_object(node)
    except yaml.YAMLError:
        raise
    except (ValueError, OverflowError) as exc:  # e.g. an unquoted 2024-02-30
        raise Refused(f"not a valid {tag.rsplit(':', 1)[-1]}: {exc}", event.start_mark) from None


def _build_document(loader: Any, blocks: _Blocks | None, stack: list[_Frame]) -> Any:
    loader.get_event()  # StreamStartEvent
    if loader.check_event(yaml.StreamEndEvent):
        return None
    document_start = loader.get_event()
    root: Any = None
    while True:
        event = loader.get_event()
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            value: Any = stack.pop().value
        elif isinstance(event, yaml.ScalarEvent):
            _refuse_node_properties(event)
            if blocks is not None and event.value in blocks.values:
                value = blocks.take(event, stack[-1] if stack else None)
            else:
                value = _scalar(loader, event)
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            _refuse_node_properties(event)
            if stack and stack[-1].key is _NO_KEY and isinstance(stack[-1].value, dict):
                raise Refused(
                    "a mapping key must be a plain value, not a collection", event.start_mark
                )
            if len(stack) >= MAX_DEPTH:
                raise Refused(f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
            is_mapping = isinstance(event, yaml.MappingStartEvent)
            stack.append(_Frame({} if is_mapping else [], bool(event.flow_style)))
            continue
        else:  # an alias
            _refuse_node_properties(event)
            raise AssertionError("unreachable")  # pragma: no cover
        if not stack:
            root = value
            break
        frame = stack[-1]
        if isinstance(frame.value, list):
            frame.value.append(value)
        elif frame.key is _NO_KEY:
            try:
                duplicate = value in frame.value
            except TypeError:  # pragma: no cover - collections as keys are refused above
                raise Refused("a mapping key must be a plain value", event.start_mark) from None
            if duplicate:
                raise ConstructorError(
                    None, None, f"duplicate key {event.value!r}", event.start_mark
                )
            frame.key = value
            frame.key_event = event
        else:
            frame.value[frame.key] = value
            frame.key = _NO_KEY
    loader.get_event()  # DocumentEndEvent
    if not loader.check_event(yaml.StreamEndEvent):
        event = loader.get_event()
        raise yaml.composer.ComposerError(
            "expected a single document in the stream",
            document_start.start_mark,
            "but found another document",
            event.start_mark,
        )
    return root


# The two character classes below are compiled when a cassette is first written, not on
# import: they take about 10 ms to compile, which a run that only replays need not pay.


@functools.cache
def _not_in_block() -> re.Pattern[str]:
    # Characters a literal block holds verbatim when read back by libyaml and by PyYAML: the
    # YAML printable set, minus NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR (loaders treat them
    # as line breaks, NEL even turns into "\n") and the BOM (a byte-order mark, not content,
    # to a reader). Tab is fine after the indentation. CR never reaches here: the body
    # encodings remove it.
    return re.compile(
        "[^\t\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
    )


@functools.cache
def _not_on_one_line() -> re.Pattern[str]:
    # Anything else in a short text (a URL, a header) is written in double quotes, with escapes.
    return re.compile(
        "[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
    )


def block_safe(text: str) -> bool:
    """Whether a literal block scalar holds `text` exactly."""
    return bool(text) and _not_in_block().search(text) is None


def literal_block(text: str, indent: int) -> str:
    """`text` (`block_safe`) as a literal block scalar, header line included, at `indent`."""
    if not text.endswith("\n"):
        chomp = "-"
        lines = text.split("\n")
    else:
        lines = text[:-1].split("\n")
        # "+" keeps every trailing line break; the default ("clip") keeps exactly one, and
        # needs some content before it.
        chomp = "+" if text.endswith("\n\n") or text == "\n" else ""
    # An explicit indentation indicator when the first line would confuse auto-detection:
    # leading spaces or tabs are content, and leading empty lines carry no indentation.
    first = lines[0]
    indicator = "2" if not first or first[0] in " \t" else ""
    pad = " " * indent
    body = "\n".join([pad + line if line else "" for line in lines])
    return f"|{indicator}{chomp}\n{body}\n"


def dump(document: Any) -> str:
    """`document` as YAML text: block style, keys in insertion order, no line folding."""
    stream = io.StringIO()
    dumper = DUMPER(
        stream,
        default_flow_style=False,
        allow_unicode=True,
        # No folding: a long URL or header value stays on one line.
        width=2**31 - 1,
        sort_keys=False,
    )
    # A fresh random token per file: it cannot occur in the recorded data by accident.
    dumper.token = f"SSEREPLAYBLOCK{uuid.uuid4().hex}N"
    dumper.blocks = []
    try:
        dumper.open()
        dumper.represent(document)
        dumper.close()
    finally:
        dumper.dispose()
    text = stream.getvalue()
    return _splice(text, dumper.token, dumper.blocks)


def _splice(text: str, token: str, blocks: Sequence[str]) -> str:
    parts: list[str] = []
    start = 0
    for index, block in enumerate(blocks):
        placeholder = f"{token}{index}"
        at = text.index(placeholder, start)
        end = at + len(placeholder)
        line_start = text.rfind("\n", 0, at) + 1
        line = text[line_start:at]
        if not line.endswith(": ") or text[end : end + 1] != "\n":
            raise AssertionError(f"unexpected placeholder layout: {line!r}")  # pragma: no cover
        key_column = len(line) - len(line.lstrip(" -"))
        literal = literal_block(block, key_column + 2)
        parts.append(text[start:at])
        parts.append(literal)
        start = end + 1
    parts.append(text[start:])
    return "".join(parts)


def format_field(path: FieldPath) -> str:
    """`interactions[2].response.headers.content-type`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z0-9_-]+", part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


def _compose(data: bytes) -> Node | None:
    try:
        node: Node | None = yaml.compose(data, Loader=LOADER)
    except (yaml.YAMLError, RecursionError):  # only to explain an error: no node, no field
        return None
    return node


def line_of(data: bytes, path: FieldPath) -> tuple[int, Node] | None:
    """The 1-based line of the deepest node of `path` present in the document, and the node.

    Used only to explain an error, so it parses again rather than keep marks on every load.
    """
    node = _compose(data)
    if node is None:
        return None
    for part in path:
        child: Node | None = None
        if isinstance(part, int) and isinstance(node, SequenceNode):
            if 0 <= part < len(node.value):
                child = node.value[part]
        elif isinstance(part, str) and isinstance(node, MappingNode):
            for key, value in node.value:
                if isinstance(key, ScalarNode) and key.value == part:
                    child = value
                    break
        if child is None:
            break
        node = child
    return node.start_mark.line + 1, node


def field_at(data: bytes, line: int, column: int) -> str | None:
    """The field holding the 0-based position `line`, `column`, e.g. where a bad tag sits."""
    node = _compose(data)
    return None if node is None else _field_in(node, line, column)


def field_locator(data: bytes) -> Callable[[int, int], str | None] | None:
    """For many positions in one text: a function from a 0-based line and column to the field
    there (None outside any), or None when the text is not YAML. Parses the text once."""
    node = _compose(data)
    if node is None:
        return None
    root = node
    return lambda line, column: _field_in(root, line, column)


def _field_in(node: Node, line: int, column: int) -> str | None:
    position = (line, column)
    path: list[str | int] = []
    while True:
        items: list[tuple[str | int, Node]] = []
        if isinstance(node, MappingNode):
            items = [(k.value, v) for k, v in node.value if isinstance(k, ScalarNode)]
        elif isinstance(node, SequenceNode):
            items = list(enumerate(node.value))
        for part, child in items:
            start = (child.start_mark.line, child.start_mark.column)
            end = (child.end_mark.line, child.end_mark.column)
            if start <= position < end:
                path.append(part)
                node = child
                break
        else:
            return format_field(tuple(path)) if path else None


# --- Fast path for the files this package writes ------------------------------------------
#
# Nearly all of a cassette is its literal blocks (bodies, timelines), and libyaml reads them
# one character at a time. The blocks this package writes have a fixed shape: a "key: |"
# header, then lines that are empty or indented by the key's indentation plus two (or the
# explicit indicator). The value of such a block is its lines less that indentation: one
# bytes.replace, in C, on the file's own bytes. Each block is cut out and replaced by a
# placeholder; the small rest of the document goes through the reader as before; the values
# go in as `RawText`: the UTF-8 bytes of the text, which the cassette needs as bytes anyway.
# A value goes in only where the reader finds its placeholder exactly where YAML would have
# read the block (see `_Blocks.take`): a plain scalar, the value of the header's own key, in
# a block mapping, on the header's line. Anything else (a header inside a flow collection or
# a quoted text, hand-edited indentation, a character YAML refuses or reads as a line break)
# sends the whole file through the reader instead. tests/unit/cassette/test_hostile.py holds
# this to the safe YAML loader on generated documents.


class RawText:
    """A literal block's text as its UTF-8 bytes (valid UTF-8, checked by the reader); a big
    block's as a memoryview (see `_VIEW_FROM`)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes | memoryview) -> None:
        self.data = data

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RawText) and bytes(other.data) == bytes(self.data)

    def __repr__(self) -> str:
        return f"RawText({self.data!r})"


_FAST_HEADER = re.compile(rb"^( *)(body|timeline): \|([1-9]?)([+-]?)\n", re.MULTILINE)
_BREAKS: dict[int, re.Pattern[bytes]] = {}
_SPACES_THEN_BREAK = re.compile(rb" *\n")
# Bytes libyaml reads as they are: C0 controls other than tab and LF are refused; CR, NEL,
# LS and PS are line breaks; a BOM and U+FFFE/U+FFFF are not content.
_ASCII_OK = bytes([9, 10, *range(0x20, 0x7F), *range(0x80, 0x100)])
_NON_ASCII_BAD = re.compile(rb"\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9]|\xef(?:\xbb\xbf|\xbf[\xbe\xbf])")


def _line_break(pad: int) -> re.Pattern[bytes]:
    # The first line break not followed by the block's indentation nor by another break: the
    # line after it either ends the block (something before column `pad`) or is a short line
    # of spaces, which YAML reads as an empty line and which is left to YAML.
    pattern = _BREAKS.get(pad)
    if pattern is None:
        pattern = _BREAKS[pad] = re.compile(rb"\n(?!%s|\n)" % (b" " * pad))
    return pattern


# A block this big is handed out as a view into one copy of the whole file with the
# indentation taken out, rather than as bytes of its own: the file, a block's slice and the
# slice unindented would otherwise be held at once (peak memory of a load: 3x the body).
_VIEW_FROM = 1 << 20


class _Unindented:
    """The file with `pad` removed after every line break, and the map back to it."""

    __slots__ = ("counted", "data", "pad", "position", "removed")

    def __init__(self, data: bytes, width: int) -> None:
        self.pad = b"\n" + b" " * width
        self.data = data.replace(self.pad, b"\n")
        self.position = 0  # the file offset the count below runs to
        self.removed = 0  # pads removed before `position`

    def offset(self, source: bytes, position: int) -> int:
        """Where `position` of the file is in `data` (not inside a removed pad)."""
        self.removed += source.count(self.pad, self.position, position)
        self.position = position
        return position - self.removed * (len(self.pad) - 1)


def _value(
    data: bytes,
    unindented: dict[int, _Unindented],
    width: int,
    start: int,
    end: int,
    chomp: bytes,
) -> RawText:
    # One unindented copy of the file at most: the package writes every block at one width,
    # and a copy per width would let a file of many widths cost many times its size.
    if end - start < _VIEW_FROM or (unindented and width not in unindented):
        value = data[start:end].replace(b"\n" + b" " * width, b"\n")
        if chomp != b"+":
            value = value.rstrip(b"\n")
            if chomp != b"-" and value:
                value += b"\n"
        return RawText(value)
    copy = unindented.get(width)
    if copy is None:
        copy = unindented[width] = _Unindented(data, width)
    low, high = copy.offset(data, start), copy.offset(data, end)
    if chomp != b"+":
        full = copy.data
        while high > low and full[high - 1] == 10:  # trailing line breaks
            high -= 1
        if chomp != b"-" and high > low:
            high += 1  # clip: keep one
    return RawText(memoryview(copy.data)[low:high])


class _Blocks:
    """The blocks `load_fast` cut out, by placeholder, with the line and column of the key."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values: dict[str, tuple[int, int, RawText]] = {}

    def take(self, event: Any, frame: _Frame | None) -> RawText:
        """The block whose placeholder `event` is, if it sits exactly where it was put.

        That is: a plain scalar, on the line of its header, the value of the key (`body` or
        `timeline`, plain, at the header's column, on the same line) of a block mapping.
        There, and only there, YAML reads the original "key: |" as the literal block the
        cutter measured; anywhere else the file is not of the writer's shape.
        """
        line, column, value = self.values.pop(event.value)
        key = frame.key_event if frame is not None else None
        if (
            frame is None
            or frame.flow
            or not isinstance(frame.value, dict)
            or key is None
            or frame.key is _NO_KEY
            or key.style
            or key.value not in ("body", "timeline")
            or key.start_mark.line != line
            or key.start_mark.column != column
            or event.style
            or event.start_mark.line != line
        ):
            raise _NotOurShape
        return value


def load_fast(data: bytes) -> Any:
    """`load(data)`, except that the package's own literal blocks come back as `RawText`."""
    if data.translate(None, _ASCII_OK):
        return load(data)
    if not data.isascii():
        # Each a substring search (C, memchr-fast); the regular expression only when a
        # C1 control is possible at all.
        if (
            (b"\xe2\x80" in data and (b"\xe2\x80\xa8" in data or b"\xe2\x80\xa9" in data))
            or (b"\xef" in data and _NON_ASCII_BAD.search(data))
            or (b"\xc2" in data and _NON_ASCII_BAD.search(data))
        ):
            return load(data)
        try:
            data.decode("utf-8")  # YAML is text: the check libyaml makes, then let go
        except UnicodeDecodeError:
            return load(data)
    token = b"SSEREPLAYFAST%sN" % uuid.uuid4().hex.encode()
    parts: list[bytes] = []
    blocks = _Blocks()
    unindented: dict[int, _Unindented] = {}
    position = 0
    line = 0  # the line of the rest (the document less the blocks) that `position` starts
    while True:
        header = _FAST_HEADER.search(data, position)
        if header is None:
            break
        indent, key, indicator, chomp = header.groups()
        width = len(indent) + (int(indicator) if indicator else 2)
        pad = b" " * width
        start = header.end()
        end_match = _line_break(width).search(data, start - 1)
        end = end_match.start() + 1 if end_match else len(data)
        if (
            data[end - 1 : end] != b"\n"
            or _SPACES_THEN_BREAK.match(data, end)  # a short line of spaces
            or data[end : end + width].lstrip(b" ")[:1] == b"\t"  # a tab in the indentation
        ):
            return load(data)
        first = data[start : start + width + 1]
        if first.startswith(pad) and (indicator or first[width:] not in (b" ", b"\t", b"\n")):
            skip = width
        elif first[:1] == b"\n" and indicator:
            skip = 0  # leading empty lines: the writer gives the indentation explicitly
        else:
            return load(data)  # an indentation YAML would detect differently: let it decide
        placeholder = b"%s%d" % (token, len(blocks.values))
        line += data.count(b"\n", position, header.start())
        blocks.values[placeholder.decode()] = (
            line,
            len(indent),
            _value(data, unindented, width, start + skip, end, chomp),
        )
        line += 1
        parts.append(data[position : header.start()])
        parts.append(b"%s%s: %s\n" % (indent, key, placeholder))
        position = end
    if not blocks.values:
        return load(data)
    parts.append(data[position:])
    try:
        document = _build(b"".join(parts), blocks)
    except (YAMLError, _NotOurShape):
        return load(data)  # the error, as reported on the file as it is
    # Every block must be back exactly where it was cut out; otherwise the file is not of
    # the writer's shape after all (a plain scalar went on over the next lines, say).
    return load(data) if blocks.values else document
