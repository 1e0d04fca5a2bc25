r"""Hessian outliers through training (source 003, Sec. 5.5): :func:`landscape.curvature.outliers.snapshot` of a few
nets at
chosen epochs of their SGD runs.

Each net's run is one independent unit of :func:`landscape.infra.executor.map_units` (``jobs``): it trains from one
snapshot epoch to the next in cached pieces (:func:`landscape.nets.approximation.cached_train`) and measures the
spectrum at each, so the numbers do not depend on the number of workers.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from torch import nn

from landscape.curvature import outliers
from landscape.infra.validation import check_choice
from landscape.nets import models

__all__ = ["Tracking", "track_spectra"]


@dataclass(frozen=True)
class Tracking:
    """Spectra through training (:func:`track_spectra`): ``table`` (one row per net and snapshot epoch:
    ``net, epoch, loss, lambda_1, lambda_<k>, zeta, overlap, grad_in_outliers, sigma_top_share``) and
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
               loss: str = "cce") -> list[tuple[dict, object]]:
    """The snapshots of one net of :func:`track_spectra` (module-level so that worker processes can run it)."""
    from landscape.nets.approximation import cached_train

    out, done = [], 0
    for epoch in snapshots:
        if epoch > done:
            cached_train(model.to(device), models.loss_function(loss), *train, key={**key, "net": name, "to": epoch},
                         epochs=epoch - done, seed=seed + epoch, **train_kwargs)
        snap = outliers.snapshot(model.cpu(), loss, *evaluate, k=k, sigma_batch=sigma_batch, seed=seed, slq=slq)
        out.append(({"net": name, "epoch": epoch, "loss": snap.loss, "lambda_1": float(snap.top[0]),
                     f"lambda_{k}": float(snap.top[-1]), "zeta": snap.zeta, "overlap": snap.overlap,
                     "grad_in_outliers": snap.grad_in_outliers, "sigma_top_share": snap.sigma_top_share},
                    snap.density))
        done = epoch
    return out


def track_spectra(nets: dict, train, evaluate, snapshots, *, lr: float, k: int = 10, slq=None, seed: int = 0,
                  key=None, device: str = "cpu", cache_dir=None, jobs: int | None = None,
                  progress: bool = False, loss: str = "cce") -> Tracking:
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

    Returns
    -------
    Tracking
        Rows ordered by epoch, then by the order of ``nets``.
    """
    from landscape.infra.executor import map_units

    epochs = [int(e) for e in snapshots]
    if not epochs or any(e < 0 for e in epochs) or epochs != sorted(epochs):
        raise ValueError(f"snapshots must be increasing epochs >= 0, got {snapshots!r}")
    check_choice(loss, "loss", models.LOSSES)
    kw = {"lr": lr, "batch_size": 32, "momentum": 0.9, "cache_dir": cache_dir}
    key = {**dict(key or {}), **({} if loss == "cce" else {"loss": loss})}
    units = [(name, model, sb, train, evaluate, epochs, kw, k, slq, seed, key, device, loss)
             for name, (model, sb) in nets.items()]
    per_net = map_units(_track_one, units, star=True, jobs=jobs, progress=progress, desc="spectra")
    pairs = [pair for i in range(len(epochs)) for net_pairs in per_net for pair in net_pairs[i:i + 1]]
    return Tracking(pd.DataFrame([row for row, _ in pairs]), {(r["net"], r["epoch"]): d for r, d in pairs})
