"""The `<file>_docs.md` page: every section filled from the file's facts and cross-references.

A breadcrumb line opens the page (repository › folders › file, the folder guide, the keyword
page); the analysis follows (purpose, overview, detailed analysis, architecture, dependencies,
patterns, performance, security, testing & usage, related files, metadata, cross-references), and
the original source comes last, collapsed, so a long file does not bury it.  A section with nothing true to say is left out entirely; no sentence is
written that would read the same on every file of a kind.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from .. import languages, layout
from ..facts import FileFacts, FileXref, Link, Note, Symbol
from . import RenderContext
from .markdown import (
    anchor_id,
    bullets,
    code,
    fence,
    fill,
    kind_text,
    link,
    plural,
    prose,
    section,
    table,
    text,
)

KIND_ORDER = ("namespace", "module", "class", "struct", "union", "enum", "interface", "protocol",
              "trait", "record", "object", "companion object", "extension", "actor", "annotation type", "type",
              "delegate", "impl", "test", "function", "function declaration", "kernel", "kernel declaration", "fixture",
              "method", "property", "nested function", "constructor", "destructor", "macro", "typedef", "type alias", "type variable", "constant",
              "variable", "static", "field", "event", "case", "singleton method", "job", "script", "target", "stage")
NOTES_SHOWN = 8


def kind_rank(kind: str) -> int:
    """Position of a symbol kind in listings (unknown kinds last)."""
    return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)


_TYPES = {"class", "struct", "union", "enum", "interface", "protocol", "namespace", "module",
          "trait", "record", "object", "companion object", "extension", "actor", "annotation type",
          "type", "delegate"}
_MEMBERS = {"method", "property", "constructor", "destructor", "field", "event", "case",
            "singleton method"}
_FUNCTIONS = {"function", "function declaration", "kernel", "kernel declaration", "fixture",
              "nested function", "test"}


def symbol_section(symbol: Symbol, language: str = "") -> str:
    """Heading (in the docs page) under which a symbol is described (the last one is worded by
    the file's language: Python's "Module-level names", Go's "Package-level names")."""
    if symbol.kind in _TYPES or symbol.kind in _MEMBERS:
        return "Classes and types"
    if symbol.kind in _FUNCTIONS:
        return "Functions"
    return languages.wording(language).top_level


def _source_link(ctx: RenderContext, page: str, rel: str, line: int, label: str = "") -> str:
    return link(label or f"line {line}", ctx.source_href(page, rel, line))


def _file_link(ctx: RenderContext, page: str, other: Link | str, has_page: bool = True) -> str:
    path = other.path if isinstance(other, Link) else other
    has = other.has_page if isinstance(other, Link) else has_page
    if has:
        return link(code(path), ctx.page_href(page, layout.docs_page(path)))
    return link(code(path), ctx.source_href(page, path))


def _metadata(facts: FileFacts, ctx: RenderContext, page: str) -> str:
    items = [
        f"**Path**: {link(code(facts.path), ctx.source_href(page, facts.path))}",
        f"**Language**: {text(facts.language)}",
        f"**Size**: {facts.size:,} bytes, {plural(facts.line_count, 'line')}",
    ]
    if facts.encoding:
        items.append(f"**Encoding**: {code(facts.encoding)}")
    if not facts.parsed:
        items.append(f"**Parser**: does not parse — {text(facts.parse_error)}")
    if facts.skipped:
        items.append(f"**Analysis**: not analysed — {text(facts.skipped)}")
    for finding in facts.findings:
        if "U+FFFD" in finding.message or "decoded as" in finding.message:
            items.append(f"**Decoding**: {text(finding.message)}")
    return section("File Metadata", bullets(items))


def _purpose(facts: FileFacts, page: str, ctx: RenderContext) -> str:
    parts = []
    if facts.doc:
        parts.append(prose(facts.doc))
    wording = languages.wording(facts.language)
    facts_lines = []
    if facts.interpreter:
        facts_lines.append(f"Runs as a program under {code(facts.interpreter)} (its `#!` line).")
    elif facts.entry_point and wording.entry_point:
        facts_lines.append(wording.entry_point)
    if facts.tests:
        kinds = Counter("fixture" if any(s.qualname == t and s.kind == "fixture"
                                         for s in facts.symbols) else "test" for t in facts.tests)
        described = ", ".join(plural(n, k) for k, n in sorted(kinds.items()))
        facts_lines.append(f"{wording.tests}: defines {described} that the test runners collect.")
    if facts.exports and wording.exports:
        facts_lines.append(f"Declares {plural(len(facts.exports), 'public name')} {wording.exports}.")
    if facts_lines:
        parts.append(" ".join(facts_lines))
    return section("File Purpose", *parts)


def _source(facts: FileFacts, source_text: str | None, ctx: RenderContext, page: str) -> str:
    if source_text is None:
        return ""
    limit = ctx.settings.embed_source_bytes
    data = source_text
    note = ""
    encoded_size = len(source_text.encode("utf-8"))
    if encoded_size > limit:
        cut = source_text.encode("utf-8")[:limit].decode("utf-8", "ignore")
        newline = cut.rfind("\n")
        data = cut[: newline + 1] if newline >= 0 else ""
        shown_lines = data.count("\n")
        note = (f"Showing the first {plural(shown_lines, 'line')} ({len(data.encode('utf-8')):,} "
                f"of {encoded_size:,} bytes, limit `pages.embed_source_bytes`); "
                f"{plural(facts.line_count - shown_lines, 'more line')} are in the "
                f"{link('source file', ctx.source_href(page, facts.path, shown_lines + 1))}.")
    if not data and not note:
        return section("Original Source", "The file is empty.")
    language = languages.fence(facts.language)
    # collapsed, so the analysis above is what a reader meets; both renderers read the fence
    # inside the HTML block (cmark-gfm ends the block at the blank line, Python-Markdown's
    # fenced_code runs before its raw-HTML stage)
    shown = (f"<details>\n<summary>{plural(data.count(chr(10)), 'line')}</summary>\n\n"
             f"{fence(data, language)}\n\n</details>") if data else ""
    return section("Original Source", shown, note)


def _breadcrumb(facts: FileFacts, ctx: RenderContext, page: str) -> str:
    """repository › folders › file, then the folder guide and the keyword page."""
    *folders, name = facts.path.split("/")
    trail = [link("repository", ctx.page_href(page, layout.FOLDER_INDEX))]
    for depth in range(len(folders)):
        folder = "/".join(folders[:depth + 1])
        trail.append(link(code(folders[depth]),
                          ctx.page_href(page, layout.folder_page(folder, layout.FOLDER_INDEX))))
    trail.append(code(name))
    folder = "/".join(folders)
    keywords = (" · " + link("keywords", ctx.page_href(page, layout.kw_page(facts.path)))) \
        if facts.lists_keywords else ""
    return (" › ".join(trail) + " · "
            + link("folder guide", ctx.page_href(page, layout.folder_page(folder, layout.FOLDER_DOC)))
            + keywords)


def _overview(facts: FileFacts) -> str:
    counts = Counter(s.kind for s in facts.symbols)
    items = []
    if facts.description and not facts.doc.startswith(facts.description.rstrip("…")):
        items.append(prose(facts.description))  # (else the purpose above already says it)
    if counts:
        ordered = sorted(counts.items(), key=lambda kv: (kind_rank(kv[0]), kv[0]))
        items.append("Defines " + ", ".join(plural(n, k, k + "es" if k.endswith(("s", "sh", "ch"))
                                                   else k[:-1] + "ies" if k.endswith("ty")
                                                   else None) for k, n in ordered) + ".")
    if facts.imports:
        kinds = Counter(i.kind for i in facts.imports)
        label = {"import": "import statement", "from": "from-import", "include": "include",
                 "link": "link to a repository file", "source": "sourced script",
                 "subdirectory": "subdirectory", "use": "use declaration",
                 "entry": "declared entry point",
                 "mod": "module declaration", "using": "using directive", "require": "require",
                 "require_relative": "require_relative", "package": "own package (test file)",
                 "subject": "tested class named by convention"}
        items.append("References: " + ", ".join(
            plural(n, label.get(k, k), "links to repository files" if k == "link" else None)
            for k, n in sorted(kinds.items())) + ".")
    if facts.headings:
        items.append(f"{plural(len(facts.headings), 'heading')}, "
                     f"{plural(len(facts.code_blocks), 'code block')}"
                     + (" (" + ", ".join(f"{code(lang)} ×{n}" for lang, n in
                                          sorted(Counter(b or 'plain' for b in
                                                         facts.code_blocks).items())) + ")"
                        if facts.code_blocks else "") + ".")
    if facts.keys:
        shown = ", ".join(code(k) for k in facts.keys[:12])
        more = f" and {len(facts.keys) - 12} more" if len(facts.keys) > 12 else ""
        items.append(f"Top-level keys: {shown}{more}.")
    return section("High-Level Overview", "\n\n".join(items))


def symbol_anchors(symbols: tuple[Symbol, ...]) -> list[str]:
    """One id per symbol, unique on its page: the first definition of a name gets `sym-<name>`
    (what other pages link to); later ones (C++ overloads, a property's setter, a conditional
    redefinition) `sym-<name>-2`, `-3`, ... in source order."""
    anchors = [anchor_id("sym", s.qualname) for s in symbols]
    if len(set(anchors)) == len(anchors):
        return anchors
    used = set(anchors)
    seen: set[str] = set()
    unique = []
    for anchor in anchors:
        if anchor in seen:
            number = 2
            while f"{anchor}-{number}" in used:
                number += 1
            anchor = f"{anchor}-{number}"
            used.add(anchor)
        seen.add(anchor)
        unique.append(anchor)
    return unique


_BASES = {"c": " : ", "cpp": " : ", "cuda": " : ", "csharp": " : ", "kotlin": " : ", "swift": " : ",
          "ruby": " < "}


def _declared(symbol: Symbol, fence_name: str) -> str:
    """The symbol as declared: a C++ template head before the name it belongs to, bases as the
    language writes them (`Circle(Shape)` in Python, `Box : Base` in C++, `View extends Base`)."""
    head, signature = "", symbol.signature
    if signature.startswith("template <"):
        depth = parens = 0  # a `<` or `>` inside parentheses compares (`= (N < 19)`): not counted
        for index, char in enumerate(signature):
            parens += (char == "(") - (char == ")")
            if parens:
                continue
            depth += (char == "<") - (char == ">")
            if char == ">" and depth == 0:
                head, signature = signature[:index + 1] + " ", signature[index + 1:].strip()
                break
    if fence_name in ("c", "cpp", "cuda") and " -> " in signature:
        params, _, returns = signature.rpartition(" -> ")  # the analyzer's order; C's is this:
        glue = "" if returns.endswith(("*", "&")) else " "  # `char *name()`, as C++ is written
        return f"{head}{returns}{glue}{symbol.qualname}{params}"
    if fence_name in ("c", "cpp", "cuda") and head and symbol.kind in ("class", "struct", "union"):
        bases = f" : {', '.join(symbol.bases)}" if symbol.bases else ""
        return f"{head}{symbol.kind} {symbol.qualname}{bases}"  # `template <...> class X`
    if symbol.bases and not signature:
        bases = ", ".join(symbol.bases)
        if fence_name == "python":
            return f"{head}{symbol.qualname}({bases})"
        return f"{head}{symbol.qualname}{_BASES.get(fence_name, ' extends ')}{bases}"
    return head + symbol.qualname + (signature if symbol.kind != "class" else "")


def _symbol_line(symbol: Symbol, anchor: str, ctx: RenderContext, page: str, rel: str,
                 fence_name: str) -> str:
    name = code(_declared(symbol, fence_name))
    where = f" in namespace {code(symbol.scope)}" if symbol.scope else ""
    where += f", {text(symbol.visibility)}" if symbol.visibility else ""
    bits = [(f'<a id="{anchor}"></a>{name} — {kind_text(symbol.kind)}{where}, '
            f'{_source_link(ctx, page, rel, symbol.line)}')]
    if symbol.decorators:
        bits.append("decorated " + ", ".join(code("@" + d) for d in symbol.decorators))
    line = "; ".join(bits)
    if symbol.doc:
        line += f"  \n  {prose(symbol.doc)}"
    return line


def _structure(facts: FileFacts, ctx: RenderContext, page: str) -> str:
    groups: dict[str, list[tuple[Symbol, str]]] = defaultdict(list)
    anchors = symbol_anchors(facts.symbols)
    fence_name = languages.fence(facts.language)
    for symbol, anchor in zip(facts.symbols, anchors, strict=True):
        groups[symbol_section(symbol, facts.language)].append((symbol, anchor))
    parts = []
    for title in ("Classes and types", "Functions", languages.wording(facts.language).top_level):
        symbols = groups.get(title)
        if symbols:
            parts.append(f"### {title}\n\n" + bullets(
                [_symbol_line(s, a, ctx, page, facts.path, fence_name) for s, a in symbols]))
    if facts.headings:
        outline = [("  " * (h.level - 1)) + f"- {text(h.title)} "
                   f"({_source_link(ctx, page, facts.path, h.line)})" for h in facts.headings]
        parts.append("### Outline\n\n" + "\n".join(outline))
    measured = [(s, a) for s, a in zip(facts.symbols, anchors, strict=True) if s.complexity > 1]
    if measured:
        top = sorted(measured, key=lambda sa: (-sa[0].complexity, sa[0].line))[: ctx.settings.complex_functions]
        rows = [[link(code(s.qualname), "#" + a), str(s.complexity),
                 str(max(1, s.end_line - s.line + 1)), _source_link(ctx, page, facts.path, s.line)]
                for s, a in top]
        parts.append("### Most complex functions\n\nCyclomatic complexity (1 + decision points) "
                     f"measured on {plural(len(measured), 'function')} with branches.\n\n"
                     + table(["Function", "Complexity", "Lines", "Defined at"], rows))
    return section("Detailed Analysis", *parts)


def _architecture(facts: FileFacts, xref: FileXref, ctx: RenderContext, page: str) -> str:
    items = []
    internal = len({d.path for d in xref.depends_on})
    if xref.used_by:
        verb = {"import": "imported", "from": "imported", "include": "included",
                "link": "linked", "source": "sourced", "subdirectory": "added as a subdirectory",
                "entry": "declared as an entry point",
                "use": "used", "mod": "declared as a module", "require": "required",
                "require_relative": "required", "package": "tested in its package",
                "subject": "tested (by file name)"}
        # files, not references, counted per verb: the same numbers as Related Files below
        users: dict[str, set[str]] = defaultdict(set)
        for link_ in xref.used_by:
            users[verb.get(link_.kind, link_.kind)].add(link_.path)
        described = ", ".join(f"{v} by {plural(len(paths), 'file')}"
                              for v, paths in sorted(users.items()))
        items.append(f"Used across the repository: {described}.")
    external = len({e.module for e in xref.external})
    if internal or external:
        builds_on = ([plural(internal, "repository file")] if internal else []) + (
            [plural(external, "external module")] if external else [])
        items.append(f"Builds on {' and '.join(builds_on)}.")
    exports = languages.wording(facts.language).exports
    if facts.exports and exports:
        shown = ", ".join(code(n) for n in facts.exports[:20])
        more = f" and {len(facts.exports) - 20} more" if len(facts.exports) > 20 else ""
        items.append(f"Public API (declared {exports}): {shown}{more}.")
    if not items:
        return ""
    folder = layout.split(facts.path)[0]
    where = link(code(folder or "(repository root)"),
                 ctx.page_href(page, layout.folder_page(folder, layout.FOLDER_DOC)))
    items.append(f"Lives in {where}.")
    return section("Architecture & Design", bullets(items))


def _dependencies(facts: FileFacts, xref: FileXref, ctx: RenderContext, page: str) -> str:
    parts = []
    if xref.depends_on:
        rows = []
        for dep in xref.depends_on:
            names = f" — {', '.join(code(n) for n in dep.names[:10])}" if dep.names else ""
            more = f" and {len(dep.names) - 10} more" if len(dep.names) > 10 else ""
            kind = "entry point" if dep.kind == "entry" else dep.kind
            rows.append(f"{_file_link(ctx, page, dep)} ({text(kind)}){names}{more}")
        parts.append("### In this repository\n\n" + bullets(rows))
    if xref.external:
        modules = sorted({e.module for e in xref.external})
        parts.append("### External\n\n" + ", ".join(code(m) for m in modules))
    return section("Dependencies", *parts)


def _notes(title: str, notes: list[Note], ctx: RenderContext, page: str, rel: str) -> str:
    return section(title, _notes_list(notes, ctx, page, rel)) if notes else ""


def _notes_list(notes: list[Note], ctx: RenderContext, page: str, rel: str) -> str:
    by_topic: dict[str, list[Note]] = defaultdict(list)
    for note in notes:
        by_topic[note.topic].append(note)
    items = []
    for topic, group in sorted(by_topic.items()):
        group.sort(key=lambda n: n.line)
        shown = ", ".join(f"{code(n.subject) if n.subject else 'module level'} "
                          f"({_source_link(ctx, page, rel, n.line)})" for n in group[:NOTES_SHOWN])
        more = f", and {len(group) - NOTES_SHOWN} more" if len(group) > NOTES_SHOWN else ""
        items.append(f"**{prose(topic)}** ×{len(group)}: {shown}{more}")
    return bullets(items)


def _testing(facts: FileFacts, xref: FileXref, ctx: RenderContext, page: str) -> str:
    parts = []
    if xref.tested_by:
        parts.append("Tested by " + ", ".join(_file_link(ctx, page, t) for t in xref.tested_by) + ".")
    if facts.tests:
        listed = ", ".join(link(code(t), "#" + anchor_id("sym", t)) for t in facts.tests[:15])
        more = f" and {len(facts.tests) - 15} more" if len(facts.tests) > 15 else ""
        parts.append(f"Tests defined here: {listed}{more}.")
    usage = [n for n in facts.notes if n.category == "usage"]
    if usage:
        parts.append(_notes_list(usage, ctx, page, facts.path))
    if facts.examples:
        blocks = []
        for example in facts.examples[:5]:
            owner = code(example.owner) if example.owner else "the module docstring"
            blocks.append(f"From {owner} ({_source_link(ctx, page, facts.path, example.line)}):\n\n"
                          + fence(example.code, "python"))
        if len(facts.examples) > 5:
            blocks.append(f"{plural(len(facts.examples) - 5, 'more example')} in the docstrings.")
        parts.append("### Examples\n\n" + "\n\n".join(blocks))
    return section("Testing & Usage", *parts)


def _related(xref: FileXref, ctx: RenderContext, page: str) -> str:
    if not xref.used_by:
        return ""
    groups: dict[str, dict[str, None]] = defaultdict(dict)  # insertion-ordered sets
    label = {"import": "Imported by", "from": "Imported by", "include": "Included by",
             "link": "Linked from", "source": "Sourced by", "subdirectory": "Added by",
             "entry": "Entry point declared by",
             "use": "Used by", "mod": "Declared as a module by", "require": "Required by",
             "require_relative": "Required by", "package": "Tested in its package by",
             "subject": "Tested (by file name) by"}
    for user in xref.used_by:
        groups[label.get(user.kind, "Referenced by")][_file_link(ctx, page, user)] = None
    parts = [f"**{title}** ({len(items)}): " + ", ".join(items)
             for title, items in sorted(groups.items())]
    return section("Related Files", bullets(parts))


def _crossrefs(facts: FileFacts, ctx: RenderContext, page: str) -> str:
    folder = layout.split(facts.path)[0]
    items = [
        *([link("Keyword index", ctx.page_href(page, layout.kw_page(facts.path)))]
          if facts.lists_keywords else []),
        link("Folder index", ctx.page_href(page, layout.folder_page(folder, layout.FOLDER_INDEX))),
        link("Folder documentation", ctx.page_href(page, layout.folder_page(folder, layout.FOLDER_DOC))),
    ]
    return section("Cross-References", bullets(items))


def render(facts: FileFacts, xref: FileXref, source_text: str | None, ctx: RenderContext) -> str:
    """The `_docs.md` page of one text file."""
    page = layout.docs_page(facts.path)
    notes = {c: [n for n in facts.notes if n.category == c]
             for c in ("pattern", "performance", "security")}
    return fill(
        "file_docs.md",
        title=code(facts.path),
        breadcrumb=_breadcrumb(facts, ctx, page),
        metadata=_metadata(facts, ctx, page),
        purpose=_purpose(facts, page, ctx),
        source=_source(facts, source_text, ctx, page),
        overview=_overview(facts),
        structure=_structure(facts, ctx, page),
        architecture=_architecture(facts, xref, ctx, page),
        dependencies=_dependencies(facts, xref, ctx, page),
        patterns=_notes("Code Patterns & Idioms", notes["pattern"], ctx, page, facts.path),
        performance=_notes("Performance Considerations", notes["performance"], ctx, page, facts.path),
        security=_notes("Security & Safety", notes["security"], ctx, page, facts.path),
        testing=_testing(facts, xref, ctx, page),
        related=_related(xref, ctx, page),
        crossrefs=_crossrefs(facts, ctx, page),
    )
