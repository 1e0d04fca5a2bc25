r"""Comparing the solutions different optimizers reach (source 003, Sec. 5.1; Im et al.).

* :func:`functional_difference`: are two networks the same *function*? The mean squared difference of their
  softmax outputs and the share of inputs on which their predicted classes disagree, for every pair.
* :func:`scaling_profile` and :func:`basin_width`: the loss along :math:`\alpha\,\theta` (Im et al.'s basin-size
  plot, Fig. 4: :math:`\alpha` multiplies the whole weight vector) and the width of the interval around
  :math:`\alpha = 1` where it stays below a threshold.
* :func:`n_local_maxima`: how many humps a 1-D curve between two solutions has (unimodal or "bumpy", Sec. 5.1.4).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from itertools import combinations

import numpy as np
import pandas as pd
import torch
from torch import nn

from landscape.infra.validation import check_finite
from landscape.nets.models import evaluating
from landscape.surfaces.interpolation import loss_at

__all__ = ["functional_difference", "scaling_profile", "basin_width", "basin_interval", "n_local_maxima",
           "basin_profiles", "profile_distances"]


def functional_difference(model: nn.Module, points: Mapping[str, np.ndarray], X) -> pd.DataFrame:
    r"""For every pair of named parameter vectors: ``msd`` = mean over inputs of
    :math:`\|\mathrm{softmax}(f_a(x)) - \mathrm{softmax}(f_b(x))\|^2` and ``disagreement`` = share of inputs
    with different arg-max classes. The model (eval mode) is restored afterwards.

    Parameters
    ----------
    model : torch.nn.Module
        A classifier with the parameter layout of the vectors.
    points : mapping
        ``{name: flat parameter vector}``, at least two.
    X : array_like
        Inputs.

    Returns
    -------
    pandas.DataFrame
        ``a, b, msd, disagreement``, one row per pair.
    """
    if len(points) < 2:
        raise ValueError("points must name at least two parameter vectors")
    p0 = next(model.parameters())
    X = torch.as_tensor(X, device=p0.device).to(p0.dtype)
    probs = {}
    with evaluating(model) as params:
        for name, vec in points.items():
            torch.nn.utils.vector_to_parameters(torch.as_tensor(np.asarray(vec), dtype=p0.dtype,
                                                                device=p0.device), params)
            probs[name] = torch.softmax(model(X), dim=1).double().cpu().numpy()
    rows = [{"a": a, "b": b, "msd": float(((probs[a] - probs[b]) ** 2).sum(axis=1).mean()),
             "disagreement": float((probs[a].argmax(1) != probs[b].argmax(1)).mean())}
            for a, b in combinations(probs, 2)]
    return pd.DataFrame(rows)


def scaling_profile(model: nn.Module, loss_fn: Callable, data, theta, alphas) -> pd.DataFrame:
    r"""Loss at :math:`\alpha\,\theta` for every ``alpha`` (Im et al., Fig. 4).

    Parameters
    ----------
    model : torch.nn.Module
        Its layout fits ``theta``; weights restored afterwards.
    loss_fn : callable
        Loss at each scaled point.
    data
        As in :func:`landscape.surfaces.interpolation.loss_at`.
    theta : array_like
        Flat parameter vector.
    alphas : array_like
        Multipliers.

    Returns
    -------
    pandas.DataFrame
        ``split, loss, alpha``.
    """
    t = np.asarray(theta, dtype=np.float64).reshape(-1)
    a = np.asarray(alphas, dtype=np.float64).reshape(-1)
    fr = loss_at(model, loss_fn, data, a[:, None] * t[None, :])
    fr["alpha"] = a[fr["point"].to_numpy()]
    return fr.drop(columns="point")


def basin_width(alphas, losses, threshold: float, center: float = 1.0) -> float:
    r"""Width of the connected interval of ``alphas`` around ``center`` on which ``losses`` :math:`\le`
    ``threshold`` (0 when the loss at the grid point nearest ``center`` is above it).

    Parameters
    ----------
    alphas : array_like
        Increasing grid.
    losses : array_like
        Loss at each grid point.
    threshold : float
        Loss level.
    center : float
        Where the basin is looked for (1: the solution itself).

    Returns
    -------
    float
        Width in ``alphas`` units (0 when the centre is above the threshold).

    >>> basin_width([0.0, 0.5, 1.0, 1.5, 2.0], [3.0, 1.0, 0.1, 0.5, 2.0], 1.0)
    1.0
    """
    low, high, _, _ = basin_interval(alphas, losses, threshold, center)
    return 0.0 if np.isnan(low) else high - low


def basin_interval(alphas, losses, threshold: float, center: float = 1.0) -> tuple[float, float, bool, bool]:
    r"""The connected interval of ``alphas`` around ``center`` on which ``losses`` :math:`\le` ``threshold``, and
    whether each end is a real crossing of the level (Im et al.'s basin, Fig. 4) rather than the grid's edge.

    A basin width read from a profile that is still below the level at the last grid point is a lower bound set by
    the grid, not a width: ``closed_low``/``closed_high`` say whether the loss rises above ``threshold`` before the
    grid ends on that side.

    Parameters
    ----------
    alphas : array_like
        Increasing grid.
    losses : array_like
        Loss at each grid point.
    threshold : float
        Loss level.
    center : float
        Where the basin is looked for.

    Returns
    -------
    (float, float, bool, bool)
        ``(low, high, closed_low, closed_high)``: the first and last grid points of the interval (both ``nan``
        and both flags False when the loss at the grid point nearest ``center`` is above the level).

    >>> basin_interval([0.0, 0.5, 1.0, 1.5, 2.0], [3.0, 1.0, 0.1, 0.5, 0.9], 1.0)
    (0.5, 2.0, True, False)
    """
    a, ell = np.asarray(alphas, float).reshape(-1), np.asarray(losses, float).reshape(-1)
    if a.shape != ell.shape or a.size < 2 or np.any(np.diff(a) <= 0):
        raise ValueError("alphas must be increasing and match losses in length")
    i = int(np.argmin(np.abs(a - center)))
    if not ell[i] <= threshold:
        return float("nan"), float("nan"), False, False
    lo = hi = i
    while lo > 0 and ell[lo - 1] <= threshold:
        lo -= 1
    while hi < a.size - 1 and ell[hi + 1] <= threshold:
        hi += 1
    return float(a[lo]), float(a[hi]), bool(lo > 0), bool(hi < a.size - 1)


def n_local_maxima(curve, rel_tol: float = 1e-3) -> int:
    r"""Number of strict interior local maxima of a sampled curve, ignoring wiggles smaller than
    ``rel_tol`` times its range (a maximum counts only if the curve falls by more than that on both sides before
    rising again).

    Parameters
    ----------
    curve : array_like
        At least 3 finite values.
    rel_tol : float
        Wiggle tolerance relative to the range.

    Returns
    -------
    int
        Number of humps.

    >>> n_local_maxima([0, 1, 0]), n_local_maxima([0, 2, 1, 2, 0]), n_local_maxima([3, 2, 1])
    (1, 2, 0)
    """
    c = check_finite(np.asarray(curve, dtype=np.float64).reshape(-1), "curve")
    if c.size < 3:
        raise ValueError(f"curve must have at least 3 values, got {c.size}")
    tol = rel_tol * max(np.ptp(c), 1e-300)
    count, direction, ref = 0, 0, c[0]  # direction: +1 rising, -1 falling, 0 unknown
    for v in c[1:]:
        if direction >= 0 and v < ref - tol:
            if direction == 1:
                count += 1
            direction, ref = -1, v
        elif direction <= 0 and v > ref + tol:
            direction, ref = 1, v
        elif (direction == 1 and v > ref) or (direction == -1 and v < ref):
            ref = v
    return count


def _basin_unit(sizes, loss_fn, train, method: str, lr: float, epochs: int, init_seed: int, run_seed: int,
                rerun: int, batch_size: int, alphas, level: float, device: str) -> tuple[pd.DataFrame, np.ndarray]:
    """One (optimizer, re-run) of :func:`basin_profiles` and its final parameters (module-level for the workers)."""
    from landscape.nets import models, optimizers

    net = models.mlp(sizes, seed=init_seed, device=device)
    theta = optimizers.train(net, loss_fn, *train, [(method, epochs, lr)], batch_size=batch_size,
                             seed=run_seed).params[-1]
    prof = scaling_profile(net, loss_fn, train, theta, alphas)
    low, high, closed_low, closed_high = basin_interval(prof.alpha, prof.loss, level)
    return prof.assign(optimizer=method, rerun=rerun, basin_width=basin_width(prof.alpha, prof.loss, level),
                       basin_low=low, basin_high=high, basin_closed=closed_low and closed_high,
                       weight_norm=np.linalg.norm(theta)), theta


def basin_profiles(sizes, loss_fn: Callable, train, lrs: Mapping[str, float], *, epochs: int, reruns: int, alphas,
                   level: float, batch_size: int = 64, seed: int = 0, device: str = "cpu",
                   jobs: int | None = None, return_params: bool = False):
    r"""Im et al.'s basins along :math:`\alpha\theta` (Sec. 5.1, Fig. 4) for several optimizers and re-runs.

    Re-run ``r`` of each optimizer trains ``models.mlp(sizes, seed=seed + 100 + r)`` with
    :func:`landscape.nets.optimizers.train` (one phase, batches from seed ``seed + r``, so the optimizers of a re-run
    see the same initialisation and batches), then records :func:`scaling_profile` on ``train``,
    :func:`basin_width` at loss ``level`` and the interval's ends (:func:`basin_interval`: ``basin_low``,
    ``basin_high``, and ``basin_closed``, True when the loss crosses the level on both sides inside the grid).

    Parameters
    ----------
    sizes : sequence of int
        Layer widths of the ReLU MLP.
    loss_fn : callable
        Training and profile loss.
    train : tuple
        ``(X, y)``.
    lrs : mapping
        ``{optimizer: step size}``, optimizers of :data:`landscape.nets.optimizers.METHODS`.
    epochs, reruns : int
        Epochs of every run; re-runs per optimizer.
    alphas : array_like
        Multipliers of the weights.
    level : float
        Loss level of the basin width.
    batch_size, seed, device
        Minibatch size, base seed, where to train.
    jobs : int or None
        Worker processes, one (optimizer, re-run) each (:func:`landscape.infra.executor.map_units`); the numbers do
        not depend on it.
    return_params : bool
        Also return the final parameters of every run.

    Returns
    -------
    pandas.DataFrame or (pandas.DataFrame, dict)
        The :func:`scaling_profile` rows with ``optimizer, rerun, basin_width, basin_low, basin_high,
        basin_closed, weight_norm``; with ``return_params`` also ``{(optimizer, rerun): final flat parameters}``.
    """
    from landscape.infra.executor import map_units
    from landscape.infra.validation import check_scalar

    check_scalar(reruns, "reruns", int, min_val=1)
    units = [(list(sizes), loss_fn, train, m, float(lr), epochs, seed + 100 + r, seed + r, r, batch_size,
              np.asarray(alphas, dtype=float), float(level), device) for m, lr in lrs.items() for r in range(reruns)]
    out = map_units(_basin_unit, units, star=True, jobs=jobs, progress=False)
    frame = pd.concat([fr for fr, _ in out], ignore_index=True)
    if not return_params:
        return frame
    return frame, {(u[3], u[8]): theta for u, (_, theta) in zip(units, out, strict=True)}


def profile_distances(profiles: pd.DataFrame, floor: float = 1e-12) -> tuple[float, float]:
    """Mean Euclidean distance between the log-loss profiles of two runs of the same optimizer (within) and of
    different optimizers (between), over all pairs of :func:`basin_profiles` runs; losses are clipped at
    ``floor`` (float32 losses can underflow to 0).

    Parameters
    ----------
    profiles : pandas.DataFrame
        Columns ``optimizer, rerun, alpha, loss`` (one split).
    floor : float
        Smallest loss before the logarithm.

    Returns
    -------
    (float, float)
        ``(within, between)``.

    >>> fr = pd.DataFrame({"optimizer": list("aabb"), "rerun": [0, 1, 0, 1], "alpha": 0.0,
    ...                    "loss": np.exp([0.0, 1.0, 3.0, 3.0])})
    >>> profile_distances(fr)  # within: |0-1| and |3-3| -> 0.5; between: 3, 3, 2, 2 -> 2.5
    (0.5, 2.5)
    """
    P = {k: np.log(np.maximum(g.sort_values("alpha").loss.to_numpy(), floor))
         for k, g in profiles.groupby(["optimizer", "rerun"])}
    pairs = [(a, b) for a in P for b in P if a < b]
    within = [np.linalg.norm(P[a] - P[b]) for a, b in pairs if a[0] == b[0]]
    between = [np.linalg.norm(P[a] - P[b]) for a, b in pairs if a[0] != b[0]]
    return float(np.mean(within)), float(np.mean(between))
