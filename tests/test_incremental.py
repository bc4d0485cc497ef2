"""Incremental builds, read from the build report: exactly the affected work runs."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from docgraph.errors import OutputFolderError
from docgraph.workspace import open_workspace

from .conftest import build, make_sample, snapshot

SHAPES = "src/geometry/shapes.py"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_first_build_analyses_everything_and_rerun_does_nothing(sample: Path) -> None:
    first = build(sample)
    assert "src/geometry/io.py" in first["sources_analyzed"]
    assert "build/generated.py" not in first["sources_analyzed"]  # .gitignore'd
    # where the time went: the plan, then each stage in order, the CPU of every kind that ran
    steps = list(first["timings"])
    assert steps[0] == "plan" and steps[1:] == sorted(steps[1:]) and "stage 1" in steps
    assert all(s >= 0 for s in first["timings"].values())
    assert sum(first["timings"].values()) <= first["seconds"] + 0.0005 * len(steps)  # (each rounded)
    assert set(first["cpu_seconds"]) == {n.partition(":")[0] for n in first["tasks_executed"]}
    again = build(sample)
    assert again["mode"] == "no-op"
    assert set(again.get("timings", {})) <= {"plan"} and "cpu_seconds" not in again  # no stage ran
    assert again["tasks_executed"] == []
    assert again["sources_analyzed"] == [] and again["pages_written"] == []


def test_body_edit_reruns_only_that_files_tasks(sample: Path) -> None:
    build(sample)
    edit(sample / SHAPES, "raise ValueError(\"negative side\")", "raise ValueError(\"side < 0\")")
    report = build(sample)
    assert report["sources_analyzed"] == [SHAPES]
    # (its folder's ledger reads the analysis again and finds the same summary: nothing after it runs)
    assert set(report["tasks_executed"]) == {f"analyze:{SHAPES}", f"page:{SHAPES}", f"kw:{SHAPES}",
                                             "ledger:src/geometry"}
    assert report["pages_written"] == [f"{SHAPES}_docs.md"]
    assert set(report["cpu_seconds"]) == {"analyze", "page", "kw", "ledger"}


def test_a_ledger_reads_only_the_analyses_that_changed(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder's ledger reads again only the analyses whose stat data differ from those it
    saw last; its hashes are those of every summary, as a read of all of them gives; a `seen`
    record that is lost or damaged costs a read of all of them, never a wrong hash."""
    import hashlib
    import json

    import docgraph.actions.model as actions
    from docgraph.config import load
    from docgraph.context import Paths
    from docgraph.facts import packed_summary

    monkeypatch.setattr(actions, "RACY_NS", 0)  # (the build's files are all new here)
    build(sample)
    config = load(str(sample))
    paths = Paths(config.root, config.output, config.state)
    facts = str(Path(config.state) / "facts")
    reads: list[str] = []
    real, ledger_task = actions.read_bytes, actions.write_ledger
    in_ledger = [False]

    def counted(path: str) -> bytes | None:
        if path.startswith(facts) and in_ledger[0]:
            reads.append(path)
        return real(path)

    def ledger_counted(*args: object) -> object:
        in_ledger[0] = True
        try:
            return ledger_task(*args)  # type: ignore[arg-type]
        finally:
            in_ledger[0] = False

    monkeypatch.setattr(actions, "read_bytes", counted)
    monkeypatch.setattr(actions, "write_ledger", ledger_counted)
    own = sorted(p.relative_to(sample).as_posix() for p in (sample / "src/geometry").iterdir() if p.is_file())

    def expected() -> list[list[str]]:
        return [[rel, hashlib.sha1(packed_summary(Path(paths.facts(rel)).read_bytes()) or b"").hexdigest()]
                for rel in own]

    ledger = Path(paths.ledger("src/geometry"))
    with (sample / SHAPES).open("a", encoding="utf-8") as handle:
        handle.write("\n\ndef total_area(shapes):\n    return 0\n")
    report = build(sample)
    assert "ledger:src/geometry" in report["tasks_executed"] and "model" in report["tasks_executed"]
    assert reads == [paths.facts(SHAPES)]
    assert json.loads(ledger.read_bytes()) == expected()
    for number, damage in enumerate((b"", b"\x00garbage", None)):
        seen = Path(paths.seen("src/geometry"))
        if damage is None:
            seen.unlink()
        else:
            seen.write_bytes(damage)
        reads.clear()
        with (sample / SHAPES).open("a", encoding="utf-8") as handle:
            handle.write(f"\n# edit {number}\n")  # (its facts change, its summary does not)
        build(sample)
        assert sorted(reads) == sorted(paths.facts(rel) for rel in own)
        assert json.loads(ledger.read_bytes()) == expected()


def test_the_model_reads_groups_of_ledgers(tmp_path: Path) -> None:
    """The model's inputs are the groups of ledgers (at most 256 files at any size), each the
    ledgers of its folders joined: with two folders of one group, an identifier added in
    either reaches the keyword pages, and the group holds both folders' files."""
    import json

    from docgraph import layout
    from docgraph.config import load
    from docgraph.context import Paths
    from docgraph.discover import discover
    from docgraph.graph import Graph

    names = [f"pkg{i}" for i in range(64)]
    first = next(a for i, a in enumerate(names) if any(layout.group(layout.key(a)) == layout.group(layout.key(b))
                                                       for b in names[i + 1:]))
    second = next(b for b in names if b != first and layout.group(layout.key(b)) == layout.group(layout.key(first)))
    other = next(n for n in names if layout.group(layout.key(n)) != layout.group(layout.key(first)))
    root = tmp_path / "repo"
    for folder in (first, second, other):
        (root / folder).mkdir(parents=True)
        (root / folder / "mod.py").write_text(f'"""The {folder} module."""\n\n\ndef {folder}_base():\n    return 1\n',
                                              encoding="utf-8")
    build(root)
    config = load(str(root))
    paths = Paths(config.root, config.output, config.state)
    group = layout.group(layout.key(first))
    model = Graph(config, discover(config)).spec("model")
    assert model is not None
    inputs = [dep for dep in model.file_dep if "/settings/" not in dep]
    assert sorted(inputs) == sorted({f"{Path(config.state).name}/group/{layout.group(layout.key(f))}.json"
                                     for f in (first, second, other)})
    for folder in (second, first):
        with (root / folder / "mod.py").open("a", encoding="utf-8") as handle:
            handle.write(f"\n\ndef {folder}_added():\n    return 2\n")
        report = build(root)
        assert f"group:{group}" in report["tasks_executed"] and "model" in report["tasks_executed"]
        assert f"{folder}_added" in (root / "repo-docs" / "keywords.md").read_text(encoding="utf-8")
    joined = json.loads(Path(paths.group(group)).read_bytes())
    assert sorted(rel for rel, _digest in joined) == sorted([f"{first}/mod.py", f"{second}/mod.py"])
    assert joined == [entry for folder in sorted((first, second))
                      for entry in json.loads(Path(paths.ledger(folder)).read_bytes())]
    clean = tmp_path / "clean" / "repo"  # (the same folder name: the entry page shows it)
    shutil.copytree(root, clean, ignore=shutil.ignore_patterns("repo-docs", ".docgraph"))
    build(clean)
    assert snapshot(root / "repo-docs") == snapshot(clean / "repo-docs")


def test_new_identifier_rebuilds_its_pages_and_the_keyword_pages_only(sample: Path) -> None:
    build(sample)
    with (sample / SHAPES).open("a", encoding="utf-8") as handle:
        handle.write("\n\ndef total_area(shapes):\n    return sum(s.area() for s in shapes)\n")
    report = build(sample)
    assert report["sources_analyzed"] == [SHAPES]
    written = set(report["pages_written"])
    assert {f"{SHAPES}_docs.md", f"{SHAPES}_kw.md", "keywords.md",
            "src/geometry/sub.md", "src/sub.md"} <= written
    assert not [p for p in written if p.endswith(("index.md", "doc.md"))], written
    assert "total_area" in (sample / "repo-docs" / "keywords.md").read_text()


def test_new_import_rebuilds_both_ends(sample: Path) -> None:
    build(sample)
    edit(sample / "tests/test_shapes.py", "import pytest\n", "import pytest\n\nfrom geometry.io import depth\n")
    report = build(sample)
    written = set(report["pages_written"])
    assert "tests/test_shapes.py_docs.md" in written
    assert "src/geometry/io.py_docs.md" in written  # imported by / tested by changed
    assert "README.md_docs.md" not in written
    assert "src/geometry/shapes.py_docs.md" not in written
    io_page = (sample / "repo-docs/src/geometry/io.py_docs.md").read_text()
    assert "test_shapes.py" in io_page


def test_deleted_file_loses_its_pages_and_its_index_row(sample: Path) -> None:
    build(sample)
    (sample / "src/geometry/io.py").unlink()
    report = build(sample)
    assert {"src/geometry/io.py_docs.md", "src/geometry/io.py_kw.md"} <= set(report["pages_removed"])
    assert not (sample / "repo-docs/src/geometry/io.py_docs.md").exists()
    assert "io.py" not in (sample / "repo-docs/src/geometry/index.md").read_text()


def test_renamed_folder_moves_every_page(sample: Path) -> None:
    build(sample)
    (sample / "scripts").rename(sample / "bin")
    report = build(sample)
    assert "scripts/run.sh_docs.md" in report["pages_removed"]
    assert (sample / "repo-docs/bin/run.sh_docs.md").exists()
    assert not (sample / "repo-docs/scripts").exists()
    assert "bin" in (sample / "repo-docs/index.md").read_text()


def test_records_of_vanished_tasks_leave_the_state(sample: Path) -> None:
    """doit keeps a task's record until it is told to forget it: the state folder of a tree
    whose files get renamed must not grow with the records of the old names."""
    build(sample)
    (sample / "scripts").rename(sample / "bin")
    build(sample)
    with sqlite3.connect(sample / ".docgraph" / "doit.sqlite3") as conn:
        names = {name for name, in conn.execute("SELECT task_id FROM doit")}
    assert {"analyze:bin/run.sh", "page:bin/run.sh", "folder:bin", "sub:bin"} <= names
    assert not [n for n in names if "scripts" in n], names
    assert build(sample)["mode"] == "no-op"


def test_render_setting_reruns_pages_but_no_analysis(sample: Path) -> None:
    build(sample)
    (sample / "docgraph.yaml").write_text(
        "analysis:\n  include_roots: [include]\npages:\n  embed_source_bytes: 200\n")
    report = build(sample)
    assert report["sources_analyzed"] == ["docgraph.yaml"]  # the config file is a source too
    assert f"{SHAPES}_docs.md" in report["pages_written"]
    assert "more lines are in the" in (sample / "repo-docs" / f"{SHAPES}_docs.md").read_text()


def test_analysis_setting_reruns_analysis(sample: Path) -> None:
    build(sample)
    (sample / "docgraph.yaml").write_text("analysis:\n  max_bytes: 1000\n")
    report = build(sample)
    assert SHAPES in report["sources_analyzed"]
    assert "not analysed" in (sample / "repo-docs" / f"{SHAPES}_docs.md").read_text()


def test_users_file_in_output_folder_is_never_touched(sample: Path) -> None:
    build(sample)
    mine = sample / "repo-docs" / "src" / "geometry" / "MY-NOTES.md"
    mine.write_text("mine\n")
    shutil.rmtree(sample / "src" / "geometry")
    build(sample)
    assert mine.read_text() == "mine\n"


def test_foreign_output_folder_is_refused(sample: Path) -> None:
    (sample / "repo-docs").mkdir()
    (sample / "repo-docs" / "hand-written.md").write_text("x\n")
    with pytest.raises(OutputFolderError, match="--adopt"):
        open_workspace(str(sample))


def test_output_folder_may_not_be_root(sample: Path) -> None:
    with pytest.raises(OutputFolderError):
        open_workspace(str(sample), output=str(sample))


def test_hand_edited_page_is_regenerated(sample: Path) -> None:
    build(sample)
    page = sample / "repo-docs" / f"{SHAPES}_docs.md"
    original = page.read_bytes()
    page.write_text("vandalised\n")
    report = build(sample)
    assert f"page:{SHAPES}" in report["tasks_executed"]
    assert page.read_bytes() == original


def test_plain_doit_and_docgraph_build_write_the_same_pages(tmp_path: Path) -> None:
    via_doit = make_sample(tmp_path / "a")
    via_engine = make_sample(tmp_path / "b")
    dodo = Path(__file__).resolve().parents[1] / "dodo.py"
    run = subprocess.run([sys.executable, "-m", "doit", "-f", str(dodo), f"root={via_doit}"],
                         capture_output=True, text=True, cwd=tmp_path, check=False)
    assert run.returncode == 0, run.stderr
    assert "docgraph: doit build" in run.stdout
    build(via_engine)
    assert snapshot(via_doit / "repo-docs") == snapshot(via_engine / "repo-docs")
    # and the engine, following plain doit, finds nothing to do but re-checks once
    report = build(via_doit)
    assert report["pages_written"] == [] and report["sources_analyzed"] == []


def test_fresh_clone_with_restored_state_reruns_nothing(tmp_path: Path) -> None:
    import os

    first = make_sample(tmp_path / "first")
    build(first)
    clone = tmp_path / "clone"
    shutil.copytree(first, clone)  # a different folder, as CI checkouts are
    for path in clone.rglob("*"):
        if path.is_file():
            os.utime(path, None)  # every file gets a new mtime, as in a fresh clone
    report = build(clone)
    assert report["sources_analyzed"] == [] and report["pages_written"] == []
    assert report["pages_removed"] == []
    assert (first / "repo-docs" / "index.md").exists()  # the original is untouched
    edit(clone / SHAPES, "raise ValueError(\"negative side\")", "raise ValueError(\"no\")")
    report = build(clone)
    assert report["sources_analyzed"] == [SHAPES]
    assert report["pages_written"] == [f"{SHAPES}_docs.md"]


def test_parallel_build_writes_the_same_bytes_as_serial(tmp_path: Path) -> None:
    serial = make_sample(tmp_path / "serial")
    parallel = make_sample(tmp_path / "parallel")
    for i in range(80):  # enough tasks for the process pool to be used
        for root in (serial, parallel):
            (root / "gen").mkdir(exist_ok=True)
            (root / "gen" / f"m{i}.py").write_text(f"from geometry.shapes import Circle\n\nV{i} = {i}\n")
    build(serial, jobs=1)
    report = build(parallel, jobs=2)
    assert report["pages_written"]
    # the actions' CPU as the pool's workers measured it, by kind
    assert set(report["cpu_seconds"]) == {n.partition(":")[0] for n in report["tasks_executed"]}
    assert snapshot(serial / "repo-docs") == snapshot(parallel / "repo-docs")


def test_sub_index_that_repeats_another_links_there_and_follows_changes(tmp_path: Path) -> None:
    """`a/sub.md` points to keywords.md while `a/` holds every definition, to `a/b/sub.md` while
    all of its own are in `a/b/`; a definition elsewhere (not below `a/`) must change that."""
    root = tmp_path / "repo"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "m.py").write_text("def alpha():\n    return 1\n", encoding="utf-8")
    (root / "other.py").write_text("print(1)\n", encoding="utf-8")  # defines nothing
    for number in range(6):  # enough files that one edit takes the model's incremental path
        (root / f"script{number}.py").write_text(f"print({number})\n", encoding="utf-8")
    build(root)
    out = root / "repo-docs"
    sub_a = (out / "a" / "sub.md").read_text(encoding="utf-8")
    assert "(../keywords.md)" in sub_a and "| Identifier" not in sub_a
    # a definition outside a/: a/ no longer holds them all, but a/b/ still holds all of a/'s
    (root / "other.py").write_text("def beta():\n    return 2\n", encoding="utf-8")
    build(root)
    sub_a = (out / "a" / "sub.md").read_text(encoding="utf-8")
    assert "(b/sub.md)" in sub_a and "keywords.md" not in sub_a
    # a definition directly in a/: its own index again
    (root / "a" / "n.py").write_text("def gamma():\n    return 3\n", encoding="utf-8")
    build(root)
    sub_a = (out / "a" / "sub.md").read_text(encoding="utf-8")
    assert "| Identifier" in sub_a and "`alpha`" in sub_a and "`gamma`" in sub_a
    # and back: every step equals a clean build
    (root / "a" / "n.py").unlink()
    (root / "other.py").write_text("print(1)\n", encoding="utf-8")
    build(root)
    incremental = snapshot(out)
    shutil.rmtree(out)
    shutil.rmtree(root / ".docgraph")
    build(root)
    assert snapshot(out) == incremental
    assert "(../keywords.md)" in (out / "a" / "sub.md").read_text(encoding="utf-8")


def test_a_gitignore_edited_in_place_is_followed_both_ways(sample: Path, tmp_path: Path) -> None:
    """A rule added to a .gitignore (written in place: its folder's mtime stays) drops a file
    the last build documented; taking it out brings the file back; each build writes what a
    clean build of the same tree writes."""
    build(sample)
    ignore = sample / ".gitignore"
    kept = ignore.read_text()
    with ignore.open("a") as handle:
        handle.write("src/geometry/io.py\n")
    build(sample)
    assert not (sample / "repo-docs/src/geometry/io.py_docs.md").exists()
    clean = tmp_path / "clean"
    shutil.copytree(sample, clean, ignore=shutil.ignore_patterns("repo-docs", ".docgraph"))
    build(clean)
    assert snapshot(sample / "repo-docs") == snapshot(clean / "repo-docs")
    with ignore.open("w") as handle:
        handle.write(kept)
    report = build(sample)
    assert "src/geometry/io.py" in report["sources_analyzed"]
    shutil.rmtree(clean)
    shutil.copytree(sample, clean, ignore=shutil.ignore_patterns("repo-docs", ".docgraph"))
    build(clean)
    assert snapshot(sample / "repo-docs") == snapshot(clean / "repo-docs")


def test_a_model_database_deleted_by_hand_is_made_again(sample: Path, tmp_path: Path) -> None:
    """The model's database is one of its outputs: deleted by hand, the next build (here one
    where only a page setting changed, so no summary is new) runs the model again before the
    pages that read it, and writes what a clean build writes."""
    from docgraph.config import load
    from docgraph.engine import Engine
    from docgraph.report import read_report

    def build_with(root: Path, config_file: Path | None = None) -> dict[str, object]:
        config = load(str(root), str(config_file) if config_file else None)
        Engine(config).build()
        return read_report(config.state)

    settings = tmp_path / "outside.yaml"  # a config outside ROOT: no source changes
    settings.write_text("analysis:\n  include_roots: [include]\n")
    build_with(sample, settings)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{sample}/.docgraph/model.sqlite3{suffix}").unlink(missing_ok=True)
    settings.write_text("analysis:\n  include_roots: [include]\npages:\n  complex_functions: 2\n")
    report = build_with(sample, settings)
    assert "model" in report["tasks_executed"]  # type: ignore[operator]
    clean = tmp_path / "clean"
    shutil.copytree(sample, clean, ignore=shutil.ignore_patterns("repo-docs", ".docgraph"))
    build_with(clean, settings)
    assert snapshot(sample / "repo-docs") == snapshot(clean / "repo-docs")


def test_digests_deleted_by_hand_are_written_again(sample: Path, tmp_path: Path) -> None:
    """A no-op build looks at the pages, not at the state folder; the next build that runs the
    model (here: a new function) finds its missing outputs through doit's check of its
    targets, which the runner hands to it, and writes them again."""
    from docgraph.context import Paths

    build(sample)
    paths = Paths(str(sample), str(sample / "repo-docs"), str(sample / ".docgraph"))
    for digest in (paths.xref("src/geometry/io.py"), paths.folder_digest("src"),
                   paths.subtree_digest("src/geometry")):
        Path(digest).unlink()
    with (sample / SHAPES).open("a", encoding="utf-8") as handle:
        handle.write("\n\ndef added_helper() -> int:\n    return 1\n")
    report = build(sample)
    assert "model" in report["tasks_executed"]
    clean = tmp_path / "clean"
    shutil.copytree(sample, clean, ignore=shutil.ignore_patterns("repo-docs", ".docgraph"))
    build(clean)
    assert snapshot(sample / "repo-docs") == snapshot(clean / "repo-docs")
    assert build(sample)["tasks_executed"] == []


def test_a_same_size_edit_in_the_same_clock_tick_is_not_missed(sample: Path, tmp_path: Path) -> None:
    """A source written again right after a build read it, with the same size, can keep its
    size and mtime (a second write in one tick of the file system's clock: simulated here by
    putting the mtime back).  The stamp does not vouch for so recent a file, so the next build
    hashes it and sees the change; a build after that, with nothing changed, runs nothing."""
    import os

    path = sample / SHAPES
    path.write_text(path.read_text(encoding="utf-8") + "\n\ndef racy_one() -> int:\n    return 1\n",
                    encoding="utf-8")
    build(sample)
    st = os.stat(path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("racy_one", "racy_two"), encoding="utf-8")  # the same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(path).st_size == st.st_size
    report = build(sample)
    assert SHAPES in report["sources_analyzed"]
    clean = tmp_path / "clean" / sample.name
    shutil.copytree(sample, clean, ignore=shutil.ignore_patterns("repo-docs", ".docgraph"))
    build(clean)
    assert snapshot(sample / "repo-docs") == snapshot(clean / "repo-docs")
    assert build(sample)["tasks_executed"] == []


def test_a_package_docstring_edit_updates_the_folder_above(sample: Path, tmp_path: Path) -> None:
    """A folder's index shows each subfolder's description (its README's or `__init__`'s first
    sentence): editing it updates the folder above, and nothing further up needs reading."""
    build(sample)
    init = sample / "src" / "geometry" / "__init__.py"
    init.write_text(init.read_text(encoding="utf-8").replace(
        "Geometry: shapes with areas", "Plane geometry: shapes with areas"), encoding="utf-8")
    done = build(sample)
    assert "src/index.md" in done["pages_written"]
    assert "Plane geometry" in (sample / "repo-docs" / "src" / "index.md").read_text(encoding="utf-8")
    clean = tmp_path / "clean" / sample.name
    shutil.copytree(sample, clean, ignore=shutil.ignore_patterns("repo-docs", ".docgraph"))
    build(clean)
    assert snapshot(sample / "repo-docs") == snapshot(clean / "repo-docs")


def test_an_edit_of_contents_folds_in_without_the_listing_or_the_resolver(
        sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the listing of the model's last run, a new function is folded in from its folder's
    ledger alone: neither the listing is parsed nor an import resolved (its imports are as
    stored), and the model's task is made from the paths and keys the last build kept, not by
    grouping and hashing every path; a new import resolves again, through the whole listing.
    Both end as a clean build of the same tree does."""
    from docgraph import graph, model, runner

    build(sample)
    build(sample)
    # the runner checks the model's digests (as it does past 64 of them), not its action
    monkeypatch.setattr(runner, "MANY_TARGETS", 0)

    def refused(*_args: object) -> None:
        raise AssertionError("read the whole listing or resolved imports")

    with monkeypatch.context() as patched:
        patched.setattr(model.Listing, "rows", property(refused))
        patched.setattr(model, "Resolver", refused)
        patched.setattr(graph.Graph, "_children", refused)
        assert (sample / ".docgraph" / graph.MODEL_PATHS).is_file()
        with (sample / SHAPES).open("a", encoding="utf-8") as handle:
            handle.write("\n\ndef folded_alone() -> int:\n    return 1\n")
        report = build(sample)
    failed = [e for e in report["errors"] if e["message"].startswith("task failed")]
    assert "model" in report["tasks_executed"] and not failed, failed
    resolved: list[object] = []
    real = model.Resolver
    monkeypatch.setattr(model, "Resolver", lambda *a: resolved.append(a) or real(*a))
    edit(sample / SHAPES, "def folded_alone", "import os.path\n\n\ndef folded_alone")
    assert "model" in build(sample)["tasks_executed"]
    assert resolved
    clean = tmp_path / "clean" / sample.name
    shutil.copytree(sample, clean, ignore=shutil.ignore_patterns("repo-docs", ".docgraph"))
    build(clean)
    assert snapshot(sample / "repo-docs") == snapshot(clean / "repo-docs")
    assert build(sample)["tasks_executed"] == []


def test_the_kept_lists_are_read_as_asked_and_a_damaged_one_is_made_again(
        sample: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The model's paths and the map's parts a build kept are read back as parts of their file,
    each when first asked for, and give what the tree gives: the owner of every key, the
    targets, the part of every file.  A list damaged on disk is found when a build reads it:
    the build drops the file, makes it again, and writes what a clean build writes."""
    import dataclasses
    import hashlib
    import logging
    import marshal

    from docgraph import graph, layout
    from docgraph.config import load
    from docgraph.discover import discover
    from docgraph.store import PartsFile, StoredPart, stored_parts

    (sample / "docgraph.yaml").write_text("pages:\n  map_part_files: 3\n", encoding="utf-8")
    build(sample)
    config = load(str(sample))
    tree = discover(config)
    made = graph.Graph(dataclasses.replace(config, state=str(tmp_path / "none")), tree)  # (nothing kept)
    fresh, fresh_parts = made._model_paths(), made.map_parts
    assert not isinstance(fresh.lists[0], StoredPart)
    kept = graph.Graph(config, tree)
    found, parts = kept._model_paths(), kept.map_parts
    assert all(isinstance(part, StoredPart) for part in found.lists)  # read from the file
    assert isinstance(parts.files_stored, StoredPart) and len(parts) > 2
    text = [e.rel for e in tree.entries if e.kind == "file"]
    assert [found.owner(layout.key(rel)) for rel in text] == [("file", rel) for rel in text]
    assert [found.owner(layout.key(f)) for f in tree.folders] == [("folder", f) for f in tree.folders]
    assert "text" not in found._split  # (each file's name read alone)
    none = str(tmp_path / "none") + "/"
    assert found.part("targets") == [".docgraph/" + t.removeprefix(none) for t in fresh.part("targets")]
    assert found.targets_digest == hashlib.sha1("\0".join(found.part("targets")).encode()).digest()
    rels = [e.rel for e in tree.entries if e.kind in ("file", "binary")]
    assert [parts.holding(rel) for rel in rels] == [fresh_parts.holding(rel) for rel in rels]
    assert [parts.files(n) for n in range(len(parts))] == [fresh_parts.files(n) for n in range(len(parts))]
    assert [parts.text_files(n) for n in range(len(parts))] == \
        [fresh_parts.text_files(n) for n in range(len(parts))]

    path = sample / ".docgraph" / graph.MODEL_PATHS
    head = stored_parts(PartsFile(str(path)), 1, len(graph.KEPT_MAGIC))[0].read()
    count = marshal.loads(head)[2]
    targets = stored_parts(PartsFile(str(path)), 1 + count, len(graph.KEPT_MAGIC))[6].read()
    data = path.read_bytes()
    at = data.index(targets) + targets.index(b"\0")
    with path.open("r+b") as handle:  # (in place: the same file, one target fewer)
        handle.seek(at)
        handle.write(b"x")
    (sample / SHAPES).write_text((sample / SHAPES).read_text(encoding="utf-8") +
                                 "\n\ndef added_after_damage() -> int:\n    return 1\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="docgraph"):
        report = build(sample)
    assert "model-paths.marshal: targets:" in caplog.text
    assert SHAPES in report["sources_analyzed"]
    assert path.read_bytes() == data  # made again
    clean = tmp_path / "clean" / sample.name
    shutil.copytree(sample, clean, ignore=shutil.ignore_patterns("repo-docs", ".docgraph"))
    build(clean)
    assert snapshot(sample / "repo-docs") == snapshot(clean / "repo-docs")
    assert build(sample)["tasks_executed"] == []


def test_a_new_row_of_a_large_letter_rewrites_its_part_not_every_part_after_it(tmp_path: Path) -> None:
    """A letter longer than `pages.index_split` is cut into parts where its rows' hashes say:
    a function added near the start of the letter rewrites the letter page and its own part,
    and the pages end as a clean build writes them."""
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    for module in ("a", "b"):
        (root / "pkg" / f"{module}.py").write_text("".join(
            f"def f{module}_{n:02}() -> int:\n    return {n}\n\n\n" for n in range(40)), encoding="utf-8")
    (root / "docgraph.yaml").write_text("pages:\n  index_split: 30\n", encoding="utf-8")
    build(root)
    parts = sorted((root / "repo-docs").glob("keywords-f-*.md"))
    assert len(parts) >= 4
    with (root / "pkg" / "a.py").open("a", encoding="utf-8") as handle:
        handle.write("def fa_00_added() -> int:\n    return 0\n")
    written = build(root)["pages_written"]
    assert "keywords-f.md" in written
    assert 1 <= len([p for p in written if p.startswith("keywords-f-")]) <= 2 < len(parts)
    clean = tmp_path / "clean" / root.name
    shutil.copytree(root, clean, ignore=shutil.ignore_patterns("repo-docs", ".docgraph"))
    build(clean)
    assert snapshot(root / "repo-docs") == snapshot(clean / "repo-docs")
