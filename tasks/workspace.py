"""A workspace: one ROOT with its resolved configuration, checked before anything is written.

Shared by the CLI, `dodo.py` and watch mode.  The checks here are the ones that protect the
user's files: the output folder must not be ROOT or contain it, and an existing output folder
that docgraph did not generate (no manifest in the state folder) is refused unless adopted.
"""

from __future__ import annotations

import os

from .config import Config, load
from .errors import OutputFolderError
from .store import MANIFEST


def _inside(child: str, parent: str) -> bool:
    return child == parent or child.startswith(parent.rstrip(os.sep) + os.sep)


def check_output(config: Config, adopt: bool = False) -> None:
    """Refuse output folders that would overwrite or document the user's own files."""
    root, out, state = config.root, config.output, config.state
    if _inside(root, out):
        raise OutputFolderError(
            f"output folder {out} is ROOT or contains it; choose a folder inside ROOT "
            "such as repo-docs/ (set `output:` in docgraph.yaml or pass --out)")
    if _inside(root, state):
        raise OutputFolderError(f"state folder {state} is ROOT or contains it; use e.g. .docgraph/")
    if _inside(out, state) or _inside(state, out):
        raise OutputFolderError("the output and state folders must be separate folders")
    if adopt or os.path.exists(os.path.join(state, MANIFEST)):  # a folder docgraph manages
        return
    if os.path.isdir(out):
        for _folder, _dirs, files in os.walk(out):
            if files:
                raise OutputFolderError(
                    f"output folder {out} already holds files docgraph did not generate; "
                    "pass --adopt to let docgraph manage it (its files may be overwritten), "
                    "or choose an empty folder")
    elif os.path.exists(out):
        raise OutputFolderError(f"output path {out} exists and is not a folder")


def open_workspace(root: str, config_file: str | None = None, output: str | None = None,
                   state: str | None = None, adopt: bool = False) -> Config:
    """Load and check the configuration of `root`."""
    config = load(root, config_file, output, state)
    check_output(config, adopt)
    return config
