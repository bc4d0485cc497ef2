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
import hashlib
import json
import marshal
import os
import stat
import struct
import sys
from collections.abc import Container, Iterable
from typing import Any, BinaryIO, Self

from .errors import LockedError, StateDamaged

MANIFEST = "manifest.json"
TMP_MARK = ".docgraph-tmp-"   # temporary files of atomic writes: `.<name>.docgraph-tmp-<pid>`
BUILDING = "building"         # present while a build runs; left behind by one that was killed


NOTE = struct.Struct("<qqd16s")
"""A noted file, packed: size, mtime_ns, mtime (as `os.stat` gives it, which doit records) and
MD5 digest in 40 bytes; as a tuple of four Python objects it took 240 (see :class:`FileHashes`)."""

# What the files an action read or wrote looked like, by the name the graph gives them (relative
# to ROOT when inside it), packed with NOTE.  The runner ships them from the workers to the main
# process, whose doit checker and stamp would otherwise read and hash every input and output a
# second time.  Only while an action runs (None otherwise): the no-op build and the watch loop
# read without hashing.
_seen: dict[str, bytes] | None = None
_under = ""  # ROOT + os.sep while an action runs


def unmarshal(handle: BinaryIO) -> Any:
    """The object marshalled in an open file, read whole first: `marshal.load` reads a file
    object piece by piece (8 ms for torch4x's 184 kB journal, 0.5 ms read first)."""
    return marshal.loads(handle.read())


def put_part(handle: BinaryIO, blob: bytes) -> None:
    """One part of a file of parts: its length (8 bytes, little-endian), then its bytes."""
    handle.write(len(blob).to_bytes(8, "little"))
    handle.write(blob)


def joined_parts(magic: bytes, blobs: Iterable[bytes]) -> bytes:
    """A file of parts as bytes: `magic`, then each part as :func:`put_part` writes it."""
    return magic + b"".join(len(blob).to_bytes(8, "little") + blob for blob in blobs)


class PartsFile:
    """An open file of parts (the build stamp, the graph's kept lists), closed when the last of
    its parts is gone, so a file a build loaded stays readable after the next build replaced it
    (watch mode)."""

    def __init__(self, path: str, error: type[StateDamaged] = StateDamaged):
        self.path, self.error = path, error
        self.fd = os.open(path, os.O_RDONLY)

    def __del__(self) -> None:
        if hasattr(self, "fd"):  # (not when the open failed)
            os.close(self.fd)

    def damaged(self, why: str) -> StateDamaged:
        """The error to raise for a part that does not fit, after removing the file when it is
        still the one read (the build that starts again then makes it anew)."""
        try:
            if os.stat(self.path).st_ino == os.fstat(self.fd).st_ino:
                os.remove(self.path)
        except OSError:
            pass
        return self.error(f"{os.path.basename(self.path)}: {why}")


class StoredPart:
    """One part of a file of parts, read when first asked for: a part a build never reads costs
    nothing, and one it reads is copied out once (a map of the file instead kept every page a
    build had touched in its memory: up to 37 MB at 48,000 sources, which an upgrade's build,
    reading every part of the stamp, carried past 500 MB; measured)."""

    __slots__ = ("_file", "_length", "_offset")

    def __init__(self, file: PartsFile, offset: int, length: int):
        self._file, self._offset, self._length = file, offset, length

    def __len__(self) -> int:
        return self._length

    def read(self, start: int = 0, length: int | None = None) -> bytes:
        """Its bytes, or `length` of them from `start`."""
        wanted = self._length - start if length is None else length
        if start < 0 or wanted < 0 or start + wanted > self._length:
            raise self._file.damaged("a read past the end of a part")
        data = os.pread(self._file.fd, wanted, self._offset + start)
        if len(data) != wanted:
            raise self._file.damaged("a part cut short")
        return data

    def damaged(self, why: str) -> StateDamaged:
        return self._file.damaged(why)


def stored_parts(file: PartsFile, count: int, start: int) -> list[StoredPart]:
    """The first `count` parts of a file of parts from byte `start` (after its magic line);
    EOFError when they do not fit the file."""
    size = os.fstat(file.fd).st_size
    found, at = [], start
    for _ in range(count):
        head = os.pread(file.fd, 8, at)
        length = int.from_bytes(head, "little")
        if len(head) != 8 or at + 8 + length > size:
            raise EOFError("a part past the end of the file")
        found.append(StoredPart(file, at + 8, length))
        at += 8 + length
    return found


def _note(path: str, st: os.stat_result, data: bytes) -> None:
    if _seen is not None:
        _note_digest(path, st, hashlib.md5(data).digest())


def _note_digest(path: str, st: os.stat_result, md5: bytes) -> None:
    if _seen is not None:
        name = (path if os.path.isabs(path) else os.path.abspath(path)).removeprefix(_under)
        _seen[name] = NOTE.pack(st.st_size, st.st_mtime_ns, st.st_mtime, md5)


def begin_hashes(root: str) -> None:
    """Start noting the hashes of what is read and written (an action begins; files are named
    relative to `root` when inside it)."""
    global _seen, _under
    _seen = {}
    _under = root + os.sep


def noted_now(path: str) -> tuple[int, int, bytes] | None:
    """(size, mtime_ns, MD5 digest) of `path` as the running action last read or wrote it, if it
    noted the file (a read of a file that changed while it was read is not noted)."""
    if _seen is None:
        return None
    packed = _seen.get((path if os.path.isabs(path) else os.path.abspath(path)).removeprefix(_under))
    if packed is None:
        return None
    size, mtime_ns, _mtime, md5 = NOTE.unpack(packed)
    return size, mtime_ns, md5


def take_hashes() -> dict[str, bytes]:
    """The hashes noted since :func:`begin_hashes`; noting stops."""
    global _seen
    found, _seen = _seen or {}, None
    return found


def file_md5(path: str) -> str:
    """MD5 of a file's bytes (empty when it cannot be read)."""
    digest = hashlib.md5()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return ""
    return digest.hexdigest()


def read_file(path: str) -> bytes:
    """Content of `path` (OSError when it cannot be read); its hash is noted."""
    with open(path, "rb") as handle:
        before = os.fstat(handle.fileno())
        data = handle.read()
        after = os.fstat(handle.fileno())
    if before.st_size == after.st_size == len(data) and before.st_mtime_ns == after.st_mtime_ns:
        _note(path, after, data)
    return data


_SHARED: dict[str, tuple[tuple[int, int, int], os.stat_result, bytes]] = {}


def read_shared(path: str) -> bytes:
    """:func:`read_file` for a small file that many actions of a build read (a settings slice: in
    the shared cache's keys of 36,000 tasks on torch): read once per process, then again only
    when its inode, size or modification time differ (it is replaced by a rename when written).
    Its hash is noted on every call, as for a read."""
    st = os.stat(path)
    known = _SHARED.get(path)
    if known is not None and known[0] == (st.st_ino, st.st_size, st.st_mtime_ns):
        _note(path, known[1], known[2])
        return known[2]
    data = read_file(path)
    if len(data) == st.st_size:
        _SHARED[path] = ((st.st_ino, st.st_size, st.st_mtime_ns), st, data)
    return data


def stat_data(path: str) -> tuple[int, int] | None:
    """(size, mtime_ns) of the file at `path` itself (a link is not followed), None when there is
    none: what the stamp records of sources, pages and folders."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


READ_AHEAD_LIMIT = 8 << 20
"""Bytes of one file :func:`read_ahead` asks for at most (a task reading a huge file reads its
head, if anything)."""


def read_ahead(paths: Iterable[str]) -> None:
    """Ask the kernel to read the regular files at `paths` into its page cache, without waiting
    for them (POSIX_FADV_WILLNEED): the reads of a worker's next tasks then find them there.
    A file not read for a while is not in the cache: on the machine of the README's figures the
    kernel drops file pages unused for a minute, and at 48,000 sources the pages stage reads
    each source, its facts and cross-references a minute or more after the analysis touched
    them.  Read one at a time, each is a wait for the disk (110 µs, 55 of them CPU, against 17
    from the cache); asked for together, the disk reads them while the tasks run (12,000 such
    files read in 0.2 s after 0.16 s of asking, against 1.2-1.5 s).  Asking about a file the
    cache holds costs 2 µs.  Only regular files are opened (not through a symbolic link, not a
    FIFO or a device); errors are ignored: the task's own read reports them."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:  # (not on macOS)
        return
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_NOFOLLOW | os.O_CLOEXEC
    for path in paths:
        try:
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode) or not st.st_size:
                continue
            fd = os.open(path, flags)
        except OSError:
            continue
        try:
            advise(fd, 0, min(st.st_size, READ_AHEAD_LIMIT), os.POSIX_FADV_WILLNEED)
        except OSError:
            pass
        finally:
            os.close(fd)


def read_bytes(path: str) -> bytes | None:
    """Content of `path`, or None when it does not exist (or is not a regular file)."""
    try:
        return read_file(path)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


class FileHashes:
    """MD5 of files by content, reusing what the workers noted while the stat data still match.

    The main process keeps one entry per file a worker read or wrote (370,000 on a 48k-file
    tree), so an entry is compact: the graph's name of the file (the string the specs hold
    too, relative to ROOT) and :data:`NOTE`'s 40 bytes."""

    def __init__(self, root: str) -> None:
        self.root = root  # what relative names (doit's file deps) are relative to
        self._under = root + os.sep
        self._known: dict[str, int] = {}  # name -> its slot in `_notes`
        self._notes = bytearray()  # the NOTE records, one after the other
        self.fresh: dict[str, str] = {}
        """Sources the plan hashed this build (name -> MD5): their content, not their mtime,
        tells doit whether they changed (a same-size write in the clock tick of the last
        build's read keeps the mtime; see :func:`docgraph.engine._recorded_mtime`)."""
        self.parts: dict[str, bytes] = {}
        """Key parts the shared cache computed this build: absolute path -> size, mtime_ns and
        the SHA-256 of the file's part of a key, packed (see :mod:`docgraph.actions.cached`);
        handed to the workers of the later stages, whose keys then need not read the file."""

    def add(self, found: dict[str, bytes]) -> None:
        """Take what a worker noted, its names interned: the graph's own strings (see
        :meth:`docgraph.context.Paths.name`) rather than the copies unpickled.  The records
        go into one array, not one bytes object each: 370,000 small objects living to the end
        of the build, among the transient ones of every stage, kept the memory those freed
        from going back to the system."""
        known, notes, intern, size = self._known, self._notes, sys.intern, NOTE.size
        for name, packed in found.items():
            slot = known.get(name)
            if slot is None:
                known[intern(name)] = len(notes) // size
                notes += packed
            else:
                notes[slot * size:(slot + 1) * size] = packed

    def forget(self) -> None:
        """Drop every noted file (the build recorded them)."""
        self._known, self._notes = {}, bytearray()
        self.parts = {}

    def names(self) -> Container[str]:
        """The graph names of the files the workers noted (asked of 52,000 names at once: a
        method call each cost 20 ms at 48,000 sources)."""
        return self._known.keys()

    def noted(self, path: str) -> tuple[int, int, float, str] | None:
        """(size, mtime_ns, mtime, md5) of `path` as a worker last read or wrote it, if one did."""
        slot = self._known.get(path.removeprefix(self._under))
        if slot is None:
            return None
        size, mtime_ns, mtime, md5 = NOTE.unpack_from(self._notes, slot * NOTE.size)
        return size, mtime_ns, mtime, md5.hex()

    def md5(self, path: str, st: os.stat_result | None = None) -> str:
        """MD5 of the file at `path` (empty when it cannot be read)."""
        absolute = path if path[:1] == os.sep else f"{self._under}{path}"
        known = self.noted(path)
        if known is not None:
            try:
                st = st or os.stat(absolute)
            except OSError:
                return ""
            if (st.st_size, st.st_mtime_ns) == known[:2]:
                return known[3]
        return file_md5(absolute)


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


def write_if_changed(path: str, data: bytes, atomic: bool = True) -> bool:
    """Atomically make `path` hold `data`; return whether anything was written.

    `atomic=False` is for state files nobody else reads: a new one is written in place (a third
    of the cost of a temporary file and a rename, and a full build creates 36,000 of them).  A
    build killed while writing one has not recorded its task, which therefore runs again.
    """
    try:
        with open(path, "rb") as handle:
            st = os.fstat(handle.fileno())
            if st.st_size == len(data) and handle.read() == data:
                _note(path, st, data)
                return False
    except (FileNotFoundError, NotADirectoryError):
        if not atomic:
            try:
                _note(path, _create(path, path, data), data)
                return True
            except FileExistsError:  # a dangling symbolic link, or a racing writer: replace it
                pass
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}{TMP_MARK}{os.getpid()}")
    st = _create(tmp, path, data)
    os.replace(tmp, path)  # a rename keeps the inode's size and mtime
    _note(path, st, data)
    return True


def _create(path: str, target: str, data: bytes) -> os.stat_result:
    """Write a new file at `path` (its folder made for `target` when missing); its stat data."""
    mode = "xb" if path == target else "wb"
    try:
        handle = open(path, mode)  # noqa: SIM115 - closed below; the retry needs the open apart
    except (FileNotFoundError, NotADirectoryError):
        _make_parent(target)
        handle = open(path, mode)  # noqa: SIM115
    with handle:
        handle.write(data)
        handle.flush()
        return os.fstat(handle.fileno())


def write_text(path: str, text: str, atomic: bool = True) -> bool:
    """:func:`write_if_changed` for UTF-8 text."""
    return write_if_changed(path, text.encode("utf-8"), atomic)


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
    folders: set[str] = set()
    for path in paths:
        parent = os.path.dirname(os.path.abspath(path))
        while parent.startswith(stop + os.sep) and parent not in folders:
            folders.add(parent)
            parent = os.path.dirname(parent)
    # deepest first: a folder is empty only once its subfolders are gone (by name order, `a/b/z`
    # came before `a/b/c/x`, so `a/b` was tried while `a/b/c` still stood and kept for good)
    for folder in sorted(folders, key=lambda f: (-f.count(os.sep), f)):
        try:
            os.rmdir(folder)
        except OSError:
            pass


def recorded_pages(raw: bytes | None) -> list[str]:
    """The pages a task's record lists (paths relative to the output folder): the letter pages of
    a keyword index (`{"pages": {letter: page}}`) or the pages of the book (`{"pages": [...]}`).
    Empty for a missing or empty record (an index not split into letters)."""
    if not raw:
        return []
    pages = json.loads(raw).get("pages", {})
    return list(pages.values() if isinstance(pages, dict) else pages)


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


def generated_names(state: str) -> set[str]:
    """:func:`read_manifest` as a set of interned names (the graph's own strings), read line by
    line: the manifest of a 48,000-file tree is 262,000 names, and its text parsed whole, beside
    the strings it made, was the peak of a full build's memory.  A manifest not written by
    :func:`write_manifest` (one name a line) is parsed whole."""
    found = _manifest_lines(os.path.join(state, MANIFEST))
    return found if found is not None else {sys.intern(p) for p in read_manifest(state)}


def _manifest_lines(path: str) -> set[str] | None:
    """The names of a manifest as :func:`write_manifest` lays it out, one a line (empty when
    there is none); None when it is laid out otherwise."""
    names: set[str] = set()
    try:
        with open(path, encoding="utf-8") as handle:
            head = handle.readline().rstrip("\n"), handle.readline().rstrip("\n")
            if head == ("{", '"files": []'):
                return names
            if head != ("{", '"files": ['):
                return None
            for line in handle:
                line = line.rstrip("\n")
                if line in ("]", "}"):
                    continue
                name = json.loads(line.removesuffix(","))  # `"a/b",`: one name, then a comma
                if not isinstance(name, str):
                    return None
                names.add(sys.intern(name))
    except FileNotFoundError:
        return names
    except ValueError:
        return None
    return names


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


MANIFEST_CHUNK = 4096
"""Names of the manifest encoded and written at a time."""


def write_manifest(state: str, files: Iterable[str]) -> None:
    """Record the generated files of this build: `{"files": [...]}` as JSON, one name a line
    (what :func:`generated_names` reads back line by line), replaced only when its bytes differ.

    Written a chunk of names at a time into a temporary file, and compared with the last one by
    hash: the manifest of a 48,000-file tree is 262,000 names, and its text, its bytes and the
    last one's bytes, held at once, were the peak of a first build's memory."""
    names = sorted(set(files))
    path = os.path.join(state, MANIFEST)
    tmp = os.path.join(state, f".{MANIFEST}{TMP_MARK}{os.getpid()}")
    digest = hashlib.md5()
    os.makedirs(state, exist_ok=True)
    with open(tmp, "wb") as handle:
        def put(text: str) -> None:
            data = text.encode("utf-8")
            handle.write(data)
            digest.update(data)

        put('{\n"files": [' if names else '{\n"files": []\n}\n')
        for start in range(0, len(names), MANIFEST_CHUNK):
            put(",\n" if start else "\n")
            chunk = names[start:start + MANIFEST_CHUNK]
            try:
                put(",\n".join(json.dumps(n, ensure_ascii=False) for n in chunk))
            except UnicodeEncodeError:  # a name not valid UTF-8 (a lone surrogate): escaped
                put(",\n".join(json.dumps(n, ensure_ascii=not _encodes(n)) for n in chunk))
        if names:
            put("\n]\n}\n")
    if file_md5(path) == digest.hexdigest():
        os.remove(tmp)
        st = os.stat(path)
    else:
        st = os.stat(tmp)
        os.replace(tmp, path)
    _note_digest(path, st, digest.digest())


def claim_output(state: str) -> None:
    """Before a build writes its first page: an empty manifest marks the output folder as
    docgraph's, so a build interrupted before its manifest task (or a run of one page under doit)
    does not leave a folder the next build would refuse as someone else's."""
    if not os.path.exists(os.path.join(state, MANIFEST)):
        write_manifest(state, [])


_HELD: set[int] = set()  # descriptors of the locks this process holds


def close_inherited_locks() -> None:
    """In a forked worker: close the lock descriptors inherited from the build, so that the lock
    goes with the build process (an flock lives as long as any descriptor of it is open)."""
    for fd in _HELD:
        os.close(fd)
    _HELD.clear()


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
        _HELD.add(fd)

    def release(self) -> None:
        if self._fd is not None:
            _HELD.discard(self._fd)
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
