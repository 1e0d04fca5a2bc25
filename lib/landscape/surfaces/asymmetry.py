r"""Asymmetric valleys and the average of SGD iterates (source 003, "Asymmetric Valleys"; He, Huang & Yuan 2019).

The one-dimensional model of the source's theorem: a minimum at :math:`w^* = 0` with gradient :math:`a > 0` on
the flat side (:math:`w \ge 0`) and :math:`-c\,a` on the sharp side (:math:`w < 0`, :math:`c > 1`), i.e.
:math:`L(w) = a\,w` for :math:`w \ge 0` and :math:`L(w) = -c\,a\,w` for :math:`w < 0`. SGD is
:math:`w_{t+1} = w_t - \eta\,(L'(w_t) + \xi_t)` with bounded noise :math:`|\xi_t| \le v`.

Without noise the iterates enter the interval :math:`I = [-\eta a, \eta c a)` and then move by a *rotation*:
:math:`w \mapsto w - \eta a` modulo :math:`P = \eta a (1 + c)`. Their long-run average is therefore
(closed form, ours):

* for irrational :math:`c`: the midpoint of :math:`I`, :math:`\bar w = \eta a (c - 1)/2 > 0`
  (Weyl equidistribution; after :math:`q_n` steps, :math:`q_n` a convergent denominator of the rotation number
  :math:`1/(1+c)`, the error is at most :math:`P/q_n` by the Denjoy--Koksma inequality);
* for integer :math:`c`: the orbit has period :math:`c + 1` and
  :math:`\bar w = \eta a (c/2 - 1) + r` with :math:`r = (w_0 + \eta a) \bmod \eta a` for :math:`w_0 \in I`.

Both are on the flat side, as the theorem (:math:`\mathbb E[\bar w] > c_0 > 0`) says.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from torch import nn

from landscape.infra.validation import check_finite, check_scalar
from landscape.surfaces import projections

__all__ = ["asymmetric_loss", "asymmetric_sgd", "oscillation_average", "average_iterates",
           "direction_asymmetry"]


def _positive(value, name: str) -> float:
    check_scalar(value, name, float, min_val=0, include_boundaries="right")
    return float(check_finite(value, name))


def asymmetric_loss(w, a: float = 1.0, c: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """The piecewise-linear asymmetric valley: ``(L(w), L'(w))`` with slope ``a`` for w >= 0 and ``-c a`` below.

    Parameters
    ----------
    w : array_like
        Points.
    a : float
        Slope of the flat side (w >= 0), > 0.
    c : float
        How many times steeper the sharp side is, > 0.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Loss and derivative at ``w``.

    >>> [float(v) for v in asymmetric_loss(np.array([-1.0, 2.0]), a=1.0, c=3.0)[0]]
    [3.0, 2.0]
    """
    a, c = _positive(a, "a"), _positive(c, "c")
    w = np.asarray(w, dtype=np.float64)
    flat = w >= 0
    return np.where(flat, a * w, -c * a * w), np.where(flat, a, -c * a)


def asymmetric_sgd(w0: float, steps: int, lr: float, *, a: float = 1.0, c: float = 4.0, noise: float = 0.0,
                   seed: int = 0) -> np.ndarray:
    r"""SGD iterates :math:`w_1, \dots, w_{steps}` on :func:`asymmetric_loss` with uniform noise
    :math:`\xi_t \sim U(-v, v)`, ``v = noise`` (the theorem's bounded noise).

    Parameters
    ----------
    w0 : float
        Start.
    steps : int
        Number of iterates, >= 1.
    lr : float
        Step size, > 0.
    a, c : float
        The valley (:func:`asymmetric_loss`).
    noise : float
        Half-width ``v`` of the uniform gradient noise, >= 0.
    seed : int
        Seed of the noise.

    Returns
    -------
    numpy.ndarray
        ``(steps,)`` iterates.
    """
    check_scalar(steps, "steps", int, min_val=1)
    lr = _positive(lr, "lr")
    check_finite(check_scalar(w0, "w0", float), "w0")
    check_finite(check_scalar(noise, "noise", float, min_val=0), "noise")
    xi = np.random.default_rng(seed).uniform(-noise, noise, steps) if noise > 0 else np.zeros(steps)
    out = np.empty(steps)
    w = float(w0)
    for t in range(steps):
        g = a if w >= 0 else -c * a
        w = w - lr * (g + xi[t])
        out[t] = w
    return out


def oscillation_average(w0: float, lr: float, *, a: float = 1.0, c: float = 4.0) -> float:
    r"""Closed form of the long-run average of noiseless SGD iterates on :func:`asymmetric_loss` (module
    docstring): :math:`\eta a (c/2 - 1) + r` for integer ``c`` (``w0`` in :math:`[-\eta a, \eta c a)`), else the
    midpoint :math:`\eta a (c - 1)/2`.

    Parameters
    ----------
    w0 : float
        Start (for integer ``c`` in :math:`[-\eta a, \eta c a)`).
    lr : float
        Step size :math:`\eta`.
    a, c : float
        The valley.

    Returns
    -------
    float
        The long-run average of the iterates.

    >>> oscillation_average(0.0, 0.5, a=1.0, c=3.0)
    0.25
    """
    a, c, lr = _positive(a, "a"), _positive(c, "c"), _positive(lr, "lr")
    step = lr * a
    if float(c).is_integer():
        if not -step <= w0 < c * step:
            raise ValueError(f"w0 must lie in [-lr*a, lr*c*a) = [{-step}, {c * step}) for integer c, got {w0!r}")
        r = (w0 + step) % step
        return step * (c / 2 - 1) + r
    return step * (c - 1) / 2


def average_iterates(params, start: int = 0, every: int = 1) -> np.ndarray:
    r"""Stochastic weight averaging (Izmailov et al.; He et al. Sec. 5): the mean of the recorded parameter
    vectors ``params[start::every]`` ((M, m) array), :math:`\bar\theta = \frac1K\sum_k \theta_{t_k}`.

    Parameters
    ----------
    params : array_like
        ``(M, m)`` recorded parameter vectors.
    start : int
        First index averaged, in [0, M).
    every : int
        Stride, >= 1.

    Returns
    -------
    numpy.ndarray
        ``(m,)`` average.

    >>> average_iterates([[0.0, 2.0], [1.0, 4.0], [5.0, 0.0]], start=1).tolist()
    [3.0, 2.0]
    """
    P = np.asarray(params, dtype=np.float64)
    if P.ndim != 2:
        raise ValueError(f"params must have shape (M, m), got {P.shape}")
    check_scalar(start, "start", int, min_val=0, max_val=P.shape[0], include_boundaries="left")
    check_scalar(every, "every", int, min_val=1)
    return P[start::every].mean(axis=0)


def direction_asymmetry(model: nn.Module, loss_fn: Callable, data, n_directions: int, radius: float, *,
                        seed: int = 0, kind: str = "filter", n_points: int = 11) -> pd.DataFrame:
    r"""Search random directions for asymmetric loss growth (the definition of an :math:`(r, p, c, \zeta)`-
    asymmetric direction): for each direction :math:`u` (from :func:`landscape.surfaces.projections.random_direction`
    with seed ``seed + i``) the train-loss rises :math:`\ell(\pm r) - \ell(0)` along
    :math:`\theta^* + \alpha u` and their ratio (larger over smaller, :math:`\ge 1`).

    Parameters
    ----------
    model : torch.nn.Module
        The network at :math:`\theta^*` (restored afterwards).
    loss_fn : callable
        Loss of the lines, ``loss_fn(output, y)``.
    data : tuple
        ``(X, y)``.
    n_directions : int
        Directions searched, >= 1.
    radius : float
        :math:`r`, > 0.
    seed : int
        Direction ``i`` is drawn with seed ``seed + i``.
    kind : str
        Direction kind of :func:`landscape.surfaces.projections.random_direction`.
    n_points : int
        Points of each line on :math:`[-r, r]`.

    Returns
    -------
    pandas.DataFrame
        ``direction, rise_plus, rise_minus, ratio, sharp_side`` (+1 when the + side rises faster).
    """
    radius = _positive(radius, "radius")
    check_scalar(n_directions, "n_directions", int, min_val=1)
    alphas = projections.symmetric_grid(radius, n_points)
    rows = []
    for i in range(n_directions):
        u = projections.random_direction(model, seed + i, kind)
        line = projections.loss_line(model, loss_fn, data, u, alphas)
        ell = line[line["split"] == "train"].set_index("alpha")["loss"]
        up, um = float(ell.iloc[-1] - ell.loc[0.0]), float(ell.iloc[0] - ell.loc[0.0])
        hi, lo = max(up, um), min(up, um)
        rows.append({"direction": i, "rise_plus": up, "rise_minus": um,
                     "ratio": hi / lo if lo > 0 else np.inf, "sharp_side": 1 if up >= um else -1})
    return pd.DataFrame(rows)
