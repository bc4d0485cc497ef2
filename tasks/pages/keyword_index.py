"""Keyword indices: `sub.md` of every folder (its subtree) and the global A–Z `keywords.md`.

Each lists the repository-level definitions (classes, functions, constants, macros, ...) and the
types' public methods and properties, shown as `Class.method` and filed under the method's own
name (so `route` is under R, as `Scaffold.route`), with their definition sites and the files
that import that name from them.  An index with more rows
than `pages.index_split` becomes an overview page plus one page per initial letter, and a letter
with more rows than that lists its parts of at most that many rows, cut where a row's hash says
so that an added row changes one part, so no page grows to many megabytes; a letter is
rerendered only when its rows' hash changed, and of its parts only those whose rows changed.  The
root folder's `sub.md` would repeat `keywords.md`, so it links there instead.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from .. import layout
from ..digests import CHECK_LOW, Keyed, KeywordRow, LetterKey, LogPosition
from . import RenderContext
from .markdown import anchor_id, code, fill, kind_text, link, path_text, plural, table_cell

_R = TypeVar("_R")
REFS_SHOWN = 5
TEMPLATE = "keyword_index.md"  # every page of an index, `sub.md` or `keywords.md`, its letters and parts
KEYWORDS_TITLE = "Keyword Index (A–Z)"
SHORT_NAME = 48  # longer C++ names show `<…>` for their template arguments


class RowSource(Protocol):
    """What the index pages read from the model (:class:`docgraph.digests.Digests`)."""

    def keyword_rows(self, folder: str, bucket: str | None = None) -> list[KeywordRow]: ...

    def keyed_rows(self, folder: str, bucket: str | None = None, start: LetterKey | None = None,
                   stop: LetterKey | None = None) -> list[Keyed]: ...

    def letter_sums(self, folder: str, bucket: str, bounds: list[LetterKey]) -> list[tuple[int, int, int]]: ...

    def letter_changes(self, folder: str, bucket: str, since: LogPosition
                       ) -> list[tuple[LetterKey, int, int]] | None: ...


def _label(bucket: str) -> str:
    return bucket.upper() if bucket != "other" else "Other"


_ARGUMENTS = re.compile(r"<[^<>]*>")


def _short(name: str) -> str:
    """A long C++ specialization's name with its template arguments as `<…>`
    (`copyable_holder_caster<…>::check_holder_compat`): the arguments of one specialization
    can be 100 characters without a space, wider than the page; the link leads to the full
    declaration."""
    if len(name) <= SHORT_NAME or "<" not in name:
        return name
    shorter, collapsed = name, ""
    while collapsed != shorter:  # innermost lists first, until none is left
        collapsed, shorter = shorter, _ARGUMENTS.sub("\0", shorter)
    return shorter.replace("\0", "<…>")


Links = dict[str, tuple[str, str, str, str]]
"""The links of the files an index's pages name: path -> (its docs page's href, its source's href
without the line number, its text, its text below the index's folder).  Valid for the pages of
one folder (all of one index's letters and parts are in its folder): torch4x's `t2/torch` index
names 11,000 files in 146,023 rows over 144 parts, each part had made its own."""


def _rows_table(rows: list[KeywordRow], page: str, ctx: RenderContext, files: Links | None = None,
                folder: str = "") -> str:
    """Four columns that each say one thing: the name (to its entry in the docs page), its kind,
    `path:line` (to the source line) and the files that import the name.  Paths may wrap after a
    `/` (:func:`path_text`), so the table fits GitHub's ~1,000 px column; names stay whole.  In
    the index of a `folder`, where every row's file is, a path is shown below it
    (`modules/conv.py:12` in the index of `torch/nn`): the folder's name, repeated on every
    row, was a third of the column in `torch/include/ATen/ops`; the importers, from anywhere,
    keep their whole paths.  `files`: the links already made for pages of `page`'s folder
    (:data:`Links`)."""
    if files is None:
        files = {}
    below = len(folder) + 1 if folder else 0

    def file_links(path: str) -> tuple[str, str, str, str]:
        found = files.get(path)
        if found is None:
            whole = path_text(path)
            found = files[path] = (ctx.page_href(page, layout.docs_page(path)), ctx.line_href(page, path),
                                   whole, path_text(path[below:]) if below else whole)
        return found

    # the lines are written here rather than through `table` (the indices of a large repository
    # hold hundreds of thousands of rows): only the name can hold a `|` (paths are escaped by
    # `text`, link targets percent-encoded), so only a name's cell is made safe for a table
    out = ["| Identifier | Kind | Defined in | Imported by |", "|---|---|---|---|"]
    for row in rows:
        docs, line_href, _, path = file_links(row.path)
        refs = ""
        if row.refs:
            refs = ", ".join([f"[{link[2]}]({link[0]})" for link in map(file_links, row.refs[:REFS_SHOWN])])
            if len(row.refs) > REFS_SHOWN:
                refs += f" and {len(row.refs) - REFS_SHOWN} more"
        shown = row.qualname or row.name  # a member as `Class.method`
        label = code(_short(shown) if len(shown) > SHORT_NAME else shown)
        name = f"[{label}]({docs}#{anchor_id('sym', shown)})"
        if "|" in name:
            name = table_cell(name)
        where = f"[{path}:{row.line}]({line_href}{row.line})" if row.line \
            else f"[{path}]({ctx.source_href(page, row.path)})"
        out.append(f"| {name} | {kind_text(row.kind)} | {where} | {refs} |")
    return "\n".join(out)


def _lettered(rows: list[KeywordRow], page: str, ctx: RenderContext, folder: str = "") -> str:
    """A one-page index in letter order: a jump bar, then a heading and a table per letter;
    `folder`: the index's (see :func:`_rows_table`)."""
    groups: dict[str, list[KeywordRow]] = {}
    for row in rows:
        groups.setdefault(layout.bucket_of(row.name), []).append(row)
    if len(groups) == 1:
        return _rows_table(rows, page, ctx, folder=folder)
    jump = " · ".join(link(_label(b), f"#letter-{b}") for b in groups)
    return jump + "\n\n" + "\n\n".join(
        f'### <a id="letter-{b}"></a>{_label(b)}\n\n' + _rows_table(group, page, ctx, folder=folder)
        for b, group in groups.items())


def _in_letter_order(rows: list[KeywordRow]) -> list[KeywordRow]:
    """Rows of a one-page index: letter by letter (A-Z, then others), index order inside."""
    rank = {bucket: i for i, bucket in enumerate(layout.BUCKETS)}
    return sorted(rows, key=lambda r: (rank[layout.bucket_of(r.name)], layout.sort_key(r.name),
                                       r.qualname, r.path, r.line, r.kind))


def _total(buckets: dict[str, list[object]]) -> int:
    return sum(int(v[0]) for v in buckets.values())  # type: ignore[call-overload]


def _letter_links(buckets: dict[str, list[object]], page: str, page_of: object,
                  ctx: RenderContext) -> str:
    parts = []
    for bucket in layout.BUCKETS:
        if bucket in buckets:
            target = page_of(bucket)  # type: ignore[operator]
            parts.append(f"{link(_label(bucket), ctx.page_href(page, target))} "
                         f"({int(buckets[bucket][0]):,})")  # type: ignore[call-overload]
    return " · ".join(parts)


def _sub_title(folder: str) -> str:
    return f"Keywords of {code(folder or '.')} and below"


def _scope(folder: str) -> str:
    return code(folder) if folder else "the repository"


def subtree_pages(folder: str, buckets: dict[str, list[object]], model: RowSource,
                  ctx: RenderContext, same_as: str = "") -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """`sub.md` of `folder`, and the letter pages it needs: {bucket: (hash, page)}.

    When another index lists exactly the same rows (`same_as`: `keywords` or a subfolder whose
    subtree holds all of them), the page says so and links there instead of repeating it.
    """
    page = layout.folder_page(folder, layout.FOLDER_SUB)
    total = _total(buckets)
    title = _sub_title(folder)
    if not folder:
        summary = (f"{plural(total, 'definition')} in the whole repository; "
                   f"the repository-wide index is {link('keywords.md', ctx.page_href(page, layout.KEYWORDS))}.")
        body = _letter_links(buckets, page, layout.keywords_letter_page, ctx) \
            if total > ctx.settings.index_split else ""
        return {page: fill(TEMPLATE, title=title, summary=summary, body=body)}, {}
    if not total:
        summary = "No file in this folder or below defines an indexed identifier."
        return {page: fill(TEMPLATE, title=title, summary=summary, body="")}, {}
    summary = (f"{plural(total, 'definition')} in the files of {_scope(folder)} and its subfolders "
               f"({link('folder index', ctx.page_href(page, layout.folder_page(folder, layout.FOLDER_INDEX)))}).")
    if same_as:
        if same_as == "keywords":
            where, label, target = ("They are all the definitions of the repository", "keywords.md",
                                    layout.KEYWORDS)
        else:
            where, label, target = (f"All of them are in {code(same_as)}", code(same_as) + " sub.md",
                                    layout.folder_page(same_as, layout.FOLDER_SUB))
        summary += f" {where}: their index is {link(label, ctx.page_href(page, target))}."
        return {page: fill(TEMPLATE, title=title, summary=summary, body="")}, {}
    if total <= ctx.settings.index_split:
        rows = _in_letter_order(model.keyword_rows(folder))
        return {page: fill(TEMPLATE, title=title, summary=summary,
                           body=_lettered(rows, page, ctx, folder))}, {}
    letters = {b: (str(v[1]), layout.sub_letter_page(folder, b)) for b, v in buckets.items()}
    body = "By initial letter: " + _letter_links(
        buckets, page, lambda b: layout.sub_letter_page(folder, b), ctx)
    return {page: fill(TEMPLATE, title=title, summary=summary, body=body)}, letters


Rendered = dict[str, str | None]
"""The pages of a letter, the letter page first: {page: text}; None for a part whose page stays
as written (its rows and its place are as they were)."""


@dataclass(frozen=True)
class Part:
    """One part of a large letter as cut: its first row's key, its last row's name, and the
    count and the sums of its rows' checks (as :meth:`RowSource.letter_sums` gives them), which
    tell whether the rows from its first key to the next part's are still these."""

    first: LetterKey
    last: str
    count: int
    high: int
    low: int

    @classmethod
    def of(cls, rows: Sequence[Keyed]) -> Part:
        return cls(rows[0].key, rows[-1].row.name, len(rows), sum(r.check >> 31 for r in rows),
                   sum(r.check & CHECK_LOW for r in rows))

    def sums(self) -> tuple[int, int, int]:
        return self.count, self.high, self.low

    def dump(self) -> list[object]:
        return [list(self.first), self.last, self.count, self.high, self.low]

    @classmethod
    def load(cls, data: list[Any]) -> Part:
        first, last, count, high, low = data
        return cls(tuple(first), last, count, high, low)  # type: ignore[arg-type]


def _cut_hash(row: KeywordRow) -> int:
    """What decides whether a part ends after `row`: a hash of the row's identity (not of its
    references, which change with other files)."""
    data = f"{row.name}\0{row.qualname}\0{row.path}".encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


class _Cuts:
    """Where a part of at most `limit` rows ends (:func:`parts_of`): its bounds, computed once."""

    __slots__ = ("late", "least", "limit", "spread", "tight")

    def __init__(self, limit: int):
        self.limit, self.least, self.late = limit, max(1, limit // 4), max(1, 3 * limit // 4)
        self.spread = max(1, limit // 3)
        self.tight = max(1, self.spread // 8)

    def ends(self, size: int, row: KeywordRow) -> bool:
        """Whether a part of `size` rows ends with `row`."""
        return size >= self.limit or size >= self.least and \
            _cut_hash(row) % (self.spread if size < self.late else self.tight) == 0


def parts_of(rows: Sequence[_R], limit: int, row: Callable[[_R], KeywordRow] = lambda r: r  # type: ignore[assignment,return-value]
             ) -> list[list[_R]]:
    """The rows of a large letter cut into parts of at most `limit` rows where a row's own hash
    says, as backup tools cut files by their content: a row added or removed changes its own
    part, where cuts by position moved every later part by one row (and a 48,000-file tree's
    edit rendered all 40 parts of its letter again).  A part but the last holds at least a
    quarter of the limit; past three quarters, a row says so eight times as often, so that a
    part seldom reaches the limit, where it is cut whatever its rows say (a cut by position
    there moves the cuts after it until one falls where a row said so again)."""
    parts: list[list[_R]] = []
    current: list[_R] = []
    ends = _Cuts(limit).ends
    for item in rows:
        current.append(item)
        if ends(len(current), row(item)):
            parts.append(current)
            current = []
    if current:
        parts.append(current)
    return parts


def _kept_rows(source: RowSource, folder: str, bucket: str, kept: Sequence[Part], at: int) -> list[Keyed]:
    """The rows now between the first key of kept part `at` and the next one's (from the
    letter's start for the first, to its end for the last)."""
    return source.keyed_rows(folder, bucket, kept[at].first if at else None,
                             kept[at + 1].first if at + 1 < len(kept) else None)


def _recut(source: RowSource, folder: str, bucket: str, limit: int, kept: Sequence[Part],
           sums: list[tuple[int, int, int]]) -> list[Part | list[Keyed]]:
    """The parts of a letter now, from those `kept` and the sums of the rows between their first
    keys now: a kept part whose rows are the same, reached where it began, stays (as the
    `Part`); from a part whose rows changed, the rows are read and cut again (lists of rows)
    until a cut falls where a kept part begins whose rows are the same: an added row reads
    and cuts about one part's rows, not the letter's."""
    out: list[Part | list[Keyed]] = []
    ends = _Cuts(limit).ends
    changed = [part.sums() != now for part, now in zip(kept, sums)]
    at = 0
    while at < len(kept):
        if not changed[at]:
            out.append(kept[at])
            at += 1
            continue
        current: list[Keyed] = []
        while True:
            for item in _kept_rows(source, folder, bucket, kept, at):
                current.append(item)
                if ends(len(current), item.row):
                    out.append(current)
                    current = []
            at += 1
            if at == len(kept) or not current:  # a cut where a kept part begins
                break
        if current:  # (the letter's end)
            out.append(current)
    return out


def _sums_now(source: RowSource, folder: str, bucket: str, kept: Sequence[Part],
              since: LogPosition | None) -> list[tuple[int, int, int]]:
    """The sums of the rows now between the first keys of the `kept` parts: theirs when they
    were cut (at the model's log position `since`) with the rows logged since added or taken
    away, each in the range its key falls in; or, when the log cannot say, summed from every
    row of the letter (torch4x's letter B of `t2/torch`: 13 ms, reading the repository's
    rows of the letter, where an edit logs a few dozen)."""
    changes = source.letter_changes(folder, bucket, since) if since is not None else None
    if changes is None:
        return source.letter_sums(folder, bucket, [p.first for p in kept[1:]])
    sums = [list(part.sums()) for part in kept]
    firsts = [part.first for part in kept[1:]]
    for key, check, sign in changes:
        found = sums[bisect_right(firsts, key)]
        found[0] += sign
        found[1] += sign * (check >> 31)
        found[2] += sign * (check & CHECK_LOW)
    return [(count, high, low) for count, high, low in sums]


def _letter(source: RowSource, folder: str, bucket: str, page: str, ctx: RenderContext, title: str,
            summary: Callable[[int], str], what: str,
            kept: Sequence[Part], since: LogPosition | None = None,
            links: Links | None = None) -> tuple[Rendered, list[Part]]:
    """A letter page, and when its rows are more than `pages.index_split` its parts
    (:func:`parts_of`): then the letter page lists the parts with the first and last name of
    each (GitHub renders a Markdown file only when small, "generally less than 2 MB": a letter
    of a 48,000-file tree held 10 MB).  With the parts `kept` from the last time (:class:`Part`),
    only the rows of those that changed are read (:func:`_recut`), and a part is rendered again
    only when its rows or its number (or the number of parts) changed; `since`: the model's
    log position when the kept parts were cut (:func:`_sums_now`); `links`: those made for other
    pages of the folder (:data:`Links`)."""
    limit = ctx.settings.index_split
    files: Links = {} if links is None else links
    sums = _sums_now(source, folder, bucket, kept, since) if kept else []
    cut: list[Part | list[Keyed]]
    if sums and sum(n for n, _, _ in sums) > limit:
        cut = _recut(source, folder, bucket, limit, kept, sums)
    else:
        rows = source.keyed_rows(folder, bucket)
        if len(rows) <= limit:
            return {page: fill(TEMPLATE, title=title, summary=summary(len(rows)),
                               body=_rows_table([r.row for r in rows], page, ctx, files, folder))}, []
        cut = list(parts_of(rows, limit, lambda r: r.row))
    parts = [p if isinstance(p, Part) else Part.of(p) for p in cut]
    pages = [layout.letter_part_page(page, number) for number in range(1, len(parts) + 1)]

    def shown(name: str) -> str:  # the name the rows are ordered by (a member's own)
        return code(_short(name) if len(name) > SHORT_NAME else name)

    def span(part: Part) -> str:
        first, last = shown(part.first[1]), shown(part.last)
        return first if first == last else f"{first} … {last}"

    listing = "\n".join(
        f"{number}. {link(f'part {number}', ctx.page_href(page, target))}: {span(part)} ({part.count:,})"
        for number, (target, part) in enumerate(zip(pages, parts), 1))
    out: Rendered = {page: fill(TEMPLATE, title=title,
                                summary=summary(sum(p.count for p in parts)) + f" In {len(parts)} parts:",
                                body=listing)}
    was = {id(part): at for at, part in enumerate(kept)}
    for number, (target, part, made) in enumerate(zip(pages, parts, cut), 1):
        if isinstance(made, Part):
            at = was[id(made)]
            if len(parts) == len(kept) and at == number - 1:
                out[target] = None  # the same rows in the same place: the page as written
                continue
            made = _kept_rows(source, folder, bucket, kept, at)
        around = [link("previous", ctx.page_href(target, pages[number - 2])) if number > 1 else "",
                  link("next", ctx.page_href(target, pages[number])) if number < len(parts) else "",
                  link("all parts", ctx.page_href(target, page))]
        out[target] = fill(
            TEMPLATE, title=f"{title}, part {number} of {len(parts)}",
            summary=f"Part {number} of {len(parts)} of the definitions {what}: {span(part)} "
                    f"({plural(part.count, 'row')}); " + " · ".join(a for a in around if a) + ".",
            body=_rows_table([r.row for r in made], target, ctx, files, folder))
    return out, parts


def subtree_letter(folder: str, bucket: str, model: RowSource, ctx: RenderContext,
                   kept: Sequence[Part], since: LogPosition | None = None,
                   links: Links | None = None) -> tuple[Rendered, list[Part]]:
    """One letter page of a split `sub.md` (with its parts when large)."""
    page = layout.sub_letter_page(folder, bucket)

    def summary(count: int) -> str:
        return (f"{plural(count, 'definition')} starting with {_label(bucket)} in "
                f"{_scope(folder)} and below; "
                f"{link('all letters', ctx.page_href(page, layout.folder_page(folder, layout.FOLDER_SUB)))}.")

    return _letter(model, folder, bucket, page, ctx, f"{_sub_title(folder)}: {_label(bucket)}", summary,
                   f"starting with {_label(bucket)} in {_scope(folder)} and below", kept, since, links)


def global_pages(buckets: dict[str, list[object]], model: RowSource,
                 ctx: RenderContext) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """`keywords.md`, and the letter pages it needs."""
    page = layout.KEYWORDS
    total = _total(buckets)
    summary = (f"{plural(total, 'definition')} across the repository." if total
               else "No file of the repository defines an indexed identifier.")
    if total <= ctx.settings.index_split:
        rows = _in_letter_order(model.keyword_rows(""))
        body = _lettered(rows, page, ctx) if rows else ""
        return {page: fill(TEMPLATE, title=KEYWORDS_TITLE, summary=summary, body=body)}, {}
    letters = {b: (str(v[1]), layout.keywords_letter_page(b)) for b, v in buckets.items()}
    body = "By initial letter: " + _letter_links(buckets, page, layout.keywords_letter_page, ctx)
    return {page: fill(TEMPLATE, title=KEYWORDS_TITLE, summary=summary, body=body)}, letters


def global_letter(bucket: str, model: RowSource, ctx: RenderContext,
                  kept: Sequence[Part], since: LogPosition | None = None,
                  links: Links | None = None) -> tuple[Rendered, list[Part]]:
    """One letter page of a split `keywords.md` (with its parts when large)."""
    page = layout.keywords_letter_page(bucket)

    def summary(count: int) -> str:
        return (f"{plural(count, 'definition')} starting with {_label(bucket)}; "
                f"{link('all letters', ctx.page_href(page, layout.KEYWORDS))}.")

    return _letter(model, "", bucket, page, ctx, f"Keyword Index: {_label(bucket)}", summary,
                   f"starting with {_label(bucket)}", kept, since, links)
