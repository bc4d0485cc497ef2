"""Stage 3: pages, from facts, cross-references and digests (never from a scan of the disk)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from typing import Any

from .. import credentials, layout
from ..context import ActionContext
from ..digests import ENTRY, Digests, FolderDigest, LogPosition, read_digest
from ..entry import EntryDigest
from ..facts import FileFacts, FileXref, analysis_parts, loads, packed_summary, unpack, unpack_plain
from ..model import open_model
from ..pages import (
    book,
    file_docs,
    file_keywords,
    folder_doc,
    folder_index,
    keyword_index,
    repo_map,
)
from ..sourcetext import decode
from ..store import read_bytes, read_file, remove, write_text
from . import Result, page_result

PageSet = tuple[dict[str, str], dict[str, tuple[str, str]]]
Letter = tuple[keyword_index.Rendered, list[keyword_index.Part]]
LINKS_KEPT = 65536
"""Files whose links the letters of one index share at most (:data:`keyword_index.Links`): the
repository-wide index of torch4x names 47,000 files."""


def _facts(ctx: ActionContext, rel: str) -> FileFacts:
    return unpack(FileFacts, analysis_parts(read_file(ctx.paths.facts(rel)))[0])


def render_file(ctx: ActionContext, rel: str) -> Result:
    """Render the `_docs.md` page of one text file (it shows cross-references: after the model)."""
    facts = _facts(ctx, rel)
    xref_raw = read_bytes(ctx.paths.xref(rel))  # empty: no cross-references (see digests)
    xref = unpack(FileXref, xref_raw) if xref_raw else FileXref(rel)
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
    return page_result(ctx, written)


def render_keywords_page(ctx: ActionContext, rel: str) -> Result:
    """Render the `_kw.md` page of one text file (from its facts alone: it runs beside the model)."""
    facts = _facts(ctx, rel)
    path = ctx.paths.page(layout.kw_page(rel))
    written = [path] if write_text(path, file_keywords.render(facts, ctx.render)) else []
    return page_result(ctx, written)


def _digest(ctx: ActionContext, folder: str) -> FolderDigest:
    return read_digest(ctx.paths.folder_digest(folder))


def render_folder(ctx: ActionContext, folder: str) -> Result:
    """Render `index.md` and `doc.md` of one folder (the root's `index.md` is the entry page)."""
    digest = _digest(ctx, folder)
    stats = json.loads(read_bytes(ctx.paths.digest("stats.json")) or b"{}") \
        if not folder else None
    entry = loads(EntryDigest, read_bytes(ctx.paths.digest(ENTRY)) or b'{"name": ""}') \
        if not folder else None
    pages = {
        layout.folder_page(folder, layout.FOLDER_INDEX): folder_index.render(digest, ctx.render, stats,
                                                                             entry),
        layout.folder_page(folder, layout.FOLDER_DOC): folder_doc.render(digest, ctx.render),
    }
    written = [ctx.paths.page(p) for p, text in pages.items() if write_text(ctx.paths.page(p), text)]
    return page_result(ctx, written)


def _render_split(ctx: ActionContext, name: str, buckets: dict[str, list[object]],
                  overview: Callable[[Digests], PageSet],
                  letter: Callable[[Digests, str, list[keyword_index.Part], LogPosition | None,
                                    keyword_index.Links], Letter]) -> Result:
    """Shared by `sub.md` and `keywords.md`: rerender only the letters whose hash changed (a
    letter is its page and, when large, its parts), and of a large letter only the parts
    whose rows or place changed.

    The task's records (targets) remember the pages it wrote (`{"a": page, "a/2": its second
    part, ...}`), the hash each letter was rendered from and the parts each large letter was cut
    into (:class:`docgraph.pages.keyword_index.Part`), so a letter or a part that vanished has
    its page removed and nothing else is touched.
    """
    record_path = ctx.paths.record(name)
    hashes_path = ctx.paths.letters(name)
    previous_pages: dict[str, str] = json.loads(read_bytes(record_path) or b"{}").get("pages", {})
    hashed = json.loads(read_bytes(hashes_path) or b"{}")
    # a letter page is rendered from its rows and from the render settings and code: when those
    # differ (a page setting, a new docgraph), every letter page is rendered again
    render = hashlib.sha1(read_bytes(ctx.paths.setting("render.json")) or b"").hexdigest()
    same = hashed.get("render") == render
    previous: dict[str, str] = hashed.get("letters", {}) if same else {}
    cuts_before: dict[str, list[list[object]]] = hashed.get("cuts", {}) if same else {}
    cuts: dict[str, list[list[object]]] = {}  # letter -> its parts as cut (large letters)
    # letter -> the model's log position its parts were cut at (keyword_index._sums_now)
    since_before: dict[str, list[Any]] = hashed.get("since", {}) if same else {}
    since: dict[str, list[Any]] = {}
    position: list[Any] | None = None  # the model's log position now, read when a letter is cut
    links: keyword_index.Links = {}  # (the index's pages are all in one folder)
    written: list[str] = []
    removed: list[str] = []
    recorded: dict[str, str] = {}  # the letter pages and their parts now, by letter (and part)
    conn = open_model(ctx.paths.model)
    try:
        digests = Digests(conn, ctx.paths.state)
        pages, letters = overview(digests)
        for page, text in pages.items():
            if write_text(ctx.paths.page(page), text):
                written.append(ctx.paths.page(page))
        for bucket, (digest, page) in letters.items():
            had = {k: p for k, p in previous_pages.items() if k == bucket or k.startswith(bucket + "/")}
            present = all(os.path.exists(ctx.paths.page(p)) for p in had.values())
            if previous.get(bucket) == digest and had.get(bucket) == page and present:
                recorded.update(had)
                if bucket in cuts_before:
                    cuts[bucket] = cuts_before[bucket]
                    if bucket in since_before:
                        since[bucket] = since_before[bucket]
                continue
            kept = [keyword_index.Part.load(p) for p in cuts_before.get(bucket, [])] if present else []
            was = since_before.get(bucket)
            if len(links) > LINKS_KEPT:
                links.clear()
            rendered, parts = letter(digests, bucket, kept, (str(was[0]), int(was[1])) if was else None, links)
            for number, (written_page, made) in enumerate(rendered.items()):
                recorded[bucket if number == 0 else f"{bucket}/{number}"] = written_page
                if made is not None and write_text(ctx.paths.page(written_page), made):
                    written.append(ctx.paths.page(written_page))
            if parts:
                cuts[bucket] = [p.dump() for p in parts]
                if position is None:
                    position = list(digests.log_position() or ())
                if position:
                    since[bucket] = position
    finally:
        conn.close()
    current_pages = set(recorded.values())
    for page in previous_pages.values():
        if page not in current_pages and remove(ctx.paths.page(page)):
            removed.append(ctx.paths.page(page))
    # two records: the pages (read by the manifest, changes only when a letter page comes or
    # goes) and the hashes and parts they were rendered from (changes with every re-rendered
    # letter).  An index not split into letters records nothing: an empty file, which takes no
    # disk block (most of the 625 folders of the torch corpus: 5 MB of `du` otherwise)
    write_text(record_path, json.dumps({"pages": recorded}, sort_keys=True) + "\n" if letters else "")
    write_text(hashes_path, json.dumps(
        {"letters": {b: d for b, (d, _) in sorted(letters.items())}, "cuts": cuts, "render": render,
         "since": since},
        sort_keys=True, ensure_ascii=False) + "\n" if letters else "")
    return page_result(ctx, written, removed)


def render_sub(ctx: ActionContext, folder: str) -> Result:
    """Render `sub.md` (and its letter pages) of one folder."""
    digest = unpack_plain(read_file(ctx.paths.subtree_digest(folder)))
    buckets = digest.get("buckets", {})
    same_as = digest.get("same_as", "")
    return _render_split(
        ctx, f"sub:{folder}", buckets,
        lambda rows: keyword_index.subtree_pages(folder, buckets, rows, ctx.render, same_as),
        lambda rows, bucket, kept, since, links: keyword_index.subtree_letter(folder, bucket, rows, ctx.render,
                                                                              kept, since, links))


def render_keywords(ctx: ActionContext) -> Result:
    """Render the global A-Z `keywords.md` (and its letter pages)."""
    buckets = unpack_plain(read_file(ctx.paths.subtree_digest("")))["buckets"]
    return _render_split(
        ctx, "keywords", buckets,
        lambda rows: keyword_index.global_pages(buckets, rows, ctx.render),
        lambda rows, bucket, kept, since, links: keyword_index.global_letter(bucket, rows, ctx.render, kept,
                                                                             since, links))


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
    return page_result(ctx, written, removed)


def render_map(ctx: ActionContext, page: str, files: list[str], parts: list[tuple[str, str, int]]) -> Result:
    """Write one part of the machine-readable map (or the whole map when it has one part)."""
    from ..facts import FileSummary

    entries = {}
    for rel in files:
        raw = packed_summary(read_bytes(ctx.paths.facts(rel)))
        if raw is None:
            continue
        xref_raw = read_bytes(ctx.paths.xref(rel))
        entries[rel] = repo_map.file_entry(unpack(FileSummary, raw),
                                           unpack(FileXref, xref_raw) if xref_raw else None)
    text = repo_map.render_part(entries) if parts else repo_map.render_index([], entries)
    written = [ctx.paths.page(page)] if write_text(ctx.paths.page(page), text) else []
    return page_result(ctx, written)


def render_map_index(ctx: ActionContext, parts: list[tuple[str, str, int]]) -> Result:
    """`docgraph.json` listing the parts of a split map."""
    path = ctx.paths.page(layout.MAP)
    written = [path] if write_text(path, repo_map.render_index(parts, None)) else []
    return page_result(ctx, written)
