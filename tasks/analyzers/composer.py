"""`composer.json`: a JSON file (read by :func:`docgraph.analyzers.data.analyze_json`) whose PSR-4
autoload prefixes also say where PHP namespaces live (pure).

Each prefix is recorded as one declared name, `Prefix\\ folder/` (the namespace prefix, a space,
the folder relative to the composer.json), from `autoload` and `autoload-dev`; the
cross-reference stage maps `use Prefix\\Rest` to `folder/Rest.php` with them (see
:mod:`docgraph.xref`).
"""

from __future__ import annotations

import dataclasses
import json

from ..facts import FileFacts
from . import Source
from .data import analyze_json


def psr4_prefixes(data: object) -> tuple[str, ...]:
    """`Prefix\\ folder` for every PSR-4 entry of a parsed composer.json, in file order."""
    found: list[str] = []
    if not isinstance(data, dict):
        return ()
    for section in ("autoload", "autoload-dev"):
        autoload = data.get(section)
        rules = autoload.get("psr-4") if isinstance(autoload, dict) else None
        if not isinstance(rules, dict):
            continue
        for prefix, folders in rules.items():
            for folder in folders if isinstance(folders, list) else [folders]:
                if isinstance(prefix, str) and isinstance(folder, str) and " " not in prefix + folder:
                    found.append(f"{prefix} {folder or '.'}")
    return tuple(found)


def analyze(source: Source) -> FileFacts:
    """Analyse a composer.json."""
    facts = analyze_json(source)
    try:
        data = json.loads(source.text)
    except ValueError:
        return dataclasses.replace(facts, language="Composer manifest")
    return dataclasses.replace(facts, language="Composer manifest", exports=psr4_prefixes(data))
