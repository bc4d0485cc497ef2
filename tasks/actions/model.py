"""Stage 2: the changed summaries folded into the model; the digests whose content changed.

From the shared cache (:mod:`docgraph.actions.cached`) the model's targets come whole, keyed by
every group of ledgers (the summaries' hashes), the listing and the model's settings and code:
:func:`restore_model` writes them as the action would have, then makes the database this
machine's (stat data of the groups).
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import time

from ..context import ActionContext
from ..facts import analysis_parts, packed_summary
from ..model import Listing, Model, open_model
from ..runner import RACY_NS, targets_present
from ..store import read_ahead, read_bytes, remove, stat_data, write_if_changed
from . import Result


def _listing(ctx: ActionContext) -> Listing:
    """The listing, read when the model needs its bytes (see :meth:`Listing.digest_as`)."""
    path = ctx.paths.setting("tree.json")
    st = stat_data(path)
    trusted = st is not None and time.time_ns() - st[1] >= RACY_NS
    return Listing(lambda: read_bytes(path) or b'{"entries": []}', f"{st[0]}:{st[1]}" if trusted and st else "")


def write_ledger(ctx: ActionContext, folder: str, files: list[str]) -> Result:
    """The SHA-1 of each summary of a folder's own files (those whose analysis wrote one): what
    the model compares with what it folded in last.

    An analysis whose stat data are those the last run saw (its `seen` file) is not read again:
    a body edit in a folder of 7,000 files reads one.  Stat data less than :data:`RACY_NS` old
    are not kept (a rewrite of the same size within the clock's tick would look unchanged)."""
    seen_path = ctx.paths.seen(folder)
    try:
        seen = marshal.loads(read_bytes(seen_path) or b"")
    except (EOFError, ValueError, TypeError):
        seen = None
    if not isinstance(seen, dict):
        seen = {}
    ledger, kept = [], {}
    now = time.time_ns()
    for rel in files:
        path = ctx.paths.facts(rel)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            continue
        stat = (st.st_size, st.st_mtime_ns)
        known = seen.get(rel)
        if known is not None and known[:2] == stat:
            digest = known[2]
        else:
            data = read_bytes(path)
            if data is None:
                continue
            digest = hashlib.sha1(analysis_parts(data)[1]).hexdigest()
            if len(data) != st.st_size or stat_data(path) != stat:
                stat = (-1, 0)  # rewritten while read: read again next time
        ledger.append([rel, digest])
        if now - stat[1] >= RACY_NS and stat[0] >= 0:
            kept[rel] = (*stat, digest)
    text = json.dumps(ledger, ensure_ascii=False) + "\n"
    # the ledger first: a `seen` file newer than its ledger would vouch for hashes it lacks
    write_if_changed(ctx.paths.ledger(folder), text.encode("utf-8", "surrogatepass"), atomic=False)
    write_if_changed(seen_path, marshal.dumps(kept), atomic=False)
    return {}


def write_group(ctx: ActionContext, group: str, folders: list[str]) -> Result:
    """The ledgers of a group's folders joined, in folder order: the model reads the groups
    whose stat data changed, and compares each file's hash with the one it folded in."""
    entries = []
    for folder in folders:
        entries += json.loads(read_bytes(ctx.paths.ledger(folder)) or b"[]")
    text = json.dumps(entries, ensure_ascii=False) + "\n"
    write_if_changed(ctx.paths.group(group), text.encode("utf-8", "surrogatepass"), atomic=False)
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
        written = model.update(_listing(ctx), lambda rel: packed_summary(read_bytes(ctx.paths.facts(rel))),
                               ctx.paths.group,
                               ctx.config.analysis.include_roots, code, _root_name(ctx),
                               # doit looked at every digest before the runner started this task
                               ensure=not targets_present("model"),
                               read_ahead=lambda rels: read_ahead(ctx.paths.facts(rel) for rel in rels))
    finally:
        conn.close()
    return {"state": len(written)}


def restore_model(ctx: ActionContext, targets: tuple[str, ...], blobs: dict[str, bytes]) -> Result:
    """Write the model's targets from a shared cache entry (`blobs` by target index): the digests
    where their bytes differ, the database whole.

    The database was closed cleanly where it was built (its write-ahead log checkpointed into
    it), so it is one file; a log or shared-memory file left here by an earlier database would be
    replayed into the new one, so both go first.  Its recorded stat data of the groups are
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
        Model(conn, ctx.paths.state).adopt({g: ctx.paths.group(g) for g in listing.ledger_groups},
                                           listing.folders, _root_name(ctx))
    finally:
        conn.close()
    return {"state": len(written)}
