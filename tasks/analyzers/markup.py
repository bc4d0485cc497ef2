"""Markdown and reStructuredText: title, heading outline, links, code-block languages.

This module reads documents line by line with regular expressions, which is what both formats'
block structure allows for headings, fences and link syntax: no Markdown or RST library in the
dependency set exposes source lines for headings and links.  Text inside fenced or literal blocks
is skipped, so a `#` comment in a code sample is not a heading.  Links to repository files are
kept as references (kind `link`) for the cross-reference stage; external URLs are not.
"""

from __future__ import annotations

import re

from ..facts import FileFacts, Heading, Import
from . import Source, prose
from .generic import first_sentence

_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*([^`\s]*)")
_MD_LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'(][^)]*[\"')])?\s*\)")
_MD_REF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
_INLINE_MARKUP = re.compile(r"[*_`]+|<[^>]+>|\[([^\]]*)\]\([^)]*\)")
_RST_UNDERLINE = re.compile(r"^([=\-`:'\"~^_*+#<>.])\1{2,}\s*$")
_RST_LINK = re.compile(r"`[^`<]*<([^>`]+)>`__?")
_RST_DIRECTIVE = re.compile(r"^\s*\.\.\s+(include|literalinclude|image|figure)::\s*(\S+)")
_RST_CODE = re.compile(r"^\s*\.\.\s+(?:code-block|code|sourcecode)::\s*(\S*)")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//|^#")


def _clean(title: str) -> str:
    title = _INLINE_MARKUP.sub(lambda m: m.group(1) or "", title)
    return " ".join(title.split())


def is_internal(target: str) -> bool:
    """Whether a link target points into the repository (not a URL, not a page anchor)."""
    return bool(target) and not _SCHEME.match(target)


def _paragraph_after(lines: list[str], start: int, language: str) -> str:
    """The first prose paragraph after the title, as clean prose (links to web pages kept)."""
    if language == "Markdown":
        return prose.markdown(lines[start:start + 200])
    return prose.rst(lines[start:start + 200])


def analyze_markdown(source: Source) -> FileFacts:
    """Markdown outline, links and code blocks."""
    lines = source.text.splitlines()
    headings: list[Heading] = []
    links: list[Import] = []
    blocks: list[str] = []
    fence = ""
    previous = ""
    for number, line in enumerate(lines, 1):
        if fence:
            if line.lstrip().startswith(fence):
                fence = ""
            continue
        opening = _FENCE.match(line)
        if opening:
            fence = opening.group(1)
            blocks.append(opening.group(2).lower())
            previous = ""
            continue
        atx = _ATX.match(line)
        if atx:
            headings.append(Heading(len(atx.group(1)), _clean(atx.group(2)), number))
        elif previous.strip() and _SETEXT.match(line) and not previous.startswith((" " * 4, "\t")):
            level = 1 if line.strip().startswith("=") else 2
            headings.append(Heading(level, _clean(previous), number - 1))
        for match in _MD_LINK.finditer(line):
            if is_internal(match.group(1)):
                links.append(Import(match.group(1), "link", number))
        ref = _MD_REF.match(line)
        if ref and is_internal(ref.group(1)):
            links.append(Import(ref.group(1), "link", number))
        previous = line
    return _facts(source, "Markdown", headings, links, blocks, lines)


def analyze_rst(source: Source) -> FileFacts:
    """reStructuredText outline (levels in order of first use of each underline), links, includes."""
    lines = source.text.splitlines()
    headings: list[Heading] = []
    links: list[Import] = []
    blocks: list[str] = []
    styles: list[str] = []
    literal_indent = -1
    for index, line in enumerate(lines):
        number = index + 1
        stripped = line.strip()
        if literal_indent >= 0:
            if stripped and len(line) - len(line.lstrip()) <= literal_indent:
                literal_indent = -1
            else:
                continue
        code = _RST_CODE.match(line)
        if code:
            blocks.append(code.group(1).lower())
            literal_indent = len(line) - len(line.lstrip())
            continue
        if stripped.endswith("::") and not stripped.startswith(".."):
            literal_indent = len(line) - len(line.lstrip())
        underline = _RST_UNDERLINE.match(line)
        if underline and index > 0:
            title = lines[index - 1].strip()
            overline = index > 1 and lines[index - 2].strip() == stripped
            if title and len(stripped) >= len(title) and not _RST_UNDERLINE.match(title):
                style = ("o" if overline else "u") + underline.group(1)
                if style not in styles:
                    styles.append(style)
                headings.append(Heading(styles.index(style) + 1, _clean(title), index))
        for match in _RST_LINK.finditer(line):
            if is_internal(match.group(1)):
                links.append(Import(match.group(1), "link", number))
        directive = _RST_DIRECTIVE.match(line)
        if directive and is_internal(directive.group(2)):
            links.append(Import(directive.group(2), "link", number))
    return _facts(source, "reStructuredText", headings, links, blocks, lines)


def _facts(source: Source, language: str, headings: list[Heading], links: list[Import],
           blocks: list[str], lines: list[str]) -> FileFacts:
    # prose before the first heading (a README that opens with a logo, badges and its pitch,
    # then "Core features") is the document's first paragraph, and that heading is no title
    before = _paragraph_after(lines[:headings[0].line - 1], 0, language) if headings else ""
    if before:
        title, doc = "", before
    else:
        title = next((h.title for h in headings if h.level == 1), headings[0].title if headings else "")
        doc = _paragraph_after(lines, headings[0].line if headings else 0, language)
    if title:
        description = title if not doc else f"{title}: {first_sentence(doc, 120)}"
    elif doc:
        description = first_sentence(doc)
    else:
        description = "empty document" if not source.text.strip() else f"{language} document"
    return source.facts(language=language, description=description, doc=doc, title=title,
                        headings=tuple(headings), imports=tuple(links), code_blocks=tuple(blocks))
