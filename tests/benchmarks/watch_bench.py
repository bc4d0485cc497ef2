"""Watch-mode benchmark on a copy of a corpus; prints figures for the README.  Not a pytest test.

    python tests/benchmarks/watch_bench.py --corpus torch --edits 50 [--jobs 2] [--checkout 4000]
    python tests/benchmarks/watch_bench.py --corpus torch4x --edits 50

1. Starts `docgraph watch` on a private copy (after a full build) and waits until it watches.
2. Saves a Python file `--edits` times, each save adding a function (as an editor save would:
   the file rewritten whole), and measures, for each save, the time until that file's own
   `_docs.md` and `_kw.md` both show the new function: first `--edits` saves each made once the
   watcher finished rebuilding after the last one, then `--edits` saves each 0.3 s after the
   last one's pages showed (while the rest of its rebuild may still run).  A save whose pages
   never show it within 30 s counts as lost.
3. Commits a branch that touches `--checkout` files, checks it out and back, and counts the
   rebuild lines the watcher printed for each checkout, and any line about an overflow.
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


def settle(lines: list[tuple[float, str]], quiet: float = 5.0, limit: float = 300.0) -> None:
    """Wait until the watcher printed nothing for `quiet` seconds: its rebuilds are done.  (Taking
    the first line after the edits as their end once let the edits' own rebuild, queued behind
    the busy series, run into the first checkout and count as its rebuild.)"""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        last = lines[-1][0] if lines else 0.0
        if time.monotonic() - last >= quiet:
            return
        time.sleep(0.2)


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
    parser.add_argument("--corpus", default="torch", choices=["torch", "torch4x", "cpython"])
    parser.add_argument("--checkout", type=int, default=4000, help="files a checkout touches")
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
        modules = next(p for p in (root / "torch" / "nn" / "modules",
                                   root / "t2" / "torch" / "nn" / "modules") if p.is_dir())
        py_files = sorted(modules.glob("*.py"))
        latencies = []
        lost = 0
        busy: list[float] = []  # saves made while the rebuild of the last one still ran
        for index in range(2 * args.edits):
            idle = index < args.edits
            victim = py_files[index % len(py_files)]
            rel = victim.relative_to(root).as_posix()
            pages = [root / "repo-docs" / (rel + "_docs.md"), root / "repo-docs" / (rel + "_kw.md")]
            name = f"watch_bench_added_{index}"
            if idle:  # the first series: each save once the watcher finished the last rebuild
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and \
                        sum(" changed (" in line for _, line in lines) < index:
                    time.sleep(0.01)
            time.sleep(0.3)
            text = victim.read_text(encoding="utf-8") + f"\n\ndef {name}():\n    return {index}\n"
            started = time.monotonic()
            victim.write_text(text, encoding="utf-8")
            while not all(name in page.read_text(encoding="utf-8") for page in pages):
                if time.monotonic() - started > 30:
                    lost += 1
                    break
                time.sleep(0.002)
            else:
                (latencies if idle else busy).append((time.monotonic() - started) * 1000)
        settle(lines)  # the busy series' rebuilds finished: the lines below are the checkouts'
        # a branch touching `--checkout` files
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
        subprocess.run(git + ["checkout", "-q", "-b", "bench-other"], cwd=root, check=True)
        before_edits = len(lines)
        touched = sorted(root.rglob("*.h"))[:args.checkout]
        for path in touched:
            with path.open("a") as handle:
                handle.write("\n// touched on the benchmark branch\n")
        subprocess.run(git + ["commit", "-qam", f"touch {len(touched)} files"], cwd=root, check=True)
        # the watcher rebuilds the edited files first: let it finish before the checkouts
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not any(" changed (" in l for _, l in lines[before_edits:]):
            time.sleep(0.1)
        settle(lines)
        rebuilds = []
        for branch in (home, "bench-other"):
            count = len(lines)
            subprocess.run(git + ["checkout", "-q", branch], cwd=root, check=True)
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and not any(" changed (" in l for _, l in lines[count:]):
                time.sleep(0.1)
            settle(lines, 10.0)  # any second rebuild of the same checkout would show up by now
            rebuilds.append(sum(1 for _, line in lines[count:] if " changed (" in line))
            for _, line in lines[count:]:
                print(line[:300], file=sys.stderr)
        mem = memory(proc.pid)
        proc.terminate()
        proc.wait(60)
    for label, series in (("on an idle watcher", latencies),
                          ("0.3 s after the last save's pages (its rebuild still running)", busy)):
        series.sort()
        p95 = series[max(0, round(0.95 * len(series)) - 1)]
        print(f"\n{args.corpus} corpus, {len(series)} saves adding a function {label}: save -> its "
              f"_docs.md and _kw.md show it: median {statistics.median(series):.0f} ms, 95th "
              f"percentile {p95:.0f} ms, max {series[-1]:.0f} ms")
    print(f"saves lost: {lost}")
    print(f"git checkout touching {args.checkout:,} files, there and back: rebuilds per checkout "
          f"{rebuilds}; overflow lines: {sum('overflow' in l for _, l in lines)}")
    print(f"watcher memory: peak {mem.get('VmHWM')} MB, at the end {mem.get('VmRSS')} MB")


if __name__ == "__main__":
    main()
