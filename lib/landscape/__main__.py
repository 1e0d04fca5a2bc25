"""Command line: ``python -m landscape list | run <chapter> | book``.

Examples::

    python -m landscape list
    python -m landscape run 01_trajectories --profile quick
    python -m landscape run 01_trajectories -p dataset=path/to/file.csv -p target=price
    python -m landscape book --profile quick
"""

from __future__ import annotations

import argparse
import sys

from . import runner


def _list(args) -> int:
    prof = runner.load_profile(args.profile) if args.profile else {}
    for chapter in runner.chapters():
        print(chapter)
        for name, spec in runner.read_parameters(chapter).items():
            if name in runner.RESERVED:
                continue
            extra = f"  [{args.profile}: {prof[chapter][name]!r}]" if name in prof.get(chapter, {}) else ""
            help_ = f"  # {spec['help']}" if spec["help"] else ""
            print(f"    {name} = {spec['default']!r} ({spec['type']}){extra}{help_}")
    print("profiles:", ", ".join(runner.profiles()))
    return 0


def _run(args) -> int:
    overrides = dict(runner.parse_assignment(p) for p in args.param)
    out = runner.execute(args.chapter, args.profile, overrides, label=args.label, force=args.force)
    label = runner.run_label(args.profile, overrides, args.label)
    print(f"executed notebook: {out}")
    print(f"results (CSV):     data/results/{label}/{args.chapter}/")
    return 0


def _book(args) -> int:
    runner.build_book(args.profile, force=args.force)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m landscape", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="list chapters, their parameters and defaults")
    p.add_argument("--profile", default=None, help="also show this profile's overrides")
    p.set_defaults(func=_list)
    p = sub.add_parser("run", help="execute one chapter with Papermill")
    p.add_argument("chapter")
    p.add_argument("--profile", default=runner.PAPER, help="paper (default) or a notebooks/profiles/*.yaml name")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a parameter (repeatable); checked against the default's type")
    p.add_argument("--label", default=None, help="results folder name (default: profile, or profile+hash with -p)")
    p.add_argument("--force", action="store_true", help="execute even if the stamp is current")
    p.set_defaults(func=_run)
    p = sub.add_parser("book", help="execute every changed chapter and build the HTML book")
    p.add_argument("--profile", default=runner.PAPER)
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=_book)
    args = ap.parse_args(argv)
    try:
        return args.func(args)
    except runner.ChapterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
