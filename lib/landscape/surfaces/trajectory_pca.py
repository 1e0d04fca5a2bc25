r"""PCA directions of an optimisation trajectory and the trajectory's coordinates on that plane (source 003,
Sec. 5.4; Li et al. 2018, Sec. 7).

Random directions are nearly orthogonal to the path an optimiser takes, so a trajectory drawn on a random plane
hardly moves. Li et al. instead stack the differences :math:`\theta_i - \theta_n` of the recorded iterates from
the final point, take the first two principal components of that matrix as the directions, and project each
iterate onto them: :math:`x_i = \langle \theta_i - \theta_n, \delta\rangle`,
:math:`y_i = \langle \theta_i - \theta_n, \eta\rangle` (unit directions). The explained-variance ratios say how
much of the path the picture shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from landscape.infra.linalg import fix_signs
from landscape.infra.validation import check_finite, check_scalar

__all__ = ["TrajectoryPlane", "pca_directions"]


@dataclass(frozen=True)
class TrajectoryPlane:
    """``directions`` (k, m) orthonormal, ``explained`` (k,) explained-variance ratios, ``coordinates`` (M, k)
    of every iterate relative to ``center`` (the final iterate unless another was given).

    Parameters
    ----------
    directions : numpy.ndarray, shape (k, m)
        Orthonormal principal directions as rows.
    explained : numpy.ndarray, shape (k,)
        Their explained-variance ratios.
    coordinates : numpy.ndarray, shape (M, k)
        Every iterate minus ``center``, projected on the directions.
    center : numpy.ndarray, shape (m,)
        The point the iterates are taken relative to.
    """

    directions: np.ndarray
    explained: np.ndarray
    coordinates: np.ndarray
    center: np.ndarray


def pca_directions(params, k: int = 2, *, center=None, centered: bool = True) -> TrajectoryPlane:
    r"""The first ``k`` principal directions of the iterates ``params`` (M, m) relative to ``center`` (default
    the last row), as in Li et al.'s ``setup_PCA_directions``.

    ``centered=True`` (scikit-learn's PCA, which Li et al. call) subtracts the column means of the differences
    before the SVD; ``False`` uses the raw differences. Signs follow :func:`landscape.infra.linalg.fix_signs`.

    Parameters
    ----------
    params : array_like
        (M, m) iterates, M >= 2.
    k : int
        Number of directions, in [1, min(M, m)].
    center : array_like or None
        Origin of the plane (None: the last iterate).
    centered : bool
        Subtract the column means before the SVD.

    Returns
    -------
    TrajectoryPlane
        Coordinates are the projections of :math:`\theta_i - \theta_c` on the (unit) directions.

    >>> p = np.array([[2.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    >>> tp = pca_directions(p, k=1)
    >>> tp.directions.tolist(), tp.coordinates[:, 0].tolist(), tp.explained.tolist()
    ([[1.0, 0.0, 0.0]], [2.0, 1.0, 0.0], [1.0])
    """
    P = np.asarray(params, dtype=np.float64)
    if P.ndim != 2 or P.shape[0] < 2:
        raise ValueError(f"params must have shape (M, m) with M >= 2, got {P.shape}")
    check_finite(P, "params")
    check_scalar(k, "k", int, min_val=1, max_val=min(P.shape))
    c = P[-1].copy() if center is None else np.asarray(center, dtype=np.float64).reshape(-1)
    if c.shape != (P.shape[1],):
        raise ValueError(f"center must have {P.shape[1]} entries, got {c.size}")
    D = P - c
    A = D - D.mean(axis=0) if centered else D
    _, s, Vt = np.linalg.svd(A, full_matrices=False)
    total = float((s ** 2).sum())
    if total == 0:
        raise ValueError("params: all iterates coincide, no direction")
    V = fix_signs(Vt[:k].T).T
    return TrajectoryPlane(V.copy(), s[:k] ** 2 / total, D @ V.T, c)
