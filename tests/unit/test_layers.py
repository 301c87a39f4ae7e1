"""The package's imports run one way, down the data flow, and no folder reaches into another."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest_sse_replay

PACKAGE = Path(pytest_sse_replay.__file__).parent

# Lower ranks are further down the flow: a module may import its own rank or lower.
RANK = {
    "exceptions": 0,
    "_text": 0,
    "sse": 1,
    "cassette": 2,
    "assertions": 3,
    "playback": 4,
    "faults": 4,
    "clients": 5,
    "demo": 6,
    "plugin": 6,
    "cli": 7,
    "__init__": 8,
    "__main__": 8,
}
# The public API and `python -m` may import any module by its exact home.
REACHES_IN = {"__init__", "__main__"}
# Leaf helpers every folder shares (wording of counts and such): private to the package only.
SHARED = {"_text"}


def _unit(path: Path) -> str:
    """The folder, or the top-level module, a file belongs to."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def _module(path: Path) -> list[str]:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imports(path: Path) -> list[tuple[int, list[str], list[str]]]:
    """(line, target module parts inside the package, imported names) of each import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    here = _module(path)
    found: list[tuple[int, list[str], list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names = [alias.name for alias in node.names]
            if node.level:
                base = here if is_package else here[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = [*base, *(node.module.split(".") if node.module else [])]
            elif node.module and node.module.split(".")[0] == "pytest_sse_replay":
                target = node.module.split(".")[1:]
            else:
                continue
            if not node.module and node.level:
                # `from . import faults`: each name may be a module
                for name in names:
                    found.append((node.lineno, [*target, name], []))
                continue
            found.append((node.lineno, target, names))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "pytest_sse_replay":
                    found.append((node.lineno, parts[1:], []))
    return found


def _files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_rank() -> None:
    """Each folder and top-level module has a place in the flow, so the check covers it."""
    assert {_unit(path) for path in _files()} <= set(RANK)


def test_imports_run_down_the_flow() -> None:
    """No module imports from a folder further up the flow than its own."""
    wrong = []
    for path in _files():
        unit = _unit(path)
        for line, target, _ in _imports(path):
            if not target:
                continue  # the package itself (its lazy public names)
            if RANK[target[0]] > RANK[unit]:
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} imports {'.'.join(target)}")
    assert wrong == []


def test_no_private_name_crosses_a_folder() -> None:
    """Across folders, imports name a folder's public names, never its private modules."""
    wrong = []
    for path in _files():
        unit = _unit(path)
        if unit in REACHES_IN:
            continue
        for line, target, names in _imports(path):
            if not target or target[0] == unit or target[0] in SHARED:
                continue
            where = f"{path.relative_to(PACKAGE)}:{line}"
            if any(part.startswith("_") for part in target):
                wrong.append(f"{where} imports private module {'.'.join(target)}")
            wrong.extend(
                f"{where} imports private name {name}" for name in names if name.startswith("_")
            )
    assert wrong == []
