r"""Interpolation between parameter vectors: segments, triangles, quadrilaterals and planes (source 003, Sec. 5.1).

Goodfellow et al.'s 1-D view (Sec. 5.4.1) is the segment
:math:`\theta(\alpha) = (1-\alpha)\,\theta + \alpha\,\theta'`; Im et al. (Sec. 5.1) extend it to two dimensions
by *barycentric* interpolation over a triangle of three solutions,
:math:`\theta(w) = w_1\theta_1 + w_2\theta_2 + w_3\theta_3` with :math:`w_i \ge 0,\ \sum_i w_i = 1`, and by
*bilinear* interpolation over a quadrilateral of four,
:math:`\theta(u, v) = (1-u)(1-v)\theta_{00} + u(1-v)\theta_{10} + (1-u)v\theta_{01} + uv\,\theta_{11}`.
A plane through three points (origin :math:`\theta_1`, orthonormal basis of
:math:`\operatorname{span}\{\theta_2-\theta_1, \theta_3-\theta_1\}`) places all three on one flat picture.

Vectors are float64 numpy arrays in ``parameters_to_vector`` order. :func:`loss_at` evaluates a model at a
list of parameter vectors (optionally with interpolated batch-norm running statistics).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from landscape.infra.validation import check_finite, check_scalar
from landscape.nets.models import assign_buffers, buffer_vector, evaluating
from landscape.surfaces.projections import split_data

__all__ = ["segment", "barycentric_weights", "barycentric", "bilinear", "Plane", "plane_through", "loss_at",
           "barrier"]


def _vectors(points, name: str, count: int | None = None) -> np.ndarray:
    a = np.asarray(points.detach().cpu().numpy() if torch.is_tensor(points) else points, dtype=np.float64)
    if a.ndim != 2 or (count is not None and a.shape[0] != count):
        want = f"({count}, m)" if count is not None else "(k, m)"
        raise ValueError(f"{name} must have shape {want}, got {a.shape}")
    return check_finite(a, name)


def _stack(points, name: str) -> np.ndarray:
    flat = [np.asarray(p.detach().cpu().numpy() if torch.is_tensor(p) else p, dtype=np.float64).reshape(-1)
            for p in points]
    if len({v.size for v in flat}) != 1:
        raise ValueError(f"{name} must have the same number of entries, got {[v.size for v in flat]}")
    return _vectors(np.stack(flat), name, len(flat))


def _coefficients(values, name: str) -> np.ndarray:
    a = check_finite(np.asarray(values, dtype=np.float64).reshape(-1), name)
    if a.size == 0:
        raise ValueError(f"{name} must not be empty")
    return a


def segment(theta_a, theta_b, alphas) -> np.ndarray:
    r"""Points :math:`(1-\alpha)\theta_a + \alpha\theta_b` (Sec. 5.4.1, Goodfellow et al.), shape (len(alphas), m).

    Written as a weighted sum, so :math:`\alpha = 0` and :math:`\alpha = 1` give the endpoints exactly
    (values outside [0, 1] extrapolate).

    Parameters
    ----------
    theta_a, theta_b : array_like
        Flat parameter vectors of the same length m.
    alphas : array_like
        Positions on the line.

    Returns
    -------
    numpy.ndarray
        (len(alphas), m) points on the line.

    >>> segment([0.0, 2.0], [4.0, 6.0], [0.0, 0.25, 1.0]).tolist()
    [[0.0, 2.0], [1.0, 3.0], [4.0, 6.0]]
    """
    ab = _stack((theta_a, theta_b), "theta_a, theta_b")
    a = _coefficients(alphas, "alphas")[:, None]
    return (1.0 - a) * ab[0] + a * ab[1]


def barycentric_weights(n: int) -> np.ndarray:
    r"""All barycentric weights :math:`(i, j, k)/(n-1)` with :math:`i + j + k = n - 1` (a triangular grid with
    ``n`` points per edge), shape (n(n+1)/2, 3); each entry is an exact quotient of integers.

    Parameters
    ----------
    n : int
        Points per edge, >= 2.

    Returns
    -------
    numpy.ndarray
        (n(n+1)/2, 3) weights, rows summing to 1.

    >>> barycentric_weights(2).tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    check_scalar(n, "n", int, min_val=2)
    s = n - 1
    rows = [(s - j - k, j, k) for k in range(n) for j in range(n - k)]
    return np.asarray(rows, dtype=np.float64) / s


def barycentric(thetas, weights) -> np.ndarray:
    r"""Barycentric interpolation :math:`\sum_i w_i \theta_i` over a triangle (Sec. 5.1, Im et al.).

    ``thetas`` (3, m); ``weights`` (k, 3) with non-negative rows summing to 1 (to 1e-12). Returns (k, m).

    Parameters
    ----------
    thetas : array_like
        (3, m) corners.
    weights : array_like
        (k, 3) barycentric weights.

    Returns
    -------
    numpy.ndarray
        (k, m).
    """
    t = _vectors(thetas, "thetas", 3)
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    if w.ndim != 2 or w.shape[1] != 3 or not np.all(np.isfinite(w)):
        raise ValueError(f"weights must have shape (k, 3) and be finite, got {w.shape}")
    if np.any(w < 0) or np.any(np.abs(w.sum(axis=1) - 1.0) > 1e-12):
        raise ValueError("weights must be non-negative and sum to 1 in every row")
    return w @ t


def bilinear(thetas, u, v) -> np.ndarray:
    r"""Bilinear interpolation over a quadrilateral (Sec. 5.1, Im et al.): ``thetas`` (4, m) are the corners
    :math:`\theta_{00}, \theta_{10}, \theta_{01}, \theta_{11}`; returns the points for every pair of the grids
    ``u`` and ``v`` (u-major), shape (len(u) * len(v), m). :math:`(u, v) \in \{0, 1\}^2` gives the corners exactly.

    Parameters
    ----------
    thetas : array_like
        (4, m) corners.
    u, v : array_like
        Coordinates in [0, 1].

    Returns
    -------
    numpy.ndarray
        (len(u) * len(v), m) points, u-major.

    >>> bilinear([[0.0], [1.0], [2.0], [3.0]], [0.0, 1.0], [0.0, 0.5, 1.0]).ravel().tolist()
    [0.0, 1.0, 2.0, 1.0, 2.0, 3.0]
    """
    t = _vectors(thetas, "thetas", 4)
    uu, vv = np.meshgrid(_coefficients(u, "u"), _coefficients(v, "v"), indexing="ij")
    uu, vv = uu.reshape(-1, 1), vv.reshape(-1, 1)
    w = np.hstack([(1 - uu) * (1 - vv), uu * (1 - vv), (1 - uu) * vv, uu * vv])
    return w @ t


@dataclass(frozen=True)
class Plane:
    """A plane through three points: ``origin`` (the first point), orthonormal ``basis`` (2, m) (Gram--Schmidt of
    ``p2 - p1`` then ``p3 - p1``) and the in-plane ``coordinates`` (3, 2) of the three points.

    Parameters
    ----------
    origin : numpy.ndarray, shape (m,)
        The first point.
    basis : numpy.ndarray, shape (2, m)
        Orthonormal rows spanning the plane.
    coordinates : numpy.ndarray, shape (3, 2)
        The three points in the plane's coordinates (the first is ``(0, 0)``).
    """

    origin: np.ndarray
    basis: np.ndarray
    coordinates: np.ndarray

    def point(self, x: float, y: float) -> np.ndarray:
        """The parameter vector at in-plane coordinates (x, y).

        Parameters
        ----------
        x, y : float
            Coordinates along ``basis[0]`` and ``basis[1]``, in parameter units.

        Returns
        -------
        numpy.ndarray, shape (m,)
        """
        return self.origin + x * self.basis[0] + y * self.basis[1]


def plane_through(p1, p2, p3) -> Plane:
    r"""The plane through three parameter vectors (e.g. three optimizers' solutions, or the start, middle and
    end of a trajectory). Raises ``ValueError`` when the points are (numerically) collinear.

    Parameters
    ----------
    p1, p2, p3 : array_like
        Flat parameter vectors, not collinear.

    Returns
    -------
    Plane
        Origin, orthonormal basis and the points' coordinates.

    >>> pl = plane_through([0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [1.0, 3.0, 0.0])
    >>> pl.coordinates.tolist()
    [[0.0, 0.0], [2.0, 0.0], [1.0, 3.0]]
    """
    pts = _stack((p1, p2, p3), "p1, p2, p3")
    u, w = pts[1] - pts[0], pts[2] - pts[0]
    nu = np.linalg.norm(u)
    if nu == 0:
        raise ValueError("p1 and p2 coincide: no plane")
    e1 = u / nu
    r = w - (w @ e1) * e1
    nr = np.linalg.norm(r)
    if nr <= 1e-12 * max(np.linalg.norm(w), 1.0):
        raise ValueError("p1, p2, p3 are collinear: no plane")
    e2 = r / nr
    basis = np.stack([e1, e2])
    coords = np.array([[0.0, 0.0], [nu, 0.0], [w @ e1, nr]])  # exact zeros by construction
    return Plane(pts[0].copy(), basis, coords)


def loss_at(model: nn.Module, loss_fn: Callable, data, points, *, buffers=None,
            metrics: Mapping[str, Callable] | None = None, progress: bool = False) -> pd.DataFrame:
    r"""Loss (and ``metrics``) of ``model`` at each parameter vector of ``points`` (k, m), in eval mode.

    ``buffers``: None (keep the model's buffers, e.g. batch-norm running statistics), or (k, b) flat buffer
    vectors to load with each point (see :func:`landscape.surfaces.batchnorm.interpolate_buffers`). ``data`` as in
    :func:`landscape.surfaces.projections.loss_line`. The model's weights, buffers and train/eval flags are restored
    afterwards.

    Parameters
    ----------
    model : torch.nn.Module
        Network evaluated at each point (restored afterwards).
    loss_fn : callable
        Loss ``loss_fn(output, y)`` at each point.
    data
        ``(X, y)`` or ``{split: (X, y)}`` (:func:`landscape.surfaces.projections.split_data`).
    points : array_like
        (k, m) parameter vectors.
    buffers : array_like or None
        (k, b) flat buffer vectors, or None.
    metrics : mapping or None
        ``{name: fn(output, target)}`` evaluated beside the loss.
    progress : bool
        A progress bar over the points.

    Returns
    -------
    pandas.DataFrame
        ``point, split, loss[, metrics]``.
    """
    params = list(model.parameters())
    dtype, device = params[0].dtype, params[0].device
    P = _vectors(points, "points")
    m = sum(p.numel() for p in params)
    if P.shape[1] != m:
        raise ValueError(f"points must have {m} columns (the model's parameters), got {P.shape[1]}")
    B = None if buffers is None else _vectors(buffers, "buffers", P.shape[0])
    buf0 = buffer_vector(model)
    tens = {k: (torch.as_tensor(X, device=device).to(dtype), torch.as_tensor(y, device=device))
            for k, (X, y) in split_data(data).items()}
    rows = []
    try:
        with evaluating(model):
            for i in tqdm(range(P.shape[0]), desc="loss at points", disable=not progress):
                torch.nn.utils.vector_to_parameters(torch.as_tensor(P[i], dtype=dtype, device=device), params)
                if B is not None:
                    assign_buffers(model, B[i])
                for name, (X, y) in tens.items():
                    out = model(X)
                    row = {"point": i, "split": name, "loss": float(loss_fn(out, y))}
                    for mname, fn in (metrics or {}).items():
                        row[mname] = float(fn(out, y))
                    rows.append(row)
    finally:
        assign_buffers(model, buf0)
    return pd.DataFrame(rows)


def barrier(losses: Sequence[float]) -> float:
    r"""Barrier height of a loss curve along a path: :math:`\max_t \ell(t) - \max(\ell(0), \ell(1))`
    (0 when the curve never rises above its higher endpoint).

    Parameters
    ----------
    losses : sequence of float
        The loss along the path, endpoints first and last.

    Returns
    -------
    float
        Height of the barrier, >= 0.

    >>> barrier([1.0, 3.0, 2.0])
    1.0
    """
    a = _coefficients(losses, "losses")
    return float(max(a.max() - max(a[0], a[-1]), 0.0))
