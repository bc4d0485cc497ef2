"""Hostile and broken inputs, generated here (no binary junk is committed): every one gets a
finding, the build goes on, nothing is lost and nothing leaks."""

from __future__ import annotations

import builtins
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conftest import PNG, broken_links, build, make_sample, snapshot

PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAverysecretmaterial\n-----END RSA PRIVATE KEY-----\n"
AWS_KEY = "AKIAQWERTYUIOPASDFGH"
ODD_NAMES = ["with space.py", "ünïcödé.py", "hash#tag.md", "[x](y).md", "back`tick.py",
             "-leading.py", "new\nline.py", "Case.py", "case.py", "<script>.md"]


def hostile_tree(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "invalid_utf8.py").write_bytes(b"x = '\xff\xfe not utf-8'\n")
    (root / "utf16.txt").write_bytes("hé, UTF-16 with a BOM\n".encode("utf-16"))
    (root / "fake.py").write_bytes(PNG)
    (root / "empty.py").write_bytes(b"")
    with (root / "generated.c").open("w") as handle:  # 50 MB generated source
        line = "int generated_value_%d = %d;\n"
        block = "".join(line % (i, i) for i in range(20000))
        while handle.tell() < 50 * 1024 * 1024:
            handle.write(block)
    (root / "minified.js").write_text("var a=" + "1+" * 1_000_000 + "1;")
    (root / "deep.py").write_text("x = " + "(" * 2000 + "1" + ")" * 2000 + "\n")
    (root / "syntax.py").write_text("def broken(:\n    pass\n")
    os.symlink("loop", root / "loop")
    (root / "sub").mkdir()
    os.symlink("..", root / "sub" / "up")
    os.symlink("/etc/passwd", root / "outside")
    os.symlink("missing-target", root / "dangling")
    for name in ODD_NAMES:
        (root / name).write_text(f"# {name!r}\nVALUE = 1\n")
    folder = root / "pages"
    folder.mkdir()
    for name in ("index.md", "doc.md", "sub.md", "x_docs.md", "x_kw.md"):
        (folder / name).write_text(f"# {name}\n")
    (folder / "x").write_text("plain\n")
    (root / "index.md").mkdir()  # a folder named like a folder page
    (root / "index.md" / "inside.py").write_text("INSIDE = 1\n")
    (root / "keywords.md").mkdir()
    (root / "keywords.md" / "k.py").write_text("K = 1\n")
    (root / ".env").write_text(f"AWS_ACCESS_KEY_ID={AWS_KEY}\n")
    (root / "id_rsa").write_text(PRIVATE_KEY)
    (root / "config.txt").write_text("deploy key:\n" + PRIVATE_KEY)
    (root / "settings.py").write_text(f'AWS_ID = "{AWS_KEY}"\npassword = "correct-horse-battery"\n')
    (root / "swap").write_text("a file first\n")
    return root


def all_text(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace")
                     for p in folder.rglob("*") if p.is_file())


def test_hostile_tree_builds_with_findings_and_leaks_nothing(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    root = hostile_tree(tmp_path / "repo")
    unreadable = str(root / "unreadable.py")
    Path(unreadable).write_text("SECRET_LOGIC = 1\n")
    real_open = builtins.open

    def guarded_open(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        if os.fspath(file) == unreadable:  # root reads everything: simulate chmod 000
            raise PermissionError(13, "Permission denied", unreadable)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    report = build(root)
    monkeypatch.setattr(builtins, "open", real_open)
    messages = {}
    for error in report["errors"]:
        messages.setdefault(error["path"], []).append(error["message"])
    expected = {
        "invalid_utf8.py": "not valid", "fake.py": "binary content", "empty.py": "empty file",
        "generated.c": "exceeds analysis.max_bytes", "deep.py": "does not parse",
        "syntax.py": "does not parse", "loop": "loop", "outside": "outside ROOT",
        "dangling": "missing target", "unreadable.py": "cannot read",
        "config.txt": "private key block", "settings.py": "AWS access key",
    }
    for path, fragment in expected.items():
        assert any(fragment in m for m in messages.get(path, [])), (path, messages.get(path))
    assert not any(m.startswith("task failed") for ms in messages.values() for m in ms)
    out = root / "repo-docs"
    assert broken_links(out) == []
    text = all_text(out)
    assert "verysecretmaterial" not in text and AWS_KEY not in text
    assert "correct-horse-battery" not in text
    assert str(tmp_path) not in text and "/etc/passwd" not in text
    assert (out / "minified.js_docs.md").exists() and (out / "new\nline.py_docs.md").exists()
    assert (out / "Case.py_docs.md").exists() and (out / "case.py_docs.md").exists()
    assert (out / "pages/index.md").read_text().count("x_docs.md") >= 1  # the source, listed
    assert (out / "pages/x_docs.md").exists() and (out / "pages/x_docs.md_docs.md").exists()
    assert (out / "index.md.dir/inside.py_docs.md").exists()
    assert (out / "keywords.md.dir/k.py_docs.md").exists()
    root_index = (out / "index.md").read_text()
    assert "left out: matches a `secrets` pattern" in root_index
    import re
    outside_code = re.sub(r"(`+)(?:(?!\1).)+?\1", "", root_index)
    assert "`<script>.md`" in root_index and "<script" not in outside_code
    json.loads((out / "docgraph.json").read_text())
    # a file replaced by a folder of the same name between two builds
    (root / "swap").unlink()
    (root / "swap").mkdir()
    (root / "swap" / "inner.py").write_text("INNER = 1\n")
    build(root)
    assert (out / "swap/inner.py_docs.md").exists() and not (out / "swap_docs.md").exists()


def test_strict_makes_findings_fail(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "syntax.py").write_text("def broken(:\n")
    plain = subprocess.run([sys.executable, "-m", "docgraph.cli", "build", "-q", str(root)],
                           capture_output=True, text=True, check=False)
    strict = subprocess.run([sys.executable, "-m", "docgraph.cli", "build", "-q", "--strict", str(root)],
                            capture_output=True, text=True, check=False)
    assert plain.returncode == 0 and strict.returncode == 1


NAME = st.text(alphabet=st.sampled_from(list("ab_-.#[]() `ü\n")), min_size=1, max_size=8).filter(
    lambda n: n not in (".", "..") and "/" not in n)


@given(st.lists(st.tuples(st.lists(NAME, min_size=1, max_size=3), st.binary(max_size=300)),
                min_size=1, max_size=12))
def test_random_trees_of_random_bytes_build_and_link(files: list[tuple[list[str], bytes]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        for parts, data in files:
            path = root.joinpath(*parts)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                if not path.exists():
                    path.write_bytes(data)
            except (FileExistsError, NotADirectoryError, IsADirectoryError):
                continue  # a name already used as file and folder
        report = build(root)
        assert not any(e["message"].startswith("task failed") for e in report["errors"]), report["errors"]
        assert broken_links(root / "repo-docs") == []


def big_sample(root: Path) -> Path:
    make_sample(root)
    rng = random.Random(7)
    for i in range(400):
        folder = root / "gen" / f"p{i % 20}"
        folder.mkdir(parents=True, exist_ok=True)
        body = "".join(f"def f{i}_{j}(x):\n    return x * {rng.randint(1, 99)}\n\n" for j in range(30))
        (folder / f"m{i}.py").write_text(f'"""Generated module {i}."""\nimport os\n\n{body}')
    return root


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (from /proc; none where there is no /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                    ppid = int(handle.read().rpartition(")")[2].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("delay", [0.4, 0.9, 1.5, 2.2])
def test_kill_9_then_build_equals_clean_build(tmp_path: Path, delay: float) -> None:
    root = big_sample(tmp_path / "repo")
    # -j 2: the pool's workers must die with the build (they would otherwise keep the lock)
    proc = subprocess.Popen([sys.executable, "-m", "docgraph.cli", "build", "-q", "-j", "2", str(root)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    spawned = _descendants(proc.pid)  # the fork server and the workers, once the pool started
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 15
    while [p for p in spawned if _alive(p)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [p for p in spawned if _alive(p)] == [], "processes of the killed build still run"
    build(root)
    clean = tmp_path / "clean"
    shutil.copytree(root, clean, ignore=shutil.ignore_patterns("repo-docs", ".docgraph"))
    build(clean)
    assert snapshot(root / "repo-docs") == snapshot(clean / "repo-docs")
    assert build(root)["tasks_executed"] == []


def test_model_stopped_between_its_commit_and_its_digests_is_repaired(
        sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The model commits its database, then writes the digests: a build stopped in between must
    not leave the next one trusting digests that the database has moved past."""
    from docgraph.digests import Digests

    build(sample)
    shapes = sample / "tests" / "test_shapes.py"
    shapes.write_text(shapes.read_text(encoding="utf-8").replace(
        "import pytest\n", "import pytest\n\nfrom geometry.io import depth\n", 1), encoding="utf-8")

    def stopped(self: Digests, paths: list[str]) -> None:
        raise RuntimeError("stopped while writing the digests")

    with monkeypatch.context() as patch:
        patch.setattr(Digests, "write_xrefs", stopped)
        failed = build(sample)
    assert any("stopped while writing the digests" in e["message"] for e in failed["errors"])
    repaired = build(sample)
    assert "src/geometry/io.py_docs.md" in repaired["pages_written"]  # now imported by the test
    clean = tmp_path / "clean"
    shutil.copytree(sample, clean, ignore=shutil.ignore_patterns("repo-docs", ".docgraph"))
    build(clean)
    assert snapshot(sample / "repo-docs") == snapshot(clean / "repo-docs")


def test_damaged_state_is_rebuilt_with_a_warning(sample: Path) -> None:
    build(sample)
    for name in ("doit.sqlite3", "model.sqlite3"):
        (sample / ".docgraph" / name).write_bytes(b"this is not a database" * 100)
    (sample / ".docgraph" / "stamp.marshal").write_bytes(b"\x00garbage")
    expected = snapshot(sample / "repo-docs")
    result = subprocess.run([sys.executable, "-m", "docgraph.cli", "build", "-q", str(sample)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "damaged" in result.stderr
    assert snapshot(sample / "repo-docs") == expected


def test_source_folders_named_like_state_folders(tmp_path: Path) -> None:
    """A source folder called `records` (or `facts`, `settings`) is a source folder: its pages are
    not taken for the state's records of multi-page tasks (a build used to fail reading
    `records/models.py_docs.md` as JSON)."""
    root = tmp_path / "repo"
    for folder in ("app/records", "facts", "settings"):
        (root / folder).mkdir(parents=True)
        (root / folder / "models.py").write_text('"""Models."""\n\nclass Record:\n    pass\n')
    first = build(root)
    (root / "app/records/models.py").write_text('"""Models."""\n\nclass Record:\n    x = 1\n')
    second = build(root)
    assert first["errors"] == [] and second["errors"] == []
    assert (root / "repo-docs/app/records/models.py_docs.md").is_file()


def test_model_database_of_an_older_schema_is_replaced(sample: Path, tmp_path: Path) -> None:
    """A state folder restored from a cache that an older docgraph wrote: its model database has
    tables of another shape, which must be rebuilt from the summaries, never read or patched."""
    import sqlite3

    build(sample)
    model = sample / ".docgraph" / "model.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{model}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(model) as conn:  # schema 6: every table named files by their path
        conn.executescript(
            "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
            "INSERT INTO meta VALUES('schema', '6');"
            "CREATE TABLE files(path TEXT PRIMARY KEY, folder TEXT, kind TEXT, stat TEXT, hash TEXT);"
            "INSERT INTO files VALUES('src/geometry/io.py', 'src/geometry', 'file', '0:0', 'x');"
            "CREATE TABLE symbols(path TEXT, name TEXT, kind TEXT, line INT, bucket TEXT);"
            "INSERT INTO symbols VALUES('src/geometry/io.py', 'stale', 'function', 1, 's');")
    shapes = sample / "src" / "geometry" / "shapes.py"
    shapes.write_text(shapes.read_text(encoding="utf-8") + "\n\ndef added():\n    return 1\n",
                      encoding="utf-8")
    report = build(sample)
    assert not [e for e in report["errors"] if "task failed" in e["message"]]
    clean = tmp_path / "clean"
    shutil.copytree(sample, clean, ignore=shutil.ignore_patterns("repo-docs", ".docgraph"))
    build(clean)
    assert snapshot(sample / "repo-docs") == snapshot(clean / "repo-docs")
    with sqlite3.connect(model) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()[0] != "6"
        assert not conn.execute("SELECT 1 FROM symbols WHERE name='stale'").fetchall()
