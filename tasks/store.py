"""The disk side of the build: atomic write-if-changed, the manifest of generated files, the lock.

- Every generated file is written to a temporary file beside it and renamed over the target, so an
  interrupted build never leaves a half-written page.  A file whose new content equals the old is
  not touched at all: its mtime stays, and doit does not even re-hash it downstream.
- The manifest (`<state>/manifest.json`) lists every file docgraph generated.  Only files in it are
  ever deleted; a user's file in the output folder is never touched.
- The lock (`<state>/lock`, an `flock`) keeps a second build or watcher off the same state folder;
  the kernel releases it when the holder dies, so it never goes stale.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
from collections.abc import Iterable
from typing import Self

from .errors import LockedError

MANIFEST = "manifest.json"
TMP_MARK = ".docgraph-tmp-"   # temporary files of atomic writes: `.<name>.docgraph-tmp-<pid>`
BUILDING = "building"         # present while a build runs; left behind by one that was killed


def read_bytes(path: str) -> bytes | None:
    """Content of `path`, or None when it does not exist (or is not a regular file)."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _make_parent(path: str) -> None:
    parent = os.path.dirname(path)
    if not parent:
        return
    try:
        os.makedirs(parent, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        # A generated file stands where a folder is now needed (a page became a folder of pages
        # between two builds).  Only ever remove files docgraph wrote: callers pass paths under
        # the output or state folder, whose files are all ours or refused up front.
        probe = parent
        while probe and not os.path.isdir(probe):
            if os.path.isfile(probe):
                os.remove(probe)
                break
            probe = os.path.dirname(probe)
        os.makedirs(parent, exist_ok=True)


def write_if_changed(path: str, data: bytes) -> bool:
    """Atomically make `path` hold `data`; return whether anything was written."""
    try:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size == len(data) and handle.read() == data:
                return False
    except (FileNotFoundError, NotADirectoryError):
        _make_parent(path)
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}{TMP_MARK}{os.getpid()}")
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)
    return True


def write_text(path: str, text: str) -> bool:
    """:func:`write_if_changed` for UTF-8 text."""
    return write_if_changed(path, text.encode("utf-8"))


def remove(path: str) -> bool:
    """Delete a generated file; return whether it existed."""
    try:
        os.remove(path)
        return True
    except (FileNotFoundError, NotADirectoryError):
        return False
    except IsADirectoryError:
        return False


def prune_empty_dirs(paths: Iterable[str], stop: str) -> None:
    """Remove the now-empty parent folders of `paths`, never `stop` itself or anything above it."""
    stop = os.path.abspath(stop)
    seen: set[str] = set()
    for path in sorted(paths, reverse=True):
        parent = os.path.dirname(os.path.abspath(path))
        while parent.startswith(stop + os.sep) and parent not in seen:
            seen.add(parent)
            try:
                os.rmdir(parent)
            except OSError:
                break
            parent = os.path.dirname(parent)


def read_manifest(state: str) -> list[str]:
    """The files the last build generated (paths as the graph names them)."""
    raw = read_bytes(os.path.join(state, MANIFEST))
    if raw is None:
        return []
    try:
        data = json.loads(raw)
    except ValueError:
        return []
    return [p for p in data.get("files", []) if isinstance(p, str)]


def write_manifest(state: str, files: Iterable[str]) -> None:
    """Record the generated files of this build."""
    data = json.dumps({"files": sorted(set(files))}, indent=0, ensure_ascii=False) + "\n"
    write_if_changed(os.path.join(state, MANIFEST), data.encode("utf-8"))


class Lock:
    """Exclusive lock on a state folder, held for the life of a build or a watch."""

    def __init__(self, state: str):
        self.path = os.path.join(state, "lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                os.close(fd)
                raise
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "another process"
            os.close(fd)
            raise LockedError(
                f"{os.path.dirname(self.path)} is in use by docgraph (pid {holder}); "
                "wait for that build or watch to finish, or stop it") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def remove_leftovers(folders: list[str]) -> int:
    """Delete temporary files a killed build left behind (named by :func:`write_if_changed`)."""
    removed = 0
    for top in folders:
        for folder, _dirs, files in os.walk(top):
            for name in files:
                if TMP_MARK in name and name.startswith("."):
                    removed += remove(os.path.join(folder, name))
    return removed
