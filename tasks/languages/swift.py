"""Swift: docgraph's own patterns.  The tree-sitter-swift wheel ships a tags query, but it puts
the `@definition.method` capture on the enclosing class rather than on the method, so a method's
kind, line and signature could not be read from it; the patterns below capture each declaration.

`class_declaration` stands for classes, structs, enums, extensions and actors; the keyword decides
the kind.  `///` and `/** */` comments are documentation; visibility is the access modifier.
Tests: XCTest `test*` methods and Swift Testing `@Test` functions.  Swift Package Manager targets
(`Sources/<Target>/`, `Tests/<Target>Tests/`) resolve `import <Target>`.
"""

from __future__ import annotations

from typing import Any

from . import Language, Tags, Wording
from ._common import modifier_visibility, named_subject, text

_QUERY = """
(class_declaration name: (type_identifier) @name) @definition.class
(class_declaration name: (user_type) @name) @definition.class
(protocol_declaration name: (type_identifier) @name) @definition.interface
(function_declaration name: (simple_identifier) @name) @definition.function
(protocol_function_declaration name: (simple_identifier) @name) @definition.method
(init_declaration "init" @name) @definition.constructor
(deinit_declaration "deinit" @name) @definition.destructor
(subscript_declaration "subscript" @name) @definition.method
(typealias_declaration name: (type_identifier) @name) @definition.type
(class_body (property_declaration name: (pattern (simple_identifier) @name)) @definition.property)
(source_file (property_declaration name: (pattern (simple_identifier) @name)) @definition.variable)
(enum_entry name: (simple_identifier) @name) @definition.case
(call_expression . (simple_identifier) @name) @reference.call
(call_expression . (navigation_expression) @name) @reference.call
"""


def _kind(node: Any) -> str:
    keyword = node.child_by_field_name("declaration_kind")
    word = text(keyword) if keyword is not None else "class"
    return word if word in ("struct", "enum", "extension", "actor") else "class"


def _imports(root: Any, path: str) -> list[tuple[str, str, int, tuple[str, ...]]]:
    return [(text(next((c for c in node.named_children if c.type == "identifier"), None)), "import",
             node.start_point[0] + 1, ()) for node in root.named_children
            if node.type == "import_declaration"] + named_subject(path)


def _test(path: str, kind: str, annotations: tuple[str, ...], name: str) -> bool:
    if kind not in ("method", "function"):
        return False
    return any(a.lstrip("@").split("(")[0] == "Test" for a in annotations) or (
        kind == "method" and name.startswith("test") and "Tests/" in path)


LANGUAGES = (
    Language(
        name="Swift", suffixes=(".swift",), fence="swift", analyzer="tags:analyze", grammar="swift", grammar_module="tree_sitter_swift:language",
        comments=("//", "/*", "*"), imports="swift",
        wording=Wording(unit="source file", top_level="Properties", tests="Test case"),
        tags=Tags(
            package="tree_sitter_swift", query="", extra=_QUERY, refine={"class_declaration": _kind},
            kinds={"typealias_declaration": "type alias", "enum_entry": "case"},
            containers=frozenset({"class", "struct", "enum", "extension", "actor", "interface"}),
            doc_comments=lambda t: t.startswith(("///", "/**")),
            visibility=modifier_visibility(frozenset({"public", "private", "fileprivate", "internal", "open"})),
            test=_test, imports=_imports,
            calls={"fatalError": ("pattern", "`fatalError` call (ends the program)"),
                   "Process": ("security", "`Process` (runs a program)"),
                   "NSClassFromString": ("pattern", "reflection (`NSClassFromString`)")},
        ),
    ),
)
