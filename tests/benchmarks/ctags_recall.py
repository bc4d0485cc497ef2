"""Identifier recall of docgraph's analyzers against Universal Ctags, per language.

    python tests/benchmarks/ctags_recall.py LANGUAGE FOLDER [LANGUAGE FOLDER ...]

For every file of LANGUAGE under FOLDER, Universal Ctags (`ctags`, Debian package
`universal-ctags`) lists the definitions of the kinds named in :data:`KINDS`; recall is the share
of those (file, name) pairs that docgraph's facts of the same file also define, with any kind.
Left out of the count: what ctags' Kotlin parser reports as methods but is a lambda (`<lambda>`)
or a lambda's parameter.
Prints one line per language: files, ctags definitions, found, recall, and analysis time per file;
with `-v`, the first missed names.  A measuring script, not a test: it needs ctags and real
projects (the README names the ones used).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter

from docgraph.analyzers import analyze
from docgraph.config import AnalysisSettings

# docgraph language -> (ctags language, ctags kinds compared, suffixes)
KINDS = {
    "Go": ("Go", {"func", "struct", "interface", "type", "methodSpec"}, (".go",)),
    "Rust": ("Rust", {"function", "method", "struct", "enum", "interface", "module", "macro",
                      "typedef"}, (".rs",)),
    "Java": ("Java", {"class", "interface", "enum", "method", "annotation"}, (".java",)),
    "Kotlin": ("Kotlin", {"class", "interface", "object", "method", "typealias"}, (".kt",)),
    "C#": ("C#", {"class", "interface", "enum", "struct", "method", "namespace", "property",
                  "event"}, (".cs",)),
    "Ruby": ("Ruby", {"class", "module", "method", "singletonMethod"}, (".rb",)),
    "PHP": ("PHP", {"class", "interface", "trait", "function", "namespace"}, (".php",)),
    "C++": ("C++", {"class", "struct", "union", "enum"}, (".cc", ".cpp", ".h", ".hpp")),
}


def files_of(folder: str, suffixes: tuple[str, ...]) -> list[str]:
    found = []
    for base, dirs, names in os.walk(folder):
        dirs.sort()
        found += [os.path.join(base, n) for n in sorted(names) if n.endswith(suffixes)]
    return found


def ctags_names(language: str, kinds: set[str], path: str) -> Counter[str]:
    out = subprocess.run(["ctags", "--output-format=json", "--fields=+nK", "--extras=-F",
                          f"--languages={language}", f"--language-force={language}", "-o", "-", path],
                         capture_output=True, text=True, check=False).stdout
    names: Counter[str] = Counter()
    for line in out.splitlines():
        tag = json.loads(line)
        if tag.get("_type") != "tag" or tag.get("kind") not in kinds:
            continue
        if tag["name"].startswith("<") or "<lambda>" in tag.get("scope", ""):
            continue  # ctags' Kotlin parser lists lambdas and their parameters as methods
        if True:
            names[tag["name"]] += 1
    return names


def measure(language: str, folder: str, verbose: bool = False) -> tuple[int, int, int, float]:
    ctags_language, kinds, suffixes = KINDS[language]
    settings = AnalysisSettings(max_bytes=5_000_000, include_roots=())
    total = found = 0
    missed: Counter[str] = Counter()
    seconds = 0.0
    paths = files_of(folder, suffixes)
    for path in paths:
        expected = ctags_names(ctags_language, kinds, path)
        with open(path, "rb") as handle:
            data = handle.read()
        start = time.perf_counter()
        facts = analyze(os.path.relpath(path, folder), data, settings)
        seconds += time.perf_counter() - start
        ours = Counter(s.name for s in facts.symbols)
        for name, count in expected.items():
            hit = min(count, ours.get(name, 0))
            total += count
            found += hit
            if hit < count:
                missed[f"{os.path.relpath(path, folder)}:{name}"] += count - hit
    if verbose:
        for key, count in missed.most_common(25):
            print(f"  missed {key} x{count}")
    return len(paths), total, found, seconds


def main(argv: list[str]) -> int:
    verbose = "-v" in argv
    args = [a for a in argv if a != "-v"]
    for language, folder in zip(args[::2], args[1::2]):
        files, total, found, seconds = measure(language, folder, verbose)
        recall = 100.0 * found / total if total else 0.0
        print(f"{language}: {files} files, {total} ctags definitions, {found} found, "
              f"recall {recall:.1f} %, {1000 * seconds / max(files, 1):.2f} ms/file")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
