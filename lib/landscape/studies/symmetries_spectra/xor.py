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
  such a trajectory to a global minimum exists from every finite point; the search may fail to find it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from landscape.infra.validation import check_finite, check_scalar

__all__ = ["PATTERNS", "TARGETS", "error", "train_restarts", "classify", "Descent", "descend", "restart_study"]

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
    """

    errors: np.ndarray
    reached: np.ndarray
    steps: np.ndarray
    length: np.ndarray
    final: np.ndarray


def _monotone(t: torch.Tensor, e: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """Rows where the error is non-increasing through t + f d, f = 1/4, 1/2, 3/4, 1."""
    f = torch.tensor([0.25, 0.5, 0.75, 1.0], dtype=torch.float64)
    path = error(t[:, None, :] + f[None, :, None] * d[:, None, :])
    return torch.all(torch.diff(torch.cat([e[:, None], path], dim=1), dim=1) <= 0, dim=1)


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
            seed: int = 0, record_every: int = 10, progress: bool = False) -> Descent:
    """Non-ascending trajectories from the rows of ``theta`` (S, 9) towards error ``target``.

    Steps cycle through a gradient step ``-lr g``, a saddle-free Newton step ``-nw (|H| + 1e-8)^-1 g`` (long along
    flat, saturated directions) and a random step ``sigma xi`` (xi standard normal, ``seed``). A step is accepted
    only where the error is non-increasing through the points at 1/4, 1/2, 3/4 and 1 of it; accepted steps grow
    (lr, nw x 1.5 with nw <= 1, sigma x 1.2), rejected ones shrink (x 0.5, x 0.9). The recorded errors are
    non-increasing by construction; ``reached`` says whether the search found a way below ``target``.

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

    Returns
    -------
    Descent
        The recorded errors, end points and whether each reached the target.
    """
    t = _theta(theta).detach().clone().reshape(-1, 9)
    S = t.shape[0]
    gen = torch.Generator().manual_seed(seed)
    lr, sig = torch.full((S,), float(lr0), dtype=torch.float64), torch.full((S,), float(sigma0), dtype=torch.float64)
    nw = torch.ones(S, dtype=torch.float64)
    steps, length = torch.full((S,), max_steps), torch.zeros(S, dtype=torch.float64)
    e, rec = error(t), []
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
        ok = _monotone(t, e, d) & active
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
    return Descent(torch.stack(rec).numpy(), reached, steps.numpy(), length.numpy(), t.numpy())


def restart_study(n_restarts: int, *, steps: int, lr: float, init_range: float, descend_steps: int,
                  seed: int = 0) -> tuple[pd.DataFrame, torch.Tensor]:
    """Sec. 5.3's experiment in one call: :func:`train_restarts`, :func:`classify` of the end points, and for
    the ones that did not solve XOR, the non-ascending search :func:`descend` (budget ``descend_steps``, seed
    ``seed``) that asks whether they sat in a regional minimum.

    Parameters
    ----------
    n_restarts, steps, lr, init_range, seed
        As in :func:`train_restarts`.
    descend_steps : int
        ``max_steps`` of :func:`descend`.

    Returns
    -------
    (pandas.DataFrame, torch.Tensor)
        The :func:`classify` frame with ``escaped`` (solved, or reached the target by the search) and, for the
        stalled runs, ``error_after_search``; and the error history (steps + 1, R).
    """
    ends, hist = train_restarts(n_restarts, steps=steps, lr=lr, init_range=init_range, seed=seed)
    kinds = classify(ends)
    stalled = np.flatnonzero(kinds.kind != "solved")
    kinds["escaped"] = kinds.kind == "solved"
    if len(stalled):
        path = descend(ends[stalled], max_steps=descend_steps, seed=seed)
        kinds.loc[stalled, "escaped"] = path.reached
        kinds.loc[stalled, "error_after_search"] = path.errors[-1]
    return kinds, hist
