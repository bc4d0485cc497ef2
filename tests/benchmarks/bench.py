"""Benchmarks on the real corpora; prints a Markdown table for the README.  Not collected by pytest.

    python tests/benchmarks/bench.py --corpus torch --runs 3
    python tests/benchmarks/bench.py --corpus torch --scenarios full-j2,noop,edit-body
    python tests/benchmarks/bench.py --corpus torch,torch4x --runs 9 --scenarios walk-stat,noop,edit-body

With several corpora (`--corpus torch,torch4x`) each scenario's runs alternate between them (run 1
of torch, run 1 of torch4x, run 2 of torch4x, run 2 of torch, ...), and a last table gives the
ratio of their medians and the median of the ratios of the pairs of runs; for a full build, another
gives each step's median (the wall seconds of the plan and of each stage, the CPU seconds of each
task kind's actions, from each build's `last-build.json`) and their ratio.  Measured corpus after
corpus, the same code's torch4x edit build read 1.28 and 1.85 times its torch figure in two
sittings a quarter of an hour apart (README, session 25): the machine's speed drifts by a third
over minutes, and a comparison made minutes apart measures the drift.

Each scenario runs `docgraph build` as a child process on a private copy of the corpus and
records wall time and the peak resident set size of the largest process (see :func:`run`);
`memory-j2` samples the whole process tree of one `-j 2` full build (summed PSS from /proc).
Baselines measured in the same invocation, so figures from other machines compare as ratios:

- plain doit: the same number of tasks (two per file, one per folder) with trivial actions;
- Universal Ctags (`ctags -R`) over the same files, if installed.

`state` builds a fresh copy with `-j 2` and prints the size of its state folder beside its
pages (`state_size.py`).

The corpora are git repositories with one commit (`make-corpus.sh`), so builds of their copies
ask `git status` what changed (`docgraph.journal`); `git-status` times git's own look, the floor
of such a no-op, as `walk-stat` times a bare walk and stat of the sources.  `--no-git` removes
`.git` from the copy of the no-op and edit scenarios: builds then walk and stat the tree.

Every full build (and every plain-doit first build) gets a folder of its own, and nothing is
deleted until the benchmark ends.  On ext4 without a journal, as here, creating files costs more
for a few minutes after tens of thousands were deleted (the inode allocator skips recently
deleted inodes).  The old method deleted the last run's tree (a built copy of the torch corpus
holds about 139,000 files, 63,000 of them in its `.git`) just before the next full build, which
made that build about 5 s slower (36.7 s against 31.8 s, measured), a cost that a build in a
fresh clone does not pay.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[2]
MAKE_CORPUS = REPO.parent / "shared" / "bench" / "make-corpus.sh"


def _tree(pid: int) -> list[int]:
    """A process and all its descendants (Linux /proc)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return [pid]
    return [pid, *(p for child in children for p in _tree(int(child)))]


def _high_water(pids: list[int]) -> int:
    """The largest peak RSS (VmHWM, kB) among `pids`."""
    peak = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:  # gone between listing and reading
            pass
    return peak


def run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (MB) of the process tree's largest process, and stdout.

    A thread reads the high-water mark (VmHWM) of the build and of every descendant (its
    workers are children of a fork server the build does not wait for) every 0.05 s while it
    runs; a process that peaks and exits within 0.05 s of its last reading is missed.  The
    `ru_maxrss` that `wait4` gives is not used: a child forked from this process counts this
    process's resident pages until it executes the build (every row of an earlier run read
    417 MB at torch4x, the bare walk's too)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=env, text=True)
    peak = [0]
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], _high_water(_tree(proc.pid)))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out = proc.stdout.read() if proc.stdout else ""
    _, status, _usage = os.wait4(proc.pid, 0)
    done.set()
    watcher.join()
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{out[-2000:]}")
    return seconds, peak[0] // 1024, out


def tree_memory(cmd: list[str], interval: float = 0.25) -> tuple[float, int, int]:
    """Wall seconds, and the peak over time of the summed PSS and RSS (MB) of the process and all
    its descendants, sampled every `interval` seconds from /proc (Linux).  PSS counts a page
    shared by copy-on-write once, split between the processes sharing it."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    peak_pss = peak_rss = 0
    while proc.poll() is None:
        pss = rss = 0
        for pid in _tree(proc.pid):
            try:
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                    elif line.startswith("Rss:"):
                        rss += int(line.split()[1])
            except OSError:  # gone between listing and reading
                pass
        peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
        time.sleep(interval)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}")
    return time.perf_counter() - started, peak_pss // 1024, peak_rss // 1024


def corpus(dest: Path, name: str) -> Path:
    path = dest / name
    if not path.exists():
        subprocess.run(["bash", str(MAKE_CORPUS), str(dest), name], check=True)
    return path


def fresh_copy(source: Path, target: Path) -> Path:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, symlinks=True,
                    ignore=shutil.ignore_patterns("repo-docs", ".docgraph"))
    os.sync()  # the copy's write-back is not the measured build's work
    return target


def docgraph(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "docgraph.cli", "build", "-q", str(root), *args]


WALK = """
import os, sys
skip = {".git", "repo-docs", ".docgraph"}
for folder, dirs, files in os.walk(sys.argv[1]):
    dirs[:] = [d for d in dirs if d not in skip]
    for name in files:
        os.stat(os.path.join(folder, name), follow_symlinks=False)
"""


def plain_doit() -> list[str]:
    """`doit` as a user runs it in the repository (its dodo.py: `from docgraph.dodo import *`)."""
    return [sys.executable, "-m", "doit"]


@functools.cache
def pick_file(root: Path) -> Path:
    for preferred in (root / "torch" / "nn" / "modules" / "linear.py",
                      root / "t2" / "torch" / "nn" / "modules" / "linear.py"):  # torch4x
        if preferred.exists():
            return preferred
    found = sorted(root.rglob("*.py"))
    return found[len(found) // 2]


def scenario(name: str, root: Path, work: Path, runs: int, first: int = 0) -> list[tuple[float, int]]:
    """`runs` runs of one scenario (numbered from `first`: each full build gets a folder of its
    own); the no-op and edit scenarios share one built copy of the corpus, `work / "tree"`."""
    results = []
    for number in range(first, first + runs):
        target = work / "tree"
        if name in ("cache-cold", "cache-warm"):  # a fresh clone, no local state, a team cache
            cache = work / ("team-cache" if name == "cache-warm" else f"cold-cache-{number}")
            if name == "cache-warm" and not cache.exists():  # a teammate's build filled it
                run(docgraph(fresh_copy(root, work / "cache-seed"), "-j", "2", "--cache", str(cache)))
            target = fresh_copy(root, work / f"{name}-{number}")
            results.append(run(docgraph(target, "-j", "2", "--cache", str(cache)))[:2])
            done = json.loads((target / ".docgraph" / "last-build.json").read_text())
            counts = done.get("cache", {})
            print(f"{name}: {len(done['sources_analyzed'])} analysed, "
                  f"{len(done.get('sources_from_cache', []))} from the cache, "
                  f"{counts.get('bytes_read', 0) / 1e6:.1f} MB read, "
                  f"{counts.get('bytes_written', 0) / 1e6:.1f} MB written; cache folder "
                  f"{sum(p.stat().st_size for p in cache.rglob('*') if p.is_file()) / 1e6:.1f} MB",
                  file=sys.stderr)
            continue
        if name.startswith("full"):
            target = fresh_copy(root, work / f"{name}-{number}")  # deleted when the benchmark ends
            jobs = name.split("-j", 1)[1]
            results.append(run(docgraph(target, "-j", jobs))[:2])
            note_steps(root.name, name, target)
            continue
        if not (target / ".docgraph").exists():
            fresh_copy(root, target)
            (target / "dodo.py").write_text("from docgraph.dodo import *  # noqa: F403\n")
            if NO_GIT:
                shutil.rmtree(target / ".git", ignore_errors=True)
            run(docgraph(target, "-j", "2"))
        victim = pick_file(target)
        original = victim.read_bytes()
        if name == "walk-stat":  # the floor of a no-op: a bare walk and stat of the sources
            results.append(run([sys.executable, "-c", WALK, str(target)])[:2])
        elif name == "git-status":  # the floor of a no-op in a git work tree: git's own look
            results.append(run(["git", "status", "--porcelain=v2", "--untracked-files=no"],
                               cwd=target)[:2])  # (as docgraph.journal asks it)
        elif name == "noop":
            run(docgraph(target))
            results.append(run(docgraph(target))[:2])
        elif name == "doit-user-noop":  # plain doit in the repository, after docgraph build
            run(plain_doit(), cwd=target)
            results.append(run(plain_doit(), cwd=target)[:2])
        elif name == "doit-user-edit-body":
            victim.write_bytes(original + b"\n# benchmark edit\n")
            results.append(run(plain_doit(), cwd=target)[:2])
            victim.write_bytes(original)
            run(plain_doit(), cwd=target)
        elif name == "edit-body":
            victim.write_bytes(original + b"\n# benchmark edit\n")
            results.append(run(docgraph(target))[:2])
            victim.write_bytes(original)
            run(docgraph(target))
        elif name == "edit-identifier":
            victim.write_bytes(original + b"\n\ndef benchmark_added_function():\n    return 1\n")
            results.append(run(docgraph(target))[:2])
            victim.write_bytes(original)
            run(docgraph(target))
        elif name == "fresh-clone":
            # a clone in a folder of the same name, as CI checks a repository out under its name
            # (with no manifest and no README title, the entry page's title is the folder's name)
            clone = work / "clone" / target.name
            if clone.parent.exists():
                shutil.rmtree(clone.parent)
            shutil.copytree(target, clone, symlinks=True)  # copytree gives every file a new mtime
            for path in clone.rglob("*"):
                if path.is_file() and not path.is_symlink():
                    os.utime(path)
            moved = pick_file(clone)
            moved.write_bytes(moved.read_bytes() + b"\n# changed in the clone\n")
            results.append(run(docgraph(clone))[:2])
    return results


NO_GIT = False
"""--no-git: the steady-state scenarios run in a copy without `.git` (the corpora are git
repositories with one commit, and a build of a git work tree asks `git status` what changed)."""


def doit_baseline(root: Path, work: Path, runs: int) -> dict[str, list[tuple[float, int]]]:
    """Plain doit, same task count, trivial actions: (first build, no-op)."""
    files = [p.relative_to(root).as_posix() for p in root.rglob("*")
             if p.is_file() and ".git" not in p.parts and "repo-docs" not in p.parts
             and ".docgraph" not in p.parts]
    folders = sorted({os.path.dirname(f) for f in files})
    dodo = f'''
import os
ROOT = {str(root)!r}
FILES = open("files.txt").read().split("\\n")
FOLDERS = open("folders.txt").read().split("\\n")
DOIT_CONFIG = {{"backend": "sqlite3", "dep_file": "doit.sqlite3", "verbosity": 0}}
def touch(targets):
    for t in targets:
        os.makedirs(os.path.dirname(t), exist_ok=True)
        open(t, "w").close()
def task_analyze():
    for i, f in enumerate(FILES):
        yield {{"name": f, "actions": [touch], "file_dep": [os.path.join(ROOT, f)], "targets": [f"out/a/{{i}}"]}}
def task_page():
    for i, f in enumerate(FILES):
        yield {{"name": f, "actions": [touch], "file_dep": [f"out/a/{{i}}"], "targets": [f"out/p/{{i}}"]}}
def task_folder():
    for i, d in enumerate(FOLDERS):
        yield {{"name": d or ".", "actions": [touch], "file_dep": [], "targets": [f"out/f/{{i}}"], "uptodate": [True]}}
'''
    out: dict[str, list[tuple[float, int]]] = {"doit-full": [], "doit-noop": []}
    for number in range(runs):
        base = work / f"doit-baseline-{number}"  # a new folder each run, as for the full builds
        base.mkdir()
        (base / "files.txt").write_text("\n".join(files))
        (base / "folders.txt").write_text("\n".join(folders))
        (base / "dodo.py").write_text(dodo)
        out["doit-full"].append(run([sys.executable, "-m", "doit", "-f", "dodo.py"], cwd=base)[:2])
        out["doit-noop"].append(run([sys.executable, "-m", "doit", "-f", "dodo.py"], cwd=base)[:2])
    return out


def ctags_baseline(root: Path, work: Path, runs: int) -> list[tuple[float, int]]:
    if shutil.which("ctags") is None:
        return []
    return [run(["ctags", "-R", "--fields=+n", "-f", str(work / "tags"),
                 "--exclude=.git", "--exclude=repo-docs", "--exclude=.docgraph", str(root)])[:2]
            for _ in range(runs)]


def row(name: str, values: list[tuple[float, int]], reference: float | None) -> str:
    seconds = [v[0] for v in values]
    median = statistics.median(seconds)
    ratio = f"{median / reference:.2f}" if reference else ""
    return (f"| {name} | {median:.2f} | {min(seconds):.2f} | {max(seconds):.2f} | "
            f"{max(v[1] for v in values)} | {ratio} |")


STEPS: dict[tuple[str, str], dict[str, list[float]]] = {}
"""(corpus, full-build scenario) -> step -> seconds of each run: the wall seconds of the build's
steps and the CPU seconds of its actions by task kind, from its report (`last-build.json`)."""


def note_steps(corpus_name: str, scenario_name: str, target: Path) -> None:
    done = json.loads((target / ".docgraph" / "last-build.json").read_text())
    steps = STEPS.setdefault((corpus_name, scenario_name), {})
    for step, seconds in done.get("timings", {}).items():
        steps.setdefault(f"{step}, wall", []).append(seconds)
    for kind, seconds in done.get("cpu_seconds", {}).items():
        steps.setdefault(f"{kind} actions, CPU", []).append(seconds)


def step_rows(names: list[str], scenario_name: str) -> list[str]:
    """The full build `scenario_name` step by step (:data:`STEPS`): each corpus's median seconds
    and each corpus after the first against the first, the ratio of the medians."""
    found = [STEPS.get((n, scenario_name), {}) for n in names]
    steps = [s for s in found[0] if all(s in f for f in found[1:])]
    if not steps:
        return []
    first, others = names[0], names[1:]
    lines = [f"| {scenario_name}: step | " + " | ".join(f"{n} median s" for n in names) + " | "
             + " | ".join(f"{o} / {first}" for o in others) + " |",
             "|---|" + "---|" * (len(names) + len(others))]
    for step in steps:
        medians = [statistics.median(f[step]) for f in found]
        ratios = [f"{m / medians[0]:.2f}" if medians[0] else "" for m in medians[1:]]
        lines.append(f"| {step} | " + " | ".join(f"{m:.2f}" for m in medians) + " | " + " | ".join(ratios) + " |")
    return lines


def ratio_rows(names: list[str], results: dict[str, dict[str, list[tuple[float, int]]]]) -> list[str]:
    """Each corpus after the first against the first: the ratio of their medians, and the median
    of the ratios of runs made one after the other (run i of one corpus over run i of the other:
    a machine slower for a minute slows both runs of a pair)."""
    first, others = names[0], names[1:]
    lines = ["| scenario | " + " | ".join(f"{n} median s" for n in names) + " | "
             + " | ".join(f"{o} / {first}: medians | paired runs" for o in others) + " |",
             "|---|" + "---|" * (len(names) + 2 * len(others))]
    for scenario_name, base in results[first].items():
        if not all(scenario_name in results[o] for o in others):
            continue
        medians = [statistics.median(v[0] for v in results[n][scenario_name]) for n in names]
        cells = [f"{m:.2f}" for m in medians]
        for at, other in enumerate(others, 1):
            pairs = [b[0] / a[0] for a, b in zip(base, results[other][scenario_name])]
            cells += [f"{medians[at] / medians[0]:.2f}", f"{statistics.median(pairs):.2f}"]
        lines.append(f"| {scenario_name} | " + " | ".join(cells) + " |")
    return lines


ONCE = ("state", "memory-j2")
"""Scenarios measured once per corpus, not per run."""


def measure_once(name: str, root: Path, work: Path) -> str:
    """The line of a scenario in :data:`ONCE`."""
    if name == "state":  # the state folder of a full `-j 2` build beside its pages
        from state_size import report  # type: ignore[import-not-found]

        built = fresh_copy(root, work / "state")
        run(docgraph(built, "-j", "2"))
        return "state folder after a full `-j 2` build:\n\n" + report(built)
    seconds, pss, rss = tree_memory(docgraph(fresh_copy(root, work / "memory"), "-j", "2"))
    return (f"full build `-j 2`, all processes together: peak PSS {pss} MB "  # (the whole process
            f"(peak summed RSS {rss} MB, which counts shared pages twice); "  # tree, not its
            f"{seconds:.1f} s while sampled")  # largest process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="torch",
                        help="torch, torch4x or cpython; several, comma-separated (torch,torch4x), "
                             "are measured in one run, their runs interleaved, and compared")
    parser.add_argument("--root", help="benchmark this tree instead of a named corpus "
                        "(tests/benchmarks/synthetic.py makes one)")
    parser.add_argument("--dest", default=os.environ.get("DOCGRAPH_CORPORA", str(REPO.parent / "corpora")))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenarios",
                        default="full-j1,full-j2,noop,doit-user-noop,edit-body,doit-user-edit-body,"
                                "edit-identifier,fresh-clone,memory-j2")
    parser.add_argument("--baselines", default="doit,ctags")
    parser.add_argument("--no-git", action="store_true",
                        help="run the no-op and edit scenarios in a copy without .git")
    args = parser.parse_args()
    global NO_GIT
    NO_GIT = args.no_git
    names = [args.corpus] if args.root else args.corpus.split(",")
    unknown = [n for n in names if n not in ("torch", "torch4x", "cpython")]
    if unknown or len(set(names)) != len(names):
        parser.error(f"--corpus: torch, torch4x or cpython, each once (not {args.corpus})")
    roots = {n: Path(args.root).resolve() if args.root else corpus(Path(args.dest), n) for n in names}
    # pip compiles a package's bytecode when it installs it, and an editable install writes it on
    # first import, unless PYTHONDONTWRITEBYTECODE is set (as on the machine these figures come
    # from); then every run would compile docgraph's 40 modules again, about 0.05-0.1 s a run.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "tasks"), str(REPO / "config")],
                   check=True, stdout=subprocess.DEVNULL)
    results: dict[str, dict[str, list[tuple[float, int]]]] = {n: {} for n in names}
    lines: dict[str, dict[str, str]] = {n: {} for n in names}
    with tempfile.TemporaryDirectory(prefix="docgraph-bench-") as tmp:
        works = {n: Path(tmp) / n for n in names}
        for work in works.values():
            work.mkdir()
        for name in args.scenarios.split(","):
            if name in ONCE:
                for n in names:
                    lines[n][name] = measure_once(name, roots[n], works[n])
                    print(f"{n}: {lines[n][name]}", file=sys.stderr)
                continue
            for number in range(args.runs):
                # the corpora one after the other in each run, the first of them alternating
                for n in names if number % 2 == 0 else names[::-1]:
                    results[n].setdefault(name, []).extend(scenario(name, roots[n], works[n], 1, number))
            for n in names:
                print(f"{n} {name}: {[round(s, 2) for s, _ in results[n][name]]}", file=sys.stderr)
        for n in names:
            if "doit" in args.baselines:
                results[n].update(doit_baseline(roots[n], works[n], args.runs))
            if "ctags" in args.baselines:
                tags = ctags_baseline(roots[n], works[n], args.runs)
                if tags:
                    results[n]["ctags -R"] = tags
    for n in names:
        report_corpus(roots[n].name if args.root else n, roots[n], args.runs, results[n], lines[n])
    if len(names) > 1:
        print(f"\n{' and '.join(names)} in the same run, runs interleaved:\n")
        print("\n".join(ratio_rows(names, results)))
        for scenario_name in args.scenarios.split(","):
            steps = step_rows(names, scenario_name)
            if steps:
                print(f"\n{scenario_name}, step by step (each build's `last-build.json`):\n")
                print("\n".join(steps))


def report_corpus(title: str, root: Path, runs: int, results: dict[str, list[tuple[float, int]]],
                  lines: dict[str, str]) -> None:
    """One corpus's table, and its lines of the scenarios measured once."""
    files = sum(1 for p in root.rglob("*") if p.is_file() and not
                {".git", "repo-docs", ".docgraph"} & set(p.relative_to(root).parts))
    full_ref = statistics.median(v[0] for v in results["doit-full"]) if "doit-full" in results else None
    noop_ref = statistics.median(v[0] for v in results["doit-noop"]) if "doit-noop" in results else None
    print(f"\n{title} corpus: {files:,} files; {runs} run(s) each; "
          f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}"
          f"{'; .git removed' if NO_GIT else '; a git work tree'}\n")
    if results:
        print("| scenario | median s | min s | max s | peak RSS MB | ratio to plain doit |")
        print("|---|---|---|---|---|---|")
    for name, values in results.items():
        reference = noop_ref if name in ("noop", "edit-body", "edit-identifier", "fresh-clone",
                                         "doit-user-noop", "doit-user-edit-body", "walk-stat",
                                         "git-status") \
            else full_ref
        print(row(name, values, reference if not name.startswith(("doit", "ctags")) else None))
    for name in ONCE:
        if name in lines:
            print(f"\n{lines[name]}")


if __name__ == "__main__":
    main()
