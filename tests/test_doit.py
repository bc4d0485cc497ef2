"""Plain doit in a user's repository: `from docgraph.dodo import *` is its whole dodo.py.

Every test runs the real `doit` command in a copy of the sample repository, as a user would, with
the repository as the working folder (no `root=`).  `SPLIT` forces every split of the graph on
(keyword letters, map parts, book parts): the map's list task and its parts once collided in
doit's names.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from docgraph.config import load
from docgraph.discover import discover
from docgraph.graph import KINDS, Graph, split_name, task_name

from .conftest import build, make_sample, snapshot

SHAPES = "src/geometry/shapes.py"
SPLIT = "pages:\n  index_split: 2\n  map_part_files: 3\n  book_part_bytes: 400\n"


def user_repo(dest: Path, split: bool = True) -> Path:
    root = make_sample(dest)
    (root / "dodo.py").write_text("from docgraph.dodo import *  # noqa: F403\n")
    if split:
        with open(root / "docgraph.yaml", "a", encoding="utf-8") as handle:
            handle.write(SPLIT)
    return root


def doit(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "doit", *args], cwd=root, capture_output=True,
                          text=True, check=False, timeout=300)


def report(root: Path) -> dict:
    return json.loads((root / ".docgraph" / "last-build.json").read_text())


def test_every_split_on_has_distinct_task_names(tmp_path: Path) -> None:
    root = user_repo(tmp_path / "repo")
    graph = Graph(load(str(root)), discover(load(str(root))))
    names = graph.all_specs_names()
    assert len(names) == len(set(names)) == graph.task_count()
    assert sum(1 for n in names if n.startswith("map:")) > 2  # the split is really on
    keyed = {kind.name for kind in KINDS if kind.keyed}
    for name in names:
        assert split_name(name) is not None, name
        assert name not in keyed, f"{name} would collide with doit's group task of its kind"


@pytest.mark.parametrize("kind,key", [("map", None), ("model", "x"), ("nothing", None)])
def test_task_names_follow_one_scheme(kind: str, key: str | None) -> None:
    with pytest.raises((ValueError, KeyError)):
        task_name(kind, key)


def test_doit_builds_what_docgraph_build_builds_and_either_follows_the_other(tmp_path: Path) -> None:
    via_doit = user_repo(tmp_path / "a")
    via_cli = user_repo(tmp_path / "b")
    run = doit(via_doit)
    assert run.returncode == 0, run.stderr
    assert "docgraph: doit build" in run.stdout
    assert len(list((via_doit / "repo-docs").glob("docgraph-*.json"))) > 2
    assert len(list((via_doit / "repo-docs").glob("comprehensive_book-*.md"))) > 1
    assert list((via_doit / "repo-docs").glob("keywords-*.md"))
    build(via_cli)
    assert snapshot(via_doit / "repo-docs") == snapshot(via_cli / "repo-docs")
    # docgraph build after doit: the stamp doit left says nothing changed
    after = build(via_doit)
    assert after["mode"] == "no-op" and after["tasks_executed"] == []
    # doit after docgraph build: nothing runs
    run = doit(via_cli)
    assert run.returncode == 0, run.stderr
    assert report(via_cli)["tasks_executed"] == []


def test_doit_after_an_edit_runs_what_the_edit_affects(tmp_path: Path) -> None:
    root = user_repo(tmp_path / "repo")
    assert doit(root).returncode == 0
    source = root / SHAPES
    source.write_text(source.read_text() + "\n\ndef added_by_test():\n    return 1\n")
    run = doit(root)
    assert run.returncode == 0, run.stderr
    done = report(root)
    assert done["sources_analyzed"] == [SHAPES]
    assert "analyze:src/geometry/io.py" not in done["tasks_executed"]
    clean = user_repo(tmp_path / "clean")
    (clean / SHAPES).write_bytes(source.read_bytes())
    build(clean)
    assert snapshot(root / "repo-docs") == snapshot(clean / "repo-docs")
    assert "added_by_test" in (root / "repo-docs" / f"{SHAPES}_kw.md").read_text()
    assert doit(root).returncode == 0
    assert report(root)["tasks_executed"] == []


def test_list_info_and_run_of_one_page(tmp_path: Path) -> None:
    root = user_repo(tmp_path / "repo")
    listed = doit(root, "list", "--all")
    assert listed.returncode == 0, listed.stderr
    names = {line.split()[0] for line in listed.stdout.splitlines() if line.strip()}
    assert {f"page:{SHAPES}", f"analyze:{SHAPES}", "map:docgraph.json", "model", "manifest"} <= names
    run = doit(root, "run", f"page:{SHAPES}")
    assert run.returncode == 0, run.stderr
    assert (root / "repo-docs" / f"{SHAPES}_docs.md").exists()
    assert not (root / "repo-docs" / "index.md").exists()  # only what the page needs
    info = doit(root, "info", f"page:{SHAPES}")
    assert info.returncode == 0 and "up-to-date" in info.stdout, info.stdout + info.stderr
    # a run of selected tasks vouches for nothing else: the next build checks every task
    assert not (root / ".docgraph" / "stamp.marshal").exists()
    assert doit(root).returncode == 0
    clean = user_repo(tmp_path / "clean")
    build(clean)
    assert snapshot(root / "repo-docs") == snapshot(clean / "repo-docs")


def test_clean_removes_exactly_the_generated_files(tmp_path: Path) -> None:
    root = user_repo(tmp_path / "repo")
    assert doit(root).returncode == 0
    built = snapshot(root / "repo-docs")
    mine = root / "repo-docs" / "src" / "NOTES.md"
    mine.write_text("my own notes\n")
    cleaned = doit(root, "clean")
    assert cleaned.returncode == 0, cleaned.stderr
    left = sorted(str(p.relative_to(root / "repo-docs")) for p in (root / "repo-docs").rglob("*")
                  if p.is_file())
    assert left == ["src/NOTES.md"]
    assert mine.read_text() == "my own notes\n"
    assert json.loads((root / ".docgraph" / "manifest.json").read_text()) == {"files": []}
    assert doit(root).returncode == 0  # everything comes back, byte for byte
    mine.unlink()
    assert snapshot(root / "repo-docs") == built


def test_a_users_own_tasks_package_is_not_shadowed(tmp_path: Path) -> None:
    root = user_repo(tmp_path / "repo", split=False)
    (root / "tasks").mkdir()
    (root / "tasks" / "__init__.py").write_text("OWN = 'the user s own tasks package'\n")
    (root / "dodo.py").write_text("from docgraph.dodo import *  # noqa: F403\nimport tasks\n\n"
                                  "assert tasks.OWN\n")
    run = doit(root)
    assert run.returncode == 0, run.stderr
    assert (root / "repo-docs" / "tasks" / "__init__.py_docs.md").exists()


def test_root_variable_overrides_the_dodo_folder(tmp_path: Path) -> None:
    root = user_repo(tmp_path / "repo", split=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "dodo.py").write_text("from docgraph.dodo import *  # noqa: F403\n")
    run = doit(elsewhere, f"root={root}")
    assert run.returncode == 0, run.stderr
    assert (root / "repo-docs" / "index.md").exists()
    assert not (elsewhere / "repo-docs").exists()


def test_a_user_error_is_one_line_with_docgraphs_exit_code(tmp_path: Path) -> None:
    root = user_repo(tmp_path / "repo", split=False)
    (root / "repo-docs").mkdir()
    (root / "repo-docs" / "hand-written.md").write_text("mine\n")
    run = doit(root)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr and "--adopt" in run.stderr


def test_parallel_doit_writes_the_same_bytes(tmp_path: Path) -> None:
    root = user_repo(tmp_path / "repo")
    run = doit(root, "-n", "2", "-P", "process")
    assert run.returncode == 0, run.stderr
    clean = user_repo(tmp_path / "clean")
    build(clean)
    assert snapshot(root / "repo-docs") == snapshot(clean / "repo-docs")


@pytest.mark.slow
def test_doit_on_the_torch_corpus_matches_docgraph_build(tmp_path: Path) -> None:
    corpus = Path(os.environ.get("DOCGRAPH_TORCH", Path(__file__).parents[2] / "corpora" / "torch"))
    if not (corpus / "torch").is_dir():
        pytest.skip(f"no torch corpus at {corpus} (../shared/bench/make-corpus.sh DEST torch)")
    import shutil

    # (one folder name: with neither a README title nor a manifest, the entry page is titled by it)
    via_doit, via_cli = tmp_path / "a" / corpus.name, tmp_path / "b" / corpus.name
    for copy in (via_doit, via_cli):
        shutil.copytree(corpus, copy, ignore=shutil.ignore_patterns(".git", "repo-docs", ".docgraph"))
    for copy in (via_doit, via_cli):  # the same sources: dodo.py is one of them
        (copy / "dodo.py").write_text("from docgraph.dodo import *  # noqa: F403\n")
    run = doit(via_doit)
    assert run.returncode == 0, run.stderr[-2000:]
    built = subprocess.run([sys.executable, "-m", "docgraph.cli", "build", "-q", str(via_cli)],
                           capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr[-2000:]
    assert snapshot(via_doit / "repo-docs") == snapshot(via_cli / "repo-docs")
    assert build(via_doit)["tasks_executed"] == []
    assert doit(via_cli).returncode == 0 and report(via_cli)["tasks_executed"] == []


def test_every_kind_is_created_after_the_stage_just_before_it() -> None:
    """Plain doit creates a kind's tasks when its `after` kind has run: were that a kind of an
    earlier stage than the one just before, the session would widen the stage while tasks of
    the stage before still wait to run, and miss what they change (the `_kw.md` tasks, created
    after the analysis, once widened the model's stage before the ledgers ran)."""
    from docgraph.graph import KIND, KINDS, RENDER_GROUP

    for kind in KINDS:
        if not kind.after:
            assert kind.stage == 0
        elif kind.after == RENDER_GROUP:
            assert all(k.stage < kind.stage for k in KINDS if k.name != kind.name)
        else:
            assert KIND[kind.after].stage == kind.stage - 1, kind.name


def test_records_are_looked_for_only_for_kinds_the_database_holds(tmp_path: Path) -> None:
    """A first build's tasks have no record: saving one must not query for it (150,000 queries
    on torch4x); a kind with records is read as before, and a record saved either way is whole."""
    import sqlite3

    from doit.dependency import JSONCodec

    from docgraph.runner import TaskDB

    db = TaskDB(str(tmp_path / "doit.sqlite3"), JSONCodec())
    db.set("analyze:a.py", "a.py", [1.0, 2, "f00"])
    db.set("keywords", "x", [1.0, 2, "f01"])
    db.flush()
    db._conn.commit()
    db.note_unrecorded({"analyze", "page", "keywords", "book"})
    assert db.unrecorded == {"page", "book"}
    queries: list[str] = []
    db._conn.set_trace_callback(queries.append)
    db.load("page:b.py")
    db.load("book")
    assert not queries
    db.load("analyze:a.py")
    assert len(queries) == 1 and db.get("analyze:a.py", "a.py") == [1.0, 2, "f00"]
    db.set("page:b.py", "b.py", [3.0, 4, "f02"])
    db.flush()
    db._conn.commit()
    rows = dict(sqlite3.connect(tmp_path / "doit.sqlite3").execute("SELECT task_id, task_data FROM doit"))
    assert json.loads(rows["page:b.py"]) == {"b.py": [3.0, 4, "f02"]}
