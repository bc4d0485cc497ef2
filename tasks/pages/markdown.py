"""Safe Markdown building blocks: escaping, code spans, fences, links, tables, templates.

Names from the repository are data, not markup: every name that reaches a page goes through
:func:`code` or :func:`text`, every path through :func:`href`, so a file called ``[x](y)`` or
``<script>`` cannot inject Markdown or HTML, and a newline in a name cannot break a table.
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


_ESCAPES = str.maketrans({**{c: "\\" + c for c in "\\`*_{}[]()#+!|<>~"}, "&": "&amp;"})
_ORDERED = re.compile(r"^(\d+)([.)])(?=\s|$)")


def text(value: str) -> str:
    """Plain text with Markdown and HTML metacharacters escaped."""
    value = visible(value).translate(_ESCAPES)
    if value[:1] in ("-", "=") and value:
        value = "\\" + value
    elif value[:1].isdigit():
        value = _ORDERED.sub(r"\1\\\2", value)
    return value


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
    return kind + "-" + _ANCHOR_UNSAFE.sub(lambda m: f"-{ord(m.group()):x}-", name)


_ANCHOR_SAFE = re.compile(r"[A-Za-z0-9_.-]*")
_ANCHOR_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def table(header: list[str], rows: list[list[str]]) -> str:
    """A GFM table; cells are already-rendered Markdown, with `|` escaped here (it splits cells
    in GFM; inline, since the keyword indices of torch hold 1.7 million cells)."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out.extend(["| " + " | ".join([c.replace("|", "\\|") for c in row]) + " |" for row in rows])
    return "\n".join(out)


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
