"""The shared cache against a real S3 API (moto's server on 127.0.0.1, used through s3fs exactly as a
user's bucket is) and against a local folder: cold and warm, damaged and foreign entries, a
missing bucket, a server that stops, racing writers, read-only mode; the `cache:` settings.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from docgraph.cache import (
    FORMAT,
    Cache,
    CacheFinding,
    Problem,
    decode,
    display_url,
    encode,
    key,
    open_cache,
)
from docgraph.config import CacheSettings, load
from docgraph.errors import ConfigError

BUCKET = "docgraph-cache"
BLOBS = {"facts": b'{"path":"src/a.py","symbols":[]}' * 20, "summary": b'{"path":"src/a.py"}'}
KEY = key("analyze", "src/a.py", b"print(1)\n")


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """The suite's check (conftest.py), less fsspec's process-wide event loop thread and its
    executor's workers: s3fs starts them on first use and they live as long as the process."""
    import multiprocessing

    before = set(threading.enumerate())
    yield
    assert not multiprocessing.active_children()
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()
              and t.name != "fsspecIO" and not t.name.startswith("asyncio_")]
    for thread in leaked:
        thread.join(timeout=5)
    assert not [t for t in leaked if t.is_alive()], f"test leaked threads: {leaked}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class S3Server:
    """moto's S3 server on a free loopback port, in a thread of this process."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = _free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.running = False

    def start(self) -> None:
        self.server.start()
        self.running = True
        deadline = time.monotonic() + 10
        while True:  # bounded wait until the port answers
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.running:
            self.server.stop()
            self.running = False


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """A running S3 API with an empty bucket; the AWS environment points at it (and only there)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = S3Server()
    server.start()
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    import urllib.request

    import boto3

    # moto keeps its state per process, across servers: start from an empty store
    urllib.request.urlopen(urllib.request.Request(f"{server.endpoint}/moto-api/reset", method="POST"),
                           timeout=10).close()
    client = boto3.client("s3", endpoint_url=server.endpoint)
    client.create_bucket(Bucket=BUCKET)
    client.close()
    yield server
    server.stop()


@pytest.fixture(params=["s3", "folder", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The same tests on S3, on a local folder and on fsspec's in-memory store (standing for the
    other backends: one put per object, no rename)."""
    if request.param == "s3":
        request.getfixturevalue("s3")
    made = Store(request.param, tmp_path)
    yield made
    if request.param == "memory" and made.memory.exists(made.root):
        made.memory.rm(made.root, recursive=True)


class Store:
    """Where a test's cache lives, with raw access to its objects (paths below the cache's root:
    `v2/ab/abcd...`)."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        import fsspec

        self.kind = kind
        self.memory = fsspec.filesystem("memory")
        self.root = {"s3": "team/docgraph", "folder": str(tmp_path / "cache"),
                     "memory": f"/{tmp_path.name}/team/docgraph"}[kind]
        self.url = {"s3": f"s3://{BUCKET}/{self.root}", "memory": f"memory://{self.root}"}.get(
            kind, self.root)

    def cache(self, **settings: Any) -> Cache:
        return Cache(CacheSettings(url=self.url, **settings))

    def objects(self) -> dict[str, bytes]:
        if self.kind == "folder":
            return {p.relative_to(self.root).as_posix(): p.read_bytes()
                    for p in Path(self.root).rglob("*") if p.is_file()}
        if self.kind == "memory":
            return {p.removeprefix(self.root + "/"): self.memory.cat_file(p)
                    for p in (self.memory.find(self.root) if self.memory.exists(self.root) else [])}
        client = _client()
        listed = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
        found = {o["Key"].removeprefix(self.root + "/"):
                 client.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}
        client.close()
        return found

    def replace(self, entry_key: str, data: bytes) -> None:
        path = f"{self.root}/v{FORMAT}/{entry_key[:2]}/{entry_key}"
        if self.kind == "folder":
            Path(path).write_bytes(data)
        elif self.kind == "memory":
            self.memory.pipe_file(path, data)
        else:
            client = _client()
            client.put_object(Bucket=BUCKET, Key=path, Body=data)
            client.close()


def _client() -> Any:
    import boto3

    return boto3.client("s3")


# ---------------------------------------------------------------------- entries (pure)


def test_key_prefixes_each_part_with_its_length() -> None:
    assert key("ab", "c") != key("a", "bc")
    assert key("x") == key(b"x") and len(key("x")) == 64


@pytest.mark.parametrize("damage, problem", [
    (lambda d: d[:-7], Problem.CORRUPT),
    (lambda d: d[:2], Problem.CORRUPT),
    (lambda d: b"", Problem.CORRUPT),
    (lambda d: d[:50] + bytes([d[50] ^ 1]) + d[51:], Problem.CORRUPT),
    (lambda d: d[:-1] + bytes([d[-1] ^ 0x80]), Problem.CORRUPT),
    (lambda d: d[:3] + b"\x07" + d[4:], Problem.FOREIGN),
    (lambda d: b'{"facts": 1}', Problem.FOREIGN),
    (lambda d: encode(key("other"), BLOBS), Problem.FOREIGN),
])
def test_decode_refuses_damaged_and_foreign_entries(damage: Any, problem: Problem) -> None:
    from docgraph.cache import EntryError

    data = encode(KEY, BLOBS)
    assert decode(KEY, data) == BLOBS
    with pytest.raises(EntryError) as info:
        decode(KEY, damage(data))
    assert info.value.problem is problem


def test_entries_are_compact_and_deterministic() -> None:
    data = encode(KEY, BLOBS)
    assert data == encode(KEY, dict(reversed(BLOBS.items())))
    assert len(data) < 200 < sum(len(b) for b in BLOBS.values())
    assert decode(KEY, encode(KEY, {"empty": b""})) == {"empty": b""}


def test_urls_in_messages_carry_no_credentials() -> None:
    assert display_url("s3://AKIA:secret@bucket/prefix") == "s3://bucket/prefix"
    assert display_url("/srv/cache") == "/srv/cache"


# ---------------------------------------------------------------------- a store


def test_cold_then_warm(store: Store) -> None:
    first = store.cache()
    assert first.get(KEY) is None
    assert first.put(KEY, BLOBS) is True
    assert first.stats.misses == 1 and first.stats.written == 1
    assert first.stats.bytes_written == len(encode(KEY, BLOBS))
    assert list(store.objects()) == [f"v{FORMAT}/{KEY[:2]}/{KEY}"]
    second = store.cache()  # another machine
    assert second.get(KEY) == BLOBS
    assert second.stats.hits == 1 and second.stats.bytes_read == len(encode(KEY, BLOBS))
    assert second.put(KEY, BLOBS) is False  # a valid entry is never written again
    assert second.stats.written == 0
    assert first.take_findings() == [] and second.take_findings() == []


def test_batches(store: Store) -> None:
    cache = store.cache()
    entries = {key(str(i)): {"facts": str(i).encode() * 50} for i in range(60)}
    assert cache.put_many(entries) == 60
    fresh = store.cache()
    assert fresh.put_many(entries) == 0 and fresh.stats.present == 60  # checked, not rewritten
    wanted = [*entries, key("absent")]
    found = store.cache().get_many(wanted)
    assert found == {**entries, key("absent"): None}


@pytest.mark.parametrize("damage", ["flip", "truncate", "other key"])
def test_damaged_entry_is_one_finding_and_a_miss(store: Store, damage: str) -> None:
    store.cache().put(KEY, BLOBS)
    data = encode(KEY, BLOBS)
    bad = {"flip": data[:60] + bytes([data[60] ^ 0x10]) + data[61:], "truncate": data[:len(data) // 2],
           "other key": encode(key("other"), BLOBS)}[damage]
    store.replace(KEY, bad)
    cache = store.cache()
    assert cache.get(KEY) is None
    found = cache.take_findings()
    assert len(found) == 1 and isinstance(found[0], CacheFinding)
    assert found[0].problem is (Problem.FOREIGN if damage == "other key" else Problem.CORRUPT)
    assert found[0].key == KEY and found[0].finding("src/a.py").path == "src/a.py"
    assert cache.stats.rejected == 1 and cache.enabled
    assert cache.put(KEY, BLOBS) is True  # the damaged entry is replaced by a good one
    assert store.cache().get(KEY) == BLOBS


def test_read_only_writes_nothing(store: Store) -> None:
    cache = store.cache(read_only=True)
    assert cache.get(KEY) is None
    assert cache.put(KEY, BLOBS) is False and cache.put_many({key("b"): BLOBS}) == 0
    assert store.objects() == {} and cache.stats.bytes_written == 0


def test_two_writers_of_one_key(store: Store) -> None:
    start = threading.Barrier(2, timeout=10)
    results: list[bool] = []

    def write() -> None:
        caches = [store.cache() for _ in range(5)]  # five builds on each side
        start.wait()
        results.extend(cache.put(KEY, BLOBS) for cache in caches)

    writers = [threading.Thread(target=write) for _ in range(2)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(timeout=30)
    assert len(results) == 10 and any(results)
    assert store.cache().get(KEY) == BLOBS
    assert all(name.endswith(KEY) for name in store.objects())  # no temporary file left


def _in_child(cache: Cache, queue: Any) -> None:
    queue.put((cache.put(key("child"), BLOBS), cache.get(KEY) == BLOBS, len(cache.take_findings())))


def test_a_forked_worker_uses_the_cache_it_inherited(store: Store) -> None:
    """The build's workers are forked: fsspec filesystems are not fork-safe, the cache is."""
    import multiprocessing

    cache = store.cache()
    cache.put(KEY, BLOBS)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_in_child, args=(cache, queue))
    child.start()
    try:
        assert queue.get(timeout=30) == (True, True, 0)
    finally:
        child.join(timeout=30)
        queue.close()
        queue.join_thread()
    assert child.exitcode == 0
    if store.kind != "memory":  # (a memory store is the process's own)
        assert cache.get(key("child")) == BLOBS  # and the parent's cache still works


# ---------------------------------------------------------------------- failures


def test_missing_bucket_is_one_warning_then_off(s3: S3Server, caplog: pytest.LogCaptureFixture) -> None:
    cache = Cache(CacheSettings(url="s3://no-such-bucket/prefix"))
    with caplog.at_level(logging.WARNING, logger="docgraph"):
        assert cache.get(KEY) is None
        assert cache.put(KEY, BLOBS) is False
        assert cache.get_many([KEY, key("b")]) == {KEY: None, key("b"): None}
    found = cache.take_findings()
    assert [f.problem for f in found] == [Problem.UNAVAILABLE]
    assert "no-such-bucket" in found[0].message and not cache.enabled
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


def test_server_stopping_mid_build_is_one_warning_then_off(
        s3: S3Server, caplog: pytest.LogCaptureFixture) -> None:
    cache = Cache(CacheSettings(url=f"s3://{BUCKET}/p", timeout_s=1))
    assert cache.put(KEY, BLOBS) and cache.get(KEY) == BLOBS
    s3.stop()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="docgraph"):
        assert cache.get(key("next")) is None
        assert cache.put(key("next"), BLOBS) is False
        assert cache.get(KEY) is None  # off: not even a known entry is fetched
    assert time.monotonic() - started < 5
    assert [f.problem for f in cache.take_findings()] == [Problem.UNAVAILABLE]
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


def test_silent_server_costs_bounded_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that accepts connections and never answers: the timeout ends the wait."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{listener.getsockname()[1]}")
    cache = Cache(CacheSettings(url=f"s3://{BUCKET}/p", timeout_s=1))
    started = time.monotonic()
    try:
        assert cache.get(KEY) is None
        assert cache.get(key("b")) is None
    finally:
        listener.close()
    assert time.monotonic() - started < 8
    assert [f.problem for f in cache.take_findings()] == [Problem.UNAVAILABLE]


def test_unusable_folder_is_one_finding(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    cache = Cache(CacheSettings(url=str(tmp_path / "file" / "cache")))
    assert cache.put(KEY, BLOBS) is False and cache.get(KEY) is None
    assert [f.problem for f in cache.take_findings()] == [Problem.UNAVAILABLE]
    missing = Cache(CacheSettings(url=str(tmp_path / "absent"), read_only=True))
    assert missing.get(KEY) is None and not missing.enabled
    assert not (tmp_path / "absent").exists()


def test_no_url_is_no_cache() -> None:
    assert open_cache(CacheSettings()) is None
    assert isinstance(open_cache(CacheSettings(url="memory://docgraph")), Cache)


def test_unknown_protocol_is_one_finding() -> None:
    cache = Cache(CacheSettings(url="nosuchprotocol://x/y"))
    assert cache.get(KEY) is None and cache.put(KEY, BLOBS) is False
    assert [f.problem for f in cache.take_findings()] == [Problem.UNAVAILABLE]


def test_refused_write_keeps_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   caplog: pytest.LogCaptureFixture) -> None:
    """A store that lets us read but not write (a read-only token): writes stop, reads go on.
    (The suite runs as root, for whom folder permissions mean nothing: the refusal is staged.)"""
    import os

    folder = tmp_path / "cache"
    Cache(CacheSettings(url=str(folder))).put(KEY, BLOBS)

    def refuse(src: str, dst: str) -> None:
        raise PermissionError(13, "Permission denied", dst)

    monkeypatch.setattr(os, "replace", refuse)
    cache = Cache(CacheSettings(url=str(folder)))
    with caplog.at_level(logging.WARNING, logger="docgraph"):
        assert cache.put(key("new"), BLOBS) is False
        assert cache.put(key("newer"), BLOBS) is False
    assert cache.get(KEY) == BLOBS and cache.enabled
    assert [f.problem for f in cache.take_findings()] == [Problem.UNAVAILABLE]
    assert len(caplog.records) == 1
    assert [p.name for p in folder.rglob("*") if p.is_file()] == [KEY]  # no temporary file left


# ---------------------------------------------------------------------- settings


def test_cache_settings_defaults_and_relative_folder(tmp_path: Path) -> None:
    assert load(str(tmp_path)).cache == CacheSettings()
    (tmp_path / "docgraph.yaml").write_text(
        "cache:\n  url: ../shared-cache\n  read_only: true\n  timeout_s: 2.5\n"
        "  options: {profile: ci}\n")
    settings = load(str(tmp_path)).cache
    assert settings.url == str(tmp_path.parent / "shared-cache")
    assert settings.read_only is True and settings.timeout_s == 2.5
    assert dict(settings.options) == {"profile": "ci"}
    (tmp_path / "docgraph.yaml").write_text("cache:\n  url: s3://bucket/prefix\n")
    assert load(str(tmp_path)).cache.url == "s3://bucket/prefix"


@pytest.mark.parametrize("yaml_text, message", [
    ("cache:\n  url: [1]\n", "'cache.url' must be a str"),
    ("cache:\n  options: [a]\n", "'cache.options' must be a dict"),
    ("cache:\n  read_only: 1\n", "'cache.read_only' must be a bool"),
    ("cache:\n  timeout_s: 0\n", "'cache.timeout_s' must be a number of seconds greater than 0"),
    ("cache:\n  timeout_s: true\n", "'cache.timeout_s' must be a number"),
    ("cache:\n  bucket: x\n", "unknown setting 'cache.bucket'"),
    ("cache: s3://x\n", "'cache' must be a mapping"),
])
def test_cache_settings_errors_are_one_line(tmp_path: Path, yaml_text: str, message: str) -> None:
    (tmp_path / "docgraph.yaml").write_text(yaml_text)
    with pytest.raises(ConfigError, match=message) as info:
        load(str(tmp_path))
    assert "\n" not in str(info.value)


def test_a_shared_input_is_read_again_once_replaced(tmp_path: Path) -> None:
    from docgraph.store import NOTE, begin_hashes, read_shared, take_hashes, write_if_changed

    path = str(tmp_path / "render.json")
    write_if_changed(path, b'{"a": 1}\n')
    begin_hashes(str(tmp_path))
    assert read_shared(path) == b'{"a": 1}\n' == read_shared(path)
    assert "render.json" in take_hashes()  # noted on every call, as a read is (named below ROOT)
    write_if_changed(path, b'{"a": 2}\n')  # same size, a new file renamed over it
    begin_hashes(str(tmp_path))
    assert read_shared(path) == b'{"a": 2}\n'
    assert NOTE.unpack(take_hashes()["render.json"])[0] == len(b'{"a": 2}\n')


def test_blobs_that_are_zlib_streams_already_are_stored_as_they_are() -> None:
    import zlib as _zlib

    packed = _zlib.compress(b"facts " * 400, 6)
    page = b"# a page\n" * 400
    data = encode(KEY, {"0": packed, "1": page})
    assert packed in data and page not in data  # the packed blob verbatim, the page deflated
    assert decode(KEY, data) == {"0": packed, "1": page}


def _part_task(tmp_path: Path, source: Path, state_file: Path) -> Any:
    from docgraph.actions.cached import CachedTask

    return CachedTask("page:a.py", str(source), (str(source), str(state_file)), ("out.md",),
                      CacheSettings(url=str(tmp_path / "cache")))


def test_a_later_stage_keys_a_file_by_the_part_an_earlier_one_noted(tmp_path: Path) -> None:
    """A key part handed on by the runner is used while the file's stat data match (the file is
    then not read); once they differ, the file is read and keyed by its bytes again."""
    import hashlib
    import os

    from docgraph import runner
    from docgraph.actions.cached import _PART, entry_key
    from docgraph.store import begin_hashes, take_hashes

    source, facts = tmp_path / "a.py", tmp_path / "facts"
    source.write_bytes(b"print(1)\n")
    facts.write_bytes(b"facts")
    task = _part_task(tmp_path, source, facts)
    begin_hashes(str(tmp_path))
    fresh: dict[str, bytes] = {}
    plain = entry_key(task, fresh)
    assert take_hashes().keys() == {"a.py", "facts"}  # both read, their MD5s noted for doit
    digest = {p: _PART.unpack(v)[2] for p, v in fresh.items()}
    assert digest == {str(source): hashlib.sha256(b"print(1)\n").digest(),
                      str(facts): hashlib.sha256(b"facts").digest()}
    assert plain == key("page:a.py", *digest.values())
    st = os.stat(facts)
    bogus = _PART.pack(st.st_size, st.st_mtime_ns, b"\1" * 32)
    runner._SETUP[:] = [runner.WorkerSetup(str(tmp_path), str(tmp_path), None, parts={str(facts): bogus})]
    try:
        begin_hashes(str(tmp_path))
        reused: dict[str, bytes] = {}
        assert entry_key(task, reused) == key("page:a.py", digest[str(source)], b"\1" * 32)
        assert take_hashes().keys() == {"a.py"} and reused.keys() == {str(source)}  # facts not read
        facts.write_bytes(b"facts, longer")  # other stat data: the noted part is stale
        assert entry_key(task) == key("page:a.py", digest[str(source)],
                                      hashlib.sha256(b"facts, longer").digest())
    finally:
        runner._SETUP.clear()


def test_a_source_with_a_credential_is_keyed_by_its_masked_text(tmp_path: Path) -> None:
    from docgraph.actions.cached import entry_key, masked

    source, facts = tmp_path / "a.py", tmp_path / "facts"
    secret = b'password = "hunter2-but-longer"\n'
    source.write_bytes(secret)
    facts.write_bytes(b"facts")
    task = _part_task(tmp_path, source, facts)
    import hashlib

    assert masked(secret) != secret and b"hunter2" not in masked(secret)
    assert entry_key(task) == key("page:a.py", hashlib.sha256(masked(secret)).digest(),
                                  hashlib.sha256(b"facts").digest())


def test_counts_since_lists_what_changed(tmp_path: Path) -> None:
    cache = Cache(CacheSettings(url=str(tmp_path / "cache")))
    before = cache.counts()
    assert cache.get(KEY) is None
    assert cache.counts_since(before) == {"misses": 1, "lookups": 1}
