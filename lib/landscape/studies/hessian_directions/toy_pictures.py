r"""Pictures of toy problems (Böttcher & Wheeler, Fig. 4 and Sec. III): surfaces of plain functions on a plane,
trace estimates and Hessian-direction vs random planes of a quadratic saddle. The names are also importable
from :mod:`landscape.studies.hessian_directions.toys`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from landscape.studies.hessian_directions.toys import QuadraticSaddle

__all__ = ["function_surface", "toy_trace_estimates", "toy_planes"]


def function_surface(fn: Callable[[np.ndarray], np.ndarray], x0, d1, d2, alphas, betas) -> pd.DataFrame:
    r""":math:`\ell(\alpha,\beta) = f(x_0 + \alpha d_1 + \beta d_2)` (eq (12)) for a vectorised numpy function
    ``fn`` (last axis = coordinates). Grids must contain 0 exactly. Frame: ``alpha, beta, loss``.

    Parameters
    ----------
    fn : callable
        Vectorised numpy function (last axis = coordinates).
    x0 : array_like
        Centre.
    d1, d2 : array_like
        Directions.
    alphas, betas : array_like
        Grids (strictly increasing, containing 0).

    Returns
    -------
    pandas.DataFrame
    """
    from landscape.surfaces.projections import check_grid

    a, b = check_grid(alphas, "alphas"), check_grid(betas, "betas")
    x0 = np.asarray(x0, dtype=np.float64).reshape(-1)
    d1 = np.asarray(d1, dtype=np.float64).reshape(-1)
    d2 = np.asarray(d2, dtype=np.float64).reshape(-1)
    if d1.shape != x0.shape or d2.shape != x0.shape:
        raise ValueError("d1 and d2 must have the shape of x0")
    A, B = np.meshgrid(a, b, indexing="ij")
    vals = np.array([fn(x0 + ai * d1 + B[i][:, None] * d2) for i, ai in enumerate(a)])
    return pd.DataFrame({"alpha": A.ravel(), "beta": B.ravel(), "loss": np.asarray(vals).ravel()})


def toy_trace_estimates(saddle: QuadraticSaddle, n_probes: int, alphas, seed: int = 0):
    r"""Fig. 3: Hutchinson's estimate (eq (25), HVPs) and the curvature-based one (eq (23), quadratic fits of
    the 1-D projections on ``alphas``) of the trace of a toy saddle, with the same Gaussian directions.
    Returns ``(running, hutchinson, curvature)``: a frame ``N, true_trace, hutchinson, curvature_based`` of
    running means and the two :class:`landscape.curvature.hessian.TraceEstimate`.

    Parameters
    ----------
    saddle : QuadraticSaddle
        The toy loss.
    n_probes : int
        Gaussian directions.
    alphas : array_like
        Points of the quadratic fits.
    seed : int
        Seed of the directions.

    Returns
    -------
    tuple
    """
    from landscape.curvature import hessian

    hut = hessian.hutchinson_trace(saddle.hessian_operator(), n_probes, seed=seed, dist="gaussian")
    cur = hessian.curvature_trace(saddle.loss, np.zeros(saddle.n), n_probes, alphas=alphas, seed=seed,
                                  dist="gaussian")
    running = pd.DataFrame({"N": np.arange(1, n_probes + 1), "true_trace": saddle.trace,
                            "hutchinson": hut.running(), "curvature_based": cur.running()})
    return running, hut, cur


def toy_planes(saddle: QuadraticSaddle, n_grid: int, seed: int = 0) -> tuple[dict, np.ndarray]:
    r"""Fig. 4: surfaces of a toy saddle on [-1, 1]^2 (``n_grid`` points per axis) along (a) the Hessian
    directions of largest and most negative curvature (Lanczos + annihilation), (b) the two largest, (c) the
    two most negative curvature directions, (d) two random unit Gaussian directions. Returns the surfaces by
    panel title and the eigenvalues of panel (a).

    Parameters
    ----------
    saddle : QuadraticSaddle
        The toy loss.
    n_grid : int
        Points per axis (odd).
    seed : int
        Seed of the random plane.

    Returns
    -------
    tuple
    """
    from landscape.curvature import hessian
    from landscape.surfaces.projections import hessian_directions, random_direction, symmetric_grid

    op = saddle.hessian_operator()
    hd = hessian_directions(op)
    top = hessian.eigenpairs(op, 2, "largest").eigenvectors.T
    bottom = hessian.eigenpairs(op, 2, "smallest").eigenvectors.T
    rnd = [random_direction(saddle.n, seed + i) for i in range(2)]
    g = symmetric_grid(1.0, n_grid)
    dirs = {"(a) Hessian: largest + most negative": (hd.directions[0], hd.directions[1]),
            "(b) Hessian: two positive": tuple(top), "(c) Hessian: two negative": tuple(bottom),
            "(d) random Gaussian": tuple(d / np.linalg.norm(d) for d in rnd)}
    surfaces = {k: function_surface(saddle.loss, np.zeros(saddle.n), a, b, g, g) for k, (a, b) in dirs.items()}
    return surfaces, hd.eigenvalues
