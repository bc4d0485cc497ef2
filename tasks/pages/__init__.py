"""Pages: facts and cross-references -> Markdown strings (pure; no parser, no disk).

One module per page kind.  Every function here takes records from :mod:`tasks.facts` (or the
aggregate records of :mod:`tasks.model`) and returns text; the doit actions write it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..config import PageSettings
from ..layout import relative_link
from .markdown import href


@dataclass(frozen=True)
class RenderContext:
    """What every page needs besides its own data."""

    to_root: str
    """Path from the output root to ROOT (`..` for the default `repo-docs/`)."""
    settings: PageSettings
    """Page settings."""

    def source_href(self, page: str, rel: str, line: int = 0) -> str:
        """Link target from `page` (relative to the output root) to source `rel`, at `line`."""
        return href(_up(page) + self.to_root + "/" + rel, f"L{line}" if line else "")

    def page_href(self, page: str, other: str, fragment: str = "") -> str:
        """Link target from one page to another (both relative to the output root)."""
        return href(relative_link(page, other), fragment)


@lru_cache(maxsize=4096)
def _up(page: str) -> str:
    """`../` once per folder level of a page (links to sources leave the output tree anyway)."""
    return "../" * page.count("/")
