"""Golden files in two layers: the analysis model (a compact dump of FileFacts) and the rendered
Markdown tree of the sample repository.

Regenerate both after an intended change with::

    DOCGRAPH_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py

and review the diff of `tests/golden/` like any other change.
"""

from __future__ import annotations

import os
from pathlib import Path

from docgraph.facts import FileFacts

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("DOCGRAPH_UPDATE_GOLDEN") == "1"


def dump_facts(facts: FileFacts) -> str:
    """A readable, line-oriented dump of one file's facts."""
    lines = [f"path: {facts.path}", f"language: {facts.language}",
             f"size: {facts.size} lines: {facts.line_count} encoding: {facts.encoding or '-'}",
             f"description: {facts.description}"]
    for label, value in (("doc", facts.doc), ("binary", facts.media_type if facts.binary else ""),
                         ("parse_error", facts.parse_error), ("skipped", facts.skipped),
                         ("interpreter", facts.interpreter), ("title", facts.title),
                         ("project", facts.project)):
        if value:
            lines.append(f"{label}: {value}")
    if facts.entry_point:
        lines.append("entry_point: yes")
    if facts.own_tests:
        lines.append("own_tests: yes")
    if facts.exports:
        lines.append("exports: " + ", ".join(facts.exports))
    if facts.keys:
        lines.append("keys: " + ", ".join(facts.keys))
    if facts.code_blocks:
        lines.append("code_blocks: " + ", ".join(b or "-" for b in facts.code_blocks))
    sections = [
        ("symbols", [f"{s.kind} {s.qualname} {s.line}-{s.end_line}"
                     + (f" {s.signature}" if s.signature else "")
                     + (f" bases={','.join(s.bases)}" if s.bases else "")
                     + (f" @{','.join(s.decorators)}" if s.decorators else "")
                     + (" indexed" if s.indexed else "")
                     + (f" cx={s.complexity}" if s.complexity else "")
                     + (f" vis={s.visibility}" if s.visibility else "")
                     + (f" scope={s.scope}" if s.scope else "")
                     + (f" doc={s.doc!r}" if s.doc else "") for s in facts.symbols]),
        ("imports", [f"{i.kind} {'.' * i.level}{i.module} @{i.line}"
                     + (f" names={','.join(i.names)}" if i.names else "")
                     + (" system" if i.system else "") for i in facts.imports]),
        ("headings", [f"{'#' * h.level} {h.title} @{h.line}" for h in facts.headings]),
        ("notes", [f"{n.category} @{n.line} {n.topic}: {n.subject}" for n in facts.notes]),
        ("tests", list(facts.tests)),
        ("examples", [f"{e.owner or '<module>'} @{e.line}: {e.code!r}" for e in facts.examples]),
        ("findings", [f"{f.path}:{f.line}: {f.message}" for f in facts.findings]),
    ]
    for title, items in sections:
        if items:
            lines.append(f"{title}:")
            lines.extend(f"  {item}" for item in items)
    return "\n".join(lines) + "\n"


def compare_tree(actual: dict[str, bytes], folder: Path) -> list[str]:
    """Differences between a snapshot and a golden folder (or rewrite it when updating)."""
    if UPDATE:
        if folder.exists():
            for old in sorted(folder.rglob("*"), reverse=True):
                if old.is_file():
                    old.unlink()
                elif old.is_dir():
                    old.rmdir()
        for rel, data in actual.items():
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return []
    expected = {p.relative_to(folder).as_posix(): p.read_bytes()
                for p in sorted(folder.rglob("*")) if p.is_file()} if folder.exists() else {}
    problems = [f"missing from output: {rel}" for rel in sorted(set(expected) - set(actual))]
    problems += [f"not in golden files: {rel}" for rel in sorted(set(actual) - set(expected))]
    problems += [f"differs from golden file: {rel}" for rel in sorted(set(actual) & set(expected))
                 if actual[rel] != expected[rel]]
    return problems
