"""End-to-end on a real corpus (slow; excluded by default: `python -m pytest -m slow`).

Builds the CPython standard library corpus of `../shared/bench/make-corpus.sh` (made on first
use), checks every link, the absence of absolute paths, a no-op rerun, and an edit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import broken_links, build

MAKE_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "bench" / "make-corpus.sh"


@pytest.mark.slow
def test_cpython_standard_library(tmp_path: Path) -> None:
    dest = Path(os.environ.get("DOCGRAPH_CORPORA", tmp_path / "corpora"))
    if not (dest / "cpython").exists():
        if not MAKE_CORPUS.exists():
            pytest.skip(f"{MAKE_CORPUS} is not available")
        subprocess.run(["bash", str(MAKE_CORPUS), str(dest), "cpython"], check=True)
    root = tmp_path / "cpython"
    shutil.copytree(dest / "cpython", root, symlinks=True,
                    ignore=shutil.ignore_patterns("repo-docs", ".docgraph"))
    report = build(root, jobs=2)
    assert not any(e["message"].startswith("task failed") for e in report["errors"])
    out = root / "repo-docs"
    assert broken_links(out) == []
    assert str(root) not in (out / "index.md").read_text()
    assert build(root)["tasks_executed"] == []
    target = root / "Lib" / "json" / "__init__.py"
    target.write_text(target.read_text() + "\n\ndef added_by_the_test():\n    pass\n")
    report = build(root)
    assert report["sources_analyzed"] == ["Lib/json/__init__.py"]
    assert "added_by_the_test" in (out / "Lib/json/__init__.py_kw.md").read_text()
