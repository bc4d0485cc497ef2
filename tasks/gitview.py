"""The build's side of git's view (:mod:`docgraph.journal`): a no-op decided from what git names,
and the journal a build leaves for the next one.

`journal` holds what is git's (its status, the diff between two commits, the record); this
module compares that with the stamp, the settings and the output folders, which are the
engine's.
"""

from __future__ import annotations

import dataclasses
import os
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import journal
from .config import Config
from .discover import (
    FOLDER,
    IGNORE,
    RACY_NS,
    RESCAN,
    Entry,
    RecordedFiles,
    Scanner,
    SourceTree,
    Walked,
    folder_moved,
    listing_digest,
    make_tree,
)
from .facts import Finding
from .graph import Graph
from .outputs import page_prefix, stale_pages
from .report import Collector
from .stamp import Stamp
from .store import stat_data

if TYPE_CHECKING:
    from .engine import Session


def settings_digest(config: Config) -> str:
    """The settings, the tool and discovery's rules, without the listing (see journal)."""
    return Graph(config, make_tree(())).settings_digest() + Scanner(config).rules()


@dataclass(frozen=True)
class Stated:
    """What a build stats while `git status` runs, which git's answer does not change: the
    folders of the last walk and the output folders (git is not asked of untracked files, and
    the pages are not its business), each compared with its record.  torch4x's edit builds
    waited 60 ms for git, then spent 40 ms on these stat calls."""

    walked: tuple[list[Walked], RecordedFiles] | None
    """What the last walk saw (:meth:`docgraph.stamp.Stamp.walked`)."""
    moved: frozenset[str]
    """The folders of the last walk whose stat data differ from its record (a file came, went
    or was renamed in each)."""
    changed_out: tuple[str, ...]
    """The output folders that changed since the journal's record (:func:`journal.changed_folders`)."""


def stat_while_git_looks(record: journal.Record, stamp: Stamp, config: Config) -> Stated:
    """The stat calls of :class:`Stated`, made between starting git and reading its answer
    (the same order as before: git started first, see :mod:`docgraph.journal`)."""
    walked = stamp.walked()
    root = config.root
    moved = frozenset(w.rel for w in walked[0] if w.tag == FOLDER and folder_moved(root, w.rel, w.size, w.mtime_ns)) \
        if walked is not None else frozenset()
    return Stated(walked, moved, tuple(journal.changed_folders(record, root)))


def quiet(look: journal.Look, stamp: Stamp, config: Config, stated: Stated) -> tuple[list[str], list[str]] | None:
    """A no-op decided from git's view alone (:mod:`docgraph.journal`): every path git named,
    now or at the last build, is as the stamp recorded it (or undocumented), no folder the
    last walk listed changed (a new file would change its folder), no output folder changed
    but for pages as recorded, and the settings are the same.  Returns the paths
    modified after git looked (to be named again next time) and the output folders that
    changed; None when a build has to look further."""
    record = look.record
    assert record is not None
    root = config.root
    if record.settings != settings_digest(config) \
            or not os.path.exists(os.path.join(config.state, "model.sqlite3")):
        return None
    scanner = Scanner(config)
    for rel, size, mtime in record.ignores:
        if (stat_data(os.path.join(root, rel)) or (-1, -1)) != (size, mtime):
            return None
    for folder, digest in record.rescan:
        if scanner.relist(folder) != digest:
            return None
    prefix = page_prefix(config)
    skipped = tuple(rel + "/" for rel in scanner.skip_rel if rel + "/" != prefix)
    threshold = look.status.started - RACY_NS
    racy: list[str] = []
    for rel in look.files:
        if rel.startswith(skipped):
            continue
        if rel.rpartition("/")[2] == ".gitignore":
            return None
        try:
            st: os.stat_result | None = os.lstat(os.path.join(root, rel))
        except OSError:
            st = None
        if st is not None and st.st_mtime_ns >= threshold:
            racy.append(rel)
        now = None if st is None else (st.st_size, st.st_mtime_ns)
        if rel.startswith(prefix):
            page = stamp.pages.stat_of(rel)
            if page is not None and now != (page[0], page[1]):
                return None
            continue
        old = stamp.sources.peek(rel)
        if old is None:
            if st is not None and scanner.entry(rel) is not None:
                return None  # a new documented file
        elif now != (old[0], old[1]):
            return None
    if stated.walked is None or stated.moved:  # a new file, which git is not asked of
        return None
    changed_out = list(stated.changed_out)
    if changed_out and stale_pages(stamp, config, set(changed_out)):
        return None
    return racy, changed_out


def note_quiet(config: Config, look: journal.Look, racy: list[str], changed_out: list[str]) -> None:
    """After a no-op decided from git's view: the journal with what git names now."""
    record, now = look.record, look.status
    assert record is not None
    dirty = tuple(sorted(now.files | set(racy)))
    if (now.head, dirty) == (record.head, record.dirty) and not changed_out:
        return
    out = journal.restat(record.out, changed_out, config.root) if changed_out else record.out
    dataclasses.replace(record, head=now.head, dirty=dirty, out=out).save(config.state)


def save(session: Session, status: journal.Status, old: journal.Record | None,
         collector: Collector, stamp: Stamp) -> None:
    """After a build whose stamp (`stamp`) was written: what git named when it started, for
    the next build (see :mod:`docgraph.journal`)."""
    config, tree = session.config, session.tree
    state = config.state
    stamp_id = journal.stamp_id(state)
    if stamp_id is None or tree.walked is None:
        journal.forget(state)
        return
    threshold = status.started - RACY_NS
    prefix = session.page_prefix
    dirty = set(status.files)
    dirty.update(e.rel for e in tree.stated if e.mtime_ns >= threshold)  # (the others are as recorded)
    dirty.update(prefix + page for page in collector.pages)
    listing_same = old is not None and session.stamp is not None \
        and session.stamp.fingerprint == stamp.fingerprint
    untracked: tuple[str, ...]
    if listing_same:
        assert old is not None
        untracked = old.untracked
    else:
        known = journal.tracked(config.root)
        if known is None:
            journal.forget(state)
            return
        untracked = tuple(e.rel for e in tree.entries if e.rel not in known)
    out: tuple[journal.OutFolder, ...]
    if old is not None and "manifest" not in collector.executed:  # the same output folders
        # stat'ed again: those this build wrote into or removed from, those that differed when
        # it began, and those not vouched for; any other is as recorded, and a change to it
        # since differs from the record as well
        again = {(prefix + page).rpartition("/")[0] for page in (*collector.pages, *collector.removed)}
        again.update(session.changed_out)
        again.update(found[0] for found in old.out if found[3] or found[2] == -1)
        out = journal.restat(old.out, again, config.root)
    else:
        out = journal.out_folders(sorted({n.rpartition("/")[0] for n, _s, _m in stamp.pages.stats()
                                          if n.startswith(prefix)}), config.root)
    journal.Record(
        stamp=stamp_id, settings=settings_digest(config), head=status.head,
        dirty=tuple(sorted(dirty)), untracked=untracked,
        ignores=tuple((w.rel, w.size, w.mtime_ns) for w in tree.walked if w.tag == IGNORE),
        out=out, rescan=rescan_digests(tree),
        findings=tuple((f.path, f.line, f.message) for f in tree.findings),
    ).save(state)


def rescan_digests(tree: SourceTree) -> tuple[tuple[str, str], ...]:
    """The listing digest of each folder this build's walk listed anew (see journal)."""
    assert tree.walked is not None
    rescan = {w.rel for w in tree.walked if w.tag == RESCAN}
    if not rescan:
        return ()
    entries: dict[str, list[Entry]] = defaultdict(list)
    for entry in tree.stated:  # (a folder listed anew was stat'ed)
        parent = entry.rel.rpartition("/")[0]
        if parent in rescan:
            entries[parent].append(entry)
    subfolders: dict[str, list[str]] = defaultdict(list)
    for w in tree.walked:
        if w.tag in (FOLDER, RESCAN) and w.rel and w.rel.rpartition("/")[0] in rescan:
            subfolders[w.rel.rpartition("/")[0]].append(w.rel)
    findings: dict[str, list[Finding]] = defaultdict(list)
    for finding in tree.findings:
        parent = finding.path.rpartition("/")[0]
        if parent in rescan:
            findings[parent].append(finding)
    return tuple((folder, listing_digest(folder, entries[folder], subfolders[folder], findings[folder]))
                 for folder in sorted(rescan))
