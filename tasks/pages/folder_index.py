"""Folder `index.md`: subfolders and a files table (links to source, docs and keywords).

The output root's `index.md` is the entry page of the whole documentation *and* the index of the
root folder's files (the old system overwrote the latter and lost the root files from every
index).  Its title and "Start here" come from the entry digest (:mod:`docgraph.entry`: the name a
manifest declares, the package named after the project, declared entry points, guides, docs and
examples), its first paragraph from the root README.  Binary files, symbolic links and left-out
secret files are listed with what discovery measured, never linked to pages they do not have.
"""

from __future__ import annotations

import posixpath
from collections import Counter

from .. import layout
from ..digests import SEP, FolderDigest, FolderFile
from ..entry import EntryDigest, Start, StartLink
from . import RenderContext
from .markdown import bullets, code, fill, link, plural, prose, section, table, text


def _file_row(folder: str, entry: FolderFile, page: str, ctx: RenderContext) -> list[str]:
    rel = f"{folder}/{entry.name}" if folder else entry.name
    if entry.kind == "file":
        docs = layout.docs_page(rel)
        name = link(code(entry.name), ctx.page_href(page, docs))
        links = link("source", ctx.source_href(page, rel))  # (the name links the docs)
        if entry.keywords:  # a keyword page that lists nothing is not linked as if it did
            links += " · " + link("keywords", ctx.page_href(page, layout.kw_page(rel)))
        return [name, prose(entry.description), text(entry.language), links]
    if entry.kind == "binary":
        return [code(entry.name), f"{text(entry.media_type)}, {entry.size:,} bytes", "binary",
                link("source", ctx.source_href(page, rel))]
    if entry.kind == "link":
        target = entry.link_target
        inside = target and not target.startswith("/") and not \
            posixpath.normpath(posixpath.join(folder, target)).startswith("..")
        where = f"to {code(target)}" if inside else "to a path outside the repository"
        return [code(entry.name), f"symbolic link {where} (not followed)", "link", ""]
    return [code(entry.name), f"left out: matches a `secrets` pattern, never read ({entry.size:,} bytes)",
            "secret", ""]


def _subfolders(digest: FolderDigest, page: str, ctx: RenderContext) -> str:
    """The subfolders table; its Description column only when a subfolder has one."""
    described = any(sub.description for sub in digest.subfolders)
    rows = []
    for sub in digest.subfolders:
        path = f"{digest.path}/{sub.name}" if digest.path else sub.name
        rows.append([link(code(sub.name), ctx.page_href(page, layout.folder_page(path, layout.FOLDER_INDEX))),
                     f"{sub.files:,}", f"{sub.folders:,}"] + ([prose(sub.description)] if described else []))
    return table(["Folder", "Files", "Subfolders"] + (["Description"] if described else []), rows)


def _languages(files: tuple[FolderFile, ...]) -> str:
    counts = Counter(f.language for f in files if f.kind == "file")
    return ", ".join(f"{text(lang)} {n:,}" for lang, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _start_link(item: StartLink, page: str, ctx: RenderContext) -> str:
    """One "Start here" line: the file or folder, and why a reader starts there."""
    if item.folder:
        target = link(code(item.path + "/"), ctx.page_href(page, layout.folder_page(item.path, layout.FOLDER_DOC)))
    else:
        target = link(code(item.path), ctx.page_href(page, layout.docs_page(item.path)))
    role = Start(item.role)
    held = ([plural(item.files, "file")] if item.files else []) + (
        [plural(item.folders, "subfolder")] if item.folders else [])
    if role is Start.README:
        why = "the project's own introduction"
    elif role is Start.PACKAGE:
        why = (f"the package named after the project ({plural(item.files, 'text file')}"
               + (f", referenced by {plural(item.count, 'file')} outside it" if item.count else "") + ")")
    elif role is Start.MOST_USED_FOLDER:
        why = f"the folder other folders build on most (referenced by {plural(item.count, 'file')})"
    elif role is Start.COMMAND:
        commands = [code(c) for c in item.detail.split(SEP) if c]
        why = (("the entry point of " + " and ".join(commands)) if commands else "a declared entry point")
    elif role is Start.GUIDE:
        why = prose(item.detail) if item.detail else "a guide"
    elif role in (Start.DOCS, Start.EXAMPLES):
        why = ("documentation" if role is Start.DOCS else "examples") + (
            f" ({' and '.join(held)})" if held else "")
    elif role is Start.PROGRAM:
        why = "a program"
    else:
        why = f"referenced by {plural(item.count, 'file')}"
    return f"{target}: {why}"


def render(digest: FolderDigest, ctx: RenderContext, stats: dict[str, object] | None = None,
           entry: EntryDigest | None = None) -> str:
    """`index.md` of a folder; with `stats` and `entry`, the entry page at the output root."""
    folder = digest.path
    page = layout.folder_page(folder, layout.FOLDER_INDEX)
    subfolders = ""
    if digest.subfolders:
        subfolders = section("Subfolders", _subfolders(digest, page, ctx))
    files_table = table(["File", "Description", "Language", "Links"],
                        [_file_row(folder, f, page, ctx) for f in digest.files]) if digest.files else ""
    counted = [plural(len(digest.files), "file"), plural(len(digest.subfolders), "subfolder")]
    languages = _languages(digest.files)
    summary = " and ".join(counted) + (f" ({languages})" if languages else "") + "."
    nav = [link("folder documentation", ctx.page_href(page, layout.folder_page(folder, layout.FOLDER_DOC))),
           link("keywords of this subtree", ctx.page_href(page, layout.folder_page(folder, layout.FOLDER_SUB)))]
    if stats is not None:
        starts = entry.start if entry is not None else ()
        nav = [_start_link(item, page, ctx) for item in starts] + [
            link("A–Z keyword index", ctx.page_href(page, layout.KEYWORDS)),
            link("comprehensive book", ctx.page_href(page, layout.BOOK))] + nav
        file_kinds = stats.get("files", {})
        langs = stats.get("languages", {})
        total = sum(file_kinds.values()) if isinstance(file_kinds, dict) else 0
        parts = [plural(total, "file"), plural(int(stats.get("folders", 0)), "folder")]  # type: ignore[call-overload]
        if isinstance(langs, dict) and langs:
            ordered = sorted(langs.items(), key=lambda kv: (-kv[1], kv[0]))
            parts.append("text files by language: " + ", ".join(
                f"{text(k)} {v:,}" for k, v in ordered[:12]) + (
                f" and {len(ordered) - 12} more" if len(ordered) > 12 else ""))
        if isinstance(file_kinds, dict):
            for kind, label in (("binary", "binary file"), ("link", "symbolic link"),
                                ("secret", "left-out secret file")):
                if file_kinds.get(kind):
                    parts.append(plural(file_kinds[kind], label))
        title = entry.name if entry is not None and entry.name else "Repository documentation"
        intro = [prose(digest.readme_doc)] if digest.readme_doc else []
        intro.append(f"Documented: {'; '.join(parts)}.")
        root_summary = f"The repository root holds {summary}"
        return fill("entry_index.md", title=text(title), summary="\n\n".join(intro),
                    navigation=section("Start here", bullets(nav)), subfolders=subfolders,
                    files=section("Files at the repository root", root_summary, files_table))
    parent = folder.rpartition("/")[0]
    nav.append(link("parent folder", ctx.page_href(page, layout.folder_page(parent, layout.FOLDER_INDEX))))
    return fill("folder_index.md", title=code(folder), summary=summary, subfolders=subfolders,
                files=section("Files", files_table), navigation=section("Navigation", bullets(nav)))
