"""Command line: ``python -m landscape list | run | sweep | book | clean`` (``--help`` on each for its options).

Exit status: 0 on success, 2 for a bad chapter, profile, parameter value, label, ``--jobs`` or a folder the run
could not write (one line on stderr, nothing written), 1 when a chapter's notebook fails (one line naming the
failed notebook), 130 on Ctrl-C (one line; nothing published). Messages go through :mod:`logging`
(:mod:`landscape.runner.logs`): progress on stdout, warnings and errors on stderr; ``-q`` keeps only warnings and
errors, ``-v`` adds details (fingerprints, the kernel's own log).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys

import landscape
from landscape import runner
from landscape.infra import paths
from landscape.runner.logs import configure, level_of

log = logging.getLogger("landscape.cli")

DESCRIPTION = """\
Execute the book's chapters (Jupyter notebooks run by Papermill) under a profile, with
your own parameter values or data, and build the HTML book.
Run "python -m landscape COMMAND --help" for a command's options."""

EPILOG = """\
examples:
  python -m landscape list 01_trajectories
  python -m landscape run 01_trajectories --profile quick
  python -m landscape run 01_trajectories -p dataset=path/to/file.csv -p target=price
  python -m landscape sweep 01_trajectories --grid seed=[0,1,2] --grid lr=[0.01,0.1] --jobs 2
  python -m landscape book --profile quick --jobs all
  python -m landscape clean --results --label quick

exit status:
  0 success; 2 a bad chapter, profile, parameter value, label or --jobs, or a folder
  that cannot be written (one line, nothing written); 1 a chapter's notebook failed
  (one line naming the failed notebook); 130 interrupted (Ctrl-C; nothing published)."""


def _choices(names) -> str:
    return ", ".join(names) or "(none)"


def _list(args) -> int:
    if args.chapter is not None:
        return _list_one(args.chapter)
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


def _list_one(chapter: str) -> int:
    """One chapter: each parameter with its default, allowed values, meaning and every profile's value."""
    path = runner.chapter_path(chapter)
    params = runner.read_parameters(chapter)
    others = {p: runner.load_profile(p).get(chapter, {}) for p in runner.profiles() if p != runner.PAPER}
    print(f"{chapter} ({path.relative_to(paths.root())})")
    for name, spec in params.items():
        if name in runner.RESERVED:
            continue
        print(f"  {name} = {spec['default']!r}")
        print(f"      allowed: {spec['allowed']}")
        if spec["help"]:
            print(f"      meaning: {spec['help']}")
        for prof, values in others.items():
            if name in values:
                print(f"      {prof}: {values[name]!r}")
    print(f"run it: python -m landscape run {chapter} [--profile {'|'.join(runner.profiles())}] [-p NAME=VALUE ...]")
    return 0


def _run(args) -> int:
    overrides = dict(runner.parse_assignment(p) for p in args.param)
    out = runner.execute(args.chapter, args.profile, overrides, label=args.label, force=args.force,
                         progress=args.verbosity >= 0, jobs=args.jobs, figures=args.figures)
    results = paths.results_root() / out.parent.name / args.chapter
    log.info(f"executed notebook: {out.relative_to(paths.root())}")
    if results.is_dir():
        log.info(f"results (CSV):     {results.relative_to(paths.root())}/")
    else:
        log.info("results (CSV):     none (the chapter writes no tables)")
    return 0


def _sweep(args) -> int:
    from landscape import sweep

    grid = sweep.parse_grid(args.grid)
    overrides = dict(runner.parse_assignment(p) for p in args.param)
    out, results = sweep.run_sweep(args.chapter, grid, overrides=overrides, profile=args.profile, jobs=args.jobs,
                                   scheduler=args.scheduler, name=args.name)
    log.info(f"sweep tables (CSV): {out.relative_to(paths.root())}/")
    failed = [r for r in results if not r.ok]
    for r in failed:
        log.error(f"{args.chapter} {r.point} failed: {r.error}")
    return 1 if failed else 0


def _book(args) -> int:
    runner.build_book(args.profile, force=args.force, jobs=args.jobs, progress=args.verbosity >= 0)
    return 0


CLEAN = {
    "cache": ("data/cache", "trajectories, distance matrices, trained networks"),
    "results": ("data/results", "result tables of every run"),
    "executed": ("book/_executed", "executed notebooks, stamps and failed runs"),
}
PROTECTED = runner.PAPER  # the label whose removal asks first: the paper run takes the better part of an hour


def _clean_targets(args) -> list[tuple[str, str]]:
    """``(folder relative to the root, what it holds)`` for each folder ``clean`` would remove."""
    chosen = [k for k in CLEAN if getattr(args, k)]
    if args.label is None:
        return [CLEAN[k] for k in chosen or ["executed"]]
    label = runner.check_label(args.label)
    if "cache" in chosen:
        raise runner.ChapterError("--cache cannot be combined with --label: the cache is shared by every label")
    out = []
    for key in chosen or ["results", "executed"]:
        rel, _ = CLEAN[key]
        if key == "results":
            out.append((f"{rel}/{label}", f"result tables of the run {label!r}"))
        else:
            out += [(f"{rel}/{label}", f"executed notebooks and stamps of the run {label!r}"),
                    (f"{rel}/_failed/{label}", f"failed notebooks of the run {label!r}")]
    return out


def _touches_paper(rel: str) -> bool:
    """Whether removing ``rel`` removes the paper run's results or executed notebooks."""
    root = paths.root()
    for base in ("data/results", "book/_executed"):
        if rel == base and (root / base / PROTECTED).exists():
            return True
        if rel == f"{base}/{PROTECTED}" and (root / rel).exists():
            return True
    return False


def _confirm(question: str, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        raise runner.ChapterError(f"{question}: refusing without --yes (not an interactive terminal); "
                                  f"nothing was removed")
    answer = input(f"{question} [y/N] ").strip().lower()
    return answer in ("y", "yes")


def _clean(args) -> int:
    targets = _clean_targets(args)
    existing = [(rel, what) for rel, what in targets if (paths.root() / rel).exists()]
    paper = [rel for rel, _ in existing if _touches_paper(rel)]
    if paper and not _confirm(f"remove the paper run ({', '.join(p + '/' for p in paper)}; executing it again "
                              f"takes the better part of an hour)?", args.yes):
        log.info("nothing removed")
        return 1
    for rel, what in targets:
        path = paths.root() / rel
        if path.exists():
            shutil.rmtree(path)
            log.info(f"removed {rel}/ ({what})")
        else:
            log.info(f"{rel}/ is already empty")
    return 0


def _verbosity(args) -> int:
    return getattr(args, "verbose", 0) - getattr(args, "quiet", 0)


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser (plain-text help; every argument has a help line and its choices).

    Returns
    -------
    argparse.ArgumentParser
    """
    chapters = list(runner.chapters())
    profiles = runner.profiles()
    chapter_help = f"chapter name, one of: {_choices(chapters)}"
    profile_help = f"one of: {_choices(profiles)} (default: paper, the source documents' settings)"
    jobs_help = ("worker processes: a positive integer or 'all' (one per core); default: $LANDSCAPE_JOBS, "
                 "else 1; the numbers do not depend on it")

    def common(suppress: bool) -> argparse.ArgumentParser:
        p = argparse.ArgumentParser(add_help=False)
        default = argparse.SUPPRESS if suppress else 0
        p.add_argument("-q", "--quiet", action="count", default=default,
                       help="only warnings and errors (no progress lines or progress bar)")
        p.add_argument("-v", "--verbose", action="count", default=default,
                       help="more detail: fingerprints, Papermill's and the kernel's own log")
        return p

    ap = argparse.ArgumentParser(prog="python -m landscape", description=DESCRIPTION, epilog=EPILOG,
                                 formatter_class=argparse.RawDescriptionHelpFormatter, parents=[common(False)])
    ap.add_argument("--version", action="version", version=f"%(prog)s {landscape.__version__}",
                    help="print the version of the landscape package and exit")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND",
                            title="commands (python -m landscape COMMAND --help)")
    kw = {"parents": [common(True)]}

    p = sub.add_parser("list", help="chapters, their parameters, defaults, allowed values and profiles",
                       description="List every chapter's parameters, or one chapter's in detail.", **kw)
    p.add_argument("chapter", nargs="?", default=None, metavar="CHAPTER",
                   help=f"show this chapter only, each parameter with its allowed values, meaning and profile "
                        f"values; {chapter_help}")
    p.add_argument("--profile", default=None, metavar="PROFILE",
                   help=f"also show this profile's values; one of: {_choices(profiles)}")
    p.set_defaults(func=_list)

    p = sub.add_parser("run", help="execute one chapter (skipped when its published run is up to date)",
                       description="Execute one chapter with Papermill. Every value is checked before anything "
                                   "runs; the notebook and tables are published only when the run succeeds.", **kw)
    p.add_argument("chapter", metavar="CHAPTER", help=chapter_help)
    p.add_argument("--profile", default=runner.PAPER, metavar="PROFILE", help=profile_help)
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="set a parameter (repeatable); checked against its allowed values before anything runs; "
                        "'python -m landscape list CHAPTER' shows them")
    p.add_argument("--label", default=None, metavar="NAME",
                   help="results folder name: letters, digits, _ . + - (default: the profile, or "
                        "PROFILE+hash of the -p values)")
    p.add_argument("--force", action="store_true", help="execute even when the published run is up to date")
    p.add_argument("--jobs", default=None, metavar="N", help=f"{jobs_help} (for the units inside the chapter)")
    p.add_argument("--no-figures", dest="figures", action="store_false",
                   help="numbers only: build every figure but do not draw it (faster; the same tables; the book "
                        "re-executes such a run)")
    p.set_defaults(func=_run)

    p = sub.add_parser("sweep", help="execute a grid of parameter values of one chapter and gather its tables",
                       description="Execute the cartesian grid of --grid values, each as an ordinary run under "
                                   "its own label, and gather every table into data/results/sweeps/NAME/.", **kw)
    p.add_argument("chapter", metavar="CHAPTER", help=chapter_help)
    p.add_argument("--grid", action="append", default=[], required=True, metavar="NAME=JSONLIST",
                   help="a swept parameter and its values, e.g. seed=[0,1,2] (repeatable: cartesian product)")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="fix a parameter for every run (repeatable)")
    p.add_argument("--profile", default=runner.PAPER, metavar="PROFILE", help=profile_help)
    p.add_argument("--jobs", default=None, metavar="N", help=f"{jobs_help} (grid points at once)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on an existing Dask cluster, e.g. tcp://127.0.0.1:8786 (default: "
                        "$LANDSCAPE_SCHEDULER, else local)")
    p.add_argument("--name", default=None, metavar="NAME",
                   help="folder under data/results/sweeps/ (default: CHAPTER-hash of the grid)")
    p.set_defaults(func=_sweep)

    p = sub.add_parser("book", help="execute every changed chapter, then build the HTML book",
                       description="Execute every chapter whose inputs changed, then build _build/html with "
                                   "Jupyter Book (-W).", **kw)
    p.add_argument("--profile", default=runner.PAPER, metavar="PROFILE", help=profile_help)
    p.add_argument("--force", action="store_true",
                   help="execute every chapter and rebuild the HTML even when nothing changed")
    p.add_argument("--jobs", default=None, metavar="N", help=f"{jobs_help} (chapters at once)")
    p.set_defaults(func=_book)

    p = sub.add_parser("clean", help="remove generated files (default: --executed); asks before the paper run",
                       description="Remove generated files. Removing the paper run's results or executed "
                                   "notebooks asks first (or needs --yes; without a terminal it refuses).", **kw)
    for key, (rel, what) in CLEAN.items():
        p.add_argument(f"--{key}", action="store_true", help=f"remove {rel}/ ({what})")
    labels = sorted({d.name for base in (paths.results_root(), paths.executed_root()) if base.is_dir()
                     for d in base.iterdir() if d.is_dir() and not d.name.startswith((".", "_"))} - {"sweeps"})
    p.add_argument("--label", default=None, metavar="NAME",
                   help=f"only this run label's results and executed notebooks (with --results or --executed: "
                        f"only those); labels here: {_choices(labels)}")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask before removing the paper run")
    p.set_defaults(func=_clean)
    return ap


def main(argv=None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : list of str or None
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status (0 success, 1 a failed notebook, 2 a bad value, 130 interrupted).
    """
    args = build_parser().parse_args(argv)
    args.verbosity = _verbosity(args)
    configure(level_of(args.verbosity))
    try:
        return args.func(args)
    except runner.ChapterError as exc:
        log.error(str(exc))
        return 2
    except runner.RunError as exc:
        log.error(str(exc))
        return 1
    except KeyboardInterrupt as exc:
        log.error(str(exc) if isinstance(exc, runner.Interrupted)
                  else "interrupted; the runs in progress published nothing")
        _quiet_exit()
        return 130


def _quiet_exit() -> None:
    """After Ctrl-C the one line has been said: what the interrupted kernel client leaves behind (an asyncio task
    whose "Kernel died" is never retrieved, reported when it is collected at exit) must not add tracebacks.
    """
    logging.getLogger("asyncio").setLevel(logging.CRITICAL + 1)
    sys.unraisablehook = lambda unraisable: None


if __name__ == "__main__":
    sys.exit(main())
