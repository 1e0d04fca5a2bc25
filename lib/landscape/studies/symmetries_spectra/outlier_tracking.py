r"""Hessian outliers through training (source 003, Sec. 5.5): :func:`landscape.curvature.outliers.snapshot` of a few
nets at
chosen epochs of their SGD runs.

Each net's run is one independent unit of :func:`landscape.infra.executor.map_units` (``jobs``): it trains from one
snapshot epoch to the next in cached pieces (:func:`landscape.nets.approximation.cached_train`) and measures the
spectrum at each, so the numbers do not depend on the number of workers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from torch import nn

from landscape.curvature import outliers
from landscape.infra.validation import check_choice
from landscape.nets import models

__all__ = ["Tracking", "track_spectra", "track_over_seeds", "seed_statistics", "resmoothed_density"]


@dataclass(frozen=True)
class Tracking:
    """Spectra through training (:func:`track_spectra`): ``table`` (one row per net and snapshot epoch:
    ``net, epoch, loss, lambda_1, lambda_<k>, zeta, overlap, grad_in_outliers, sigma_top_share,
    sigma_top_share_batch, lambda_min``, and ``seed`` from :func:`track_over_seeds`) and
    ``densities`` (``{(net, epoch): SLQ density}``).

    Parameters
    ----------
    table : pandas.DataFrame
        One row per net and snapshot epoch, the columns above.
    densities : dict
        ``(net, epoch)`` -> :class:`landscape.hessian.SLQDensity` (or None where no density was asked for).
    """

    table: pd.DataFrame
    densities: dict


def _track_one(name: str, model: nn.Module, sigma_batch: int | None, train, evaluate, snapshots: list[int],
               train_kwargs: dict, k: int, slq, seed: int, key: dict, device: str,
               loss: str = "cce", share_batch: int | None = None) -> list[tuple[dict, object]]:
    """The snapshots of one net of :func:`track_spectra` (module-level so that worker processes can run it)."""
    from landscape.nets.approximation import cached_train

    out, done = [], 0
    for epoch in snapshots:
        if epoch > done:
            cached_train(model.to(device), models.loss_function(loss), *train, key={**key, "net": name, "to": epoch},
                         epochs=epoch - done, seed=seed + epoch, **train_kwargs)
        snap = outliers.snapshot(model.cpu(), loss, *evaluate, k=k, sigma_batch=sigma_batch, seed=seed, slq=slq,
                                 share_batch=share_batch)
        out.append(({"net": name, "epoch": epoch, "loss": snap.loss, "lambda_1": float(snap.top[0]),
                     f"lambda_{k}": float(snap.top[-1]), "zeta": snap.zeta, "overlap": snap.overlap,
                     "grad_in_outliers": snap.grad_in_outliers, "sigma_top_share": snap.sigma_top_share,
                     "sigma_top_share_batch": snap.sigma_top_share_batch, "lambda_min": snap.lambda_min},
                    snap.density))
        done = epoch
    return out


def track_spectra(nets: dict, train, evaluate, snapshots, *, lr: float, k: int = 10, slq=None, seed: int = 0,
                  key=None, device: str = "cpu", cache_dir=None, jobs: int | None = None,
                  progress: bool = False, loss: str = "cce", share_batch: int | None = None) -> Tracking:
    """:func:`landscape.curvature.outliers.snapshot` of each net at the epochs ``snapshots`` of its training (SGD,
    momentum
    0.9, batch 32, categorical cross entropy unless ``loss`` says otherwise), Sec. 5.5's outliers through training.

    Parameters
    ----------
    nets : dict
        ``{name: (model, sigma_batch)}``; ``sigma_batch`` as in :func:`landscape.curvature.outliers.snapshot` (None:
        per-sample gradients).
        The models are trained in place when ``jobs`` is 1 (worker processes train copies).
    train : tuple
        ``(X, y)`` training data (on ``device``).
    evaluate : tuple
        ``(X, y)`` float64 data of the snapshots (CPU).
    snapshots : list of int
        Epochs, increasing; training runs from one to the next in cached pieces
        (:func:`landscape.nets.approximation.cached_train`, key ``key`` plus net and epoch, seed ``seed + epoch``).
    lr : float
        SGD step size.
    k, slq, seed
        As in :func:`landscape.curvature.outliers.snapshot`.
    key : dict or None
        Extra cache-key entries (e.g. the chapter).
    device : str
        Where the nets are trained.
    cache_dir : path or None
        Cache of the trained weights (None: the project's ``data/cache/hessian``).
    jobs : int or None
        Worker processes, one net each (:func:`landscape.infra.executor.map_units`); the numbers do not depend on it.
    progress : bool
        A progress bar over the nets.
    loss : str, default "cce"
        Training and Hessian loss (:func:`landscape.nets.models.loss_function`); a regression target takes its
        dataset's loss (e.g. ``"mse"``). Another loss than "cce" is part of the cache key.
    share_batch : int or None
        Minibatch size of the like-for-like Sigma share (``sigma_top_share_batch``) of every net; None: not computed.

    Returns
    -------
    Tracking
        Rows ordered by epoch, then by the order of ``nets``.
    """
    units, epochs = _units(nets, train, evaluate, snapshots, lr=lr, k=k, slq=slq, seed=seed, key=key, device=device,
                           cache_dir=cache_dir, loss=loss, share_batch=share_batch)
    from landscape.infra.executor import map_units

    per_net = map_units(_track_one, units, star=True, jobs=jobs, progress=progress, desc="spectra")
    pairs = [pair for i in range(len(epochs)) for net_pairs in per_net for pair in net_pairs[i:i + 1]]
    return Tracking(pd.DataFrame([row for row, _ in pairs]), {(r["net"], r["epoch"]): d for r, d in pairs})


def _units(nets: dict, train, evaluate, snapshots, *, lr, k, slq, seed, key, device, cache_dir, loss, share_batch):
    epochs = [int(e) for e in snapshots]
    if not epochs or any(e < 0 for e in epochs) or epochs != sorted(epochs):
        raise ValueError(f"snapshots must be increasing epochs >= 0, got {snapshots!r}")
    check_choice(loss, "loss", models.LOSSES)
    kw = {"lr": lr, "batch_size": 32, "momentum": 0.9, "cache_dir": cache_dir}
    key = {**dict(key or {}), **({} if loss == "cce" else {"loss": loss})}
    units = [(name, model, sb, train, evaluate, epochs, kw, k, slq, seed, key, device, loss, share_batch)
             for name, (model, sb) in nets.items()]
    return units, epochs


def track_over_seeds(make_nets, train, evaluate, snapshots, *, seeds, lr: float, k: int = 10, slq=None,
                     key=None, device: str = "cpu", cache_dir=None, jobs: int | None = None, progress: bool = False,
                     loss: str = "cce", share_batch: int | None = 32) -> Tracking:
    """:func:`track_spectra` for several seeds at once: ``make_nets(s)`` gives the nets of seed ``s`` (their
    initialisations), each seed's runs use ``seed=s``; every (seed, net) run is one unit of
    :func:`landscape.infra.executor.map_units`, so the numbers do not depend on ``jobs``.

    Parameters
    ----------
    make_nets : callable
        ``seed -> {name: (model, sigma_batch)}`` as :func:`track_spectra`'s ``nets``.
    train, evaluate, snapshots, lr, k, slq, key, device, cache_dir, jobs, progress, loss, share_batch
        As :func:`track_spectra` (``share_batch`` defaults to 32 here: the like-for-like Sigma share).
    seeds : sequence of int
        The seeds, at least one.

    Returns
    -------
    Tracking
        ``table`` with a ``seed`` column (rows by seed, then epoch, then net); ``densities`` of the first seed.
    """
    from landscape.infra.executor import map_units

    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct integers, at least one, got {seeds!r}")
    units, labels = [], []
    for s in seeds:
        nets = make_nets(s)
        u, epochs = _units(nets, train, evaluate, snapshots, lr=lr, k=k, slq=slq, seed=s, key=key, device=device,
                           cache_dir=cache_dir, loss=loss, share_batch=share_batch)
        units += u
        labels += [s] * len(u)
    per_unit = map_units(_track_one, units, star=True, jobs=jobs, progress=progress, desc="spectra")
    rows, densities = [], {}
    for s in seeds:
        mine = [p for p, lab in zip(per_unit, labels, strict=True) if lab == s]
        for i in range(len(epochs)):
            for net_pairs in mine:
                row, d = net_pairs[i]
                rows.append({"seed": s, **row})
                if s == seeds[0]:
                    densities[(row["net"], row["epoch"])] = d
    return Tracking(pd.DataFrame(rows), densities)


def seed_statistics(table: pd.DataFrame) -> pd.DataFrame:
    r"""Per seed, the numbers behind Sec. 5.5's outlier claims, from a :func:`track_over_seeds` table with the nets
    ``"no BN"`` and ``"BN"``.

    Columns: ``seed``; ``zeta_first`` (no BN, first snapshot after initialisation); ``zeta_nb``, ``zeta_bn`` (last
    snapshot); ``ratio_min``, ``ratio_max`` (:math:`\lambda_1` BN / no BN over the snapshots after
    initialisation); ``overlap``, ``grad_in_outliers`` (no BN, mean over those snapshots); ``share_nb``,
    ``share_bn`` (``sigma_top_share_batch`` at the last snapshot: minibatch gradients of the same size and count
    for both nets); ``share_nb_per_sample`` (the no-BN share from per-sample gradients); ``neg_init``,
    ``neg_first`` (:math:`|\lambda_{\min}|/\lambda_1` of the no-BN net at initialisation and at the first later
    snapshot, where ``lambda_min`` is the smallest Ritz value; 0 where it is positive).

    Parameters
    ----------
    table : pandas.DataFrame
        :attr:`Tracking.table` with a ``seed`` column.

    Returns
    -------
    pandas.DataFrame
        One row per seed.
    """
    out = []
    for s, d in table.groupby("seed", sort=True):
        nb, bn = d[d.net == "no BN"].set_index("epoch"), d[d.net == "BN"].set_index("epoch")
        epochs = sorted(nb.index)
        later = [e for e in epochs if e > 0] or epochs
        first, last = later[0], epochs[-1]
        ratio = (bn.loc[later, "lambda_1"] / nb.loc[later, "lambda_1"]).to_numpy()

        neg = {e: max(0.0, -float(nb.loc[e, "lambda_min"])) / float(nb.loc[e, "lambda_1"]) for e in epochs}

        out.append({"seed": int(s), "zeta_first": float(nb.loc[first, "zeta"]), "zeta_nb": float(nb.loc[last, "zeta"]),
                    "zeta_bn": float(bn.loc[last, "zeta"]), "ratio_min": float(ratio.min()),
                    "ratio_max": float(ratio.max()), "overlap": float(nb.loc[later, "overlap"].mean()),
                    "grad_in_outliers": float(nb.loc[later, "grad_in_outliers"].mean()),
                    "share_nb": float(nb.loc[last, "sigma_top_share_batch"]),
                    "share_bn": float(bn.loc[last, "sigma_top_share_batch"]),
                    "share_nb_per_sample": float(nb.loc[last, "sigma_top_share"]),
                    "neg_init": neg[epochs[0]], "neg_first": neg[first]})
    return pd.DataFrame(out)


def resmoothed_density(est, grid, sigma: float) -> np.ndarray:
    r"""An SLQ estimate's quadrature smoothed with another kernel width: eq (6) of Ghorbani et al.,
    :math:`\hat\phi_\sigma(t) = \frac1k\sum_j\sum_i \omega^{(j)}_i \mathcal N(t; \ell^{(j)}_i, \sigma^2)`, from the
    nodes :math:`\ell^{(j)}_i` and weights :math:`\omega^{(j)}_i` that :func:`landscape.hessian.slq_density`
    returns.

    The nodes and weights are a quadrature of the spectral measure whatever the kernel, so one set of Lanczos runs
    serves every width (Sec. 5.5.2's comparison at a second width costs no operator products). The deflation
    threshold of the run was set by its own ``sigma``; a wider kernel here only smooths more.

    Parameters
    ----------
    est : landscape.hessian.SLQDensity
        The estimate whose ``nodes`` and ``weights`` are smoothed.
    grid : array_like
        Strictly increasing evaluation points.
    sigma : float
        Standard deviation of the Gaussian kernel (> 0).

    Returns
    -------
    numpy.ndarray
        The density on ``grid``.
    """
    from landscape.curvature import hessian

    if not np.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    grid = np.asarray(grid, dtype=np.float64).reshape(-1)
    if len(grid) < 2 or not np.all(np.isfinite(grid)) or np.any(np.diff(grid) <= 0):
        raise ValueError("grid must be a finite, strictly increasing 1-D array of at least 2 points")
    return np.mean([hessian.smoothed_density(nodes, grid, sigma, weights)
                    for nodes, weights in zip(est.nodes, est.weights, strict=True)], axis=0)
