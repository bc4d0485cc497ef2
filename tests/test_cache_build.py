"""Builds through the shared cache: a real S3 API (moto on 127.0.0.1, through s3fs) and a folder.

Every build here is the `docgraph` command in a child process, as a CI runner runs it; pages are
compared byte for byte with a clean build that uses no cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from docgraph.graph import KIND

from .conftest import make_sample, snapshot
from .test_cache import BUCKET, S3Server, no_leaks, s3  # noqa: F401 - fixtures used here


def docgraph(root: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "docgraph.cli", "build", "-q", str(root), *args],
                          capture_output=True, text=True, check=False, timeout=timeout)


def report(root: Path) -> dict:
    return json.loads((root / ".docgraph" / "last-build.json").read_text())


@pytest.fixture(params=["folder", "s3"])
def cache_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "s3":
        request.getfixturevalue("s3")
        return f"s3://{BUCKET}/team"
    return str(tmp_path / "team-cache")


SOURCES: list[int] = []  # how many files of the sample a build analyses (from the clean build)


@pytest.fixture
def clean(tmp_path: Path) -> dict[str, bytes]:
    root = make_sample(tmp_path / "clean")
    assert docgraph(root).returncode == 0
    SOURCES[:] = [len(report(root)["sources_analyzed"])]
    return snapshot(root / "repo-docs")


def test_cold_then_warm_fresh_clone_analyses_nothing(tmp_path: Path, cache_url: str,
                                                     clean: dict[str, bytes]) -> None:
    cold = make_sample(tmp_path / "cold")
    run = docgraph(cold, "--cache", cache_url, "-j", "2")
    assert run.returncode == 0, run.stderr
    first = report(cold)
    assert len(first["sources_analyzed"]) == SOURCES[0] and first["sources_from_cache"] == []
    assert first["cache"]["written"] > 0
    warm = make_sample(tmp_path / "warm")  # a fresh clone: no state, the team's cache
    run = docgraph(warm, "--cache", cache_url, "-j", "2")
    assert run.returncode == 0, run.stderr
    second = report(warm)
    assert second["sources_analyzed"] == []
    assert len(second["sources_from_cache"]) == SOURCES[0]
    assert second["cache"]["hits"] > 0 and second["cache"].get("written", 0) == 0
    # every task of a cached kind (all but the settings, the ledgers and their groups, which
    # hash the summaries as a cache key of theirs would, and the manifest) wrote one entry cold
    # and read it warm:
    # none of them ran locally
    cached = [t for t in first["tasks_executed"] if KIND[t.partition(":")[0]].cached]
    assert {t.partition(":")[0] for t in cached} == set(KIND) - {"settings", "ledger", "group", "manifest"}
    assert first["cache"]["written"] == len(cached) == second["cache"]["hits"]
    # a folder is read an entry at a time; an object store a chunk of tasks at a time
    looked_up = second["cache"]["hits"] + second["cache"].get("misses", 0)
    if cache_url.startswith("s3://"):
        assert second["cache"]["lookups"] < looked_up / 2
    else:
        assert second["cache"]["lookups"] == looked_up
    assert snapshot(warm / "repo-docs") == clean
    assert snapshot(cold / "repo-docs") == clean
    again = docgraph(warm, "--cache", cache_url)
    assert again.returncode == 0 and report(warm)["mode"] == "no-op"


def test_two_shards_then_a_build_equal_a_clean_build(tmp_path: Path, cache_url: str,
                                                     clean: dict[str, bytes]) -> None:
    analysed = []
    for number in (1, 2):
        runner = make_sample(tmp_path / f"shard{number}")  # each CI job has a checkout of its own
        run = docgraph(runner, "--cache", cache_url, "--shard", f"{number}/2")
        assert run.returncode == 0, run.stderr
        done = report(runner)
        assert done["mode"] == f"shard {number}/2" and done["pages_written"] == []
        assert not (runner / "repo-docs").exists()
        analysed.append(set(done["sources_analyzed"]))
    assert analysed[0] and analysed[1] and not analysed[0] & analysed[1]
    assert len(analysed[0] | analysed[1]) == SOURCES[0]
    final = make_sample(tmp_path / "final")
    run = docgraph(final, "--cache", cache_url)
    assert run.returncode == 0, run.stderr
    assert report(final)["sources_analyzed"] == []
    assert snapshot(final / "repo-docs") == clean


def test_a_corrupt_entry_is_one_finding_and_the_file_is_analysed(tmp_path: Path,
                                                                 clean: dict[str, bytes]) -> None:
    folder = tmp_path / "team-cache"
    assert docgraph(make_sample(tmp_path / "cold"), "--cache", str(folder)).returncode == 0
    entries = sorted(p for p in folder.rglob("*") if p.is_file())
    victim = entries[len(entries) // 2]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    warm = make_sample(tmp_path / "warm")
    run = docgraph(warm, "--cache", str(folder))
    assert run.returncode == 0, run.stderr
    done = report(warm)
    assert done["cache"]["rejected"] == 1
    assert sum("corrupt" in e["message"] for e in done["errors"]) == 1
    assert snapshot(warm / "repo-docs") == clean


def test_an_unreachable_cache_costs_one_warning_and_nothing_else(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 clean: dict[str, bytes]) -> None:
    server = S3Server()  # a port nothing listens on once stopped
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    root = make_sample(tmp_path / "repo")
    began = time.monotonic()
    run = docgraph(root, "--cache", f"s3://{BUCKET}/team", "-j", "2", timeout=120)
    assert run.returncode == 0, run.stderr
    assert time.monotonic() - began < 60
    done = report(root)
    assert len(done["sources_analyzed"]) == SOURCES[0]
    warnings = [e for e in done["errors"] if "cache" in e["message"]]
    assert len(warnings) == 1, warnings
    assert snapshot(root / "repo-docs") == clean


def test_read_only_reads_and_never_writes(tmp_path: Path, clean: dict[str, bytes]) -> None:
    folder = tmp_path / "team-cache"
    run = docgraph(make_sample(tmp_path / "fork-pr"), "--cache", str(folder), "--cache-read-only")
    assert run.returncode == 0, run.stderr
    assert not folder.exists() or not any(p.is_file() for p in folder.rglob("*"))
    assert docgraph(make_sample(tmp_path / "trusted"), "--cache", str(folder)).returncode == 0
    reader = make_sample(tmp_path / "reader")
    assert docgraph(reader, "--cache", str(folder), "--cache-read-only").returncode == 0
    assert report(reader)["sources_analyzed"] == []
    assert snapshot(reader / "repo-docs") == clean


def test_two_builds_writing_at_once(tmp_path: Path, cache_url: str, clean: dict[str, bytes]) -> None:
    roots = [make_sample(tmp_path / f"runner{i}") for i in (1, 2)]
    procs = [subprocess.Popen([sys.executable, "-m", "docgraph.cli", "build", "-q", str(root),
                               "--cache", cache_url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for root in roots]
    for proc in procs:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    for root in roots:
        assert snapshot(root / "repo-docs") == clean
    warm = make_sample(tmp_path / "warm")
    assert docgraph(warm, "--cache", cache_url).returncode == 0
    assert report(warm)["sources_analyzed"] == [] and report(warm)["cache"].get("rejected", 0) == 0
    assert snapshot(warm / "repo-docs") == clean


def test_the_cache_in_docgraph_yaml_and_a_secret_never_leaves(tmp_path: Path) -> None:
    folder = tmp_path / "team-cache"
    root = make_sample(tmp_path / "repo")
    (root / ".env").write_text("ENV_ONLY_NAME=ghp_" + "b" * 36 + "\n")  # a secret file: never read
    (root / "src" / "keys.py").write_text('GITHUB = "ghp_' + "a" * 36 + '"\n')  # masked
    with open(root / "docgraph.yaml", "a", encoding="utf-8") as handle:
        handle.write(f"cache:\n  url: {folder}\n")
    assert docgraph(root).returncode == 0
    assert report(root)["cache"]["written"] > 0
    stored = b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
    assert stored
    import zlib

    from docgraph.cache import decode

    texts = []
    for path in folder.rglob("*"):
        if path.is_file():
            texts.extend(decode(path.name, path.read_bytes()).values())
    joined = b"".join(texts)
    assert b"keys.py" in joined  # the file with the credential was analysed and cached ...
    assert b"ghp_" + b"a" * 36 not in joined  # ... without the credential
    assert b"ghp_" + b"b" * 36 not in joined and b"ENV_ONLY_NAME" not in joined
    assert b"ghp_" not in zlib.decompress(zlib.compress(joined))  # the decoded blobs, not the raw
    assert os.path.exists(root / "repo-docs" / "src" / "keys.py_docs.md")


@pytest.mark.parametrize("text", ["café = 1\n", 'TOKEN = "ghp_' + "a" * 36 + '"  # café\n'])
def test_a_source_key_tells_encodings_apart_and_hides_credentials(text: str) -> None:
    from docgraph.actions.cached import masked

    forms = [text.encode("latin-1"), text.encode("utf-8"), b"\xef\xbb\xbf" + text.encode("utf-8")]
    parts = [masked(data) for data in forms]
    assert len(set(parts)) == 3  # the same text in three encodings: three sets of facts
    assert all(b"ghp_" + b"a" * 36 not in part for part in parts)


SPLIT = "pages:\n  index_split: 2\n  book_part_bytes: 3000\n"  # letter pages and book parts
ZOO = "def zygote():\n    return 1\n\n\nclass Zebra:\n    def zig(self):\n        return 2\n"


def _split_sample(dest: Path, zoo: bool) -> Path:
    root = make_sample(dest)
    with open(root / "docgraph.yaml", "a", encoding="utf-8") as handle:
        handle.write(SPLIT)
    if zoo:  # the only names under z: its letter pages vanish with it
        (root / "src" / "zoo.py").write_text(ZOO)
    return root


def test_letter_pages_and_the_model_from_the_cache_then_incremental_builds(tmp_path: Path,
                                                                         cache_url: str) -> None:
    clean = {}
    for zoo in (True, False):  # the two states, each built locally without a cache
        root = _split_sample(tmp_path / f"clean-{zoo}", zoo)
        assert docgraph(root).returncode == 0
        clean[zoo] = snapshot(root / "repo-docs")
    letters = [p for p in clean[True] if p.rpartition("/")[2] in ("sub-z.md", "keywords-z.md")]
    assert len(letters) >= 2 and not any(p in clean[False] for p in letters)
    assert "comprehensive_book-2.md" in clean[True]
    for zoo in (True, False):  # a teammate's builds of both states fill the cache
        assert docgraph(_split_sample(tmp_path / f"seed-{zoo}", zoo), "--cache", cache_url).returncode == 0
    warm = _split_sample(tmp_path / "warm", True)  # a fresh clone in a folder of another name
    run = docgraph(warm, "--cache", cache_url, "-j", "2")
    assert run.returncode == 0, run.stderr
    done = report(warm)
    ran = [t for t in done["tasks_executed"] if KIND[t.partition(":")[0]].cached]
    assert done["cache"]["hits"] == len(ran) and not done["cache"].get("misses")
    assert {"model", "keywords", "book"} <= set(ran)
    assert snapshot(warm / "repo-docs") == clean[True]
    # the file goes: every task from the cache again, and the vanished letter pages are removed
    (warm / "src" / "zoo.py").unlink()
    run = docgraph(warm, "--cache", cache_url)
    assert run.returncode == 0, run.stderr
    done = report(warm)
    assert "model" in done["tasks_executed"] and not done["cache"].get("misses")
    assert set(letters) <= set(done["pages_removed"])
    assert snapshot(warm / "repo-docs") == clean[False]
    # the model's database came from the cache: without it, it is updated incrementally
    (warm / "src" / "zoo.py").write_text(ZOO)
    run = docgraph(warm)
    assert run.returncode == 0, run.stderr
    assert report(warm)["sources_analyzed"] == ["src/zoo.py"]
    assert snapshot(warm / "repo-docs") == clean[True]
    assert docgraph(warm).returncode == 0 and report(warm)["mode"] == "no-op"


def test_an_entry_whose_pages_do_not_match_its_record_is_rejected(tmp_path: Path) -> None:
    from docgraph.cache import decode, encode

    folder = tmp_path / "team-cache"
    seed = _split_sample(tmp_path / "seed", True)
    assert docgraph(seed, "--cache", str(folder)).returncode == 0
    damaged = 0
    for path in folder.rglob("*"):
        if path.is_file():
            blobs = decode(path.name, path.read_bytes())
            if any(name.startswith("p:") for name in blobs):  # a keyword index or the book
                page = min(name for name in blobs if name.startswith("p:"))
                blobs["p:../../outside.md"] = blobs.pop(page)  # a path out of the output folder
                path.write_bytes(encode(path.name, blobs))
                damaged += 1
    assert damaged >= 2
    warm = _split_sample(tmp_path / "warm", True)
    run = docgraph(warm, "--cache", str(folder))
    assert run.returncode == 0, run.stderr
    done = report(warm)
    assert done["cache"]["rejected"] == damaged
    assert sum("foreign" in e["message"] for e in done["errors"]) == damaged
    assert not (tmp_path / "outside.md").exists() and not (warm / "outside.md").exists()
    assert snapshot(warm / "repo-docs") == snapshot(seed / "repo-docs")


def _nameless_sample(dest: Path) -> Path:
    root = make_sample(dest)
    for name in ("README.md", "pyproject.toml", "CMakeLists.txt"):  # what could name the project
        (root / name).unlink()
    return root


def test_a_clone_in_a_folder_of_another_name_shares_the_model(tmp_path: Path, cache_url: str) -> None:
    clean = _nameless_sample(tmp_path / "clean" / "other")
    assert docgraph(clean).returncode == 0
    title = (clean / "repo-docs" / "index.md").read_text().partition("\n")[0]
    assert "other" in title  # nothing in it names the project: its folder does
    seed = _nameless_sample(tmp_path / "seed" / "first")
    assert docgraph(seed, "--cache", cache_url).returncode == 0
    warm = _nameless_sample(tmp_path / "warm" / "other")
    run = docgraph(warm, "--cache", cache_url)
    assert run.returncode == 0, run.stderr
    done = report(warm)
    assert "model" in done["tasks_executed"] and done["sources_analyzed"] == []
    assert done["cache"]["misses"] == 1  # the entry page alone: it shows the folder's name
    assert snapshot(warm / "repo-docs") == snapshot(clean / "repo-docs")
    (warm / "src" / "zoo.py").write_text(ZOO)  # the restored database, updated incrementally
    (clean / "src" / "zoo.py").write_text(ZOO)
    assert docgraph(warm).returncode == 0 and docgraph(clean).returncode == 0
    assert snapshot(warm / "repo-docs") == snapshot(clean / "repo-docs")
    # with a local database, the model updates it and neither reads nor writes the cache
    (warm / "src" / "zoo.py").write_text(ZOO + "\n\ndef zenith():\n    return 3\n")
    (clean / "src" / "zoo.py").write_text(ZOO + "\n\ndef zenith():\n    return 3\n")
    assert docgraph(warm, "--cache", cache_url).returncode == 0 and docgraph(clean).returncode == 0
    done = report(warm)
    assert "model" in done["tasks_executed"] and done["sources_analyzed"] == ["src/zoo.py"]
    others = [t for t in done["tasks_executed"] if KIND[t.partition(":")[0]].cached and t != "model"]
    assert done["cache"]["written"] == done["cache"]["misses"] == len(others)
    assert snapshot(warm / "repo-docs") == snapshot(clean / "repo-docs")
