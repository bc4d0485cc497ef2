"""YAML, JSON, TOML and INI: top-level structure, and what well-known files of these formats mean.

Parsed with real parsers (`yaml.safe_load`, `json`, `tomllib`, `configparser`); a file they
reject keeps its generic facts plus the parser's message.  Well-known files are recognised by
their path and by the keys the parser found, never by substrings: GitHub workflows (jobs,
triggers), `pyproject.toml` (project name, dependencies, scripts), `package.json` (name,
scripts, dependencies, `main` and `bin`), `setup.cfg` (`[metadata]` name, console scripts).

A manifest's project name is recorded (:attr:`FileFacts.project`: the entry page's title) and
each entry point it declares is a reference of kind `entry` (a console script's module
`flask.cli:main`, a package.json `main` or `bin` path), which the cross-reference stage resolves
to the file, so the entry page can start a reader there.
"""

from __future__ import annotations

import configparser
import json
import tomllib
from typing import Any

import yaml

from ..facts import FileFacts, Import, Symbol
from . import Source
from .generic import first_paragraph, first_sentence


def _key_line(lines: list[str], key: str, indent: int = 0) -> int:
    prefix = " " * indent
    candidates = (f"{prefix}{key}:", f'{prefix}"{key}"', f"{prefix}'{key}'", f"{prefix}{key} =",
                  f"{prefix}[{key}]", f"{prefix}[{key}.")
    for number, line in enumerate(lines, 1):
        if line.startswith(candidates):
            return number
    return 0


def _describe_keys(kind: str, keys: list[str]) -> str:
    shown = ", ".join(f"`{k}`" for k in keys[:6])
    more = " and others" if len(keys) > 6 else ""
    what = "sections" if kind == "INI configuration" else "top-level keys"
    return f"{kind} with {what} {shown}{more}" if keys else f"empty {kind} document"


def _facts(source: Source, language: str, data: Any, error: str) -> FileFacts:
    lines = source.text.splitlines()
    if error:
        return source.facts(language=language, parsed=False, parse_error=error,
                            description=f"{language} that does not parse ({error})",
                            doc=first_paragraph(source.text))
    keys = [str(k) for k in data] if isinstance(data, dict) else []
    symbols: list[Symbol] = []
    entries: list[Import] = []  # entry points a manifest declares
    named = ""
    description = _describe_keys(language, keys)
    if not isinstance(data, dict):
        shape = type(data).__name__ if data is not None else "empty"
        count = f" of {len(data):,} items" if isinstance(data, list) else ""
        description = f"{language} {shape} value{count}" if data is not None else f"empty {language} document"
    path = source.path
    if language == "YAML" and "/.github/workflows/" in f"/{path}" and isinstance(data, dict):
        jobs: dict[Any, Any] = data["jobs"] if isinstance(data.get("jobs"), dict) else {}
        triggers = data.get(True, data.get("on"))  # YAML 1.1 reads a bare `on:` as True
        if isinstance(triggers, (dict, list)):
            trigger_names = [str(t) for t in triggers]
        else:
            trigger_names = [str(triggers)] if triggers else []
        keys = ["on" if k == "True" else k for k in keys]
        for job, spec in jobs.items():
            runs = spec.get("runs-on", "") if isinstance(spec, dict) else ""
            symbols.append(Symbol(str(job), f"jobs.{job}", "job", _key_line(lines, str(job), 2),
                                  signature=f"runs-on {runs}" if runs else ""))
        name = data.get("name")
        description = (f"GitHub workflow{f' {name!s}' if name else ''}: jobs "
                       + ", ".join(f"`{j}`" for j in jobs)
                       + (f"; on {', '.join(trigger_names)}" if trigger_names else ""))
    elif source.name == "pyproject.toml" and isinstance(data, dict):
        project: dict[str, Any] = data["project"] if isinstance(data.get("project"), dict) else {}
        tool: dict[str, Any] = data["tool"] if isinstance(data.get("tool"), dict) else {}
        poetry: dict[str, Any] = tool["poetry"] if isinstance(tool.get("poetry"), dict) else {}
        deps = project.get("dependencies") or []
        for script in (project.get("scripts") or {}):
            symbols.append(Symbol(str(script), f"project.scripts.{script}", "script",
                                  _key_line(lines, str(script))))
        if project.get("name"):
            description = (f"Python project `{project['name']}`"
                           + (f" {project['version']}" if project.get("version") else "")
                           + (f", {len(deps)} dependencies" if deps else ""))
        name = project.get("name") or poetry.get("name")
        named = str(name) if isinstance(name, str) else ""
        for table in (project.get("scripts"), project.get("gui-scripts"), poetry.get("scripts")):
            for script, target in (table.items() if isinstance(table, dict) else ()):
                if isinstance(target, dict):  # poetry's {reference = "m:f", type = "console"}
                    target = target.get("reference", "")
                if isinstance(target, str) and target:
                    entries.append(Import(target.strip(), "entry", _key_line(lines, str(script)),
                                          (str(script),)))
    elif source.name == "package.json" and isinstance(data, dict):
        for script in (data.get("scripts") or {}):
            symbols.append(Symbol(str(script), f"scripts.{script}", "script",
                                  _key_line(lines, str(script), 4)))
        deps = data.get("dependencies") or {}
        if data.get("name"):
            description = (f"npm package `{data['name']}`"
                           + (f", {len(deps)} dependencies" if deps else ""))
        named = data["name"] if isinstance(data.get("name"), str) else ""
        main, bins = data.get("main"), data.get("bin")
        if isinstance(main, str) and main:
            entries.append(Import(main, "entry", _key_line(lines, "main", 2), ("main",)))
        if isinstance(bins, str) and bins:
            bins = {named.rpartition("/")[2] or "bin": bins}  # the command is the package's name
        for command, target in (bins.items() if isinstance(bins, dict) else ()):
            if isinstance(target, str) and target:
                entries.append(Import(target, "entry", _key_line(lines, "bin", 2), (str(command),)))
    doc = data.get("description", "") if isinstance(data, dict) else ""
    doc = first_sentence(doc) if isinstance(doc, str) else ""
    return source.facts(language=language, description=description, keys=tuple(keys),
                        symbols=tuple(symbols), doc=doc, project=named.strip(),
                        imports=tuple(entries))


def _yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"line {mark.line + 1}: {problem}" if mark is not None else str(problem)


def analyze_yaml(source: Source) -> FileFacts:
    """YAML: first document's top-level keys; GitHub workflows' jobs and triggers."""
    try:
        docs = list(yaml.safe_load_all(source.text))
    except yaml.YAMLError as exc:
        return _facts(source, "YAML", None, _yaml_error(exc))
    data = docs[0] if docs else None
    return _facts(source, "YAML", data, "")


def analyze_json(source: Source) -> FileFacts:
    """JSON: top-level keys; package.json scripts and dependencies."""
    try:
        data = json.loads(source.text)
    except ValueError as exc:
        return _facts(source, "JSON", None, str(exc))
    return _facts(source, "JSON", data, "")


def analyze_ini(source: Source) -> FileFacts:
    """INI (`.cfg`, `.ini`): its sections; setup.cfg's `[metadata]` name and console scripts."""
    parser = configparser.ConfigParser(interpolation=None, strict=False, delimiters=("=", ":"))
    try:
        parser.read_string(source.text)
    except configparser.Error as exc:
        return _facts(source, "INI configuration", None, " ".join(str(exc).split()))
    lines = source.text.splitlines()
    sections = parser.sections()
    facts = _facts(source, "INI configuration", {s: None for s in sections}, "")
    if source.name != "setup.cfg":
        return facts
    name = parser.get("metadata", "name", fallback="").strip()
    entries: list[Import] = []
    scripts = parser.get("options.entry_points", "console_scripts", fallback="")
    for line in scripts.splitlines():
        command, _, target = line.partition("=")
        if target.strip():
            entries.append(Import(target.strip(), "entry", _key_line(lines, command.strip()) or
                                  _key_line(lines, "console_scripts"), (command.strip(),)))
    description = f"Python project `{name}` (setup.cfg)" if name else facts.description
    return source.facts(language="INI configuration", description=description, keys=facts.keys,
                        project=name, imports=tuple(entries))


def analyze_toml(source: Source) -> FileFacts:
    """TOML: top-level tables; pyproject.toml project metadata."""
    try:
        data = tomllib.loads(source.text)
    except tomllib.TOMLDecodeError as exc:
        return _facts(source, "TOML", None, str(exc))
    return _facts(source, "TOML", data, "")
