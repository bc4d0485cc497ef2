"""The repository model: every file's summary in one SQLite database, kept up to date incrementally.

The model stage is the fan-in point of the graph.  It reads only the summaries whose bytes changed
since its last run (it keeps their stat data and hashes), folds them into the database, resolves
references and rewrites the digests (:mod:`docgraph.digests`) whose content changed.

Two paths, same result (the property tests compare incremental builds with clean ones):

- *bulk*, when the database is new or most files changed: everything in memory, one pass, bulk
  inserts;
- *incremental*, otherwise: only changed files' rows are replaced.  References are re-resolved for
  the changed files and, when files were added or removed, for the files whose imports mention
  one of their names (each import's "tails": module components, imported names, the header's or
  link's file name).  Adding or removing an `__init__.py`, changing a `go.mod` or a
  `composer.json` (module paths, PSR-4 roots: their summaries' declared names, handed to the
  resolver), or changing the include roots, changes module names wholesale and re-resolves
  everything.

Keyword digests hold per initial letter a count and the sum of the rows' hashes modulo 2**128;
sums compose, so an edit updates its ancestors by difference instead of rescanning subtrees.  The
database is a cache: a missing or damaged one is rebuilt from the summaries with one warning, and
one of another schema (an older docgraph) is replaced by an empty one and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sqlite3
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from . import layout
from .digests import (
    CHECK_SHIFT,
    ENTRY,
    LOG,
    MODULUS,
    REFS_SEP,
    SEP,
    Digests,
    KeywordRow,
    PathIds,
    ancestors,
    by_path,
    chunks,
    database_identity,
    names_of,
    read_log_position,
    row_hash,
)
from .discover import folders_of
from .facts import SummaryImport, pack, unpack_plain
from .store import read_bytes
from .xref import MANIFESTS, Edge, Resolver, swift_target

log = logging.getLogger("docgraph")

BULK_SHARE = 0.3   # above this share of changed files, rebuild in bulk
BULK_BATCH = 2000  # files whose rows a bulk rebuild holds and inserts at once
_EMPTY = pack({})  # what a summary file that vanished while being read counts as

# Every table names files by their id in `paths` (:class:`docgraph.digests.PathIds`), each path
# string stored once: 26 MB instead of 83 MB on the torch corpus, where the strings were stored
# in 15 tables and indexes.  `tails` is keyed by (tail, file) alone; the tails of a file are
# derived from its imports, so they are deleted by key, not through an index of their own.
_FILE_COLUMNS = 19
_TABLES = ("files", "symbols", "imports", "tails", "edges", "refs", "externals", "subtree", "paths",
           "ledgers", "row_log")
LOG_ROWS = 50_000
"""Keyword rows the log of changes keeps (see :meth:`Model._log_changes`): past this, the oldest
updates' rows are dropped until half remain.  An identifier edit logs the rows that differ (a
rewritten file's rows that come back with the same rowid are the same rows): 52 rows for 24
edit builds of torch4x, 16 kB of the database."""
ORDER_INDEX = "symbols_order"
"""The index the letters are read by: every column of a keyword row but its path, its references
too (`symbols.refs`, the paths of the files importing it, set with its check), so that a letter of
the repository or of a large subtree is read from it alone: no row of the table, no query of
`refs` per name (torch4x's 584,000 rows: 2.4 µs a row through the table, 1.6 from this index;
a small subtree's rows are read file by file, see :meth:`Digests._letter_where`)."""
LOG_FILES = 2_000
"""An update of more files than this logs none of their rows (the letters' sums are then summed
once): a checkout of 4,000 files would read and compare their 120,000 rows twice, to log
more than the log keeps."""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS paths(id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS files(
    id INTEGER PRIMARY KEY, folder TEXT, kind TEXT, stat TEXT, hash TEXT, language TEXT,
    description TEXT, doc TEXT, parsed INT, is_test INT, entry_point INT, size INT,
    media_type TEXT, exports TEXT, link_target TEXT, findings TEXT, keywords INT, title TEXT,
    project TEXT);
CREATE INDEX IF NOT EXISTS files_folder ON files(folder);
CREATE TABLE IF NOT EXISTS symbols(file INT, name TEXT, kind TEXT, line INT, bucket TEXT, qualname TEXT,
    lname TEXT, h INT, refs TEXT);
CREATE INDEX IF NOT EXISTS symbols_file ON symbols(file, bucket);
CREATE INDEX IF NOT EXISTS symbols_order ON symbols(bucket, coalesce(lname, name), file, h, name, qualname, line,
    kind, refs, lname);
CREATE TABLE IF NOT EXISTS imports(file INT, module TEXT, kind TEXT, names TEXT, level INT, system INT);
CREATE INDEX IF NOT EXISTS imports_file ON imports(file);
CREATE TABLE IF NOT EXISTS tails(tail TEXT, file INT, PRIMARY KEY(tail, file)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS edges(src INT, dst INT, kind TEXT, names TEXT);
CREATE INDEX IF NOT EXISTS edges_src ON edges(src);
CREATE INDEX IF NOT EXISTS edges_dst ON edges(dst);
CREATE TABLE IF NOT EXISTS refs(dst INT, name TEXT, src INT);
CREATE INDEX IF NOT EXISTS refs_dst ON refs(dst, name);
CREATE INDEX IF NOT EXISTS refs_src ON refs(src);
CREATE TABLE IF NOT EXISTS externals(src INT, module TEXT, kind TEXT);
CREATE INDEX IF NOT EXISTS externals_src ON externals(src);
CREATE TABLE IF NOT EXISTS ledgers(name TEXT PRIMARY KEY, stat TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subtree(folder TEXT, bucket TEXT, count INT, hash TEXT,
    PRIMARY KEY(folder, bucket)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS row_log(gen INT, bucket TEXT, ord TEXT, name TEXT, qualname TEXT, path TEXT,
    line INT, kind TEXT, rid INT, h INT, sign INT);
CREATE INDEX IF NOT EXISTS row_log_bucket ON row_log(bucket, gen);
"""
SCHEMA_VERSION = "7:" + hashlib.sha1(_SCHEMA.encode()).hexdigest()[:12]
"""A database of another schema is dropped and made anew: the version is derived from the
schema's text, so no change to a table can keep an old database that no longer fits."""


@dataclass(frozen=True)
class TreeRow:
    """One entry of the source listing the model receives (see :mod:`docgraph.graph`)."""

    rel: str
    """Path relative to ROOT."""
    kind: str
    """file, binary, link or secret."""
    size: int
    """Size (links, secrets)."""
    target: str
    """Link target."""


class Listing:
    """The source listing the model receives (`tree.json`), parsed only when a step needs all
    of it: when its bytes are those of the model's last run, an edit of file contents reads
    only the ledgers, the summaries that changed and their rows (the listing of a 48,000-file
    tree is 3.5 MB of JSON)."""

    def __init__(self, read: Callable[[], bytes], stat: str = ""):
        self._read = read
        self.stat = stat
        """The file's "size:mtime_ns" when it is old enough to vouch for its bytes, else ""."""

    @cached_property
    def raw(self) -> bytes:
        return self._read()

    @cached_property
    def digest(self) -> str:
        return hashlib.sha1(self.raw).hexdigest()

    def digest_as(self, stat: str | None, digest: str | None) -> str:
        """The digest, taken from the last run's record (`stat`, `digest`) when the file's stat
        data are those recorded with it: torch4x's listing took 6 ms to read and hash."""
        if self.stat and stat == self.stat and digest:
            self.__dict__["digest"] = digest
        return self.digest

    @cached_property
    def rows(self) -> dict[str, TreeRow]:
        """Path -> row, in path order."""
        return {row[0]: TreeRow(*row) for row in json.loads(self.raw)["entries"]}

    @cached_property
    def folders(self) -> set[str]:
        """Every folder of the listing, those holding only folders included (the digests')."""
        return set(folders_of(self.rows))

    @cached_property
    def ledger_groups(self) -> list[str]:
        """The groups of the folders with analysed files of their own (the graph's, see
        :func:`docgraph.layout.group`), sorted."""
        folders = {rel.rpartition("/")[0] for rel, row in self.rows.items() if row.kind in ("file", "binary")}
        return sorted({layout.group(layout.key(folder)) for folder in folders})


def open_model(path: str) -> sqlite3.Connection:
    """Open (or create) the model database; a damaged one, or one of another schema, is replaced
    (the first with one warning): its rows are rebuilt from the summaries."""
    for attempt in (1, 2, 3):
        try:
            conn = sqlite3.connect(path, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT)")
            version = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type='table' "
                                  "AND name != 'meta'").fetchone()[0]
            if (version[0] if version else "") != SCHEMA_VERSION and tables and attempt < 3:
                conn.close()  # tables of another shape: start from an empty file
                _remove_database(path)
                continue
            conn.executescript(_SCHEMA)
            if version is None or version[0] != SCHEMA_VERSION:
                conn.execute("DELETE FROM meta")
                conn.execute("INSERT OR REPLACE INTO meta VALUES('schema', ?)", (SCHEMA_VERSION,))
            # a read of the files table (a damaged file fails here, not in a task's query); one
            # row, where a count of them read torch4x's 48,000 (2.3 ms of every one of the
            # seven opens of an identifier edit, against 0.2 ms at torch)
            conn.execute("SELECT 1 FROM files LIMIT 1").fetchone()
            return conn
        except sqlite3.DatabaseError as exc:
            if attempt == 3:
                raise
            log.warning("model database %s is damaged (%s); rebuilding it", path, exc)
            _remove_database(path)
    raise AssertionError("unreachable")


def _remove_database(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass


_PATH_KINDS = ("use", "mod", "package", "subject")  # Rust/PHP paths; a test file's subject
_PATH_PARTS = re.compile(r"::|\\|\.")


def tails(imp: SummaryImport) -> set[str]:
    """Names by which an import could be satisfied by a file added later."""
    if imp.kind == "entry" and ":" in imp.module:  # a console script's `package.module:function`
        return {p for p in imp.module.partition(":")[0].strip().split(".") if p}
    if imp.kind in ("import", "from") and "/" not in imp.module:
        return {p for p in imp.module.split(".") if p} | set(imp.names)
    base = imp.module.rstrip("/").rpartition("/")[2]
    found = {base, base.rpartition(".")[0] or base}
    if imp.kind in _PATH_KINDS:
        found |= {p for p in _PATH_PARTS.split(imp.module) if p} | set(imp.names)
    return found


def file_tails(rel: str) -> set[str]:
    """The names under which file `rel` can be imported (see :func:`tails`); a Go file also by
    its folder (a Go import names a package folder), a Rust `mod.rs` by its folder, a crate root
    by `crate` and the crate folder's name, a Swift file by its package target."""
    folder, _, base = rel.rpartition("/")
    stem = base.partition(".")[0]
    found = {base, stem, base.rpartition(".")[0] or base}
    if stem in ("index", "__init__", "CMakeLists", "mod") or base.endswith(".go"):
        found.add(folder.rpartition("/")[2] or ".")
    if base.endswith(".swift") and (target := swift_target(rel)):
        found.add(target)  # `import Target` names a Swift package's target
    if base in ("lib.rs", "main.rs"):  # a crate's root: `use crate::x`, `use crate_name::x`
        found |= {"crate", folder.rpartition("/")[0].rpartition("/")[2].replace("-", "_")}
    found.discard("")
    return found


def _file_row(ident: int, rel: str, row: TreeRow, summary: dict[str, Any] | None, stat: str,
              digest: str) -> tuple[Any, ...]:
    folder = rel.rpartition("/")[0]
    if summary is None:
        return (ident, folder, row.kind, stat, "", "", "", "", 1, 0, 0, row.size, "", "", row.target, "[]", 0,
                "", "")
    return (ident, folder, row.kind, stat, digest, summary.get("language", ""),
            summary.get("description", ""), summary.get("doc", ""), int(summary.get("parsed", True)),
            int(summary.get("is_test", False)), int(summary.get("entry_point", False)),
            summary.get("size", 0), summary.get("media_type", ""), SEP.join(summary.get("exports", ())),
            "", json.dumps(summary.get("findings", []), sort_keys=True),
            int(summary.get("keywords", True)), summary.get("title", ""), summary.get("project", ""))


def _ledger_stats(ledger_of: dict[str, str]) -> list[tuple[str, str]]:
    """(group, "mtime_ns:size") of every group of ledgers, "" for one missing: what the model
    notes it has read."""
    found = []
    for group, path in ledger_of.items():
        try:
            st = os.stat(path)
        except FileNotFoundError:  # noted too: the table lists every group
            found.append((group, ""))
            continue
        found.append((group, f"{st.st_mtime_ns}:{st.st_size}"))
    return found


def symbol_row(file: int, symbol: dict[str, Any]) -> tuple[Any, ...]:
    """A row of `symbols` but its check (set once its references are known): the name's index
    order (:func:`docgraph.layout.sort_key`) is stored where it differs from the name alone."""
    name = symbol["name"]
    order = layout.sort_key(name)[0]
    return (file, name, symbol["kind"], symbol["line"] or 0, layout.bucket_of(name), symbol.get("qualname", ""),
            order if order != name else None)


def _imports(summary: dict[str, Any]) -> list[SummaryImport]:
    return [SummaryImport(i["module"], i["kind"], tuple(i.get("names", ())), i.get("level", 0),
                          i.get("system", False)) for i in summary.get("imports", ())]


class Model:
    """Incremental update of the model database and the digests derived from it."""

    def __init__(self, conn: sqlite3.Connection, state: str):
        self.conn = conn
        self.state = state
        self.ids = PathIds(conn)
        self.digests = Digests(conn, state, self.ids)

    # ---------------------------------------------------------------- change detection

    def update(self, listing: Listing, summary_of: Callable[[str], bytes | None],
               ledger_of: Callable[[str], str], include_roots: tuple[str, ...], code: str = "",
               root_name: str = "", ensure: bool = True,
               read_ahead: Callable[[list[str]], None] = lambda rels: None) -> list[str]:
        """Bring the model up to date with the summaries on disk; return digest files written.

        `summary_of` reads the packed summary of an analysed source (text or binary; None when
        its analysis wrote none), `ledger_of` the file of a group of ledgers (the summaries'
        hashes of the files of a group of folders, see :func:`docgraph.layout.group`): only
        the groups whose stat data changed are read, and only the summaries whose hash differs
        from the one folded in.  When the listing is the one of the last run (and nothing else
        the whole depends on changed), only those are looked at (:meth:`_edited`); else every
        path of the listing is compared with its row.  `code` is the fingerprint of the
        model's code: when it differs from the one that built the database, everything is
        rebuilt from the summaries (and every digest compared); `root_name` names the project
        when nothing in it does (the entry digest).  `ensure` looks for digests missing on disk
        (deleted by hand): the runner says when it found them all.  `read_ahead` asks for the
        summaries of files a rebuild in bulk reads next (:func:`docgraph.store.read_ahead`).
        """
        self.digests.root_name = root_name
        conn = self.conn
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        if "code" in meta and meta["code"] != code:
            log.info("docgraph's model code changed; rebuilding the model")
            conn.executescript("".join(f"DELETE FROM {t};" for t in _TABLES) + f"DELETE FROM meta WHERE key='{LOG}';")
            meta.pop("listing", None)
        roots = json.dumps(list(include_roots))
        roots_changed = meta.get("include_roots") != roots
        # The database commits before the digests are written: a run killed in between (or in
        # the middle of writing one) leaves digests the next run would take as current.  The
        # mark, committed first and cleared last, makes the next run rewrite every digest whose
        # content differs from the database instead.
        interrupted = meta.get("digests") == "pending"
        edited = None
        if meta.get("listing") == listing.digest_as(meta.get("listing_stat"), meta.get("listing")) \
                and not (interrupted or roots_changed):
            edited = self._edited(summary_of, ledger_of)
        conn.execute("INSERT OR REPLACE INTO meta VALUES('digests', 'pending')")
        bulk = False
        if edited is not None:
            changed, rows, ledgers = edited
            if changed:
                self._incremental(listing, rows, changed, [], ledgers, include_roots, roots, False)
            else:
                self._note_ledgers(ledgers)
        else:
            bulk = self._compare(listing, summary_of, ledger_of, include_roots, roots, roots_changed, read_ahead)
        if interrupted and not bulk:
            log.info("the last model update was interrupted; checking every digest")
            self._write_all(listing)
        elif not bulk and meta.get("root_name") != root_name:  # the entry page's last-resort title
            self.digests.write_entry(listing.folders)
        if ensure:
            self._ensure(listing)
        conn.executemany("INSERT OR REPLACE INTO meta VALUES(?, ?)",
                         [("code", code), ("root_name", root_name), ("listing", listing.digest),
                          ("listing_stat", listing.stat)])
        conn.execute("DELETE FROM meta WHERE key='digests'")
        return sorted(self.digests.written)

    def _edited(self, summary_of: Callable[[str], bytes | None], ledger_of: Callable[[str], str]
                ) -> tuple[dict[str, tuple[dict[str, Any] | None, str, str]], dict[str, TreeRow],
                           list[tuple[str, str]]] | None:
        """With the listing of the last run: the changed summaries (parsed), the listing's rows
        of their files (from the database: paths, kinds and links are as it recorded them) and
        the groups' stat data, from the groups that changed alone; None when one names a file
        the database has no row of (its analysis had failed), which the whole comparison
        handles."""
        conn = self.conn
        read = dict(conn.execute("SELECT name, stat FROM ledgers"))
        ledgers = _ledger_stats({group: ledger_of(group) for group in read})
        changed: dict[str, tuple[dict[str, Any] | None, str, str]] = {}
        rows: dict[str, TreeRow] = {}
        for group, stat in ledgers:
            if read[group] == stat:
                continue
            for rel, digest in json.loads(read_bytes(ledger_of(group)) or b"[]"):
                old = conn.execute("SELECT f.kind, f.hash FROM paths p JOIN files f ON f.id = p.id "
                                   "WHERE p.path=?", (rel,)).fetchone()
                if old is None:
                    return None
                if old[1] == digest:
                    continue
                data = summary_of(rel) or _EMPTY  # (vanished while being read)
                changed[rel] = (unpack_plain(data), "", hashlib.sha1(data).hexdigest())
                rows[rel] = TreeRow(rel, old[0], 0, "")
        return changed, rows, ledgers

    def _compare(self, listing: Listing, summary_of: Callable[[str], bytes | None],
                 ledger_of: Callable[[str], str], include_roots: tuple[str, ...], roots: str,
                 roots_changed: bool, read_ahead: Callable[[list[str]], None]) -> bool:
        """Compare every path of the listing with its row and fold in what differs (in bulk when
        the database is empty or most files changed: then True)."""
        conn = self.conn
        rows = conn.execute("SELECT p.id, p.path, f.kind, f.stat, f.hash "
                            "FROM paths p LEFT JOIN files f ON f.id = p.id").fetchall()
        self.ids.load((ident, path) for ident, path, *_ in rows)
        stored = {path: (kind, stat, digest) for _, path, kind, stat, digest in rows if kind is not None}
        entries = listing.rows
        listed, ledgers = self._read_ledgers({g: ledger_of(g) for g in listing.ledger_groups})
        # rel -> (summary bytes, stat, hash): parsed one at a time (all 12k parsed: 90 MB on torch)
        changed: dict[str, tuple[bytes | None, str, str]] = {}
        # an empty database is rebuilt in bulk, which reads each summary as it goes: read here,
        # every summary's bytes would be held at once (22 MB on a 48k-file tree)
        for rel, row in entries.items() if stored else ():
            old = stored.get(rel)
            if row.kind not in ("file", "binary"):  # links and secrets: the listing is all there is
                stat = f"{row.kind}:{row.size}:{row.target}"
                if old is None or old[1] != stat or old[0] != row.kind:
                    changed[rel] = (None, stat, "")
                continue
            digest = listed.get(rel)
            if digest is None and old is not None and old[0] == row.kind:
                continue  # its group is as the model last read it
            if digest is not None and old is not None and old[2] == digest and old[0] == row.kind:
                continue
            data = summary_of(rel)
            if data is None and digest is None:
                continue  # its analysis failed; the report says so
            data = data or _EMPTY  # vanished while being read
            changed[rel] = (data, "", hashlib.sha1(data).hexdigest())
        removed = sorted(set(self.ids.every()) - set(entries))
        if not stored or len(changed) + len(removed) > BULK_SHARE * max(1, len(entries)):
            self._bulk(listing, changed, summary_of, include_roots, roots, ledgers, read_ahead)
            self._write_all(listing)
            return True
        if changed or removed or roots_changed:
            parsed = {rel: (unpack_plain(data) if data is not None else None, stat, digest)
                      for rel, (data, stat, digest) in changed.items()}
            self._incremental(listing, entries, parsed, removed, ledgers, include_roots, roots,
                              roots_changed)
        else:
            self._note_ledgers(ledgers)
        return False

    def _read_ledgers(self, ledger_of: dict[str, str]) -> tuple[dict[str, str], list[tuple[str, str]]]:
        """The summary hashes of the files of every group whose file changed since the model
        read it, and (group, stat data) of every group now, for :meth:`_note_ledgers`."""
        read = dict(self.conn.execute("SELECT name, stat FROM ledgers"))
        listed: dict[str, str] = {}
        ledgers = _ledger_stats(ledger_of)
        for group, stat in ledgers:
            if read.get(group) != stat:
                for rel, digest in json.loads(read_bytes(ledger_of[group]) or b"[]"):
                    listed[rel] = digest
        return listed, ledgers

    def _note_ledgers(self, ledgers: list[tuple[str, str]]) -> None:
        """Remember the groups as read (inside the transaction that folds in their files)."""
        conn = self.conn
        conn.execute("DELETE FROM ledgers")
        conn.executemany("INSERT INTO ledgers VALUES(?,?)", ledgers)

    def adopt(self, ledger_of: dict[str, str], folders: set[str], root_name: str) -> None:
        """Make a database built elsewhere from the same groups of ledgers (a shared cache entry
        keyed by their bytes) this machine's: record the stat data of the groups here, so the next
        :meth:`update` reads only those that change, as after a local build; and when this
        repository's folder has another name, the entry digest (which can show it) anew."""
        self.conn.execute("BEGIN")
        self._note_ledgers(_ledger_stats(ledger_of))
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES('root_name', ?)", (root_name,))
        self.conn.execute("COMMIT")
        self.digests.root_name = root_name
        self.digests.write_entry(folders)

    def _write_all(self, listing: Listing) -> None:
        """Every digest, each written only where its content differs from the file's."""
        d, folders = self.digests, listing.folders
        d.write_xrefs([r for r, row in listing.rows.items() if row.kind == "file"])
        d.write_folders(folders)
        d.write_subtrees(folders)
        d.write_globals(folders, listing.rows)
        d.write_entry(folders)

    def _ensure(self, listing: Listing) -> None:
        """Write any digest that is missing on disk (deleted by hand, or a fresh state folder)."""
        d, folders = self.digests, listing.folders
        missing = [r for r, row in listing.rows.items()
                   if row.kind == "file" and not os.path.exists(d.xref_path(r))]
        d.write_xrefs(missing)
        d.write_folders(f for f in folders if not os.path.exists(d.folder_path(f)))
        d.write_subtrees(f for f in folders if not os.path.exists(d.subtree_path(f)))
        if any(not os.path.exists(os.path.join(self.state, n))
               for n in ("book.json", "stats.json", "findings.json")):
            d.write_globals(folders, listing.rows)
        if not os.path.exists(os.path.join(self.state, ENTRY)):
            d.write_entry(folders)

    # ---------------------------------------------------------------- bulk

    def _bulk(self, listing: Listing, changed: dict[str, tuple[bytes | None, str, str]],
              summary_of: Callable[[str], bytes | None], include_roots: tuple[str, ...], roots: str,
              ledgers: list[tuple[str, str]], read_ahead: Callable[[list[str]], None]) -> None:
        """Every table from the summaries, :data:`BULK_BATCH` files' rows in memory at a time:
        all rows at once peaked at 550 MB on a 48k-file tree.  The subtree sums are read back
        from the tables once they are indexed, by the query the incremental path uses;
        `read_ahead` is asked for each batch's summaries while the one before is folded in."""
        conn = self.conn
        manifests: dict[str, tuple[str, ...]] = {}  # what go.mod, composer.json files declare
        entries = listing.rows
        for rel, row in entries.items():
            if rel.rpartition("/")[2] in MANIFESTS and (rel in changed or row.kind in ("file", "binary")):
                data = changed[rel][0] if rel in changed else summary_of(rel)
                manifests[rel] = tuple(unpack_plain(data).get("exports", ()) if data else ())
        resolver = Resolver([r for r, row in entries.items() if row.kind in ("file", "binary", "link")],
                            include_roots, manifests)
        indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type='index' "
                               "AND sql IS NOT NULL").fetchall()
        paths = sorted(entries)
        conn.execute("BEGIN")
        try:
            for table in _TABLES:
                conn.execute(f"DELETE FROM {table}")
            # the log starts anew, in an epoch of its own (a position of other tables never matches)
            conn.execute("INSERT OR REPLACE INTO meta VALUES(?, ?)",
                         (LOG, json.dumps([os.urandom(8).hex(), 0, 1, 0, database_identity(conn)])))
            for name, _sql in indexes:  # filling tables without indexes, then indexing, is faster
                conn.execute(f"DROP INDEX {name}")
            self.ids.assign(paths)
            batches = list(chunks(paths, BULK_BATCH))

            def ask(batch: list[str]) -> None:
                read_ahead([rel for rel in batch if rel not in changed and entries[rel].kind in ("file", "binary")])

            # the summaries of a tree analysed a minute ago may have left the page cache: those
            # of the next batch are read from disk while this one is folded in
            ask(batches[0] if batches else [])
            for at, batch in enumerate(batches):
                if at + 1 < len(batches):
                    ask(batches[at + 1])
                self._bulk_rows(batch, entries, changed, summary_of, resolver)
            conn.execute("INSERT OR REPLACE INTO meta VALUES('include_roots', ?)", (roots,))
            self._note_ledgers(ledgers)
            # the letters' index once the sums have set each row's check, which it holds (set
            # in it, each of torch4x's 580,000 checks moved an entry of the index)
            for name, sql in indexes:
                if name != ORDER_INDEX:
                    conn.execute(sql)
            self._bulk_subtree(paths)
            for name, sql in indexes:
                if name == ORDER_INDEX:
                    conn.execute(sql)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _bulk_rows(self, batch: list[str], listing: dict[str, TreeRow],
                   changed: dict[str, tuple[bytes | None, str, str]], summary_of: Callable[[str], bytes | None],
                   resolver: Resolver) -> None:
        """Insert the rows of the files of `batch` (their summaries parsed one at a time)."""
        conn, ident = self.conn, self.ids.every()
        files: list[tuple[Any, ...]] = []
        symbols: list[tuple[Any, ...]] = []
        imports: list[tuple[Any, ...]] = []
        tail_rows: list[tuple[str, int]] = []
        edges: list[Edge] = []
        externals: list[tuple[str, str, str]] = []
        for rel in batch:
            row = listing[rel]
            if rel in changed:
                data, stat, digest = changed[rel]
            elif row.kind not in ("file", "binary"):
                data, stat, digest = None, f"{row.kind}:{row.size}:{row.target}", ""
            else:
                data = summary_of(rel)
                if data is None:
                    continue  # its analysis failed; the report says so
                stat, digest = "", hashlib.sha1(data).hexdigest()
            summary = unpack_plain(data) if data is not None else None
            file = ident[rel]
            files.append(_file_row(file, rel, row, summary, stat, digest))
            if summary is None:
                continue
            symbols += [symbol_row(file, s) for s in summary.get("symbols", ())]
            parsed = _imports(summary)
            imports += [(file, i.module, i.kind, SEP.join(i.names), i.level, int(i.system)) for i in parsed]
            tail_rows += [(t, file) for t in set().union(*(tails(i) for i in parsed))] if parsed else []
            found, missing = resolver.resolve(rel, parsed)
            edges += found
            externals += [(rel, module, kind) for module, kind in missing]
        conn.executemany(f"INSERT INTO files VALUES({','.join('?' * _FILE_COLUMNS)})", files)
        conn.executemany("INSERT INTO symbols VALUES(?,?,?,?,?,?,?,NULL,NULL)", symbols)
        conn.executemany("INSERT INTO imports VALUES(?,?,?,?,?,?)", imports)
        conn.executemany("INSERT INTO tails VALUES(?,?)", tail_rows)
        self._insert_edges(edges, externals)

    def _bulk_subtree(self, paths: list[str]) -> None:
        """The keyword sums of every folder (per letter: a count and a sum of row hashes), from
        the rows of :meth:`Digests.checked_rows`: per folder of the defining file first, then once
        into each ancestor; and each row's check (its hash's top bits)."""
        direct: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for batch in chunks(paths, BULK_BATCH):
            checks = []
            for rowid, row in self.digests.checked_rows(batch):
                entry = direct[(row.path.rpartition("/")[0], layout.bucket_of(row.name))]
                value = row_hash(row)
                entry[0] += 1
                entry[1] += value
                checks.append((value >> CHECK_SHIFT, REFS_SEP.join(row.refs), rowid))
            self.conn.executemany("UPDATE symbols SET h=?, refs=? WHERE rowid=?", checks)
        totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for (folder, bucket), (count, value) in direct.items():
            for above in ancestors(folder + "/"):
                entry = totals[(above, bucket)]
                entry[0] += count
                entry[1] += value
        self.conn.executemany("INSERT INTO subtree VALUES(?,?,?,?)",
                              [(f, b, n, f"{v % MODULUS:032x}") for (f, b), (n, v) in totals.items()])

    def _insert_edges(self, edges: list[Edge], externals: list[tuple[str, str, str]]) -> None:
        ids = self.ids
        ids.add({e.src for e in edges} | {e.dst for e in edges} | {x[0] for x in externals})
        ident = ids.id
        self.conn.executemany("INSERT INTO edges VALUES(?,?,?,?)",
                              ((ident(e.src), ident(e.dst), e.kind, SEP.join(e.names)) for e in edges))
        self.conn.executemany("INSERT INTO refs VALUES(?,?,?)",
                              ((ident(e.dst), name, ident(e.src)) for e in edges for name in e.names))
        self.conn.executemany("INSERT INTO externals VALUES(?,?,?)",
                              ((ident(src), module, kind) for src, module, kind in externals))

    # ---------------------------------------------------------------- incremental

    def _edges_of(self, paths: list[str], column: str) -> set[Edge]:
        out: set[Edge] = set()
        path_of = self.ids.path
        for chunk in chunks(self.ids.ids(paths)):
            marks = ",".join("?" * len(chunk))
            for src, dst, kind, names in self.conn.execute(
                    f"SELECT src, dst, kind, names FROM edges WHERE {column} IN ({marks})", chunk):
                out.add(Edge(path_of(src), path_of(dst), kind, names_of(names)))
        return out

    def _imports_of(self, paths: list[str]) -> dict[str, list[SummaryImport]]:
        """The stored imports of `paths`, in their order."""
        imports: dict[str, list[SummaryImport]] = defaultdict(list)
        path_of = self.ids.path
        for chunk in chunks(self.ids.ids(paths)):
            marks = ",".join("?" * len(chunk))
            for file, module, kind, names, level, system in self.conn.execute(
                    f"SELECT file, module, kind, names, level, system FROM imports "
                    f"WHERE file IN ({marks}) ORDER BY rowid", chunk):
                imports[path_of(file)].append(SummaryImport(module, kind, names_of(names), level, bool(system)))
        return imports

    def _resolve(self, resolver: Resolver, sources: list[str]) -> tuple[list[Edge], list[tuple[str, str, str]]]:
        imports = self._imports_of(sources)
        edges: list[Edge] = []
        externals: list[tuple[str, str, str]] = []
        for path in sorted(imports):
            found, missing = resolver.resolve(path, imports[path])
            edges.extend(found)
            externals.extend((path, module, kind) for module, kind in missing)
        return edges, externals

    def _delete(self, table: str, column: str, paths: list[str]) -> None:
        for chunk in chunks(self.ids.ids(paths)):
            self.conn.execute(f"DELETE FROM {table} WHERE {column} IN ({','.join('?' * len(chunk))})", chunk)

    def _incremental(self, listing: Listing, rows: dict[str, TreeRow],
                     changed: dict[str, tuple[dict[str, Any] | None, str, str]], removed: list[str],
                     ledgers: list[tuple[str, str]], include_roots: tuple[str, ...], roots: str,
                     roots_changed: bool) -> None:
        """Replace the rows of the `changed` files (`rows`: their listing's rows) and delete
        those of the `removed`; resolve again the files whose references can have changed;
        rewrite the digests that can show a change."""
        conn = self.conn
        ids = self.ids
        path_of = ids.path
        touched = sorted(set(changed) | set(removed))
        added = [rel for rel in changed if (known := ids.get(rel)) is None or not conn.execute(
            "SELECT 1 FROM files WHERE id=?", (known,)).fetchone()]
        appeared = added + removed
        before = self._facets(touched)
        old_imports = self._imports_of(touched)
        new_imports = {rel: _imports(summary) if summary is not None else []
                       for rel, (summary, _stat, _digest) in changed.items()}
        conn.execute("BEGIN")
        try:
            # 1. files, imports and tails of the changed files (symbols stay old for now); the
            # tails of a file are those of its imports, deleted by key
            old_tails = [(t, ids.id(path)) for path, found in old_imports.items()
                         for t in set().union(*(tails(i) for i in found))]
            conn.executemany("DELETE FROM tails WHERE tail=? AND file=?", old_tails)
            for table in ("files", "imports"):
                self._delete(table, "id" if table == "files" else "file", touched)
            ids.add(changed)
            ident = ids.id
            for rel, (summary, stat, digest) in changed.items():
                conn.execute(f"INSERT INTO files VALUES({','.join('?' * _FILE_COLUMNS)})",
                             _file_row(ident(rel), rel, rows[rel], summary, stat, digest))
                if parsed := new_imports[rel]:
                    conn.executemany("INSERT INTO imports VALUES(?,?,?,?,?,?)",
                                     [(ident(rel), i.module, i.kind, SEP.join(i.names), i.level, int(i.system))
                                      for i in parsed])
                    conn.executemany("INSERT INTO tails VALUES(?,?)",
                                     [(t, ident(rel)) for t in set().union(*(tails(i) for i in parsed))])
            self._note_ledgers(ledgers)
            # 2. who must be resolved again
            def manifests() -> dict[str, tuple[str, ...]]:  # read only when Go or PHP resolves
                return {path: names_of(text) for path, text in conn.execute(
                    "SELECT p.path, f.exports FROM files f JOIN paths p ON p.id = f.id "
                    "WHERE p.path IN ('go.mod', 'composer.json') "
                    "OR p.path LIKE '%/go.mod' OR p.path LIKE '%/composer.json'")}

            wholesale = roots_changed or any(
                p.rpartition("/")[2] in ("__init__.py", "__init__.pyi") for p in appeared) or any(
                p.rpartition("/")[2] in MANIFESTS for p in touched)  # module paths, PSR-4 roots
            if wholesale:  # every file with imports now, or with references before
                sources = sorted({path_of(p) for p, in conn.execute(
                    "SELECT file FROM imports UNION SELECT src FROM edges UNION SELECT src FROM externals")}
                    | set(changed))
            else:
                # a file's references follow from its imports, its kind and the set of paths: a
                # changed file whose imports and kind are as stored, when no path came or went,
                # keeps its edges (an edit of a function resolves nothing)
                named = {p for p in changed if appeared or new_imports[p] != old_imports.get(p, [])
                         or before.get(p, ())[:1] != (rows[p].kind,)}
                names = sorted(set().union(*(file_tails(p) for p in appeared))) if appeared else []
                for chunk in chunks(names):
                    marks = ",".join("?" * len(chunk))
                    named.update(path_of(p) for p, in conn.execute(
                        f"SELECT DISTINCT file FROM tails WHERE tail IN ({marks})", chunk))
                sources = sorted(named)
            old_edges = self._edges_of(sources + removed, "src") | self._edges_of(removed, "dst")
            new_edges, externals = self._resolve(Resolver(
                [r for r, row in listing.rows.items() if row.kind in ("file", "binary", "link")],
                include_roots, manifests), sources) if sources else ([], [])
            diff = old_edges ^ set(new_edges)
            # 3. keyword rows before and after, for the rows whose content can change
            dirty = sorted(set(touched) | {e.dst for e in diff if e.names})
            old_rows = self.digests.rows_for(dirty)
            logged = self._log_rows(dirty) if len(dirty) <= LOG_FILES else None
            self._delete("symbols", "file", touched)
            for rel, (summary, _stat, _digest) in changed.items():
                if summary is not None:
                    conn.executemany("INSERT INTO symbols VALUES(?,?,?,?,?,?,?,NULL,NULL)",
                                     [symbol_row(ident(rel), s) for s in summary.get("symbols", ())])
            resolved = sorted(set(sources) | set(removed))
            for table in ("edges", "refs", "externals"):
                self._delete(table, "src", resolved)
            self._delete("edges", "dst", removed)
            self._delete("refs", "dst", removed)
            self._insert_edges(new_edges, externals)
            if roots_changed:
                conn.execute("INSERT OR REPLACE INTO meta VALUES('include_roots', ?)", (roots,))
            total_before = self.digests.subtree_total("")
            checked = self.digests.checked_rows(dirty)
            subtree_changed = self._apply_rows(old_rows, by_path(checked), dirty)
            conn.executemany("UPDATE symbols SET h=?, refs=? WHERE rowid=?",
                             [(row_hash(row) >> CHECK_SHIFT, REFS_SEP.join(row.refs), rowid) for rowid, row in checked])
            self._log_changes(logged, self._log_rows(dirty) if logged is not None else None)
            total_after = self.digests.subtree_total("")
            if total_after != total_before:  # which folders hold every row of the repository
                subtree_changed |= self.digests.folders_with_total({total_before, total_after})
            ids.drop(removed)  # nothing refers to them now
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        # 4. digests that can show something that changed
        after = self._facets(touched)
        slices = set(changed)
        affected_folders: set[str] = set()
        for edge in diff:
            slices.update((edge.src, edge.dst))
            affected_folders.update((edge.src.rpartition("/")[0], edge.dst.rpartition("/")[0]))
        for path in touched:
            if before.get(path, ())[:2] != after.get(path, ())[:2]:  # kind or is_test
                slices.update(self._neighbours(path))
            # a folder's digest shows its own files' rows and, of each subfolder, the counts of
            # its entries (changed only when paths appear or go, below) and the description its
            # README or __init__ gives: the file's folder and the one above it, not every
            # ancestor (the root's digest reads every path of the tree)
            affected_folders.update(ancestors(path)[:2])
        if appeared:  # (else every folder named is one of the listing's, its files there still)
            affected_folders = set(listing.folders)
            subtree_changed &= listing.folders
        self.digests.write_xrefs(self._text_files(slices, listing))
        self.digests.write_folders(affected_folders)
        self.digests.write_subtrees(subtree_changed)
        if appeared or diff or any(before.get(p) != after.get(p) for p in touched):
            # counts, findings and chapter order: a full scan, so only when one can have moved;
            # the entry page's name and links (titles, project names, programs, references)
            self.digests.write_globals(listing.folders, listing.rows)
            self.digests.write_entry(listing.folders)

    def _text_files(self, paths: set[str], listing: Listing) -> list[str]:
        """Those of `paths` that are text files of the listing, by the kinds folded in (the
        listing's own for a file without a row: its analysis failed)."""
        kinds = {path: facets[0] for path, facets in self._facets(sorted(paths)).items()}
        if rest := [p for p in paths if p not in kinds]:
            kinds.update((p, listing.rows[p].kind) for p in rest if p in listing.rows)
        return sorted(p for p, kind in kinds.items() if kind == "file")

    def _facets(self, paths: list[str]) -> dict[str, tuple[Any, ...]]:
        """What the global digests, the entry digest and the neighbours' slices show of each
        file (kind and is_test first: the neighbours' slices compare those two)."""
        path_of = self.ids.path
        return {path_of(row[0]): row[1:] for chunk in chunks(self.ids.ids(paths)) for row in self.conn.execute(
            "SELECT id, kind, is_test, language, findings, title, project, entry_point FROM files "
            f"WHERE id IN ({','.join('?' * len(chunk))})", chunk)}

    def _apply_rows(self, old: dict[str, list[KeywordRow]], new: dict[str, list[KeywordRow]],
                    paths: list[str]) -> set[str]:
        delta: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for path in paths:
            before = sorted((row_hash(r), layout.bucket_of(r.name)) for r in old.get(path, []))
            after = sorted((row_hash(r), layout.bucket_of(r.name)) for r in new.get(path, []))
            if before == after:
                continue
            for folder in ancestors(path):
                for sign, rows in ((-1, before), (1, after)):
                    for value, bucket in rows:
                        entry = delta[(folder, bucket)]
                        entry[0] += sign
                        entry[1] += sign * value
        touched: set[str] = set()
        for (folder, bucket), (count, value) in delta.items():
            if count == 0 and value % MODULUS == 0:
                continue
            row = self.conn.execute("SELECT count, hash FROM subtree WHERE folder=? AND bucket=?",
                                    (folder, bucket)).fetchone()
            old_count, old_hash = (row[0], int(row[1], 16)) if row else (0, 0)
            if old_count + count <= 0:
                self.conn.execute("DELETE FROM subtree WHERE folder=? AND bucket=?", (folder, bucket))
            else:
                self.conn.execute("INSERT OR REPLACE INTO subtree VALUES(?,?,?,?)",
                                  (folder, bucket, old_count + count, f"{(old_hash + value) % MODULUS:032x}"))
            touched.add(folder)
        return touched

    def _log_rows(self, paths: list[str]) -> set[tuple[Any, ...]]:
        """The keyword rows of `paths` as the log keeps them: bucket, key (:data:`LetterKey`) and
        check."""
        found: set[tuple[Any, ...]] = set()
        for chunk in chunks(self.ids.ids(paths)):
            found.update(self.conn.execute(
                "SELECT s.bucket, coalesce(s.lname, s.name), s.name, s.qualname, p.path, s.line, s.kind, "
                "s.rowid, s.h FROM symbols s JOIN paths p ON p.id = s.file "
                f"WHERE s.file IN ({','.join('?' * len(chunk))})", chunk))
        return found

    def _log_changes(self, before: set[tuple[Any, ...]] | None, after: set[tuple[Any, ...]] | None) -> None:
        """Append this update's changed keyword rows to the log, as one generation: the rows
        gone (sign -1) and come (+1), each with its key and check.  A large letter's pages
        add the rows logged since they were cut to the sums of their parts, where summing
        every row of the letter in SQL read the repository's rows of it (:meth:`Digests.
        letter_changes`); the log's position (`meta` `log`: epoch, generation, the first
        generation it holds whole) starts anew, with a new epoch, whenever the tables are
        filled anew, so a position recorded against other tables is never read as this one.
        None: too many files to log (:data:`LOG_FILES`); the log then holds nothing before the
        next generation."""
        rows = [] if before is None or after is None else \
            [(*row, -1) for row in before - after] + [(*row, 1) for row in after - before]
        found = read_log_position(self.conn)
        epoch, gen, first, count = found if found is not None else (os.urandom(8).hex(), 0, 1, 0)
        gen += 1
        if found is None or before is None or after is None or len(rows) > LOG_ROWS // 2:
            # this generation is not logged: no position before it can be brought up to date
            self.conn.execute("DELETE FROM row_log")
            rows, first, count = [], gen + 1, 0
        elif count + len(rows) > LOG_ROWS:  # the oldest generations go, until half remain
            kept = 0
            first = gen
            for older, size in self.conn.execute(
                    "SELECT gen, count(*) FROM row_log GROUP BY gen ORDER BY gen DESC").fetchall():
                if kept + size + len(rows) > LOG_ROWS // 2:
                    break
                kept, first = kept + size, older
            self.conn.execute("DELETE FROM row_log WHERE gen < ?", (first,))
            count = kept
        self.conn.executemany("INSERT INTO row_log VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                              [(gen, *row) for row in rows])
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES(?, ?)",
                          (LOG, json.dumps([epoch, gen, first, count + len(rows), database_identity(self.conn)])))

    def _neighbours(self, path: str) -> set[str]:
        ident = self.ids.get(path)
        if ident is None:  # removed: its edges went with it
            return set()
        path_of = self.ids.path
        found = {path_of(src) for src, in self.conn.execute("SELECT src FROM edges WHERE dst=?", (ident,))}
        found |= {path_of(dst) for dst, in self.conn.execute("SELECT dst FROM edges WHERE src=?", (ident,))}
        return found
