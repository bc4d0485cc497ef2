"""Running the graph: a stamp-based fast path in front of doit, and doit on only what can be affected.

Plain doit re-creates and re-checks every task on each run: about 1 s per 12,000 tasks here, before
any work.  The engine avoids that without giving up doit's bookkeeping:

1. Discovery stats every source.  If nothing differs from the *stamp* written after the last
   successful build (sources' stat data, with content hashes to see through new mtimes; the
   settings, listing and tool fingerprint; the generated pages' stat data), the build is a no-op.
2. Otherwise the planner picks the candidate tasks: analysis and pages of sources whose content
   changed, the settings task when the fingerprint changed, the producer of a missing or
   modified page.
3. doit runs stage by stage on the candidates only (a tiny loader, the sqlite3 backend, which
   reads just the rows it needs).  After each stage, a task downstream becomes a candidate when
   one of its input files differs from the stamp: doit's MD5 check still decides whether it runs.

Tasks that are never loaded are up to date by construction: none of their inputs changed.  The
property tests compare this path with clean builds after random edit sequences.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from typing import Any

from . import gitprocess, gitview, journal
from .config import Config
from .discover import (
    BINARY,
    FILE,
    RACY_NS,
    Entry,
    SourceTree,
    discover,
    make_tree,
)
from .errors import StateDamaged
from .facts import Finding
from .graph import ANALYZE, MANIFEST, Graph, Spec, task_name
from .heap import collector_paused
from .outputs import page_prefix, stale_pages
from .report import Collector, Progress, Report, load_findings, write_report
from .stamp import Records, Stamp, TableBuilder
from .store import (
    BUILDING,
    FileHashes,
    Lock,
    claim_output,
    file_md5,
    generated_names,
    remove_leftovers,
    stat_data,
)

log = logging.getLogger("docgraph")

DOIT_DB = "doit.sqlite3"
OWN_PAGES_LIMIT = 64  # more analysed files than this (a checkout): no own-pages step first
RECORD_ANEW = 0.9
"""A build that loaded this share of the graph's tasks or more (an upgrade of docgraph checks
them all) records their outputs straight into new columns (see :meth:`Session._record`)."""


@dataclass
class Plan:
    """What the planner found."""

    candidates: set[str]
    """Tasks to hand to doit first."""
    source_md5: dict[str, str]
    """Content hashes computed while planning (reused for the new stamp)."""
    full: bool
    """No usable stamp: every task is a candidate."""
    refreshed: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Generated pages with new stat data but unchanged content."""

    @property
    def noop(self) -> bool:
        return not self.candidates and not self.full


def plan(stamp: Stamp | None, tree: SourceTree, graph: Graph, changed: set[str] | None = None,
         check_pages: bool = True,
         stale: list[tuple[str, tuple[int, int] | None]] | None = None) -> Plan:
    """Candidates for this build, from what differs between the stamp and the disk.

    Watch mode passes `changed` (the paths its events named; the rest is known unchanged) and
    skips the check of hand-edited pages.  `stale` is :func:`stale_pages`, when the caller
    found it while discovery ran.
    """
    if stamp is None:
        return Plan(set(graph.all_specs_names()), {}, True)
    candidates: set[str] = set()
    md5s: dict[str, str] = {}
    refreshed: dict[str, tuple[int, int]] = {}
    if stamp.fingerprint != graph.fingerprint():
        candidates.add("settings")
    if not os.path.exists(graph.paths.model):  # deleted by hand: the keyword indices read it
        candidates.add("model")
    root = graph.config.root
    if changed is None and tree.differing is not None:
        changed = set(tree.differing)  # what the revisit of the tree found (same as a comparison)
    if changed is None:
        entries: Iterable[Entry] = tree.entries
    else:
        entries = [e for e in (tree.entry(rel) for rel in sorted(changed)) if e is not None]
    for entry in stamp.sources.differing(e for e in entries if e.kind in (FILE, BINARY)):
        old = stamp.sources.get(entry.rel)
        if old is not None and old[3] == entry.kind and old[0] == entry.size:
            md5 = file_md5(os.path.join(root, entry.rel))
            md5s[entry.rel] = md5
            if md5 == old[2]:
                continue
        candidates.add(task_name("analyze", entry.rel))
        if entry.kind == FILE:
            candidates.add(task_name("page", entry.rel))
            candidates.add(task_name("kw", entry.rel))
    if not check_pages:
        stale = []
    elif stale is None:
        stale = stale_pages(stamp, graph.config)
    root = graph.config.root + os.sep
    for name, now in stale:
        record = stamp.pages.get(name)
        assert record is not None
        size, _mtime, md5, task = record
        path = name if name.startswith(os.sep) else root + name
        if now is not None and now[0] == size and md5 and file_md5(path) == md5:
            refreshed[name] = now
            continue
        if graph.spec(task) is not None:
            if now is not None:
                os.remove(path)  # a generated page edited by hand: ours to replace
            candidates.add(task)
    return Plan(candidates, md5s, False, refreshed)


RACY_MTIME = -1
"""The modification time recorded for a source modified too recently to vouch for (see
:func:`_recorded_mtime`): no file has it, so the next build hashes the source again."""


def _trusted_before() -> int:
    """Sources modified before this time (ns) are recorded as they were stat'ed."""
    return time.time_ns() - RACY_NS


def _recorded_mtime(mtime_ns: int, trusted_before: int) -> int:
    """The modification time the stamp records for a source: its own, unless it is within
    :data:`RACY_NS` of the stamp (or later): a second write in the same tick of the file
    system's clock, of the same size, keeps size and mtime, and the next build would take the
    file as the one this build read.  Such a file is hashed again by the next build (as git
    does with entries as new as its index)."""
    return mtime_ns if mtime_ns < trusted_before else RACY_MTIME


class Session:
    """One build's plan, widened stage by stage, and the stamp it leaves.

    Shared by :class:`Engine` (which runs each stage in its pool) and by `dodo.py` under plain
    doit (whose lazy task creators ask for the tasks of one kind when doit reaches them).  A task
    is loaded when it is a candidate of the plan, or when an input file of it, written by a task
    loaded in an earlier stage, differs from what the stamp recorded: doit's MD5 check then
    decides whether it runs.
    """

    def __init__(self, config: Config, stamp: Stamp | None, tree: SourceTree, graph: Graph,
                 the_plan: Plan, hashes: FileHashes, changed_out: Iterable[str] = ()):
        self.config, self.stamp, self.tree, self.graph = config, stamp, tree, graph
        self.plan = the_plan
        self.page_prefix = page_prefix(config)
        self.hashes = hashes
        self.loaded: set[str] = set()
        self._stages: dict[int, set[str]] = defaultdict(set)
        self._pending: list[str] = []  # loaded, outputs not yet compared with the stamp
        self.ran: set[str] | None = None  # tasks whose actions ran, when the runner noted files
        # a first build's output records, stage by stage (see `settle`), and the tasks recorded
        self._recorded: tuple[TableBuilder, TableBuilder] | None = None
        self._settled: set[str] = set()
        self.changed_out = tuple(changed_out)
        """The output folders whose stat data differed from the journal's when the build began
        (git's view, :mod:`docgraph.gitview`)."""
        for name in the_plan.candidates:
            spec = graph.spec(name)
            if spec is not None:
                self._stages[spec.stage].add(name)

    def names(self, stage: int, kind: str | None = None) -> set[str]:
        """Tasks of `stage` (of one kind, when given) to load now; each name is handed out once.

        Every task of an earlier stage that was handed out must have run before this call."""
        if not self.plan.full:
            self._widen(stage)
        names = {n for n in self._stages.get(stage, set()) - self.loaded
                 if kind is None or n.partition(":")[0] == kind}
        self.loaded |= names
        self._pending.extend(sorted(names))
        return names

    def own_pages(self, analysed: Iterable[str]) -> list[str]:
        """The `_docs.md` and `_kw.md` tasks of the files whose analysis just ran, when every
        input of theirs exists (a new file has no cross-reference digest before the model ran).

        Watch mode runs them before the model, so an edited file's own pages follow the save
        without waiting for the aggregates.  They are not marked as loaded: their own stage
        hands them out again, after the model, and doit reruns those whose cross-references
        changed, so the result is what a build without this step writes."""
        graph = self.graph
        found = []
        for name in sorted(analysed):
            kind, _, rel = name.partition(":")
            if kind != "analyze":
                continue
            for own in (task_name("kw", rel), task_name("page", rel)):
                spec = graph.spec(own)
                if spec is not None and all(os.path.exists(graph.absolute(dep)) for dep in spec.file_dep):
                    found.append(own)
        return found

    def note_runs(self, executed: Iterable[str]) -> None:
        """The runner ran these tasks and noted every file their actions read or wrote."""
        if self.ran is None:
            self.ran = set()
        self.ran.update(executed)

    def _targets(self, name: str, targets: list[str] | tuple[str, ...],
                 touched: Container[str] | None) -> Iterable[str]:
        """The outputs of a task that this build may have changed: all of them, except for a
        task of many outputs (the model: one digest per file and folder) that ran under the
        runner, whose action noted every file it wrote or compared (a digest it did not touch
        is what the stamp recorded)."""
        if touched is None or self.ran is None or name not in self.ran or len(targets) <= 64:
            return targets
        return [t for t in targets if t in touched]

    def _touched(self) -> Container[str] | None:
        """The names of the files the runner's actions read or wrote."""
        return None if self.ran is None else self.hashes.names()

    def _widen(self, stage: int) -> None:
        """Consumers of the outputs that differ from the stamp (by content when only the stat
        data differ: a fresh clone gives every state file a new mtime)."""
        graph, stamp, prefix = self.graph, self.stamp, self.page_prefix
        keep: list[str] = []
        touched = self._touched()
        for name in self._pending:
            spec = graph.spec(name)
            if spec is None:
                continue
            if spec.stage >= stage:
                keep.append(name)
                continue
            for target in self._targets(name, spec.targets, touched):
                old = stamp.output_stat(target, prefix) if stamp is not None else None
                if old is not None:
                    path = graph.absolute(target)
                    now = stat_data(path)
                    if now == (old[0], old[1]):
                        continue
                    if now is not None and now[0] == old[0] and old[2] \
                            and self.hashes.md5(path) == old[2]:
                        self.plan.refreshed[target] = now
                        continue
                for consumer in graph.consumers_of(target, name):
                    found = graph.spec(consumer)
                    if found is not None and found.stage > spec.stage:
                        self._stages[found.stage].add(consumer)
        self._pending = keep

    def task_count(self) -> int:
        """Tasks of the graph: the stamp's count when nothing but sources' content changed (the
        graph is then the same), else counted (which partitions the map: O(files))."""
        stamp = self.stamp
        if stamp is not None and stamp.tasks and stamp.fingerprint == self.graph.fingerprint():
            return stamp.tasks
        return self.graph.task_count()

    def refreshed_stamp(self) -> Stamp | None:
        """After a no-op: the stamp with the new stat data of files whose content is the same
        (a fresh clone, a `touch`), so the next no-op does not hash them again; None when
        nothing needs remembering."""
        stamp, the_plan = self.stamp, self.plan
        if stamp is None:
            return None
        moved = stamp.set_walked(self.tree.walked)  # a folder listed again with the same names
        if not (the_plan.source_md5 or the_plan.refreshed or moved):
            return None
        trusted = _trusted_before()
        for rel, md5 in the_plan.source_md5.items():
            entry = self.tree.entry(rel)
            if entry is not None:
                stamp.sources.put(rel, [entry.size, _recorded_mtime(entry.mtime_ns, trusted), md5, entry.kind])
        for path, (size, mtime) in the_plan.refreshed.items():
            old = stamp.output(path, self.page_prefix)
            if old is not None:
                stamp.set_output(path, [size, mtime, *old[2:]], self.page_prefix)
        return stamp

    def new_stamp(self) -> Stamp:
        """What the next build compares against, after this one succeeded: the last stamp with
        the records of what this build changed (sources whose stat data differ, the outputs of
        the tasks it loaded), so an edit costs what it touched, not the size of the tree."""
        stamp, graph, tree, the_plan, loaded = self.stamp, self.graph, self.tree, self.plan, self.loaded
        fingerprint = graph.fingerprint()
        tasks = self.task_count()
        new = stamp.copy(fingerprint, tasks) if stamp is not None else Stamp(fingerprint, tasks)
        new.listing = tree.listing()
        new.set_walked(tree.walked)
        prefix = self.page_prefix
        root = self.config.root
        sources = new.sources
        # a tree of the recorded listing made only the entries it stat'ed: the others are as
        # the stamp recorded them, and none is gone
        analysed = [e for e in tree.stated if e.kind in (FILE, BINARY)]
        present = None if tree.partial else {e.rel for e in analysed}
        # the entries as the last build saw them need no new record (without a stamp, every
        # entry is recorded, straight into columns: see TableBuilder)
        listing = TableBuilder() if stamp is None else None
        trusted = _trusted_before()
        for entry in sources.differing(analysed) if listing is None else analysed:
            md5 = the_plan.source_md5.get(entry.rel)
            if md5 is None:
                md5 = self.hashes.md5(os.path.join(root, entry.rel))
                # the hash vouches for the stat data only if the file did not change since discovery
                if stat_data(os.path.join(root, entry.rel)) != (entry.size, entry.mtime_ns):
                    md5 = ""
            seen = [entry.size, _recorded_mtime(entry.mtime_ns, trusted), md5, entry.kind]
            if listing is None:
                sources.put(entry.rel, seen)
            else:
                listing.add(entry.rel, seen)
        if listing is not None:
            new.sources = sources = listing.records()
        if present is not None and len(present) != len(sources):
            for gone in sources.keys() - present:
                sources.put(gone, None)
        count = self.task_count()
        if self._recorded is not None or len(loaded) == count \
                or (stamp is not None and len(loaded) >= RECORD_ANEW * count):
            # every task, or nearly, was loaded (a first build, an upgrade of docgraph): the
            # outputs' records straight into new columns, not as changes to the old ones (an
            # upgrade of torch4x held 262,000 changed records and a map of their tasks at its
            # peak); the other tasks' records are carried over
            carried = self._carried(loaded) if stamp is not None else {}
            self._record(loaded, carried, final=True)
            assert self._recorded is not None
            self.hashes.forget()  # all in the columns now: not held while they become the tables
            pages, state = self._recorded
            for name, value in carried.items():
                (pages if name.startswith(prefix) else state).add(name, value)
            self._recorded = None
            if stamp is not None:  # the last stamp's tables of outputs are not read again: not
                # held while the new ones are made and written (a whole base file is written)
                stamp.pages, stamp.state, new._base = Records(), Records(), None
            new.pages = pages.records()
            new.state = state.records()
            return new
        # a build without a stamp records every output anew: straight into columns
        building = (TableBuilder(), TableBuilder()) if stamp is None else None

        def record(name: str, value: list[Any] | None) -> None:
            if building is None:
                new.set_output(name, value, prefix)
            elif value is not None:
                building[0 if name.startswith(prefix) else 1].add(name, value)

        owner: dict[str, str] = {}
        touched = self._touched()
        for name in loaded:
            spec = graph.spec(name)
            targets = None if spec is None else list(self._targets(name, spec.targets, touched))
            for path in self._targets(name, graph.outputs_of(name, targets), touched):
                owner[path] = name
        # the set of generated files changes only when the manifest task ran
        # (walked, not copied into sets: at 48,000 sources each set of 262,000 names was 16 MB
        # at the build's peak of memory)
        extra = [n for n in the_plan.refreshed if n not in owner]
        generated: set[str] | None = None
        if "manifest" in loaded or stamp is None:
            # the graph's own strings (interned), not a second copy of 262,000 names
            listed = generated = generated_names(self.config.state)
            for table in (new.pages, new.state):
                for gone in [n for n in table.current() if n not in listed]:
                    table.put(gone, None)
            extra += [n for n in listed if n not in owner and n not in the_plan.refreshed
                      and new.output(n, prefix) is None]
        for name in itertools.chain(owner, extra):
            if generated is not None and name not in generated:
                continue
            # the outputs of tasks of this build are recorded with that task: their records'
            # tags are not needed (nor split from the table's column of them)
            old = new.output(name, prefix) if name not in owner else _untagged(new.output_stat(name, prefix))
            if old is None and generated is None:
                continue  # not a generated file the manifest knows (a record written anew)
            if name not in owner:
                fresh = the_plan.refreshed.get(name)  # same bytes, new stat data (a fresh clone)
                if old is not None:
                    record(name, [fresh[0], fresh[1], old[2], old[3]] if fresh else old)
                    continue
            path = graph.absolute(name)
            task = owner.get(name) or (old[3] if old else graph.producer(name))
            noted = self.hashes.noted(name)  # what the workers wrote (or found unchanged), as they saw it
            if noted is not None:  # a later change on disk differs from this; the next build sees it
                record(name, [noted[0], noted[1], noted[3], task])
                continue
            now = stat_data(path)
            if now is None:
                record(name, None)
                continue
            if old is not None and (now == (old[0], old[1]) or the_plan.refreshed.get(name) == now):
                record(name, [now[0], now[1], old[2], task])
                continue
            record(name, [now[0], now[1], self.hashes.md5(path), task])
        if building is not None:
            new.pages, new.state = building[0].records(), building[1].records()
        return new

    def settle(self, names: set[str]) -> None:
        """A first build (no stamp, every task planned), after a stage whose tasks `names` all
        ran: their outputs go into the new stamp's columns now and their specs are dropped, so
        the build's peak of memory, at its end, holds neither (see :meth:`Graph.drop`)."""
        if self.stamp is not None or not self.plan.full:
            return
        self._record(names)
        self.graph.drop(names)

    def _carried(self, loaded: set[str]) -> dict[str, list[Any]]:
        """The stamp's records of the outputs of the tasks this build did not load, with the
        new stat data of those found unchanged (:attr:`Plan.refreshed`); none of a task that
        is gone, nor, when the manifest ran, of a file it no longer lists."""
        stamp, graph, refreshed = self.stamp, self.graph, self.plan.refreshed
        assert stamp is not None
        generated = generated_names(self.config.state) if "manifest" in loaded else None
        found: dict[str, list[Any]] = {}
        for table in (stamp.pages, stamp.state):
            for name, _size, _mtime, tag in table.rows():
                if tag in loaded or (tag and graph.vanished(tag)) \
                        or (generated is not None and name not in generated):
                    continue
                recorded = table.stat_of(name)
                assert recorded is not None
                size, mtime, md5 = recorded
                size, mtime = refreshed.get(name, (size, mtime))
                found[name] = [size, mtime, md5, tag]
        return found

    def _record(self, names: set[str], carried: dict[str, list[Any]] | None = None, final: bool = False) -> None:
        """The pages' and state artefacts' records of the outputs of tasks that ran or were
        checked in a build that loaded every task, or nearly: task by task, straight into
        columns, with no map of every output to its task (262,000 names on a 48,000-file
        tree).  An output no worker noted keeps the hash the stamp recorded while its stat
        data are the same; one that is also in `carried` (another task's, as the stamp has
        it) is taken from here and dropped from there.  `final`: the build's last call (its tasks
        are not remembered as settled)."""
        if self._recorded is None:
            self._recorded = (TableBuilder(), TableBuilder())
        pages, state = self._recorded
        graph, prefix, hashes, stamp = self.graph, self.page_prefix, self.hashes, self.stamp
        for task in sorted(names - self._settled if self._settled else names):
            if not final:  # (the last call: no stage comes after it)
                self._settled.add(task)
            if task == "manifest":  # the list of generated files is not one of them
                continue
            for name in graph.outputs_of(task):
                if carried:
                    carried.pop(name, None)
                noted = hashes.noted(name)  # what the workers wrote, as they saw it
                if noted is not None:
                    value = [noted[0], noted[1], noted[3], task]
                else:
                    path = graph.absolute(name)
                    now = stat_data(path)
                    if now is None:
                        continue
                    old = stamp.output_stat(name, prefix) if stamp is not None else None
                    md5 = old[2] if old is not None and old[2] and (old[0], old[1]) == now else hashes.md5(path)
                    value = [now[0], now[1], md5, task]
                (pages if name.startswith(prefix) else state).add(name, value)


def _untagged(found: tuple[int, int, str] | None) -> list[Any] | None:
    """A record's stat data and hash as a record whose tag is not known ("")."""
    return None if found is None else [found[0], found[1], found[2], ""]


@dataclass(frozen=True)
class _Planned:
    """A build planned (see :meth:`Engine._plan_build`)."""

    session: Session
    status: journal.Status | None
    record: journal.Record | None


TRIM_AFTER = 1000
"""A stage of at least this many tasks hands the memory it freed back (:func:`_give_back_memory`);
after a small one (an edit, watch mode's rebuilds) there is little to give and the trim's walk of
the heap would only add to the rebuild's time."""


def _give_back_memory() -> None:
    """Return what a stage freed to the system (glibc keeps freed memory in its heap; its
    `malloc_trim` gives back what it can): measured on torch4x, the main process's resident
    memory after the last stage 479 -> 438 MB.  Elsewhere nothing."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def open_session(config: Config, stamp: Stamp | None = None, tree: SourceTree | None = None,
                 changed: set[str] | None = None, full: bool = False,
                 graph: Graph | None = None, look: journal.Look | None = None,
                 stated: gitview.Stated | None = None) -> Session:
    """Discovery (unless the caller keeps the tree), the graph (unless the caller made it for
    that tree) and the plan of one build.  `look`: what git says may have changed since the
    stamp (:mod:`docgraph.journal`); then only that is stat'ed."""
    stale: list[tuple[str, tuple[int, int] | None]] | None = None
    checker = None
    changed_out: list[str] = []
    if look is not None and (tree is not None or stamp is None or changed is not None or full or stated is None):
        look = None
    if look is not None:
        assert look.record is not None and stamp is not None and stated is not None
        changed_out = list(stated.changed_out)
        stale = stale_pages(stamp, config, set(changed_out), look.files)
        tree = discover(config, stamp.known(), stated.walked, look.files, moved=stated.moved)
    if tree is None and stamp is not None and changed is None and not full:
        # the pages are stat'ed on a thread while the walk stats the sources: a stat releases
        # the GIL, so on two cores the two sets of system calls overlap
        found: list[list[tuple[str, tuple[int, int] | None]]] = []
        last = stamp
        checker = threading.Thread(target=lambda: found.append(stale_pages(last, config)),
                                   name="docgraph-pages", daemon=True)
        checker.start()
    if tree is None:
        tree = discover(config, stamp.known() if stamp else None, stamp.walked() if stamp else None)
    if graph is None:
        graph = Graph(config, tree)
    if checker is not None:
        checker.join()
        stale = found[0] if found else None
    if full:
        stamp = None
    the_plan = plan(stamp, tree, graph, changed if stamp is not None else None,
                    check_pages=changed is None, stale=stale)
    hashes = FileHashes(config.root)
    hashes.fresh = the_plan.source_md5
    return Session(config, stamp, tree, graph, the_plan, hashes, changed_out)


def shard_of(rel: str, count: int) -> int:
    """The shard (0 .. count-1) of a source: a stable function of its path alone, so every
    runner of a CI matrix agrees without talking to the others."""
    return int.from_bytes(hashlib.sha1(rel.encode("utf-8", "surrogatepass")).digest()[:8], "big") % count


def to_task(spec: Spec) -> Any:
    """What the runner hands to doit's dependency database for a spec: a doit Task when the spec
    has an `uptodate` check (doit configures those through the Task), a slim record otherwise."""
    from doit.task import Task

    from .runner import TaskRecord

    if not spec.uptodate:
        return TaskRecord(spec.name, spec.file_dep, spec.targets, spec.targets_digest)
    return Task(spec.name, [(spec.action, spec.args)], file_dep=list(spec.file_dep),
                targets=list(spec.targets), uptodate=list(spec.uptodate), verbosity=0,
                doc=spec.doc)


def doit_config(state: str, reporter: type) -> dict[str, Any]:
    """DOIT_CONFIG shared by the engine and dodo.py."""
    return {"backend": "sqlite3", "dep_file": os.path.join(state, DOIT_DB), "verbosity": 0,
            "reporter": reporter, "check_file_uptodate": "md5"}


def sigterm_as_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # doit saves its database on KeyboardInterrupt, not on SIGTERM


class Engine:
    """Builds one configuration; reusable (watch mode keeps one alive)."""

    def __init__(self, config: Config, jobs: int = 1, progress: Progress | None = None,
                 keep_stamp: bool = False, shard: tuple[int, int] | None = None):
        self.config = config
        self.shard = shard  # (K, N): analyse only shard K of N into the shared cache
        self.jobs = max(1, jobs)
        self.progress = progress or Progress(quiet=True)
        self.keep_stamp = keep_stamp  # watch mode: stamp in memory, written by flush()
        self._stamp: Stamp | None = None
        self._unsaved = False
        self._hashes = FileHashes(config.root)  # per build: what the workers hashed as they worked
        # watch mode: called with the analysed files once their own pages are written, before
        # the model and the aggregate pages
        self.on_own_pages: Callable[[list[str]], None] | None = None
        self.graph: Graph | None = None  # the last build's graph

    # ------------------------------------------------------------------ doit

    def _run(self, graph: Graph, names: Iterable[str], collector: Collector) -> None:
        specs = [s for s in (graph.spec(n) for n in sorted(names)) if s is not None]
        if not specs:
            return
        from .digests import ancestors  # not for a no-op build
        from .runner import SOLO, ChunkHook, StageRunner

        on_chunk: ChunkHook | None = None
        if self.config.cache.url:  # the workers look up a chunk's entries in one batch
            from .actions.cached import prefetch

            on_chunk = prefetch
        sizes: dict[str, int] = {}  # bytes of each source (when a stage of many tasks asks)
        below: dict[str, int] = {}  # bytes of source below each folder (when a sub task asks)

        def weight(name: str) -> int:
            """Long tasks first, so no worker is left with one at the end of a stage."""
            if name == "model":
                return SOLO  # the longest task of its stage: alone in a worker, started first
            base, _, arg = name.partition(":")
            if base == "keywords":
                return SOLO - 1
            if base == "sub":  # its rows grow with the subtree
                if not below:
                    for entry in graph.tree.entries:
                        for folder in ancestors(entry.rel):
                            below[folder] = below.get(folder, 0) + entry.size
                return below.get("" if arg == "." else arg, 0)
            if not sizes:
                sizes.update((e.rel, e.size) for e in graph.tree.entries)
            return sizes.get(arg, 0)

        self.progress.start(len(specs), f"stage {specs[0].stage}")

        state = graph.name(self.config.state) + os.sep
        runner = StageRunner(os.path.join(self.config.state, DOIT_DB), self.jobs, collector, self._hashes,
                             lambda dep: not dep.startswith(state), on_chunk, self.config.cache.url)
        cwd = os.getcwd()
        os.chdir(self.config.root)
        try:
            with collector_paused():  # 37,000 new records and tuples
                tasks = [to_task(s) for s in specs]
                jobs = {s.name: (s.action, s.args) for s in specs}
            runner.run(tasks, jobs, weight)
        finally:
            os.chdir(cwd)
            self.progress.close()

    # ------------------------------------------------------------------ build

    def build(self, tree: SourceTree | None = None, changed: set[str] | None = None,
              lock: bool = True, graph: Graph | None = None) -> Report:
        """One build.  Watch mode passes the tree it keeps, the paths that changed, the graph
        of that tree when it kept one (:meth:`Graph.with_tree`), and holds the lock itself."""
        started = time.monotonic()
        config = self.config
        os.makedirs(config.state, exist_ok=True)
        old_handler = signal.getsignal(signal.SIGTERM)
        try:
            signal.signal(signal.SIGTERM, sigterm_as_interrupt)
        except ValueError:  # not the main thread (tests drive watch mode from threads)
            old_handler = None
        try:
            if not lock:
                return self._build(started, tree, changed, graph)
            with Lock(config.state):
                return self._build(started, tree, changed, graph)
        finally:
            if old_handler is not None:
                signal.signal(signal.SIGTERM, old_handler)

    def _build(self, started: float, tree: SourceTree | None, changed: set[str] | None,
               graph: Graph | None = None) -> Report:
        claim_output(self.config.state)
        marker = os.path.join(self.config.state, BUILDING)
        if os.path.exists(marker):  # the last build was killed: drop its half-written temp files
            removed = remove_leftovers([self.config.output, self.config.state])
            log.info("previous build was interrupted; removed %d temporary file(s)", removed)
        else:
            with open(marker, "w", encoding="ascii") as handle:
                handle.write(str(os.getpid()))
        report, settled = self._build_marked(started, tree, changed, graph)
        if settled and not report.failed:
            os.remove(marker)
        return report

    def _build_marked(self, started: float, tree: SourceTree | None, changed: set[str] | None,
                      graph: Graph | None) -> tuple[Report, bool]:
        try:
            return self._plan_and_run(started, tree, changed, graph)
        except StateDamaged as exc:  # a column of the stamp (or a kept list), read as the build needed it
            state = self.config.state
            log.warning("state in %s is damaged (%s); checking every task once", state, exc)
            Stamp.remove(state)
            journal.forget(state)
            self._stamp = None
            return self._plan_and_run(started, tree, changed, graph)

    def _plan_and_run(self, started: float, tree: SourceTree | None, changed: set[str] | None,
                      graph: Graph | None) -> tuple[Report, bool]:
        with collector_paused():  # (see docgraph.heap)
            found = self._plan_build(started, tree, changed, graph)
        if isinstance(found, tuple):
            return found
        return self._run_build(started, found)

    def _plan_build(self, started: float, tree: SourceTree | None, changed: set[str] | None,
                    graph: Graph | None) -> tuple[Report, bool] | _Planned:
        """The stamp, git's view, discovery and the plan; a no-op decided from git's view is
        reported here."""
        config = self.config
        pending = None
        early = gitprocess.take_early_status(config.root)  # (started by the command line)
        if tree is None and changed is None and graph is None and not self.keep_stamp \
                and self.shard is None and config.git_status and journal.usable(config.root, config.gitignore):
            pending = journal.PendingStatus(config.root, early)  # before anything is stat'ed (see journal)
        elif early is not None:
            early.discard()
        stamp = self._stamp if self._stamp is not None else Stamp.load(config.state)  # (while git looks)
        if self.keep_stamp:
            self._stamp = stamp
        if stamp is None and self.jobs > 1 and tree is None:  # a first build: a pool will run
            from .runner import start_fork_server

            start_fork_server(config.cache.url)
        status = record = look = stated = None
        if pending is not None and stamp is not None:
            record = journal.load(config.state)
            if record is not None:
                stated = gitview.stat_while_git_looks(record, stamp, config)
        if pending is not None:
            status = pending.result()
        if status is not None and stamp is not None:
            look = journal.look(config.root, record, status)
        if look is not None and stamp is not None and stated is not None and stamp.tasks:
            quiet = gitview.quiet(look, stamp, config, stated)
            if quiet is not None:
                assert look.record is not None
                seen = make_tree((), (Finding(*f) for f in look.record.findings))
                report = self._report("no-op", Collector(progress=self.progress), None, seen,
                                      started, total=stamp.tasks)
                gitview.note_quiet(config, look, *quiet)
                write_report(config.state, report)
                return report, True
        session = open_session(config, stamp, tree, changed, graph=graph, look=look, stated=stated)
        return _Planned(session, status, record)

    def _run_build(self, started: float, planned: _Planned) -> tuple[Report, bool]:
        config = self.config
        session, status, record = planned.session, planned.status, planned.record
        stamp = session.stamp
        self.graph = session.graph
        self._hashes = session.hashes
        graph, tree, the_plan = session.graph, session.tree, session.plan
        if log.isEnabledFor(logging.INFO):  # (a tree of the recorded listing counts its entries when asked)
            log.info("discovery and plan: %d entries, %d candidate task(s) in %.2f s", len(tree),
                     len(the_plan.candidates), time.monotonic() - started)
        collector = Collector(progress=self.progress)
        collector.timings["plan"] = time.monotonic() - started
        if self.shard is not None:
            return self._shard_build(session, collector, started), True
        if the_plan.noop:
            report = self._report("no-op", collector, graph, tree, started,
                                  total=stamp.tasks if stamp is not None and stamp.tasks else None)
            with collector_paused():
                refreshed = session.refreshed_stamp()
                if refreshed is not None:
                    self._store(refreshed)
                if status is not None and stamp is not None:
                    gitview.save(session, status, record, Collector(), refreshed or stamp)
            write_report(config.state, report)
            return report, True
        for stage in range(MANIFEST + 1):
            names = session.names(stage)
            if names:
                began = time.monotonic()
                self._run(graph, names, collector)
                session.note_runs(collector.executed)
                if not self.keep_stamp and not collector.failures:  # (watch mode keeps the graph)
                    session.settle(names)
                if len(names) >= TRIM_AFTER:
                    _give_back_memory()
                collector.timings[f"stage {stage}"] = took = time.monotonic() - began
                log.info("stage %d: %d task(s) checked in %.2f s", stage, len(names), took)
            if stage == ANALYZE and self.on_own_pages is not None and not the_plan.full:
                self._own_pages(session, collector)
        if "manifest" in collector.executed and not collector.failures:  # sources came or went
            from .runner import forget_vanished

            forgotten = forget_vanished(os.path.join(config.state, DOIT_DB), graph.vanished)
            log.info("forgot %d record(s) of vanished tasks", forgotten)
        mode = "full" if the_plan.full else "incremental"
        report = self._report(mode, collector, graph, tree, started, total=session.task_count())
        finishing = time.monotonic()
        if not report.failed and not collector.changed:  # a raced task: the stamp must not vouch
            with collector_paused():  # (its full passes over the new records grow faster than the tree)
                stamp = session.new_stamp()
                session.hashes.forget()  # in the stamp now: not held while it is encoded
                if not self.keep_stamp:  # (watch mode's next build starts from this graph)
                    graph.release()
                self._store(stamp)
                if status is not None and not self.keep_stamp:
                    gitview.save(session, status, record, collector, stamp)
        else:
            journal.forget(config.state)
        write_report(config.state, report)
        log.info("stamp and report written in %.2f s", time.monotonic() - finishing)
        return report, not collector.changed

    def _own_pages(self, session: Session, collector: Collector) -> None:
        """Watch mode: the analysed files' own pages first (see :meth:`Session.own_pages`)."""
        analysed = [n for n in collector.executed if n.startswith("analyze:")]
        own = session.own_pages(analysed) if len(analysed) <= OWN_PAGES_LIMIT else []
        if not own:
            return
        self._run(session.graph, own, collector)
        session.note_runs(collector.executed)
        assert self.on_own_pages is not None
        self.on_own_pages([n.partition(":")[2] for n in analysed])

    def _shard_build(self, session: Session, collector: Collector, started: float) -> Report:
        """`--shard K/N`: the settings, then the analysis of shard K's files only (their results
        go to the shared cache); nothing is rendered.  The stamp is dropped: this build vouches
        for nothing a whole build would check."""
        number, count = self.shard or (1, 1)
        graph, tree = session.graph, session.tree
        mine = {task_name("analyze", e.rel) for e in tree.entries
                if e.kind in (FILE, BINARY) and shard_of(e.rel, count) == number - 1}
        self._run(graph, {"settings"}, collector)
        self._run(graph, mine, collector)
        Stamp.remove(self.config.state)
        report = self._report(f"shard {number}/{count}", collector, graph, tree, started,
                              total=len(mine) + 1)
        write_report(self.config.state, report)
        return report

    # ------------------------------------------------------------------ results

    def _report(self, mode: str, collector: Collector, graph: Graph | None, tree: SourceTree,
                started: float, total: int | None = None) -> Report:
        findings: list[Finding] = [*tree.findings, *load_findings(self.config.state),
                                   *collector.noted, *collector.failures]
        if not total:
            assert graph is not None
            total = graph.task_count()
        executed = tuple(collector.executed)
        return Report(
            mode=mode,
            sources_analyzed=tuple(sorted(collector.analyzed)),
            pages_written=tuple(sorted(set(collector.pages))),
            pages_removed=tuple(sorted(set(collector.removed))),
            tasks_executed=executed,
            tasks_up_to_date=total - len(set(executed)),
            errors=tuple(findings),
            seconds=time.monotonic() - started,
            output=self.config.output,
            sources_from_cache=tuple(sorted(collector.from_cache)),
            cache=tuple(sorted(collector.cache.items())),
            timings=tuple(collector.timings.items()),
            cpu=tuple(collector.cpu.items()),
        )

    def _store(self, stamp: Stamp) -> None:
        if self.keep_stamp:
            self._stamp, self._unsaved = stamp, True
        else:
            stamp.save(self.config.state)

    def flush(self) -> None:
        """Write the stamp kept in memory (watch mode, when idle and when stopping)."""
        if self._stamp is not None and self._unsaved:
            self._stamp.save(self.config.state)
            self._unsaved = False
