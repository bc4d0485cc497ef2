"""Java: tree-sitter-java's own tags query plus docgraph's patterns for enums, records,
annotation types, constructors and fields.

Javadoc (`/** */`) directly above a declaration is its documentation; visibility is the
declaration's `public`/`protected`/`private` modifier (none written: package-private, not shown).
Tests are methods annotated `@Test` (JUnit 4/5, TestNG) and its variants.  Imports resolve by
package and type name to `<source root>/<package folders>/<Type>.java`.
"""

from __future__ import annotations

from typing import Any

from . import Language, Tags, Wording
from ._common import annotated_test, jvm_subject, modifier_visibility, text

_EXTRA = """
(enum_declaration name: (identifier) @name) @definition.enum
(record_declaration name: (identifier) @name) @definition.class
(annotation_type_declaration name: (identifier) @name) @definition.interface
(constructor_declaration name: (identifier) @name) @definition.constructor
(field_declaration declarator: (variable_declarator name: (identifier) @name)) @definition.field
"""

TEST_MARKS = frozenset({"Test", "ParameterizedTest", "RepeatedTest", "TestFactory", "TestTemplate"})


def imports(root: Any, path: str) -> list[tuple[str, str, int, tuple[str, ...]]]:
    """`import a.b.C;` -> ("a.b", "import", line, ("C",)); static and wildcard imports alike."""
    out: list[tuple[str, str, int, tuple[str, ...]]] = []
    package = ""
    for node in root.named_children:
        if node.type == "package_declaration":
            package = text(next((c for c in node.named_children
                                 if c.type in ("scoped_identifier", "identifier")), None))
        if node.type != "import_declaration":
            continue
        target = next((c for c in node.named_children if c.type in ("scoped_identifier", "identifier")), None)
        full = text(target)
        star = any(c.type == "asterisk" for c in node.named_children)
        static = any(c.type == "static" for c in node.children)
        if star:
            out.append((full, "import", node.start_point[0] + 1, ("*",)))
        elif full:
            module, _, name = full.rpartition(".")
            if static and module:  # import static a.b.C.m: the type is a.b.C
                module, _, name = module.rpartition(".")
            out.append((module, "import", node.start_point[0] + 1, (name,)))
    return out + jvm_subject(path, package)


def _main(root: Any, symbols: tuple[Any, ...]) -> bool:
    return any(s.name == "main" and s.kind == "method" and s.visibility == "public"
               and s.signature.replace(" ", "").startswith(("(String[]", "(String...")) for s in symbols)


LANGUAGES = (
    Language(
        name="Java", suffixes=(".java",), fence="java", analyzer="tags:analyze", grammar="java", grammar_module="tree_sitter_java:language",
        comments=("//", "/*", "*"), imports="jvm",
        wording=Wording(unit="compilation unit", top_level="Fields", tests="Test class",
                        entry_point="Runs as a program: it defines `public static void main(String[])`."),
        tags=Tags(
            package="tree_sitter_java", extra=_EXTRA,
            kinds={"enum_declaration": "enum", "record_declaration": "record",
                   "annotation_type_declaration": "annotation type",
                   "constructor_declaration": "constructor", "field_declaration": "field"},
            containers=frozenset({"class", "interface", "enum", "record", "annotation type"}),
            doc_comments=lambda t: t.startswith("/**"),
            visibility=modifier_visibility(frozenset({"public", "protected", "private"})),
            test=annotated_test(TEST_MARKS), imports=imports, entry_point=_main,
            calls={"Runtime.getRuntime().exec": ("security", "`Runtime.exec` call (runs a program)"),
                   "Class.forName": ("pattern", "reflection (`Class.forName`)"),
                   "System.exit": ("usage", "`System.exit` call (ends the program)")},
        ),
    ),
)
