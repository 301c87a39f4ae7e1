"""Inputs for fuzzing the cassette loader: YAML-ish bytes, of three kinds.

- mutations of the example cassettes (cassettes/*.yaml): ranges cut, repeated or moved, and
  YAML's own syntax (anchors, aliases, tags, flow brackets, block indicators, line breaks
  YAML treats specially, huge numbers) dropped in anywhere;
- documents generated from a grammar: block and flow collections, plain, quoted and literal
  scalars, anchors, aliases, tags, with `body:` and `timeline:` literal blocks in the shapes
  the package writes and in shapes close to them;
- random bytes.

Used by tests/unit/cassette/test_hostile.py (a bounded number of examples in every run) and by
tests/fuzz/fuzz_load.py (`make fuzz`, as long as a maintainer lets it run).
"""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import strategies as st

__all__ = ["EXAMPLES", "documents", "mutate", "mutated_examples", "yamlish"]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES: tuple[bytes, ...] = tuple(
    path.read_bytes() for path in sorted((ROOT / "cassettes").glob("*.yaml"))
)

# Pieces of YAML syntax and of the values a cassette holds, dropped into a file anywhere.
TOKENS: tuple[bytes, ...] = (
    b"&a ",
    b"*a",
    b"&i\n",
    b"- *a\n",
    b"!!set ",
    b"!!map ",
    b"!!str ",
    b"!!binary ",
    b"!!python/object/apply:os.system ",
    b"! ",
    b"!local ",
    b"<<: ",
    b"{",
    b"}",
    b"[",
    b"]",
    b", ",
    b"|",
    b"|-",
    b"|+",
    b"|2",
    b">",
    b"- ",
    b": ",
    b"? ",
    b"#",
    b"\n",
    b"  ",
    b"\t",
    b"\r",
    b"'",
    b'"',
    b"---\n",
    b"...\n",
    b"%YAML 1.1\n",
    b"%TAG !e! tag:example.com,2000:\n",
    b"\xc2\x85",  # NEL
    b"\xe2\x80\xa8",  # LINE SEPARATOR
    b"\xef\xbb\xbf",  # BOM
    b"\xff",
    b"\x00",
    b"9" * 400,
    b"1e308",
    b"-0.5",
    b"nan",
    b".inf",
    b"1:2:3",
    b"2024-02-30",
    b"~",
    b"body: |\n",
    b"timeline: |\n",
    b"    body: |\n      x\n",
    b"error: HTTPStatusError",
    b"end: {error: ReadError, message: x}\n",
)


def mutate(data: bytes, rng: random.Random, count: int) -> bytes:
    """`data` with `count` random edits."""
    out = bytearray(data)
    for _ in range(count):
        size = len(out)
        kind = rng.randrange(6)
        at = rng.randrange(size + 1)
        if kind == 0:  # insert a token
            out[at:at] = rng.choice(TOKENS)
        elif kind == 1 and size:  # cut a range
            out[at : at + rng.randrange(1, 40)] = b""
        elif kind == 2 and size:  # repeat a range, up to a few times
            piece = bytes(out[at : at + rng.randrange(1, 200)])
            out[at:at] = piece * rng.randrange(1, 4)
        elif kind == 3 and size:  # one byte changed
            out[min(at, size - 1)] = rng.randrange(256)
        elif kind == 4:  # a line moved elsewhere
            lines = bytes(out).split(b"\n")
            line = lines.pop(rng.randrange(len(lines)))
            lines.insert(rng.randrange(len(lines) + 1), line)
            out[:] = b"\n".join(lines)
        else:  # indentation changed on one line
            lines = bytes(out).split(b"\n")
            index = rng.randrange(len(lines))
            delta = rng.choice((-2, -1, 1, 2))
            lines[index] = b" " * delta + lines[index] if delta > 0 else lines[index][-delta:]
            out[:] = b"\n".join(lines)
    return bytes(out)


@st.composite
def mutated_examples(draw: st.DrawFn) -> bytes:
    """An example cassette with a few random edits."""
    data = draw(st.sampled_from(EXAMPLES))
    seed = draw(st.integers(0, 2**32 - 1))
    return mutate(data, random.Random(seed), draw(st.integers(1, 8)))


# --- Generated documents ----------------------------------------------------------------

_PLAIN = st.sampled_from(
    ["a", "x y", "200", "0.5", "-1", "1e308", "9" * 400, "true", "null", "~", "1:20", "<<", "="]
)
_KEYS = st.sampled_from(
    ["version", "interactions", "request", "response", "method", "url", "headers", "body",
     "timeline", "end", "status", "headers_t", "error", "message", "a", "1", "<<"]
)  # fmt: skip
_LINE = st.text(
    st.sampled_from([*"ab :#-|>{}[],'\"&*!\t ", "\u00e9", "\U0001f642", "\u2028", "\x85"]),
    max_size=12,
)
_BLOCK_TEXT = st.lists(_LINE, max_size=5).map(lambda lines: "\n".join(lines))


def _quote(text: str, style: str) -> str:
    if style == "'":
        return "'" + text.replace("'", "''").replace("\n", " ") + "'"
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped + '"'


@st.composite
def _properties(draw: st.DrawFn, rich: bool) -> str:
    """Maybe an anchor and maybe a tag, in front of a node (only in a `rich` document)."""
    parts = []
    if not rich:
        return ""
    if draw(st.integers(0, 5)) == 0:
        parts.append(draw(st.sampled_from(["&a", "&b", "&x1"])))
    if draw(st.integers(0, 5)) == 0:
        parts.append(draw(st.sampled_from(["!!str", "!!int", "!!set", "!!map", "!!seq", "!e"])))
    return " ".join(parts) + " " if parts else ""


def _scalar(draw: st.DrawFn, rich: bool) -> str:
    kind = draw(st.integers(0, 5))
    if kind == 0 and rich:
        return draw(st.sampled_from(["*a", "*b", "*x1"]))
    if kind in (1, 2):
        plain = draw(_PLAIN if rich else _PLAIN.filter(lambda text: text not in ("<<", "=")))
        return draw(_properties(rich)) + plain
    return draw(_properties(rich)) + _quote(draw(_LINE), draw(st.sampled_from(["'", '"'])))


def _literal(draw: st.DrawFn, indent: int) -> str:
    """`|` and its lines at `indent` (or, now and then, at some other indentation)."""
    header = (
        "|" + draw(st.sampled_from(["", "", "2", "1", "4"])) + draw(st.sampled_from(["", "-", "+"]))
    )
    pad = " " * max(0, indent + draw(st.sampled_from([0, 0, 0, 0, -1, 1, -2])))
    lines = draw(_BLOCK_TEXT).split("\n")
    body = "".join((pad + line if line or draw(st.booleans()) else "") + "\n" for line in lines)
    return header + "\n" + body


def _node(draw: st.DrawFn, indent: int, depth: int, key: str, rich: bool) -> str:
    """A value after "key:" at `indent`: inline text ending in a line break."""
    if key in ("body", "timeline") and draw(st.integers(0, 2)):
        return " " + _literal(draw, indent + 2)
    if depth <= 0:
        return " " + _scalar(draw, rich) + "\n"
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return " " + _scalar(draw, rich) + "\n"
    if kind == 1:
        return " " + _flow(draw, depth - 1, rich) + "\n"
    if kind == 2:
        return (
            " "
            + draw(_properties(rich))
            + "\n"
            + _block_sequence(draw, indent + 2, depth - 1, rich)
        )
    return " " + draw(_properties(rich)) + "\n" + _block_mapping(draw, indent + 2, depth - 1, rich)


def _flow(draw: st.DrawFn, depth: int, rich: bool) -> str:
    items = [
        _flow(draw, depth - 1, rich) if depth > 0 and draw(st.booleans()) else _scalar(draw, rich)
        for _ in range(draw(st.integers(0, 3)))
    ]
    if draw(st.booleans()):
        pairs = [
            f"{key}: {item}" for key, item in zip(_keys(draw, len(items), rich), items, strict=True)
        ]
        if draw(st.integers(0, 4)) == 0:
            # A literal block inside a flow mapping: not YAML.
            pairs.append("body: |\n  x\n")
        return draw(_properties(rich)) + "{" + ", ".join(pairs) + "}"
    return draw(_properties(rich)) + "[" + ", ".join(items) + "]"


def _keys(draw: st.DrawFn, count: int, rich: bool) -> list[str]:
    """`count` keys: in a `rich` document they may repeat or be "<<"."""
    if rich:
        return [draw(_KEYS) for _ in range(count)]
    return draw(
        st.lists(_KEYS.filter(lambda key: key != "<<"), min_size=count, max_size=count, unique=True)
    )


def _block_mapping(draw: st.DrawFn, indent: int, depth: int, rich: bool) -> str:
    pad = " " * indent
    out = ""
    keys = _keys(draw, draw(st.integers(1, 4)), rich)
    block_key = draw(st.sampled_from(["body", "timeline", ""]))
    if block_key and block_key not in keys:
        keys[draw(st.integers(0, len(keys) - 1))] = block_key  # literal blocks, often
    for key in keys:
        out += pad + key + ":" + _node(draw, indent, depth, key, rich)
    return out


def _block_sequence(draw: st.DrawFn, indent: int, depth: int, rich: bool) -> str:
    pad = " " * indent
    out = ""
    for _ in range(draw(st.integers(1, 3))):
        if depth > 0 and draw(st.booleans()):
            # "- key: value" then the rest of the mapping under it, as the writer lays it out.
            mapping = _block_mapping(draw, indent + 2, depth - 1, rich)
            out += pad + "- " + mapping[indent + 2 :]
        else:
            out += pad + "- " + _scalar(draw, rich) + "\n"
    return out


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    """A generated YAML document, valid or nearly, with cassette-like literal blocks."""
    text = draw(st.sampled_from(["", "", "---\n", "%YAML 1.1\n---\n"]))
    # A rich document has anchors, aliases, tags, merge keys and repeated keys, all refused;
    # a plain one has none, so that the blocks in it are read and compared.
    rich = draw(st.integers(0, 3)) == 0
    text += _block_mapping(draw, 0, draw(st.integers(1, 4)), rich)
    if draw(st.integers(0, 6)) == 0:
        text += draw(st.sampled_from(["...\n", "---\n", "--- a\n", "x\n"]))
    data = text.encode("utf-8")
    if draw(st.integers(0, 5)) == 0:
        data = mutate(data, random.Random(draw(st.integers(0, 2**32 - 1))), 2)
    return data


def yamlish() -> st.SearchStrategy[bytes]:
    """All three kinds of input."""
    return st.one_of(mutated_examples(), documents(), st.binary(max_size=300))
