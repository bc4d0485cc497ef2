"""Shell scripts with tree-sitter-bash: functions, sourced files, exported and top-level variables.

`source FILE` and `. FILE` become references (kind `source`) that the cross-reference stage
resolves to repository files when the path is literal; a path built from variables is kept as
written and stays external.  The interpreter comes from the `#!` line.
"""

from __future__ import annotations

from ..facts import FileFacts, Import, Note, Symbol
from . import Source
from .generic import HASH_COMMENTS, first_paragraph, first_sentence, language_of, n_lines, shebang
from .treesitter import parser, text, walk

_DESCEND = frozenset({"program", "if_statement", "elif_clause", "else_clause", "for_statement",
                      "while_statement", "case_statement", "case_item", "compound_statement",
                      "subshell", "list", "pipeline", "redirected_statement"})


def analyze(source: Source) -> FileFacts:
    """Analyse a shell script."""
    tree = parser("bash").parse(source.data)
    symbols: list[Symbol] = []
    imports: list[Import] = []
    exports: list[str] = []
    notes: list[Note] = []
    for node in walk(tree.root_node, _DESCEND | {"function_definition"}):
        line = node.start_point[0] + 1
        if node.type == "function_definition":
            name = text(node.child_by_field_name("name"))
            if name:
                symbols.append(Symbol(name, name, "function", line, node.end_point[0] + 1,
                                      signature="()", indexed=True))
        elif node.type == "command":
            command = text(node.child_by_field_name("name"))
            arguments = node.children_by_field_name("argument")
            if command in ("source", ".") and arguments:
                target = text(arguments[0]).strip("\"'")
                imports.append(Import(target, "source", line))
            elif command == "eval":
                notes.append(Note("security", "`eval` of a string", line, ""))
        elif node.type == "declaration_command" and text(node).startswith("export"):
            for child in node.named_children:
                if child.type == "variable_assignment":
                    name = text(child.child_by_field_name("name"))
                    exports.append(name)
                    symbols.append(Symbol(name, name, "exported variable", line, line, indexed=True))
                elif child.type == "variable_name":
                    exports.append(text(child))
        elif node.type == "variable_assignment" and node.parent is not None \
                and node.parent.type == "program":
            name = text(node.child_by_field_name("name"))
            if name:
                symbols.append(Symbol(name, name, "variable", line, line))
    interpreter = shebang(source.text)
    doc = first_paragraph(source.text, comments_only=True, markers=HASH_COMMENTS)
    functions = [s for s in symbols if s.kind == "function"]
    if doc:
        description = first_sentence(doc)
    elif functions:
        description = "Shell functions " + ", ".join(f"`{s.name}`" for s in functions[:4]) + (
            " and others" if len(functions) > 4 else "")
    else:
        description = f"shell script, {n_lines(source.line_count)}"
    return source.facts(
        language=language_of(source.name) if source.name.endswith((".sh", ".bash", ".zsh")) else "shell script",
        description=description, doc=doc, symbols=tuple(symbols), imports=tuple(imports),
        exports=tuple(dict.fromkeys(exports)), notes=tuple(notes),
        entry_point=bool(interpreter), interpreter=interpreter,
    )
