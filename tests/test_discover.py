"""Discovery's revisit (folders whose stat data did not change are not listed again) finds
exactly what a full walk finds, after any sequence of changes to a tree."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from hypothesis import event, given, settings
from hypothesis import strategies as st

from docgraph.config import load
from docgraph.discover import FOLDER, RESCAN, Entry, Scanner, SourceTree, discover
from docgraph.stamp import Records, Stamp

FOLDERS = ["", "a", "a/b", "a/b/c", "d", "d/e"]
NAMES = ["x.py", "y.txt", "z.log", "keep.log", "w.bin"]
PATTERNS = ["*.log\n", "!keep.log\n", "b/\n", "e\n", "y.*\n", "*.log\n!keep.log\n"]

change = st.one_of(
    st.tuples(st.just("write"), st.sampled_from(FOLDERS), st.sampled_from(NAMES), st.binary(max_size=12)),
    st.tuples(st.just("delete"), st.sampled_from(FOLDERS), st.sampled_from(NAMES)),
    st.tuples(st.just("append"), st.sampled_from(FOLDERS), st.sampled_from(NAMES)),
    st.tuples(st.just("touch"), st.sampled_from(FOLDERS), st.sampled_from(NAMES)),
    st.tuples(st.just("rmtree"), st.sampled_from(FOLDERS[1:])),
    st.tuples(st.just("rename"), st.sampled_from(FOLDERS[1:]), st.sampled_from(["a/n", "m", "d/n"])),
    st.tuples(st.just("ignore"), st.sampled_from(FOLDERS), st.sampled_from(PATTERNS)),
    st.tuples(st.just("unignore"), st.sampled_from(FOLDERS)),
    st.tuples(st.just("exclude"), st.sampled_from(PATTERNS)),
    st.tuples(st.just("link"), st.sampled_from(FOLDERS), st.sampled_from(["x.py", "../y.txt", "nowhere"])),
    st.tuples(st.just("secret"), st.sampled_from(FOLDERS)),
)


def _apply(root: Path, step: tuple) -> None:
    kind, *args = step
    folder = root / args[0] if kind not in ("exclude",) else root
    if kind == "write":
        folder.mkdir(parents=True, exist_ok=True)
        data = args[2] + (b"\0" if args[1].endswith(".bin") else b"")
        (folder / args[1]).write_bytes(data)
    elif kind == "delete" and (folder / args[1]).is_file():
        (folder / args[1]).unlink()
    elif kind == "append" and (folder / args[1]).is_file() and not (folder / args[1]).is_symlink():
        with open(folder / args[1], "ab") as handle:
            handle.write(b"more\n")
    elif kind == "touch" and (folder / args[1]).is_file() and not (folder / args[1]).is_symlink():
        os.utime(folder / args[1], ns=(time.time_ns(), time.time_ns() - 5_000_000_000))
    elif kind == "rmtree" and folder.is_dir():
        shutil.rmtree(folder)
    elif kind == "rename" and folder.is_dir() and not (root / args[1]).exists() \
            and not args[1].startswith(args[0] + "/"):
        (root / args[1]).parent.mkdir(parents=True, exist_ok=True)
        folder.rename(root / args[1])
    elif kind == "ignore":
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ".gitignore").write_text(args[1])
    elif kind == "unignore" and (folder / ".gitignore").exists():
        (folder / ".gitignore").unlink()
    elif kind == "exclude":
        (root / ".git" / "info").mkdir(parents=True, exist_ok=True)
        (root / ".git" / "info" / "exclude").write_text(args[0])
    elif kind == "link" and folder.is_dir() and not os.path.lexists(folder / "ln"):
        (folder / "ln").symlink_to(args[1])
    elif kind == "secret":
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ".env").write_text("TOKEN=1\n")


def _settle(root: Path, step: int) -> None:
    """Give every folder changed by the last steps an old mtime, each a different one (so the
    walk trusts its record, and a later change is still seen)."""
    now = time.time_ns()
    for folder, _dirs, _files in os.walk(root):
        if os.lstat(folder).st_mtime_ns > now - 10_000_000_000:
            os.utime(folder, ns=(now, now - 100_000_000_000 + step * 1000))


def _as_stamp(tree: SourceTree) -> tuple[list, dict[str, list[str]], object]:
    """What the next build's discovery gets from the stamp of `tree`'s build."""
    stamp = Stamp()
    stamp.sources = Records.of([(e.rel, [e.size, e.mtime_ns, "", e.kind]) for e in tree.entries
                                if e.kind in ("file", "binary")])
    stamp.set_walked(tree.walked)
    stamp.listing = tree.listing()
    loaded = Stamp.load.__func__  # a round trip through the stored form, as a build does  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as state:
        stamp.save(state)
        again = loaded(Stamp, state)
    assert again is not None
    walked = again.walked()
    assert walked is not None
    return walked[0], walked[1], again.known()


def _differing(tree: SourceTree, known: object) -> set[str]:
    out = set()
    for e in tree.entries:
        old = known(e.rel)  # type: ignore[operator]
        if old is None or (old[0], old[1], old[2]) != (e.size, e.mtime_ns, e.kind):
            out.add(e.rel)
    return out


def _plain(tree: SourceTree) -> tuple[tuple[Entry, ...], tuple[str, ...], tuple]:
    return tree.entries, tree.folders, tree.findings


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(change, min_size=1, max_size=3), min_size=1, max_size=4))
def test_revisit_equals_a_full_walk(rounds: list[list[tuple]]) -> None:
    root = Path(tempfile.mkdtemp())
    try:
        for folder in FOLDERS:
            (root / folder).mkdir(parents=True, exist_ok=True)
            (root / folder / "x.py").write_text(f"# {folder}\n")
        (root / "a" / "b" / "y.txt").write_text("y\n")
        _settle(root, 0)
        config = load(str(root))
        tree = Scanner(config).walk()
        assert {w.tag for w in tree.walked if w.rel in FOLDERS} == {FOLDER}
        for number, steps in enumerate(rounds, 1):
            for step in steps:
                _apply(root, step)
            _settle(root, number)
            walked, files_of, known = _as_stamp(tree)
            revisited = Scanner(config).revisit(walked, known, files_of)
            full = Scanner(config).walk(known)
            if revisited is None:  # the rules changed: the build walks (and so does this test)
                event("rules changed: walked")
                tree = full
                continue
            event(f"revisited, {len(revisited.differing or ())} differing")
            assert _plain(revisited) == _plain(full)
            assert revisited.walked == full.walked
            assert revisited.differing == _differing(full, known)
            # told which paths changed (as git names them: docgraph.journal), only their folders
            # are looked at, and the tree is the same
            named = _differing(full, known) | ({rel for folder in files_of.everything().values() for rel in
                                                (e.rel for e in folder)} - {e.rel for e in full.entries})
            walked, files_of, known = _as_stamp(tree)  # (a build's own lookups)
            told = Scanner(config).revisit(walked, known, files_of, named)
            assert told is not None
            event(f"told: {'recorded listing' if told.partial else 'entries made'}")
            # a tree of the recorded listing answers as the walked one, its listing's hash too
            assert told.listing() == full.listing()
            for kinds in (("file",), ("file", "binary"), ("link", "secret")):  # (the model's targets)
                assert told.rels(kinds) == full.rels(kinds)
            assert told.folders == full.folders
            assert told.differing == _differing(full, known)
            assert {e.rel for e in told.stated} >= told.differing
            for folder in {*full.folders, "a/none"}:  # (before `entry` makes every entry)
                assert told.files_in(folder) == full.files_in(folder)
            for rel in [*(e.rel for e in full.entries), *named, "a/none.py"]:
                assert told.kind(rel) == full.kind(rel)
                assert told.entry(rel) == full.entry(rel)
            assert _plain(told) == _plain(full)
            tree = revisited
    finally:
        shutil.rmtree(root)


def test_a_folder_changed_within_the_clock_tick_is_listed_again(tmp_path: Path) -> None:
    """A folder whose mtime is recent when listed is recorded to be listed again: a change in
    the same tick of the file system's clock would leave its mtime as recorded."""
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "a.py").write_text("a = 1\n")
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "b.py").write_text("b = 1\n")
    past = time.time_ns() - 100_000_000_000
    for folder in (tmp_path, tmp_path / "old"):
        os.utime(folder, ns=(past, past))
    config = load(str(tmp_path))
    tree = Scanner(config).walk()
    tags = {w.rel: w.tag for w in tree.walked}
    assert tags[""] == FOLDER and tags["old"] == FOLDER and tags["new"] == RESCAN
    # a file added to `new` with its folder's mtime forced back to the recorded one
    recorded = os.lstat(tmp_path / "new").st_mtime_ns
    (tmp_path / "new" / "c.py").write_text("c = 1\n")
    os.utime(tmp_path / "new", ns=(recorded, recorded))
    walked, files_of, known = _as_stamp(tree)
    revisited = Scanner(config).revisit(walked, known, files_of)
    assert revisited is not None
    assert "new/c.py" in {e.rel for e in revisited.entries}
    assert revisited.differing == {"new/c.py"}


def test_discover_uses_the_stamp_and_walks_when_the_rules_change(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("a = 1\n")
    (tmp_path / "src" / "a.log").write_text("log\n")
    past = time.time_ns() - 100_000_000_000
    for folder in (tmp_path, tmp_path / "src"):
        os.utime(folder, ns=(past, past))
    config = load(str(tmp_path))
    first = discover(config)
    walked, files_of, known = _as_stamp(first)
    assert discover(config, known, (walked, files_of)).differing == set()
    (tmp_path / "src" / ".gitignore").write_text("*.log\n")  # new rules: a full walk
    again = discover(config, known, (walked, files_of))
    assert again.differing is None
    assert {e.rel for e in again.entries} == {"src/a.py", "src/.gitignore"}
