"""Stage 1: one source file's bytes -> its facts and summary, one state file (:func:`pack_analysis`)."""

from __future__ import annotations

import logging

from ..analyzers import analyze
from ..context import ActionContext
from ..facts import FileFacts, Finding, pack_analysis
from ..store import read_file, write_if_changed
from . import Result

log = logging.getLogger("docgraph")


def analyze_file(ctx: ActionContext, rel: str) -> Result:
    """Analyse one source file into its facts and summary."""
    path = ctx.paths.source(rel)
    try:
        data = read_file(path)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        facts = FileFacts(path=rel, language="unreadable", size=0, skipped=f"cannot be read: {reason}",
                          description=f"not readable ({reason})",
                          findings=(Finding(rel, 0, f"cannot read the file: {reason}"),))
    else:
        try:
            facts = analyze(rel, data, ctx.config.analysis)
        except Exception as exc:  # a bug in an analyzer must not cost the other 12,000 files
            log.debug("analyzer failed on %s", rel, exc_info=True)
            facts = FileFacts(path=rel, language="text", size=len(data),
                              description=f"{len(data):,} bytes (analysis failed)",
                              findings=(Finding(rel, 0, f"internal error while analysing: "
                                                        f"{type(exc).__name__}: {exc}"),))
    write_if_changed(ctx.paths.facts(rel), pack_analysis(facts), atomic=False)
    return {"analyzed": rel}
