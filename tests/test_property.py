"""The central property: after any sequence of edits, the incremental output equals a clean build.

Hypothesis draws sequences of edits on a copy of the sample repository: add, modify and delete
files (Python modules that define and import names, C headers that include each other, Go files
importing package folders, Rust modules declaring and using each other, Markdown with links,
binary files), rename files and folders, rewrite or remove the project manifest (its name and
entry point steer the entry page), and change settings.  After each sequence the incremental build (which has
seen every intermediate state) must produce byte-identical pages to a clean build of the final
tree in a fresh folder.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from unittest.mock import patch

from hypothesis import example, given
from hypothesis import strategies as st

from .conftest import PNG, broken_links, build, make_sample, snapshot

NAMES = ["alpha", "beta", "gamma", "delta"]
FOLDERS = ["src/geometry", "src", "docs", "lib/deep", "tests"]

python_module = st.builds(
    lambda defs, imports, doc: (f'"""{doc}"""\n' if doc else "")
    + "".join(f"from geometry.{m} import {n}\n" for m, n in imports)
    + "".join(f"\n\ndef {d}(x):\n    return x\n" for d in defs),
    st.lists(st.sampled_from(["area", "scale", "render", "Area", "_hidden", "zeta"]), max_size=3,
             unique=True),
    st.lists(st.tuples(st.sampled_from(["shapes", "io", "alpha", "beta"]),
                       st.sampled_from(["Circle", "largest", "area", "scale"])), max_size=2),
    st.sampled_from(["", "Module doc.", "Another summary line."]),
)
markdown = st.builds(
    lambda title, target: f"# {title}\n\nSee [it]({target}).\n",
    st.sampled_from(["Guide", "Notes", "Quickstart"]),
    st.sampled_from(["../README.md", "alpha.py", "missing.md", "../src/geometry/shapes.py"]),
)
header = st.builds(
    lambda includes, struct: "#pragma once\n" + "".join(f"#include {i}\n" for i in includes)
    + f"struct {struct} {{ int v; }};\n",
    st.lists(st.sampled_from(['"alpha.h"', '"beta.h"', "<geo/point.h>", "<missing.h>"]), max_size=2),
    st.sampled_from(["Alpha", "Beta", "Point"]),
)
go_file = st.builds(
    lambda package, imports, name: f"package {package}\n\n"
    + "".join(f'import "{i}"\n' for i in imports) + f"\n// {name} does it.\nfunc {name}() {{}}\n",
    st.sampled_from(["geometry", "main", "deep"]),
    st.lists(st.sampled_from(["example.com/s/src/geometry", "example.com/s/lib/deep", "example.com/s/src",
                              "fmt"]), max_size=2, unique=True),
    st.sampled_from(["Area", "TestArea", "scale"]),
)
rust_file = st.builds(
    lambda mods, uses, name: "".join(f"mod {m};\n" for m in mods)
    + "".join(f"use {u};\n" for u in uses) + f"\n/// {name} it.\npub fn {name}() {{}}\n",
    st.lists(st.sampled_from(NAMES), max_size=2, unique=True),
    st.lists(st.sampled_from(["crate::alpha::Area", "crate::geometry::beta::X", "super::gamma::Y",
                              "std::io::Read"]), max_size=2, unique=True),
    st.sampled_from(["area", "scale"]),
)
edit = st.one_of(
    st.tuples(st.just("go"), st.sampled_from(FOLDERS + ["lib/deep/geometry"]),
              st.sampled_from(NAMES + ["alpha_test"]), go_file),
    st.tuples(st.just("rust"), st.sampled_from(FOLDERS + ["src/alpha"]),
              st.sampled_from(NAMES + ["mod", "lib"]), rust_file),
    st.tuples(st.just("gomod"), st.sampled_from(["", "lib"]),
              st.sampled_from(["", "example.com/s", "example.com/other"]), st.just("")),
    st.tuples(st.just("header"), st.sampled_from(FOLDERS + ["include/geo"]), st.sampled_from(NAMES), header),
    st.tuples(st.just("write"), st.sampled_from(FOLDERS), st.sampled_from(NAMES), python_module),
    st.tuples(st.just("markdown"), st.sampled_from(FOLDERS), st.sampled_from(NAMES), markdown),
    st.tuples(st.just("binary"), st.sampled_from(FOLDERS), st.sampled_from(NAMES), st.just("")),
    st.tuples(st.just("delete"), st.sampled_from(FOLDERS), st.sampled_from(NAMES), st.just("")),
    st.tuples(st.just("rename"), st.sampled_from(FOLDERS), st.sampled_from(NAMES), st.sampled_from(NAMES)),
    st.tuples(st.just("move_folder"), st.sampled_from(["docs", "lib", "scripts"]),
              st.sampled_from(["manual", "lib2", "docs"]), st.just("")),
    st.tuples(st.just("manifest"), st.sampled_from(["", "geometry", "alpha", "lib"]),
              st.sampled_from(["geometry.io:main", "geometry.alpha:run", "lib.deep:main"]), st.just("")),
    st.tuples(st.just("config"), st.sampled_from(["", "pages:\n  index_split: 3\n",
                                                 "pages:\n  embed_source_bytes: 120\n",
                                                 "analysis:\n  max_bytes: 400\n",
                                                 "analysis:\n  include_roots: [include, src]\n"]),
              st.just(""), st.just("")),
)


def apply(root: Path, step: tuple[str, str, str, str]) -> None:
    action, a, b, c = step
    suffix = {"write": ".py", "header": ".h", "markdown": ".md", "binary": ".png", "go": ".go",
              "rust": ".rs"}.get(action)
    if suffix is not None:
        path = root / a / f"{b}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(PNG if action == "binary" else c.encode("utf-8"))
    elif action == "delete":
        for suffix in (".py", ".md", ".png", ".h", ".go", ".rs"):
            (root / a / f"{b}{suffix}").unlink(missing_ok=True)
    elif action == "rename":
        for suffix in (".py", ".md", ".png", ".h", ".go", ".rs"):
            source = root / a / f"{b}{suffix}"
            if source.exists():
                source.rename(root / a / f"{c}{suffix}")
    elif action == "move_folder":
        source, target = root / a, root / b
        if source.is_dir() and not target.exists():
            source.rename(target)
    elif action == "gomod":  # a go.mod at ROOT or in lib/, declaring a module path or removed
        gomod = root / a / "go.mod"
        if b:
            gomod.parent.mkdir(parents=True, exist_ok=True)
            gomod.write_text(f"module {b}\n\ngo 1.21\n", encoding="utf-8")
        else:
            gomod.unlink(missing_ok=True)
    elif action == "manifest":  # the project's name and entry point (the entry page's title, Start here)
        manifest = root / "pyproject.toml"
        if a:
            manifest.write_text(f'[project]\nname = "{a}"\n\n[project.scripts]\n{a}-run = "{b}"\n',
                                encoding="utf-8")
        else:
            manifest.unlink(missing_ok=True)
    elif action == "config":
        config = root / "docgraph.yaml"
        if a:
            config.write_text(a, encoding="utf-8")
        else:
            config.unlink(missing_ok=True)


GO = "package geometry\n\n// Area does it.\nfunc Area() {}\n"


@given(st.lists(st.lists(edit, min_size=1, max_size=3), min_size=1, max_size=3))
# a new folder holding only folders (lib/ above lib/deep/) in an incremental build: it has no
# ledger, and the model must not wait for one
@example([[("go", "src/geometry", "alpha", GO), ("go", "lib/deep", "alpha", GO)],
          [("manifest", "", "geometry.io:main", "")]])
def test_incremental_equals_clean(batches: list[list[tuple[str, str, str, str]]]) -> None:
    # every analysis's stat data kept by the ledgers, however new (see write_ledger), so their
    # reading of only what changed is what is tested here
    with tempfile.TemporaryDirectory() as tmp, patch("docgraph.actions.model.RACY_NS", 0):
        work = make_sample(Path(tmp) / "work")
        build(work)
        for batch in batches:
            for step in batch:
                apply(work, step)
            build(work)
        clean = Path(tmp) / "clean" / work.name  # the same folder name (a title of last resort)
        shutil.copytree(work, clean, ignore=shutil.ignore_patterns("repo-docs", ".docgraph"))
        build(clean)
        incremental, fresh = snapshot(work / "repo-docs"), snapshot(clean / "repo-docs")
        assert sorted(incremental) == sorted(fresh)
        assert [p for p in fresh if incremental[p] != fresh[p]] == []
        assert broken_links(work / "repo-docs") == []


git_step = st.one_of(
    st.tuples(st.just("git_commit"), st.just(""), st.just(""), st.just("")),
    st.tuples(st.just("git_restore"), st.sampled_from(FOLDERS), st.sampled_from(NAMES), st.just("")),
    st.tuples(st.just("git_reset_back"), st.just(""), st.just(""), st.just("")),
    st.tuples(st.just("backdate"), st.just(""), st.just(""), st.just("")),
    st.tuples(st.just("page_delete"), st.sampled_from(FOLDERS), st.sampled_from(NAMES), st.just("")),
)


def apply_git(root: Path, step: tuple[str, str, str, str]) -> None:
    """A step in a git work tree: a git command, a touch of the whole tree, or `apply`'s edits."""
    from .test_journal import backdate, commit_all, git

    action, a, b, _c = step
    if action == "git_commit":
        commit_all(root)
    elif action == "git_restore":  # a file back to HEAD's content: git then names it no more
        for suffix in (".py", ".md", ".png", ".h", ".go", ".rs"):
            if git(root, "ls-files", f"{a}/{b}{suffix}"):
                git(root, "checkout", "-q", "HEAD", "--", f"{a}/{b}{suffix}")
    elif action == "git_reset_back":  # HEAD moves back a commit, the tracked files with it
        if git(root, "rev-list", "--count", "HEAD").strip() != "1":
            git(root, "reset", "-q", "--hard", "HEAD~1")
    elif action == "backdate":  # nothing modified within the racy window: git's view decides
        backdate(root)
    elif action == "page_delete":  # a generated page deleted by hand (its folder changes)
        for suffix in (".py", ".md", ".h", ".go", ".rs"):
            (root / "repo-docs" / a / f"{b}{suffix}_docs.md").unlink(missing_ok=True)
    else:
        apply(root, step)


@given(st.lists(st.lists(st.one_of(edit, git_step), min_size=1, max_size=3), min_size=1, max_size=4),
       st.booleans())
# the touch of the whole tree changed the base stamp's mtime, which named the base of the delta
# then: the delta was dropped and the base alone, older than the last build, was used
@example([[("git_commit", "", "", ""), ("config", "", "", "")],
          [("git_reset_back", "", "", ""), ("backdate", "", "", "")]], False)
def test_incremental_equals_clean_in_a_git_tree(batches: list[list[tuple[str, str, str, str]]],
                                                pages_tracked: bool) -> None:
    """The same property where builds ask git what changed (docgraph.journal): edits, commits,
    files restored to HEAD, HEAD moved back, the tree touched, pages deleted."""
    from .test_journal import backdate, git_sample

    with tempfile.TemporaryDirectory() as tmp:
        work = git_sample(Path(tmp) / "work", pages_tracked)
        build(work)
        backdate(work)
        build(work)
        for batch in batches:
            for step in batch:
                apply_git(work, step)
            build(work)
        clean = Path(tmp) / "clean" / work.name
        shutil.copytree(work, clean, ignore=shutil.ignore_patterns("repo-docs", ".docgraph", ".git"))
        build(clean)
        incremental, fresh = snapshot(work / "repo-docs"), snapshot(clean / "repo-docs")
        assert sorted(incremental) == sorted(fresh)
        assert [p for p in fresh if incremental[p] != fresh[p]] == []
