"""Build files: CMake, Bazel/Starlark, Makefiles and Dockerfiles — targets, dependencies, stages.

- Bazel `BUILD`/`.bzl` files are Starlark, a subset of Python: parsed with `ast`; every top-level
  rule call with a `name` is a target (its rule and `deps`), `load()` labels are references.
- CMake and Makefiles are read with small tokenizers written to their documented grammars: CMake
  is a sequence of `command(arguments)` invocations (quoted, bracket and unquoted arguments,
  `#` and `#[[...]]` comments); a Makefile rule is `targets: prerequisites` on a line that does
  not start with a tab.  No maintained Python parser for either format exists in the dependency
  set; tree-sitter grammars for them are not among the offline single-language packages.
- Dockerfiles are line-oriented: `FROM image [AS stage]` opens a stage, `COPY --from=` links
  stages, continuation lines are joined first.
"""

from __future__ import annotations

import ast
import re

from ..facts import FileFacts, Import, Note, Symbol
from . import Source
from .generic import HASH_COMMENTS, first_paragraph, first_sentence, n_lines


def _describe(source: Source, doc: str, fallback: str) -> str:
    return first_sentence(doc) if doc else fallback


# --------------------------------------------------------------------------- CMake

_CMAKE_TARGETS = {"add_library": "library", "add_executable": "executable",
                  "add_custom_target": "custom target", "cuda_add_library": "library",
                  "cuda_add_executable": "executable", "pybind11_add_module": "Python module"}


def cmake_commands(text: str) -> list[tuple[str, list[str], int]]:
    """(command, arguments, line) for every command invocation of a CMake file."""
    out: list[tuple[str, list[str], int]] = []
    i, n, line = 0, len(text), 1
    ident = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
    while i < n:
        char = text[i]
        if char == "\n":
            line += 1
            i += 1
        elif char == "#":
            bracket = re.match(r"#\[(=*)\[", text[i:])
            if bracket:
                end = text.find("]" + bracket.group(1) + "]", i)
                end = n if end < 0 else end + len(bracket.group(1)) + 2
            else:
                end = text.find("\n", i)
                end = n if end < 0 else end
            line += text.count("\n", i, end)
            i = end
        elif char.isspace():
            i += 1
        else:
            match = ident.match(text, i)
            if not match:
                i += 1
                continue
            name, start_line = match.group().lower(), line
            j = match.end()
            while j < n and text[j] in " \t":
                j += 1
            if j >= n or text[j] != "(":
                i = j
                continue
            args, j, line = _cmake_args(text, j + 1, line)
            out.append((name, args, start_line))
            i = j
    return out


def _cmake_args(text: str, i: int, line: int) -> tuple[list[str], int, int]:
    args: list[str] = []
    depth, n, current = 1, len(text), ""
    while i < n:
        char = text[i]
        if char == '"':
            end = i + 1
            while end < n and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            args.append(text[i + 1:end])
            line += text.count("\n", i, end)
            i = end + 1
        elif char == "[" and re.match(r"\[(=*)\[", text[i:]):
            eq = re.match(r"\[(=*)\[", text[i:]).group(1)  # type: ignore[union-attr]
            end = text.find("]" + eq + "]", i)
            end = n if end < 0 else end
            args.append(text[i + len(eq) + 2:end])
            line += text.count("\n", i, end)
            i = end + len(eq) + 2
        elif char == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif char in "()":
            if current:
                args.append(current)
                current = ""
            depth += 1 if char == "(" else -1
            i += 1
            if depth == 0:
                return args, i, line
        elif char.isspace():
            if current:
                args.append(current)
                current = ""
            line += char == "\n"
            i += 1
        else:
            current += char
            i += 1
    return args, i, line


def analyze_cmake(source: Source) -> FileFacts:
    """CMake: project, targets with their link dependencies, functions, subdirectories, includes."""
    symbols: list[Symbol] = []
    imports: list[Import] = []
    links: dict[str, list[str]] = {}
    project = ""
    commands = cmake_commands(source.text)
    for name, args, line in commands:
        if name == "target_link_libraries" and args:
            links.setdefault(args[0], []).extend(
                a for a in args[1:] if a not in ("PUBLIC", "PRIVATE", "INTERFACE"))
    for name, args, line in commands:
        if name in _CMAKE_TARGETS and args:
            deps = links.get(args[0], [])
            symbols.append(Symbol(args[0], args[0], _CMAKE_TARGETS[name], line, line,
                                  signature=("links " + ", ".join(deps[:12])) if deps else "",
                                  indexed=True))
        elif name in ("function", "macro") and args:
            symbols.append(Symbol(args[0], args[0], name, line, line,
                                  signature="(" + " ".join(args[1:]) + ")", indexed=True))
        elif name == "add_subdirectory" and args:
            imports.append(Import(f"{args[0].rstrip('/')}/CMakeLists.txt", "subdirectory", line))
        elif name == "include" and args:
            kind = "include" if args[0].endswith(".cmake") or "/" in args[0] else "import"
            imports.append(Import(args[0], kind, line))
        elif name == "find_package" and args:
            imports.append(Import(args[0], "import", line))
        elif name == "project" and args:
            project = args[0]
    doc = first_paragraph(source.text, comments_only=True, markers=HASH_COMMENTS)
    targets = [s for s in symbols if s.kind in _CMAKE_TARGETS.values()]
    fallback = (f"CMake project `{project}`" if project else "CMake") + (
        f": targets {', '.join(f'`{t.name}`' for t in targets[:4])}" if targets else "") + (
        " and others" if len(targets) > 4 else "")
    if not targets and not project:
        fallback = f"CMake, {len(commands):,} commands"
    return source.facts(language="CMake", description=_describe(source, doc, fallback), doc=doc,
                        symbols=tuple(symbols), imports=tuple(imports), project=project)


# --------------------------------------------------------------------------- Bazel


def _label_to_path(label: str) -> str:
    """`//pkg/sub:file.bzl` -> `/pkg/sub/file.bzl` (from ROOT); `:file.bzl` -> `file.bzl`."""
    if label.startswith("@"):
        return label
    if label.startswith("//"):
        return "/" + label[2:].replace(":", "/")
    return label.lstrip(":")


def analyze_bazel(source: Source) -> FileFacts:
    """Bazel BUILD/.bzl files: rule targets with deps, macros defined, loaded files."""
    try:
        tree = ast.parse(source.text)
    except (SyntaxError, ValueError, RecursionError) as exc:
        line = getattr(exc, "lineno", 0) or 0
        return source.facts(language="Starlark (Bazel)", parsed=False,
                            parse_error=f"line {line}: {getattr(exc, 'msg', str(exc))}",
                            description="Starlark that does not parse")
    symbols: list[Symbol] = []
    imports: list[Import] = []
    for node in tree.body:
        call = node.value if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) else None
        if isinstance(node, ast.FunctionDef):
            symbols.append(Symbol(node.name, node.name, "function", node.lineno,
                                  node.end_lineno or node.lineno, indexed=True,
                                  doc=(ast.get_docstring(node) or "").split("\n\n")[0]))
        elif call is not None and isinstance(call.func, ast.Name):
            rule = call.func.id
            if rule == "load" and call.args and isinstance(call.args[0], ast.Constant):
                names = tuple(str(a.value) for a in call.args[1:] if isinstance(a, ast.Constant))
                imports.append(Import(_label_to_path(str(call.args[0].value)), "link", node.lineno, names))
                continue
            values = {k.arg: k.value for k in call.keywords if k.arg}
            name = values.get("name")
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                deps = values.get("deps")
                listed = [e.value for e in deps.elts if isinstance(e, ast.Constant)] \
                    if isinstance(deps, (ast.List, ast.Tuple)) else []
                symbols.append(Symbol(name.value, name.value, rule, node.lineno,
                                      node.end_lineno or node.lineno,
                                      signature=("deps " + ", ".join(map(str, listed[:12]))) if listed else "",
                                      indexed=True))
    doc = (ast.get_docstring(tree) or "").split("\n\n")[0] or first_paragraph(
        source.text, comments_only=True, markers=HASH_COMMENTS)
    targets = [s for s in symbols if s.kind != "function"]
    functions = [s for s in symbols if s.kind == "function"]
    if targets:
        fallback = "Bazel targets " + ", ".join(f"`{t.name}`" for t in targets[:4]) + (
            " and others" if len(targets) > 4 else "")
    elif functions:
        fallback = "Starlark macros " + ", ".join(f"`{f.name}`" for f in functions[:4])
    else:
        fallback = f"Starlark, {n_lines(source.line_count)}"
    return source.facts(language="Starlark (Bazel)", description=_describe(source, doc, fallback),
                        doc=doc, symbols=tuple(symbols), imports=tuple(imports))


# --------------------------------------------------------------------------- Makefile

_RULE = re.compile(r"^([^\t#\s:=][^:=#]*?)\s*::?(?!=)\s*([^;#]*)")
_ASSIGN = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]*)\s*(?:[:?+!]?=)")


def analyze_make(source: Source) -> FileFacts:
    """Makefile rules (targets and prerequisites), included files, variables."""
    symbols: list[Symbol] = []
    imports: list[Import] = []
    phony: set[str] = set()
    lines = source.text.replace("\\\n", " ").split("\n")
    physical = 1
    for raw in lines:
        line_no = physical
        physical += 1
        if raw.startswith("\t"):
            continue
        stripped = raw.strip()
        if stripped.startswith(("include ", "-include ", "sinclude ")):
            for target in stripped.split()[1:]:
                imports.append(Import(target, "include", line_no))
            continue
        if _ASSIGN.match(stripped):
            name = _ASSIGN.match(stripped).group(1)  # type: ignore[union-attr]
            symbols.append(Symbol(name, name, "variable", line_no, line_no))
            continue
        rule = _RULE.match(raw)
        if rule:
            prerequisites = rule.group(2).split()
            for target in rule.group(1).split():
                if target == ".PHONY":
                    phony.update(prerequisites)
                    continue
                if target.startswith("."):
                    continue
                symbols.append(Symbol(target, target, "target", line_no, line_no,
                                      signature=("needs " + " ".join(prerequisites[:12])) if prerequisites else "",
                                      indexed=True))
    symbols = [Symbol(s.name, s.qualname, "phony target" if s.name in phony and s.kind == "target" else s.kind,
                      s.line, s.end_line, s.signature, indexed=s.indexed) for s in symbols]
    doc = first_paragraph(source.text, comments_only=True, markers=HASH_COMMENTS)
    targets = [s for s in symbols if s.kind.endswith("target")]
    fallback = ("make targets " + ", ".join(f"`{t.name}`" for t in targets[:5]) + (
        " and others" if len(targets) > 5 else "")) if targets else "Makefile"
    return source.facts(language="Makefile", description=_describe(source, doc, fallback), doc=doc,
                        symbols=tuple(symbols), imports=tuple(imports))


# --------------------------------------------------------------------------- Dockerfile


def analyze_docker(source: Source) -> FileFacts:
    """Dockerfile stages, base images, copies between stages, exposed ports, entry point."""
    symbols: list[Symbol] = []
    imports: list[Import] = []
    notes: list[Note] = []
    stage_count = 0
    physical = 0
    pending = ""
    start = 0
    for raw in source.text.split("\n"):
        physical += 1
        if not pending:
            start = physical
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        instruction = (pending + stripped).strip()
        pending = ""
        word, _, rest = instruction.partition(" ")
        word = word.upper()
        if word == "FROM":
            parts = [p for p in rest.split() if not p.startswith("--")]
            if not parts:
                continue
            image = parts[0]
            stage_count += 1
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else f"stage {stage_count}"
            symbols.append(Symbol(name, name, "stage", start, start, signature=f"FROM {image}",
                                  indexed=len(parts) >= 3))
            imports.append(Import(image, "image", start))
        elif word == "COPY" and "--from=" in rest:
            origin = rest.split("--from=", 1)[1].split()[0]
            notes.append(Note("pattern", "copies from another stage or image", start, origin))
        elif word in ("ENTRYPOINT", "CMD"):
            notes.append(Note("usage", f"`{word}`", start, rest[:80]))
        elif word == "EXPOSE":
            notes.append(Note("usage", "exposes ports", start, rest[:80]))
        elif word == "USER" and rest.strip() in ("root", "0"):
            notes.append(Note("security", "runs as root (`USER root`)", start, ""))
    doc = first_paragraph(source.text, comments_only=True, markers=HASH_COMMENTS)
    bases = [i.module for i in imports]
    fallback = (f"Docker image in {stage_count} stage(s) from " + ", ".join(f"`{b}`" for b in bases[:3])) \
        if bases else "Dockerfile"
    return source.facts(language="Dockerfile", description=_describe(source, doc, fallback), doc=doc,
                        symbols=tuple(symbols), imports=tuple(imports), notes=tuple(notes))
