"""The machine-readable map of the repository: `docgraph.json` and its parts.

For editors, scripts and code assistants that want the repository without parsing Markdown: every
file with its language, one-line description, indexed identifiers (name, kind, line) and the
files it depends on (resolved references; external ones by name).  Repositories with more than
`pages.map_part_files` files are split into parts along folder boundaries, so an edit rewrites one
part; `docgraph.json` then lists the parts and the folders each covers.
"""

from __future__ import annotations

import json
from typing import Any

from ..facts import FileSummary, FileXref

VERSION = 1


def partition(paths: list[str], limit: int) -> list[tuple[str, list[str]]]:
    """Split paths into (first folder, paths) parts of at most `limit` files: folders are never
    split unless one alone holds more, and neighbouring small folders share a part."""
    packed: list[tuple[str, list[str]]] = []
    for folder, files in _split(paths, limit):
        if packed and len(packed[-1][1]) + len(files) <= limit:
            packed[-1][1].extend(files)
        else:
            packed.append((folder, list(files)))
    return packed


def _split(paths: list[str], limit: int) -> list[tuple[str, list[str]]]:
    """Folder-aligned groups of at most `limit` paths, in path order."""
    def split(prefix: str, items: list[str]) -> list[tuple[str, list[str]]]:
        if len(items) <= limit:
            return [(prefix, items)]
        groups: dict[str, list[str]] = {}
        direct: list[str] = []
        for path in items:
            rest = path[len(prefix) + 1:] if prefix else path
            head, sep, _ = rest.partition("/")
            if sep:
                groups.setdefault(f"{prefix}/{head}" if prefix else head, []).append(path)
            else:
                direct.append(path)
        if not groups:  # one huge folder: cut it in slices of `limit`
            return [(prefix, direct[i:i + limit]) for i in range(0, len(direct), limit)]
        parts: list[tuple[str, list[str]]] = [(prefix, direct)] if direct else []
        for folder in sorted(groups):
            parts.extend(split(folder, groups[folder]))
        return parts

    return split("", sorted(paths))


def file_entry(summary: FileSummary, xref: FileXref | None) -> dict[str, Any]:
    """One file of the map."""
    entry: dict[str, Any] = {"language": summary.language, "description": summary.description}
    if summary.binary:
        entry["binary"] = {"type": summary.media_type, "size": summary.size}
    if summary.symbols:
        entry["identifiers"] = [[s.qualname or s.name, s.kind, s.line] for s in summary.symbols]
    if summary.is_test:
        entry["test"] = True
    if xref is not None:
        if xref.depends_on:
            entry["depends_on"] = [[d.path, d.kind] for d in xref.depends_on]
        if xref.external:
            entry["external"] = sorted({e.module for e in xref.external})
    return entry


def _dump(data: dict[str, Any]) -> str:
    """JSON with one line per file (small, and diffs stay readable)."""
    lines = ["{", f'"version": {VERSION},']
    files = data.get("files")
    if "parts" in data:
        lines.append('"parts": [')
        lines.append(",\n".join(json.dumps(p, sort_keys=True, ensure_ascii=False) for p in data["parts"]))
        lines.append("]" + ("," if files is not None else ""))
    if files is not None:
        lines.append('"files": {')
        lines.append(",\n".join(f"{json.dumps(path, ensure_ascii=False)}: "
                                f"{json.dumps(entry, sort_keys=True, ensure_ascii=False, separators=(',', ':'))}"
                                for path, entry in sorted(files.items())))
        lines.append("}")
    lines.append("}")
    return "\n".join(line for line in lines if line) + "\n"


def render_part(entries: dict[str, dict[str, Any]]) -> str:
    """One part of a split map."""
    return _dump({"files": entries})


def render_index(parts: list[tuple[str, str, int]], inline: dict[str, dict[str, Any]] | None) -> str:
    """`docgraph.json`: the files themselves when there is one part, else the list of parts."""
    if inline is not None:
        return _dump({"files": inline})
    return _dump({"parts": [{"file": name, "folder": folder or ".", "files": count}
                            for name, folder, count in parts]})
