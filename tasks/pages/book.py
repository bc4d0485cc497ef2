"""`comprehensive_book.md`: a guide through the repository, built from folder and file facts.

One chapter per top-level folder, in dependency order (a folder that others reference comes
before them; cycles are broken by how much each folder is used), preceded by the root folder's
own files.  Each chapter walks its folders in path order with what their digests know: the
README or package docstring, the most referenced files with their descriptions, programs and
tests.  When the book is larger than `pages.book_part_bytes` it is split into numbered parts at
folder boundaries, and the first page keeps the introduction and the table of contents.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from .. import layout
from ..digests import FolderDigest
from . import RenderContext
from .markdown import anchor_id, bullets, code, fill, href, link, plural, prose, text

KEY_FILES = 5


_OTHER = {"binary": "binary file", "link": "symbolic link", "secret": "left-out secret file"}


def _folder_section(digest: FolderDigest, page: str, ctx: RenderContext, level: str,
                    about: bool = True) -> str:
    """A folder's section: its README or package docstring (unless the caller already showed
    it), its files counted and every one listed, its key files; empty when it has none of these
    (a folder that only holds folders gets no heading of its own)."""
    folder = digest.path
    lines = [f'{level} <a id="{anchor_id("folder", folder or ".")}"></a>{code(folder or "(repository root)")}']
    own = digest.readme_doc or digest.package_doc
    if own and about:
        lines.append(prose(own))
    text_files = [f for f in digest.files if f.kind == "file"]
    if digest.files:
        # every file the folder index lists, counted as it counts them
        langs = Counter(f.language for f in text_files)
        other = Counter(f.kind for f in digest.files if f.kind != "file")
        kinds = ([f"{plural(len(text_files), 'text file')} (" + ", ".join(
            f"{text(k)} {v:,}" for k, v in sorted(langs.items(), key=lambda kv: (-kv[1], kv[0]))) + ")"]
            if text_files else []) + [plural(n, _OTHER[k]) for k, n in sorted(other.items())]
        counted = plural(len(digest.files), "file") + (
            ": " + ", ".join(kinds) if other else kinds[0][kinds[0].index(" ("):])
        lines.append(counted + "; "
                     + link("index", ctx.page_href(page, layout.folder_page(folder, layout.FOLDER_INDEX)))
                     + " · " + link("folder guide", ctx.page_href(page, layout.folder_page(folder, layout.FOLDER_DOC))) + ".")
        # (every book page sits at the output root: a page's path is its link, and the cached
        # relative-link helper would only churn through one entry per file of the repository)
        lines.append("Files: " + ", ".join(
            link(code(f.name), href(layout.docs_page(f"{folder}/{f.name}" if folder else f.name)))
            if f.kind == "file" else code(f.name) for f in digest.files) + ".")
    by_name = {f.name: f for f in digest.files}
    items = []
    listed = set()
    for ranked in digest.main_modules[:KEY_FILES]:
        name = ranked.path.rpartition("/")[2]
        entry = by_name.get(name)
        if entry is None or entry.kind != "file":
            continue
        listed.add(name)
        description = f": {prose(entry.description)}" if entry.description else ""
        program = "; a program" if entry.entry_point else ""  # (said once, not as a second item)
        items.append(f"{link(code(name), ctx.page_href(page, layout.docs_page(ranked.path)))} "
                     f"(referenced by {plural(ranked.count, 'file')}{program}){description}")
    programs = [f for f in text_files if f.entry_point and f.name not in listed][:KEY_FILES]
    for entry in programs:
        rel = f"{folder}/{entry.name}" if folder else entry.name
        description = f": {prose(entry.description)}" if entry.description else ""
        items.append(f"program {link(code(entry.name), ctx.page_href(page, layout.docs_page(rel)))}{description}")
    tests = sum(1 for f in text_files if f.is_test)
    if tests:
        items.append(f"{plural(tests, 'test file')}")
    if items:
        lines.append(bullets(items))
    return "\n\n".join(lines) if len(lines) > 1 else ""


def _subtree(top: str, digests: dict[str, FolderDigest]) -> list[str]:
    return sorted(f for f in digests if f == top or f.startswith(top + "/"))


def render(plan: dict[str, Any], digests: dict[str, FolderDigest], stats: dict[str, object],
           ctx: RenderContext) -> dict[str, str]:
    """All pages of the book: {page path: text}.  Every page sits at the output root."""
    main = layout.BOOK
    chapters = [c for c in plan.get("chapters", []) if c in digests]
    uses: dict[str, Counter[str]] = {c: Counter() for c in chapters}
    used: dict[str, Counter[str]] = {c: Counter() for c in chapters}
    for a, b, n in plan.get("edges", []):
        if a in uses and b in used:
            uses[a][b] += n
            used[b][a] += n
    # each block: (anchor, TOC title, [markdown sections])
    blocks: list[tuple[str, str, list[str]]] = []
    root = digests.get("")
    if root is not None and root.files:
        sections = _folder_section(root, main, ctx, "###", about=False).split("\n\n")[1:]
        blocks.append(("chapter-.", "Files at the repository root",
                       ['## <a id="chapter-."></a>Files at the repository root'] + ["\n\n".join(sections)]))
    for number, top in enumerate(chapters, 1):
        relation = []
        for label, counter in (("Builds on", uses[top]), ("Used by", used[top])):
            if counter:
                relation.append(label + " " + ", ".join(
                    f"{code(k)} ({plural(v, 'reference')})"
                    for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))) + ".")
        folders = _subtree(top, digests)
        files = sum(1 for f in folders for e in digests[f].files if e.kind == "file")
        anchor = anchor_id("chapter", top)
        head = (f'## <a id="{anchor}"></a>Chapter {number}: {code(top)}\n\n'
                f"{plural(len(folders), 'folder')}, {plural(files, 'text file')}."
                + (" " + " ".join(relation) if relation else ""))
        blocks.append((anchor, f"Chapter {number}: {top}",
                       [head] + [s for s in (_folder_section(digests[f], main, ctx, "###")
                                             for f in folders) if s]))
    file_kinds = stats.get("files", {})
    count = sum(file_kinds.values()) if isinstance(file_kinds, dict) else 0
    intro = (f"A guide to the repository's {plural(count, 'documented file')} in "
             f"{plural(len(chapters), 'top-level folder')}, ordered so that what other folders "
             "build on comes first. " + link("Entry index", ctx.page_href(main, layout.FOLDER_INDEX))
             + " · " + link("A–Z keywords", ctx.page_href(main, layout.KEYWORDS)) + ".")
    if root is not None and root.readme_doc:
        intro += "\n\n" + prose(root.readme_doc)
    total = sum(len(s) for _, _, sections in blocks for s in sections)
    limit = ctx.settings.book_part_bytes
    if total <= limit:
        toc = bullets([link(text(title), "#" + anchor) for anchor, title, _ in blocks])
        body = "\n\n".join(s for _, _, sections in blocks for s in sections)
        return {main: fill("book.md", title="Comprehensive Book", intro=intro,
                           contents="## Contents\n\n" + toc if blocks else "", chapters=body)}
    # pack sections into parts of about `limit` bytes, never splitting a folder's section
    parts: list[list[str]] = [[]]
    starts: list[tuple[int, str, str]] = []  # (part number, anchor, title)
    size = 0
    for anchor, title, sections in blocks:
        for index, piece in enumerate(sections):
            if size + len(piece) > limit and parts[-1]:
                parts.append([])
                size = 0
            if index == 0:
                starts.append((len(parts), anchor, title))
            parts[-1].append(piece)
            size += len(piece)
    pages: dict[str, str] = {}
    for number, pieces in enumerate(parts, 1):
        page = layout.book_part_page(number)
        nav = [link("Contents", ctx.page_href(page, main))]
        if number > 1:
            nav.append(link("previous part", ctx.page_href(page, layout.book_part_page(number - 1))))
        if number < len(parts):
            nav.append(link("next part", ctx.page_href(page, layout.book_part_page(number + 1))))
        pages[page] = fill("book.md", title=f"Comprehensive Book, part {number}",
                           intro=" · ".join(nav), contents="", chapters="\n\n".join(pieces))
    toc = bullets([link(text(title), ctx.page_href(main, layout.book_part_page(number), anchor))
                   for number, anchor, title in starts])
    pages[main] = fill("book.md", title="Comprehensive Book", intro=intro,
                       contents=f"## Contents\n\nIn {plural(len(parts), 'part')}.\n\n" + toc, chapters="")
    return pages
