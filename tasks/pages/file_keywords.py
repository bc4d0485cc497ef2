"""The `<file>_kw.md` page: what a file defines (identifiers, a document's headings, a data file's
top-level keys) and what it imports; one line says so when it defines nothing.

Only definitions a parser reported are listed (never words taken from prose, which is what the
old system's "keywords" were); each links to its definition line in the source and to its entry
in the docs page.
"""

from __future__ import annotations

from collections import defaultdict

from .. import layout
from ..facts import FileFacts, Symbol
from . import RenderContext
from .file_docs import kind_rank, symbol_anchors, symbol_section
from .markdown import bullets, code, fill, link, plural, section, table, text


def _group_title(kind: str) -> str:
    plural = kind[:-1] + "ies" if kind.endswith("ty") else kind + (
        "es" if kind.endswith(("s", "sh", "ch")) else "s")
    return plural[:1].upper() + plural[1:]


def render(facts: FileFacts, ctx: RenderContext) -> str:
    """The `_kw.md` page of one text file."""
    page = layout.kw_page(facts.path)
    docs = layout.docs_page(facts.path)
    folder = layout.split(facts.path)[0]
    info = section("File Information", bullets([
        f"**Original file**: {link(code(facts.path), ctx.source_href(page, facts.path))}",
        f"**Documentation**: {link(code(docs.rpartition('/')[2]), ctx.page_href(page, docs))}",
        f"**Folder**: {link(code(folder or '(repository root)'), ctx.page_href(page, layout.folder_page(folder, layout.FOLDER_INDEX)))}",
    ]))
    by_kind: dict[str, list[tuple[Symbol, str]]] = defaultdict(list)
    for symbol, anchor in zip(facts.symbols, symbol_anchors(facts.symbols), strict=True):
        by_kind[symbol.kind].append((symbol, anchor))
    groups = []
    for kind in sorted(by_kind, key=lambda k: (kind_rank(k), k)):
        symbols = by_kind[kind]
        section_label = text(symbol_section(symbols[0][0], facts.language))  # the section follows from the kind
        rows = [[code(s.qualname), link(f"line {s.line}", ctx.source_href(page, facts.path, s.line)),
                 link(section_label, ctx.page_href(page, docs, a))]
                for s, a in sorted(symbols, key=lambda sa: (layout.sort_key(sa[0].qualname), sa[0].line))]
        groups.append(f"### {_group_title(kind)}\n\n"
                      + table(["Identifier", "Defined at", "Documented in"], rows))
    keywords = ""
    if groups:
        total = plural(len(facts.symbols), "identifier")
        keywords = section("Keywords", f"{total} defined in this file, grouped by kind.", *groups)
    imports = ""
    if facts.imports:
        seen: dict[str, list[int]] = {}
        for imp in facts.imports:
            target = "." * imp.level + imp.module
            label = f"{target} ({', '.join(imp.names[:8])}{'…' if len(imp.names) > 8 else ''})" \
                if imp.names else target
            seen.setdefault(f"{imp.kind}\0{label}", []).append(imp.line)
        rows = []
        for key_, lines in seen.items():
            kind, label = key_.split("\0", 1)
            where = ", ".join(link(str(n), ctx.source_href(page, facts.path, n)) for n in lines[:5])
            rows.append([code(label), text(kind), where])
        imports = section("Imports", table(["Target", "Kind", "Lines"], rows))
    headings = ""
    if facts.headings:
        rows = [[text(h.title) or code(""), str(h.level),
                 link(f"line {h.line}", ctx.source_href(page, facts.path, h.line))]
                for h in facts.headings]
        headings = section("Headings", f"{plural(len(facts.headings), 'heading')} in document order.",
                           table(["Heading", "Level", "Line"], rows))
    keys = section("Top-level keys", ", ".join(code(k) for k in facts.keys)) if facts.keys else ""
    nothing = ""
    if not (keywords or headings or keys or imports):
        nothing = (f"{code(facts.path)} defines no identifier, heading or key that docgraph "
                   "indexes, and imports nothing.")
    return fill("file_kw.md", title=code(facts.path), info=info, nothing=nothing,
                keywords=keywords, headings=headings, keys=keys, imports=imports)
