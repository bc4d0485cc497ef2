"""Upgrades leave nothing stale: code fingerprints derived from the import closure.

Two layers:

- the closure of each action module covers every docgraph module its actions really run
  (checked in a fresh interpreter per step, after a build of the sample);
- representative upgrades: a copy of docgraph with one module or template changed builds the
  sample incrementally after the original built it, and the pages equal a clean build with the
  changed code.  The digests constant is the case that once went stale (an incremental build
  wrote 0 pages while a clean build differed in 9).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from docgraph import fingerprint
from docgraph.graph import KINDS, step_modules

from .conftest import make_sample, snapshot

PACKAGE = Path(fingerprint.__file__).resolve().parent
DATA = Path(fingerprint._data_dir())

PROBE = r"""
import json, sys
step = sys.argv[1]
before = set(sys.modules)
import importlib
module = importlib.import_module("docgraph.actions." + step)
used = {m for m in sys.modules if m.startswith("docgraph")} - {m for m in before if m.startswith("docgraph")}
from docgraph.config import load
from docgraph.discover import discover
from docgraph.graph import Graph
config = load(sys.argv[2])
graph = Graph(config, discover(config))
for spec in graph.all_specs():
    if spec.action.__module__ != module.__name__:
        continue
    loaded = set(sys.modules)
    spec.action(*spec.args)
    used |= {m for m in set(sys.modules) - loaded if m.startswith("docgraph")}
print(json.dumps(sorted(used)))
"""


@pytest.mark.parametrize("step", sorted({kind.step for kind in KINDS}))
def test_the_closure_covers_every_module_an_action_runs(step: str, sample: Path) -> None:
    from .conftest import build

    build(sample)
    run = subprocess.run([sys.executable, "-c", PROBE, step, str(sample)], capture_output=True,
                         text=True, check=False, cwd=sample)
    assert run.returncode == 0, run.stderr
    used = json.loads(run.stdout)
    covered = {os.path.realpath(p) for p in fingerprint.closure(f"docgraph.actions.{step}")}
    missing = [m for m in used if os.path.realpath(fingerprint.module_file(m) or m) not in covered]
    assert used and not missing


def test_each_slice_carries_one_step() -> None:
    assert set(step_modules()) == {kind.slice for kind in KINDS if kind.slice}


def test_the_digests_module_is_in_the_model_and_page_fingerprints() -> None:
    digests = os.path.realpath(PACKAGE / "digests.py")
    for step in ("model", "render"):
        assert digests in {os.path.realpath(p) for p in fingerprint.closure(f"docgraph.actions.{step}")}
    templates = {os.path.realpath(p) for p in fingerprint.closure("docgraph.actions.render")}
    assert os.path.realpath(DATA / "templates" / "file_docs.md") in templates
    analysis = {os.path.realpath(p) for p in fingerprint.closure("docgraph.actions.analysis")}
    assert os.path.realpath(DATA / "templates" / "file_docs.md") not in analysis


def _installed_copy(dest: Path) -> Path:
    """docgraph's modules and data in `dest`, importable first (PYTHONPATH) as `docgraph`."""
    shutil.copytree(PACKAGE, dest / "docgraph", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(DATA, dest / "docgraph_config", ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def _build(code: Path, root: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code)}
    run = subprocess.run([sys.executable, "-m", "docgraph.cli", "build", "-q", str(root)],
                         capture_output=True, text=True, check=False, env=env, cwd=root)
    assert run.returncode == 0, run.stderr
    return json.loads((root / ".docgraph" / "last-build.json").read_text())


# (file inside the copy, text to find, its replacement): each changes what some pages show
UPGRADES = [
    ("docgraph/digests.py", "MAIN_MODULES = 5", "MAIN_MODULES = 1"),
    ("docgraph_config/templates/file_kw.md", "\n", "\n<!-- upgraded template -->\n"),
    ("docgraph/pages/markdown.py", '"""', '"""Upgraded.\n\n', ),
]


@pytest.mark.parametrize("path,old,new", UPGRADES, ids=[u[0].rpartition("/")[2] for u in UPGRADES])
def test_an_upgrade_rebuilds_what_it_changes(tmp_path: Path, path: str, old: str, new: str) -> None:
    code = _installed_copy(tmp_path / "code")
    root = make_sample(tmp_path / "repo")
    _build(code, root)
    target = code / path
    text = target.read_text(encoding="utf-8")
    assert old in text, f"{path} no longer holds {old!r}: pick another representative change"
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    report = _build(code, root)
    clean = make_sample(tmp_path / "clean")
    _build(code, clean)
    assert snapshot(root / "repo-docs") == snapshot(clean / "repo-docs")
    if "markdown.py" not in path:  # a docstring changes the code, not the pages
        assert report["pages_written"], "the upgrade changed pages, so some must be rewritten"
    assert _build(code, root)["tasks_executed"] == []



def test_the_cached_fingerprints_are_the_same_however_docgraph_is_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`docgraph`, `doit` and `python -m docgraph` put different folders first on the import
    path (the script's, the working folder): the cache of the fingerprints is found by all of
    them, so none parses the package again; a folder anywhere else on the path still counts."""
    files = fingerprint.package_files()
    first, second, other = (tmp_path / name for name in ("bin", "repo", "site"))
    for folder in (first, second, other):
        folder.mkdir()
    (second / "new-file").write_text("x", encoding="utf-8")  # (another mtime)
    monkeypatch.setattr(sys, "path", [str(first), *sys.path[1:], str(other)])
    key = fingerprint._stat_key(files)
    monkeypatch.setattr(sys, "path", [str(second), *sys.path[1:]])
    assert fingerprint._stat_key(files) == key
    (other / "installed").mkdir()  # a package installed there
    os.utime(other, ns=(1, 1))
    assert fingerprint._stat_key(files) != key


def test_the_fingerprints_are_the_same_however_the_code_is_installed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same code laid out as a regular install (`docgraph/` before `docgraph_config/`) and as
    this repository's editable one (`config/` before `tasks/`) has the same fingerprints: the
    files are hashed in the order of their names inside the code, not of their paths."""
    found = []
    for package, data in (("site/docgraph", "site/docgraph_config"), ("repo/tasks", "repo/config")):
        shutil.copytree(PACKAGE, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(DATA, tmp_path / data, ignore=shutil.ignore_patterns("__pycache__"))
        monkeypatch.setattr(fingerprint, "_HERE", str(tmp_path / package))
        monkeypatch.setattr(fingerprint, "_data_dir", lambda folder=str(tmp_path / data): folder)
        fingerprint._compute.cache_clear()  # (kept per process)
        found.append(fingerprint._compute(("docgraph.actions.render", "docgraph.actions.analyze")))
    fingerprint._compute.cache_clear()
    assert found[0] == found[1]
