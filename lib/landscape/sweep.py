"""Sweeps: a cartesian grid of parameterised chapter runs, executed on local workers or a Dask cluster, with
every table the chapter writes gathered into one tidy CSV per table.

Each grid point is an ordinary run with ``-p`` overrides, so it gets its ordinary label
(``<profile>+<hash of its overrides>``, see :func:`landscape.runner.run_label`): ``python -m landscape run`` with
the same values reuses it, and a sweep that is run again executes only the points that are not up to date
(a failed or interrupted sweep resumes where it stopped). Tables are gathered into
``data/results/sweeps/<name>/<table>.csv`` with one leading column per swept parameter, named
``sweep_<parameter>`` (:func:`sweep_column`) so that it never clashes with a table's own columns (chapter 01's
tables have ``epochs`` and ``dataset`` columns, chapter 02's ``seed`` and ``lr``); ``sweep_runs.csv`` there lists
every point with its label, status, run time and error. A point whose run succeeded but left no tables in its
results folder is a failure, not "ok, 0 tables".

Examples
--------
>>> expand_grid({"seed": [0, 1], "lr": [0.1]})
[{'seed': 0, 'lr': 0.1}, {'seed': 1, 'lr': 0.1}]
>>> sweep_column("seed")
'sweep_seed'
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


#: Prefix of the gathered tables' columns that hold the swept values (no chapter's table has a column with it).
SWEEP_PREFIX = "sweep_"


def sweep_column(name: str) -> str:
    """The column of the gathered tables (and of ``sweep_runs.csv``) holding the values of swept parameter ``name``.

    Parameters
    ----------
    name : str
        A parameter of the chapter.
    """
    return f"{SWEEP_PREFIX}{name}"


@dataclasses.dataclass(frozen=True)
class PointResult:
    """What happened to one grid point.

    Parameters
    ----------
    point : dict
        The point's parameter values: the fixed overrides (``-p``) and the swept ones, name -> value.
    label : str
        The run's label (:func:`landscape.runner.run_label`), naming its results folder ``data/results/<label>/``.
    ok : bool
        Whether the run succeeded and left at least one table (:func:`check_tables`).
    seconds : float
        Wall time of the run, in seconds.
    error : str, default ""
        Why it failed (``"<exception type>: <first line>"``, or the missing tables); empty when ``ok``.
    """

    point: dict
    label: str
    ok: bool
    seconds: float
    error: str = ""


def expand_grid(grid: dict[str, list]) -> list[dict]:
    """The cartesian product of ``grid`` (name -> list of values), the first name varying slowest.

    Parameters
    ----------
    grid : dict of str to list
        Each swept parameter and its values (a non-empty list each).
    """
    if not isinstance(grid, dict) or not grid:
        raise ValueError("grid must name at least one parameter with a list of values")
    for name, values in grid.items():
        if not isinstance(values, list | tuple) or len(values) == 0:
            raise ValueError(f"grid: parameter {name!r} needs a non-empty list of values, got {values!r}")
    names = list(grid)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(grid[n] for n in names))]


def parse_grid(texts: list[str]) -> dict[str, list]:
    """``["seed=[0, 1, 2]", "lr=[0.01, 0.1]"]`` (``--grid NAME=JSONLIST``) -> ``{"seed": [0, 1, 2], ...}``.

    Parameters
    ----------
    texts : list of str
        The ``--grid`` arguments, ``NAME=JSONLIST`` each.
    """
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
    """Default folder name: the chapter and a hash of what defines the sweep.

    Parameters
    ----------
    chapter : str
        The chapter swept.
    grid : dict
        The swept values (:func:`expand_grid`).
    overrides : dict
        Values fixed for every point (``-p``).
    profile : str
        The profile of every point.
    """
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


def _tables(chapter: str, label: str) -> list[Path]:
    return sorted((paths.results_root() / label / chapter).glob("*.csv"))


def check_tables(chapter: str, result: PointResult) -> PointResult:
    """``result``, or a failure when its run succeeded but its results folder holds no table.

    Parameters
    ----------
    chapter : str
        The chapter swept.
    result : PointResult
        One point's outcome (:func:`_run_point`).
    """
    if not result.ok or _tables(chapter, result.label):
        return result
    folder = (paths.results_root() / result.label / chapter).relative_to(paths.root())
    return dataclasses.replace(result, ok=False, error=f"the run left no tables in {folder}/")


def gather(chapter: str, results: list[PointResult], grid: dict, out_dir: Path) -> list[Path]:
    """Concatenate each table of the successful points, with one leading column per swept parameter.

    The leading columns are named :func:`sweep_column` (``sweep_seed`` for ``seed``), so a parameter that is also a
    column of the table (``epochs`` in chapter 01's summary) keeps both: the swept value and the table's own.

    Parameters
    ----------
    chapter : str
        The chapter swept.
    results : list of PointResult
        Each point's outcome; failed points are left out.
    grid : dict
        The swept values (:func:`expand_grid`), in the order of the leading columns.
    out_dir : pathlib.Path
        The sweep's folder; one ``<table>.csv`` per table name is written there.
    """
    tables: dict[str, list[pd.DataFrame]] = {}
    for r in results:
        if not r.ok:
            continue
        for csv in _tables(chapter, r.label):
            df = pd.read_csv(csv)
            for i, name in enumerate(grid):
                column = sweep_column(name)
                if column in df.columns:
                    raise ValueError(f"{csv}: the table has its own column {column!r}, which the sweep needs for "
                                     f"the values of {name!r}; rename the table's column")
                df.insert(i, column, _cell(r.point[name]))
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
    both swept and fixed with ``overrides``. A point that ran but left no tables is a failure (:func:`check_tables`).

    Parameters
    ----------
    chapter : str
        The chapter to sweep.
    grid : dict of str to list
        Swept parameters and their values; the points are their cartesian product (:func:`expand_grid`).
    overrides : dict, optional
        Values fixed for every point (``-p NAME=VALUE``).
    profile : str
        The profile of every point.
    jobs : int or "all", optional
        Local worker processes (default ``LANDSCAPE_JOBS`` or 1).
    scheduler : str, optional
        Address of a Dask scheduler; the points then run on its workers.
    name : str, optional
        Folder under ``data/results/sweeps/`` (default :func:`sweep_name`).
    progress : bool
        Show a progress bar over the points.
    log : callable
        Where the status lines go (``print``).
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
    results = [check_tables(chapter, r) for r in results]
    for r in results:
        state = "ok" if r.ok else f"FAILED: {r.error}"
        log(f"[landscape]   {json.dumps({k: r.point[k] for k in grid}, default=str)} -> {r.label}: {state}")
    written = gather(chapter, results, grid, out_dir)
    summary = pd.DataFrame([{**{sweep_column(k): _cell(r.point[k]) for k in grid}, "label": r.label, "ok": r.ok,
                             "seconds": round(r.seconds, 1), "error": r.error} for r in results])
    with atomic_write(out_dir / "sweep_runs.csv", "w") as fh:
        summary.to_csv(fh, index=False)
    log(f"[landscape] sweep {name}: {sum(r.ok for r in results)}/{len(results)} runs ok; "
        f"{len(written)} tables in {out_dir}")
    return out_dir, results
