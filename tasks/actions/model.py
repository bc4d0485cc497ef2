"""Stage 2: the changed summaries folded into the model; the digests whose content changed.

From the shared cache (:mod:`docgraph.actions.cached`) the model's targets come whole, keyed by
every ledger (the summaries' hashes), the listing and the model's settings and code:
:func:`restore_model` writes them as the action would have, then makes the database this
machine's (stat data of the ledgers).
"""

from __future__ import annotations

import hashlib
import json
import os

from ..context import ActionContext
from ..model import Listing, Model, open_model
from ..runner import targets_present
from ..store import read_bytes, remove, write_if_changed
from . import Result


def _listing(ctx: ActionContext) -> Listing:
    return Listing(read_bytes(ctx.paths.setting("tree.json")) or b'{"entries": []}')


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


def _root_name(ctx: ActionContext) -> str:
    return str(json.loads(read_bytes(ctx.paths.setting("root.json")) or b"{}").get("root_name", ""))


def update_model(ctx: ActionContext) -> Result:
    """Fold changed summaries into the model and rewrite the digests whose content changed."""
    # the model's own code (a new docgraph) invalidates everything it derived before
    settings = json.loads(read_bytes(ctx.paths.setting("model.json")) or b"{}")
    code = settings.get("code", "")
    conn = open_model(ctx.paths.model)
    try:
        model = Model(conn, ctx.paths.state)
        written = model.update(_listing(ctx), ctx.paths.summary, ctx.paths.ledger,
                               ctx.config.analysis.include_roots, code, _root_name(ctx),
                               # doit looked at every digest before the runner started this task
                               ensure=not targets_present("model"))
    finally:
        conn.close()
    return {"state": len(written)}


def restore_model(ctx: ActionContext, targets: tuple[str, ...], blobs: dict[str, bytes]) -> Result:
    """Write the model's targets from a shared cache entry (`blobs` by target index): the digests
    where their bytes differ, the database whole.

    The database was closed cleanly where it was built (its write-ahead log checkpointed into
    it), so it is one file; a log or shared-memory file left here by an earlier database would be
    replayed into the new one, so both go first.  Its recorded stat data of the ledgers are
    another machine's: :meth:`Model.adopt` records this one's.
    """
    database = ctx.paths.model
    state = ctx.paths.state + os.sep
    written = []
    for index, target in enumerate(targets):
        path = ctx.paths.absolute(target)
        if path == database:
            for suffix in ("-wal", "-shm"):
                remove(database + suffix)
            write_if_changed(path, blobs[str(index)])
        elif write_if_changed(path, blobs[str(index)], atomic=not path.startswith(state)):
            written.append(path)
    conn = open_model(database)
    try:
        listing = _listing(ctx)
        Model(conn, ctx.paths.state).adopt({f: ctx.paths.ledger(f) for f in listing.ledger_folders},
                                           listing.folders, _root_name(ctx))
    finally:
        conn.close()
    return {"state": len(written)}
