"""docgraph: incremental Markdown documentation of a repository, built as a doit task graph.

The package is a pipeline of stages that return values::

    discover -> analyze (per file) -> model (cross-references, aggregates) -> render -> write

Only the doit actions in :mod:`docgraph.actions` touch the disk; everything they call is pure.
"""

from __future__ import annotations

__version__ = "0.1.0"
