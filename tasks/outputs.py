"""The generated pages on disk, compared with the stamp's records of them: which differ (a page
edited, deleted or replaced by hand), and how the graph names them.

Used by the engine's plan and by the no-op that git's view decides (:mod:`docgraph.gitview`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from .config import Config
from .stamp import Stamp


def page_prefix(config: Config) -> str:
    """How the graph names files of the output folder: relative to ROOT when inside it."""
    root, out = config.root, config.output
    return (out[len(root) + 1:] if out.startswith(root + os.sep) else out) + os.sep


_FOLDER = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)


def stale_pages(stamp: Stamp, config: Config, folders: Iterable[str] | None = None,
                named: Iterable[str] = ()) -> list[tuple[str, tuple[int, int] | None]]:
    """Generated pages whose stat data differ from the stamp's: (name, (size, mtime) or None);
    only those in `folders` and those `named`, when given (git's view, :mod:`docgraph.journal`).

    Stat'ed folder by folder through the folder's descriptor: resolving each of 106,000 page
    paths of six or seven parts cost a third more (measured on torch4x's pages)."""
    out = page_prefix(config)
    root = config.root + os.sep
    by_folder: dict[str, list[tuple[str, int, int]]] = {}
    if folders is None or folders:
        pages = stamp.pages.stats() if folders is None else stamp.pages.in_folders(folders)
        for name, size, mtime in pages:
            if name.startswith(out):  # state artefacts are checked when their task is a candidate
                folder, _, base = name.rpartition("/")
                by_folder.setdefault(folder, []).append((base, size, mtime))
    for name in named:
        record = stamp.pages.stat_of(name) if name.startswith(out) else None
        if record is not None:
            folder, _, base = name.rpartition("/")
            if (base, record[0], record[1]) not in by_folder.get(folder, ()):
                by_folder.setdefault(folder, []).append((base, record[0], record[1]))
    found: list[tuple[str, tuple[int, int] | None]] = []
    for folder, pages in by_folder.items():
        try:
            fd = os.open(folder if folder.startswith(os.sep) else root + folder, _FOLDER)
        except OSError:
            found.extend((f"{folder}/{base}", None) for base, _size, _mtime in pages)
            continue
        try:
            for base, size, mtime in pages:
                try:
                    st = os.stat(base, dir_fd=fd, follow_symlinks=False)
                    now: tuple[int, int] | None = (st.st_size, st.st_mtime_ns)
                except OSError:
                    now = None
                if now != (size, mtime):
                    found.append((f"{folder}/{base}", now))
        finally:
            os.close(fd)
    return found
