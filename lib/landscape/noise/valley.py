r"""Projection of SGD states to the floor of a minimal valley and the line-connectedness test (source 004,
Sec. 2.1.1, Fig. 1).

A state is *projected* by running gradient descent from it (noise removed) until the training loss falls below
a threshold. Two projected states are *line connected* when the loss stays below a threshold at evenly spaced
points of the segment between them. Consecutive checkpoints A, B of an SGD run that are not line connected are
refined recursively: the state C of the iteration half-way between them is projected and the pairs (A, C),
(C, B) are tested, until they are connected or no iteration lies between them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from landscape.infra.validation import check_finite, check_scalar

__all__ = ["Projection", "project_to_valley", "line_losses", "line_connected", "ValleyPath", "projected_path"]


@dataclass(frozen=True)
class Projection:
    """``theta`` the projected state, ``loss`` its loss, ``steps`` GD steps used, ``reached`` whether the
    loss fell below the threshold within ``max_steps``.

    Parameters
    ----------
    theta : numpy.ndarray
        The projected state (flat parameter vector).
    loss : float
        Its loss.
    steps : int
        Gradient-descent steps used.
    reached : bool
        Whether the loss fell below the threshold within ``max_steps``.
    """

    theta: np.ndarray
    loss: float
    steps: int
    reached: bool


def project_to_valley(loss_grad: Callable[[np.ndarray], tuple[float, np.ndarray]], theta, *, lr: float,
                      threshold: float, max_steps: int = 10000) -> Projection:
    r"""Gradient descent :math:`\theta \leftarrow \theta - \eta\nabla L` from ``theta`` until
    :math:`L(\theta) < ` ``threshold`` (Sec. 2.1.1: "the model is trained from that state ... using GD instead
    of SGD", stopping "when the training loss is less than the minimal training loss").

    Parameters
    ----------
    loss_grad : callable
        ``loss_grad(theta) -> (loss, gradient)``.
    theta : array (m,)
    lr, threshold : float
    max_steps : int

    Returns
    -------
    Projection

    Examples
    --------
    >>> import numpy as np
    >>> lg = lambda t: (0.5 * t[0] ** 2, np.array([t[0], 0.0]))   # valley: the line t[0] = 0
    >>> p = project_to_valley(lg, np.array([1.0, 3.0]), lr=0.5, threshold=1e-6)
    >>> p.reached, float(p.theta[1])
    (True, 3.0)
    """
    for x, name in ((lr, "lr"), (threshold, "threshold")):
        check_scalar(x, name, float, min_val=0, include_boundaries="neither")
    check_scalar(max_steps, "max_steps", int, min_val=0)
    theta = np.array(theta, dtype=np.float64)
    if theta.ndim != 1:
        raise ValueError(f"theta must be a 1-D vector, got shape {theta.shape}")
    check_finite(theta, "theta")
    for step in range(max_steps + 1):
        loss, g = loss_grad(theta)
        if loss < threshold or step == max_steps:
            return Projection(theta, float(loss), step, bool(loss < threshold))
        theta = theta - lr * np.asarray(g, dtype=np.float64)
    raise AssertionError("unreachable")


def line_losses(loss: Callable[[np.ndarray], float], a, b, n_points: int = 10) -> np.ndarray:
    """The loss at ``n_points`` evenly spaced points of the segment from ``a`` to ``b`` (ends included).

    Parameters
    ----------
    loss : callable
        ``loss(theta) -> float``.
    a, b : arrays (m,)
    n_points : int
        At least 2.

    Returns
    -------
    ndarray (n_points,)
    """
    check_scalar(n_points, "n_points", int, min_val=2)
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    return np.array([float(loss((1 - s) * a + s * b)) for s in np.linspace(0.0, 1.0, n_points)])


def line_connected(loss, a, b, *, threshold: float, n_points: int = 10) -> bool:
    """Line connectedness (Sec. 2.1.1): the loss is below ``threshold`` at all ``n_points`` evenly spaced points
    of the segment between ``a`` and ``b``.

    Parameters
    ----------
    loss : callable
    a, b : arrays (m,)
    threshold : float
    n_points : int

    Returns
    -------
    bool
    """
    return bool(np.all(line_losses(loss, a, b, n_points) < threshold))


@dataclass(frozen=True)
class ValleyPath:
    """``iterations`` (K,) the SGD iterations whose projections form the path, ``states`` (K, m) the projected
    states, ``losses`` (K,) their losses, ``reached`` (K,) whether each projection met the threshold,
    ``connected`` (K-1,) whether each consecutive pair is line connected, ``gd_steps`` total GD steps.

    Parameters
    ----------
    iterations : numpy.ndarray
        ``(K,)`` SGD iterations whose projections form the path.
    states : numpy.ndarray
        ``(K, m)`` projected states.
    losses : numpy.ndarray
        ``(K,)`` their losses.
    reached : numpy.ndarray
        ``(K,)`` bool, whether each projection met the threshold.
    connected : numpy.ndarray
        ``(K-1,)`` bool, whether each consecutive pair is line connected.
    gd_steps : int
        Gradient-descent steps of all projections together.
    """

    iterations: np.ndarray
    states: np.ndarray
    losses: np.ndarray
    reached: np.ndarray
    connected: np.ndarray
    gd_steps: int

    @property
    def all_connected(self) -> bool:
        """Whether every consecutive pair of the path is line connected."""
        return bool(np.all(self.connected))


def projected_path(state_at: Callable[[int], np.ndarray], checkpoints: Sequence[int],
                   project: Callable[[np.ndarray], Projection],
                   connected: Callable[[np.ndarray, np.ndarray], bool], *,
                   known: Mapping[int, Projection] | None = None) -> ValleyPath:
    """The projected path of Sec. 2.1.1 with its recursive bisection.

    ``state_at(t)`` is the SGD state after ``t`` iterations; ``checkpoints`` increasing iterations (e.g. epoch
    ends); ``project(theta) -> Projection`` (e.g. :func:`project_to_valley`); ``connected(a, b) -> bool``
    (e.g. :func:`line_connected`). Between consecutive checkpoints A, B that are not connected the
    iteration ``(A + B) // 2`` is inserted, recursively, until pairs are connected or adjacent. ``known`` maps
    iterations to projections already computed (e.g. the checkpoints', in parallel); they are not recomputed.

    Parameters
    ----------
    state_at : callable
        ``state_at(t) -> (m,)``.
    checkpoints : sequence of int
        At least two, increasing.
    project : callable
        ``project(theta) -> Projection``.
    connected : callable
        ``connected(a, b) -> bool``.
    known : mapping or None
        Projections already computed, by iteration.

    Returns
    -------
    ValleyPath
    """
    cps = [int(c) for c in checkpoints]
    if len(cps) < 2 or any(b <= a for a, b in zip(cps, cps[1:], strict=False)):
        raise ValueError(f"checkpoints must be at least two increasing iterations, got {checkpoints!r}")
    memo: dict[int, Projection] = dict(known or {})

    def proj(t: int) -> Projection:
        if t not in memo:
            memo[t] = project(np.asarray(state_at(t), dtype=np.float64))
        return memo[t]

    iters, links = [cps[0]], []
    for a, b in zip(cps, cps[1:], strict=False):
        stack = [(a, b)]  # depth-first, left part first, so the path stays ordered
        while stack:
            lo, hi = stack.pop()
            ok = connected(proj(lo).theta, proj(hi).theta)
            if ok or hi - lo <= 1:
                iters.append(hi)
                links.append(bool(ok))
            else:
                mid = (lo + hi) // 2
                stack.extend([(mid, hi), (lo, mid)])
    ps = [memo[t] for t in iters]
    return ValleyPath(np.array(iters), np.stack([p.theta for p in ps]), np.array([p.loss for p in ps]),
                      np.array([p.reached for p in ps]), np.array(links, dtype=bool),
                      int(sum(p.steps for p in memo.values())))
