"""The stamp's column tables: what a build records is what the next build reads."""

from __future__ import annotations

import marshal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docgraph.stamp import FIND_LIMIT, Records, Stamp

NAMES = st.sampled_from(["a.py", "b/c.h", "b/ü d.md", "b/\udcff.py", "x\ny", "page:a.py", "t/" + "z" * 40])
RECORDS = st.tuples(st.integers(0, 2**40), st.integers(0, 2**62),
                    st.sampled_from(["", "0" * 31 + "1", "d41d8cd98f00b204e9800998ecf8427e"]),
                    st.sampled_from(["file", "binary", "page:a.py", "model"]))
STEPS = st.lists(st.lists(st.tuples(NAMES, st.none() | RECORDS), max_size=8), max_size=5)


@settings(max_examples=200, deadline=None)
@given(STEPS)
def test_records_survive_encoding_after_any_changes(steps: list[list[tuple[str, tuple | None]]]) -> None:
    expected: dict[str, list] = {}
    table = Records()
    for changes in steps:
        for name, value in changes:
            table.put(name, list(value) if value is not None else None)
            if value is None:
                expected.pop(name, None)
            else:
                expected[name] = list(value)
        assert len(table) == len(expected) == table.count()
        # what the next build loads: the columns as stored
        table = Records.stored([bytes(c) for c in table.stored_columns()])
        assert table.count() == len(expected)
        assert table.keys() == set(expected)
        assert {n: table.get(n) for n in expected} == expected
        assert sorted(table.stats()) == sorted((n, v[0], v[1]) for n, v in expected.items())
        known = table.peek  # what discovery asks of a freshly loaded table
        assert {n: known(n) for n in expected} == {n: (v[0], v[1], v[3]) for n, v in expected.items()}
        # a tag no record uses any more is not kept
        assert table.encode()[4].count("\0") == len({v[3] for v in expected.values()})


def test_a_copy_does_not_change_the_original() -> None:
    table = Records()
    table.put("a", [1, 2, "", "file"])
    table = Records(table.encode())
    other = table.copy()
    other.put("a", None)
    other.put("b", [3, 4, "", "binary"])
    assert table.keys() == {"a"} and other.keys() == {"b"}
    assert Records(table.encode()).get("a") == [1, 2, "", "file"]


def test_a_stamp_of_unequal_columns_is_damaged(tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    """Columns of unequal lengths are damage found by the load; the names and the tags, read
    when a build first needs them, are checked then (:class:`StampDamaged`), or at once for a
    caller that asks for a verified stamp."""
    import io
    import logging

    from docgraph.stamp import _MAGIC, StampDamaged
    from docgraph.store import PartsFile, put_part, stored_parts

    stamp = Stamp("fp", 3)
    stamp.sources.put("a.py", [1, 2, "", "file"])
    stamp.sources.put("b.py", [3, 4, "", "binary"])
    stamp.save(str(tmp_path))
    assert Stamp.load(str(tmp_path)).sources.get("a.py") == [1, 2, "", "file"]

    data = (tmp_path / "stamp.marshal").read_bytes()  # a magic line, a header, then the columns
    assert data.startswith(_MAGIC)
    head, *columns = [part.read() for part in stored_parts(PartsFile(str(tmp_path / "stamp.marshal")), 21, len(_MAGIC))]
    names, stats, md5s, ids, tags = columns[:5]  # the sources'
    assert names == b"a.py\0b.py" and tags == b"\0file\0binary"

    def store(*sources: bytes) -> Stamp | None:
        out = io.BytesIO()
        out.write(_MAGIC)
        for part in (head, *sources, *columns[5:]):
            put_part(out, part)
        (tmp_path / "stamp.marshal").write_bytes(out.getvalue())
        return Stamp.load(str(tmp_path))

    assert store(names, stats[:16], md5s, ids, tags) is None  # a record's stat data cut off
    assert store(names, stats, md5s[:16], ids, tags) is None
    assert store(b"", stats, md5s, ids, tags) is None
    fine = store(names, stats, md5s, bytes(8), b"\0")  # tag id 0 names the only tag, "": fine
    assert fine is not None and fine.sources.get("b.py") == [3, 4, "", ""]
    for damaged in ((names, stats, md5s, b"\x05" + ids[1:], tags),  # tag 5 of 2
                    (b"a.py/b.py", stats, md5s, ids, tags)):  # one name for two records
        loaded = store(*damaged)
        assert loaded is not None  # (the load does not read them)
        with pytest.raises(StampDamaged):
            loaded.verify()
        with pytest.raises(StampDamaged):
            list(loaded.sources.rows())  # (again: nothing damaged is kept)
        with caplog.at_level(logging.WARNING, logger="docgraph"):
            assert Stamp.load(str(tmp_path), verified=True) is None
        assert "damaged" in caplog.text
        caplog.clear()


def test_a_loaded_stamp_reads_its_own_base(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Columns are read when first used: a stamp loaded before the next build replaced the base
    (watch mode keeps the last build's) reads the base it loaded; a base cut short under it is
    damage, found when the cut column is read."""
    from docgraph.stamp import StampDamaged

    first = Stamp("fp", 1)
    first.sources.put("a.py", [1, 2, "", "file"])
    first.save(str(tmp_path))
    loaded = Stamp.load(str(tmp_path))
    second = Stamp("fp", 1)
    second.sources.put("b.py", [3, 4, "", "file"])
    second.save(str(tmp_path))
    assert loaded is not None and loaded.sources.keys() == {"a.py"}
    assert loaded.sources.get("a.py") == [1, 2, "", "file"]
    assert Stamp.load(str(tmp_path)).sources.keys() == {"b.py"}  # type: ignore[union-attr]

    cut = Stamp.load(str(tmp_path))
    assert cut is not None
    path = tmp_path / "stamp.marshal"
    path.write_bytes(path.read_bytes()[:40])  # (in place: the same file, shorter)
    with pytest.raises(StampDamaged):
        cut.sources.get("b.py")


def _tables(state: str) -> dict[str, dict[str, list]]:
    stamp = Stamp.load(state)
    assert stamp is not None
    return {kind: {n: getattr(stamp, kind).get(n) for n in getattr(stamp, kind).keys()}  # noqa: SIM118
            for kind in ("sources", "pages", "state")}


def test_a_first_build_records_what_the_general_path_records(tmp_path, monkeypatch) -> None:
    """A first build writes its outputs' records stage by stage as it goes (`Session.settle`,
    dropping the specs of each stage); the path every other build takes (a map of outputs to
    tasks, the manifest's list) gives the same records."""
    from docgraph.engine import Session

    from .conftest import build, make_sample

    first = make_sample(tmp_path / "a" / "repo")
    build(first)
    general = make_sample(tmp_path / "b" / "repo")
    monkeypatch.setattr(Session, "settle", lambda self, names: None)
    monkeypatch.setattr(Session, "_record", lambda self, names: pytest.fail("not the general path"))
    monkeypatch.setattr(Session, "task_count", lambda self: -1)  # never equal to the tasks loaded
    build(general)
    ours, theirs = _tables(str(first / ".docgraph")), _tables(str(general / ".docgraph"))
    for kind in ours:
        assert (kind, sorted(set(ours[kind]) - set(theirs[kind]))) == (kind, [])
        assert (kind, sorted(set(theirs[kind]) - set(ours[kind]))) == (kind, [])
    assert len(ours["pages"]) > 50 and len(ours["state"]) > 50
    # the same sizes, hashes and tasks (mtimes are the two trees' own; the bytes of two SQLite
    # databases of the same rows need not be equal)
    def same(table: dict[str, list]) -> dict[str, tuple]:
        return {n: (r[0], r[2] if not n.endswith(".sqlite3") else "", r[3]) for n, r in table.items()}

    for kind in ours:
        assert same(ours[kind]) == same(theirs[kind])


name_part = st.text(st.characters(blacklist_characters="\0/", blacklist_categories=("Cs",)), min_size=1,
                    max_size=4)
table_names = st.lists(st.lists(name_part, min_size=1, max_size=3).map("/".join), unique=True, max_size=30)


def _changed_table(rows: list, changed: list[int], tag: str) -> tuple[Records, dict]:
    """A table of `rows` with the records at `changed` replaced (odd) or forgotten (even), and
    the records it should then hold."""
    table = Records.of(rows)
    expected = dict(rows)
    for i in changed:
        if i < len(rows):
            table.put(rows[i][0], [99, 99, "", tag] if i % 2 else None)
            expected[rows[i][0]] = [99, 99, "", tag] if i % 2 else None
    return table, expected


@given(table_names, st.lists(name_part, max_size=40), st.lists(st.integers(0, 29), max_size=5))
@settings(max_examples=200)
def test_lookups_and_folder_scans_agree_with_the_records(names: list[str], probes: list[str],
                                                         changed: list[int]) -> None:
    """Names found in the names column (a few lookups) or by the index (many), and the records of
    some folders found by one scan of the column, are what the records hold, changes included."""
    rows = [(name, [i, i * 7, "", "t"]) for i, name in enumerate(names)]
    table, expected = _changed_table(rows, changed, "t")
    for probe in [*names, *probes, *names]:  # past FIND_LIMIT: the index answers the rest
        assert table.get(probe) == expected.get(probe)
        found = expected.get(probe)
        assert table.stat_of(probe) == (None if found is None else tuple(found[:3]))
    folders = {name.rpartition("/")[0] for name in names[::2]} | {"", "x"}
    fresh = Records.of(rows)
    for name, value in table._changes.items():
        fresh.put(name, value)
    found = sorted(fresh.in_folders(folders))
    assert found == sorted((n, v[0], v[1]) for n, v in expected.items()
                           if v is not None and n.rpartition("/")[0] in folders and "/" in n)


def test_a_first_build_records_each_page_once(sample) -> None:  # type: ignore[no-untyped-def]
    """The book's page is its target and the first part its record lists: recorded once (a
    name recorded twice kept a stale first record behind the index's last one)."""
    from .conftest import build

    build(sample)
    stamp = Stamp.load(str(sample / ".docgraph"))
    assert stamp is not None
    for table in (stamp.sources, stamp.pages, stamp.state, stamp.folders):
        assert len(table.names()) == len(set(table.names()))


def _records(stamp: Stamp) -> dict[str, dict[str, object]]:
    return {name: {n: getattr(stamp, name).get(n) for n in getattr(stamp, name).current()}
            for name in ("sources", "pages", "state", "folders")}


def test_an_edit_writes_a_delta_that_loads_as_the_whole_stamp(sample, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """After a first build the stamp is written whole; an edit writes only the changed records
    beside it, and loading base + delta gives what a stamp written whole holds."""
    import os

    from docgraph.stamp import DELTA, STAMP

    from .conftest import build

    state = sample / ".docgraph"
    build(sample)
    base = os.stat(state / STAMP)
    assert not (state / DELTA).exists()
    shapes = sample / "src" / "geometry" / "shapes.py"
    shapes.write_text(shapes.read_text(encoding="utf-8") + "\n\ndef grown():\n    pass\n", encoding="utf-8")
    (sample / "src" / "geometry" / "new_module.py").write_text("def fresh():\n    pass\n", encoding="utf-8")
    build(sample)
    assert (state / DELTA).exists()
    assert (os.stat(state / STAMP).st_mtime_ns, os.stat(state / STAMP).st_ino) == (base.st_mtime_ns, base.st_ino)
    loaded = Stamp.load(str(state))
    assert loaded is not None and loaded.sources.get("src/geometry/new_module.py") is not None
    loaded._base = None  # written whole into another folder, and read back
    (tmp_path / "whole").mkdir()
    loaded.save(str(tmp_path / "whole"))
    whole = Stamp.load(str(tmp_path / "whole"))
    assert whole is not None and not (tmp_path / "whole" / DELTA).exists()
    again = Stamp.load(str(state))
    assert again is not None
    assert _records(whole) == _records(again)
    assert (whole.fingerprint, whole.tasks, whole.listing) == (again.fingerprint, again.tasks, again.listing) \
        and whole.listing
    os.utime(state / STAMP)  # a copy or a cache restore of the state folder: the same base
    touched = Stamp.load(str(state))
    assert touched is not None and touched.sources.get("src/geometry/new_module.py") is not None
    delta = marshal.loads((state / DELTA).read_bytes())
    delta["base"] = "another"  # a build killed between a new base and the old delta's removal
    (state / DELTA).write_bytes(marshal.dumps(delta))
    assert Stamp.load(str(state)) is None  # the base alone is older than the last build


@given(table_names, st.lists(st.integers(0, 29), max_size=5))
@settings(max_examples=200)
def test_rows_of_folders_agree_with_the_records(names: list[str], changed: list[int]) -> None:
    """The records directly in some folders (the root's `""` included), tags too, found by one
    search of the names column, are those the table holds, changes included."""
    rows = [(name, [i, i * 7, "", f"t{i % 3}"]) for i, name in enumerate(names)]
    table, expected = _changed_table(rows, changed, "new")
    folders = {name.rpartition("/")[0] for name in names[1::2]} | {""}
    few = set(sorted(folders - {""})[:3])  # (a search per folder; more, or the root, one expression)
    for chosen in (folders, folders - {""}, few):
        assert sorted(table.rows_in(chosen)) == sorted(
            (n, v[0], v[1], v[3]) for n, v in expected.items() if v is not None and n.rpartition("/")[0] in chosen)


def test_a_large_delta_is_written_as_a_new_base(sample, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Changes past a share of the base's records (and the floor) go into a new base, not into
    a delta that every later build would load record by record."""
    import os

    from docgraph import stamp as stamp_module
    from docgraph.stamp import DELTA, STAMP

    from .conftest import build

    state = sample / ".docgraph"
    build(sample)
    shapes = sample / "src" / "geometry" / "shapes.py"
    shapes.write_text(shapes.read_text(encoding="utf-8") + "\n\ndef grown():\n    pass\n", encoding="utf-8")
    build(sample)
    assert (state / DELTA).exists()  # a few records: a delta
    base = os.stat(state / STAMP)
    monkeypatch.setattr(stamp_module, "DELTA_FLOOR", 0)
    monkeypatch.setattr(stamp_module, "DELTA_SHARE", 0.0001)
    shapes.write_text(shapes.read_text(encoding="utf-8") + "\n\ndef grown_again():\n    pass\n", encoding="utf-8")
    build(sample)
    assert not (state / DELTA).exists()
    assert os.stat(state / STAMP).st_ino != base.st_ino
    loaded = Stamp.load(str(state))
    assert loaded is not None and loaded.sources.get("src/geometry/shapes.py") is not None


def test_a_stamp_of_another_format_or_cut_short_is_no_stamp(sample, caplog) -> None:  # type: ignore[no-untyped-def]
    """A base file of the format before (one marshalled object after another) is another
    version's, read as no stamp without a warning; one cut short is damaged, with one."""
    import io
    import logging

    from docgraph.stamp import _MAGIC, STAMP
    from docgraph.store import put_part

    from .conftest import build

    state = sample / ".docgraph"
    build(sample)
    whole = (state / STAMP).read_bytes()
    assert Stamp.load(str(state)) is not None
    (state / STAMP).write_bytes(marshal.dumps({"version": 13}) + marshal.dumps(("", b"", b"", b"", "")))
    with caplog.at_level(logging.WARNING, logger="docgraph"):
        assert Stamp.load(str(state)) is None
    # version 14: the magic line and header, then one marshalled part per table (fewer parts)
    old = io.BytesIO()
    old.write(_MAGIC)
    put_part(old, marshal.dumps({"version": 14}))
    for _table in range(4):
        put_part(old, marshal.dumps(("", b"", b"", b"", "")))
    (state / STAMP).write_bytes(old.getvalue())
    with caplog.at_level(logging.WARNING, logger="docgraph"):
        assert Stamp.load(str(state)) is None
    assert not caplog.records
    (state / STAMP).write_bytes(whole[:len(whole) // 2])
    with caplog.at_level(logging.WARNING, logger="docgraph"):
        assert Stamp.load(str(state)) is None
    assert any("damaged" in r.getMessage() for r in caplog.records)


@given(table_names, st.lists(st.tuples(st.integers(0, 40), st.integers(0, 3), st.sampled_from(["t0", "t1"])),
                             max_size=40))
@settings(max_examples=150)
def test_differing_entries_found_alike_by_search_or_index(names: list[str], probes: list[tuple[int, int, str]]) -> None:
    """The entries whose stat data or kind differ from their record: a few are looked up in the
    names column, many through the index; both give the same."""
    from docgraph.discover import Entry

    rows = [(name, [i, i * 7, "", f"t{i % 2}"]) for i, name in enumerate(names)]
    entries = [Entry(names[i % len(names)] if names and i < 35 else f"new/{i}", kind, i % 4 if size else i, 7 * i)
               for i, size, kind in probes]
    few = Records.of(rows)
    many = Records.of(rows)
    for name in names * 2:  # past FIND_LIMIT: the index
        many.get(name)
    for start in range(0, len(entries), 5):
        chunk = entries[start:start + 5]
        assert few.differing(chunk) == many.differing(chunk)
    # more than a few entries, of a few folders: the records of those folders, by a search each
    folders = sorted({e.rel.rpartition("/")[0] for e in entries} - {""})[:3]
    grouped = [e for e in entries if e.rel.rpartition("/")[0] in folders] * 4
    grouped += [e for e in entries if "/" not in e.rel][:3]  # (a few at the root too)
    searched = Records.of(rows)
    for table in (searched, many):  # a change of this build counts too
        for at, name in enumerate(names[:3]):
            table.put(name, None if at == 1 else [at % 4, 7 * at, "", "t1"])
    assert searched.differing(grouped) == many.differing(grouped)


@pytest.mark.parametrize("kept", ["", "manifest", "render"])
def test_an_upgrade_records_what_the_general_path_records(tmp_path, monkeypatch, kept: str) -> None:
    """A build that loads every task of a built tree, or nearly (docgraph's code changed: every
    settings slice differs but `kept`'s) writes its outputs' records straight into new columns,
    keeping the recorded hash of an output whose stat data did not change, and carries over the
    records of the tasks it did not load (the pages, when their code is the same: here taken
    this way whatever their share); the general path (the old records and their changes)
    gives the same records, and the next build does nothing."""
    from docgraph import engine
    from docgraph import graph as graph_module
    from docgraph.engine import Session

    from .conftest import build, make_sample

    ours = make_sample(tmp_path / "a" / "repo")
    theirs = make_sample(tmp_path / "b" / "repo")
    build(ours)
    build(theirs)
    real = graph_module.fingerprints

    def upgraded(modules, state=None):  # type: ignore[no-untyped-def]
        tool, code = real(modules, state)
        same = graph_module.step_modules().get(kept)
        return tool + "+", {module: digest + ("" if module == same else "+") for module, digest in code.items()}

    monkeypatch.setattr(graph_module, "fingerprints", upgraded)
    recorded: list[int] = []
    direct = Session._record

    def counted(self, names, carried=None, final=False):  # type: ignore[no-untyped-def]
        assert self.stamp is not None and final
        recorded.append(len(carried or ()))
        assert ("manifest" in names) == (kept != "manifest")
        direct(self, names, carried, final)

    with monkeypatch.context() as patched:
        patched.setattr(Session, "_record", counted)
        patched.setattr(engine, "RECORD_ANEW", 0 if kept else 1)
        build(ours)
    assert len(recorded) == 1 and bool(recorded[0]) == (kept == "render")  # (records carried over)
    with monkeypatch.context() as patched:
        patched.setattr(Session, "_record", lambda self, *args: pytest.fail("not the general path"))
        patched.setattr(Session, "task_count", lambda self: 10 ** 9)  # far more than the tasks loaded
        build(theirs)
    mine, general = _tables(str(ours / ".docgraph")), _tables(str(theirs / ".docgraph"))

    def same(table: dict[str, list]) -> dict[str, tuple]:
        return {n: (r[0], r[2] if not n.endswith(".sqlite3") else "", r[3]) for n, r in table.items()}

    for kind in mine:
        assert (kind, same(mine[kind])) == (kind, same(general[kind]))
    assert len(mine["pages"]) > 50 and len(mine["state"]) > 50
    again = build(ours)
    assert (again["mode"], again["tasks_executed"], again["pages_written"]) == ("no-op", [], [])


def test_a_build_that_finds_a_column_damaged_checks_every_task_once(sample, tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    """A damaged column is found when the build first reads it, after the load: the build
    drops the stamp, checks every task once, and writes what a clean build writes."""
    import io
    import logging
    import shutil

    from docgraph.stamp import _MAGIC, STAMP
    from docgraph.store import PartsFile, put_part, stored_parts

    from .conftest import build, snapshot

    build(sample)
    stamp_file = sample / ".docgraph" / STAMP
    head, *columns = [part.read() for part in stored_parts(PartsFile(str(stamp_file)), 21, len(_MAGIC))]
    columns[3] = b"\xff" * len(columns[3])  # every source's tag id past the tag list
    out = io.BytesIO()
    out.write(_MAGIC)
    for part in (head, *columns):
        put_part(out, part)
    stamp_file.write_bytes(out.getvalue())
    source = sample / "src" / "geometry" / "shapes.py"
    source.write_text(source.read_text() + "\n\ndef added_after_damage():\n    return 1\n")
    with caplog.at_level(logging.WARNING, logger="docgraph"):
        report = build(sample)
    assert "damaged" in caplog.text
    assert "src/geometry/shapes.py" in report["sources_analyzed"]
    clean = tmp_path / "clean"
    shutil.copytree(sample, clean, ignore=shutil.ignore_patterns("repo-docs", ".docgraph"))
    assert build(clean)["errors"] == report["errors"]  # (the sample's planted findings)
    assert snapshot(sample / "repo-docs") == snapshot(clean / "repo-docs")
    assert build(sample)["mode"] == "no-op"


@given(table_names, st.lists(name_part, max_size=12))
@settings(max_examples=200)
def test_a_few_names_are_found_in_the_stored_column_without_decoding_it(names: list[str],
                                                                       probes: list[str]) -> None:
    """A table read from its stored columns finds a few names by searching the names' UTF-8
    bytes (a name that is a prefix, a suffix or a middle part of others included), and leaves
    the column undecoded."""
    names = [*names, "undecodable-\udcff.py"]  # a file name that is not UTF-8 (surrogateescape)
    rows = [(name, [i, i * 7, "", "t"]) for i, name in enumerate(dict.fromkeys(names))]
    table = Records.stored(Records.of(rows).stored_columns())
    expected = dict(rows)
    for probe in [*probes, *names][:FIND_LIMIT]:
        found = expected.get(probe)
        assert table.stat_of(probe) == (None if found is None else tuple(found[:3])), probe
    assert isinstance(table._columns[0], bytes)  # (the names searched as stored)
