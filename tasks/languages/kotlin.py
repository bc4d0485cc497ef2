"""Kotlin: the tree-sitter-kotlin wheel ships no tags query, so docgraph's own patterns are the query.

KDoc (`/** */`) above a declaration is its documentation; visibility is its `public`/`internal`/
`protected`/`private` modifier (none written: public, not shown).  Tests are functions annotated
`@Test`.  Imports resolve like Java's: package and type name to a path under a source root.
"""

from __future__ import annotations

from typing import Any

from . import Language, Tags, Wording
from ._common import annotated_test, jvm_subject, modifier_visibility, text
from .java import TEST_MARKS

_QUERY = """
(class_declaration name: (identifier) @name) @definition.class
(object_declaration name: (identifier) @name) @definition.object
(companion_object name: (identifier) @name) @definition.object
(companion_object . "companion" @name !name) @definition.object
(function_declaration name: (identifier) @name) @definition.function
(type_alias type: (identifier) @name) @definition.type
(source_file (property_declaration (variable_declaration (identifier) @name)) @definition.property)
(class_body (property_declaration (variable_declaration (identifier) @name)) @definition.property)
(class_parameter "val" (identifier) @name) @definition.property
(class_parameter "var" (identifier) @name) @definition.property
(call_expression . (_) @name) @reference.call
"""


def _kind(node: Any) -> str:
    for child in node.children:
        if child.type == "interface":
            return "interface"
        if child.type == "modifiers" and any(
                m.type == "class_modifier" and text(m) == "enum" for m in child.children):
            return "enum"
    return "class"


def _imports(root: Any, path: str) -> list[tuple[str, str, int, tuple[str, ...]]]:
    out: list[tuple[str, str, int, tuple[str, ...]]] = []
    package = ""
    for node in root.named_children:
        if node.type == "package_header":
            package = text(next((c for c in node.named_children
                                 if c.type in ("qualified_identifier", "identifier")), None))
        if node.type in ("import", "import_header"):
            target = next((c for c in node.named_children if c.type in ("qualified_identifier", "identifier")), None)
            full = text(target)
            if not full:
                continue
            if text(node).rstrip().endswith("*"):
                out.append((full, "import", node.start_point[0] + 1, ("*",)))
            else:
                module, _, name = full.rpartition(".")
                out.append((module or full, "import", node.start_point[0] + 1, (name,) if module else ()))
    return out + jvm_subject(path, package)


def _main(root: Any, symbols: tuple[Any, ...]) -> bool:
    return any(s.qualname == "main" and s.kind == "function" for s in symbols)


LANGUAGES = (
    Language(
        name="Kotlin", suffixes=(".kt", ".kts"), fence="kotlin", analyzer="tags:analyze",
        grammar="kotlin", grammar_module="tree_sitter_kotlin:language", comments=("//", "/*", "*"), imports="jvm",
        wording=Wording(unit="source file", top_level="Properties", tests="Test class",
                        entry_point="Runs as a program: it defines a top-level `main` function."),
        tags=Tags(
            package="tree_sitter_kotlin", query="", extra=_QUERY,
            kinds={"type_alias": "type alias", "companion_object": "companion object"},
            refine={"class_declaration": _kind}, unnamed={"companion_object": "Companion"},
            containers=frozenset({"class", "interface", "enum", "object"}),
            doc_comments=lambda t: t.startswith("/**"),
            visibility=modifier_visibility(frozenset({"public", "internal", "protected", "private"})),
            test=annotated_test(TEST_MARKS), imports=_imports, entry_point=_main,
            calls={"ProcessBuilder": ("security", "`ProcessBuilder` (runs a program)"),
                   "Runtime.getRuntime().exec": ("security", "`Runtime.exec` call (runs a program)"),
                   "exitProcess": ("usage", "`exitProcess` call (ends the program)"),
                   "TODO": ("pattern", "`TODO()` (unfinished code)")},
        ),
    ),
)
