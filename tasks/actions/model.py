"""Stage 2: the changed summaries folded into the model; the digests whose content changed."""

from __future__ import annotations

import hashlib
import json

from ..context import ActionContext
from ..discover import folders_of
from ..model import Model, TreeRow, open_model
from ..runner import targets_present
from ..store import read_bytes, write_if_changed
from . import Result


def _listing(ctx: ActionContext) -> list[TreeRow]:
    raw = read_bytes(ctx.paths.setting("tree.json")) or b'{"entries": []}'
    return [TreeRow(*row) for row in json.loads(raw)["entries"]]


def write_ledger(ctx: ActionContext, folder: str, files: list[str]) -> Result:
    """The SHA-1 of each summary of a folder's own files (those whose analysis wrote one): what
    the model compares with what it folded in last."""
    ledger = []
    for rel in files:
        data = read_bytes(ctx.paths.summary(rel))
        if data is not None:
            ledger.append([rel, hashlib.sha1(data).hexdigest()])
    text = json.dumps(ledger, ensure_ascii=False) + "\n"
    write_if_changed(ctx.paths.ledger(folder), text.encode("utf-8", "surrogatepass"), atomic=False)
    return {}


def update_model(ctx: ActionContext) -> Result:
    """Fold changed summaries into the model and rewrite the digests whose content changed."""
    tree = _listing(ctx)
    summary_of = {row.rel: ctx.paths.summary(row.rel) for row in tree
                  if row.kind in ("file", "binary")}
    ledger_of = {folder: ctx.paths.ledger(folder) for folder in folders_of(row.rel for row in tree)}
    # the model's own code (a new docgraph) invalidates everything it derived before
    settings = json.loads(read_bytes(ctx.paths.setting("model.json")) or b"{}")
    code = settings.get("code", "")
    conn = open_model(ctx.paths.model)
    try:
        model = Model(conn, ctx.paths.state)
        written = model.update(tree, summary_of, ledger_of, ctx.config.analysis.include_roots, code,
                               settings.get("root_name", ""),
                               # doit looked at every digest before the runner started this task
                               ensure=not targets_present("model"))
    finally:
        conn.close()
    return {"state": len(written)}
