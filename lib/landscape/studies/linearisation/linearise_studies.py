r"""The chapter-05 studies built on :mod:`landscape.geometry.linearise` (source 001, Tanner lecture 9): the min-norm
step of the slides' two-layer net across widths (independent (width, initialisation) units through
:func:`landscape.infra.executor.map_units`) and the index of :math:`H = H_0 + H_1` for the slides' ``n``-``n``-``n`` net
beside the Wishart + Wigner model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from landscape.geometry.linearise import (
    hessian_split,
    jacobian,
    linearisation_error,
    min_norm_step,
    output_hessian_norm,
    residual_targets,
    two_layer,
)
from landscape.infra.validation import check_scalar

__all__ = ["width_sweep", "split_study", "dataset_targets"]


def _width_unit(X, y, width: int, s: int, seed: int, device: str, activation: str = "tanh", second: str = "sign",
                centred: bool = False) -> dict:
    """One (width, initialisation) of :func:`width_sweep` (a unit for :func:`~landscape.infra.executor.map_units`)."""
    n_out = 1 if y.ndim == 1 else y.shape[1]
    net = two_layer(X.shape[1], width, n_out=n_out, activation=activation, seed=seed, second=second).to(device)
    J = jacobian(net, X)
    y0 = net(torch.as_tensor(X, device=device)).detach().cpu().numpy().reshape(y.shape)
    if centred:  # the residual y - yhat is the given y itself, whatever the initial output's size
        y = y0 + y
    r = y.ravel() - y0.ravel()
    step = min_norm_step(net, X, y)
    lip = output_hessian_norm(net.cpu(), X) if n_out == 1 else float("nan")
    sv, Vt = np.linalg.svd(J, full_matrices=False)[1:]
    rank = int(np.sum(sv > 1e-10 * sv[0]))
    return {"width": width, "seed": s, "p": J.shape[1], "m": X.shape[0], "rank": rank, "nullity": J.shape[1] - rank,
            "fit_residual": float(np.abs(J @ step - r).max()), "step_norm": float(np.linalg.norm(step)),
            "rms_entry": float(np.linalg.norm(step) / np.sqrt(J.shape[1])), "sigma_min": float(sv[rank - 1] ** 2),
            "row_space_share": float(np.linalg.norm(Vt[:rank] @ step) / np.linalg.norm(step)),
            "lin_error": linearisation_error(net, X, step).max_abs, "residual_norm": float(np.linalg.norm(r)),
            "hess_norm": lip, "bound": 0.5 * lip * float(np.linalg.norm(step)) ** 2}


def dataset_targets(ds, m: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Inputs and square-loss targets of the width study from a dataset (a user CSV or a built-in one).

    The slides' linearisation is a statement about the square loss :math:`(2m)^{-1}\sum_\mu\|H(x_\mu)-y_\mu\|^2`
    (source 001, slide "Least squares loss and linearized network"), so a classification target becomes its one-hot
    vector (one output per class) and a regression target is standardised with the training part's mean and
    standard deviation (the slides' targets :math:`\sin(x_1+x_2)` are of order one).

    Parameters
    ----------
    ds : landscape.nets.data.Dataset
        The loaded dataset (features already standardised on its training part).
    m : int
        Data points: the first ``min(m, ds.N)`` training rows.

    Returns
    -------
    (ndarray (m', d), ndarray (m',) or (m', k))
        ``X`` and ``y``: ``y`` is 1-d for a single regression target, ``(m', k)`` one-hot for ``k`` classes and
        ``(m', r)`` for ``r`` regression targets.
    """
    check_scalar(m, "m", int, min_val=1)
    rows = min(int(m), ds.N)
    X = np.asarray(ds.X_train[:rows], dtype=np.float64)
    if ds.task == "classification":
        y = np.eye(ds.n_out)[np.asarray(ds.y_train[:rows], dtype=np.int64)]
    else:
        full = np.asarray(ds.y_train, dtype=np.float64).reshape(ds.N, -1)
        scale = np.where(full.std(axis=0) > 0, full.std(axis=0), 1.0)
        y = (full[:rows] - full.mean(axis=0)) / scale
        y = y[:, 0] if y.shape[1] == 1 else y
    return X, y


def width_sweep(X, y, widths, *, seeds: int = 1, seed: int = 0, device: str = "cpu", jobs=None,
                progress: bool = False, activation: str = "tanh", second: str = "sign",
                centred: bool = False) -> pd.DataFrame:
    r"""The min-norm step :math:`J_0^+(y-\hat y)` of the slides' tanh net (:func:`two_layer`) across widths.

    Parameters
    ----------
    X, y : arrays (m, d), (m,) or (m, r)
        Data and targets; a 2-d ``y`` (e.g. one-hot classes) gives the net ``r`` outputs, so :math:`J_0` has
        ``m r`` rows (row :math:`\mu r + i` is output ``i`` of sample :math:`\mu`, :func:`jacobian`) and
        ``p = (d + r) p_h``.
    widths : sequence of int
        Hidden widths :math:`p_h` (``p = (d + 1) p_h`` parameters).
    seeds : int
        Initialisations per width; initialisation ``s`` uses seed ``1000 seed + s``.
    device : str
        Device of the nets.
    jobs : int or None
        Worker processes for the (width, initialisation) units (:func:`landscape.infra.executor.map_units`); the numbers
        do not depend on it.
    seed : int, default 0
        Base of the initialisation seeds (above).
    progress : bool, default False
        Show a progress bar over the units.
    activation, second : str
        Of :func:`two_layer` (default: the slides' tanh net with :math:`w^{(2)} = \pm1`; ``"softplus"`` with
        ``"positive"`` is the case without sign cancellation, where the linearisation error meets its bound's rate).
    centred : bool, default False
        Take the residual :math:`y - \hat y` to be ``y`` itself (targets :math:`\hat y + y`): with positive output
        weights the initial output grows like :math:`p^{1/2}`, and the slides' argument is about an :math:`O(1)`
        residual.

    Returns
    -------
    pandas.DataFrame
        One row per unit: width, seed, p, m, rank and nullity of :math:`J_0`, fit_residual
        :math:`\max|J_0\Delta - r|`, step_norm, rms_entry, sigma_min (smallest non-zero eigenvalue of
        :math:`J_0J_0^\top`), row_space_share, lin_error (:func:`linearisation_error`), residual_norm, hess_norm
        (:math:`L`, :func:`output_hessian_norm`; NaN for several outputs) and bound
        (:math:`\tfrac12L\|\Delta\|^2`).
    """
    from landscape.infra.executor import map_units

    check_scalar(seeds, "seeds", int, min_val=1)
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    units = [(X, y, int(w), s, 1000 * seed + s, device, activation, second, bool(centred)) for w in widths
             for s in range(seeds)]
    return pd.DataFrame(map_units(_width_unit, units, star=True, jobs=jobs, progress=progress, desc="widths"))


def split_study(n: int, phis, eps_values, activations=("linear", "relu"), *, seed: int = 0):
    r"""Indices of :math:`H = H_0 + H_1` (:func:`hessian_split`) for the slides' net ``n``-``n``-``n`` (no biases,
    weights of variance :math:`1/n`) on ``m = round(2n/phi)`` Gaussian inputs (seed ``[seed, m]``), targets
    :func:`residual_targets` of energy ``eps`` (seed ``seed + 1``), beside the model's
    :func:`~landscape.geometry.spectra.negative_fraction` at the measured energy :math:`\epsilon'`.

    Every matrix is divided by the mean eigenvalue of :math:`H_0` (the model's :math:`H_0` has mean 1);
    :math:`\epsilon'` is the model energy whose :math:`H_1` has the measured mean square eigenvalue
    (:func:`~landscape.geometry.spectra.energy_from_h1_moment`: half of it for the linear model, :math:`2/\phi`
    times it for the ReLU model).

    Parameters
    ----------
    n : int
        Width (``p = 2 n^2``).
    phis, eps_values : sequences of float
    activations : sequence of str
    seed : int

    Returns
    -------
    (pandas.DataFrame, dict)
        One row per (activation, phi, eps): activation, phi, m, eps, eps_model, alpha (index of H), null_H0
        (zero eigenvalues of :math:`H_0`), alpha_range (index of H on the range of :math:`H_0`), alpha_model;
        and the normalised spectra of H keyed by (activation, phi as given, eps).
    """
    from landscape.geometry.critical import hessian_index
    from landscape.geometry.spectra import energy_from_h1_moment, negative_fraction

    rows, spectra = [], {}
    for act in activations:
        for phi in phis:
            m = max(1, int(round(2 * n / phi)))
            X = np.random.default_rng([seed, m]).standard_normal((m, n))
            net = two_layer(n, n, n_out=n, activation=act, seed=seed, scaled=False, second="normal")
            for eps in eps_values:
                H, H0, H1 = hessian_split(net, X, residual_targets(net, X, eps, seed=seed + 1))
                scale = np.trace(H0) / H.shape[0]
                ev, ev0, ev1 = (np.linalg.eigvalsh(A / scale) for A in (H, H0, H1))
                eps_eff = energy_from_h1_moment(float(np.mean(ev1**2)), 2 * n / m, act)
                lam0, V0 = np.linalg.eigh(H0 / scale)
                Vr = V0[:, lam0 > 1e-9 * lam0.max()]  # H restricted to the range of H0 (symmetry null space removed)
                rows.append({"activation": act, "phi": 2 * n / m, "m": m, "eps": eps, "eps_model": eps_eff,
                             "alpha": hessian_index(ev, 1e-9)[0], "null_H0": hessian_index(ev0, 1e-9)[2],
                             "alpha_range": hessian_index(np.linalg.eigvalsh(Vr.T @ (H / scale) @ Vr), 1e-9)[0],
                             "alpha_model": negative_fraction(eps_eff, 2 * n / m, act) if eps_eff > 0 else 0.0})
                spectra[(act, phi, eps)] = ev
    return pd.DataFrame(rows), spectra
