"""Shared access to tree-sitter grammars (the offline single-language packages from PyPI).

Parsers are created once per process and per language.  Traversals here are iterative (an explicit
stack), so a file nested thousands of levels deep cannot exhaust Python's recursion limit.
tree-sitter-language-pack is deliberately not used: it downloads grammars at run time and fails
offline.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

from ..facts import Import, Symbol

_PARSERS: dict[str, Any] = {}


def parser(language: str) -> Any:
    """A cached `tree_sitter.Parser` for a grammar key that a language declares (`python`, `cpp`,
    `tsx`, `go`, ...; see :mod:`docgraph.languages`)."""
    found = _PARSERS.get(language)
    if found is not None:
        return found
    from tree_sitter import Language, Parser

    from ..languages import grammar_module

    package, _, function = grammar_module(language).partition(":")
    capsule = getattr(importlib.import_module(package), function)()
    made = _PARSERS[language] = Parser(Language(capsule))
    return made


def text(node: Any) -> str:
    """Source text of a node."""
    return node.text.decode("utf-8", "replace") if node is not None and node.text else ""


def walk(node: Any, descend: frozenset[str] | None = None) -> Iterator[Any]:
    """Pre-order walk; with `descend`, enters only nodes of those types (and the root)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if descend is None or current is node or current.type in descend:
            stack.extend(reversed(current.children))


def python_outline(data: bytes) -> tuple[tuple[Symbol, ...], tuple[Import, ...]]:
    """Classes, functions and imports that tree-sitter-python recovers from a file with errors."""
    tree = parser("python").parse(data)
    symbols: list[Symbol] = []
    imports: list[Import] = []
    # (node, enclosing qualified name, inside a class)
    stack: list[tuple[Any, str, bool]] = [(tree.root_node, "", False)]
    while stack:
        node, prefix, in_class = stack.pop()
        for child in reversed(node.named_children):
            kind = child.type
            target = child
            decorators: tuple[str, ...] = ()
            if kind == "decorated_definition":
                decorators = tuple(text(d)[1:].strip() for d in child.named_children
                                   if d.type == "decorator")
                target = child.child_by_field_name("definition") or child
                kind = target.type
            if kind in ("function_definition", "class_definition"):
                name = text(target.child_by_field_name("name"))
                if not name:
                    continue
                qual = f"{prefix}.{name}" if prefix else name
                line = target.start_point[0] + 1
                if kind == "class_definition":
                    bases = target.child_by_field_name("superclasses")
                    base_names = tuple(text(b) for b in bases.named_children) if bases else ()
                    symbols.append(Symbol(name, qual, "class", line, target.end_point[0] + 1,
                                          bases=base_names, decorators=decorators,
                                          indexed=not prefix))
                    body = target.child_by_field_name("body")
                    if body is not None:
                        stack.append((body, qual, True))
                else:
                    params = target.child_by_field_name("parameters")
                    symbols.append(Symbol(name, qual, "method" if in_class else "function", line,
                                          target.end_point[0] + 1,
                                          signature=" ".join(text(params).split()),
                                          decorators=decorators, indexed=not prefix))
            elif kind == "import_statement":
                for name_node in child.named_children:
                    module_node = name_node.child_by_field_name("name") or name_node
                    imports.append(Import(text(module_node), "import", child.start_point[0] + 1))
            elif kind == "import_from_statement":
                module_node = child.child_by_field_name("module_name")
                raw = text(module_node)
                level = len(raw) - len(raw.lstrip("."))
                names = tuple(text(n.child_by_field_name("name") or n)
                              for n in child.children_by_field_name("name"))
                imports.append(Import(raw.lstrip("."), "from", child.start_point[0] + 1, names, level))
            elif kind in ("if_statement", "try_statement", "with_statement", "block",
                          "else_clause", "except_clause", "finally_clause", "ERROR"):
                stack.append((child, prefix, in_class))
    symbols.sort(key=lambda s: (s.line, s.qualname))
    imports.sort(key=lambda i: i.line)
    return tuple(symbols), tuple(imports)
