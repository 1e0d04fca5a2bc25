r"""The fluctuation--dissipation stationarity criterion of Yaida (2019), as used in source 004 (App. A.5).

At a stationary state of SGD with momentum :math:`\mu` and dampening :math:`\nu`,

.. math:: \mathcal O_L = \langle\theta\cdot\nabla L\rangle = \frac{\eta(1+\mu)}{2(1-\nu)}\langle v^2\rangle
          = \mathcal O_R \qquad \text{(FDR)},

and the same with :math:`\theta, \nabla L, v` projected onto a subspace :math:`S` in which a stationary state
exists (FDR'). :math:`|\bar{\mathcal O}_L/\bar{\mathcal O}_R - 1|` (averages over a window of steps) measures the
distance from stationarity; Yaida's threshold is :math:`10^{-2}`. For plain SGD :math:`v_t` is the minibatch
gradient of step :math:`t`, i.e. :math:`v_t = (\theta_t - \theta_{t+1})/\eta`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from landscape.infra.validation import check_finite, check_scalar

__all__ = ["FDRSides", "fdr_sides", "fdr_criterion"]


@dataclass(frozen=True)
class FDRSides:
    r"""Window averages ``o_left`` :math:`=\bar{\mathcal O}_L`, ``o_right`` :math:`=\bar{\mathcal O}_R` and
    ``criterion`` :math:`=|\bar{\mathcal O}_L/\bar{\mathcal O}_R - 1|`.

    Parameters
    ----------
    o_left, o_right : float
        Window averages of the two sides of the fluctuation-dissipation relation.
    """

    o_left: float
    o_right: float

    @property
    def criterion(self) -> float:
        r""":math:`|\bar{\mathcal O}_L/\bar{\mathcal O}_R - 1|`: 0 when the relation holds exactly."""
        return abs(self.o_left / self.o_right - 1.0)


def fdr_sides(thetas, grads, lr: float, *, velocities=None, basis=None, momentum: float = 0.0,
              dampening: float = 0.0) -> FDRSides:
    r"""Both sides of FDR (or FDR' when ``basis`` is given) averaged over a window of ``T`` steps.

    Parameters
    ----------
    thetas : ``(T, m)`` the states :math:`\theta_t` before each step.
    grads : ``(T, m)`` the (minibatch or noisy) gradients used at those steps; their mean is an unbiased
        stand-in for :math:`\nabla L(\theta_t)`.
    lr : :math:`\eta`.
    velocities : ``(T, m)`` the velocities :math:`v_t`; default ``grads`` (plain SGD, :math:`\mu = 0`).
    basis : ``(m, k)`` orthonormal columns spanning the subspace (top-k Hessian eigenvectors), or None.
    momentum, dampening : :math:`\mu`, :math:`\nu` of FDR.

    Returns
    -------
    FDRSides
        The two window averages and their relative mismatch.

    Examples
    --------
    A 1-D quadratic with curvature ``h`` and gradient noise of variance ``c`` at stationarity:
    :math:`\langle\theta^2\rangle = \eta c/(h(2-\eta h))`, so :math:`O_L = h\langle\theta^2\rangle` equals
    :math:`O_R = \frac\eta2(h^2\langle\theta^2\rangle + c)` exactly.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0); h, c, lr = 2.0, 1.0, 0.1
    >>> th = rng.normal(0, np.sqrt(lr * c / (h * (2 - lr * h))), (200000, 1))
    >>> g = h * th + rng.normal(0, np.sqrt(c), th.shape)
    >>> bool(fdr_sides(th, g, lr).criterion < 0.02)
    True
    """
    th, g = np.asarray(thetas, dtype=np.float64), np.asarray(grads, dtype=np.float64)
    v = g if velocities is None else np.asarray(velocities, dtype=np.float64)
    if th.ndim != 2 or g.shape != th.shape or v.shape != th.shape or th.shape[0] == 0:
        raise ValueError(f"thetas, grads, velocities must share one (T, m) shape, got {th.shape}, {g.shape}, "
                         f"{v.shape}")
    for a, name in ((th, "thetas"), (g, "grads"), (v, "velocities")):
        check_finite(a, name)
    check_scalar(lr, "lr", float, min_val=0, include_boundaries="neither")
    for x, name in ((momentum, "momentum"), (dampening, "dampening")):
        check_scalar(x, name, float, min_val=0, max_val=1, include_boundaries="left")
    if basis is not None:
        B = np.asarray(basis, dtype=np.float64)
        if B.ndim != 2 or B.shape[0] != th.shape[1]:
            raise ValueError(f"basis must have shape ({th.shape[1]}, k), got {B.shape}")
        th, g, v = th @ B, g @ B, v @ B
    o_left = float(np.mean(np.sum(th * g, axis=1)))
    o_right = float(lr * (1 + momentum) / (2 * (1 - dampening)) * np.mean(np.sum(v * v, axis=1)))
    if o_right == 0:
        raise ValueError("O_R is zero: no motion in this window / subspace")
    return FDRSides(o_left, o_right)


def fdr_criterion(thetas, grads, lr: float, **kwargs) -> float:
    r""":math:`|\bar{\mathcal O}_L/\bar{\mathcal O}_R - 1|` of :func:`fdr_sides` (App. A.5, Fig. 6).

    Parameters
    ----------
    thetas, grads, lr, **kwargs
        As in :func:`fdr_sides`.

    Returns
    -------
    float
    """
    return fdr_sides(thetas, grads, lr, **kwargs).criterion
