"""pyDiffMap's automatic bandwidth (Berry, Giannakis & Harlim) on precomputed squared distances (issue 8).

Source 000 reports, for iris, a maximal log-log slope ``a = 1.07`` of ``L(ε)`` at ``ε = 0.06`` and a Berry-Harlim
dimension ``d = 2`` (Sec. 3.3, Fig. 5). ``0.06`` is close to ``2^-4 = 0.0625`` and ``2 = round(2 · 1.07)``, which is
exactly what pyDiffMap's ``choose_optimal_epsilon_BGH`` (``pydiffmap/kernel.py``, version 0.2) returns:

- the kernel matrix is sparse: each point's ``k = 64`` nearest neighbours, the point itself included (distance 0);
- ``T(ε) = Σ exp(-d²/(4ε))`` over those ``M · k`` entries (pyDiffMap's kernel is ``exp(-d²/(4ε))``);
- ``ε`` runs over the powers of two ``2^-40 … 2^40``; the slope is the finite difference
  ``Δ log T / Δ log ε`` between neighbouring grid points;
- the chosen ``ε`` is the *left* grid point of the steepest step, the dimension ``round(2 · max slope)``.

pyDiffMap cannot take our per-point Mahalanobis distances (eq 2.5 averages two different metrics per pair), so
:func:`bgh_bandwidth` reproduces the routine on a precomputed ``d²`` matrix; on Euclidean points it returns what
pyDiffMap returns (tested against the library).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from landscape.diffusion.inputs import _check_sq_dists

__all__ = ["POWERS_OF_TWO", "BGHChoice", "knn_sq_values", "bgh_bandwidth"]

#: pyDiffMap's default grid: ``2**np.arange(-40., 41., 1.)``.
POWERS_OF_TWO = 2.0 ** np.arange(-40.0, 41.0, 1.0)


@dataclass(frozen=True)
class BGHChoice:
    """pyDiffMap's choice: ``eps`` (in its own units, kernel ``exp(-d²/(4ε))``), ``dimension`` (an integer, as
    pyDiffMap rounds it), the steepest finite-difference slope ``slope_max``, and the grid and slopes.

    Parameters
    ----------
    eps : float
        The chosen bandwidth: the left grid point of the steepest step (kernel ``exp(-d²/(kernel_scale · ε))``).
    dimension : int
        ``round(2 · slope_max)``, Berry-Harlim's dimension estimate.
    slope_max : float
        The steepest finite-difference slope of ``log T`` against ``log ε``.
    epsilons : numpy.ndarray
        The grid, sorted ascending, shape ``(G,)``.
    slopes : numpy.ndarray
        The finite-difference slopes between neighbouring grid points, shape ``(G - 1,)``.
    k : int
        Neighbours per point actually used (``min(k, M)``).
    """

    eps: float
    dimension: int
    slope_max: float
    epsilons: np.ndarray
    slopes: np.ndarray
    k: int

    @property
    def log2_eps(self) -> float:
        """``log2(eps)``: an integer on pyDiffMap's grid of powers of two."""
        return float(np.log2(self.eps))


def knn_sq_values(sq_dists, k: int = 64) -> np.ndarray:
    """The squared distances of each point to its ``k`` nearest points, itself included (pyDiffMap's
    ``kneighbors_graph(X, mode="distance")`` queried with the data), flattened: ``M · min(k, M)`` values.

    Parameters
    ----------
    sq_dists : array_like
        ``(M, M)`` symmetric matrix of squared distances with a zero diagonal.
    k : int, default 64
        Nearest points per row, the point itself included (capped at ``M``).

    Returns
    -------
    numpy.ndarray
        ``M · min(k, M)`` values, each row's ascending.

    Examples
    --------
    >>> knn_sq_values(np.array([[0.0, 4.0, 1.0], [4.0, 0.0, 9.0], [1.0, 9.0, 0.0]]), k=2).tolist()
    [0.0, 1.0, 0.0, 4.0, 0.0, 1.0]
    """
    D2 = _check_sq_dists(sq_dists)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k: must be a positive integer, got {k!r}")
    k = min(int(k), D2.shape[0])
    part = np.partition(D2, k - 1, axis=1)[:, :k]
    return np.sort(part, axis=1).ravel()


def bgh_bandwidth(sq_dists, *, k: int = 64, epsilons=None, kernel_scale: float = 4.0) -> BGHChoice:
    """PyDiffMap's ``choose_optimal_epsilon_BGH`` on the ``k``-nearest-neighbour entries of ``sq_dists``.

    Parameters
    ----------
    sq_dists : (M, M) array of squared distances (e.g. eq (2.5) of source 000).
    k : neighbours per point, the point itself included (pyDiffMap's default 64).
    epsilons : grid (default :data:`POWERS_OF_TWO`, pyDiffMap's).
    kernel_scale : the kernel is ``exp(-d²/(kernel_scale · ε))``; pyDiffMap's is 4.

    Returns
    -------
    BGHChoice
        ``eps`` = the left end of the steepest step of ``log T`` against ``log ε``, ``dimension`` =
        ``round(2 · slope)`` there (Berry-Harlim, source 000 Sec. 3.3: ``d ≈ 2 max a``).

    Examples
    --------
    Two points at squared distance 1: ``T = 2 + 2 exp(-1/(4ε))``, whose slope peaks at 0.278 (``u e^{-u} /
    (1 + e^{-u})`` at ``u = 1/(4ε) ≈ 1.28``), so the dimension rounds to 1 and ε sits just left of ``1/(4·1.28)``:

    >>> c = bgh_bandwidth(np.array([[0.0, 1.0], [1.0, 0.0]]), k=2)
    >>> c.dimension, c.eps, round(c.slope_max, 2)
    (1, 0.125, 0.27)
    """
    values = knn_sq_values(sq_dists, k)
    if not (np.isfinite(kernel_scale) and kernel_scale > 0):
        raise ValueError(f"kernel_scale: must be a positive number, got {kernel_scale!r}")
    grid = POWERS_OF_TWO if epsilons is None else np.sort(np.asarray(epsilons, dtype=float).ravel())
    if grid.size < 2 or not np.all(np.isfinite(grid)) or np.any(grid <= 0):
        raise ValueError("epsilons: need at least 2 finite positive values")
    log_T = np.array([logsumexp(-values / (kernel_scale * e)) for e in grid])
    log_eps = np.log(grid)
    slopes = np.diff(log_T) / np.diff(log_eps)
    i = int(np.argmax(slopes))
    return BGHChoice(eps=float(grid[i]), dimension=int(np.round(2.0 * slopes[i])), slope_max=float(slopes[i]),
                     epsilons=grid, slopes=slopes, k=len(values) // len(sq_dists))
