"""Code fingerprints: what each kind of task's output depends on in docgraph's own code, derived
from the code.

A task kind's action lives in one module of :mod:`docgraph.actions`; its fingerprint is a hash
of the import closure of that module: every docgraph module it imports, at module level or inside
a function, followed transitively, plus the package `__init__` modules that importing them runs,
plus the data files a module of the closure reads from the `docgraph_config` package (a module
that names `docgraph_config` and one of its folders, as the template loader does, depends on
that folder's files).  Nothing is listed by hand, so a module that starts shaping a page is
covered the moment something in the closure imports it.  (Before, a hand-kept list left out
`digests.py`: with a constant there changed, an incremental build rewrote nothing while a clean
build differed in 9 pages.)

Imports are read with :mod:`ast`.  Parsing the package takes about a third of a second, so the
result is kept in the state folder keyed by the stat data of every file of the package: a build
with unchanged code stats about 80 files and reads one small file.

Part of every fingerprint besides the closure: the installed versions of docgraph's
dependencies (an upgraded tree-sitter grammar may find other definitions in the same bytes) and
`graph.py`, which builds the arguments of every action (doit compares files, not arguments).
"""

from __future__ import annotations

import ast
import hashlib
import marshal
import os
import sys
import warnings
from collections.abc import Iterable
from functools import cache
from importlib import resources

PACKAGE = "docgraph"
DATA = "docgraph_config"
_HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = "code.marshal"
_VERSION = 1


def _data_dir() -> str:
    return str(resources.files(DATA))


def package_files() -> list[str]:
    """Every module and data file of docgraph, sorted (absolute paths)."""
    found: list[str] = []
    for base in (_HERE, _data_dir()):
        for folder, dirs, files in os.walk(base):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            found.extend(os.path.join(folder, f) for f in files
                         if f.endswith((".py", ".md", ".yaml")))
    return sorted(found)


def module_file(module: str) -> str | None:
    """Source file of a docgraph module (`docgraph.pages.book` -> .../pages/book.py)."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = os.path.join(_HERE, *parts[1:])
    for candidate in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(candidate):
            return candidate
    return None


def _is_package(module: str) -> bool:
    found = module_file(module)
    return found is not None and found.endswith("__init__.py")


def _nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node but those under `if TYPE_CHECKING:` (imports there never run)."""
    found: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        found.append(node)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return found


def _submodules(package: str) -> set[str]:
    base = os.path.dirname(module_file(package) or "")
    found: set[str] = set()
    for folder, dirs, files in os.walk(base):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        rel = os.path.relpath(folder, base)
        prefix = package if rel == "." else f"{package}.{rel.replace(os.sep, '.')}"
        found.update(f"{prefix}.{f[:-3]}" if f != "__init__.py" else prefix
                     for f in files if f.endswith(".py"))
    return found


def _reads(tree: ast.AST, module: str) -> tuple[set[str], set[str]]:
    """(docgraph modules the module imports, data folders it names).

    Imports anywhere count (module level or inside a function), except under `if TYPE_CHECKING:`.
    A module that imports by a computed name (`importlib.import_module`) depends on every module
    of its own package: the analyzers and languages registries load their members that way."""
    package = module if _is_package(module) else module.rpartition(".")[0]
    modules: set[str] = set()
    strings: set[str] = set()
    for node in _nodes(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names if alias.name.split(".")[0] == PACKAGE)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.split(".")[0] == PACKAGE:
                target = node.module
            else:
                continue
            modules.add(target)
            for alias in node.names:  # `from . import layout` imports a module
                if module_file(f"{target}.{alias.name}"):
                    modules.add(f"{target}.{alias.name}")
        elif isinstance(node, ast.Attribute) and node.attr == "import_module":
            modules.update(_submodules(package))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            strings.add(node.value)
    folders: set[str] = set()
    if DATA in strings:
        data = _data_dir()
        folders = {s for s in strings if s.isidentifier() and os.path.isdir(os.path.join(data, s))}
    return modules, folders


def closure(module: str, parsed: dict[str, tuple[set[str], set[str]]] | None = None) -> list[str]:
    """Files `module` depends on: its import closure and the data folders it reads (sorted)."""
    parsed = {} if parsed is None else parsed
    seen: set[str] = set()
    files: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = module_file(name)
        if path is None:
            continue
        files.add(path)
        head = name.rpartition(".")[0]
        if head:
            todo.append(head)  # importing a submodule runs its package's __init__
        if name not in parsed:
            with open(path, "rb") as handle, warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the interpreter warns about the module, not us
                parsed[name] = _reads(ast.parse(handle.read(), path), name)
        modules, folders = parsed[name]
        todo.extend(modules)
        for folder in folders:
            root = os.path.join(_data_dir(), folder)
            for sub, _dirs, names in os.walk(root):
                files.update(os.path.join(sub, n) for n in names)
    return sorted(files)


def _relative(path: str) -> str:
    """A file's name inside the installed code: the same code installed elsewhere, or installed
    another way, has the same fingerprint."""
    rel = os.path.relpath(path, _HERE) if path.startswith(_HERE + os.sep) \
        else DATA + "/" + os.path.relpath(path, _data_dir())
    return rel.replace(os.sep, "/")


def _hash(files: Iterable[str]) -> str:
    """SHA-1 of the files' relative names and contents, in the order of those names (in the
    order of the absolute paths, an editable install, whose data folder `config/` sorts before
    `tasks/`, and a regular one, whose `docgraph/` sorts before `docgraph_config/`, hashed the
    same files in two orders: every render task of a tree ran again when one replaced the
    other, and the shared cache's keys of a team's two kinds of install differed)."""
    digest = hashlib.sha1()
    for rel, path in sorted((_relative(path), path) for path in files):
        with open(path, "rb") as handle:
            digest.update(rel.encode() + b"\0" + handle.read())
    return digest.hexdigest()


def _stat_key(files: list[str]) -> list[tuple[str, int, int]]:
    """Stat data of docgraph's files and of the folders on the import path (installing or
    upgrading a package there adds a folder, which changes the folder's mtime).

    Not the first entry when Python put the script's folder or the working folder there
    (`docgraph`, `doit`, `python -m docgraph` in the repository: each its own): the key would
    differ from one way of running to the next, or with every file added to the repository's
    top folder, and each difference costs a new parse of the package (about 0.3 s)."""
    imports = sys.path if sys.flags.safe_path else sys.path[1:]
    key = []
    for path in [*files, *(p for p in imports if p and os.path.isdir(p))]:
        st = os.stat(path)
        key.append((path, st.st_size, st.st_mtime_ns))
    return key


def dependency_versions() -> str:
    """The installed versions of docgraph's declared dependencies (a new tree-sitter grammar can
    parse the same bytes differently), one `name==version` a line; empty when docgraph runs
    from a source tree that is not installed."""
    from importlib import metadata

    try:
        required = metadata.requires(PACKAGE) or []
    except metadata.PackageNotFoundError:
        return ""
    lines = []
    for requirement in required:
        if "extra ==" in requirement:
            continue  # test and benchmark tools do not shape output
        name = requirement.split(";")[0].strip()
        for cut in "<>=!~[ ":
            name = name.split(cut)[0]
        try:
            lines.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            lines.append(f"{name} missing")
    return "\n".join(sorted(lines))


@cache
def _compute(modules: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    parsed: dict[str, tuple[set[str], set[str]]] = {}
    versions = dependency_versions()
    # the graph builds every action's arguments (which doit does not compare): part of every step
    graph = [module_file(f"{PACKAGE}.graph") or ""]
    step_hashes = {m: hashlib.sha1((versions + _hash(sorted({*closure(m, parsed), *graph})))
                                   .encode()).hexdigest() for m in modules}
    return hashlib.sha1((versions + _hash(package_files())).encode()).hexdigest(), step_hashes


def fingerprints(modules: Iterable[str], state: str | None = None) -> tuple[str, dict[str, str]]:
    """(hash of all of docgraph, {module: hash of its closure}) for the action modules, from the
    cache in `state` when no file of the package changed since it was written."""
    wanted = tuple(sorted(set(modules)))
    files = package_files()
    key = _stat_key(files)
    path = os.path.join(state, CACHE) if state else None
    if path:
        try:
            with open(path, "rb") as handle:
                cached = marshal.loads(handle.read())  # (see store.unmarshal)
            if cached.get("version") == _VERSION and cached.get("key") == key \
                    and set(wanted) <= set(cached["steps"]):
                return cached["tool"], {m: cached["steps"][m] for m in wanted}
        except (OSError, EOFError, ValueError, TypeError, KeyError, AttributeError):
            pass
    tool, steps = _compute(wanted)
    if path:
        from .store import write_if_changed

        write_if_changed(path, marshal.dumps({"version": _VERSION, "key": key, "tool": tool,
                                              "steps": steps}))
    return tool, steps
