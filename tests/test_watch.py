"""Watch mode: the debouncer with scripted events, and real watchdog observers on temporary trees."""

from __future__ import annotations

import io
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Self

import pytest

from docgraph.config import load
from docgraph.watch import Debouncer, Watcher, editor_artefact

from .conftest import build, make_sample, snapshot

TIMEOUT = 30.0


def test_debouncer_waits_for_quiet() -> None:
    d = Debouncer(quiet=0.1, ceiling=1.0)
    assert d.wait(0.0) is None
    d.add(["a"], 0.00)
    d.add(["b"], 0.05)
    assert not d.due(0.10)
    assert d.due(0.15)
    assert d.take() == ({"a", "b"}, 0.0)
    assert d.wait(0.2) is None


def test_debouncer_ceiling_bounds_a_steady_stream() -> None:
    d = Debouncer(quiet=0.1, ceiling=1.0)
    for step in range(19):  # an event every 50 ms, never 100 ms of quiet
        d.add([f"f{step}"], step * 0.05)
        assert not d.due(step * 0.05)
    d.add(["last"], 1.0)
    assert d.due(1.0)  # events never stopped, but the ceiling was reached
    paths, first = d.take()
    assert first == 0.0 and len(paths) == 20


def test_debouncer_keeps_a_long_checkout_in_one_batch() -> None:
    d = Debouncer(quiet=0.1, ceiling=1.0)
    for step in range(1500):  # 1,500 files over 3 s, never 100 ms of quiet: a slow checkout
        d.add([f"f{step}"], step * 0.002)
        assert not d.due(step * 0.002)
    assert not d.due(3.0) and d.due(3.1)  # past the ceiling, but one batch until quiet
    assert len(d.take()[0]) == 1500


@pytest.mark.parametrize("name, junk", [
    ("4913", True), ("main.py~", True), (".main.py.swp", True), (".main.py.swx", True),
    (".#main.py", True), ("#main.py#", True), ("main.py", False), ("notes.swift", False),
])
def test_editor_artefacts(name: str, junk: bool) -> None:
    assert editor_artefact(name) is junk


class Running:
    """A Watcher on a thread, with its rebuilds on a queue."""

    def __init__(self, root: Path):
        self.builds: queue.Queue[tuple[object, set[str]]] = queue.Queue()
        self.watcher = Watcher(load(str(root)), out=io.StringIO(),
                               on_build=lambda report, rels: self.builds.put((report, rels)))
        self.thread = threading.Thread(target=self.watcher.run, daemon=True)
        self.thread.start()
        assert self.watcher.ready.wait(TIMEOUT)

    def next(self) -> tuple[object, set[str]]:
        return self.builds.get(timeout=TIMEOUT)

    def until(self, predicate) -> tuple[object, set[str]]:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            report, rels = self.builds.get(timeout=max(0.1, deadline - time.monotonic()))
            if predicate(report, rels):
                return report, rels
        raise AssertionError("no matching rebuild")

    def quiet(self, seconds: float = 1.5) -> bool:
        try:
            self.builds.get(timeout=seconds)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        self.watcher.stop.set()
        self.thread.join(TIMEOUT)


@pytest.fixture
def running(tmp_path: Path):  # type: ignore[no-untyped-def]
    root = make_sample(tmp_path / "repo")
    build(root)
    watching = Running(root)
    yield root, watching
    watching.close()


def test_modify_rebuilds_that_file(running) -> None:  # type: ignore[no-untyped-def]
    root, watching = running
    with (root / "src/geometry/shapes.py").open("a") as handle:
        handle.write("\nEXTRA = 1\n")
    report, _ = watching.until(lambda r, rels: "src/geometry/shapes.py" in rels)
    assert report.sources_analyzed == ("src/geometry/shapes.py",)
    assert "EXTRA" in (root / "repo-docs/src/geometry/shapes.py_kw.md").read_text()


def test_atomic_save_is_seen(running) -> None:  # type: ignore[no-untyped-def]
    root, watching = running
    temp = root / "src/geometry/.shapes.py.tmp123"
    temp.write_text((root / "src/geometry/shapes.py").read_text() + "\nATOMIC = 2\n")
    os.replace(temp, root / "src/geometry/shapes.py")
    watching.until(lambda r, rels: "src/geometry/shapes.py" in r.sources_analyzed)
    assert "ATOMIC" in (root / "repo-docs/src/geometry/shapes.py_kw.md").read_text()
    assert not (root / "repo-docs/src/geometry/.shapes.py.tmp123_docs.md").exists()


def test_create_delete_and_rename(running) -> None:  # type: ignore[no-untyped-def]
    root, watching = running
    (root / "src/geometry/extra.py").write_text("def extra():\n    pass\n")
    watching.until(lambda r, rels: (root / "repo-docs/src/geometry/extra.py_docs.md").exists())
    (root / "src/geometry/extra.py").rename(root / "src/geometry/moved.py")
    watching.until(lambda r, rels: (root / "repo-docs/src/geometry/moved.py_docs.md").exists()
                   and not (root / "repo-docs/src/geometry/extra.py_docs.md").exists())
    (root / "src/geometry/moved.py").unlink()
    watching.until(lambda r, rels: not (root / "repo-docs/src/geometry/moved.py_docs.md").exists())
    assert "moved.py" not in (root / "repo-docs/src/geometry/index.md").read_text()


def test_folder_rename(running) -> None:  # type: ignore[no-untyped-def]
    root, watching = running
    (root / "scripts").rename(root / "bin")
    watching.until(lambda r, rels: (root / "repo-docs/bin/run.sh_docs.md").exists()
                   and not (root / "repo-docs/scripts").exists())


def test_burst_of_500_files_is_one_rebuild(running) -> None:  # type: ignore[no-untyped-def]
    root, watching = running
    (root / "many").mkdir()
    for i in range(500):
        (root / "many" / f"m{i}.py").write_text(f"VALUE_{i} = {i}\n")
    _report, _rels = watching.next()
    builds = 1
    while not watching.quiet(2.0):
        builds += 1
    assert builds == 1, f"{builds} rebuilds for one burst"
    assert (root / "repo-docs/many/m499.py_docs.md").exists()


def test_output_and_editor_files_trigger_nothing(running) -> None:  # type: ignore[no-untyped-def]
    root, watching = running
    (root / "repo-docs" / "extra-note.md").write_text("not a source\n")
    (root / ".docgraph" / "scratch").write_text("x")
    (root / "src" / "4913").write_text("")
    (root / "src" / "shapes.py~").write_text("")
    assert watching.quiet(2.0)


def test_ignored_paths_trigger_nothing(running) -> None:  # type: ignore[no-untyped-def]
    root, watching = running
    (root / "build" / "more.py").write_text("x = 1\n")  # build/ is in the sample's .gitignore
    (root / "notes.log").write_text("log\n")
    assert watching.quiet(2.0)


def test_inotify_exhaustion_falls_back_to_polling(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import errno

    from watchdog.observers import Observer

    class Exhausted(Observer):  # type: ignore[misc, valid-type]
        def start(self) -> None:
            raise OSError(errno.ENOSPC, "inotify watch limit reached")

    monkeypatch.setattr(Watcher, "observer_class", property(lambda self: Exhausted))
    root = make_sample(tmp_path / "repo")
    watching = Running(root)
    try:
        output = watching.watcher.out.getvalue()  # type: ignore[attr-defined]
        assert "fs.inotify.max_user_watches" in output and "polling" in output
        (root / "src/geometry/shapes.py").write_text("POLLED = 1\n")
        watching.until(lambda r, rels: "src/geometry/shapes.py" in rels)
    finally:
        watching.close()


def test_config_change_reloads(running) -> None:  # type: ignore[no-untyped-def]
    root, watching = running
    (root / "docgraph.yaml").write_text(
        "analysis:\n  include_roots: [include]\npages:\n  embed_source_bytes: 150\n")
    watching.until(lambda r, rels: "docgraph.yaml" in rels)
    assert "more lines are in the" in (root / "repo-docs/src/geometry/shapes.py_docs.md").read_text()


class Process:
    """A watcher run as a child process, read line by line, always reaped."""

    def __init__(self, command: list[str], cwd: Path | None = None):
        self.proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []

    def until(self, fragment: str) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if fragment in line:
                return
        raise AssertionError(f"no line with {fragment!r}: {self.lines}")

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(TIMEOUT)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def test_sigterm_stops_cleanly_and_leaves_nothing_to_do(tmp_path: Path) -> None:
    root = make_sample(tmp_path / "repo")
    with Process([sys.executable, "-m", "docgraph.cli", "watch", str(root)]) as watcher:
        watcher.until("watching")
        (root / "src/geometry/shapes.py").write_text("SHAPES = 1\n")
        watcher.until("changed")
        busy = subprocess.run([sys.executable, "-m", "docgraph.cli", "build", "-q", str(root)],
                              capture_output=True, text=True, check=False)
        assert busy.returncode == 3 and "in use by docgraph" in busy.stderr
        assert watcher.terminate() == 0
    report = build(root)
    assert report["tasks_executed"] == [] and report["mode"] == "no-op"


def test_doit_watch_is_a_doit_command(tmp_path: Path) -> None:
    """In a user's repository: docgraph's installed entry point registers the command."""
    root = make_sample(tmp_path / "repo")
    (root / "dodo.py").write_text("from docgraph.dodo import *  # noqa: F403\n")
    with Process([sys.executable, "-m", "doit", "watch"], cwd=root) as watcher:
        watcher.until("watching")
        assert any(str(root) in line for line in watcher.lines), watcher.lines
        assert watcher.terminate() == 0
    assert (root / "repo-docs" / "index.md").exists()


def test_watch_with_two_jobs_rebuilds_a_burst_like_a_clean_build(tmp_path: Path) -> None:
    """`docgraph watch -j 2`: a burst of 100 new files runs in the pool; the pages are those of
    a clean build."""
    root = make_sample(tmp_path / "repo")
    with Process([sys.executable, "-m", "docgraph.cli", "watch", "-j", "2", str(root)]) as watcher:
        watcher.until("watching")
        (root / "many").mkdir()
        for i in range(100):
            (root / "many" / f"m{i}.py").write_text(f"def f{i}():\n    return {i}\n")
        watcher.until(" changed (")
        deadline = time.monotonic() + TIMEOUT
        while not (root / "repo-docs/many/m99.py_docs.md").exists() and time.monotonic() < deadline:
            watcher.until(" changed (")  # a slow machine may split the burst
        assert watcher.terminate() == 0  # after the running rebuild
    clean = tmp_path / "clean"
    shutil.copytree(root, clean, ignore=shutil.ignore_patterns("repo-docs", ".docgraph"))
    build(clean)
    assert snapshot(root / "repo-docs") == snapshot(clean / "repo-docs")
    assert (root / "repo-docs/many/m99.py_docs.md").exists()


def test_watches_leave_out_the_output_state_and_git_folders(tmp_path: Path) -> None:
    from docgraph.watch import watch_roots

    root = tmp_path / "repo"
    for folder in ("src/a", "docs", "repo-docs/src", ".docgraph/facts", ".git/objects", "build/out"):
        (root / folder).mkdir(parents=True)
    excluded = [str(root / "repo-docs"), str(root / ".docgraph"), str(root / ".git"),
                str(root / "build" / "out")]
    assert watch_roots(str(root), excluded) == [
        (str(root), False), (str(root / "build"), False), (str(root / "docs"), True),
        (str(root / "src"), True)]
    assert watch_roots(str(root), [str(tmp_path / "elsewhere")]) == [(str(root), True)]


def test_a_queue_overflow_is_one_line_and_one_rescan(sample: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel dropped the events of an edit (watchdog then only logs the overflow): the
    watcher says so in one line, rescans once and rebuilds what differs."""
    import logging

    from docgraph import watch

    target = sample / "src/geometry/io.py"
    dispatch = watch._Handler.dispatch

    def lossy(self, event):  # type: ignore[no-untyped-def]
        if os.fsdecode(event.src_path) != str(target):  # the kernel lost this file's events
            dispatch(self, event)

    monkeypatch.setattr(watch._Handler, "dispatch", lossy)
    build(sample)
    running = Running(sample)
    try:
        target.write_text(target.read_text() + "\n\ndef lost_event_function():\n    return 1\n")
        assert running.quiet(1.0)  # no event reached the watcher
        logging.getLogger("watchdog.observers.inotify").warning(
            "Inotify queue overflowed; reconciling recursive watches below %r", str(sample))
        report, _rels = running.next()
        assert report.sources_analyzed == ("src/geometry/io.py",)  # type: ignore[attr-defined]
        assert "lost_event_function" in (sample / "repo-docs/src/geometry/io.py_kw.md").read_text()
        assert running.quiet(1.5)  # one rescan, no loop
        said = running.watcher.out.getvalue()  # type: ignore[attr-defined]
        assert said.count("inotify queue overflow") == 1
    finally:
        running.watcher.stop.set()
        running.thread.join(TIMEOUT)


def test_a_saved_files_own_pages_come_first_and_the_rest_follows_exactly(tmp_path: Path) -> None:
    """Watch mode writes the saved file's `_docs.md` and `_kw.md` before the model and the
    aggregate pages; when the save also changed the file's cross-references (a new import), the
    page is written again after the model, and the tree ends as a clean build's."""
    root = make_sample(tmp_path / "repo")
    build(root)
    seen: dict[str, str] = {}
    watching = Running(root)
    try:
        engine = watching.watcher.engine
        first = engine.on_own_pages
        assert first is not None

        def own_pages(rels: list[str]) -> None:
            # what the reader sees at this moment, before the model ran
            seen["rels"] = ",".join(rels)
            seen["kw"] = (root / "repo-docs/src/geometry/shapes.py_kw.md").read_text()
            seen["docs"] = (root / "repo-docs/src/geometry/shapes.py_docs.md").read_text()
            seen["sub"] = (root / "repo-docs/src/geometry/sub.md").read_text()
            first(rels)

        engine.on_own_pages = own_pages
        shapes = root / "src/geometry/shapes.py"
        shapes.write_text(shapes.read_text() + "\nfrom . import io\n\ndef hexagon_area(side):\n"
                          "    return side * side\n")
        watching.until(lambda r, rels: "src/geometry/shapes.py" in r.sources_analyzed)
    finally:
        watching.close()
    assert seen["rels"] == "src/geometry/shapes.py"
    assert "hexagon_area" in seen["kw"] and "hexagon_area" in seen["docs"]
    assert "hexagon_area" not in seen["sub"]  # the subtree's keywords wait for the model
    out = watching.watcher.out.getvalue()  # type: ignore[attr-defined]
    assert out.index("pages of src/geometry/shapes.py written in") < out.index("1 changed (")
    assert "hexagon_area" in (root / "repo-docs/src/geometry/sub.md").read_text()
    clean = tmp_path / "clean"
    shutil.copytree(root, clean, ignore=shutil.ignore_patterns("repo-docs", ".docgraph"))
    build(clean)
    assert snapshot(root / "repo-docs") == snapshot(clean / "repo-docs")


def test_a_batch_waits_while_git_holds_the_index_lock(tmp_path: Path) -> None:
    """A checkout pauses while it writes the tree; its lock, not a quiet spell, marks its end:
    the files written before and after a pause longer than the quiet time are one rebuild."""
    root = make_sample(tmp_path / "repo")
    (root / ".git").mkdir()
    build(root)
    watching = Running(root)
    try:
        lock = root / ".git" / "index.lock"
        lock.write_text("")
        (root / "src/geometry/first.py").write_text("def first():\n    pass\n")
        assert watching.quiet(1.0)  # far past watch.quiet_ms, the lock held: no rebuild yet
        (root / "src/geometry/second.py").write_text("def second():\n    pass\n")
        lock.unlink()
        _report, rels = watching.next()
        assert {"src/geometry/first.py", "src/geometry/second.py"} <= rels
    finally:
        watching.close()


def test_a_lock_left_by_a_crashed_git_is_not_waited_for(tmp_path: Path) -> None:
    root = make_sample(tmp_path / "repo")
    (root / ".git").mkdir()
    lock = root / ".git" / "index.lock"
    lock.write_text("")
    old = time.time() - 120
    os.utime(lock, (old, old))
    build(root)
    watching = Running(root)
    try:
        started = time.monotonic()
        (root / "src/geometry/first.py").write_text("def first():\n    pass\n")
        _report, rels = watching.next()
        assert "src/geometry/first.py" in rels
        assert time.monotonic() - started < 10
    finally:
        watching.close()
