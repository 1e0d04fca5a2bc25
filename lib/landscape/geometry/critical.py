r"""Critical points of a loss: find them by minimising :math:`\tfrac12\|\nabla L\|^2` from many starts, then measure
their energy and index (source 001, slide "Empirical values of :math:`\epsilon_c` and :math:`\alpha`", after
Pennington & Bahri 2017, Fig. 6).

Each start is moved by Levenberg--Marquardt on :math:`f(\theta) = \tfrac12\|\nabla L(\theta)\|^2` (the Jacobian
of :math:`\nabla L` is the dense float64 Hessian :math:`H`, from ``torch.func``): damped steps far from a critical
point, Newton steps near one, so it converges quadratically to a critical point of any index. Every end point is then
*polished* by Newton steps on the range of :math:`H` (:func:`polish`) to :math:`\|\nabla L\| \le` ``polish_tol``
(default :math:`10^{-10}`, float64). A point is *critical* when its polished :math:`\|\nabla L\| \le`
``critical_tol`` (default :math:`10^{-8}`); its
*index* is the fraction of eigenvalues of :math:`H` below :math:`-\tau`, with the tolerance :math:`\tau` tied to the
residual (:func:`residual_tolerance`): :math:`\tau = \max\bigl(c\,\|H(\theta+\delta)-H(\theta)\|_2,\;
\text{zero\_tol}\cdot\max|\lambda|\bigr)` with :math:`\delta = -H^+\nabla L` the Newton step to the nearby exact
critical point and :math:`c = 10`: by Weyl's inequality no eigenvalue of the exact critical point's Hessian lies
further than :math:`\|H(\theta^*)-H(\theta)\|_2 \approx \|H(\theta+\delta)-H(\theta)\|_2` from ours, so an
eigenvalue inside :math:`\pm\tau` has an unresolved sign and counts as zero, not negative.

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

from landscape.infra.validation import check_finite, check_scalar
from landscape.nets import models

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


def hessian_index(eigenvalues, zero_tol: float = 1e-8, *, abs_tol: float | None = None) -> tuple[float, int, int]:
    """(fraction negative, number negative, number zero) of a spectrum; zero means ``|lam| <= thr`` with
    ``thr = max(zero_tol * max|lam|, abs_tol)`` (``abs_tol``, e.g. :func:`residual_tolerance`, ties the threshold to
    the residual of an approximate critical point).

    Parameters
    ----------
    eigenvalues : array_like
        Non-empty, finite.
    zero_tol : float
        Relative threshold of a zero eigenvalue.
    abs_tol : float or None, default None
        Absolute threshold (>= 0); the larger of the two applies.

    Returns
    -------
    (float, int, int)

    Examples
    --------
    >>> hessian_index([-2.0, 0.0, 1.0, 3.0])
    (0.25, 1, 1)
    >>> hessian_index([-1e-4, 0.5, 5.0], abs_tol=1e-3)  # a sign below the residual's resolution: zero
    (0.0, 0, 1)
    """
    ev = np.asarray(eigenvalues, dtype=np.float64).ravel()
    if ev.size == 0:
        raise ValueError("eigenvalues must be a non-empty array")
    check_finite(ev, "eigenvalues")
    thr = zero_tol * np.abs(ev).max()
    if abs_tol is not None:
        if not (np.isfinite(abs_tol) and abs_tol >= 0):
            raise ValueError(f"abs_tol must be a finite number >= 0, got {abs_tol!r}")
        thr = max(thr, float(abs_tol))
    neg, zero = int(np.sum(ev < -thr)), int(np.sum(np.abs(ev) <= thr))
    return neg / ev.size, neg, zero


def _newton_step(lam: np.ndarray, V: np.ndarray, g: np.ndarray, cutoff: float) -> np.ndarray:
    r""":math:`-H^+ g` on the eigenvalues with :math:`|\lambda| >` ``cutoff`` (pseudo-inverse)."""
    keep = np.abs(lam) > cutoff
    gv = V.T @ g
    return -V[:, keep] @ (gv[keep] / lam[keep])


def residual_tolerance(loss: Loss, theta, *, factor: float = 10.0, zero_tol: float = 1e-10) -> float:
    r"""Eigenvalue tolerance of an approximate critical point, tied to its gradient residual.

    With :math:`g = \nabla L(\theta)` and :math:`\delta = -H^+g` (pseudo-inverse over :math:`|\lambda| >`
    ``zero_tol`` :math:`\max|\lambda|`), the exact critical point lies at :math:`\theta^* \approx \theta+\delta`
    and, by Weyl's inequality, each eigenvalue of :math:`H(\theta^*)` within
    :math:`\|H(\theta^*)-H(\theta)\|_2 \approx \|H(\theta+\delta)-H(\theta)\|_2` of ours. The tolerance is
    :math:`\tau = \max(\text{factor}\cdot\|H(\theta+\delta)-H(\theta)\|_2,\ \text{zero\_tol}\cdot\max|\lambda|)`,
    the floor covering the float64 round-off of the dense eigensolver.

    Parameters
    ----------
    loss : callable
        Closure of the flat float64 parameter vector.
    theta : array_like, shape (p,)
        The approximate critical point.
    factor : float, default 10.0
        Safety factor :math:`c` on the Hessian change over the Newton step (covers its higher orders).
    zero_tol : float, default 1e-10
        Relative floor of the tolerance and cutoff of the pseudo-inverse.

    Returns
    -------
    float
        :math:`\tau`.

    Examples
    --------
    >>> quad = lambda t: 0.5 * (t[0] ** 2 - t[1] ** 2) + t[0] ** 3  # Hessian diag(1 + 6 t0, -1)
    >>> tau = residual_tolerance(quad, np.array([1e-6, 0.0]))  # Newton step ~ -1e-6 in t0: H changes by ~6e-6
    >>> bool(1e-5 < tau < 1e-4)
    True
    """
    check_scalar(factor, "factor", float, min_val=0, include_boundaries="neither")
    check_scalar(zero_tol, "zero_tol", float, min_val=0)
    theta = np.asarray(check_finite(np.asarray(theta, dtype=np.float64), "theta"))
    h_fn = torch.func.hessian(loss)
    t = torch.as_tensor(theta, dtype=torch.float64)
    g = grad(loss)(t).detach().numpy()
    H = h_fn(t).detach().numpy()
    lam, V = np.linalg.eigh(H)
    floor = zero_tol * float(np.abs(lam).max())
    delta = _newton_step(lam, V, g, floor)
    H2 = h_fn(torch.as_tensor(theta + delta, dtype=torch.float64)).detach().numpy()
    return max(factor * float(np.linalg.norm(H2 - H, 2)), floor)


def polish(loss: Loss, theta, *, tol: float = 1e-10, max_iter: int = 50,
           cutoff: float = 1e-12) -> tuple[np.ndarray, float, int]:
    r"""Newton's method on :math:`\nabla L = 0` from ``theta``: steps :math:`-H^+\nabla L` (pseudo-inverse over
    :math:`|\lambda| >` ``cutoff`` :math:`\max|\lambda|`, so flat directions do not blow the step up), halved while
    they do not lower :math:`\|\nabla L\|`, until :math:`\|\nabla L\| \le` ``tol`` or no step lowers it. Converges
    quadratically to the nearby critical point of any index (it does not minimise :math:`L`).

    Parameters
    ----------
    loss : callable
        Closure of the flat float64 parameter vector.
    theta : array_like, shape (p,)
        Start (e.g. a Levenberg--Marquardt end point).
    tol : float, default 1e-10
        Target gradient norm.
    max_iter : int, default 50
        Newton iterations at most.
    cutoff : float, default 1e-12
        Relative cutoff of the pseudo-inverse.

    Returns
    -------
    (numpy.ndarray, float, int)
        The polished point, its gradient norm, and the Newton iterations taken.

    Examples
    --------
    >>> quartic = lambda t: ((t**2 - 1) ** 2).sum()
    >>> th, gn, it = polish(quartic, np.array([0.9, 0.05]))
    >>> np.round(th, 12).tolist(), bool(gn <= 1e-10)
    ([1.0, 0.0], True)
    """
    check_scalar(tol, "tol", float, min_val=0, include_boundaries="neither")
    check_scalar(max_iter, "max_iter", int, min_val=0)
    theta = np.array(check_finite(np.asarray(theta, dtype=np.float64), "theta"))
    g_fn, h_fn = grad(loss), torch.func.hessian(loss)

    def g_of(th):
        return g_fn(torch.as_tensor(th, dtype=torch.float64)).detach().numpy()

    g = g_of(theta)
    gn, it = float(np.linalg.norm(g)), 0
    for it in range(1, max_iter + 1):
        if gn <= tol:
            return theta, gn, it - 1
        lam, V = np.linalg.eigh(h_fn(torch.as_tensor(theta, dtype=torch.float64)).detach().numpy())
        step = _newton_step(lam, V, g, cutoff * float(np.abs(lam).max()))
        for _ in range(40):
            trial = theta + step
            g_t = g_of(trial)
            gn_t = float(np.linalg.norm(g_t))
            if gn_t < gn:
                theta, g, gn = trial, g_t, gn_t
                break
            step = step / 2
        else:
            return theta, gn, it  # no Newton step lowers |g|: as close as float64 gets
    return theta, gn, it


@dataclass(frozen=True)
class CriticalPoints:
    """Result of :func:`find_critical_points`: one table row per start, and the points' vectors and spectra.

    ``table`` columns: ``start, loss, grad_norm`` (after polishing), ``grad_norm_lm`` (Levenberg--Marquardt's end),
    ``critical, index, n_negative, n_zero, index_tol`` (:func:`residual_tolerance`), ``lambda_max, n_params,
    iterations, polish_iterations``; ``thetas[i]`` and ``eigenvalues[i]`` (ascending, dense Hessian) belong to row
    ``i``.

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
    success and grows on failure, so the method is gradient descent on :math:`\|g\|^2` far away and Newton near.
    """
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
                         zero_tol: float = 1e-10, polish_tol: float = 1e-10, polish_iter: int = 50,
                         critical_tol: float = 1e-8, tol_factor: float = 10.0,
                         progress: bool = False) -> CriticalPoints:
    r"""Minimise :math:`\tfrac12\|\nabla L\|^2` (Levenberg--Marquardt, Newton near the end) from each row of
    ``starts`` (k, p), then polish (:func:`polish`) and count the index with the residual's tolerance
    (:func:`residual_tolerance`).

    Returns every end point with its loss, polished gradient norm, index and dense-Hessian eigenvalues; filter with
    :meth:`CriticalPoints.critical`. Deterministic for fixed starts.

    Parameters
    ----------
    loss : callable
        Closure of the flat float64 vector whose critical points are sought.
    starts : array (k, p)
    max_iter : int
        Levenberg-Marquardt iterations per start.
    grad_tol : float
        Gradient norm at which Levenberg--Marquardt hands over to the polish.
    zero_tol : float, default 1e-10
        Relative floor of the eigenvalue tolerance (float64 round-off).
    polish_tol : float, default 1e-10
        Gradient norm the polish aims at (it stops earlier when no step lowers the norm or its iterations run out).
    polish_iter : int, default 50
        Polish of a point that Levenberg--Marquardt brought to ``grad_tol``: that many more Levenberg--Marquardt
        iterations aiming at ``polish_tol``, then up to 10 Newton steps (:func:`polish`); 0: no polish.
    critical_tol : float, default 1e-8
        A point is critical when its polished gradient norm is at most this.
    tol_factor : float, default 10.0
        Factor :math:`c` of :func:`residual_tolerance`.
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
    check_scalar(grad_tol, "grad_tol", float, min_val=0, include_boundaries="neither")
    check_scalar(critical_tol, "critical_tol", float, min_val=0, include_boundaries="neither")
    rows, thetas, spectra = [], [], []
    for i, s in enumerate(tqdm(starts, desc="critical points", disable=not progress)):
        theta, iters = _levenberg_marquardt(loss, s, max_iter, grad_tol)
        gnorm_lm = float(grad(loss)(torch.as_tensor(theta, dtype=torch.float64)).norm())
        p_iters = 0
        if gnorm_lm <= grad_tol and polish_iter > 0:  # polish: Levenberg--Marquardt on to polish_tol, then Newton
            theta, p_iters = _levenberg_marquardt(loss, theta, polish_iter, polish_tol)
            theta, _, n_iters = polish(loss, theta, tol=polish_tol, max_iter=10)
            p_iters += n_iters
        gnorm = float(grad(loss)(torch.as_tensor(theta, dtype=torch.float64)).norm())
        t = torch.as_tensor(theta, dtype=torch.float64)
        ev = np.linalg.eigvalsh(torch.func.hessian(loss)(t).detach().numpy())
        tau = residual_tolerance(loss, theta, factor=tol_factor, zero_tol=zero_tol)
        frac, neg, zero = hessian_index(ev, zero_tol, abs_tol=tau)
        rows.append({"start": i, "loss": float(loss(t)), "grad_norm": gnorm, "grad_norm_lm": gnorm_lm,
                     "critical": gnorm <= critical_tol, "index": frac, "n_negative": neg, "n_zero": zero,
                     "index_tol": tau, "lambda_max": float(np.abs(ev).max()), "n_params": theta.size,
                     "iterations": iters, "polish_iterations": p_iters})
        thetas.append(theta)
        spectra.append(ev)
    return CriticalPoints(pd.DataFrame(rows), np.array(thetas), np.array(spectra))


@dataclass(frozen=True)
class IndexEnergyFit:
    r"""Fits of the energy of critical points against their index.

    ``eps_c, alpha0``: :math:`\alpha = \alpha_0(\epsilon-\epsilon_c)^{3/2}`, i.e. a straight line
    :math:`\epsilon = \epsilon_c + \alpha_0^{-2/3}\alpha^{2/3}` through the saddles (index > 0, where the law
    holds); ``exponent``: the free fit :math:`\epsilon = \epsilon_c' + c\,\alpha^{1/\beta}` returns :math:`\beta`
    (theory 3/2), ``nan`` if it fails. ``eps_c`` is *bracketed* when some minimum (index 0) lies at or below it and
    some saddle at or above it: only then do the points decide where the index switches on.

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
        Distinct positive indices the energies were averaged over (the fit's levels).
    n_points : int, default 0
        Critical points on those levels (the points the fit used).
    n_below : int, default 0
        Minima (index 0) with energy at or below ``eps_c``.
    n_above : int, default 0
        Saddles (index > 0) with energy at or above ``eps_c``.
    """

    eps_c: float
    alpha0: float
    exponent: float
    eps_c_free: float
    n_levels: int
    n_points: int = 0
    n_below: int = 0
    n_above: int = 0

    @property
    def bracketed(self) -> bool:
        """Whether minima below and saddles above the fitted ``eps_c`` both exist."""
        return bool(np.isfinite(self.eps_c) and self.n_below > 0 and self.n_above > 0)


def index_energy_fit(energy, index) -> IndexEnergyFit:
    r"""Fit the source's :math:`\alpha \approx \alpha_0|\epsilon-\epsilon_c|^{3/2}` to critical points (Fig. 6a).

    As in the source, the energies are first averaged over points of equal index. The law holds above
    :math:`\epsilon_c` (:math:`\alpha > 0`); below it every critical point is a minimum at whatever energy, so the
    line is fitted to the positive index levels only, and the minima serve to check that :math:`\epsilon_c` is
    bracketed (:attr:`IndexEnergyFit.bracketed`).

    Parameters
    ----------
    energy, index : array_like
        One entry per critical point (index >= 0); at least two distinct positive indices.

    Returns
    -------
    IndexEnergyFit

    Examples
    --------
    >>> a = np.array([0.0, 0.01, 0.02, 0.05]); e = np.array([0.05, *(0.1 + (a[1:] / 2.0) ** (2 / 3))])
    >>> f = index_energy_fit(e, a); round(f.eps_c, 9), round(f.alpha0, 9), f.n_points, f.bracketed
    (0.1, 2.0, 3, True)
    """
    e, a = np.asarray(energy, dtype=np.float64).ravel(), np.asarray(index, dtype=np.float64).ravel()
    check_finite(e, "energy")
    check_finite(a, "index")
    if e.size != a.size or np.any(a < 0):
        raise ValueError("energy and index must be of equal length, index >= 0")
    pos = a > 0
    levels = pd.DataFrame({"a": a[pos], "e": e[pos]}).groupby("a", as_index=False)["e"].mean()
    if len(levels) < 2:
        raise ValueError("need critical points of at least two different positive indices")
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
    return IndexEnergyFit(float(eps_c), alpha0, beta, eps_free, int(len(levels)), int(pos.sum()),
                          int(np.sum(~pos & (e <= eps_c))), int(np.sum(pos & (e >= eps_c))))


def _study_unit(n: int, phi: float, n_starts: int, max_iter: int, grad_tol: float, seed: int, polish_iter: int):
    """One value of phi of :func:`index_energy_study` (a unit for :func:`~landscape.infra.executor.map_units`)."""
    from landscape.geometry import linearise

    m = max(1, int(round(2 * n / phi)))
    rng = np.random.default_rng([seed, m, 6])
    X, Y = rng.standard_normal((m, n)), rng.standard_normal((m, n))
    net = linearise.two_layer(n, n, n_out=n, activation="tanh", seed=seed, scaled=False, second="normal")
    loss = model_loss(net, X, Y, "mse", scale=0.5)  # = n^{-1} (2m)^{-1} sum ||e||^2, the energy eps
    starts = descent_starts(loss, 2 * n**2, n_starts, seed=seed, scale=0.8, lr=0.5, max_steps=3000)
    every = find_critical_points(loss, starts, max_iter=max_iter, grad_tol=grad_tol, polish_iter=polish_iter).table
    every = every.assign(phi=2 * n / m, m=m)  # every start, the polished critical points flagged ``critical``
    tab = every[every["critical"]].reset_index(drop=True)
    fit = index_energy_fit(tab.loss, tab["index"]) if tab.loc[tab["index"] > 0, "index"].nunique() >= 2 else None
    nan = float("nan")
    ok = fit is not None and fit.bracketed
    return every, {"phi": 2 * n / m, "m": m, "critical": len(tab), "starts": n_starts,
                 "minima": int((tab["index"] == 0).sum()),
                 "max_grad_norm": float(tab.grad_norm.max()) if len(tab) else nan,
                 "eps_c": fit.eps_c if ok else nan, "eps_c_line": fit.eps_c if fit else nan,
                 "bracketed": ok, "fit_points": fit.n_points if fit else 0,
                 "fit_levels": fit.n_levels if fit else 0, "minima_below": fit.n_below if fit else 0,
                 "saddles_above": fit.n_above if fit else 0,
                 "alpha0": fit.alpha0 if fit else nan,
                 "exponent": fit.exponent if fit else nan, "min_energy": float(tab.loss.min()) if len(tab) else nan,
                 "eps_c_tanh_source": 0.5 * (1 - 2 * n / m) ** 2, "eps_c_linear_source": 0.5 * (1 - 2 * n / m)}


def index_energy_study(n: int, phis, *, n_starts: int, max_iter: int, grad_tol: float, seed: int = 0, jobs=None,
                       polish_iter: int = 100, progress: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
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
        Starts per :math:`\phi`, Levenberg--Marquardt iterations, and the gradient norm at which Levenberg--Marquardt
        hands over to the Newton polish (every point is polished to ~1e-10 and counts as critical at
        :math:`\le 10^{-8}`; its index uses :func:`residual_tolerance`).
    seed : int
        Seed of the data, the net and the starts.
    jobs : int or None
        Worker processes for the values of :math:`\phi` (:func:`landscape.infra.executor.map_units`); the numbers do not
        depend on it.
    polish_iter : int, default 100
        Levenberg--Marquardt iterations of the polish (:func:`find_critical_points`).
    progress : bool, default False
        Show a progress bar over the values of :math:`\phi`.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        Every start after polishing (columns of :class:`CriticalPoints` plus ``phi``, ``m``; the critical points
        are the rows with ``critical`` true) and one fit row per
        :math:`\phi` (phi, m, critical, starts, minima (index-0 points), max_grad_norm (largest polished gradient
        norm), eps_c (``nan`` unless bracketed), eps_c_line (the line fit whatever the bracketing), bracketed,
        fit_points and fit_levels (what the fit used), minima_below, saddles_above, alpha0, exponent, min_energy,
        and the source's laws
        eps_c_tanh_source :math:`(1-\phi)^2/2`, eps_c_linear_source :math:`(1-\phi)/2`).
    """
    from landscape.infra.executor import map_units

    check_scalar(n, "n", int, min_val=1)
    check_scalar(polish_iter, "polish_iter", int, min_val=0)
    units = [(n, float(phi), n_starts, max_iter, grad_tol, seed, polish_iter) for phi in phis]
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
