"""Null models for the diffusion-map dimension of source 000: what ``d`` and the AUC ratio show on point clouds
that are one-dimensional by construction (issue 8, point 4).

A smooth closed curve and a Gaussian random walk, both with ``M`` points in ``R^m`` (the source's ``M = 2400``,
``m = 515``), go through the same diffusion map (eqs 2.10-2.11, Euclidean distances) and summaries (eq 3.3,
AUC ratio). On a curve the diffusion operator approaches the heat semigroup of a circle or an interval, whose
eigenvalues are ``exp(-c ε k²)``: the number of eigenvalues needed for 99 % of the energy grows like
``1/√ε``, and the AUC ratio of such a Gaussian-shaped spectrum cut where its energy reaches 0.99 is a constant
(about 0.9) whatever ``d`` is. So ``d`` measures the kernel scale as much as the data, and an AUC ratio near 0.9
says the spectrum is heat-kernel-like, nothing more.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from landscape import diffusion as dm

__all__ = ["smooth_curve", "random_walk", "dimension_scan", "power_law"]


def _check_sizes(M: int, m: int) -> None:
    for name, v, lo in (("M", M, 3), ("m", m, 2)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{name}: must be an integer >= {lo}, got {v!r}")


def smooth_curve(M: int = 2400, m: int = 515, *, n_freq: int = 4, seed: int = 0) -> np.ndarray:
    """``M`` equally spaced points of the closed curve ``x(t) = Σ_k (cos(2πkt) u_k + sin(2πkt) w_k) / k``,
    ``k = 1 … n_freq``, with orthonormal random ``u_k, w_k`` in ``R^m`` (seeded): a smooth loop of length
    of order 2π, shape ``(M, m)``.

    Parameters
    ----------
    M : int, default 2400
        Number of points, at least 3 (the source's trajectory length).
    m : int, default 515
        Ambient dimension, at least 2 (the source's parameter count).
    n_freq : int, default 4
        Harmonics ``k = 1 … n_freq``, with ``2 n_freq <= m``.
    seed : int, default 0
        Seed of the random orthonormal directions.

    Returns
    -------
    numpy.ndarray, shape (M, m)

    Examples
    --------
    >>> X = smooth_curve(8, 4, n_freq=1)
    >>> bool(np.allclose(np.linalg.norm(X, axis=1), 1.0))  # n_freq = 1: a unit circle
    True
    """
    _check_sizes(M, m)
    if isinstance(n_freq, bool) or not isinstance(n_freq, (int, np.integer)) or not 1 <= 2 * n_freq <= m:
        raise ValueError(f"n_freq: must be an integer in [1, m/2], got {n_freq!r}")
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((m, 2 * n_freq)))
    t = np.arange(M) / M
    k = np.arange(1, n_freq + 1)
    phase = 2 * np.pi * np.outer(t, k)
    coef = np.concatenate([np.cos(phase), np.sin(phase)], axis=1) / np.r_[k, k]
    return coef @ Q.T


def random_walk(M: int = 2400, m: int = 515, *, step: float = 1.0, seed: int = 0) -> np.ndarray:
    """A Gaussian random walk ``x_{i+1} = x_i + step · ξ_i / √m``, ``ξ_i ~ N(0, I_m)``, ``x_1 = 0``: ``(M, m)``.

    Parameters
    ----------
    M : int, default 2400
        Number of points, at least 3.
    m : int, default 515
        Ambient dimension, at least 2.
    step : float, default 1.0
        Root-mean-square length of one step (positive).
    seed : int, default 0
        Seed of the steps.

    Returns
    -------
    numpy.ndarray, shape (M, m)
    """
    _check_sizes(M, m)
    if not (np.isfinite(step) and step > 0):
        raise ValueError(f"step: must be a positive number, got {step!r}")
    rng = np.random.default_rng(seed)
    steps = rng.standard_normal((M - 1, m)) * (step / np.sqrt(m))
    return np.vstack([np.zeros((1, m)), np.cumsum(steps, axis=0)])


def dimension_scan(points, eps_factors, *, beta: float = 0.99, knn: int | None = None) -> pd.DataFrame:
    """``d`` (eq 3.3) and AUC ratios (trapezoid, sum) of the diffusion map of ``points`` with Euclidean
    distances, at ``ε = factor · median(d²)`` for each factor. Columns ``eps_factor, eps, d, auc, auc_sum``.

    Parameters
    ----------
    points : array_like, shape (M, m)
        The point cloud (e.g. :func:`smooth_curve`, :func:`random_walk`), not all equal.
    eps_factors : float or sequence of float
        Positive multiples of the median off-diagonal squared distance.
    beta : float, default 0.99
        Energy threshold of ``d`` (eq 3.3).
    knn : int, optional
        k-NN sparsification of the kernel (default: dense).

    Returns
    -------
    pandas.DataFrame
        One row per factor.
    """
    sq = dm.euclidean_sq(points)
    med = float(np.median(sq[np.triu_indices(sq.shape[0], 1)]))
    if med <= 0:
        raise ValueError("points: all points coincide")
    rows = []
    for f in np.atleast_1d(np.asarray(eps_factors, dtype=float)):
        if not (np.isfinite(f) and f > 0):
            raise ValueError(f"eps_factors: must be positive, got {f!r}")
        lam = dm.diffusion_spectrum(sq, f * med, knn=knn)
        d = dm.intrinsic_dimension(lam, beta)
        rows.append({"eps_factor": float(f), "eps": float(f * med), "d": d,
                     "auc": dm.auc_ratio(lam, d), "auc_sum": dm.auc_ratio(lam, d, method="sum")})
    return pd.DataFrame(rows)


def power_law(scan: pd.DataFrame, *, d_min: int = 4, d_max: int | None = None) -> float:
    """Least-squares slope of ``log d`` against ``log ε`` over the rows with ``d_min ≤ d ≤ d_max`` (a curve:
    about -1/2).

    Parameters
    ----------
    scan : pandas.DataFrame
        A :func:`dimension_scan` table (columns ``eps`` and ``d``).
    d_min : int, default 4
        Smallest ``d`` used (small ``d`` is not yet in the power-law regime).
    d_max : int, optional
        Largest ``d`` used (default: no bound).

    Returns
    -------
    float
        The slope; at least two rows must qualify.
    """
    sel = scan[(scan.d >= d_min) & (scan.d <= (d_max if d_max is not None else np.inf))]
    if len(sel) < 2:
        raise ValueError(f"scan: need at least 2 rows with {d_min} <= d <= {d_max}, got {len(sel)}")
    return float(np.polyfit(np.log(sel.eps), np.log(sel.d), 1)[0])
