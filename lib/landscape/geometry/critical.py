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

from landscape.nets import models
from landscape.infra.validation import check_finite, check_scalar

__all__ = ["model_loss", "descent_starts", "CriticalPoints", "find_critical_points", "hessian_index", "IndexEnergyFit",
           "index_energy_fit", "index_energy_study", "cooper_ranks"]

Loss = Callable[[torch.Tensor], torch.Tensor]


def model_loss(model: nn.Module, X, y, loss: str | Callable = "mse", *, scale: float = 1.0) -> Loss:
    r"""Closure :math:`\theta \mapsto` ``scale`` :math:`\cdot` ``loss(model(X; theta), y)`` in float64.

    ``loss`` is a name of :func:`landscape.nets.models.loss_function` or a callable ``(outputs, targets) -> scalar``.
    The slides' energy :math:`\epsilon = n^{-1}(2m)^{-1}\sum_\mu\|\hat y_\mu - y_\mu\|^2` is ``"mse"`` with
    ``scale=0.5`` (``mse`` averages over all :math:`m n` entries).

    Parameters
    ----------
    model : torch.nn.Module
        Gives the structure (cast to float64); its weights are not used.
    X, y : arrays
        Data and targets (same number of rows).
    loss : str or callable
    scale : float

    Returns
    -------
    callable
        ``loss(theta) -> scalar tensor`` of the flat float64 parameter vector.
    """
    fn = models.loss_function(loss) if isinstance(loss, str) else loss
    model = model.to(torch.float64)
    X = torch.as_tensor(np.asarray(X, dtype=np.float64))
    y = torch.as_tensor(np.asarray(y)) if not torch.is_tensor(y) else y
    y = y.to(torch.float64) if y.is_floating_point() else y
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y must have the same number of rows, got {X.shape[0]} and {y.shape[0]}")
    check_finite(X.detach().cpu().numpy(), "X")

    def closure(theta: torch.Tensor) -> torch.Tensor:
        return scale * fn(functional_call(model, models.unflatten(model, theta), (X,)), y)

    return closure


def descent_starts(loss: Loss, n_params: int, n_starts: int, *, seed: int = 0, scale: float = 1.0,
                   lr: float = 0.1, max_steps: int = 1000) -> np.ndarray:
    r"""Starts at every stage of training: start ``i`` is a Gaussian draw (std ``scale``, seed ``[seed, i]``) moved by
    :math:`k_i` full-batch gradient-descent steps, :math:`k_i` log-spaced in ``[0, max_steps]``, so the critical
    points found from them span high and low energies (after Pennington & Bahri's many training runs).

    Parameters
    ----------
    loss : callable
        The loss the starts descend (a closure of the flat float64 vector).
    n_params, n_starts : int
    seed : int
    scale : float
        Standard deviation of the Gaussian draws.
    lr : float
        Gradient-descent step.
    max_steps : int
        Steps of the last start.

    Returns
    -------
    ndarray (n_starts, n_params)
    """
    for name, v in (("n_params", n_params), ("n_starts", n_starts), ("max_steps", max_steps)):
        check_scalar(v, name, int, min_val=1)
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

    Parameters
    ----------
    eigenvalues : array_like
        Non-empty, finite.
    zero_tol : float
        Relative threshold of a zero eigenvalue.

    Returns
    -------
    (float, int, int)

    Examples
    --------
    >>> hessian_index([-2.0, 0.0, 1.0, 3.0])
    (0.25, 1, 1)
    """
    ev = np.asarray(eigenvalues, dtype=np.float64).ravel()
    if ev.size == 0:
        raise ValueError("eigenvalues must be a non-empty array")
    check_finite(ev, "eigenvalues")
    thr = zero_tol * np.abs(ev).max()
    neg, zero = int(np.sum(ev < -thr)), int(np.sum(np.abs(ev) <= thr))
    return neg / ev.size, neg, zero


@dataclass(frozen=True)
class CriticalPoints:
    """Result of :func:`find_critical_points`: one table row per start, and the points' vectors and spectra.

    ``table`` columns: ``start, loss, grad_norm, critical, index, n_negative, n_zero, n_params, iterations``;
    ``thetas[i]`` and ``eigenvalues[i]`` (ascending, dense Hessian) belong to row ``i``.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per start, the columns above.
    thetas : numpy.ndarray, shape (k, p)
        The end point of each start (flat float64 vectors).
    eigenvalues : numpy.ndarray, shape (k, p)
        The dense Hessian's eigenvalues at each end point, ascending.
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

    Parameters
    ----------
    loss : callable
        Closure of the flat float64 vector whose critical points are sought.
    starts : array (k, p)
    max_iter : int
        Levenberg-Marquardt iterations per start.
    grad_tol : float
        Gradient norm of a critical point.
    zero_tol : float
        Relative threshold of a zero eigenvalue (the index).
    progress : bool, default False
        Show a progress bar over the starts.

    Returns
    -------
    CriticalPoints

    Examples
    --------
    >>> quartic = lambda t: ((t**2 - 1) ** 2).sum()  # critical points at t_i in {-1, 0, 1}
    >>> cp = find_critical_points(quartic, np.array([[0.1, 0.9], [1.1, -0.9]]))
    >>> cp.table[["loss", "n_negative"]].round(12).values.tolist()
    [[1.0, 1.0], [0.0, 0.0]]
    """
    starts = np.atleast_2d(np.asarray(starts, dtype=np.float64))
    if starts.ndim != 2 or starts.shape[0] < 1:
        raise ValueError(f"starts must be a (k, p) array, got shape {starts.shape}")
    check_finite(starts, "starts")
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

    Parameters
    ----------
    eps_c : float
        Critical energy :math:`\epsilon_c` of the fit with the exponent fixed at 3/2.
    alpha0 : float
        Prefactor :math:`\alpha_0` of that fit (``nan`` when the fitted slope is not positive).
    exponent : float
        :math:`\beta` of the free fit (``nan`` with fewer than 4 index levels or when the fit fails).
    eps_c_free : float
        :math:`\epsilon_c'` of the free fit (``nan`` likewise).
    n_levels : int
        Distinct indices the energies were averaged over.
    """

    eps_c: float
    alpha0: float
    exponent: float
    eps_c_free: float
    n_levels: int


def index_energy_fit(energy, index) -> IndexEnergyFit:
    r"""Fit the source's :math:`\alpha \approx \alpha_0|\epsilon-\epsilon_c|^{3/2}` to critical points (Fig. 6a).

    As in the source, the energies are first averaged over points of equal index.

    Parameters
    ----------
    energy, index : array_like
        One entry per critical point (index >= 0); at least two distinct indices.

    Returns
    -------
    IndexEnergyFit

    Examples
    --------
    >>> a = np.array([0.0, 0.01, 0.02, 0.05]); e = 0.1 + (a / 2.0) ** (2 / 3)
    >>> f = index_energy_fit(e, a); round(f.eps_c, 9), round(f.alpha0, 9)
    (0.1, 2.0)
    """
    e, a = np.asarray(energy, dtype=np.float64).ravel(), np.asarray(index, dtype=np.float64).ravel()
    check_finite(e, "energy")
    check_finite(a, "index")
    if e.size != a.size or np.any(a < 0):
        raise ValueError("energy and index must be of equal length, index >= 0")
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


def _study_unit(n: int, phi: float, n_starts: int, max_iter: int, grad_tol: float, seed: int):
    """One value of phi of :func:`index_energy_study` (a unit for :func:`~landscape.infra.executor.map_units`)."""
    from landscape.geometry import linearise

    m = max(1, int(round(2 * n / phi)))
    rng = np.random.default_rng([seed, m, 6])
    X, Y = rng.standard_normal((m, n)), rng.standard_normal((m, n))
    net = linearise.two_layer(n, n, n_out=n, activation="tanh", seed=seed, scaled=False, second="normal")
    loss = model_loss(net, X, Y, "mse", scale=0.5)  # = n^{-1} (2m)^{-1} sum ||e||^2, the energy eps
    starts = descent_starts(loss, 2 * n**2, n_starts, seed=seed, scale=0.8, lr=0.5, max_steps=3000)
    tab = find_critical_points(loss, starts, max_iter=max_iter, grad_tol=grad_tol).critical()
    tab = tab.assign(phi=2 * n / m, m=m)
    fit = index_energy_fit(tab.loss, tab["index"]) if tab["index"].nunique() >= 2 else None
    nan = float("nan")
    return tab, {"phi": 2 * n / m, "m": m, "critical": len(tab), "starts": n_starts,
                 "eps_c": fit.eps_c if fit else nan, "alpha0": fit.alpha0 if fit else nan,
                 "exponent": fit.exponent if fit else nan, "min_energy": float(tab.loss.min()) if len(tab) else nan,
                 "eps_c_tanh_source": 0.5 * (1 - 2 * n / m) ** 2, "eps_c_linear_source": 0.5 * (1 - 2 * n / m)}


def index_energy_study(n: int, phis, *, n_starts: int, max_iter: int, grad_tol: float, seed: int = 0, jobs=None,
                       progress: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    r"""Fig. 6 of Pennington & Bahri on tanh nets (``n`` inputs, ``n`` hidden, ``n`` outputs, no biases): for each
    :math:`\phi = 2n/m`, Gaussian data ``(m, n)`` and targets (seed ``[seed, m, 6]``), ``n_starts`` snapshots of
    gradient-descent runs (:func:`descent_starts`), moved to critical points (:func:`find_critical_points`), and the
    fit :math:`\alpha \approx \alpha_0|\epsilon-\epsilon_c|^{3/2}` (:func:`index_energy_fit`).

    Parameters
    ----------
    n : int
        Width of the nets (``p = 2 n^2`` parameters).
    phis : sequence of float
        Ratios :math:`\phi`; ``m = round(2n/phi)`` data points each.
    n_starts, max_iter, grad_tol
        Starts per :math:`\phi`, Levenberg--Marquardt iterations, gradient-norm tolerance of a critical point.
    seed : int
        Seed of the data, the net and the starts.
    jobs : int or None
        Worker processes for the values of :math:`\phi` (:func:`landscape.infra.executor.map_units`); the numbers do not
        depend on it.
    progress : bool, default False
        Show a progress bar over the values of :math:`\phi`.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The critical points (columns of :class:`CriticalPoints` plus ``phi``, ``m``) and one fit row per
        :math:`\phi` (phi, m, critical, starts, eps_c, alpha0, exponent, min_energy, and the source's laws
        eps_c_tanh_source :math:`(1-\phi)^2/2`, eps_c_linear_source :math:`(1-\phi)/2`).
    """
    from landscape.infra.executor import map_units

    check_scalar(n, "n", int, min_val=1)
    units = [(n, float(phi), n_starts, max_iter, grad_tol, seed) for phi in phis]
    out = map_units(_study_unit, units, star=True, jobs=jobs, progress=progress, desc="critical points")
    return pd.concat([t for t, _ in out], ignore_index=True), pd.DataFrame([f for _, f in out])


def cooper_ranks(ms, rs, *, width: int, seed: int = 0, zero_tol: float = 1e-10) -> pd.DataFrame:
    r"""Cooper's solution manifold at exact minima: a tanh net (3 inputs, ``width`` hidden, ``r`` outputs) fits
    ``m`` Gaussian points exactly (the targets are its own outputs), so :math:`H = H_0` and its null space, of
    dimension :math:`p - mr` generically, is the tangent space of the manifold of global minima.

    Parameters
    ----------
    ms, rs : sequences of int
        Data points and outputs (every pair is one fit; net seed ``seed + m + 10 r``, data seed ``[seed, m, r]``).
    width : int
        Hidden units.
    seed : int, default 0
        Offset of the net and data seeds above.
    zero_tol : float
        Relative eigenvalue threshold of :func:`hessian_index`.

    Returns
    -------
    pandas.DataFrame
        One row per fit: m, r, p, rank, m_r, null_dim, p_minus_mr, negative.

    Examples
    --------
    >>> df = cooper_ranks([4], [2], width=5)
    >>> df[["p", "rank", "null_dim", "p_minus_mr", "negative"]].values.tolist()
    [[25, 8, 17, 17, 0]]
    """
    from landscape.geometry import linearise

    rows = []
    for m in ms:
        for r in rs:
            net = linearise.two_layer(3, width, n_out=r, activation="tanh", seed=seed + m + 10 * r, scaled=False,
                                      second="normal")
            X = np.random.default_rng([seed, m, r]).standard_normal((m, 3))
            with torch.no_grad():
                Y = net(torch.as_tensor(X)).numpy()
            ev = np.linalg.eigvalsh(linearise.hessian_split(net, X, Y)[0])
            _, neg, zero = hessian_index(ev, zero_tol)
            rows.append({"m": m, "r": r, "p": ev.size, "rank": ev.size - zero, "m_r": m * r, "null_dim": zero,
                         "p_minus_mr": ev.size - m * r, "negative": neg})
    return pd.DataFrame(rows)
