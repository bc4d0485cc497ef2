"""PHP: tree-sitter-php's own tags query plus enums, constants and plain function calls.

PHPDoc (`/** */`) above a declaration is its documentation; visibility is the member's
`public`/`protected`/`private` modifier.  Tests are PHPUnit methods (`test*` names in classes, or
`@test` / `#[Test]`).  `use A\\B\\C` resolves through the PSR-4 prefixes of `composer.json`
(read by :mod:`docgraph.analyzers.composer`).
"""

from __future__ import annotations

from typing import Any

from . import Language, Tags, Wording
from ._common import annotated_test, modifier_visibility, text

_EXTRA = """
(enum_declaration name: (name) @name) @definition.enum
(const_declaration (const_element (name) @name)) @definition.constant
(function_call_expression function: (name) @name) @reference.call
"""


def _clause(node: Any, prefix: str, line: int, out: list[tuple[str, str, int, tuple[str, ...]]]) -> None:
    full = text(next((c for c in node.named_children if c.type in ("qualified_name", "name",
                                                                   "namespace_name")), None))
    full = f"{prefix}\\{full}" if prefix and full else full
    module, _, name = full.lstrip("\\").rpartition("\\")
    if name:
        out.append((module, "use", line, (name,)) if module else (name, "use", line, ()))


def _imports(root: Any, path: str) -> list[tuple[str, str, int, tuple[str, ...]]]:
    out: list[tuple[str, str, int, tuple[str, ...]]] = []
    stack = [root]
    while stack:
        node = stack.pop()
        for child in node.named_children:
            line = child.start_point[0] + 1
            if child.type == "namespace_use_declaration":
                group = child.child_by_field_name("body")
                if group is not None:
                    prefix = text(next((c for c in child.named_children if c.type == "namespace_name"), None))
                    for clause in group.named_children:
                        _clause(clause, prefix, line, out)
                else:
                    for clause in child.named_children:
                        if clause.type == "namespace_use_clause":
                            _clause(clause, "", line, out)
            elif child.type in ("namespace_definition", "compound_statement") and child.named_children:
                stack.append(child)
    return sorted(out, key=lambda i: i[2])


_annotated = annotated_test(frozenset({"Test"}))


def _test(path: str, kind: str, annotations: tuple[str, ...], name: str) -> bool:
    return _annotated(path, kind, annotations, name) or (
        kind == "method" and name.startswith("test") and path.endswith("Test.php"))


LANGUAGES = (
    Language(
        name="PHP", suffixes=(".php", ".phtml"), shebangs=("php",), fence="php",
        analyzer="tags:analyze", grammar="php", grammar_module="tree_sitter_php:language_php", comments=("//", "/*", "*", "#"), imports="php",
        wording=Wording(unit="source file", top_level="Constants and properties", tests="Test class"),
        tags=Tags(
            package="tree_sitter_php", extra=_EXTRA,
            kinds={"method_declaration": "method", "trait_declaration": "trait",
                   "property_declaration": "property", "namespace_definition": "namespace"},
            containers=frozenset({"class", "interface", "trait", "enum"}),
            doc_comments=lambda t: t.startswith("/**"),
            visibility=modifier_visibility(frozenset({"public", "protected", "private"})),
            test=_test, imports=_imports,
            calls={"eval": ("security", "`eval` call"),
                   "exec": ("security", "`exec` call (runs a shell command)"),
                   "shell_exec": ("security", "`shell_exec` call (runs a shell command)"),
                   "system": ("security", "`system` call (runs a shell command)"),
                   "passthru": ("security", "`passthru` call (runs a shell command)"),
                   "proc_open": ("security", "`proc_open` call (runs a program)"),
                   "popen": ("security", "`popen` call (runs a shell command)"),
                   "unserialize": ("security", "`unserialize` call (object injection risk)")},
        ),
    ),
    Language(name="Composer manifest", filenames=("composer.json",), fence="json",
             analyzer="composer:analyze", imports="path"),
)
