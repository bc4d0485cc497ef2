"""The shared cache: per-file results stored by content in any fsspec store, across machines.

Job: keep entries (a few named blobs: a file's packed facts and summary, or a page) under content
keys in a folder or an object store, so that a CI runner or a fresh clone takes what a teammate
computed from the same bytes.  The engine decides what to key and what to store; this module
stores what it is given (it never reads the repository), verifies what it reads back, and counts.
Side effects: the objects under `cache.url`, that folder when it is a local path, one warning on
the `docgraph` logger when the store fails.

Decisions:
- An entry is one object `<url>/v2/<key[:2]>/<key>`: `DGC`, a format byte, the SHA-256 of the rest,
  then the raw key, the blob count, each blob's name, how it is stored and its length, then the
  blobs.  A blob that is a zlib stream already (packed facts, summaries, digests: they start with
  a zlib header) is stored as it is; the others (pages, the model's database) go into one zlib
  stream, level 1 (on 110 MB of torch's facts and pages level 1 took 0.58 s against 1.41 s for
  level 6, for entries 19 % larger; a cold build with write-back compresses everything it
  computes).  Format 1 compressed every blob again and held at most 255 of them; the model's
  entry holds one per digest (13,000 on torch).  The hash covers everything after it, so a
  flipped byte or a truncation is caught before decompression; an intact entry for another key
  or format is foreign.  Either way `get` returns None and records one :class:`CacheFinding`;
  nothing raises into the build but a malformed key (a bug in the caller).
- Writes never expose a partial entry: a temporary name then `os.replace` in a folder, one put of
  the whole object in a store (s3fs sends a small object as one PutObject).  A present entry is not
  written again; an entry's bytes are a function of its key (canonical JSON, deterministic zlib),
  so racing writers of one key write the same bytes.
- Circuit breaker: the first failure of the store (no bucket, connection refused, timeout,
  permission denied, backend not installed) costs one warning and one finding, then the cache is
  off for the rest of the process; a refused write turns off writes only (a read-only token).
  Every call to an asynchronous store (s3fs, gcsfs, adlfs) is bounded by `asyncio.wait_for`; for
  S3 the botocore timeouts come from `cache.timeout_s` and retries are off.
- fsspec filesystems are not fork-safe: the filesystem is made lazily, once per process, so a
  forked worker makes its own.  The breaker and the counts are per process too.
- What leaves the machine is the caller's choice: the engine stores analysis results only, made
  from text in which :mod:`docgraph.credentials` masked what it found, and nothing of a file
  matched by `secrets` (such files are never read).  Anyone who can write the store can write
  entries every reader trusts: give write access to trusted builds only, `read_only` to the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import enum
import hashlib
import logging
import os
import re
import struct
import zlib
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from .config import CacheSettings
from .errors import DocgraphError
from .facts import Finding

log = logging.getLogger("docgraph")

FORMAT = 2
_MAGIC = b"DGC"
_HEAD = len(_MAGIC) + 1 + 32  # magic, format byte, SHA-256 of the rest
_KEY = re.compile(r"[0-9a-f]{64}")
_LIMIT = 32  # concurrent requests to an asynchronous store


def key(*parts: bytes | str) -> str:
    """Content key of an entry: SHA-256 (hex) of the parts, each prefixed with its length, so that
    (`ab`, `c`) and (`a`, `bc`) differ.  Text parts are UTF-8."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


class Problem(enum.Enum):
    """What went wrong with the cache."""

    CORRUPT = "corrupt"
    """An entry failed its hash, length or decompression check."""
    FOREIGN = "foreign"
    """An intact entry for another key or format, or not written by docgraph."""
    UNAVAILABLE = "unavailable"
    """The store failed; the cache (or, after a refused write, its writes) is off."""


@dataclass(frozen=True)
class CacheFinding:
    """One problem the cache met, for the build report."""

    problem: Problem
    """Its kind."""
    key: str
    """The entry concerned; empty for the store as a whole."""
    message: str
    """One sentence: what was wrong and what docgraph did about it."""

    def finding(self, path: str = "") -> Finding:
        """As a finding of the source file `path` the entry belongs to (the engine knows it)."""
        return Finding(path, 0, self.message)


@dataclass(frozen=True)
class CacheStats:
    """What one process moved through the cache."""

    hits: int = 0
    """Entries found and valid."""
    misses: int = 0
    """Entries looked up and absent (or not looked up because the cache was off)."""
    rejected: int = 0
    """Entries found but corrupt or foreign."""
    written: int = 0
    """Entries stored."""
    present: int = 0
    """Writes skipped because the entry was already there."""
    bytes_read: int = 0
    """Bytes of the entries read (hits and rejected)."""
    bytes_written: int = 0
    """Bytes of the entries stored."""
    lookups: int = 0
    """Read requests sent to the store: one per entry from a folder, one per chunk of tasks
    from an object store (each fetching the chunk's entries concurrently)."""

    def __add__(self, other: CacheStats) -> CacheStats:
        return CacheStats(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


class EntryError(DocgraphError):
    """An entry's bytes are not a valid entry for the key asked for."""

    def __init__(self, problem: Problem, detail: str) -> None:
        super().__init__(detail)
        self.problem = problem


def _packed(blob: bytes) -> bool:
    """Whether a blob is a zlib stream already (a valid zlib header: deflate, 32 KB window): then
    compressing it again costs time for nothing.  A blob that merely looks like one is stored as
    it is, which only costs its compression."""
    return len(blob) >= 2 and blob[0] == 0x78 and (blob[0] << 8 | blob[1]) % 31 == 0


def encode(entry_key: str, blobs: Mapping[str, bytes]) -> bytes:
    """The stored form of an entry (deterministic: blobs in name order)."""
    names = sorted(blobs)
    header = [bytes.fromhex(_checked(entry_key)), struct.pack(">I", len(names))]
    stored: list[bytes] = []
    deflated: list[bytes] = []
    for name in names:
        raw = name.encode("utf-8")
        if not 0 < len(raw) < 1 << 16:
            raise ValueError(f"blob name {name[:40]!r} must be 1-65535 bytes of UTF-8")
        packed = _packed(blobs[name])
        (stored if packed else deflated).append(blobs[name])
        header.append(struct.pack(">H", len(raw)) + raw + struct.pack(">BI", packed, len(blobs[name])))
    rest = b"".join(header) + b"".join(stored) + zlib.compress(b"".join(deflated), 1)
    return _MAGIC + bytes([FORMAT]) + hashlib.sha256(rest).digest() + rest


def decode(entry_key: str, data: bytes) -> dict[str, bytes]:
    """The blobs of a stored entry, after checking all of it; :class:`EntryError` otherwise."""
    if not data.startswith(_MAGIC):
        if _MAGIC.startswith(data):
            raise EntryError(Problem.CORRUPT, f"truncated ({len(data)} bytes)")
        raise EntryError(Problem.FOREIGN, "not a docgraph cache entry")
    if len(data) < _HEAD + 36:
        raise EntryError(Problem.CORRUPT, f"truncated ({len(data)} bytes)")
    if data[len(_MAGIC)] != FORMAT:
        raise EntryError(Problem.FOREIGN, f"written in format {data[len(_MAGIC)]}, not {FORMAT}")
    rest = memoryview(data)[_HEAD:]
    if hashlib.sha256(rest).digest() != data[len(_MAGIC) + 1:_HEAD]:
        raise EntryError(Problem.CORRUPT, "content does not match its SHA-256 (damaged or truncated)")
    if rest[:32] != bytes.fromhex(entry_key):
        raise EntryError(Problem.FOREIGN, f"written for key {rest[:32].hex()[:16]}..., not this one")
    try:
        (count,) = struct.unpack_from(">I", rest, 32)
        position, layout = 36, []
        for _ in range(count):
            (size,) = struct.unpack_from(">H", rest, position)
            name = bytes(rest[position + 2:position + 2 + size]).decode("utf-8")
            packed, length = struct.unpack_from(">BI", rest, position + 2 + size)
            layout.append((name, bool(packed), length))
            position += 7 + size
        raw_total = sum(length for _, packed, length in layout if packed)
        total = sum(length for _, packed, length in layout if not packed)
        stored = rest[position:position + raw_total]
        inflate = zlib.decompressobj()
        payload = inflate.decompress(rest[position + raw_total:], total + 1)  # never more than announced
    except (UnicodeDecodeError, struct.error, zlib.error) as exc:
        raise EntryError(Problem.CORRUPT, f"unreadable header or payload ({exc})") from None
    if len(stored) != raw_total or len(payload) != total or not inflate.eof or inflate.unused_data \
            or len({name for name, _, _ in layout}) != len(layout):
        raise EntryError(Problem.CORRUPT, "blob lengths do not match the payload")
    blobs, starts = {}, [0, 0]
    for name, packed, length in layout:
        source = stored if packed else payload
        start = starts[packed]
        blobs[name] = bytes(source[start:start + length])
        starts[packed] = start + length
    return blobs


def _checked(entry_key: str) -> str:
    if not _KEY.fullmatch(entry_key):
        raise ValueError(f"cache key must be 64 lowercase hex digits, not {entry_key!r}")
    return entry_key


def display_url(url: str) -> str:
    """`url` without any `user:password@` part (messages and logs never show credentials)."""
    return re.sub(r"^([a-z][\w+.-]*://)[^/@]*@", r"\1", url)


def storage_options(settings: CacheSettings) -> dict[str, Any]:
    """The options handed to fsspec: `cache.options` plus bounded timeouts for S3 (the rest, such
    as credentials, region and `AWS_ENDPOINT_URL`, the backend reads from the environment)."""
    import fsspec.core

    options = copy.deepcopy(dict(settings.options))
    protocol = fsspec.core.split_protocol(settings.url)[0] or "file"
    if protocol in ("s3", "s3a"):
        config = dict(options.get("config_kwargs") or {})
        config.setdefault("connect_timeout", settings.timeout_s)
        config.setdefault("read_timeout", settings.timeout_s)
        config.setdefault("retries", {"max_attempts": 1})
        config.setdefault("max_pool_connections", _LIMIT)  # botocore's default 10 would queue
        options["config_kwargs"] = config
    options.setdefault("skip_instance_cache", True)  # our own instance: its settings, its session
    return options


def open_cache(settings: CacheSettings) -> Cache | None:
    """The cache the settings name, or None when `cache.url` is empty.  Opening costs nothing: the
    store is first reached (and probed) by the first lookup or write."""
    return Cache(settings) if settings.url else None


class Cache:
    """Entries under one fsspec URL, for one process (not shared between threads)."""

    def __init__(self, settings: CacheSettings) -> None:
        if not settings.url:
            raise ValueError("no cache URL (cache.url is empty): use open_cache")
        self.settings = settings
        self.url = display_url(settings.url)
        self._fs: Any = None
        self._root = ""
        self._pid = -1
        self._local = False
        self._off = ""         # why the cache is off; empty while it works
        self._writes_off = settings.read_only
        self._known: dict[str, bool] = {}  # key -> a valid entry is there (True) / absent (False)
        self._counts = dict.fromkeys((f.name for f in fields(CacheStats)), 0)
        self._findings: list[CacheFinding] = []

    # ------------------------------------------------------------------ public

    @property
    def enabled(self) -> bool:
        """Whether lookups still go to the store (False after the breaker tripped)."""
        return not self._off

    @property
    def local(self) -> bool:
        """Whether the store is a folder on this machine (reached once, so this is known)."""
        return self._ready() and self._local

    @property
    def stats(self) -> CacheStats:
        """Counts so far in this process."""
        return CacheStats(**self._counts)

    def counts(self) -> dict[str, int]:
        """The counts so far, as a plain dict (cheaper than :attr:`stats` once per task)."""
        return dict(self._counts)

    def counts_since(self, before: Mapping[str, int]) -> dict[str, int]:
        """The counts that changed since `before` (from :meth:`counts`), by how much."""
        return {name: value - before[name] for name, value in self._counts.items() if value != before[name]}

    def take_findings(self) -> list[CacheFinding]:
        """Findings recorded since the last call."""
        found, self._findings = self._findings, []
        return found

    def reject(self, entry_key: str, detail: str) -> None:
        """An entry read intact that the caller cannot use (its blobs do not fit the task): one
        finding, counted as rejected; a later write-back replaces it."""
        self._counts["hits"] -= 1
        self._counts["rejected"] += 1
        self._known[entry_key] = False
        self._note(Problem.FOREIGN, entry_key, f"shared cache entry {entry_key[:16]} is "
                   f"{Problem.FOREIGN.value}: {detail}; ignored, the task runs locally")

    def get(self, entry_key: str) -> dict[str, bytes] | None:
        """The blobs stored under `entry_key`, or None (absent, invalid, or the cache is off)."""
        return self.get_many([entry_key])[entry_key]

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, bytes] | None]:
        """:meth:`get` for many keys, concurrently on an object store."""
        wanted = list(dict.fromkeys(_checked(k) for k in keys))
        found: dict[str, dict[str, bytes] | None] = dict.fromkeys(wanted)
        raw = {}
        if wanted and self._ready():
            self._counts["lookups"] += 1
            raw = self._run("read", [(k, None) for k in wanted])
        for entry_key in wanted:
            data = raw.get(entry_key)
            if not isinstance(data, bytes):
                self._counts["misses"] += 1
                if entry_key in raw:
                    self._known[entry_key] = False
                continue
            self._counts["bytes_read"] += len(data)
            try:
                found[entry_key] = decode(entry_key, data)
            except EntryError as exc:
                self._counts["rejected"] += 1
                self._known[entry_key] = False  # a later put repairs it
                self._note(exc.problem, entry_key, f"shared cache entry {entry_key[:16]} "
                           f"is {exc.problem.value}: {exc}; ignored, the file is analysed locally")
            else:
                self._counts["hits"] += 1
                self._known[entry_key] = True
        return found

    def put(self, entry_key: str, blobs: Mapping[str, bytes]) -> bool:
        """Store an entry unless it is there already; whether it was written."""
        return self.put_many({entry_key: blobs}) == 1

    def put_many(self, entries: Mapping[str, Mapping[str, bytes]]) -> int:
        """:meth:`put` for many entries; how many were written."""
        data = {_checked(k): encode(k, blobs) for k, blobs in entries.items()}
        if self._writes_off or not self._ready():
            return 0
        unknown = [k for k in data if k not in self._known]
        if unknown:
            exists = self._run("exists", [(k, None) for k in unknown])
            self._known.update((k, True) for k, there in exists.items() if there is True)
        todo = [(k, v) for k, v in data.items() if not self._known.get(k)]
        self._counts["present"] += len(data) - len(todo)
        if self._writes_off or self._off:
            return 0
        done = self._run("write", todo)
        written = [k for k, ok in done.items() if ok is True]
        self._known.update((k, True) for k in written)
        self._counts["written"] += len(written)
        self._counts["bytes_written"] += sum(len(data[k]) for k in written)
        return len(written)

    # ------------------------------------------------------------------ storage

    def _ready(self) -> bool:
        """Whether the store can be used: made (once per process) and probed on first use."""
        if self._off:
            return False
        if self._fs is not None and self._pid == os.getpid():
            return True
        try:
            import fsspec.core
            from fsspec.implementations.local import LocalFileSystem

            fs, root = fsspec.core.url_to_fs(self.settings.url, **storage_options(self.settings))
            self._fs, self._root, self._pid = fs, root.rstrip("/"), os.getpid()
            self._local = isinstance(fs, LocalFileSystem)
            if self._local:
                if not os.path.isdir(root) and not self.settings.read_only:
                    os.makedirs(root, exist_ok=True)
                if not os.path.isdir(root):
                    raise FileNotFoundError(f"folder {root} does not exist")
            elif hasattr(fs, "split_path"):  # a bucket store: s3fs, gcsfs, adlfs
                bucket = fs.split_path(root)[0]
                if hasattr(fs, "retries"):
                    fs.retries = 1  # s3fs retries a timeout 5 times by itself: one try is enough
                there = self._store("exists", [bucket])[0] if fs.async_impl else fs.exists(bucket)
                if isinstance(there, Exception):
                    raise there
                if not there:
                    raise FileNotFoundError(f"bucket {bucket!r} does not exist or cannot be "
                                            "reached with these credentials")
        except Exception as exc:  # noqa: BLE001 - any failure to open the store: one warning
            self._trip(exc, "could not be opened")
            return False
        return True

    def _path(self, entry_key: str) -> str:
        return f"{self._root}/v{FORMAT}/{entry_key[:2]}/{entry_key}"

    def _run(self, op: str, items: Sequence[tuple[str, bytes | None]]) -> dict[str, object]:
        """Run `op` (read, exists, write) on every item; {key: result}.  A missing entry reads
        as None; the first failure of the store trips the breaker and ends the batch."""
        if not items:
            return {}
        if self._fs.async_impl:
            results = self._store(op, [self._path(k) for k, _ in items], [v for _, v in items])
        else:
            results = []
            for entry_key, value in items:
                try:
                    results.append(self._sync(op, self._path(entry_key), value))
                except Exception as exc:  # noqa: BLE001 - the store failed: stop, trip below
                    results.append(exc)
                    break
        out: dict[str, object] = {}
        for (entry_key, _), result in zip(items, results):
            if isinstance(result, FileNotFoundError) and op == "read":
                out[entry_key] = None
            elif isinstance(result, BaseException):
                if isinstance(result, PermissionError) and op == "write" and not self._writes_off:
                    self._writes_off = True
                    self._note(Problem.UNAVAILABLE, "", f"shared cache {self.url} refused a write "
                               f"({_brief(result)}); it is read-only for the rest of this build")
                    log.warning("%s", self._findings[-1].message)
                else:
                    self._trip(result, f"failed ({op})")
                break
            else:
                out[entry_key] = True if op == "write" else result
        return out

    def _sync(self, op: str, path: str, value: bytes | None) -> object:
        if not self._local:
            return {"read": self._fs.cat_file, "exists": self._fs.exists,
                    "write": lambda p: self._fs.pipe_file(p, value)}[op](path)
        if op == "exists":
            return os.path.exists(path)
        if op == "read":
            with open(path, "rb") as handle:
                return handle.read()
        assert value is not None
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp-{os.getpid()}-{os.urandom(4).hex()}")
        try:
            with open(tmp, "xb") as handle:
                handle.write(value)
            os.replace(tmp, path)  # atomic: readers see the old state or the whole entry
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(tmp)
            raise
        return True

    def _store(self, op: str, paths: list[str], values: list[bytes | None] | None = None) -> list[Any]:
        """`op` on every path of an asynchronous store, concurrently: a result or an exception
        per path.  Each call is bounded by a connect and a read timeout and a second."""
        import fsspec.asyn

        method = getattr(self._fs, {"read": "_cat_file", "exists": "_exists", "write": "_pipe_file"}[op])
        try:
            return list(fsspec.asyn.sync(self._fs.loop, _gather, method, paths,
                                         values or [None] * len(paths), self.settings.timeout_s * 2 + 1))
        except Exception as exc:  # noqa: BLE001 - the loop failed: as the store failing
            return [exc]

    # ------------------------------------------------------------------ problems

    def _note(self, problem: Problem, entry_key: str, message: str) -> None:
        self._findings.append(CacheFinding(problem, entry_key, message))

    def _trip(self, exc: BaseException, what: str) -> None:
        """The breaker: one warning and one finding, then the cache is off in this process."""
        if self._off:
            return
        self._off = f"{what}: {_brief(exc)}"
        message = (f"shared cache {self.url} {what} ({_brief(exc)}); it is off for the rest of "
                   "this build and results are computed locally")
        self._note(Problem.UNAVAILABLE, "", message)
        log.warning("%s", message)


def _brief(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    name = "timed out" if isinstance(exc, (TimeoutError, asyncio.TimeoutError)) else type(exc).__name__
    return f"{name}: {text}" if text else name


async def _gather(func: Callable[..., Awaitable[Any]], paths: list[str], values: list[bytes | None],
                  seconds: float) -> list[object]:
    """`func(path[, value])` for every path, at most `_LIMIT` at once, each bounded by `seconds`."""
    gate = asyncio.Semaphore(_LIMIT)

    async def one(path: str, value: bytes | None) -> object:
        async with gate:
            args = (path,) if value is None else (path, value)
            try:
                return await asyncio.wait_for(func(*args), seconds)
            except Exception as exc:  # noqa: BLE001 - the caller decides what it means
                return exc

    return list(await asyncio.gather(*(one(p, v) for p, v in zip(paths, values))))
