"""Configuration: the built-in `docgraph.yaml`, overridden by the repository's own, as a frozen Config.

Side effects: reads the YAML files.  A malformed file or a wrong value raises
:class:`docgraph.errors.ConfigError` with one line naming the file, the key and what is expected.

The settings are split into slices (discovery, analysis, pages, watch) so that a change to one
slice reruns only the tasks whose output depends on it: analysis settings feed every per-file
analysis task, page settings every render task (see :mod:`docgraph.graph`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from .errors import ConfigError

CONFIG_NAME = "docgraph.yaml"


@dataclass(frozen=True)
class AnalysisSettings:
    """Settings that change what the analysis of a file produces."""

    max_bytes: int
    """Files above this size are not parsed."""
    include_roots: tuple[str, ...]
    """Folders (relative to ROOT) searched for `#include <...>` headers."""


@dataclass(frozen=True)
class PageSettings:
    """Settings that change how pages are rendered."""

    embed_source_bytes: int
    """Limit of the embedded original source."""
    index_split: int
    """Keyword pages with more entries are split per initial letter."""
    complex_functions: int
    """How many of the most complex functions a file page lists."""
    map_part_files: int
    """`docgraph.json` lists at most this many files; a larger map is split into parts."""
    book_part_bytes: int
    """`comprehensive_book.md` is split into parts of about this size."""
    source_url: str = ""
    """URL prefix of the sources (`https://github.com/ORG/REPO/blob/main/`): when set, links to
    source files are absolute; when empty they are relative to the page."""


@dataclass(frozen=True)
class WatchSettings:
    """Event coalescing of `docgraph watch`."""

    quiet_ms: int
    """A burst ends after this much silence."""
    max_wait_ms: int
    """A burst is handled at the latest this long after its first event."""


@dataclass(frozen=True)
class CacheSettings:
    """The shared cache of per-file results (:mod:`docgraph.cache`); part of no task's inputs."""

    url: str = ""
    """fsspec URL of the cache (a folder, `s3://bucket/prefix`, ...); empty: no cache.  A plain
    path is relative to ROOT."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Storage options for the fsspec filesystem, over what it reads from the environment."""
    read_only: bool = False
    """Read entries, never write one."""
    timeout_s: float = 5
    """Seconds to wait for a connection or for a response."""


@dataclass(frozen=True)
class Config:
    """The resolved configuration of one build."""

    root: str
    """Absolute path of the repository being documented."""
    output: str
    """Absolute path of the output folder."""
    state: str
    """Absolute path of the state folder."""
    gitignore: bool
    """Honour .gitignore files."""
    include: tuple[str, ...]
    """When not empty, only matching paths are documented."""
    exclude: tuple[str, ...]
    """Patterns never documented."""
    secrets: tuple[str, ...]
    """Patterns of files that are never read and are listed as left out."""
    analysis: AnalysisSettings
    """Analysis slice."""
    pages: PageSettings
    """Rendering slice."""
    watch: WatchSettings
    """Watch-mode slice."""
    origin: str
    """Where the settings came from (`built-in defaults` or a file path), for messages."""
    cache: CacheSettings = field(default_factory=CacheSettings)
    """Shared cache."""
    git_status: bool = True
    """In a git work tree, ask `git status` what changed (docgraph.journal)."""


_SECTIONS = {"analysis": AnalysisSettings, "pages": PageSettings, "watch": WatchSettings,
             "cache": CacheSettings}
_TOP = {"output", "state", "gitignore", "git_status", "include", "exclude", "secrets", *_SECTIONS}


def default_text() -> str:
    """The built-in `docgraph.yaml`."""
    return resources.files("docgraph_config").joinpath(CONFIG_NAME).read_text(encoding="utf-8")


def _read_yaml(text: str, origin: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{origin}{where}: not valid YAML ({problem})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: expected a mapping of settings at the top level")
    return data


def _merge(base: dict[str, Any], over: dict[str, Any], origin: str) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if key not in _TOP:
            known = ", ".join(sorted(_TOP))
            raise ConfigError(f"{origin}: unknown setting '{key}' (known: {known})")
        if key in _SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"{origin}: '{key}' must be a mapping")
            section = dict(base.get(key) or {})
            for sub, sub_value in value.items():
                if sub not in section:
                    known = ", ".join(sorted(section))
                    raise ConfigError(f"{origin}: unknown setting '{key}.{sub}' (known: {known})")
                section[sub] = sub_value
            merged[key] = section
        else:
            merged[key] = value
    return merged


def _expect(value: Any, kind: type | tuple[type, ...], name: str, origin: str) -> Any:
    if isinstance(value, bool) and kind is int:
        raise ConfigError(f"{origin}: '{name}' must be a whole number, not {value!r}")
    if not isinstance(value, kind):
        wanted = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigError(f"{origin}: '{name}' must be a {wanted}, not {value!r}")
    return value


def _patterns(value: Any, name: str, origin: str) -> tuple[str, ...]:
    _expect(value, list, name, origin)
    for item in value:
        _expect(item, str, f"{name}[]", origin)
    return tuple(value)


def _positive(value: Any, name: str, origin: str) -> int:
    _expect(value, int, name, origin)
    if value <= 0:
        raise ConfigError(f"{origin}: '{name}' must be greater than 0, not {value}")
    return int(value)


def _url_prefix(value: Any, name: str, origin: str) -> str:
    _expect(value, str, name, origin)
    if value and not re.match(r"https?://[^\s/]+/\S*$", value):
        raise ConfigError(f"{origin}: '{name}' must be empty or an http(s) URL prefix such as "
                          f"https://github.com/ORG/REPO/blob/main/, not {value!r}")
    return value if not value or value.endswith("/") else value + "/"


def _cache_value(root: str, name: str, value: Any, full: str, origin: str) -> Any:
    """A checked value of the `cache` section."""
    if name == "url":
        _expect(value, str, full, origin)
        return os.path.normpath(os.path.join(root, os.path.expanduser(value))) \
            if value and "://" not in value else value
    if name == "options":
        _expect(value, dict, full, origin)
        for sub in value:
            _expect(sub, str, f"{full} key", origin)
        return value
    if name == "read_only":
        return _expect(value, bool, full, origin)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{origin}: '{full}' must be a number of seconds greater than 0, "
                          f"not {value!r}")
    return value


def _inside(root: str, value: Any, name: str, origin: str) -> str:
    _expect(value, str, name, origin)
    if not value.strip():
        raise ConfigError(f"{origin}: '{name}' must not be empty")
    return os.path.normpath(os.path.join(root, os.path.expanduser(value)))


def load(root: str, config_file: str | None = None, output: str | None = None,
         state: str | None = None) -> Config:
    """Resolve the configuration for repository `root`.

    `config_file` replaces the repository's own `docgraph.yaml`; `output` and `state` (from the
    command line) win over both.
    """
    root = os.path.abspath(root)
    if not os.path.isdir(root):
        raise ConfigError(f"{root}: not a folder (ROOT must be the repository to document)")
    data = _read_yaml(default_text(), "built-in docgraph.yaml")
    origin = "built-in defaults"
    path = config_file or os.path.join(root, CONFIG_NAME)
    if config_file and not os.path.isfile(config_file):
        raise ConfigError(f"{config_file}: config file not found")
    if os.path.isfile(path):
        origin = os.path.relpath(path, root) if path.startswith(root + os.sep) else path
        with open(path, encoding="utf-8") as handle:
            try:
                text = handle.read()
            except UnicodeDecodeError:
                raise ConfigError(f"{origin}: not UTF-8 text") from None
        data = _merge(data, _read_yaml(text, origin), origin)
    sections = {}
    for key, cls in _SECTIONS.items():
        raw = data.get(key) or {}
        values: dict[str, Any] = {}
        for name, val in raw.items():
            full = f"{key}.{name}"
            if key == "cache":
                values[name] = _cache_value(root, name, val, full, origin)
            elif name == "include_roots":
                values[name] = _patterns(val, full, origin)
            elif name == "source_url":
                values[name] = _url_prefix(val, full, origin)
            else:
                values[name] = _positive(val, full, origin)
        sections[key] = cls(**values)
    return Config(
        root=root,
        output=_inside(root, output if output is not None else data["output"], "output", origin),
        state=_inside(root, state if state is not None else data["state"], "state", origin),
        gitignore=bool(_expect(data["gitignore"], bool, "gitignore", origin)),
        include=_patterns(data["include"], "include", origin),
        exclude=_patterns(data["exclude"], "exclude", origin),
        secrets=_patterns(data["secrets"], "secrets", origin),
        analysis=sections["analysis"],
        pages=sections["pages"],
        watch=sections["watch"],
        origin=origin,
        cache=sections["cache"],
        git_status=bool(_expect(data["git_status"], bool, "git_status", origin)),
    )
