"""The doit actions: the only code that reads sources and writes pages and state.

One module per kind of work (settings, analysis, model, render, manifest), each a set of
module-level functions (picklable by reference) that call the pure stages and write their results
with :func:`docgraph.store.write_if_changed`.  An action returns a small dict that doit keeps as
the task's values and the build report collects: which source it analysed, which files it wrote,
which it removed.

The modules are apart so that each kind of task has its own code fingerprint: the import closure
of its module (:mod:`docgraph.fingerprint`).  A change to the page renderers reruns page tasks,
not the analysis.  This package's `__init__` therefore imports nothing.

A file that cannot be read or parsed never fails its task: the analysis records a finding and the
pages say what could be said.  An exception from docgraph's own code does fail the task, with its
traceback, because it is a bug.
"""

from __future__ import annotations

import os

from ..context import ActionContext

Result = dict[str, object]


def page_result(ctx: ActionContext, written: list[str], removed: list[str] = ()) -> Result:  # type: ignore[assignment]
    """The values of a task that wrote or removed pages (paths relative to the output folder)."""
    out = ctx.paths.out + os.sep
    return {"pages": sorted(p[len(out):] for p in written if p.startswith(out)),
            "removed": sorted(p[len(out):] for p in removed if p.startswith(out))}
