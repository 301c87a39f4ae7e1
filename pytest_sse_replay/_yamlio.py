"""YAML reading and writing for cassettes: safe loading, and literal blocks that read well.

libyaml (`CSafeLoader`/`CSafeDumper`) is used when PyYAML was built with it, the pure-Python
safe classes otherwise. Only plain data is ever constructed: `!!python/...` tags are refused.

Long texts (response bodies, timelines) are written as literal block scalars by
`literal_block`, not by the emitter: libyaml refuses block style for any text holding a tab, a
character outside the Basic Multilingual Plane (an emoji, common in AI streams) or a space
before a line end, and would fall back to one double-quoted line of `\\"` and `\\n` escapes.
Those texts are all representable as literal blocks; the emitter lays out everything else, with a
placeholder where each block goes, and `dump` splices the blocks in.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Sequence
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = [
    "Block",
    "FieldPath",
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
            style = '"' if _NOT_ON_ONE_LINE.search(data) else None
            node: ScalarNode = self.represent_scalar("tag:yaml.org,2002:str", data, style=style)
            return node

    Dumper.add_representer(Block, Dumper.represent_block)
    Dumper.add_representer(str, Dumper.represent_text)
    return Dumper


LOADER: type[Any] = make_loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader))
DUMPER: type[Any] = make_dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper))


def load(data: bytes) -> Any:
    """Parse one YAML document into plain data (dicts, lists, str, int, float, ...)."""
    loader = LOADER(data)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


# Characters a literal block holds verbatim when read back by libyaml and by PyYAML: the YAML
# printable set, minus NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR (loaders treat them as line
# breaks, NEL even turns into "\n") and the BOM (a byte-order mark, not content, to a reader).
# Tab is fine after the indentation. CR never reaches here: the body encodings remove it.
_NOT_IN_BLOCK = re.compile(
    "[^\t\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)


# Anything else in a short text (a URL, a header) is written in double quotes, with escapes.
_NOT_ON_ONE_LINE = re.compile(
    "[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)


def block_safe(text: str) -> bool:
    """Whether a literal block scalar holds `text` exactly."""
    return bool(text) and _NOT_IN_BLOCK.search(text) is None


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
    except yaml.YAMLError:
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
    if node is None:
        return None
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
