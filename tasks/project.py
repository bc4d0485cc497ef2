"""A repository as plain doit sees it: DOIT_CONFIG, one lazy task creator per task kind, a reporter.

`from docgraph.dodo import *` in a repository's `dodo.py` builds one :class:`DoitProject` for the
folder doit runs in (the dodo file's folder; `root=PATH` overrides) and exports what doit looks
for.  The task graph is :mod:`docgraph.graph`'s, and doit's database is the one `docgraph build`
uses, so either can follow the other.

Why lazy: plain doit creates and checks every task before any work, about 60,000 on the torch
corpus.  Each kind's creator is declared with doit's `create_after` on the kind it reads
(:data:`docgraph.graph.KINDS`), so under `doit run` a kind's tasks are created only when doit
reaches them.  When the whole graph is selected (`doit`, `doit run`) the creators then yield only
the tasks :class:`docgraph.engine.Session` loads, as `docgraph build` does: those whose source
changed and, stage by stage, those an input of which was rewritten with other bytes; doit's MD5
check decides whether each of them runs.  Commands that only look at tasks (`list`, `info`,
`clean`, `forget`) get every task.  A run of selected tasks (`doit run page:x`) also creates every
task of the kinds it reaches, and since it vouches for nothing else it drops the stamp, so the next
whole build checks every task once.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from .discover import discover
from .engine import Session, doit_config, open_session, sigterm_as_interrupt
from .errors import DocgraphError
from .graph import KIND, KINDS, MODEL, RENDER, RENDER_GROUP, SETTINGS, Graph, Spec
from .report import Collector, Report, load_findings, reporter_for, write_report
from .stamp import Stamp
from .store import (
    BUILDING,
    Lock,
    claim_output,
    prune_empty_dirs,
    read_manifest,
    remove,
    remove_leftovers,
    write_manifest,
)
from .workspace import open_workspace

log = logging.getLogger("docgraph")


class DoitProject:
    """The configuration, source tree and graph of one repository, and doit's view of them."""

    def __init__(self, root: str, out: str | None = None, config_file: str | None = None):
        self.started = time.monotonic()
        self.config = open_workspace(root, config_file, out)
        os.chdir(self.config.root)  # every path in the graph is relative to ROOT
        os.makedirs(self.config.state, exist_ok=True)
        self.stamp = Stamp.load(self.config.state, verified=True)
        self.tree = discover(self.config, self.stamp.known() if self.stamp else None,
                             self.stamp.walked() if self.stamp else None)
        self.graph = Graph(self.config, self.tree)
        self.session: Session | None = None
        self.collector = Collector()
        self._generated: set[str] | None = None

    # ------------------------------------------------------------------ what dodo.py exports

    @property
    def doit_config(self) -> dict[str, Any]:
        return doit_config(self.config.state, self._reporter())

    def creators(self) -> dict[str, Callable[[], Any]]:
        """`task_<kind>` functions for doit, each but the first created after the kind it reads,
        and the `render` group the manifest waits for."""
        found: dict[str, Callable[[], Any]] = {}
        for kind in KINDS:
            creator = self._creator(kind.name)
            if kind.after:
                from doit import create_after

                creator = create_after(executed=kind.after)(creator)
            found[f"task_{kind.name}"] = creator
        grouped = [k.name for k in KINDS if k.stage in (MODEL, RENDER)]

        def task_render() -> dict[str, Any]:
            return {"actions": None, "task_dep": grouped,
                    "doc": "every page and keyword index (all tasks after the analysis)"}

        task_render.__doc__ = "every page and keyword index"
        found[f"task_{RENDER_GROUP}"] = task_render
        return found

    def _creator(self, kind: str) -> Callable[[], Iterator[dict[str, Any]]]:
        declared = KIND[kind]

        def create() -> Iterator[dict[str, Any]]:
            for spec in self._specs(kind):
                task_dep = (RENDER_GROUP,) if kind == "manifest" else ()
                yield spec.doit_dict(task_dep, clean=[(self.clean_outputs, (spec.name,))])

        create.__name__ = create.__qualname__ = f"task_{kind}"
        create.__doc__ = declared.doc
        return create

    def _specs(self, kind: str) -> list[Spec]:
        session = self.session
        if session is None:  # a command that looks at tasks, or a run of selected tasks
            return self.graph.specs_of(kind)
        found = (self.graph.spec(name) for name in sorted(session.names(KIND[kind].stage, kind)))
        return [spec for spec in found if spec is not None]

    # ------------------------------------------------------------------ doit clean

    def clean_outputs(self, name: str, dryrun: bool = False) -> None:
        """`doit clean`: delete the files this task generated (only files the manifest lists, so
        a user's file is never touched); the manifest task deletes every generated file left,
        then docgraph's state but doit's own database.  Any clean drops the stamp, so the next
        build does not trust what it recorded."""
        if self._generated is None:
            self._generated = set(read_manifest(self.config.state))
        graph = self.graph
        names = self._generated if name == "manifest" else graph.outputs_of(name)
        doomed = sorted(graph.absolute(n) for n in names if n in self._generated)
        if dryrun:
            for path in doomed:
                if os.path.exists(path):
                    sys.stdout.write(f"{name} - would remove {os.path.relpath(path)}\n")
            return
        removed = [path for path in doomed if remove(path)]
        Stamp.remove(self.config.state)
        prune_empty_dirs([p for p in removed if p.startswith(self.config.output + os.sep)],
                         self.config.output)
        prune_empty_dirs([p for p in removed if p.startswith(self.config.state + os.sep)],
                         self.config.state)
        if name == "manifest":
            for extra in ("model.sqlite3", "last-build.json", BUILDING):
                remove(os.path.join(self.config.state, extra))
            write_manifest(self.config.state, [])  # the output folder stays docgraph's
            if os.path.isdir(self.config.output) and not os.listdir(self.config.output):
                os.rmdir(self.config.output)

    # ------------------------------------------------------------------ doit run

    def begin(self, tasks: dict[str, Any], selected: list[str]) -> None:
        """`doit run` starts: lock the state folder; choose the lazy plan or every task."""
        self._lock = Lock(self.config.state)
        try:
            self._lock.acquire()
        except DocgraphError as exc:
            sys.stderr.write(f"docgraph: {exc}\n")
            raise SystemExit(exc.exit_code) from None
        claim_output(self.config.state)
        marker = os.path.join(self.config.state, BUILDING)
        if os.path.exists(marker):  # the last build was killed: drop its half-written temp files
            remove_leftovers([self.config.output, self.config.state])
        else:
            with open(marker, "w", encoding="ascii") as handle:
                handle.write(str(os.getpid()))
        try:  # doit saves its database on KeyboardInterrupt, not on SIGTERM
            signal.signal(signal.SIGTERM, sigterm_as_interrupt)
        except ValueError:  # not the main thread
            pass
        whole = list(selected) == list(tasks)
        if whole:
            self.session = open_session(self.config, self.stamp, self.tree, graph=self.graph)
            self.session.names(SETTINGS)  # created eagerly: its outputs may widen the plan
        else:
            Stamp.remove(self.config.state)

    def finish(self) -> None:
        """`doit run` ends: the stamp (a whole build that succeeded), the report, the lock."""
        collector, session = self.collector, self.session
        try:
            findings = [*self.tree.findings, *load_findings(self.config.state)]
            executed = tuple(collector.executed)
            total = self.stamp.tasks if session is not None and session.plan.noop and self.stamp \
                else self.graph.task_count()
            report = Report("doit", tuple(sorted(collector.analyzed)),
                            tuple(sorted(set(collector.pages))), tuple(sorted(set(collector.removed))),
                            executed, total - len(set(executed)),
                            tuple(findings) + tuple(collector.noted) + tuple(collector.failures),
                            time.monotonic() - self.started, self.config.output,
                            tuple(sorted(collector.from_cache)), tuple(sorted(collector.cache.items())))
            if not collector.failures:
                if session is not None:
                    stamp = session.refreshed_stamp() if session.plan.noop else session.new_stamp()
                    if stamp is not None:
                        stamp.save(self.config.state)
                remove(os.path.join(self.config.state, BUILDING))
            write_report(self.config.state, report)
            print(report.summary_line())
        finally:
            self._lock.release()

    def _reporter(self) -> type:
        project = self
        base = reporter_for(self.collector)

        class Reporter(base):  # type: ignore[misc, valid-type]
            def initialize(self, tasks: Any, selected_tasks: Any) -> None:
                project.begin(tasks, selected_tasks)

            def complete_run(self) -> None:
                project.finish()

        return Reporter


def load_project(root: str | None, out: str | None, config_file: str | None) -> DoitProject:
    """The project of `root` (the current folder when None), or exit with docgraph's one-line
    message and exit code for a user error (a bad configuration, an output folder not ours)."""
    try:
        return DoitProject(root or os.getcwd(), out, config_file)
    except DocgraphError as exc:
        sys.stderr.write(f"docgraph: {exc}\n")
        raise SystemExit(exc.exit_code) from None
