"""Shared fixtures: a copy of the sample repository, builds through the engine, output snapshots.

Every test that builds works on a copy in a temporary folder; the sample repository in
`tests/fixtures/sample` is never written to.  A test that leaves threads or child processes
behind fails.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from docgraph.config import load
from docgraph.engine import Engine
from docgraph.report import Progress, read_report

# `HYPOTHESIS_PROFILE=thorough pytest tests/test_property.py` for a long run.
settings.register_profile("default", max_examples=12, deadline=None,
                          suppress_health_check=list(HealthCheck))
settings.register_profile("thorough", max_examples=300, deadline=None,
                          suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

SAMPLE = Path(__file__).parent / "fixtures" / "sample"
# A 1x1 PNG: binary files are generated here rather than committed.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082")


def make_sample(dest: Path) -> Path:
    """A fresh copy of the sample repository at `dest`, with its binary asset."""
    shutil.copytree(SAMPLE, dest)
    (dest / "assets").mkdir()
    (dest / "assets" / "logo.png").write_bytes(PNG)
    # files the sample's .gitignore excludes (git would not keep them in this repository either)
    (dest / "build").mkdir()
    (dest / "build" / "generated.py").write_text('print("a build artefact")\n')
    (dest / "notes.log").write_text("log line\n")
    return dest


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return make_sample(tmp_path / "repo")


def build(root: Path, jobs: int = 1, **overrides: Any) -> dict[str, Any]:
    """Build `root` in-process and return its `last-build.json`."""
    config = load(str(root))
    engine = Engine(config, jobs=jobs, progress=Progress(quiet=True))
    engine.build()
    return read_report(config.state)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder`: relative path -> bytes."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            out[path.relative_to(folder).as_posix()] = path.read_bytes()
    return out


_LINK = re.compile(r"\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")


def markdown_links(markdown: str) -> list[str]:
    """Link targets outside code blocks and code spans."""
    targets = []
    fence = ""
    for line in markdown.splitlines():
        match = _FENCE.match(line)
        if fence:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence) \
                    and not line.strip()[len(match.group(1)):].strip():
                fence = ""
            continue
        if match:
            fence = match.group(1)
            continue
        targets.extend(_LINK.findall(_CODE_SPAN.sub("", line)))
    return targets


def broken_links(out: Path) -> list[str]:
    """Relative links in generated pages whose target file does not exist."""
    from urllib.parse import unquote

    broken = []
    for page in out.rglob("*.md"):
        for target in markdown_links(page.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue
            path = unquote(re.split(r"[?#]", target, maxsplit=1)[0])
            if not (page.parent / path).exists():
                broken.append(f"{page.relative_to(out)} -> {target}")
    return broken


@pytest.fixture(autouse=True)
def no_leaks():
    threads = set(threading.enumerate())
    yield
    # watchdog 7 keeps one inotify reader thread per process on purpose (InotifyFD.get_instance),
    # and from 7.1.1 that reader starts a dispatcher thread of its own that lives as long as it
    leaked = [t for t in threading.enumerate() if t not in threads and t.is_alive()
              and type(t).__name__ != "InotifyFD" and t.name != "InotifyFD-Dispatcher"]
    for thread in leaked:
        thread.join(timeout=5)
    leaked = [t for t in leaked if t.is_alive()]
    children = multiprocessing.active_children()
    assert not leaked, f"test leaked threads: {leaked}"
    assert not children, f"test leaked processes: {children}"


@pytest.fixture(autouse=True)
def _cwd_restored():
    cwd = os.getcwd()
    yield
    os.chdir(cwd)
