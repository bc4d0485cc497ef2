"""The repository model: every file's summary in one SQLite database, updated incrementally.

The model stage is the fan-in point of the graph.  It reads only the per-file summaries whose
bytes changed since its last run (it keeps their stat data and hashes), resolves references
(all of them when the set of files changed, otherwise only the changed files'), and rewrites the
*digests* whose content changed: one per file (its cross-references), one per folder (what the
folder pages show), one per folder for the keyword index of its subtree, and a few global ones.
Render tasks depend on digests, so doit's MD5 check reruns exactly the pages whose input changed.

Keyword digests hold, per initial letter, a count and an order-independent hash of the subtree's
rows (the sum of the rows' BLAKE2 hashes modulo 2**128).  Hashes compose: a folder's value is the
sum over its files and subfolders, so an edit updates its ancestors by difference instead of
rescanning their subtrees.  The database is a cache: deleting it costs one full recomputation;
a damaged one is detected and rebuilt (see :func:`open_model`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from . import layout
from .facts import (External, FileSummary, FileXref, Finding, Link, SummaryImport, dumps, loads,
                    to_plain)
from .store import read_bytes, write_if_changed, write_text
from .xref import Edge, Resolver

log = logging.getLogger("docgraph")

SCHEMA_VERSION = "3"
MODULUS = 1 << 128
MAIN_MODULES = 5

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS files(
    path TEXT PRIMARY KEY, folder TEXT, kind TEXT, stat TEXT, hash TEXT, language TEXT,
    description TEXT, doc TEXT, parsed INT, is_test INT, entry_point INT, size INT,
    media_type TEXT, exports TEXT, link_target TEXT, findings TEXT);
CREATE INDEX IF NOT EXISTS files_folder ON files(folder);
CREATE TABLE IF NOT EXISTS symbols(path TEXT, name TEXT, kind TEXT, line INT, bucket TEXT);
CREATE INDEX IF NOT EXISTS symbols_path ON symbols(path);
CREATE INDEX IF NOT EXISTS symbols_bucket ON symbols(bucket, path);
CREATE TABLE IF NOT EXISTS imports(path TEXT, module TEXT, kind TEXT, names TEXT, level INT,
    system INT);
CREATE INDEX IF NOT EXISTS imports_path ON imports(path);
CREATE TABLE IF NOT EXISTS edges(src TEXT, dst TEXT, kind TEXT, names TEXT);
CREATE INDEX IF NOT EXISTS edges_src ON edges(src);
CREATE INDEX IF NOT EXISTS edges_dst ON edges(dst);
CREATE TABLE IF NOT EXISTS refs(dst TEXT, name TEXT, src TEXT);
CREATE INDEX IF NOT EXISTS refs_dst ON refs(dst, name);
CREATE TABLE IF NOT EXISTS externals(src TEXT, module TEXT, kind TEXT);
CREATE INDEX IF NOT EXISTS externals_src ON externals(src);
CREATE TABLE IF NOT EXISTS subtree(folder TEXT, bucket TEXT, count INT, hash TEXT,
    PRIMARY KEY(folder, bucket));
"""


# --------------------------------------------------------------------------- digest records


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


@dataclass(frozen=True)
class KeywordRow:
    """One definition site in a keyword index."""

    name: str
    """Identifier."""
    kind: str
    """class, function, macro, ..."""
    path: str
    """Defining file."""
    line: int
    """Line of the definition."""
    refs: tuple[str, ...] = ()
    """Files that import this name from the defining file."""


# --------------------------------------------------------------------------- helpers


def _row_hash(row: KeywordRow) -> int:
    data = "\0".join((row.name, row.kind, row.path, str(row.line), *row.refs)).encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=16).digest(), "big")


def ancestors(path: str) -> list[str]:
    """Folders containing `path`, innermost first, ending with ROOT (`""`)."""
    out = []
    folder = path.rpartition("/")[0]
    while True:
        out.append(folder)
        if not folder:
            return out
        folder = folder.rpartition("/")[0]


def open_model(path: str) -> sqlite3.Connection:
    """Open (or create) the model database; a damaged one is replaced with one warning."""
    for attempt in (1, 2):
        try:
            conn = sqlite3.connect(path, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            version = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if version is None or version[0] != SCHEMA_VERSION:
                conn.executescript("""DELETE FROM files; DELETE FROM symbols; DELETE FROM imports;
                    DELETE FROM edges; DELETE FROM refs; DELETE FROM externals; DELETE FROM subtree;
                    DELETE FROM meta;""")
                conn.execute("INSERT INTO meta VALUES('schema', ?)", (SCHEMA_VERSION,))
            conn.execute("SELECT count(*) FROM files").fetchone()
            return conn
        except sqlite3.DatabaseError as exc:
            if attempt == 2:
                raise
            log.warning("model database %s is damaged (%s); rebuilding it", path, exc)
            for suffix in ("", "-wal", "-shm"):
                try:
                    os.remove(path + suffix)
                except FileNotFoundError:
                    pass
    raise AssertionError("unreachable")


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class TreeRow:
    """One entry of the source listing the model receives (see :mod:`tasks.graph`)."""

    rel: str
    """Path relative to ROOT."""
    kind: str
    """file, binary, link or secret."""
    size: int
    """Size (links, secrets)."""
    target: str
    """Link target."""


class Model:
    """Incremental update of the model database and the digests derived from it."""

    def __init__(self, conn: sqlite3.Connection, state: str):
        self.conn = conn
        self.state = state
        self.written: list[str] = []

    # ---------------------------------------------------------------- paths of digests

    def xref_path(self, rel: str) -> str:
        return os.path.join(self.state, "xref", layout.key(rel) + ".json")

    def folder_path(self, folder: str) -> str:
        return os.path.join(self.state, "folders", layout.key(folder) + ".json")

    def subtree_path(self, folder: str) -> str:
        return os.path.join(self.state, "subtree", layout.key(folder) + ".json")

    def _write(self, path: str, text: str) -> None:
        if write_text(path, text):
            self.written.append(path)

    # ---------------------------------------------------------------- reading

    def rows_for(self, paths: Iterable[str]) -> dict[str, list[KeywordRow]]:
        """Keyword rows (with referencing files) of the given files."""
        out: dict[str, list[KeywordRow]] = defaultdict(list)
        wanted = sorted(set(paths))
        for chunk in _chunks(wanted):
            marks = ",".join("?" * len(chunk))
            refs: dict[tuple[str, str], list[str]] = defaultdict(list)
            for dst, name, src in self.conn.execute(
                    f"SELECT dst, name, src FROM refs WHERE dst IN ({marks}) ORDER BY src", chunk):
                refs[(dst, name)].append(src)
            for path, name, kind, line in self.conn.execute(
                    f"SELECT path, name, kind, line FROM symbols WHERE path IN ({marks})", chunk):
                out[path].append(KeywordRow(name, kind, path, line, tuple(refs.get((path, name), ()))))
        return out

    def keyword_rows(self, folder: str, bucket: str) -> list[KeywordRow]:
        """All rows of `bucket` in the subtree of `folder`, in index order."""
        if folder:
            cursor = self.conn.execute(
                "SELECT path, name, kind, line FROM symbols WHERE bucket=? AND path>=? AND path<?",
                (bucket, folder + "/", folder + "0"))
        else:
            cursor = self.conn.execute(
                "SELECT path, name, kind, line FROM symbols WHERE bucket=?", (bucket,))
        found = cursor.fetchall()
        refs: dict[tuple[str, str], list[str]] = defaultdict(list)
        names = sorted({row[1] for row in found})
        for chunk in _chunks(names):
            marks = ",".join("?" * len(chunk))
            for dst, name, src in self.conn.execute(
                    f"SELECT dst, name, src FROM refs WHERE name IN ({marks}) ORDER BY src", chunk):
                refs[(dst, name)].append(src)
        rows = [KeywordRow(name, kind, path, line, tuple(refs.get((path, name), ())))
                for path, name, kind, line in found]
        rows.sort(key=lambda r: (layout.sort_key(r.name), r.path, r.line, r.kind))
        return rows

    # ---------------------------------------------------------------- the update

    def update(self, tree: list[TreeRow], summary_of: dict[str, str],
               include_roots: tuple[str, ...]) -> list[str]:
        """Bring the model up to date with the summaries on disk; return digest files written.

        `summary_of` maps every analysed source (text and binary) to its summary file.
        """
        conn = self.conn
        stored = {path: (kind, stat, digest) for path, kind, stat, digest in
                  conn.execute("SELECT path, kind, stat, hash FROM files")}
        listing = {row.rel: row for row in tree}
        changed: dict[str, FileSummary | None] = {}   # path -> new summary (None: no summary)
        hashes: dict[str, str] = {}
        restat: list[tuple[str, str]] = []
        for rel, row in listing.items():
            old = stored.get(rel)
            summary_file = summary_of.get(rel)
            if summary_file is None:  # links and secrets: the listing is all there is
                stat = f"{row.kind}:{row.size}:{row.target}"
                if old is None or old[1] != stat or old[0] != row.kind:
                    changed[rel] = None
                continue
            try:
                st = os.stat(summary_file)
            except FileNotFoundError:
                continue  # its analysis failed; the report says so
            stat = f"{st.st_mtime_ns}:{st.st_size}"
            if old is not None and old[1] == stat and old[0] == row.kind:
                continue
            data = read_bytes(summary_file) or b""
            digest = hashlib.sha1(data).hexdigest()
            if old is not None and old[2] == digest and old[0] == row.kind:
                restat.append((stat, rel))
                continue
            changed[rel] = loads(FileSummary, data)
            hashes[rel] = digest
            restat.append((stat, rel))
        removed = sorted(set(stored) - set(listing))
        structural = bool(removed) or any(rel not in stored for rel in changed) or any(
            stored[rel][0] != listing[rel].kind for rel in changed if rel in stored)
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        roots_text = json.dumps(list(include_roots))
        if meta.get("include_roots") != roots_text:
            structural = True
        if not changed and not removed and not structural:
            conn.executemany("UPDATE files SET stat=? WHERE path=?", restat)
            return self._ensure_digests(listing, set())
        touched = sorted(set(changed) | set(removed))
        old_kinds = {p: stored[p][0] for p in touched if p in stored}
        old_flags = dict(conn.execute(
            f"SELECT path, is_test FROM files WHERE path IN ({','.join('?' * len(touched))})", touched)
        ) if len(touched) < 900 else {p: t for p, t in conn.execute("SELECT path, is_test FROM files")}
        conn.execute("BEGIN")
        try:
            # 1. files and imports (symbols stay old until the old keyword rows are read)
            for chunk in _chunks(touched):
                marks = ",".join("?" * len(chunk))
                conn.execute(f"DELETE FROM files WHERE path IN ({marks})", chunk)
                conn.execute(f"DELETE FROM imports WHERE path IN ({marks})", chunk)
            for rel, summary in changed.items():
                self._insert_file(rel, listing[rel], summary, hashes.get(rel, ""))
            conn.executemany("UPDATE files SET stat=? WHERE path=?", restat)
            # 2. resolution: everything when the set of files changed, else the changed files
            resolver = Resolver([r for r, row in listing.items()
                                 if row.kind in ("file", "binary", "link")], include_roots)
            if structural:
                sources = [p for p, in conn.execute("SELECT DISTINCT path FROM imports")]
                old_edges = self._edges_of(sources + removed, by_src=True)
                old_edges |= self._edges_of(removed)
            else:
                sources = [p for p in touched if p in listing]
                old_edges = self._edges_of(sources, by_src=True)
            new_edges, externals = self._resolve(resolver, sources)
            edge_diff = _edge_diff(old_edges, new_edges)
            # 3. keyword rows before and after, for the rows whose content can change
            dirty_paths = sorted(set(touched) | {dst for dst, _ in self._ref_keys(edge_diff)})
            old_rows = self.rows_for(dirty_paths)
            for chunk in _chunks(touched):
                marks = ",".join("?" * len(chunk))
                conn.execute(f"DELETE FROM symbols WHERE path IN ({marks})", chunk)
            for rel, summary in changed.items():
                if summary is not None:
                    conn.executemany(
                        "INSERT INTO symbols VALUES(?,?,?,?,?)",
                        [(rel, x.name, x.kind, x.line, layout.bucket_of(x.name)) for x in summary.symbols])
            if structural:
                conn.execute("DELETE FROM edges")
                conn.execute("DELETE FROM refs")
                conn.execute("DELETE FROM externals")
                conn.execute("INSERT OR REPLACE INTO meta VALUES('include_roots', ?)", (roots_text,))
            else:
                for chunk in _chunks(sources):
                    marks = ",".join("?" * len(chunk))
                    conn.execute(f"DELETE FROM edges WHERE src IN ({marks})", chunk)
                    conn.execute(f"DELETE FROM refs WHERE src IN ({marks})", chunk)
                    conn.execute(f"DELETE FROM externals WHERE src IN ({marks})", chunk)
            conn.executemany("INSERT INTO edges VALUES(?,?,?,?)",
                             [(e.src, e.dst, e.kind, json.dumps(e.names)) for e in new_edges])
            conn.executemany("INSERT INTO refs VALUES(?,?,?)",
                             [(e.dst, name, e.src) for e in new_edges for name in e.names])
            conn.executemany("INSERT INTO externals VALUES(?,?,?)", externals)
            new_rows = self.rows_for(dirty_paths)
            buckets_changed = self._apply_rows(old_rows, new_rows, dirty_paths)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        # --- affected digests
        new_kinds = {p: listing[p].kind for p in touched if p in listing}
        new_flags = dict(conn.execute(
            f"SELECT path, is_test FROM files WHERE path IN ({','.join('?' * len(touched))})", touched)
        ) if len(touched) < 900 else {p: t for p, t in conn.execute("SELECT path, is_test FROM files")}
        slices = {p for p in touched if p in listing}
        folders: set[str] = set()
        for edge in edge_diff:
            slices.update((edge.src, edge.dst))
            folders.update(ancestors(edge.src)[:1] + ancestors(edge.dst)[:1])
        for path in touched:
            if old_kinds.get(path) != new_kinds.get(path) or old_flags.get(path) != new_flags.get(path):
                slices.update(self._neighbours(path))
            folders.update(ancestors(path))
        if structural:
            folders.update(self._all_folders(listing))
        for path in sorted(slices):
            if path in listing and listing[path].kind == "file":
                self._write(self.xref_path(path), dumps(self.file_xref(path)))
        for folder in sorted(folders):
            if folder in self._all_folders(listing):
                self._write(self.folder_path(folder), dumps(self.folder_digest(folder)))
        for folder in sorted(buckets_changed):
            if folder in self._all_folders(listing):
                self._write(self.subtree_path(folder), self.subtree_digest(folder))
        self._write_globals(listing)
        return self._ensure_digests(listing, set(self.written))

    # ---------------------------------------------------------------- update helpers

    def _insert_file(self, rel: str, row: TreeRow, summary: FileSummary | None, digest: str) -> None:
        folder = rel.rpartition("/")[0]
        if summary is None:
            self.conn.execute(
                "INSERT INTO files VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (rel, folder, row.kind, f"{row.kind}:{row.size}:{row.target}", "", "", "", "", 1,
                 0, 0, row.size, "", "[]", row.target, "[]"))
            return
        self.conn.execute(
            "INSERT INTO files VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (rel, folder, row.kind, "", digest, summary.language, summary.description, summary.doc,
             int(summary.parsed), int(summary.is_test), int(summary.entry_point), summary.size,
             summary.media_type, json.dumps(list(summary.exports)), "",
             json.dumps(to_plain(summary.findings))))
        self.conn.executemany(
            "INSERT INTO imports VALUES(?,?,?,?,?,?)",
            [(rel, i.module, i.kind, json.dumps(list(i.names)), i.level, int(i.system))
             for i in summary.imports])

    def _edges_of(self, paths: list[str], by_src: bool = False) -> set[Edge]:
        out: set[Edge] = set()
        columns = ("src",) if by_src else ("src", "dst")
        for chunk in _chunks(sorted(set(paths))):
            marks = ",".join("?" * len(chunk))
            for column in columns:
                for src, dst, kind, names in self.conn.execute(
                        f"SELECT src, dst, kind, names FROM edges WHERE {column} IN ({marks})", chunk):
                    out.add(Edge(src, dst, kind, tuple(json.loads(names))))
        return out

    @staticmethod
    def _ref_keys(edges: Iterable[Edge]) -> set[tuple[str, str]]:
        return {(e.dst, name) for e in edges for name in e.names}

    def _resolve(self, resolver: Resolver, sources: list[str]) -> tuple[list[Edge], list[tuple[str, str, str]]]:
        imports: dict[str, list[SummaryImport]] = defaultdict(list)
        for chunk in _chunks(sorted(sources)):
            marks = ",".join("?" * len(chunk))
            for path, module, kind, names, level, system in self.conn.execute(
                    f"SELECT path, module, kind, names, level, system FROM imports "
                    f"WHERE path IN ({marks}) ORDER BY rowid", chunk):
                imports[path].append(SummaryImport(module, kind, tuple(json.loads(names)), level,
                                                   bool(system)))
        edges: list[Edge] = []
        externals: list[tuple[str, str, str]] = []
        for path in sorted(imports):
            found, missing = resolver.resolve(path, imports[path])
            edges.extend(found)
            externals.extend((path, module, kind) for module, kind in missing)
        return edges, externals

    def _apply_rows(self, old: dict[str, list[KeywordRow]], new: dict[str, list[KeywordRow]],
                    paths: list[str]) -> set[str]:
        delta: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for path in paths:
            before = sorted((_row_hash(r), layout.bucket_of(r.name)) for r in old.get(path, []))
            after = sorted((_row_hash(r), layout.bucket_of(r.name)) for r in new.get(path, []))
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
            new_count = old_count + count
            new_hash = (old_hash + value) % MODULUS
            if new_count <= 0:
                self.conn.execute("DELETE FROM subtree WHERE folder=? AND bucket=?", (folder, bucket))
            else:
                self.conn.execute("INSERT OR REPLACE INTO subtree VALUES(?,?,?,?)",
                                  (folder, bucket, new_count, f"{new_hash:032x}"))
            touched.add(folder)
        return touched

    def _neighbours(self, path: str) -> set[str]:
        found = {src for src, in self.conn.execute("SELECT src FROM edges WHERE dst=?", (path,))}
        found |= {dst for dst, in self.conn.execute("SELECT dst FROM edges WHERE src=?", (path,))}
        return found

    _folders_cache: tuple[int, set[str]] | None = None

    def _all_folders(self, listing: dict[str, TreeRow]) -> set[str]:
        if self._folders_cache is None or self._folders_cache[0] != id(listing):
            folders = {""}
            for rel in listing:
                folders.update(ancestors(rel))
            self._folders_cache = (id(listing), folders)
        return self._folders_cache[1]

    def _ensure_digests(self, listing: dict[str, TreeRow], written: set[str]) -> list[str]:
        """Write any digest that is missing on disk (deleted by hand, or a fresh state folder)."""
        for rel, row in listing.items():
            if row.kind == "file":
                path = self.xref_path(rel)
                if path not in written and not os.path.exists(path):
                    self._write(path, dumps(self.file_xref(rel)))
        for folder in sorted(self._all_folders(listing)):
            path = self.folder_path(folder)
            if path not in written and not os.path.exists(path):
                self._write(path, dumps(self.folder_digest(folder)))
            path = self.subtree_path(folder)
            if path not in written and not os.path.exists(path):
                self._write(path, self.subtree_digest(folder))
        for name in ("book.json", "stats.json", "findings.json"):
            if not os.path.exists(os.path.join(self.state, name)):
                self._write_globals(listing)
                break
        return sorted(self.written)

    # ---------------------------------------------------------------- digests

    def file_xref(self, path: str) -> FileXref:
        """Cross-references of one text file."""
        kinds = {}
        tests = {}

        def info(other: str) -> tuple[str, int]:
            if other not in kinds:
                row = self.conn.execute("SELECT kind, is_test FROM files WHERE path=?", (other,)).fetchone()
                kinds[other], tests[other] = (row[0], row[1]) if row else ("file", 0)
            return kinds[other], tests[other]

        depends = []
        for dst, kind, names in self.conn.execute(
                "SELECT dst, kind, names FROM edges WHERE src=? ORDER BY dst", (path,)):
            depends.append(Link(dst, kind, info(dst)[0] == "file", tuple(json.loads(names))))
        used = []
        tested = []
        for src, kind in self.conn.execute(
                "SELECT src, kind FROM edges WHERE dst=? ORDER BY src", (path,)):
            kind_of, is_test = info(src)
            entry = Link(src, kind, kind_of == "file")
            used.append(entry)
            if is_test:
                tested.append(entry)
        external = [External(m, k) for m, k in self.conn.execute(
            "SELECT module, kind FROM externals WHERE src=? ORDER BY module, kind", (path,))]
        return FileXref(path, tuple(depends), tuple(external), tuple(used), tuple(tested))

    def folder_digest(self, folder: str) -> FolderDigest:
        """What the pages of one folder show."""
        conn = self.conn
        files = []
        readme = readme_doc = package_doc = ""
        exports: tuple[str, ...] = ()
        for (path, kind, language, description, doc, parsed, is_test, entry_point, size,
             media_type, export_text, target) in conn.execute(
                "SELECT path, kind, language, description, doc, parsed, is_test, entry_point, size,"
                " media_type, exports, link_target FROM files WHERE folder=? ORDER BY path", (folder,)):
            name = path.rpartition("/")[2]
            files.append(FolderFile(name, kind, language or "", description or "",
                                    size if kind != "file" else 0, media_type or "", target or "",
                                    bool(parsed), bool(is_test), bool(entry_point)))
            if name.lower().startswith("readme") and kind == "file" and doc and not readme:
                readme, readme_doc = name, doc
            if name in ("__init__.py", "__init__.pyi") and kind == "file":
                package_doc = package_doc or (doc or "")
                exports = exports or tuple(json.loads(export_text or "[]"))
        prefix, upper = (folder + "/", folder + "0") if folder else ("", "\U0010ffff")
        direct_files: dict[str, int] = defaultdict(int)
        grandchildren: dict[str, set[str]] = defaultdict(set)
        for path, in conn.execute("SELECT path FROM files WHERE path>=? AND path<?", (prefix, upper)):
            child, _, below = path[len(prefix):].partition("/")
            if not below:
                continue
            if "/" in below:
                grandchildren[child].add(below.split("/", 1)[0])
            else:
                direct_files[child] += 1
        subfolders = []
        for name in sorted(set(direct_files) | set(grandchildren)):
            description = ""
            for doc_name, doc, kind in conn.execute(
                    "SELECT path, doc, kind FROM files WHERE folder=? ORDER BY path", (prefix + name,)):
                base = doc_name.rpartition("/")[2]
                if kind == "file" and doc and (base.lower().startswith("readme")
                                               or base in ("__init__.py", "__init__.pyi")):
                    description = _first_sentence(doc)
                    break
            subfolders.append(Subfolder(name, direct_files.get(name, 0),
                                        len(grandchildren.get(name, ())), description))
        inbound: dict[str, set[str]] = defaultdict(set)
        uses: dict[str, int] = defaultdict(int)
        used_by: dict[str, int] = defaultdict(int)
        tested_by: dict[str, int] = defaultdict(int)
        for src, dst in conn.execute(
                "SELECT e.src, e.dst FROM edges e JOIN files f ON f.path = e.dst WHERE f.folder=?",
                (folder,)):
            inbound[dst].add(src)
            src_folder = src.rpartition("/")[0]
            if src_folder != folder:
                used_by[src_folder] += 1
        for src, is_test, dst in conn.execute(
                "SELECT e.src, s.is_test, e.dst FROM edges e JOIN files f ON f.path = e.dst "
                "JOIN files s ON s.path = e.src WHERE f.folder=? AND s.is_test=1", (folder,)):
            if src.rpartition("/")[0] != folder:
                tested_by[src] += 1
        for src, dst in conn.execute(
                "SELECT e.src, e.dst FROM edges e JOIN files f ON f.path = e.src WHERE f.folder=?",
                (folder,)):
            dst_folder = dst.rpartition("/")[0]
            if dst_folder != folder:
                uses[dst_folder] += 1
        main = sorted(((len(v), k) for k, v in inbound.items()), key=lambda t: (-t[0], t[1]))
        return FolderDigest(
            path=folder,
            files=tuple(files),
            subfolders=tuple(subfolders),
            readme=readme,
            readme_doc=readme_doc,
            package_doc=package_doc,
            exports=exports,
            main_modules=tuple(Ranked(p, n) for n, p in main[:MAIN_MODULES]),
            uses=_top(uses),
            used_by=_top(used_by),
            tested_by=_top(tested_by, 10),
        )

    def subtree_digest(self, folder: str) -> str:
        """Per-letter count and hash of the folder's subtree keyword rows."""
        data = {bucket: [count, digest] for bucket, count, digest in self.conn.execute(
            "SELECT bucket, count, hash FROM subtree WHERE folder=? ORDER BY bucket", (folder,))}
        return json.dumps({"folder": folder, "buckets": data}, sort_keys=True, ensure_ascii=False) + "\n"

    def _write_globals(self, listing: dict[str, TreeRow]) -> None:
        conn = self.conn
        languages: dict[str, int] = defaultdict(int)
        kinds: dict[str, int] = defaultdict(int)
        findings: list[Finding] = []
        for path, kind, language, finding_text in conn.execute(
                "SELECT path, kind, language, findings FROM files ORDER BY path"):
            kinds[kind] += 1
            if kind == "file":
                languages[language or "text"] += 1
            for item in json.loads(finding_text or "[]"):
                findings.append(Finding(item.get("path", path), item.get("line", 0),
                                        item.get("message", "")))
        folders = self._all_folders(listing)
        stats = {"files": dict(sorted(kinds.items())), "languages": dict(sorted(languages.items())),
                 "folders": len(folders)}
        self._write(os.path.join(self.state, "stats.json"),
                    json.dumps(stats, sort_keys=True, ensure_ascii=False) + "\n")
        self._write(os.path.join(self.state, "findings.json"), dumps(findings))
        tops = sorted({rel.split("/", 1)[0] for rel in listing if "/" in rel})
        weight: dict[tuple[str, str], int] = defaultdict(int)
        for src, dst in conn.execute("SELECT src, dst FROM edges"):
            a, b = src.split("/", 1)[0] if "/" in src else "", dst.split("/", 1)[0] if "/" in dst else ""
            if a != b and a in tops and b in tops:
                weight[(a, b)] += 1
        order = _dependency_order(tops, weight)
        book = {"chapters": order,
                "edges": [[a, b, n] for (a, b), n in sorted(weight.items())]}
        self._write(os.path.join(self.state, "book.json"),
                    json.dumps(book, sort_keys=True, ensure_ascii=False) + "\n")

    def findings(self) -> list[Finding]:
        """Findings of all current files (for the build report)."""
        raw = read_bytes(os.path.join(self.state, "findings.json"))
        if not raw:
            return []
        return [Finding(**item) for item in json.loads(raw)]


def _first_sentence(text: str) -> str:
    from .analyzers.generic import first_sentence

    return first_sentence(text) if text else ""


def _top(counts: dict[str, int], limit: int = MAIN_MODULES) -> tuple[Ranked, ...]:
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(Ranked(p, n) for p, n in ordered[:limit])


def _edge_diff(old: set[Edge], new: list[Edge]) -> set[Edge]:
    fresh = set(new)
    return (old - fresh) | (fresh - old)


def _dependency_order(nodes: list[str], weight: dict[tuple[str, str], int]) -> list[str]:
    """Folders ordered so that what others build on comes first (Kahn; cycles broken by weight)."""
    remaining = set(nodes)
    order: list[str] = []
    while remaining:
        # a folder is ready when nothing it uses is still waiting
        ready = [n for n in remaining
                 if not any(weight.get((n, m)) for m in remaining if m != n)]
        if not ready:
            # cycle: take the folder most used by the others still waiting
            ready = [max(sorted(remaining), key=lambda n: sum(
                weight.get((m, n), 0) for m in remaining if m != n))]
        pick = min(ready, key=lambda n: (-sum(weight.get((m, n), 0) for m in nodes), n))
        order.append(pick)
        remaining.remove(pick)
    return order


def read_digest(path: str) -> FolderDigest:
    """Load a folder digest written by the model."""
    raw = read_bytes(path)
    if raw is None:
        raise FileNotFoundError(path)
    return loads(FolderDigest, raw)


def write_json(path: str, data: object) -> bool:
    """Canonical JSON write-if-changed (used for the small global digests)."""
    return write_if_changed(path, (json.dumps(data, sort_keys=True, ensure_ascii=False) + "\n").encode())
