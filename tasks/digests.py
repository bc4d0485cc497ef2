"""Digests: what each aggregate page shows, computed from the model database.

A digest is a small file in the state folder whose content is exactly the input of one page (or
a hash of it, for keyword indices), written only when it changes.  Render tasks depend on them,
so doit reruns a page exactly when what it shows changed.  Per-file and per-folder digests are
stored packed (:func:`docgraph.facts.pack`: canonical JSON, zlib-compressed):

- `xref/<key>.zz`: one text file's cross-references (:class:`docgraph.facts.FileXref`); empty
  when it has none (an empty file takes no disk block);
- `folders/<key>.zz`: what `index.md` and `doc.md` of one folder show (:class:`FolderDigest`);
- `subtree/<key>.zz`: per initial letter, the count and an order-independent hash of the
  keyword rows of a folder's subtree (the rows themselves are read from the model when a letter
  page is rendered);
- `stats.json`, `book.json`, `findings.json`: repository-wide figures, chapter order, findings;
- `entry.json`: the project's name and the entry page's "Start here" (:mod:`docgraph.entry`).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

from .context import folder_file, subtree_file, xref_file
from .facts import External, FileXref, Finding, Link, compress, dumps, pack, unpack
from .store import read_file, write_if_changed

_T = TypeVar("_T")
MAIN_MODULES = 5
ENTRY = "entry.json"
MODULUS = 1 << 128
CHECK_SHIFT = 66
"""A keyword row's check, stored with it, is its hash's top 62 bits (:func:`row_hash`)."""
_ORDER = "coalesce(s.lname, s.name)"  # the index order's first column (`layout.sort_key`)
_KEY = f"({_ORDER}, s.name, s.qualname, p.path, s.line, s.kind, s.rowid)"
CHECK_LOW = (1 << 31) - 1
"""A check is summed as its high and its low 31 bits: no sum of a letter's checks overflows."""
LOG = "log"
"""The key in the model's `meta` of the position of its log of changed keyword rows (JSON:
epoch, generation, the first generation the log holds whole, its rows, and the database file's
device and inode when the epoch began)."""


def database_identity(conn: sqlite3.Connection) -> str:
    """The model database's file as "device:inode": a database copied or restored (a CI cache,
    another machine's state) is another file, and its log another epoch (see :data:`LOG`)."""
    path = conn.execute("PRAGMA database_list").fetchone()[2]
    try:
        st = os.stat(path)
    except OSError:
        return ""
    return f"{st.st_dev}:{st.st_ino}"


def read_log_position(conn: sqlite3.Connection) -> tuple[str, int, int, int] | None:
    """(epoch, generation, first generation held whole, rows) of the model's log; None when it
    has none, or it began in another file (a copy: two copies of one database would otherwise
    number different changes alike, and a letter's record from one, restored from a shared
    cache, would be read against the other's log)."""
    found = conn.execute("SELECT value FROM meta WHERE key=?", (LOG,)).fetchone()
    if found is None:
        return None
    try:
        epoch, gen, first, count, where = json.loads(found[0])
    except (ValueError, TypeError):  # (not a position this code wrote)
        return None
    if where != database_identity(conn):
        return None
    return str(epoch), int(gen), int(first), int(count)


LogPosition = tuple[str, int]
"""An epoch of the model's tables and a generation of its log: what a letter's parts were cut
from (:meth:`Digests.log_position`)."""
LetterKey = tuple[str, str, str, str, int, str, int]
"""Where a keyword row stands in its index: its name's order (`layout.sort_key`), name,
qualified name, path, line, kind and rowid (which tells identical rows apart)."""
SEP = "\x1f"  # separator of name lists stored in one column
REFS_SEP = "\0"
"""Separator of the paths of a keyword row's references, stored with the row (`symbols.refs`): the
one character no path holds."""
ID_RUNS = 16
"""Runs of file ids a subtree's letter is read by at most (:meth:`Digests._id_runs`): past them
(files added one by one to a large subtree over many builds), its rows are compared by path."""


@dataclass(frozen=True)
class FolderFile:
    """One row of a folder's files table."""

    name: str
    """File name."""
    kind: str
    """file (text), binary, link or secret."""
    language: str = ""
    """Language or format."""
    description: str = ""
    """One-line description from the file's facts."""
    size: int = 0
    """Size, shown for binary files, links and left-out secrets."""
    media_type: str = ""
    """Type of a binary file."""
    link_target: str = ""
    """Where a symbolic link points."""
    parsed: bool = True
    """Whether its parser accepted it."""
    is_test: bool = False
    """It holds tests."""
    entry_point: bool = False
    """It runs as a program."""
    keywords: bool = True
    """Its `_kw.md` lists something (identifiers, headings, keys or imports)."""


@dataclass(frozen=True)
class Subfolder:
    """One row of a folder's subfolder list."""

    name: str
    """Folder name."""
    files: int
    """Files directly inside it."""
    folders: int
    """Folders directly inside it."""
    description: str = ""
    """Its README's or package docstring's first sentence."""


@dataclass(frozen=True)
class Ranked:
    """A path with a count (most-imported modules, neighbouring folders)."""

    path: str
    """File or folder path relative to ROOT."""
    count: int
    """How many references."""


@dataclass(frozen=True)
class FolderDigest:
    """Everything `index.md` and `doc.md` of one folder show."""

    path: str
    """Folder relative to ROOT (`""` for ROOT)."""
    files: tuple[FolderFile, ...] = ()
    """Files directly inside, sorted by name."""
    subfolders: tuple[Subfolder, ...] = ()
    """Folders directly inside, sorted by name."""
    readme: str = ""
    """Name of the folder's README, if any."""
    readme_doc: str = ""
    """Its first paragraph."""
    package_doc: str = ""
    """Docstring of the folder's `__init__.py`."""
    exports: tuple[str, ...] = ()
    """`__all__` of the folder's `__init__.py`."""
    main_modules: tuple[Ranked, ...] = ()
    """Its files most referenced from other files."""
    uses: tuple[Ranked, ...] = ()
    """Other folders its files reference most."""
    used_by: tuple[Ranked, ...] = ()
    """Other folders that reference its files most."""
    tested_by: tuple[Ranked, ...] = ()
    """Test files elsewhere that reference its files."""


class KeywordRow(NamedTuple):
    """One definition site in a keyword index (a tuple: the indices of torch4x read 3 million of
    them, and a frozen dataclass took 0.8 µs more each to make)."""

    name: str
    """Identifier."""
    kind: str
    """class, function, macro, ..."""
    path: str
    """Defining file."""
    line: int
    """Line of the definition."""
    refs: tuple[str, ...] = ()
    """Files that import this name from the defining file (a member is imported with its type:
    none)."""
    qualname: str = ""
    """A type member's qualified name (`Flask.run`); empty for a top-level definition."""


class Keyed(NamedTuple):
    """A keyword row with its place in the index and its check (as stored)."""

    key: LetterKey
    row: KeywordRow
    check: int


def by_path(rows: Iterable[tuple[int, KeywordRow]]) -> dict[str, list[KeywordRow]]:
    """Keyword rows (as :meth:`Digests.checked_rows` gives them) by defining file."""
    out: dict[str, list[KeywordRow]] = defaultdict(list)
    for _rowid, row in rows:
        out[row.path].append(row)
    return out


def names_of(text: str | None) -> tuple[str, ...]:
    """Decode a name list stored with :data:`SEP`."""
    return tuple(text.split(SEP)) if text else ()


def row_hash(row: KeywordRow) -> int:
    """Hash of one keyword row; a subtree's value is the sum of its rows' hashes mod 2**128."""
    data = "\0".join((row.name, row.kind, row.path, str(row.line), *row.refs, row.qualname))
    return int.from_bytes(hashlib.blake2b(data.encode("utf-8", "surrogatepass"),
                                          digest_size=16).digest(), "big")


def ancestors(path: str) -> list[str]:
    """Folders containing `path`, innermost first, ending with ROOT (`""`)."""
    out = []
    folder = path.rpartition("/")[0]
    while True:
        out.append(folder)
        if not folder:
            return out
        folder = folder.rpartition("/")[0]


XREF_BATCH = 2000
"""Files whose cross-references are computed together (:meth:`Digests.write_xrefs`)."""


def chunks(items: list[_T], size: int = 500) -> Iterable[list[_T]]:
    """Slices small enough for an SQL `IN (...)`."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _first_sentence(text: str) -> str:
    from .analyzers.generic import first_sentence

    return first_sentence(text) if text else ""


def _top(counts: dict[str, int], limit: int = MAIN_MODULES) -> tuple[Ranked, ...]:
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(Ranked(p, n) for p, n in ordered[:limit])


def dependency_order(nodes: list[str], weight: dict[tuple[str, str], int]) -> list[str]:
    """Folders ordered so that what others build on comes first (Kahn; cycles broken by use)."""
    remaining = set(nodes)
    order: list[str] = []
    while remaining:
        ready = [n for n in remaining if not any(weight.get((n, m)) for m in remaining if m != n)]
        if not ready:
            ready = [max(sorted(remaining), key=lambda n: sum(
                weight.get((m, n), 0) for m in remaining if m != n))]
        pick = min(ready, key=lambda n: (-sum(weight.get((m, n), 0) for m in nodes), n))
        order.append(pick)
        remaining.remove(pick)
    return order


def _link(link: Link) -> dict[str, object]:
    out: dict[str, object] = {"path": link.path, "kind": link.kind, "has_page": link.has_page}
    if link.names:
        out["names"] = list(link.names)
    return out


def xref_json(xref: FileXref) -> str:
    """Canonical JSON of a FileXref (same bytes as `facts.dumps`, built without reflection: the
    model writes one per file)."""
    data: dict[str, object] = {"path": xref.path}
    if xref.depends_on:
        data["depends_on"] = [_link(l) for l in xref.depends_on]
    if xref.external:
        data["external"] = [{"kind": e.kind, "module": e.module} for e in xref.external]
    if xref.used_by:
        data["used_by"] = [_link(l) for l in xref.used_by]
    if xref.tested_by:
        data["tested_by"] = [_link(l) for l in xref.tested_by]
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def xref_bytes(xref: FileXref) -> bytes:
    """The stored form of a FileXref: packed, or empty when it shows nothing."""
    if not (xref.depends_on or xref.external or xref.used_by or xref.tested_by):
        return b""
    return compress(xref_json(xref).encode("utf-8"))


def read_digest(path: str) -> FolderDigest:
    """Load a folder digest."""
    return unpack(FolderDigest, read_file(path))


class PathIds:
    """The model's integer ids of paths (table `paths`): every other table names a file by its id,
    so each path is stored once rather than in every row and index that mentions it (the
    database of the torch corpus: 83 MB with path strings, 26 MB with ids).  Ids carry no order:
    whatever is ordered by path is ordered by the path string.

    Ids are looked up one at a time until :data:`LOOKUPS` have been, then all are read at once:
    an edit that touches a few files reads a few of the 48,000 rows of a large tree, a step that
    touches many pays one scan instead of thousands of queries."""

    LOOKUPS = 2000

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self._id: dict[str, int] = {}
        self._path: dict[int, str] = {}
        self._whole = False
        self._lookups = 0

    def load(self, rows: Iterable[tuple[int, str]] | None = None) -> None:
        """Read every id (or take them from `rows` of the caller's own scan)."""
        pairs = list(self.conn.execute("SELECT id, path FROM paths") if rows is None else rows)
        self._path = dict(pairs)
        self._id = {path: ident for ident, path in pairs}
        self._whole = True

    def _alone(self) -> bool:
        """Whether to look up one more row alone (past :data:`LOOKUPS`, all are read)."""
        self._lookups += 1
        if self._lookups <= self.LOOKUPS:
            return True
        self.load()
        return False

    def _note(self, ident: int, path: str) -> None:
        self._id[path] = ident
        self._path[ident] = path

    def get(self, path: str) -> int | None:
        """The id of `path`, None when it has none."""
        if path in self._id or self._whole or not self._alone():
            return self._id.get(path)
        row = self.conn.execute("SELECT id FROM paths WHERE path=?", (path,)).fetchone()
        if row is None:
            return None
        self._note(row[0], path)
        return int(row[0])

    def id(self, path: str) -> int:
        ident = self.get(path)
        if ident is None:
            raise KeyError(path)
        return ident

    def every(self) -> dict[str, int]:
        """Path -> id of every known path."""
        if not self._whole:
            self.load()
        return self._id

    def path(self, ident: int) -> str:
        if ident not in self._path and not self._whole and self._alone():
            row = self.conn.execute("SELECT path FROM paths WHERE id=?", (ident,)).fetchone()
            if row is not None:
                self._note(ident, row[0])
        return self._path[ident]

    def ids(self, paths: Iterable[str]) -> list[int]:
        """Ids of those of `paths` that have one, sorted."""
        return sorted(ident for p in set(paths) if (ident := self.get(p)) is not None)

    def add(self, paths: Iterable[str]) -> None:
        """Give an id to each of `paths` that has none."""
        for path in sorted({p for p in paths if self.get(p) is None}):
            ident = self.conn.execute("INSERT INTO paths(path) VALUES(?)", (path,)).lastrowid
            assert ident is not None
            self._note(ident, path)

    def assign(self, paths: list[str]) -> None:
        """Ids 1..n for `paths` in a table emptied before (the bulk rebuild)."""
        self.conn.executemany("INSERT INTO paths VALUES(?,?)", enumerate(paths, 1))
        self.load(enumerate(paths, 1))

    def drop(self, paths: Iterable[str]) -> None:
        """Forget `paths` (nothing refers to them any more)."""
        gone = [ident for p in set(paths) if (ident := self.get(p)) is not None]
        for ident in gone:
            del self._id[self._path.pop(ident)]
        for chunk in chunks(sorted(gone)):
            self.conn.execute(f"DELETE FROM paths WHERE id IN ({','.join('?' * len(chunk))})", chunk)


class Digests:
    """Computes digests from the model database and writes those whose bytes changed."""

    def __init__(self, conn: sqlite3.Connection, state: str, ids: PathIds | None = None,
                 root_name: str = ""):
        self.conn = conn
        self.state = state
        self.ids = ids or PathIds(conn)
        self.root_name = root_name
        self.written: list[str] = []
        self._runs: dict[str, list[tuple[int, int]] | None] = {}  # see _id_runs

    # ---------------------------------------------------------------- where

    def xref_path(self, rel: str) -> str:
        return xref_file(self.state, rel)

    def folder_path(self, folder: str) -> str:
        return folder_file(self.state, folder)

    def subtree_path(self, folder: str) -> str:
        return subtree_file(self.state, folder)

    def write(self, path: str, data: str | bytes) -> None:
        if write_if_changed(path, data.encode("utf-8") if isinstance(data, str) else data, atomic=False):
            self.written.append(path)

    # ---------------------------------------------------------------- keyword rows

    def checked_rows(self, paths: Iterable[str]) -> list[tuple[int, KeywordRow]]:
        """Keyword rows (with referencing files) of the given files, each with its rowid in
        `symbols` (where the model notes its check)."""
        out: list[tuple[int, KeywordRow]] = []
        path_of = self.ids.path
        for chunk in chunks(self.ids.ids(paths)):
            marks = ",".join("?" * len(chunk))
            refs: dict[tuple[int, str], list[str]] = defaultdict(list)
            for dst, name, src in self.conn.execute(
                    f"SELECT r.dst, r.name, p.path FROM refs r JOIN paths p ON p.id = r.src "
                    f"WHERE r.dst IN ({marks}) ORDER BY p.path", chunk):
                refs[(dst, name)].append(src)
            for rowid, file, name, kind, line, qualname in self.conn.execute(
                    f"SELECT rowid, file, name, kind, line, qualname FROM symbols WHERE file IN ({marks})", chunk):
                path = path_of(file)
                out.append((rowid, KeywordRow(name, kind, path, line,
                                              () if qualname else tuple(refs.get((file, name), ())), qualname)))
        return out

    def rows_for(self, paths: Iterable[str]) -> dict[str, list[KeywordRow]]:
        """Keyword rows (with referencing files) of the given files."""
        return by_path(self.checked_rows(paths))

    def _letter_where(self, folder: str, bucket: str | None, start: LetterKey | None,
                      stop: LetterKey | None, joined: bool = True, ranges: int = 1) -> tuple[str, str, list[object]]:
        """The tables and the condition that select the rows of `bucket` (every bucket when None)
        in the subtree of `folder`, from `start` (inclusive) to `stop` (exclusive) in index
        order; without the paths `joined` (the repository's rows) when no column of them is
        asked for.  `ranges`: how many such queries the caller makes, one per range of the
        letter (see the choice of the plan below)."""
        # A small subtree's files first (CROSS JOIN fixes the order), then their symbols by the
        # (file, bucket) index, named: left to choose, SQLite scanned the whole letter's index
        # for each file of the subtree (the sums of torch4x's `t2/torch/include`, letter S:
        # 90 s).  A large one's rows are those of the letter's index (`symbols_order`, which
        # holds every column of a row but its path) whose file is in the subtree's runs of
        # file ids (:meth:`_id_runs`): the index is read through, its entries compared in
        # SQLite, and a path is looked up only for a row that is kept.  The rows of all 27
        # letters of torch4x's `t1/torch`, a quarter of the repository's: 0.33 s file by file,
        # 0.35 s with each row's path looked up to compare it, 0.25 s by the runs;
        # `t1/torch/include`, a sixth: 0.22, 0.28 and 0.17 s; `t1/torch/nn` (1,353 rows):
        # 0.003 s file by file, 0.04 s by the runs (measured).  A subtree's files are listed
        # once per range, so a letter of many ranges reads the repository's rows, each once.
        small = bool(folder) and (bucket is None or 8 * ranges * self._letter_count(folder, bucket)
                                  < self._letter_count("", bucket))
        runs = self._id_runs(folder) if folder and not small else None
        by_path = small or bool(folder) and runs is None
        args: list[object] = []
        if by_path:
            args += [folder + "/", folder + "0"]
            where = "p.path>=? AND p.path<?"
        elif runs is None:  # the root: every row
            where = "1"
        else:  # (no run: a subtree of no file, no row)
            where = "(" + (" OR ".join(["s.file BETWEEN ? AND ?"] * len(runs)) or "0") + ")"
            args += [bound for run in runs for bound in run]
        if bucket is not None:
            where += " AND s.bucket=?"
            args.append(bucket)
        # The order's first column bounds the scan of the letter's index (`symbols_order`); the
        # rest of the key is compared only for the rows that share a bound's first column, so
        # only their paths are looked up
        path = "p.path" if joined or by_path else "(SELECT path FROM paths WHERE id = s.file)"
        key = f"({_ORDER}, s.name, s.qualname, {path}, s.line, s.kind, s.rowid)"
        for bound, loose, strict, near in ((start, ">=", ">=", ">"), (stop, "<=", "<", "<")):
            if bound is not None:
                where += f" AND {_ORDER} {loose} ? AND ({_ORDER} {near} ? OR {key} {strict} (?,?,?,?,?,?,?))"
                args += [bound[0], bound[0], *bound]
        if small:
            return "paths p CROSS JOIN symbols s INDEXED BY symbols_file ON p.id = s.file", where, args
        if by_path:
            return "symbols s JOIN paths p ON p.id = s.file", where, args
        table = "symbols s INDEXED BY symbols_order" if folder else "symbols s"
        return (f"{table} JOIN paths p ON p.id = s.file" if joined else table), where, args

    def _id_runs(self, folder: str) -> list[tuple[int, int]] | None:
        """The ids of the files of the subtree of `folder` as runs of consecutive ids (a first
        build numbers the paths in order, so a subtree is one run; a file added later is a run
        of its own); None when they are more than :data:`ID_RUNS`.  Read once per folder: the
        paths do not change while the pages are rendered."""
        if folder in self._runs:
            return self._runs[folder]
        bounds = (folder + "/", folder + "0")
        low, high, count = self.conn.execute(
            "SELECT min(id), max(id), count(*) FROM paths WHERE path>=? AND path<?", bounds).fetchone()
        if count and high - low + 1 == count:  # one run (torch4x's `t2/torch`: 1 ms, 7 ms listed)
            self._runs[folder] = [(low, high)]
            return self._runs[folder]
        runs: list[list[int]] = []
        for (ident,) in self.conn.execute("SELECT id FROM paths WHERE path>=? AND path<? ORDER BY id", bounds):
            if runs and runs[-1][1] == ident - 1:
                runs[-1][1] = ident
            else:
                runs.append([ident, ident])
        self._runs[folder] = result = [(a, b) for a, b in runs] if len(runs) <= ID_RUNS else None
        return result

    def keyword_rows(self, folder: str, bucket: str | None = None, start: LetterKey | None = None,
                     stop: LetterKey | None = None) -> list[KeywordRow]:
        """Rows of `bucket` (every bucket when None) in the subtree of `folder`, in index order;
        from `start` to `stop` (:data:`LetterKey`) when given."""
        return [keyed.row for keyed in self.keyed_rows(folder, bucket, start, stop)]

    def keyed_rows(self, folder: str, bucket: str | None = None, start: LetterKey | None = None,
                   stop: LetterKey | None = None) -> list[Keyed]:
        """:meth:`keyword_rows` with the key and the check of each row."""
        tables, where, args = self._letter_where(folder, bucket, start, stop)
        found = self.conn.execute(
            f"SELECT {_ORDER}, s.name, s.qualname, p.path, s.line, s.kind, s.rowid, s.h, s.refs "
            f"FROM {tables} WHERE {where}", args).fetchall()
        # in key order: the key's last column, the rowid, tells every two rows apart, so the
        # columns after it are never compared (a key made for each row cost 0.4 µs a row)
        found.sort()
        return [Keyed(r[:7], KeywordRow(r[1], r[5], r[3], r[4], tuple(r[8].split(REFS_SEP)) if r[8] else (), r[2]),
                      r[7]) for r in found]

    def letter_sums(self, folder: str, bucket: str, bounds: list[LetterKey]) -> list[tuple[int, int, int]]:
        """Of the rows of `bucket` in the subtree of `folder` cut at `bounds` (the first key of
        each range but the first): per range the count and two sums of the rows' checks (their
        high and low 31 bits, so that no sum overflows SQLite's integers)."""
        out = []
        for start, stop in zip([None, *bounds], [*bounds, None]):
            tables, where, args = self._letter_where(folder, bucket, start, stop, joined=False,
                                                     ranges=len(bounds) + 1)
            count, high, low = self.conn.execute(
                f"SELECT count(*), coalesce(sum(s.h >> 31), 0), coalesce(sum(s.h & {CHECK_LOW}), 0) "
                f"FROM {tables} WHERE {where}", args).fetchone()
            out.append((int(count), int(high), int(low)))
        return out

    def log_position(self) -> LogPosition | None:
        """Where the log of changed keyword rows stands (None: it holds nothing yet)."""
        found = read_log_position(self.conn)
        return None if found is None else (found[0], found[1])

    def letter_changes(self, folder: str, bucket: str, since: LogPosition
                       ) -> list[tuple[LetterKey, int, int]] | None:
        """The rows of `bucket` in the subtree of `folder` that went (-1) or came (+1) after
        `since`, as (key, check, sign); None when the log cannot say (another epoch, or
        generations it no longer holds)."""
        found = read_log_position(self.conn)
        if found is None:
            return None
        epoch, gen, first, _count = found
        if since[0] != epoch or not first - 1 <= since[1] <= gen:
            return None
        where, args = "bucket=? AND gen>?", [bucket, since[1]]
        if folder:
            where += " AND path>=? AND path<?"
            args += [folder + "/", folder + "0"]
        return [((o, n, q, p, line, kind, rid), h, sign) for o, n, q, p, line, kind, rid, h, sign in self.conn.execute(
            f"SELECT ord, name, qualname, path, line, kind, rid, h, sign FROM row_log WHERE {where}", args)]

    def _letter_count(self, folder: str, bucket: str) -> int:
        row = self.conn.execute("SELECT count FROM subtree WHERE folder=? AND bucket=?",
                                (folder, bucket)).fetchone()
        return int(row[0]) if row else 0

    # ---------------------------------------------------------------- per file

    def file_xrefs(self, paths: list[str]) -> dict[str, FileXref]:
        """Cross-references of several text files (their edges queried by id, in chunks)."""
        wanted = set(paths)
        if not wanted:
            return {}
        path_of = self.ids.path
        edge_rows: list[tuple[int, int, str, str]] = []
        external_rows: list[tuple[int, str, str]] = []
        info_rows: list[tuple[int, str, int]] = []
        seen: set[tuple[int, int, str]] = set()
        for chunk in chunks(self.ids.ids(wanted)):
            marks = ",".join("?" * len(chunk))
            for column in ("src", "dst"):
                for row in self.conn.execute(
                        f"SELECT src, dst, kind, names FROM edges WHERE {column} IN ({marks})", chunk):
                    if row[:3] not in seen:
                        seen.add(row[:3])
                        edge_rows.append(row)
            external_rows += self.conn.execute(
                f"SELECT src, module, kind FROM externals WHERE src IN ({marks})", chunk).fetchall()
        others = sorted({e[0] for e in edge_rows} | {e[1] for e in edge_rows})
        for chunk in chunks(others):
            marks = ",".join("?" * len(chunk))
            info_rows += self.conn.execute(
                f"SELECT id, kind, is_test FROM files WHERE id IN ({marks})", chunk).fetchall()
        edges = [(path_of(s), path_of(d), k, n) for s, d, k, n in edge_rows]
        externals = [(path_of(s), m, k) for s, m, k in external_rows]
        info = {path_of(i): (k, t) for i, k, t in info_rows}
        depends: dict[str, list[Link]] = defaultdict(list)
        used: dict[str, list[Link]] = defaultdict(list)
        tested: dict[str, list[Link]] = defaultdict(list)
        for src, dst, kind, names in sorted(edges):
            if src in wanted:
                depends[src].append(Link(dst, kind, info.get(dst, ("file", 0))[0] == "file", names_of(names)))
            if dst in wanted:
                kind_of, is_test = info.get(src, ("file", 0))
                used[dst].append(Link(src, kind, kind_of == "file"))
                if is_test:
                    tested[dst].append(Link(src, kind, kind_of == "file"))
        outside: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for src, module, kind in externals:
            if src in wanted:
                outside[src].add((module, kind))
        return {path: FileXref(path, tuple(sorted(depends[path], key=lambda l: l.path)),
                               tuple(External(m, k) for m, k in sorted(outside[path])),
                               tuple(sorted(used[path], key=lambda l: l.path)),
                               tuple(sorted(tested[path], key=lambda l: l.path)))
                for path in sorted(wanted)}

    def write_xrefs(self, paths: list[str]) -> None:
        """Write the cross-references of `paths`, :data:`XREF_BATCH` files at a time (those of
        every file at once held every edge and every file's links: 280 MB on a 48k-file tree)."""
        for batch in chunks(sorted(set(paths)), XREF_BATCH):
            for path, xref in self.file_xrefs(batch).items():
                self.write(self.xref_path(path), xref_bytes(xref))

    # ---------------------------------------------------------------- per folder

    def folder_digest(self, folder: str) -> FolderDigest:
        """What the pages of one folder show."""
        conn = self.conn
        files = []
        readme = readme_doc = package_doc = ""
        exports: tuple[str, ...] = ()
        for (path, kind, language, description, doc, parsed, is_test, entry_point, size,
             media_type, export_text, target, keywords) in conn.execute(
                "SELECT p.path, kind, language, description, doc, parsed, is_test, entry_point, size,"
                " media_type, exports, link_target, keywords FROM files f JOIN paths p ON p.id = f.id"
                " WHERE folder=? ORDER BY p.path", (folder,)):
            name = path.rpartition("/")[2]
            files.append(FolderFile(name, kind, language or "", description or "",
                                    size if kind != "file" else 0, media_type or "", target or "",
                                    bool(parsed), bool(is_test), bool(entry_point), bool(keywords)))
            if name.lower().startswith("readme") and kind == "file" and doc and not readme:
                readme, readme_doc = name, doc
            if name in ("__init__.py", "__init__.pyi") and kind == "file":
                package_doc = package_doc or (doc or "")
                exports = exports or names_of(export_text)
        prefix, upper = (folder + "/", folder + "0") if folder else ("", "\U0010ffff")
        direct_files: dict[str, int] = defaultdict(int)
        grandchildren: dict[str, set[str]] = defaultdict(set)
        descriptions: dict[str, str] = {}
        for path, kind, doc in conn.execute(
                "SELECT p.path, f.kind, f.doc FROM paths p JOIN files f ON f.id = p.id "
                "WHERE p.path>=? AND p.path<? ORDER BY p.path", (prefix, upper)):
            child, _, below = path[len(prefix):].partition("/")
            if not below:
                continue
            if "/" in below:
                grandchildren[child].add(below.split("/", 1)[0])
                continue
            direct_files[child] += 1
            if kind == "file" and doc and child not in descriptions and (
                    below.lower().startswith("readme") or below in ("__init__.py", "__init__.pyi")):
                descriptions[child] = _first_sentence(doc)
        subfolders = tuple(Subfolder(name, direct_files.get(name, 0), len(grandchildren.get(name, ())),
                                     descriptions.get(name, ""))
                           for name in sorted(set(direct_files) | set(grandchildren)))
        inbound: dict[str, set[str]] = defaultdict(set)
        uses: dict[str, int] = defaultdict(int)
        used_by: dict[str, int] = defaultdict(int)
        tested_by: dict[str, int] = defaultdict(int)
        for src, dst, is_test in conn.execute(
                "SELECT ps.path, pd.path, s.is_test FROM edges e JOIN files f ON f.id = e.dst "
                "JOIN files s ON s.id = e.src JOIN paths ps ON ps.id = e.src "
                "JOIN paths pd ON pd.id = e.dst WHERE f.folder=?", (folder,)):
            inbound[dst].add(src)
            src_folder = src.rpartition("/")[0]
            if src_folder != folder:
                used_by[src_folder] += 1
                if is_test:
                    tested_by[src] += 1
        for dst, in conn.execute(
                "SELECT p.path FROM edges e JOIN files f ON f.id = e.src JOIN paths p ON p.id = e.dst "
                "WHERE f.folder=?", (folder,)):
            dst_folder = dst.rpartition("/")[0]
            if dst_folder != folder:
                uses[dst_folder] += 1
        main = sorted(((len(v), k) for k, v in inbound.items()), key=lambda t: (-t[0], t[1]))
        return FolderDigest(folder, tuple(files), subfolders, readme, readme_doc, package_doc, exports,
                            tuple(Ranked(p, n) for n, p in main[:MAIN_MODULES]),
                            _top(uses), _top(used_by), _top(tested_by, 10))

    def write_folders(self, folders: Iterable[str]) -> None:
        for folder in sorted(set(folders)):
            self.write(self.folder_path(folder), pack(self.folder_digest(folder)))

    def subtree_total(self, folder: str) -> int:
        """Number of keyword rows in the subtree of `folder`."""
        row = self.conn.execute("SELECT sum(count) FROM subtree WHERE folder=?", (folder,)).fetchone()
        return int(row[0] or 0)

    def folders_with_total(self, totals: set[int]) -> set[str]:
        """Folders whose subtree holds one of `totals` keyword rows."""
        marks = ",".join("?" * len(totals))
        return {folder for (folder,) in self.conn.execute(
            f"SELECT folder FROM subtree GROUP BY folder HAVING sum(count) IN ({marks})",
            sorted(totals))}

    def same_as(self, folder: str, total: int) -> str:
        """The index that lists exactly the subtree rows of `folder`, when another one does:
        `keywords` when the subtree holds every row of the repository, else the deepest
        subfolder whose subtree holds them all (a folder whose rows all lie in one child);
        empty otherwise.  The first depends on the repository's total: the model rewrites the
        digests of the folders concerned whenever that total changes."""
        if not folder or not total:
            return ""
        if total == self.subtree_total(""):
            return "keywords"
        # the folders holding all of them form a chain below `folder`, and each holds every
        # row, so each is a folder of any one row's path: those are tried, the deepest first
        # (a search of the sums of every folder of the subtree read 7,300 rows for torch4x's
        # `t2`, at every edit below it)
        row = self.conn.execute(
            "SELECT p.path FROM paths p WHERE p.path>? AND p.path<? "
            "AND EXISTS (SELECT 1 FROM symbols s WHERE s.file = p.id) LIMIT 1",
            (folder + "/", folder + "0")).fetchone()
        if row is None:
            return ""
        for above in ancestors(row[0]):
            if len(above) <= len(folder):
                break
            if self.subtree_total(above) == total:
                return above
        return ""

    def subtree_digest(self, folder: str) -> bytes:
        """Per-letter count and hash of the folder's subtree keyword rows, and which other
        index lists the same rows (see :meth:`same_as`); packed."""
        data = {bucket: [count, digest] for bucket, count, digest in self.conn.execute(
            "SELECT bucket, count, hash FROM subtree WHERE folder=? ORDER BY bucket", (folder,))}
        total = sum(count for count, _ in data.values())
        return pack({"folder": folder, "buckets": data, "same_as": self.same_as(folder, total)})

    def write_subtrees(self, folders: Iterable[str]) -> None:
        for folder in sorted(set(folders)):
            self.write(self.subtree_path(folder), self.subtree_digest(folder))

    # ---------------------------------------------------------------- global

    def write_globals(self, folders: set[str], paths: Iterable[str]) -> None:
        """`stats.json`, `findings.json` and `book.json`."""
        languages: dict[str, int] = defaultdict(int)
        kinds: dict[str, int] = defaultdict(int)
        findings: list[Finding] = []
        for path, kind, language, finding_text in self.conn.execute(
                "SELECT p.path, f.kind, f.language, f.findings FROM files f JOIN paths p ON p.id = f.id "
                "ORDER BY p.path"):
            kinds[kind] += 1
            if kind == "file":
                languages[language or "text"] += 1
            for item in json.loads(finding_text or "[]"):
                findings.append(Finding(item.get("path", path), item.get("line", 0), item.get("message", "")))
        stats = {"files": dict(sorted(kinds.items())), "languages": dict(sorted(languages.items())),
                 "folders": len(folders)}
        self.write(os.path.join(self.state, "stats.json"), json.dumps(stats, sort_keys=True, ensure_ascii=False) + "\n")
        self.write(os.path.join(self.state, "findings.json"), dumps(findings))
        tops = sorted({rel.split("/", 1)[0] for rel in paths if "/" in rel})
        weight: dict[tuple[str, str], int] = defaultdict(int)
        top_set = set(tops)
        path_of = self.ids.path
        for src_id, dst_id in self.conn.execute("SELECT src, dst FROM edges"):
            src, dst = path_of(src_id), path_of(dst_id)
            a = src.split("/", 1)[0] if "/" in src else ""
            b = dst.split("/", 1)[0] if "/" in dst else ""
            if a != b and a in top_set and b in top_set:
                weight[(a, b)] += 1
        book = {"chapters": dependency_order(tops, weight),
                "edges": [[a, b, n] for (a, b), n in sorted(weight.items())]}
        self.write(os.path.join(self.state, "book.json"), json.dumps(book, sort_keys=True, ensure_ascii=False) + "\n")

    def write_entry(self, folders: set[str]) -> None:
        """`entry.json`: the project's name and where a reader starts (:mod:`docgraph.entry`)."""
        from .entry import entry_digest

        self.write(os.path.join(self.state, ENTRY), dumps(entry_digest(self.conn, folders, self.root_name)))
