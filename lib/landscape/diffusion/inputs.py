"""Input checks shared by the diffusion tools: point clouds, squared-distance matrices, kernel scales."""

from __future__ import annotations

import numpy as np


def _check_points(points) -> np.ndarray:
    X = np.asarray(points, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"points: expected a 2-D (M, m) array, got shape {X.shape}")
    if X.shape[0] < 1:
        raise ValueError("points: no points")
    if not np.all(np.isfinite(X)):
        raise ValueError("points: contains NaN or inf")
    return X


def _check_sq_dists(sq_dists) -> np.ndarray:
    D2 = np.asarray(sq_dists, dtype=np.float64)
    if D2.ndim != 2 or D2.shape[0] != D2.shape[1]:
        raise ValueError(f"sq_dists: expected a square (M, M) matrix, got shape {D2.shape}")
    if D2.shape[0] < 2:
        raise ValueError("sq_dists: need at least 2 points")
    if not np.all(np.isfinite(D2)):
        raise ValueError("sq_dists: contains NaN or inf")
    scale = max(float(np.abs(D2).max()), 1e-300)
    if D2.min() < -1e-12 * scale:
        raise ValueError("sq_dists: has negative entries (expected squared distances)")
    if not np.allclose(D2, D2.T, rtol=1e-10, atol=1e-12 * scale):
        raise ValueError("sq_dists: not symmetric")
    return D2


def _check_eps(eps) -> float:
    try:
        e = float(eps)
    except (TypeError, ValueError):
        raise ValueError(f"eps: expected a positive number, got {eps!r}") from None
    if not np.isfinite(e) or e <= 0:
        raise ValueError(f"eps: must be a finite positive number, got {eps!r}")
    return e
