"""Watch-mode benchmark on a copy of a corpus; prints figures for the README.  Not a pytest test.

    python tests/benchmarks/watch_bench.py --corpus torch --edits 50 [--jobs 2]

1. Starts `docgraph watch` on a private copy (after a full build) and waits until it watches.
2. Saves a Python file `--edits` times (appending a comment, as an editor save would) and
   measures, for each save, the time until that file's `_docs.md` has been rewritten.
3. Commits a branch that touches 1,000 files, checks it out and back, and counts the rebuild
   lines the watcher printed for each checkout.
4. Reports the watcher's peak and current resident memory (`/proc/<pid>/status`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import corpus, fresh_copy

REPO = Path(__file__).resolve().parents[2]


def memory(pid: int) -> dict[str, int]:
    values = {}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(("VmHWM", "VmRSS")):
                key, value = line.split(":")
                values[key] = int(value.split()[0]) // 1024
    return values


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default="torch", choices=["torch", "cpython"])
    parser.add_argument("--dest", default=os.environ.get("DOCGRAPH_CORPORA", str(REPO.parent / "corpora")))
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=2, help="`docgraph watch -j` (default 2)")
    args = parser.parse_args()
    source = corpus(Path(args.dest), args.corpus)
    with tempfile.TemporaryDirectory(prefix="docgraph-watch-") as tmp:
        root = fresh_copy(source, Path(tmp) / "tree")
        with (root / ".git" / "info" / "exclude").open("a") as handle:
            handle.write("\n/repo-docs/\n/.docgraph/\n")
        subprocess.run(["git", "reset", "-q"], cwd=root, check=True)
        home = subprocess.run(["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=root, check=True,
                              capture_output=True, text=True).stdout.strip()
        subprocess.run([sys.executable, "-m", "docgraph.cli", "build", "-q", "-j", "2", str(root)],
                       check=True, capture_output=True)
        proc = subprocess.Popen([sys.executable, "-m", "docgraph.cli", "watch", "-j", str(args.jobs), str(root)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        lines: list[tuple[float, str]] = []
        ready = threading.Event()

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append((time.monotonic(), line.rstrip()))
                if "watching" in line:
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        assert ready.wait(300), lines
        py_files = sorted(p for p in (root / "torch" / "nn" / "modules").glob("*.py"))
        latencies = []
        for index in range(args.edits):
            victim = py_files[index % len(py_files)]
            page = root / "repo-docs" / (victim.relative_to(root).as_posix() + "_docs.md")
            before = page.stat().st_mtime_ns
            time.sleep(0.3)
            started = time.monotonic()
            with victim.open("a") as handle:
                handle.write(f"\n# watch benchmark edit {index}\n")
            while page.stat().st_mtime_ns == before:
                if time.monotonic() - started > 30:
                    raise SystemExit(f"no rebuild of {page} after 30 s")
                time.sleep(0.002)
            latencies.append((time.monotonic() - started) * 1000)
        time.sleep(1.5)
        # a branch touching 1,000 files
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
        subprocess.run(git + ["checkout", "-q", "-b", "bench-other"], cwd=root, check=True)
        before_edits = len(lines)
        touched = sorted((root / "torch" / "include").rglob("*.h"))[:1000]
        for path in touched:
            with path.open("a") as handle:
                handle.write("\n// touched on the benchmark branch\n")
        subprocess.run(git + ["commit", "-qam", "touch 1000 files"], cwd=root, check=True)
        # the watcher rebuilds the 1,000 edits first: let it finish before the checkouts
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not any(" changed (" in l for _, l in lines[before_edits:]):
            time.sleep(0.1)
        time.sleep(3)
        rebuilds = []
        for branch in (home, "bench-other"):
            count = len(lines)
            subprocess.run(git + ["checkout", "-q", branch], cwd=root, check=True)
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and not any(" changed (" in l for _, l in lines[count:]):
                time.sleep(0.1)
            time.sleep(10)  # any second rebuild of the same checkout would show up by now
            rebuilds.append(sum(1 for _, line in lines[count:] if " changed (" in line))
            print(next((l for _, l in lines[count:] if " changed (" in l), ""), file=sys.stderr)
        mem = memory(proc.pid)
        proc.terminate()
        proc.wait(60)
    latencies.sort()
    p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)]
    print(f"\n{args.corpus} corpus, {args.edits} saves: save -> _docs.md rewritten: "
          f"median {statistics.median(latencies):.0f} ms, 95th percentile {p95:.0f} ms, "
          f"max {latencies[-1]:.0f} ms")
    print(f"git checkout touching 1,000 files, there and back: rebuilds per checkout {rebuilds}")
    print(f"watcher memory: peak {mem.get('VmHWM')} MB, at the end {mem.get('VmRSS')} MB")


if __name__ == "__main__":
    main()
