"""doit entry point: `doit` builds the documentation of this repository itself.

    doit                          # this repository -> repo-docs/
    doit root=PATH out=DIR        # another repository
    doit list                     # every task: analyze:<file>, page:<file>, folder:<dir>, ...
    doit run page:tasks/cli.py    # one file's pages (and what they need)

The graph is the same one `docgraph build` runs; see tasks/graph.py.
"""

from doit import get_var

from docgraph.dodo_tasks import load

DOIT_CONFIG, task_docgraph = load(
    root=get_var("root", None), out=get_var("out", None), config=get_var("config", None)
)
