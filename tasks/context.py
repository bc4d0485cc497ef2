"""Where a build's files are, and what every action receives besides its own arguments.

Kept apart from :mod:`docgraph.actions` so that the graph (and a no-op build, which never runs an
action) does not import the analyzers and page renderers.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import layout
from .config import Config

if TYPE_CHECKING:  # the analysis and the model never render: their code fingerprint leaves pages out
    from .pages import RenderContext


PACKED = ".zz"
"""Suffix of the state files that hold a record as zlib-compressed canonical JSON
(:func:`docgraph.facts.pack`): analyses (facts and summary) and the model's digests."""


def state_file(state: str, kind: str, name: str, suffix: str = PACKED) -> str:
    """`<state>/<kind>/<key><suffix>`, keyed by a hash of `name` so no source name can clash."""
    return f"{state}{os.sep}{kind}{os.sep}{layout.key(name)}{suffix}"  # join's checks, 110k times a build


def xref_file(state: str, rel: str) -> str:
    """Digest: one text file's cross-references."""
    return state_file(state, "xref", rel)


def folder_file(state: str, folder: str) -> str:
    """Digest: what a folder's index.md and doc.md show."""
    return state_file(state, "folders", folder)


def subtree_file(state: str, folder: str) -> str:
    """Digest: per-letter counts and hashes of a folder's subtree keywords."""
    return state_file(state, "subtree", folder)


@dataclass(frozen=True)
class Paths:
    """Where things are, for one build (all absolute)."""

    root: str
    """ROOT."""
    out: str
    """Output folder."""
    state: str
    """State folder."""
    under: str = field(init=False, repr=False, compare=False)
    """ROOT with a trailing separator: the prefix of every relative name made absolute."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "under", self.root if self.root.endswith(os.sep) else self.root + os.sep)

    def name(self, path: str) -> str:
        """How the graph, the manifest and the stamp name a file: relative to ROOT when inside it
        (so a fresh clone elsewhere means the same files), absolute otherwise.

        Interned: a state file is named by the task that writes it, by each task that reads it
        and by the hashes the build notes of it; one string instead of several (on a 48k-file
        tree the graph's names took 54 MB in 548,000 strings)."""
        return sys.intern(path.removeprefix(self.under))

    def absolute(self, name: str) -> str:
        """Inverse of :meth:`name`."""
        return name if name.startswith(os.sep) else self.under + name  # os.path.join's result

    def source(self, rel: str) -> str:
        return os.path.join(self.root, rel)

    def page(self, rel_page: str) -> str:
        return os.path.join(self.out, rel_page)

    def facts(self, rel: str) -> str:
        return state_file(self.state, "facts", rel)

    def ledger(self, folder: str) -> str:
        """The hashes of the summaries of a folder's own files (the model's input)."""
        return state_file(self.state, "ledger", folder, ".json")

    def group(self, group: str) -> str:
        """The ledgers of the folders of one group (:func:`docgraph.layout.group`), joined: the
        model's input."""
        return f"{self.state}{os.sep}group{os.sep}{group}.json"

    def seen(self, folder: str) -> str:
        """What the ledger last read of a folder's analyses: their stat data and summary hashes
        (read by the ledger's task alone, so that it reads only the analyses that changed)."""
        return state_file(self.state, "seen", folder, ".marshal")

    def xref(self, rel: str) -> str:
        return xref_file(self.state, rel)

    def folder_digest(self, folder: str) -> str:
        return folder_file(self.state, folder)

    def subtree_digest(self, folder: str) -> str:
        return subtree_file(self.state, folder)

    def digest(self, name: str) -> str:
        """A repository-wide digest: stats.json, book.json, findings.json."""
        return os.path.join(self.state, name)

    def setting(self, name: str) -> str:
        return os.path.join(self.state, "settings", name)

    def record(self, name: str) -> str:
        """Pages a multi-page task wrote (read by the manifest); JSON, empty when none."""
        return state_file(self.state, "records", name, ".json")

    def letters(self, name: str) -> str:
        """Hashes a keyword index's letter pages were rendered from; JSON, empty when none."""
        return state_file(self.state, "letters", name, ".json")

    @property
    def model(self) -> str:
        return os.path.join(self.state, "model.sqlite3")


@dataclass(frozen=True)
class ActionContext:
    """Everything an action needs besides its own arguments."""

    config: Config
    """The build's configuration."""
    paths: Paths
    """Absolute locations."""
    render: RenderContext
    """Page rendering context."""
