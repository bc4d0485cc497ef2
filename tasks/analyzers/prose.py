"""Source text -> clean prose: the words a page may quote from a docstring, comment or README.

*Clean prose* is one line of plain text in which the only markup is a `code` span (backticks) and
a `[label](https://...)` link; :func:`docgraph.pages.markdown.prose` turns it into Markdown that
cmark-gfm and Python-Markdown render alike.  Every description and doc string in the facts is
clean prose, so a page never shows a source's own markup literally.

Each dialect is cleaned for what it is:

- Python docstrings (:func:`docstring`): reStructuredText and Sphinx (roles such as
  ``:meth:`x` ``, ````literal````, title underlines, directives and their options, field lists,
  substitutions ``|name|_``), Google and NumPy section headers, doctest blocks.
- Doxygen comments (:func:`doxygen`): ``\\brief``/``@brief`` lose their command, ``\\rst`` and
  ``\\endrst`` are dropped and their RST cleaned, a block command (``@param``, ``\\return``, ...)
  ends the prose.
- Comments in general (:func:`comment`): lint and formatter pragmas (``NOLINTNEXTLINE(...)``,
  ``noqa``, ``clang-format off``) are removed.
- Markdown (:func:`markdown`): HTML blocks, badges and images are skipped, inline HTML tags and
  emphasis removed, links to web pages kept as links, other links reduced to their label.

The first paragraph that holds real words is used.  This is heuristic by necessity (no parser
of the dependency set reads all of these dialects), done with regular expressions: one search
for markup characters decides whether a paragraph needs cleaning at all, so the common
plain-text docstring costs one regex scan.
"""

from __future__ import annotations

import html
import re

# ------------------------------------------------------------------ inline markup

# Anything that may need cleaning: backticks, roles, substitutions, markup, tags, entities,
# Doxygen commands, pragmas.  A paragraph without any of these is already clean prose.  (Checked
# with set and substring tests, which cost a fraction of one regex alternation per position.)
_MARKS = frozenset("`|*<>&\\@[]!~")
_COLON_MARKUP = re.compile(r":\w+:|::|type: *ignore|(?:fmt|isort|ruff|mypy):")


def _needs_cleaning(text: str) -> bool:
    if not _MARKS.isdisjoint(text):
        return True
    if ":" in text and _COLON_MARKUP.search(text):
        return True
    return ("NOLINT" in text or "noqa" in text or "pragma" in text or "clang-format" in text
            or "pylint" in text or "eslint-" in text)


_RST_ROLE = re.compile(r":(?:[\w.+-]+:)*(?P<role>[\w+-]+):`(?P<body>[^`]+)`")
_TEXT_ROLES = frozenset(("doc", "ref", "term", "abbr", "download", "numref", "pep", "rfc",
                         "emphasis", "strong", "title-reference"))
_RST_LITERAL = re.compile(r"``(?P<body>[^`]+?)``")
_RST_LINK = re.compile(r"`(?P<label>[^`<]+?)\s*<(?P<url>[^>`]+)>`__?")
_RST_REF = re.compile(r"`(?P<label>[^`<]+?)`__?(?!\w)")
_RST_SUBST = re.compile(r"(?<![\w|])\|(?P<name>[^|\s][^|]*?)\|_{0,2}(?![\w|])")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)|!\[[^\]]*\]\[[^\]]*\]")
_MD_LINK = re.compile(r"\[(?P<label>[^\[\]]+)\]\((?P<url>[^()\s]+)(?:\s+\"[^\"]*\")?\)")
_MD_REF_LINK = re.compile(r"\[(?P<label>[^\[\]]+)\]\[[^\[\]]*\]")
_AUTOLINK = re.compile(r"<(?P<url>https?://[^>\s]+)>")
_HTML_CODE = re.compile(r"<(code|tt|kbd|samp)>(?P<body>[^<`]+)</\1>", re.IGNORECASE)
_TAG = re.compile(r"</?(?:a|abbr|b|big|blockquote|br|center|cite|code|dd|del|details|div|dl|dt|em|"
                  r"figure|font|h[1-6]|hr|i|img|ins|kbd|li|mark|ol|p|picture|pre|q|s|samp|small|"
                  r"source|span|strike|strong|sub|summary|sup|table|tbody|td|th|thead|tr|tt|u|ul|"
                  r"var)(?:\s+[^<>]*)?/?>|<!--.*?-->", re.IGNORECASE)
_EMPHASIS = re.compile(r"(?<![\w*])(\*\*|\*)(?=\S)(?P<body>[^*]+?)(?<=\S)\1(?![\w*])")
_MD_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_PRAGMA = re.compile(r"\bNOLINT(?:NEXTLINE|BEGIN|END)?(?:\([^)]*\))?|\bnoqa\b(?::\s*[\w, ]+)?|"
                     r"\b(?:pylint|mypy|isort|ruff)\s*:\s*\S+|\btype:\s*ignore\S*|"
                     r"\bpragma:\s*no\s*(?:cover|branch)|\bfmt:\s*(?:on|off|skip)|"
                     r"\bclang-format\s+(?:on|off)|\beslint-(?:disable|enable)[\w-]*(?:\s+[\w/@-]+(?:,\s*[\w/@-]+)*)?",
                     re.IGNORECASE)
_DOXYGEN_INLINE = re.compile(r"[\\@](?:brief|short|details|rst|endrst|verbatim|endverbatim|"
                             r"internal|endinternal|note|remark|remarks|par|nosubgrouping|endlink)\b\s*")
_DOXYGEN_WORD = re.compile(r"[\\@](?P<cmd>a|b|c|e|em|p|ref|link|copydoc)\s+(?P<word>[\w:.<>~()]+)")
_SPACES = re.compile(r"\s+")
_URL = re.compile(r"^(?:https?://|mailto:)")
_CODE_OR_LINK = re.compile(r"`[^`]+`|\[[^\[\]]+\]\(https?://[^()\s]+\)")


def _role(match: re.Match[str]) -> str:
    body = match.group("body")
    explicit = re.match(r"(?P<title>.+?)\s*<(?P<target>[^>]+)>$", body)
    if explicit:
        return explicit.group("title")
    if match.group("role") in _TEXT_ROLES:  # a document, a glossary term: words, not code
        return body.lstrip("~!/").rpartition("/")[2] if match.group("role") == "doc" else body
    if body.startswith("~"):
        body = body[1:].rpartition(".")[2]
    return f"`{body.lstrip('!')}`"


def _doxygen_word(match: re.Match[str]) -> str:
    word = match.group("word")
    return f"`{word}`" if match.group("cmd") in ("c", "p") else word


def _link(label: str, url: str) -> str:
    label = label.strip().replace("`", "")
    return f"[{label}]({url})" if _URL.match(url) and label else label


def inline(text: str, dialect: str = "rst") -> str:
    """One paragraph of source markup -> clean prose (whitespace collapsed).

    `dialect` is `rst` (docstrings, Doxygen's ``\\rst`` blocks) or `markdown`; both know the other's
    commonest inline forms, since docstrings mix them freely.
    """
    text = _SPACES.sub(" ", text).strip()
    if not _needs_cleaning(text):
        return text
    text = _PRAGMA.sub("", text)
    text = _DOXYGEN_WORD.sub(_doxygen_word, text)
    text = _DOXYGEN_INLINE.sub("", text)
    text = _RST_LINK.sub(lambda m: _link(m.group("label"), m.group("url")), text)
    text = _MD_IMAGE.sub("", text)
    text = _HTML_CODE.sub(lambda m: f"`{m.group('body')}`", text)
    text = _TAG.sub("", text)
    if dialect == "markdown":
        text = _MD_ESCAPE.sub(r"\1", text) if "\\" in text else text
        text = html.unescape(text) if "&" in text else text
    text = _AUTOLINK.sub(lambda m: m.group("url"), text)
    text = _RST_ROLE.sub(_role, text)
    text = _RST_LITERAL.sub(lambda m: f"`{m.group('body').strip()}`", text)
    text = _MD_LINK.sub(lambda m: _link(m.group("label"), m.group("url")), text)
    text = _MD_REF_LINK.sub(lambda m: m.group("label"), text)
    if dialect == "rst":
        text = _RST_REF.sub(lambda m: m.group("label"), text)
        text = _RST_SUBST.sub(lambda m: m.group("name"), text)
    text = _EMPHASIS.sub(lambda m: m.group("body"), text)
    if text.endswith("::"):
        text = text[:-1]  # RST: "Example::" introduces a literal block and reads "Example:"
    return _SPACES.sub(" ", text).strip()


# ------------------------------------------------------------------ paragraphs

_UNDERLINE = re.compile(r"^\s*([=\-`:'\"~^_*+#<>.])\1{2,}\s*$")
_DIRECTIVE = re.compile(r"^\s*\.\.(?:\s|$)")  # explicit markup: directive, target, comment (`.. start`)
_FIELD = re.compile(r"^\s*:[\w\s.()-]+:(?:\s|$)")
_SECTION = re.compile(r"^\s*(?:Args|Arguments|Parameters|Params|Returns?|Yields?|Raises?|Examples?|"
                      r"Notes?|Attributes|Warnings?|See Also|References|Todo|Keyword Arguments|"
                      r"Other Parameters|Methods)\s*:?\s*$", re.IGNORECASE)
_STRUCTURE = re.compile(_UNDERLINE.pattern + "|" + _SECTION.pattern + r"|^\s*\.\.\s|^\s*>>>",
                        re.MULTILINE | re.IGNORECASE)
_DOCTEST = re.compile(r"^\s*>>>")
_HTML_BLOCK = re.compile(r"^\s*</?[A-Za-z][\w-]*(?:\s[^>]*)?/?>\s*$|^\s*<[A-Za-z][\w-]*(?:\s|>|$)|^\s*<!--")
_BADGES = re.compile(r"^\s*(?:\[?!\[[^\]]*\]\([^)]*\)\]?(?:\([^)]*\))?\s*)+$")
_DOXYGEN_BLOCK = re.compile(r"^\s*[\\@](?:param|tparam|return|returns|retval|throw|throws|exception|"
                            r"pre|post|see|sa|since|deprecated|warning|todo|code|example|snippet|"
                            r"file|author|date|version|copyright|ingroup|defgroup|addtogroup|"
                            r"class|struct|fn|def|var|typedef|namespace|overload|tparam)\b")
_LICENSE = re.compile(r"copyright|licen[cs]e|spdx-license|all rights reserved|\(c\)", re.IGNORECASE)
_TWO_LETTERS = re.compile(r"[^\W\d_].*?[^\W\d_]", re.DOTALL)


def _real(paragraph: str) -> bool:
    """Whether a cleaned paragraph holds words (not only punctuation, code or a licence)."""
    words = _CODE_OR_LINK.sub("", paragraph) if "`" in paragraph or "[" in paragraph else paragraph
    if not _TWO_LETTERS.search(words):
        return False
    low = paragraph.lower()
    return not (("copyright" in low or "licen" in low or "spdx" in low or "rights reserved" in low
                 or "(c)" in low) and _LICENSE.search(paragraph))


def _paragraphs(lines: list[str]) -> list[list[str]]:
    out: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            out[-1].append(line)
        elif out[-1]:
            out.append([])
    return [p for p in out if p]


_WHOLLY_STRONG = re.compile(r"^\s*\*\*[^*]+\*\*\s*$")
_SUBSTITUTIONS = re.compile(r"^\s*(?:\|[^|\s][^|]*\|_{0,2}\s*)+$")  # RST badges: |CI| |PyPI|


def _docstring_paragraph(lines: list[str]) -> list[str]:
    """The prose lines of one docstring paragraph (empty when it is not prose; a paragraph that
    is one bold phrase is a title in all but name)."""
    first = lines[0]
    if (_DIRECTIVE.match(first) or _FIELD.match(first) or _SECTION.match(first)
            or _DOCTEST.match(first) or _HTML_BLOCK.match(first) or _BADGES.match(first)
            or _DOXYGEN_BLOCK.match(first)):
        return []
    joined = " ".join(lines)
    if len(lines) <= 2 and _WHOLLY_STRONG.match(joined) or _SUBSTITUTIONS.match(joined):
        return []
    if len(lines) >= 2 and _UNDERLINE.match(lines[1]) or _UNDERLINE.match(first):
        return []  # a title (and its NumPy section body is not prose either)
    kept = []
    for line in lines:
        if (_FIELD.match(line) or _DOCTEST.match(line) or _DIRECTIVE.match(line)
                or _DOXYGEN_BLOCK.match(line) or _UNDERLINE.match(line)):
            break
        kept.append(line)
    return kept


def _first(paragraphs: list[list[str]], limit: int, dialect: str) -> str:
    directive = -1  # indentation of the directive whose indented body is being skipped
    for lines in paragraphs:
        indent = len(lines[0]) - len(lines[0].lstrip())
        if directive >= 0 and indent > directive:
            continue  # `.. toctree::` entries, a figure's caption: the directive's, not prose
        directive = indent if _DIRECTIVE.match(lines[0]) else -1
        kept = _docstring_paragraph(lines)
        if not kept:
            continue
        cleaned = inline(" ".join(kept), dialect)
        if _real(cleaned):
            return truncate(cleaned, limit)
    return ""


def docstring(raw: str | None, limit: int = 300) -> str:
    """The first prose paragraph of a Python docstring (already dedented), as clean prose."""
    if not raw:
        return ""
    raw = raw.strip()
    head = raw.partition("\n\n")[0]
    if not _needs_cleaning(head) and ("\n" not in head and not _SECTION.match(head)
                                      or not _STRUCTURE.search(head)):
        return truncate(_SPACES.sub(" ", head).strip(), limit)  # the common case: plain words
    return _first(_paragraphs(raw.splitlines()), limit, "rst")


_PRAGMA_LINE = re.compile(r"^(?:NOLINT|clang-format\s|eslint-|pylint:|mypy:|noqa\b|type:\s*ignore|"
                          r"fmt:|isort:|IWYU pragma)", re.IGNORECASE)


def doxygen(lines: list[str], limit: int = 300) -> str:
    """The first prose paragraph of a doc comment whose comment markers are already stripped
    (lines stripped too).  A line that opens with a lint pragma is the pragma's, whatever
    follows it (`NOLINTNEXTLINE(check) // PR #3263`)."""
    if any(line[:1] in "NncefpmtiI" and _PRAGMA_LINE.match(line) for line in lines):
        lines = [line for line in lines if not _PRAGMA_LINE.match(line)]
    paragraph: list[str] = []
    for line in lines:
        if line:
            paragraph.append(line)
        elif paragraph:
            break
    head = "\n".join(paragraph)
    if head and not _needs_cleaning(head) and ("\n" not in head or not _STRUCTURE.search(head)) \
            and _real(head):
        return truncate(" ".join(head.split()), limit)  # the common case: plain words
    return _first(_paragraphs(lines), limit, "rst")


_CMAKE_BRACKET = re.compile(r"\[=*\[(?:\.rst:?)?|\]=*\]")


def comment(paragraph: str, limit: int = 400) -> str:
    """A paragraph of a leading comment block as clean prose (pragmas and CMake's bracket-comment
    delimiters `#[==[.rst:` removed)."""
    if "[" in paragraph or "]" in paragraph:
        paragraph = _CMAKE_BRACKET.sub(" ", paragraph)
    return truncate(inline(paragraph, "rst"), limit)


def markdown(lines: list[str], limit: int = 400) -> str:
    """The first prose paragraph of Markdown lines (a README after its title), links kept."""
    fence = ""
    paragraph: list[str] = []
    for line in lines[:200]:
        stripped = line.strip()
        if fence:
            if stripped.startswith(fence):
                fence = ""
            continue
        if stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
            if paragraph:
                break
            continue
        if not stripped or stripped.startswith(("#", "|", ">", "---", "===", "***", "[!")) \
                or _HTML_BLOCK.match(stripped) or _BADGES.match(stripped) \
                or re.match(r"^\s*\[[^\]]+\]:\s", stripped) or (paragraph == [] and _UNDERLINE.match(stripped)):
            if paragraph:
                cleaned = inline(" ".join(paragraph), "markdown")
                if _real(cleaned) and not cleaned.startswith(("- ", "* ", "+ ")) \
                        and not (len(paragraph) <= 2 and _WHOLLY_STRONG.match(" ".join(paragraph))):
                    return truncate(cleaned, limit)
                paragraph = []
            continue
        paragraph.append(stripped)
    if paragraph:
        cleaned = inline(" ".join(paragraph), "markdown")
        if _real(cleaned):
            return truncate(cleaned, limit)
    return ""


def rst(lines: list[str], limit: int = 400) -> str:
    """The first prose paragraph of reStructuredText lines."""
    return _first(_paragraphs(lines[:200]), limit, "rst")


# ------------------------------------------------------------------ sentences

_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)(?<!\betc)(?<!\bvs)(?<!\bcf)[.?!](?=\s)")


def truncate(prose: str, limit: int) -> str:
    """`prose` cut to at most `limit` characters plus an ellipsis, never inside a code span or
    link: after the last whole sentence when that keeps a third of it or more, else at the limit."""
    if len(prose) <= limit:
        return prose
    cut = limit - 1
    spans = [m.span() for m in _CODE_OR_LINK.finditer(prose, 0, len(prose))]
    for start, end in spans:
        if start < cut < end:
            cut = start
            break
    ends = [m.end() for m in _SENTENCE_END.finditer(prose, limit // 3, cut)
            if not any(a < m.end() <= b for a, b in spans)]
    if ends:
        return prose[:ends[-1]] + " …"
    return prose[:cut].rstrip() + "…"


def first_sentence(prose: str, limit: int = 160) -> str:
    """The first sentence of clean prose (or its start, cut at `limit`), outside code and links."""
    prose = " ".join(prose.split())
    spans = [m.span() for m in _CODE_OR_LINK.finditer(prose)] if "`" in prose or "[" in prose else []
    for match in _SENTENCE_END.finditer(prose, 0, limit):
        end = match.end()
        if not any(a < end <= b for a, b in spans):
            return prose[:end]
    return truncate(prose, limit)
