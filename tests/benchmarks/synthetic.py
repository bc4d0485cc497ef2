"""A synthetic repository of many small files in deep folders, to find what still grows with size.

    python tests/benchmarks/synthetic.py DEST --files 200000 [--depth 6] [--fanout 8] [--seed 1]
    python tests/benchmarks/bench.py --root DEST --scenarios walk-stat,noop,edit-body

Real corpora have a few thousand folders; this one has `fanout ** depth` leaf folders at most,
filled breadth-first, each holding a handful of files: Python modules that import a neighbour
(so cross-references exist), C headers that include one, and Markdown notes.  Every file is a
few hundred bytes, so the cost measured is the per-file and per-folder bookkeeping, not parsing.
The tree is a git repository with one commit, as the real corpora are.  Deterministic for a
given seed.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
from pathlib import Path

PY = '''"""Module {name}: part {index} of the synthetic tree."""

from {neighbour} import helper_{other}


def helper_{index}(value: int) -> int:
    """Return value plus {index}."""
    return helper_{other}(value) + {index}


class Widget{index}:
    """A widget numbered {index}."""

    def size(self) -> int:
        return {index}
'''

C = '''/* header {name}: part {index} of the synthetic tree */
#pragma once
#include "{neighbour}.h"

struct point_{index} {{ int x; int y; }};

static inline int area_{index}(int w, int h) {{ return w * h + {index}; }}
'''

MD = '''# Notes {index}

Notes about part {index} of the synthetic tree, next to [its neighbour]({neighbour}.md).
'''


def folders(depth: int, fanout: int) -> list[str]:
    """Leaf folder paths, breadth-first (`d0/d3/d1/...`)."""
    level = [""]
    for _ in range(depth):
        level = [f"{parent}/d{i}" if parent else f"d{i}" for parent in level for i in range(fanout)]
    return level


def generate(dest: Path, files: int, depth: int, fanout: int, seed: int) -> int:
    rng = random.Random(seed)
    leaves = folders(depth, fanout)
    per_folder = max(1, -(-files // len(leaves)))
    written = 0
    for folder in leaves:
        if written >= files:
            break
        target = dest / folder
        target.mkdir(parents=True, exist_ok=True)
        count = min(per_folder, files - written)
        for slot in range(count):
            index = written + slot
            kind = rng.choice(("py", "py", "h", "md"))
            other = max(0, index - 1 - rng.randrange(3))
            name = f"f{slot}"
            neighbour = f"f{max(0, slot - 1)}"
            text = {"py": PY, "h": C, "md": MD}[kind].format(
                name=name, index=index, other=other, neighbour=neighbour)
            (target / f"{name}.{kind}").write_text(text, encoding="utf-8")
        written += count
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--files", type=int, default=200_000)
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--fanout", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.dest.mkdir(parents=True, exist_ok=True)
    count = generate(args.dest, args.files, args.depth, args.fanout, args.seed)
    env = {**os.environ, "GIT_AUTHOR_NAME": "synthetic", "GIT_AUTHOR_EMAIL": "synthetic@localhost",
           "GIT_COMMITTER_NAME": "synthetic", "GIT_COMMITTER_EMAIL": "synthetic@localhost"}
    subprocess.run(["git", "init", "-q"], cwd=args.dest, check=True)
    subprocess.run(["git", "add", "-A"], cwd=args.dest, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "synthetic tree"], cwd=args.dest, check=True, env=env)
    print(f"{count:,} files in {args.dest}")


if __name__ == "__main__":
    main()
