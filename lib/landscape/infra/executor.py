"""One small executor for independent units of work: in this process, on local worker processes, or on a Dask
cluster.

Chapters and sweeps are made of independent units (trajectories, distance matrices, seeds, planes, probes,
grid points of a sweep). :func:`map_units` runs ``fn`` over them and returns the results in input order, with
the same numbers whatever the backend or the number of workers: every unit carries its own seed, and each worker
runs with one BLAS/torch thread, so no result depends on how work was split.

Backends
--------
- ``jobs=1`` (and no scheduler): a plain loop in this process;
- ``jobs=N > 1``: N worker processes on this machine, no server (joblib's loky backend);
- ``scheduler="tcp://host:port"``: an existing Dask cluster (``dask scheduler`` / ``dask worker``); the workers
  must see the same files (``data/cache`` on a shared filesystem, see the README's "Running on a cluster").

``jobs=None`` reads the environment variable ``LANDSCAPE_JOBS`` (default 1); ``jobs=-1`` or ``"all"`` means
one worker per core.

Examples
--------
>>> from landscape.infra.executor import map_units
>>> map_units(pow, [(2, 3), (3, 2)], star=True, jobs=1, progress=False)
[8, 9]
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable

JOBS_ENV = "LANDSCAPE_JOBS"
SCHEDULER_ENV = "LANDSCAPE_SCHEDULER"


def resolve_jobs(jobs: int | str | None = None) -> int:
    """The number of workers: ``jobs``, else ``$LANDSCAPE_JOBS``, else 1; ``-1``/``"all"`` = every core.

    Parameters
    ----------
    jobs : int, str or None
        A positive count, ``-1`` or ``"all"`` (every core), a digit string, or None (read ``$LANDSCAPE_JOBS``).

    Returns
    -------
    int
        At least 1. A bad value raises ``ValueError`` naming ``jobs``.
    """
    if jobs is None:
        jobs = os.environ.get(JOBS_ENV, "1")
    if isinstance(jobs, str):
        text = jobs.strip().lower()
        if text == "all":
            jobs = -1
        else:
            try:
                jobs = int(text)
            except ValueError:
                raise ValueError(f"jobs must be a positive integer, -1 or 'all', got {jobs!r}") from None
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs == 0 or jobs < -1:
        raise ValueError(f"jobs must be a positive integer, -1 or 'all', got {jobs!r}")
    return os.cpu_count() or 1 if jobs == -1 else jobs


def _one_thread(fn: Callable, star: bool, item):
    """Run one unit with one BLAS/OpenMP thread and one torch thread (restored afterwards)."""
    from landscape.infra.linalg import limit_threads

    with limit_threads(1):
        return fn(*item) if star else fn(item)


def map_units(fn: Callable, items: Iterable, *, jobs: int | str | None = None, scheduler: str | None = None,
              star: bool = False, progress: bool = True, desc: str | None = None) -> list:
    """``[fn(item) for item in items]`` (``fn(*item)`` with ``star``) on the chosen backend, in input order.

    Parameters
    ----------
    fn : callable
        A module-level function (it is pickled to the workers).
    items : iterable
        The units of work; each must carry everything ``fn`` needs, its seed included.
    jobs : int, str or None
        Local worker processes (see :func:`resolve_jobs`). Ignored when ``scheduler`` is given.
    scheduler : str or None
        Address of a Dask scheduler (``tcp://host:port``); ``None`` reads ``$LANDSCAPE_SCHEDULER`` (unset: local).
    star : bool
        Call ``fn(*item)`` instead of ``fn(item)`` (each item a tuple of arguments).
    progress : bool
        Show a tqdm bar as units finish.
    desc : str or None
        Label of the progress bar.

    Returns
    -------
    list
        The results, in the order of ``items``. An exception in a unit propagates (use a wrapper that returns
        the error if the other units must survive it, as :mod:`landscape.sweep` does).
    """
    from tqdm.auto import tqdm

    items = list(items)
    work = functools.partial(_one_thread, fn, star)
    scheduler = scheduler if scheduler is not None else os.environ.get(SCHEDULER_ENV) or None
    bar = tqdm(total=len(items), desc=desc, disable=not progress)
    try:
        if scheduler:
            return _dask_map(work, items, scheduler, bar)
        n = min(resolve_jobs(jobs), max(len(items), 1))
        if n == 1:
            out = []
            for item in items:
                out.append(work(item))
                bar.update()
            return out
        from joblib import Parallel, delayed

        out = []
        for result in Parallel(n_jobs=n, backend="loky", return_as="generator")(delayed(work)(i) for i in items):
            out.append(result)
            bar.update()
        return out
    finally:
        bar.close()


def check_scheduler(scheduler: str | None) -> None:
    """``None`` (local) or a Dask scheduler address ``protocol://host:port``, else ``ValueError``.

    Parameters
    ----------
    scheduler : str or None
        The address to check.
    """
    if scheduler is not None and (not isinstance(scheduler, str) or "://" not in scheduler):
        raise ValueError(f"scheduler must be an address such as tcp://127.0.0.1:8786, got {scheduler!r}")


def _dask_map(work: Callable, items: list, scheduler: str, bar) -> list:
    check_scheduler(scheduler)
    from distributed import Client, as_completed

    with Client(scheduler) as client:
        futures = client.map(work, items, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        out = [None] * len(items)
        for future in as_completed(futures):
            out[index[future.key]] = future.result()
            bar.update()
        return out
