r"""He et al.'s averaged solution on the flat side of an asymmetric valley (chapter 06, source 003, "Asymmetric
valleys", Fig. 19): a converged, oscillating SGD phase (constant step with weight decay) and the flat-side test on
the line through the last iterate and the average, with its premise checked first.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from landscape.infra.validation import check_finite, check_scalar

__all__ = ["with_weight_decay", "flat_side_test", "phase_drift"]


def with_weight_decay(loss_fn: Callable, model: nn.Module, weight_decay: float) -> Callable:
    r"""The objective :math:`L(\theta) + \tfrac{\lambda}{2}\|\theta\|^2` as a ``loss_fn(output, y)`` for
    :func:`landscape.nets.optimizers.train` (the penalty reads ``model``'s parameters, so plain SGD on it is SGD
    with weight decay :math:`\lambda`; with a constant step the iterates then reach a stationary, oscillating
    phase around a minimum of the objective, which plain cross-entropy on separable data does not have).

    Parameters
    ----------
    loss_fn : callable
        The data loss ``loss_fn(output, y)``.
    model : torch.nn.Module
        The network whose parameters are penalised.
    weight_decay : float
        :math:`\lambda \ge 0` (0 returns ``loss_fn`` itself).

    Returns
    -------
    callable
        ``objective(output, y)``.
    """
    wd = check_scalar(weight_decay, "weight_decay", float, min_val=0)
    if wd == 0:
        return loss_fn
    params = list(model.parameters())

    def objective(output, y):
        return loss_fn(output, y) + 0.5 * wd * sum(torch.sum(p * p) for p in params)

    return objective


def flat_side_test(s, loss, *, last: float = 0.0, average: float = 1.0) -> dict:
    r"""Whether the average is displaced from the valley's minimum towards its flat side (He et al., Fig. 19).

    On the line :math:`\theta(s) = \theta_{\rm last} + s(\theta_{\rm avg} - \theta_{\rm last})` sampled at ``s``
    (``last`` and ``average`` on the grid), let :math:`s^*` be the grid point of the smallest loss and :math:`k` the
    number of grid steps between the two solutions. The flat side is the one where the loss :math:`k` steps away from
    :math:`s^*` rises less (clipped at the grid's ends); the claim holds when the average lies on that side of
    :math:`s^*`. The premise: :math:`s^*` is an interior grid point (a minimum at the edge means the iterates were
    still descending, so there is no valley to have sides).

    Parameters
    ----------
    s : array_like
        Increasing line coordinates.
    loss : array_like
        Loss at each coordinate.
    last, average : float
        Coordinates of the last iterate and of the average.

    Returns
    -------
    dict
        ``s_min`` (:math:`s^*`), ``interior`` (the premise), ``rise_plus``/``rise_minus`` (loss rise :math:`k`
        steps to the right/left of :math:`s^*`), ``flat_side`` (+1: right), ``average_side`` (+1: the average is
        right of :math:`s^*`) and ``holds`` (``flat_side == average_side``).

    >>> s = np.linspace(-1, 2, 31)
    >>> r = flat_side_test(s, np.where(s < 0.5, 4 * (0.5 - s), s - 0.5))  # steep left, flat right of 0.5
    >>> r["interior"], r["flat_side"], r["average_side"], r["holds"]
    (True, 1, 1, True)
    """
    s = np.asarray(s, dtype=float).reshape(-1)
    ell = check_finite(np.asarray(loss, dtype=float).reshape(-1), "loss")
    if s.shape != ell.shape or s.size < 3 or np.any(np.diff(s) <= 0):
        raise ValueError("s must be increasing, of at least 3 points, and match loss in length")
    i_last, i_avg = (int(np.argmin(np.abs(s - v))) for v in (last, average))
    if i_last == i_avg:
        raise ValueError("last and average must fall on different grid points of s")
    k, i = abs(i_avg - i_last), int(np.argmin(ell))

    def rise(step):
        return float(ell[min(max(i + step, 0), s.size - 1)] - ell[i])

    plus, minus = rise(k), rise(-k)
    flat = 1 if plus < minus else -1
    side = 1 if s[i] < s[i_avg] else -1
    return {"s_min": float(s[i]), "interior": bool(0 < i < s.size - 1), "rise_plus": plus, "rise_minus": minus,
            "flat_side": flat, "average_side": side, "holds": flat == side}


def phase_drift(objective) -> float:
    r"""Stationarity number of an averaging phase: the relative fall of the objective over it,
    :math:`(f_0 - f_K) / |f_0|`, with :math:`f_k` the objective at the end of the phase's epoch :math:`k`
    (:math:`f_0` at its start).

    He et al.'s flat-side picture (source 003, Asymmetric valleys) needs iterates that oscillate around a minimum:
    the number is then close to 0 (either sign); a run still descending has it clearly positive.

    Parameters
    ----------
    objective : array_like
        The objective at the phase's recorded iterates, at least 2 values, the first non-zero.

    Returns
    -------
    float
        The relative fall (positive: the objective still falls).

    >>> phase_drift([2.0, 1.5, 1.0])
    0.5
    >>> phase_drift([1.0, 1.1, 0.9, 1.0])
    0.0
    """
    f = check_finite(np.asarray(objective, dtype=float).reshape(-1), "objective")
    if f.size < 2 or f[0] == 0:
        raise ValueError(f"objective must hold at least 2 values, the first non-zero, got {f.size} values")
    return float((f[0] - f[-1]) / abs(f[0]))
