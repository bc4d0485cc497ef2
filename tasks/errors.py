"""The one error family of docgraph.

Every error raised on purpose derives from :class:`DocgraphError`.  User errors (a bad config, a
bad path, a second build on the same state folder) carry an exit code and a one-line message that
says what to do; the CLI prints the message, never a traceback.  Problems with one input file are
not exceptions that travel far: analyzers turn them into :class:`docgraph.facts.Finding` records, which
end up in the build report, and the build goes on.  Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class DocgraphError(Exception):
    """Base class of all deliberate docgraph errors."""

    exit_code = 1


class UsageError(DocgraphError):
    """The command line or a path given on it is wrong."""

    exit_code = 2


class ConfigError(UsageError):
    """`docgraph.yaml` (or a `--config` file) is malformed or has an invalid value."""


class LockedError(DocgraphError):
    """Another docgraph process holds the state folder of the same repository."""

    exit_code = 3


class OutputFolderError(UsageError):
    """The output folder is unsafe to write (it is ROOT, contains ROOT, or holds foreign files)."""


class BuildFailed(DocgraphError):
    """A task of the graph failed in a way that is not a per-file finding."""


class StateDamaged(DocgraphError):
    """A part of the state folder, read when a build first needed it, does not fit the rest
    (the engine then builds again as if it were not there)."""
