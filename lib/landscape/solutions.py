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

from .interpolation import loss_at
from .models import evaluating
from .validation import check_finite

__all__ = ["functional_difference", "scaling_profile", "basin_width", "n_local_maxima"]


def functional_difference(model: nn.Module, points: Mapping[str, np.ndarray], X) -> pd.DataFrame:
    r"""For every pair of named parameter vectors: ``msd`` = mean over inputs of
    :math:`\|\mathrm{softmax}(f_a(x)) - \mathrm{softmax}(f_b(x))\|^2` and ``disagreement`` = share of inputs
    with different arg-max classes. The model (eval mode) is restored afterwards."""
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
    r"""Loss at :math:`\alpha\,\theta` for every ``alpha`` (Im et al., Fig. 4): frame ``alpha, split, loss``."""
    t = np.asarray(theta, dtype=np.float64).reshape(-1)
    a = np.asarray(alphas, dtype=np.float64).reshape(-1)
    fr = loss_at(model, loss_fn, data, a[:, None] * t[None, :])
    fr["alpha"] = a[fr["point"].to_numpy()]
    return fr.drop(columns="point")


def basin_width(alphas, losses, threshold: float, center: float = 1.0) -> float:
    r"""Width of the connected interval of ``alphas`` around ``center`` on which ``losses`` :math:`\le`
    ``threshold`` (0 when the loss at the grid point nearest ``center`` is above it).

    >>> basin_width([0.0, 0.5, 1.0, 1.5, 2.0], [3.0, 1.0, 0.1, 0.5, 2.0], 1.0)
    1.0
    """
    a, ell = np.asarray(alphas, float).reshape(-1), np.asarray(losses, float).reshape(-1)
    if a.shape != ell.shape or a.size < 2 or np.any(np.diff(a) <= 0):
        raise ValueError("alphas must be increasing and match losses in length")
    i = int(np.argmin(np.abs(a - center)))
    if not ell[i] <= threshold:
        return 0.0
    lo = hi = i
    while lo > 0 and ell[lo - 1] <= threshold:
        lo -= 1
    while hi < a.size - 1 and ell[hi + 1] <= threshold:
        hi += 1
    return float(a[hi] - a[lo])


def n_local_maxima(curve, rel_tol: float = 1e-3) -> int:
    r"""Number of strict interior local maxima of a sampled curve, ignoring wiggles smaller than
    ``rel_tol`` times its range (a maximum counts only if the curve falls by more than that on both sides before
    rising again).

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
