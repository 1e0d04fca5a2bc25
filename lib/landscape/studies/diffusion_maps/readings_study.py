"""The sensitivity study of :mod:`landscape.studies.diffusion_maps.readings` (issue 8) as units of work for
:func:`landscape.infra.executor.map_units`: per stage one distance pass per target, then the distinct eigenproblems
grouped by distance matrix. Workers return fingerprints and summaries, never distance matrices (those stay in the
readings cache), so the result is the same for any number of workers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

from landscape.diffusion.manifold import cutoff_distances
from landscape.studies.diffusion_maps.readings import (
    COVARIANCES,
    LITERAL,
    Reading,
    _fingerprint,
    _rows,
    _spectra,
    _spectral_keys,
    from_row,
    judge,
)

__all__ = ["Target", "study"]


@dataclass(frozen=True)
class Target:
    """One number pair of the study: the trajectory of ``config`` at ``eps`` against the source's ``keys``
    (``d`` key, AUC key) in ``data/sources/000.csv``.

    Parameters
    ----------
    config : landscape.nets.recording.RecordConfig
        The trajectory (recorded, or loaded from the cache).
    eps : float
        Kernel scale ε of the table's cell.
    keys : tuple of (str, str)
        Keys of the source's ``d`` and AUC ratio in ``data/sources/000.csv``.
    """

    config: object
    eps: float
    keys: tuple[str, str]


def _spectral(r: Reading) -> Reading:
    return dataclasses.replace(r, trivial=False, auc="trapezoid")


def study(stages, grid, *, always=(LITERAL.rcond,), beta: float = 0.99, threads: int | None = 1,
          progress: bool = False, source: str = "000", after_stage=None, carry_on: bool = True,
          jobs: int | str | None = None, device="cpu"):
    """The sensitivity study: measure every reading of ``grid`` on the targets of ``stages[0]``, then only the
    readings that still match every table measured so far on ``stages[1]``, and so on (a reading reproduces
    only if it matches all tables together, so dropping a failed reading early changes no verdict).

    ``stages`` is a list of lists of :class:`Target`; ``grid`` spectral readings (:func:`spectral_grid`).
    Distances for the cutoffs in ``always`` are computed (and cached) in the same passes. Returns
    ``(long, judged)``: all measurements (:func:`measure`) and :func:`judge`'s verdicts (tables not reached
    by a reading are ``NaN``). ``after_stage(long, judged)``, if given, is called after every stage. With
    ``carry_on``, when no reading survives a stage the readings that reached it are measured on the next stages
    anyway (none of them can reproduce any more, but :func:`rank_readings` can then rank them on more tables).

    Work units go through :func:`landscape.infra.executor.map_units` on ``jobs`` workers (``None``:
    ``$LANDSCAPE_JOBS``, default 1): per stage, first one distance pass per target (left in the readings cache),
    then the distinct eigenproblems grouped by distance matrix. Workers return summaries only; the result is the
    same for any number of workers. ``threads`` applies when ``jobs`` is 1. ``device``: where the distance passes
    run (:func:`landscape.diffusion.manifold.cutoff_distances`).

    Parameters
    ----------
    stages : sequence of sequence of Target
        The targets, stage by stage.
    grid : sequence of landscape.studies.diffusion_maps.readings.Reading
        Candidate readings (:func:`landscape.studies.diffusion_maps.readings.spectral_grid`); made spectral (λ0
        dropped, trapezoid AUC).
    always : sequence of float, default (the literal reading's cutoff,)
        Cutoffs whose distances are computed and cached in the same passes, whether or not a reading uses them.
    beta : float, default 0.99
        Energy threshold of ``d`` (eq 3.3).
    threads : int or None, default 1
        torch / BLAS threads of each unit when ``jobs`` is 1 (workers use one).
    progress : bool, default False
        Show progress bars over the distance passes and the eigenproblems.
    source : str, default "000"
        The source document whose numbers and tolerances (``data/sources/<source>.csv``) judge the readings.
    after_stage : callable, optional
        ``after_stage(long, judged)`` after every stage (e.g. to save partial results).
    carry_on : bool, default True
        Keep measuring the readings of a stage that no reading survived (for the ranking).
    jobs : int, str or None
        Worker processes (``None``: ``$LANDSCAPE_JOBS``, default 1).
    device : str, default "cpu"
        Where the distance passes run.

    Returns
    -------
    tuple of (pandas.DataFrame, pandas.DataFrame)
        ``long`` (one row per reading and number, :func:`landscape.studies.diffusion_maps.readings.measure`) and
        ``judged`` (one row per
        reading, a bool column per table, :func:`landscape.studies.diffusion_maps.readings.judge`).
    """
    from landscape.infra import executor, paths

    workers = executor.resolve_jobs(jobs)
    unit_threads = threads if workers == 1 else 1
    root = str(paths.cache_dir())  # explicit: a reused worker process may have served another root
    candidates = list(dict.fromkeys(_spectral(r) for r in grid))
    parts = []
    for stage in stages:
        kinds = tuple(dict.fromkeys(COVARIANCES[r.covariance][0] for r in candidates))
        rconds = tuple(sorted({r.rcond for r in candidates} | {float(a) for a in always}))
        passes = executor.map_units(_distance_unit, [(t.config, rconds, kinds, unit_threads, root, device)
                                                    for t in stage],
                                    star=True, jobs=workers, progress=progress, desc="distances")
        plan, units = [], []
        for t, done in zip(stage, passes, strict=True):
            if done is None:
                continue  # a diverging run has no trajectory to judge; its table stays unmeasured
            fps, N = done
            keyed, todo = _spectral_keys(candidates, fps, t.eps, N, t.config.batch_size)
            plan.append((t, keyed, [j[0] for (kind, rc), jobs_ in todo.items() for j in jobs_]))
            units += [(t.config, kind, rc, jobs_, beta, unit_threads, root, device)
                      for (kind, rc), jobs_ in todo.items()]
        solved = [s for part in executor.map_units(_spectra_unit, units, star=True, jobs=workers, progress=progress,
                                                   desc="spectra") for s in part]
        start = 0
        for t, keyed, order in plan:
            parts.append(_rows(candidates, keyed, dict(zip(order, solved[start:start + len(order)], strict=True)),
                               t.keys))
            start += len(order)
        judged = judge(pd.concat(parts, ignore_index=True), source)
        tables = [c for c in judged.columns if c.startswith(("Table", "Sec", "Fig"))]
        alive = judged[tables].fillna(True).astype(bool).all(axis=1)
        survivors = list(dict.fromkeys(_spectral(from_row(r)) for _, r in judged[alive].iterrows()))
        if after_stage is not None:
            after_stage(pd.concat(parts, ignore_index=True), judged)
        if survivors:
            candidates = survivors
        elif not carry_on:
            break
        # else: nothing reproduces any more; the readings that reached this stage go on, to be ranked on more tables
    return pd.concat(parts, ignore_index=True), judged


def _distance_unit(config, rconds, kinds, threads, cache_dir, device="cpu"):
    """Distances of one target (cached); returns their fingerprints and ``N``, or None for a diverging run."""
    from landscape.nets.recording import record_sgd

    try:
        traj = record_sgd(config, progress=False, cache_dir=cache_dir)
    except FloatingPointError:
        return None
    d2 = cutoff_distances(traj, rconds, kinds=kinds, threads=threads, cache_dir=cache_dir, device=device)
    return {key: _fingerprint(a) for key, a in d2.items()}, traj.dataset().N


def _spectra_unit(config, kind, rcond, jobs, beta, threads, cache_dir, device="cpu") -> list[dict]:
    """The eigenproblems ``jobs`` on one cached distance matrix (:func:`_spectra`)."""
    from landscape.nets.recording import record_sgd

    traj = record_sgd(config, progress=False, cache_dir=cache_dir)
    sq = cutoff_distances(traj, [rcond], kinds=(kind,), threads=threads, cache_dir=cache_dir,
                          device=device)[kind, rcond]
    return _spectra(sq, jobs, beta)
