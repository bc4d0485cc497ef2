"""Runs the tasks of one stage: doit's dependency database decides, a process pool executes.

Measured on the torch corpus (12k analysis tasks): doit's own `-n 2 -P process` runner was only
1.24x faster than `-n 1`, because its main process hands out one task at a time and does all
bookkeeping between two round trips.  The tasks of a stage never depend on each other (see
:mod:`docgraph.graph`), so this runner

1. asks doit's :class:`~doit.dependency.Dependency` (same sqlite3 file, same MD5 checker as plain
   `doit`) which tasks are not up to date,
2. executes their actions in a pool of worker processes, large inputs first, in chunks,
3. records each success as doit's runner does (`save_extra_values`, `save_success`), except that
   the dict an action returns (pages written, ...) goes to the build report only: doit would keep
   it in its database as the task's values, which nothing reads back (docgraph's tasks take no
   `getargs`), 2.9 MB of the 32 MB database of the torch corpus.  Values an `uptodate` check
   saves (`config_changed`) are kept.

The workers are forked by a fork server (:mod:`multiprocessing`'s `forkserver`), a small process
started once, which has imported docgraph's actions and nothing of a build: forked from the build
process instead, every worker began with its memory (the specs of every task, the hashes of every
file written so far: 620 MB on a 48k-file tree) and the model's worker peaked at 906 MB.  A chunk
of tasks crosses to its worker as their actions and arguments (about 2.5 KB pickled for 16 tasks,
30 µs a round trip).

So `doit` and `docgraph build` share one state: either can follow the other.  The database is
committed when the stage ends, also when it is interrupted (KeyboardInterrupt, and SIGTERM which
the engine turns into one); a task that did not finish is simply not recorded and runs again.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import marshal
import multiprocessing
import os
import sqlite3
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from doit.dependency import Dependency, JSONCodec, MD5Checker, SqliteDB
from doit.task import Task

from .facts import Finding
from .heap import collector_paused
from .report import Collector
from .store import (
    FileHashes,
    begin_hashes,
    close_inherited_locks,
    read_ahead,
    take_hashes,
    unmarshal,
    write_if_changed,
)

log = logging.getLogger("docgraph")
SOLO = 1 << 62
"""Weight of a task that runs alone in a worker, started before the others (the model)."""
INLINE_BELOW = 32
"""A stage of fewer tasks runs in the main process: a pool would cost more than it saves."""


Outcome = tuple[str, str | None, dict[str, Any] | None, dict[str, bytes], float]
Job = tuple[str, Callable[..., Any], tuple[Any, ...]]
"""A task to execute: its name, its action and the action's arguments."""

ChunkHook = Callable[[list[tuple[Callable[..., Any], tuple[Any, ...]]]], None]


@dataclass(frozen=True)
class WorkerSetup:
    """What the process that runs a stage's actions needs besides the jobs (a pool worker gets
    it once, from :func:`_worker_start`)."""

    folder: str
    """Where the actions run (ROOT: doit's names of files are relative to it)."""
    root: str
    """ROOT: the files the actions read and write are noted by their names relative to it."""
    on_chunk: ChunkHook | None
    """Called with the actions of a chunk before its tasks run, in the process that runs them
    (the shared cache looks up a chunk's entries in one batch)."""
    complete: frozenset[str] = frozenset()
    """The tasks of the stage whose every target doit found on disk (:func:`targets_present`)."""
    parts: Mapping[str, bytes] = field(default_factory=dict)
    """Key parts the shared cache computed in the earlier stages (:attr:`FileHashes.parts`,
    :func:`known_part`)."""
    build: int = 0
    """The build's process id: a pool worker ends when that process does (see
    :func:`_end_with`)."""


_SETUP: list[WorkerSetup] = []
"""The setup of the stage running in this process (set by :class:`StageRunner`, or in a
worker by :func:`_worker_start`)."""
CHUNK = 16
"""Most tasks handed to a worker at once."""
MANY_TARGETS = 64
"""A task of more targets than this (the model: a digest per file and folder) has its targets
checked here, once (doit's check and the runner's were two stat calls per target, 200,000 on
torch4x): its action then need not look for missing outputs itself when none is.  doit is asked
for its first reason only: its full log would copy the task's inputs once per missing target,
quadratic on the first build of a tree of 200,000 files."""
GC_THRESHOLD = (100_000, 50, 100)
"""Collector thresholds while actions run (see :func:`_quiet_gc`)."""


def targets_present(name: str) -> bool:
    """Whether the runner running task `name` found every one of its targets on disk when it
    checked the task (so its action need not look for missing ones); False when doit itself
    runs the task."""
    return bool(_SETUP) and name in _SETUP[0].complete


def known_part(path: str) -> bytes | None:
    """The packed key part an earlier stage of this build computed for the file at `path`
    (absolute), if one did: the shared cache's keys of later stages reuse it (after checking
    the file's stat data) instead of reading the file again."""
    return _SETUP[0].parts.get(path) if _SETUP else None


PARTS = "parts"
"""The key of an action's values that holds the key parts it computed (path -> packed part):
taken off by the runner into :attr:`FileHashes.parts`, never reported."""


LISTED_FROM = 16
"""A folder holding at least this many of the targets checked is listed once instead of
stat'ing each: the model's 52,000 digests of torch4x lie in 768 folders."""
LISTED = "listed.marshal"
"""The folders of many targets found complete, in the state folder (:class:`ListedFolders`)."""
RACY_NS = 2_000_000_000
"""A folder whose mtime is this close to the moment it was listed is not remembered: an entry
removed within the same tick of the file system's clock would leave the mtime as it was."""


class ListedFolders:
    """The folders of a task's many targets that held every target looked for in them when
    listed, with their mtime: a folder's mtime changes whenever an entry in it is made, removed
    or renamed, so a folder with the same mtime still holds them.  Kept for one list of targets
    (by a digest of it), with the targets of the folders not remembered (one changed too
    recently to trust, as the state folder itself does in every build): when the list is the
    same, the check is a `stat` per folder and an existence check per target left, neither
    grouping the targets by folder nor listing any (the model's 52,000 digests in 768 folders
    on torch4x: 0.15 s per build that runs the model, most of it Python's grouping of the
    paths, against 768 `stat` calls)."""

    def __init__(self, path: str):
        self.path = path
        self.changed = False
        try:
            with open(path, "rb") as handle:
                loaded = unmarshal(handle)
            targets, folders, others = loaded
            if not (isinstance(targets, bytes) and isinstance(folders, dict)
                    and (others is None or isinstance(others, list))):
                raise TypeError("not a record of listed folders")
        except (OSError, EOFError, ValueError, TypeError):
            targets, folders, others = b"", {}, None
        self.targets: bytes = targets
        self.folders: dict[str, int] = folders
        self.others: list[str] | None = others

    def all_there(self, targets: bytes) -> bool:
        """Whether this list of targets is the one remembered, each folder's mtime unchanged
        and each target outside them on disk."""
        if targets != self.targets or self.others is None:
            return False
        try:
            if any(os.stat(folder or ".").st_mtime_ns != mtime_ns for folder, mtime_ns in self.folders.items()):
                return False
        except OSError:
            return False
        return all(os.path.exists(path) for path in self.others)

    def start(self, targets: bytes) -> None:
        """The check of this list of targets goes through each folder."""
        if targets != self.targets:
            self.targets, self.folders, self.changed = targets, {}, True
        if self.others is not None:  # (kept as None until every target is found again)
            self.others, self.changed = None, True

    def holds(self, folder: str, mtime_ns: int) -> bool:
        return self.folders.get(folder) == mtime_ns

    def note(self, folder: str, mtime_ns: int) -> None:
        """`folder` was listed (after the `stat` that gave its mtime) and held every name."""
        if time.time_ns() - mtime_ns < RACY_NS:
            if self.folders.pop(folder, None) is not None:
                self.changed = True
        elif self.folders.get(folder) != mtime_ns:
            self.folders[folder] = mtime_ns
            self.changed = True

    def finish(self, by_folder: dict[str, list[str]]) -> None:
        """Every target was found: those outside the remembered folders are checked alone."""
        self.others = [folder + name for folder, names in by_folder.items() if folder not in self.folders
                       for name in names]
        self.changed = True

    def save(self) -> None:
        if self.changed:
            write_if_changed(self.path, marshal.dumps((self.targets, self.folders, self.others)))
            self.changed = False


def first_missing(paths: Iterable[str], listed: ListedFolders | None = None, digest: bytes = b"") -> str | None:
    """One of `paths` that is not on disk, None when all are.  A folder of many of them is
    listed; with `listed`, every folder is stat'ed, and listed unless it is remembered with
    the same mtime (:class:`ListedFolders`) for the same list of paths: the one of `digest`,
    when the caller knows it (the model's spec: :attr:`docgraph.graph.Spec.targets_digest`)."""
    if listed is not None:
        if not digest:
            paths = list(paths)
            # (SHA-1: the processor's own instructions, 1.7 ms for torch4x's 2.8 MB of names, where
            # BLAKE2b took 5 ms; the digest tells one list of targets from another, no adversary)
            digest = hashlib.sha1("\0".join(paths).encode("utf-8", "surrogatepass")).digest()
        if listed.all_there(digest):
            return None
        listed.start(digest)
    by_folder: dict[str, list[str]] = {}  # folder with its slash ("" for none) -> names
    for path in paths:
        cut = path.rfind("/") + 1
        by_folder.setdefault(path[:cut], []).append(path[cut:])
    for folder, names in by_folder.items():
        if listed is None and len(names) < LISTED_FROM:
            missing = next((name for name in names if not os.path.exists(folder + name)), None)
        else:
            try:
                mtime_ns = os.stat(folder or ".").st_mtime_ns
                if listed is not None and listed.holds(folder, mtime_ns):
                    continue
                present = set(os.listdir(folder or "."))
            except OSError:
                return folder + names[0]
            missing = None if present.issuperset(names) else next(n for n in names if n not in present)
            if missing is None and listed is not None:
                listed.note(folder, mtime_ns)
        if missing is not None:
            return folder + missing
    if listed is not None:
        listed.finish(by_folder)
    return None


def _execute_chunk(jobs: list[Job], inputs: tuple[str, ...] = ()) -> list[Outcome]:
    """Run a chunk of tasks, their `inputs` (the files they read) asked for first
    (:func:`docgraph.store.read_ahead`)."""
    read_ahead(inputs)
    hook = _SETUP[0].on_chunk
    if hook is not None:
        hook([(action, args) for _name, action, args in jobs])
    return [_execute(job) for job in jobs]


def _execute_alone(job: Job) -> list[Outcome]:
    """A task run alone (the model): no chunk hook, which would key it for the cache."""
    return [_execute(job)]


def _execute(job: Job) -> Outcome:
    name, action, args = job
    begin_hashes(_SETUP[0].root)
    began = time.process_time()
    gc.disable()  # an action's objects (an AST, a page's records) form no cycles; see _quiet_gc
    try:
        values = action(*args)
    except Exception:  # noqa: BLE001 - a bug in docgraph fails this task (with its traceback), not the others
        return name, traceback.format_exc(), None, take_hashes(), time.process_time() - began
    finally:
        gc.enable()
    return name, None, values if isinstance(values, dict) else {}, take_hashes(), time.process_time() - began


def _quiet_gc(outcomes: Iterator[Outcome]) -> Iterator[Outcome]:
    """Run the actions with the cyclic GC off the build's long-lived objects (the graph, doit's
    tasks: frozen, so a collection does not scan them; a worker freezes what its fork server
    imported, see :func:`_worker_start`) and collecting less often; :func:`_execute` turns it off while an action runs, so a collection
    happens between two tasks, when their objects are gone.  Measured on the torch corpus:
    analysis 17 % faster with the freeze and threshold, `ast.parse` another 18 % faster without
    collections inside."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
    try:
        yield from outcomes
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


class _Checker(MD5Checker):
    """doit's MD5 checker, taking the hash a worker noted while it read or wrote the file.

    doit stores the class name with every task and treats another name as a change, so this
    one is called `MD5Checker` too: plain `doit` reads the same database.
    """

    hashes: FileHashes
    stats: dict[str, os.stat_result]
    """Stat data the runner has just taken of the task's inputs (saves a `stat` each)."""

    def get_state(self, dep: str, current_state: Any) -> Any:
        st = self.stats.get(dep)
        if st is None:  # a state file: as the worker that last wrote or read it saw it
            noted = self.hashes.noted(dep)
            if noted is not None:
                size, _ns, mtime, md5 = noted
                return None if current_state and current_state[0] == mtime else (mtime, size, md5)
            st = os.stat(dep)
        if current_state and current_state[0] == st.st_mtime:
            fresh = self.hashes.fresh.get(dep)
            if fresh is None or fresh == current_state[2]:
                return None
        return st.st_mtime, st.st_size, self.hashes.md5(dep, st)

    def check_modified(self, file_path: str, file_stat: os.stat_result, state: Any) -> bool:
        """A source the plan hashed is compared by content: its mtime may be the one doit
        recorded although its bytes changed (see :attr:`FileHashes.fresh`)."""
        fresh = self.hashes.fresh.get(file_path)
        if fresh is not None:
            return bool(fresh != state[2])
        return bool(super().check_modified(file_path, file_stat, state))


_Checker.__name__ = _Checker.__qualname__ = "MD5Checker"


def _inputs(task: Task, watched: Callable[[str], bool]) -> dict[str, os.stat_result | None]:
    found: dict[str, os.stat_result | None] = {}
    for dep in task.file_dep:
        if not watched(dep):
            continue
        try:
            found[dep] = os.stat(dep)
        except OSError:
            found[dep] = None
    return found


def _marks(stats: dict[str, os.stat_result | None]) -> dict[str, tuple[int, int] | None]:
    """(size, mtime_ns) of each input: what :func:`_same` compares (a stat result kept per task
    to run was 34 MB at 52,000 tasks)."""
    return {dep: None if st is None else (st.st_size, st.st_mtime_ns) for dep, st in stats.items()}


def _same(before: dict[str, tuple[int, int] | None], after: dict[str, os.stat_result | None]) -> bool:
    for dep, mark in before.items():
        now = after.get(dep)
        if mark is None or now is None:
            if mark is not now:
                return False
        elif mark != (now.st_size, now.st_mtime_ns):
            return False
    return True


class TaskDB(SqliteDB):
    """doit's SQLite backend holding only the records still to be written: doit keeps every
    record it reads until the database closes, which at the end of an upgrade build's pages
    stage on torch4x (52,000 tasks, each read to check it and written again) was 100 MB of
    parsed JSON in the main process."""

    _cache: dict[str, dict[str, Any]]
    _dirty: set[str]
    unrecorded: frozenset[str] = frozenset()
    """Kinds of task the database holds no record of (:meth:`note_unrecorded`)."""

    def note_unrecorded(self, kinds: Iterable[str]) -> None:
        """Note which of `kinds` have no record at all: a first build's tasks, whose records
        :meth:`load` need not look for (a query each, which doit's `save_success` would make
        otherwise: 150,000 on torch4x, 1.5 s of the main process, which the workers wait
        for).  A task runs once in its stage, so none of them has a record before it is saved."""
        self.unrecorded = frozenset(
            kind for kind in kinds if self._conn.execute(
                "SELECT 1 FROM doit WHERE task_id = ? OR task_id > ? AND task_id < ? LIMIT 1",
                (kind, kind + ":", kind + ";")).fetchone() is None)

    def load(self, task_id: str) -> None:
        """Read a task's record again before it is updated (see :meth:`forget`)."""
        if task_id.partition(":")[0] in self.unrecorded:
            self._cache.setdefault(task_id, {})  # what the query would have found
        else:
            self.get(task_id, "")

    def forget(self, task_id: str) -> None:
        """Drop a record read to check a task (the database has it)."""
        if task_id not in self._dirty:
            self._cache.pop(task_id, None)

    def flush(self) -> None:
        """Write the updated records into the open transaction, and drop them."""
        for task_id in self._dirty:
            self._conn.execute("insert or replace into doit values (?,?)",
                               (task_id, self.codec.encode(self._cache.pop(task_id))))
        self._dirty = set()


FLUSH_EVERY = 2000
"""Records updated between two writes into the transaction (see :class:`TaskDB`)."""


class TaskRecord:
    """What doit's :class:`~doit.dependency.Dependency` reads and writes of a task: a doit
    `Task` costs about 36 µs to build (it checks every attribute), a full build builds 37,000,
    and only the few tasks with an `uptodate` check need one (see :func:`docgraph.engine.to_task`)."""

    __slots__ = ("dep_changed", "executed", "file_dep", "name", "result", "targets", "targets_digest",
                 "uptodate", "value_savers", "values")

    def __init__(self, name: str, file_dep: tuple[str, ...], targets: tuple[str, ...], targets_digest: bytes = b""):
        self.name = name
        self.file_dep = set(file_dep)
        self.targets = list(targets)
        self.targets_digest = targets_digest
        self.uptodate: list[Any] = []
        self.values: dict[str, Any] = {}
        self.result: Any = None
        self.dep_changed: list[str] = []
        self.value_savers: list[Callable[[], dict[str, Any]]] = []
        self.executed = False

    def save_extra_values(self) -> None:
        for saver in self.value_savers:
            self.values.update(saver())


def _worker_start(setup: WorkerSetup) -> None:
    """Pool initializer: the build handles Ctrl-C for everyone; a worker dies with its parent,
    the fork server, and with the build's process (`kill -9` of a build must not leave workers
    behind: :func:`_end_with`); the build's folder and chunk hook; the collector as
    :func:`_quiet_gc` sets it."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    close_inherited_locks()  # (a forked worker's: a fork server's children hold none)
    parent = os.getppid()
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the pool's closed pipes end the worker
        pass
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)
    if setup.build:
        _end_with(setup.build)
    os.chdir(setup.folder)
    _SETUP[:] = [setup]
    gc.freeze()  # what the fork server imported: never scanned, never copied by a collection
    gc.set_threshold(*GC_THRESHOLD)


def _end_with(build: int) -> None:
    """End this worker when the build's process ends, however it ends (`kill -9` too).

    The fork server, the worker's parent, outlives the build while a worker holds its end of
    the pipe that tells it the build is gone (every worker of a fork server does), and a
    worker of a :class:`~concurrent.futures.ProcessPoolExecutor` waits on a queue whose
    writing end it holds itself: neither would ever notice.  A thread waits for the build's
    exit (a pidfd; polled once a second where there is none)."""
    import select
    import threading

    def watch() -> None:
        try:
            handle = os.pidfd_open(build)
        except (AttributeError, OSError):
            handle = -1
        try:
            if handle >= 0:
                select.select([handle], [], [])
            else:
                while True:
                    os.kill(build, 0)
                    time.sleep(1.0)
        except OSError:
            pass
        os._exit(1)

    threading.Thread(target=watch, name="docgraph-build-watch", daemon=True).start()


def _pool_context(cache_url: str = "") -> Any:
    """The fork server's context, its server importing the actions once (a worker's imports
    would otherwise be made again in each stage's pool).  With a shared cache, the cache's
    wrapper and the fsspec filesystem of its URL too (about 0.12 s a worker and a stage for a
    folder; a module that is not installed is skipped by the fork server)."""
    context = multiprocessing.get_context("forkserver")
    package = __package__ or "docgraph"
    modules = [f"{package}.runner", *(f"{package}.actions.{step}" for step in ("analysis", "model", "render"))]
    if cache_url:
        modules += [f"{package}.actions.cached", "fsspec.core"]
        modules += [name for name in (_filesystem_module(cache_url),) if name]
    context.set_forkserver_preload(modules)
    return context


def _filesystem_module(url: str) -> str:
    """The module of the fsspec filesystem a URL names (`fsspec.implementations.local` for a
    folder, `s3fs` for `s3://`), or "" when fsspec does not know it."""
    try:
        from fsspec.registry import known_implementations
    except ImportError:
        return ""
    protocol = url.partition("://")[0] if "://" in url else "file"
    found = known_implementations.get(protocol, {}).get("class", "")
    return str(found).rpartition(".")[0]


def start_fork_server(cache_url: str = "") -> None:
    """Start the fork server now, while the build process still plans (a build that will surely
    run a pool: one without a stamp), so its start and imports (about 0.5 s) overlap the plan
    instead of delaying the first stage."""
    import multiprocessing.forkserver

    _pool_context(cache_url)
    multiprocessing.forkserver.ensure_running()


def forget_vanished(db_path: str, vanished: Callable[[str], bool]) -> int:
    """Delete the records of tasks that no longer exist from doit's database; their number.

    doit keeps a task's record until `doit forget`: every deleted or renamed source would leave
    its analysis, page and keyword records behind, and a long-lived state folder (a CI cache)
    would only grow.  A record deleted by mistake costs one run of its task."""
    try:
        conn = sqlite3.connect(db_path)
    except sqlite3.Error:
        return 0
    try:
        gone = [(name,) for name, in conn.execute("SELECT task_id FROM doit") if vanished(name)]
        if gone:
            conn.executemany("DELETE FROM doit WHERE task_id=?", gone)
            conn.commit()
        return len(gone)
    except sqlite3.Error:  # no table yet, or damaged: the next stage's runner deals with it
        return 0
    finally:
        conn.close()


class StageRunner:
    """Executes task lists against one doit database."""

    def __init__(self, db_path: str, jobs: int, collector: Collector, hashes: FileHashes,
                 watched: Callable[[str], bool] = lambda dep: True,
                 on_chunk: ChunkHook | None = None, cache_url: str = ""):
        self.on_chunk = on_chunk
        self.cache_url = cache_url
        """The shared cache's URL, if one is set (what the fork server preloads)."""
        self.db_path = db_path
        self.jobs = jobs
        self.collector = collector
        self.hashes = hashes
        self.watched = watched
        """The inputs someone else may change while a task runs (the sources): the others are
        state files that earlier stages of this build wrote, under its lock."""

    def _open(self) -> Dependency:
        try:
            dep = Dependency(TaskDB, self.db_path, checker_cls=_Checker, codec_cls=JSONCodec)
        except Exception as exc:  # noqa: BLE001 - whatever a damaged database raises: start afresh
            log.warning("doit database %s is damaged (%s); rebuilding it", self.db_path, exc)
            self._discard()
            dep = Dependency(TaskDB, self.db_path, checker_cls=_Checker, codec_cls=JSONCodec)
        dep.checker.hashes = self.hashes
        dep.checker.stats = {}
        return dep

    def run(self, tasks: list[Task], jobs_of: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]],
            weight: Callable[[str], int]) -> None:
        """Check `tasks`, execute those that are not up to date, record the successes."""
        try:
            self._run(tasks, jobs_of, weight)
        except sqlite3.DatabaseError as exc:  # damaged after it opened: start afresh, once
            log.warning("doit database %s is damaged (%s); rebuilding it", self.db_path, exc)
            self._discard()
            self._run(tasks, jobs_of, weight)

    def _discard(self) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            try:
                os.remove(self.db_path + suffix)
            except FileNotFoundError:
                pass

    def _run(self, tasks: list[Task], jobs_of: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]],
             weight: Callable[[str], int]) -> None:
        collector = self.collector
        dep = self._open()
        db: TaskDB = dep.backend
        by_name = {t.name: t for t in tasks}
        db.note_unrecorded({name.partition(":")[0] for name in by_name})
        clock = time.perf_counter()
        checking = saving = 0.0
        saved = 0
        cpu_of: dict[str, float] = {}
        main_cpu = time.process_time()
        try:
            todo: list[str] = []
            complete: set[str] = set()  # to run, every target present (see targets_present)
            listed: ListedFolders | None = None
            for task in tasks:
                many = len(task.targets) > MANY_TARGETS
                if many:  # its targets are checked once, here, not by doit and again here
                    targets, task.targets = task.targets, []
                    try:
                        status = dep.get_status(task, by_name)
                    finally:
                        task.targets = targets
                    if listed is None:
                        listed = ListedFolders(os.path.join(os.path.dirname(self.db_path), LISTED))
                    missing = first_missing(targets, listed, getattr(task, "targets_digest", b""))
                    if missing is not None and status.status == "up-to-date":
                        status.add_reason("missing_target", missing)
                else:
                    status = dep.get_status(task, by_name)
                db.forget(task.name)
                if status.status == "up-to-date":
                    collector.up_to_date += 1
                    if collector.progress:
                        collector.progress.step()
                elif status.status == "error":
                    collector.executed.append(task.name)
                    collector.failures.append(Finding(task.name, 0, "task failed: " + status.get_error_message()))
                else:
                    todo.append(task.name)
                    if many and missing is None:
                        complete.add(task.name)
            if listed is not None:
                listed.save()
            checking = time.perf_counter() - clock
            pooled = self.jobs > 1 and len(todo) >= INLINE_BELOW
            watched = self.watched
            # (tens of thousands of tuples each: at torch4x a full collection of the main
            # process's heap, 1 s, ran while the jobs were listed)
            with collector_paused():
                # the order matters only to a pool: long tasks first, so none is left alone at the end
                todo.sort(key=(lambda n: (-weight(n), n)) if pooled else None)
                # stat data of every source input as the task starts: a file rewritten while its
                # task runs must not be recorded with its new state (doit issue #119)
                before = {n: _marks(_inputs(by_name[n], watched)) for n in todo}
                jobs = [(n, *jobs_of[n]) for n in todo]
                solo = [job for job in jobs if weight(job[0]) >= SOLO] if pooled else []
            for name, error, values, hashes, cpu in _quiet_gc(self._execute(
                    jobs, solo, frozenset(complete), lambda n: sorted(by_name[n].file_dep))):
                task = by_name[name]
                name = task.name  # the graph's string, not the copy unpickled from a worker
                kind = name.partition(":")[0]
                cpu_of[kind] = cpu_of.get(kind, 0.0) + cpu
                collector.executed.append(name)
                if error is not None:
                    collector.failures.append(Finding(name, 0, "task failed: " + error.strip()))
                elif not _same(before.pop(name), after := _inputs(task, watched)):
                    collector.changed.append(name)
                    collector.failures.append(Finding(
                        name.partition(":")[2] or name, 0,
                        "changed while it was being read; not recorded, so it runs again next time"))
                else:
                    self.hashes.add(hashes)
                    task.executed = True
                    task.save_extra_values()
                    began = time.perf_counter()
                    dep.checker.stats = {d: st for d, st in after.items() if st is not None}
                    db.load(name)
                    try:
                        dep.save_success(task)
                    except FileNotFoundError as exc:
                        collector.failures.append(Finding(
                            name, 0, f"task failed: input {exc.filename} vanished while it ran"))
                    else:
                        if values and PARTS in values:
                            self.hashes.parts.update(values.pop(PARTS))
                        collector.take(name, values or {})
                        saved += 1
                        if saved % FLUSH_EVERY == 0:
                            db.flush()
                    saving += time.perf_counter() - began
                if collector.progress:
                    collector.progress.step()
        finally:
            began = time.perf_counter()
            dep.close()
            log.info("runner: %d task(s): %.2f s checking, %.2f s recording, %.2f s committing, "
                     "%.2f s in all", len(tasks), checking, saving, time.perf_counter() - began,
                     time.perf_counter() - clock)
            log.info("runner: main process CPU %.2f s", time.process_time() - main_cpu)
            for kind, seconds in cpu_of.items():
                collector.cpu[kind] = collector.cpu.get(kind, 0.0) + seconds
            if cpu_of:
                log.info("runner: CPU time of the actions: %s",
                         ", ".join(f"{k} {v:.2f} s" for k, v in sorted(cpu_of.items(), key=lambda kv: -kv[1])))

    def _execute(self, jobs: list[Job], solo: list[Job], complete: frozenset[str],
                 inputs_of: Callable[[str], Iterable[str]] = lambda name: ()) -> Iterator[Outcome]:
        setup = WorkerSetup(os.getcwd(), self.hashes.root, self.on_chunk, complete, self.hashes.parts,
                            os.getpid())
        if self.jobs <= 1 or len(jobs) < INLINE_BELOW:
            _SETUP[:] = [setup]
            try:
                for start in range(0, len(jobs), CHUNK):
                    yield from _execute_chunk(jobs[start:start + CHUNK])
            finally:
                _SETUP.clear()
            return
        alone = {job[0] for job in solo}
        rest = [job for job in jobs if job[0] not in alone]
        size = max(1, min(CHUNK, len(rest) // (self.jobs * 8)))
        chunks = [rest[start:start + size] for start in range(0, len(rest), size)]
        pool = ProcessPoolExecutor(self.jobs, mp_context=_pool_context(self.cache_url),
                                   initializer=_worker_start, initargs=(setup,))
        try:
            # a long task (the model) alone, submitted first; the others in chunks beside it
            given: dict[Future[list[Outcome]], list[Job]] = {pool.submit(_execute_alone, job): [job] for job in solo}
            given.update((pool.submit(_execute_chunk, chunk, _inputs_of_chunk(chunk, inputs_of)), chunk)
                         for chunk in chunks)
            for future in as_completed(given):
                ran = given.pop(future)  # (with its outcomes: the futures are not kept to the end)
                try:
                    found = future.result()
                except BrokenProcessPool as exc:
                    # a worker killed (the kernel's OOM killer, a signal) or unable to start:
                    # its tasks and those not yet run fail, where a Pool waited forever
                    why = f"a worker process ended before the task did ({exc})"
                    yield from ((name, why, None, {}, 0.0) for name, _action, _args in ran)
                    continue
                yield from found
        except BaseException:
            _stop_workers(pool)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _inputs_of_chunk(chunk: list[Job], inputs_of: Callable[[str], Iterable[str]]) -> tuple[str, ...]:
    """The files the tasks of `chunk` read, each once, in the order of the tasks."""
    return tuple(dict.fromkeys(path for name, _action, _args in chunk for path in inputs_of(name)))


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """End a pool's workers now (Ctrl-C, SIGTERM): they ignore SIGINT, and a running action
    would otherwise finish first."""
    pool.shutdown(wait=False, cancel_futures=True)
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()
