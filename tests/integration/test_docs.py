"""The documentation site builds with `mkdocs build --strict`: no broken links or nav entries."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    """Every page in the nav exists, every link and anchor resolves, in strict mode."""
    # mkdocs, and mkdocs-material for the theme mkdocs.yml names.
    missing = [name for name in ("mkdocs", "material") if importlib.util.find_spec(name) is None]
    if missing:
        reason = f"not installed: {', '.join(missing)} (pip install mkdocs mkdocs-material)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and the docs cannot be built: {reason}", pytrace=False)
        pytest.skip(reason)
    # A copy, so the build never writes next to the sources (mkdocs.yml names docs_dir).
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site" / "index.html").exists()
    for page in ("quickstart", "cli", "recipes", "comparison", "faq"):
        assert (tmp_path / "site" / page / "index.html").exists()
