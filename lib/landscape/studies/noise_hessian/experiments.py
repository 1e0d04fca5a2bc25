"""The network experiments of chapter 04 (source 004 on digits): sweeps and runs that return tidy frames.

Each function trains or evaluates with :mod:`.nets`, :mod:`.alignment`, :mod:`.valley` and :mod:`.fdr`; the
chapter only calls them. Substitutes: digits (scikit-learn) instead of MNIST / CIFAR, small MLPs / CNNs instead of
the source's networks (the chapter names each difference).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from landscape.curvature import hessian
from landscape.infra.executor import map_units
from landscape.infra.validation import check_choice, check_finite, check_scalar
from landscape.nets import models
from landscape.noise.alignment import dense_alignment, matrix_free_alignment
from landscape.noise.valley import (
    Projection,
    ValleyPath,
    line_connected,
    line_losses,
    project_to_valley,
    projected_path,
)
from landscape.studies.noise_hessian.nets import SAMPLINGS, flat_loss, flat_loss_grad, negative_eigen_sum, sgd_record

__all__ = ["lbfgs_minimum", "newton_minimum", "negative_eigen_window_sweep", "alignment_during_training",
           "alignment_study", "NegativeCurvatureFit", "negative_curvature_fit", "pooled_exponent",
           "hessian_gauss_newton_cs", "valley_run", "shuffled_label_start"]


def lbfgs_minimum(model, loss_fn, X, y, *, max_iter: int = 1000) -> tuple[float, float]:
    """Full-batch L-BFGS (strong Wolfe line search) from the model's weights to a minimum of the training loss,
    in place; returns ``(loss, gradient norm)``. A stand-in for the source's 10k epochs of GD (lr 0.1), which on
    our net stops measurably short of the minimum (SGD then descends further instead of fluctuating above it).

    Parameters
    ----------
    model : torch.nn.Module
        Moved to the minimum in place.
    loss_fn : callable
    X, y : tensors
        The training set (full batch).
    max_iter : int
        L-BFGS iterations.

    Returns
    -------
    (float, float)
        The loss and the gradient norm at the end.
    """
    check_scalar(max_iter, "max_iter", int, min_val=1)
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    opt = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=max_iter, history_size=50,
                            line_search_fn="strong_wolfe", tolerance_grad=1e-9, tolerance_change=1e-14)

    def closure():
        opt.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        return loss

    opt.step(closure)
    opt.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    gnorm = float(torch.cat([p.grad.reshape(-1) for p in model.parameters()]).norm())
    model.zero_grad(set_to_none=True)
    return float(loss.detach()), gnorm


def newton_minimum(model, loss_fn, X, y, *, max_iter: int = 60, tol: float = 1e-9) -> dict:
    r"""Saddle-free damped Newton from the model's weights to a local minimum of the full-batch loss, in place: the
    minimum of Fig. 2(a) made verifiable on a smooth net (softplus), where L-BFGS stops short.

    Each step is :math:`\delta = -V(|\Lambda| + \mu)^{-1}V^\top\nabla L` from the eigendecomposition
    :math:`H = V\Lambda V^\top` of the dense float64 Hessian (Dauphin et al. 2014's saddle-free Newton with
    Levenberg--Marquardt damping): negative-curvature directions are descended, not attracted to; a step is taken
    only if it lowers the loss, :math:`\mu` shrinks by 3 on success and grows by 4 on failure. Near a
    non-degenerate minimum the steps are Newton steps (quadratic convergence); along flat directions progress is
    slow, which the returned gradient norm and smallest eigenvalue show.

    Parameters
    ----------
    model : torch.nn.Module
        Smooth activation, float64 (the dense Hessian has ``P^2`` entries); moved in place.
    loss_fn : callable
        ``loss_fn(outputs, y)``.
    X, y : tensors
        The training set (full batch).
    max_iter : int
        Newton steps at most.
    tol : float
        Stop when the gradient norm is below it.

    Returns
    -------
    dict
        ``loss``, ``grad_norm``, ``iterations``, ``lambda_min`` and ``lambda_max`` (dense Hessian at the last
        accepted point; a minimum: ``lambda_min >= 0`` up to round-off / flat directions), ``last_gain`` (the loss
        decrease of the last accepted step).

    Examples
    --------
    >>> net = torch.nn.Linear(2, 1).double()
    >>> X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]], dtype=torch.float64)
    >>> y = torch.tensor([[1.0], [2.0], [2.0], [0.0]], dtype=torch.float64)
    >>> out = newton_minimum(net, torch.nn.functional.mse_loss, X, y)  # a quadratic: least squares
    >>> bool(out["grad_norm"] < 1e-9), round(out["loss"], 9), bool(out["lambda_min"] > 0)
    (True, 0.0625, True)
    """
    from torch.func import functional_call, grad
    from torch.func import hessian as func_hessian

    check_scalar(max_iter, "max_iter", int, min_val=0)
    check_scalar(tol, "tol", float, min_val=0, include_boundaries="neither")
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    theta = models.flatten(model).detach().clone().to(torch.float64)

    def loss(t):
        return loss_fn(functional_call(model, models.unflatten(model, t), (X,)), y)

    f, mu, it, gain = float(loss(theta)), None, 0, math.nan
    for it in range(1, max_iter + 2):
        g = grad(loss)(theta)
        lam, V = torch.linalg.eigh(func_hessian(loss)(theta))
        if float(g.norm()) <= tol or it > max_iter:
            it -= 1
            break
        gv = V.T @ g
        mu = 1e-6 * float(lam.abs().max()) if mu is None else mu
        for _ in range(40):
            trial = theta - V @ (gv / (lam.abs() + mu))
            f_t = float(loss(trial))
            if f_t < f:
                theta, gain, f, mu = trial, f - f_t, f_t, mu / 3
                break
            mu *= 4
        else:
            break  # no step lowers the loss: as close as float64 gets
    models.assign(model, theta)
    return {"loss": f, "grad_norm": float(g.norm()), "iterations": it, "lambda_min": float(lam[0]),
            "lambda_max": float(lam[-1]), "last_gain": gain}


def _window_unit(model, loss_fn, X, y, theta0, S: int, lr: float, epochs: int, snapshots: int, seed: int,
                 sampling: str = "reshuffle") -> dict:
    """One setting of :func:`negative_eigen_window_sweep` (a module-level unit): SGD from ``theta0`` for
    ``epochs``, the second half the measuring window; the loss at every epoch end, the dense spectrum at
    ``snapshots`` epoch ends spread over the window.
    """
    models.assign(model, theta0.clone())
    half = epochs // 2
    marks = sorted({half + round((k + 1) * (epochs - half) / snapshots) for k in range(snapshots)})
    sums, spectra = [], []
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    base = {"batch_size": S, "lr": lr, "strength": 1 / S - 1 / len(X), "eta_s": lr * (1 / S - 1 / len(X)),
            "epochs": epochs}
    try:
        rec = sgd_record(model, loss_fn, X, y, lr=lr, batch_size=S, epochs=epochs, seed=seed, keep="epochs",
                         sampling=sampling)
    except FloatingPointError:  # lr above 2 / lambda_max of the minimum: a diverged setting, not a measurement
        nan = math.nan
        return {**base, "train_loss": nan, "loss_first": nan, "loss_second": nan, "lowest_loss": math.inf,
                "neg_sum": nan, "neg_sum_se": nan, "snapshots": 0, "n_negative": nan, "neg_to_pos": nan,
                "min_to_max": nan, "near_zero": nan, "near_zero_0.0001": nan, "near_zero_1e-05": nan,
                "top_eigenvalue": nan, "diverged": True,
                "lowest_state": theta0.cpu().numpy()}
    for e in marks:
        models.assign(model, torch.as_tensor(rec.states[e], dtype=theta0.dtype))
        neg, w = negative_eigen_sum(model, loss_fn, X, y)
        sums.append(neg)
        spectra.append(w)
    losses = rec.train_loss
    k = int(np.argmin(losses))
    win = losses[half + 1:]  # at least two epoch ends (epochs >= 4)
    mid = len(win) // 2
    W = np.stack(spectra)
    pos = np.where(W > 0, W, 0).sum(axis=1)
    return {**base, "train_loss": float(win.mean()), "loss_first": float(win[:mid].mean()),
            "loss_second": float(win[mid:].mean()), "lowest_loss": float(losses[k]),
            "neg_sum": float(np.mean(sums)), "neg_sum_se": float(np.std(sums, ddof=1) / np.sqrt(len(sums)))
            if len(sums) > 1 else math.nan, "snapshots": len(sums),
            "n_negative": float(np.mean((W < -1e-9 * W[:, -1:]).sum(axis=1))),
            "neg_to_pos": float(np.mean(-np.asarray(sums) / pos)),
            "min_to_max": float(np.mean(-W[:, 0] / W[:, -1])),
            "near_zero": float(np.mean((np.abs(W) < 1e-3 * W[:, -1:]).mean(axis=1))),
            **{f"near_zero_{t:g}": float(np.mean((np.abs(W) < t * W[:, -1:]).mean(axis=1))) for t in (1e-4, 1e-5)},
            "top_eigenvalue": float(W[:, -1].mean()), "diverged": False, "lowest_state": rec.states[k]}


def negative_eigen_window_sweep(model, loss_fn, X, y, *, batch_sizes, lrs, steps: int, snapshots: int = 4,
                                seed: int = 0, max_rounds: int = 3, lbfgs_iter: int = 500,
                                newton_iter: int = 0, sampling: str = "reshuffle", jobs=None,
                                progress: bool = False) -> tuple[pd.DataFrame, dict]:
    r"""Fig. 2(a) / App. A.3 with a verified minimum and stationary averages.

    The model is first taken to a minimum by :func:`lbfgs_minimum`. From it, SGD runs at every batch size and
    learning rate for about ``steps`` steps (whole epochs); the second half is the measuring window, where the mean
    training loss (every epoch end) and the mean sum of negative Hessian eigenvalues (dense spectra at ``snapshots``
    epoch ends) are taken. The minimum is *verified*: if any SGD epoch end of any setting lies below it, L-BFGS is
    restarted from the lowest such state and the sweep is repeated (``max_rounds`` in all).

    Parameters
    ----------
    model : torch.nn.Module
        Small enough for a dense Hessian (float64 recommended); left at the minimum.
    loss_fn : callable
        ``loss_fn(logits, y)``, picklable when ``jobs > 1``.
    X, y : tensors
        The training set.
    batch_sizes, lrs : sequences
        The grid; setting ``i`` (batch-size-major) shuffles with seed ``1000 seed + i``.
    steps : int
        About this many SGD steps per setting (whole epochs, at least four).
    snapshots : int
        Dense spectra per setting in the window.
    seed : int
        Seed of the shuffles.
    max_rounds : int
        Sweeps at most (each after a new L-BFGS minimum).
    lbfgs_iter : int
        L-BFGS iterations per minimisation.
    newton_iter : int
        After L-BFGS, steps of :func:`newton_minimum` at most (0: none; needs a smooth net).
    sampling : str, default "reshuffle"
        The minibatch sampler of :func:`~landscape.studies.noise_hessian.nets.sgd_record`: "reshuffle" (a fresh
        permutation per epoch) or "independent" (every step its own draw, the noise model of App. A.3).
    jobs : int or None
        Worker processes for the settings; the numbers do not depend on it.
    progress : bool, default False
        Show a progress bar over the settings.

    Returns
    -------
    (pandas.DataFrame, dict)
        One row per setting (batch_size, lr, strength, eta_s, epochs, train_loss and its halves loss_first /
        loss_second, lowest_loss, neg_sum and its standard error over the snapshots, n_negative, neg_to_pos
        :math:`|\sum\lambda_-|/\sum\lambda_+`, min_to_max :math:`|\lambda_{\min}|/\lambda_{\max}`, near_zero the
        share with :math:`|\lambda| < 10^{-3}\lambda_{\max}` (near_zero_0.0001, near_zero_1e-05: below
        :math:`10^{-4}`, :math:`10^{-5}\lambda_{\max}`), top_eigenvalue, diverged: SGD blew up, the row's
        measurements are NaN); and the minimum: ``loss``,
        ``grad_norm``, ``rounds``, ``below`` (lowest SGD loss minus the minimum's, >= 0 when verified),
        ``verified``; with ``newton_iter`` also ``newton_iterations``, ``lambda_min``, ``lambda_max`` and
        ``last_gain`` of :func:`newton_minimum`.
    """
    steps = check_scalar(steps, "steps", int, min_val=2)
    snapshots = check_scalar(snapshots, "snapshots", int, min_val=1)
    max_rounds = check_scalar(max_rounds, "max_rounds", int, min_val=1)
    newton_iter = check_scalar(newton_iter, "newton_iter", int, min_val=0)
    check_choice(sampling, "sampling", SAMPLINGS)
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    N = len(X)
    grid = [(int(S), float(lr)) for S in batch_sizes for lr in lrs]
    for r in range(1, max_rounds + 1):
        loss_min, gnorm = lbfgs_minimum(model, loss_fn, X, y, max_iter=lbfgs_iter)
        newton = {}
        if newton_iter > 0:
            newton = newton_minimum(model, loss_fn, X, y, max_iter=newton_iter)
            loss_min, gnorm = newton["loss"], newton["grad_norm"]
        theta0 = models.flatten(model)
        units = [(model, loss_fn, X, y, theta0, S, lr, max(4, round(steps / math.ceil(N / S))), snapshots,
                  seed * 1000 + i, sampling) for i, (S, lr) in enumerate(grid)]
        rows = map_units(_window_unit, units, star=True, jobs=jobs, progress=progress, desc="sweep")
        low = min(rows, key=lambda row: row["lowest_loss"])
        below = low["lowest_loss"] - loss_min
        if below >= 0 or r == max_rounds:
            break
        models.assign(model, torch.as_tensor(low["lowest_state"], dtype=theta0.dtype))
    models.assign(model, theta0)
    df = pd.DataFrame([{k: v for k, v in row.items() if k != "lowest_state"} for row in rows])
    out = {"loss": loss_min, "grad_norm": gnorm, "rounds": r, "below": float(below), "verified": below >= 0}
    if newton:
        out.update(newton_iterations=newton["iterations"], lambda_min=newton["lambda_min"],
                   lambda_max=newton["lambda_max"], last_gain=newton["last_gain"])
    return df, out


@dataclass(frozen=True)
class NegativeCurvatureFit:
    r"""Fig. 2(a)'s fits to the stationary averages (App. A.3: :math:`\langle\sum\lambda_-\rangle \propto
    \langle L\rangle - L^*`), each with a 95 % interval (Student t over the settings).

    Parameters
    ----------
    slope, slope_low, slope_high : float
        Least squares through the origin, ``neg_sum = slope * excess``, and its interval.
    r2_origin : float
        Uncentred :math:`R^2` of that fit, :math:`1 - \sum r^2/\sum y^2`.
    intercept, intercept_low, intercept_high : float
        The intercept of the free line ``neg_sum = a * excess + b`` and its interval (0 inside: consistent with
        proportionality).
    exponent, exponent_low, exponent_high : float
        The exponent ``p`` of ``|neg_sum| ~ excess**p`` (log-log least squares; proportional: 1) and its interval.
    n : int
        Settings in the fit.
    """

    slope: float
    slope_low: float
    slope_high: float
    r2_origin: float
    intercept: float
    intercept_low: float
    intercept_high: float
    exponent: float
    exponent_low: float
    exponent_high: float
    n: int


def _ols(x: np.ndarray, y: np.ndarray, origin: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """Coefficients, their standard errors and the residual sum of squares of least squares."""
    A = x[:, None] if origin else np.column_stack([x, np.ones_like(x)])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    r = y - A @ coef
    dof = len(x) - A.shape[1]
    s2 = float(r @ r) / dof if dof > 0 else math.nan
    se = np.sqrt(np.diag(s2 * np.linalg.inv(A.T @ A)))
    return coef, se, float(r @ r)


def negative_curvature_fit(excess, neg_sum) -> NegativeCurvatureFit:
    """The fits of Fig. 2(a) to stationary averages: through the origin, free, and log-log.

    Parameters
    ----------
    excess : array_like
        Mean training loss above the minimum per setting, all > 0 (at least three settings).
    neg_sum : array_like
        Mean sum of negative eigenvalues per setting (<= 0).

    Returns
    -------
    NegativeCurvatureFit

    Examples
    --------
    >>> fit = negative_curvature_fit([0.1, 0.2, 0.4, 0.8], [-2.0, -4.0, -8.0, -16.0])
    >>> round(fit.slope, 6), round(fit.exponent, 6), abs(round(fit.intercept, 6)), fit.n
    (-20.0, 1.0, 0.0, 4)
    """
    from scipy import stats

    x, y = np.asarray(excess, dtype=float), np.asarray(neg_sum, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 3:
        raise ValueError(f"excess and neg_sum must be 1-D of the same length >= 3, got {x.shape} and {y.shape}")
    check_finite(x, "excess")
    check_finite(y, "neg_sum")
    if np.any(x <= 0) or np.any(y >= 0):
        raise ValueError("excess must be > 0 and neg_sum < 0 in every setting of the fit")
    n = len(x)
    (k,), (k_se,), rss = _ols(x, y, origin=True)
    t1, t2 = stats.t.ppf(0.975, n - 1), stats.t.ppf(0.975, n - 2)
    (_, b), (_, b_se), _ = _ols(x, y, origin=False)
    (p, _), (p_se, _), _ = _ols(np.log(x), np.log(-y), origin=False)
    return NegativeCurvatureFit(float(k), float(k - t1 * k_se), float(k + t1 * k_se), float(1 - rss / (y @ y)),
                                float(b), float(b - t2 * b_se), float(b + t2 * b_se), float(p),
                                float(p - t2 * p_se), float(p + t2 * p_se), n)


def pooled_exponent(x, y, groups) -> tuple[float, float, float, int]:
    """The common exponent ``p`` of ``|y| ~ c_g |x|**p`` over several runs ``g`` (each its own prefactor ``c_g``):
    least squares of ``log|y|`` on ``log|x|`` with one intercept per group, and the 95 % t-interval of ``p``.

    Fig. 2(a) over seeds: every seed trains its own net to its own minimum, so the prefactor (the slope of the
    figure) differs between seeds while the exponent (proportional: 1) is the claim; pooling the settings of all
    seeds with a per-seed intercept estimates it from every setting.

    Parameters
    ----------
    x, y : array_like
        Nonzero values of the same length.
    groups : array_like
        The run of each point; at least one group with two points and more points than groups + 1.

    Returns
    -------
    (float, float, float, int)
        ``p``, its 95 % interval (low, high) and the number of points.

    Examples
    --------
    >>> p, lo, hi, n = pooled_exponent([1, 2, 4, 1, 2, 4], [3, 6, 12, 5, 10, 20], [0, 0, 0, 1, 1, 1])
    >>> round(p, 9), n
    (1.0, 6)
    """
    from scipy import stats

    x, y, g = np.asarray(x, dtype=float), np.asarray(y, dtype=float), np.asarray(groups)
    if not (x.shape == y.shape == g.shape) or x.ndim != 1:
        raise ValueError(f"x, y and groups must be 1-D of the same length, got {x.shape}, {y.shape}, {g.shape}")
    check_finite(x, "x")
    check_finite(y, "y")
    if np.any(x == 0) or np.any(y == 0):
        raise ValueError("x and y must be nonzero (their logarithms are fitted)")
    labels = np.unique(g)
    dof = len(x) - len(labels) - 1
    if dof < 1:
        raise ValueError(f"groups: {len(x)} points in {len(labels)} groups leave no degree of freedom for the fit")
    A = np.column_stack([np.log(np.abs(x))] + [(g == lab).astype(float) for lab in labels])
    if np.linalg.matrix_rank(A) < A.shape[1]:
        raise ValueError("x must vary within at least one group")
    coef, *_ = np.linalg.lstsq(A, np.log(np.abs(y)), rcond=None)
    r = np.log(np.abs(y)) - A @ coef
    se = float(np.sqrt((r @ r) / dof * np.linalg.inv(A.T @ A)[0, 0]))
    t = stats.t.ppf(0.975, dof)
    return float(coef[0]), float(coef[0] - t * se), float(coef[0] + t * se), len(x)


def hessian_gauss_newton_cs(model, loss_fn, X, y, *, n_probes: int = 30, seed: int = 0) -> float:
    r"""CS(H, G), eq (35) between the Hessian and its Gauss--Newton part, matrix-free with shared Rademacher probes
    :math:`z`: :math:`\sum_z (Hz)\cdot(Gz) / \sqrt{\sum_z |Hz|^2 \sum_z |Gz|^2}` (Hutchinson estimates of
    :math:`\mathrm{Tr}(HG)`, :math:`\|H\|_F^2`, :math:`\|G\|_F^2`). Fig. 5's misalignment: H vs G or G vs C.

    Parameters
    ----------
    model : torch.nn.Module
    loss_fn : callable
    X, y : tensors
        The samples of H and G.
    n_probes : int
        Probes.
    seed : int
        Seed of the probes.

    Returns
    -------
    float
    """
    check_scalar(n_probes, "n_probes", int, min_val=1)
    data = (torch.as_tensor(X), torch.as_tensor(y))
    H = hessian.hessian_operator(model, loss_fn, data, dtype=torch.float64)
    G = hessian.gauss_newton(model, loss_fn, data, dtype=torch.float64)
    V = hessian.probe_vectors(H.shape[0], n_probes, seed).T
    HV, GV = H.matmat(V), G.matmat(V)
    return float(np.sum(HV * GV) / np.sqrt(np.sum(HV * HV) * np.sum(GV * GV)))


def alignment_during_training(model, loss_fn, X, y, *, lr: float, batch_size: int, checkpoints, X_eval, y_eval,
                              n_probes: int = 30, seed: int = 0, gauss_newton: bool = False, dense: bool = False,
                              progress: bool = False) -> pd.DataFrame:
    """Fig. 5 / App. A.4: SGD in segments up to each checkpoint epoch; at each, CS(H, C) (eq 35) on
    ``(X_eval, y_eval)``, matrix-free (``dense``: the dense float64 oracle), and CS(G, C) with the Gauss--Newton
    part when ``gauss_newton``. Epoch 0 is the initialisation.

    Parameters
    ----------
    model : torch.nn.Module
        Trained in place, segment by segment.
    loss_fn : callable
    X, y : tensors
        Training set of the SGD segments.
    lr, batch_size : float, int
        Plain SGD; segment ``i`` shuffles with seed ``1000 seed + i``.
    checkpoints : sequence of int
        Epochs at which CS is measured (0 = initialisation).
    X_eval, y_eval : tensors
        Samples on which H and C are evaluated.
    n_probes, seed : int
        Hutchinson probes, drawn with seed ``seed + i`` at checkpoint ``i``.
    gauss_newton, dense : bool
        Add CS(G, C); use the dense oracle.
    progress : bool, default False
        Show a progress bar over the checkpoints.

    Returns
    -------
    pandas.DataFrame
        One row per checkpoint: epoch, step, train_loss, cs (and cs_gauss_newton, CS(G, C), and cs_h_gauss_newton,
        CS(H, G), by :func:`hessian_gauss_newton_cs`).
    """
    cps = sorted({int(c) for c in checkpoints})
    rows, done = [], 0
    for i, epoch in enumerate(tqdm(cps, desc="alignment", disable=not progress)):
        if epoch > done:
            sgd_record(model, loss_fn, X, y, lr=lr, batch_size=batch_size, epochs=epoch - done,
                       seed=seed * 1000 + i, keep="epochs")
            done = epoch
        with torch.no_grad():
            loss = float(loss_fn(model(torch.as_tensor(X)), torch.as_tensor(y)))
        kw = {} if dense else {"n_probes": n_probes, "seed": seed + i}
        fn = dense_alignment if dense else matrix_free_alignment
        row = {"epoch": epoch, "step": epoch * math.ceil(len(X) / batch_size), "train_loss": loss,
               "cs": fn(model, loss_fn, X_eval, y_eval, **kw).cs}
        if gauss_newton:
            row["cs_gauss_newton"] = fn(model, loss_fn, X_eval, y_eval, gauss_newton=True, **kw).cs
            row["cs_h_gauss_newton"] = hessian_gauss_newton_cs(model, loss_fn, X_eval, y_eval,
                                                               n_probes=n_probes, seed=seed + i)
        rows.append(row)
    return pd.DataFrame(rows)


def _alignment_unit(name: str, loss_fn, X, targets, lr: float, hidden: int, n_out: int, kw: dict) -> pd.DataFrame:
    """One loss of :func:`alignment_study`: a fresh MLP trained with ``loss_fn`` (a module-level unit)."""
    net = models.mlp([X.shape[1], hidden, n_out], seed=kw["seed"], device=X.device)
    return alignment_during_training(net, loss_fn, X, targets, lr=lr, **kw).assign(loss=name, lr=lr, seed=kw["seed"])


def alignment_study(runs, X, *, hidden: int, batch_size: int, checkpoints, n_eval: int, n_probes: int = 30,
                    seed: int = 0, seeds: int = 1, jobs=None, progress: bool = False,
                    n_out: int = 10) -> pd.DataFrame:
    """Fig. 5 / App. A.4 for several losses: per run a one-hidden-layer MLP (``hidden`` units, ``n_out`` outputs,
    seed ``seed``) trained by :func:`alignment_during_training`, CS(H, C) and CS(G, C) on the first ``n_eval``
    samples; ``seeds`` independent runs per loss (seeds ``seed .. seed + seeds - 1``: initialisation, shuffles and
    probes).

    Parameters
    ----------
    runs : sequence of (name, loss_fn, targets, lr)
        One run per loss; ``loss_fn`` picklable when ``jobs > 1``.
    X : tensor (N, d)
        Training inputs (on the device the nets should use).
    hidden, batch_size, checkpoints, n_probes, seed
        As in :func:`alignment_during_training` (``batch_size`` is capped at N).
    n_eval : int
        Samples on which H and C are evaluated.
    jobs : int or None
        Worker processes for the runs (:func:`landscape.infra.executor.map_units`); the numbers do not depend on it.
    progress : bool, default False
        Show a progress bar over the runs.
    n_out : int, default 10
        Outputs of the MLP: the classes (the digits' 10), or the target width of a regression.
    seeds : int, default 1
        Independent runs per loss.

    Returns
    -------
    pandas.DataFrame
        The runs' frames stacked, with columns ``loss`` (the name), ``lr`` and ``seed`` added.
    """
    check_scalar(hidden, "hidden", int, min_val=1)
    check_scalar(n_eval, "n_eval", int, min_val=1)
    check_scalar(n_out, "n_out", int, min_val=1)
    check_scalar(seeds, "seeds", int, min_val=1)
    X = torch.as_tensor(X)
    units = []
    for name, loss_fn, targets, lr in runs:
        for r in range(seeds):
            kw = {"batch_size": min(int(batch_size), len(X)), "checkpoints": checkpoints, "X_eval": X[:n_eval],
                  "y_eval": targets[:n_eval], "n_probes": n_probes, "seed": seed + r, "gauss_newton": True}
            units.append((name, loss_fn, X, targets, lr, hidden, n_out, kw))
    frames = map_units(_alignment_unit, units, star=True, jobs=jobs, progress=progress, desc="alignment")
    return pd.concat(frames, ignore_index=True)


def _project_unit(model, loss_fn, X, y, theta, lr: float, threshold: float, max_steps: int) -> Projection:
    """GD projection of one state (a module-level unit for :func:`~landscape.infra.executor.map_units`)."""
    return project_to_valley(flat_loss_grad(model, loss_fn, X, y), theta, lr=lr, threshold=threshold,
                             max_steps=max_steps)


def _valley_point(model, loss_fn, X, y, X_val, y_val, theta, n_probes: int, seed: int) -> dict:
    """Losses and Hutchinson trace at one projected state (a module-level unit)."""
    op = hessian.hessian_operator(models.assign(model, theta), loss_fn, (torch.as_tensor(X), torch.as_tensor(y)))
    tr = hessian.hutchinson_trace(op, n_probes, seed=seed)
    return {"train_loss": flat_loss(model, loss_fn, X, y)(theta), "val_loss": flat_loss(model, loss_fn, X_val,
                                                                                         y_val)(theta),
            "trace": tr.estimate, "trace_se": tr.stderr}


def valley_run(model, loss_fn, X, y, X_val, y_val, *, lr: float, batch_size: int, epochs: int, start_epoch: int = 1,
               threshold: float | None = None, line_factor: float = 2.0, n_points: int = 10,
               max_gd_steps: int = 2000, trace_probes: int = 10, seed: int = 0, jobs=None,
               progress: bool = False) -> tuple[ValleyPath, pd.DataFrame, pd.DataFrame]:
    """Figs. 1 and 3 (Secs. 2.1.1, 4.3): SGD keeping every state, its epoch ends projected to the valley floor
    and refined by recursive bisection, then the Hessian trace along the projected path.

    Each epoch end from ``start_epoch`` is projected by GD (same ``lr``) until the training loss is below
    ``threshold`` (default: the smallest epoch-end training loss of the run, as in the source); consecutive
    projections are line connected when the loss stays below ``line_factor * threshold`` at ``n_points`` points.

    Parameters
    ----------
    model : torch.nn.Module
        Trained in place by the SGD run (left at its last SGD state).
    loss_fn : callable
        Picklable when ``jobs > 1``.
    X, y, X_val, y_val : tensors
        Training and validation sets.
    lr, batch_size, epochs, start_epoch, threshold, line_factor, n_points, max_gd_steps
        As above.
    trace_probes : int
        Hutchinson probes per projected state (point ``k`` draws them with seed ``seed + k``).
    seed : int
        Seed of the SGD shuffles.
    jobs : int or None
        Worker processes for the epoch-end projections and the per-point traces
        (:func:`landscape.infra.executor.map_units`); the numbers do not depend on it.
    progress : bool, default False
        Show progress bars (the SGD run, the projections, the traces).

    Returns
    -------
    (ValleyPath, pandas.DataFrame, pandas.DataFrame)
        The path; a frame per projected point (iteration, epoch, losses, trace and its standard error, reached,
        connected_next, segment_max_loss the highest loss of the line test to the next point, line_threshold,
        bisected: inserted by the bisection, not an epoch end); the SGD run's per-epoch losses.
    """
    rec = sgd_record(model, loss_fn, X, y, lr=lr, batch_size=batch_size, epochs=epochs, seed=seed, keep="all",
                     val=(X_val, y_val), progress=progress)
    thr = float(rec.train_loss.min()) if threshold is None else float(threshold)
    theta_end = models.flatten(model)
    cps = [int(c) for c in rec.epoch_end[start_epoch:]]
    known = dict(zip(cps, map_units(_project_unit, [(model, loss_fn, X, y, rec.states[t], lr, thr, max_gd_steps)
                                                    for t in cps], star=True, jobs=jobs, progress=progress,
                                    desc="project"), strict=True))
    lg, lf = flat_loss_grad(model, loss_fn, X, y), flat_loss(model, loss_fn, X, y)
    path = projected_path(lambda t: rec.states[t], cps,
                          lambda th: project_to_valley(lg, th, lr=lr, threshold=thr, max_steps=max_gd_steps),
                          lambda a, b: line_connected(lf, a, b, threshold=line_factor * thr, n_points=n_points),
                          known=known)
    units = [(model, loss_fn, X, y, X_val, y_val, th, trace_probes, seed + k) for k, th in enumerate(path.states)]
    points = map_units(_valley_point, units, star=True, jobs=jobs, progress=progress, desc="trace")
    models.assign(model, theta_end)
    steps_per_epoch = rec.epoch_end[1]
    df = pd.DataFrame(points)
    df.insert(0, "iteration", path.iterations.astype(int))
    df.insert(1, "epoch", path.iterations / steps_per_epoch)
    df["reached"] = path.reached.astype(bool)
    df["connected_next"] = [bool(c) for c in path.connected] + [np.nan]
    # the highest loss on each segment to the next point (the n_points of the line test) and the threshold
    df["segment_max_loss"] = [float(line_losses(lf, a, b, n_points).max())
                              for a, b in zip(path.states[:-1], path.states[1:], strict=True)] + [np.nan]
    df["line_threshold"] = line_factor * thr
    df["bisected"] = ~df.iteration.isin(cps)  # inserted by the recursive bisection
    sgd = pd.DataFrame({"epoch": np.arange(len(rec.train_loss)), "train_loss": rec.train_loss,
                        "val_loss": rec.val_loss})
    return path, df, sgd


def shuffled_label_start(model, loss_fn, X, y, n_shuffled: int, *, lr: float, batch_size: int, epochs: int,
                         gd_steps: int, seed: int = 0):
    """App. A.2.2: split the training set into A (kept) and B (``n_shuffled`` samples, labels shuffled); SGD on
    A ∪ B for ``epochs``, then GD on A alone (up to ``gd_steps``, lr ``lr``) to a minimum of A. Returns
    ``(X_A, y_A)``; the model is left at that minimum (a poorly generalising start).

    Parameters
    ----------
    model : torch.nn.Module
        Trained in place and left at the minimum of A.
    loss_fn : callable
    X, y : tensors
        The training set.
    n_shuffled : int
        Size of B.
    lr, batch_size, epochs : SGD on A and B.
    gd_steps : int
        Cap on the GD steps on A.
    seed : int
        Seed of the split, the shuffle and SGD.

    Returns
    -------
    (tensor, tensor)
        ``(X_A, y_A)``.
    """
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    check_scalar(n_shuffled, "n_shuffled", int, min_val=1, max_val=len(X) - 1)
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(X), generator=gen)
    a, b = perm[n_shuffled:], perm[:n_shuffled]
    yb = y[b][torch.randperm(n_shuffled, generator=gen)]
    sgd_record(model, loss_fn, torch.cat([X[a], X[b]]), torch.cat([y[a], yb]), lr=lr, batch_size=batch_size,
               epochs=epochs, seed=seed, keep="epochs")
    lg = flat_loss_grad(model, loss_fn, X[a], y[a])
    p = project_to_valley(lg, models.flatten(model).cpu().numpy(), lr=lr, threshold=1e-12, max_steps=gd_steps)
    models.assign(model, p.theta)
    return X[a], y[a]
