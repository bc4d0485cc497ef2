"""Stage 2: the changed summaries folded into the model; the digests whose content changed."""

from __future__ import annotations

import json

from ..context import ActionContext
from ..model import Model, TreeRow, open_model
from ..store import read_bytes
from . import Result


def _listing(ctx: ActionContext) -> list[TreeRow]:
    raw = read_bytes(ctx.paths.setting("tree.json")) or b'{"entries": []}'
    return [TreeRow(*row) for row in json.loads(raw)["entries"]]


def update_model(ctx: ActionContext) -> Result:
    """Fold changed summaries into the model and rewrite the digests whose content changed."""
    tree = _listing(ctx)
    summary_of = {row.rel: ctx.paths.summary(row.rel) for row in tree
                  if row.kind in ("file", "binary")}
    # the model's own code (a new docgraph) invalidates everything it derived before
    settings = json.loads(read_bytes(ctx.paths.setting("model.json")) or b"{}")
    code = settings.get("code", "")
    conn = open_model(ctx.paths.model)
    try:
        model = Model(conn, ctx.paths.state)
        written = model.update(tree, summary_of, ctx.config.analysis.include_roots, code,
                               settings.get("root_name", ""))
    finally:
        conn.close()
    return {"state": len(written)}
