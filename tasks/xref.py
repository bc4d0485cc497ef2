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

Anything not resolved is external (a third-party module, a system header, a missing file).
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from .facts import SummaryImport

PY_SUFFIXES = (".py", ".pyi", ".pyw")
JS_SUFFIXES = (".js", ".ts", ".tsx", ".jsx", ".mjs", ".cjs", ".mts", ".cts")


@dataclass(frozen=True)
class Edge:
    """A resolved reference from one repository file to another."""

    src: str
    """Referring file."""
    dst: str
    """Referred file."""
    kind: str
    """import, from, include, link, source, subdirectory."""
    names: tuple[str, ...] = ()
    """Names taken from `dst`."""


def _is_identifier_path(parts: list[str]) -> bool:
    return all(p.isidentifier() for p in parts)


class Resolver:
    """Resolution over one set of repository paths."""

    def __init__(self, paths: Iterable[str], include_roots: Iterable[str] = ()):
        self.paths = set(paths)
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
        self._include_cache: dict[tuple[str, str], str | None] = {}
        self._module_cache: dict[tuple[str, str | None, str], str] = {}

    # ------------------------------------------------------------------ python

    def _nearest(self, importer: str, candidates: list[str]) -> str:
        if len(candidates) == 1:
            return candidates[0]
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

    # ------------------------------------------------------------------ all

    def resolve(self, importer: str, imports: Iterable[SummaryImport]) -> tuple[list[Edge], list[tuple[str, str]]]:
        """Edges and external references `(module, kind)` of one file, deduplicated, sorted."""
        edges: dict[tuple[str, str], set[str]] = {}
        external: set[tuple[str, str]] = set()
        for imp in imports:
            if importer.endswith(PY_SUFFIXES) and imp.kind in ("import", "from"):
                found, missing = self.resolve_python(importer, imp)
                for edge in found:
                    edges.setdefault((edge.dst, edge.kind), set()).update(edge.names)
                if missing:
                    external.add((missing, imp.kind))
                continue
            if imp.kind == "include":
                dst = self.resolve_include(importer, imp.module)
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
