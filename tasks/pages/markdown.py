r"""Safe Markdown building blocks: escaping, code spans, fences, links, tables, templates.

Names from the repository are data, not markup: every name that reaches a page goes through
:func:`code` or :func:`text`, every path through :func:`href`, so a file called ``[x](y)`` or
``<script>`` cannot inject Markdown or HTML, and a newline in a name cannot break a table.
Descriptions and doc strings are clean prose (:mod:`docgraph.analyzers.prose`) and go through
:func:`prose`, which keeps their code spans and web links.

Escapes are the ones GitHub's cmark-gfm and MkDocs' Python-Markdown read alike: a backslash only
before the characters both treat as escapable; ``<``, ``>``, ``&``, ``~`` and ``|`` as character
references (Python-Markdown shows ``\<``, ``\~`` and ``\|`` literally); nothing inside a URL
(GitHub's autolinker would put ``%5C`` into it), which is written as an autolink instead.
"""

from __future__ import annotations

import re
import string
from functools import cache, lru_cache
from importlib import resources
from urllib.parse import quote

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_BACKTICKS = re.compile(r"`+")


def visible(value: str) -> str:
    """A one-line rendering of a raw string: newlines and control characters made visible."""
    if value.isprintable():
        return value
    value = value.replace("\r\n", "\n").replace("\n", "\\n").replace("\r", "\\r").replace("\t", " ")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)


_ESCAPES = str.maketrans({**{c: "\\" + c for c in "\\`*_{}[]()#+!"}, "&": "&amp;", "<": "&lt;",
                         ">": "&gt;", "~": "&#126;", "|": "&#124;"})
_ORDERED = re.compile(r"^(\d+)([.)])(?=\s|$)")


def text(value: str) -> str:
    """Plain text with Markdown and HTML metacharacters escaped (URLs in it become autolinks)."""
    value = visible(value)
    if "://" in value:
        return _with_urls(value)
    value = value.translate(_ESCAPES)  # (the body of _escaped, inline: a hot path)
    if value[:1] in ("-", "=") and value:
        value = "\\" + value
    elif value[:1].isdigit():
        value = _ORDERED.sub(r"\1\\\2", value)
    return value


def _escaped(value: str) -> str:
    value = value.translate(_ESCAPES)
    if value[:1] in ("-", "=") and value:
        value = "\\" + value
    elif value[:1].isdigit():
        value = _ORDERED.sub(r"\1\\\2", value)
    return value


_URL = re.compile(r"\bhttps?://[^\s<>`\[\]()\"']*[^\s<>`\[\]()\"'.,;:!?*_~]")


def _with_urls(value: str) -> str:
    out = []
    last = 0
    for match in _URL.finditer(value):
        out.append(_escaped(value[last:match.start()]) if match.start() > last else "")
        out.append(f"<{match.group()}>")
        last = match.end()
    out.append(_escaped(value[last:]) if last < len(value) else "")
    return "".join(out)


_PROSE = re.compile(r"(?P<ticks>`+)(?P<code>.+?)(?<!`)(?P=ticks)(?!`)"
                    r"|\[(?P<label>[^\[\]]+)\]\((?P<url>https?://[^\s()<>]+)\)")


def prose(value: str) -> str:
    """Clean prose (:mod:`docgraph.analyzers.prose`) as Markdown: its `code` spans and
    `[label](https://...)` links kept, everything else escaped by :func:`text`."""
    if "`" not in value and "[" not in value:
        return text(value)
    out = []
    last = 0
    for match in _PROSE.finditer(value):
        if match.start() > last:
            out.append(text(value[last:match.start()]))
        body = match.group("code")
        if body is not None:
            out.append(code(body.strip() or body))
        else:
            out.append(link(text(match.group("label")), match.group("url")))
        last = match.end()
    if not out:
        return text(value)
    if last < len(value):
        out.append(text(value[last:]))
    return "".join(out)


def path_text(path: str) -> str:
    """A repository path as :func:`text` with a `<wbr>` (a line-break opportunity, no
    character) after each `/`, for table cells: browsers break neither a code span nor a path
    at `/`, so one long path widened a whole table past GitHub's ~1,000 px column."""
    return text(path).replace("/", "/<wbr>")


@lru_cache(maxsize=256)
def kind_text(kind: str) -> str:
    """:func:`text` of a symbol kind, escaped once per kind (a few dozen kinds label hundreds of
    thousands of symbols in the pages and keyword tables of a large repository)."""
    return text(kind)


def code(value: str) -> str:
    """An inline code span that shows `value` verbatim, whatever backticks it holds."""
    if "`" not in value and value and value.isprintable():
        return f"`{value}`"
    value = visible(value)
    if not value:
        return "` `"
    runs = [len(m) for m in _BACKTICKS.findall(value)]
    ticks = "`" * (max(runs) + 1 if runs else 1)
    pad = " " if value.startswith("`") or value.endswith("`") or ticks != "`" else ""
    return f"{ticks}{pad}{value}{pad}{ticks}"


def fence(content: str, language: str = "") -> str:
    """A fenced block whose fence is longer than any backtick run inside it."""
    runs = [len(m) for m in _FENCE_RUN.findall(content)] if "```" in content else []
    ticks = "`" * max(3, max(runs) + 1 if runs else 3)
    lang = re.sub(r"[^\w+#.-]", "", language)
    body = content if content.endswith("\n") or not content else content + "\n"
    return f"{ticks}{lang}\n{body}{ticks}"


_FENCE_RUN = re.compile(r"`{3,}")
_PLAIN_PATH = re.compile(r"[A-Za-z0-9_./~+-]*")


def href(path: str, fragment: str = "") -> str:
    """Percent-encode a relative path for a link target (spaces, `#`, `(`, unicode, ...)."""
    encoded = path if _PLAIN_PATH.fullmatch(path) else quote(path, safe="/-._~!$&'*+,;=:@")
    return f"{encoded}#{fragment}" if fragment else encoded


def link(label: str, target: str) -> str:
    """`[label](target)` with `label` already rendered Markdown and `target` from :func:`href`."""
    return f"[{label}]({target})"


def anchor_id(kind: str, name: str) -> str:
    """A stable, safe HTML id for a definition (`sym-Class.method`)."""
    if _ANCHOR_SAFE.fullmatch(name):
        return f"{kind}-{name}"
    if "::" in name:  # C++ members, the common unsafe name: one replace instead of a callback each
        name = name.replace(":", "-3a-")
        if _ANCHOR_SAFE.fullmatch(name):
            return f"{kind}-{name}"
    return kind + "-" + _ANCHOR_UNSAFE.sub(lambda m: f"-{ord(m.group()):x}-", name)


_ANCHOR_SAFE = re.compile(r"[A-Za-z0-9_.-]*")
_ANCHOR_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def table(header: list[str], rows: list[list[str]]) -> str:
    """A GFM table; cells are already-rendered Markdown.  A `|` left in a cell (in a code span:
    text escapes its own) is made safe here, for the few cells that hold one (the keyword indices
    of torch hold 1.7 million cells)."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out.extend(["| " + " | ".join([_cell(c) if "|" in c else c for c in row]) + " |" for row in rows])
    return "\n".join(out)


def table_cell(value: str) -> str:
    """One already-rendered cell made safe for a GFM table (see :func:`table`)."""
    return _cell(value) if "|" in value else value


_CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)")


def _cell(value: str) -> str:
    """A table cell whose pipes neither split it nor show a backslash: a code span holding a pipe
    becomes a `<code>` element with the pipe as a character reference (cmark-gfm splits a code
    span at a bare pipe, Python-Markdown shows the `\\|` that GFM wants), other pipes `\\|`."""
    out = []
    last = 0
    for match in _CODE_SPAN.finditer(value):
        if "|" in match.group(2):
            out.append(value[last:match.start()].replace("|", "\\|"))
            body = match.group(2)
            if match.group(1) != "`" and body.startswith(" ") and body.endswith(" "):
                body = body[1:-1]
            out.append("<code>" + body.replace("&", "&amp;").replace("<", "&lt;").replace(
                ">", "&gt;").replace("|", "&#124;") + "</code>")
            last = match.end()
    out.append(value[last:].replace("|", "\\|"))
    return "".join(out)


def bullets(items: list[str]) -> str:
    """A bullet list of already-rendered items."""
    return "\n".join(f"- {item}" for item in items)


def section(title: str, *parts: str) -> str:
    """`## title` followed by the non-empty parts; empty when every part is empty."""
    body = [p.strip("\n") for p in parts if p and p.strip()]
    if not body:
        return ""
    return f"## {title}\n\n" + "\n\n".join(body)


def plural(count: int, word: str, words: str | None = None) -> str:
    """`1 class`, `3 classes`."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


@cache
def template(name: str) -> str:
    """A page template from `config/templates/` (string.Template syntax)."""
    return resources.files("docgraph_config").joinpath("templates", name).read_text(encoding="utf-8")


_PLACEHOLDER_LINE = re.compile(r"\$\{(\w+)\}")


def fill(name: str, **parts: str) -> str:
    """Fill a template.  A placeholder alone on its line with nothing to say is dropped with the
    blank line after it; the values themselves (code blocks included) are inserted verbatim."""
    kept: list[str] = []
    for line in template(name).splitlines():
        match = _PLACEHOLDER_LINE.fullmatch(line.strip())
        if match and not parts.get(match.group(1), "").strip():
            continue
        if not line.strip() and (not kept or not kept[-1].strip()):
            continue
        kept.append(line)
    filled = string.Template("\n".join(kept)).substitute(parts)
    return filled.strip("\n") + "\n"
