"""JavaScript and TypeScript with tree-sitter (tree-sitter-javascript, tree-sitter-typescript).

Collected from the syntax tree: `import` statements and `require("...")` calls (the module
specifier as written; relative ones are resolved to files by the cross-reference stage), what the
module exports, classes (with their `extends` clause and methods), functions, arrow functions bound
to top-level constants, and, for TypeScript, interfaces, type aliases and enums.  A JSDoc block
directly above a definition becomes its documentation.
"""

from __future__ import annotations

from typing import Any

from ..facts import FileFacts, Import, Symbol
from . import Source
from .cfamily import _doc
from .generic import C_COMMENTS, describe, first_paragraph, language_of, n_lines
from .treesitter import parser, text, walk

_DEFINITIONS = {
    "class_declaration": "class", "abstract_class_declaration": "class", "class": "class",
    "function_declaration": "function", "generator_function_declaration": "function",
    "interface_declaration": "interface", "type_alias_declaration": "type alias",
    "enum_declaration": "enum",
}


def _grammar(name: str) -> str:
    lower = name.lower()
    if lower.endswith(".tsx"):
        return "tsx"
    if lower.endswith((".ts", ".mts", ".cts")):
        return "typescript"
    return "javascript"


def _string(node: Any) -> str:
    value = text(node)
    return value[1:-1] if len(value) >= 2 and value[0] in "'\"`" else value


class _Scanner:
    def __init__(self) -> None:
        self.symbols: list[Symbol] = []
        self.imports: list[Import] = []
        self.exports: list[str] = []

    def definition(self, node: Any, exported: bool, doc: str) -> None:
        kind = _DEFINITIONS[node.type]
        name = text(node.child_by_field_name("name"))
        if not name:
            return
        line, end = node.start_point[0] + 1, node.end_point[0] + 1
        signature = ""
        params = node.child_by_field_name("parameters")
        if params is not None:
            signature = " ".join(text(params).split())
        bases: tuple[str, ...] = ()
        for child in node.named_children:
            if child.type == "class_heritage":
                bases = tuple(" ".join(text(c).split()) for c in child.named_children)
        self.symbols.append(Symbol(name, name, kind, line, end, signature=signature, doc=doc,
                                   bases=bases, indexed=True))
        if exported:
            self.exports.append(name)
        body = node.child_by_field_name("body")
        if kind == "class" and body is not None:
            for member in body.named_children:
                if member.type in ("method_definition", "method_signature", "abstract_method_signature"):
                    method = text(member.child_by_field_name("name"))
                    params = member.child_by_field_name("parameters")
                    if method:
                        self.symbols.append(Symbol(
                            method, f"{name}.{method}", "constructor" if method == "constructor" else "method",
                            member.start_point[0] + 1, member.end_point[0] + 1,
                            signature=" ".join(text(params).split()) if params is not None else ""))

    def statement(self, node: Any, doc: str) -> None:
        kind = node.type
        exported = False
        if kind == "export_statement":
            exported = True
            declaration = node.child_by_field_name("declaration")
            source = node.child_by_field_name("source")
            if source is not None:
                self.imports.append(Import(_string(source), "import", node.start_point[0] + 1))
            if declaration is None:
                for clause in node.named_children:
                    if clause.type == "export_clause":
                        for spec in clause.named_children:
                            alias = spec.child_by_field_name("alias") or spec.child_by_field_name("name")
                            if alias is not None:
                                self.exports.append(text(alias))
                if any(c.type == "default" for c in node.children) and not self.exports:
                    self.exports.append("default")
                return
            node, kind = declaration, declaration.type
        if kind in _DEFINITIONS:
            self.definition(node, exported, doc)
        elif kind == "import_statement":
            source = node.child_by_field_name("source")
            names = tuple(text(n) for n in walk(node) if n.type in ("identifier",) and n.parent
                          and n.parent.type in ("import_clause", "import_specifier", "namespace_import"))
            if source is not None:
                self.imports.append(Import(_string(source), "import", node.start_point[0] + 1, names))
        elif kind in ("lexical_declaration", "variable_declaration"):
            for declarator in node.named_children:
                if declarator.type != "variable_declarator":
                    continue
                name = text(declarator.child_by_field_name("name"))
                value = declarator.child_by_field_name("value")
                if value is not None and value.type in ("arrow_function", "function_expression", "function"):
                    params = value.child_by_field_name("parameters") or value.child_by_field_name("parameter")
                    self.symbols.append(Symbol(name, name, "function", declarator.start_point[0] + 1,
                                               declarator.end_point[0] + 1,
                                               signature=" ".join(text(params).split()) if params else "",
                                               doc=doc, indexed=True))
                elif name and name.isupper() and text(node).startswith("const"):
                    self.symbols.append(Symbol(name, name, "constant", declarator.start_point[0] + 1,
                                               declarator.end_point[0] + 1, doc=doc, indexed=True))
                elif name:
                    self.symbols.append(Symbol(name, name, "variable", declarator.start_point[0] + 1,
                                               declarator.end_point[0] + 1))
                if exported and name:
                    self.exports.append(name)

    def requires(self, root: Any) -> None:
        for node in walk(root):
            if node.type == "call_expression":
                function = node.child_by_field_name("function")
                arguments = node.child_by_field_name("arguments")
                if text(function) == "require" and arguments is not None and arguments.named_children:
                    first = arguments.named_children[0]
                    if first.type == "string":
                        self.imports.append(Import(_string(first), "import", node.start_point[0] + 1))


def analyze(source: Source) -> FileFacts:
    """Analyse a JavaScript or TypeScript module."""
    grammar = _grammar(source.name)
    tree = parser(grammar).parse(source.data)
    scanner = _Scanner()
    pending: list[Any] = []
    for node in tree.root_node.named_children:
        if node.type == "comment":
            pending.append(node)
            continue
        doc = _doc(pending) if pending and text(pending[-1]).startswith("/**") \
            and pending[-1].end_point[0] + 1 >= node.start_point[0] else ""
        pending = []
        scanner.statement(node, doc)
    scanner.requires(tree.root_node)
    imports = sorted(set(scanner.imports), key=lambda i: (i.line, i.module))
    doc = first_paragraph(source.text, comments_only=True, markers=C_COMMENTS)
    description = describe(doc, [s for s in scanner.symbols if s.indexed],
                           f"{language_of(source.name)}, {n_lines(source.line_count)}")
    root = tree.root_node
    error_bytes = sum(c.end_byte - c.start_byte for c in root.children if c.type == "ERROR")
    parsed = not (root.has_error and error_bytes > len(source.data) // 2)
    return source.facts(
        language=language_of(source.name), description=description, doc=doc, parsed=parsed,
        parse_error="" if parsed else "tree-sitter could not parse most of the file",
        symbols=tuple(sorted(scanner.symbols, key=lambda s: (s.line, s.qualname))),
        imports=tuple(imports), exports=tuple(dict.fromkeys(scanner.exports)),
    )
