r"""Paths between solutions and the barriers along them (source 001, "Topology of the loss landscape").

The lecture asks how many connected components :math:`N_\lambda` the sublevel set
:math:`\Omega_L(\lambda) = \{\theta : L(\theta) \le \lambda\}` has. It states (Freeman & Bruna) that for a deep
*linear* network with :math:`n_\ell > \min(n_0, n_L)` the sum-of-squares loss has a single connected component,
that for ReLU networks there are data distributions with more than one, and (Venturi et al.) that for a two-layer
ReLU net of width :math:`m` any two parameters of loss :math:`\le\lambda` are joined by a path staying below
:math:`\max(\lambda, m^{-1/n})`.

Connectedness is probed here by paths: :func:`straight_path` evaluates the loss on the segment between two
solutions, :func:`bisection_path` finds a piecewise-linear path through waypoints by the simplest form of Freeman &
Bruna's dynamic string sampling (recursive bisection: descend the midpoint of a segment within the hyperplane
orthogonal to the segment until it is below the level, then recurse on the two halves, to a depth limit). The
*barrier* of a path is its maximum loss minus the larger endpoint loss; a barrier of about zero is evidence that
the two solutions lie in one component of the sublevel set at the endpoints' level.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from landscape.infra.validation import check_finite, check_scalar
from landscape.nets import models

Loss = Callable[[torch.Tensor], torch.Tensor]


def _vec(x, name: str) -> torch.Tensor:
    t = torch.as_tensor(x, dtype=torch.float64).detach().clone()
    if t.ndim != 1 or t.numel() == 0:
        raise ValueError(f"{name} must be a non-empty 1-D vector, got shape {tuple(t.shape)}")
    check_finite(t.numpy(), name)
    return t


def _check_int(v, name: str, low: int) -> None:
    check_scalar(v, name, int, min_val=low)


def _check_pos(v, name: str) -> None:
    check_finite(check_scalar(v, name, float, min_val=0, include_boundaries="right"), name)


def _evaluate(loss: Loss, waypoints: list[torch.Tensor], n_points: int) -> pd.DataFrame:
    """Loss on ``n_points`` equally spaced points of every segment; ``t`` is normalised arc length."""
    seg_len = [float(torch.linalg.norm(b - a)) for a, b in zip(waypoints[:-1], waypoints[1:], strict=True)]
    total = sum(seg_len) or 1.0
    rows, start = [], 0.0
    s = np.linspace(0.0, 1.0, n_points)
    for k, (a, b) in enumerate(zip(waypoints[:-1], waypoints[1:], strict=True)):
        with torch.no_grad():
            for j, sj in enumerate(s):
                if k > 0 and j == 0:
                    continue  # shared waypoint
                rows.append({"t": (start + sj * seg_len[k]) / total, "loss": float(loss(a + sj * (b - a)))})
        start += seg_len[k]
    return pd.DataFrame(rows)


def barrier(path: pd.DataFrame) -> float:
    """Barrier of a path frame: ``max(loss) - max(loss at t=0, loss at t=1)``.

    Parameters
    ----------
    path : pandas.DataFrame
        With columns ``t`` and ``loss``, at least two rows.

    Returns
    -------
    float
    """
    if not {"t", "loss"} <= set(path.columns) or len(path) < 2:
        raise ValueError("path must be a frame with columns 't' and 'loss' and at least two rows")
    return float(path["loss"].max() - max(path["loss"].iloc[0], path["loss"].iloc[-1]))


def straight_path(loss: Loss, theta_a, theta_b, n_points: int = 101) -> pd.DataFrame:
    """The loss along the segment ``theta_a + t (theta_b - theta_a)``, ``t`` in [0, 1].

    Parameters
    ----------
    loss : callable
        Maps a flat float64 parameter vector to a scalar tensor.
    theta_a, theta_b : array_like
        The two endpoints (1-D, same length).
    n_points : int
        Evaluation points (>= 2; odd includes the midpoint exactly).

    Returns
    -------
    pandas.DataFrame
        Columns ``t`` and ``loss``; :func:`barrier` gives the barrier.

    Parameters
    ----------
    loss : callable
        Closure of the flat float64 vector.
    theta_a, theta_b : vectors of one shape
    n_points : int

    Returns
    -------
    pandas.DataFrame
        Columns ``t``, ``loss``.
    """
    a, b = _vec(theta_a, "theta_a"), _vec(theta_b, "theta_b")
    if a.shape != b.shape:
        raise ValueError(f"theta_b must have the shape of theta_a {tuple(a.shape)}, got {tuple(b.shape)}")
    _check_int(n_points, "n_points", 2)
    return _evaluate(loss, [a, b], n_points)


def _descend_midpoint(loss: Loss, a: torch.Tensor, b: torch.Tensor, level: float, steps: int, lr: float,
                      gen: torch.Generator) -> torch.Tensor:
    """Gradient descent from the midpoint of [a, b], restricted to the hyperplane orthogonal to b - a."""
    u = (b - a) / torch.linalg.norm(b - a)
    x = 0.5 * (a + b)
    kick = torch.randn(x.shape, generator=gen, dtype=torch.float64) * 1e-3 * float(torch.linalg.norm(b - a))
    x = x + kick - (kick @ u) * u  # a small seeded push off the segment (a midpoint may be a critical point)
    for _ in range(steps):
        xr = x.clone().requires_grad_(True)
        val = loss(xr)
        if float(val.detach()) <= level:
            break
        (g,) = torch.autograd.grad(val, xr)
        g = g - (g @ u) * u
        x = x - lr * g
    return x.detach()


def bisection_path(loss: Loss, theta_a, theta_b, *, level: float | None = None, tol: float = 1e-3, depth: int = 5,
                   steps: int = 500, lr: float = 0.05, n_points: int = 21, seed: int = 0) -> pd.DataFrame:
    """A piecewise-linear path found by recursive bisection (Freeman & Bruna's string sampling, simplest form).

    A segment whose maximum loss exceeds ``level`` is split at its midpoint; the midpoint is moved by gradient
    descent within the hyperplane through it orthogonal to the segment (so it stays "near the midpoint") until
    its loss is halfway from the endpoints' level to ``level`` or ``steps`` run out; then both halves are
    treated the same way, to ``depth`` levels.

    Parameters
    ----------
    loss : callable
        Maps a flat float64 parameter vector to a scalar tensor (differentiable).
    theta_a, theta_b : array_like
        The two endpoints.
    level : float, optional
        The target level; default ``max(loss(theta_a), loss(theta_b)) + tol``.
    tol : float
        Tolerance above the larger endpoint loss (> 0).
    depth : int
        Maximum recursion depth (>= 0; at most ``2**depth`` segments).
    steps, lr : int, float
        Gradient-descent budget and step size for each midpoint.
    n_points : int
        Evaluation points per segment (>= 2).
    seed : int
        Seed of the small push given to each midpoint.

    Returns
    -------
    pandas.DataFrame
        Columns ``t`` (normalised arc length) and ``loss``; ``attrs["waypoints"]`` holds the waypoints (array).
    """
    a, b = _vec(theta_a, "theta_a"), _vec(theta_b, "theta_b")
    if a.shape != b.shape:
        raise ValueError(f"theta_b must have the shape of theta_a {tuple(a.shape)}, got {tuple(b.shape)}")
    _check_pos(tol, "tol")
    _check_int(depth, "depth", 0)
    _check_int(steps, "steps", 0)
    _check_pos(lr, "lr")
    _check_int(n_points, "n_points", 2)
    _check_int(seed, "seed", 0)
    with torch.no_grad():
        base = max(float(loss(a)), float(loss(b)))
    lev = base + tol if level is None else level
    check_finite(lev, "level")
    gen = torch.Generator().manual_seed(seed)
    s = torch.linspace(0.0, 1.0, n_points, dtype=torch.float64)

    def seg_max(p, q):
        with torch.no_grad():
            return max(float(loss(p + sj * (q - p))) for sj in s)

    def solve(p, q, d):
        if d == 0 or seg_max(p, q) <= lev:
            return [p, q]
        mid = _descend_midpoint(loss, p, q, 0.5 * (base + lev), steps, lr, gen)
        return solve(p, mid, d - 1)[:-1] + solve(mid, q, d - 1)

    pts = solve(a, b, depth)
    frame = _evaluate(loss, pts, n_points)
    frame.attrs["waypoints"] = torch.stack(pts).numpy()
    return frame


def mse_loss(model: nn.Module, X, y) -> Loss:
    """The mean-squared error ``mean((model(X) - y)**2) / 2`` as a function of the flat parameter vector.

    Parameters
    ----------
    model : torch.nn.Module
        Float64; gives the structure.
    X : array (m, d)
    y : array (m,) or (m, r)

    Returns
    -------
    callable
        ``f(theta) -> scalar tensor``.
    """
    X = torch.as_tensor(X, dtype=torch.float64)
    y = torch.as_tensor(y, dtype=torch.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got shape {tuple(X.shape)}")
    if y.ndim == 1:
        y = y[:, None]
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have {X.shape[0]} rows, got {y.shape[0]}")

    def f(vec: torch.Tensor) -> torch.Tensor:
        out = torch.func.functional_call(model, models.unflatten(model, vec), (X,))
        return 0.5 * ((out - y) ** 2).mean()

    return f


def train(loss: Loss, theta0, steps: int = 2000, lr: float = 0.01) -> torch.Tensor:
    """Adam from ``theta0`` for ``steps`` steps on ``loss``; returns the final flat vector.

    Parameters
    ----------
    loss : callable
    theta0 : vector
    steps : int
    lr : float

    Returns
    -------
    torch.Tensor
    """
    _check_int(steps, "steps", 0)
    _check_pos(lr, "lr")
    x = _vec(theta0, "theta0").requires_grad_(True)
    opt = torch.optim.Adam([x], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss(x).backward()
        opt.step()
    return x.detach()


@dataclass(frozen=True)
class SolutionPair:
    """Two solutions trained from independent seeds: the loss on the ``straight`` segment between them, the
    ``found`` bisection path (frames of :func:`straight_path` / :func:`bisection_path`) and the ``level`` (the
    larger endpoint loss).

    Parameters
    ----------
    straight : pandas.DataFrame
        The loss along the straight segment (:func:`straight_path`).
    found : pandas.DataFrame
        The loss along the bisection path (:func:`bisection_path`).
    level : float
        The larger of the two endpoint losses.
    ends : tuple of torch.Tensor
        The two trained endpoints (flat float64 vectors; empty when not kept).
    by_tol : dict
        Bisection paths keyed by the search tolerance (:func:`tolerance_scan`; ``found`` is the smallest's).
    """

    straight: pd.DataFrame
    found: pd.DataFrame
    level: float
    ends: tuple = ()
    by_tol: dict = field(default_factory=dict)


def solution_pair(sizes, activation: str, X, Y, *, seed: int = 0, train_steps: int = 1500, tol: float = 1e-3,
                  depth: int = 5) -> SolutionPair:
    """Train two float64 MLPs ``sizes`` (:func:`landscape.nets.models.mlp`, seeds ``seed + 1``, ``seed + 2``; Adam, lr
    0.02, ``train_steps`` steps) on the square loss of ``(X, Y)`` (structure from seed ``seed``), then the straight
    segment and the bisection path (``tol``, ``depth``, 300 descent steps per midpoint, seed ``seed``) between them.

    Parameters
    ----------
    sizes : sequence of int
        Layer sizes, e.g. ``[1, 8, 1]``.
    activation : str
        Activation of :func:`landscape.nets.models.mlp` (``"identity"`` for a deep linear net).
    X, Y : arrays
        Data and targets.
    seed, train_steps, tol, depth
        As above.

    Returns
    -------
    SolutionPair
    """
    f = mse_loss(models.mlp(sizes, activation=activation, seed=seed, dtype=torch.float64), X, Y)
    ends = [train(f, models.flatten(models.mlp(sizes, activation=activation, seed=seed + 1 + k, dtype=torch.float64)),
                  steps=train_steps, lr=0.02) for k in range(2)]
    straight = straight_path(f, *ends)
    found = bisection_path(f, *ends, tol=tol, depth=depth, steps=300, seed=seed)
    return SolutionPair(straight, found, max(float(f(e).detach()) for e in ends))


def solution_pairs(nets, *, seed: int = 0, train_steps: int = 1500, tol: float = 1e-3, depth: int = 5, jobs=None,
                   progress: bool = False) -> tuple[pd.DataFrame, list[SolutionPair]]:
    """:func:`solution_pair` for several networks, and their barriers as a table.

    Parameters
    ----------
    nets : sequence of (name, sizes, activation, X, Y)
        One pair of solutions each (all with the same ``seed``).
    seed, train_steps, tol, depth
        As in :func:`solution_pair`.
    jobs : int or None
        Worker processes for the networks (:func:`landscape.infra.executor.map_units`); the numbers do not depend on it.
    progress : bool, default False
        Show a progress bar over the networks.

    Returns
    -------
    (pandas.DataFrame, list of SolutionPair)
        One row per net: net (the name), width (``sizes[1]``), lambda (the level), straight_barrier,
        found_barrier, found_max (lambda + found_barrier); and the pairs, in order.
    """
    from landscape.infra.executor import map_units

    units = [(sizes, act, X, Y) for _, sizes, act, X, Y in nets]
    kw = {"seed": seed, "train_steps": train_steps, "tol": tol, "depth": depth}
    pairs = map_units(_pair_unit, [(u, kw) for u in units], star=True, jobs=jobs, progress=progress,
                      desc="solution pairs")
    table = pd.DataFrame([{"net": name, "width": sizes[1], "lambda": p.level, "straight_barrier": barrier(p.straight),
                           "found_barrier": barrier(p.found)}
                          for (name, sizes, *_), p in zip(nets, pairs, strict=True)])
    table["found_max"] = table["lambda"] + table["found_barrier"]
    return table, pairs


def _pair_unit(args, kw) -> SolutionPair:
    return solution_pair(*args, **kw)


def _ends(sizes, activation: str, X, Y, seed: int, train_steps: int):
    """The loss closure of :func:`solution_pair` and its two trained endpoints."""
    f = mse_loss(models.mlp(sizes, activation=activation, seed=seed, dtype=torch.float64), X, Y)
    ends = [train(f, models.flatten(models.mlp(sizes, activation=activation, seed=seed + 1 + k, dtype=torch.float64)),
                  steps=train_steps, lr=0.02) for k in range(2)]
    return f, ends


def _scan_unit(sizes, activation, X, Y, seed, train_steps, tols, depth) -> SolutionPair:
    f, ends = _ends(sizes, activation, X, Y, seed, train_steps)
    by_tol = {t: bisection_path(f, *ends, tol=t, depth=depth, steps=300, seed=seed) for t in tols}
    return SolutionPair(straight_path(f, *ends), by_tol[min(tols)], max(float(f(e).detach()) for e in ends),
                        tuple(ends), by_tol)


def tolerance_scan(nets, tols, *, seed: int = 0, train_steps: int = 1500, depth: int = 5, jobs=None,
                   progress: bool = False) -> tuple[pd.DataFrame, list[SolutionPair]]:
    r"""Barriers of :func:`solution_pair`'s bisection path against the search tolerance.

    :func:`bisection_path` stops once a path lies within ``tol`` of the larger endpoint loss, so a found barrier
    of about ``tol`` is built in: a barrier is resolved only where it stays well above the tolerance as the
    tolerance falls, and a path joins two solutions in one component only if its barrier falls with the
    tolerance. Each net's two solutions are trained once (as :func:`solution_pair`) and searched at every
    tolerance.

    Parameters
    ----------
    nets : sequence of (name, sizes, activation, X, Y)
        As :func:`solution_pairs`.
    tols : sequence of float
        Search tolerances (> 0), e.g. ``[1e-3, 1e-4, 1e-5]``.
    seed, train_steps, depth
        As :func:`solution_pair`.
    jobs : int or None
        Worker processes for the nets (:func:`landscape.infra.executor.map_units`); the numbers do not depend on it.
    progress : bool, default False
        Show a progress bar over the nets.

    Returns
    -------
    (pandas.DataFrame, list of SolutionPair)
        One row per (net, tol): net, width, lambda (larger endpoint loss), lambda_low (smaller), tol,
        straight_barrier, found_barrier, found_max, resolved (found_barrier > 10 tol); and the pairs (``found``
        is the smallest tolerance's path, ``by_tol`` holds all, ``ends`` the endpoints).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.linspace(-1, 1, 6)[:, None]; Y = 2 * X
    >>> t, _ = tolerance_scan([("lin", [1, 2, 1], "identity", X, Y)], [1e-2, 1e-3], train_steps=200, depth=2)
    >>> list(t.tol)
    [0.01, 0.001]
    """
    from landscape.infra.executor import map_units

    tols = [float(t) for t in tols]
    if not tols:
        raise ValueError("tols must hold at least one tolerance")
    for t in tols:
        _check_pos(t, "tols")
    _check_int(depth, "depth", 0)
    _check_int(train_steps, "train_steps", 0)
    units = [(sizes, act, X, Y, seed, train_steps, tols, depth) for _, sizes, act, X, Y in nets]
    pairs = map_units(_scan_unit, units, star=True, jobs=jobs, progress=progress, desc="tolerance scan")
    rows = []
    for (name, sizes, *_), p in zip(nets, pairs, strict=True):
        low = min(float(p.straight.loss.iloc[0]), float(p.straight.loss.iloc[-1]))
        for t in tols:
            b = barrier(p.by_tol[t])
            rows.append({"net": name, "width": sizes[1], "lambda": p.level, "lambda_low": low, "tol": t,
                         "straight_barrier": barrier(p.straight), "found_barrier": b, "found_max": p.level + b,
                         "resolved": bool(b > 10 * t)})
    return pd.DataFrame(rows), pairs


def _common_unit(sizes, activation, X, Y, seed, ends, level, tol, depth) -> float:
    f = mse_loss(models.mlp(sizes, activation=activation, seed=seed, dtype=torch.float64), X, Y)
    path = bisection_path(f, *ends, level=level + tol, tol=tol, depth=depth, steps=300, seed=seed)
    return float(path.loss.max())


def common_level_barriers(nets, pairs, level: float, *, tol: float, depth: int = 5, seed: int = 0,
                          jobs=None) -> pd.DataFrame:
    r"""Barriers of every pair at one common level :math:`\lambda`.

    Is there a path in :math:`\Omega(\lambda) = \{\theta: L(\theta)\le\lambda\}` between the two solutions?

    Each pair's own level is its larger endpoint loss (:func:`tolerance_scan`), which differs between nets (a
    narrow net stops at a poorer fit), so its barrier says nothing about another net's. Here every pair is
    searched (:func:`bisection_path` with ``level = level + tol``) for a path below one level.

    Parameters
    ----------
    nets : sequence of (name, sizes, activation, X, Y)
        As :func:`tolerance_scan`.
    pairs : sequence of SolutionPair
        :func:`tolerance_scan`'s pairs for ``nets`` (their ``ends``).
    level : float
        The common level :math:`\lambda`.
    tol : float
        Search tolerance (> 0).
    depth, seed
        As :func:`bisection_path`; ``seed`` also fixes each net's structure as in :func:`solution_pair`.
    jobs : int or None
        Worker processes for the nets.

    Returns
    -------
    pandas.DataFrame
        One row per net: net, width, level, tol, ends_below (both endpoint losses :math:`\le\lambda`),
        path_max, common_barrier (``path_max - level``; :math:`\le` tol: joined in :math:`\Omega(\lambda)`
        to the search's tolerance).
    """
    from landscape.infra.executor import map_units

    check_finite(check_scalar(level, "level", float), "level")
    _check_pos(tol, "tol")
    if len(pairs) != len(nets) or any(len(p.ends) != 2 for p in pairs):
        raise ValueError("pairs must be tolerance_scan's pairs for nets (one with two ends per net)")
    # a pair whose own level is the common one was searched for exactly this path by tolerance_scan: reuse it
    reuse = [p.level == float(level) and float(tol) in p.by_tol for p in pairs]
    units = [(sizes, act, X, Y, seed, p.ends, float(level), float(tol), depth)
             for (_, sizes, act, X, Y), p, r in zip(nets, pairs, reuse, strict=True) if not r]
    computed = iter(map_units(_common_unit, units, star=True, jobs=jobs, desc="common level"))
    tops = [float(p.by_tol[float(tol)].loss.max()) if r else next(computed) for p, r in zip(pairs, reuse, strict=True)]
    return pd.DataFrame([{"net": name, "width": sizes[1], "level": float(level), "tol": float(tol),
                          "ends_below": bool(p.level <= level), "path_max": top, "common_barrier": top - level}
                         for (name, sizes, *_), p, top in zip(nets, pairs, tops, strict=True)])
