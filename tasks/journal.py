"""Git's record of what changed: a build of a git work tree that neither lists folders nor
stats every source.

`git status` names every tracked path that differs from the checked-out commit (edited, staged,
deleted), and git does the stat calls in C, on threads, with its index's stat data: 0.05 s on
the 48,000-file torch4x tree, where a bare walk and stat of its sources took 0.32 s (README,
Performance).  A tracked path git does not name has the content of HEAD.  So when the last
build recorded (in this journal) the commit it saw and the paths git named then, a path named
neither then nor now, and unchanged between the two commits, has the content the stamp
recorded: only the named paths need a look.  Files git does not track are not asked of git
(see :func:`status`): a new one changes its folder's stat data, and discovery compares every
folder's with the last walk's record; those already documented are named by the journal.

The invariant kept: for every source of the stamp not in `dirty` (and not in `untracked`), the
stamp's record is of HEAD's content.  Hence what is written as `dirty`: the paths git named at
the start of the build, the sources it found modified after git looked (their mtime within the
racy window of the status), and the pages it wrote (a page committed to git and edited back by
hand would look clean to git).  Sources git does not track (new files not added, or files
ignored by git's own rules but not by docgraph's, which a mismatch of matchers could cause) are
kept in `untracked` and stat'ed by every build.

Used only where git's view and docgraph's agree: ROOT is the top of the work tree (git applies
no `.gitignore` above it), `gitignore: true`, no submodules (git reports a submodule's content
only as a whole), and git is installed.  The global excludes file is switched off for the
status (docgraph does not read it).

Generated pages are git's business only when they are committed: then an edited page is named
by `git status`.  Otherwise the journal records the stat data of each output folder; a page
deleted, renamed or replaced (as editors save) changes its folder, whose pages are then stat'ed.
A page edited in place, in a folder git ignores, is found by `docgraph check` and by the next
build of its source, not by a no-op (measured reason, README: a bare `find -printf` over
torch4x's 106,000 pages took 0.6 s, against a whole no-op of 1.42 s).
"""

from __future__ import annotations

import hashlib
import marshal
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass

from . import gitprocess
from .discover import RACY_NS
from .store import TMP_MARK, unmarshal

JOURNAL = "journal.marshal"
VERSION = 4

def _git(root: str, *args: str) -> bytes | None:
    """Output of one git command in ROOT, or None when it failed."""
    return gitprocess.output(gitprocess.start(root, *args))


def usable(root: str, gitignore: bool) -> bool:
    """Whether git's view of ROOT is docgraph's (see the module's docstring)."""
    return gitignore and os.path.exists(os.path.join(root, ".git")) \
        and not os.path.exists(os.path.join(root, ".gitmodules")) and shutil.which("git") is not None


@dataclass(frozen=True)
class Status:
    """What `git status` named."""

    head: str
    """The commit checked out ("" before the first commit)."""
    files: frozenset[str]
    """Tracked paths (relative to ROOT) that differ from HEAD or from the index."""
    started: int
    """time.time_ns() just before git looked."""


class PendingStatus:
    """`git status` running while the build loads its stamp (0.07 s of torch4x's edit builds
    was waiting for it): the one the command line started early for ROOT when there is one
    (:mod:`docgraph.gitprocess`), else started now; :meth:`result` waits for it."""

    def __init__(self, root: str, early: gitprocess.StartedStatus | None = None) -> None:
        self._status = early if early is not None else gitprocess.StartedStatus(root)
        self.started = self._status.started

    def result(self) -> Status | None:
        """What git named (see :func:`status`)."""
        out = self._status.output()
        return None if out is None else _parse_status(out, self.started)


def status(root: str) -> Status | None:
    """`git status` of ROOT, tracked files only; None when git failed or named a submodule.

    Untracked files are not asked for: git finds them by listing every folder and matching
    each name against the ignore rules (0.09-0.16 s of torch4x's status, against 0.05 s
    without; measured at session 18), where a new file changes its folder's stat data, which
    discovery's revisit compares with the last walk's record of every folder (2,500 stat
    calls on torch4x).  Known untracked sources are named by the journal (`untracked`)."""
    return PendingStatus(root).result()


def _parse_status(out: bytes, started: int) -> Status | None:
    head = ""
    files: set[str] = set()
    fields = {b"1": 8, b"2": 9, b"u": 10}
    parts = out.split(b"\0")
    i = 0
    while i < len(parts):
        line = parts[i]
        i += 1
        if not line:
            continue
        kind = line[:1]
        if line.startswith(b"# branch.oid "):
            oid = line[len(b"# branch.oid "):].decode("ascii", "replace")
            head = "" if oid == "(initial)" else oid
        elif kind in fields:
            split = line.split(b" ", fields[kind])
            if split[2].startswith(b"S"):
                return None  # a submodule: its files are not named
            files.add(os.fsdecode(split[-1]))
            if kind == b"2":  # (renames are off; the original path follows anyway)
                files.add(os.fsdecode(parts[i]))
                i += 1
    return Status(head, frozenset(files), started)


def changed_between(root: str, old: str, new: str) -> set[str] | None:
    """Paths that differ between two commits; None when either is unknown."""
    if old == new:
        return set()
    if not old or not new:
        return None
    out = _git(root, "diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", old, new, "--")
    if out is None:
        return None
    return {os.fsdecode(p) for p in out.split(b"\0") if p}


def tracked(root: str) -> set[str] | None:
    """Every path git's index holds."""
    out = _git(root, "ls-files", "-z")
    if out is None:
        return None
    return {os.fsdecode(p) for p in out.split(b"\0") if p}


OutFolder = tuple[str, int, int, str]
"""An output folder's record: its name (as the stamp names pages), size, mtime and, when its
mtime is too recent to vouch for, the digest of its listing (:func:`_listing`), else ""."""


@dataclass(frozen=True)
class Record:
    """What the last build left for the next one (see the module's docstring)."""

    stamp: tuple[int, ...]
    """The stamp files' sizes, mtimes and inodes when this was written: a record of another
    stamp (watch mode's, a build without git) is not used."""
    settings: str
    """The settings' and code's digest (:meth:`docgraph.graph.Graph.settings_digest`)."""
    head: str
    dirty: tuple[str, ...]
    untracked: tuple[str, ...]
    """Documented sources git does not track."""
    ignores: tuple[tuple[str, int, int], ...]
    """The ignore files discovery applied, with their stat data."""
    out: tuple[OutFolder, ...]
    """Each output folder's record (:func:`out_folders`)."""
    rescan: tuple[tuple[str, str], ...]
    """Each folder listed by every walk (it holds a link or a secret, gave a finding, or
    changed just before it was listed) with the digest of that listing
    (:func:`docgraph.discover.listing_digest`): a no-op lists these alone."""
    findings: tuple[tuple[str, int, str], ...]
    """Discovery's findings (reported again by a no-op)."""

    def save(self, state: str) -> None:
        path = os.path.join(state, JOURNAL)
        tmp = os.path.join(state, f".{JOURNAL}{TMP_MARK}{os.getpid()}")
        with open(tmp, "wb") as handle:
            marshal.dump((VERSION, self.stamp, self.settings, self.head, self.dirty,
                          self.untracked, self.ignores, self.out, self.rescan, self.findings),
                         handle)
        os.replace(tmp, path)


def stamp_id(state: str) -> tuple[int, ...] | None:
    """The stat data of the stamp's files (its base and its delta), None without a stamp."""
    from .stamp import DELTA, STAMP

    found: list[int] = []
    for name in (STAMP, DELTA):
        try:
            st = os.stat(os.path.join(state, name))
        except OSError:
            if name == STAMP:
                return None
            found.extend((-1, -1, -1))
            continue
        found.extend((st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(found)


def load(state: str) -> Record | None:
    """The journal of the stamp in STATE, or None (absent, damaged, of another stamp)."""
    try:
        with open(os.path.join(state, JOURNAL), "rb") as handle:
            data = unmarshal(handle)
        if data[0] != VERSION:
            return None
        record = Record(*data[1:])
    except (OSError, ValueError, EOFError, TypeError, IndexError):
        return None
    return record if record.stamp == stamp_id(state) else None


def forget(state: str) -> None:
    try:
        os.remove(os.path.join(state, JOURNAL))
    except FileNotFoundError:
        pass


def out_folders(folders: Iterable[str], root: str) -> tuple[OutFolder, ...]:
    """The records of the folders of generated files (see :data:`OutFolder`).

    A folder the build just wrote pages into has an mtime within the racy window: a page
    deleted or added in the same tick of the file system's clock would leave it unchanged.
    Such a folder's listing is recorded, so the next build lists its few hundred entries
    again instead of searching the stamp's 106,000 page names for its pages (torch4x's root
    output folder: 37 ms a build after every build that wrote a keyword letter)."""
    trusted = time.time_ns() - RACY_NS
    found = []
    for folder in folders:
        path = _out_path(folder, root)
        try:
            st = os.stat(path)
        except OSError:
            found.append((folder, -1, -1, ""))
            continue
        found.append((folder, st.st_size, st.st_mtime_ns,
                      "" if st.st_mtime_ns < trusted else _listing(path)))
    return tuple(found)


def restat(out: tuple[OutFolder, ...], folders: Iterable[str], root: str) -> tuple[OutFolder, ...]:
    """The records `out` with those of `folders` taken again (the others stand: a change to
    one since it was taken differs from it as well)."""
    wanted = set(folders)
    again = {found[0]: found for found in out_folders([f[0] for f in out if f[0] in wanted], root)}
    return tuple(again.get(found[0], found) for found in out)


def _out_path(folder: str, root: str) -> str:
    return folder if folder.startswith(os.sep) else os.path.join(root, folder)


def _listing(path: str) -> str:
    """A digest of a folder's entries, each a name and whether it is a folder: what the
    folder's mtime vouches for when it is old enough (an entry made, removed or renamed), no
    more (a page rewritten in place leaves its folder's mtime and its name as they were, and
    is git's to name).  Without a `stat` per entry: torch4x's root output folder holds 700
    pages, and the folders an edit writes were listed twice per edit (when recorded and by
    the next build).  "-" when it cannot be listed."""
    rows = []
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                try:
                    rows.append(("d\0" if entry.is_dir(follow_symlinks=False) else "f\0") + entry.name)
                except OSError:
                    rows.append("?\0" + entry.name)
    except OSError:
        return "-"
    rows.sort()
    return hashlib.md5("\0\0".join(rows).encode("utf-8", "surrogateescape")).hexdigest()


def changed_folders(record: Record, root: str) -> list[str]:
    """Output folders that may have changed since the record: their stat data differ, or they
    were too recent to vouch for and their listing differs."""
    changed = []
    for folder, size, mtime, listing in record.out:
        path = _out_path(folder, root)
        try:
            st = os.stat(path)
        except OSError:
            changed.append(folder)
            continue
        if (st.st_size, st.st_mtime_ns) != (size, mtime) or (listing and _listing(path) != listing):
            changed.append(folder)
    return changed


@dataclass(frozen=True)
class Look:
    """What git says may differ from the stamp, for one build."""

    status: Status
    record: Record | None
    files: frozenset[str]
    """Paths to look at (stat, and hash when the stat data differ)."""


def look(root: str, record: Record | None, now: Status) -> Look | None:
    """The paths to look at, from the record of the last build and git's status now; None when
    the record cannot say (no record, or a commit git no longer knows)."""
    if record is None:
        return None
    between = changed_between(root, record.head, now.head)
    if between is None:
        return None
    files = frozenset(now.files | set(record.dirty) | between | set(record.untracked))
    return Look(now, record, files)
