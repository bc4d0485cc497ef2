"""doit entry point of this repository: `doit` documents this repository itself (-> repo-docs/).

Any repository uses docgraph the same way; see docgraph/dodo.py (tasks/dodo.py here) for the
commands, and `doit root=PATH out=DIR` for another folder.
"""

from docgraph.dodo import *
