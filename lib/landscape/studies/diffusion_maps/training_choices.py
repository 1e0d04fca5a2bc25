"""Training-side choices of source 000 that its text leaves open (issue 8, point 3): learning rate and split.

Source 000 does not state its learning rate (we use Keras' SGD default 0.01) nor how its 120 / 30 iris split was
drawn (Keras' ``validation_split`` would hold out the last 30 rows of the file, unshuffled; see
:func:`landscape.nets.data.keras_split`). :func:`bandwidth_table` measures, for any set of trajectories (one per
learning rate, one per split, the two reference networks) and any readings of the analysis choices
(:mod:`landscape.studies.diffusion_maps.readings`):

- the largest log-log slope ``a`` of ``L(ε) = Σ_ij K_ε[i, j]`` (eqs 3.4-3.6) and where it is reached; ``a > 1/2``
  means the points look locally wider than a curve (Berry-Harlim: ``d ≈ 2a``; the source reports 1.07);
- ``d`` (eq 3.3) and the AUC ratio at the source's ε;
- pyDiffMap's automatic choice of ε and dimension (:mod:`landscape.diffusion.bgh`), to test the reading that
  the source's ``ε = 0.06 ≈ 2^-4`` and ``d = 2`` came from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from landscape import diffusion as dm
from landscape.diffusion.bgh import bgh_bandwidth
from landscape.studies.diffusion_maps import readings as rd

__all__ = ["auto_grid", "bandwidth_row", "bandwidth_table", "lr_configs"]


def auto_grid(sq, per_decade: int = 8) -> np.ndarray:
    """An ε grid for ``L(ε)`` that spans the distances: from a tenth of the smallest positive off-diagonal ``d²``
    to ten times the largest, ``per_decade`` points per decade (the slope's maximum then lies inside it).

    Parameters
    ----------
    sq : array_like, shape (M, M)
        Squared distances with at least one positive off-diagonal entry.
    per_decade : int, default 8
        Grid points per factor of ten.

    Returns
    -------
    numpy.ndarray
        The grid, geometric and increasing, in the units of ``sq``.

    Examples
    --------
    >>> auto_grid(np.array([[0.0, 1.0], [1.0, 0.0]]), per_decade=2).tolist()
    [0.1, 0.31622776601683794, 1.0, 3.1622776601683795, 10.0]
    """
    D2 = np.asarray(sq, dtype=np.float64)
    off = D2[np.triu_indices(D2.shape[0], 1)]
    off = off[off > 0]
    if off.size == 0:
        raise ValueError("sq: all distances are zero; no ε grid spans them")
    lo, hi = np.log10(off.min()) - 1, np.log10(off.max()) + 1
    return np.logspace(lo, hi, int(np.ceil((hi - lo) * per_decade)) + 1)


def bandwidth_row(sq, reading: rd.Reading, eps: float, eps_grid=None, *, beta: float = 0.99, k: int = 64,
                  wider: float = 0.5) -> dict:
    """The measurements of :func:`bandwidth_table` on one distance matrix ``sq`` (already under ``reading``'s
    cutoff and covariance).

    ``eps_max`` is in the reading's units: the kernel ``exp(-d²/(kernel · ε))`` peaks in slope at
    ``eps_max_raw / kernel``; the slope itself does not depend on the kernel scale. ``eps_grid`` is in the
    reading's units; ``None`` takes :func:`auto_grid` of ``sq``. The ``L(ε)`` scan uses the dense kernel whatever
    the reading's k-NN choice. ``bgh_*``: pyDiffMap's choice on the same ``sq`` (its own ``exp(-d²/(4ε))`` and
    64-NN kernel). A matrix of zeros (eq 2.6 at ``n = N``) gives NaN slopes and pyDiffMap columns.

    Parameters
    ----------
    sq : array_like, shape (M, M)
        Squared distances under ``reading``.
    reading : landscape.studies.diffusion_maps.readings.Reading
        Kernel scale, k-NN sparsification, λ0 and AUC conventions of ``d`` and the AUC ratio.
    eps : float
        The ε at which ``d`` and the AUC ratio are measured, in the reading's units.
    eps_grid : array_like, optional
        ε grid of the ``L(ε)`` scan in the reading's units (default: :func:`auto_grid` of ``sq``).
    beta : float, default 0.99
        Energy threshold of ``d`` (eq 3.3).
    k : int, default 64
        Neighbours per point of pyDiffMap's bandwidth choice (:func:`landscape.diffusion.bgh.bgh_bandwidth`).
    wider : float, default 0.5
        ``wider`` is True when the largest slope exceeds this (1/2: a curve's value, eq 3.6 with ``d = 1``).

    Returns
    -------
    dict
        ``a_max, eps_max, wider, eps, d, auc, bgh_eps, bgh_log2_eps, bgh_slope, bgh_dimension``.

    Examples
    --------
    >>> D2 = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> row = bandwidth_row(D2, rd.LITERAL, 1.0, np.geomspace(0.01, 100, 201), k=2)
    >>> round(row["a_max"], 3), row["wider"], row["bgh_dimension"]  # max of u e^-u / (1 + e^-u): 0.278
    (0.278, False, 1)
    """
    d, auc, _ = _summary(sq, eps, reading, beta)
    row = {"eps": float(eps), "d": int(d), "auc": float(auc)}
    if not np.any(np.asarray(sq) > 0):
        return {"a_max": np.nan, "eps_max": np.nan, "wider": False, **row, "bgh_eps": np.nan,
                "bgh_log2_eps": np.nan, "bgh_slope": np.nan, "bgh_dimension": np.nan}
    raw = auto_grid(sq) if eps_grid is None else np.asarray(eps_grid, dtype=np.float64) * reading.kernel
    scan = dm.kernel_sum(sq, raw)
    choice = bgh_bandwidth(sq, k=k)
    return {"a_max": float(scan.a_max), "eps_max": float(scan.eps_max / reading.kernel),
            "wider": bool(scan.a_max > wider), **row, "bgh_eps": choice.eps, "bgh_log2_eps": choice.log2_eps,
            "bgh_slope": choice.slope_max, "bgh_dimension": choice.dimension}


def _summary(sq, eps, reading, beta):
    from landscape.studies.diffusion_maps.dimension_tables import summary

    return summary(sq, eps, reading, beta=beta)


def _one(label, config, reading_set, eps, eps_grid, beta, threads, k, wider, cache_dir, device="cpu") -> list[dict]:
    from landscape.nets.recording import record_sgd
    from landscape.studies.diffusion_maps.dimension_tables import reading_distances

    base = {"label": label, "lr": float(config.lr), "split": config.split}
    try:
        traj = record_sgd(config, progress=False, cache_dir=cache_dir)
    except FloatingPointError as exc:
        return [{**base, "note": f"diverged: {exc}"}]
    base.update(M=traj.M, m=traj.m, final_loss=float(traj.epoch_train_loss[-1]),
                final_val_loss=float(traj.epoch_val_loss[-1]))
    sq_by = reading_distances(traj, reading_set, threads=threads, cache_dir=cache_dir, device=device)
    return [{**base, "reading": name, **bandwidth_row(sq_by[name], r, eps, eps_grid, beta=beta, k=k, wider=wider)}
            for name, r in reading_set.items()]


def bandwidth_table(configs: Mapping[object, object], reading_set: Mapping[str, rd.Reading],
                    eps: float | Mapping | Callable, eps_grid=None, *, beta: float = 0.99, threads: int | None = 1,
                    k: int = 64, wider: float = 0.5, jobs: int | None = 1, progress: bool = False,
                    device="cpu") -> pd.DataFrame:
    """Slope of ``L(ε)``, ``d``/AUC at ``eps`` and pyDiffMap's bandwidth for every trajectory × reading.

    Parameters
    ----------
    configs : label -> :class:`~landscape.nets.recording.RecordConfig` (recorded, or loaded from the cache).
    reading_set : name -> :class:`~landscape.studies.diffusion_maps.readings.Reading`.
    eps : the source's ε: a number, a mapping label -> ε, or a callable ``label -> ε``.
    eps_grid : the ε grid of the ``L(ε)`` scan, in the reading's units (``None``: :func:`auto_grid` per matrix).
    jobs : worker processes for the trajectories (:func:`landscape.infra.executor.map_units`; ``None``:
    $LANDSCAPE_JOBS).
    device : where the distance passes run (:func:`landscape.diffusion.manifold.cutoff_distances`).
    beta : float, default 0.99
        Energy threshold of ``d`` (eq 3.3).
    threads : int or None, default 1
        torch / BLAS threads of each distance pass when ``jobs`` is 1 (workers use one).
    k : int, default 64
        Neighbours per point of pyDiffMap's bandwidth choice.
    wider : float, default 0.5
        Slope above which a path counts as wider than a curve (:func:`bandwidth_row`).
    progress : bool, default False
        Show a progress bar over the trajectories.

    Returns
    -------
    pandas.DataFrame
        One tidy row per (label, reading) with the columns ``label``, ``lr``, ``split``, ``M``, ``m``,
        ``final_loss``, ``final_val_loss``, ``reading``, ``a_max``, ``eps_max``, ``wider``, ``eps``, ``d``, ``auc``,
        ``bgh_eps``, ``bgh_log2_eps``, ``bgh_slope``, ``bgh_dimension``. A diverging run gives one row with
        ``note``.
    """
    from landscape.infra import executor, paths

    grid = None if eps_grid is None else np.asarray(eps_grid, dtype=np.float64)
    if grid is not None and (grid.ndim != 1 or grid.size < 2 or not np.all(np.isfinite(grid)) or np.any(grid <= 0)):
        raise ValueError("eps_grid: need None or a 1-D grid of at least 2 finite positive values")
    if not reading_set:
        raise ValueError("reading_set: name at least one reading")
    eps_of = eps if callable(eps) else (eps.__getitem__ if isinstance(eps, Mapping) else (lambda label: eps))
    workers = executor.resolve_jobs(jobs)
    root = str(paths.cache_dir())  # explicit: a reused worker process may have served another root
    items = [(label, c, dict(reading_set), float(eps_of(label)), grid, beta, threads if workers == 1 else 1, k, wider,
              root, device) for label, c in configs.items()]
    rows = executor.map_units(_one, items, star=True, jobs=workers, progress=progress, desc="trajectories")
    return pd.DataFrame([r for part in rows for r in part])


def lr_configs(config, lrs) -> dict:
    """``{lr: config with that learning rate}`` for a learning-rate scan (same steps, seed and split).

    Parameters
    ----------
    config : landscape.nets.recording.RecordConfig
        The configuration that the scan varies.
    lrs : iterable of float
        Positive learning rates.

    Returns
    -------
    dict of float to RecordConfig
        One copy of ``config`` per learning rate, keyed by it.

    Examples
    --------
    >>> from landscape.nets.recording import RecordConfig
    >>> sorted(c.lr for c in lr_configs(RecordConfig(), [0.1, 0.001]).values())
    [0.001, 0.1]
    """
    import dataclasses

    out = {}
    for lr in lrs:
        if not (np.isfinite(lr) and lr > 0):
            raise ValueError(f"lrs: each learning rate must be a positive number, got {lr!r}")
        out[float(lr)] = dataclasses.replace(config, lr=float(lr))
    return out
