"""Choosing the kernel scale ε (section 3.3): ``L(ε)`` of eq (3.4), its log-log slope (3.6)-(3.7) and the
Berry-Harlim dimension estimate ``d ≈ 2 max a``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from landscape.diffusion.inputs import _check_sq_dists
from landscape.diffusion.kernels import gaussian_kernel


@dataclass(frozen=True)
class KernelSumScan:
    """Result of :func:`kernel_sum`.

    Parameters
    ----------
    eps, L : numpy.ndarray
        The grid and ``L(ε) = Σ_ij K_ε[i, j]`` (eq 3.4).
    slope : numpy.ndarray
        Exact ``d log L / d log ε = Σ K d²/ε / Σ K`` at each grid point.
    eps_mid, slope_fd : numpy.ndarray
        Finite-difference slopes ``a_i`` of eq (3.7) at the geometric midpoints.
    i_max, eps_max, a_max : int, float, float
        Where the exact slope is largest on the grid, and its value.
    dimension : float
        Berry-Harlim estimate ``d ≈ 2 max a`` (section 3.3), from the exact slope.
    linear_region : tuple of float
        ``(ε_lo, ε_hi)``, the contiguous grid range around ``eps_max`` where ``slope ≥ level · a_max`` (our
        rule; the source shades the region by eye).
    level : float
        The level used.
    """

    eps: np.ndarray
    L: np.ndarray
    slope: np.ndarray
    eps_mid: np.ndarray
    slope_fd: np.ndarray
    i_max: int
    eps_max: float
    a_max: float
    dimension: float
    linear_region: tuple[float, float]
    level: float

    def in_linear_region(self, eps: float) -> bool:
        """Whether ``eps`` lies in :attr:`linear_region` (ends included)."""
        return self.linear_region[0] <= eps <= self.linear_region[1]


def kernel_sum(sq_dists, eps_grid, *, level: float = 0.5) -> KernelSumScan:
    """``L(ε) = Σ_ij exp(-d_ij²/ε)`` (eq 3.4) on a grid, with exact and finite-difference log-log slopes.

    The exact slope ``d log L / d log ε = Σ_ij K_ij d_ij² / ε / Σ_ij K_ij`` (eq 3.6 says it is ≈ d/2 in the
    linear region); the finite differences are eq (3.7). Berry-Harlim: ``d ≈ 2 max a``.

    Parameters
    ----------
    sq_dists : array_like
        ``(M, M)`` symmetric matrix of squared distances ``d_ij²`` with a zero diagonal.
    eps_grid : array_like
        Kernel scales ``ε``: at least 2, finite, positive, strictly increasing.
    level : float, default 0.5
        In (0, 1]: the linear region is where the exact slope is at least ``level`` times its maximum.

    Returns
    -------
    KernelSumScan

    Examples
    --------
    >>> import numpy as np
    >>> from landscape import diffusion
    >>> D2 = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> scan = diffusion.kernel_sum(D2, [0.5, 1.0, 2.0])
    >>> bool(np.allclose(scan.L, 2 + 2 * np.exp(-1 / np.array([0.5, 1.0, 2.0]))))  # L = 2 + 2 exp(-d^2/eps)
    True
    """
    D2 = _check_sq_dists(sq_dists)
    grid = np.asarray(eps_grid, dtype=np.float64).ravel()
    if grid.size < 2:
        raise ValueError("eps_grid: need at least 2 values")
    if not np.all(np.isfinite(grid)) or np.any(grid <= 0):
        raise ValueError("eps_grid: values must be finite and positive")
    if np.any(np.diff(grid) <= 0):
        raise ValueError("eps_grid: must be strictly increasing")
    if not 0 < level <= 1:
        raise ValueError(f"level: must lie in (0, 1], got {level!r}")
    d = D2[np.triu_indices(D2.shape[0], 1)]
    M = D2.shape[0]
    L = np.empty(grid.size)
    slope = np.empty(grid.size)
    for k, e in enumerate(grid):
        Kv = np.exp(-d / e)
        s0 = M + 2.0 * Kv.sum()
        L[k] = s0
        slope[k] = 2.0 * (Kv * d).sum() / e / s0
    lg, lL = np.log(grid), np.log(L)
    slope_fd = np.diff(lL) / np.diff(lg)
    eps_mid = np.exp(0.5 * (lg[1:] + lg[:-1]))
    i_max = int(np.argmax(slope))
    a_max = float(slope[i_max])
    lo = hi = i_max
    while lo > 0 and slope[lo - 1] >= level * a_max:
        lo -= 1
    while hi < grid.size - 1 and slope[hi + 1] >= level * a_max:
        hi += 1
    return KernelSumScan(
        eps=grid,
        L=L,
        slope=slope,
        eps_mid=eps_mid,
        slope_fd=slope_fd,
        i_max=i_max,
        eps_max=float(grid[i_max]),
        a_max=a_max,
        dimension=2.0 * a_max,
        linear_region=(float(grid[lo]), float(grid[hi])),
        level=float(level),
    )


def kernel_slope(sq_dists, eps: float) -> float:
    """Exact log-log slope ``d log L / d log ε = Σ K d²/ε / Σ K`` of ``L(ε)`` (eqs 3.4-3.6) at one ``ε``.

    Parameters
    ----------
    sq_dists : array_like
        ``(M, M)`` symmetric matrix of squared distances with a zero diagonal.
    eps : float
        Kernel scale ``ε > 0`` (kernel ``exp(-d²/ε)``).

    Returns
    -------
    float
        The slope: about ``d/2`` in the linear region (eq 3.6).

    Examples
    --------
    >>> import numpy as np
    >>> from landscape import diffusion
    >>> slope = diffusion.kernel_slope(np.array([[0.0, 1.0], [1.0, 0.0]]), 1.0)
    >>> bool(np.isclose(slope, np.exp(-1) / (1 + np.exp(-1))))  # d log L / d log eps of L = 2 + 2 exp(-1/eps)
    True
    """
    K = gaussian_kernel(sq_dists, eps)
    D2 = np.asarray(sq_dists, dtype=np.float64)
    return float((K * D2).sum() / float(eps) / K.sum())
