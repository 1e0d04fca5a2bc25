r"""Im et al.'s batch-norm experiment of chapter 06 (source 003, Sec. 5.1.4): SGD-to-Adam segments of "noshort"
residual MLPs with and without batch norm, the running statistics interpolated along with the weights.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from landscape.infra.executor import map_units
from landscape.infra.validation import check_scalar
from landscape.nets import models, optimizers
from landscape.nets.models import buffer_vector
from landscape.nets.residual import residual_mlp
from landscape.surfaces import interpolation
from landscape.surfaces.batchnorm import interpolate_buffers

__all__ = ["sgd_adam_segments"]


def _segment_unit(bn: bool, rerun: int, sizes: tuple[int, int, int, int], loss_fn, train, splits,
                  lrs: dict, epochs: int, batch_size: int, seed: int, alphas, device: str):
    """One (batch norm, re-run) of :func:`sgd_adam_segments` (module-level so that worker processes can run it)."""
    n_in, n_out, width, depth = sizes
    ends, rows = {}, []
    for method in ("sgd", "adam"):
        net = residual_mlp(n_in, n_out, width=width, depth=depth, skip=False, bn=bn, seed=seed + 200 + rerun)
        net = net.to(device)
        optimizers.train(net, loss_fn, *train, [(method, epochs, lrs[method])], batch_size=batch_size,
                         seed=seed + rerun)
        ends[method] = (models.flatten(net).cpu().numpy().astype(float), buffer_vector(net))
        ev = interpolation.loss_at(net, loss_fn, splits, ends[method][0][None])
        rows.append({"bn": bn, "rerun": rerun, "optimizer": method,
                     **ev.set_index("split").loss.add_prefix("loss_").to_dict()})
    points = interpolation.segment(ends["sgd"][0], ends["adam"][0], alphas)
    buffers = interpolate_buffers(ends["sgd"][1], ends["adam"][1], alphas)
    fr = interpolation.loss_at(net, loss_fn, splits, points, buffers=buffers)
    curve = fr.pivot(index="point", columns="split", values="loss").assign(s=alphas, bn=bn, rerun=rerun)
    return rows, curve


def sgd_adam_segments(n_in: int, n_out: int, *, width: int, depth: int, loss_fn, train, splits, lrs, epochs: int,
                      reruns: int, alphas, batch_size: int = 64, seed: int = 0, device: str = "cpu",
                      jobs: int | None = None):
    r"""Im et al.'s batch-norm experiment (Sec. 5.1.4): for nets with and without batch norm, re-run ``r``
    trains a "noshort" residual MLP (:func:`landscape.nets.residual.residual_mlp`, seed ``seed + 200 + r``) once with
    SGD and once with Adam (same batches, seed ``seed + r``) and evaluates the straight segment from the SGD to
    the Adam solution, the BN running statistics interpolated along with the weights
    (:func:`interpolate_buffers`).

    Parameters
    ----------
    n_in, n_out, width, depth : int
        The architecture.
    loss_fn : callable
        Training loss and segment loss.
    train : tuple
        ``(X, y)`` of the training runs.
    splits : mapping
        ``{name: (X, y)}`` evaluated at the solutions and on the segments.
    lrs : mapping
        Step sizes ``{"sgd": ..., "adam": ...}``.
    epochs, reruns : int
        Epochs of every run; re-runs per BN setting.
    alphas : array_like
        Positions on the segment (0: SGD, 1: Adam).
    batch_size, seed, device
        Minibatch size, base seed, where to train.
    jobs : int or None
        Worker processes, one (batch norm, re-run) pair each (:func:`landscape.infra.executor.map_units`); the numbers
        do not depend on it.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        Runs ``bn, rerun, optimizer, loss_<split>`` and curves (one column per split, ``s, bn, rerun``), BN first.
    """
    check_scalar(reruns, "reruns", int, min_val=1)
    a = np.asarray(alphas, dtype=float)
    units = [(bn, r, (n_in, n_out, width, depth), loss_fn, train, splits, dict(lrs), epochs, batch_size, seed, a,
              device) for bn in (True, False) for r in range(reruns)]
    out = map_units(_segment_unit, units, star=True, jobs=jobs, progress=False)
    return (pd.DataFrame([row for rows, _ in out for row in rows]),
            pd.concat([curve for _, curve in out], ignore_index=True))
