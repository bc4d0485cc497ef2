"""`docgraph check`, and builds that race with edits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from docgraph.check import check
from docgraph.config import load

from .conftest import build, snapshot


def run_check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "docgraph.cli", "check", str(root)],
                          capture_output=True, text=True, check=False)


def test_check_on_an_up_to_date_tree_passes_and_writes_nothing(sample: Path) -> None:
    build(sample)
    before = snapshot(sample)
    result = run_check(sample)
    assert result.returncode == 0, result.stdout
    assert snapshot(sample) == before


def test_check_finds_stale_missing_orphaned_and_untracked(sample: Path) -> None:
    build(sample)
    (sample / "src/geometry/io.py").write_text("def replaced():\n    pass\n")
    (sample / "repo-docs/README.md_kw.md").unlink()
    (sample / "repo-docs/notes-by-hand.md").write_text("mine\n")
    result = check(load(str(sample)))
    assert "src/geometry/io.py_docs.md" in result.stale
    assert "README.md_kw.md" in result.missing
    assert result.untracked == ("notes-by-hand.md",)
    # a source removed since the last build leaves orphaned pages
    (sample / "web/app.js").unlink()
    result = check(load(str(sample)))
    assert {"web/app.js_docs.md", "web/app.js_kw.md"} <= set(result.orphaned)
    cli = run_check(sample)
    assert cli.returncode == 1
    assert "orphaned: web/app.js_docs.md" in cli.stdout
    assert (sample / "repo-docs/notes-by-hand.md").exists()


def test_check_without_any_build_reports_missing_pages(sample: Path) -> None:
    result = run_check(sample)
    assert result.returncode == 1
    assert "missing: index.md" in result.stdout
    assert not (sample / "repo-docs").exists() and not (sample / ".docgraph").exists()


def test_check_config_error_exits_2(sample: Path) -> None:
    (sample / "docgraph.yaml").write_text("bogus: 1\n")
    assert run_check(sample).returncode == 2


def test_a_file_rewritten_while_it_is_analysed_is_not_recorded(sample: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from docgraph.actions import analysis as actions

    build(sample)
    target = sample / "src/geometry/shapes.py"
    original = actions.analyze_file
    state = {"raced": False}

    def racing(ctx, rel):  # type: ignore[no-untyped-def]
        result = original(ctx, rel)
        if rel == "src/geometry/shapes.py" and not state["raced"]:
            state["raced"] = True  # the editor saves again while the analysis runs
            target.write_text(target.read_text() + "\nLATE = 1\n")
        return result

    monkeypatch.setattr(actions, "analyze_file", racing)
    target.write_text(target.read_text() + "\nEARLY = 1\n")
    first = build(sample)
    assert any("changed while it was being read" in e["message"] for e in first["errors"])
    monkeypatch.setattr(actions, "analyze_file", original)
    second = build(sample)
    assert "src/geometry/shapes.py" in second["sources_analyzed"]
    assert "LATE" in (sample / "repo-docs/src/geometry/shapes.py_kw.md").read_text()


def test_check_with_a_pool_sees_what_a_serial_check_sees(tmp_path: Path) -> None:
    """Enough files that the mirror build's stages run in the pool (32 tasks or more)."""
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    for i in range(40):
        (root / "pkg" / f"m{i}.py").write_text(f"def f{i}():\n    return {i}\n")
    build(root, jobs=2)
    assert check(load(str(root)), jobs=2).ok
    (root / "pkg" / "m7.py").write_text("def g7():\n    return 7\n")
    for jobs in (1, 2):
        result = check(load(str(root)), jobs=jobs)
        assert not result.ok
        assert "pkg/m7.py_docs.md" in result.stale and "pkg/m7.py_kw.md" in result.stale


def test_check_with_output_and_state_outside_root_deletes_nothing(tmp_path: Path) -> None:
    """The manifest names an output folder outside ROOT by absolute path: the mirror build must
    not take those names for its own vanished pages (it used to delete every real page)."""
    from .conftest import make_sample

    root = make_sample(tmp_path / "repo")
    out, state = tmp_path / "pages", tmp_path / "state"
    args = [str(root), "--out", str(out), "--state", str(state)]
    subprocess.run([sys.executable, "-m", "docgraph.cli", "build", "-q", *args], check=True,
                   capture_output=True)
    def state_files() -> dict[str, bytes]:  # (the lock holds the pid of whoever took it last)
        return {k: v for k, v in snapshot(state).items() if k != "lock"}

    before, state_before = snapshot(out), state_files()
    assert "index.md" in before
    result = subprocess.run([sys.executable, "-m", "docgraph.cli", "check", *args],
                            capture_output=True, text=True, check=False)
    assert snapshot(out) == before and state_files() == state_before
    assert result.returncode == 0, result.stdout + result.stderr
    # with a source gone, the mirror's manifest step runs and removes its files: the mirror's
    (root / "web/app.js").unlink()
    result = subprocess.run([sys.executable, "-m", "docgraph.cli", "check", *args],
                            capture_output=True, text=True, check=False)
    assert snapshot(out) == before and state_files() == state_before
    assert result.returncode == 1 and "orphaned: web/app.js_docs.md" in result.stdout
