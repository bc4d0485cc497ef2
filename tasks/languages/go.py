"""Go: tree-sitter-go's own tags query plus docgraph's patterns for types, constants and variables.

Exported names are those starting with an upper-case letter; a method's owner is its receiver's
type; `//` comments directly above a declaration are its documentation (the `go doc` rule).
Tests are `TestX`, `BenchmarkX`, `ExampleX` and `FuzzX` functions in `_test.go` files.  Imports
resolve through the module path of `go.mod` (read by :mod:`docgraph.analyzers.gomod`) to package
folders.
"""

from __future__ import annotations

from typing import Any

from . import Language, Tags, Wording

_EXTRA = """
(type_spec name: (type_identifier) @name type: (struct_type)) @definition.struct
(type_spec name: (type_identifier) @name type: (interface_type)) @definition.interface
(type_alias name: (type_identifier) @name) @definition.type
(method_elem name: (field_identifier) @name) @definition.method
(source_file (const_declaration (const_spec name: (identifier) @name) @definition.constant))
(source_file (var_declaration (var_spec name: (identifier) @name) @definition.variable))
(source_file (var_declaration (var_spec_list (var_spec name: (identifier) @name) @definition.variable)))
(import_spec) @import
"""


def _visibility(node: Any, name: str) -> str:
    return "exported" if name[:1].isupper() else "unexported"


def _receiver(node: Any, name: str) -> str:
    if node.type != "method_declaration":
        return ""
    receiver = node.child_by_field_name("receiver")
    for part in receiver.named_children if receiver is not None else ():
        kind = part.child_by_field_name("type")
        while kind is not None and kind.type in ("pointer_type", "generic_type", "parenthesized_type"):
            kind = kind.child_by_field_name("type") or (kind.named_children[0] if kind.named_children else None)
        if kind is not None and kind.text:
            return kind.text.decode("utf-8", "replace")
    return ""


def _imports(root: Any, path: str) -> list[tuple[str, str, int, tuple[str, ...]]]:
    out: list[tuple[str, str, int, tuple[str, ...]]] = []
    for declaration in root.named_children:
        if declaration.type != "import_declaration":
            continue
        stack = list(declaration.named_children)
        while stack:
            spec = stack.pop(0)
            if spec.type == "import_spec_list":
                stack = list(spec.named_children) + stack
            elif spec.type == "import_spec":
                target = spec.child_by_field_name("path")
                alias = spec.child_by_field_name("name")
                value = target.text.decode("utf-8", "replace").strip('"`') if target is not None else ""
                names = (alias.text.decode("utf-8", "replace"),) if alias is not None and alias.text else ()
                if value:
                    out.append((value, "import", spec.start_point[0] + 1, names))
    if path.endswith("_test.go"):  # a test file belongs to (and tests) its folder's package
        folder = path.rpartition("/")[0]
        out.append((folder.rpartition("/")[2] or ".", "package", 1, ()))
    return out


def _test(path: str, kind: str, annotations: tuple[str, ...], name: str) -> bool:
    return (path.endswith("_test.go") and kind == "function"
            and name.startswith(("Test", "Benchmark", "Example", "Fuzz")))


def _main(root: Any, symbols: tuple[Any, ...]) -> bool:
    package = next((c for c in root.named_children if c.type == "package_clause"), None)
    return (package is not None and package.named_children
            and package.named_children[0].text == b"main"
            and any(s.qualname == "main" and s.kind == "function" for s in symbols))


LANGUAGES = (
    Language(
        name="Go", suffixes=(".go",), fence="go", analyzer="tags:analyze", grammar="go", grammar_module="tree_sitter_go:language",
        comments=("//", "/*", "*"), imports="go",
        wording=Wording(unit="package file", top_level="Package-level names",
                        entry_point="Runs as a program: `package main` with a `main` function.",
                        tests="Go test file"),
        tags=Tags(
            package="tree_sitter_go", extra=_EXTRA,
            kinds={"function_declaration": "function", "method_declaration": "method",
                   "method_elem": "method", "const_spec": "constant", "var_spec": "variable"},
            containers=frozenset({"struct", "interface", "type"}),
            visibility=_visibility, qualify=_receiver, imports=_imports, test=_test,
            entry_point=_main,
            calls={"exec.Command": ("security", "`exec.Command` call (runs a program)"),
                   "exec.CommandContext": ("security", "`exec.CommandContext` call (runs a program)"),
                   "unsafe.Pointer": ("security", "`unsafe.Pointer` conversion"),
                   "panic": ("pattern", "`panic` call"),
                   "os.Exit": ("usage", "`os.Exit` call (ends the program)"),
                   "log.Fatal": ("usage", "`log.Fatal` call (ends the program)"),
                   "log.Fatalf": ("usage", "`log.Fatalf` call (ends the program)")},
        ),
    ),
    Language(name="Go module file", filenames=("go.mod",), analyzer="gomod:analyze",
             comments=("//",), imports="path"),
)
