"""The generic analyzer: a language's tree-sitter tags query -> FileFacts (pure).

The query is the grammar wheel's own `queries/tags.scm` (what GitHub's code navigation runs) plus
the patterns the language's declaration adds, or the declaration's patterns alone where the wheel
ships none (Kotlin, C#) or a query that cannot be used as it is (Swift).  Captures follow the
tags convention: `@definition.KIND` on the defining node with `@name` on its name,
`@reference.call` on a call, plus docgraph's `@scope` for nodes that own definitions without
being one (Rust `impl` blocks).

From the captures, without a walk of the tree in Python:

- definitions, their kinds (the declaration's node-type table first, else the capture's kind; a
  function inside a type is a method), their owners (from byte ranges: the innermost enclosing
  definition), signatures (the text between name and body), doc comments (the comments directly
  above, kept when the language says they are documentation) and visibility;
- tests, from the language's rule over names and annotations;
- notable calls, from the reference captures: a callee the declaration lists becomes a note with
  its line and enclosing definition.

Imports come from the declaration's import reader (a few top-level nodes).  Grammars and queries
are loaded once per process, on first use.
"""

from __future__ import annotations

import importlib.resources
import re
from typing import Any

from ..facts import FileFacts, Import, Note, Symbol
from ..languages import Language, Tags, for_path
from . import Source
from .generic import describe, first_paragraph, n_lines
from .treesitter import parser

_QUERIES: dict[str, Any] = {}
_COMMENTS = frozenset({"comment", "line_comment", "block_comment", "multiline_comment"})
_ANNOTATIONS = frozenset({"annotation", "marker_annotation", "attribute_list", "attribute"})
_MODIFIERS = frozenset({"modifiers", "modifier"})
_BODIES = frozenset({"block", "body", "function_body", "class_body", "declaration_list",
                     "compound_statement", "constructor_body", "field_declaration_list",
                     "enum_variant_list", "enum_body", "interface_body", "protocol_body",
                     "enum_class_body", "body_statement", "statement_block"})
_NAMESPACES = frozenset({"namespace"})
_INDEXED_PARENTS = frozenset({"namespace", "module"})
_NOT_INDEXED = frozenset({"test", "extension"})  # a test's description; more of a type defined elsewhere
_DOC_MARK = re.compile(r"^\s*(///?!?|//!|/\*\*?!?|\*/|\*|#+)[ \t]?")
_XML_REF = re.compile(r"<(?:see|seealso|paramref|typeparamref)\s+\w+=\"([^\"]*)\"\s*/>")
_XML_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_INNER_DOC = re.compile(r"(?m)^([ \t]*)//!")  # Rust's file documentation, read as plain `//`
# directives for compilers and tools, not prose: Ruby's magic comments, Go build constraints,
# Swift's tools version (blanked before the file's leading comment is read)
_MAGIC = re.compile(r"(?m)^[ \t]*(#[ \t]*(frozen_string_literal|encoding|coding|warn_indent|"
                    r"shareable_constant_value):.*|//[ \t]*(swift-tools-version:|\+build ).*|//go:.*)$")


def _text(node: Any) -> str:
    return node.text.decode("utf-8", "replace") if node is not None and node.text else ""


def _definitions_only(query: str, compiled: Any) -> str:
    """The patterns of a query that capture a definition (its reference patterns left out)."""
    kept = []
    for index in range(compiled.pattern_count):
        pattern = query[compiled.start_byte_for_pattern(index):compiled.end_byte_for_pattern(index)]
        if "@definition." in pattern:
            kept.append(pattern)
    return "\n".join(kept)


def query(language: Language) -> Any:
    """The compiled tags query of a language (cached per process)."""
    found = _QUERIES.get(language.name)
    if found is not None:
        return found
    from tree_sitter import Query

    spec = language.tags
    assert spec is not None
    grammar = parser(language.grammar).language
    source = ""
    if spec.query:
        source = importlib.resources.files(spec.package).joinpath(spec.query).read_text("utf-8")
        if not spec.wheel_references:
            source = _definitions_only(source, Query(grammar, source))
    compiled = _QUERIES[language.name] = Query(grammar, source + "\n" + spec.extra)
    return compiled


def _clean_doc(comments: list[str]) -> str:
    lines: list[str] = []
    for comment in comments:
        for raw in comment.splitlines():
            line = _DOC_MARK.sub("", raw).rstrip()
            if line.endswith("*/"):
                line = line[:-2].rstrip()
            lines.append(line.strip())
    paragraph: list[str] = []
    for line in lines:
        if line.startswith("@") or line.startswith(":") and paragraph:  # Javadoc/PHPDoc block tags
            break
        line = _XML_TAG.sub("", _XML_REF.sub(r"\1", line)).strip()
        if not line:
            if paragraph:
                break
            continue
        paragraph.append(line)
    joined = " ".join(paragraph)
    return joined if len(joined) <= 300 else joined[:299] + "…"


def _leading(node: Any, spec: Tags) -> tuple[str, tuple[str, ...]]:
    """(doc comment, attribute texts) directly above a definition."""
    while node.prev_named_sibling is None and node.parent is not None \
            and node.parent.start_point[0] == node.start_point[0] and node.parent.parent is not None:
        node = node.parent  # Go `type X struct`: the comment is above `type_declaration`
    comments: list[str] = []
    attributes: list[str] = []
    row = node.start_point[0]
    sibling = node.prev_named_sibling
    while sibling is not None and sibling.end_point[0] >= row - 1:
        kind = sibling.type
        if kind in spec.doc_skip or kind in _ANNOTATIONS:
            attributes.append(_text(sibling))
        elif kind in _COMMENTS:
            value = _text(sibling)
            if not spec.doc_comments(value):
                break
            comments.append(value)
        else:
            break
        row = sibling.start_point[0]
        sibling = sibling.prev_named_sibling
    for child in node.children:
        if child.type in _ANNOTATIONS:
            attributes.append(_text(child))
        elif child.type in _MODIFIERS:
            attributes.extend(_text(c) for c in child.children if c.type in _ANNOTATIONS)
    attributes = [a.removeprefix("#[").removesuffix("]").strip("[] ") if a.startswith(("#[", "["))
                  else a for a in attributes]
    return _clean_doc(list(reversed(comments))), tuple(attributes)


def _body(node: Any) -> Any:
    body = node.child_by_field_name("body")
    if body is not None:
        return body
    for child in reversed(node.children):
        if child.type in _BODIES:
            return child
    return None


def _signature(node: Any, name: Any, data: bytes) -> str:
    body = _body(node)
    end = body.start_byte if body is not None and body.start_byte >= name.end_byte else node.end_byte
    value = " ".join(data[name.end_byte:end].decode("utf-8", "replace").split()).rstrip("{;= ")
    if value.startswith(">") or not value:  # an operator name or nothing to show
        return value
    return value if len(value) <= 240 else value[:239] + "…"


def _callee(node: Any, name: Any) -> str:
    if node.type in ("argument_list", "value_arguments", "arguments"):
        node = node.parent
    for field in ("function", "macro"):
        found = node.child_by_field_name(field)
        if found is not None:
            return " ".join(_text(found).split())
    target = node.child_by_field_name("object") or node.child_by_field_name("receiver")
    method = node.child_by_field_name("name") or node.child_by_field_name("method")
    if method is not None:
        return " ".join(f"{_text(target)}.{_text(method)}".split()) if target is not None else _text(method)
    return _text(name)


def _notable(callee: str, calls: dict[str, tuple[str, str]] | Any) -> tuple[str, str] | None:
    found = calls.get(callee)
    while found is None and ("." in callee or "::" in callee):
        cut = max(callee.find(".") + 1 if "." in callee else 0, callee.find("::") + 2 if "::" in callee else 0)
        callee = callee[cut:]
        found = calls.get(callee)
    return found


def analyze(source: Source) -> FileFacts:
    """Analyse a file of a language whose declaration has a tags query."""
    language = for_path(source.path)
    assert language is not None and language.tags is not None
    spec = language.tags
    data = source.data
    tree = parser(language.grammar).parse(data)
    root = tree.root_node
    from tree_sitter import QueryCursor

    # (start, -end, order, kind, name, node, name node) for definitions; kind "" for scopes
    items: list[tuple[int, int, int, str, str, Any, Any]] = []
    calls: list[tuple[Any, Any]] = []
    seen: dict[tuple[int, int, str], int] = {}
    for _pattern, captures in QueryCursor(query(language)).matches(root):
        names = captures.get("name", ())
        for capture, nodes in captures.items():
            if capture.startswith("definition."):
                kind = capture[11:]
            elif capture == "scope":
                kind = ""
            elif capture == "reference.call":
                calls.extend((node, names[0] if names else node) for node in nodes)
                continue
            else:
                continue
            for node in nodes:
                for name_node in names:
                    name = _text(name_node).strip("\"'")
                    if not name_node.is_named and node.type in spec.unnamed:
                        name = spec.unnamed[node.type]
                    if not name:
                        continue
                    key = (node.start_byte, name_node.start_byte, name)
                    if key in seen:  # the later pattern is the more specific (the declaration's
                        index = seen[key]  # come after the wheel's), but a function stays one:
                        if items[index][3] != "function" or kind != "method":  # the owner decides
                            items[index] = items[index][:3] + (kind,) + items[index][4:]
                        continue
                    seen[key] = len(items)
                    items.append((node.start_byte, -node.end_byte, len(items), kind, name, node, name_node))
    items.sort(key=lambda i: i[:3])
    symbols: list[Symbol] = []
    tests: list[str] = []
    spans: list[tuple[int, int, str]] = []  # (start, end, qualname) of definitions, for calls
    stack: list[tuple[int, str, str, bool, int]] = []  # (end byte, qualname, kind, indexed, start)
    for start, neg_end, _order, kind, name, node, name_node in items:
        end = -neg_end
        while stack and (stack[-1][0] <= start or stack[-1][::4] == (end, start)):
            stack.pop()  # what ended, and a sibling name of the same node (`case a, b`)
        parent = stack[-1] if stack else None
        if not kind:  # a scope: owns what it contains, defines nothing
            owner = _text(node.child_by_field_name("type")) or name
            stack.append((end, owner, "impl", False, start))
            continue
        kind = spec.kinds.get(node.type, kind)
        refine = spec.refine.get(node.type)
        if refine is not None:
            kind = refine(node)
        owner = spec.qualify(node, name) if spec.qualify is not None else ""
        if kind in ("function", "method") and node.type not in spec.kinds:
            kind = "method" if parent is not None and parent[2] in spec.containers else "function"
        scope = ""
        if owner:
            qualname = f"{owner}.{name}"
        elif parent is not None and parent[2] in _NAMESPACES:
            qualname, scope = name, parent[1]
        elif parent is not None:
            qualname = f"{parent[1]}.{name}"
        else:
            qualname = name
        indexed = not owner and kind not in _NOT_INDEXED and (
            parent is None or (parent[2] in _INDEXED_PARENTS and parent[3]))
        doc, annotations = _leading(node, spec)
        signature = _signature(node, name_node, data) if kind in spec.signature_kinds else ""
        visibility = spec.visibility(node, name) if spec.visibility is not None else ""
        symbols.append(Symbol(name, qualname, kind, node.start_point[0] + 1, node.end_point[0] + 1,
                              signature=signature, doc=doc, indexed=indexed, scope=scope,
                              visibility=visibility))
        if spec.test is not None and spec.test(source.path, kind, annotations, name):
            tests.append(qualname)
        spans.append((start, end, f"{scope}.{qualname}" if scope else qualname))
        stack.append((end, f"{scope}.{qualname}" if scope and kind in _NAMESPACES else qualname,
                      kind, indexed, start))
    notes: set[Note] = set()
    if spec.calls:
        for node, name_node in calls:
            found = _notable(_callee(node, name_node), spec.calls)
            if found is None:
                continue
            at = node.start_byte
            inside = [s for s in spans if s[0] <= at < s[1]]
            subject = max(inside, key=lambda s: s[0])[2] if inside else ""
            notes.add(Note(found[0], found[1], node.start_point[0] + 1, subject))
    imports = [Import(module, kind, line, names)
               for module, kind, line, names in (spec.imports(root, source.path) if spec.imports else [])]
    symbols.sort(key=lambda s: (s.line, s.qualname))
    doc = first_paragraph(_MAGIC.sub("", _INNER_DOC.sub(r"\1// ", source.text)),
                          comments_only=True, markers=language.comments)
    description = describe(doc, [s for s in symbols if s.indexed],
                           f"{language.name}, {n_lines(source.line_count)}")
    error_bytes = sum(c.end_byte - c.start_byte for c in root.children if c.type == "ERROR")
    parsed = not (root.has_error and error_bytes > len(data) // 2)
    return source.facts(
        language=language.name, description=description, doc=doc, parsed=parsed,
        parse_error="" if parsed else "tree-sitter could not parse most of the file",
        symbols=tuple(symbols), imports=tuple(imports),
        notes=tuple(sorted(notes, key=lambda n: (n.category, n.topic, n.line, n.subject))),
        tests=tuple(dict.fromkeys(tests)),
        own_tests=bool(tests) and spec.own_tests is not None and spec.own_tests(source.path),
        entry_point=bool(spec.entry_point(root, tuple(symbols))) if spec.entry_point else False,
    )
