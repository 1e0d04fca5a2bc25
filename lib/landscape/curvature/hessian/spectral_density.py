"""Spectral density of a curvature operator by stochastic Lanczos quadrature (Ghorbani et al. 2019), the
exact smoothed density it estimates, and their L1 distance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import scipy.sparse.linalg as spla

from landscape.curvature.hessian.inputs import _check_int
from landscape.curvature.hessian.linear_operator import _as_operator, _count
from landscape.infra.validation import check_finite, check_scalar


def lanczos(op, v0, n_steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""``n_steps`` Lanczos steps from ``v0`` with full reorthogonalisation (float64).

    Returns ``(alpha, beta, Q)``: the diagonal and off-diagonal of the tridiagonal
    :math:`T = Q^\top H Q` and the orthonormal basis ``Q`` (n, m). Stops early at an invariant subspace
    (:math:`\beta_j \le 10^{-10}\,\|T\|`), so ``m <= n_steps``.

    Parameters
    ----------
    op : scipy.sparse.linalg.LinearOperator or numpy.ndarray
        Symmetric operator.
    v0 : array_like
        Start vector (normalised here).
    n_steps : int
        Steps.

    Returns
    -------
    tuple of numpy.ndarray
        Diagonal, off-diagonal of :math:`T` and the Lanczos basis.

    Examples
    --------
    >>> import numpy as np, scipy.linalg
    >>> from landscape import hessian
    >>> A = np.diag([4.0, 2.0, 1.0, -1.0])
    >>> a, b, Q = hessian.lanczos(A, np.ones(4), 4)
    >>> np.round(scipy.linalg.eigvalsh_tridiagonal(a, b), 10)  # n steps: the whole spectrum
    array([-1.,  1.,  2.,  4.])
    >>> bool(np.allclose(Q.T @ Q, np.eye(4)))
    True
    """
    alpha, beta, Q, _ = _lanczos(op, v0, n_steps)
    return alpha, beta, Q


def _lanczos(op, v0, n_steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    r""":func:`lanczos` and the last :math:`\beta_m` (0 at an invariant subspace): the Ritz residuals are
    :math:`\beta_m |s_{mi}|`.
    """
    A = _as_operator(op)
    n = A.shape[0]
    n_steps = min(_check_int(n_steps, "n_steps"), n)
    q = np.asarray(v0, dtype=np.float64).reshape(-1)
    if q.shape != (n,) or not np.all(np.isfinite(q)) or not np.any(q):
        raise ValueError(f"v0 must be a finite non-zero vector of length {n}")
    Q = np.zeros((n_steps, n))  # the basis as rows: each vector contiguous
    alpha, beta = [], []
    Q[0] = q / np.linalg.norm(q)
    scale = 0.0
    for j in range(n_steps):
        w = np.asarray(A.matvec(Q[j]), dtype=np.float64).reshape(-1)
        a = float(Q[j] @ w)
        alpha.append(a)
        w = w - a * Q[j] - (beta[-1] * Q[j - 1] if j > 0 else 0.0)
        # full reorthogonalisation (twice is enough)
        for _ in range(2):
            w -= Q[:j + 1].T @ (Q[:j + 1] @ w)
        b = float(np.linalg.norm(w))
        scale = max(scale, abs(a), b)
        if b <= 1e-10 * max(scale, 1e-300):
            b = 0.0
            break
        if j == n_steps - 1:
            break
        beta.append(b)
        Q[j + 1] = w / b
    m = len(alpha)
    return np.asarray(alpha), np.asarray(beta[:m - 1]), Q[:m].T, b


@dataclass(frozen=True)
class SLQDensity:
    r"""Spectral density estimate: ``density`` on ``grid``; quadrature ``nodes`` and ``weights`` per probe
    (lists of arrays: each probe's weights sum to 1); ``sigma`` the Gaussian smoothing standard deviation;
    ``n_matvecs`` the operator products used; ``deflated`` the eigenvalues deflated as exact point masses
    (see :func:`slq_density`).

    Parameters
    ----------
    grid : numpy.ndarray
        Where the density is evaluated.
    density : numpy.ndarray
        The smoothed density on ``grid`` (integrates to about 1).
    nodes, weights : list of numpy.ndarray
        Gauss quadrature nodes (Ritz values) and weights of each probe.
    sigma : float
        Standard deviation of the Gaussian smoothing.
    n_matvecs : int
        Operator products used.
    deflated : numpy.ndarray
        Eigenvalues deflated as exact point masses (empty without deflation).
    """

    grid: np.ndarray
    density: np.ndarray
    nodes: list
    weights: list
    sigma: float
    n_matvecs: int
    deflated: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def pooled(self) -> tuple[np.ndarray, np.ndarray]:
        """All nodes and weights pooled (weights divided by the number of probes, summing to 1)."""
        k = len(self.nodes)
        return np.concatenate(self.nodes), np.concatenate(self.weights) / k

    def masses(self, threshold: float) -> dict:
        """Spectral mass (percent of the pooled quadrature weight) below ``-threshold`` (``negative_pct``) and
        within ``threshold`` of zero (``near_zero_pct``), with the smallest and largest nodes.

        >>> est = slq_density(np.diag([-1.0, 0.0, 2.0, 3.0]), n_probes=2, n_steps=4, sigma=0.1)
        >>> m = est.masses(0.5)
        >>> round(m["min_node"], 10), round(m["max_node"], 10)
        (-1.0, 3.0)
        """
        check_finite(threshold, "threshold")
        check_scalar(float(threshold), "threshold", float, min_val=0)
        nodes, weights = self.pooled()
        return {"negative_pct": float(100 * weights[nodes < -threshold].sum()),
                "near_zero_pct": float(100 * weights[np.abs(nodes) <= threshold].sum()),
                "min_node": float(nodes.min()), "max_node": float(nodes.max())}


def smoothed_density(eigenvalues, grid, sigma: float, weights=None) -> np.ndarray:
    r"""Gaussian-smoothed spectral density :math:`\phi_\sigma(t) = \sum_i w_i\, \mathcal N(t; \lambda_i,
    \sigma^2)` with :math:`\mathcal N(t;\lambda,\sigma^2) = e^{-(t-\lambda)^2/(2\sigma^2)} / (\sigma\sqrt{2\pi})`
    (Ghorbani et al. 2019, eq (6); :math:`\sigma` is the standard deviation of the kernel), weights
    :math:`w_i = 1/n` by default, so the density integrates to 1.

    Parameters
    ----------
    eigenvalues : array_like
        Eigenvalues (or quadrature nodes).
    grid : array_like
        Evaluation points.
    sigma : float
        Standard deviation of the Gaussian kernel (> 0).
    weights : array_like, optional
        Weights summing to 1 (default uniform).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from landscape import hessian
    >>> float(hessian.smoothed_density([0.0], [0.0], sigma=1.0)[0]) == float(1 / np.sqrt(2 * np.pi))
    True
    """
    lam = np.asarray(eigenvalues, dtype=np.float64).reshape(-1)
    grid = np.asarray(grid, dtype=np.float64).reshape(-1)
    if not np.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    w = np.full(len(lam), 1.0 / len(lam)) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape != lam.shape:
        raise ValueError("weights must have the same length as eigenvalues")
    out = np.zeros_like(grid)
    for i in range(0, len(lam), 2048):
        z = (grid[:, None] - lam[None, i:i + 2048]) / sigma
        out += np.exp(-0.5 * z * z) @ w[i:i + 2048]
    return out / (sigma * np.sqrt(2.0 * np.pi))


def density_l1(grid, p, q) -> float:
    r""":math:`L_1(p, q) = \int |p(t) - q(t)|\,dt` by the trapezoid rule on ``grid`` (Ghorbani et al. report
    :math:`\approx 0.0012` for their SLQ on a 15,910-parameter MNIST model).

    Parameters
    ----------
    grid : array_like
        Common evaluation points.
    p, q : array_like
        Densities on ``grid``.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from landscape import hessian
    >>> t = np.linspace(-10, 10, 2001)
    >>> p, q = hessian.smoothed_density([0.0], t, 1.0), hessian.smoothed_density([100.0], t, 1.0)
    >>> round(hessian.density_l1(t, p, p), 12), round(hessian.density_l1(t, p, q), 6)  # 0 and 1 + 0
    (0.0, 1.0)
    """
    return float(np.trapezoid(np.abs(np.asarray(p) - np.asarray(q)), np.asarray(grid)))


def slq_density(op, n_probes: int = 10, n_steps: int = 90, grid=None, sigma: float | None = None,
                seed: int = 0, *, n_grid: int = 1000, jobs: int | None = None, deflate: bool = True,
                bulk_steps: int | None = None) -> SLQDensity:
    r"""Stochastic Lanczos quadrature estimate of the smoothed spectral density (Ghorbani et al. 2019, Alg. 1),
    by default with the converged outliers deflated.

    Plain SLQ (``deflate=False``): for each of ``n_probes`` probes :math:`v_j \sim \mathcal N(0, I)/\|\cdot\|`
    run ``n_steps`` Lanczos steps with full reorthogonalisation (:func:`lanczos`), diagonalise the tridiagonal
    :math:`T = U L U^\top` in float64 (``scipy.linalg.eigh_tridiagonal``), take nodes :math:`\ell_i = L_{ii}` and
    Gauss quadrature weights :math:`\omega_i = U_{1i}^2`; then
    :math:`\hat\phi_\sigma(t) = \frac1k \sum_j \sum_i \omega^{(j)}_i \mathcal N(t; \ell^{(j)}_i, \sigma^2)`
    (see :func:`smoothed_density` for the kernel; ``sigma`` is its standard deviation, in eigenvalue units).

    Deflated SLQ (``deflate=True``, the default), the same budget of ``n_probes * n_steps`` products spent in
    two stages:

    1. Outliers. A random probe gives each isolated outlier :math:`\lambda_i` the weight :math:`(v^\top u_i)^2`,
       of mean :math:`1/n` but standard deviation :math:`\sqrt{2/k}/n` over :math:`k` probes. So the first
       probe's ``n_steps`` Lanczos run serves as an eigensolver: every Ritz pair :math:`(\theta, y)` with residual
       :math:`\|Hy - \theta y\| \le 10^{-3}\sigma` (an eigenvalue lies within the residual of :math:`\theta`) enters
       the density as a point mass of weight exactly :math:`1/n` at :math:`\theta`, smoothed by the same kernel.
    2. The rest. The remaining products go to probes :math:`(I - YY^\top) v_j` of the deflated operator
       :math:`(I - YY^\top) H (I - YY^\top)` (:math:`Y` the deflated vectors). Its spectrum spans only the width
       :math:`w` of the first run's unconverged Ritz values, a few :math:`\sigma` for a trained network instead of
       the 100 :math:`\sigma` of the whole range, and Gauss quadrature with :math:`m` nodes is exact for
       polynomials of degree :math:`2m - 1`, so :math:`m = \max(10, \lceil w/\sigma \rceil)` steps (at most
       ``n_steps``; ``bulk_steps`` overrides) resolve a kernel of width :math:`\sigma` there with a factor-2 margin
       on the degree, and many more probes fit into the budget: the probe variance, which is what limits SLQ
       (a single probe's weights are :math:`\chi^2`-distributed), falls as one over their number. Measured on a
       trained 7,510-parameter digits MLP at 10 × 90: mean L1 0.0031 (plain) → 0.0011 over 5 seeds
       (``benchmarks/bench_hessian_peers.py``); half as many steps (:math:`w/(2\sigma)`) lose the resolution
       (0.0027).

    Each probe's quadrature is reported in full-operator form: the :math:`r` deflated eigenvalues with weight
    :math:`1/n` each and the probe's nodes with weights scaled by :math:`1 - r/n` (weights sum to one), so
    ``nodes`` holds one entry per probe of the second stage (the first run's when there is none), not
    ``n_probes``. The estimate of the rest stays unbiased; the outliers are exact. (Deflating the top eigenspace
    before stochastic estimation: Lin, Saad & Yang 2016, Sec. 3.3; Meyer et al. 2021, Hutch++.)

    Parameters
    ----------
    op : scipy.sparse.linalg.LinearOperator or numpy.ndarray
        A symmetric operator or a square matrix.
    n_probes, n_steps : int
        Number of random probes and Lanczos steps per probe.
    grid : array_like, optional
        Strictly increasing evaluation points; default ``n_grid`` points from the smallest node − 5σ to the
        largest + 5σ.
    sigma : float, optional
        Standard deviation of the Gaussian smoothing, in eigenvalue units; default 1% of the node range.
    seed : int
        Seed of the probes.
    n_grid : int
        Size of the default grid.
    jobs : int or None
        Worker processes for the probes (:func:`landscape.infra.executor.map_units`; None: ``$LANDSCAPE_JOBS``, else
        1). The probes are drawn first, in order, so the numbers do not depend on ``jobs``; with ``jobs > 1`` the
        operator is pickled to the workers and its own ``n_matvecs`` count is not advanced.
    deflate : bool
        Deflated SLQ (default) or plain SLQ (Alg. 1, ``n_probes`` probes of ``n_steps`` steps).
    bulk_steps : int, optional
        Lanczos steps per probe of the deflated operator (default: the rule above).

    Returns
    -------
    SLQDensity
        The density on the grid, the quadrature nodes and weights of every probe, ``sigma``, the products used
        and the deflated eigenvalues (``deflated``, empty for plain SLQ).

    Examples
    --------
    >>> import numpy as np
    >>> from landscape import hessian
    >>> lam = np.array([-1.0, 0.5, 2.0, 3.0])
    >>> est = hessian.slq_density(np.diag(lam), n_probes=4, n_steps=4, sigma=0.1)
    >>> np.round(np.sort(est.nodes[0]), 10)  # as many steps as dimensions: nodes are the eigenvalues
    array([-1. ,  0.5,  2. ,  3. ])
    >>> round(float(np.trapezoid(est.density, est.grid)), 6)  # a probability density
    1.0
    >>> len(est.deflated)  # all four converged in the first run: nothing left to probe
    4
    """
    A = _as_operator(op)
    n = A.shape[0]
    n_probes = _check_int(n_probes, "n_probes")
    n_steps = _check_int(n_steps, "n_steps")
    if sigma is not None and (not np.isfinite(sigma) or sigma <= 0):
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    if not isinstance(deflate, (bool, np.bool_)):
        raise ValueError(f"deflate must be True or False, got {deflate!r}")
    from landscape.infra.executor import map_units

    if bulk_steps is not None:
        bulk_steps = _check_int(bulk_steps, "bulk_steps")
    rng = np.random.default_rng(seed)
    outliers = np.zeros(0)
    if not deflate:
        probes = [rng.standard_normal(n) for _ in range(n_probes)]
        done = map_units(_quadrature, [(A, v, n_steps) for v in probes], star=True, jobs=jobs, progress=False,
                         desc="SLQ probes")
    else:
        first, outliers, Y, span, scale = _deflating_run(A, rng.standard_normal(n), n_steps, sigma)
        r = len(outliers)
        left = n_probes * n_steps - (len(first[0]) + r)  # the first run's steps
        steps = bulk_steps if bulk_steps is not None else min(
            n_steps, max(_BULK_MIN_STEPS, int(np.ceil(_BULK_STEPS_PER_SIGMA * span / scale))))
        n_bulk = left // steps if r < n else 0
        rest = []
        if n_bulk > 0:
            D = _Deflated(A, Y)
            probes = [D.project(rng.standard_normal(n)) for _ in range(n_bulk)]
            rest = map_units(_quadrature, [(D, v, steps) for v in probes], star=True, jobs=jobs, progress=False,
                             desc="SLQ probes")
        runs = [first, *rest] if (_KEEP_FIRST or not rest) else rest
        used = first[2] + sum(c for _, _, c in rest)
        done = [(np.concatenate([outliers, ln]), np.concatenate([np.full(r, 1.0 / n), (1.0 - r / n) * w]), 0)
                for ln, w, _ in runs]
        done[0] = (*done[0][:2], used)
    nodes, weights = [d[0] for d in done], [d[1] for d in done]
    allnodes = np.concatenate(nodes)
    if sigma is None:
        spread = float(allnodes.max() - allnodes.min())
        sigma = 0.01 * spread if spread > 0 else 1.0
    if grid is None:
        grid = np.linspace(allnodes.min() - 5 * sigma, allnodes.max() + 5 * sigma, n_grid)
    grid = np.asarray(grid, dtype=np.float64).reshape(-1)
    if len(grid) < 2 or not np.all(np.isfinite(grid)) or np.any(np.diff(grid) <= 0):
        raise ValueError("grid must be a finite, strictly increasing 1-D array of at least 2 points")
    dens = np.mean([smoothed_density(l, grid, sigma, w) for l, w in zip(nodes, weights, strict=True)], axis=0)
    return SLQDensity(grid, dens, nodes, weights, float(sigma), int(sum(d[2] for d in done)), np.sort(outliers))


def _quadrature(A, v: np.ndarray, n_steps: int) -> tuple[np.ndarray, np.ndarray, int]:
    """One SLQ probe: Gauss quadrature nodes and weights of ``A`` for start vector ``v``, and the products used."""
    before = _count(A)
    a, b, _ = lanczos(A, v, n_steps)
    if len(a) == 1:
        ln, U = a.copy(), np.ones((1, 1))
    else:
        ln, U = scipy.linalg.eigh_tridiagonal(a, b)
    return ln, U[0, :] ** 2, _count(A) - before


def _deflating_run(A, v: np.ndarray, n_steps: int, sigma: float | None):
    """The first probe of deflated SLQ: its Lanczos run, the converged Ritz pairs (eigenvalues and vectors) and the
    quadrature of the rest (weights rescaled to one).
    """
    before = _count(A)
    n = A.shape[0]
    a, b, Q, b_last = _lanczos(A, v, n_steps)
    m = len(a)
    if m == 1:
        ln, U = a.copy(), np.ones((1, 1))
    else:
        ln, U = scipy.linalg.eigh_tridiagonal(a, b)
    # residual of each Ritz pair: beta_m |u_{m,i}| (0 at an invariant subspace)
    resid = b_last * np.abs(U[-1, :])
    spread = float(ln.max() - ln.min()) if m > 1 else 0.0
    scale = sigma if sigma is not None else (0.01 * spread if spread > 0 else 1.0)
    conv = resid <= 1e-3 * scale
    if m == n:
        conv[:] = True
    Y = Q @ U[:, conv]
    w0 = U[0, :] ** 2
    rest_w = w0[~conv]
    total = float(rest_w.sum())
    rest = (ln[~conv], rest_w / total if total > 0 else rest_w, _count(A) - before)
    bulk = ln[~conv]
    return rest, ln[conv], Y, float(bulk.max() - bulk.min()) if len(bulk) else 0.0, scale


_BULK_MIN_STEPS = 10
_BULK_STEPS_PER_SIGMA = 1.0
_KEEP_FIRST = False


class _Deflated(spla.LinearOperator):
    r"""The deflated operator :math:`(I - YY^\top) A (I - YY^\top)` (``Y`` orthonormal columns); counts the
    products of ``A`` and pickles to the workers of :func:`landscape.infra.executor.map_units`.
    """

    def __init__(self, A, Y: np.ndarray):
        super().__init__(dtype=np.float64, shape=A.shape)
        self.A, self.Y = A, Y

    @property
    def n_matvecs(self) -> int:
        return _count(self.A)

    def project(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        for _ in range(2):
            x = x - self.Y @ (self.Y.T @ x)
        return x

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        return self.project(np.asarray(self.A.matvec(self.project(x)), dtype=np.float64).reshape(-1))
