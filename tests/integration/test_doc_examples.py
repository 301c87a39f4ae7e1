"""Every Python example in README.md and docs/*.md runs, as a user pasting it would run it.

A page is one test module: its ```python blocks, in order, concatenated (a later block may use
what an earlier one defined, as a reader going down the page does). The module is run through
pytester in a folder holding a copy of cassettes/, with the plugin loaded as installed, so its
module-level code must run and its tests must pass. HTML comments just before a block change
how it is used, visibly in the Markdown source:

- `<!-- no-run: why -->`: not run (a fragment that cannot run alone; keep these few).
- `<!-- raises: AssertionError -->`: the block must raise that exception (a failure shown on
  purpose); it runs inside `pytest.raises`. When a ```text block that starts with
  `AssertionError: ` follows, the message must be exactly that text.
- `<!-- file: myapp/agents.py -->`: the block is that file of the user's project (for the
  page's other blocks to import), not part of the page's module.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("only_this_plugin")]

pytest_plugins = ["pytester"]

ROOT = Path(__file__).parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# The opt-outs allowed in all the pages together: fragments should be the exception.
MAX_NO_RUN = 3

_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_DIRECTIVE = re.compile(r"<!--\s*(no-run|raises|file):\s*(.*?)\s*-->\s*\Z", re.DOTALL)
_TEXT_AFTER = re.compile(r"\s*```text[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


@dataclass
class Block:
    page: Path
    line: int
    source: str
    directive: str = ""  # "no-run", "raises", "file" or ""
    argument: str = ""
    shown: str | None = None  # the ```text block right after it, if any


def blocks(page: Path) -> list[Block]:
    """The page's ```python blocks, each with the directive in the comment just before it."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip()
        block = Block(page, text.count("\n", 0, match.start()) + 1, match.group(1))
        comment = _DIRECTIVE.search(before[before.rfind("<!--") :]) if "<!--" in before else None
        if comment is not None and before.endswith("-->"):
            block.directive, block.argument = comment.group(1), comment.group(2)
        shown = _TEXT_AFTER.match(text, match.end())
        if shown is not None:
            block.shown = shown.group(1)
        found.append(block)
    return found


def module_for(page_blocks: list[Block]) -> tuple[str, dict[str, str]]:
    """The page's module source, and the project files its `file:` blocks make."""
    parts: list[str] = []
    files: dict[str, str] = {}
    for block in page_blocks:
        where = f"# {block.page.name}, line {block.line}\n"
        if block.directive == "no-run":
            continue
        if block.directive == "file":
            files[block.argument] = block.source
        elif block.directive == "raises":
            body = textwrap.indent(block.source, "    ")
            code = f"with __import__('pytest').raises({block.argument}) as _raised:\n{body}"
            prefix = f"{block.argument}: "
            if block.shown is not None and block.shown.startswith(prefix):
                expected = block.shown[len(prefix) :].rstrip("\n")
                code += (
                    f"\n_message = str(_raised.value)\n"
                    f"assert _message == {expected!r}, "
                    f"'the message differs from the one shown at {block.page.name} line "
                    f"{block.line}:\\n' + _message\n"
                )
            parts.append(where + code)
        else:
            parts.append(where + block.source)
    return "\n\n".join(parts), files


def page_id(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


RUNNABLE = [page for page in PAGES if any(b.directive != "no-run" for b in blocks(page))]


@pytest.mark.parametrize("page", RUNNABLE, ids=page_id)
def test_page_examples_run(page: Path, pytester: pytest.Pytester) -> None:
    """The page's Python examples run as one module: its code runs and its tests pass."""
    source, files = module_for(blocks(page))
    shutil.copytree(ROOT / "cassettes", pytester.path / "cassettes")
    for name, text in files.items():
        path = pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for folder in path.relative_to(pytester.path).parents:
            if folder != Path(".") and not (pytester.path / folder / "__init__.py").exists():
                (pytester.path / folder / "__init__.py").touch()
        path.write_text(text, encoding="utf-8")
    module = "test_" + re.sub(r"\W", "_", page.stem.lower()) + "_page"
    pytester.makepyfile(**{module: source})
    pytester.syspathinsert()
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", timeout=300)
    outcomes = result.parseoutcomes()
    report = result.stdout.str() + result.stderr.str()
    assert outcomes.get("failed", 0) == 0, report
    assert outcomes.get("errors", outcomes.get("error", 0)) == 0, report
    assert result.ret in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED), report
    defines_tests = re.search(r"^(async )?def test_", source, re.MULTILINE) is not None
    if defines_tests:
        assert outcomes.get("passed", 0) > 0, report


def test_every_block_is_found_and_opt_outs_are_few() -> None:
    """The collector sees every ```python block, and only a few are marked no-run (with a reason)."""
    all_blocks = [block for page in PAGES for block in blocks(page)]
    fences = sum(page.read_text(encoding="utf-8").count("```python") for page in PAGES)
    assert len(all_blocks) == fences
    skipped = [block for block in all_blocks if block.directive == "no-run"]
    assert all(block.argument for block in skipped), "every no-run needs a reason"
    assert len(skipped) <= MAX_NO_RUN, [f"{b.page.name}:{b.line}" for b in skipped]


def test_directives_are_read(tmp_path: Path) -> None:
    """The comment just before a block decides how it runs; one further up does not."""
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- no-run: a fragment -->\n```python\nx()\n```\n\n"
        "<!-- raises: ValueError -->\n\n```python\nint('x')\n```\n\n"
        "<!-- file: app/core.py -->\n```python\nA = 1\n```\n\n"
        "<!-- no-run: far -->\n\ntext\n\n```python\nprint(1)\n```\n",
        encoding="utf-8",
    )
    found = blocks(page)
    assert [(b.directive, b.argument) for b in found] == [
        ("no-run", "a fragment"),
        ("raises", "ValueError"),
        ("file", "app/core.py"),
        ("", ""),
    ]
    source, files = module_for(found)
    assert files == {"app/core.py": "A = 1\n"}
    assert "x()" not in source
    assert "with __import__('pytest').raises(ValueError) as _raised:\n    int('x')" in source
    assert "print(1)" in source


def test_quickstart_no_recording_sample_is_the_real_message(pytester: pytest.Pytester) -> None:
    """The quickstart's sample of a missing recording is what the plugin really prints."""
    text = (ROOT / "docs" / "quickstart.md").read_text(encoding="utf-8")
    sample = re.search(r"```text\n(cassette .*?)```", text, re.DOTALL)
    assert sample is not None
    first, *rest = sample.group(1).rstrip("\n").splitlines()
    shutil.copytree(ROOT / "cassettes", pytester.path / "cassettes")
    tests = pytester.mkdir("tests")
    (tests / "test_agents.py").write_text(
        textwrap.dedent(
            """
            import httpx, pytest

            @pytest.mark.sse_cassette("agent_run")
            def test_run_scores_every_agent():
                httpx.post("https://api.example.com/v2/runs", json={})
            """
        ),
        encoding="utf-8",
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "tests/test_agents.py")
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    shown_path = first.split(" ")[1]
    real_path = str(pytester.path / "cassettes" / "agent_run.yaml")
    assert first.replace(shown_path, real_path) in output
    for line in rest:
        assert line in output
