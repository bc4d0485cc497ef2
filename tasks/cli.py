"""The `docgraph` command: build, check, watch and clean, over the same task graph as `doit`.

Exit codes: 0 success; 1 a task failed (or, with --strict, any finding; for `check`, pages not up
to date); 2 usage or config error;
3 the state folder is locked by another docgraph process; 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from . import gitprocess
from .errors import DocgraphError, UsageError

if TYPE_CHECKING:
    from .config import Config


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", nargs="?", default=".", help="repository to document (default: .)")
    parser.add_argument("--out", help="output folder (default: repo-docs/ under ROOT)")
    parser.add_argument("--config", help="configuration file (default: ROOT/docgraph.yaml)")
    parser.add_argument("--state", help="state folder (default: .docgraph/ under ROOT)")


def _cache_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache", metavar="URL",
                        help="shared cache (a folder or any fsspec URL such as s3://bucket/prefix); "
                             "overrides cache.url")
    parser.add_argument("--cache-read-only", action="store_true",
                        help="read the shared cache, never write it (for untrusted builds)")


def _with_cache(config: Config, args: argparse.Namespace) -> Config:
    """The configuration with the command line's cache options over `cache:` in docgraph.yaml."""
    import dataclasses

    cache = config.cache
    if args.cache:
        url = args.cache if "://" in args.cache else os.path.abspath(args.cache)
        cache = dataclasses.replace(cache, url=url)
    if args.cache_read_only:
        cache = dataclasses.replace(cache, read_only=True)
    return dataclasses.replace(config, cache=cache) if cache is not config.cache else config


def _shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    number, _, count = text.partition("/")
    if not (number.isdigit() and count.isdigit() and 1 <= int(number) <= int(count)):
        raise UsageError(f"--shard {text}: give K/N with 1 <= K <= N, such as 1/4")
    return int(number), int(count)


def default_jobs() -> int:
    """Worker processes when `-j` is not given: the CPUs this process may use, at most 8 (each
    worker holds a copy-on-write image of the build, so memory grows with the count)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    return max(1, min(8, usable))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="docgraph", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build or update the documentation")
    _common(build)
    build.add_argument("-j", "--jobs", type=int, default=default_jobs(),
                       help="worker processes (default: the usable CPUs, at most 8)")
    build.add_argument("-q", "--quiet", action="store_true", help="no progress, only the summary")
    build.add_argument("--strict", action="store_true", help="exit 1 when there is any finding")
    build.add_argument("--adopt", action="store_true",
                       help="take over an output folder that holds files docgraph did not write")
    _cache_options(build)
    build.add_argument("--shard", metavar="K/N",
                       help="analyse only shard K of N (a stable split by path) into the shared "
                            "cache and render nothing; a later build takes the results from the cache")
    watch = sub.add_parser("watch", help="build, then rebuild on every change")
    _common(watch)
    watch.add_argument("-j", "--jobs", type=int, default=default_jobs(),
                       help="worker processes for rebuilds of many files (default: as for build)")
    check = sub.add_parser("check", help="exit 1 when the pages are not what a build would write")
    _common(check)
    check.add_argument("-j", "--jobs", type=int, default=default_jobs(),
                       help="worker processes for the mirror build (default: as for build)")
    _cache_options(check)
    clean = sub.add_parser("clean", help="delete every generated page and the state folder")
    _common(clean)
    return parser


def build(args: argparse.Namespace) -> int:
    from .engine import Engine
    from .report import Progress
    from .workspace import open_workspace

    config = _with_cache(open_workspace(args.root, args.config, args.out, args.state, args.adopt),
                         args)
    shard = _shard(args.shard)
    if shard is not None and not config.cache.url:
        raise UsageError("--shard needs a shared cache to write to: pass --cache URL or set cache.url")
    engine = Engine(config, jobs=args.jobs, progress=Progress(quiet=args.quiet), shard=shard)
    report = engine.build()
    for finding in report.errors[:20] if not args.quiet else ():
        where = f"{finding.path}:{finding.line}" if finding.line else finding.path
        print(f"  {where}: {finding.message}", file=sys.stderr)
    if len(report.errors) > 20 and not args.quiet:
        print(f"  ... and {len(report.errors) - 20} more in {config.state}/last-build.json",
              file=sys.stderr)
    print(report.summary_line())
    if report.failed:
        return 1
    return 1 if args.strict and report.errors else 0


def watch(args: argparse.Namespace) -> int:
    from .watch import run_watch
    from .workspace import open_workspace

    config = open_workspace(args.root, args.config, args.out, args.state)
    return run_watch(config, args.config, args.jobs)


def check(args: argparse.Namespace) -> int:
    from .check import check as run_check
    from .config import load

    config = _with_cache(load(args.root, args.config, args.out, args.state), args)
    result = run_check(config, args.jobs)
    for label, pages in (("stale", result.stale), ("missing", result.missing),
                         ("orphaned", result.orphaned), ("untracked", result.untracked)):
        for page in pages:
            print(f"{label}: {page}")
    if result.ok:
        print(f"docgraph: {config.output} is up to date")
        return 0
    print(f"docgraph: {config.output} is not up to date: {len(result.stale)} stale, "
          f"{len(result.missing)} missing, {len(result.orphaned)} orphaned, "
          f"{len(result.untracked)} untracked; run `docgraph build`")
    return 1


def clean(args: argparse.Namespace) -> int:
    import shutil

    from .store import Lock, prune_empty_dirs, read_manifest, remove
    from .workspace import open_workspace

    config = open_workspace(args.root, args.config, args.out, args.state)
    with Lock(config.state):
        files = [f if os.path.isabs(f) else os.path.join(config.root, f)
                 for f in read_manifest(config.state)]
        removed = [f for f in files if remove(f)]
        prune_empty_dirs(removed, config.output)
        if os.path.isdir(config.output) and not os.listdir(config.output):
            os.rmdir(config.output)
    shutil.rmtree(config.state, ignore_errors=True)
    print(f"docgraph: removed {len(removed):,} generated file(s) and {config.state}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `docgraph` console script."""
    args = _parser().parse_args(argv)
    if args.command == "build" and args.shard is None:
        gitprocess.start_status_early(args.root)  # (see gitprocess: beside the imports below)
    import logging  # (after git started: the engine imports it in any case)

    level = logging.INFO if os.environ.get("DOCGRAPH_VERBOSE") else logging.WARNING
    logging.basicConfig(level=level, format="docgraph: %(message)s")
    try:
        return {"build": build, "watch": watch, "check": check, "clean": clean}[args.command](args)
    except DocgraphError as exc:
        print(f"docgraph: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("docgraph: interrupted; the next build continues from what was saved",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
