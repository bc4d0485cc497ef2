"""YAML, JSON and TOML: top-level structure, and what well-known files of these formats mean.

Parsed with real parsers (`yaml.safe_load`, `json`, `tomllib`); a file they reject keeps its
generic facts plus the parser's message.  Well-known files are recognised by their path and by
the keys the parser found, never by substrings: GitHub workflows (jobs, triggers), `pyproject.toml`
(project name, dependencies, scripts), `package.json` (name, scripts, dependencies).
"""

from __future__ import annotations

import json
import tomllib
from typing import Any

import yaml

from ..facts import FileFacts, Symbol
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
    return f"{kind} with top-level keys {shown}{more}" if keys else f"empty {kind} document"


def _facts(source: Source, language: str, data: Any, error: str) -> FileFacts:
    lines = source.text.splitlines()
    if error:
        return source.facts(language=language, parsed=False, parse_error=error,
                            description=f"{language} that does not parse ({error})",
                            doc=first_paragraph(source.text))
    keys = [str(k) for k in data] if isinstance(data, dict) else []
    symbols: list[Symbol] = []
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
        deps = project.get("dependencies") or []
        for script in (project.get("scripts") or {}):
            symbols.append(Symbol(str(script), f"project.scripts.{script}", "script",
                                  _key_line(lines, str(script))))
        if project.get("name"):
            description = (f"Python project `{project['name']}`"
                           + (f" {project['version']}" if project.get("version") else "")
                           + (f", {len(deps)} dependencies" if deps else ""))
    elif source.name == "package.json" and isinstance(data, dict):
        for script in (data.get("scripts") or {}):
            symbols.append(Symbol(str(script), f"scripts.{script}", "script",
                                  _key_line(lines, str(script), 4)))
        deps = data.get("dependencies") or {}
        if data.get("name"):
            description = (f"npm package `{data['name']}`"
                           + (f", {len(deps)} dependencies" if deps else ""))
    doc = data.get("description", "") if isinstance(data, dict) else ""
    doc = first_sentence(doc) if isinstance(doc, str) else ""
    return source.facts(language=language, description=description, keys=tuple(keys),
                        symbols=tuple(symbols), doc=doc)


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


def analyze_toml(source: Source) -> FileFacts:
    """TOML: top-level tables; pyproject.toml project metadata."""
    try:
        data = tomllib.loads(source.text)
    except tomllib.TOMLDecodeError as exc:
        return _facts(source, "TOML", None, str(exc))
    return _facts(source, "TOML", data, "")
