"""Golden tests: analysis facts and rendered pages of the sample repository."""

from __future__ import annotations

from pathlib import Path

from docgraph.analyzers import analyze
from docgraph.config import load
from docgraph.discover import BINARY, FILE, discover

from .conftest import broken_links, build, snapshot
from .golden import GOLDEN, compare_tree, dump_facts


def test_facts_match_golden(sample: Path) -> None:
    config = load(str(sample))
    dumps = {}
    for entry in discover(config).entries:
        if entry.kind in (FILE, BINARY):
            facts = analyze(entry.rel, (sample / entry.rel).read_bytes(), config.analysis)
            dumps[entry.rel + ".txt"] = dump_facts(facts).encode("utf-8")
    problems = compare_tree(dumps, GOLDEN / "facts")
    assert not problems, "\n".join(problems + ["regenerate: DOCGRAPH_UPDATE_GOLDEN=1 pytest tests/test_golden.py"])


def test_pages_match_golden(sample: Path) -> None:
    build(sample)
    problems = compare_tree(snapshot(sample / "repo-docs"), GOLDEN / "pages")
    assert not problems, "\n".join(problems + ["regenerate: DOCGRAPH_UPDATE_GOLDEN=1 pytest tests/test_golden.py"])


def test_every_relative_link_resolves(sample: Path) -> None:
    build(sample)
    assert broken_links(sample / "repo-docs") == []
