"""What `dodo.py` exposes to doit: the configuration and a task generator for the whole graph.

With `root=PATH` the process changes into PATH, because every path in the graph is relative to
ROOT (that is what lets a fresh clone with restored state rerun nothing).  A run through plain
doit bypasses the engine's stamp, so it removes the stamp when tasks start: the next
`docgraph build` then checks every task once instead of trusting stale stat data.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from .discover import discover
from .graph import Graph
from .report import Collector, Report, load_findings, reporter_for, write_report
from .workspace import open_workspace

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(root: str | None, out: str | None, config: str | None
         ) -> tuple[dict[str, Any], Callable[[], Iterator[dict[str, Any]]]]:
    """(DOIT_CONFIG, task_docgraph) for dodo.py."""
    import time

    from .engine import STAMP, doit_config

    started = time.monotonic()
    workspace = open_workspace(root or os.getcwd(), config, out)
    os.chdir(workspace.root)
    os.makedirs(workspace.state, exist_ok=True)
    tree = discover(workspace)
    graph = Graph(workspace, tree)
    specs = graph.all_specs()
    collector = Collector()
    base = reporter_for(collector)

    class Reporter(base):  # type: ignore[misc, valid-type]
        def initialize(self, tasks: Any, selected_tasks: Any) -> None:
            try:
                os.remove(os.path.join(workspace.state, STAMP))
            except FileNotFoundError:
                pass

        def complete_run(self) -> None:
            findings = [*tree.findings, *load_findings(workspace.state)]
            executed = tuple(collector.executed)
            report = Report("doit", tuple(sorted(collector.analyzed)),
                            tuple(sorted(set(collector.pages))), tuple(sorted(set(collector.removed))),
                            executed, len(specs) - len(set(executed)),
                            tuple(findings) + tuple(collector.failures),
                            time.monotonic() - started, workspace.output)
            write_report(workspace.state, report)
            print(report.summary_line())

    groups: dict[str, list[str]] = {}
    for spec in specs:
        groups.setdefault(spec.basename, []).append(spec.name)

    def task_docgraph() -> Iterator[dict[str, Any]]:
        """docgraph tasks (see `doit list`)."""
        for spec in specs:
            if spec.name == "manifest":
                yield spec.doit_dict(task_dep=tuple(g for g in groups if g != "manifest"))
            else:
                yield spec.doit_dict()

    return doit_config(workspace.state, Reporter), task_docgraph
