"""`go.mod`: the module path, the Go version and the required modules (pure).

The file's grammar (https://go.dev/ref/mod#go-mod-file-grammar) is line-oriented: a directive
keyword, its arguments (identifiers or quoted strings), `//` comments, and blocks `keyword ( ... )`
holding one argument list per line.  This module tokenizes exactly that, as Go's own
`golang.org/x/mod/modfile` does; no expression can span lines, so nothing is guessed.

The module path is what the cross-reference stage needs: it is recorded as the file's one
declared name (`exports`), so that Go imports under it resolve to the package folders below the
`go.mod` (see :mod:`docgraph.xref`).  Required modules become `require` references (external).
"""

from __future__ import annotations

import re

from ..facts import FileFacts, Import
from . import Source
from .generic import n_lines

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`|[^\s"`]+')


def _arguments(line: str) -> list[str]:
    code = line.split("//", 1)[0] if '"' not in line and "`" not in line else _strip_comment(line)
    return [t[1:-1] if t[:1] in '"`' else t for t in _TOKEN.findall(code)]


def _strip_comment(line: str) -> str:
    quote = ""
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in '"`':
            quote = char
        elif line.startswith("//", index):
            return line[:index]
    return line


def directives(text: str) -> list[tuple[str, list[str], int]]:
    """(keyword, arguments, line) of every directive, block entries under their block's keyword."""
    found: list[tuple[str, list[str], int]] = []
    block = ""
    for number, line in enumerate(text.splitlines(), 1):
        words = _arguments(line)
        if not words:
            continue
        if block:
            if words == [")"]:
                block = ""
            else:
                found.append((block, words, number))
        elif len(words) >= 2 and words[1] == "(" and len(words) == 2:
            block = words[0]
        else:
            found.append((words[0], words[1:], number))
    return found


def analyze(source: Source) -> FileFacts:
    """Analyse a `go.mod` file."""
    module = ""
    version = ""
    keys: list[str] = []
    imports: list[Import] = []
    for keyword, arguments, line in directives(source.text):
        if keyword not in keys:
            keys.append(keyword)
        if keyword == "module" and arguments and not module:
            module = arguments[0]
        elif keyword == "go" and arguments:
            version = arguments[0]
        elif keyword == "require" and arguments:
            imports.append(Import(arguments[0], "require", line))
    if module:
        description = f"Go module `{module}`" + (f" (Go {version})" if version else "")
    else:
        description = f"Go module file without a `module` line, {n_lines(source.line_count)}"
    return source.facts(language="Go module file", description=description,
                        exports=(module,) if module else (), keys=tuple(keys),
                        imports=tuple(imports))
