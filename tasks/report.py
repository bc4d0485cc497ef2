"""The build report: progress while tasks run, one summary line, and `<state>/last-build.json`.

The doit reporter defined here collects what the actions returned (sources analysed, pages
written and removed) in the main process, also when the tasks ran in worker processes.  On a
terminal it shows a tqdm progress bar (tqdm: small, maintained, handles non-TTY and resizing);
elsewhere it prints a plain line every few seconds so CI logs stay readable.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from .facts import Finding
from .store import TMP_MARK

log = logging.getLogger("docgraph")

REPORT_NAME = "last-build.json"


@dataclass
class Collector:
    """What the tasks of one build did (filled by :class:`Reporter`)."""

    executed: list[str] = field(default_factory=list)
    up_to_date: int = 0
    analyzed: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failures: list[Finding] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    """Tasks whose inputs changed while they ran (not recorded; they run again)."""
    progress: Progress | None = None
    from_cache: list[str] = field(default_factory=list)
    """Sources whose analysis the shared cache held."""
    cache: dict[str, int] = field(default_factory=dict)
    """Shared cache counts (hits, misses, bytes read and written, ...) summed over the tasks."""
    noted: list[Finding] = field(default_factory=list)
    """Findings the tasks returned (the shared cache's: a corrupt entry, an unreachable store)."""
    timings: dict[str, float] = field(default_factory=dict)
    """Wall seconds of the build's steps, in order: `plan` (discovery and plan), then
    `stage N` for each stage of tasks that ran (:data:`docgraph.graph.KINDS` says which kinds
    each stage holds)."""
    cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds of the actions that ran, summed by task kind (in whichever process ran them)."""

    def take(self, name: str, values: dict[str, Any]) -> None:
        analyzed = values.get("analyzed")
        if isinstance(analyzed, str):
            self.analyzed.append(analyzed)
        cached = values.get("cached")
        if isinstance(cached, str):
            self.from_cache.append(cached)
        for count, value in (values.get("cache") or {}).items():
            self.cache[count] = self.cache.get(count, 0) + int(value)
        for path, line, message in values.get("findings", ()):
            finding = Finding(path, line, message)
            if all(f.message != message for f in self.noted):  # one warning per problem
                self.noted.append(finding)
        self.pages.extend(values.get("pages", ()))
        self.removed.extend(values.get("removed", ()))


class Progress:
    """A progress bar on a terminal, plain lines elsewhere, nothing when quiet."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False, every: float = 5.0):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.every = every
        self.total = 0
        self.done = 0
        self._bar: Any = None
        self._last = time.monotonic()

    def start(self, total: int, label: str) -> None:
        self.close()
        self.total, self.done = total, 0
        if self.quiet or total < 200:
            return
        if self.stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=label, unit="task", file=self.stream, leave=False,
                             mininterval=0.2)
        else:
            self._last = time.monotonic()
            self.stream.write(f"docgraph: {label}: {total:,} tasks to check\n")

    def step(self) -> None:
        self.done += 1
        if self._bar is not None:
            self._bar.update(1)
        elif not self.quiet and self.total >= 200 and time.monotonic() - self._last >= self.every:
            self._last = time.monotonic()
            self.stream.write(f"docgraph: {self.done:,}/{self.total:,} tasks\n")
            self.stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def reporter_for(collector: Collector) -> type:
    """A doit reporter class that feeds `collector` (doit instantiates the class itself)."""

    class Reporter:
        desc = "docgraph build report"

        def __init__(self, outstream: TextIO, options: dict[str, Any]):
            self.outstream = outstream

        def initialize(self, tasks: Any, selected_tasks: Any) -> None:
            pass

        def get_status(self, task: Any) -> None:
            pass

        def execute_task(self, task: Any) -> None:
            pass

        def add_success(self, task: Any) -> None:
            if not task.actions:  # doit's group tasks (`analyze`, `page`, ...) do nothing
                return
            collector.executed.append(task.name)
            collector.take(task.name, task.values or {})
            if collector.progress:
                collector.progress.step()

        def add_failure(self, task: Any, exception: Any) -> None:
            collector.executed.append(task.name)
            message = exception.get_msg() if hasattr(exception, "get_msg") else str(exception)
            collector.failures.append(Finding(task.name, 0, f"task failed: {message.strip()}"))
            if collector.progress:
                collector.progress.step()

        def skip_uptodate(self, task: Any) -> None:
            if not task.actions:
                return
            collector.up_to_date += 1
            if collector.progress:
                collector.progress.step()

        def skip_ignore(self, task: Any) -> None:
            collector.up_to_date += 1

        def cleanup_error(self, exception: Any) -> None:
            collector.failures.append(Finding("", 0, f"cleanup failed: {exception}"))

        def runtime_error(self, msg: str) -> None:
            collector.failures.append(Finding("", 0, f"doit: {msg.strip()}"))

        def teardown_task(self, task: Any) -> None:
            pass

        def complete_run(self) -> None:
            pass

    return Reporter


@dataclass(frozen=True)
class Report:
    """The result of one build, as written to `last-build.json`."""

    mode: str
    """`no-op` (nothing differed from the last build), `incremental` or `doit` (plain doit)."""
    sources_analyzed: tuple[str, ...]
    """Sources whose analysis ran (paths relative to ROOT)."""
    pages_written: tuple[str, ...]
    """Pages whose bytes changed (paths relative to the output folder)."""
    pages_removed: tuple[str, ...]
    """Pages deleted because what produced them is gone."""
    tasks_executed: tuple[str, ...]
    """Names of the doit tasks whose actions ran."""
    tasks_up_to_date: int
    """Tasks of the graph that did not need to run."""
    errors: tuple[Finding, ...]
    """Findings about input files and failed tasks."""
    seconds: float
    """Wall time of the build."""
    output: str
    """The output folder."""
    sources_from_cache: tuple[str, ...] = ()
    """Sources whose analysis came from the shared cache instead of running."""
    cache: tuple[tuple[str, int], ...] = ()
    """Shared cache counts: hits, misses, rejected, written, bytes_read, bytes_written, ..."""
    timings: tuple[tuple[str, float], ...] = ()
    """Where the wall time went, step by step (:attr:`Collector.timings`)."""
    cpu: tuple[tuple[str, float], ...] = ()
    """CPU seconds of the actions by task kind (:attr:`Collector.cpu`)."""

    @property
    def failed(self) -> bool:
        """Whether a task failed (as opposed to findings about input files)."""
        return bool(self.failures)

    @property
    def failures(self) -> int:
        """How many tasks failed."""
        return sum(e.message.startswith(("task failed", "doit:")) for e in self.errors)

    def _data(self) -> dict[str, Any]:
        data = {
            "mode": self.mode,
            "sources_analyzed": sorted(self.sources_analyzed),
            "pages_written": sorted(self.pages_written),
            "pages_removed": sorted(self.pages_removed),
            "tasks_executed": sorted(self.tasks_executed),
            "tasks_up_to_date": self.tasks_up_to_date,
            "errors": [{"path": e.path, "line": e.line, "message": e.message} for e in self.errors],
            "seconds": round(self.seconds, 3),
        }
        if self.timings:
            data["timings"] = {step: round(seconds, 3) for step, seconds in self.timings}
        if self.cpu:
            data["cpu_seconds"] = {kind: round(seconds, 3) for kind, seconds in sorted(self.cpu)}
        if self.cache or self.sources_from_cache:
            data["sources_from_cache"] = sorted(self.sources_from_cache)
            data["cache"] = dict(sorted(self.cache))
        return data

    def write(self, path: str) -> None:
        """The report as JSON into `path` (atomically), streamed: a full build's report of a
        48,000-file tree lists 300,000 names, and its text made whole, with the encoder's
        pieces, was the build's last peak of memory (about 70 MB)."""
        folder, name = os.path.split(path)
        tmp = os.path.join(folder, f".{name}{TMP_MARK}{os.getpid()}")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(self._data(), handle, indent=1, ensure_ascii=False)
            handle.write("\n")
        os.replace(tmp, path)

    def summary_line(self) -> str:
        issues = f", {len(self.errors)} finding(s)" if self.errors else ""
        counts = dict(self.cache)
        cached = (f" ({len(self.sources_from_cache):,} more from the shared cache, "
                  f"{_size(counts.get('bytes_read', 0))} read, "
                  f"{_size(counts.get('bytes_written', 0))} written)") if counts else ""
        failed = self.failures
        verdict = f"FAILED ({failed} task(s) failed, see above)" if failed else "build"
        return (f"docgraph: {self.mode} {verdict} in {self.seconds:.2f} s: "
                f"{len(self.sources_analyzed):,} source(s) analysed{cached}, "
                f"{len(self.pages_written):,} page(s) written, {len(self.pages_removed):,} removed"
                f"{issues} -> {self.output}")


def _size(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 100_000 else f"{count / 1e3:.1f} kB"


def load_findings(state: str) -> list[Finding]:
    """Findings of every current file, as the model last collected them (`findings.json`)."""
    try:
        with open(os.path.join(state, "findings.json"), encoding="utf-8") as handle:
            return [Finding(**item) for item in json.load(handle)]
    except FileNotFoundError:
        return []


def write_report(state: str, report: Report) -> None:
    """Write `last-build.json` into the state folder."""
    report.write(os.path.join(state, REPORT_NAME))


def read_report(state: str) -> dict[str, Any]:
    """The last build's report (for tests and tools)."""
    with open(os.path.join(state, REPORT_NAME), encoding="utf-8") as handle:
        return json.load(handle)
