"""Folder `doc.md`: what the folder is for, from its files' facts, its README and the references.

Sections (the old system's: role, contents overview, key concepts, architecture, important files,
workflow, cross-references) are each built from the folder digest and left out when empty: the
README's or package docstring's first paragraph, languages and counts, declared public API, the
most imported files, the folders it builds on and those that build on it, tests and entry points.
"""

from __future__ import annotations

from collections import Counter

from .. import layout
from ..digests import FolderDigest, Ranked
from . import RenderContext
from .markdown import bullets, code, fill, link, plural, prose, section, text


def _ranked_folders(items: tuple[Ranked, ...], page: str, ctx: RenderContext) -> str:
    return ", ".join(
        f"{link(code(r.path or '(root)'), ctx.page_href(page, layout.folder_page(r.path, layout.FOLDER_DOC)))}"
        f" ({plural(r.count, 'reference')})" for r in items)


def render(digest: FolderDigest, ctx: RenderContext) -> str:
    """`doc.md` of one folder."""
    folder = digest.path
    page = layout.folder_page(folder, layout.FOLDER_DOC)
    role_parts = []
    if digest.readme_doc:
        readme = f"{folder}/{digest.readme}" if folder else digest.readme
        role_parts.append(f"{prose(digest.readme_doc)}\n\n— from {link(code(digest.readme), ctx.page_href(page, layout.docs_page(readme)))}")
    if digest.package_doc:
        role_parts.append(f"Package docstring: {prose(digest.package_doc)}")
    role = section("Role", *role_parts)

    text_files = [f for f in digest.files if f.kind == "file"]
    counts = Counter(f.language for f in text_files)
    contents_items = []
    if text_files:
        contents_items.append(f"{plural(len(text_files), 'text file')}: " + ", ".join(
            f"{text(lang)} {n:,}" for lang, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))) + ".")
    other = Counter(f.kind for f in digest.files if f.kind != "file")
    if other:
        names = {"binary": "binary file", "link": "symbolic link", "secret": "left-out secret file"}
        contents_items.append(", ".join(plural(n, names[k]) for k, n in sorted(other.items())) + ".")
    if digest.subfolders:
        contents_items.append(f"{plural(len(digest.subfolders), 'subfolder')}: " + ", ".join(
            link(code(s.name), ctx.page_href(page, layout.folder_page(
                f"{folder}/{s.name}" if folder else s.name, layout.FOLDER_DOC)))
            for s in digest.subfolders[:30]) + (
            f" and {len(digest.subfolders) - 30} more" if len(digest.subfolders) > 30 else "") + ".")
    unparsed = [f.name for f in text_files if not f.parsed]
    if unparsed:
        contents_items.append(f"{plural(len(unparsed), 'file')} that do not parse: "
                              + ", ".join(code(n) for n in unparsed[:10]) + ".")
    contents = section("Contents Overview", bullets(contents_items) if contents_items else "")

    concepts = ""
    if digest.exports:
        shown = ", ".join(code(n) for n in digest.exports[:25])
        more = f" and {len(digest.exports) - 25} more" if len(digest.exports) > 25 else ""
        concepts = section("Key Concepts", f"Public API declared in `__init__` (`__all__`): {shown}{more}.")

    arch_items = []
    if digest.uses:
        arch_items.append("Builds on " + _ranked_folders(digest.uses, page, ctx) + ".")
    if digest.used_by:
        arch_items.append("Used by " + _ranked_folders(digest.used_by, page, ctx) + ".")
    architecture = section("Architecture", bullets(arch_items) if arch_items else "")

    by_name = {f.name: f for f in digest.files}
    important_items = []
    for ranked in digest.main_modules:
        name = ranked.path.rpartition("/")[2]
        entry = by_name.get(name)
        description = f" — {prose(entry.description)}" if entry and entry.description else ""
        target = layout.docs_page(ranked.path) if entry is None or entry.kind == "file" else None
        label = link(code(name), ctx.page_href(page, target)) if target else code(name)
        important_items.append(f"{label}: referenced by {plural(ranked.count, 'file')}{description}")
    important = section("Important Files", bullets(important_items) if important_items else "")

    workflow_items = []
    entries = [f for f in text_files if f.entry_point]
    if entries:
        workflow_items.append("Programs: " + ", ".join(
            link(code(f.name), ctx.page_href(page, layout.docs_page(f"{folder}/{f.name}" if folder else f.name)))
            for f in entries[:20]) + ".")
    tests = [f for f in text_files if f.is_test]
    if tests:
        workflow_items.append(f"{plural(len(tests), 'test file')} here: " + ", ".join(
            link(code(f.name), ctx.page_href(page, layout.docs_page(f"{folder}/{f.name}" if folder else f.name)))
            for f in tests[:20]) + (f" and {len(tests) - 20} more" if len(tests) > 20 else "") + ".")
    if digest.tested_by:
        workflow_items.append("Tested from elsewhere by " + ", ".join(
            link(code(r.path), ctx.page_href(page, layout.docs_page(r.path))) for r in digest.tested_by) + ".")
    workflow = section("Workflow", bullets(workflow_items) if workflow_items else "")

    nav = [link("folder index", ctx.page_href(page, layout.folder_page(folder, layout.FOLDER_INDEX))),
           link("keywords of this subtree", ctx.page_href(page, layout.folder_page(folder, layout.FOLDER_SUB)))]
    if folder:
        parent = folder.rpartition("/")[0]
        nav.append(link("parent folder", ctx.page_href(page, layout.folder_page(parent, layout.FOLDER_DOC))))
    return fill("folder_doc.md", title=code(folder or "."), role=role, contents=contents,
                concepts=concepts, architecture=architecture, important=important,
                workflow=workflow, crossrefs=section("Cross-References", bullets(nav)))
