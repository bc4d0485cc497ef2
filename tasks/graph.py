"""The doit task graph: one definition, used by `dodo.py` (all tasks) and by the engine (a pruned set).

Stages, each a set of doit tasks (names as `doit list` shows them):

0. ``settings``          the settings slices and the source listing, from the config and discovery
1. ``analyze:<path>``    one per source file: bytes -> facts + summary (state folder)
2. ``model``             summaries -> the model database and the digests
3. ``page:<path>``       one per text file: `_docs.md` and `_kw.md`
   ``folder:<dir>``      `index.md` and `doc.md` of each folder (`folder:.` is ROOT: the entry page)
   ``sub:<dir>``         `sub.md` of each folder; ``keywords``; ``book``
4. ``manifest``          records every generated file, deletes those of vanished sources

Every dependency is a file (`file_dep`), checked by content (doit's MD5 checker), and every path
is relative to ROOT so a fresh clone with restored state reruns nothing.  Settings reach tasks as
small files whose content is the slice they depend on plus a hash of the code that uses it, so a
config change or a docgraph upgrade reruns exactly the tasks it affects.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from doit.tools import config_changed

from . import actions, layout
from .actions import ActionContext, Paths
from .config import Config
from .discover import BINARY, FILE, SourceTree
from .facts import to_plain
from .pages import RenderContext
from .store import read_bytes

SETTINGS, ANALYZE, MODEL, RENDER, MANIFEST = range(5)

_PACKAGE = os.path.dirname(os.path.abspath(__file__))
_CODE = {
    "analysis": ("analyzers", "facts.py", "sourcetext.py", "actions.py"),
    "model": ("model.py", "xref.py", "facts.py", "layout.py"),
    "render": ("pages", "facts.py", "layout.py", "model.py", "actions.py"),
}


@cache
def code_hash(part: str) -> str:
    """Hash of the source of the modules that produce one kind of output (and of the templates)."""
    digest = hashlib.sha1()
    for item in _CODE[part]:
        path = os.path.join(_PACKAGE, item)
        files = [os.path.join(path, f) for f in sorted(os.listdir(path)) if f.endswith(".py")] \
            if os.path.isdir(path) else [path]
        for name in files:
            with open(name, "rb") as handle:
                digest.update(name[len(_PACKAGE):].encode() + b"\0" + handle.read())
    if part == "render":
        templates = resources.files("docgraph_config").joinpath("templates")
        for entry in sorted(templates.iterdir(), key=lambda e: e.name):
            digest.update(entry.name.encode() + b"\0" + entry.read_bytes())
    return digest.hexdigest()


@cache
def tool_hash() -> str:
    """Hash of the whole package (the stamp falls through to doit when docgraph changed)."""
    digest = hashlib.sha1()
    for folder, _dirs, files in sorted(os.walk(_PACKAGE)):
        for name in sorted(files):
            if name.endswith(".py"):
                with open(os.path.join(folder, name), "rb") as handle:
                    digest.update(name.encode() + handle.read())
    digest.update(code_hash("render").encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Spec:
    """One doit task, before doit sees it."""

    name: str
    """Task name (`analyze:src/x.py`)."""
    stage: int
    """Pipeline stage (0-4)."""
    action: Callable[..., Any]
    """Python action from :mod:`tasks.actions`."""
    args: tuple[Any, ...]
    """Its arguments."""
    file_dep: tuple[str, ...]
    """Input files (paths as doit sees them, relative to ROOT when inside it)."""
    targets: tuple[str, ...]
    """Output files."""
    uptodate: tuple[Any, ...] = field(default=())
    """Extra up-to-date checks (only the settings and manifest tasks have one)."""
    doc: str = ""
    """One line for `doit list`."""

    @property
    def basename(self) -> str:
        return self.name.split(":", 1)[0]

    def doit_dict(self, task_dep: tuple[str, ...] = ()) -> dict[str, Any]:
        """The task as dodo.py yields it."""
        base, _, sub = self.name.partition(":")
        data: dict[str, Any] = {
            "basename": base, "actions": [(self.action, self.args)], "file_dep": list(self.file_dep),
            "targets": list(self.targets), "doc": self.doc, "verbosity": 0,
        }
        if sub:
            data["name"] = sub
        if self.uptodate:
            data["uptodate"] = list(self.uptodate)
        if task_dep:
            data["task_dep"] = list(task_dep)
        return data


class Graph:
    """All task specs for one configuration and one source tree."""

    def __init__(self, config: Config, tree: SourceTree):
        self.config = config
        self.tree = tree
        self.paths = Paths(config.root, config.output, config.state)
        to_root = os.path.relpath(config.root, config.output).replace(os.sep, "/")
        self.context = ActionContext(config, self.paths, RenderContext(to_root, config.pages))
        self.settings = self._settings()
        self._specs: dict[str, Spec] | None = None
        self._producers: dict[str, str] | None = None

    @property
    def specs(self) -> dict[str, Spec]:
        """Every task by name (built on first use: a no-op build never needs them)."""
        if self._specs is None:
            specs = {spec.name: spec for spec in self._build()}
            specs["manifest"] = self._manifest(specs)
            self._specs = specs
        return self._specs

    # ------------------------------------------------------------------ names

    def name(self, path: str) -> str:
        """How doit sees an absolute path: relative to ROOT when inside it."""
        return self.paths.name(path)

    def setting_file(self, name: str) -> str:
        return self.name(self.paths.setting(name))

    # ------------------------------------------------------------------ settings

    def _settings(self) -> dict[str, str]:
        config = self.config
        listing = [[e.rel, e.kind, e.size if e.kind != FILE else 0, e.target]
                   for e in self.tree.entries]

        def dump(data: object) -> str:
            return json.dumps(data, sort_keys=True, ensure_ascii=False) + "\n"

        return {
            "analysis.json": dump({"settings": to_plain(config.analysis), "code": code_hash("analysis")}),
            "model.json": dump({"include_roots": list(config.analysis.include_roots),
                                "code": code_hash("model")}),
            "render.json": dump({"settings": to_plain(config.pages), "code": code_hash("render"),
                                 "to_root": self.context.render.to_root}),
            "tree.json": dump({"entries": listing}),
        }

    def fingerprint(self) -> str:
        """Hash of everything but the sources' content: settings, tool, listing."""
        digest = hashlib.sha1(tool_hash().encode())
        for name, text in sorted(self.settings.items()):
            digest.update(name.encode() + b"\0" + text.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    # ------------------------------------------------------------------ the graph

    def _build(self) -> Iterator[Spec]:
        ctx = self.context
        paths = self.paths
        n = self.name
        settings = tuple(self.setting_file(name) for name in sorted(self.settings))
        fingerprints = {name: hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()
                        for name, text in self.settings.items()}
        yield Spec("settings", SETTINGS, actions.write_settings, (ctx, self.settings), (), settings,
                   (config_changed(fingerprints),), "settings slices and source listing")
        analysis = self.setting_file("analysis.json")
        render = self.setting_file("render.json")
        summaries = []
        xrefs = []
        for entry in self.tree.entries:
            if entry.kind not in (FILE, BINARY):
                continue
            rel = entry.rel
            facts, summary = n(paths.facts(rel)), n(paths.summary(rel))
            summaries.append(summary)
            yield Spec(f"analyze:{rel}", ANALYZE, actions.analyze_file, (ctx, rel),
                       (rel, analysis), (facts, summary), doc="analyse one source file")
            if entry.kind == FILE:
                xref = n(os.path.join(paths.state, "xref", layout.key(rel) + ".json"))
                xrefs.append(xref)
                yield Spec(f"page:{rel}", RENDER, actions.render_file, (ctx, rel),
                           (rel, facts, xref, render),
                           (n(paths.page(layout.docs_page(rel))), n(paths.page(layout.kw_page(rel)))),
                           doc="_docs.md and _kw.md of one file")
        folders = self.tree.folders
        digest = {f: n(os.path.join(paths.state, "folders", layout.key(f) + ".json")) for f in folders}
        subtree = {f: n(os.path.join(paths.state, "subtree", layout.key(f) + ".json")) for f in folders}
        globals_ = {name: n(os.path.join(paths.state, name))
                    for name in ("book.json", "stats.json", "findings.json")}
        yield Spec("model", MODEL, actions.update_model, (ctx,),
                   (self.setting_file("tree.json"), self.setting_file("model.json"), *summaries),
                   (*xrefs, *digest.values(), *subtree.values(), *globals_.values()),
                   doc="cross-references and aggregates of all files")
        records = []
        for folder in folders:
            label = folder or "."
            deps = (digest[folder], render) + ((globals_["stats.json"],) if not folder else ())
            yield Spec(f"folder:{label}", RENDER, actions.render_folder, (ctx, folder), deps,
                       (n(paths.page(layout.folder_page(folder, layout.FOLDER_INDEX))),
                        n(paths.page(layout.folder_page(folder, layout.FOLDER_DOC)))),
                       doc="index.md and doc.md of one folder")
            record = n(paths.record(f"sub:{folder}"))
            records.append(record)
            yield Spec(f"sub:{label}", RENDER, actions.render_sub, (ctx, folder),
                       (subtree[folder], render),
                       (n(paths.page(layout.folder_page(folder, layout.FOLDER_SUB))), record),
                       doc="sub.md (keywords of the subtree) of one folder")
        record = n(paths.record("keywords"))
        records.append(record)
        yield Spec("keywords", RENDER, actions.render_keywords, (ctx,), (subtree[""], render),
                   (n(paths.page(layout.KEYWORDS)), record), doc="the A-Z keyword index")
        yield from self._map_specs(render)
        record = n(paths.record("book"))
        records.append(record)
        yield Spec("book", RENDER, actions.render_book, (ctx, list(folders)),
                   (globals_["book.json"], globals_["stats.json"], render, *digest.values()),
                   (n(paths.page(layout.BOOK)), record), doc="comprehensive_book.md")

    def _map_specs(self, render: str) -> Iterator[Spec]:
        """`docgraph.json`: one task per part, each depending on its files' summaries and xrefs."""
        from .pages.repo_map import partition

        ctx, paths, n = self.context, self.paths, self.name
        analysed = [e.rel for e in self.tree.entries if e.kind in (FILE, BINARY)]
        text = {e.rel for e in self.tree.entries if e.kind == FILE}
        groups = partition(analysed)

        def deps(files: list[str]) -> tuple[str, ...]:
            out = [render]
            for rel in files:
                out.append(n(paths.summary(rel)))
                if rel in text:
                    out.append(n(os.path.join(paths.state, "xref", layout.key(rel) + ".json")))
            return tuple(out)

        if len(groups) <= 1:
            files = groups[0][1] if groups else []
            yield Spec("map", RENDER, actions.render_map, (ctx, layout.MAP, files, []), deps(files),
                       (n(paths.page(layout.MAP)),), doc="docgraph.json: the machine-readable map")
            return
        parts = [(layout.map_part_page(i), folder, len(files))
                 for i, (folder, files) in enumerate(groups, 1)]
        for (page, folder, _count), (_, files) in zip(parts, groups):
            yield Spec(f"map:{page}", RENDER, actions.render_map, (ctx, page, files, parts),
                       deps(files), (n(paths.page(page)),), doc="one part of the map")
        listing = hashlib.sha1(json.dumps(parts).encode("utf-8", "surrogatepass")).hexdigest()
        yield Spec("map", RENDER, actions.render_map_index, (ctx, parts), (render,),
                   (n(paths.page(layout.MAP)),), (config_changed(listing),),
                   doc="docgraph.json: the list of map parts")

    def _manifest(self, specs: dict[str, Spec]) -> Spec:
        """The manifest task (built last: it needs every other task's targets)."""
        generated = sorted(t for spec in specs.values() for t in spec.targets)
        records = sorted(t for spec in specs.values()
                         for t in spec.targets if "/records/" in "/" + t.replace(os.sep, "/"))
        listing = hashlib.sha1("\n".join(generated).encode("utf-8", "surrogatepass")).hexdigest()
        manifest = self.name(os.path.join(self.paths.state, "manifest.json"))
        return Spec("manifest", MANIFEST, actions.update_manifest, (self.context, generated, records),
                    tuple(records), (manifest,),
                    (config_changed(listing),), "record generated files; delete stale ones")

    def absolute(self, name: str) -> str:
        """Absolute path of a graph name."""
        return self.paths.absolute(name)

    def all_specs(self) -> list[Spec]:
        """Every task, the manifest last."""
        return list(self.specs.values())

    def task_count(self) -> int:
        """Number of tasks, without building them."""
        if self._specs is not None:
            return len(self._specs)
        files = sum(1 for e in self.tree.entries if e.kind == FILE)
        analysed = files + sum(1 for e in self.tree.entries if e.kind == BINARY)
        # settings, model, keywords, book, manifest + per file + two per folder + the map
        from .pages.repo_map import partition

        parts = len(partition([e.rel for e in self.tree.entries if e.kind in (FILE, BINARY)]))
        return 5 + analysed + files + 2 * len(self.tree.folders) + (1 if parts <= 1 else parts + 1)

    def all_specs_names(self) -> list[str]:
        """Names of every task."""
        return [spec.name for spec in self.all_specs()]

    def outputs_of(self, name: str) -> list[str]:
        """Names of the files a task generated: its targets and the pages listed in its record."""
        spec = self.specs[name]
        found = list(spec.targets)
        for target in spec.targets:
            if "/records/" not in "/" + target.replace(os.sep, "/"):
                continue
            raw = read_bytes(self.absolute(target))
            if not raw:
                continue
            pages = json.loads(raw).get("pages", {})
            for page in (pages.values() if isinstance(pages, dict) else pages):
                found.append(self.name(self.paths.page(page)))
        return found

    def producer(self, path: str) -> str:
        """The task whose static target is the file named `path` (empty when none is)."""
        if self._producers is None:
            self._producers = {t: spec.name for spec in self.specs.values() for t in spec.targets}
        return self._producers.get(path, "")
