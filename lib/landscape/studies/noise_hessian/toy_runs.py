r"""The toy experiments of source 004 as tidy frames: the trace drift of the 4-D toy (Fig. 2b, Theorem 1), trace
and determinant under two noise structures on the anti-correlated toy (Figs. 2c-d, Theorems 1-2) and the entropic
equilibrium of the tilted toy over a grid of tilts and learning rates (Fig. 7, eq (38)).

Every run is one vectorised :func:`~landscape.noise.descent.noisy_descent` over its replicas (seconds), so the
functions run in the calling process; each takes an explicit seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from landscape.infra.validation import check_scalar
from landscape.noise.descent import isotropic_noise, noisy_descent, sgd_noise
from landscape.noise.toy_losses import (
    anticorrelated_toy,
    entropic_equilibrium,
    entropic_toy,
    expected_change,
    four_d_toy,
)

__all__ = ["trace_drift", "anticorrelated_run", "entropic_grid", "loglog_slope"]


def trace_drift(lrs, *, replicas: int, steps: int, start: float, strength: float = 1.0,
                seed: int = 0) -> pd.DataFrame:
    r"""Fig. 2(b): on the 4-D toy, equilibrate for ``steps`` steps, then the mean trace change over the next
    ``steps``, for each learning rate, beside Theorem 1's leading order (eq (11)) and the exact discrete drift.

    Parameters
    ----------
    lrs : sequence of float
        Learning rates :math:`\eta`; rate ``i`` draws its noise with seed ``seed + i``.
    replicas : int
        Independent replicas per rate.
    steps : int
        Equilibration steps, then as many measured steps.
    start : float
        :math:`\theta_3 = \theta_4` at the start (:math:`\theta_1 = \theta_2 = 0`).
    strength : float
        SGD noise strength :math:`s = 1/S - 1/M` (eq (10)).
    seed : int
        Base seed.

    Returns
    -------
    pandas.DataFrame
        One row per rate: lr, delta_trace (mean over replicas), se (its standard error), theory_leading
        (``steps`` times eq (11) at the equilibrated states), theory_exact (``steps`` times the exact discrete
        drift averaged over the two recorded states).

    Examples
    --------
    >>> df = trace_drift([0.004], replicas=400, steps=300, start=5.0, seed=1)
    >>> bool(abs(df.delta_trace[0] / df.theory_exact[0] - 1) < 4 * df.se[0] / abs(df.theory_exact[0]))
    True
    """
    check_scalar(replicas, "replicas", int, min_val=1)
    check_scalar(steps, "steps", int, min_val=1)
    toy, rows = four_d_toy(), []
    for i, lr in enumerate(lrs):
        theta0 = np.zeros((replicas, 4))
        theta0[:, 2:] = start
        path = noisy_descent(toy.grad, theta0, lr=lr, steps=2 * steps, seed=seed + i, every=steps,
                             noise_cov=sgd_noise(toy.lambdas, 4, strength))
        dT = toy.trace(path[2]) - toy.trace(path[1])
        lead = expected_change(toy, path[1], lr, strength * toy.lambdas(path[1]), exact=False).mean()
        exact = np.mean([expected_change(toy, p, lr, strength * toy.lambdas(p)).mean() for p in path[1:]])
        rows.append({"lr": lr, "delta_trace": dT.mean(), "se": dT.std(ddof=1) / np.sqrt(replicas),
                     "theory_leading": steps * lead, "theory_exact": steps * exact})
    return pd.DataFrame(rows)


def anticorrelated_run(*, lr: float, steps: int, replicas: int, start, noise: float = 1.0,
                       seed: int = 0) -> pd.DataFrame:
    r"""Figs. 2(c)-(d): trace and determinant of the anti-correlated toy under SGD-like noise
    (:math:`C = s\,\mathrm{diag}(\lambda_1, \lambda_2, 0, 0)`) and isotropic noise (:math:`C = c\,\mathrm{diag}(1,
    1, 0, 0)`), both from one start, both with noise seed ``seed``.

    Parameters
    ----------
    lr, steps, replicas : learning rate, steps, replicas per noise structure.
    start : (theta3, theta4) at the start (the non-degenerate coordinates start at zero).
    noise : SGD strength :math:`s` and isotropic variance :math:`c`.
    seed : noise seed.

    Returns
    -------
    pandas.DataFrame
        Tidy: noise ("SGD-like" / "isotropic"), step (about 100 recorded steps), trace, trace_sd, det, det_sd
        (mean and standard deviation over replicas).
    """
    check_scalar(replicas, "replicas", int, min_val=1)
    toy = anticorrelated_toy()
    theta0 = np.zeros((replicas, 4))
    theta0[:, 2:] = start
    every, frames = max(1, check_scalar(steps, "steps", int, min_val=1) // 100), []
    for name, cov in {"SGD-like": sgd_noise(toy.lambdas, 4, noise),
                      "isotropic": isotropic_noise(toy.lambdas, 4, noise)}.items():
        path = noisy_descent(toy.grad, theta0, lr=lr, steps=steps, noise_cov=cov, seed=seed, every=every)
        T = np.array([toy.trace(p) for p in path])
        D = np.array([np.exp(toy.log_det(p)) for p in path])
        frames.append(pd.DataFrame({"noise": name, "step": np.arange(len(path)) * every, "trace": T.mean(1),
                                    "trace_sd": T.std(1), "det": D.mean(1), "det_sd": D.std(1)}))
    return pd.concat(frames, ignore_index=True)


def entropic_grid(alphas, lrs, *, replicas: int, steps: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    r"""Fig. 7 / eq (38): noisy descent (SGD-like noise, strength 1) on the tilted toy from :math:`(0.1, 0.1)` for
    every (tilt, learning rate) cell at once (one replica batch, one tilt and rate per replica, noise seed
    ``seed``); :math:`\langle\theta_2\rangle` is the mean over replicas and the last quarter of the recorded steps.

    Parameters
    ----------
    alphas, lrs : sequences of float
        The grid of tilts :math:`\alpha` and learning rates :math:`\eta`.
    replicas : int
        Replicas per cell.
    steps : int
        Steps (about 200 recorded).
    seed : int, default 0
        Seed of the noise of the whole replica batch.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The grid: alpha, lr, theta2, theta2_se, theory (eq (38)), theory_discrete (the discrete balance with its
        covariance term, :func:`~landscape.noise.toy_losses.entropic_equilibrium`); and the
        tidy mean trajectory: alpha, lr, step, theta2.
    """
    check_scalar(replicas, "replicas", int, min_val=1)
    grid = pd.MultiIndex.from_product([alphas, lrs], names=["alpha", "lr"]).to_frame(index=False)
    alpha_r, lr_r = (np.repeat(grid[c].to_numpy(), replicas) for c in ("alpha", "lr"))
    tilt = entropic_toy(alpha_r)
    every = max(1, check_scalar(steps, "steps", int, min_val=1) // 200)
    path = noisy_descent(tilt.grad, np.full((len(alpha_r), 2), 0.1), lr=lr_r, steps=steps, every=every,
                         noise_cov=sgd_noise(tilt.lambdas, 2, 1.0), seed=seed)
    tail = path[int(0.75 * len(path)):, :, 1].mean(0).reshape(len(grid), replicas)
    grid["theta2"], grid["theta2_se"] = tail.mean(1), tail.std(1, ddof=1) / np.sqrt(replicas)
    grid["theory"] = entropic_equilibrium(grid.alpha.to_numpy(), grid.lr.to_numpy())
    grid["theory_discrete"] = entropic_equilibrium(grid.alpha.to_numpy(), grid.lr.to_numpy(), discrete=True)
    mean = path[:, :, 1].reshape(len(path), len(grid), replicas).mean(2)
    traj = pd.DataFrame({"alpha": np.tile(grid.alpha.to_numpy(), len(path)), "lr": np.tile(grid.lr.to_numpy(),
                                                                                           len(path)),
                         "step": np.repeat(np.arange(len(path)) * every, len(grid)), "theta2": mean.ravel()})
    return grid, traj


def loglog_slope(x, y, se) -> tuple[float, float, float]:
    """The slope of ``log|y|`` against ``log x`` when each ``y`` has a known standard error ``se`` (a mean over many
    replicas): weighted least squares with weights ``(y / se)**2`` (the delta method: the standard error of
    ``log|y|`` is ``se / |y|``) and its 95 % normal interval. Fig. 2(b)'s exponent with the replicas' uncertainty.

    Parameters
    ----------
    x : array_like
        Positive abscissae (learning rates), at least two distinct.
    y : array_like
        Nonzero measurements.
    se : array_like
        Their standard errors, > 0.

    Returns
    -------
    (float, float, float)
        Slope and its 95 % interval (low, high).

    Examples
    --------
    >>> s, lo, hi = loglog_slope([1.0, 2.0], [3.0, 12.0], [0.03, 0.12])  # exactly y = 3 x^2, 1 % errors
    >>> round(s, 12), round(hi - s, 4)  # 1.96 * sqrt(2) * 0.01 / log 2
    (2.0, 0.04)
    """
    x, y, se = (np.asarray(v, dtype=float) for v in (x, y, se))
    if not (x.shape == y.shape == se.shape) or x.ndim != 1:
        raise ValueError(f"x, y and se must be 1-D of the same length, got {x.shape}, {y.shape}, {se.shape}")
    if np.any(x <= 0) or len(np.unique(x)) < 2:
        raise ValueError("x must be positive with at least two distinct values")
    if np.any(y == 0) or np.any(se <= 0) or not np.all(np.isfinite(np.r_[y, se])):
        raise ValueError("y must be nonzero and se positive and finite")
    A = np.column_stack([np.log(x), np.ones_like(x)])
    w = (y / se) ** 2
    cov = np.linalg.inv(A.T @ (A * w[:, None]))
    slope = float((cov @ (A.T @ (w * np.log(np.abs(y)))))[0])
    half = 1.959963984540054 * float(np.sqrt(cov[0, 0]))
    return slope, slope - half, slope + half
