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

import math
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
class Polished:
    r"""The outcome of :func:`polish_endpoint`.

    Parameters
    ----------
    theta : torch.Tensor
        The polished flat float64 vector.
    loss : float
        The loss there.
    grad_norm : float
        :math:`\|\nabla L\|` there (the premise "the endpoint is a converged solution" as a number).
    iterations : int
        Newton iterations taken.
    converged : bool
        ``grad_norm <= grad_tol``.
    """

    theta: torch.Tensor
    loss: float
    grad_norm: float
    iterations: int
    converged: bool


def _newton(loss: Loss, x: torch.Tensor, grad_tol: float, max_iter: int):
    """Damped Newton (Levenberg–Marquardt on the exact Hessian) from ``x``: (x, loss, |grad|, iterations)."""
    grad = torch.func.grad_and_value(loss)
    hess = torch.func.hessian(loss)
    g, val = grad(x)
    val, gn = float(val), float(torch.linalg.vector_norm(g))
    mu, it = 0.0, 0
    while gn > grad_tol and it < max_iter:
        it += 1
        w, V = torch.linalg.eigh(hess(x))
        scale = max(float(w.abs().max()), 1e-300)
        if float(w.min()) < 0:  # indefinite: shift above the most negative curvature (a descent direction)
            mu = max(mu, -float(w.min()) + 1e-10 * scale)
        accepted = False
        for _ in range(60):  # raise the damping until the loss falls
            eff = w + mu
            keep = eff.abs() > 1e-12 * scale
            coef = torch.where(keep, (V.T @ g) / torch.where(keep, eff, torch.ones_like(eff)), torch.zeros_like(eff))
            xn = x - V @ coef
            g_new, vn = grad(xn)
            vn, gnn = float(vn), float(torch.linalg.vector_norm(g_new))
            if math.isfinite(vn) and (vn < val or (vn <= val + 1e-14 * max(abs(val), 1e-300) and gnn < gn)):
                x, g, val, gn, accepted = xn, g_new, vn, gnn, True
                mu = 0.0 if mu <= 1e-12 * scale else mu / 4
                break
            mu = max(4 * mu, 1e-8 * scale)
        if not accepted:  # no damping lowers the loss: the rounding floor, or a kink of the loss
            break
    return x.detach(), val, gn, it


def polish_endpoint(loss: Loss, theta, *, grad_tol: float = 1e-10, max_iter: int = 100, fixed=None) -> Polished:
    r"""Drive a trained endpoint to a stationary point of ``loss`` by damped Newton steps (float64, dense Hessian).

    The level-set results of source 001 ("Topology of the loss landscape") compare solutions of
    :math:`\min_\theta L(\theta)`; a barrier between two points that are still descending says little. Adam
    leaves the endpoints at :math:`\|\nabla L\| \sim 10^{-2}`; on the small nets of these experiments the exact
    Hessian is cheap, and the Levenberg–Marquardt form of Newton's method,
    :math:`\theta \leftarrow \theta - (H + \mu I)^{+}\nabla L` with :math:`\mu \ge 0` raised until the loss
    falls (and above :math:`-\lambda_{\min}(H)` where :math:`H` is indefinite) and lowered after every accepted
    step, converges quadratically where the loss is smooth. Directions with
    :math:`|\lambda + \mu| \le 10^{-12}\max|\lambda|` (a flat valley of the solution manifold) are left alone.
    A step that leaves the loss equal to rounding and lowers the gradient is accepted too, so a minimum is polished
    to the gradient's rounding floor.

    A ReLU net's minimum often lies on a kink (a unit's breakpoint on a data point: a pre-activation
    :math:`s = c^\top\theta = 0`), where the gradient jumps and Newton's steps jump across it. ``fixed`` holds
    such linear functions at zero: the start is moved to the nearest point with :math:`C\theta = 0` and the steps
    stay in the null space of :math:`C`, where the loss is smooth (:func:`relu_kinks` finds :math:`C` and judges
    the result).

    Parameters
    ----------
    loss : callable
        Maps a flat float64 parameter vector to a scalar tensor, twice differentiable by ``torch.func``.
    theta : array_like
        The start (1-D).
    grad_tol : float, default 1e-10
        Stop when :math:`\|\nabla L\| \le` ``grad_tol`` (> 0); with ``fixed``, the gradient within the set.
    max_iter : int, default 100
        Newton iterations at most (>= 0; 0 only evaluates).
    fixed : array_like, optional
        ``(k, p)`` rows :math:`C` of linear functions held at zero (default: none).

    Returns
    -------
    Polished
        The point, its loss and gradient norm (within the set for ``fixed``), the iterations and whether
        ``grad_tol`` was met. A point that cannot be polished comes back with ``converged = False`` and its
        gradient norm: the caller reports it rather than hiding it.

    Examples
    --------
    >>> import torch
    >>> A = torch.tensor([[3.0, 1.0], [1.0, 2.0]], dtype=torch.float64)
    >>> b = torch.tensor([1.0, -1.0], dtype=torch.float64)
    >>> p = polish_endpoint(lambda v: 0.5 * v @ A @ v - b @ v, [5.0, 5.0])
    >>> p.converged, p.iterations, torch.allclose(p.theta, torch.linalg.solve(A, b), atol=1e-12, rtol=0)
    (True, 1, True)
    """
    x = _vec(theta, "theta")
    check_finite(check_scalar(grad_tol, "grad_tol", float, min_val=0, include_boundaries="right"), "grad_tol")
    _check_int(max_iter, "max_iter", 0)
    if fixed is None:
        x, val, gn, it = _newton(loss, x, float(grad_tol), max_iter)
        return Polished(x, val, gn, it, gn <= grad_tol)
    C = torch.as_tensor(fixed, dtype=torch.float64)
    if C.ndim != 2 or C.shape[1] != x.numel():
        raise ValueError(f"fixed must be a (k, {x.numel()}) matrix, got shape {tuple(C.shape)}")
    check_finite(C.numpy(), "fixed")
    U, sv, Vh = torch.linalg.svd(C, full_matrices=True)
    rank = int((sv > 1e-12 * max(float(sv.max()), 1e-300)).sum()) if sv.numel() else 0
    x = x - Vh[:rank].T @ (Vh[:rank] @ x)  # the nearest point of the subspace C theta = 0
    N = Vh[rank:].T  # orthonormal basis of the null space of C

    def restricted(z: torch.Tensor) -> torch.Tensor:
        return loss(x + N @ z)

    z, val, gn, it = _newton(restricted, torch.zeros(N.shape[1], dtype=torch.float64), float(grad_tol), max_iter)
    return Polished((x + N @ z).detach(), val, gn, it, gn <= grad_tol)


@dataclass(frozen=True)
class Kinks:
    r"""The kinks of a two-layer ReLU net's loss at a point, and its Clarke stationarity (:func:`relu_kinks`).

    Parameters
    ----------
    pairs : list of (int, int)
        (hidden unit, data point) with :math:`|s| \le` ``kink_tol``.
    rows : torch.Tensor
        ``(k, p)``: the gradients :math:`c` of those pre-activations :math:`s = c^\top\theta` (``fixed`` of
        :func:`polish_endpoint`).
    grad_norm : float
        :math:`\|\nabla L\|` as autograd gives it (ReLU'(0) = 0 and the side each rounded :math:`s` falls on).
    clarke_norm : float
        The least norm of the Clarke generalised gradient: :math:`\min_{t\in[0,1]^k}\|g_0 + V t\|` (zero at a
        stationary point; equals ``grad_norm`` without kinks).
    rank : int
        Rank of ``rows``; ``rank < k`` flags dependent kinks, where the zonotope over-states the Clarke set.
    t : numpy.ndarray
        ``(k,)``: the weights :math:`t` of the least-norm element; ``side`` the unbounded least-squares weights
        (outside [0, 1]: the loss falls off that kink, so a polish should not hold it).
    side : numpy.ndarray
        See ``t``.
    jump : numpy.ndarray
        ``(k,)``: :math:`\partial L/\partial h` of each kink, the jump of the loss's slope across it per unit of
        :math:`s`. A kink with a negative jump is *concave* (a ridge): the loss falls off it on both sides, so a
        point on it is no minimum even where the Clarke measure is zero. With independent kinks, every jump
        :math:`\ge 0` and ``clarke_norm`` zero is exactly first-order minimality (every one-sided directional
        derivative :math:`\ge 0`); then ``clarke_norm`` is the steepest descent rate.
    zero_units : list of int
        Hidden units whose pre-activations are all within ``kink_tol`` of zero (input weights zero): their kinks are
        dependent, and their first-order condition is checked exactly instead (``zero_descent``).
    zero_descent : numpy.ndarray
        Per zero unit, :math:`\min_{|u|=1}\sum_\mu (\partial L/\partial h_\mu)\,\mathrm{relu}(u\cdot x_\mu)`: the
        first-order change of the loss when the unit's input weights grow along the best :math:`u` (negative: the
        loss falls; exact for two input coordinates, a search of seeded directions otherwise).
    zero_dirs : list of numpy.ndarray
        The minimising :math:`u` of each zero unit (its input-weight coordinates).
    stationarity : float
        The measure a polish stops on: the least norm of the Clarke generalised gradient over the other kinks and
        coordinates, combined (root sum of squares) with :math:`\max(0, -\text{zero\_descent})` of each zero unit.
        Without zero units it equals ``clarke_norm``.
    independent : bool
        The rows of the kinks other than the zero units' are linearly independent (the zonotope is then the Clarke
        set and ``stationarity`` a certificate of first-order minimality when no kink is concave).
    """

    pairs: list
    rows: torch.Tensor
    grad_norm: float
    clarke_norm: float
    rank: int
    t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    side: np.ndarray = field(default_factory=lambda: np.zeros(0))
    jump: np.ndarray = field(default_factory=lambda: np.zeros(0))
    zero_units: list = field(default_factory=list)
    zero_descent: np.ndarray = field(default_factory=lambda: np.zeros(0))
    zero_dirs: list = field(default_factory=list)
    stationarity: float = math.nan
    independent: bool = True

    @property
    def concave(self) -> int:
        """Kinks whose gradient jumps by more than 1e-10 the wrong way (``jump * |c| < -1e-10``): ridges, not minima.

        The kinks of units with all input weights zero are left out (``zero_descent`` judges those).
        """
        if not self.pairs:
            return 0
        norms = self.rows.norm(dim=1).numpy()
        own = np.array([j not in self.zero_units for j, _ in self.pairs])
        return int(((self.jump * norms < -1e-10) & own).sum())


def _two_layer_relu(model: nn.Module) -> list:
    mods = list(model)
    if (len(mods) != 3 or not isinstance(mods[0], nn.Linear) or not isinstance(mods[1], nn.ReLU)
            or not isinstance(mods[2], nn.Linear)):
        raise ValueError("model must be a two-layer ReLU net [Linear, ReLU, Linear]")
    return mods


def _pre_activation_rows(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    r"""``(N, m, p)``: the rows of the pre-activations, :math:`s_{\mu j} = A_{\mu j}\cdot\theta` (linear in it)."""
    names = [n for n, _ in model.named_parameters()]
    sizes = [p.numel() for _, p in model.named_parameters()]
    offsets = dict(zip(names, np.cumsum([0] + sizes)[:-1].tolist(), strict=True))
    N, n = X.shape
    m = model[0].out_features
    A = torch.zeros((N, m, sum(sizes)), dtype=torch.float64)
    for j in range(m):
        A[:, j, offsets["0.weight"] + j * n:offsets["0.weight"] + (j + 1) * n] = X
        if "0.bias" in offsets:
            A[:, j, offsets["0.bias"] + j] = 1.0
    return A


def _cone_min(Xu: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
    r"""Least :math:`\phi(u) = \sum_\mu w_\mu\,\mathrm{relu}(u\cdot x_\mu)` over unit vectors :math:`u`, and its argmin.

    :math:`\phi` is linear on each cone where the signs of :math:`u\cdot x_\mu` are fixed, so on the circle (two
    dimensions) its least value is at a cone's edge or at :math:`-a/|a|` of the cone's linear part :math:`a`: exact.
    In more dimensions the same candidates are taken from seeded random directions (a heuristic lower search).
    """
    d = Xu.shape[1]
    if d == 1:
        cands = [np.array([1.0]), np.array([-1.0])]
    else:
        rng = np.random.default_rng(0)
        if d == 2:
            edges = [np.array([-x[1], x[0]]) / np.linalg.norm(x) for x in Xu if np.linalg.norm(x) > 0]
            edges += [-e for e in edges]
            ang = np.sort(np.unique(np.round([np.arctan2(e[1], e[0]) for e in edges], 15)))
            mids = (ang + np.diff(np.append(ang, ang[0] + 2 * np.pi)) / 2) if len(ang) else np.zeros(1)
            probes = edges + [np.array([np.cos(a), np.sin(a)]) for a in mids]
        else:
            probes = list(rng.standard_normal((512, d)))
            probes = ([u / np.linalg.norm(u) for u in probes]
                      + [x / np.linalg.norm(x) for x in Xu if np.linalg.norm(x) > 0])
        cands = list(probes)
        for u in probes:
            a = (w * (Xu @ u > 0)) @ Xu
            if np.linalg.norm(a) > 0:
                cands.append(-a / np.linalg.norm(a))
    vals = [float(w @ np.maximum(Xu @ u, 0.0)) for u in cands]
    i = int(np.argmin(vals))
    return vals[i], cands[i]


def relu_kinks(model: nn.Module, X, Y, theta, *, kink_tol: float = 1e-8) -> Kinks:
    r"""The kinks of :func:`mse_loss` of a two-layer ReLU net at ``theta`` and how far it is from stationary.

    For :math:`H(x) = W_2\,\mathrm{relu}(W_1x + b_1) + b_2` (biases optional, :func:`landscape.nets.models.mlp`)
    the loss is smooth except where a pre-activation :math:`s_{j\mu} = W_{1,j}x_\mu + b_{1,j}` is zero. There the
    gradient jumps by :math:`v_{j\mu} = (\partial L/\partial h_{j\mu})\,\nabla_\theta s_{j\mu}` (the hidden
    output :math:`h = \mathrm{relu}(s)` is zero on both sides, so the residuals do not jump), and the gradient of
    every piece that meets the point is :math:`g(\sigma) = g_0 + \sum_i \sigma_i v_i`, :math:`\sigma\in\{0,1\}^k`,
    affine in :math:`\sigma`. The Clarke generalised gradient is their convex hull, the zonotope
    :math:`\{g_0 + Vt: t\in[0,1]^k\}`, and the point is (Clarke) stationary, the premise of a converged solution
    of a ReLU net, when it holds zero: ``clarke_norm`` is its least norm (a box-constrained least-squares problem).

    Parameters
    ----------
    model : torch.nn.Module
        ``[Linear, ReLU, Linear]`` in float64 (:func:`landscape.nets.models.mlp` with three sizes); gives the
        structure.
    X, Y : arrays
        The data of :func:`mse_loss`.
    theta : array_like
        The flat parameter vector.
    kink_tol : float, default 1e-8
        A pre-activation with :math:`|s| \le` ``kink_tol`` is a kink (> 0).

    Returns
    -------
    Kinks
    """
    import scipy.optimize

    mods = _two_layer_relu(model)
    _check_pos(kink_tol, "kink_tol")
    th = _vec(theta, "theta")
    X = torch.as_tensor(X, dtype=torch.float64)
    Yt = torch.as_tensor(Y, dtype=torch.float64)
    Yt = Yt[:, None] if Yt.ndim == 1 else Yt
    f = mse_loss(model, X, Yt)
    g0 = torch.func.grad(f)(th)
    params = models.unflatten(model, th)
    W1, b1 = params["0.weight"], params.get("0.bias")
    s = X @ W1.T + (0 if b1 is None else b1)  # (N, m) pre-activations
    h = torch.relu(s).requires_grad_(True)
    out = torch.func.functional_call(mods[2], {k[2:]: v for k, v in params.items() if k.startswith("2.")}, (h,))
    (dh,) = torch.autograd.grad(0.5 * ((out - Yt) ** 2).mean(), h)  # dL/dh, (N, m)
    A = _pre_activation_rows(model, X)
    pairs, rows, jumps, slope = [], [], [], []
    for mu, j in zip(*np.nonzero(s.detach().abs().numpy() <= kink_tol), strict=True):
        c = A[mu, j]
        pairs.append((int(j), int(mu)))
        rows.append(c)
        side = 1.0 if float(s[mu, j]) > 0 else 0.0  # the piece autograd took
        jumps.append((float(dh[mu, j]) * c, side))
        slope.append(float(dh[mu, j]))
    gn = float(torch.linalg.vector_norm(g0))
    if not pairs:
        return Kinks([], torch.zeros((0, th.numel()), dtype=torch.float64), gn, gn, 0, stationarity=gn)
    V = torch.stack([v for v, _ in jumps], dim=1)  # (p, k)
    base = g0 - V @ torch.tensor([sd for _, sd in jumps], dtype=torch.float64)  # g(sigma = 0)
    fit = scipy.optimize.lsq_linear(V.numpy(), -base.numpy(), bounds=(0.0, 1.0), method="bvls", tol=1e-15)
    clarke = float(np.linalg.norm(base.numpy() + V.numpy() @ fit.x))
    free = np.linalg.lstsq(V.numpy(), -base.numpy(), rcond=None)[0]
    C = torch.stack(rows)
    # a unit whose pre-activations are all zero (its input weights zero) meets every data point at once: its kinks are
    # dependent and the zonotope over-states its Clarke set. Its first-order condition is exact instead: growing its
    # input weights along u changes the loss by phi(u) = sum_mu dL/dh_mu relu(u . x_mu) >= 0 for every u.
    N = X.shape[0]
    zero = [j for j in sorted({j for j, _ in pairs}) if sum(jj == j for jj, _ in pairs) == N]
    coords = np.zeros(th.numel(), dtype=bool)
    zero_descent, zero_dirs = [], []
    for j in zero:
        q = (A[:, j].abs().sum(0) > 0).numpy()
        coords |= q
        val, u = _cone_min(A[:, j][:, q].numpy(), dh[:, j].detach().numpy())
        zero_descent.append(val)
        zero_dirs.append(u)
    keep = [i for i, (j, _) in enumerate(pairs) if j not in zero]
    rest = ~coords
    if keep:
        Vr, br = V.numpy()[rest][:, keep], base.numpy()[rest]
        fr = scipy.optimize.lsq_linear(Vr, -br, bounds=(0.0, 1.0), method="bvls", tol=1e-15)
        part = float(np.linalg.norm(br + Vr @ fr.x))
        independent = int(torch.linalg.matrix_rank(C[keep])) == len(keep)
    else:
        part, independent = float(np.linalg.norm(base.numpy()[rest])), True
    station = math.sqrt(part ** 2 + sum(max(0.0, -v) ** 2 for v in zero_descent))
    return Kinks(pairs, C, gn, clarke, int(torch.linalg.matrix_rank(C)), np.asarray(fit.x), free, np.asarray(slope),
                 zero, np.asarray(zero_descent), zero_dirs, station, independent)


@dataclass(frozen=True)
class PolishedRelu:
    r"""The outcome of :func:`polish_relu`: :class:`Polished`'s fields, the Clarke measure and the kinks held.

    Parameters
    ----------
    theta : torch.Tensor
        The polished flat vector.
    loss : float
        The loss there.
    grad_norm : float
        :math:`\|\nabla L\|` as autograd gives it (one side of each kink).
    clarke_norm : float
        The stationarity measure (:class:`Kinks`' ``stationarity``): the least norm of the Clarke generalised
        gradient, with the exact first-order condition for units whose input weights are all zero.
    kinks : int
        Pre-activations within ``kink_tol`` of zero at the end.
    kink_rank : int
        Rank of their rows; below ``kinks`` (a unit with all its weights zero meets every data point at once) the
        zonotope of :func:`relu_kinks` is larger than the Clarke set, and ``clarke_norm`` only a lower bound.
    concave : int
        Concave kinks (ridges, :class:`Kinks`) at the end: a point on one is no minimum.
    zero_units : int
        Hidden units with all input weights zero at the end (:class:`Kinks`; judged by their exact first-order
        condition, not the zonotope).
    independent : bool
        The other kinks are independent (:class:`Kinks`): the measure is then a certificate.
    iterations : int
        Newton iterations over all rounds.
    converged : bool
        ``clarke_norm <= grad_tol``, no concave kink and independent kinks: a certified first-order minimum.
    """

    theta: torch.Tensor
    loss: float
    grad_norm: float
    clarke_norm: float
    kinks: int
    kink_rank: int
    concave: int
    zero_units: int
    independent: bool
    iterations: int
    converged: bool


def polish_relu(model: nn.Module, X, Y, theta, *, grad_tol: float = 1e-10, max_iter: int = 200,
                kink_tol: float = 1e-9) -> PolishedRelu:
    r"""Polish an endpoint of a two-layer ReLU net's :func:`mse_loss` to a (Clarke) stationary point.

    The pre-activations :math:`s_{\mu j} = A_{\mu j}\cdot\theta` are linear in the parameters, so the loss is smooth
    on each face :math:`\{s_i = 0,\ i\in K;\ \mathrm{sign}\, s_i \text{ fixed otherwise}\}` and an active-set
    Newton method applies: a damped Newton step within the null space of the held rows :math:`A_K` (as
    :func:`polish_endpoint` with ``fixed``), with a line search over the kinks it meets on the way (the loss along
    the step is smooth between them; the lowest of the whole step and the steps to each kink is kept, and a kink
    stepped onto joins :math:`K`); once the face is stationary (the reduced gradient at ``grad_tol``, or no damping
    lowers the loss: its rounding floor), the held kink whose weight in the least-squares decomposition of the
    gradient lies furthest outside [0, 1] (or a concave kink, a ridge, first) is released, to the side where the
    loss falls. It stops when the least norm of the Clarke generalised gradient (:func:`relu_kinks`) is at most
    ``grad_tol`` with every kink convex (a first-order minimum), when no kink can be released, or after
    ``max_iter`` iterations.

    Parameters
    ----------
    model : torch.nn.Module
        ``[Linear, ReLU, Linear]`` float64 (biases optional).
    X, Y : arrays
        Data and targets.
    theta : array_like
        The start.
    grad_tol : float, default 1e-10
        Target of the Clarke measure (> 0).
    max_iter : int, default 200
        Newton iterations at most (>= 0).
    kink_tol : float, default 1e-9
        A pre-activation within this of zero is a kink (> 0).

    Returns
    -------
    PolishedRelu
        ``converged`` is ``clarke_norm <= grad_tol`` with every kink convex (with ``kink_rank < kinks`` the
        measure is a lower bound: check both); a point that is not is reported as it is.
    """
    _two_layer_relu(model)
    check_finite(check_scalar(grad_tol, "grad_tol", float, min_val=0, include_boundaries="right"), "grad_tol")
    _check_int(max_iter, "max_iter", 0)
    _check_pos(kink_tol, "kink_tol")
    x = _vec(theta, "theta")
    Xt = torch.as_tensor(X, dtype=torch.float64)
    f = mse_loss(model, Xt, Y)
    grad = torch.func.grad_and_value(f)
    hess = torch.func.hessian(f)
    A = _pre_activation_rows(model, Xt).reshape(-1, x.numel())  # row mu * m + j
    m_hidden = model[0].out_features
    held = np.zeros(A.shape[0], dtype=bool)
    lam, it, stalled = 0.0, 0, False
    while True:
        held |= (A @ x).abs().numpy() <= kink_tol
        if held.any():  # the face: steps in the null space of the held rows keep their |s| <= kink_tol
            _, sv, Vh = torch.linalg.svd(A[held], full_matrices=True)
            N = Vh[int((sv > 1e-10 * float(sv.max())).sum()):].T
        else:
            N = torch.eye(x.numel(), dtype=torch.float64)
        g, val = grad(x)
        val, gr = float(val), N.T @ g
        # stationary on the face: |gr| at the target (the Clarke measure is at least |gr|), or at its rounding floor
        face = stalled or float(torch.linalg.vector_norm(gr)) <= grad_tol
        stalled = False
        if face or it >= max_iter:
            k = relu_kinks(model, Xt, Y, x, kink_tol=kink_tol)
            if (k.stationarity <= grad_tol and not k.concave) or it >= max_iter:
                break
        if face and k.zero_units and float(np.min(k.zero_descent)) < -grad_tol:
            # a unit with zero input weights that lowers the loss when it grows: grow it along its best direction
            i = int(np.argmin(k.zero_descent))
            j = k.zero_units[i]
            q = (A.reshape(Xt.shape[0], m_hidden, -1)[:, j].abs().sum(0) > 0)
            grown = False
            for eps in (1e-3, 1e-5, 1e-7):
                xn = x.clone()
                xn[q] = eps * torch.as_tensor(k.zero_dirs[i], dtype=torch.float64)
                if float(f(xn)) < val:
                    x, grown = xn, True
                    held[[mu * m_hidden + j for mu in range(Xt.shape[0])]] = False
                    break
            it += 1
            if grown:
                continue
        if face:  # stationary on the face, not in the Clarke sense: release a kink
            flat = [p_ * m_hidden + j for j, p_ in k.pairs]
            viol = np.maximum(k.side - 1, -k.side) if k.pairs else np.zeros(0)
            ridge = k.jump * k.rows.norm(dim=1).numpy() < -1e-10 if k.pairs else np.zeros(0, bool)
            viol = np.where(ridge, np.inf, viol)  # concave kinks first: the loss falls off both sides
            viol = np.where([j in k.zero_units for j, _ in k.pairs], -np.inf, viol)  # zero units: grown above
            released = False
            for i in np.argsort(-viol, kind="stable"):
                if viol[i] <= 0:  # every kink convex with its weight in [0, 1]: no side lowers the loss
                    break
                others = held.copy()
                others[flat[i]] = False
                c = A[flat[i]]
                if others.any():  # move along c within the other held kinks' face
                    _, sv, Vh = torch.linalg.svd(A[others], full_matrices=True)
                    r = int((sv > 1e-10 * float(sv.max())).sum())
                    c = c - Vh[:r].T @ (Vh[:r] @ c)
                cn = float(torch.linalg.vector_norm(c))
                if cn <= 1e-8 * float(torch.linalg.vector_norm(A[flat[i]])):
                    continue  # not independent of the others: cannot leave it alone
                step = 1e2 * kink_tol * c / cn ** 2  # s_i = +-100 kink_tol: off the kink, to one side
                lo, hi = float(f(x - step)), float(f(x + step))
                if min(lo, hi) <= val + 1e-14 * max(abs(val), 1e-300):
                    x, held, released = (x + step if hi <= lo else x - step), others, True
                    break
            it += 1
            if not released:
                break
            continue
        Hr = N.T @ hess(x) @ N
        w, V = torch.linalg.eigh(Hr)
        scale = max(float(w.abs().max()), 1e-300)
        if float(w.min()) < 0:
            lam = max(lam, -float(w.min()) + 1e-10 * scale)
        s_now = A @ x
        accepted = False
        for _ in range(60):
            eff = w + lam
            keep = eff.abs() > 1e-12 * scale
            coef = torch.where(keep, (V.T @ gr) / torch.where(keep, eff, torch.ones_like(eff)), torch.zeros_like(eff))
            d = -(N @ (V @ coef))
            ds = A @ d
            cross = (~torch.as_tensor(held)) & (s_now * ds < 0) & (ds.abs() > s_now.abs())
            # the loss along the step is smooth between the kinks it meets: try the whole step and each kink on the
            # way (a breakpoint line search), and keep the lowest
            alphas = sorted({*(-s_now[cross] / ds[cross]).tolist(), 1.0})
            vals = [float(f(x + a * d)) for a in alphas]
            best = int(np.nanargmin(vals)) if np.isfinite(vals).any() else 0
            a_try, vn = alphas[best], vals[best]
            if math.isfinite(vn) and (vn < val or (a_try < 1.0 and vn <= val + 1e-14 * max(abs(val), 1e-300))):
                x, accepted = (x + a_try * d).detach(), True
                lam = 0.0 if lam <= 1e-12 * scale else lam / 4
                break
            lam = max(4 * lam, 1e-8 * scale)
        it += 1
        if not accepted:  # no damping lowers the loss on this face: its rounding floor; judge it as stationary
            stalled, lam = True, 0.0
    return PolishedRelu(x.detach(), float(f(x).detach()), k.grad_norm, k.stationarity, len(k.pairs), k.rank,
                        k.concave, len(k.zero_units), k.independent, it,
                        k.stationarity <= grad_tol and not k.concave and k.independent)


@dataclass(frozen=True)
class SolutionPair:
    r"""Two solutions trained from independent seeds: the loss on the ``straight`` segment between them, the
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
    endpoints : tuple of dict
        Per endpoint (:func:`tolerance_scan`, :func:`solution_ends`): ``loss_trained``, ``grad_trained`` (after
        Adam), ``loss``, ``grad`` (autograd's :math:`\|\nabla L\|` at the endpoint used), ``stationarity`` (the
        least norm of the Clarke generalised gradient for a two-layer ReLU net, :func:`relu_kinks`; ``grad``
        otherwise), ``kinks``, ``kink_rank``, ``concave``, ``zero_units``, ``independent`` (:class:`PolishedRelu`),
        ``iterations`` (of the polish) and
        ``polished`` (whether it was polished).
    """

    straight: pd.DataFrame
    found: pd.DataFrame
    level: float
    ends: tuple = ()
    by_tol: dict = field(default_factory=dict)
    endpoints: tuple = ()


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


def _ends(sizes, activation: str, X, Y, seed: int, train_steps: int, polish: int = 0, bias: bool = True):
    """The loss closure of :func:`solution_pair` and its two trained (and, with ``polish``, polished) endpoints.

    Returns ``(f, ends, records)``: ``records`` as :class:`SolutionPair`'s ``endpoints``.
    """
    model = models.mlp(sizes, activation=activation, seed=seed, dtype=torch.float64, bias=bias)
    f = mse_loss(model, X, Y)
    ends = [train(f, models.flatten(models.mlp(sizes, activation=activation, seed=seed + 1 + k, dtype=torch.float64,
                                               bias=bias)), steps=train_steps, lr=0.02) for k in range(2)]
    relu = activation == "relu" and len(sizes) == 3
    grad = torch.func.grad(f)
    out, records = [], []
    for e in ends:
        rec = {"loss_trained": float(f(e).detach()), "grad_trained": float(torch.linalg.vector_norm(grad(e)))}
        if polish and relu:
            p = polish_relu(model, X, Y, e, max_iter=polish)
            e, rec2 = p.theta, {"stationarity": p.clarke_norm, "kinks": p.kinks, "kink_rank": p.kink_rank,
                                "concave": p.concave, "zero_units": p.zero_units, "independent": p.independent,
                                "iterations": p.iterations}
        elif polish:
            p = polish_endpoint(f, e, max_iter=polish)
            e, rec2 = p.theta, {"stationarity": p.grad_norm, "kinks": 0, "kink_rank": 0, "concave": 0,
                                "zero_units": 0, "independent": True, "iterations": p.iterations}
        else:
            k = relu_kinks(model, X, Y, e, kink_tol=1e-9) if relu else None
            rec2 = {"stationarity": k.stationarity if relu else rec["grad_trained"],
                    "kinks": len(k.pairs) if relu else 0, "kink_rank": k.rank if relu else 0,
                    "concave": k.concave if relu else 0, "zero_units": len(k.zero_units) if relu else 0,
                    "independent": k.independent if relu else True, "iterations": 0}
        rec.update({"loss": float(f(e).detach()), "grad": float(torch.linalg.vector_norm(grad(e))), **rec2,
                    "polished": bool(polish)})
        out.append(e)
        records.append(rec)
    return f, out, tuple(records)


def _scan_unit(sizes, activation, X, Y, seed, train_steps, tols, depth, polish=0, bias=True) -> SolutionPair:
    f, ends, records = _ends(sizes, activation, X, Y, seed, train_steps, polish, bias)
    by_tol = {t: bisection_path(f, *ends, tol=t, depth=depth, steps=300, seed=seed) for t in tols}
    return SolutionPair(straight_path(f, *ends), by_tol[min(tols)], max(float(f(e).detach()) for e in ends),
                        tuple(ends), by_tol, records)


def _ends_unit(sizes, activation, X, Y, seed, train_steps, polish, bias) -> SolutionPair:
    f, ends, records = _ends(sizes, activation, X, Y, seed, train_steps, polish, bias)
    straight = straight_path(f, *ends)
    return SolutionPair(straight, straight, max(float(f(e).detach()) for e in ends), tuple(ends), {}, records)


def solution_ends(nets, *, seed: int = 0, train_steps: int = 1500, polish: int = 0, bias: bool = True,
                  jobs=None) -> list[SolutionPair]:
    """The two solutions of every net (trained as :func:`tolerance_scan` trains them) and the straight segment
    between them, without a path search: for searches at levels of the caller's choosing
    (:func:`common_level_barriers`).

    Parameters
    ----------
    nets : sequence of (name, sizes, activation, X, Y)
        As :func:`tolerance_scan`.
    seed, train_steps, polish, bias
        As :func:`tolerance_scan`.
    jobs : int or None
        Worker processes for the nets.

    Returns
    -------
    list of SolutionPair
        ``found`` is the straight segment (no search), ``by_tol`` empty, ``ends`` and ``endpoints`` filled.
    """
    from landscape.infra.executor import map_units

    _check_int(train_steps, "train_steps", 0)
    _check_int(polish, "polish", 0)
    units = [(sizes, act, X, Y, seed, train_steps, polish, bool(bias)) for _, sizes, act, X, Y in nets]
    return map_units(_ends_unit, units, star=True, jobs=jobs, desc="solution ends")


def _hidden_features(sizes, X, theta, activation):
    """The last hidden layer's outputs on ``X`` (N x width), every hidden layer's pre-activations, and whether the
    net has biases (told apart by the length of ``theta``).
    """
    X = torch.as_tensor(np.asarray(X, dtype=np.float64))
    theta = torch.as_tensor(np.asarray(theta, dtype=np.float64))
    biased = models.n_params(models.mlp(sizes, bias=True)) == len(theta)
    if not biased and models.n_params(models.mlp(sizes, bias=False)) != len(theta):
        raise ValueError(f"theta has {len(theta)} entries, not the parameters of an mlp {list(sizes)}")
    net = models.assign(models.mlp(sizes, activation=activation, dtype=torch.float64, bias=biased), theta)
    pre, h = [], X
    with torch.no_grad():
        for layer in list(net)[:-1]:
            h = layer(h)
            if isinstance(layer, nn.Linear):
                pre.append(h)
    return h, pre, biased


def dead_units(sizes, X, theta, *, activation: str = "relu") -> int:
    """Hidden ReLU units that are inactive on every sample at ``theta`` (pre-activation <= 0 on all of ``X``).

    Such a unit contributes nothing to the outputs; once its output weight is zero its input weights can be moved
    without changing the loss. That can open routes between two solutions that a path search does not see (for
    instance when the unit can take over a feature of the other solution), so a barrier found between such endpoints
    is not by itself evidence of two components. A special case of :func:`redundant_units`. Other activations have
    no dead units (0).

    Parameters
    ----------
    sizes : sequence of int
        Layer sizes of :func:`landscape.nets.models.mlp`.
    X : array_like
        The samples, ``(N, sizes[0])``.
    theta : array_like
        A flat parameter vector of that net, with biases or without (told apart by its length).
    activation : str, default "relu"

    Returns
    -------
    int

    Examples
    --------
    >>> # 1-2-1, no biases: unit 0 has weight +1 (active on x > 0), unit 1 weight -1 (dead on x > 0)
    >>> dead_units([1, 2, 1], [[1.0], [2.0]], [1.0, -1.0, 1.0, 1.0])
    1
    """
    if activation != "relu":
        return 0
    _, pre, _ = _hidden_features(sizes, X, theta, activation)
    return sum(int((p.max(dim=0).values <= 0).sum()) for p in pre)


def redundant_units(sizes, X, theta, *, activation: str = "relu", rtol: float = 1e-8) -> int:
    """The rank deficit of the last hidden layer's features on the data: columns of ``[h(X), 1]`` (the ones only
    with an output bias) minus their numerical rank (singular values above ``rtol`` times the largest).

    A deficit means the output layer can reach the same outputs with fewer units, so at least one unit is free: a
    dead unit (a zero column) or units that duplicate each other on the data (ReLU units breaking at the same point
    on the same side give proportional columns). A free unit can be moved at constant loss, which can open routes
    between solutions that a path search does not see; :func:`dead_units` counts only the first kind.

    Parameters
    ----------
    sizes, X, theta, activation
        As :func:`dead_units` (any activation).
    rtol : float, default 1e-8
        Relative threshold of the numerical rank.

    Returns
    -------
    int

    Examples
    --------
    >>> # 1-2-1 with biases: two units breaking at x = 0 on the same side are proportional: deficit 1
    >>> redundant_units([1, 2, 1], [[-1.0], [1.0], [2.0]], [1.0, 2.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    1
    """
    check_scalar(rtol, "rtol", float, min_val=0, include_boundaries="neither")
    h, _, biased = _hidden_features(sizes, X, theta, activation)
    F = torch.cat([h, torch.ones(len(h), 1, dtype=h.dtype)], 1) if biased else h
    sv = torch.linalg.svdvals(F)
    rank = int((sv > rtol * sv.max()).sum()) if sv.max() > 0 else 0
    return F.shape[1] - rank


def endpoint_table(nets, pairs) -> pd.DataFrame:
    """One row per endpoint of ``pairs`` (:class:`SolutionPair`'s ``endpoints``): is each a converged solution.

    Parameters
    ----------
    nets : sequence of (name, sizes, activation, X, Y)
        The nets of ``pairs``.
    pairs : sequence of SolutionPair
        From :func:`tolerance_scan` or :func:`solution_ends`.

    Returns
    -------
    pandas.DataFrame
        net, width, end (0 or 1), the ``endpoints`` fields, dead_units and redundant_units (:func:`dead_units`,
        :func:`redundant_units`; -1 when the pair kept no endpoints).
    """
    if len(pairs) != len(nets) or any(len(p.endpoints) != 2 for p in pairs):
        raise ValueError("pairs must hold two endpoint records per net of nets")
    return pd.DataFrame([{"net": name, "width": sizes[1], "end": i, **rec,
                          "dead_units": dead_units(sizes, X, p.ends[i], activation=act) if len(p.ends) == 2 else -1,
                          "redundant_units": (redundant_units(sizes, X, p.ends[i], activation=act)
                                              if len(p.ends) == 2 else -1)}
                         for (name, sizes, act, X, *_), p in zip(nets, pairs, strict=True)
                         for i, rec in enumerate(p.endpoints)])


def tolerance_scan(nets, tols, *, seed: int = 0, train_steps: int = 1500, depth: int = 5, jobs=None,
                   progress: bool = False, polish: int = 0,
                   bias: bool = True) -> tuple[pd.DataFrame, list[SolutionPair]]:
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
    polish : int, default 0
        Newton iterations to polish each trained endpoint to a stationary point before the searches (0: off, the
        Adam endpoints as they are): :func:`polish_relu` for a two-layer ReLU net, :func:`polish_endpoint`
        otherwise (target 1e-10). ``pairs[i].endpoints`` (:func:`endpoint_table`) records how far each got.
    bias : bool, default True
        Nets with biases (:func:`landscape.nets.models.mlp`'s ``bias``).

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
    _check_int(polish, "polish", 0)
    units = [(sizes, act, X, Y, seed, train_steps, tols, depth, polish, bool(bias)) for _, sizes, act, X, Y in nets]
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


def _common_unit(sizes, activation, X, Y, seed, ends, level, tol, depth, bias=True) -> float:
    f = mse_loss(models.mlp(sizes, activation=activation, seed=seed, dtype=torch.float64, bias=bias), X, Y)
    path = bisection_path(f, *ends, level=level + tol, tol=tol, depth=depth, steps=300, seed=seed)
    return float(path.loss.max())


def common_level_barriers(nets, pairs, level: float, *, tol: float, depth: int = 5, seed: int = 0,
                          jobs=None, bias: bool = True) -> pd.DataFrame:
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
    bias : bool, default True
        The nets' ``bias`` (as given to :func:`tolerance_scan` / :func:`solution_ends`).

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
    units = [(sizes, act, X, Y, seed, p.ends, float(level), float(tol), depth, bool(bias))
             for (_, sizes, act, X, Y), p, r in zip(nets, pairs, reuse, strict=True) if not r]
    computed = iter(map_units(_common_unit, units, star=True, jobs=jobs, desc="common level"))
    tops = [float(p.by_tol[float(tol)].loss.max()) if r else next(computed) for p, r in zip(pairs, reuse, strict=True)]
    return pd.DataFrame([{"net": name, "width": sizes[1], "level": float(level), "tol": float(tol),
                          "ends_below": bool(p.level <= level), "path_max": top, "common_barrier": top - level}
                         for (name, sizes, *_), p, top in zip(nets, pairs, tops, strict=True)])
