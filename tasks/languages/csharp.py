"""C#: the tree-sitter-c-sharp wheel ships no tags query, so docgraph's own patterns are the query.

XML documentation comments (`///`) above a declaration are its documentation (tags removed);
visibility is the declaration's access modifier.  Tests are methods with an xUnit, NUnit or MSTest
attribute.  `using` names a namespace, not a file: references are resolved by type name within the
repository (see :mod:`docgraph.xref`), and the pages say so.
"""

from __future__ import annotations

from typing import Any

from . import Language, Tags, Wording
from ._common import annotated_test, modifier_visibility, named_subject, text

_QUERY = """
(namespace_declaration name: (_) @name) @definition.module
(file_scoped_namespace_declaration name: (_) @name) @definition.module
(class_declaration name: (identifier) @name) @definition.class
(struct_declaration name: (identifier) @name) @definition.struct
(interface_declaration name: (identifier) @name) @definition.interface
(enum_declaration name: (identifier) @name) @definition.enum
(record_declaration name: (identifier) @name) @definition.class
(delegate_declaration name: (identifier) @name) @definition.delegate
(method_declaration name: (identifier) @name) @definition.method
(constructor_declaration name: (identifier) @name) @definition.constructor
(destructor_declaration name: (identifier) @name) @definition.destructor
(property_declaration name: (identifier) @name) @definition.property
(event_declaration name: (identifier) @name) @definition.event
(field_declaration (variable_declaration (variable_declarator name: (identifier) @name))) @definition.field
(event_field_declaration (variable_declaration (variable_declarator name: (identifier) @name))) @definition.event
(invocation_expression function: (_) @name) @reference.call
"""

TEST_MARKS = frozenset({"Fact", "Theory", "Test", "TestCase", "TestCaseSource", "TestMethod",
                        "DataTestMethod"})


def _imports(root: Any, path: str) -> list[tuple[str, str, int, tuple[str, ...]]]:
    out: list[tuple[str, str, int, tuple[str, ...]]] = []
    stack = [root]
    while stack:
        node = stack.pop()
        for child in node.named_children:
            if child.type == "using_directive":
                name = next((c for c in child.named_children
                             if c.type in ("qualified_name", "identifier")), None)
                if name is not None and not child.child_by_field_name("name"):
                    out.append((text(name), "using", child.start_point[0] + 1, ()))
            elif child.type in ("namespace_declaration", "declaration_list"):
                stack.append(child)
    return sorted(out, key=lambda i: i[2]) + named_subject(path)


def _main(root: Any, symbols: tuple[Any, ...]) -> bool:
    return any(s.name == "Main" and s.kind == "method" for s in symbols)


LANGUAGES = (
    Language(
        name="C#", suffixes=(".cs",), fence="csharp", analyzer="tags:analyze", grammar="c_sharp", grammar_module="tree_sitter_c_sharp:language",
        comments=("//", "/*", "*"), imports="csharp",
        wording=Wording(unit="source file", top_level="Members", tests="Test class",
                        entry_point="Runs as a program: it defines a `Main` method."),
        tags=Tags(
            package="tree_sitter_c_sharp", query="", extra=_QUERY,
            kinds={"record_declaration": "record", "namespace_declaration": "namespace",
                   "file_scoped_namespace_declaration": "namespace"},
            containers=frozenset({"class", "struct", "interface", "record", "enum"}),
            doc_comments=lambda t: t.startswith(("///", "/**")),
            visibility=modifier_visibility(frozenset({"public", "private", "protected", "internal"})),
            test=annotated_test(TEST_MARKS), imports=_imports, entry_point=_main,
            calls={"Process.Start": ("security", "`Process.Start` call (runs a program)"),
                   "Environment.Exit": ("usage", "`Environment.Exit` call (ends the program)"),
                   "Type.GetType": ("pattern", "reflection (`Type.GetType`)"),
                   "Activator.CreateInstance": ("pattern", "reflection (`Activator.CreateInstance`)")},
        ),
    ),
)
