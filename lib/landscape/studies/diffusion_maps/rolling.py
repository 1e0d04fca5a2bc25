"""Rolling windows along a trajectory (source 000, Sec. 3.4.5, Figs 13-14) under any reading of its choices.

The covariance in eq (2.5) belongs to each point, so the distance between two points of a window is the same as in
the whole trajectory: a window's distance matrix is a diagonal sub-block of the full ``d²``. The windows are
therefore analysed from one precomputed matrix, under a :class:`landscape.studies.diffusion_maps.readings.Reading` (its
cutoff and
covariance already applied to ``sq``; its kernel scale, k-NN kernel, ``λ_0`` and AUC conventions applied here).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from landscape.diffusion import manifold
from landscape.studies.diffusion_maps import readings as rd
from landscape.studies.diffusion_maps.dimension_tables import summary

__all__ = ["rolling_windows"]


def rolling_windows(sq, window: int, stride: int, eps: float, reading: rd.Reading = rd.LITERAL, *,
                    retune: bool = True, beta: float = 0.99) -> pd.DataFrame:
    """``d`` and AUC ratio (eq 3.3) on the windows ``[s, s + window)``, ``s = 0, stride, …``, of ``sq``.

    Columns ``start, stop, eps_fixed, d_fixed, auc_fixed`` and, with ``retune``, ``eps_retuned, d_retuned,
    auc_retuned``: ε re-tuned per window by :func:`landscape.diffusion.manifold.retune_eps` (scaled by the ratio of the
    window's median ``d²`` to the first window's). With :data:`~landscape.studies.diffusion_maps.readings.LITERAL` the
    numbers equal
    :func:`landscape.diffusion.manifold.rolling_windows`.

    Parameters
    ----------
    sq : array_like, shape (M, M)
        Squared distances of the whole trajectory (eq 2.5), already under ``reading``.
    window : int
        Points per window, ``2 <= window <= M``.
    stride : int
        Steps between window starts, at least 1.
    eps : float
        Kernel scale ε of the first window (before the reading's kernel factor).
    reading : landscape.readings.Reading, default LITERAL
        Kernel scale, k-NN sparsification, λ0 and AUC conventions.
    retune : bool, default True
        Add the columns with ε re-tuned per window.
    beta : float, default 0.99
        Energy threshold of ``d`` (eq 3.3).

    Returns
    -------
    pandas.DataFrame
        One row per window, the columns above.

    Examples
    --------
    Three points at squared distance 1 (an equilateral triangle) in windows of two: each window is two points,
    whose diffusion spectrum is ``{1, λ_1}``, so ``d = 1`` everywhere and the median never changes:

    >>> D2 = np.ones((3, 3)) - np.eye(3)
    >>> w = rolling_windows(D2, 2, 1, 1.0)
    >>> w.d_fixed.tolist(), w.eps_retuned.tolist()
    ([1, 1], [1.0, 1.0])
    """
    D2 = np.asarray(sq, dtype=np.float64)
    if D2.ndim != 2 or D2.shape[0] != D2.shape[1]:
        raise ValueError(f"sq: must be a square matrix, got shape {D2.shape}")
    M = D2.shape[0]
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or not 2 <= window <= M:
        raise ValueError(f"window: must be an integer in [2, {M}], got {window!r}")
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"stride: must be a positive integer, got {stride!r}")
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps: must be a positive number, got {eps!r}")
    rows, ref = [], None
    for s in range(0, M - window + 1, stride):
        blk = D2[s : s + window, s : s + window]
        d, a, _ = summary(blk, eps, reading, beta=beta)
        row = {"start": s, "stop": s + window, "eps_fixed": float(eps), "d_fixed": d, "auc_fixed": a}
        if retune:
            ref = manifold.median_sq(blk) if ref is None else ref
            e2 = manifold.retune_eps(blk, eps, ref)
            d2, a2, _ = summary(blk, e2, reading, beta=beta)
            row.update(eps_retuned=e2, d_retuned=d2, auc_retuned=a2)
        rows.append(row)
    return pd.DataFrame(rows)
