"""Pages: facts and cross-references -> Markdown strings (pure; no parser, no disk).

One module per page kind.  Every function here takes records from :mod:`docgraph.facts` (or the
aggregate records of :mod:`docgraph.model`) and returns text; the doit actions write it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..config import PageSettings
from ..layout import link_from_folder
from .markdown import href


@dataclass(frozen=True)
class RenderContext:
    """What every page needs besides its own data."""

    to_root: str
    """Path from the output root to ROOT (`..` for the default `repo-docs/`)."""
    settings: PageSettings
    """Page settings."""

    def source_href(self, page: str, rel: str, line: int = 0) -> str:
        """Link target from `page` (relative to the output root) to source `rel`, at `line`:
        relative, or absolute under `pages.source_url` when that is set."""
        folder = page.rpartition("/")[0]
        if line:
            return _line_href(folder, self.to_root, self.settings.source_url, rel) + str(line)
        return _source_href(folder, self.to_root, self.settings.source_url, rel)

    def line_href(self, page: str, rel: str) -> str:
        """:meth:`source_href` without the line number, for a caller that appends many."""
        return _line_href(page.rpartition("/")[0], self.to_root, self.settings.source_url, rel)

    def page_href(self, page: str, other: str, fragment: str = "") -> str:
        """Link target from one page to another (both relative to the output root)."""
        base = _page_href(page.rpartition("/")[0], other)
        return f"{base}#{fragment}" if fragment else base


# pages link the same few targets many times (every definition links its line of the source), and
# the pages of one folder link them alike: cached by the linking page's folder, not its name (the
# 144 parts of torch4x's `t2/torch/sub.md` made 55,284 source links and 55,845 page links, each
# part its own)
@lru_cache(maxsize=65536)
def _source_href(folder: str, to_root: str, source_url: str, rel: str) -> str:
    if source_url:
        return source_url + href(rel)
    return href("../" * (folder.count("/") + 1 if folder else 0) + to_root + "/" + rel)


# GitHub shows these rendered, where `#L12` lands nowhere; `?plain=1` shows their lines (GitHub
# keeps the query of a relative link too).
RENDERED_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd", ".rst", ".ipynb", ".adoc", ".asciidoc",
                     ".org", ".textile", ".rdoc", ".creole", ".mediawiki", ".wiki", ".pod", ".svg",
                     ".geojson", ".topojson", ".csv", ".tsv")


@lru_cache(maxsize=65536)
def _line_href(folder: str, to_root: str, source_url: str, rel: str) -> str:
    base = _source_href(folder, to_root, source_url, rel)
    plain = rel.lower().endswith(RENDERED_SUFFIXES)
    return base + ("?plain=1#L" if plain else "#L")


@lru_cache(maxsize=65536)
def _page_href(folder: str, other: str) -> str:
    return href(link_from_folder(folder, other))
