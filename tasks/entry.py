"""The entry page's digest: the project's name, and where a reader of the repository starts.

Computed by the model stage from its database (never from a scan of the disk) and written as
`entry.json` only when it changes, so the entry page re-renders when, and only when, what it
shows changed.  Everything here comes from the repository's own declarations, structure and
references:

- **Name**: the name a manifest at the root declares (`pyproject.toml`, then `package.json`,
  `setup.cfg`, `setup.py`, `CMakeLists.txt`; each read by its own parser in the analysis), else
  the root README's title heading, else the name of the repository's folder.
- **Start here**, in this order:
  the root README; the package named after the project (a folder whose name is the declared
  name, `-` and `_` alike, holding other files than tests; the shallowest, and a second one
  when files outside it reference it: `pybind11/` and `include/pybind11/`), or, when no folder
  bears the name, the folder other folders reference most; the files the manifests declare as
  entry points (a console script's module, package.json `main` and `bin`), with their commands;
  the quickstart and tutorial documents (a document whose file name or title says so, the most
  linked first); the documentation and examples folders (by their conventional names); the
  programs at the root; the root files other files reference most.

Conventional names (`docs`, `examples`, "quickstart") are a stated heuristic: they find where a
project keeps these, and a link appears only when the folder or document exists.
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from enum import Enum

from .digests import SEP, names_of

MANIFEST_ORDER = ("pyproject.toml", "package.json", "setup.cfg", "setup.py", "CMakeLists.txt")
"""Which root manifest's name wins when several declare one."""
DOCS_FOLDERS = ("docs", "doc", "documentation", "guide", "guides", "manual")
EXAMPLE_FOLDERS = ("examples", "example", "samples", "sample", "demo", "demos", "cookbook")
_GUIDE = re.compile(r"quick[\s_-]?start|getting[\s_-]?started|get[\s_-]?started|tutorial|"
                    r"first[\s_-]?steps|walk[\s_-]?through", re.IGNORECASE)
PACKAGES_SHOWN = 2
GUIDES_SHOWN = 4
EXAMPLES_SHOWN = 2
MOST_USED_SHOWN = 3


class Start(str, Enum):
    """Why a link is on the entry page's "Start here" list."""

    README = "readme"
    PACKAGE = "package"
    MOST_USED_FOLDER = "most used folder"
    COMMAND = "command"
    GUIDE = "guide"
    DOCS = "docs"
    EXAMPLES = "examples"
    PROGRAM = "program"
    MOST_USED_FILE = "most used file"


@dataclass(frozen=True)
class StartLink:
    """One link of "Start here"."""

    role: str
    """A :class:`Start` value."""
    path: str
    """The file or folder, relative to ROOT."""
    folder: bool = False
    """`path` is a folder."""
    detail: str = ""
    """The commands an entry point installs (`flask`), a document's title."""
    count: int = 0
    """Files that reference it from outside (a package, a folder, a root file)."""
    files: int = 0
    """Files a folder holds (its subtree for a package, directly for others)."""
    folders: int = 0
    """Folders directly inside a folder."""


@dataclass(frozen=True)
class EntryDigest:
    """What the entry page shows besides the root folder's own index."""

    name: str
    """The project's name."""
    name_from: str = ""
    """The file it was read from (a manifest or the README); empty: the folder's name."""
    start: tuple[StartLink, ...] = ()
    """Where a reader starts, in order."""


def _normal(name: str) -> str:
    return re.sub(r"[-_.\s]+", "_", name.strip().lower())


def _range(folder: str) -> tuple[str, str]:
    return folder + "/", folder + "0"  # every path below `folder` ('0' follows '/')


def _inbound(conn: sqlite3.Connection, folder: str) -> int:
    """Files outside `folder` that reference a file inside it."""
    low, high = _range(folder)
    row = conn.execute("SELECT count(DISTINCT src) FROM edges_p WHERE dst>=? AND dst<? "
                       "AND NOT (src>=? AND src<?)", (low, high, low, high)).fetchone()
    return int(row[0] or 0)


def _subtree_files(conn: sqlite3.Connection, folder: str, tests: bool = True) -> int:
    low, high = _range(folder)
    where = "" if tests else " AND is_test=0"
    row = conn.execute(f"SELECT count(*) FROM files_p WHERE path>=? AND path<? AND kind='file'{where}",
                       (low, high)).fetchone()
    return int(row[0] or 0)


def _direct(conn: sqlite3.Connection, folder: str, folders: set[str]) -> tuple[int, int]:
    files = conn.execute("SELECT count(*) FROM files_p WHERE folder=?", (folder,)).fetchone()[0]
    subfolders = sum(1 for f in folders if f.rpartition("/")[0] == folder and f != folder)
    return int(files or 0), subfolders


def entry_digest(conn: sqlite3.Connection, folders: set[str], root_name: str) -> EntryDigest:
    """The entry digest of the repository in the model database `conn` (see the module
    docstring); `folders` is every folder of the tree, `root_name` the repository folder's name."""
    # the model names files by id (table `paths`); these views name them by path, as a reader does
    conn.execute("CREATE TEMP VIEW IF NOT EXISTS files_p AS "
                 "SELECT p.path AS path, f.* FROM files f JOIN paths p ON p.id = f.id")
    conn.execute("CREATE TEMP VIEW IF NOT EXISTS edges_p AS SELECT ps.path AS src, pd.path AS dst, "
                 "e.kind AS kind, e.names AS names FROM edges e JOIN paths ps ON ps.id = e.src "
                 "JOIN paths pd ON pd.id = e.dst")
    root = conn.execute("SELECT path, kind, title, project, entry_point, is_test FROM files_p "
                        "WHERE folder='' ORDER BY path").fetchall()
    rank = {name: index for index, name in enumerate(MANIFEST_ORDER)}
    manifests = sorted(((p, project) for p, kind, _t, project, _e, _s in root if project and kind == "file"),
                       key=lambda pp: (rank.get(pp[0], len(rank)), pp[0]))
    readme = next(((p, title) for p, kind, title, *_ in root
                   if kind == "file" and p.lower().startswith("readme")), None)
    if manifests:
        name, name_from = manifests[0][1], manifests[0][0]
    elif readme is not None and readme[1]:
        name, name_from = readme[1], readme[0]
    else:
        name, name_from = root_name, ""
    start: list[StartLink] = []
    shown: set[str] = set()

    def add(link: StartLink) -> None:
        if link.path not in shown:
            shown.add(link.path)
            start.append(link)

    if readme is not None:
        add(StartLink(Start.README.value, readme[0]))
    # the package named after the project, else the folder the others build on most
    names = {_normal(project) for _p, project in manifests} or {_normal(name)}
    named = [f for f in folders if f and _normal(f.rpartition("/")[2]) in names
             and _subtree_files(conn, f, tests=False)]
    if named:
        ranked = sorted(((_inbound(conn, f), f) for f in named),
                        key=lambda cf: (cf[1].count("/"), -cf[0], cf[1]))
        for index, (count, folder) in enumerate(ranked[:PACKAGES_SHOWN]):
            if index and not count:
                break  # a second folder of that name that nothing uses (a test fixture)
            add(StartLink(Start.PACKAGE.value, folder, True, count=count,
                          files=_subtree_files(conn, folder)))
    else:
        used: dict[str, set[str]] = defaultdict(set)
        tests = {p for p, in conn.execute("SELECT path FROM files_p WHERE is_test=1")}
        for src, dst in conn.execute("SELECT src, dst FROM edges_p"):
            folder = dst.rpartition("/")[0]
            if folder and src.rpartition("/")[0] != folder and src not in tests:
                used[folder].add(src)
        folder, sources = min(used.items(), key=lambda kv: (-len(kv[1]), kv[0])) if used else ("", set())
        if len(sources) > 1:  # one reference is no sign of a centre
            add(StartLink(Start.MOST_USED_FOLDER.value, folder, True, count=len(sources),
                          files=_direct(conn, folder, folders)[0]))
    # the entry points the root manifests declare
    commands: dict[str, list[str]] = defaultdict(list)
    for chunk_src in (p for p, _project in manifests):
        for dst, names_text in conn.execute(
                "SELECT dst, names FROM edges_p WHERE src=? AND kind='entry' ORDER BY dst", (chunk_src,)):
            commands[dst].extend(n for n in names_of(names_text) if n not in commands[dst])
    for dst in sorted(commands):
        add(StartLink(Start.COMMAND.value, dst, detail=SEP.join(commands[dst])))
    # quickstart and tutorial documents, the most linked first
    guides = []
    for path, title in conn.execute("SELECT path, title FROM files_p WHERE title!='' AND kind='file' "
                                    "AND is_test=0 ORDER BY path"):
        stem = path.rpartition("/")[2].rpartition(".")[0]
        if _GUIDE.search(stem) or _GUIDE.search(title):
            links = conn.execute("SELECT count(DISTINCT src) FROM edges_p WHERE dst=?", (path,)).fetchone()[0]
            guides.append((-int(links or 0), path.count("/"), path, title))
    for _links, _depth, path, title in sorted(guides)[:GUIDES_SHOWN]:
        add(StartLink(Start.GUIDE.value, path, detail=title))
    # documentation and examples folders
    for folder in sorted(f for f in folders if "/" not in f and f.lower() in DOCS_FOLDERS):
        files, subfolders = _direct(conn, folder, folders)
        add(StartLink(Start.DOCS.value, folder, True, files=files, folders=subfolders))
    examples = sorted((f for f in folders if f and f.count("/") <= 1
                       and f.rpartition("/")[2].lower() in EXAMPLE_FOLDERS),
                      key=lambda f: (f.count("/"), f))
    for folder in examples[:EXAMPLES_SHOWN]:
        files, subfolders = _direct(conn, folder, folders)
        add(StartLink(Start.EXAMPLES.value, folder, True, files=files, folders=subfolders))
    # programs at the root, and the root files other files reference most (not documents)
    for path, kind, _title, _project, entry_point, _test in root:
        if kind == "file" and entry_point:
            add(StartLink(Start.PROGRAM.value, path))
    most = conn.execute(
        "SELECT e.dst, count(DISTINCT e.src) AS n FROM edges_p e JOIN files_p f ON f.path = e.dst "
        "WHERE f.folder='' AND f.kind='file' AND f.title='' AND f.project='' GROUP BY e.dst "
        "HAVING n > 1 ORDER BY n DESC, e.dst LIMIT ?", (MOST_USED_SHOWN,)).fetchall()
    for path, count in most:
        add(StartLink(Start.MOST_USED_FILE.value, path, count=int(count)))
    return EntryDigest(name.strip() or root_name, name_from, tuple(start))
