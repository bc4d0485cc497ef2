"""The doit actions: the only code that reads sources and writes pages and state.

Each action is a module-level function (picklable by reference) that calls the pure stages and
writes its results with :func:`docgraph.store.write_if_changed`.  It returns a small dict that doit
keeps as the task's values and the build report collects: which source it analysed, which files
it wrote, which it removed.

A file that cannot be read or parsed never fails its task: the analysis records a finding and the
pages say what could be said.  An exception from docgraph's own code does fail the task, with its
traceback, because it is a bug.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable

from . import credentials, layout
from .analyzers import analyze
from .context import ActionContext
from .digests import FolderDigest, read_digest
from .facts import FileFacts, FileXref, Finding, dumps, loads
from .model import Model, TreeRow, open_model
from .pages import book, file_docs, file_keywords, folder_doc, folder_index, keyword_index, repo_map
from .sourcetext import decode
from .store import (
    prune_empty_dirs,
    read_bytes,
    read_file,
    read_manifest,
    remove,
    write_manifest,
    write_text,
)

log = logging.getLogger("docgraph")

Result = dict[str, object]
PageSet = tuple[dict[str, str], dict[str, tuple[str, str]]]


def _page_result(ctx: ActionContext, written: list[str], removed: list[str] = ()) -> Result:  # type: ignore[assignment]
    out = ctx.paths.out + os.sep
    return {"pages": sorted(p[len(out):] for p in written if p.startswith(out)),
            "removed": sorted(p[len(out):] for p in removed if p.startswith(out))}


# --------------------------------------------------------------------------- stage 0


def write_settings(ctx: ActionContext, files: dict[str, str]) -> Result:
    """Write the settings slices and the source listing (only those whose content changed)."""
    for name, text in files.items():
        write_text(ctx.paths.setting(name), text)
    return {}


# --------------------------------------------------------------------------- stage 1


def analyze_file(ctx: ActionContext, rel: str) -> Result:
    """Analyse one source file into its facts and summary."""
    path = ctx.paths.source(rel)
    try:
        data = read_file(path)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        facts = FileFacts(path=rel, language="unreadable", size=0, skipped=f"cannot be read: {reason}",
                          description=f"not readable ({reason})",
                          findings=(Finding(rel, 0, f"cannot read the file: {reason}"),))
    else:
        try:
            facts = analyze(rel, data, ctx.config.analysis)
        except Exception as exc:  # a bug in an analyzer must not cost the other 12,000 files
            log.debug("analyzer failed on %s", rel, exc_info=True)
            facts = FileFacts(path=rel, language="text", size=len(data),
                              description=f"{len(data):,} bytes (analysis failed)",
                              findings=(Finding(rel, 0, f"internal error while analysing: "
                                                        f"{type(exc).__name__}: {exc}"),))
    write_text(ctx.paths.facts(rel), dumps(facts), atomic=False)
    write_text(ctx.paths.summary(rel), dumps(facts.summary()), atomic=False)
    return {"analyzed": rel}


# --------------------------------------------------------------------------- stage 2


def _listing(ctx: ActionContext) -> list[TreeRow]:
    raw = read_bytes(ctx.paths.setting("tree.json")) or b'{"entries": []}'
    return [TreeRow(*row) for row in json.loads(raw)["entries"]]


def update_model(ctx: ActionContext) -> Result:
    """Fold changed summaries into the model and rewrite the digests whose content changed."""
    tree = _listing(ctx)
    summary_of = {row.rel: ctx.paths.summary(row.rel) for row in tree
                  if row.kind in ("file", "binary")}
    conn = open_model(ctx.paths.model)
    try:
        model = Model(conn, ctx.paths.state)
        written = model.update(tree, summary_of, ctx.config.analysis.include_roots)
    finally:
        conn.close()
    return {"state": len(written)}


# --------------------------------------------------------------------------- stage 3


def render_file(ctx: ActionContext, rel: str) -> Result:
    """Render the `_docs.md` page of one text file (it shows cross-references: after the model)."""
    facts = loads(FileFacts, read_bytes(ctx.paths.facts(rel)) or b"{}")
    xref_raw = read_bytes(ctx.paths.xref(rel))
    xref = loads(FileXref, xref_raw) if xref_raw else FileXref(rel)
    source_text = None
    if not facts.skipped and not facts.binary:
        try:
            data = read_bytes(ctx.paths.source(rel))
        except OSError:  # unreadable now: the analysis already recorded why
            data = None
        if data is not None:
            text = decode(data).text
            source_text = credentials.redact(text, credentials.find(text)) if facts.redacted else text
    path = ctx.paths.page(layout.docs_page(rel))
    written = [path] if write_text(path, file_docs.render(facts, xref, source_text, ctx.render)) else []
    return _page_result(ctx, written)


def render_keywords_page(ctx: ActionContext, rel: str) -> Result:
    """Render the `_kw.md` page of one text file (from its facts alone: it runs beside the model)."""
    facts = loads(FileFacts, read_bytes(ctx.paths.facts(rel)) or b"{}")
    path = ctx.paths.page(layout.kw_page(rel))
    written = [path] if write_text(path, file_keywords.render(facts, ctx.render)) else []
    return _page_result(ctx, written)


def _digest(ctx: ActionContext, folder: str) -> FolderDigest:
    return read_digest(ctx.paths.folder_digest(folder))


def render_folder(ctx: ActionContext, folder: str) -> Result:
    """Render `index.md` and `doc.md` of one folder (the root's `index.md` is the entry page)."""
    digest = _digest(ctx, folder)
    stats = json.loads(read_bytes(ctx.paths.digest("stats.json")) or b"{}") \
        if not folder else None
    pages = {
        layout.folder_page(folder, layout.FOLDER_INDEX): folder_index.render(digest, ctx.render, stats),
        layout.folder_page(folder, layout.FOLDER_DOC): folder_doc.render(digest, ctx.render),
    }
    written = [ctx.paths.page(p) for p, text in pages.items() if write_text(ctx.paths.page(p), text)]
    return _page_result(ctx, written)


def _render_split(ctx: ActionContext, name: str, buckets: dict[str, list[object]],
                  overview: Callable[[Model], PageSet], letter: Callable[[Model, str], str]) -> Result:
    """Shared by `sub.md` and `keywords.md`: rerender only the letter pages whose hash changed.

    The task's records (targets) remember the pages it wrote and the hash each letter page was
    rendered from, so a letter that vanished has its page removed and nothing else is touched.
    """
    record_path = ctx.paths.record(name)
    hashes_path = ctx.paths.letters(name)
    previous_pages: dict[str, str] = json.loads(read_bytes(record_path) or b"{}").get("pages", {})
    previous: dict[str, str] = json.loads(read_bytes(hashes_path) or b"{}").get("letters", {})
    written: list[str] = []
    removed: list[str] = []
    conn = open_model(ctx.paths.model)
    try:
        model = Model(conn, ctx.paths.state)
        pages, letters = overview(model)
        for page, text in pages.items():
            if write_text(ctx.paths.page(page), text):
                written.append(ctx.paths.page(page))
        for bucket, (digest, page) in letters.items():
            path = ctx.paths.page(page)
            if previous.get(bucket) == digest and previous_pages.get(bucket) == page \
                    and os.path.exists(path):
                continue
            if write_text(path, letter(model, bucket)):
                written.append(path)
    finally:
        conn.close()
    current_pages = {page for _, page in letters.values()}
    for bucket, page in previous_pages.items():
        if page not in current_pages and remove(ctx.paths.page(page)):
            removed.append(ctx.paths.page(page))
    # two records: the pages (read by the manifest, changes only when a letter page comes or
    # goes) and the hashes they were rendered from (changes with every re-rendered letter)
    write_text(record_path, json.dumps(
        {"pages": {b: p for b, (_, p) in sorted(letters.items())}}, sort_keys=True) + "\n")
    write_text(hashes_path, json.dumps(
        {"letters": {b: d for b, (d, _) in sorted(letters.items())}}, sort_keys=True) + "\n")
    return _page_result(ctx, written, removed)


def render_sub(ctx: ActionContext, folder: str) -> Result:
    """Render `sub.md` (and its letter pages) of one folder."""
    digest = json.loads(read_bytes(ctx.paths.subtree_digest(folder)) or b"{}")
    buckets = digest.get("buckets", {})
    same_as = digest.get("same_as", "")
    return _render_split(
        ctx, f"sub:{folder}", buckets,
        lambda model: keyword_index.subtree_pages(folder, buckets, model, ctx.render, same_as),
        lambda model, bucket: keyword_index.subtree_letter(folder, bucket, model, ctx.render))


def render_keywords(ctx: ActionContext) -> Result:
    """Render the global A-Z `keywords.md` (and its letter pages)."""
    raw = read_bytes(ctx.paths.subtree_digest(""))
    buckets = json.loads(raw or b'{"buckets": {}}')["buckets"]
    return _render_split(
        ctx, "keywords", buckets,
        lambda model: keyword_index.global_pages(buckets, model, ctx.render),
        lambda model, bucket: keyword_index.global_letter(bucket, model, ctx.render))


def render_book(ctx: ActionContext, folders: list[str]) -> Result:
    """Render `comprehensive_book.md` (split into parts when large)."""
    plan = json.loads(read_bytes(ctx.paths.digest("book.json")) or b"{}")
    digests = {folder: _digest(ctx, folder) for folder in folders}
    stats = json.loads(read_bytes(ctx.paths.digest("stats.json")) or b"{}")
    pages = book.render(plan, digests, stats, ctx.render)
    record_path = ctx.paths.record("book")
    previous = json.loads(read_bytes(record_path) or b"{}").get("pages", [])
    written = [ctx.paths.page(p) for p, text in pages.items() if write_text(ctx.paths.page(p), text)]
    removed = [ctx.paths.page(p) for p in previous if p not in pages and remove(ctx.paths.page(p))]
    write_text(record_path, json.dumps({"pages": sorted(pages)}) + "\n")
    return _page_result(ctx, written, removed)


def render_map(ctx: ActionContext, page: str, files: list[str], parts: list[tuple[str, str, int]]) -> Result:
    """Write one part of the machine-readable map (or the whole map when it has one part)."""
    from .facts import FileSummary

    entries = {}
    for rel in files:
        raw = read_bytes(ctx.paths.summary(rel))
        if raw is None:
            continue
        xref_raw = read_bytes(ctx.paths.xref(rel))
        entries[rel] = repo_map.file_entry(loads(FileSummary, raw),
                                           loads(FileXref, xref_raw) if xref_raw else None)
    text = repo_map.render_part(entries) if parts else repo_map.render_index([], entries)
    written = [ctx.paths.page(page)] if write_text(ctx.paths.page(page), text) else []
    return _page_result(ctx, written)


def render_map_index(ctx: ActionContext, parts: list[tuple[str, str, int]]) -> Result:
    """`docgraph.json` listing the parts of a split map."""
    path = ctx.paths.page(layout.MAP)
    written = [path] if write_text(path, repo_map.render_index(parts, None)) else []
    return _page_result(ctx, written)


# --------------------------------------------------------------------------- stage 4


def update_manifest(ctx: ActionContext, generated: list[str], records: list[str]) -> Result:
    """Record every generated file; delete the ones an earlier build generated that are gone now.

    `generated` lists the graph's static targets; letter pages and book parts are read from the
    records of the tasks that wrote them.  Names are relative to ROOT (see :meth:`Paths.name`).
    Only files in the previous manifest are ever deleted.
    """
    paths = ctx.paths
    current = set(generated)
    for record in records:
        data = json.loads(read_bytes(paths.absolute(record)) or b"{}")
        pages = data.get("pages", {})
        for page in (pages.values() if isinstance(pages, dict) else pages):
            current.add(paths.name(paths.page(page)))
    previous = set(read_manifest(paths.state))
    removed = [paths.absolute(name) for name in sorted(previous - current)
               if remove(paths.absolute(name))]
    prune_empty_dirs([p for p in removed if p.startswith(paths.out + os.sep)], paths.out)
    prune_empty_dirs([p for p in removed if p.startswith(paths.state + os.sep)], paths.state)
    write_manifest(paths.state, current)
    return _page_result(ctx, [], removed)
