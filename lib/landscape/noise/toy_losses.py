r"""The toy valleys of source 004 (Sec. 4.2, App. A.6) with closed-form gradients, curvatures and drifts.

Each toy has the form of eq (1) (plus a tilt :math:`g` for eq (36)):
:math:`L(\theta) = \tfrac12\sum_{i\le n}\lambda_i(\hat\theta)\,\theta_i^2 + g(\hat\theta)`, the first ``n``
coordinates non-degenerate, the rest :math:`\hat\theta` degenerate. All callables take ``(R, d)`` arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from landscape.infra.validation import check_finite
from landscape.noise.descent import stationary_variance

__all__ = ["ValleyToy", "four_d_toy", "anticorrelated_toy", "entropic_toy", "expected_change",
           "entropic_equilibrium"]


@dataclass(frozen=True)
class ValleyToy:
    r"""A valley eq (1)/(36). ``lambdas(theta) -> (R, n)``; ``lambda_grads(theta) -> (R, n, d - n)`` the
    gradients :math:`\hat\nabla\lambda_i`; ``tilt_grad(theta) -> (R, d - n)`` :math:`\hat\nabla g` (zero
    without tilt).

    Parameters
    ----------
    name : str
        Name of the toy.
    d : int
        Dimension of the parameter space.
    n : int
        Number of non-degenerate directions (Hessian eigenvalues :math:`\lambda_i`).
    loss : callable
        ``loss(theta) -> (R,)`` for ``(R, d)`` replica states.
    grad : callable
        ``grad(theta) -> (R, d)``.
    lambdas : callable
        ``lambdas(theta) -> (R, n)``, the non-degenerate eigenvalues.
    lambda_grads : callable
        ``lambda_grads(theta) -> (R, n, d - n)``, their gradients along the valley.
    tilt_grad : callable
        ``tilt_grad(theta) -> (R, d - n)``, the gradient of the tilt along the valley.
    """

    name: str
    d: int
    n: int
    loss: Callable[[np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray], np.ndarray]
    lambdas: Callable[[np.ndarray], np.ndarray]
    lambda_grads: Callable[[np.ndarray], np.ndarray]
    tilt_grad: Callable[[np.ndarray], np.ndarray]

    def trace(self, theta) -> np.ndarray:
        r"""Non-degenerate trace :math:`T = \sum_i \lambda_i` per replica.

        Parameters
        ----------
        theta : array_like
            ``(R, d)`` replica states (or one ``(d,)`` state).

        Returns
        -------
        numpy.ndarray, shape (R,)
        """
        return self.lambdas(np.atleast_2d(theta)).sum(axis=-1)

    def log_det(self, theta) -> np.ndarray:
        r""":math:`\log\prod_i \lambda_i` per replica (Corollary 2.1).

        Parameters
        ----------
        theta : array_like
            ``(R, d)`` replica states (or one ``(d,)`` state).

        Returns
        -------
        numpy.ndarray, shape (R,)
        """
        return np.log(self.lambdas(np.atleast_2d(theta))).sum(axis=-1)


def _zero_tilt(theta):
    return np.zeros((theta.shape[0], 2))


def four_d_toy() -> ValleyToy:
    r"""Fig. 2(b): :math:`L = |\theta_3+\theta_4|\,\theta_1^2 + |\theta_3+2\theta_4|\,\theta_2^2`, so
    :math:`\lambda_1 = 2|\theta_3+\theta_4|`, :math:`\lambda_2 = 2|\theta_3+2\theta_4|` with constant
    :math:`\hat\nabla\lambda` while the signs hold (:math:`\|\sum\hat\nabla\lambda_i\|^2 = 52` for positive
    arguments).

    Returns
    -------
    ValleyToy
        ``d = 4``, ``n = 2``, no tilt.
    """

    def parts(t):
        a, b = t[:, 2] + t[:, 3], t[:, 2] + 2 * t[:, 3]
        return a, b, np.sign(a), np.sign(b)

    def loss(t):
        a, b, _, _ = parts(t)
        return np.abs(a) * t[:, 0] ** 2 + np.abs(b) * t[:, 1] ** 2

    def grad(t):
        a, b, sa, sb = parts(t)
        q1, q2 = sa * t[:, 0] ** 2, sb * t[:, 1] ** 2
        return np.stack([2 * np.abs(a) * t[:, 0], 2 * np.abs(b) * t[:, 1], q1 + q2, q1 + 2 * q2], axis=1)

    def lambdas(t):
        a, b, _, _ = parts(t)
        return np.stack([2 * np.abs(a), 2 * np.abs(b)], axis=1)

    def lambda_grads(t):
        _, _, sa, sb = parts(t)
        return np.stack([2 * sa[:, None] * np.array([1.0, 1.0]), 2 * sb[:, None] * np.array([1.0, 2.0])], axis=1)

    return ValleyToy("4-D toy (Fig. 2b)", 4, 2, loss, grad, lambdas, lambda_grads, _zero_tilt)


def anticorrelated_toy() -> ValleyToy:
    r"""Figs. 2(c)-(d): :math:`L = (4 - 2e^{-\theta_3^2-\theta_4^2})\theta_1^2 + e^{-(\theta_3-\theta_4)^2}
    \theta_2^2`, built so that lowering the trace and lowering the determinant pull apart.

    Returns
    -------
    ValleyToy
        Two non-degenerate and two valley coordinates.
    """

    def parts(t):
        e1 = np.exp(-t[:, 2] ** 2 - t[:, 3] ** 2)
        u = t[:, 2] - t[:, 3]
        return e1, u, np.exp(-u ** 2)

    def loss(t):
        e1, _, e2 = parts(t)
        return (4 - 2 * e1) * t[:, 0] ** 2 + e2 * t[:, 1] ** 2

    def lambdas(t):
        e1, _, e2 = parts(t)
        return np.stack([2 * (4 - 2 * e1), 2 * e2], axis=1)

    def lambda_grads(t):
        e1, u, e2 = parts(t)
        g1 = 8 * e1[:, None] * t[:, 2:4]
        g2 = (-4 * u * e2)[:, None] * np.array([1.0, -1.0])
        return np.stack([g1, g2], axis=1)

    def grad(t):
        lam, lg = lambdas(t), lambda_grads(t)
        hat = 0.5 * np.einsum("ri,rij->rj", t[:, :2] ** 2, lg)
        return np.concatenate([lam * t[:, :2], hat], axis=1)

    return ValleyToy("anti-correlated toy (Fig. 2c-d)", 4, 2, loss, grad, lambdas, lambda_grads, _zero_tilt)


def entropic_toy(alpha: float = 1e-4) -> ValleyToy:
    r"""Fig. 7 / eq (36): :math:`L = \tfrac12(\theta_2^2+1)\,\theta_1^2 + \alpha\,\theta_2` (a tilted valley);
    ``alpha`` may be an ``(R,)`` array, one tilt per replica.

    Parameters
    ----------
    alpha : float or array (R,)
        The tilt (one per replica).

    Returns
    -------
    ValleyToy
        ``d = 2``, ``n = 1``, tilt :math:`\alpha\theta_2`.
    """
    alpha = np.asarray(check_finite(np.asarray(alpha, dtype=np.float64), "alpha"))
    if alpha.ndim > 1:
        raise ValueError(f"alpha must be a float or an (R,) array (one per replica), got shape {alpha.shape}")

    def loss(t):
        return 0.5 * (t[:, 1] ** 2 + 1) * t[:, 0] ** 2 + alpha * t[:, 1]

    def grad(t):
        return np.stack([(t[:, 1] ** 2 + 1) * t[:, 0], t[:, 1] * t[:, 0] ** 2 + alpha], axis=1)

    def lambdas(t):
        return (t[:, 1] ** 2 + 1)[:, None]

    def lambda_grads(t):
        return (2 * t[:, 1])[:, None, None]

    def tilt(t):
        return np.broadcast_to(alpha, (t.shape[0],))[:, None] * np.ones((t.shape[0], 1))

    return ValleyToy("entropic toy (Fig. 7)", 2, 1, loss, grad, lambdas, lambda_grads, tilt)


def expected_change(toy: ValleyToy, theta, lr: float, noise_diag, weights=None, *, exact: bool = True):
    r"""Expected one-step change of :math:`f(\lambda)` with the non-degenerate space stationary (Theorems 1-2).

    .. math:: \langle[\![f_{t+1}-f_t]\!]\rangle = -\eta\sum_i w_i\,\hat\nabla\lambda_i^\top
              \Bigl(\tfrac12\sum_j\langle\theta_j^2\rangle\hat\nabla\lambda_j + \hat\nabla g\Bigr),
              \qquad w_i = \partial f/\partial\lambda_i,

    eqs (6)-(7) (and (37) with the tilt :math:`g`). ``noise_diag`` ``(R, n)`` or ``(n,)`` the noise variances
    :math:`C_{ii}`; ``weights`` default ones (the trace). ``exact`` uses the discrete stationary variance
    :func:`~landscape.noise.descent.stationary_variance`, else eq (8)'s :math:`\eta C/(2\lambda)`, which gives
    :math:`-\frac{\eta^2}{4}(1/S-1/M)\|\sum_i\hat\nabla\lambda_i\|^2` for SGD noise (eq (11), Theorem 1).

    Parameters
    ----------
    toy : ValleyToy
    theta : array (R, d)
        States with the non-degenerate space stationary.
    lr : float
    noise_diag : array (R, n) or (n,)
        Noise variances :math:`C_{ii}`.
    weights : array or None
        :math:`\partial f/\partial\lambda_i` (default: the trace).
    exact : bool
        Discrete stationary variance instead of eq (8).

    Returns
    -------
    ndarray (R,)
        The expected one-step change per replica.
    """
    theta = np.atleast_2d(np.asarray(theta, dtype=np.float64))
    lam, lg, tg = toy.lambdas(theta), toy.lambda_grads(theta), toy.tilt_grad(theta)
    C = np.broadcast_to(np.asarray(noise_diag, dtype=np.float64), lam.shape)
    v = stationary_variance(lr, C, lam) if exact else lr * C / (2 * lam)
    w = np.ones_like(lam) if weights is None else np.broadcast_to(np.asarray(weights, dtype=np.float64), lam.shape)
    step = -lr * (0.5 * np.einsum("rj,rjk->rk", v, lg) + tg)
    return np.einsum("ri,rik,rk->r", w, lg, step)


def entropic_equilibrium(alpha, lr, strength: float = 1.0, *, discrete: bool = False, iterations: int = 100):
    r"""Where the tilted toy's :math:`\theta_2` settles under SGD-like noise (eq (38)), to leading order or with
    the first correction of the discrete update.

    Leading order (eq (38)): :math:`\langle\theta_2\rangle = -2\alpha/(\eta s)` with :math:`s = 1/S - 1/M`.

    ``discrete=True`` solves the stationary balance of the discrete update to first order beyond eq (38).
    Derivation. With :math:`u_t = \theta_{1,t}^2` and :math:`\lambda = 1+\theta_2^2`, the update of
    :func:`~landscape.noise.descent.noisy_descent` with :func:`~landscape.noise.descent.sgd_noise` is

    .. math:: \theta_{1,t+1} = a\,\theta_{1,t} - \eta\sqrt{s\lambda}\,z_t,\quad a = 1-\eta\lambda,\qquad
              \theta_{2,t+1} = \theta_{2,t}\,(1-\eta u_t) - \eta\alpha .

    Taking the stationary mean of the second line gives the exact balance
    :math:`\langle\theta_2 u\rangle = \langle\theta_2\rangle\bar u + \mathrm{Cov}(\theta_2, u) = -\alpha`.
    :math:`\theta_1` is fast (rate :math:`\eta\lambda`), :math:`\theta_2` slow (rate :math:`\eta\bar u \approx
    \eta^2 s/2`): at fixed :math:`\theta_2` the first line is a Gaussian AR(1) process with
    :math:`\bar u = \eta s/(2-\eta\lambda)` (:func:`~landscape.noise.descent.stationary_variance`) and
    :math:`\mathrm{Cov}(u_t, u_{t-k}) = 2\bar u^2 a^{2k}`. Linearising the slow line about its mean
    :math:`m`, :math:`\delta_{t+1} = (1-\eta\bar u)\,\delta_t - \eta m\,(u_t - \bar u)`, so
    :math:`\delta_t = -\eta m\sum_{k\ge1}(1-\eta\bar u)^{k-1}(u_{t-k}-\bar u)` and

    .. math:: \mathrm{Cov}(\theta_2, u) = -\eta m\sum_{k\ge1}(1-\eta\bar u)^{k-1}\,2\bar u^2a^{2k}
              = -m\,X,\qquad X = \frac{2\eta\bar u^2a^2}{1-(1-\eta\bar u)\,a^2}
              \approx \frac{2\bar u^2 a^2}{\lambda(2-\eta\lambda)} .

    The balance becomes :math:`m\,(\bar u - X) = -\alpha`, solved for :math:`m` by fixed point with
    :math:`\lambda = 1 + m^2`. The covariance is positive (a large :math:`u` pulls :math:`\theta_2` towards 0
    on the next steps) and of the same order as the discrete correction to :math:`\bar u`:
    :math:`\bar u - X = \frac{\eta s}{2}\bigl(1 + \tfrac{\eta\lambda}2 + O(\eta^2)\bigr)
    \bigl(1 - \tfrac{\eta s}{2\lambda} + O(\eta^2)\bigr)`, so for :math:`s = \lambda = 1` the two first-order
    terms cancel and :math:`m = -\frac{2\alpha}{\eta}\bigl(1 + O(\eta^2)\bigr)`: eq (38) is right to first
    order, and the balance without the covariance (:math:`m\bar u = -\alpha`, this function's former
    ``exact=True``) is off by the relative :math:`\eta\lambda/2`. Neglected: the third cumulant of :math:`u`, the
    multiplicative factor :math:`1-\eta u_t` beyond its mean, the fluctuation of :math:`\lambda` with
    :math:`\theta_2`, all of relative order :math:`\eta^2` or smaller; against simulation the formula holds
    within the standard error up to :math:`\eta = 0.1` and is off by about 1 % at :math:`\eta = 0.2`
    (tests/noise/test_noise.py). It is therefore not exact: a first-order discrete correction.

    Parameters
    ----------
    alpha : float or array_like
        Tilt :math:`\alpha` (broadcast with ``lr``).
    lr : float or array_like
        Learning rate :math:`\eta > 0`, with :math:`0 < \eta\lambda < 2` for ``discrete``.
    strength : float, default 1.0
        SGD noise strength :math:`s = 1/S - 1/M > 0`.
    discrete : bool, default False
        Solve the discrete balance with the covariance term (above) instead of eq (38).
    iterations : int, default 100
        Fixed-point iterations of the discrete balance (it contracts by a factor of order :math:`\alpha^2`).

    Returns
    -------
    float or ndarray
        :math:`\langle\theta_2\rangle`.

    Examples
    --------
    >>> entropic_equilibrium(1e-4, 0.01)
    -0.02
    >>> round(entropic_equilibrium(1e-4, 0.01, discrete=True), 8)
    -0.01999867
    """
    alpha = np.asarray(check_finite(np.asarray(alpha, dtype=np.float64), "alpha"))
    lr = np.asarray(check_finite(np.asarray(lr, dtype=np.float64), "lr"))
    if np.any(lr <= 0):
        raise ValueError(f"lr must be > 0, got {lr!r}")
    if not (np.isfinite(strength) and strength > 0):
        raise ValueError(f"strength must be > 0, got {strength!r}")
    theta2 = -2 * alpha / (lr * strength)
    if discrete:
        for _ in range(iterations):
            lam = 1 + theta2 ** 2
            a = 1 - lr * lam
            if np.any(lr * lam >= 2):
                raise ValueError("lr * (1 + theta2^2) must be < 2 for a stationary state (lr too large)")
            u = lr * strength / (2 - lr * lam)
            X = 2 * lr * u ** 2 * a ** 2 / (1 - (1 - lr * u) * a ** 2)
            theta2 = -alpha / (u - X)
    return float(theta2) if theta2.ndim == 0 else theta2
