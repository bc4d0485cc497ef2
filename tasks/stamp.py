"""The build stamp: what the last successful build saw, which the fast path compares against.

Three tables of records `name -> [size, mtime_ns, md5, tag]`: the sources (tag: their kind), the
generated pages and the state artefacts (tag: the task that wrote them).  Each table is stored as
a few columns, not as one object per record: a no-op build at 48,000 sources reads 153,000
records, and decoding them as a dict of lists took 0.21 s of its 1.3 s (measured), where columns
are one string of names, one array of stat data and one blob of hashes.  Each column is its own
part of the file, read and decoded only when a build reads it (an edit looks up a few dozen
pages and state files by name, and never reads those tables' tags: decoding torch4x's pages and
state tables whole and counting their names took 32 of the 40 ms of its stamp's load), and a
build that changed a few records writes the columns of the others as they were loaded.
"""

from __future__ import annotations

import logging
import marshal
import os
import re
from array import array
from collections.abc import Callable, Container, Iterable, Iterator
from typing import Any

from .discover import Entry, RecordedFiles, Walked
from .errors import StateDamaged
from .store import TMP_MARK, PartsFile, StoredPart, put_part, stored_parts, unmarshal

log = logging.getLogger("docgraph")

STAMP = "stamp.marshal"
DELTA = "stamp-delta.marshal"
"""The records changed since the base `STAMP` was written (see :meth:`Stamp.save`)."""
DELTA_SHARE = 0.01
DELTA_FLOOR = 1_000
"""A delta holding more changed records than this share of the base's records (and than the
floor) is not written: the base is written anew.  Every build loads the delta and makes a
dict entry of each of its records: a torch delta of 13,709 records (a re-check after an
upgrade refreshed the state files' stat data) cost 30 ms of every later build's 0.1 s plan,
while writing the base costs about as much as loading it, once (measured, session 18)."""
STAMP_VERSION = 15
_SEP = "\0"  # no path and no task name holds a NUL
_MAGIC = b"docgraph stamp\n"
"""The base file's first bytes (a stamp of the format before, one marshalled object after
another, is another version's: the build checks every task once, without a warning)."""
_NO_MD5 = bytes(16)  # an all-zero MD5 stands for "not known"

Record = list[Any]  # [size, mtime_ns, md5 (hex, "" when not known), tag]
Columns = tuple[str, bytes, bytes, bytes, str]
"""Names (NUL-separated), stat data (int64 size and mtime per record), MD5s (16 bytes per
record), tags (uint32 index per record into the tag list, each tag preceded by a NUL, so that
no tags and one empty tag differ)."""
_TEXT = (0, 4)
"""The columns of text; stored as UTF-8 (with the surrogates of undecodable file names)."""


class StampDamaged(StateDamaged):
    """A column of the stamp, decoded when first read, does not fit the others (the engine
    then builds again without the stamp)."""


FEW_FOLDERS = 8
"""Folders whose records :meth:`Records.rows_in` finds by a search per folder; more by one
expression of them all."""
FIND_LIMIT = 16
"""Names looked up in a table's names column before its index is built: a build that looks up
a few names of the 150,000 state records does not build a dict of them all."""


def _starts_in(padded: str, folders: set[str]) -> list[int]:
    """Where the names directly inside `folders` start in a padded names column (at the NUL
    before each), in order: a search for each of a few folders' prefix, a text search that
    skips what cannot match (0.5 ms in torch4x's 2.5 MB of source names, against 4 ms for the
    one expression of every folder that many folders take, which tries each name)."""
    if len(folders) > FEW_FOLDERS or "" in folders:
        pattern = "|".join(re.escape(folder + "/" if folder else "") for folder in sorted(folders, key=len, reverse=True))
        return [match.start() for match in re.finditer(f"\0(?:{pattern})[^\0/]*(?=\0)", padded)]
    starts = []
    for folder in folders:
        prefix = _SEP + folder + "/"
        at = padded.find(prefix)
        while at >= 0:
            end = padded.index(_SEP, at + 1)
            if padded.find("/", at + len(prefix), end) < 0:  # not in a subfolder
                starts.append(at)
            at = padded.find(prefix, end)
    return sorted(starts)


def _find_last(names: bytes | bytearray, name: bytes) -> int | None:
    """The position of the last record called `name` in a names column as stored (UTF-8, the
    names between NULs), searched without decoding the column: a build that looks up a few
    names of torch4x's 106,000 pages decoded 7 MB of names and copied them between two NULs."""
    sep = b"\0"
    if names == name or names.endswith(sep + name):
        return names.count(sep)  # the last name
    at = names.rfind(sep + name + sep)
    if at >= 0:
        return names.count(sep, 0, at) + 1
    return 0 if names.startswith(name + sep) else None


class Records:
    """A table of records kept as columns, with the changes of this build beside them."""

    def __init__(self, columns: Columns | None = None):
        self._columns: list[Any] | None = None
        """The loaded columns; a text column stays a view of the file's bytes until read."""
        self._size = 0
        """The number of loaded records."""
        self._names: list[str] | None = None
        self._stats: array[int] | None = None
        self._index: dict[str, int] | None = None
        self._tags: list[str] | None = None
        self._tag_ids: array[int] | None = None
        self._changes: dict[str, Record | None] = {}
        self._finds = 0
        self._padded: str | None = None
        if columns is not None:
            self._load(list(columns))

    @classmethod
    def stored(cls, parts: list[Any]) -> Records:
        """A table from its five stored columns (see :meth:`stored_columns`), each read (and
        the text ones decoded) when first used."""
        table = cls()
        table._load(list(parts))
        return table

    def _load(self, columns: list[Any]) -> None:
        """Take loaded columns, after checking the lengths of the fixed-width ones (the names
        and the tags are checked when first read: :class:`StampDamaged`)."""
        names, stats, md5s, tag_ids, _tags = columns
        count = len(stats) // 16
        if len(stats) != 16 * count or len(md5s) != 16 * count or len(tag_ids) != 4 * count \
                or len(names) < count - 1 or (len(names) > 0) != (count > 0):
            raise ValueError("columns of unequal length")
        self._columns, self._size = columns, count

    def _raw(self, at: int) -> Any:
        """One loaded column as read (bytes), or decoded when it was already."""
        assert self._columns is not None
        value = self._columns[at]
        if isinstance(value, StoredPart):
            value = self._columns[at] = value.read()
        return value

    def _column(self, at: int) -> Any:
        """One loaded column; a text one decoded on first use."""
        value = self._raw(at)
        if at in _TEXT and not isinstance(value, str):
            assert self._columns is not None  # (read by `_raw`)
            value = self._columns[at] = str(value, "utf-8", "surrogatepass")
        return value

    # ---------------------------------------------------------------- columns, decoded on demand

    def names(self) -> list[str]:
        """The names of the loaded records (without this build's changes)."""
        if self._names is None:
            text = self._column(0) if self._columns else ""
            names = text.split(_SEP) if text else []
            if len(names) != self._size:
                raise StampDamaged(f"{len(names)} names for {self._size} records")
            self._names = names
        return self._names

    def _stat_column(self) -> array[int]:
        if self._stats is None:
            self._stats = array("q")
            if self._columns:
                self._stats.frombytes(self._column(1))
        return self._stats

    def _position(self, name: str) -> int | None:
        if self._index is None:
            if self._finds < FIND_LIMIT and name:  # a few names: found in the names column
                self._finds += 1
                raw = self._raw(0) if self._columns and self._padded is None else None
                if isinstance(raw, bytes | bytearray):
                    position = _find_last(raw, name.encode("utf-8", "surrogatepass"))
                else:
                    padded = self._padded_names()
                    at = padded.rfind(_SEP + name + _SEP)  # the last, as the index has it
                    position = None if at < 0 else padded.count(_SEP, 0, at)
                if position is not None and position >= self._size:
                    raise StampDamaged(f"a name past the {self._size} records")
                return position
            self._index = {n: i for i, n in enumerate(self.names())}
        return self._index.get(name)

    def in_folders(self, folders: Iterable[str]) -> list[tuple[str, int, int]]:
        """(name, size, mtime_ns) of the records directly inside any of `folders`: a search of
        the names column per folder (a build that checks the pages of a few output folders
        would otherwise split 106,000 names)."""
        # (a name with no folder is no page's)
        return [(name, size, mtime) for name, size, mtime, _tag in self.rows_in(f for f in folders if f)]

    def rows_in(self, folders: Iterable[str]) -> list[tuple[str, int, int, str]]:
        """(name, size, mtime_ns, tag) of the records directly inside any of `folders` (`""`:
        the names without a folder), found by one search of the names column."""
        wanted = set(folders)
        if not wanted:
            return []
        padded = self._padded_names()
        starts = _starts_in(padded, wanted)
        stats = self._stat_column()
        changes = self._changes
        tags, tag_ids = self._tag_columns() if starts else ([], array("I"))
        found = []
        at, i = 0, 0
        for start in starts:
            i += padded.count(_SEP, at, start)  # separators before it: its position
            at = start
            name = padded[start + 1:padded.index(_SEP, start + 1)]
            if name.rpartition("/")[0] not in wanted:
                continue  # (a longer folder's name matched by a shorter one's prefix)
            if not changes or name not in changes:
                found.append((name, stats[2 * i], stats[2 * i + 1], tags[tag_ids[i]]))
        for name, value in changes.items():
            if value is not None and name.rpartition("/")[0] in wanted:
                found.append((name, value[0], value[1], value[3]))
        return found

    def _padded_names(self) -> str:
        """The names column between separators (a name is found as NUL + name + NUL)."""
        if self._padded is None:
            text = self._column(0) if self._columns else ""
            self._padded = _SEP + text + _SEP if text else ""
        return self._padded

    def _tag_columns(self) -> tuple[list[str], array[int]]:
        if self._tags is None or self._tag_ids is None:
            ids = array("I")
            if self._columns:
                ids.frombytes(self._column(3))
            tags = self._column(4).split(_SEP)[1:] if self._columns else []
            if ids and max(ids) >= len(tags):
                raise StampDamaged("a tag id past the tag list")
            self._tag_ids, self._tags = ids, tags
        return self._tags, self._tag_ids

    def _loaded(self, i: int) -> Record:
        assert self._columns is not None
        stats = self._stat_column()
        md5 = self._column(2)[16 * i:16 * i + 16]
        tags, tag_ids = self._tag_columns()
        return [stats[2 * i], stats[2 * i + 1], "" if md5 == _NO_MD5 else md5.hex(), tags[tag_ids[i]]]

    # ---------------------------------------------------------------- the table

    def _locate(self, name: str) -> Record | int | None:
        """One record: this build's change of it (a record, or None when forgotten), else its
        row in the columns, or None."""
        if name in self._changes:
            return self._changes[name]
        return self._position(name)

    def get(self, name: str) -> Record | None:
        found = self._locate(name)
        return found if not isinstance(found, int) else self._loaded(found)

    def stat_of(self, name: str) -> tuple[int, int, str] | None:
        """(size, mtime_ns, md5) of one record, without its tag: a table's tags are split into
        a list on first use (100,000 task names for torch4x's pages, 11 ms), which a lookup
        of a few records' stat data need not pay."""
        found = self._locate(name)
        if found is None or not isinstance(found, int):
            return None if found is None else (found[0], found[1], found[2])
        assert self._columns is not None
        stats = self._stat_column()
        md5 = self._column(2)[16 * found:16 * found + 16]
        return stats[2 * found], stats[2 * found + 1], "" if md5 == _NO_MD5 else md5.hex()

    def peek(self, name: str) -> tuple[int, int, str] | None:
        """(size, mtime_ns, tag) of one record, without decoding its hash."""
        found = self._locate(name)
        if found is None or not isinstance(found, int):
            return None if found is None else (found[0], found[1], found[3])
        stats = self._stat_column()
        tags, tag_ids = self._tag_columns()
        return stats[2 * found], stats[2 * found + 1], tags[tag_ids[found]]

    def differing(self, entries: Iterable[Entry]) -> list[Entry]:
        """The entries whose size, mtime or kind differ from their record (or have none): a
        tight loop over the columns, for the 48,000 sources a build compares."""
        entries = list(entries)
        if self._index is None and len(entries) <= FIND_LIMIT - self._finds:  # a few: found in the column
            return [e for e in entries if (found := self.peek(e.rel)) is None
                    or (found[0], found[1], found[2]) != (e.size, e.mtime_ns, e.kind)]
        folders = {e.rel.rpartition("/")[0] for e in entries} - {""}
        at_root = [e.rel for e in entries if "/" not in e.rel]
        if self._index is None and len(folders) <= FEW_FOLDERS and len(at_root) <= FIND_LIMIT - self._finds:
            # the files of a few folders (those an edit's revisit stat'ed): found by a search per
            # folder (and a few at the root, which every name could match, by their own name),
            # where an index of torch4x's 48,000 names took 9 ms
            now = {name: (size, mtime, tag) for name, size, mtime, tag in self.rows_in(folders)}
            now.update((rel, found) for rel in at_root if (found := self.peek(rel)) is not None)
            return [e for e in entries if now.get(e.rel) != (e.size, e.mtime_ns, e.kind)]
        if self._index is None:
            self._position("")
        index = self._index
        assert index is not None
        stats = self._stat_column()
        tags, tag_ids = self._tag_columns()
        changes = self._changes
        out = []
        for e in entries:
            if changes and e.rel in changes:
                value = changes[e.rel]
                if value is None or value[0] != e.size or value[1] != e.mtime_ns or value[3] != e.kind:
                    out.append(e)
                continue
            i = index.get(e.rel)
            if i is None or stats[2 * i] != e.size or stats[2 * i + 1] != e.mtime_ns \
                    or tags[tag_ids[i]] != e.kind:
                out.append(e)
        return out

    def put(self, name: str, value: Record | None) -> None:
        """Record (or, with None, forget) one name."""
        self._changes[name] = value

    def stats(self) -> Iterator[tuple[str, int, int]]:
        """(name, size, mtime_ns) of every record: what a no-op compares with the disk."""
        stats = self._stat_column()
        changes = self._changes
        for i, name in enumerate(self.names()):
            if not changes or name not in changes:
                yield name, stats[2 * i], stats[2 * i + 1]
        for name, value in changes.items():
            if value is not None:
                yield name, value[0], value[1]

    def rows(self) -> Iterator[tuple[str, int, int, str]]:
        """(name, size, mtime_ns, tag) of every record, in one pass over the columns."""
        stats = self._stat_column()
        tags, tag_ids = self._tag_columns()
        changes = self._changes
        for i, name in enumerate(self.names()):
            if not changes or name not in changes:
                yield name, stats[2 * i], stats[2 * i + 1], tags[tag_ids[i]]
        for name, value in changes.items():
            if value is not None:
                yield name, value[0], value[1], value[3]

    def records(self) -> Iterator[tuple[str, int, int, str, str]]:
        """(name, size, mtime_ns, md5, tag) of every record, in one pass over the columns."""
        stats = self._stat_column()
        tags, tag_ids = self._tag_columns()
        md5s = self._column(2) if self._columns else b""
        changes = self._changes
        for i, name in enumerate(self.names()):
            if not changes or name not in changes:
                md5 = md5s[16 * i:16 * i + 16]
                yield name, stats[2 * i], stats[2 * i + 1], "" if md5 == _NO_MD5 else md5.hex(), tags[tag_ids[i]]
        for name, value in changes.items():
            if value is not None:
                yield name, value[0], value[1], value[2], value[3]

    def names_tagged(self, tags: Container[str]) -> list[str]:
        """The names of the records now whose tag is one of `tags` (the sources of some kinds),
        from the names and tag columns without making a record of each."""
        names_now, tag_ids = self.names(), self._tag_columns()[1]
        wanted = {i for i, tag in enumerate(self._tag_columns()[0]) if tag in tags}
        changes = self._changes
        found = [name for name, t in zip(names_now, tag_ids, strict=True) if t in wanted
                 and (not changes or name not in changes)]
        found += [name for name, value in changes.items() if value is not None and value[3] in tags]
        return found

    def current(self) -> Iterator[str]:
        """The names of the records now (without making a set of them, as :meth:`keys` does)."""
        changes = self._changes
        for name in self.names():
            if name not in changes or changes[name] is not None:
                yield name
        for name, value in changes.items():
            if value is not None and self._position(name) is None:
                yield name

    def keys(self) -> set[str]:
        found = set(self.names())
        for name, value in self._changes.items():
            if value is None:
                found.discard(name)
            else:
                found.add(name)
        return found

    def count(self) -> int:
        """The number of records now: the loaded ones, with those this build added or forgot
        (a few changes are found in the names column, not by a set of all of them: 8 ms of
        torch4x's edit builds)."""
        count = self._size
        for name, value in self._changes.items():
            count += (value is not None) - (self._position(name) is not None)
        return count

    def __len__(self) -> int:
        return self.count()

    @classmethod
    def of(cls, rows: Iterable[tuple[str, Record]]) -> Records:
        """A table of exactly these records."""
        table = cls()
        table._changes = dict(rows)
        return cls(table.encode())

    def copy(self) -> Records:
        """The same records; the columns are shared (never changed in place)."""
        other = Records.__new__(Records)
        other.__dict__.update(self.__dict__)
        other._changes = dict(self._changes)
        return other

    def stored_columns(self) -> list[Any]:
        """The five columns as stored (bytes-like; the text ones in UTF-8): those loaded, and
        not yet decoded, as they were read."""
        if not self._changes and self._columns is not None:
            return [value.encode("utf-8", "surrogatepass") if isinstance(value, str)
                    else value.read() if isinstance(value, StoredPart) else value for value in self._columns]
        names, stats, md5s, tag_ids, tags = self.encode()
        return [names.encode("utf-8", "surrogatepass"), stats, md5s, tag_ids, tags.encode("utf-8", "surrogatepass")]

    def encode(self) -> Columns:
        """The columns to store: the loaded ones when nothing changed, else built anew (an
        update of known names keeps the names column as it was)."""
        if not self._changes and self._columns is not None:
            return (self._column(0), bytes(self._column(1)), bytes(self._column(2)), bytes(self._column(3)),
                    self._column(4))
        names = self.names()
        stats = array("q", self._stat_column())
        md5s = bytearray(self._column(2)) if self._columns else bytearray()
        loaded_tags, loaded_ids = self._tag_columns()
        tags, tag_ids = list(loaded_tags), array("I", loaded_ids)
        tag_of = {t: i for i, t in enumerate(tags)}
        removed: set[int] = set()
        added: list[tuple[str, Record]] = []
        retagged = False
        for name, value in self._changes.items():
            i = self._position(name)
            if value is None:
                if i is not None:
                    removed.add(i)
                continue
            if i is None:
                added.append((name, value))
                continue
            stats[2 * i], stats[2 * i + 1] = value[0], value[1]
            md5s[16 * i:16 * i + 16] = bytes.fromhex(value[2]) if value[2] else _NO_MD5
            tag = _tag_id(value[3], tags, tag_of)
            retagged = retagged or tag != tag_ids[i]
            tag_ids[i] = tag
        if removed:
            keep = [i for i in range(len(names)) if i not in removed]
            names = [names[i] for i in keep]
            stats = array("q", (v for i in keep for v in (stats[2 * i], stats[2 * i + 1])))
            md5s = bytearray(b"".join(bytes(md5s[16 * i:16 * i + 16]) for i in keep))
            tag_ids = array("I", (tag_ids[i] for i in keep))
        if added:
            names = [*names, *(name for name, _ in added)]
            for _name, value in added:
                stats.extend((value[0], value[1]))
                md5s += bytes.fromhex(value[2]) if value[2] else _NO_MD5
                tag_ids.append(_tag_id(value[3], tags, tag_of))
        if removed or retagged:  # tags no record uses any more (a vanished file's task): dropped
            used = sorted(set(tag_ids))
            if len(used) < len(tags):
                renumber = {old: new for new, old in enumerate(used)}
                tags = [tags[old] for old in used]
                tag_ids = array("I", (renumber[i] for i in tag_ids))
        return _SEP.join(names), stats.tobytes(), bytes(md5s), tag_ids.tobytes(), "".join(_SEP + t for t in tags)


class TableBuilder:
    """A new table built record by record straight into columns, for a build that records
    every output anew (a full build: 262,000 records of a 48,000-file tree took about 330
    bytes each as changes to an empty table, 44 here)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.stats = array("q")
        self.md5s = bytearray()
        self.tag_ids = array("I")
        self.tags: list[str] = []
        self.tag_of: dict[str, int] = {}

    def add(self, name: str, value: Record) -> None:
        """One record (each name once)."""
        self.names.append(name)
        self.stats.extend((value[0], value[1]))
        self.md5s += bytes.fromhex(value[2]) if value[2] else _NO_MD5
        self.tag_ids.append(_tag_id(value[3], self.tags, self.tag_of))

    def records(self) -> Records:
        """The table; the builder is emptied column by column as they are made (at a first
        build's end, each column of 156,000 records held twice was part of its peak)."""
        names = _SEP.join(self.names)
        self.names = []
        stats = self.stats.tobytes()
        self.stats = array("q")
        md5s = bytes(self.md5s)
        self.md5s = bytearray()
        tag_ids = self.tag_ids.tobytes()
        self.tag_ids = array("I")
        return Records((names, stats, md5s, tag_ids, "".join(_SEP + t for t in self.tags)))


def _tag_id(tag: str, tags: list[str], tag_of: dict[str, int]) -> int:
    found = tag_of.get(tag)
    if found is None:
        found = tag_of[tag] = len(tags)
        tags.append(tag)
    return found


def _base_token(state: str) -> str | None:
    """The token in the header of the base stamp file (None when it cannot be read)."""
    try:
        with open(os.path.join(state, STAMP), "rb") as handle:
            if handle.read(len(_MAGIC)) != _MAGIC:
                return None
            size = int.from_bytes(handle.read(8), "little")
            head = marshal.loads(handle.read(size))
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return head.get("token") if isinstance(head, dict) else None


_TABLES = ("sources", "pages", "state", "folders")
"""The stamp's tables, in the order they are stored."""


class Stamp:
    """What the last successful build saw: sources, generated pages, state artefacts.

    `sources`: rel -> [size, mtime_ns, md5, kind]; outputs: name -> [size, mtime_ns, md5, task].
    Pages are kept apart from state artefacts: a no-op build checks the pages and never needs
    the (larger) rest.
    """

    def __init__(self, fingerprint: str = "", tasks: int = 0, sources: Records | None = None,
                 pages: Records | None = None, state: Records | None = None,
                 folders: Records | None = None, listing: str = ""):
        self.fingerprint = fingerprint
        self.tasks = tasks  # number of tasks of the graph (same fingerprint, same graph)
        self.listing = listing
        """The hash of the sources' listing (:meth:`docgraph.discover.SourceTree.listing`)."""
        self.sources = sources if sources is not None else Records()
        self.pages = pages if pages is not None else Records()
        self.state = state if state is not None else Records()
        self.folders = folders if folders is not None else Records()
        """What the walk saw (:class:`docgraph.discover.Walked`): name -> [size, mtime_ns,
        digest, tag]; empty when the sources were not walked whole (watch mode)."""
        self._base: tuple[str, tuple[Columns | None, ...]] | None = None
        """The base file this stamp was loaded from and its tables' columns (see `save`)."""

    def walked(self) -> tuple[list[Walked], RecordedFiles] | None:
        """What the last walk saw, and the sources of each folder as recorded (for
        :meth:`docgraph.discover.Scanner.revisit`, which asks for a few folders' or for all);
        None when not known."""
        if not self.folders.count():
            return None
        # one pass over the columns (the digests too), not a lookup of each of 2,500 names
        table = self.folders
        walked = sorted((Walked(name, size, mtime, tag, digest)
                         for name, size, mtime, digest, tag in table.records()), key=lambda w: w.rel)
        sources = self.sources

        def by_folder(folder: str) -> list[Entry]:
            return [Entry.recorded(rel, kind, size, mtime) for rel, size, mtime, kind in sources.rows_in((folder,))]

        def everything() -> dict[str, list[Entry]]:
            files: dict[str, list[Entry]] = {}
            for rel, size, mtime, kind in sources.rows():
                files.setdefault(rel.rpartition("/")[0], []).append(Entry.recorded(rel, kind, size, mtime))
            return files

        def kind(rel: str) -> str | None:
            found = sources.peek(rel)
            return None if found is None else found[2]

        return walked, RecordedFiles(by_folder, everything, kind, sources.count, self.listing or None,
                                     sources.names_tagged)

    def set_walked(self, walked: Iterable[Walked] | None) -> bool:
        """Record what this build's walk saw (None: forget, the next build walks); whether
        that differs from the record."""
        rows = [(w.rel, [w.size, w.mtime_ns, w.digest, w.tag]) for w in walked or ()]
        # one pass over the columns (a lookup of each of 2,500 folders: 11 ms at 48,000 sources)
        if [(name, [size, mtime, digest, tag]) for name, size, mtime, digest, tag in self.folders.records()] == rows:
            return False
        self.folders = Records.of(rows)
        return True

    def output(self, name: str, page_prefix: str) -> Record | None:
        """What the stamp recorded of one generated file."""
        return (self.pages if name.startswith(page_prefix) else self.state).get(name)

    def output_stat(self, name: str, page_prefix: str) -> tuple[int, int, str] | None:
        """(size, mtime_ns, md5) of one generated file as recorded (see :meth:`Records.stat_of`)."""
        return (self.pages if name.startswith(page_prefix) else self.state).stat_of(name)

    def set_output(self, name: str, value: Record | None, page_prefix: str) -> None:
        """Record (or, with None, forget) one generated file."""
        (self.pages if name.startswith(page_prefix) else self.state).put(name, value)

    def copy(self, fingerprint: str, tasks: int) -> Stamp:
        """A stamp to update: the same records (over the same base)."""
        other = Stamp(fingerprint, tasks, self.sources.copy(), self.pages.copy(), self.state.copy(),
                      self.folders.copy(), self.listing)
        other._base = self._base
        return other

    def verify(self) -> None:
        """Read every table's names and tags, which a build reads only as it needs them
        (:class:`StampDamaged` when one does not fit its table)."""
        for name in _TABLES:
            table: Records = getattr(self, name)
            table.names()
            table._tag_columns()

    @classmethod
    def load(cls, state: str, verified: bool = False) -> Stamp | None:
        """The stamp in STATE: its base, with the changes its delta file records when the delta
        is of that base (see :meth:`save`).  `verified`: with every column read now, for a
        caller that cannot start again without the stamp (the engine can, when a column read
        later is damaged: :class:`StampDamaged`)."""
        try:
            file = PartsFile(os.path.join(state, STAMP), StampDamaged)
            start = os.pread(file.fd, len(_MAGIC), 0)
            if start != _MAGIC:
                if start[:1] in (b"{", b"\xfb"):  # a marshalled dict: the format before
                    return None
                raise ValueError("not a stamp")
            head = marshal.loads(stored_parts(file, 1, len(_MAGIC))[0].read())
            if not isinstance(head, dict) or head.get("version") != STAMP_VERSION:
                return None  # (another version's tables may be fewer parts)
            parts = stored_parts(file, 1 + 5 * len(_TABLES), len(_MAGIC))
            sources, pages, state_table, folders = (Records.stored(parts[1 + 5 * at:6 + 5 * at])
                                                    for at in range(len(_TABLES)))
            del parts
            stamp = cls(head["fingerprint"], head["tasks"], sources, pages, state_table, folders,
                        str(head["listing"]))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, EOFError, TypeError, KeyError, IndexError):
            log.warning("build stamp in %s is damaged; checking every task once", state)
            return None
        base = str(head.get("token", ""))
        stamp._base = (base, tuple(getattr(stamp, name)._columns for name in _TABLES))
        try:
            with open(os.path.join(state, DELTA), "rb") as handle:
                delta = unmarshal(handle)
            if not isinstance(delta, dict) or delta.get("version") != STAMP_VERSION \
                    or delta["base"] != base or not base:
                # the delta of another base (a build killed between writing a base and removing
                # the old delta): the base alone is older than the last build, so no stamp
                log.info("build stamp delta in %s is not of its base; checking every task once", state)
                return None
            stamp.fingerprint, stamp.tasks, stamp.listing = delta["fingerprint"], delta["tasks"], delta["listing"]
            for name in _TABLES:
                kind, value = delta["tables"][name]
                table = Records(value) if kind == "whole" else getattr(stamp, name).copy()
                if kind == "changes":
                    table._changes.update(value)
                setattr(stamp, name, table)
        except OSError:
            pass
        except (ValueError, EOFError, TypeError, KeyError, IndexError):
            log.warning("build stamp delta in %s is damaged; checking every task once", state)
            return None
        if verified:
            try:
                stamp.verify()
            except StampDamaged as exc:
                log.warning("build stamp in %s is damaged (%s); checking every task once", state, exc)
                return None
        return stamp

    @staticmethod
    def remove(state: str) -> None:
        """Delete the stamp (the next build checks every task)."""
        for name in (STAMP, DELTA):
            try:
                os.remove(os.path.join(state, name))
            except FileNotFoundError:
                pass

    def save(self, state: str) -> None:
        """Write the stamp: a magic line, a header, then each table's columns, one after the
        other, each preceded by its length, so a load maps the file and decodes each in place
        (marshal: the stamp is only a cache, and another Python version reads it as damaged, so
        the next build checks every task).  A table is encoded and written before the next one is
        encoded: the whole stamp of a 48,000-file tree held at once, and its encoding, were
        the peak of the build's memory."""
        if self._save_delta(state):
            return
        path = os.path.join(state, STAMP)
        tmp = os.path.join(state, f".{STAMP}{TMP_MARK}{os.getpid()}")  # a killed build's: removed
        with open(tmp, "wb") as handle:
            handle.write(_MAGIC)
            put_part(handle, marshal.dumps({"version": STAMP_VERSION, "fingerprint": self.fingerprint,
                                            "tasks": self.tasks, "listing": self.listing,
                                            "token": os.urandom(8).hex()}))
            for name in _TABLES:
                for column in getattr(self, name).stored_columns():
                    put_part(handle, column)
        os.replace(tmp, path)
        try:
            os.remove(os.path.join(state, DELTA))  # (of the base replaced: unused in any case)
        except FileNotFoundError:
            pass
        self._base = None

    def _save_delta(self, state: str) -> bool:
        """Write only what changed since the base this stamp was loaded from, when that is
        little: an edit of one file at 48,000 sources rewrote a 37 MB stamp (0.3 s)."""
        if self._base is None:
            return False
        base, columns = self._base
        if not base or _base_token(state) != base:
            return False
        tables: dict[str, tuple[str, Any]] = {}
        count = 0
        for name, loaded in zip(_TABLES, columns):
            table: Records = getattr(self, name)
            if table._columns is loaded and loaded is not None:
                tables[name] = ("changes", table._changes)
                count += len(table._changes)
            else:  # replaced (the folders' table, rebuilt whole when the walk differs)
                tables[name] = ("whole", table.encode())
                count += len(table)
        base_records = sum(len(loaded[1]) // 16 for loaded in columns if loaded is not None)  # (16 bytes of stat data each)
        if count > max(DELTA_FLOOR, DELTA_SHARE * base_records):
            return False
        path = os.path.join(state, DELTA)
        tmp = os.path.join(state, f".{DELTA}{TMP_MARK}{os.getpid()}")
        with open(tmp, "wb") as handle:
            marshal.dump({"version": STAMP_VERSION, "base": base, "fingerprint": self.fingerprint,
                          "tasks": self.tasks, "listing": self.listing, "tables": tables}, handle)
        os.replace(tmp, path)
        return True

    def known(self) -> Callable[[str], tuple[int, int, str] | None]:
        """A lookup of (size, mtime_ns, kind) of each source as the last build saw it (for
        discovery, which asks it of the files whose stat data changed, and of every file of a
        folder it lists: a few names are found without indexing 48,000)."""
        return self.sources.peek
