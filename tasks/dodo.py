"""doit entry point for any repository: its `dodo.py` needs one line, `from docgraph.dodo import *`.

Then, in that repository::

    doit                          # build its documentation -> repo-docs/
    doit list                     # every task: analyze:<file>, page:<file>, folder:<dir>, ...
    doit info page:src/app.py     # one task's inputs, outputs and state
    doit run page:src/app.py      # one file's page (and what it needs first)
    doit clean                    # delete exactly the files docgraph generated
    doit watch                    # rebuild on every save (a doit command docgraph installs)

ROOT is the folder doit runs in, which doit sets to the dodo file's folder; `root=PATH`,
`out=DIR` and `config=FILE` override (doit's `name=value` variables).  See
:mod:`docgraph.project` for what plain doit runs and why it is as fast as `docgraph build`.
"""

from __future__ import annotations

from doit import get_var

from .project import load_project

_project = load_project(get_var("root", None), get_var("out", None), get_var("config", None))

_creators = _project.creators()  # task_settings, task_analyze, ... one per kind of task
DOIT_CONFIG = _project.doit_config
globals().update(_creators)

__all__ = ["DOIT_CONFIG", *_creators]  # noqa: PLE0604 - names derived from graph.KINDS
