"""Stage 4: the manifest of generated files; files of vanished sources deleted."""

from __future__ import annotations

import os

from ..context import ActionContext
from ..store import (
    prune_empty_dirs,
    read_bytes,
    read_manifest,
    recorded_pages,
    remove,
    write_manifest,
)
from . import Result, page_result


def update_manifest(ctx: ActionContext, generated: list[str], records: list[str]) -> Result:
    """Record every generated file; delete the ones an earlier build generated that are gone now.

    `generated` lists the graph's static targets; letter pages and book parts are read from the
    records of the tasks that wrote them.  Names are relative to ROOT (see :meth:`Paths.name`).
    Only files in the previous manifest are ever deleted.
    """
    paths = ctx.paths
    current = set(generated)
    for record in records:
        for page in recorded_pages(read_bytes(paths.absolute(record))):
            current.add(paths.name(paths.page(page)))
    previous = set(read_manifest(paths.state))
    removed = [paths.absolute(name) for name in sorted(previous - current)
               if remove(paths.absolute(name))]
    prune_empty_dirs([p for p in removed if p.startswith(paths.out + os.sep)], paths.out)
    prune_empty_dirs([p for p in removed if p.startswith(paths.state + os.sep)], paths.state)
    write_manifest(paths.state, current)
    return page_result(ctx, [], removed)
