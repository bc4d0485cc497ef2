"""The git processes a build starts, and the one it starts before anything else.

`git status` of a large tree is mostly its stat calls, in the kernel, on git's threads (0.07 s of
wall and 0.11 s of CPU for torch4x's 48,000 files, 0.02 s for torch's 12,000).  Started by the
command line before the rest of docgraph is imported, it runs beside the imports and the
configuration's load, which take the same time at any size, instead of after them
(:func:`start_status_early`); the build takes it (:func:`take_early_status`) or stops it.
On two cores git then looks with one thread: its index preload takes a thread per core, and
beside the imports that was slower than git alone (torch4x, body edit, medians of 7 builds
interleaved: 428 ms without the early start, 412 ms with it and git's threads, 359 ms with it
and one thread; the imports took 120 ms instead of 50 beside git's threads, 85 beside one).
This module imports nothing of docgraph, so that starting it costs no import.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import time

GIT = ("git", "-c", "core.excludesFile=/dev/null", "-c", "core.quotePath=false")
"""Every git command a build runs.  Not `--no-optional-locks`: without it `status` writes back
the stat data it refreshed (21 ms of torch4x's 150 after an edit, the 5.7 MB index rewritten),
and with it a tree whose files all have new stat data (a copy, a workspace restored from a
cache) would have every file hashed again by every build's status, until the user's own git
wrote the index (1.3 s at torch, 3.3 s at torch4x, for the first status of a copied tree)."""
STATUS = ("status", "--porcelain=v2", "-z", "--branch", "--untracked-files=no", "--no-renames",
          "--ignore-submodules=none")
"""Tracked files only (see :func:`docgraph.journal.status`)."""


def start(root: str, *args: str) -> subprocess.Popen[bytes] | None:
    """One git command started in ROOT (None when it could not start)."""
    try:
        return subprocess.Popen([*GIT, *args], cwd=root, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
    except OSError:
        return None


def output(process: subprocess.Popen[bytes] | None) -> bytes | None:
    """What a started git command wrote, or None when it failed."""
    if process is None:
        return None
    out, _ = process.communicate()
    return out if process.returncode == 0 else None


ONE_THREAD = ("-c", "core.preloadIndex=false")
"""git's index preload off: the status stats every file on its main thread."""


class StartedStatus:
    """A `git status` started, with the time just before it was (the racy window's start);
    `one_thread`: with git's index preload off."""

    def __init__(self, root: str, one_thread: bool = False) -> None:
        self.started = time.time_ns()
        self.process = start(root, *(ONE_THREAD if one_thread else ()), *STATUS)

    def output(self) -> bytes | None:
        return output(self.process)

    def discard(self) -> None:
        """Stop it and reap it (a build that does not ask git)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            self.process.communicate()


_EARLY: dict[str, StartedStatus] = {}


def start_status_early(root: str) -> None:
    """Start the status a build of ROOT will read, when ROOT is the top of a git work tree
    (the build decides later whether git's view is usable: :func:`docgraph.journal.usable`)."""
    if not os.path.exists(os.path.join(root, ".git")) or shutil.which("git") is None:
        return
    key = os.path.realpath(root)
    if key not in _EARLY:
        if not _EARLY:
            atexit.register(_discard_all)
        _EARLY[key] = StartedStatus(root, one_thread=(os.cpu_count() or 1) <= 2)


def take_early_status(root: str) -> StartedStatus | None:
    """The status started early for ROOT, once (None when none was)."""
    return _EARLY.pop(os.path.realpath(root), None) if _EARLY else None


def _discard_all() -> None:
    while _EARLY:
        _EARLY.popitem()[1].discard()
