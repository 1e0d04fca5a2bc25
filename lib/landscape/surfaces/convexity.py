r"""How convex is a landscape, and what does a 2-D picture hide? (source 003, Sec. 5.4.3, Fig. 11).

* :func:`curvature_ratio`: the extreme Hessian eigenvalues :math:`\lambda_{max}` and :math:`\lambda_{min}` of the
  full loss at the model's weights and Li et al.'s ratio :math:`|\lambda_{min}/\lambda_{max}|` (0 for a locally
  convex point, large where negative curvature is strong). :math:`\lambda_{max}` comes from Lanczos on
  :math:`H`; :math:`\lambda_{min}` from Lanczos on the shifted operator :math:`\lambda_{max} I - H` (whose largest
  eigenvalue is :math:`\lambda_{max} - \lambda_{min}`), the shift Li et al.'s code uses.
* :func:`curvature_ratio_map`: that ratio at every point of a plane :math:`\theta^* + \alpha\delta + \beta\eta`.
* :func:`surface_nonconvexity`: the share of grid points where the *picture* has a negative principal curvature
  (finite differences of the plotted surface): what the eye sees.
* :func:`sharpness`: mean rise of the loss over a disc of the plane, the flatness summary we set beside test error.
* :func:`random_direction_curvatures`: the curvature a plot along a random Gaussian direction shows,
  :math:`d^T H d = \sum_i \lambda_i z_i^2` with :math:`z_i^2 \sim \chi^2_1` (Li et al.'s chi-square-weighted average of
  the principal curvatures, Sec. 5.4.3), whose mean is :math:`\operatorname{tr} H`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse.linalg as spla
import torch
from torch import nn

from landscape.curvature import hessian
from landscape.infra.executor import map_units
from landscape.infra.validation import check_finite, check_scalar

__all__ = ["CurvatureRatio", "curvature_ratio", "curvature_ratio_map", "surface_nonconvexity", "sharpness",
           "random_direction_curvatures"]


@dataclass(frozen=True)
class CurvatureRatio:
    """``lambda_min``, ``lambda_max`` of the Hessian, ``ratio`` = ``|lambda_min / lambda_max|`` when lambda_min < 0
    (0 otherwise) and the number of Hessian-vector products used.

    Parameters
    ----------
    lambda_min, lambda_max : float
        The smallest and largest Hessian eigenvalues.
    ratio : float
        ``|lambda_min / lambda_max|`` when ``lambda_min < 0``, else 0.
    n_matvecs : int
        Hessian-vector products of both Lanczos runs together.
    """

    lambda_min: float
    lambda_max: float
    ratio: float
    n_matvecs: int


def curvature_ratio(model: nn.Module, loss_fn: Callable, data, *, tol: float = 1e-4, seed: int = 0,
                    dtype=None) -> CurvatureRatio:
    r"""Extreme eigenvalues of the loss Hessian at the model's weights (module docstring) by two Lanczos runs
    (:func:`landscape.curvature.hessian.eigenpairs`, relative tolerance ``tol``).

    Parameters
    ----------
    model : torch.nn.Module
        Network at the point whose Hessian is probed.
    loss_fn : callable
        ``loss_fn(output, target)``, the mean loss.
    data : tuple
        ``(X, y)`` of the full-data loss.
    tol : float
        Relative tolerance of both Lanczos runs.
    seed : int
        Start vector of the run on :math:`H` (``seed + 1`` for the shifted operator).
    dtype : torch.dtype or None
        Precision of the Hessian-vector products (None: the model's).

    Returns
    -------
    CurvatureRatio
        The two eigenvalues, their ratio and the products used.
    """
    op = hessian.hessian_operator(model, loss_fn, data, dtype=dtype)
    top = hessian.eigenpairs(op, 1, "largest", seed=seed, tol=tol)
    lmax = float(top.eigenvalues[0])
    n = op.shape[0]
    shifted = spla.LinearOperator((n, n), matvec=lambda v: lmax * v - op.matvec(v), dtype=np.float64)
    bot = hessian.eigenpairs(shifted, 1, "largest", seed=seed + 1, tol=tol)
    lmin = lmax - float(bot.eigenvalues[0])
    ratio = abs(lmin / lmax) if lmin < 0 and lmax != 0 else 0.0
    return CurvatureRatio(lmin, lmax, ratio, int(getattr(op, "n_matvecs", 0)))


def _ratio_at(model: nn.Module, loss_fn: Callable, data, theta: torch.Tensor, tol: float, seed: int,
              dtype) -> CurvatureRatio:
    """One unit of :func:`curvature_ratio_map`: :func:`curvature_ratio` of a copy of ``model`` at ``theta``."""
    net = copy.deepcopy(model)
    with torch.no_grad():
        torch.nn.utils.vector_to_parameters(theta, net.parameters())
    return curvature_ratio(net, loss_fn, data, tol=tol, seed=seed, dtype=dtype)


def curvature_ratio_map(model: nn.Module, loss_fn: Callable, data, d1, d2, alphas, betas, *, tol: float = 1e-4,
                        seed: int = 0, dtype=None, jobs: int | None = None, progress: bool = False) -> pd.DataFrame:
    r""":func:`curvature_ratio` at :math:`\theta^* + \alpha\,d_1 + \beta\,d_2` for every grid pair (Fig. 11 of the
    source).

    Parameters
    ----------
    model : torch.nn.Module
        The network at :math:`\theta^*`; it is not changed (each grid point works on a copy).
    loss_fn, data
        As in :func:`curvature_ratio`.
    d1, d2 : array_like
        The plane's directions, one entry per parameter.
    alphas, betas : array_like
        Grid coordinates along ``d1`` and ``d2``.
    tol, seed, dtype
        Of each :func:`curvature_ratio` (every grid point uses the same ``seed``).
    jobs : int or None
        Worker processes, one grid point at a time each (:func:`landscape.infra.executor.map_units`; None reads
        ``$LANDSCAPE_JOBS``, default 1); each point works on its own copy, so the numbers do not depend on it.
    progress : bool
        A progress bar over the grid points.

    Returns
    -------
    pandas.DataFrame
        ``alpha, beta, lambda_min, lambda_max, ratio``, alpha-major.
    """
    theta0 = torch.nn.utils.parameters_to_vector(model.parameters()).detach().clone()
    m = theta0.numel()
    D = []
    for name, d in (("d1", d1), ("d2", d2)):
        v = np.asarray(d, dtype=np.float64).reshape(-1)
        if v.size != m:
            raise ValueError(f"{name} must have {m} entries (the model's parameters), got {v.size}")
        D.append(torch.as_tensor(check_finite(v, name), dtype=theta0.dtype, device=theta0.device))
    a = check_finite(np.asarray(alphas, dtype=np.float64).reshape(-1), "alphas")
    b = check_finite(np.asarray(betas, dtype=np.float64).reshape(-1), "betas")
    if a.size == 0 or b.size == 0:
        raise ValueError("alphas and betas must be non-empty")
    grid = [(float(x), float(y)) for x in a for y in b]
    units = [(model, loss_fn, data, theta0 + x * D[0] + y * D[1], tol, seed, dtype) for x, y in grid]
    ratios = map_units(_ratio_at, units, star=True, jobs=jobs, progress=progress, desc="|lmin/lmax| map")
    return pd.DataFrame([{"alpha": x, "beta": y, "lambda_min": r.lambda_min, "lambda_max": r.lambda_max,
                          "ratio": r.ratio} for (x, y), r in zip(grid, ratios, strict=True)])


def surface_nonconvexity(alphas, betas, Z) -> float:
    r"""Share of interior grid points where the plotted surface ``Z[i, j]`` (over ``alphas`` x ``betas``, equally
    spaced) has a negative principal curvature: the smaller eigenvalue of the central-difference 2x2 Hessian is
    below :math:`-10^{-9}\,\max|Z|`. 0 for a convex picture.

    Parameters
    ----------
    alphas, betas : array_like
        Equally spaced grid coordinates (at least 3 each).
    Z : array_like
        ``(len(alphas), len(betas))`` surface values.

    Returns
    -------
    float
        The share, in [0, 1].

    >>> g = np.linspace(-1, 1, 5)
    >>> surface_nonconvexity(g, g, np.add.outer(g**2, g**2)), surface_nonconvexity(g, g, np.add.outer(g**2, -g**2))
    (0.0, 1.0)
    """
    a, b, Z = np.asarray(alphas, float), np.asarray(betas, float), np.asarray(Z, float)
    if Z.shape != (a.size, b.size) or min(Z.shape) < 3:
        raise ValueError(f"Z must have shape (len(alphas), len(betas)) with both >= 3, got {Z.shape}")
    ha, hb = a[1] - a[0], b[1] - b[0]
    zaa = (Z[2:, 1:-1] - 2 * Z[1:-1, 1:-1] + Z[:-2, 1:-1]) / ha ** 2
    zbb = (Z[1:-1, 2:] - 2 * Z[1:-1, 1:-1] + Z[1:-1, :-2]) / hb ** 2
    zab = (Z[2:, 2:] - Z[2:, :-2] - Z[:-2, 2:] + Z[:-2, :-2]) / (4 * ha * hb)
    lo = 0.5 * (zaa + zbb) - np.sqrt(0.25 * (zaa - zbb) ** 2 + zab ** 2)
    return float(np.mean(lo < -1e-9 * np.abs(Z).max()))


def sharpness(frame: pd.DataFrame, radius: float, split: str = "train") -> float:
    r"""Mean of :math:`\ell(\alpha, \beta) - \ell(0, 0)` over the grid points with :math:`\alpha^2 + \beta^2 \le
    r^2` of a :func:`landscape.surfaces.projections.loss_surface` frame (filter-normalised directions make it comparable
    across networks).

    Parameters
    ----------
    frame : pandas.DataFrame
        ``alpha, beta, split, loss`` with the grid point (0, 0).
    radius : float
        Radius of the disc, > 0.
    split : str
        Which split's loss.

    Returns
    -------
    float
        Mean loss rise over the disc.
    """
    check_finite(check_scalar(radius, "radius", float, min_val=0, include_boundaries="right"), "radius")
    sub = frame[frame["split"] == split]
    if sub.empty:
        raise ValueError(f"split {split!r} is not in the frame")
    centre = sub[(sub.alpha == 0) & (sub.beta == 0)]["loss"]
    if centre.empty:
        raise ValueError("frame: the grid must contain (0, 0)")
    disc = sub[sub.alpha ** 2 + sub.beta ** 2 <= radius ** 2]
    return float((disc["loss"] - float(centre.iloc[0])).mean())


def random_direction_curvatures(H, n_directions: int, seed: int = 0) -> pd.DataFrame:
    r"""The curvatures that 1-D plots along random Gaussian directions show, and their chi-square decomposition
    (Li et al., Sec. 5.4.3 of source 003: "the principal curvatures of a dimensionality reduced plot (with random
    Gaussian directions) are weighted averages of the principal curvatures of the full-dimensional surface (the
    weights are Chi-square random variables)").

    For :math:`d \sim N(0, I_n)` the plot :math:`\alpha \mapsto L(\theta + \alpha d)` has curvature
    :math:`d^T H d` at :math:`\alpha = 0`. With :math:`H = U \Lambda U^T` and :math:`z = U^T d \sim N(0, I_n)`,
    :math:`d^T H d = \sum_i \lambda_i z_i^2`, the :math:`z_i^2` independent :math:`\chi^2_1` weights, so
    :math:`E[d^T H d] = \operatorname{tr} H`. Both sides are computed independently (a quadratic form and an
    eigen-decomposition).

    Parameters
    ----------
    H : array_like, shape (n, n)
        A symmetric matrix (a dense Hessian).
    n_directions : int
        Number of Gaussian directions, >= 1.
    seed : int
        Seed of the directions.

    Returns
    -------
    pandas.DataFrame
        One row per direction: ``curvature`` (:math:`d^T H d`), ``chi2_sum`` (:math:`\sum_i \lambda_i z_i^2`) and
        ``trace`` (:math:`\operatorname{tr} H`, the same in every row).

    >>> fr = random_direction_curvatures(np.diag([2.0, -1.0]), 3, seed=0)
    >>> bool(np.allclose(fr.curvature, fr.chi2_sum)), float(fr.trace.iloc[0])
    (True, 1.0)
    """
    A = check_finite(np.asarray(H, dtype=np.float64), "H")
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"H must be a square matrix, got shape {A.shape}")
    if not np.allclose(A, A.T, rtol=0, atol=1e-12 * max(np.abs(A).max(), 1e-300)):
        raise ValueError("H must be symmetric")
    check_scalar(n_directions, "n_directions", int, min_val=1)
    lam, U = np.linalg.eigh(0.5 * (A + A.T))
    D = np.random.default_rng(seed).standard_normal((int(n_directions), A.shape[0]))
    curv = ((D @ A) * D).sum(axis=1)
    chi2 = ((D @ U) ** 2) @ lam
    return pd.DataFrame({"curvature": curv, "chi2_sum": chi2, "trace": float(np.trace(A))})
