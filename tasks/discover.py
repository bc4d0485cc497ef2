"""Discovery: which files of ROOT are documented, with the stat data the incremental build keys on.

Side effects: reads directories, stats files and reads the first 8 KiB of files whose stat data is
new (to tell text from binary, which decides whether a file gets pages).  Never descends into
`.git/`, the output folder or the state folder (the old system documented its own output on every
run), and never follows symbolic links: a link is listed in its folder's index as a link.

Ignore rules use pathspec's GitIgnoreSpec (git's own matching semantics, maintained upstream)
rather than a hand-written glob matcher: `.gitignore` files at every level (deeper files win,
negations work), `.git/info/exclude`, then the config's `exclude`, `include` and `secrets` lists.
"""

from __future__ import annotations

import os
import re
import stat as statmod
from collections.abc import Mapping
from dataclasses import dataclass

import pathspec

from .config import Config
from .facts import Finding
from .sourcetext import SNIFF_BYTES, is_binary

FILE = "file"
BINARY = "binary"
LINK = "link"
SECRET = "secret"


@dataclass(frozen=True)
class Entry:
    """One documented path."""

    rel: str
    """Path relative to ROOT, POSIX separators."""
    kind: str
    """file (text), binary, link (a symbolic link, never followed) or secret (never read)."""
    size: int
    """Size in bytes (of the link itself for links)."""
    mtime_ns: int
    """Modification time, nanoseconds."""
    target: str = ""
    """For links: where the link points, as stored in the link."""


@dataclass(frozen=True)
class SourceTree:
    """The result of discovery."""

    entries: tuple[Entry, ...]
    """Every documented path, sorted by `rel`."""
    folders: tuple[str, ...]
    """Every folder that holds an entry, and their ancestors; `""` is ROOT.  Sorted."""
    findings: tuple[Finding, ...]
    """Folders that could not be read."""

    def by_rel(self) -> dict[str, Entry]:
        """Entries keyed by relative path."""
        return {e.rel: e for e in self.entries}


class _Matcher:
    """A GitIgnoreSpec, sped up for the common case.

    pathspec tries each pattern in turn on the whole path (about 35 us per path for the default
    excludes: 0.4 s on 12,000 files).  Without negations, the patterns collapse into two regexes:
    patterns that match a name at any depth (`*.pyc`, `__pycache__/`) are tried on the entry's
    own name, which is equivalent because the walk tests every folder on the way down and prunes
    excluded ones; the rest are tried on the path.  With negations pathspec decides, as written.
    """

    ANYWHERE = "^(?:.+/)?"

    def __init__(self, spec: pathspec.GitIgnoreSpec):
        self.spec = spec
        self.simple = all(p.include for p in spec.patterns if p.include is not None)
        names, paths = [], []
        for pattern in spec.patterns:
            if pattern.include is None or pattern.regex is None:
                continue
            regex = pattern.regex.pattern.replace("(?P<ps_d>", "(?:")
            rest = regex[len(self.ANYWHERE):]
            if regex.startswith(self.ANYWHERE) and "/" not in rest.replace("(?:/)", "").replace("[^/]", ""):
                names.append("^" + rest)
            else:
                paths.append(regex)
        self.by_name = re.compile("|".join(f"(?:{r})" for r in names)) if names else None
        self.by_path = re.compile("|".join(f"(?:{r})" for r in paths)) if paths else None

    def match_file(self, path: str) -> bool:
        """Whether `path` (a folder ends with `/`) matches."""
        if not self.simple:
            return bool(self.spec.match_file(path))
        if self.by_name is not None:
            name = path[path.rfind("/", 0, len(path) - 1) + 1:]
            if self.by_name.search(name):
                return True
        return self.by_path is not None and self.by_path.search(path) is not None

    def check_file(self, path: str) -> bool | None:
        """True/False when a pattern decides, None when none matches."""
        if self.simple:
            return True if self.match_file(path) else None
        result = self.spec.check_file(path)
        return None if result.include is None else bool(result.include)


def _spec(lines: list[str]) -> _Matcher | None:
    lines = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return _Matcher(pathspec.GitIgnoreSpec.from_lines(lines)) if lines else None


def _read_ignore(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read().splitlines()
    except OSError:
        return []


class _Rules:
    """The ignore decision for one path, given the .gitignore files on its way down."""

    def __init__(self, config: Config, skip_abs: set[str]):
        self.exclude = _spec(list(config.exclude))
        self.include = _spec(list(config.include))
        self.secrets = _spec(list(config.secrets))
        self.gitignore = config.gitignore
        self.skip_abs = skip_abs

    @staticmethod
    def ignored_by(stack: list[tuple[str, _Matcher]], rel: str) -> bool:
        # Deeper .gitignore files take precedence; the first one with an opinion decides.
        for base, spec in reversed(stack):
            decided = spec.check_file(rel[len(base):] if base else rel)
            if decided is not None:
                return decided
        return False

    def excluded(self, rel: str) -> bool:
        return self.exclude is not None and self.exclude.match_file(rel)


def _sniff(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return is_binary(handle.read(SNIFF_BYTES))
    except OSError:
        return False  # unreadable: analysed as text, where the read error becomes a finding


def discover(config: Config, previous: Mapping[str, Entry] | None = None) -> SourceTree:
    """Walk ROOT and return the documented paths.

    `previous` (the last build's entries) lets unchanged files keep their text/binary kind
    without reading them again.
    """
    root = config.root
    skip_abs = {os.path.join(root, ".git"), config.output, config.state}
    rules = _Rules(config, skip_abs)
    previous = previous or {}
    entries: list[Entry] = []
    findings: list[Finding] = []
    stack: list[tuple[str, _Matcher]] = []
    if config.gitignore:
        info = _spec(_read_ignore(os.path.join(root, ".git", "info", "exclude")))
        if info is not None:
            stack.append(("", info))

    def walk(abs_dir: str, rel_dir: str) -> None:
        pushed = False
        if config.gitignore:
            spec = _spec(_read_ignore(os.path.join(abs_dir, ".gitignore")))
            if spec is not None:
                stack.append((rel_dir, spec))
                pushed = True
        try:
            with os.scandir(abs_dir) as it:
                items = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            findings.append(Finding(rel_dir or ".", 0, f"folder not readable: {exc.strerror}"))
            items = []
        for item in items:
            rel = rel_dir + item.name
            if item.path in skip_abs or item.name == ".git":
                continue
            try:
                st = item.stat(follow_symlinks=False)
            except OSError as exc:
                findings.append(Finding(rel, 0, f"cannot stat: {exc.strerror}"))
                continue
            is_dir = statmod.S_ISDIR(st.st_mode)
            probe = rel + "/" if is_dir else rel
            if rules.excluded(probe) or (stack and rules.ignored_by(stack, probe)):
                continue
            if is_dir:
                walk(item.path, rel + "/")
                continue
            if rules.include is not None and not rules.include.match_file(rel):
                continue
            if statmod.S_ISLNK(st.st_mode):
                try:
                    target = os.readlink(item.path)
                except OSError:
                    target = ""
                entries.append(Entry(rel, LINK, st.st_size, st.st_mtime_ns, target))
            elif not statmod.S_ISREG(st.st_mode):
                continue  # sockets, fifos, devices: nothing to document
            elif rules.secrets is not None and rules.secrets.match_file(rel):
                entries.append(Entry(rel, SECRET, st.st_size, st.st_mtime_ns))
            else:
                old = previous.get(rel)
                if (old is not None and old.size == st.st_size and old.mtime_ns == st.st_mtime_ns
                        and old.kind in (FILE, BINARY)):
                    kind = old.kind
                else:
                    kind = BINARY if _sniff(item.path) else FILE
                entries.append(Entry(rel, kind, st.st_size, st.st_mtime_ns))
        if pushed:
            stack.pop()

    walk(root, "")
    entries.sort(key=lambda e: e.rel)
    return SourceTree(tuple(entries), folders_of(e.rel for e in entries), tuple(findings))


def folders_of(rels: object) -> tuple[str, ...]:
    """All folders holding one of `rels`, with their ancestors and ROOT (`""`), sorted."""
    folders = {""}
    for rel in rels:  # type: ignore[attr-defined]
        parent = rel.rpartition("/")[0]
        while parent not in folders:
            folders.add(parent)
            parent = parent.rpartition("/")[0]
    return tuple(sorted(folders))
