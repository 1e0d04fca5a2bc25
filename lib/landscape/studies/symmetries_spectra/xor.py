r"""The XOR error surface of a 2-2-1 sigmoid network (Hamey 1998, Gallagher 2000; source 003, Secs. 5.3, 5.6.2).

Network: hidden :math:`h = \sigma(W_1 x + b_1)` (2 units), output :math:`y = \sigma(w_2^\top h + b_2)`, error
:math:`E = \frac12\sum_{p=1}^4 (y_p - t_p)^2` on the four XOR patterns (Hamey's sum-of-squares error; the
infimum 0 is reached only asymptotically). Parameters are the flat vector of
``landscape.nets.models.mlp([2, 2, 1], "sigmoid")`` (``W1`` row-major, ``b1``, ``w2``, ``b2``: 9 numbers), with the
output sigmoid applied in the error.

* :func:`train_restarts` -- many batched gradient-descent restarts (where does plain training stall?).
* :func:`classify` -- error, gradient norm and Hessian index of an end point: solved, saddle, flat (plateau or
  asymptotic valley: near-singular Hessian) or minimum-like (well-conditioned positive definite).
* :func:`descend` -- a search for non-ascending trajectories (Sec. 5.3): gradient, saddle-free Newton and random
  steps, each accepted only if the error does not rise at five equispaced points along it. Hamey's theorem says
  such a trajectory to a global minimum exists from every finite point; the search may fail to find it. Each path
  is re-sampled densely to measure its largest rise.
* :func:`stationary_points` -- the stationary point each stall leads to (Hamey: regional minima of a bounded,
  differentiable error sit at stationary points, finite or at infinity), found with
  :func:`landscape.geometry.critical.find_critical_points` and classified: a saddle (a negative eigenvalue beyond
  the residual's tolerance), a point at large weights (a plateau at infinity) or a degenerate finite point.
* :func:`stall_study` -- both, for the stalls of a restart study: what each stall is, and whether a strict or a
  nearly non-ascending path leads from it to a solution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from landscape.infra.validation import check_finite, check_scalar

__all__ = ["PATTERNS", "TARGETS", "error", "train_restarts", "classify", "Descent", "descend", "restart_study",
           "stationary_points", "stall_study"]

PATTERNS = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
TARGETS = torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=torch.float64)


def _theta(theta) -> torch.Tensor:
    t = torch.as_tensor(theta, dtype=torch.float64)
    if t.shape[-1] != 9 or not torch.isfinite(t).all():
        raise ValueError(f"theta must be finite with last dimension 9, got shape {tuple(t.shape)}")
    return t


def error(theta) -> torch.Tensor:
    r"""Sum-of-squares XOR error :math:`E(\theta)` for ``theta`` of shape (..., 9) (batched over leading dims).

    Parameters
    ----------
    theta : array_like or torch.Tensor
        (..., 9) weights of the 2-2-1 net.

    Returns
    -------
    torch.Tensor
        (...,) errors.

    >>> float(error(torch.zeros(9)))  # every output sigma(0) = 1/2
    0.5
    """
    return _error(_theta(theta))


def _error(t: torch.Tensor) -> torch.Tensor:
    W1 = t[..., :4].reshape(*t.shape[:-1], 2, 2)
    b1, w2, b2 = t[..., 4:6], t[..., 6:8], t[..., 8]
    h = torch.sigmoid(torch.einsum("...ij,pj->...pi", W1, PATTERNS) + b1[..., None, :])
    y = torch.sigmoid(torch.einsum("...pi,...i->...p", h, w2) + b2[..., None])
    return 0.5 * ((y - TARGETS) ** 2).sum(-1)


def _grad(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    t = t.detach().requires_grad_(True)
    e = error(t)
    (g,) = torch.autograd.grad(e.sum(), t)
    return e.detach(), g


def train_restarts(n_restarts: int, *, steps: int, lr: float, init_range: float, seed: int = 0,
                   progress: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Plain full-batch gradient descent from ``n_restarts`` draws of U(-init_range, init_range)^9 (seed).

    Parameters
    ----------
    n_restarts : int
        Number of restarts R, >= 1.
    steps : int
        Gradient-descent steps per restart, >= 1.
    lr : float
        Step size, > 0.
    init_range : float
        Half-width a of U(-a, a), > 0.
    seed : int
        Seed of the initial draws.
    progress : bool
        A progress bar over the steps.

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        End points (R, 9) and error history (steps + 1, R).
    """
    for name, v in (("n_restarts", n_restarts), ("steps", steps)):
        check_scalar(v, name, int, min_val=1)
    for name, v in (("lr", lr), ("init_range", init_range)):
        check_finite(check_scalar(v, name, float, min_val=0, include_boundaries="right"), name)
    gen = torch.Generator().manual_seed(seed)
    t = (torch.rand(n_restarts, 9, generator=gen, dtype=torch.float64) * 2 - 1) * init_range
    hist = []
    for _ in tqdm(range(steps), desc="xor restarts", disable=not progress, mininterval=2):
        e, g = _grad(t)
        hist.append(e)
        t = t - lr * g
    hist.append(error(t))
    return t.detach(), torch.stack(hist)


def classify(theta, *, solved: float = 0.05, curv_tol: float = 1e-4, singular: float = 1e-2) -> pd.DataFrame:
    """One row per point: ``error``, ``grad_norm``, Hessian ``index`` (eigenvalues < -curv_tol), ``lambda_min``,
    ``lambda_max`` and ``kind``: ``solved`` (E < solved); else ``saddle`` (index > 0), ``flat`` (positive
    semi-definite but near-singular, lambda_min < singular * lambda_max: a plateau or an asymptotic valley) or
    ``minimum-like`` (well-conditioned positive definite: what a practitioner would call a local minimum).

    Parameters
    ----------
    theta : array_like
        (R, 9) points.
    solved : float
        Error below which a point counts as solved.
    curv_tol : float
        Eigenvalues below -curv_tol count as negative.
    singular : float
        Relative size below which an eigenvalue counts as zero.

    Returns
    -------
    pandas.DataFrame
        error, grad_norm, index, lambda_min, lambda_max, kind.
    """
    T = _theta(theta).reshape(-1, 9)
    rows = []
    for t in T:
        e, g = _grad(t)
        lam = np.linalg.eigvalsh(torch.func.hessian(_error)(t).numpy())
        index = int(np.sum(lam < -curv_tol))
        if float(e) < solved:
            kind = "solved"
        elif index > 0:
            kind = "saddle"
        elif lam[0] < singular * lam[-1]:
            kind = "flat"
        else:
            kind = "minimum-like"
        rows.append({"error": float(e), "grad_norm": float(g.norm()), "index": index, "lambda_min": float(lam[0]),
                     "lambda_max": float(lam[-1]), "kind": kind})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Descent:
    """Sampled non-ascending trajectories from S points: ``errors`` (records, S) every ``record_every`` steps
    (non-increasing down each column), ``reached`` (S,) error below the target, ``steps`` (S,) steps used (the
    budget where not reached), ``length`` (S,) path length in weight space, ``final`` (S, 9) end points.

    Parameters
    ----------
    errors : numpy.ndarray, shape (records, S)
        The error of each start every ``record_every`` steps, non-increasing down each column.
    reached : numpy.ndarray, shape (S,)
        Bool, whether the error fell below the target.
    steps : numpy.ndarray, shape (S,)
        Steps used (the budget where not reached).
    length : numpy.ndarray, shape (S,)
        Path length in weight space.
    final : numpy.ndarray, shape (S, 9)
        End points (the 9 weights of the 2-2-1 net).
    max_rise : numpy.ndarray, shape (S,)
        The largest rise of the error above its running minimum along the whole path, each accepted step sampled
        at ``dense`` equispaced points (0 for a non-ascending path; at most ``slack`` at the points the search
        checked).
    """

    errors: np.ndarray
    reached: np.ndarray
    steps: np.ndarray
    length: np.ndarray
    final: np.ndarray
    max_rise: np.ndarray | None = None


def _monotone(t: torch.Tensor, e: torch.Tensor, d: torch.Tensor, best: torch.Tensor | None = None,
              slack: float = 0.0) -> torch.Tensor:
    """Rows where the error through t + f d, f = 1/4, 1/2, 3/4, 1, never rises more than ``slack`` above the lowest
    error met before it on the path (``best``: the path's lowest error so far; default ``e``). With ``slack`` 0:
    non-increasing.
    """
    f = torch.tensor([0.25, 0.5, 0.75, 1.0], dtype=torch.float64)
    path = error(t[:, None, :] + f[None, :, None] * d[:, None, :])
    start = e if best is None else torch.minimum(best, e)
    seq = torch.cat([start[:, None], path], dim=1)
    low = torch.cummin(seq, dim=1).values[:, :-1]
    return torch.all(seq[:, 1:] <= low + slack, dim=1)


def _segment_rise(t: torch.Tensor, d: torch.Tensor, best: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Largest rise above the running minimum along t + f d on ``n`` equispaced f in (0, 1], and the new minimum."""
    f = torch.arange(1, n + 1, dtype=torch.float64) / n
    path = error(t[:, None, :] + f[None, :, None] * d[:, None, :])
    seq = torch.cat([best[:, None], path], dim=1)
    low = torch.cummin(seq, dim=1).values
    return (seq - low).max(dim=1).values, low[:, -1]


def _saddle_free(t: torch.Tensor, g: torch.Tensor, damping: float = 1e-8) -> torch.Tensor:
    """Saddle-free Newton directions (|H| + damping)^-1 g per row (|H|: eigenvalues replaced by their absolute
    values; H from central differences of gradients); a descent direction wherever g != 0, long along flat,
    saturated directions.
    """
    S, h = t.shape[0], 1e-5  # Hessians by central differences of gradients (a search direction only)
    E = torch.eye(9, dtype=torch.float64) * h
    _, G = _grad(torch.cat([t[:, None, :] + E, t[:, None, :] - E], dim=1).reshape(-1, 9))
    G = G.reshape(S, 2, 9, 9)
    H = (G[:, 0] - G[:, 1]) / (2 * h)
    lam, V = torch.linalg.eigh(0.5 * (H + H.transpose(1, 2)))
    coef = torch.einsum("sji,sj->si", V, g) / (lam.abs() + damping)
    return torch.einsum("sij,sj->si", V, coef)


def descend(theta, *, target: float = 1e-3, max_steps: int = 3000, lr0: float = 1.0, sigma0: float = 0.1,
            seed: int = 0, record_every: int = 10, progress: bool = False, slack: float = 0.0,
            dense: int = 16) -> Descent:
    """Non-ascending trajectories from the rows of ``theta`` (S, 9) towards error ``target``.

    Steps cycle through a gradient step ``-lr g``, a saddle-free Newton step ``-nw (|H| + 1e-8)^-1 g`` (long along
    flat, saturated directions) and a random step ``sigma xi`` (xi standard normal, ``seed``). A step is accepted
    only where the error is non-increasing through the points at 1/4, 1/2, 3/4 and 1 of it (with ``slack`` > 0:
    never more than ``slack`` above the lowest error met so far); accepted steps grow (lr, nw x 1.5 with nw <= 1,
    sigma x 1.2), rejected ones shrink (x 0.5, x 0.9). With ``slack`` 0 the recorded errors are non-increasing by
    construction; ``reached`` says whether the search found a way below ``target``. Every accepted step is
    re-sampled at ``dense`` points to measure the path's largest rise (``max_rise``: the monotonicity check of
    the path itself, between the points the search looked at).

    Parameters
    ----------
    theta : array_like
        (S, 9) start points.
    target : float
        Error to reach.
    max_steps : int
        Budget of search steps.
    lr0, sigma0 : float
        Initial step size and perturbation scale.
    seed : int
        Seed of the random steps.
    record_every : int
        Record the errors every this many steps.
    progress : bool
        A progress bar over the search steps.
    slack : float
        Rise allowed above the path's lowest error so far, >= 0 (0: Hamey's non-ascending trajectories).
    dense : int
        Points per accepted step of the path's monotonicity check, >= 1.

    Returns
    -------
    Descent
        The recorded errors, end points, whether each reached the target and the path's largest rise.
    """
    check_scalar(slack, "slack", float, min_val=0)
    check_scalar(dense, "dense", int, min_val=1)
    t = _theta(theta).detach().clone().reshape(-1, 9)
    S = t.shape[0]
    gen = torch.Generator().manual_seed(seed)
    lr, sig = torch.full((S,), float(lr0), dtype=torch.float64), torch.full((S,), float(sigma0), dtype=torch.float64)
    nw = torch.ones(S, dtype=torch.float64)
    steps, length = torch.full((S,), max_steps), torch.zeros(S, dtype=torch.float64)
    e, rec = error(t), []
    best, rise = e.clone(), torch.zeros(S, dtype=torch.float64)
    for step in tqdm(range(max_steps), desc="descend", disable=not progress, mininterval=2):
        if step % record_every == 0:
            rec.append(e.clone())
        active = e >= target
        steps[(~active) & (steps == max_steps)] = step
        if not active.any():
            break
        kind = step % 3
        if kind == 0:
            e, g = _grad(t)
            d = -lr[:, None] * g
        elif kind == 1:
            e, g = _grad(t)
            d = -nw[:, None] * _saddle_free(t, g)
        else:
            d = sig[:, None] * torch.randn(S, 9, generator=gen, dtype=torch.float64)
        ok = _monotone(t, e, d, best, slack) & active
        if ok.any():
            r, low = _segment_rise(t[ok], d[ok], best[ok], dense)
            rise[ok] = torch.maximum(rise[ok], r)
            best[ok] = low
        t = torch.where(ok[:, None], t + d, t)
        length += torch.where(ok, d.norm(dim=1), torch.zeros_like(length))
        e = error(t)
        if kind == 0:
            lr = torch.where(ok, lr * 1.5, lr * 0.5)
        elif kind == 1:
            nw = torch.where(ok, torch.clamp(nw * 1.5, max=1.0), nw * 0.5)
        else:
            sig = torch.where(ok, sig * 1.2, sig * 0.9)
    rec.append(e.clone())
    reached = (e < target).numpy()
    return Descent(torch.stack(rec).numpy(), reached, steps.numpy(), length.numpy(), t.numpy(), rise.numpy())


def restart_study(n_restarts: int, *, steps: int, lr: float, init_range: float, descend_steps: int,
                  seed: int = 0, with_ends: bool = False):
    """Sec. 5.3's experiment in one call: :func:`train_restarts`, :func:`classify` of the end points, and for
    the ones that did not solve XOR, the non-ascending search :func:`descend` (budget ``descend_steps``, seed
    ``seed``) that asks whether they sat in a regional minimum.

    Parameters
    ----------
    n_restarts, steps, lr, init_range, seed
        As in :func:`train_restarts`.
    descend_steps : int
        ``max_steps`` of :func:`descend`.
    with_ends : bool
        Also return the (R, 9) end points of the restarts (for :func:`stall_study`).

    Returns
    -------
    (pandas.DataFrame, torch.Tensor) or (pandas.DataFrame, torch.Tensor, torch.Tensor)
        The :func:`classify` frame with ``escaped`` (solved, or reached the target by the search) and, for the
        stalled runs, ``error_after_search`` and ``strict_rise`` (the search path's largest rise, densely
        sampled); the error history (steps + 1, R); with ``with_ends`` the end points.
    """
    ends, hist = train_restarts(n_restarts, steps=steps, lr=lr, init_range=init_range, seed=seed)
    kinds = classify(ends)
    stalled = np.flatnonzero(kinds.kind != "solved")
    kinds["escaped"] = kinds.kind == "solved"
    if len(stalled):
        path = descend(ends[stalled], max_steps=descend_steps, seed=seed)
        kinds.loc[stalled, "escaped"] = path.reached
        kinds.loc[stalled, "error_after_search"] = path.errors[-1]
        kinds.loc[stalled, "strict_rise"] = path.max_rise
    return (kinds, hist, ends) if with_ends else (kinds, hist)


def stationary_points(stalls, *, max_iter: int = 200, large: float = 20.0) -> pd.DataFrame:
    r"""The stationary point near each stall and its kind (Secs. 5.3, 5.6.2).

    From each row of ``stalls`` (S, 9), :func:`landscape.geometry.critical.find_critical_points` minimises
    :math:`\tfrac12\|\nabla E\|^2` (Levenberg--Marquardt, Newton near the end, polished). The point is
    *stationary* when its polished :math:`\|\nabla E\| \le 10^{-8}`; ``newton_length`` =
    :math:`\|\nabla E\|/\max|\lambda|` is the premise in curvature units (the distance a quadratic model would
    still move). ``kind``:

    * ``at infinity`` -- the weight norm ends at or above ``large``: the iterate ran off to saturated weights,
      where the gradient vanishes only asymptotically (a plateau at infinity, Hamey's asymptotic stationary
      points, e.g. :math:`E = 1/4` or :math:`1/3`); ``solution at infinity`` where the error there is below
      :math:`10^{-3}` (the stall was on its way to a global minimum);
    * ``saddle`` -- stationary, finite, with a negative eigenvalue beyond the residual's tolerance
      (:func:`landscape.geometry.critical.residual_tolerance`): not a minimum of any kind;
    * ``degenerate`` -- stationary, finite, no resolved negative eigenvalue: the second-order test cannot decide
      (a path check must);
    * ``not stationary`` -- the search stopped elsewhere.

    Parameters
    ----------
    stalls : array_like
        (S, 9) stalled end points.
    max_iter : int
        Levenberg--Marquardt iterations per start.
    large : float
        Weight norm from which a point counts as run off to infinity, > 0.

    Returns
    -------
    pandas.DataFrame
        Per stall: ``stall_grad``, ``stall_newton_length`` (at the stall: :math:`\|\nabla E\|/\max|\lambda|`),
        ``stall_norm``, ``error`` (at the stationary point), ``grad_norm``, ``newton_length``, ``n_negative``,
        ``n_zero``, ``index_tol``, ``lambda_min``, ``lambda_max``, ``norm``, ``moved`` (distance from the stall),
        ``stationary``, ``kind``.
    """
    from landscape.geometry import critical

    check_scalar(max_iter, "max_iter", int, min_val=1)
    check_finite(check_scalar(large, "large", float, min_val=0, include_boundaries="neither"), "large")
    T = _theta(stalls).reshape(-1, 9).detach().numpy().astype(np.float64)
    cp = critical.find_critical_points(_error, T, max_iter=max_iter)
    rows = []
    for i, (theta, ev) in enumerate(zip(cp.thetas, cp.eigenvalues, strict=True)):
        r = cp.table.iloc[i]
        _, g0 = _grad(torch.as_tensor(T[i]))
        lam0 = np.linalg.eigvalsh(torch.func.hessian(_error)(torch.as_tensor(T[i])).numpy())
        norm = float(np.linalg.norm(theta))
        stationary = bool(r.critical)
        if norm >= large:
            kind = "solution at infinity" if float(r.loss) < 1e-3 else "at infinity"
        elif not stationary:
            kind = "not stationary"
        elif r.n_negative > 0:
            kind = "saddle"
        else:
            kind = "degenerate"
        rows.append({"stall_grad": float(g0.norm()),
                     "stall_newton_length": float(g0.norm()) / float(np.abs(lam0).max()),
                     "stall_norm": float(np.linalg.norm(T[i])), "error": float(r.loss), "grad_norm": float(r.grad_norm),
                     "newton_length": float(r.grad_norm) / float(np.abs(ev).max()), "n_negative": int(r.n_negative),
                     "n_zero": int(r.n_zero), "index_tol": float(r.index_tol), "lambda_min": float(ev[0]),
                     "lambda_max": float(ev[-1]), "norm": norm, "moved": float(np.linalg.norm(theta - T[i])),
                     "stationary": stationary, "kind": kind})
    return pd.DataFrame(rows)


def stall_study(kinds: pd.DataFrame, ends, *, descend_steps: int, slack: float = 1e-4, seed: int = 0,
                max_iter: int = 200, large: float = 20.0) -> pd.DataFrame:
    """Every stall of a :func:`restart_study` explained: its stationary point (:func:`stationary_points`) and the
    paths from it.

    The strict search (:func:`descend`, ``slack`` 0) is the one of :func:`restart_study` (its ``escaped`` and
    ``strict_rise``, the largest rise of each path measured densely); from the stalls it does not leave, a second
    search allows rises of at most ``slack`` above the lowest error met so far (a nearly non-ascending path: the
    issue Hamey's theorem settles exactly, to float64 resolution) and reports its largest rise too.

    Parameters
    ----------
    kinds : pandas.DataFrame
        :func:`restart_study`'s frame (columns ``kind``, ``escaped``, ``strict_rise``).
    ends : array_like
        (R, 9) end points of the restarts (:func:`train_restarts` with the same arguments).
    descend_steps : int
        Budget of the second search.
    slack : float
        Rise allowed by the second search, >= 0.
    seed : int
        Seed of the second search.
    max_iter, large
        As :func:`stationary_points`.

    Returns
    -------
    pandas.DataFrame
        One row per stall: ``restart``, ``stall_kind`` (:func:`classify`), the columns of :func:`stationary_points`,
        ``escaped`` (strict), ``strict_rise``, ``relaxed_reached`` and ``relaxed_rise`` (NaN where the strict search
        escaped), ``path`` ("strict", "within slack" or "none").
    """
    check_scalar(descend_steps, "descend_steps", int, min_val=1)
    check_scalar(slack, "slack", float, min_val=0)
    ends = _theta(ends).reshape(-1, 9)
    stalled = np.flatnonzero(kinds.kind.to_numpy() != "solved")
    if not len(stalled):
        columns = ["restart", "stall_kind", "stall_grad", "stall_newton_length", "stall_norm", "error", "grad_norm",
                   "newton_length", "n_negative", "n_zero", "index_tol", "lambda_min", "lambda_max", "norm", "moved",
                   "stationary", "kind", "escaped", "strict_rise", "relaxed_reached", "relaxed_rise", "path"]
        return pd.DataFrame({c: pd.Series(dtype=bool if c in ("stationary", "escaped") else object) for c in columns})
    out = stationary_points(ends[stalled], max_iter=max_iter, large=large)
    out.insert(0, "stall_kind", kinds.kind.to_numpy()[stalled])
    out.insert(0, "restart", stalled)
    out["escaped"] = kinds.escaped.to_numpy()[stalled].astype(bool)
    out["strict_rise"] = kinds.strict_rise.to_numpy()[stalled]
    out["relaxed_reached"], out["relaxed_rise"] = np.nan, np.nan
    stuck = np.flatnonzero(~out.escaped.to_numpy())
    if len(stuck):
        relaxed = descend(ends[stalled[stuck]], max_steps=descend_steps, seed=seed, slack=slack)
        out["relaxed_reached"] = out["relaxed_reached"].astype(object)
        out.loc[stuck, "relaxed_reached"] = relaxed.reached
        out.loc[stuck, "relaxed_rise"] = relaxed.max_rise
    out["path"] = np.where(out.escaped, "strict",
                           np.where(out.relaxed_reached.fillna(False).astype(bool), "within slack", "none"))
    return out
