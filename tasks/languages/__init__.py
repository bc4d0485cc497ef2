"""The registry of languages: each module of this package declares its languages, nothing else does.

A :class:`Language` names everything docgraph needs to know about one language or file format:
how files are recognised (suffixes, exact file names, `#!` interpreters), how pages name it
(display and fence names, the wording of its symbol kinds and of its module-level ideas), which
analyzer and grammar read it, which comment markers open its leading prose, how its imports are
resolved and what makes a file of it a test.  Discovery, the analyzers, the pages and the
cross-reference stage all ask this registry (models: GitHub Linguist's `languages.yml`, Pygments'
`lexers/_mapping.py`).

The modules are listed in :func:`modules` and imported once per process, on first use, in name
order (modules starting with `_` hold shared helpers); adding a language is adding one module
that defines ``LANGUAGES`` and naming it there.  Two
declarations that claim the same suffix, file name or display name are a bug, reported at load.
Declarations import no parser: grammars and queries are loaded by the analyzers, lazily.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

C_COMMENTS = ("//", "/*", "*")
HASH_COMMENTS = ("#",)
ANY_COMMENTS = HASH_COMMENTS + C_COMMENTS + ("--", ";", "%")


@dataclass(frozen=True)
class Wording:
    """How the pages speak about a language's ideas (empty: the page says nothing about it)."""

    unit: str = "file"
    """What one file is to the language: `module` (Python), `package file` (Go), `file`."""
    top_level: str = "Top-level names"
    """Heading of the definitions that are neither types nor functions."""
    exports: str = ""
    """How the declared public names (`FileFacts.exports`) are declared, e.g. "in `__all__`"."""
    entry_point: str = ""
    """Sentence for a file that runs as a program without a `#!` line."""
    tests: str = "Test file"
    """How a file with tests is introduced ("Test module", "Go test file")."""


@dataclass(frozen=True)
class Tags:
    """What the generic tags-query analyzer (:mod:`docgraph.analyzers.tags`) needs of a language."""

    package: str
    """Import name of the PyPI grammar package holding the tags query (`tree_sitter_go`)."""
    query: str = "queries/tags.scm"
    """Path of the grammar package's own tags query inside the package, or "" for none."""
    extra: str = ""
    """docgraph's own patterns, appended to the package's query (what it misses, or all of it)."""
    wheel_references: bool = True
    """Whether the package query's reference patterns are kept (Ruby's match every identifier)."""
    kinds: Mapping[str, str] = field(default_factory=dict)
    """Syntax node type -> symbol kind (else the kind of the `@definition.KIND` capture)."""
    refine: Mapping[str, Callable[[Any], str]] = field(default_factory=dict)
    """Syntax node type -> function of the node giving its kind (Kotlin `class` vs `interface`)."""
    unnamed: Mapping[str, str] = field(default_factory=dict)
    """Node type -> name of a definition whose `@name` is a keyword (Kotlin's `companion object`
    is `Companion`)."""
    containers: frozenset[str] = frozenset()
    """Symbol kinds inside which a function is a method (class, struct, trait, ...)."""
    doc_comments: Callable[[str], bool] = lambda text: True
    """Whether a comment's text is documentation (Rust: `///`, Java: `/**`)."""
    doc_skip: frozenset[str] = frozenset()
    """Node types between a doc comment and its definition that are skipped (Rust attributes)."""
    visibility: Callable[[Any, str], str] | None = None
    """(definition node, name) -> visibility word, or "" when the language gives none."""
    qualify: Callable[[Any, str], str] | None = None
    """(definition node, name) -> owner name for definitions outside their type (Go methods)."""
    signature_kinds: frozenset[str] = frozenset({"function", "method", "constructor"})
    """Kinds whose signature (the text between name and body) is shown."""
    test: Callable[[str, str, tuple[str, ...], str], bool] | None = None
    """(path, kind, annotations, name) -> whether the definition is a test the runner collects."""
    imports: Callable[[Any, str], list[tuple[str, str, int, tuple[str, ...]]]] | None = None
    """(root node, file path) -> (module, kind, line, names) of the file's imports."""
    calls: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """Callee as written (`exec.Command`, `eval`) -> (note category, topic) for notable calls."""
    own_tests: Callable[[str], bool] | None = None
    """path -> whether tests found in the file test the file itself (Rust unit tests in `src/`)."""
    entry_point: Callable[[Any, tuple[Any, ...]], bool] | None = None
    """(root node, symbols) -> whether the file runs as a program (Go `package main` + `main`)."""


@dataclass(frozen=True)
class Language:
    """One language or file format."""

    name: str
    """Display name, as pages and facts show it (`Go`, `C++ header`, `YAML`)."""
    suffixes: tuple[str, ...] = ()
    """Lower-case file name endings, with the dot (`.go`, `.d.ts`); the longest known one wins."""
    filenames: tuple[str, ...] = ()
    """Exact file names (`go.mod`, `Makefile`); they win over suffixes."""
    prefixes: tuple[str, ...] = ()
    """File name beginnings (`Dockerfile.`) tried after names and suffixes."""
    shebangs: tuple[str, ...] = ()
    """Interpreters of a `#!` line (`python3` is matched by `python`) for files without a suffix."""
    fence: str = ""
    """Info string of a fenced code block of it."""
    analyzer: str = ""
    """`module:function` under `docgraph.analyzers`; "" means the generic text analyzer."""
    grammar: str = ""
    """tree-sitter grammar key (`docgraph.analyzers.treesitter`), "" when none is used."""
    grammar_module: str = ""
    """`package:function` of the PyPI grammar giving `grammar` (`tree_sitter_go:language`)."""
    comments: tuple[str, ...] = ANY_COMMENTS
    """Line starts that are comments (what a file's leading prose is read from)."""
    prose: bool = False
    """The file is prose itself (plain text, a licence): its first paragraph is its description."""
    imports: str = ""
    """How its references resolve to files (`python`, `javascript`, `include`, `go`, ...)."""
    wording: Wording = Wording()
    """How pages word its ideas."""
    tags: Tags | None = None
    """For languages read by the tags-query analyzer."""


@dataclass(frozen=True)
class Registry:
    """Every declared language, indexed the ways the stages ask."""

    languages: tuple[Language, ...]
    by_suffix: Mapping[str, Language]
    by_filename: Mapping[str, Language]
    by_display: Mapping[str, Language]
    prefixes: tuple[tuple[str, Language], ...]

    def for_name(self, name: str) -> Language | None:
        """The language of a file name: exact name, then the longest known suffix, then prefix."""
        found = self.by_filename.get(name)
        if found is not None:
            return found
        lower = name.lower()
        dot = lower.find(".", 1)
        while dot != -1:
            found = self.by_suffix.get(lower[dot:])
            if found is not None:
                return found
            dot = lower.find(".", dot + 1)
        for prefix, language in self.prefixes:
            if name.startswith(prefix):
                return language
        return None

    def for_interpreter(self, program: str) -> Language | None:
        """The language whose scripts run under `program` (`python3.11` -> Python)."""
        for language in self.languages:
            if language.shebangs and any(
                    program == s or (program.startswith(s) and program[len(s):].replace(".", "").isdigit())
                    for s in language.shebangs):
                return language
        return None


_REGISTRY: Registry | None = None


def registry() -> Registry:
    """The registry, collected from this package's modules on first use."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = _collect()
    return _REGISTRY


def grammar_module(grammar: str) -> str:
    """`package:function` of a grammar key (KeyError when no language declares it)."""
    for language in registry().languages:
        if language.grammar == grammar and language.grammar_module:
            return language.grammar_module
    raise KeyError(grammar)


def modules() -> tuple[Any, ...]:
    """The declaring modules, in name order.  Imported by name (not found with `pkgutil`) so that
    the code fingerprint of everything that reads the registry covers every declaration; a test
    checks that the list names every module of the package."""
    from . import (
        build,
        cfamily,
        csharp,
        data,
        formats,
        go,
        java,
        javascript,
        kotlin,
        markup,
        php,
        python,
        ruby,
        rust,
        shell,
        swift,
    )

    return (build, cfamily, csharp, data, formats, go, java, javascript, kotlin, markup, php,
            python, ruby, rust, shell, swift)


def declared_modules() -> list[str]:
    """Names of this package's modules that declare languages (those not starting with `_`)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def _collect() -> Registry:
    declared: list[Language] = []
    for module in modules():
        declared.extend(module.LANGUAGES)
    by_suffix: dict[str, Language] = {}
    by_filename: dict[str, Language] = {}
    by_display: dict[str, Language] = {}
    for language in declared:
        for table, keys in ((by_suffix, language.suffixes), (by_filename, language.filenames),
                            (by_display, (language.name,))):
            for key in keys:
                if key in table:
                    raise ValueError(f"{key!r} is declared by both {table[key].name} and {language.name}")
                table[key] = language
    return Registry(tuple(declared), MappingProxyType(by_suffix), MappingProxyType(by_filename),
                    MappingProxyType(by_display),
                    tuple((p, lang) for lang in declared for p in lang.prefixes))


def for_path(path: str) -> Language | None:
    """The language of a repository path, from its file name alone (None: unknown)."""
    return registry().for_name(path.rpartition("/")[2])


def display_name(path: str) -> str:
    """Display name of a path's language, `text` when unknown."""
    found = for_path(path)
    return found.name if found is not None else "text"


def by_display(name: str) -> Language | None:
    """The language a facts record names (`FileFacts.language`)."""
    return registry().by_display.get(name)


def fence(name: str) -> str:
    """Fence info string for a display name ("" when none)."""
    found = registry().by_display.get(name)
    return found.fence if found is not None else ""


def wording(name: str) -> Wording:
    """How pages word the ideas of the language with this display name."""
    found = registry().by_display.get(name)
    return found.wording if found is not None else _PLAIN


_PLAIN = Wording()


def suffixes_of(imports: str) -> tuple[str, ...]:
    """Every suffix of the languages resolved the `imports` way, in declaration order."""
    return tuple(s for lang in registry().languages if lang.imports == imports
                 for s in lang.suffixes)
