"""Builds of a git work tree, which ask `git status` what changed (docgraph.journal).

Each case edits a committed sample repository in some way git sees (edits, new and deleted
files, untracked folders, commits, checkouts, a file restored to HEAD's content, pages deleted or
edited) and checks that the incremental build writes exactly what a clean build of the final tree
writes, and that a build with nothing changed decides so without walking the tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from docgraph import engine, journal
from docgraph.config import load

from .conftest import build, make_sample, snapshot

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
       "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1",
       "HOME": "/nonexistent"}


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, env=ENV, check=True, capture_output=True, text=True)
    return done.stdout


def git_sample(dest: Path, pages_tracked: bool = False) -> Path:
    """The sample repository as a git work tree with everything committed (the pages too when
    `pages_tracked`; the state folder never)."""
    root = make_sample(dest)
    git(root, "init", "-q", "-b", "main")
    ignored = ".docgraph/\n" + ("" if pages_tracked else "repo-docs/\n")
    (root / ".git" / "info" / "exclude").write_text(ignored, encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "sample")
    backdate(root)
    return root


def backdate(root: Path, seconds: int = 60) -> None:
    """Files and folders as if checked out a minute ago: a file modified within 2 s of a build
    is hashed again by the next one (its mtime may hide a second write), which a test that
    builds at once would otherwise always meet."""
    when = time.time() - seconds
    for path in [root, *root.rglob("*")]:
        if ".git" not in path.relative_to(root).parts:
            os.utime(path, (when, when), follow_symlinks=False)


def commit_all(root: Path, message: str = "change") -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)


def clean_build(work: Path, tmp: Path) -> dict[str, bytes]:
    clean = tmp / "clean" / work.name
    shutil.copytree(work, clean, ignore=shutil.ignore_patterns("repo-docs", ".docgraph", ".git"))
    build(clean)
    return snapshot(clean / "repo-docs")


def assert_same(work: Path, tmp: Path) -> None:
    incremental, fresh = snapshot(work / "repo-docs"), clean_build(work, tmp)
    assert sorted(incremental) == sorted(fresh)
    assert [p for p in fresh if incremental[p] != fresh[p]] == []


def test_usable_only_where_git_and_docgraph_agree(tmp_path: Path) -> None:
    root = git_sample(tmp_path / "repo")
    assert journal.usable(str(root), gitignore=True)
    assert not journal.usable(str(root), gitignore=False)  # docgraph would document what git ignores
    assert not journal.usable(str(root / "src"), gitignore=True)  # .gitignore files above ROOT
    (root / ".gitmodules").write_text("", encoding="utf-8")
    assert not journal.usable(str(root), gitignore=True)


def test_status_names_what_differs_from_head(tmp_path: Path) -> None:
    root = git_sample(tmp_path / "repo")
    (root / "README.md").write_text("# Changed\n", encoding="utf-8")
    (root / "src" / "new file.py").write_text("x = 1\n", encoding="utf-8")
    (root / "fresh" / "deep").mkdir(parents=True)
    (root / "fresh" / "deep" / "a.py").write_text("y = 2\n", encoding="utf-8")
    gone = next(p for p in sorted((root / "src").rglob("*.py")) if p.name != "new file.py")
    gone.unlink()
    status = journal.status(str(root))
    assert status is not None
    assert status.head == git(root, "rev-parse", "HEAD").strip()
    # untracked files are not asked of git: their folders show them (see journal.status)
    assert status.files == {"README.md", gone.relative_to(root).as_posix()}
    git(root, "add", "src/new file.py")
    status = journal.status(str(root))
    assert status is not None
    assert status.files == {"README.md", "src/new file.py", gone.relative_to(root).as_posix()}


def test_noop_is_decided_without_a_walk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = git_sample(tmp_path / "repo")
    build(root)
    build(root)  # the first build's own pages were new to git: named once, then settled
    assert (root / ".docgraph" / journal.JOURNAL).exists()

    def no_walk(*args: object, **kwargs: object) -> None:
        raise AssertionError("walked the tree")

    monkeypatch.setattr(engine, "discover", no_walk)
    assert build(root)["mode"] == "no-op"


def test_noop_without_git_still_walks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_sample(tmp_path / "plain")
    build(root)
    walks = []
    real = engine.discover
    monkeypatch.setattr(engine, "discover", lambda *a, **k: walks.append(1) or real(*a, **k))
    assert build(root)["mode"] == "no-op"
    assert walks and not (root / ".docgraph" / journal.JOURNAL).exists()


def _edit_body(root: Path) -> None:
    path = root / "src" / "geometry" / "shapes.py"
    path.write_text(path.read_text(encoding="utf-8") + "\n\ndef added_by_test():\n    return 2\n",
                    encoding="utf-8")


def _new_untracked_folder(root: Path) -> None:
    (root / "plugins" / "deep").mkdir(parents=True)
    (root / "plugins" / "deep" / "extra.py").write_text('"""Extra."""\n\ndef extra():\n    pass\n',
                                                        encoding="utf-8")


def _new_untracked_file(root: Path) -> None:
    (root / "src" / "geometry" / "fresh.py").write_text('"""Fresh."""\n\ndef fresh():\n    pass\n',
                                                       encoding="utf-8")


def _edit_untracked_file(root: Path) -> None:
    path = root / "src" / "geometry" / "fresh.py"
    path.write_text(path.read_text(encoding="utf-8") + "\n\ndef fresher():\n    pass\n", encoding="utf-8")


def _delete_tracked(root: Path) -> None:
    (root / "src" / "geometry" / "shapes.py").unlink()


def _commit_then_move_head(root: Path) -> None:
    _edit_body(root)
    commit_all(root, "one")
    _new_untracked_folder(root)
    commit_all(root, "two")
    git(root, "checkout", "-q", "HEAD~1")  # the folder of commit two vanishes


def _restore_to_head(root: Path) -> None:
    git(root, "checkout", "-q", "--", "src/geometry/shapes.py")


def _delete_page(root: Path) -> None:
    page = next(p for p in sorted((root / "repo-docs").rglob("*_docs.md")))
    page.unlink()


def _new_gitignore(root: Path) -> None:
    (root / "src" / ".gitignore").write_text("geometry/\n", encoding="utf-8")


CASES: dict[str, tuple[Callable[[Path], None], ...]] = {
    "body edit": (_edit_body,),
    "new untracked folder": (_new_untracked_folder,),
    "new untracked file, then edited": (_new_untracked_file, _edit_untracked_file),
    "new untracked file in a new folder of a new folder, then edited": (
        _new_untracked_folder, lambda root: (root / "plugins" / "deep" / "extra.py").write_text(
            '"""Extra, edited."""\n\ndef extra2():\n    pass\n', encoding="utf-8")),
    "tracked file deleted": (_delete_tracked,),
    "commits and a checkout": (_commit_then_move_head,),
    "edited, built, restored to HEAD": (_edit_body, _restore_to_head),
    "page deleted by hand": (_delete_page,),
    "an edit, then a page of a folder it did not write deleted": (_edit_body, _delete_page),
    "new .gitignore": (_new_gitignore,),
    "edit, commit, new folder, delete": (_edit_body, commit_all, _new_untracked_folder, _delete_tracked),
}


@pytest.mark.parametrize("steps", CASES.values(), ids=CASES.keys())
def test_incremental_equals_clean_in_a_git_tree(tmp_path: Path, steps: tuple[Callable[[Path], None], ...]) -> None:
    root = git_sample(tmp_path / "repo")
    build(root)
    build(root)
    for step in steps:
        step(root)
        build(root)
    assert_same(root, tmp_path)
    assert build(root)["mode"] == "no-op"


def test_committed_page_edited_in_place_is_restored(tmp_path: Path) -> None:
    root = git_sample(tmp_path / "repo", pages_tracked=True)
    build(root)
    commit_all(root, "pages")
    build(root)
    page = next(p for p in sorted((root / "repo-docs").rglob("*_docs.md")))
    written = page.read_bytes()
    with open(page, "r+b") as handle:  # in place: the folder's stat data stay as they were
        handle.write(b"X")
    assert git(root, "status", "--porcelain")
    report = build(root)
    assert report["mode"] == "incremental"
    assert page.read_bytes() == written


def test_source_modified_after_git_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file edited between `git status` and discovery's stat is built, and stays named for the
    next build: restored to HEAD's content (git then calls it clean, and nothing else makes its
    folder one to look at), it is built again."""
    root = git_sample(tmp_path / "repo")
    build(root)
    build(root)
    io = root / "src" / "geometry" / "io.py"
    io.write_text(io.read_text(encoding="utf-8") + "\n\ndef committed():\n    pass\n", encoding="utf-8")
    commit_all(root, "io")  # HEAD moves: git names io.py by the diff, its folder is looked at
    real = journal.PendingStatus.result

    def status_then_edit(pending: journal.PendingStatus) -> journal.Status | None:
        seen = real(pending)
        _edit_body(root)  # shapes.py, beside io.py, after git looked
        return seen

    monkeypatch.setattr(journal.PendingStatus, "result", status_then_edit)
    assert build(root)["sources_analyzed"] == ["src/geometry/io.py", "src/geometry/shapes.py"]
    monkeypatch.setattr(journal.PendingStatus, "result", real)
    _restore_to_head(root)
    assert not git(root, "status", "--porcelain")
    assert build(root)["sources_analyzed"] == ["src/geometry/shapes.py"]
    assert_same(root, tmp_path)


def test_journal_of_another_stamp_is_not_used(tmp_path: Path) -> None:
    root = git_sample(tmp_path / "repo")
    build(root)
    config = load(str(root))
    assert journal.load(config.state) is not None
    os.utime(os.path.join(config.state, "stamp.marshal"))  # (as a watch session's stamp would)
    assert journal.load(config.state) is None


def test_git_status_off_stats_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`git_status: false` in a git work tree: no journal, every page stat'ed, so a page of an
    ignored folder overwritten in place is found by a no-op again."""
    root = git_sample(tmp_path / "repo")
    config = root / "docgraph.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "git_status: false\n", encoding="utf-8")
    build(root)
    assert not (root / ".docgraph" / journal.JOURNAL).exists()
    page = next(p for p in sorted((root / "repo-docs").rglob("*_docs.md")))
    written = page.read_bytes()
    with open(page, "r+b") as handle:
        handle.write(b"X")
    build(root)
    assert page.read_bytes() == written


def test_page_deleted_in_the_tick_of_the_last_build(tmp_path: Path) -> None:
    """A page deleted within the file system's clock tick of the build that wrote its folder
    leaves the folder's stat data as the journal recorded them: the folder's listing, recorded
    because its mtime was too recent to vouch for, shows the deletion."""
    root = git_sample(tmp_path / "repo")
    build(root)
    build(root)
    _edit_body(root)
    build(root)  # rewrites the pages of src/geometry: their folder is racy now
    record = journal.load(str(root / ".docgraph"))
    assert record is not None
    racy = {folder: (size, mtime) for folder, size, mtime, listing in record.out if listing}
    folder = "repo-docs/src/geometry"
    assert folder in racy
    page = root / folder / "shapes.py_docs.md"
    page.unlink()
    os.utime(root / folder, ns=(racy[folder][1], racy[folder][1]))  # the same tick
    assert journal.changed_folders(record, str(root)) == [folder]
    assert build(root)["mode"] != "no-op"
    assert page.exists()
    assert_same(root, tmp_path)


def test_racy_output_folder_with_the_same_listing_is_unchanged(tmp_path: Path) -> None:
    root = git_sample(tmp_path / "repo")
    build(root)
    build(root)
    _edit_body(root)
    build(root)
    record = journal.load(str(root / ".docgraph"))
    assert record is not None
    assert any(listing for _folder, _size, _mtime, listing in record.out)
    assert journal.changed_folders(record, str(root)) == []


def test_an_edit_makes_entries_only_for_what_it_stated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An edit that leaves the listing as it was (no path came or went) builds without making
    an entry of every recorded source: the stamp's records stand for the folders git did not
    name, and its listing's hash for the listing."""
    from docgraph import discover

    root = git_sample(tmp_path / "repo")
    build(root)
    build(root)
    path = root / "src" / "geometry" / "shapes.py"
    path.write_text(path.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")

    def every(self: object) -> None:
        raise AssertionError("made every recorded entry")

    with monkeypatch.context() as patched:
        patched.setattr(discover.RecordedFiles, "everything", every)
        done = build(root)
    assert done["mode"] == "incremental"
    assert done["sources_analyzed"] == ["src/geometry/shapes.py"]
    assert_same(root, tmp_path)
    assert build(root)["mode"] == "no-op"


def test_an_edit_does_not_split_the_task_names_of_the_outputs_records(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """An edit compares and records its outputs by their stat data and hashes: the tables of
    pages and state files keep their columns of task names unsplit (100,000 names on torch4x)."""
    from docgraph import stamp as stamp_module

    root = git_sample(tmp_path / "repo")
    build(root)
    build(root)
    path = root / "src" / "geometry" / "shapes.py"
    path.write_text(path.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    split: list[int] = []
    real = stamp_module.Records._tag_columns

    def counted(self: stamp_module.Records) -> tuple[list[str], object]:
        found = real(self)
        split.append(len(found[0]))
        return found  # type: ignore[return-value]

    with monkeypatch.context() as patched:
        patched.setattr(stamp_module.Records, "_tag_columns", counted)
        assert build(root)["mode"] == "incremental"
    assert split and max(split) <= 4  # the sources' kinds, the walk's record tags
    assert_same(root, tmp_path)


def test_the_command_line_starts_the_status_before_the_build_imports(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """`docgraph build` starts the `git status` it reads before the rest of docgraph is imported
    (docgraph.gitprocess): one status per build, the one the engine reads; a build that does
    not ask git (`git_status: false`) stops it. An edit made after the early status started
    is found, and the result is a clean build's."""
    from docgraph import cli, gitprocess
    from docgraph.report import read_report

    root = git_sample(tmp_path / "repo")
    started: list[gitprocess.StartedStatus] = []
    real_init = gitprocess.StartedStatus.__init__

    def counted(self: gitprocess.StartedStatus, where: str, one_thread: bool = False) -> None:
        real_init(self, where, one_thread)
        started.append(self)

    monkeypatch.setattr(gitprocess.StartedStatus, "__init__", counted)
    state = str(root / ".docgraph")
    assert cli.main(["build", "-q", str(root)]) == 0
    assert cli.main(["build", "-q", str(root)]) == 0
    assert read_report(state)["mode"] == "no-op"
    assert len(started) == 2 and not gitprocess._EARLY
    assert all(s.process is not None and s.process.returncode == 0 for s in started)

    real_take = gitprocess.take_early_status

    def edit_then_take(where: str) -> gitprocess.StartedStatus | None:
        found = real_take(where)
        if found is not None:
            found.process.wait()  # type: ignore[union-attr]  # (git has looked)
        _edit_body(root)
        return found

    monkeypatch.setattr(gitprocess, "take_early_status", edit_then_take)
    assert cli.main(["build", "-q", str(root)]) == 0  # (the edit came after git looked)
    monkeypatch.setattr(gitprocess, "take_early_status", real_take)
    assert cli.main(["build", "-q", str(root)]) == 0
    assert "src/geometry/shapes.py" in read_report(state)["sources_analyzed"]
    assert cli.main(["build", "-q", str(root)]) == 0
    assert read_report(state)["mode"] == "no-op"
    assert_same(root, tmp_path)

    (root / "docgraph.yaml").write_text("git_status: false\n", encoding="utf-8")
    before = len(started)
    assert cli.main(["build", "-q", str(root)]) == 0
    assert len(started) == before + 1 and not gitprocess._EARLY
    assert started[-1].process is not None and started[-1].process.returncode is not None  # (stopped, reaped)
