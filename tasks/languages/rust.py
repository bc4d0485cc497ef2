"""Rust: tree-sitter-rust's own tags query plus docgraph's patterns for constants, statics,
trait method signatures and `impl` blocks (the owners of methods).

Documentation is `///` and `/** */` (outer doc comments) above an item, attributes skipped;
visibility is the item's `pub`, `pub(crate)`... modifier.  Tests are functions marked `#[test]`
(or `#[tokio::test]`, `#[rstest]`...); in a file outside `tests/` and `benches/` they are unit
tests of that file (a `#[cfg(test)]` module), which does not make it a test file of what it uses.  `mod name;` resolves to `name.rs` or `name/mod.rs`
beside the declaring file; `use crate::a::b` to the file of module `a::b` of the same crate.
"""

from __future__ import annotations

from typing import Any

from . import Language, Tags, Wording

_EXTRA = """
(associated_type name: (type_identifier) @name) @definition.type
(const_item name: (identifier) @name) @definition.constant
(static_item name: (identifier) @name) @definition.variable
(function_signature_item name: (identifier) @name) @definition.method
(impl_item type: (_) @name) @scope
"""


def _text(node: Any) -> str:
    return node.text.decode("utf-8", "replace") if node is not None and node.text else ""


def _visibility(node: Any, name: str) -> str:
    for child in node.named_children:
        if child.type == "visibility_modifier":
            return " ".join(_text(child).split())
    return ""


def _use_tree(node: Any, prefix: str, line: int, out: list[tuple[str, str, int, tuple[str, ...]]]) -> None:
    kind = node.type
    if kind == "scoped_use_list":
        path = _text(node.child_by_field_name("path"))
        base = f"{prefix}::{path}" if prefix and path else prefix or path
        listed = node.child_by_field_name("list")
        names: list[str] = []
        for item in listed.named_children if listed is not None else ():
            if item.type in ("identifier", "self"):
                names.append(_text(item))
            elif item.type == "use_as_clause":
                names.append(_text(item.child_by_field_name("path")))
            else:
                _use_tree(item, base, line, out)
        if names:
            out.append((base, "use", line, tuple(names)))
    elif kind == "use_list":
        for item in node.named_children:
            _use_tree(item, prefix, line, out)
    elif kind == "use_as_clause":
        _use_tree(node.child_by_field_name("path"), prefix, line, out)
    elif kind == "use_wildcard":
        inner = node.named_children[0] if node.named_children else None
        path = _text(inner)
        out.append((f"{prefix}::{path}" if prefix and path else prefix or path, "use", line, ("*",)))
    elif kind in ("scoped_identifier", "identifier", "crate", "self", "super"):
        full = _text(node)
        full = f"{prefix}::{full}" if prefix else full
        module, _, name = full.rpartition("::")
        out.append((module or full, "use", line, (name,) if module else ()))


def _imports(root: Any, path: str) -> list[tuple[str, str, int, tuple[str, ...]]]:
    out: list[tuple[str, str, int, tuple[str, ...]]] = []
    stack = [root]
    while stack:
        node = stack.pop()
        for child in node.named_children:
            kind = child.type
            line = child.start_point[0] + 1
            if kind == "use_declaration":
                argument = child.child_by_field_name("argument")
                if argument is not None:
                    _use_tree(argument, "", line, out)
            elif kind == "mod_item":
                body = child.child_by_field_name("body")
                if body is None:
                    out.append((_text(child.child_by_field_name("name")), "mod", line, ()))
                else:
                    stack.append(body)
            elif kind == "extern_crate_declaration":
                out.append((_text(child.child_by_field_name("name")), "use", line, ()))
    return out


_TEST_ATTRIBUTES = ("test", "tokio::test", "async_std::test", "rstest", "test_case", "quickcheck")


def _test(path: str, kind: str, annotations: tuple[str, ...], name: str) -> bool:
    return kind in ("function", "method") and any(
        a.split("(")[0].strip() in _TEST_ATTRIBUTES for a in annotations)


def _main(root: Any, symbols: tuple[Any, ...]) -> bool:
    return any(s.qualname == "main" and s.kind == "function" for s in symbols)


LANGUAGES = (
    Language(
        name="Rust", suffixes=(".rs",), fence="rust", analyzer="tags:analyze", grammar="rust", grammar_module="tree_sitter_rust:language",
        comments=("//", "/*", "*"), imports="rust",
        wording=Wording(unit="module", top_level="Items", tests="Rust test module",
                        entry_point="Runs as a program: it defines `fn main`."),
        tags=Tags(
            package="tree_sitter_rust", extra=_EXTRA,
            kinds={"struct_item": "struct", "enum_item": "enum", "union_item": "union",
                   "type_item": "type alias", "associated_type": "type alias", "trait_item": "trait", "mod_item": "module",
                   "macro_definition": "macro", "function_signature_item": "method",
                   "const_item": "constant", "static_item": "static"},
            containers=frozenset({"trait", "impl"}),
            doc_comments=lambda text: text.startswith(("///", "/**")) and not text.startswith("////"),
            doc_skip=frozenset({"attribute_item"}),
            visibility=_visibility, imports=_imports, test=_test, entry_point=_main,
            own_tests=lambda path: not {"tests", "benches"} & set(path.split("/")[:-1]),
            calls={"Command::new": ("security", "`Command::new` call (runs a program)"),
                   "panic": ("pattern", "`panic!`"), "todo": ("pattern", "`todo!` (unfinished code)"),
                   "unimplemented": ("pattern", "`unimplemented!` (unfinished code)"),
                   "transmute": ("security", "`transmute` call"),
                   "std::mem::transmute": ("security", "`transmute` call"),
                   "mem::transmute": ("security", "`transmute` call"),
                   "thread::spawn": ("performance", "starts threads"),
                   "std::thread::spawn": ("performance", "starts threads")},
        ),
    ),
)
