"""Read-through and write-back of the shared cache (:mod:`docgraph.cache`) around an action.

Only kinds whose outputs are a function of their input files alone are cached (`TaskKind.cached`:
the analysis, the model, `_kw.md`, `_docs.md`, a folder's `index.md` and `doc.md`, the keyword
indices, the book, the parts of `docgraph.json`).

An entry's key is the SHA-256 of the task's name and of each input file's *key part*, in order:
the SHA-256 of its bytes.  The settings slice among them carries the settings and the code
fingerprint of the step (:mod:`docgraph.fingerprint`), so a new docgraph or another setting
never reads an old entry.  A source's part is the SHA-256 of its bytes, or, when a credential is
in them, of the text the analysis sees with credentials masked (:mod:`docgraph.credentials`)
plus what the analysis takes from the raw bytes (length, encoding), so no key is a hash of a
secret; files matched by `secrets` are never read, so never cached.

Key parts are computed once a build: a task notes the parts of the inputs it read and of the
state files it wrote (from the bytes it wrote or read back), with their size and mtime, and the
runner hands them to the workers of the later stages (:func:`docgraph.runner.known_part`).  A
later key takes a noted part while the file's stat data still match, so the page of a source
reads neither the source (nor masks it again) nor its facts nor its cross-references, and its
`_kw.md` does not read the facts: four reads fewer per source file in a warm build.  A part is noted from a hit's blob only when that blob is
what the task last wrote there (a restore step may rewrite a target: the model's entry digest),
and never for the model's database, which SQLite changes in place.  doit's records need no read
either: the MD5s the earlier stages noted serve them, as for any state file.

Lookups against an object store are batched: before a worker runs a chunk of tasks (up to 16),
:func:`prefetch` computes the keys of the chunk's cached tasks and fetches their entries in one
concurrent request (:meth:`Cache.get_many`), so a distant store costs a round trip per chunk, not
per file.  A folder is read one entry per task: there is no round trip to save.

Entry blobs are the task's targets, by position (the state folder may be elsewhere on another
machine), and for a kind with a record of further pages (`TaskKind.recorded`: the letter pages
of a keyword index, the parts of the book; how many varies) each page the record lists, under
`p:<page>` (its path below the output folder).  A hit whose pages do not match its record, or
name a path outside the output folder, is rejected (one finding, the task runs).  The pages the
*previous* local record listed and the new one does not are removed, as the action would: only
pages this tool recorded are ever deleted.  The model's hit is written by its own step
(`restore`): its database must not meet an old write-ahead log, and it records the stat data of
the groups of ledgers, which are this machine's.

A hit writes the targets (only where their bytes differ, as the action would; state files that
are new are created in place, as the actions create them) and returns what the action would have
returned, plus the cache counts of this call; a miss runs the action and stores its targets.  A
source that changed between the key and the write simply yields a task recorded against the new
bytes: the runner's check of the sources catches that as for any task.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..cache import Cache, key, open_cache
from ..config import CacheSettings
from ..runner import PARTS, known_part
from ..store import (
    noted_now,
    read_bytes,
    read_file,
    read_shared,
    recorded_pages,
    remove,
    write_if_changed,
)
from . import Result, page_result

_CACHES: dict[str, Cache | None] = {}


@dataclass(frozen=True)
class CachedTask:
    """What the wrapper needs to know of the task it wraps (picklable)."""

    name: str
    """Task name (`analyze:src/x.py`): part of the key."""
    source: str
    """The task's source file (absolute), keyed as masked text; empty for none."""
    inputs: tuple[str, ...]
    """Its input files the key covers, in order (absolute paths)."""
    targets: tuple[str, ...]
    """Its output files, in order (names as doit sees them: relative to ROOT when inside it)."""
    settings: CacheSettings
    """Where the cache is."""
    shared: frozenset[str] = frozenset()
    """Those of its inputs that most tasks read (the settings slices): read once per process."""
    recorded: bool = False
    """Its second target records the further pages it writes: the entry holds them too."""
    fresh_only: str = ""
    """A target (absolute) whose presence means the task updates local state incrementally for
    less than its key costs: the cache is consulted, and written, only when it is missing (the
    model's database: its entry is 13 MB on torch)."""
    restore: Callable[..., Any] | None = None
    """Writes a hit's targets instead of the plain copy: `restore(ctx, targets, blobs)` with the
    blobs by target index, returning the action's values (the model's)."""


def cache_for(settings: CacheSettings) -> Cache | None:
    """One cache per process and settings (a forked worker makes its own connection)."""
    ident = repr(settings)
    if ident not in _CACHES:
        _CACHES[ident] = open_cache(settings)
    return _CACHES[ident]


def masked(data: bytes) -> bytes:
    """A source's part of a key: its bytes, unless a credential is in them; then the text the
    analysis sees (credentials masked) with everything else the analysis takes from the bytes:
    their length, the encoding, how it was found, how many bytes were not valid (the same text
    in UTF-8 and in Latin-1 has other facts)."""
    from .. import credentials
    from ..sourcetext import decode, is_binary

    if is_binary(data[:8192]):
        return data
    decoded = decode(data)
    found = credentials.find(decoded.text)
    if not found:
        return data
    text = credentials.mask(decoded.text, found).encode("utf-8", "surrogatepass")
    about = f"{len(data)}\0{decoded.encoding}\0{decoded.how}\0{decoded.replaced}\0"
    return about.encode() + text


_PART = struct.Struct("<qq32s")
"""A file's part of a key, as the runner hands it between stages: size, mtime_ns, SHA-256."""
_SHARED_PARTS: dict[str, tuple[bytes, bytes]] = {}
"""Settings slice -> (its bytes as :func:`read_shared` returned them, their SHA-256)."""


def _part(task: CachedTask, path: str, fresh: dict[str, bytes]) -> bytes:
    """The SHA-256 of one input's part of the key (OSError when it cannot be read): known from an
    earlier stage while the file's stat data match, else read (and noted in `fresh`)."""
    if path in task.shared:
        data = read_shared(path)
        memo = _SHARED_PARTS.get(path)
        if memo is None or memo[0] is not data:
            memo = _SHARED_PARTS[path] = (data, hashlib.sha256(data).digest())
        return memo[1]
    known = known_part(path)
    if known is not None:
        size, mtime_ns, digest = _PART.unpack(known)
        st = os.stat(path)
        if st.st_size == size and st.st_mtime_ns == mtime_ns:
            return digest
    data = read_file(path)
    digest = hashlib.sha256(masked(data) if path == task.source else data).digest()
    _remember(fresh, path, digest)
    return digest


def _remember(fresh: dict[str, bytes], path: str, digest: bytes, data: bytes | None = None) -> None:
    """Note a file's key part with its stat data as this action last read or wrote it (nothing
    when it changed while it was read, nor when `data` is given and is not what the action last
    wrote there)."""
    seen = noted_now(path)
    if seen is not None and (data is None or (len(data) == seen[0] and hashlib.md5(data).digest() == seen[2])):
        fresh[path] = _PART.pack(seen[0], seen[1], digest)


def entry_key(task: CachedTask, fresh: dict[str, bytes] | None = None) -> str | None:
    """The key of the task's result, or None when an input cannot be read (then it just runs).
    The key parts of the files it read are noted in `fresh` (path -> packed part)."""
    found = {} if fresh is None else fresh
    parts: list[bytes | str] = [task.name]
    for path in task.inputs:
        try:
            parts.append(_part(task, path, found))
        except OSError:
            return None
    return key(*parts)


_PREFETCHED: dict[str, tuple[str | None, dict[str, bytes] | None]] = {}
"""Task name -> (its key, its entry or None), for the chunk this process runs now."""
_CHUNK: list[CachedTask] = []
"""The cached tasks of that chunk, whose entries the first of them to run fetches."""


def prefetch(jobs: list[tuple[Any, tuple[Any, ...]]]) -> None:
    """A chunk of tasks is about to run in this process: note its cached tasks (the runner's
    chunk hook).  Their entries are fetched together when the first of them runs, so the counts
    of the fetch are that task's."""
    _PREFETCHED.clear()
    _CHUNK[:] = [args[0] for action, args in jobs if action is run_cached and not _passes_by(args[0])]


def _passes_by(task: CachedTask) -> bool:
    """Whether the task runs without the cache: it updates local state (see `fresh_only`)."""
    return bool(task.fresh_only) and os.path.exists(task.fresh_only)


_FRESH: dict[str, bytes] = {}
"""Key parts the last batch fetch read (returned by the task that ran it)."""


def _fetch_chunk(cache: Cache) -> None:
    keys = {task.name: entry_key(task, _FRESH) for task in _CHUNK}  # one configuration: one cache
    _CHUNK.clear()
    found = cache.get_many(k for k in keys.values() if k is not None)
    _PREFETCHED.update((name, (k, found.get(k) if k is not None else None)) for name, k in keys.items())


_PAGE = "p:"  # blob name prefix of a page listed in the task's record


def _safe_page(page: str) -> bool:
    """Whether `page` (from an entry) is a plain relative path below the output folder."""
    return bool(page) and "\\" not in page and "\0" not in page and not page.startswith("/") \
        and all(part not in ("", ".", "..") for part in page.split("/"))


def _blobs(task: CachedTask, ctx: Any) -> dict[str, bytes] | None:
    """What a task that ran wrote, as an entry's blobs (None when a target is missing)."""
    blobs = {}
    for index, target in enumerate(task.targets):
        data = read_bytes(ctx.paths.absolute(target))
        if data is None:
            return None
        blobs[str(index)] = data
    if task.recorded:
        static = {ctx.paths.absolute(t) for t in task.targets}
        for page in recorded_pages(blobs["1"]):
            path = ctx.paths.page(page)
            if path in static:
                continue
            data = read_bytes(path)
            if data is None or not _safe_page(page):
                return None
            blobs[_PAGE + page] = data
    return blobs


def _unfit(task: CachedTask, ctx: Any, entry: dict[str, bytes]) -> str:
    """Why an intact entry cannot be this task's result ("" when it fits)."""
    names = {str(i) for i in range(len(task.targets))}
    if not task.recorded:
        return "" if set(entry) == names else "its blobs are not the task's targets"
    if not names <= set(entry):
        return "its blobs are not the task's targets"
    try:
        listed = recorded_pages(entry["1"])
    except (ValueError, AttributeError, TypeError):
        return "its record of pages is not valid JSON"
    if not all(isinstance(p, str) and _safe_page(p) for p in listed):
        return "its record names a page outside the output folder"
    static = {ctx.paths.absolute(t) for t in task.targets}
    pages = {_PAGE + p for p in listed if ctx.paths.page(p) not in static}
    return "" if set(entry) == names | pages else "its pages do not match its record"


def _write_hit(task: CachedTask, ctx: Any, entry: dict[str, bytes]) -> tuple[list[str], list[str]]:
    """Write a hit's targets and pages; (written, removed) absolute paths."""
    state = ctx.paths.state + os.sep
    targets = [ctx.paths.absolute(t) for t in task.targets]
    previous = recorded_pages(read_bytes(targets[1])) if task.recorded else []
    written = []
    for index, path in enumerate(targets):
        if write_if_changed(path, entry[str(index)], atomic=not path.startswith(state)):
            written.append(path)
    if not task.recorded:
        return written, []
    current = set()
    for name, data in sorted(entry.items()):
        if name.startswith(_PAGE):
            path = ctx.paths.page(name[len(_PAGE):])
            current.add(path)
            if write_if_changed(path, data):
                written.append(path)
    static = set(targets)
    removed = [path for path in (ctx.paths.page(p) for p in previous)
               if path not in current and path not in static and remove(path)]
    return written, removed


def _source_rel(task: CachedTask) -> str:
    """The task's source as the report names it (relative to ROOT: the key of its name)."""
    return task.name.partition(":")[2] if task.source else ""


def _target_parts(task: CachedTask, ctx: Any, blobs: dict[str, bytes], fresh: dict[str, bytes]) -> None:
    """Note the key parts of the task's state-folder targets (the inputs of later stages: facts,
    summaries, digests) from the bytes just written or read back, so their consumers' keys need
    not read them.  A task's own restore step may rewrite a target after its plain copy (the
    model's entry digest shows the folder's name): such a target is noted only if what the
    action last wrote there is the blob; never the target the task keeps updating locally by
    other means (`fresh_only`: the model's database, which SQLite writes)."""
    state = ctx.paths.state + os.sep
    for index, target in enumerate(task.targets):
        path = ctx.paths.absolute(target)
        data = blobs.get(str(index))
        if data is not None and path.startswith(state) and path != task.fresh_only:
            _remember(fresh, path, hashlib.sha256(data).digest(), data if task.restore is not None else None)


def run_cached(task: CachedTask, action: Any, args: tuple[Any, ...]) -> Result:
    """Run `action(*args)` unless the cache holds its result for these exact inputs."""
    cache = cache_for(task.settings)
    if cache is None or not cache.enabled or _passes_by(task):
        return action(*args)
    before = cache.counts()
    if not cache.local and task.name not in _PREFETCHED and len(_CHUNK) > 1 and task in _CHUNK:
        _fetch_chunk(cache)  # an object store: this chunk's entries in one batch
    fetched = _PREFETCHED.pop(task.name, None)
    fresh: dict[str, bytes] = _FRESH.copy()  # (the parts a batch fetch read)
    _FRESH.clear()
    if fetched is not None:
        found_key, entry = fetched
    else:
        found_key = entry_key(task, fresh)
        entry = cache.get(found_key) if found_key is not None else None
    ctx = args[0]
    if found_key is not None and entry is not None and (unfit := _unfit(task, ctx, entry)):
        cache.reject(found_key, unfit)
        entry = None
    values: Result
    if found_key is not None and entry is not None:
        if task.restore is not None:
            values = task.restore(ctx, task.targets, entry)
        else:
            written, removed = _write_hit(task, ctx, entry)
            values = {"cached": _source_rel(task)} if task.name.startswith("analyze:") \
                else page_result(ctx, written, removed)
        _target_parts(task, ctx, entry, fresh)
    else:
        values = action(*args)
        if found_key is not None and (blobs := _blobs(task, ctx)) is not None:
            cache.put(found_key, blobs)
            _target_parts(task, ctx, blobs, fresh)
    values = dict(values or {})
    values["cache"] = cache.counts_since(before)
    if fresh:
        values[PARTS] = fresh
    problems = cache.take_findings()
    if problems:
        values["findings"] = [[_source_rel(task), 0, p.message] for p in problems]
    return values
