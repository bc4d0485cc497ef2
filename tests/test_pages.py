"""Properties of the rendered pages of the sample repository that golden files would not explain."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

from .conftest import build, markdown_links

_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_CODE = re.compile(r"`+[^`]*`+")


def _prose_lines(page: str) -> set[str]:
    """Lines that carry sentences: not code, headings, tables or pure link lists."""
    out = set()
    fence = False
    for line in page.splitlines():
        if line.startswith(("```", "~~~")):
            fence = not fence
            continue
        if fence or not line.strip() or line.startswith(("#", "|", "<a id")):
            continue
        words = _CODE.sub("X", _LINK_TARGET.sub("]", line))
        if len(re.findall(r"[A-Za-z]{3,}", words)) >= 4:
            out.add(re.sub(r"\d[\d,.]*", "N", words.strip()))
    return out


def test_no_sentence_repeats_across_docs_pages_of_a_language(sample: Path) -> None:
    build(sample)
    out = sample / "repo-docs"
    by_language: dict[str, list[set[str]]] = defaultdict(list)
    for page in out.rglob("*_docs.md"):
        text = page.read_text(encoding="utf-8")
        language = re.search(r"\*\*Language\*\*: (.+)", text).group(1)  # type: ignore[union-attr]
        by_language[language].append(_prose_lines(text))
    offenders = []
    for language, pages in by_language.items():
        if len(pages) < 3:
            continue
        counts = Counter(line for lines in pages for line in lines)
        offenders += [f"{language}: {line}" for line, n in counts.items() if n == len(pages)]
    assert offenders == []


def test_security_notes_point_at_real_lines(sample: Path) -> None:
    build(sample)
    page = (sample / "repo-docs/src/geometry/io.py_docs.md").read_text()
    source = (sample / "src/geometry/io.py").read_text().splitlines()
    security = page.split("## Security & Safety", 1)[1].split("\n## ", 1)[0]
    lines = [int(n) for n in re.findall(r"io\.py#L(\d+)", security)]
    assert lines, security
    assert any("eval(" in source[n - 1] for n in lines)
    leaked = [p.name for p in (sample / "repo-docs").rglob("*") if p.is_file() and "sk-live" in p.read_text()]
    assert leaked == []  # named by kind and line, never reproduced: not in pages, not in the map
    assert "model.eval" not in security


def test_cpp_header_is_tested_by_the_googletest_file(sample: Path) -> None:
    build(sample)
    page = (sample / "repo-docs/include/geo/point.h_docs.md").read_text()
    assert "Tested by [`tests/test_point.cpp`]" in page
    assert "Included by" in page


def test_embedded_source_fence_survives_backticks(sample: Path) -> None:
    (sample / "fences.md").write_text("# Fences\n\n````\n```\ninner\n```\n````\n")
    build(sample)
    page = (sample / "repo-docs/fences.md_docs.md").read_text()
    assert "`````markdown\n# Fences" in page
    assert markdown_links(page) is not None


def test_a_keyword_page_that_lists_nothing_is_not_linked_as_if_it_did(sample: Path) -> None:
    build(sample)
    out = sample / "repo-docs"
    empty = (out / ".gitignore_kw.md").read_text(encoding="utf-8")
    assert "defines no identifier" in empty  # the page exists and says so in one line
    for page in ("index.md", ".gitignore_docs.md"):
        assert ".gitignore_kw.md" not in (out / page).read_text(encoding="utf-8"), page
    shapes = out / "src" / "geometry"
    assert "shapes.py_kw.md" in (shapes / "index.md").read_text(encoding="utf-8")
    assert "shapes.py_kw.md" in (shapes / "shapes.py_docs.md").read_text(encoding="utf-8")
