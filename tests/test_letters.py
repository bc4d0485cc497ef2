"""The parts of a large keyword letter, cut again from the parts kept by the last build.

`keyword_index._letter` reads the rows of only the parts whose sums changed; these tests hold it
against a letter cut from all of its rows, over any edit of the rows (Hypothesis), and count
the rows it reads.  A source over a list stands in for the model: the database's side (the
same ranges and sums in SQL) is held against the same list by the last test.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import shutil
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from docgraph import layout
from docgraph.config import load
from docgraph.digests import CHECK_LOW, CHECK_SHIFT, Keyed, KeywordRow, LetterKey, row_hash
from docgraph.pages import RenderContext
from docgraph.pages.keyword_index import Part, Rendered, global_letter, parts_of

PAGES = load(str(Path(__file__).parent)).pages


def keyed(row: KeywordRow, rowid: int) -> Keyed:
    key = (layout.sort_key(row.name)[0], row.name, row.qualname, row.path, row.line, row.kind, rowid)
    return Keyed(key, row, row_hash(row) >> CHECK_SHIFT)


class ListSource:
    """The model's rows of one letter, as a sorted list; counts the rows handed out."""

    def __init__(self, rows: list[Keyed]):
        self.rows = sorted(rows, key=lambda r: r.key)
        self.read = 0

    def _range(self, start: LetterKey | None, stop: LetterKey | None) -> list[Keyed]:
        return [r for r in self.rows if (start is None or r.key >= start) and (stop is None or r.key < stop)]

    def keyed_rows(self, folder: str, bucket: str | None = None, start: LetterKey | None = None,
                   stop: LetterKey | None = None) -> list[Keyed]:
        found = self._range(start, stop)
        self.read += len(found)
        return found

    def keyword_rows(self, folder: str, bucket: str | None = None) -> list[KeywordRow]:
        return [r.row for r in self.keyed_rows(folder, bucket)]

    def letter_sums(self, folder: str, bucket: str, bounds: list[LetterKey]) -> list[tuple[int, int, int]]:
        return [(len(found), sum(r.check >> 31 for r in found), sum(r.check & CHECK_LOW for r in found))
                for found in (self._range(a, z) for a, z in zip([None, *bounds], [*bounds, None]))]

    def letter_changes(self, folder: str, bucket: str, since: object) -> None:
        return None  # (no log: the sums are summed)


def letter(rows: list[Keyed], kept: list[Part], split: int) -> tuple[Rendered, list[Part], int]:
    ctx = RenderContext("..", dataclasses.replace(PAGES, index_split=split))
    source = ListSource(rows)
    rendered, parts = global_letter("f", source, ctx, kept)
    return rendered, parts, source.read


NAMES = st.sampled_from(["f", "F", "_f", "fa", "fab", "fB", "foo", "Foo", "f_b", "fz"])
ROWS = st.lists(st.tuples(NAMES, st.sampled_from(["", "C.f"]), st.sampled_from(["a.py", "b/c.py", "d.py"]),
                          st.integers(1, 4), st.sampled_from(["function", "class"])), max_size=80)


@st.composite
def edits(draw: st.DrawFn) -> tuple[list[Keyed], list[Keyed]]:
    """A letter's rows before and after an edit: rows added, removed, or given other references
    (identical rows included: a file can define a name twice on one line)."""
    before = [keyed(KeywordRow(n, k, p, line, (), q), rowid) for rowid, (n, q, p, line, k) in enumerate(draw(ROWS))]
    after = list(before)
    for _ in range(draw(st.integers(1, 6))):
        what = draw(st.sampled_from(["add", "remove", "refs"]))
        if what == "add" or not after:
            n, q, p, line, k = draw(ROWS.filter(bool))[0]
            after.append(keyed(KeywordRow(n, k, p, line, (), q), 1000 + len(after)))
        else:
            at = draw(st.integers(0, len(after) - 1))
            if what == "remove":
                del after[at]
            else:
                row = after[at].row
                refs = tuple(sorted({*row.refs, draw(st.sampled_from(["x.py", "y.py"]))}))
                after[at] = keyed(row._replace(refs=refs), after[at].key[-1])
    return before, after


def seen(part: Part) -> tuple[object, ...]:
    return (part.first[:-1], part.last, part.count, part.high, part.low)


@settings(max_examples=300, deadline=None)
@given(edits(), st.integers(3, 12))
def test_a_letter_cut_from_its_kept_parts_is_the_letter_cut_from_all_rows(edit: tuple[list[Keyed], list[Keyed]],
                                                                            split: int) -> None:
    """Pages and parts from the kept parts are those made from every row; a part left as
    written (None) is one whose text the last build wrote the same.  (Only the rowid in a part's
    first key may differ: a row removed and added again the same is kept where it was.)"""
    before, after = edit
    old, kept, _ = letter(before, [], split)
    new, parts, _ = letter(after, kept, split)
    clean, clean_parts, _ = letter(after, [], split)
    assert [seen(p) for p in parts] == [seen(p) for p in clean_parts]
    assert list(new) == list(clean)
    for page, text in clean.items():
        assert new[page] == text or new[page] is None and old.get(page) == text


def test_an_added_row_reads_about_one_parts_rows() -> None:
    """A row added to a letter of 4,000 rows in parts of at most 300 reads the rows of the
    part it falls in (and rarely of the next), not the letter's."""
    rows = [keyed(KeywordRow(f"f{n:05}", "function", f"m{n % 97}.py", n), n) for n in range(0, 8000, 2)]
    _, kept, whole = letter(rows, [], 300)
    assert whole == len(rows) and len(kept) > 15
    for at in (1, 2001, 7999):
        added = keyed(KeywordRow(f"f{at:05}", "function", "new.py", 1), 10_000 + at)
        rendered, parts, read = letter([*rows, added], kept, 300)
        assert read <= 2 * 300
        assert sum(p.count for p in parts) == len(rows) + 1
        assert 1 <= len([p for p, text in rendered.items() if text is not None and p.count("-") > 1]) <= 2


def test_the_models_ranges_and_sums_are_those_of_its_sorted_rows(tmp_path: Path, monkeypatch: Any) -> None:
    """The model's rows of a letter cut at any bounds: each range read alone and summed in SQL is
    that slice of the whole letter (its order and every check as :func:`keyed` makes them),
    whichever way a subtree's rows are found: file by file, by the runs of its files' ids (one
    after a first build, more once files are added) or, past :data:`ID_RUNS` runs, by path."""
    from docgraph import digests as digests_module
    from docgraph.model import Model, open_model

    from .conftest import build, make_sample

    root = make_sample(tmp_path / "repo")
    pkg = root / "src" / "many"
    pkg.mkdir()
    for n in range(12):  # ties: the same names in several files, twice in one
        (pkg / f"m{n}.py").write_text("".join(f"def s_{k}():\n    pass\n\n\n" for k in range(n % 4, 9))
                                      + ("class S:\n    def s_1(self):\n        pass\n" if n % 3 else ""),
                                      encoding="utf-8")
    (pkg / "use.py").write_text("from .m1 import s_2, s_3\nfrom .m2 import s_2\n", encoding="utf-8")
    few = root / "src" / "few"  # a subtree of few of the letter's rows: its files first
    few.mkdir()
    for n in range(3):
        (few / f"f{n}.py").write_text("".join(f"def s_{k}():\n    pass\n\n\n" for k in range(n, 6)), encoding="utf-8")
    (few / "g.py").write_text("from .f1 import s_4\n", encoding="utf-8")
    build(root)

    def check(runs: dict[str, int]) -> None:
        conn = open_model(str(root / ".docgraph" / "model.sqlite3"))
        try:
            digests = Model(conn, str(root / ".docgraph")).digests
            for folder in ("", "src", "src/many", "src/few"):
                every = digests.keyed_rows(folder, "s")
                assert len(every) > (60 if folder != "src/few" else 10)
                assert [r.row for r in every] == digests.keyword_rows(folder, "s")
                assert every == sorted(keyed(r.row, r.key[-1]) for r in every)
                assert any(r.row.refs for r in every)
                for step in (1, 5, 17):
                    bounds = [r.key for r in every[step::step]]
                    edges = [0, *range(step, len(every), step), len(every)]
                    slices = [every[a:z] for a, z in itertools.pairwise(edges)]
                    assert digests.letter_sums(folder, "s", bounds) == \
                        ListSource(every).letter_sums(folder, "s", bounds)
                    assert [digests.keyed_rows(folder, "s", a, z)
                            for a, z in zip([None, *bounds], [*bounds, None])] == slices
            for folder, count in runs.items():
                found = digests._id_runs(folder)
                assert (found is None) if count < 0 else (found is not None and len(found) == count), (folder, found)
        finally:
            conn.close()

    check({"src": 1, "src/many": 1})  # a first build numbers the paths in order
    conn = open_model(str(root / ".docgraph" / "model.sqlite3"))
    try:
        digests = Model(conn, str(root / ".docgraph")).digests
        # a letter is read from the letters' index alone, each row's references stored with it
        # (no row of the table, no query of the references per name), and those are the ones
        # the references' table gives
        traced: list[str] = []
        conn.set_trace_callback(traced.append)
        every = digests.keyed_rows("", "s")
        conn.set_trace_callback(None)
        assert len(traced) == 1 and "refs r" not in traced[0]
        plan = " ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + traced[0]))
        assert "USING COVERING INDEX symbols_order" in plan, plan
        given = digests.rows_for({r.row.path for r in every})
        assert sorted(r.row for r in every) == sorted(row for rows in given.values() for row in rows
                                                      if layout.bucket_of(row.name) == "s")
        # the few rows' subtree is read file by file through the (file, bucket) index, named
        # (SQLite chose to scan the letter's index once per file); a letter of many ranges
        # reads the repository's rows of each range from the letters' index, those of the
        # subtree's files kept by their ids, no path looked up
        tables, where, args = digests._letter_where("src/few", "s", None, None, joined=False)
        plan = " ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN SELECT count(*) FROM {tables} WHERE {where}", args))
        assert tables.startswith("paths p CROSS JOIN") and "INDEXED BY symbols_file" in tables
        assert "INDEX symbols_file (file=? AND bucket=?)" in plan
        tables, where, args = digests._letter_where("src/few", "s", None, None, joined=False, ranges=100)
        plan = " ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN SELECT count(*) FROM {tables} WHERE {where}", args))
        assert "paths" not in tables and "s.file BETWEEN" in where
        assert "COVERING INDEX symbols_order" in plan and "paths" not in plan, plan
    finally:
        conn.close()
    # files added later take ids after every other: their subtrees are read by more runs
    (pkg / "m_late.py").write_text("def s_late():\n    pass\n", encoding="utf-8")
    (few / "late.py").write_text("def s_late2():\n    pass\n", encoding="utf-8")
    build(root)
    check({"src": 2, "src/many": 2, "src/few": 2})
    monkeypatch.setattr(digests_module, "ID_RUNS", 1)  # past the runs kept: compared by path
    check({"src": -1, "src/many": -1, "src/few": -1})


def test_parts_of_keeps_every_row_in_order() -> None:
    rows = [keyed(KeywordRow(f"f{n}", "function", "a.py", n), n) for n in range(500)]
    parts = parts_of(rows, 40, lambda r: r.row)
    assert [r for part in parts for r in part] == rows


def _letter_parts(digests: Any, folders: tuple[str, ...]) -> dict[str, tuple[list[Part], Any]]:
    """Letter F of each folder cut into parts of at most 30 rows, with the model's log position."""
    return {folder: ([Part.of(p) for p in parts_of(digests.keyed_rows(folder, "f"), 30, lambda r: r.row)],
                     digests.log_position()) for folder in folders}


def test_the_logged_changes_give_the_sums_of_a_letters_ranges(tmp_path: Path, monkeypatch: Any) -> None:
    """A large letter's parts, cut before an edit, with the keyword rows the model logged since
    added and taken away, have the sums SQL gives of every row of the letter between their first
    keys now: over edits that add, remove and rename definitions, add and remove importers (which
    change the checks of the rows they import), and add and delete files, in the repository and
    in a subtree.  Past the log's size or its number of files, the changes before are not given
    (the sums are then summed), and the pages stay those of a clean build throughout."""
    from docgraph import model
    from docgraph.model import Model, open_model
    from docgraph.pages.keyword_index import _sums_now

    from .conftest import build, snapshot

    root = tmp_path / "repo"
    for folder in ("pkg", "pkg/sub"):
        (root / folder).mkdir(parents=True)
    for module, count in (("pkg/a", 40), ("pkg/b", 30), ("pkg/sub/c", 35)):
        (root / f"{module}.py").write_text("".join(
            f"def f{module[-1]}_{n:02}() -> int:\n    return {n}\n\n\n" for n in range(count)), encoding="utf-8")
    (root / "docgraph.yaml").write_text("pages:\n  index_split: 30\n", encoding="utf-8")
    build(root)
    state = str(root / ".docgraph")
    steps = [
        ("pkg/a.py", "def fa_00_added() -> int:\n    return 0\n"),  # a row
        ("pkg/user.py", "from .a import fa_03, fa_30\nfrom .sub.c import fc_07\n"),  # importers: checks
        ("pkg/sub/c.py", None),  # a file's rows gone
        ("pkg/sub/d.py", "".join(f"def fd_{n}() -> None:\n    pass\n\n\n" for n in range(12))),
        ("pkg/user.py", "from .b import fb_01\n"),
        ("pkg/b.py", "def fb_00() -> int:\n    return 0\n\n\ndef fz() -> None:\n    pass\n"),
    ]
    for at, (rel, text) in enumerate(steps):
        conn = open_model(state + "/model.sqlite3")
        try:
            before = _letter_parts(Model(conn, state).digests, ("", "pkg", "pkg/sub"))
        finally:
            conn.close()
        unlogged = at in (len(steps) - 3, len(steps) - 1)
        monkeypatch.setattr(model, "LOG_FILES", 0 if at == len(steps) - 3 else 2000)  # too many files
        if at == len(steps) - 1:
            monkeypatch.setattr(model, "LOG_ROWS", 4)  # the last edit logs more than it keeps
        path = root / rel
        if text is None:
            path.unlink()
        else:
            path.write_text(text, encoding="utf-8")
        build(root)
        conn = open_model(state + "/model.sqlite3")
        try:
            digests = Model(conn, state).digests
            for folder, (kept, since) in before.items():
                if len(kept) < 2:
                    continue
                changes = digests.letter_changes(folder, "f", since)
                assert (changes is None) == unlogged, (rel, folder)
                assert _sums_now(digests, folder, "f", kept, since) == \
                    digests.letter_sums(folder, "f", [p.first for p in kept[1:]]), (rel, folder)
        finally:
            conn.close()
    # a copy of the database (a state folder restored from a cache) is a log of its own: a
    # position recorded against the original is not brought up to date by the copy's log
    conn = open_model(state + "/model.sqlite3")
    try:
        since = Model(conn, state).digests.log_position()
    finally:
        conn.close()
    assert since is not None
    shutil.copyfile(state + "/model.sqlite3", state + "/copy.sqlite3")
    os.replace(state + "/copy.sqlite3", state + "/model.sqlite3")
    conn = open_model(state + "/model.sqlite3")
    try:
        assert Model(conn, state).digests.log_position() is None
        assert Model(conn, state).digests.letter_changes("", "f", since) is None
    finally:
        conn.close()
    monkeypatch.setattr(model, "LOG_ROWS", 50_000)
    (root / "pkg" / "a.py").write_text("def fa_new() -> None:\n    pass\n", encoding="utf-8")
    build(root)
    conn = open_model(state + "/model.sqlite3")
    try:
        after = Model(conn, state).digests.log_position()
        assert after is not None and after[0] != since[0]  # a new epoch
    finally:
        conn.close()
    clean = tmp_path / "clean" / root.name
    shutil.copytree(root, clean, ignore=shutil.ignore_patterns("repo-docs", ".docgraph"))
    build(clean)
    assert snapshot(root / "repo-docs") == snapshot(clean / "repo-docs")


def test_an_index_that_lists_the_same_rows_is_the_deepest_folder_holding_them_all(tmp_path: Path) -> None:
    """`same_as` of each folder is what a search of every folder's sums finds: the deepest
    folder below it whose subtree holds all of its keyword rows (`keywords` for all of the
    repository's), found among the folders of one row's path."""
    from docgraph.model import Model, open_model

    from .conftest import build

    root = tmp_path / "repo"
    files = {"top/only/deep/m.py": "def f_m():\n    pass\n",
             "top/only/deep/sub/n.py": "def f_n():\n    pass\n",
             "top/only/deep/sub/empty.py": "",  # a file without rows, first of its folder
             "top/only/aaa/readme.txt": "no rows\n",
             "two/a/x.py": "def f_x():\n    pass\n",
             "two/b/y.py": "def f_y():\n    pass\n",
             "two/b/z/w.py": "def f_w():\n    pass\n",
             "solo/one/two/t.py": "def f_t():\n    pass\n",
             "other.py": "def f_o():\n    pass\n"}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    build(root)
    state = str(root / ".docgraph")
    conn = open_model(state + "/model.sqlite3")
    try:
        digests = Model(conn, state).digests
        folders = [f for f, in conn.execute("SELECT DISTINCT folder FROM subtree ORDER BY folder")]
        found = {}
        for folder in folders:
            total = digests.subtree_total(folder)
            row = conn.execute(
                "SELECT folder FROM subtree WHERE folder>? AND folder<? GROUP BY folder "
                "HAVING sum(count)=? ORDER BY length(folder) DESC, folder LIMIT 1",
                (folder + "/", folder + "0", total)).fetchone()
            expected = "" if not folder else "keywords" if total == digests.subtree_total("") \
                else row[0] if row else ""
            found[folder] = digests.same_as(folder, total)
            assert found[folder] == expected, folder
        assert found["top"] == found["top/only"] == "top/only/deep"
        assert found["solo"] == found["solo/one"] == "solo/one/two"
        assert found["two"] == found["two/b"] == found["top/only/deep"] == ""
    finally:
        conn.close()
