"""Any text file without a dedicated parser: only what can be measured or read off directly.

Claims: the format's name (from the file name alone, shown as such), size, lines, encoding, a
shebang's interpreter, and the first paragraph of the file's own words, skipping licence headers.
Nothing is inferred from substrings.
"""

from __future__ import annotations

import re

from ..facts import FileFacts, Symbol
from ..languages import ANY_COMMENTS, C_COMMENTS, HASH_COMMENTS, display_name, for_path
from . import Source, prose

__all__ = ["C_COMMENTS", "HASH_COMMENTS", "analyze", "first_paragraph", "first_sentence",
           "language_of", "n_lines", "shebang"]

_LICENSE = re.compile(r"copyright|licen[cs]e|spdx-license|all rights reserved|\(c\)", re.IGNORECASE)
_COMMENT = re.compile(r"^\s*(#+|//+|/\*+|\*+/?|--|;+|%+|<!--|-->|\"\"\"|''')\s?")


def n_lines(count: int) -> str:
    """`1 line`, `12 lines`."""
    return f"{count:,} line" + ("" if count == 1 else "s")


def language_of(name: str) -> str:
    """Format name of a file from its name alone (`text` when unknown)."""
    return display_name(name)


def shebang(text: str) -> str:
    """Interpreter named by a `#!` line (`python3`, `bash`), or empty."""
    if not text.startswith("#!"):
        return ""
    words = text[2:].split("\n", 1)[0].split()
    if not words:
        return ""
    prog = words[0].rpartition("/")[2]
    if prog == "env" and len(words) > 1:
        rest = [w for w in words[1:] if not w.startswith("-")]
        prog = rest[0] if rest else ""
    return prog


_DIRECTIVE = re.compile(r"^\s*(-\*-.*-\*-|(mypy|flake8|pylint|noqa|type|isort|ruff|pyre|fmt|"
                        r"pragma|vim|eslint|prettier|clang-format|NOLINT\w*)\b[\w-]*:?.*)$", re.IGNORECASE)


def first_paragraph(text: str, limit: int = 400, comments_only: bool = False,
                    markers: tuple[str, ...] = ANY_COMMENTS) -> str:
    """The first paragraph of a file's own words: comment markers stripped, licence blocks and
    tool directives (`mypy: ...`, `-*- coding -*-`) skipped.  With `comments_only`, only the
    leading comment block counts (code and data lines are not prose); `markers` says which line
    starts are comments in the file's language (`#include` is not a comment in C)."""
    lines = text.splitlines()
    if lines and lines[0].startswith("#!"):
        lines = lines[1:]
    if comments_only:
        leading = []
        in_block = False
        for raw in lines[:300]:
            stripped = raw.lstrip()
            if not stripped or in_block or stripped.startswith(markers):
                leading.append(raw)
                if "/*" in markers:
                    if stripped.startswith("/*") and "*/" not in stripped[2:]:
                        in_block = True
                    elif in_block and "*/" in stripped:
                        in_block = False
            else:
                break
        lines = leading
    paragraphs: list[list[str]] = [[]]
    for raw in lines[:200]:
        line = _COMMENT.sub("", raw).strip()
        if _DIRECTIVE.match(line):
            continue
        line = line.rstrip("*/").strip()
        if not line or set(line) <= set("=-*#/_~+"):
            if paragraphs[-1]:
                paragraphs.append([])
            continue
        paragraphs[-1].append(line)
    for para in paragraphs:
        joined = " ".join(para)
        if joined and not _LICENSE.search(joined) and any(c.isalpha() for c in joined):
            cleaned = prose.comment(joined, limit)
            if any(c.isalpha() for c in cleaned):
                return cleaned
    return ""


def first_sentence(text: str, limit: int = 160) -> str:
    """First sentence (or line) of a paragraph of clean prose, for one-line descriptions."""
    return prose.first_sentence(text, limit)


def describe(doc: str, top: list[Symbol], fallback: str) -> str:
    """A file's one-line description: its doc comment's first sentence, else the first three
    indexed definitions it names, else `fallback` (format and size)."""
    if doc:
        return first_sentence(doc)
    if top:
        shown = ", ".join(f"`{s.name}`" for s in top[:3])
        return f"Defines {shown}" + (" and others" if len(top) > 3 else "")
    return fallback


def analyze(source: Source) -> FileFacts:
    """Generic text facts."""
    declared = for_path(source.path)
    language = declared.name if declared is not None else "text"
    interpreter = shebang(source.text)
    doc = first_paragraph(source.text, comments_only=declared is None or not declared.prose,
                          markers=declared.comments if declared is not None else ANY_COMMENTS)
    if doc:
        description = first_sentence(doc)
    elif source.line_count == 0:
        description = "empty file"
    else:
        description = f"{language}, {n_lines(source.line_count)}"
    return source.facts(
        language=language,
        description=description,
        doc=doc,
        entry_point=bool(interpreter),
        interpreter=interpreter,
    )
