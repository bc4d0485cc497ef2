"""`python -m docgraph`: the `docgraph` command (:func:`docgraph.cli.main`)."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
