"""The doit task graph: one definition, used by `dodo.py` (all tasks) and by the engine (a pruned set).

Stages, each a set of doit tasks (names as `doit list` shows them):

0. ``settings``          the settings slices and the source listing, from the config and discovery
1. ``analyze:<path>``    one per source file: bytes -> its facts and summary (one state file)
2. ``ledger:<dir>``      one per folder with files of its own: the hashes of their summaries
3. ``group:<ab>``        one per group of ledgers (the folders whose state key starts `ab`)
4. ``model``             groups (and the summaries they name) -> the model database and digests
   ``kw:<path>``         one per text file: `_kw.md` (facts only, so beside the model)
5. ``page:<path>``       one per text file: `_docs.md`
   ``folder:<dir>``      `index.md` and `doc.md` of each folder (`folder:.` is ROOT: the entry page)
   ``sub:<dir>``         `sub.md` of each folder; ``keywords``; ``book``
6. ``manifest``          records every generated file, deletes those of vanished sources

The ledgers and their groups put the model's fan-in in three levels: the model depends on at
most 256 group files rather than on every summary (48,000 in a large tree) or every folder's
ledger (2,400), so the check doit makes of its inputs, and the model's own scan for what
changed, are the same at any size (doit's check and record of 2,400 ledgers and the model's
stat of each grew by 25 ms from the torch corpus to four times it: measured).

Every dependency is a file (`file_dep`), checked by content (doit's MD5 checker), and every path
is relative to ROOT so a fresh clone with restored state reruns nothing.  Settings reach tasks as
small files whose content is the slice they depend on plus a hash of the code that uses it, so a
config change or a docgraph upgrade reruns exactly the tasks it affects.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import logging
import marshal
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, TypeVar

from . import layout
from .config import Config
from .context import PACKED, ActionContext, Paths
from .discover import BINARY, FILE, SourceTree
from .errors import StateDamaged
from .facts import to_plain
from .fingerprint import fingerprints
from .kept import MapParts, ModelPaths
from .pages import RenderContext
from .store import PartsFile, StoredPart, joined_parts, read_bytes, recorded_pages, stored_parts

log = logging.getLogger("docgraph")

SETTINGS, ANALYZE, LEDGER, GROUP, MODEL, RENDER, MANIFEST = range(7)
PART_SEARCHES = 8
"""Files whose map part is found by searching the parts before a map of every file is made."""
OWNER_SEARCHES = 64
"""Digests whose file or folder is found by searching the model's keys (:meth:`ModelPaths.owner`)
before a map of every key is made."""
_T = TypeVar("_T")
MAP_PARTS = "map-parts.marshal"
"""The map's partition in the state folder, keyed by the graph's fingerprint (a cache)."""
MODEL_PATHS = "model-paths.marshal"
"""The model's paths and their keys in the state folder, keyed by the graph's fingerprint (a cache)."""
KEPT_MAGIC = b"docgraph kept\n"
"""The first bytes of `MAP_PARTS` and `MODEL_PATHS` (files of parts, :meth:`Graph._kept`)."""


@dataclass(frozen=True)
class TaskKind:
    """One kind of task: the graph's wiring is declared here once, and task names, the lazy
    creation order of `dodo.py` and the engine's stages all derive from this table."""

    name: str
    """doit basename; the task is `name` (one task) or `name:<key>` (one per key)."""
    stage: int
    """Pipeline stage: tasks of one stage never read each other's outputs."""
    keyed: bool
    """One task per key (a file, a folder, a part) rather than one task."""
    after: str
    """The kind (or group) whose tasks must have run before these are created lazily: one of
    the stage just before (`dodo.py`'s session widens a stage once every task handed out for
    the stages before it has run)."""
    step: str
    """Module of :mod:`docgraph.actions` holding its action: its code fingerprint is that
    module's import closure (:mod:`docgraph.fingerprint`)."""
    slice: str
    """The settings slice file it reads (`settings/<slice>.json`: its settings and the code
    fingerprint of its step), or "" for none."""
    doc: str
    """One line for `doit list`."""
    cached: bool = False
    """Its outputs are a function of its input files alone: the shared cache may hold them
    (:mod:`docgraph.actions.cached`)."""
    recorded: bool = False
    """Its second target is a record of the further pages it writes (letter pages, book parts),
    how many varying with its input: the manifest reads it, a cache entry holds those pages."""


RENDER_GROUP = "render"
"""A doit group task over every kind between the analysis and the manifest."""

KINDS: tuple[TaskKind, ...] = (
    TaskKind("settings", SETTINGS, False, "", "settings", "", "settings slices and source listing"),
    TaskKind("analyze", ANALYZE, True, "settings", "analysis", "analysis", "analyse one source file",
             cached=True),
    TaskKind("ledger", LEDGER, True, "analyze", "model", "model",
             "the summaries' hashes of one folder's files"),
    TaskKind("group", GROUP, True, "ledger", "model", "model",
             "the ledgers of the folders whose state key starts with its two digits"),
    TaskKind("model", MODEL, False, "group", "model", "model",
             "cross-references and aggregates of all files", cached=True),
    TaskKind("kw", MODEL, True, "group", "render", "render", "_kw.md of one file", cached=True),
    TaskKind("page", RENDER, True, "model", "render", "render", "_docs.md of one file", cached=True),
    TaskKind("folder", RENDER, True, "model", "render", "render", "index.md and doc.md of one folder",
             cached=True),
    TaskKind("sub", RENDER, True, "model", "render", "render",
             "sub.md (keywords of the subtree) of one folder", cached=True, recorded=True),
    TaskKind("keywords", RENDER, False, "model", "render", "render", "the A-Z keyword index",
             cached=True, recorded=True),
    TaskKind("map", RENDER, True, "model", "render", "render",
             "docgraph.json (one part, or the list of parts)", cached=True),
    TaskKind("book", RENDER, False, "model", "render", "render", "comprehensive_book.md",
             cached=True, recorded=True),
    TaskKind("manifest", MANIFEST, False, RENDER_GROUP, "manifest", "manifest",
             "record generated files; delete stale ones"),
)
KIND = {kind.name: kind for kind in KINDS}


def task_name(kind: str, key: str | None = None) -> str:
    """The one naming scheme: `kind` for a kind of one task, `kind:key` for a keyed kind.  A kind
    is never both, so doit's group task of a keyed kind cannot collide with a task of its own."""
    declared = KIND[kind]
    if declared.keyed != (key is not None):
        raise ValueError(f"task kind {kind!r} {'needs' if declared.keyed else 'takes no'} key")
    return kind if key is None else f"{kind}:{key}"


def split_name(name: str) -> tuple[TaskKind, str | None] | None:
    """(kind, key) of a task name, or None when no kind has that name or shape."""
    base, colon, key = name.partition(":")
    kind = KIND.get(base)
    if kind is None or kind.keyed != bool(colon):
        return None
    return kind, (key if colon else None)


class _Lazy:
    """Actions and doit's `config_changed`, imported on first use: a no-op build needs neither."""

    @staticmethod
    def action(kind: str, function: str) -> Callable[..., Any]:
        import importlib

        return getattr(importlib.import_module(f".actions.{KIND[kind].step}", __package__), function)

    @staticmethod
    def cached() -> Callable[..., Any]:
        from .actions.cached import run_cached

        return run_cached

    @staticmethod
    def config_changed(value: Any) -> Any:
        from doit.tools import config_changed

        return config_changed(value)


_lazy = _Lazy()


def _healing(method: Callable[..., _T]) -> Callable[..., _T]:
    """A method of :class:`Graph` that reads the kept lists (:mod:`docgraph.kept`), each checked
    when first read: when one is damaged, its file is gone (:meth:`StoredPart.damaged`), so the
    lists are made again from the tree and the method runs again, in the same build (damage found
    after some tasks ran would otherwise leave the build to start over without their record)."""
    @functools.wraps(method)
    def healed(self: Graph, *args: Any) -> _T:
        try:
            return method(self, *args)
        except StateDamaged as exc:
            log.warning("state of the task graph is damaged (%s); made again from the source listing", exc)
            self._model_paths_found = self._parts = None
            return method(self, *args)
    return healed


def step_modules() -> dict[str, str]:
    """Settings slice -> the action module whose code fingerprint it carries (from KINDS)."""
    found: dict[str, str] = {}
    for kind in KINDS:
        if kind.slice:
            module = f"{__package__}.actions.{kind.step}"
            if found.setdefault(kind.slice, module) != module:
                raise ValueError(f"slice {kind.slice!r} is read by kinds of two steps")
    return found


@dataclass(frozen=True)
class Spec:
    """One doit task, before doit sees it."""

    name: str
    """Task name (`analyze:src/x.py`), made by :func:`task_name`."""
    action: Callable[..., Any]
    """Python action from :mod:`docgraph.actions`."""
    args: tuple[Any, ...]
    """Its arguments."""
    file_dep: tuple[str, ...]
    """Input files (paths as doit sees them, relative to ROOT when inside it)."""
    targets: tuple[str, ...]
    """Output files."""
    uptodate: tuple[Any, ...] = field(default=())
    """Extra up-to-date checks (only the settings, manifest and map-list tasks have one)."""
    targets_digest: bytes = field(default=b"", compare=False)
    """A digest of the output files' names, when kept with them (the model's 52,000): which list
    of targets the runner checked (:func:`docgraph.runner.first_missing`)."""
    kind: TaskKind = field(init=False, repr=False, compare=False)
    """Its kind (from the name)."""

    def __post_init__(self) -> None:
        found = split_name(self.name)
        if found is None:
            raise ValueError(f"{self.name!r} is not a task name of the graph")
        object.__setattr__(self, "kind", found[0])

    @property
    def stage(self) -> int:
        return self.kind.stage

    @property
    def basename(self) -> str:
        return self.kind.name

    @property
    def doc(self) -> str:
        return self.kind.doc

    def doit_dict(self, task_dep: tuple[str, ...] = (), clean: Any = None) -> dict[str, Any]:
        """The task as a doit task creator yields it."""
        base, _, sub = self.name.partition(":")
        data: dict[str, Any] = {
            "basename": base, "actions": [(self.action, self.args)], "file_dep": list(self.file_dep),
            "targets": list(self.targets), "doc": self.doc, "verbosity": 0,
        }
        if self.kind.keyed:
            data["name"] = sub
        if self.uptodate:
            data["uptodate"] = list(self.uptodate)
        if task_dep:
            data["task_dep"] = list(task_dep)
        if clean is not None:
            data["clean"] = clean
        return data


class Graph:
    """All task specs for one configuration and one source tree.

    `specs` builds every task (what `dodo.py` and a full build need); :meth:`spec` builds one by
    name and :meth:`consumers_of` finds the tasks reading a file from the path layout alone, so
    an incremental build constructs only the few tasks it loads.
    """

    def __init__(self, config: Config, tree: SourceTree):
        self.config = config
        self.tree = tree
        self.paths = Paths(config.root, config.output, config.state)
        to_root = os.path.relpath(config.root, config.output).replace(os.sep, "/")
        self.context = ActionContext(config, self.paths, RenderContext(to_root, config.pages))
        self._tool = ""  # hash of all of docgraph's files, set with the settings
        self._small = self._small_settings()  # every settings file but the listing
        self._settings_text: dict[str, str] | None = None
        self._fingerprint: str | None = None
        self._specs: dict[str, Spec] | None = None
        self._dropped = 0  # specs taken out of `_specs` by `drop`
        self._cache: dict[str, Spec] = {}
        self._producers: dict[str, str] | None = None
        self._keys: dict[str, tuple[str, str]] | None = None
        self._keys_partial = False
        self._owner_searches = 0
        self._whole = False
        self._parts: MapParts | None = None
        self._part_of: dict[str, str] | None = None
        self._part_searches = 0
        self._setting_names: dict[str, str] = {}
        self._folders: set[str] | None = None
        self._own: dict[str, list[str]] | None = None
        self._model_paths_found: ModelPaths | None = None

    def with_tree(self, tree: SourceTree) -> Graph:
        """This graph for a tree of the same listing (the same paths, kinds and link targets:
        only files' content and stat data differ).  Watch mode's rebuild after a save: the
        settings, the specs built so far and the map partition depend on the listing alone,
        so they are kept instead of being made again from 48,000 entries."""
        if len(tree.entries) != len(self.tree.entries) or tree.folders != self.tree.folders:
            return Graph(self.config, tree)
        same = copy.copy(self)
        same.tree = tree
        return same

    def release(self) -> None:
        """Drop the specs built so far (a build that keeps no graph for the next one, once its
        stamp is made: 150,000 specs of a 48,000-file tree are about 50 MB)."""
        self._specs, self._cache, self._producers, self._dropped = None, {}, None, 0

    def drop(self, names: Iterable[str]) -> None:
        """Drop the specs of tasks that ran (a first build's finished stage, whose outputs are
        recorded): the rest of the build does not need them, and one asked for again is made
        again.  The specs of a 48,000-file tree's analyses and keyword pages are 30 MB."""
        if self._specs is None:
            return
        for name in names:
            if self._specs.pop(name, None) is not None:
                self._dropped += 1

    @property
    def specs(self) -> dict[str, Spec]:
        """Every task by name (built on first use: a no-op build never needs them)."""
        if self._specs is None:
            self._whole = True  # (no map of keys: a build of every task does not widen)
            try:
                specs = {spec.name: spec for spec in self._build()}
            finally:
                self._whole = False
            specs["manifest"] = self._manifest(specs)
            self._specs = specs
        return self._specs

    # ------------------------------------------------------------------ names

    def name(self, path: str) -> str:
        """How doit sees an absolute path: relative to ROOT when inside it."""
        return self.paths.name(path)

    def setting_file(self, name: str) -> str:
        found = self._setting_names.get(name)
        if found is None:
            found = self._setting_names[name] = self.name(self.paths.setting(name))
        return found

    def _state(self, *parts: str) -> str:
        return self.name(os.path.join(self.paths.state, *parts))

    # ------------------------------------------------------------------ settings

    @property
    def settings(self) -> dict[str, str]:
        """Settings file name -> its text (built on first use: the listing's JSON costs 0.1 s
        at 48,000 sources, and a build whose listing did not change never writes it)."""
        if self._settings_text is None:
            self._settings_text = {**self._small, "tree.json": json.dumps(
                {"entries": self._listing()}, sort_keys=True, ensure_ascii=False) + "\n"}
        return self._settings_text

    def _listing(self) -> list[tuple[str, str, int, str]]:
        """Each entry as the model sees it: path, kind, size (not a text file's: its content is
        the analysis's business), link target."""
        return [(e.rel, e.kind, e.size if e.kind != FILE else 0, e.target) for e in self.tree.entries]

    def _small_settings(self) -> dict[str, str]:
        config = self.config

        def dump(data: object) -> str:
            return json.dumps(data, sort_keys=True, ensure_ascii=False) + "\n"

        steps = step_modules()
        self._tool, code = fingerprints(steps.values(), self.config.state)
        return {
            # include_roots only matter to the model (model.json), not to per-file analysis
            "analysis.json": dump({"settings": {"max_bytes": config.analysis.max_bytes},
                                   "code": code[steps["analysis"]]}),
            "model.json": dump({"include_roots": list(config.analysis.include_roots),
                                "code": code[steps["model"]]}),
            # the folder's name titles the entry page of a project that names itself nowhere; a
            # slice of its own, which the model's shared cache key leaves out (see _model_spec)
            "root.json": dump({"root_name": os.path.basename(config.root.rstrip(os.sep))}),
            "render.json": dump({"settings": to_plain(config.pages), "code": code[steps["render"]],
                                 "to_root": self.context.render.to_root}),
            "manifest.json": dump({"code": code[steps["manifest"]]}),
        }

    def settings_digest(self) -> str:
        """Hash of the settings and the tool, without the listing (see :mod:`docgraph.journal`)."""
        digest = hashlib.sha1(self._tool.encode())
        for name, text in sorted(self._small.items()):
            digest.update(name.encode() + b"\0" + text.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def fingerprint(self) -> str:
        """Hash of everything but the sources' content: settings, tool, listing (its hash,
        :meth:`docgraph.discover.SourceTree.listing`: the stamp's when the listing is the last
        build's)."""
        if self._fingerprint is None:
            digest = hashlib.sha1(self._tool.encode())
            for name, text in sorted(self._small.items()):
                digest.update(name.encode() + b"\0" + text.encode("utf-8", "surrogatepass"))
            digest.update(self.tree.listing().encode())
            self._fingerprint = digest.hexdigest()
        return self._fingerprint

    # ------------------------------------------------------------------ one task each

    def _settings_spec(self) -> Spec:
        targets = tuple(self.setting_file(name) for name in sorted(self.settings))
        fingerprints = {name: hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()
                        for name, text in self.settings.items()}
        return Spec(task_name("settings"), _lazy.action("settings", "write_settings"), (self.context, self.settings), (),
                    targets, (_lazy.config_changed(fingerprints),))

    def _analyze_spec(self, rel: str) -> Spec:
        return Spec(task_name("analyze", rel), _lazy.action("analyze", "analyze_file"), (self.context, rel),
                    (rel, self.setting_file("analysis.json")), (self.name(self.paths.facts(rel)),))

    def xref_file(self, rel: str) -> str:
        return self.name(self.paths.xref(rel))

    def _page_spec(self, rel: str) -> Spec:
        n, paths = self.name, self.paths
        return Spec(task_name("page", rel), _lazy.action("page", "render_file"), (self.context, rel),
                    (rel, n(paths.facts(rel)), self.xref_file(rel), self.setting_file("render.json")),
                    (n(paths.page(layout.docs_page(rel))),))

    def _kw_spec(self, rel: str) -> Spec:
        # stage 2: it needs only the file's facts, so it runs while the model works
        n, paths = self.name, self.paths
        return Spec(task_name("kw", rel), _lazy.action("kw", "render_keywords_page"), (self.context, rel),
                    (n(paths.facts(rel)), self.setting_file("render.json")),
                    (n(paths.page(layout.kw_page(rel))),))

    def _children(self) -> dict[str, list[str]]:
        """Folder -> its own analysed files (not those of its subfolders), sorted."""
        if self._own is None:
            own: dict[str, list[str]] = {}
            for rel in self.tree.rels((FILE, BINARY)):
                own.setdefault(rel.rpartition("/")[0], []).append(rel)
            self._own = own
        return self._own

    def _own_files(self, folder: str) -> list[str]:
        """The analysed files directly in one folder, sorted (without grouping every file's)."""
        if self._own is not None:
            return self._own.get(folder, [])
        return [e.rel for e in self.tree.files_in(folder) if e.kind in (FILE, BINARY)]

    def _ledger_spec(self, folder: str) -> Spec:
        files = self._own_files(folder)
        return Spec(task_name("ledger", folder or "."), _lazy.action("ledger", "write_ledger"),
                    (self.context, folder, files),
                    (self.setting_file("model.json"), *(self.name(self.paths.facts(r)) for r in files)),
                    (self.name(self.paths.ledger(folder)), self.name(self.paths.seen(folder))))

    def _group_spec(self, group: str) -> Spec:
        found = self._model_paths()  # (a folder's own files listed from the stamp: 1 ms each at torch4x)
        folders = [folder for folder, of in zip(found.part("ledgers"), found.part("ledger_groups")) if of == group]
        return Spec(task_name("group", group), _lazy.action("group", "write_group"), (self.context, group, folders),
                    (self.setting_file("model.json"), *(self.name(self.paths.ledger(f)) for f in folders)),
                    (self.name(self.paths.group(group)),))

    def _groups(self) -> list[str]:
        """The groups of the folders with files of their own (the model's inputs), sorted."""
        return sorted(set(self._model_paths().part("ledger_groups")))

    def _model_paths(self) -> ModelPaths:
        """The model's text files and folders with their keys, and the folders with a ledger:
        from the state folder when made for this graph's fingerprint (its listing, settings
        and code), as an edit of a function finds them (hashing 50,000 paths and grouping the
        files by folder took 0.3 s at 48,000 sources, for the same names as the last build's)."""
        if self._model_paths_found is None:
            def make() -> ModelPaths:
                own = self._children()
                text = self.tree.rels((FILE,))
                folders = list(self.tree.folders)
                text_keys, folder_keys = [layout.key(rel) for rel in text], [layout.key(f) for f in folders]
                xref, folder, subtree = (self._state(kind) + "/" for kind in ("xref", "folders", "subtree"))
                ledgers = [(f, layout.group(k)) for f, k in zip(folders, folder_keys) if f in own]
                lists = {"text_keys": text_keys, "text": text, "folder_keys": folder_keys, "folders": folders,
                         "deps": [self.name(self.paths.group(g)) for g in sorted({g for _f, g in ledgers})],
                         "ledgers": [f for f, _g in ledgers], "ledger_groups": [g for _f, g in ledgers],
                         # interned, as `name` does: the same strings as the pages' inputs
                         "targets": [*(sys.intern(xref + k + PACKED) for k in text_keys),
                                     *(sys.intern(folder + k + PACKED) for k in folder_keys),
                                     *(sys.intern(subtree + k + PACKED) for k in folder_keys)]}
                return ModelPaths.of(**lists)

            self._model_paths_found = self._kept(MODEL_PATHS, ModelPaths.from_stored, make, ModelPaths.stored)
        return self._model_paths_found

    def _model_spec(self) -> Spec:
        # each path's key hashed once (or read, :meth:`_model_paths`), for the digests' names and
        # for `_state_keys`, which finds the readers of the digests the model wrote
        found = self._model_paths()
        if self._keys is None and not self._whole:
            self._keys_partial = True  # (`consumers_of` asks `found` whose digest it is)
        # a folder holding only folders has no ledger: nothing would ever write it when such
        # a folder appears above new files in an incremental build
        more = (*(self._state(g) for g in ("book.json", "stats.json", "findings.json", "entry.json")),
                # the database itself: the keyword indices read it, so one deleted by hand
                # is a missing output, made again before they run
                self.name(self.paths.model))
        return Spec(task_name("model"), _lazy.action("model", "update_model"), (self.context,),
                    (self.setting_file("tree.json"), self.setting_file("model.json"),
                     self.setting_file("root.json"), *found.part("deps")),
                    (*found.part("targets"), *more),
                    targets_digest=hashlib.sha1(found.targets_digest + "\0".join(more).encode(
                        "utf-8", "surrogatepass")).digest())

    def _folder_spec(self, folder: str) -> Spec:
        n, paths = self.name, self.paths
        deps: tuple[str, ...] = (self.name(self.paths.folder_digest(folder)),
                                 self.setting_file("render.json"))
        if not folder:
            deps += (self._state("stats.json"), self._state("entry.json"))
        return Spec(task_name("folder", folder or "."), _lazy.action("folder", "render_folder"), (self.context, folder), deps,
                    (n(paths.page(layout.folder_page(folder, layout.FOLDER_INDEX))),
                     n(paths.page(layout.folder_page(folder, layout.FOLDER_DOC)))))

    def _sub_spec(self, folder: str) -> Spec:
        n, paths = self.name, self.paths
        return Spec(task_name("sub", folder or "."), _lazy.action("sub", "render_sub"), (self.context, folder),
                    (self.name(self.paths.subtree_digest(folder)), self.setting_file("render.json")),
                    (n(paths.page(layout.folder_page(folder, layout.FOLDER_SUB))),
                     n(paths.record(f"sub:{folder}")), n(paths.letters(f"sub:{folder}"))))

    def _keywords_spec(self) -> Spec:
        return Spec(task_name("keywords"), _lazy.action("keywords", "render_keywords"), (self.context,),
                    (self.name(self.paths.subtree_digest("")), self.setting_file("render.json")),
                    (self.name(self.paths.page(layout.KEYWORDS)), self.name(self.paths.record("keywords")),
                     self.name(self.paths.letters("keywords"))))

    def _book_spec(self) -> Spec:
        folders = self.tree.folders
        return Spec(task_name("book"), _lazy.action("book", "render_book"), (self.context, list(folders)),
                    (self._state("book.json"), self._state("stats.json"), self.setting_file("render.json"),
                     self.setting_file("tree.json"),
                     *(self.name(self.paths.folder_digest(f)) for f in folders)),
                    (self.name(self.paths.page(layout.BOOK)), self.name(self.paths.record("book"))))

    @property
    def map_parts(self) -> MapParts:
        """Folder-aligned parts of `docgraph.json` (one part for small repositories)."""
        if self._parts is None:
            self._parts = self._cached_parts()
        return self._parts

    def _cached_parts(self) -> MapParts:
        """The partition, from the state folder when it was made for this listing and these
        settings (0.15 s at 48,000 sources, and an edit of one file asks which part holds it)."""
        from .pages.repo_map import partition

        def make() -> MapParts:
            entries = [e for e in self.tree.entries if e.kind in (FILE, BINARY)]
            text = {e.rel for e in entries if e.kind == FILE}
            return MapParts.of(partition([e.rel for e in entries], self.config.pages.map_part_files),
                               text.__contains__)

        return self._kept(MAP_PARTS, MapParts.from_stored, make, MapParts.stored)

    def _kept(self, name: str, load: Callable[[Any, list[StoredPart]], _T | None], make: Callable[[], _T],
              store: Callable[[_T], tuple[Any, list[bytes]]]) -> _T:
        """A value made from the listing, settings and code alone, kept in the state folder
        (file `name`) under the graph's fingerprint and the state folder's name: read when they
        are the last build's, made (and kept) otherwise.  Kept as a file of parts: a head (the
        key, the value's own head, the number of parts), then the value's parts, each read
        when the value first needs it (:mod:`docgraph.kept`)."""
        path = os.path.join(self.config.state, name)
        key = f"{self.fingerprint()}\0{self._state('')}"
        try:
            file = PartsFile(path)
            if os.pread(file.fd, len(KEPT_MAGIC), 0) == KEPT_MAGIC:
                kept, head, count = marshal.loads(stored_parts(file, 1, len(KEPT_MAGIC))[0].read())
                if kept == key:
                    found = load(head, stored_parts(file, 1 + count, len(KEPT_MAGIC))[1:])
                    if found is not None:
                        return found
        except (OSError, EOFError, ValueError, TypeError, AttributeError):
            pass
        made = make()
        if os.path.isdir(self.config.state):
            from .store import write_if_changed

            head, blobs = store(made)
            write_if_changed(path, joined_parts(KEPT_MAGIC, [marshal.dumps((key, head, len(blobs))), *blobs]))
        return made

    def _map_parts_listed(self) -> list[tuple[str, str, int]]:
        """(page, first folder, number of files) of each part, when there are several."""
        parts = self.map_parts
        return [(layout.map_part_page(i), folder, count)
                for i, (folder, count) in enumerate(zip(parts.folders, parts.counts, strict=True), 1)]

    def _map_spec(self, page: str) -> Spec:
        """`docgraph.json` or one of its parts (only that one is built: a part's inputs are the
        ledgers of its files' folders, which change when a summary does, and its files'
        cross-reference digests: 50,000 names at 48,000 sources)."""
        ctx, paths, n = self.context, self.paths, self.name
        render = self.setting_file("render.json")

        def deps(number: int) -> tuple[str, ...]:
            out = [render, self.setting_file("tree.json")]  # which files a part holds
            folders = dict.fromkeys(rel.rpartition("/")[0] for rel in groups.files(number))
            out += (n(paths.ledger(folder)) for folder in folders)
            out += (self.xref_file(rel) for rel in groups.text_files(number))
            return tuple(out)

        groups = self.map_parts
        if len(groups) <= 1:
            files = groups.files(0) if len(groups) else []
            return self._cached(Spec(task_name("map", layout.MAP), _lazy.action("map", "render_map"),
                                     (ctx, layout.MAP, files, []), deps(0) if len(groups) else (render, self.setting_file("tree.json")),
                                     (n(paths.page(layout.MAP)),)))
        parts = self._map_parts_listed()
        if page == layout.MAP:
            listing = hashlib.sha1(json.dumps(parts).encode("utf-8", "surrogatepass")).hexdigest()
            return Spec(task_name("map", layout.MAP), _lazy.action("map", "render_map_index"), (ctx, parts),
                        (render, self.setting_file("tree.json")),
                        (n(paths.page(layout.MAP)),), (_lazy.config_changed(listing),))
        number = next(i for i, (name, _folder, _count) in enumerate(parts) if name == page)
        return self._cached(Spec(task_name("map", page), _lazy.action("map", "render_map"),
                                 (ctx, page, groups.files(number), parts), deps(number), (n(paths.page(page)),)))

    def _map_specs(self) -> list[Spec]:
        """`docgraph.json`: one task per part, each depending on its files' ledgers and xrefs."""
        return [self._map_spec(str(page)) for page in self.keys("map")]

    def _manifest(self, specs: dict[str, Spec]) -> Spec:
        """The manifest task (built last: it needs every other task's targets)."""
        generated = sorted(t for spec in specs.values() for t in spec.targets)
        records = sorted(t for spec in specs.values() for t in spec.targets[1:2]
                         if spec.kind.recorded)
        listing = hashlib.sha1("\n".join(generated).encode("utf-8", "surrogatepass")).hexdigest()
        manifest = self._state("manifest.json")
        return Spec(task_name("manifest"), _lazy.action("manifest", "update_manifest"),
                    (self.context, generated, records),
                    (self.setting_file("tree.json"), self.setting_file("manifest.json"), *records),
                    (manifest,), (_lazy.config_changed(listing),))

    # ------------------------------------------------------------------ all of them

    @_healing
    def keys(self, kind: str) -> list[str | None]:
        """The keys of one kind's tasks (`[None]` for a kind of one task), in a stable order."""
        if kind == "analyze":
            return [e.rel for e in self.tree.entries if e.kind in (FILE, BINARY)]
        if kind in ("page", "kw"):
            return [e.rel for e in self.tree.entries if e.kind == FILE]
        if kind in ("folder", "sub"):
            return [f or "." for f in self.tree.folders]
        if kind == "ledger":
            own = self._children()
            return [f or "." for f in self.tree.folders if f in own]
        if kind == "group":
            return list(self._groups())
        if kind == "map":
            return list(self._map_pages())
        return [None]

    def _map_pages(self) -> list[str]:
        """The map's pages: its parts', then `docgraph.json` (one page for one part)."""
        count = len(self.map_parts)
        if count <= 1:
            return [layout.MAP]
        return [*(layout.map_part_page(i) for i in range(1, count + 1)), layout.MAP]

    @_healing
    def _make(self, kind: str, key: str | None) -> Spec:
        """The spec of one task from its kind and key (the key is known to exist)."""
        if key is None:
            if kind == "model":
                # a clone in a folder of another name shares the model: the one output that
                # shows the folder's name, the entry digest, is made again by `restore_model`
                return self._cached(self._model_spec(), restore=_lazy.action("model", "restore_model"),
                                    unkeyed=(self.setting_file("root.json"),), fresh_only=self.paths.model)
            return self._cached({"settings": self._settings_spec, "keywords": self._keywords_spec,
                                 "book": self._book_spec,
                                 "manifest": lambda: self.specs["manifest"]}[kind]())
        if kind == "sub":
            return self._cached(self._sub_spec("" if key == "." else key))
        if kind == "map":
            return self._map_spec(key)
        if kind == "folder":
            return self._cached(self._folder_spec("" if key == "." else key))
        if kind == "ledger":
            return self._ledger_spec("" if key == "." else key)
        if kind == "group":
            return self._group_spec(key)
        spec = {"analyze": self._analyze_spec, "page": self._page_spec, "kw": self._kw_spec}[kind](key)
        return self._cached(spec, key if kind in ("analyze", "page") else "")

    def _cached(self, spec: Spec, source: str = "", restore: Callable[..., Any] | None = None,
                unkeyed: tuple[str, ...] = (), fresh_only: str = "") -> Spec:
        """The spec, through the shared cache when one is set and its kind may be cached;
        `source` is the source file among its inputs (keyed as masked text); `restore` writes a
        hit's targets in place of the plain copy (see :class:`CachedTask`) and applies the
        `unkeyed` inputs, which the key leaves out."""
        if not (self.config.cache.url and spec.kind.cached):
            return spec
        from .actions.cached import CachedTask  # the action wrapped in read-through and write-back

        inputs = tuple(self.absolute(f) for f in spec.file_dep if f not in unkeyed)
        settings = self.paths.setting("")
        task = CachedTask(spec.name, self.absolute(source) if source else "", inputs, spec.targets,
                          self.config.cache, shared=frozenset(f for f in inputs if f.startswith(settings)),
                          recorded=spec.kind.recorded, fresh_only=fresh_only, restore=restore)
        return Spec(spec.name, _lazy.cached(), (task, spec.action, spec.args), spec.file_dep,
                    spec.targets, spec.uptodate, spec.targets_digest)

    def _build(self) -> Iterator[Spec]:
        for kind in KINDS:
            if kind.name == "manifest":
                continue  # needs every other task's targets: see `specs`
            if kind.name == "map":
                yield from self._map_specs()
                continue
            for key in self.keys(kind.name):
                yield self._make(kind.name, key)

    def specs_of(self, kind: str) -> list[Spec]:
        """Every task of one kind."""
        if (self._specs is not None and not self._dropped) or kind == "manifest":
            return [s for s in self.specs.values() if s.kind.name == kind]
        found = (self.spec(task_name(kind, key)) for key in self.keys(kind))
        return [spec for spec in found if spec is not None]

    def spec(self, name: str) -> Spec | None:
        """One task by name, built alone when the whole graph was not needed yet."""
        if self._specs is not None:
            kept = self._specs.get(name)
            if kept is not None or not self._dropped:
                return kept
        if name in self._cache:
            return self._cache[name]
        found = split_name(name)
        if found is None:
            return None
        kind, key = found
        if key is not None and not self._has_key(kind.name, key):
            return None
        spec = self._make(kind.name, key)
        self._cache[name] = spec
        return spec

    def vanished(self, name: str) -> bool:
        """Whether `name` is a task of a keyed kind whose key this graph no longer has (the
        analysis of a deleted file, the index of a removed folder); names of other shapes
        (doit's group tasks) are not ours to judge."""
        found = split_name(name)
        return found is not None and found[1] is not None and not self._has_key(found[0].name, found[1])

    @_healing
    def _has_key(self, kind: str, key: str) -> bool:
        if kind == "analyze":
            return self.tree.kind(key) in (FILE, BINARY)
        if kind in ("page", "kw"):
            return self.tree.kind(key) == FILE
        if kind in ("folder", "sub"):
            return ("" if key == "." else key) in self._folder_set()
        if kind == "ledger":
            return bool(self._own_files("" if key == "." else key))
        if kind == "group":
            return key in self._model_paths().part("ledger_groups")
        return key in self.keys(kind)

    def _folder_set(self) -> set[str]:
        if self._folders is None:  # (the model's kept list: the tree's of a recorded listing
            # is made from 48,000 names, 28 ms)
            self._folders = set(self._model_paths().part("folders"))
        return self._folders

    def _state_keys(self, complete: bool = False) -> dict[str, tuple[str, str]]:
        """State artefact stem -> ("file" | "folder", path): those of the model's digests (text
        files and folders) when the model's spec made them, every path's when `complete`."""
        if self._keys is None and self._keys_partial and not complete:
            found = self._model_paths()  # those of the model's spec
            self._keys = {**dict(zip(found.part("text_keys"), zip(repeat("file"), found.part("text")))),
                          **dict(zip(found.part("folder_keys"), zip(repeat("folder"), found.part("folders"))))}
        if self._keys is None or (complete and self._keys_partial):
            self._keys_partial = False
            keys = {layout.key(e.rel): ("file", e.rel) for e in self.tree.entries}
            keys.update({layout.key(f): ("folder", f) for f in self.tree.folders})
            self._keys = keys
        return self._keys

    @_healing
    def consumers_of(self, target: str, producer: str = "") -> list[str]:
        """Names of the tasks that read the file named `target` (from the layout of names).

        `producer`, the task that wrote it, saves hashing every path of the tree to find whose
        state file it is when that task is one file's (`analyze:<file>` writes its facts)."""
        state = self._state("") .rstrip("/") + "/"
        if not target.startswith(state):
            return []
        rest = target[len(state):]
        kind, _, tail = rest.partition("/")
        if kind == "settings":
            slice_name = tail.removesuffix(".json")
            if slice_name in step_modules():  # every task of the kinds that read the slice
                return [task_name(k.name, key) for k in KINDS if k.slice == slice_name
                        for key in self.keys(k.name)]
            if tail == "root.json":
                return ["model"]
            if tail == "tree.json":
                return ["model", "manifest", "book", *(task_name("map", k) for k in self.keys("map"))]
            return []
        if kind == "records":
            return ["manifest"]
        if kind in ("stats.json", "book.json") and not tail:
            return ["book"] + ([task_name("folder", ".")] if kind == "stats.json" else [])
        if kind == "entry.json" and not tail:
            return [task_name("folder", ".")]
        if kind == "group":
            return ["model"]
        if kind not in ("facts", "xref", "ledger", "folders", "subtree"):
            return []  # (the model's database: its readers read the digests it writes)
        stem = tail.rpartition(".")[0]  # `ab/<hex>.zz` or `.json`: the key has no dot
        base, _, key = producer.partition(":")
        owner: tuple[str, str] | None
        if base == "analyze" and key and layout.key(key) == stem:
            owner = ("file", key)
        elif base == "ledger" and key and layout.key("" if key == "." else key) == stem:
            owner = ("folder", "" if key == "." else key)  # (its own ledger: no path hashed)
        elif self._keys is None and self._keys_partial and self._owner_searches < OWNER_SEARCHES:
            self._owner_searches += 1  # (the few digests an edit changed: searched, not mapped)
            owner = self._model_paths().owner(stem) or self._state_keys(complete=True).get(stem)
        else:
            owner = self._state_keys().get(stem)
            if owner is None and self._keys_partial:
                owner = self._state_keys(complete=True).get(stem)
        if owner is None:
            return []
        what, path = owner
        if kind == "facts" and what == "file":
            ledger = task_name("ledger", path.rpartition("/")[0] or ".")
            return [task_name("page", path), task_name("kw", path), ledger] if self.tree.kind(path) == FILE \
                else [ledger]
        if kind == "xref" and what == "file":
            return [task_name("page", path), self._map_part_of(path)]
        if kind == "ledger" and what == "folder":
            return [task_name("group", layout.group(stem)), *self._map_parts_of(path)]
        if kind == "folders" and what == "folder":
            return [task_name("folder", path or "."), "book"]
        if kind == "subtree" and what == "folder":
            return [task_name("sub", path or ".")] + (["keywords"] if not path else [])
        return []

    def _map_parts_of(self, folder: str) -> list[str]:
        """The map tasks whose parts list a folder's own files: one, or a run of consecutive
        parts (a folder's own files are never apart in the partition, which follows path order)."""
        files = self._own_files(folder)
        if not files:
            return []
        first, last = self._map_part_of(min(files)), self._map_part_of(max(files))
        if first == last:
            return [first]
        names = [task_name("map", page) for page in self._map_pages()]
        return names[names.index(first):names.index(last) + 1]

    def _map_part_of(self, rel: str) -> str:
        """The map task whose part lists `rel`: the first few found by searching the parts'
        strings (in C, about 1 ms at 48,000 files, where a map of every file to its part took
        0.1 s to make), later ones by that map."""
        if self._part_of is None:
            groups = self.map_parts
            if len(groups) > 1 and self._part_searches < PART_SEARCHES:
                self._part_searches += 1
                number = groups.holding(rel)
                return task_name("map", layout.map_part_page(number + 1) if number is not None else layout.MAP)
            self._part_of = {} if len(groups) <= 1 else {
                f: task_name("map", layout.map_part_page(number + 1))
                for number in range(len(groups)) for f in groups.files(number)}
        return self._part_of.get(rel, task_name("map", layout.MAP))

    def absolute(self, name: str) -> str:
        """Absolute path of a graph name."""
        return self.paths.absolute(name)

    def all_specs(self) -> list[Spec]:
        """Every task, the manifest last."""
        assert not self._dropped, "some specs were dropped"
        return list(self.specs.values())

    def task_count(self) -> int:
        """Number of tasks, without building them (derived from the kinds and their keys)."""
        if self._specs is not None:
            return len(self._specs) + self._dropped
        return sum(len(self.keys(kind.name)) for kind in KINDS)

    def all_specs_names(self) -> list[str]:
        """Names of every task."""
        return [spec.name for spec in self.all_specs()]

    def outputs_of(self, name: str, targets: Sequence[str] | None = None) -> list[str]:
        """Names of the files a task generated: its targets and the pages listed in its record;
        of those `targets` alone when given (the model's few the build touched, not its 52,000
        at torch4x, each compared with the records' folder)."""
        spec = self.spec(name)
        if spec is None:
            return []
        if targets is None:
            targets = spec.targets
        found = list(targets)
        records = self._state("records") + os.sep  # (a source folder may be called `records` too)
        for target in targets:
            if not target.startswith(records):
                continue
            for page in recorded_pages(read_bytes(self.absolute(target))):
                found.append(self.name(self.paths.page(page)))
        return list(dict.fromkeys(found))  # (the book's record also lists its first page)

    def producer(self, path: str) -> str:
        """The task whose static target is the file named `path` (empty when none is known)."""
        if self._specs is None:
            return ""
        assert not self._dropped, "some specs were dropped"
        if self._producers is None:  # the first question scans; the map is for a second one
            self._producers = {}
            return next((spec.name for spec in self._specs.values() if path in spec.targets), "")
        if not self._producers:
            self._producers = {t: spec.name for spec in self._specs.values() for t in spec.targets}
        return self._producers.get(path, "")
