"""Python, with the standard library's `ast`: definitions, imports, tests, notes, complexity.

One pass over the syntax tree collects

- definitions: classes (bases, decorators, methods), functions and methods (signatures as written,
  first docstring paragraph, cyclomatic complexity), module constants, type variables, `__all__`;
- imports, absolute and relative, and an alias table that resolves call targets: `pk.load(...)`
  after `import pickle as pk` is `pickle.load`; `model.eval()` is not the builtin `eval`;
- tests the way the test runners find them: `unittest.TestCase` subclasses anywhere, `test_*`
  functions and `Test*` classes in files pytest collects (`test_*.py`, `*_test.py`), fixtures;
- notes, each with its line: security (eval/exec, pickle and `torch.load` without
  `weights_only=True`, `shell=True`, `yaml.load` without a safe loader, hard-coded credentials by
  name only), performance (nested loops, recursion, caching decorators, threads, processes, async,
  CUDA streams, compilation) and patterns (dataclasses, ABCs, context managers, generators,
  descriptors, properties, enums, protocols);
- doctest examples from docstrings.

A file that `ast` rejects is read again with tree-sitter-python, whose error recovery still yields
its definitions and imports; the facts say it does not parse.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..facts import Example, FileFacts, Finding, Import, Note, Symbol
from . import Source, prose
from .generic import HASH_COMMENTS, first_paragraph, first_sentence, n_lines, shebang

_CONSTANT = re.compile(r"^_*[A-Z][A-Z0-9_]*$")
_CREDENTIAL = re.compile(r"(?i)(passw(or)?d|passwd|secret|api_?key|access_?key|private_?key|"
                         r"(^|_)token$|client_?secret|credential)")
_PLACEHOLDER = re.compile(r"^(\s*|<[^>]*>|\$\{?\w+\}?|x+|\*+|changeme|password|secret|none|null|"
                          r"your[-_ ].*|example.*|dummy.*|test.*|fake.*)$", re.IGNORECASE)

_SECURITY_CALLS = {
    "eval": "`eval` call",
    "exec": "`exec` call",
    "builtins.eval": "`eval` call",
    "builtins.exec": "`exec` call",
    "pickle.load": "`pickle` deserialisation (runs code from the data)",
    "pickle.loads": "`pickle` deserialisation (runs code from the data)",
    "cPickle.load": "`pickle` deserialisation (runs code from the data)",
    "cPickle.loads": "`pickle` deserialisation (runs code from the data)",
    "dill.load": "`dill` deserialisation (runs code from the data)",
    "dill.loads": "`dill` deserialisation (runs code from the data)",
    "joblib.load": "`joblib.load` (unpickles its input)",
    "marshal.loads": "`marshal.loads` of data",
    "shelve.open": "`shelve` (pickle-backed) storage",
    "os.system": "shell command via `os.system`",
    "os.popen": "shell command via `os.popen`",
    "yaml.unsafe_load": "`yaml.unsafe_load` (constructs arbitrary objects)",
    "yaml.full_load": "`yaml.full_load` (not the safe loader)",
    "tempfile.mktemp": "`tempfile.mktemp` (race-prone temporary name)",
}
_SUBPROCESS = {"subprocess.run", "subprocess.call", "subprocess.check_call",
               "subprocess.check_output", "subprocess.Popen", "subprocess.getoutput",
               "subprocess.getstatusoutput"}
_SAFE_YAML_LOADERS = {"SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"}
_CONCURRENCY = {
    "threading.Thread": "starts threads", "threading.Timer": "starts threads",
    "concurrent.futures.ThreadPoolExecutor": "thread pool",
    "concurrent.futures.ProcessPoolExecutor": "process pool",
    "multiprocessing.Process": "starts processes", "multiprocessing.Pool": "process pool",
    "multiprocessing.get_context": "multiprocessing context",
    "torch.multiprocessing.spawn": "starts processes", "torch.multiprocessing.Process": "starts processes",
    "asyncio.run": "runs an asyncio event loop", "asyncio.gather": "concurrent coroutines",
    "asyncio.create_task": "concurrent coroutines",
    "torch.cuda.Stream": "CUDA streams", "torch.cuda.stream": "CUDA streams",
    "torch.cuda.synchronize": "CUDA synchronisation", "torch.compile": "compiles with `torch.compile`",
    "torch.jit.script": "compiles with TorchScript", "torch.jit.trace": "traces with TorchScript",
    "numba.jit": "compiles with Numba", "numba.njit": "compiles with Numba",
}
_CACHING = {"functools.lru_cache", "functools.cache", "functools.cached_property",
            "lru_cache", "cache", "cached_property"}
_CLASS_PATTERNS = {
    "abc.ABC": "abstract base class", "ABC": "abstract base class",
    "enum.Enum": "enumeration", "enum.IntEnum": "enumeration", "enum.Flag": "enumeration",
    "enum.IntFlag": "enumeration", "enum.StrEnum": "enumeration", "Enum": "enumeration",
    "typing.NamedTuple": "named tuple", "NamedTuple": "named tuple",
    "typing.TypedDict": "typed dict", "TypedDict": "typed dict",
    "typing.Protocol": "protocol", "Protocol": "protocol",
    "typing.Generic": "generic class",
}


@dataclass
class _Def:
    """A definition under construction (complexity is known only after its body)."""

    name: str
    qualname: str
    kind: str
    line: int
    end_line: int
    signature: str = ""
    doc: str = ""
    bases: tuple[str, ...] = ()
    decorators: tuple[str, ...] = ()
    indexed: bool = False
    complexity: int = 0
    calls_self: bool = False
    generator: bool = False
    methods: set[str] = field(default_factory=set)


def dotted(node: ast.AST) -> str:
    """`a.b.c` for a Name/Attribute chain, else empty."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _doc_paragraph(doc: str | None, limit: int = 300) -> str:
    return prose.docstring(doc, limit)


class _Scanner:
    """Collects facts from one module's syntax tree."""

    def __init__(self, source: Source):
        self.source = source
        self.lines = source.text.splitlines()
        name = source.name
        self.pytest_file = (name.startswith("test_") or name.endswith(("_test.py", "_test.pyi")) or name == "conftest.py")
        self.defs: list[_Def] = []
        self.imports: list[Import] = []
        self.aliases: dict[str, str] = {}
        self.notes: list[Note] = []
        self.tests: list[str] = []
        self.examples: list[Example] = []
        self.exports: list[str] = []
        self.entry_point = False
        self.test_classes: set[str] = set()
        self.scope: list[_Def] = []      # enclosing classes and functions
        self.fn: _Def | None = None      # innermost function (complexity accumulates here)
        self.loops = 0                   # loop nesting inside the innermost function

    # ---------------------------------------------------------------- helpers

    def note(self, category: str, topic: str, line: int, subject: str) -> None:
        self.notes.append(Note(category, topic, line, subject))

    def segment(self, node: ast.AST) -> str:
        """Source text of a single-line node (decorators, bases); dotted name otherwise."""
        line = getattr(node, "lineno", 0)
        if line and line == getattr(node, "end_lineno", -1) and line <= len(self.lines):
            text = self.lines[line - 1]
            start, end = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
            if text.isascii():
                return text[start:end]
            return text.encode("utf-8")[start:end].decode("utf-8", "replace")
        name = dotted(node)
        return name or type(node).__name__

    def resolve(self, name: str) -> str:
        """Map a dotted name through the import aliases (`np.load` -> `numpy.load`)."""
        head, _, rest = name.partition(".")
        target = self.aliases.get(head)
        if target is None:
            return name
        return f"{target}.{rest}" if rest else target

    def qual(self, name: str) -> str:
        return ".".join([d.name for d in self.scope] + [name])

    def signature(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
        """Parameters and return annotation as written in the source, whitespace collapsed."""
        first = node.body[0]
        body_line = min([first.lineno] + [d.lineno for d in getattr(first, "decorator_list", [])])
        chunk = self.lines[node.lineno - 1:body_line]
        if body_line == first.lineno and chunk and body_line > node.lineno:
            chunk = chunk[:-1]  # the body starts on its own line: leave it out
        header = " ".join(_strip_comment(line) for line in chunk)
        start = header.find("(", header.find(node.name))
        if start < 0:
            return "(…)"
        close = _matching(header, start)
        params = " ".join(header[start:close + 1].split())
        # a parameter list written one parameter per line reads `(self, x)`, not `( self, x, )`
        if params.startswith("( "):
            params = "(" + params[2:]
        if params.endswith(" )"):
            params = params[:-2] + ")"
        if params.endswith(",)") and params != "(,)":
            params = params[:-2] + ")"
        rest = header[close + 1:].strip()
        if rest.startswith("->"):
            colon = _top_level_colon(rest)
            params += " -> " + " ".join(rest[2:colon].split())
        return params if len(params) <= 240 else params[:239] + "…"

    def docstring_examples(self, node: ast.AST, owner: str) -> None:
        body = getattr(node, "body", None)
        if not body or not isinstance(body[0], ast.Expr):
            return
        value = body[0].value
        if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
            return
        if ">>>" not in value.value:
            return
        code: list[str] = []
        start = 0
        for offset, raw in enumerate(value.value.splitlines()):
            line = raw.strip()
            if line.startswith(">>>") or (code and line.startswith("...")):
                if not code:
                    start = value.lineno + offset
                code.append(line[4:] if len(line) > 3 else "")
            elif code:
                self.examples.append(Example(owner, start, "\n".join(code)))
                code = []
        if code:
            self.examples.append(Example(owner, start, "\n".join(code)))

    # ---------------------------------------------------------------- traversal

    def visit(self, node: ast.AST) -> None:
        cls = node.__class__
        handler = _DISPATCH.get(cls)
        if handler is not None:
            handler(self, node)
            return
        fields = _FIELDS.get(cls)
        if fields is None:
            fields = _FIELDS[cls] = tuple(f for f in cls._fields if f not in _SKIP_FIELDS)
        for name in fields:
            value = getattr(node, name, None)
            if value.__class__ is list:
                for item in value:
                    if item.__class__ not in _LEAVES and isinstance(item, ast.AST):
                        self.visit(item)
            elif value.__class__ not in _LEAVES and isinstance(value, ast.AST):
                self.visit(value)

    def visit_all(self, nodes: list[ast.AST]) -> None:
        for node in nodes:
            self.visit(node)

    def module(self, tree: ast.Module) -> None:
        self.docstring_examples(tree, "")
        for stmt in tree.body:
            if isinstance(stmt, ast.If) and _is_main_guard(stmt.test):
                self.entry_point = True
            self.visit(stmt)

    def def_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.visit_all(node.decorator_list)  # type: ignore[arg-type]
        self.visit_all(node.args.defaults)  # type: ignore[arg-type]
        self.visit_all([d for d in node.args.kw_defaults if d is not None])
        parent = self.scope[-1] if self.scope else None
        in_class = parent is not None and parent.kind == "class"
        kind = "method" if in_class else ("function" if parent is None else "nested function")
        decorators = tuple(self.segment(d) for d in node.decorator_list)
        resolved = [self.resolve(dotted(d.func if isinstance(d, ast.Call) else d))
                    for d in node.decorator_list]
        if any(r in ("property", "functools.cached_property", "cached_property") for r in resolved):
            kind = "property" if in_class else kind
        if any(r.endswith("fixture") for r in resolved):
            kind = "fixture"
        record = _Def(node.name, self.qual(node.name), kind, node.lineno,
                      node.end_lineno or node.lineno, self.signature(node),
                      _doc_paragraph(ast.get_docstring(node)), (), decorators,
                      indexed=parent is None, complexity=1)
        self.defs.append(record)
        if in_class:
            parent.methods.add(node.name)  # type: ignore[union-attr]
        line = node.lineno
        if isinstance(node, ast.AsyncFunctionDef):
            self.note("performance", "async function", line, record.qualname)
        for name in resolved:
            if name in _CACHING:
                self.note("performance", f"caching decorator `@{name}`", line, record.qualname)
            elif name in ("abc.abstractmethod", "abstractmethod"):
                self.note("pattern", "abstract method", line, record.qualname)
            elif name in ("contextlib.contextmanager", "contextmanager",
                          "contextlib.asynccontextmanager", "asynccontextmanager"):
                self.note("pattern", "context manager function", line, record.qualname)
            elif name in ("property",) and in_class:
                self.note("pattern", "property", line, record.qualname)
            elif name in _CONCURRENCY:
                self.note("performance", _CONCURRENCY[name], line, record.qualname)
        if kind == "fixture" or node.name.startswith("test") and (
                (parent is None and self.pytest_file)
                or (in_class and parent is not None and parent.qualname in self.test_classes)):
            self.tests.append(record.qualname)
        self.docstring_examples(node, record.qualname)
        outer_fn, outer_loops = self.fn, self.loops
        self.fn, self.loops = record, 0
        self.scope.append(record)
        self.visit_all(node.body)  # type: ignore[arg-type]
        self.scope.pop()
        self.fn, self.loops = outer_fn, outer_loops
        if record.calls_self:
            self.note("performance", "recursive function", line, record.qualname)
        if record.generator:
            self.note("pattern", "generator", line, record.qualname)

    def def_class(self, node: ast.ClassDef) -> None:
        self.visit_all(node.decorator_list)  # type: ignore[arg-type]
        self.visit_all(node.bases)  # type: ignore[arg-type]
        for keyword in node.keywords:
            self.visit(keyword.value)
        bases = tuple(self.segment(b) for b in node.bases)
        resolved_bases = [self.resolve(dotted(b.value if isinstance(b, ast.Subscript) else b))
                          for b in node.bases]
        decorators = tuple(self.segment(d) for d in node.decorator_list)
        resolved_decorators = [self.resolve(dotted(d.func if isinstance(d, ast.Call) else d))
                               for d in node.decorator_list]
        parent = self.scope[-1] if self.scope else None
        record = _Def(node.name, self.qual(node.name), "class", node.lineno,
                      node.end_lineno or node.lineno, "", _doc_paragraph(ast.get_docstring(node)),
                      bases, decorators, indexed=parent is None)
        self.defs.append(record)
        line = node.lineno
        is_test_class = any(b.endswith(("TestCase", "IsolatedAsyncioTestCase"))
                            for b in resolved_bases) or (self.pytest_file and node.name.startswith("Test"))
        if is_test_class:
            self.test_classes.add(record.qualname)
            self.tests.append(record.qualname)
        for name in resolved_decorators:
            if name in ("dataclasses.dataclass", "dataclass", "attr.s", "attrs.define",
                        "attr.define", "attrs.frozen"):
                self.note("pattern", "dataclass", line, record.qualname)
        for base in resolved_bases:
            if base in _CLASS_PATTERNS:
                self.note("pattern", _CLASS_PATTERNS[base], line, record.qualname)
            elif base.endswith(("Exception", "Error")) and "." not in base.rstrip("."):
                self.note("pattern", "exception class", line, record.qualname)
        for keyword in node.keywords:
            if keyword.arg == "metaclass":
                meta = self.resolve(dotted(keyword.value))
                topic = "abstract base class" if meta in ("abc.ABCMeta", "ABCMeta") else "metaclass"
                self.note("pattern", topic, line, record.qualname)
        self.docstring_examples(node, record.qualname)
        outer_fn, outer_loops = self.fn, self.loops
        self.fn, self.loops = None, 0
        self.scope.append(record)
        self.visit_all(node.body)  # type: ignore[arg-type]
        self.scope.pop()
        self.fn, self.loops = outer_fn, outer_loops
        methods = record.methods
        if {"__enter__", "__exit__"} <= methods or {"__aenter__", "__aexit__"} <= methods:
            self.note("pattern", "context manager class", line, record.qualname)
        if "__get__" in methods and methods & {"__set__", "__delete__", "__set_name__"}:
            self.note("pattern", "descriptor", line, record.qualname)
        if {"__iter__", "__next__"} <= methods:
            self.note("pattern", "iterator class", line, record.qualname)

    def import_(self, node: ast.Import) -> None:
        for alias in node.names:
            self.imports.append(Import(alias.name, "import", node.lineno))
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                head = alias.name.split(".", 1)[0]
                self.aliases.setdefault(head, head)

    def import_from(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        names = tuple(a.name for a in node.names)
        self.imports.append(Import(module, "from", node.lineno, names, node.level))
        prefix = "." * node.level + module
        for alias in node.names:
            if alias.name != "*":
                self.aliases[alias.asname or alias.name] = (
                    f"{prefix}.{alias.name}" if module else f"{prefix}{alias.name}")

    def assign(self, node: ast.Assign | ast.AnnAssign | ast.AugAssign) -> None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        value = node.value
        if value is not None:
            self.visit(value)
        parent = self.scope[-1] if self.scope else None
        for target in targets:
            if not isinstance(target, ast.Name):
                self.visit(target)
                continue
            name = target.id
            if name == "__all__" and parent is None and value is not None:
                self.exports.extend(_strings(value))
                continue
            if isinstance(value, ast.Constant) and isinstance(value.value, str) \
                    and _CREDENTIAL.search(name) and not _PLACEHOLDER.match(value.value) \
                    and len(value.value) >= 6:
                self.note("security", "hard-coded credential (value not shown)", node.lineno, name)
            if isinstance(node, ast.AugAssign):
                continue
            if parent is None:
                is_typevar = (isinstance(value, ast.Call)
                              and self.resolve(dotted(value.func)) in
                              ("typing.TypeVar", "TypeVar", "typing.ParamSpec", "ParamSpec"))
                if is_typevar:
                    kind = "type variable"
                elif _CONSTANT.match(name):
                    kind = "constant"
                else:
                    kind = "variable"
                if not any(d.qualname == name and d.kind == kind for d in self.defs[-3:]):
                    self.defs.append(_Def(name, name, kind, node.lineno, node.end_lineno or node.lineno,
                                          indexed=kind != "variable"))
            elif parent.kind == "class" and isinstance(node, ast.AnnAssign):
                self.defs.append(_Def(name, self.qual(name), "field", node.lineno,
                                      node.end_lineno or node.lineno))

    def call(self, node: ast.Call) -> None:
        self.visit(node.func)
        self.visit_all(node.args)  # type: ignore[arg-type]
        for keyword in node.keywords:
            self.visit(keyword.value)
        raw = dotted(node.func)
        if not raw:
            return
        name = self.resolve(raw)
        line = node.lineno
        where = self.fn.qualname if self.fn else ""
        fn = self.fn
        if fn is not None and (raw == fn.name or raw in (f"self.{fn.name}", f"cls.{fn.name}")):
            fn.calls_self = True
        if name in ("eval", "exec") and raw in self.aliases:
            name = self.aliases[raw]  # shadowed by an import: not the builtin
        if name in _SECURITY_CALLS:
            self.note("security", _SECURITY_CALLS[name], line, where)
        elif name == "torch.load":
            weights = _keyword(node, "weights_only")
            if not (isinstance(weights, ast.Constant) and weights.value is True):
                self.note("security", "`torch.load` without `weights_only=True` (unpickles)",
                          line, where)
        elif name in _SUBPROCESS:
            shell = _keyword(node, "shell")
            if isinstance(shell, ast.Constant) and shell.value is True:
                self.note("security", "subprocess with `shell=True`", line, where)
        elif name == "yaml.load":
            loader = _keyword(node, "Loader")
            if loader is None and len(node.args) > 1:
                loader = node.args[1]
            loader_name = dotted(loader).rpartition(".")[2] if loader is not None else ""
            if loader_name not in _SAFE_YAML_LOADERS:
                self.note("security", "`yaml.load` without a safe loader", line, where)
        elif name in _CONCURRENCY:
            self.note("performance", _CONCURRENCY[name], line, where)
        for keyword in node.keywords:
            if keyword.arg and _CREDENTIAL.search(keyword.arg) \
                    and isinstance(keyword.value, ast.Constant) \
                    and isinstance(keyword.value.value, str) \
                    and not _PLACEHOLDER.match(keyword.value.value) and len(keyword.value.value) >= 6:
                self.note("security", f"hard-coded credential in argument `{keyword.arg}=`"
                          " (value not shown)", line, where)
            if keyword.arg == "verify" and isinstance(keyword.value, ast.Constant) \
                    and keyword.value.value is False:
                self.note("security", "TLS verification disabled (`verify=False`)", line, where)

    def loop(self, node: ast.For | ast.AsyncFor | ast.While) -> None:
        if self.fn is not None:
            self.fn.complexity += 1
        if self.loops >= 1:
            kind = "while" if isinstance(node, ast.While) else "for"
            self.note("performance", f"nested `{kind}` loop", node.lineno,
                      self.fn.qualname if self.fn else "")
        if isinstance(node, ast.While):
            self.visit(node.test)
        else:
            self.visit(node.target)
            self.visit(node.iter)
        self.loops += 1
        self.visit_all(node.body)  # type: ignore[arg-type]
        self.loops -= 1
        self.visit_all(node.orelse)  # type: ignore[arg-type]

    def branch(self, node: ast.AST) -> None:
        if self.fn is not None:
            if isinstance(node, ast.BoolOp):
                self.fn.complexity += len(node.values) - 1
            elif isinstance(node, ast.Try | ast.TryStar):
                self.fn.complexity += len(node.handlers)
            elif isinstance(node, ast.comprehension):
                self.fn.complexity += 1 + len(node.ifs)
            else:
                self.fn.complexity += 1
        for child in ast.iter_child_nodes(node):
            self.visit(child)

    def yield_(self, node: ast.Yield | ast.YieldFrom) -> None:
        if self.fn is not None:
            self.fn.generator = True
        if node.value is not None:
            self.visit(node.value)

    def expr_stmt(self, node: ast.Expr) -> None:
        value = node.value
        # `__all__ += [...]` and `__all__.extend([...])` at module level
        if (not self.scope and isinstance(value, ast.Call) and dotted(value.func) == "__all__.extend"
                and value.args):
            self.exports.extend(_strings(value.args[0]))
        self.visit(value)

    def aug_assign(self, node: ast.AugAssign) -> None:
        if not self.scope and isinstance(node.target, ast.Name) and node.target.id == "__all__":
            self.exports.extend(_strings(node.value))
            return
        self.assign(node)


def _strip_comment(line: str) -> str:
    if "#" not in line or "'" in line or '"' in line:
        return line
    return line.split("#", 1)[0]


def _matching(text: str, start: int) -> int:
    """Index of the bracket closing the one at `start` (end of text if unbalanced)."""
    depth, quote = 0, ""
    for index in range(start, len(text)):
        char = text[index]
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return index
    return len(text) - 1


def _top_level_colon(text: str) -> int:
    depth = 0
    for index, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == ":" and depth == 0:
            return index
    return len(text)


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return []


def _keyword(node: ast.Call, name: str) -> ast.AST | None:
    for keyword in node.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def _is_main_guard(test: ast.AST) -> bool:
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    mains = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return bool(names and mains)


_DISPATCH: dict[type, Callable[[Any, Any], Any]] = {
    ast.FunctionDef: _Scanner.def_function,
    ast.AsyncFunctionDef: _Scanner.def_function,
    ast.ClassDef: _Scanner.def_class,
    ast.Import: _Scanner.import_,
    ast.ImportFrom: _Scanner.import_from,
    ast.Assign: _Scanner.assign,
    ast.AnnAssign: _Scanner.assign,
    ast.AugAssign: _Scanner.aug_assign,
    ast.Call: _Scanner.call,
    ast.For: _Scanner.loop,
    ast.AsyncFor: _Scanner.loop,
    ast.While: _Scanner.loop,
    ast.If: _Scanner.branch,
    ast.IfExp: _Scanner.branch,
    ast.BoolOp: _Scanner.branch,
    ast.Try: _Scanner.branch,
    ast.TryStar: _Scanner.branch,
    ast.ExceptHandler: lambda self, node: [self.visit(c) for c in ast.iter_child_nodes(node)],
    ast.comprehension: _Scanner.branch,
    ast.match_case: _Scanner.branch,
    ast.Yield: _Scanner.yield_,
    ast.YieldFrom: _Scanner.yield_,
    ast.Expr: _Scanner.expr_stmt,
    ast.arg: lambda self, node: None,  # annotations hold nothing the notes look for
}
# Nodes with nothing below them that matters, and fields never worth entering.
_LEAVES = {ast.Name, ast.Constant, ast.Load, ast.Store, ast.Del, ast.Pass, ast.Break,
           ast.Continue, ast.Global, ast.Nonlocal, type(None), str, int}
_SKIP_FIELDS = {"ctx", "type_comment", "annotation", "returns", "op", "ops"}
_FIELDS: dict[type, tuple[str, ...]] = {}


def _symbols(defs: list[_Def]) -> tuple[Symbol, ...]:
    return tuple(Symbol(d.name, d.qualname, d.kind, d.line, d.end_line, d.signature, d.doc,
                        d.bases, d.decorators, d.indexed,
                        d.complexity if d.kind not in ("class", "constant", "variable", "field",
                                                       "type variable") else 0)
                 for d in sorted(defs, key=lambda d: (d.line, d.qualname)))


def _describe(source: Source, doc: str, symbols: tuple[Symbol, ...], tests: list[str],
              imports: list[Import]) -> str:
    if doc:
        return first_sentence(doc)
    comment = first_paragraph(source.text, comments_only=True, markers=HASH_COMMENTS)
    if comment:
        return first_sentence(comment)
    if tests:
        return "Tests such as " + ", ".join(f"`{t}`" for t in tests[:2])
    top = [s for s in symbols if s.indexed and s.kind in ("class", "function", "fixture")]
    if top:
        names = ", ".join(f"`{s.name}`" for s in top[:3])
        more = " and others" if len(top) > 3 else ""
        return f"Defines {names}{more}"
    if imports:
        modules = sorted({("." * i.level) + i.module for i in imports})
        shown = ", ".join(f"`{m}`" for m in modules[:3])
        more = " and others" if len(modules) > 3 else ""
        return f"Imports from {shown}{more}"
    if not source.text.strip():
        return "empty module"
    return f"Python, {n_lines(source.line_count)}"


def _setup_name(tree: ast.Module) -> str:
    """The project name a `setup.py` passes to `setup(name="...")` as a string literal."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (
                isinstance(node.func, ast.Name) and node.func.id == "setup"
                or isinstance(node.func, ast.Attribute) and node.func.attr == "setup"):
            for keyword in node.keywords:
                if keyword.arg == "name" and isinstance(keyword.value, ast.Constant) \
                        and isinstance(keyword.value.value, str):
                    return keyword.value.value.strip()
    return ""


def analyze(source: Source) -> FileFacts:
    """Analyse a Python module."""
    try:
        tree = ast.parse(source.text, filename=source.path)
    except SyntaxError as exc:
        where = f"line {exc.lineno}: " if exc.lineno else ""
        return _tolerant(source, f"{where}{exc.msg}")
    except (RecursionError, MemoryError):
        return _tolerant(source, "nesting too deep for Python's parser")
    except ValueError as exc:  # e.g. source contains NUL bytes
        return _tolerant(source, str(exc))
    scanner = _Scanner(source)
    scanner.module(tree)
    doc = _doc_paragraph(ast.get_docstring(tree), 600)
    symbols = _symbols(scanner.defs)
    interpreter = shebang(source.text)
    return source.facts(
        language="Python",
        description=_describe(source, doc, symbols, scanner.tests, scanner.imports),
        doc=doc,
        symbols=symbols,
        imports=tuple(scanner.imports),
        exports=tuple(dict.fromkeys(scanner.exports)),
        notes=tuple(sorted(set(scanner.notes), key=lambda n: (n.category, n.topic, n.line, n.subject))),
        examples=tuple(scanner.examples),
        tests=tuple(scanner.tests),
        entry_point=scanner.entry_point or bool(interpreter),
        interpreter=interpreter,
        project=_setup_name(tree) if source.name == "setup.py" else "",
    )


def _tolerant(source: Source, error: str) -> FileFacts:
    """Definitions and imports that tree-sitter-python recovers from a file `ast` rejects."""
    from .treesitter import python_outline

    symbols, imports = python_outline(source.data)
    return source.facts(
        language="Python",
        parsed=False,
        parse_error=error,
        description=f"Python that does not parse ({error})",
        doc=first_paragraph(source.text, comments_only=True, markers=HASH_COMMENTS),
        symbols=symbols,
        imports=imports,
        findings=(Finding(source.path, _error_line(error), f"does not parse as Python ({error}); "
                          "definitions recovered by tree-sitter"),),
    )


def _error_line(error: str) -> int:
    match = re.match(r"line (\d+)", error)
    return int(match.group(1)) if match else 0
