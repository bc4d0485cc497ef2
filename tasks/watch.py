"""Watch mode: pages follow the editor.  `docgraph watch` and `doit watch`.

watchdog delivers file events (inotify on Linux; a polling observer when the kernel refuses more
inotify watches).  Events pass a filter (the output and state folders, `.git/`, ignored paths and
editor artefacts such as vim's `4913` probe, `~` backups and swap files never count), then a
:class:`Debouncer` coalesces bursts: a batch is handled once events have been quiet for
`watch.quiet_ms`, or `watch.max_wait_ms` after its first event, whichever comes first, so a
`git checkout` of a thousand files is one rebuild and a steady stream of saves still gets one
within the ceiling.

What is watched, measured on the torch4x corpus (48k files) where watching everything stalled: the
watches cover the source folders only (the output and state folders, which every build rewrites
by the tens of thousands, and `.git/` are left out: ROOT and the folders on the way to them get
a watch of their own folder only, every other folder a recursive one), and only the event kinds
that can change a page are asked of the kernel (created, deleted, moved, closed after writing:
not opened, read, closed without writing, or each single write).  When the kernel's queue still
overflows (a checkout of thousands of files), events were lost: one line says so, and the next
batch rescans the whole tree and rebuilds what differs from the stamp, once.

Each batch updates the in-memory source listing for just the paths involved and runs the engine
on them: the stamp stays in memory and only the affected tasks are built, so a save costs the
work it causes, not a walk of a 12,000-file graph.  A change to `docgraph.yaml` or a `.gitignore`
reloads the configuration and rescans.  The state folder stays locked for the whole session; on
Ctrl-C or SIGTERM the current batch finishes (every page write is atomic), the stamp is saved and
the watcher exits, so a following `docgraph build` has nothing to do.
"""

from __future__ import annotations

import bisect
import errno
import logging
import os
import queue
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from .config import CONFIG_NAME, Config, load
from .discover import FILE, Entry, Known, Scanner, SourceTree, make_tree
from .engine import Engine
from .graph import Graph
from .report import Report
from .store import Lock

log = logging.getLogger("docgraph")

_EDITOR_JUNK = re.compile(r"^(4913|\.#.*|#.*#|.*~|\..*\.sw[a-px]|.*\.swp|\.goutputstream-.*|"
                          r".*\.crswap|.*\.tmp-\d+)$")
SYSCTL = "sudo sysctl fs.inotify.max_user_watches=524288"


def editor_artefact(name: str) -> bool:
    """vim's `4913` probe, `~` backups, swap and lock files: saves in progress, not sources."""
    return bool(_EDITOR_JUNK.match(name))


def _shown(paths: Iterable[str]) -> str:
    """The first three paths (sorted) and how many more, for a line of the watcher."""
    names = sorted(paths)
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


@dataclass
class Debouncer:
    """Coalesces bursts of events: a batch is due after `quiet` seconds without events, or
    `ceiling` seconds after its first event.  Times are passed in, so tests script them.

    A batch of `burst` paths or more is a checkout or a generator, not an editor: it waits for
    quiet up to ten times the ceiling, so a checkout of thousands of files that takes longer than
    the ceiling to write is still one rebuild."""

    quiet: float
    ceiling: float
    paths: set[str] = field(default_factory=set)
    first: float = 0.0
    last: float = 0.0
    burst: int = 256

    def add(self, paths: Iterable[str], now: float) -> None:
        fresh = set(paths)
        if not fresh:
            return
        if not self.paths:
            self.first = now
        self.paths |= fresh
        self.last = now

    def wait(self, now: float) -> float | None:
        """Seconds until the pending batch is due (None when nothing is pending)."""
        if not self.paths:
            return None
        ceiling = self.ceiling * (10 if len(self.paths) >= self.burst else 1)
        return max(0.0, min(self.last + self.quiet, self.first + ceiling) - now)

    def due(self, now: float) -> bool:
        wait = self.wait(now)
        return wait is not None and wait <= 1e-9

    def take(self) -> tuple[set[str], float]:
        """The pending paths and when the first of them changed; the batch starts empty."""
        paths, first = self.paths, self.first
        self.paths = set()
        return paths, first


GIT_SETTLE_S = 30.0
"""How long a batch waits for a git command that holds the index's lock (see `_git_busy`); a
lock older than this is taken for one a crashed git left behind."""

OVERFLOW = "\0overflow"
"""Queued instead of paths when the kernel dropped events: the next batch rescans the tree."""


def event_kinds() -> list[type]:
    """The watchdog event classes that can change a page (the kernel is asked for these only)."""
    from watchdog.events import (
        DirCreatedEvent,
        DirDeletedEvent,
        DirMovedEvent,
        FileClosedEvent,
        FileCreatedEvent,
        FileDeletedEvent,
        FileMovedEvent,
    )

    return [FileCreatedEvent, FileDeletedEvent, FileMovedEvent, FileClosedEvent,
            DirCreatedEvent, DirDeletedEvent, DirMovedEvent]


def watch_roots(root: str, excluded: Iterable[str]) -> list[tuple[str, bool]]:
    """(folder, recursive) watches covering ROOT but the excluded folders and what is below them:
    a folder on the way to an excluded one is watched alone, every other folder recursively."""
    skip = {os.path.normpath(p) for p in excluded}
    inside = [p for p in skip if p.startswith(root + os.sep)]
    if not inside:
        return [(root, True)]
    found: list[tuple[str, bool]] = []

    def visit(folder: str) -> None:
        found.append((folder, False))
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False) or entry.path in skip:
                continue
            if any(p.startswith(entry.path + os.sep) for p in inside):
                visit(entry.path)
            else:
                found.append((entry.path, True))

    visit(root)
    return found


class _OverflowLog(logging.Handler):
    """watchdog only logs that the kernel's event queue overflowed (and rebuilds its watches);
    this turns that log record into a rescan request."""

    def __init__(self, watcher: Watcher):
        super().__init__(logging.WARNING)
        self.watcher = watcher

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self.watcher.events.put((time.monotonic(), [OVERFLOW]))


class _Handler:
    """watchdog event handler: forwards relevant paths to a queue (runs on watchdog's thread)."""

    def __init__(self, watcher: Watcher):
        self.watcher = watcher

    def dispatch(self, event: Any) -> None:
        paths = [event.src_path]
        if getattr(event, "dest_path", ""):
            paths.append(event.dest_path)
        if event.event_type in ("opened", "closed_no_write") or (
                event.is_directory and event.event_type in ("modified", "closed")):
            return  # a folder's "modified" only echoes the file events inside it
        relevant = [p for p in (os.fsdecode(p) for p in paths) if self.watcher.relevant(p)]
        if event.is_directory and event.event_type in ("created", "moved"):
            # at once, so the files written into it next raise events (the observer's lock is
            # reentrant); what was written before the watch began, the batch's scan finds
            self.watcher.watch_new_folders(relevant)
        if relevant:
            self.watcher.events.put((time.monotonic(), relevant))


class Watcher:
    """Keeps the source listing in memory and rebuilds what each batch of events affects."""

    def __init__(self, config: Config, out: TextIO | None = None,
                 config_file: str | None = None, on_build: Callable[[Report, set[str]], None] | None = None,
                 jobs: int = 1):
        self.config = config
        self.config_file = config_file
        self.jobs = jobs
        self.out = out or sys.stdout
        self.on_build = on_build
        self.events: queue.Queue[tuple[float, list[str]]] = queue.Queue()
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.rescan = False
        self._single: set[str] = set()  # folders watched without their subfolders
        self._observer: Any = None  # watchdog's observer, once run() made it
        self._handler: _Handler | None = None
        self._first = time.monotonic()  # when the batch being built began (its first event)
        self._setup(config)

    def _setup(self, config: Config) -> None:
        self.config = config
        self.engine = Engine(config, jobs=self.jobs, keep_stamp=True)
        self.engine.on_own_pages = self._own_pages
        self.scanner = Scanner(config)
        self.entries: dict[str, Entry] = {}
        self.debouncer = Debouncer(config.watch.quiet_ms / 1000, config.watch.max_wait_ms / 1000)
        self._index: dict[str, int] = {}  # position of each path in the last build's tree
        self._git_lock: str | None = None  # the index's lock file ("" when ROOT is no git tree)
        self._skip = tuple(p + os.sep for p in (config.output, config.state, os.path.join(config.root, ".git")))

    # ---------------------------------------------------------------- events

    def relevant(self, path: str) -> bool:
        """An event path worth a rebuild: inside ROOT, not in the output, state or .git folders,
        not an editor's temporary file."""
        root = self.config.root + os.sep
        if not path.startswith(root) or (path + os.sep).startswith(self._skip):
            return False
        return not editor_artefact(os.path.basename(path))

    def _rel(self, path: str) -> str:
        return path[len(self.config.root) + 1:].replace(os.sep, "/")

    def _reconfigures(self, rels: set[str]) -> bool:
        if self.config_file is not None:
            named = os.path.abspath(self.config_file)
            if any(os.path.join(self.config.root, r) == named for r in rels):
                return True
        return any(r == CONFIG_NAME or r.rpartition("/")[2] == ".gitignore" for r in rels)

    def apply(self, rels: set[str]) -> set[str]:
        """Update the listing for the paths an event batch named; return the affected paths."""
        if OVERFLOW in rels:  # events were lost: the listing is whatever the disk holds now
            rels.discard(OVERFLOW)
            self.entries = {e.rel: e for e in self.scanner.walk(self.entries).entries}
            self.rescan = True
            return set(self.entries)
        if self._reconfigures(rels):
            self._setup(load(self.config.root, self.config_file, self.config.output, self.config.state))
            self.entries = {e.rel: e for e in self.scanner.walk().entries}
            return set(self.entries)
        affected: set[str] = set()
        known = sorted(self.entries)  # to find what lay below a folder by bisection, not by a scan

        def below(folder: str) -> list[str]:
            prefix = folder + "/"
            found = []
            for rel in known[bisect.bisect_left(known, prefix):]:
                if not rel.startswith(prefix):
                    break
                if rel in self.entries:
                    found.append(rel)
            return found

        for rel in sorted(rels):
            path = os.path.join(self.config.root, rel)
            if os.path.isdir(path) and not os.path.islink(path):
                fresh = {e.rel: e for e in self.scanner.scan(rel, self.entries)}
                for gone in below(rel):
                    if gone not in fresh:
                        del self.entries[gone]
                        affected.add(gone)
                self.entries.update(fresh)
                affected.update(fresh)
                continue
            for gone in below(rel):  # a folder that was deleted or replaced by a file
                del self.entries[gone]
                affected.add(gone)
            found = self.scanner.entry(rel, self.entries)
            if found is None:
                if self.entries.pop(rel, None) is not None:
                    affected.add(rel)
            else:
                self.entries[rel] = found
                affected.add(rel)
        return affected

    # ---------------------------------------------------------------- builds

    def build(self, changed: set[str] | None) -> Report:
        if self.rescan:  # compare every source with the stamp, as `docgraph build` does
            self.rescan = False
            changed = None
        tree, graph = self._tree_after(changed)
        return self.engine.build(tree=tree, changed=changed, lock=False, graph=graph)

    def _tree_after(self, changed: set[str] | None) -> tuple[SourceTree, Graph | None]:
        """The tree of the listing, and the last build's graph when only files' content
        changed (the usual save): then the last tree's entries are replaced where they
        changed, instead of sorting 48,000 entries and making the graph again."""
        last, index = self.engine.graph, self._index  # the last build's graph and tree
        if last is not None and changed:
            old = last.tree
            entries = list(old.entries)
            for rel in changed:
                position = index.get(rel)
                now = self.entries.get(rel)
                if position is None or now is None:
                    break
                was = entries[position]
                if (was.kind, was.target) != (now.kind, now.target) \
                        or (now.kind != FILE and was.size != now.size):
                    break  # the listing (settings/tree.json) changes
                entries[position] = now
            else:
                tree = SourceTree(tuple(entries), old.folders, old.findings)
                return tree, last.with_tree(tree)
        tree = make_tree(self.entries.values())
        self._index = {e.rel: i for i, e in enumerate(tree.entries)}
        return tree, None

    def _own_pages(self, rels: list[str]) -> None:
        """The saved files' own pages are written; the aggregates follow."""
        elapsed = (time.monotonic() - self._first) * 1000
        self.out.write(f"docgraph: pages of {_shown(rels)} written in {elapsed:.0f} ms; "
                       f"updating indices and cross-references\n")
        self.out.flush()

    def _line(self, rels: set[str], report: Report, first: float) -> str:
        errors = [e for e in report.errors if e.path in rels or e.message.startswith("task failed")]
        problems = ("; " + "; ".join(f"{e.path}:{e.line}: {e.message.splitlines()[0]}"
                                     for e in errors[:3])) if errors else ""
        elapsed = (time.monotonic() - first) * 1000
        return (f"docgraph: {len(rels)} changed ({_shown(rels)}): {len(report.pages_written)} page(s) "
                f"written, {len(report.pages_removed)} removed in {elapsed:.0f} ms{problems}")

    @property
    def observer_class(self) -> Any:
        from watchdog.observers import Observer

        return Observer

    def run(self) -> None:
        """Build once, then watch until :attr:`stop` is set (or Ctrl-C / SIGTERM)."""
        from watchdog.observers.polling import PollingObserver

        self.entries = {e.rel: e for e in self.scanner.walk(self._previous()).entries}
        report = self.build(None)
        self.engine.flush()
        self.out.write(report.summary_line() + "\n")
        observer: Any = self.observer_class()
        handler = _Handler(self)
        self._observer, self._handler = observer, handler
        excluded = [self.config.output, self.config.state, os.path.join(self.config.root, ".git")]
        try:
            for folder, recursive in watch_roots(self.config.root, excluded):
                observer.schedule(handler, folder, recursive=recursive, event_filter=event_kinds())
                if not recursive:
                    self._single.add(folder)
            observer.start()
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EMFILE):
                raise
            observer.unschedule_all()  # release the inotify watches it did get
            self.out.write(f"docgraph: the system refuses more inotify watches ({exc.strerror}); "
                           f"polling instead. To watch with inotify: {SYSCTL}\n")
            self._single = set()
            observer = PollingObserver(timeout=0.5)
            observer.schedule(handler, self.config.root, recursive=True)
            observer.start()
            self._observer = observer
        overflow = _OverflowLog(self)
        watchdog_log = logging.getLogger("watchdog.observers.inotify")
        watchdog_log.addHandler(overflow)
        self.out.write(f"docgraph: watching {self.config.root} (Ctrl-C to stop)\n")
        self.out.flush()
        self.ready.set()
        try:
            self._loop()
        finally:
            watchdog_log.removeHandler(overflow)
            observer.stop()
            observer.join(timeout=10)
            self.engine.flush()

    def watch_new_folders(self, paths: Iterable[str]) -> None:
        """A folder created in a folder watched alone (ROOT, say) gets a recursive watch."""
        observer = self._observer
        for path in paths:
            if observer is not None and os.path.dirname(path) in self._single \
                    and os.path.isdir(path) and not os.path.islink(path):
                try:
                    observer.schedule(self._handler, path, recursive=True, event_filter=event_kinds())
                except OSError as exc:  # gone again, or no more watches: the next rescan sees it
                    log.warning("cannot watch %s: %s", path, exc)

    def _previous(self) -> Known | None:
        from .stamp import Stamp

        stamp = Stamp.load(self.config.state, verified=True)
        return stamp.known() if stamp else None

    def _git_busy(self) -> bool:
        """Whether a git command holds the index's lock (a checkout, merge, rebase or stash
        writing the work tree): a pause in its writes longer than the quiet time must not
        start a rebuild that git's next writes then run again."""
        if self._git_lock is None:
            self._git_lock = ""
            dot_git = os.path.join(self.config.root, ".git")
            if os.path.isdir(dot_git):
                self._git_lock = os.path.join(dot_git, "index.lock")
            elif os.path.isfile(dot_git):  # a worktree or submodule: `gitdir: <path>`
                try:
                    with open(dot_git, encoding="utf-8") as handle:
                        line = handle.readline().strip()
                except (OSError, UnicodeDecodeError):
                    line = ""
                if line.startswith("gitdir:"):
                    gitdir = os.path.join(self.config.root, line[len("gitdir:"):].strip())
                    self._git_lock = os.path.join(gitdir, "index.lock")
        if not self._git_lock:
            return False
        try:  # a lock older than the wait is a crashed git's, left behind: not waited for
            return time.time() - os.stat(self._git_lock).st_mtime < GIT_SETTLE_S
        except OSError:
            return False

    def _loop(self) -> None:
        idle_flush = git_was_busy = False
        while not self.stop.is_set():
            wait = self.debouncer.wait(time.monotonic())
            try:
                stamp, paths = self.events.get(timeout=0.2 if wait is None else min(wait, 0.2))
                self.debouncer.add((p if p == OVERFLOW else self._rel(p) for p in paths), stamp)
                continue
            except queue.Empty:
                pass
            if not self.debouncer.due(time.monotonic()):
                if idle_flush and self.debouncer.wait(time.monotonic()) is None:
                    self.engine.flush()  # quiet: persist the stamp
                    idle_flush = False
                continue
            if self._git_busy() and time.monotonic() - self.debouncer.first < GIT_SETTLE_S:
                self.stop.wait(0.05)  # git is writing the tree: its pauses are not the end
                git_was_busy = True
                continue
            if git_was_busy:  # the lock is gone: the events of git's last writes may still be
                git_was_busy = False  # on their way, so the batch waits for quiet once more
                self.debouncer.last = time.monotonic()
                continue
            rels, first = self.debouncer.take()
            if OVERFLOW in rels:
                self.out.write("docgraph: the kernel dropped file events (inotify queue overflow); "
                               "rescanning the tree once\n")
            changed = self.apply(rels)
            if not changed:
                continue  # only ignored paths (a .gitignore'd build folder, a log): no rebuild
            self._first = first
            report = self.build(changed)
            idle_flush = True
            self.out.write(self._line(rels, report, first) + "\n")
            self.out.flush()
            if self.on_build is not None:
                self.on_build(report, rels)


def run_watch(config: Config, config_file: str | None = None, jobs: int = 1) -> int:
    """`docgraph watch`: exit 0 on Ctrl-C or SIGTERM, after the running batch finished.

    With `jobs` > 1 a rebuild of many files (a checkout, the first build) runs its per-file
    tasks in that many processes; a save of one file always runs in the watcher's process."""
    watcher = Watcher(config, config_file=config_file, jobs=jobs)

    def terminate(signum: int, frame: Any) -> None:
        watcher.stop.set()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        with Lock(config.state):
            try:
                watcher.run()
            except KeyboardInterrupt:
                pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    sys.stdout.write("docgraph: stopped; pages and state are consistent\n")
    return 0


def _command_base() -> type:
    from doit.cmd_base import Command

    return Command


class WatchCommand(_command_base()):  # type: ignore[misc]
    """`doit watch [root=PATH] [out=DIR] [config=FILE] [jobs=N]` (registered in pyproject.toml)."""

    name = "watch"
    doc_purpose = "rebuild the docgraph pages whenever a source changes"
    doc_usage = "[root=PATH] [out=DIR] [config=FILE] [jobs=N]"
    doc_description = None

    def execute(self, params: Any, args: list[str]) -> int:
        from doit import get_var  # doit takes `name=value` arguments as its variables

        from .errors import DocgraphError
        from .workspace import open_workspace

        values = {k: get_var(k) for k in ("root", "out", "config", "jobs") if get_var(k) is not None}
        values.update(dict(arg.split("=", 1) for arg in args if "=" in arg))
        try:
            config = open_workspace(values.get("root", os.getcwd()), values.get("config"), values.get("out"))
            from .cli import default_jobs

            jobs = values.get("jobs", str(default_jobs()))
            if not jobs.isdigit() or int(jobs) < 1:
                sys.stderr.write(f"docgraph: jobs={jobs}: give a number of processes, 1 or more\n")
                return 2
            return run_watch(config, values.get("config"), int(jobs))
        except DocgraphError as exc:
            sys.stderr.write(f"docgraph: {exc}\n")
            return exc.exit_code
