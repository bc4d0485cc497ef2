"""Resolving references to files of the repository (pure functions over the list of paths).

- Python: a module's name comes from its package chain (folders with `__init__.py`); the highest
  package's parent is its import root, so `src/` layouts and script folders work.  Namespace
  packages (folders without `__init__.py`) are matched by the longer dotted names of the path as a
  second choice.  `from p import m` links to the submodule `p.m` when there is one, else to `p`.
  Relative imports climb from the importer's package.  Among several candidates the one nearest to
  the importer wins (same import root, then longest common folder prefix, then path order).
- C/C++/CUDA `#include`: relative to the including file, then under the configured include
  roots, then by a suffix match that must be unique.
- Markdown/RST links and other path references: relative to the referring file (a leading `/`
  means ROOT), with `#fragment` and `?query` removed and %-escapes decoded.
- Go: an import path names a package folder.  Under a module path declared by a `go.mod` (the
  longest one that prefixes the import wins) the folder is the rest of the path below that
  `go.mod`; an import under no module of the repository is external.  Only in a repository
  without any `go.mod` (GOPATH layout) is the folder found by the import path's ending: the
  longest folder path holding `.go` files that the import path ends with — a stated heuristic.
  The edge goes to every non-test `.go` file of the folder; a `_test.go` file also links to the
  other files of its own folder (its package).
- Rust: `mod name;` to `name.rs` or `name/mod.rs` beside the declaring module; `use crate::a::b`
  (and `self::`, `super::`) to the file of module `a::b` under the crate's `src/`; `use name::x`
  to a library crate of the repository whose folder is called `name` (a workspace member, or the
  crate that `tests/` belongs to; Cargo.toml is not read, so the folder name stands for the
  package name — a stated heuristic).
- Java and Kotlin: `import a.b.C` to the file `a/b/C.java` or `a/b/C.kt` under any source root
  (the path's unique ending).
- PHP: `use A\\B\\C` through the PSR-4 prefixes of `composer.json` (`"A\\\\": "src/"` gives
  `src/B/C.php`); in a repository without composer.json, to the file whose path ends with
  `A/B/C.php`, else `B/C.php` (the longest unique ending, a stated heuristic).
- Ruby: `require_relative` beside the file; `require "x/y"` to `lib/x/y.rb` in any `lib/` folder.
- Swift: `import Target` to the files of `Sources/Target/` (the Swift Package Manager layout).
- C# `using` names a namespace, not a file: it stays external (types are not resolved by name).
- Entry points a manifest declares: a console script's `package.module:function` to the Python
  module's file (as an import of that module would resolve); a package.json `main` or `bin` path
  from the manifest's folder, with the JavaScript resolver's extensions.
- A test file named after its subject (`WidgetTests.cs`, `PointTests.swift`, `FooTest.java` under
  `src/test/`) links to the file of that name, which gives it its tested-by line.

Anything not resolved is external (a third-party module, a system header, a missing file).
"""

from __future__ import annotations

import bisect
import posixpath
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import unquote

from .facts import SummaryImport
from .languages import for_path, suffixes_of

MANIFESTS = ("go.mod", "composer.json")  # files whose declared names steer resolution
PY_SUFFIXES = suffixes_of("python")
JS_SUFFIXES = suffixes_of("javascript")
_BY_LANGUAGE = ("go", "rust", "jvm", "php", "ruby", "csharp", "swift")


@dataclass(frozen=True)
class Edge:
    """A resolved reference from one repository file to another."""

    src: str
    """Referring file."""
    dst: str
    """Referred file."""
    kind: str
    """import, from, include, link, source, subdirectory, entry."""
    names: tuple[str, ...] = ()
    """Names taken from `dst` (for an entry point: the command it installs)."""


def swift_target(path: str) -> str:
    """The Swift Package Manager target a file belongs to (`Sources/<Target>/...`), or ""."""
    parts = path.split("/")
    for index in range(len(parts) - 2, -1, -1):
        if parts[index] == "Sources":
            return parts[index + 1]
    return ""


def _is_identifier_path(parts: list[str]) -> bool:
    return all(p.isidentifier() for p in parts)


NEAREST_SCAN = 32
"""A module name shared by more files than this (`utils`, or `f3` in every folder of a
synthetic tree) is resolved through a sorted index (:class:`_Nearest`) instead of ranking every
candidate for each importing folder, which grew with the product of importers and candidates."""


class _Above:
    """Greater than any folder name: `prefix + (_ABOVE,)` bounds the folders under `prefix`."""

    def __lt__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return True


_ABOVE = _Above()


class _Nearest:
    """The candidate nearest to an importing folder, as :meth:`Resolver._nearest` ranks them
    (same import root first, then the longest common folder prefix, then stubs last, then path
    order), found by bisection.  Candidates are kept per import root (and all together) sorted by
    folder: the longest prefix an importer shares with any of them is shared with a neighbour of
    its place in that order, and those sharing it form one run, whose best is computed once."""

    def __init__(self, candidates: list[str], root_of: dict[str, str]):
        self.root_of = root_of
        rows = sorted((tuple(p.rpartition("/")[0].split("/")), 1 if p.endswith(".pyi") else 0, p)
                      for p in candidates)
        self.groups: dict[object, list[tuple[tuple[str, ...], int, str]]] = {}
        for row in rows:
            self.groups.setdefault(root_of.get(row[2]), []).append(row)
        self.every = rows
        self._best: dict[tuple[int, int, int], str] = {}

    def nearest(self, folder: list[str], root: str | None) -> str:
        same = self.groups.get(root)
        return self._search(same if same else self.every, tuple(folder))

    def _search(self, rows: list[tuple[tuple[str, ...], int, str]], folder: tuple[str, ...]) -> str:
        at = bisect.bisect_left(rows, (folder,))
        common = max(_shared(folder, rows[at - 1][0]) if at > 0 else 0,
                     _shared(folder, rows[at][0]) if at < len(rows) else 0)
        prefix = folder[:common]
        lo = bisect.bisect_left(rows, (prefix,))
        hi = bisect.bisect_left(rows, (prefix + (_ABOVE,),))
        key = (id(rows), lo, hi)
        best = self._best.get(key)
        if best is None:
            best = self._best[key] = min(rows[lo:hi], key=lambda row: (row[1], row[2]))[2]
        return best


def _shared(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class Resolver:
    """Resolution over one set of repository paths."""

    def __init__(self, paths: Iterable[str], include_roots: Iterable[str] = (),
                 manifests: Mapping[str, tuple[str, ...]] | Callable[[], Mapping[str, tuple[str, ...]]]
                 | None = None):
        self.paths = set(paths)
        # what go.mod and composer.json files declare, or a function that reads it (called only
        # when a Go or PHP reference is resolved)
        self._manifests = manifests
        self.include_roots = tuple(r.strip("/") for r in include_roots)
        packages = {p.rpartition("/")[0] for p in self.paths
                    if p.rpartition("/")[2] in ("__init__.py", "__init__.pyi")}
        self.packages = packages
        self.primary: dict[str, list[str]] = defaultdict(list)
        self.secondary: dict[str, list[str]] = defaultdict(list)
        self.module_of: dict[str, str] = {}
        self.root_of: dict[str, str] = {}
        by_name: dict[str, list[str]] = defaultdict(list)
        for path in sorted(self.paths):
            name = path.rpartition("/")[2]
            by_name[name].append(path)
            if not path.endswith(PY_SUFFIXES):
                continue
            parts = path[: path.rfind(".")].split("/")
            is_init = parts[-1] == "__init__"
            if is_init:
                parts = parts[:-1]
            folder_parts = path.split("/")[:-1]
            # climb while the folder is a package
            depth = len(folder_parts)
            while depth > 0 and "/".join(folder_parts[:depth]) in packages:
                depth -= 1
            root = "/".join(folder_parts[:depth])
            module_parts = parts[depth:]
            if not module_parts or not _is_identifier_path(module_parts):
                continue
            module = ".".join(module_parts)
            self.primary[module].append(path)
            self.module_of[path] = module
            self.root_of[path] = root
            for start in range(depth - 1, -1, -1):
                longer = parts[start:]
                if not _is_identifier_path(longer):
                    break
                self.secondary[".".join(longer)].append(path)
        self.by_name = by_name
        self.gopath = "go.mod" not in by_name  # no go.mod at all: resolve by the path's ending
        self.go_folders: dict[str, list[str]] = defaultdict(list)  # folder -> non-test .go files
        self.swift_targets: dict[str, list[str]] = defaultdict(list)  # target -> its .swift files
        self.rust_crates: dict[str, list[str]] = defaultdict(list)  # crate folder name -> its src/
        for path in sorted(self.paths):
            if not path.endswith((".go", ".swift", "/src/lib.rs")):
                continue
            if path.endswith(".go") and not path.endswith("_test.go"):
                self.go_folders[path.rpartition("/")[0]].append(path)
            elif path.endswith(".swift") and (target := swift_target(path)):
                self.swift_targets[target].append(path)
            elif path.endswith("/src/lib.rs"):
                crate = path[: -len("/src/lib.rs")]
                self.rust_crates[crate.rpartition("/")[2].replace("-", "_")].append(crate + "/src")
        self._include_cache: dict[tuple[str, str], str | None] = {}
        self._module_cache: dict[tuple[str, str | None, str], str] = {}
        self._nearest_of: dict[int, _Nearest] = {}

    @cached_property
    def manifests(self) -> Mapping[str, tuple[str, ...]]:
        """Declared names of the go.mod and composer.json files."""
        found = self._manifests() if callable(self._manifests) else self._manifests
        return found or {}

    @cached_property
    def go_modules(self) -> list[tuple[str, str]]:
        """(module path, folder of its go.mod, "" for ROOT), longest module path first."""
        return sorted(((names[0], path.rpartition("/")[0]) for path, names in self.manifests.items()
                       if path.rpartition("/")[2] == "go.mod" and names and names[0]),
                      key=lambda m: (-len(m[0]), m))

    @cached_property
    def psr4(self) -> list[tuple[str, str]]:
        """PSR-4 (namespace prefix `Shop\\`, folder), longest prefix first."""
        return sorted(((prefix, posixpath.normpath(posixpath.join(path.rpartition("/")[0], folder)))
                       for path, names in self.manifests.items()
                       if path.rpartition("/")[2] == "composer.json"
                       for prefix, _, folder in (n.partition(" ") for n in names)),
                      key=lambda m: (-len(m[0]), m))

    # ------------------------------------------------------------------ python

    def _nearest(self, importer: str, candidates: list[str]) -> str:
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > NEAREST_SCAN:
            return self._nearest_index(candidates).nearest(importer.rpartition("/")[0].split("/"),
                                                            self.root_of.get(importer))
        root = self.root_of.get(importer)
        folder = importer.rpartition("/")[0].split("/")

        def rank(path: str) -> tuple[int, int, int, str]:
            other = path.rpartition("/")[0].split("/")
            common = 0
            while common < min(len(folder), len(other)) and folder[common] == other[common]:
                common += 1
            stub = 1 if path.endswith(".pyi") else 0
            return (0 if self.root_of.get(path) == root else 1, -common, stub, path)

        return min(candidates, key=rank)

    def _nearest_index(self, candidates: list[str]) -> _Nearest:
        key = id(candidates)  # the resolver's own lists, alive as long as it is
        found = self._nearest_of.get(key)
        if found is None:
            found = self._nearest_of[key] = _Nearest(candidates, self.root_of)
        return found

    def python_module(self, importer: str, module: str) -> str | None:
        """The file that defines `module` as seen from `importer`, if it is in the repository."""
        found = self.primary.get(module) or self.secondary.get(module)
        if not found:
            return None
        if len(found) == 1:
            return found[0]
        key = (importer.rpartition("/")[0], self.root_of.get(importer), module)
        if key not in self._module_cache:
            self._module_cache[key] = self._nearest(importer, found)
        return self._module_cache[key]

    def _absolute(self, importer: str, imp: SummaryImport) -> str:
        if not imp.level:
            return imp.module
        own = self.module_of.get(importer)
        if own is None:
            return ""
        package = own.split(".")
        if importer.rpartition("/")[2] not in ("__init__.py", "__init__.pyi"):
            package = package[:-1]
        if imp.level - 1 > len(package):
            return ""
        base = package[: len(package) - (imp.level - 1)]
        return ".".join(base + ([imp.module] if imp.module else []))

    def resolve_python(self, importer: str, imp: SummaryImport) -> tuple[list[Edge], str]:
        """Edges for one import statement, and the external name when it is not in the repository."""
        module = self._absolute(importer, imp)
        written = "." * imp.level + imp.module
        if not module:
            return [], written
        edges: list[Edge] = []
        if imp.kind == "from":
            target = self.python_module(importer, module)
            rest: list[str] = []
            for name in imp.names:
                sub = self.python_module(importer, f"{module}.{name}") if name != "*" else None
                if sub is not None and sub != importer:
                    edges.append(Edge(importer, sub, "from", ()))
                else:
                    rest.append(name)
            if target is not None and target != importer and (rest or not edges):
                edges.append(Edge(importer, target, "from", tuple(rest)))
            elif target is None and not edges:
                return [], written
            return edges, ""
        parts = module.split(".")
        for end in range(len(parts), 0, -1):
            target = self.python_module(importer, ".".join(parts[:end]))
            if target is not None:
                return ([Edge(importer, target, "import")] if target != importer else []), ""
        return [], written

    # ------------------------------------------------------------------ paths

    def resolve_include(self, importer: str, header: str) -> str | None:
        """The repository file an `#include` names, if any."""
        key = (importer.rpartition("/")[0], header)
        if key in self._include_cache:
            return self._include_cache[key]
        found = self._include(importer, header)
        self._include_cache[key] = found
        return found

    def _include(self, importer: str, header: str) -> str | None:
        header = header.strip()
        if not header or header.startswith("/"):
            return None
        folder = importer.rpartition("/")[0]
        candidate = posixpath.normpath(posixpath.join(folder, header)) if folder else posixpath.normpath(header)
        if candidate in self.paths:
            return candidate
        for root in self.include_roots:
            candidate = posixpath.normpath(posixpath.join(root, header)) if root else posixpath.normpath(header)
            if candidate in self.paths:
                return candidate
        name = header.rpartition("/")[2]
        suffix = "/" + header.lstrip("./")
        matches = [p for p in self.by_name.get(name, ()) if ("/" + p).endswith(suffix)]
        return matches[0] if len(matches) == 1 else None

    def resolve_entry(self, importer: str, target: str) -> str | None:
        """The file an entry point names (see the module docstring): `module:function` is a
        Python module, anything else a path."""
        module, colon, _ = target.partition(":")
        if colon:
            return self.python_module(importer, module.strip()) if module.strip() else None
        found = self.resolve_path(importer, target)
        if found is None:
            base = posixpath.normpath(posixpath.join(importer.rpartition("/")[0], target))
            found = next((base + s for s in JS_SUFFIXES + tuple(f"/index{s}" for s in JS_SUFFIXES)
                          if base + s in self.paths), None)
        return found

    def resolve_path(self, importer: str, target: str) -> str | None:
        """The repository file a relative link or path reference names, if any."""
        target = unquote(target.split("#", 1)[0].split("?", 1)[0]).strip()
        if not target:
            return None
        if target.startswith("/"):
            candidate = posixpath.normpath(target.lstrip("/"))
        else:
            folder = importer.rpartition("/")[0]
            candidate = posixpath.normpath(posixpath.join(folder, target)) if folder else posixpath.normpath(target)
        if candidate.startswith("../") or candidate == "..":
            return None
        if candidate in self.paths:
            return candidate
        if importer.endswith(JS_SUFFIXES):  # `import "./util"`: the module resolver's extensions
            for suffix in JS_SUFFIXES + tuple(f"/index{s}" for s in JS_SUFFIXES):
                if candidate + suffix in self.paths:
                    return candidate + suffix
        return None

    # ------------------------------------------------------------------ other languages

    def _ending(self, ending: str) -> str | None:
        """The one repository file whose path ends with `/ending` (or is `ending`)."""
        name = ending.rpartition("/")[2]
        matches = [p for p in self.by_name.get(name, ()) if p == ending or p.endswith("/" + ending)]
        return matches[0] if len(matches) == 1 else None

    def resolve_go(self, importer: str, imp: SummaryImport) -> list[str]:
        """Files of the package folder an import path names (see the module docstring)."""
        if imp.kind == "package":  # a test file's own package
            return [p for p in self.go_folders.get(importer.rpartition("/")[0], ()) if p != importer]
        path = imp.module.strip("/")
        for module, root in self.go_modules:
            if path == module or path.startswith(module + "/"):
                rest = path[len(module) + 1:]
                folder = "/".join(p for p in (root, rest) if p)
                return list(self.go_folders.get(folder, ()))
        if not self.gopath:
            return []
        parts = path.split("/")
        for start in range(len(parts)):
            folder = "/".join(parts[start:])
            if folder in self.go_folders:
                return self.go_folders[folder]
        return []

    def resolve_rust(self, importer: str, imp: SummaryImport) -> list[str]:
        """The file of a `mod` declaration or of the module a `use` path names."""
        folder, _, base = importer.rpartition("/")
        stem = base.removesuffix(".rs")
        own = folder if stem in ("lib", "main", "mod") else f"{folder}/{stem}" if folder else stem
        if imp.kind == "mod":
            return [c for c in (f"{own}/{imp.module}.rs", f"{own}/{imp.module}/mod.rs")
                    if c.lstrip("/") in self.paths][:1]
        parts = [p for p in imp.module.split("::") if p]
        crate_src = ""
        if parts and parts[0] not in ("crate", "self", "super"):
            parts, crate_src = self._own_crate(importer, parts)
        if not parts or parts[0] not in ("crate", "self", "super"):
            return []
        if crate_src:
            base_folder = crate_src
        elif parts[0] == "crate":  # the crate's root module lives in the nearest `src/` above
            folders = importer.split("/")[:-1]
            if "src" not in folders:
                return []
            base_folder = "/".join(folders[:len(folders) - folders[::-1].index("src")])
        else:
            base_folder = own
            while parts and parts[0] == "super":
                base_folder = base_folder.rpartition("/")[0]
                parts = parts[1:]
            if parts and parts[0] == "self":
                parts = parts[1:]
        if parts and parts[0] == "crate":
            parts = parts[1:]
        for end in range(len(parts), 0, -1):
            module = "/".join(parts[:end])
            for candidate in (f"{base_folder}/{module}.rs", f"{base_folder}/{module}/mod.rs"):
                candidate = candidate.lstrip("/")
                if candidate in self.paths:
                    return [candidate]
        if imp.names or (crate_src and not parts):  # `use crate::Item`, `use other_crate;`: names
            # of the crate's root module, or the crate itself
            for root in ("lib.rs", "main.rs"):
                candidate = f"{base_folder}/{root}".lstrip("/")
                if candidate in self.paths:
                    return [candidate]
        return []

    def _own_crate(self, importer: str, parts: list[str]) -> tuple[list[str], str]:
        """`use name::x` of a library crate of the repository (its own `tests/`, or another member
        of a workspace): `crate::x` of the one crate whose folder is called `name` (`-` read as
        `_`) and holds `src/lib.rs`.  Cargo.toml's package name is not read, so this is a stated
        heuristic; a name two crates share links nowhere."""
        found = self.rust_crates.get(parts[0], ())
        if len(found) == 1:
            return ["crate", *parts[1:]], found[0]
        return parts, ""

    def resolve_php(self, importer: str, imp: SummaryImport) -> list[str]:
        """`use A\\B\\C` through the PSR-4 prefixes of the repository's composer.json files; by
        the path's ending when the repository has none."""
        if not self.psr4:
            return self.resolve_named(importer, imp, "\\", (".php",))
        found = []
        for name in imp.names or ("",):
            full = "\\".join(p for p in (imp.module, name) if p)
            for prefix, folder in self.psr4:
                if full.startswith(prefix):
                    rest = full[len(prefix):].replace("\\", "/")
                    candidate = posixpath.normpath(f"{folder}/{rest}.php").lstrip("./")
                    if candidate in self.paths:
                        found.append(candidate)
                        break
        return found

    def resolve_named(self, importer: str, imp: SummaryImport, separator: str,
                      suffixes: tuple[str, ...]) -> list[str]:
        """Java/Kotlin (`.`) and PHP (`\\`): a type name to the file named after it."""
        parts = [p for p in imp.module.split(separator) if p]
        found = []
        for name in imp.names or ((parts.pop(),) if parts else ()):
            if name == "*":
                continue
            for start in range(len(parts) + 1):
                hits = [h for s in suffixes if (h := self._ending("/".join(parts[start:] + [name]) + s))]
                if len(hits) == 1:
                    found.append(hits[0])
                    break
        return found

    def resolve_ruby(self, importer: str, imp: SummaryImport) -> list[str]:
        """`require_relative` beside the file; `require` under a `lib/` folder."""
        target = imp.module if imp.module.endswith(".rb") else imp.module + ".rb"
        if imp.kind == "require_relative":
            found = self.resolve_path(importer, target)
            return [found] if found else []
        if imp.kind == "require":
            hits = [p for p in self.by_name.get(target.rpartition("/")[2], ())
                    if p == f"lib/{target}" or p.endswith(f"/lib/{target}")]
            return hits[:1] if len(hits) == 1 else []
        return []

    def resolve_language(self, importer: str, imp: SummaryImport, style: str) -> list[str]:
        """Files a reference of a language in :data:`_BY_LANGUAGE` names (empty: external)."""
        if style == "go":
            return self.resolve_go(importer, imp)
        if style == "rust":
            return self.resolve_rust(importer, imp)
        if style == "jvm":
            return self.resolve_named(importer, imp, ".", (".java", ".kt"))
        if style == "php":
            return self.resolve_php(importer, imp)
        if style == "ruby":
            return self.resolve_ruby(importer, imp)
        if style == "swift" and imp.kind == "import":  # a Swift package's target
            return list(self.swift_targets.get(imp.module, ()))
        if imp.kind == "subject":  # C#, Swift: a test file's subject, by file name
            found = self.by_name.get(imp.module, [])
            return found[:1] if len(found) == 1 else []
        return []  # C# `using`, Swift `import`: namespaces and modules, not files

    # ------------------------------------------------------------------ all

    def resolve(self, importer: str, imports: Iterable[SummaryImport]) -> tuple[list[Edge], list[tuple[str, str]]]:
        """Edges and external references `(module, kind)` of one file, deduplicated, sorted."""
        edges: dict[tuple[str, str], set[str]] = {}
        external: set[tuple[str, str]] = set()
        language = for_path(importer)
        style = language.imports if language is not None else ""
        for imp in imports:
            if style in _BY_LANGUAGE:
                targets = [t for t in self.resolve_language(importer, imp, style) if t != importer]
                for target in targets:
                    edges.setdefault((target, imp.kind), set()).update(
                        n for n in imp.names if n != "*")
                if not targets and imp.kind not in ("package", "subject") and not (
                        style == "rust" and imp.module.split("::")[0] in ("crate", "self", "super")):
                    external.add((imp.module, imp.kind))  # (a Rust path inside the crate is not)
                continue
            if importer.endswith(PY_SUFFIXES) and imp.kind in ("import", "from"):
                found, missing = self.resolve_python(importer, imp)
                for edge in found:
                    edges.setdefault((edge.dst, edge.kind), set()).update(edge.names)
                if missing:
                    external.add((missing, imp.kind))
                continue
            if imp.kind == "include":
                dst = self.resolve_include(importer, imp.module)
            elif imp.kind == "entry":
                dst = self.resolve_entry(importer, imp.module)
            elif imp.kind == "image" or (imp.kind == "import" and not imp.module.startswith((".", "/"))):
                dst = None  # a base image, a package name: outside the repository
            else:
                dst = self.resolve_path(importer, imp.module)
            if dst is not None and dst != importer:
                edges.setdefault((dst, imp.kind), set()).update(imp.names)
            elif dst is None:
                external.add((imp.module, imp.kind))
        merged: dict[str, tuple[str, set[str]]] = {}
        for (dst, kind), names in sorted(edges.items()):
            if dst in merged:  # `import m` and `from m import x`: one edge, the names kept
                merged[dst][1].update(names)
            else:
                merged[dst] = (kind, set(names))
        result = [Edge(importer, dst, kind, tuple(sorted(names)))
                  for dst, (kind, names) in sorted(merged.items())]
        return result, sorted(external)
