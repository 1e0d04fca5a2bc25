r"""Critical points of a loss: find them by minimising :math:`\tfrac12\|\nabla L\|^2` from many starts, then measure
their energy and index (source 001, slide "Empirical values of :math:`\epsilon_c` and :math:`\alpha`", after
Pennington & Bahri 2017, Fig. 6).

Each start is moved by Levenberg--Marquardt on :math:`f(\theta) = \tfrac12\|\nabla L(\theta)\|^2` (the Jacobian
of :math:`\nabla L` is the dense float64 Hessian :math:`H`, from ``torch.func``): damped steps far from a critical
point, Newton steps near one, so it converges quadratically to a critical point of any index. A point is *critical* when
:math:`\|\nabla L\| \le` ``grad_tol``; its *index* is the fraction of eigenvalues of :math:`H` below
:math:`-` ``zero_tol`` :math:`\cdot\max|\lambda|`.

The loss is a closure of the flat float64 parameter vector (:func:`model_loss` builds one from a model and data),
so the same code serves the chapter-05 tanh networks and the chapter-07 XOR networks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.optimize
import torch
from torch import nn
from torch.func import functional_call, grad
from tqdm.auto import tqdm

from . import models

__all__ = ["model_loss", "descent_starts", "CriticalPoints", "find_critical_points", "hessian_index", "IndexEnergyFit",
           "index_energy_fit"]

Loss = Callable[[torch.Tensor], torch.Tensor]


def model_loss(model: nn.Module, X, y, loss: str | Callable = "mse", *, scale: float = 1.0) -> Loss:
    r"""Closure :math:`\theta \mapsto` ``scale`` :math:`\cdot` ``loss(model(X; theta), y)`` in float64.

    ``loss`` is a name of :func:`landscape.models.loss_function` or a callable ``(outputs, targets) -> scalar``.
    The slides' energy :math:`\epsilon = n^{-1}(2m)^{-1}\sum_\mu\|\hat y_\mu - y_\mu\|^2` is ``"mse"`` with
    ``scale=0.5`` (``mse`` averages over all :math:`m n` entries).
    """
    fn = models.loss_function(loss) if isinstance(loss, str) else loss
    model = model.to(torch.float64)
    X = torch.as_tensor(np.asarray(X, dtype=np.float64))
    y = torch.as_tensor(np.asarray(y)) if not torch.is_tensor(y) else y
    y = y.to(torch.float64) if y.is_floating_point() else y
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y must have the same number of rows, got {X.shape[0]} and {y.shape[0]}")
    if not torch.isfinite(X).all():
        raise ValueError("X contains NaN or inf")

    def closure(theta: torch.Tensor) -> torch.Tensor:
        return scale * fn(functional_call(model, models.unflatten(model, theta), (X,)), y)

    return closure


def descent_starts(loss: Loss, n_params: int, n_starts: int, *, seed: int = 0, scale: float = 1.0,
                   lr: float = 0.1, max_steps: int = 1000) -> np.ndarray:
    r"""Starts at every stage of training: start ``i`` is a Gaussian draw (std ``scale``, seed ``[seed, i]``) moved by
    :math:`k_i` full-batch gradient-descent steps, :math:`k_i` log-spaced in ``[0, max_steps]``, so the critical
    points found from them span high and low energies (after Pennington & Bahri's many training runs)."""
    for name, v in (("n_params", n_params), ("n_starts", n_starts), ("max_steps", max_steps)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    g_fn = grad(loss)
    steps = np.unique(np.round(np.geomspace(1, max_steps + 1, n_starts) - 1).astype(int))
    steps = np.resize(steps, n_starts)
    out = np.empty((n_starts, n_params))
    for i, k in enumerate(steps):
        t = torch.as_tensor(np.random.default_rng([seed, i]).standard_normal(n_params) * scale)
        for _ in range(int(k)):
            t = t - lr * g_fn(t)
        out[i] = t.detach().numpy()
    return out


def hessian_index(eigenvalues, zero_tol: float = 1e-8) -> tuple[float, int, int]:
    """(fraction negative, number negative, number zero) of a spectrum; zero means ``|lam| <= zero_tol * max|lam|``.

    >>> hessian_index([-2.0, 0.0, 1.0, 3.0])
    (0.25, 1, 1)
    """
    ev = np.asarray(eigenvalues, dtype=np.float64).ravel()
    if ev.size == 0 or not np.all(np.isfinite(ev)):
        raise ValueError("eigenvalues must be a non-empty finite array")
    thr = zero_tol * np.abs(ev).max()
    neg, zero = int(np.sum(ev < -thr)), int(np.sum(np.abs(ev) <= thr))
    return neg / ev.size, neg, zero


@dataclass(frozen=True)
class CriticalPoints:
    """Result of :func:`find_critical_points`: one table row per start, and the points' vectors and spectra.

    ``table`` columns: ``start, loss, grad_norm, critical, index, n_negative, n_zero, n_params, iterations``;
    ``thetas[i]`` and ``eigenvalues[i]`` (ascending, dense Hessian) belong to row ``i``.
    """

    table: pd.DataFrame
    thetas: np.ndarray
    eigenvalues: np.ndarray

    def critical(self) -> pd.DataFrame:
        """Rows that met the gradient tolerance."""
        return self.table[self.table["critical"]].reset_index(drop=True)


def _levenberg_marquardt(loss: Loss, theta: np.ndarray, max_iter: int, grad_tol: float):
    r"""Minimise :math:`\tfrac12\|g\|^2`, :math:`g=\nabla L`, whose Jacobian is :math:`H`: steps
    :math:`\delta = -(H^2+\mu I)^{-1}Hg` from the eigendecomposition of the dense Hessian; :math:`\mu` shrinks on
    success and grows on failure, so the method is gradient descent on :math:`\|g\|^2` far away and Newton near."""
    g_fn, h_fn = grad(loss), torch.func.hessian(loss)

    def g_of(th):
        return g_fn(torch.as_tensor(th, dtype=torch.float64)).detach().numpy()

    g = g_of(theta)
    f, mu, it = 0.5 * g @ g, None, 0
    for it in range(1, max_iter + 1):
        if np.sqrt(2 * f) <= grad_tol:
            return theta, it - 1
        lam, V = np.linalg.eigh(h_fn(torch.as_tensor(theta, dtype=torch.float64)).detach().numpy())
        mu = 1e-3 * float(np.max(lam**2)) if mu is None else mu
        gv = V.T @ g
        for _ in range(30):
            trial = theta - V @ (lam * gv / (lam**2 + mu))
            g_t = g_of(trial)
            f_t = 0.5 * g_t @ g_t
            if f_t < f:
                theta, g, f, mu = trial, g_t, f_t, mu / 3
                break
            mu *= 4
        else:
            return theta, it  # no decrease possible: a non-critical minimum of |g|^2
    return theta, it


def find_critical_points(loss: Loss, starts, *, max_iter: int = 200, grad_tol: float = 1e-8,
                         zero_tol: float = 1e-8, progress: bool = False) -> CriticalPoints:
    r"""Minimise :math:`\tfrac12\|\nabla L\|^2` (Levenberg--Marquardt, Newton near the end) from each row of
    ``starts`` (k, p).

    Returns every end point with its loss, gradient norm, index and dense-Hessian eigenvalues; filter with
    :meth:`CriticalPoints.critical`. Deterministic for fixed starts.

    >>> quartic = lambda t: ((t**2 - 1) ** 2).sum()  # critical points at t_i in {-1, 0, 1}
    >>> cp = find_critical_points(quartic, np.array([[0.1, 0.9], [1.1, -0.9]]))
    >>> cp.table[["loss", "n_negative"]].round(12).values.tolist()
    [[1.0, 1.0], [0.0, 0.0]]
    """
    starts = np.atleast_2d(np.asarray(starts, dtype=np.float64))
    if starts.ndim != 2 or starts.shape[0] < 1 or not np.all(np.isfinite(starts)):
        raise ValueError(f"starts must be a finite (k, p) array, got shape {starts.shape}")
    rows, thetas, spectra = [], [], []
    for i, s in enumerate(tqdm(starts, desc="critical points", disable=not progress)):
        theta, iters = _levenberg_marquardt(loss, s, max_iter, grad_tol)
        t = torch.as_tensor(theta, dtype=torch.float64)
        gnorm = float(grad(loss)(t).norm())
        ev = np.linalg.eigvalsh(torch.func.hessian(loss)(t).detach().numpy())
        frac, neg, zero = hessian_index(ev, zero_tol)
        rows.append({"start": i, "loss": float(loss(t)), "grad_norm": gnorm, "critical": gnorm <= grad_tol,
                     "index": frac, "n_negative": neg, "n_zero": zero, "n_params": theta.size, "iterations": iters})
        thetas.append(theta)
        spectra.append(ev)
    return CriticalPoints(pd.DataFrame(rows), np.array(thetas), np.array(spectra))


@dataclass(frozen=True)
class IndexEnergyFit:
    r"""Fits of the energy of critical points against their index.

    ``eps_c, alpha0``: :math:`\alpha = \alpha_0(\epsilon-\epsilon_c)^{3/2}`, i.e. a straight line
    :math:`\epsilon = \epsilon_c + \alpha_0^{-2/3}\alpha^{2/3}`; ``exponent``: the free fit
    :math:`\epsilon = \epsilon_c' + c\,\alpha^{1/\beta}` returns :math:`\beta` (theory 3/2), ``nan`` if it fails.
    """

    eps_c: float
    alpha0: float
    exponent: float
    eps_c_free: float
    n_levels: int


def index_energy_fit(energy, index) -> IndexEnergyFit:
    r"""Fit the source's :math:`\alpha \approx \alpha_0|\epsilon-\epsilon_c|^{3/2}` to critical points (Fig. 6a).

    As in the source, the energies are first averaged over points of equal index.

    >>> a = np.array([0.0, 0.01, 0.02, 0.05]); e = 0.1 + (a / 2.0) ** (2 / 3)
    >>> f = index_energy_fit(e, a); round(f.eps_c, 9), round(f.alpha0, 9)
    (0.1, 2.0)
    """
    e, a = np.asarray(energy, dtype=np.float64).ravel(), np.asarray(index, dtype=np.float64).ravel()
    if e.size != a.size or not np.all(np.isfinite(e)) or not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError("energy and index must be finite, of equal length, index >= 0")
    levels = pd.DataFrame({"a": a, "e": e}).groupby("a", as_index=False)["e"].mean()
    if len(levels) < 2:
        raise ValueError("need critical points of at least two different indices")
    slope, eps_c = np.polyfit(levels["a"] ** (2 / 3), levels["e"], 1)
    alpha0 = float(slope ** -1.5) if slope > 0 else float("nan")
    beta, eps_free = float("nan"), float("nan")
    if len(levels) >= 4:
        try:
            (c0, c1, g), _ = scipy.optimize.curve_fit(lambda x, c0, c1, g: c0 + c1 * x**g, levels["a"], levels["e"],
                                                      p0=[eps_c, max(slope, 1e-3), 2 / 3], maxfev=20000)
            beta, eps_free = float(1 / g), float(c0)
        except (RuntimeError, ValueError):
            pass
    return IndexEnergyFit(float(eps_c), alpha0, beta, eps_free, int(len(levels)))
