"""Documents: Markdown and reStructuredText (outline, links, code blocks)."""

from __future__ import annotations

from . import Language

LANGUAGES = (
    Language(name="Markdown", suffixes=(".md", ".markdown"), fence="markdown",
             analyzer="markup:analyze_markdown", prose=True, imports="path"),
    Language(name="reStructuredText", suffixes=(".rst",), fence="rst", analyzer="markup:analyze_rst",
             prose=True, imports="path"),
)
