"""Pages as readers see them: every page of the sample rendered by cmark-gfm (GitHub's renderer)
and by Python-Markdown (MkDocs'), and the HTML checked.

- no backtick and no backslash escape shows in the visible text outside code;
- every `id` is unique on its page;
- every relative link resolves: the file exists and, for a `#fragment` into a generated page,
  that page has the id.
"""

from __future__ import annotations

import html
import posixpath
import re
import shutil
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path

import cmarkgfm
import markdown as python_markdown
import pytest
from cmarkgfm.cmark import Options

from .conftest import build

_ESCAPE = re.compile(r"\\[!-/:-@\[-`{-~]")


class _Page(HTMLParser):
    """Visible text outside code, ids, and link targets of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.in_code = 0
        self.text: list[str] = []
        self.ids: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("code", "pre"):
            self.in_code += 1
        if values.get("id"):
            self.ids.append(values["id"] or "")
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("code", "pre"):
            self.in_code -= 1

    def handle_data(self, data: str) -> None:
        if not self.in_code:
            self.text.append(data)


def gfm(text: str) -> str:
    """GitHub's rendering (raw HTML kept, as github.com keeps the anchors docgraph writes)."""
    return cmarkgfm.github_flavored_markdown_to_html(text, options=Options.CMARK_OPT_UNSAFE)


def mkdocs(text: str) -> str:
    """MkDocs' default rendering."""
    return python_markdown.markdown(text, extensions=["toc", "tables", "fenced_code"])


def parse(rendered: str) -> _Page:
    page = _Page()
    page.feed(rendered)
    page.close()
    return page


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from .conftest import make_sample

    root = make_sample(tmp_path_factory.mktemp("rendered") / "repo")
    build(root)
    out = root / "repo-docs"
    return {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8") for p in sorted(out.rglob("*.md"))}


@pytest.mark.parametrize("render", [gfm, mkdocs], ids=["cmark-gfm", "python-markdown"])
def test_no_markup_shows_in_visible_text(pages: dict[str, str], render: object) -> None:
    shown = []
    for name, text in pages.items():
        visible = "".join(parse(render(text)).text)  # type: ignore[operator]
        for bad in ("`", "&#", "&lt;", "&amp;"):
            if bad in visible:
                shown.append(f"{name}: {bad!r} in {visible[max(0, visible.index(bad) - 40):][:80]!r}")
        match = _ESCAPE.search(visible)
        if match:
            shown.append(f"{name}: escape {match.group()!r} in "
                         f"{visible[max(0, match.start() - 40):][:80]!r}")
    assert shown == []


def test_ids_are_unique_per_page(pages: dict[str, str]) -> None:
    duplicated = []
    for name, text in pages.items():
        ids = parse(gfm(text)).ids
        duplicated += [f"{name}: {i}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    assert duplicated == []


def test_every_link_and_anchor_resolves(pages: dict[str, str]) -> None:
    ids = {name: set(parse(gfm(text)).ids) for name, text in pages.items()}
    broken = []
    for name, text in pages.items():
        for target in parse(gfm(text)).links:
            if re.match(r"^[a-z]+:", target):
                continue
            path, _, fragment = html.unescape(target).partition("#")
            path = path.split("?", 1)[0]
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), path)) if path else name
            if resolved.startswith(".."):
                continue  # a source file: outside the output folder (test_golden checks those)
            if resolved not in pages:
                broken.append(f"{name} -> {target} (no such page)")
            elif fragment and fragment not in ids[resolved]:
                broken.append(f"{name} -> {target} (no such id)")
    assert broken == []


@pytest.mark.parametrize(("value", "shown"), [
    ("Defines `a_b`, `c`", "Defines <code>a_b</code>, <code>c</code>"),
    ("See [the docs](https://x.org/a_b) now", 'See <a href="https://x.org/a_b">the docs</a> now'),
    ("Visit https://x.org/a_b_c.", 'Visit <a href="https://x.org/a_b_c">https://x.org/a_b_c</a>.'),
    ("a < b | c ~ d & e * f_g", "a &lt; b | c ~ d &amp; e * f_g"),
    ("an `unclosed span", "an `unclosed span"),
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
])
@pytest.mark.parametrize("render", [gfm, mkdocs], ids=["cmark-gfm", "python-markdown"])
def test_prose_renders_alike(value: str, shown: str, render: object) -> None:
    from docgraph.pages.markdown import prose

    rendered = render(prose(value)).strip()  # type: ignore[operator]
    assert html.unescape(rendered.removeprefix("<p>").removesuffix("</p>")) == html.unescape(shown)


@pytest.mark.parametrize("render", [gfm, mkdocs], ids=["cmark-gfm", "python-markdown"])
def test_table_cell_with_a_pipe_in_code(render: object) -> None:
    from docgraph.pages.markdown import code, table, text

    rendered = render(table(["A", "B"], [[code("x | y"), text("p|q")]]))  # type: ignore[operator]
    cells = re.findall(r"<td>(.*?)</td>", rendered)
    assert [html.unescape(c) for c in cells] == ["<code>x | y</code>", "p|q"]


@pytest.mark.parametrize("render", [gfm, mkdocs], ids=["cmark-gfm", "python-markdown"])
def test_file_pages_open_with_the_analysis_and_end_with_the_collapsed_source(
        pages: dict[str, str], render: object) -> None:
    checked = 0
    for name, text in pages.items():
        if not name.endswith("_docs.md") or "Original Source" not in text:
            continue
        rendered = render(text)  # type: ignore[operator]
        first = re.search(r"<p>(.*?)</p>", rendered, re.DOTALL)
        assert first and ">repository</a> › " in first.group(1), name  # the breadcrumb
        source = rendered.index("Original Source</h2>")
        for heading in ("High-Level Overview", "File Purpose", "Detailed Analysis", "Dependencies"):
            if f"{heading}</h2>" in rendered:
                assert rendered.index(f"{heading}</h2>") < source, (name, heading)
        tail = rendered[source:]
        if "<details>" in tail:
            assert re.search(r"<details>\s*<summary>[^<]+</summary>\s*<pre", tail), name
            checked += 1
    assert checked >= 10


def test_source_links_follow_pages_source_url(tmp_path: Path) -> None:
    from .conftest import make_sample

    root = make_sample(tmp_path / "repo")
    with (root / "docgraph.yaml").open("a") as handle:
        handle.write("pages:\n  source_url: https://github.com/ORG/REPO/blob/main\n")
    build(root)
    page = (root / "repo-docs/docs/guide.md_docs.md").read_text(encoding="utf-8")
    assert "](https://github.com/ORG/REPO/blob/main/docs/guide.md)" in page
    # GitHub renders Markdown: a line link needs ?plain=1 to land on the line
    assert "](https://github.com/ORG/REPO/blob/main/docs/guide.md?plain=1#L1)" in page
    code_page = (root / "repo-docs/src/geometry/shapes.py_docs.md").read_text(encoding="utf-8")
    assert "](https://github.com/ORG/REPO/blob/main/src/geometry/shapes.py#L16)" in code_page
    assert "](../../../src/" not in code_page  # no relative link into the sources is left


@pytest.mark.slow
def test_mkdocs_builds_the_output_strictly(tmp_path: Path) -> None:
    """`mkdocs build --strict` over the output folder, with `pages.source_url` set and a
    two-line mkdocs.yml, finishes without a warning."""
    import subprocess
    import sys

    from .conftest import make_sample

    root = make_sample(tmp_path / "repo")
    with (root / "docgraph.yaml").open("a") as handle:
        handle.write("pages:\n  source_url: https://github.com/ORG/REPO/blob/main/\n")
    build(root)
    (root / "mkdocs.yml").write_text("site_name: sample\ndocs_dir: repo-docs\n")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d",
                             str(tmp_path / "site")], cwd=root, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr + result.stdout
    assert (tmp_path / "site" / "src" / "geometry" / "shapes.py_docs" / "index.html").exists()


@pytest.mark.parametrize(("value", "accepted"), [
    ("", ""),
    ("https://github.com/ORG/REPO/blob/main", "https://github.com/ORG/REPO/blob/main/"),
    ("github.com/ORG/REPO", None),
    ("https://", None),
])
def test_source_url_setting(tmp_path: Path, value: str, accepted: str | None) -> None:
    from docgraph.config import load
    from docgraph.errors import ConfigError

    (tmp_path / "docgraph.yaml").write_text(f"pages:\n  source_url: {value!r}\n")
    if accepted is None:
        with pytest.raises(ConfigError, match="source_url"):
            load(str(tmp_path))
    else:
        assert load(str(tmp_path)).pages.source_url == accepted


def test_cpp_symbols_read_as_declared_with_one_anchor_each(tmp_path: Path) -> None:
    from .conftest import make_sample

    root = make_sample(tmp_path / "repo")
    (root / "include" / "box.h").write_text(
        "#pragma once\n"
        "/// \\brief A box of one value.\n"
        "template <typename T>\n"
        "struct Box : public Base {\n"
        "  Box();\n"
        "  Box(int v);\n"
        "  template <typename U> U get(U u);\n"
        "  Box &operator=(const Box &) = delete;\n"
        "  static constexpr const char *name() { return \"box\"; }\n"
        "  template <typename V,\n"
        "            // NOLINTNEXTLINE(misc): not part of the signature\n"
        "            typename W = std::enable_if_t<std::is_same<V, int>::value && "
        "std::is_constructible<Box, V>::value && std::is_trivially_copyable<V>::value>,\n"
        "            typename X = std::conditional_t<sizeof(V) == 4, std::int32_t, std::int64_t>>\n"
        "  explicit Box(V &&v);\n"
        "};\n"
        "PYBIND11_NOINLINE void flush();\n")
    build(root)
    page = (root / "repo-docs/include/box.h_docs.md").read_text(encoding="utf-8")
    rendered = gfm(page)
    assert "<code>template &lt;typename T&gt; struct Box : Base</code>" in rendered
    assert "<code>template &lt;typename U&gt; U Box::get(U u)</code>" in rendered
    assert "<code>void flush()</code>" in rendered
    # specifiers and the declarator's * and & stand before the name, as declared
    assert "<code>Box &amp;Box::operator=(const Box &amp;)</code>" in rendered
    assert "<code>static constexpr const char *Box::name()</code>" in rendered
    # a long template head: no comment, shortened at a parameter, still closed before the name
    head = re.search(r"<code>(template &lt;typename V, [^<]*) explicit Box::Box\(V &amp;&amp;v\)</code>",
                     rendered)
    assert head is not None and head.group(1).endswith("…&gt;") and "NOLINT" not in head.group(1)
    ids = parse(rendered).ids
    assert len(ids) == len(set(ids)) and {"sym-Box-3a--3a-Box", "sym-Box-3a--3a-Box-2"} <= set(ids)
    analysis = rendered.split("<details>")[0]
    assert "A box of one value." in analysis and "\\brief" not in analysis
    assert "blanked" not in page and "Module-level" not in page
    keywords = (root / "repo-docs/include/box.h_kw.md").read_text(encoding="utf-8")
    assert "box.h_docs.md#sym-Box-3a--3a-Box-2)" in keywords


def test_every_keyword_page_lists_something_or_says_it_has_nothing(pages: dict[str, str]) -> None:
    empty = [name for name, text in pages.items() if name.endswith("_kw.md")
             and not re.search(r"^## (?!File Information)", text, re.MULTILINE)
             and "defines no identifier, heading or key" not in text]
    assert empty == []
    assert any("## Headings" in t for n, t in pages.items() if n.endswith(".md_kw.md"))


def test_a_page_counts_the_same_files_everywhere() -> None:
    from docgraph.analyzers import analyze
    from docgraph.config import load
    from docgraph.facts import FileXref, Link
    from docgraph.pages import RenderContext
    from docgraph.pages.file_docs import render

    settings = load(str(Path(__file__).parent))
    facts = analyze("pkg/core.py", b'"""Core."""\n', settings.analysis)
    users = (Link("pkg/a.py", "import", True), Link("pkg/a.py", "from", True),
             Link("pkg/b.py", "from", True), Link("pkg/c.py", "from", True),
             Link("docs/x.md", "link", True))
    page = render(facts, FileXref("pkg/core.py", used_by=users), None,
                  RenderContext("..", settings.pages))
    assert "imported by 3 files, linked by 1 file." in page
    assert "**Imported by** (3)" in page and "**Linked from** (1)" in page
    assert "Builds on" not in page  # nothing to build on: no "0 repository files"


def test_keyword_index_has_letter_headings_and_no_repeated_column(pages: dict[str, str]) -> None:
    rendered = gfm(pages["keywords.md"])
    ids = set(parse(rendered).ids)
    jump = re.findall(r'<a href="#(letter-[a-z]+)">', rendered)
    assert len(jump) > 3 and set(jump) <= ids
    heads = re.findall(r"<th>([^<]*)</th>", rendered.split("</thead>")[0])
    assert heads == ["Identifier", "Kind", "Defined in", "Imported by"]
    # a method is listed as Class.method, under its own name's letter, linked to its entry
    letter_a = rendered.split('id="letter-a"')[1].split('id="letter-b"')[0]
    assert ('<a href="src/geometry/shapes.py_docs.md#sym-Circle.area"><code>Circle.area</code></a>'
            in letter_a)
    assert "Point::norm" in rendered.split('id="letter-n"')[1]  # C++ members as C++ writes them
    # paths may wrap after a slash: no path widens the table past GitHub's column
    assert '<a href="../src/geometry/shapes.py#L33">src/<wbr>geometry/<wbr>shapes.py:33</a>' in rendered
    # a folder's index shows where a name is defined below the folder (the title names it), the
    # same line linked; its importers, from anywhere, by their whole paths
    sub = gfm(pages["src/sub.md"])
    assert "Keywords of <code>src</code> and below" in sub
    assert '<a href="../../src/geometry/shapes.py#L33">geometry/<wbr>shapes.py:33</a>' in sub
    circle = next(row for row in sub.split("<tr>") if "#sym-Circle\"" in row)
    assert ('<a href="../tests/test_shapes.py_docs.md">tests/<wbr>test_shapes.py</a>' in circle
            and '<a href="geometry/io.py_docs.md">src/<wbr>geometry/<wbr>io.py</a>' in circle)
    index = gfm(pages["src/geometry/index.md"])
    assert ">docs</a>" not in index  # the file name itself links its docs page


def test_entry_page_and_book_orient_a_reader(pages: dict[str, str]) -> None:
    entry = pages["index.md"]
    start = entry.split("## Start here", 1)[1].split("\n## ", 1)[0]
    assert "(README.md_docs.md)" in start and "(docs/doc.md)" in start
    assert entry.index("A small library") < entry.index("Documented:")  # the project first
    book = pages["comprehensive_book.md"]
    assert book.count("A small library of 2-D shapes") == 2  # the intro, and README.md's entry
    assert not re.search(r"^### .*\n\n(?=##)", book, re.MULTILINE)  # no empty heading
    items = re.findall(r"^- .*$", book, re.MULTILINE)  # no file described twice in one section
    assert not any(a.split(":", 1)[1:] == b.split(":", 1)[1:] and a.split(":", 1)[1:] for a, b in pairwise(items))
    assert "(referenced by 3 files; a program)" in book
    for name in pages:  # every documented file of the sample is listed in the book
        if name.endswith("_docs.md"):
            assert f"({name})" in book, name


@pytest.mark.parametrize("files, title", [
    ({"pyproject.toml": '[project]\nname = "shapely-geo"\n', "package.json": '{"name": "js-name"}',
      "README.md": "# Readme Title\n\nWords.\n"}, "shapely-geo"),
    ({"pyproject.toml": '[tool.poetry]\nname = "poetic"\nversion = "1"\n'}, "poetic"),
    ({"package.json": '{"name": "@scope/widget", "main": "lib/index.js"}'}, "@scope/widget"),
    ({"setup.cfg": "[metadata]\nname = cfg-named\n"}, "cfg-named"),
    ({"setup.py": 'from setuptools import setup\nsetup(name="setup-named", version="1")\n'},
     "setup-named"),
    ({"CMakeLists.txt": "cmake_minimum_required(VERSION 3.15)\nproject(NativeLib CXX)\n"}, "NativeLib"),
    ({"README.rst": "My Title\n========\n\nA library of things.\n"}, "My Title"),
    ({"notes.txt": "nothing names this project\n"}, "folder-named"),
])
def test_entry_page_title_is_the_declared_project_name(tmp_path: Path, files: dict[str, str],
                                                       title: str) -> None:
    root = tmp_path / "folder-named"
    root.mkdir()
    for name, content in files.items():
        (root / name).write_text(content, encoding="utf-8")
    build(root)
    rendered = gfm((root / "repo-docs/index.md").read_text(encoding="utf-8"))
    assert rendered.startswith(f"<h1>{html.escape(title, quote=False)}</h1>")


def test_entry_page_starts_a_reader_at_the_package_commands_guides_and_examples(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    files = {
        "pyproject.toml": '[project]\nname = "Shop-Kit"\n\n[project.scripts]\nshop = "shop_kit.cli:main"\n',
        "README.md": "![logo](logo.png)\n\n# Shop kit\n\nSells things. [Docs](https://example.org/docs)\n",
        "src/shop_kit/__init__.py": '"""The shop."""\nfrom .cart import Cart\n',
        "src/shop_kit/cart.py": "class Cart:\n    def add(self, item): ...\n",
        "src/shop_kit/cli.py": "from shop_kit.cart import Cart\n\ndef main(): ...\n",
        "tests/test_cart.py": "from shop_kit.cart import Cart\n\ndef test_add():\n    Cart().add(1)\n",
        "tests/shop_kit/helper.py": "def helper(): ...\n",  # named like the project, but tests
        "docs/index.md": "# Shop kit\n\nSee the [quickstart](quickstart.md).\n",
        "docs/quickstart.md": "# Quickstart\n\nInstall it, then sell.\n",
        "docs/reference.md": "# Reference\n\nEvery class.\n",
        "examples/demo.py": "from shop_kit import Cart\n",
        "CHANGES.md": "# Changes\n\nVersion 1.\n",
    }
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content, encoding="utf-8")
    build(root)
    page = (root / "repo-docs/index.md").read_text(encoding="utf-8")
    rendered = gfm(page)
    assert rendered.startswith("<h1>Shop-Kit</h1>")
    start = rendered.split("Start here</h2>", 1)[1].split("<h2>", 1)[0]
    targets = re.findall(r'<li><a href="([^"]+)">', start)
    assert targets[:6] == ["README.md_docs.md", "src/shop_kit/doc.md", "src/shop_kit/cli.py_docs.md",
                           "docs/quickstart.md_docs.md", "docs/doc.md", "examples/doc.md"]
    assert "<code>shop</code>" in start and "Quickstart" in start
    assert "tests/shop_kit" not in start and "CHANGES.md" not in start and "reference.md" not in start
    # the README's links stay links in the first paragraph
    assert '<a href="https://example.org/docs">Docs</a>' in rendered.split("<h2>")[0]
    # the manifest's entry point is a reference both ways
    manifest = (root / "repo-docs/pyproject.toml_docs.md").read_text(encoding="utf-8")
    assert "(src/shop_kit/cli.py_docs.md) (entry point) — `shop`" in manifest
    cli = (root / "repo-docs/src/shop_kit/cli.py_docs.md").read_text(encoding="utf-8")
    assert "**Entry point declared by** (1): [`pyproject.toml`]" in cli
    # renaming the project re-renders the entry page, incrementally as a clean build would
    (root / "pyproject.toml").write_text('[project]\nname = "renamed"\n', encoding="utf-8")
    report = build(root)
    assert "index.md" in report["pages_written"]
    page = (root / "repo-docs/index.md").read_text(encoding="utf-8")
    assert page.startswith("# renamed\n") and "cli.py_docs.md): the entry point" not in page


def test_folder_counts_agree_between_the_index_and_the_book(pages: dict[str, str]) -> None:
    """One number per folder: the files its index counts are the files the book counts."""
    book = gfm(pages["comprehensive_book.md"])
    sections = re.findall(r'<h3><a id="folder-[^"]+"></a><code>([^<]+)</code></h3>\n(?:<p>(?!\d).*?</p>\n)?'
                          r"<p>(\d+) files?\b", book)
    assert len(sections) > 5
    for folder, count in sections:
        index = gfm(pages[f"{folder}/index.md"])
        assert re.search(rf"<p>{count} files? and ", index), folder


def test_a_large_letter_is_split_into_parts_of_bounded_rows(tmp_path: Path) -> None:
    """A letter with more rows than `pages.index_split` lists its parts (first and last name of
    each); every part holds at most that many rows and links to its neighbours; a letter that
    shrinks back under the limit loses its parts, and the result is what a clean build writes."""
    from .conftest import broken_links, make_sample, snapshot

    root = make_sample(tmp_path / "repo")
    (root / "docgraph.yaml").write_text("pages:\n  index_split: 2\n", encoding="utf-8")
    build(root)
    out = root / "repo-docs"
    letter = (out / "keywords-s.md").read_text(encoding="utf-8")
    parts = sorted(out.glob("keywords-s-*.md"))
    assert len(parts) >= 2 and f"In {len(parts)} parts:" in letter
    # each page's heading names its letter, and a part's its place (tabs, MkDocs' navigation)
    assert "<h1>Keyword Index: S</h1>" in gfm(letter)
    folder_letters = [p for p in out.rglob("sub-*.md") if not re.search(r"-\d+\.md$", p.name)]
    assert folder_letters
    for page in folder_letters:
        folder, bucket = page.parent.relative_to(out).as_posix(), page.stem[len("sub-"):]
        label = "Other" if bucket == "other" else bucket.upper()
        assert f"<h1>Keywords of <code>{folder}</code> and below: {label}</h1>" in gfm(
            page.read_text(encoding="utf-8"))
    for number, part in enumerate(parts, 1):
        text = (out / f"keywords-s-{number}.md").read_text(encoding="utf-8")
        rows = [line for line in text.splitlines() if line.startswith("| [")]
        assert 1 <= len(rows) <= 2
        assert f"Part {number} of {len(parts)}" in text
        assert f"<h1>Keyword Index: S, part {number} of {len(parts)}</h1>" in gfm(text)
        shown = " ".join(parse(gfm(text)).text)
        assert "all parts" in shown and ("next" in shown) == (number < len(parts))
    assert broken_links(out) == []
    (root / "docgraph.yaml").write_text("pages:\n  index_split: 1000\n", encoding="utf-8")
    build(root)
    assert not list(out.glob("keywords-s-*.md"))
    clean = tmp_path / "clean"
    shutil.copytree(root, clean, ignore=shutil.ignore_patterns("repo-docs", ".docgraph"))
    build(clean)
    assert snapshot(out) == snapshot(clean / "repo-docs")
