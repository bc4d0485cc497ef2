"""The size of a built tree's state folder beside its pages; prints Markdown for the README.

    python tests/benchmarks/state_size.py ROOT [--state .docgraph] [--out repo-docs] [--no-archive]

Per artefact of the state folder: apparent size (the bytes of its files), `du` (the blocks the
file system allocated: at least one 4 KB block per non-empty file on ext4), and file count; then
both folders in total, their ratio, and the size of each folder as a CI cache moves it
(`tar | zstd -3` and `tar | gzip -6`, when those programs are installed).  Not collected by
pytest; `bench.py --scenarios state` runs it on a full `-j 2` build of the corpus.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from pathlib import Path


def usage(path: Path) -> tuple[int, int, int]:
    """(apparent bytes, allocated bytes, files) of a file or a folder (its folders' own blocks
    counted in the allocation, as `du` does)."""
    if path.is_file():
        st = path.stat()
        return st.st_size, st.st_blocks * 512, 1
    apparent = allocated = files = 0
    for folder, _dirs, names in os.walk(path):
        allocated += os.stat(folder).st_blocks * 512
        for name in names:
            st = os.stat(os.path.join(folder, name), follow_symlinks=False)
            apparent += st.st_size
            allocated += st.st_blocks * 512
            files += 1
    return apparent, allocated, files


def archived(root: Path, folder: str, command: str) -> int | None:
    """Bytes of `tar -cf - folder | command` (None when a program is missing)."""
    if not shutil.which(command.split()[0]) or not shutil.which("tar"):
        return None
    tar = subprocess.Popen(["tar", "-C", str(root), "-cf", "-", folder], stdout=subprocess.PIPE)
    packed = subprocess.run(command.split(), stdin=tar.stdout, capture_output=True, check=True).stdout
    tar.wait()
    return len(packed)


def report(root: Path, state: str = ".docgraph", out: str = "repo-docs", archive: bool = True) -> str:
    """The Markdown tables."""
    mb = 1e6
    lines = ["| state artefact | apparent MB | du MB | files |", "|---|---|---|---|"]
    parts = sorted(((name,) + usage(root / state / name) for name in os.listdir(root / state)),
                   key=lambda row: -row[2])
    for name, apparent, allocated, files in parts:
        if allocated >= mb / 10:
            lines.append(f"| `{name}` | {apparent / mb:.1f} | {allocated / mb:.1f} | {files:,} |")
    small = [p for p in parts if p[2] < mb / 10]
    if small:
        lines.append(f"| {len(small)} others | {sum(p[1] for p in small) / mb:.1f} | "
                     f"{sum(p[2] for p in small) / mb:.1f} | {sum(p[3] for p in small):,} |")
    totals = {name: usage(root / name) for name in (state, out)}
    lines += ["", "| folder | apparent MB | du MB | files | tar \\| zstd -3 MB | tar \\| gzip -6 MB |",
              "|---|---|---|---|---|---|"]
    for name, (apparent, allocated, files) in totals.items():
        zstd = archived(root, name, "zstd -q -3 -T1 -c") if archive else None
        gzip = archived(root, name, "gzip -6 -c") if archive else None
        lines.append(f"| `{name}` | {apparent / mb:.1f} | {allocated / mb:.1f} | {files:,} | "
                     f"{zstd / mb if zstd is not None else float('nan'):.1f} | "
                     f"{gzip / mb if gzip is not None else float('nan'):.1f} |")
    (sa, sb, _), (pa, pb, _) = totals[state], totals[out]
    lines += ["", f"state / pages: {sa / pa:.2f} apparent, {sb / pb:.2f} du"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--state", default=".docgraph")
    parser.add_argument("--out", default="repo-docs")
    parser.add_argument("--no-archive", action="store_true", help="skip the tar | zstd and gzip sizes")
    args = parser.parse_args()
    print(report(Path(args.root), args.state, args.out, not args.no_archive))


if __name__ == "__main__":
    main()
