"""C, C++ and CUDA with tree-sitter (tree-sitter-c, -cpp, -cuda from PyPI; they work offline).

Collected: `#include`s (quoted or angle-bracketed), macros (include guards left out), namespaces,
classes/structs/unions/enums with their members, functions and methods (declarations and
definitions, with signatures and template parameters), typedefs and `using` aliases, CUDA
`__global__` kernels, and the comment block directly above a declaration as its documentation.
Per function: cyclomatic complexity, nested loops, and notable calls (CUDA streams and kernel
launches, threads, unbounded C string functions, `system`), and classes, structs, unions and
enums defined inside function bodies, found with one tree-sitter query per file rather than a
walk in Python.

One heuristic, stated here and on the page: export and attribute macros such as `TORCH_API`,
`C10_API` or `C10_HOST_DEVICE` make tree-sitter read `class TORCH_API Tensor` as a class named
`TORCH_API`.  Before parsing, upper-case names containing an underscore that stand in a
declaration-specifier position (after `class`/`struct`/`union`/`enum`, after `inline`/`static`/...,
or opening a declaration line before another name), and such a macro's call standing alone on its
lines directly above a declaration (`PYBIND11_DEPRECATED("...")`,
`PYBIND11_NAMESPACE_BEGIN(detail)`), are replaced by spaces of the same length, so lines and
columns do not move.  The facts record which macros were blanked.
"""

from __future__ import annotations

import bisect
import re
from typing import Any

from ..facts import FileFacts, Import, Note, Symbol
from . import Source, prose
from .generic import C_COMMENTS, first_paragraph, first_sentence, language_of, n_lines
from .treesitter import parser, text

_MACRO = rb"[A-Z][A-Z0-9]*_[A-Z0-9_]*"
_AFTER_KEYWORD = re.compile(
    rb"\b(class|struct|union|enum(?:[ \t]+(?:class|struct))?|inline|static|constexpr|virtual|"
    rb"explicit|extern|friend)([ \t\n]+)((?:" + _MACRO + rb"[ \t\n]+)+)(?=[A-Za-z_~])")
_LINE_START = re.compile(
    rb"(?m)^([ \t]*)((?:" + _MACRO + rb"[ \t]+)+)(?=(?:inline|static|constexpr|virtual|explicit|"
    rb"extern|const|class|struct|enum|union|template|void|bool|int|auto|unsigned|signed|long|"
    rb"double|float|char|size_t|std|[A-Za-z_][A-Za-z0-9_:<>]*[ \t*&]+[A-Za-z_~*&]))")
# a macro call alone on its line(s), directly above a declaration: an attribute
# (`PYBIND11_DEPRECATED("...")`) or a namespace opener (`PYBIND11_NAMESPACE_BEGIN(detail)`) whose
# expansion tree-sitter cannot see; left in place, it turns the class around it into an error
_STANDALONE_CALL = re.compile(
    rb"(?m)^[ \t]*(" + _MACRO + rb")[ \t]*\((?:[^();{}]|\((?:[^();{}]|\([^();{}]*\))*\))*\)"
    rb"[ \t]*(?=\n[ \t]*[A-Za-z_~\[])")  # (no `;`, `{`, `}` inside: a statement's end bounds the search)
_GUARD = re.compile(r"(_H|_HPP|_HXX|_INCLUDED|_H__|_H_|_HPP_)$")
_DOC_MARK = re.compile(r"^\s*(///?<?|//!|/\*\*?!?|\*/?|\*)\s?")

_CONTAINERS = {"translation_unit", "declaration_list", "field_declaration_list",
               "preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif", "preproc_elifdef",
               "linkage_specification", "ERROR"}
_CLASSLIKE = {"class_specifier": "class", "struct_specifier": "struct",
              "union_specifier": "union", "enum_specifier": "enum"}
_QUERY_TEXT = """
(for_statement) @loop (for_range_loop) @loop (while_statement) @loop (do_statement) @loop
(if_statement) @branch (case_statement) @branch (catch_clause) @branch
(conditional_expression) @branch
(binary_expression operator: "&&") @branch (binary_expression operator: "||") @branch
(call_expression function: (_) @callee)
"""
# Definitions inside function bodies (local classes in googletest `TEST(...) {}` bodies, binding
# modules): a narrow pattern over compound statements, run in the same query as the metrics, rather
# than a walk of every statement.  C has no classes.
_LOCAL_KINDS = ("struct_specifier", "union_specifier", "enum_specifier", "class_specifier")


def _local_text(language: str) -> str:
    kinds = " ".join(f"({k} name: (_) body: (_))" for k in _LOCAL_KINDS
                     if language != "c" or k != "class_specifier")
    return (f"(compound_statement [{kinds}] @local)\n"
            f"(compound_statement (declaration type: [{kinds}] @local))\n")


_TEST_MACROS = {"TEST", "TEST_F", "TEST_P", "TYPED_TEST", "TYPED_TEST_P", "BENCHMARK"}
_UNSAFE_C = {"strcpy", "strcat", "sprintf", "vsprintf", "gets", "scanf"}
_CALL_NOTES = {
    "cudaStreamCreate": ("performance", "CUDA stream creation"),
    "cudaStreamCreateWithFlags": ("performance", "CUDA stream creation"),
    "cudaStreamSynchronize": ("performance", "CUDA stream synchronisation"),
    "cudaDeviceSynchronize": ("performance", "CUDA device synchronisation"),
    "cudaMalloc": ("performance", "CUDA device allocation"),
    "cudaMemcpy": ("performance", "synchronous CUDA copy"),
    "cudaMemcpyAsync": ("performance", "asynchronous CUDA copy"),
    "getCurrentCUDAStream": ("performance", "current CUDA stream"),
    "pthread_create": ("performance", "starts threads"),
    "system": ("security", "`system` call (runs a shell command)"),
    "popen": ("security", "`popen` call (runs a shell command)"),
}
_CALL_NOTES_BYTES = {name.encode(): note for name, note in _CALL_NOTES.items()}
_UNSAFE_C_BYTES = {name.encode() for name in _UNSAFE_C}
_QUERIES: dict[str, Any] = {}
_LAUNCHES: dict[str, bool] = {}


def query_language(language: str) -> Any:
    """The tree-sitter Language of a grammar (what queries are compiled for)."""
    return parser(language).language


EXPORT_MACRO = "export or attribute macro"
DECLARATION_MACRO = "declaration macro"


def blank_macros(data: bytes) -> tuple[bytes, list[tuple[str, int, str]]]:
    """Replace export/attribute macros in declaration-specifier position, and macro calls alone
    on their lines above a declaration, by spaces.

    Returns the new bytes and the blanked names with their first line and what they are
    (:data:`EXPORT_MACRO` or :data:`DECLARATION_MACRO`).
    """
    found: dict[str, tuple[int, str]] = {}
    buffer = bytearray(data)

    def blank(match: re.Match[bytes], group: int, topic: str, named: int | None = None) -> None:
        start, end = match.span(group)
        for name in re.findall(_MACRO, match.group(group if named is None else named)):
            key = name.decode("ascii")
            if key not in found or found[key][0] > start:
                found[key] = (start, topic)
        for index in range(start, end):
            if buffer[index] not in (10, 13):
                buffer[index] = 32

    for match in _AFTER_KEYWORD.finditer(data):
        blank(match, 3, EXPORT_MACRO)
    for match in _LINE_START.finditer(bytes(buffer)):
        blank(match, 2, EXPORT_MACRO)
    for match in _STANDALONE_CALL.finditer(bytes(buffer)):
        blank(match, 0, DECLARATION_MACRO, named=1)  # (names in its arguments are no macros blanked)
    lines = [(name, data.count(b"\n", 0, offset) + 1, topic) for name, (offset, topic) in found.items()]
    return bytes(buffer), sorted(lines, key=lambda kv: (kv[1], kv[0]))


def _doc(comments: list[Any]) -> str:
    lines = []
    for node in comments:
        for raw in text(node).splitlines():
            line = _DOC_MARK.sub("", raw).rstrip("*/ ").strip()
            lines.append(line)
    return prose.doxygen(lines, 300)


def _declarator_name(node: Any) -> tuple[Any, Any]:
    """(function_declarator, name node) inside a declarator chain, or (None, name node)."""
    current = node
    while current is not None:
        kind = current.type
        if kind == "function_declarator":
            return current, current.child_by_field_name("declarator")
        if kind in ("pointer_declarator", "reference_declarator", "init_declarator",
                    "attributed_declarator", "parenthesized_declarator", "array_declarator"):
            current = current.child_by_field_name("declarator") or (
                current.named_children[-1] if current.named_children else None)
            continue
        return None, current
    return None, None


def _squash(value: str, limit: int = 240) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_LIST_EDGES = re.compile(r"(^<|(?<=\w)<) | (>)(?=$|[>:,)*&])")


def _declared_text(value: str) -> str:
    """Declaration text as a reader writes it on one line: comments removed (a `// NOLINT` or
    `// MSVC workaround` between template parameters is not part of the signature), runs of
    white space as one space, none inside parentheses' and a list's outer edges (`( int a )`
    -> `(int a)`, `< typename T >` -> `<typename T>`; `N < 19` inside stays as it is)."""
    if "/" in value:
        value = _COMMENT.sub(" ", value)
    value = " ".join(value.split())
    value = re.sub(r"([(\[]) | ([)\]])", lambda m: m.group(1) or m.group(2), value)
    if "< " in value or " >" in value:  # a list's edges: `caster< int` (a name's list), `long >`
        value = _LIST_EDGES.sub(lambda m: m.group(1) or m.group(2), value)
    return value


def _list_text(value: str, limit: int) -> str:
    """A bracketed list (`<typename T, ...>`, `(int a, ...)`) in at most about `limit` characters:
    when longer, the items that fit and `…` before the closing bracket, so the list still closes
    and the name that follows it is never glued to a half-written head."""
    value = _declared_text(value)
    if len(value) <= limit or len(value) < 2:
        return value
    opening, closing, inner = value[0], value[-1], value[1:-1]
    items, depth, start = [], 0, 0
    for index, char in enumerate(inner):
        depth += (char in "<([{") - (char in ">)]}")
        if char == "," and depth == 0:
            items.append(inner[start:index].strip())
            start = index + 1
    items.append(inner[start:].strip())
    kept: list[str] = []
    for item in items:
        if len(", ".join([*kept, item])) + 4 > limit:
            break
        kept.append(item)
    return opening + ", ".join([*kept, "…"]) + closing


class _Scanner:
    def __init__(self, source: Source, data: bytes, language: str):
        self.source = source
        self.data = data
        self.language = language
        self.symbols: list[Symbol] = []
        self.imports: list[Import] = []
        self.notes: list[Note] = []
        self.functions: list[tuple[int, int, int]] = []   # (start byte, end byte, symbol index)
        self.tests: list[str] = []

    def add(self, symbol: Symbol, body: Any = None) -> None:
        if body is not None:
            self.functions.append((body.start_byte, body.end_byte, len(self.symbols)))
        self.symbols.append(symbol)

    def scan(self, root: Any) -> None:
        # (container node, namespace scope, class path, template prefix)
        stack: list[tuple[Any, str, str]] = [(root, "", "")]
        while stack:
            container, scope, klass = stack.pop()
            pending: list[Any] = []
            for child in container.named_children:
                kind = child.type
                if kind == "comment":
                    if pending and pending[-1].end_point[0] + 1 < child.start_point[0]:
                        pending = []
                    pending.append(child)
                    continue
                doc = ""
                if pending and pending[-1].end_point[0] + 1 >= child.start_point[0]:
                    doc = _doc(pending)
                pending = []
                self.item(child, scope, klass, doc, "", stack)

    def item(self, node: Any, scope: str, klass: str, doc: str, template: str,
             stack: list[tuple[Any, str, str]]) -> None:
        kind = node.type
        line = node.start_point[0] + 1
        end = node.end_point[0] + 1
        if kind in _CONTAINERS and kind not in ("translation_unit",):
            if kind == "linkage_specification":
                body = node.child_by_field_name("body")
                if body is not None and body.type == "declaration_list":
                    stack.append((body, scope, klass))
                elif body is not None:
                    self.item(body, scope, klass, doc, template, stack)
            else:
                stack.append((node, scope, klass))
        elif kind == "preproc_include":
            path = node.child_by_field_name("path")
            raw = text(path)
            if raw:
                system = raw.startswith("<")
                self.imports.append(Import(raw.strip('<>"'), "include", line, system=system))
        elif kind in ("preproc_def", "preproc_function_def"):
            name = text(node.child_by_field_name("name"))
            value = node.child_by_field_name("value")
            if not name or (value is None and _GUARD.search(name)):
                return
            params = node.child_by_field_name("parameters")
            self.add(Symbol(name, name, "macro", line, end, signature=text(params) if params else "",
                            doc=doc, indexed=not klass))
        elif kind == "preproc_call":
            directive = text(node.child_by_field_name("directive"))
            argument = text(node.child_by_field_name("argument"))
            if directive == "#pragma" and re.match(r"\s*omp\s+parallel", argument):
                self.notes.append(Note("performance", "OpenMP parallel region", line,
                                       klass or scope or ""))
        elif kind == "namespace_definition":
            name_node = node.child_by_field_name("name")
            name = text(name_node) or "(anonymous)"
            full = f"{scope}::{name}" if scope else name
            self.add(Symbol(name, full, "namespace", line, end, doc=doc))
            body = node.child_by_field_name("body")
            if body is not None:
                stack.append((body, full, klass))
        elif kind == "template_declaration":
            params = node.child_by_field_name("parameters")
            prefix = "template " + _list_text(text(params), 160)
            for child in node.named_children:
                if child is not params and child.type != "comment":
                    self.item(child, scope, klass, doc, prefix, stack)
        elif kind in _CLASSLIKE:
            self.classlike(node, scope, klass, doc, template, stack)
        elif kind in ("function_definition", "declaration", "field_declaration"):
            self.declaration(node, scope, klass, doc, template, stack)
        elif kind == "type_definition":
            type_node = node.child_by_field_name("type")
            if type_node is not None and type_node.type in _CLASSLIKE:
                self.classlike(type_node, scope, klass, doc, template, stack, typedef=True)
            for declarator in node.children_by_field_name("declarator"):
                _, name_node = _declarator_name(declarator)
                name = text(name_node)
                if name:
                    self.add(Symbol(name, self.qual(klass, name), "typedef", line, end,
                                    signature=_squash(text(type_node), 160), doc=doc, scope=scope,
                                    indexed=not klass))
        elif kind == "alias_declaration":
            name = text(node.child_by_field_name("name"))
            if name:
                self.add(Symbol(name, self.qual(klass, name), "type alias", line, end,
                                signature="= " + _squash(text(node.child_by_field_name("type")), 160),
                                doc=doc, scope=scope, indexed=not klass))

    @staticmethod
    def qual(klass: str, name: str) -> str:
        return f"{klass}::{name}" if klass else name

    def classlike(self, node: Any, scope: str, klass: str, doc: str, template: str,
                  stack: list[tuple[Any, str, str]], typedef: bool = False) -> None:
        body = node.child_by_field_name("body")
        # a specialization's name as one line: `caster<\n    type,\n ...>` is `caster<type, ...>`
        name = _declared_text(text(node.child_by_field_name("name")))
        if body is None or (not name and not typedef):
            return  # a forward declaration, or an anonymous member struct
        if not name:
            return
        kind = _CLASSLIKE[node.type]
        bases = tuple(_squash(text(c), 80) for c in node.named_children
                      if c.type == "base_class_clause" for c in c.named_children
                      if c.type != "access_specifier")
        qual = self.qual(klass, name)
        self.add(Symbol(name, qual, kind, node.start_point[0] + 1, node.end_point[0] + 1,
                        signature=template, doc=doc, bases=bases, scope=scope, indexed=not klass))
        if kind != "enum":
            stack.append((body, scope, qual))

    def declaration(self, node: Any, scope: str, klass: str, doc: str, template: str,
                    stack: list[tuple[Any, str, str]]) -> None:
        type_node = node.child_by_field_name("type")
        if type_node is not None and type_node.type in _CLASSLIKE:
            self.classlike(type_node, scope, klass, doc, template, stack)
        line = node.start_point[0] + 1
        end = node.end_point[0] + 1
        declarators = node.children_by_field_name("declarator")
        is_definition = node.type == "function_definition"
        for declarator in declarators:
            function, name_node = _declarator_name(declarator)
            name = _squash(text(name_node), 120)
            if not name:
                continue
            if function is None:
                if not klass and node.type == "declaration":
                    specifiers = text(node)[: max(0, declarator.start_byte - node.start_byte)]
                    constant = bool(re.search(r"\b(constexpr|const)\b", specifiers))
                    self.add(Symbol(name, name, "constant" if constant else "variable", line, end,
                                    doc=doc, scope=scope, indexed=constant))
                elif klass:
                    self.add(Symbol(name, f"{klass}::{name}", "field", line, end, doc=doc, scope=scope))
                continue
            params = function.child_by_field_name("parameters")
            after = _declared_text(self.data[params.end_byte:function.end_byte].decode("utf-8", "replace")) \
                if params is not None else ""
            # what stands before the name as declared: specifiers, the type and the declarator's
            # `*` / `&` (`static constexpr sig_type`, `char *`, `strdup_guard &`, `explicit`)
            before = self.data[node.start_byte:type_node.end_byte if type_node is not None
                               else declarator.start_byte]
            marks = self.data[declarator.start_byte:name_node.start_byte] \
                if name_node.start_byte >= declarator.start_byte else b""
            returns = _declared_text((before + b" " + marks).decode("utf-8", "replace"))
            if len(returns) > 120:
                returns = returns[:119] + "…"
            signature = (f"{template} " if template else "") + _list_text(text(params), 240) + (
                f" {after}" if after else "") + (f" -> {returns}" if returns else "")
            head = self.data[node.start_byte:function.start_byte]
            short = name.rsplit("::", 1)[-1]
            owner = klass or (name.rsplit("::", 1)[0] if "::" in name else "")
            if b"__global__" in head:
                kind = "kernel"
            elif owner and short == owner.rsplit("::", 1)[-1]:
                kind = "constructor"
            elif short.startswith("~"):
                kind = "destructor"
            elif owner:
                kind = "method"
            else:
                kind = "function"
            if is_definition and not owner and name in _TEST_MACROS and params is not None:
                # googletest: `TEST(Suite, Name) { ... }` parses as a function named TEST
                label = "::".join(p.strip() for p in text(params).strip("()").split(",")[:2])
                self.tests.append(label)
                self.add(Symbol(label, label, "test", line, end, doc=doc), node.child_by_field_name("body"))
                continue
            if not is_definition and kind in ("function", "kernel"):
                kind += " declaration"
            qual = f"{klass}::{name}" if klass else name
            body = node.child_by_field_name("body") if is_definition else None
            self.add(Symbol(short if owner else name, qual, kind, line, end,
                            signature=signature, doc=doc, scope=scope,
                            indexed=not owner and kind.startswith(("function", "kernel"))), body)
            if kind.startswith("kernel") and is_definition:
                self.notes.append(Note("performance", "CUDA kernel", line, qual))

    def metrics(self, root: Any) -> list[Symbol]:
        """Complexity per function and notes from loops and calls (one query for the file)."""
        if not self.functions:
            return self.symbols
        query = _QUERIES.get(self.language)
        if query is None:
            from tree_sitter import Query

            query = _QUERIES[self.language] = Query(query_language(self.language),
                                                    _QUERY_TEXT + _local_text(self.language))
        from tree_sitter import QueryCursor

        captures = QueryCursor(query).captures(root)
        ranges = sorted(self.functions)
        starts = [r[0] for r in ranges]

        def owner(node: Any) -> int:
            index = bisect.bisect_right(starts, node.start_byte) - 1
            while index >= 0:
                start, end, symbol = ranges[index]
                if start <= node.start_byte and node.end_byte <= end:
                    return symbol
                index -= 1
            return -1

        complexity = [0] * len(self.symbols)
        for node in captures.get("branch", []):
            found = owner(node)
            if found >= 0:
                complexity[found] += 1
        loops = sorted(captures.get("loop", []), key=lambda n: (n.start_byte, -n.end_byte))
        open_loops: list[Any] = []
        for loop in loops:
            while open_loops and open_loops[-1].end_byte <= loop.start_byte:
                open_loops.pop()
            found = owner(loop)
            if found >= 0:
                complexity[found] += 1
                if open_loops and owner(open_loops[-1]) == found:
                    self.notes.append(Note("performance", "nested loop", loop.start_point[0] + 1,
                                           self.symbols[found].qualname))
            open_loops.append(loop)
        launches = _LAUNCHES.get(self.language)
        if launches is None:  # only tree-sitter-cuda has `kernel<<<...>>>(...)` calls
            launches = _LAUNCHES[self.language] = bool(
                query_language(self.language).id_for_node_kind("kernel_call_syntax", True))
        for callee in captures.get("callee", []):
            # most calls are none of the notable ones: decide on the bytes, decode only a hit
            raw = callee.text or b""
            name = raw.rsplit(b"::", 1)[-1].rsplit(b".", 1)[-1].rsplit(b"->", 1)[-1]
            call = callee.parent if launches else None
            launch = call is not None and any(c.type == "kernel_call_syntax" for c in call.children)
            noted = _CALL_NOTES_BYTES.get(name)
            unsafe = noted is None and name in _UNSAFE_C_BYTES
            thread = noted is None and not unsafe and name == b"thread" and b"std::thread" in raw
            if not (launch or noted or unsafe or thread):
                continue
            found = owner(callee)
            where = self.symbols[found].qualname if found >= 0 else ""
            line = callee.start_point[0] + 1
            if launch:
                self.notes.append(Note("performance", "CUDA kernel launch", line, where))
            if noted is not None:
                self.notes.append(Note(noted[0], noted[1], line, where))
            elif unsafe:
                self.notes.append(Note("security", f"unbounded C string function `{name.decode()}`",
                                       line, where))
            elif thread:
                self.notes.append(Note("performance", "starts threads", line, where))
        out = list(self.symbols)
        for start, end, index in ranges:
            symbol = out[index]
            out[index] = Symbol(symbol.name, symbol.qualname, symbol.kind, symbol.line,
                                symbol.end_line, symbol.signature, symbol.doc, symbol.bases,
                                symbol.decorators, symbol.indexed, 1 + complexity[index], symbol.scope)
        for node in captures.get("local", []):
            local = text(node.child_by_field_name("name"))
            found = owner(node)
            qual = f"{self.symbols[found].qualname}.{local}" if found >= 0 else local
            out.append(Symbol(local, qual, _CLASSLIKE[node.type], node.start_point[0] + 1,
                              node.end_point[0] + 1,
                              scope=self.symbols[found].scope if found >= 0 else ""))
        return out


def _grammar(name: str) -> str:
    lower = name.lower()
    if lower.endswith((".cu", ".cuh")):
        return "cuda"
    if lower.endswith(".c"):
        return "c"
    return "cpp"


def analyze(source: Source) -> FileFacts:
    """Analyse a C, C++ or CUDA source or header."""
    grammar = _grammar(source.name)
    data, blanked = blank_macros(source.data) if grammar != "c" else (source.data, [])
    tree = parser(grammar).parse(data)
    scanner = _Scanner(source, data, grammar)
    scanner.scan(tree.root_node)
    symbols = scanner.metrics(tree.root_node)
    notes = list(scanner.notes)
    for name, line, topic in blanked[:20]:
        notes.append(Note("pattern", topic, line, name))
    root = tree.root_node
    error_bytes = sum(c.end_byte - c.start_byte for c in root.children if c.type == "ERROR")
    parsed = not (root.has_error and error_bytes > len(data) // 2)
    doc = first_paragraph(source.text, comments_only=True, markers=C_COMMENTS)
    indexed = [s for s in symbols if s.indexed and s.kind != "macro"] or [s for s in symbols if s.indexed]
    if doc:
        description = first_sentence(doc)
    elif indexed:
        names = ", ".join(f"`{s.name}`" for s in indexed[:3])
        more = " and others" if len(indexed) > 3 else ""
        description = f"Declares {names}{more}"
    elif scanner.imports:
        description = f"Includes {len(scanner.imports)} header(s)"
    else:
        description = "empty file" if not source.text.strip() else f"{language_of(source.name)}, {n_lines(source.line_count)}"
    return source.facts(
        language=language_of(source.name),
        description=description,
        doc=doc,
        parsed=parsed,
        parse_error="" if parsed else "tree-sitter could not parse most of the file",
        symbols=tuple(sorted(symbols, key=lambda s: (s.line, s.qualname))),
        imports=tuple(scanner.imports),
        notes=tuple(sorted(set(notes), key=lambda n: (n.category, n.topic, n.line, n.subject))),
        tests=tuple(scanner.tests),
    )
