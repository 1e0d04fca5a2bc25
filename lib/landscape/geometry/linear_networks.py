r"""Critical points of two-layer linear networks (Baldi & Hornik 1989; source 003, Sec. 5.6.1 and 5.6.3).

For :math:`\hat Y = A B X` with :math:`B \in \mathbb R^{p\times n}`, :math:`A \in \mathbb R^{m\times p}`, data
:math:`X` (n, N), targets :math:`Y` (m, N) and :math:`E(A, B) = \frac{1}{2N}\|Y - ABX\|_F^2`, let
:math:`\Sigma_{XX} = XX^\top/N`, :math:`\Sigma_{YX} = YX^\top/N` and
:math:`\Sigma = \Sigma_{YX}\Sigma_{XX}^{-1}\Sigma_{XY}` with eigenvectors :math:`u_1..u_m` (eigenvalues
:math:`\lambda_1 > \dots > \lambda_m > 0`). For every index set :math:`I` of size :math:`p`,

.. math:: A = U_I, \qquad B = U_I^\top \Sigma_{YX}\Sigma_{XX}^{-1}

is a critical point (Baldi & Hornik's Theorem; any invertible :math:`C` gives the same point
:math:`A C, C^{-1}B` of the function). It is the global minimum when :math:`I` holds the top :math:`p`
eigenvectors and a saddle otherwise: there are no other local minima. :func:`expected_index` counts the
negative Hessian eigenvalues, one per pair (:math:`i \in I`, :math:`j \notin I`, :math:`\lambda_j >
\lambda_i`), the directions that rotate :math:`u_i` towards :math:`u_j` in both layers (our count; the test
suite checks it against dense Hessians). The autoencoder of Sec. 5.6.3 is :math:`Y = X`: the minimum projects
onto the first principal components.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from landscape.curvature import hessian
from landscape.infra.validation import check_finite, check_scalar

__all__ = ["LinearProblem", "linear_problem", "critical_point", "loss", "expected_index", "critical_points",
           "autoencoder_pca_error"]


@dataclass(frozen=True)
class LinearProblem:
    """Data ``X`` (n, N), targets ``Y`` (m, N), hidden width ``p``, and the eigenpairs of Σ (descending).

    Parameters
    ----------
    X : numpy.ndarray, shape (n, N)
        Inputs, samples as columns.
    Y : numpy.ndarray, shape (m, N)
        Targets, samples as columns.
    p : int
        Hidden width.
    eigenvalues : numpy.ndarray, shape (m,)
        Eigenvalues of Σ, descending.
    eigenvectors : numpy.ndarray, shape (m, m)
        The matching eigenvectors of Σ as columns.
    regression : numpy.ndarray, shape (m, n)
        The least-squares map ``Σ_YX Σ_XX^{-1}``.
    """

    X: np.ndarray
    Y: np.ndarray
    p: int
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    regression: np.ndarray  # Sigma_YX Sigma_XX^{-1}, (m, n)

    @property
    def n_params(self) -> int:
        """Parameters of the two-layer linear net, ``p (n + m)``."""
        return self.p * (self.X.shape[0] + self.Y.shape[0])


def linear_problem(X, Y, p: int) -> LinearProblem:
    """Set up the problem; ``X`` (n, N) and ``Y`` (m, N) as columns of samples, hidden width ``p <= m``.

    Parameters
    ----------
    X : array_like
        (n, N) inputs, samples as columns.
    Y : array_like
        (m, N) targets.
    p : int
        Hidden width, 1 <= p <= min(n, m).

    Returns
    -------
    LinearProblem
        Data moments and the eigen-decomposition of the problem.
    """
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[1] != Y.shape[1]:
        raise ValueError(f"X, Y: need (n, N) and (m, N) arrays, got {X.shape} and {Y.shape}")
    check_finite(X, "X"), check_finite(Y, "Y")
    check_scalar(p, "p", int, min_val=1, max_val=min(X.shape[0], Y.shape[0]))
    N = X.shape[1]
    Sxx, Syx = X @ X.T / N, Y @ X.T / N
    R = np.linalg.solve(Sxx, Syx.T).T
    lam, U = np.linalg.eigh(R @ Syx.T)
    order = np.argsort(-lam)
    return LinearProblem(X, Y, p, lam[order], U[:, order], R)


def critical_point(problem: LinearProblem, subset) -> np.ndarray:
    """Flat vector ``[A.ravel(), B.ravel()]`` of the critical point built from the eigenvectors ``subset``.

    Parameters
    ----------
    problem : LinearProblem
        The problem whose critical point is built.
    subset : sequence of int
        p distinct eigenvector indices.

    Returns
    -------
    numpy.ndarray
        Flat ``[A.ravel(), B.ravel()]``.
    """
    I = list(subset)
    if len(I) != problem.p or len(set(I)) != len(I) or min(I) < 0 or max(I) >= len(problem.eigenvalues):
        raise ValueError(f"subset must hold {problem.p} distinct eigenvector indices, got {subset!r}")
    A = problem.eigenvectors[:, I]
    B = A.T @ problem.regression
    return np.concatenate([A.ravel(), B.ravel()])


def loss(problem: LinearProblem, theta) -> torch.Tensor:
    r""":math:`E = \frac{1}{2N}\|Y - ABX\|_F^2` at a flat vector (torch, differentiable).

    Parameters
    ----------
    problem : LinearProblem
        The problem whose loss is evaluated.
    theta : torch.Tensor
        Flat ``[A.ravel(), B.ravel()]``.

    Returns
    -------
    torch.Tensor
        Scalar loss E.
    """
    m, n, p = problem.Y.shape[0], problem.X.shape[0], problem.p
    t = torch.as_tensor(theta, dtype=torch.float64)
    A, B = t[: m * p].reshape(m, p), t[m * p:].reshape(p, n)
    X, Y = torch.as_tensor(problem.X), torch.as_tensor(problem.Y)
    return 0.5 * ((Y - A @ B @ X) ** 2).sum() / X.shape[1]


def expected_index(eigenvalues, subset) -> int:
    """Number of pairs (i in subset, j not in subset) with lambda_j > lambda_i: the Hessian index.

    Parameters
    ----------
    eigenvalues : array_like
        Eigenvalues of Sigma (descending order not required).
    subset : sequence of int
        Indices of the eigenvectors used.

    Returns
    -------
    int
        Predicted Hessian index.

    >>> expected_index([3.0, 2.0, 1.0], [2])
    2
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    inside = set(subset)
    return sum(int(lam[j] > lam[i]) for i in inside for j in range(len(lam)) if j not in inside)


def critical_points(problem: LinearProblem, *, tol: float = 1e-9) -> pd.DataFrame:
    """Every critical point from a ``p``-subset of eigenvectors: loss, gradient norm, Hessian index (eigenvalues
    below ``-tol * lambda_max``), zero eigenvalues, the expected index and the kind (minimum / saddle).

    Parameters
    ----------
    problem : LinearProblem
        The problem whose critical points are enumerated.
    tol : float
        Relative tolerance of the Hessian's zero eigenvalues.

    Returns
    -------
    pandas.DataFrame
        One row per p-subset: subset, loss, grad_norm, index, expected_index, kind.
    """
    rows = []
    for subset in itertools.combinations(range(len(problem.eigenvalues)), problem.p):
        theta = torch.as_tensor(critical_point(problem, subset))
        g = torch.func.grad(lambda t: loss(problem, t))(theta)
        H = hessian.dense_function_hessian(lambda t: loss(problem, t), theta)
        ev = np.linalg.eigvalsh(H)
        thr = tol * np.abs(ev).max()
        index = int(np.sum(ev < -thr))
        rows.append({"subset": " ".join(map(str, subset)), "loss": float(loss(problem, theta)),
                     "grad_norm": float(g.norm()), "index": index, "n_zero": int(np.sum(np.abs(ev) <= thr)),
                     "expected_index": expected_index(problem.eigenvalues, subset),
                     "kind": "minimum" if index == 0 else "saddle"})
    return pd.DataFrame(rows)


def autoencoder_pca_error(X, p: int) -> float:
    r"""Baldi & Hornik's autoencoder result (Sec. 5.6.1): at the global minimum of the linear autoencoder
    (``Y = X``, hidden width ``p``, the critical point of the top-``p`` eigenvectors), :math:`AB` is the orthogonal
    projector :math:`U_p U_p^\top` onto the first ``p`` principal directions of :math:`XX^\top/N`. Returns
    :math:`\|AB - U_pU_p^\top\|_F` (0 up to rounding).

    Parameters
    ----------
    X : array_like
        (n, N) data, samples as columns.
    p : int
        Hidden width, ``1 <= p <= n``.

    Returns
    -------
    float
        Frobenius distance to the projector.

    >>> X = np.diag([3.0, 2.0, 1.0]) @ np.random.default_rng(0).standard_normal((3, 50))
    >>> autoencoder_pca_error(X, 2) < 1e-12
    True
    """
    problem = linear_problem(X, X, p)
    n = problem.X.shape[0]
    theta = critical_point(problem, range(p))
    A, B = theta[:n * p].reshape(n, p), theta[n * p:].reshape(p, n)
    U = np.linalg.eigh(problem.X @ problem.X.T / problem.X.shape[1])[1][:, ::-1][:, :p]
    return float(np.linalg.norm(A @ B - U @ U.T))
