"""Sweeps: a cartesian grid of parameterised chapter runs, executed on local workers or a Dask cluster, with
every table the chapter writes gathered into one tidy CSV per table.

Each grid point is an ordinary run with ``-p`` overrides, so it gets its ordinary label
(``<profile>+<hash of its overrides>``, see :func:`landscape.runner.run_label`): ``python -m landscape run`` with
the same values reuses it, and a sweep that is run again executes only the points that are not up to date
(a failed or interrupted sweep resumes where it stopped). Tables are gathered into
``data/results/sweeps/<name>/<table>.csv`` with one leading column per swept parameter; ``sweep_runs.csv``
there lists every point with its label, status, run time and error.

Examples
--------
>>> expand_grid({"seed": [0, 1], "lr": [0.1]})
[{'seed': 0, 'lr': 0.1}, {'seed': 1, 'lr': 0.1}]
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import time
from pathlib import Path

import pandas as pd

from landscape.infra import executor, paths
from landscape import runner
from landscape.infra.cache import atomic_write


@dataclasses.dataclass(frozen=True)
class PointResult:
    """What happened to one grid point."""

    point: dict
    label: str
    ok: bool
    seconds: float
    error: str = ""


def expand_grid(grid: dict[str, list]) -> list[dict]:
    """The cartesian product of ``grid`` (name -> list of values), the first name varying slowest."""
    if not isinstance(grid, dict) or not grid:
        raise ValueError("grid must name at least one parameter with a list of values")
    for name, values in grid.items():
        if not isinstance(values, list | tuple) or len(values) == 0:
            raise ValueError(f"grid: parameter {name!r} needs a non-empty list of values, got {values!r}")
    names = list(grid)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(grid[n] for n in names))]


def parse_grid(texts: list[str]) -> dict[str, list]:
    """``["seed=[0, 1, 2]", "lr=[0.01, 0.1]"]`` (``--grid NAME=JSONLIST``) -> ``{"seed": [0, 1, 2], ...}``."""
    grid = {}
    for text in texts:
        name, sep, raw = text.partition("=")
        name = name.strip()
        if not sep or not name:
            raise runner.ChapterError(f"--grid expects NAME=JSONLIST, got {text!r}")
        try:
            values = json.loads(raw)
        except json.JSONDecodeError:
            raise runner.ChapterError(f"--grid {name}: {raw!r} is not a JSON list such as [1, 2, 3]") from None
        if not isinstance(values, list) or not values:
            raise runner.ChapterError(f"--grid {name}: expected a non-empty JSON list, got {raw!r}")
        if name in grid:
            raise runner.ChapterError(f"--grid {name} is given twice")
        grid[name] = values
    return grid


def sweep_name(chapter: str, grid: dict, overrides: dict, profile: str) -> str:
    """Default folder name: the chapter and a hash of what defines the sweep."""
    spec = json.dumps({"grid": grid, "p": overrides, "profile": profile}, sort_keys=True, default=str)
    return f"{chapter}-{hashlib.sha256(spec.encode()).hexdigest()[:8]}"


def _run_point(root: str, chapter: str, profile: str, overrides: dict, inner_jobs: str | None = None) -> PointResult:
    """Execute one grid point (in a worker); a failure is returned, not raised, so the others survive it.

    ``inner_jobs`` sets ``LANDSCAPE_JOBS`` for the point's kernel: ``"1"`` when the points themselves run on
    several workers, so that a chapter's own units do not fork more workers on cores that are already busy."""
    label = runner.run_label(profile, overrides)
    inner = {executor.JOBS_ENV: inner_jobs} if inner_jobs is not None else {}
    t0 = time.perf_counter()
    # a reused worker may have served another root; in-process (jobs=1) the caller's environment is restored
    with paths.environment(LANDSCAPE_ROOT=root, **inner):
        try:
            runner.execute(chapter, profile, overrides, progress=False, log=lambda *a, **k: None)
        except Exception as exc:  # noqa: BLE001 - reported by name, the sweep goes on
            if getattr(exc, "ename", None):  # papermill: the notebook's own exception
                what = f"{exc.ename}: {exc.evalue}"
            else:
                first = str(exc).strip().splitlines()
                what = f"{type(exc).__name__}: {first[0] if first else ''}"
            return PointResult(overrides, label, False, time.perf_counter() - t0, what)
    return PointResult(overrides, label, True, time.perf_counter() - t0)


def _cell(value):
    return json.dumps(value) if isinstance(value, list | tuple | dict) else value


def gather(chapter: str, results: list[PointResult], grid: dict, out_dir: Path) -> list[Path]:
    """Concatenate each table of the successful points, with one leading column per swept parameter."""
    tables: dict[str, list[pd.DataFrame]] = {}
    for r in results:
        if not r.ok:
            continue
        for csv in sorted((paths.results_root() / r.label / chapter).glob("*.csv")):
            df = pd.read_csv(csv)
            for i, name in enumerate(grid):
                df.insert(i, name, _cell(r.point[name]))
            tables.setdefault(csv.stem, []).append(df)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, frames in sorted(tables.items()):
        path = out_dir / f"{stem}.csv"
        with atomic_write(path, "w") as fh:
            pd.concat(frames, ignore_index=True).to_csv(fh, index=False)
        written.append(path)
    return written


def run_sweep(chapter: str, grid: dict, *, overrides: dict | None = None, profile: str = runner.PAPER,
              jobs: int | str | None = None, scheduler: str | None = None, name: str | None = None,
              progress: bool = True, log=print) -> tuple[Path, list[PointResult]]:
    """Execute the grid of ``chapter`` and gather its tables; returns the sweep folder and each point's result.

    Every point is validated (names, types, allowed values) before any kernel starts. A parameter may not be
    both swept and fixed with ``overrides``.
    """
    overrides = dict(overrides or {})
    both = sorted(set(grid) & set(overrides))
    if both:
        raise runner.ChapterError(f"parameter(s) {', '.join(both)} are both swept (--grid) and fixed (-p)")
    try:
        executor.resolve_jobs(jobs)
        executor.check_scheduler(scheduler)
    except ValueError as exc:
        raise runner.ChapterError(str(exc)) from None
    points = [{**overrides, **p} for p in expand_grid(grid)]
    for point in points:
        runner.resolve(chapter, profile, point)  # fails before anything runs
    name = name or sweep_name(chapter, grid, overrides, profile)
    out_dir = paths.results_root() / "sweeps" / runner.check_label(name)
    log(f"[landscape] sweep {name}: {len(points)} runs of {chapter} ({profile})")
    parallel = bool(scheduler or os.environ.get(executor.SCHEDULER_ENV)) or min(executor.resolve_jobs(jobs),
                                                                                len(points)) > 1
    items = [(str(paths.root()), chapter, profile, p, "1" if parallel else None) for p in points]
    results = executor.map_units(_run_point, items, star=True, jobs=jobs, scheduler=scheduler,
                                 progress=progress, desc=f"sweep {name}")
    for r in results:
        state = "ok" if r.ok else f"FAILED: {r.error}"
        log(f"[landscape]   {json.dumps({k: r.point[k] for k in grid}, default=str)} -> {r.label}: {state}")
    written = gather(chapter, results, grid, out_dir)
    summary = pd.DataFrame([{**{k: _cell(r.point[k]) for k in grid}, "label": r.label, "ok": r.ok,
                             "seconds": round(r.seconds, 1), "error": r.error} for r in results])
    with atomic_write(out_dir / "sweep_runs.csv", "w") as fh:
        summary.to_csv(fh, index=False)
    log(f"[landscape] sweep {name}: {sum(r.ok for r in results)}/{len(results)} runs ok; "
        f"{len(written)} tables in {out_dir}")
    return out_dir, results
