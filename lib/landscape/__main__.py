"""Command line: ``python -m landscape list | run <chapter> | sweep <chapter> | book | clean``.

Examples::

    python -m landscape list
    python -m landscape run 01_trajectories --profile quick
    python -m landscape run 01_trajectories -p dataset=path/to/file.csv -p target=price
    python -m landscape sweep 01_trajectories --grid seed=[0,1,2] --grid lr=[0.01,0.1] --jobs 2
    python -m landscape book --profile quick
    python -m landscape clean --cache

Exit status: 0 on success, 2 for a bad chapter, profile, parameter value or label (one line on stderr, nothing
written), 1 when a chapter's notebook fails (one line naming the failed notebook).
"""

from __future__ import annotations

import argparse
import shutil
import sys

from landscape.infra import paths
from landscape import runner


def _list(args) -> int:
    prof = runner.load_profile(args.profile) if args.profile else {}
    for chapter in runner.chapters():
        print(chapter)
        for name, spec in runner.read_parameters(chapter).items():
            if name in runner.RESERVED:
                continue
            extra = f"  [{args.profile}: {prof[chapter][name]!r}]" if name in prof.get(chapter, {}) else ""
            help_ = f"  # {spec['help']}" if spec["help"] else ""
            print(f"    {name} = {spec['default']!r} ({spec['allowed']}){extra}{help_}")
    print("profiles:", ", ".join(runner.profiles()))
    return 0


def _run(args) -> int:
    overrides = dict(runner.parse_assignment(p) for p in args.param)
    out = runner.execute(args.chapter, args.profile, overrides, label=args.label, force=args.force)
    print(f"executed notebook: {out.relative_to(paths.root())}")
    print(f"results (CSV):     {(paths.results_root() / out.parent.name / args.chapter).relative_to(paths.root())}/")
    return 0


def _sweep(args) -> int:
    from landscape import sweep

    grid = sweep.parse_grid(args.grid)
    overrides = dict(runner.parse_assignment(p) for p in args.param)
    out, results = sweep.run_sweep(args.chapter, grid, overrides=overrides, profile=args.profile, jobs=args.jobs,
                                   scheduler=args.scheduler, name=args.name)
    print(f"sweep tables (CSV): {out.relative_to(paths.root())}/")
    failed = [r for r in results if not r.ok]
    for r in failed:
        print(f"error: {args.chapter} {r.point} failed: {r.error}", file=sys.stderr)
    return 1 if failed else 0


def _book(args) -> int:
    runner.build_book(args.profile, force=args.force, jobs=args.jobs)
    return 0


CLEAN = {
    "cache": ("data/cache", "trajectories, distance matrices, trained networks"),
    "results": ("data/results", "result tables of every run"),
    "executed": ("book/_executed", "executed notebooks, stamps and failed runs"),
}


def _clean(args) -> int:
    chosen = [k for k in CLEAN if getattr(args, k)] or ["executed"]
    for key in chosen:
        rel, what = CLEAN[key]
        path = paths.root() / rel
        if path.exists():
            shutil.rmtree(path)
            print(f"removed {rel}/ ({what})")
        else:
            print(f"{rel}/ is already empty")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m landscape", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="list chapters, their parameters, defaults and allowed values")
    p.add_argument("--profile", default=None, help="also show this profile's overrides")
    p.set_defaults(func=_list)
    p = sub.add_parser("run", help="execute one chapter with Papermill")
    p.add_argument("chapter")
    p.add_argument("--profile", default=runner.PAPER, help="paper (default) or a notebooks/profiles/*.yaml name")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="set a parameter (repeatable); checked against its allowed values before anything runs")
    p.add_argument("--label", default=None, help="results folder name, a plain name (default: the profile, or "
                                                 "profile+hash with -p)")
    p.add_argument("--force", action="store_true", help="execute even if the stamp is current")
    p.set_defaults(func=_run)
    p = sub.add_parser("sweep", help="execute a grid of parameter values of one chapter and gather its tables")
    p.add_argument("chapter")
    p.add_argument("--grid", action="append", default=[], required=True, metavar="NAME=JSONLIST",
                   help="a swept parameter and its values, e.g. seed=[0,1,2] (repeatable: cartesian product)")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="fix a parameter for every run (repeatable)")
    p.add_argument("--profile", default=runner.PAPER)
    p.add_argument("--jobs", default=None, help="local worker processes (default $LANDSCAPE_JOBS or 1; 'all')")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on an existing Dask cluster, e.g. tcp://127.0.0.1:8786")
    p.add_argument("--name", default=None, help="folder under data/results/sweeps/ (default: chapter-hash)")
    p.set_defaults(func=_sweep)
    p = sub.add_parser("book", help="execute every changed chapter and build the HTML book")
    p.add_argument("--profile", default=runner.PAPER)
    p.add_argument("--force", action="store_true")
    p.add_argument("--jobs", default=None,
                   help="chapters executed at once (default $LANDSCAPE_JOBS or 1; 'all' = one per core)")
    p.set_defaults(func=_book)
    p = sub.add_parser("clean", help="remove generated files (default: --executed)")
    for key, (rel, what) in CLEAN.items():
        p.add_argument(f"--{key}", action="store_true", help=f"remove {rel}/ ({what})")
    p.set_defaults(func=_clean)
    args = ap.parse_args(argv)
    try:
        return args.func(args)
    except runner.ChapterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except runner.RunError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
