r"""Noisy gradient descent, vectorised over replicas, and the noise structures of Theorems 1--2 (source 004).

The update is :math:`\theta \leftarrow \theta - \eta\,(\nabla L(\theta) + \xi)`, :math:`\xi \sim \mathcal N(0,
C(\theta))` (the SGD update with the minibatch noise written as an additive Gaussian, Sec. 2 and App. A.6).
Replicas are rows of an ``(R, d)`` array and advance together with numpy batched operations, so thousands of
replicas times :math:`10^5` steps take seconds (``benchmarks/bench_noise.py``).

Noise structures act in the non-degenerate space (the first ``n`` coordinates of a valley written as eq (1),
:math:`L = L^* + \tfrac12\sum_{i\le n}\lambda_i(\hat\theta)\,\theta_i^2`):

* :func:`designed_noise` -- eq (12), :math:`C_{ii} = \lambda_i\,\partial f/\partial\lambda_i`;
* :func:`sgd_noise` -- eq (10), :math:`C_{ii} = (1/S - 1/M)\,\lambda_i` (the case :math:`f = s\sum\lambda_i`);
* :func:`isotropic_noise` -- Corollary 2.1, :math:`C_{ii} = c` (the case :math:`f = c\log\prod\lambda_i`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from tqdm.auto import tqdm

from landscape.infra.validation import check_finite, check_scalar

__all__ = ["noisy_descent", "designed_noise", "sgd_noise", "isotropic_noise", "stationary_variance",
           "noise_strength", "DiagonalNoise"]


def _finite(a, name: str) -> np.ndarray:
    return np.asarray(check_finite(np.asarray(a, dtype=np.float64), name))


def _positive_int(value, name: str) -> int:
    return int(check_scalar(value, name, int, min_val=1))


def _factor(C: np.ndarray, state: dict) -> np.ndarray:
    """A batched square root ``A`` with ``A Aᵀ = C`` for ``(R, d, d)`` PSD matrices.

    Diagonal covariances (every noise structure of the theorems) take the exact elementwise square root; full
    ones a Cholesky factor, falling back for good to a clipped ``eigh`` once a singular matrix is seen.
    """
    d = C.shape[-1]
    off = C[..., ~np.eye(d, dtype=bool)]
    if not off.any():
        return np.sqrt(np.clip(np.diagonal(C, axis1=-2, axis2=-1), 0.0, None))
    if not state.get("eigh"):
        try:
            return np.linalg.cholesky(C)
        except np.linalg.LinAlgError:
            state["eigh"] = True
    w, V = np.linalg.eigh(0.5 * (C + np.swapaxes(C, -1, -2)))
    return V * np.sqrt(np.clip(w, 0.0, None))[..., None, :]


def _draw(A: np.ndarray, z: np.ndarray) -> np.ndarray:
    if A.ndim == z.ndim:  # diagonal square root
        return A * z
    return np.einsum("...ij,...j->...i", A, z)


def noisy_descent(grad: Callable[[np.ndarray], np.ndarray], theta0, *, lr, steps: int,
                  noise_cov=None, seed: int = 0, every: int = 1, progress: bool = False) -> np.ndarray:
    r"""Gradient descent with additive Gaussian gradient noise, for ``R`` independent replicas at once.

    .. math:: \theta_{t+1} = \theta_t - \eta\,\bigl(\nabla L(\theta_t) + \xi_t\bigr),\qquad
              \xi_t \sim \mathcal N\bigl(0, C(\theta_t)\bigr),

    the SGD update of Sec. 2 with the minibatch noise as a Gaussian of covariance :math:`C` (eq (10) for SGD,
    eq (12) for designed noise); plain GD when ``noise_cov`` is None.

    Parameters
    ----------
    grad : ``grad(theta) -> (R, d)`` for ``theta`` of shape ``(R, d)`` (always 2-D).
    theta0 : ``(d,)`` (one replica) or ``(R, d)``.
    lr : learning rate :math:`\eta > 0`, a float or an ``(R,)`` array (one per replica, for grids of runs).
    steps : number of updates.
    noise_cov : None, a constant ``(d, d)`` covariance, or a callable ``noise_cov(theta) -> (R, d, d)``.
        Diagonal covariances use an exact elementwise square root; the noise structures of this module
        (:class:`DiagonalNoise`) never form matrices; other covariances take a batched Cholesky per step.
    seed : seed of the noise (``numpy.random.default_rng``).
    every : record every ``every``-th state.
    progress : show a tqdm bar.

    Returns
    -------
    ndarray ``(steps // every + 1, R, d)`` of recorded states (the initial one first), or
    ``(steps // every + 1, d)`` when ``theta0`` was 1-D.

    Examples
    --------
    One coordinate of curvature 2 with noise variance 1 settles at :math:`\langle\theta^2\rangle =
    \eta C/(\lambda(2-\eta\lambda))`, eq (8) to leading order :math:`\eta C/(2\lambda)`:

    >>> import numpy as np
    >>> path = noisy_descent(lambda t: 2.0 * t, np.zeros((4000, 1)), lr=0.1, steps=200,
    ...                      noise_cov=np.eye(1), seed=1)
    >>> bool(abs(path[-1].var() / stationary_variance(0.1, 1.0, 2.0) - 1) < 0.1)
    True
    """
    theta = _finite(theta0, "theta0").copy()
    squeeze = theta.ndim == 1
    if squeeze:
        theta = theta[None, :]
    if theta.ndim != 2 or theta.size == 0:
        raise ValueError(f"theta0 must have shape (d,) or (R, d), got {np.shape(theta0)}")
    R, d = theta.shape
    lr = _finite(lr, "lr")
    if np.any(lr <= 0) or lr.ndim > 1 or (lr.ndim == 1 and lr.shape[0] != R):
        raise ValueError(f"lr must be > 0, a float or an ({R},) array, got {lr!r}")
    lr = lr[:, None] if lr.ndim == 1 else float(lr)
    steps = _positive_int(steps, "steps")
    every = _positive_int(every, "every")
    if noise_cov is not None and not callable(noise_cov):
        cov = _finite(noise_cov, "noise_cov")
        if cov.shape != (d, d) or not np.allclose(cov, cov.T):
            raise ValueError(f"noise_cov must be a symmetric ({d}, {d}) array or a callable, got shape {cov.shape}")
        const = _factor(np.broadcast_to(cov, (1, d, d)), {})
        noise_cov = None
    else:
        const = None
    rng = np.random.default_rng(seed)
    out = np.empty((steps // every + 1, R, d))
    out[0] = theta
    state: dict = {}
    diagonal = getattr(noise_cov, "diagonal", None) if isinstance(noise_cov, DiagonalNoise) else None
    block = max(1, min(steps, 2 ** 18 // (R * d)))  # normal draws in blocks: fewer numpy calls per step
    for t in tqdm(range(1, steps + 1), desc="noisy descent", disable=not progress, mininterval=2):
        if (t - 1) % block == 0 and (noise_cov is not None or const is not None):
            Z = rng.standard_normal((min(block, steps - t + 1), R, d))
        z = Z[(t - 1) % block] if (noise_cov is not None or const is not None) else None
        g = np.asarray(grad(theta), dtype=np.float64)
        if g.shape != (R, d):
            raise ValueError(f"grad must return shape {(R, d)}, got {g.shape}")
        if const is not None:
            g = g + _draw(const, z)
        elif diagonal is not None:
            var = diagonal(theta)
            if var.shape != (R, d):
                raise ValueError(f"noise_cov.diagonal must return shape {(R, d)}, got {var.shape}")
            g = g + np.sqrt(var) * z
        elif noise_cov is not None:
            C = np.asarray(noise_cov(theta), dtype=np.float64)
            if C.shape != (R, d, d):
                raise ValueError(f"noise_cov must return shape {(R, d, d)}, got {C.shape}")
            g = g + _draw(_factor(C, state), z)
        theta = theta - lr * g
        if t % every == 0:
            out[t // every] = theta
    if not np.all(np.isfinite(out[-1])):
        raise FloatingPointError("noisy_descent diverged (non-finite state); lower lr")
    return out[:, 0] if squeeze else out


def stationary_variance(lr, c, lam):
    r"""Exact stationary variance of :math:`\theta \leftarrow \theta - \eta(\lambda\theta + \xi)`, Var ξ = c.

    .. math:: \langle\theta^2\rangle = \frac{\eta\,c}{\lambda\,(2-\eta\lambda)} = \frac{\eta c}{2\lambda}
              \bigl(1 + O(\eta\lambda)\bigr),

    whose leading order is eq (8) of the source. Requires :math:`0 < \eta\lambda < 2`.

    Parameters
    ----------
    lr, c, lam : float or array
        Learning rate :math:`\eta`, noise variance :math:`c`, curvature :math:`\lambda` (broadcast).

    Returns
    -------
    float or ndarray
        :math:`\langle\theta^2\rangle`.

    Examples
    --------
    >>> round(stationary_variance(0.01, 1.0, 1.0), 6), round(0.01 * 1.0 / 2, 6)
    (0.005025, 0.005)
    """
    lr, c, lam = (np.asarray(a, dtype=np.float64) for a in (lr, c, lam))
    if np.any(lr * lam <= 0) or np.any(lr * lam >= 2):
        raise ValueError("lr * lam must lie in (0, 2) for a stationary state")
    out = lr * c / (lam * (2.0 - lr * lam))
    return float(out) if out.ndim == 0 else out


def noise_strength(batch_size: int, n_samples: int) -> float:
    r"""SGD noise strength :math:`\frac1S(1 - \frac SM) = \frac1S - \frac1M` (Hoffer et al., eq (10)).

    Parameters
    ----------
    batch_size : int
        :math:`S`.
    n_samples : int
        :math:`M \ge S`.

    Returns
    -------
    float
        :math:`1/S - 1/M`.
    """
    S, M = _positive_int(batch_size, "batch_size"), _positive_int(n_samples, "n_samples")
    if S > M:
        raise ValueError(f"batch_size must be <= n_samples, got {S} > {M}")
    return 1.0 / S - 1.0 / M


class DiagonalNoise:
    """A diagonal noise covariance: ``cov(theta) -> (R, d, d)``; ``cov.diagonal(theta) -> (R, d)`` is the
    fast path :func:`noisy_descent` uses (no matrices are formed).

    Parameters
    ----------
    diagonal : callable
        ``diagonal(theta)`` maps the ``(R, d)`` replica states to the ``(R, d)`` diagonals of their covariances.
    """

    def __init__(self, diagonal: Callable[[np.ndarray], np.ndarray]):
        self.diagonal = diagonal

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        """The ``(R, d, d)`` diagonal covariance matrices at the ``(R, d)`` states ``theta``."""
        diag = self.diagonal(theta)
        C = np.zeros(diag.shape + (diag.shape[-1],))
        idx = np.arange(diag.shape[-1])
        C[:, idx, idx] = diag
        return C


def designed_noise(lambdas: Callable[[np.ndarray], np.ndarray], dfdlam: Callable[[np.ndarray], np.ndarray],
                   d: int) -> Callable[[np.ndarray], np.ndarray]:
    r"""Designed noise of Theorem 2, eq (12): :math:`C_{ii} = \lambda_i\,\partial f/\partial\lambda_i` for
    :math:`i \le n`, zero in the degenerate directions.

    ``lambdas(theta) -> (R, n)``: the valley's curvatures :math:`\lambda_i(\hat\theta)` (the first ``n``
    coordinates are the non-degenerate ones); ``dfdlam(lam) -> (R, n)``: :math:`\partial f/\partial\lambda_i
    \ge 0`. Returns ``noise_cov(theta) -> (R, d, d)`` for :func:`noisy_descent`.

    Parameters
    ----------
    lambdas : callable
        ``lambdas(theta) -> (R, n)``.
    dfdlam : callable
        ``dfdlam(lam) -> (R, n)``, non-negative.
    d : int
        Dimension of the parameter space.

    Returns
    -------
    callable
        ``noise_cov(theta) -> (R, d, d)`` for ``(R, d)`` states (:func:`noisy_descent`).
    """
    d = _positive_int(d, "d")

    def diagonal(theta):
        lam = np.asarray(lambdas(theta), dtype=np.float64)
        diag = lam * np.asarray(dfdlam(lam), dtype=np.float64)
        if np.any(diag < 0):
            raise ValueError("designed noise needs lambda_i * df/dlambda_i >= 0")
        out = np.zeros((theta.shape[0], d))
        out[:, :lam.shape[1]] = diag
        return out

    return DiagonalNoise(diagonal)


def sgd_noise(lambdas, d: int, strength: float = 1.0):
    r"""SGD-like noise, eq (10): :math:`C_{ii} = (1/S - 1/M)\,\lambda_i` in the non-degenerate space
    (``strength`` :math:`= 1/S - 1/M`); Theorem 1 (it lowers the trace :math:`\sum\lambda_i`).

    Parameters
    ----------
    lambdas : callable
        The curvatures, ``lambdas(theta) -> (R, n)``.
    d : int
        Dimension of the parameter space.
    strength : float
        :math:`s = 1/S - 1/M > 0`.

    Returns
    -------
    DiagonalNoise
        ``noise_cov`` for :func:`noisy_descent`.
    """
    check_scalar(strength, "strength", float, min_val=0, include_boundaries="neither")
    return designed_noise(lambdas, lambda lam: np.full_like(lam, strength), d)


def isotropic_noise(lambdas, d: int, c: float = 1.0):
    r"""Isotropic noise in the non-degenerate space, :math:`C_{ii} = c` (Corollary 2.1: it lowers
    :math:`\log\prod\lambda_i`, i.e. eq (12) with :math:`f = c\log\prod_i\lambda_i`).

    Parameters
    ----------
    lambdas : callable
        ``lambdas(theta) -> (R, n)`` (only its shape is used).
    d : int
        Dimension of the parameter space.
    c : float
        Noise variance, > 0.

    Returns
    -------
    DiagonalNoise
        ``noise_cov`` for :func:`noisy_descent` (constant ``c`` on the first ``n`` coordinates).
    """
    check_scalar(c, "c", float, min_val=0, include_boundaries="neither")
    return designed_noise(lambdas, lambda lam: c / lam, d)
