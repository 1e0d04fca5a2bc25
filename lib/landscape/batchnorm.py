r"""Batch normalisation and landscape pictures (source 003, Secs. 5.1.4 and 5.4.2).

A batch-norm (BN) layer makes the function invariant to the scale of the weights feeding it, and carries
*running statistics* (buffers, not parameters) that the network uses in eval mode. Li et al.'s code treats the
one-dimensional parameter tensors (biases, BN scales and shifts) specially: the direction is zero there
(``ignore='biasbn'``) or a copy of the weights. Interpolating between two BN networks (Im et al., Sec. 5.1.4)
must also interpolate their running statistics, or the points in between use the wrong normalisation.

This module gives the masks of those entries, BN-aware directions, and flat vectors of the buffers.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from . import projections

__all__ = ["BN_TYPES", "bn_parameter_mask", "one_dim_mask", "bn_aware_direction", "buffer_vector",
           "assign_buffers", "interpolate_buffers", "recompute_bn_statistics", "sgd_adam_segments"]

BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def bn_parameter_mask(model: nn.Module) -> np.ndarray:
    """Boolean mask over the flat parameter vector: True for the scales and shifts of batch-norm layers.

    Parameters
    ----------
    model : torch.nn.Module
        Network whose BN scales and shifts are marked.

    Returns
    -------
    numpy.ndarray
        (m,) bool.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    bn_ids = {id(p) for mod in model.modules() if isinstance(mod, BN_TYPES) for p in mod.parameters(recurse=False)}
    return np.concatenate([np.full(p.numel(), id(p) in bn_ids) for p in model.parameters()])


def one_dim_mask(model: nn.Module) -> np.ndarray:
    """Boolean mask: True for every entry of a parameter tensor with at most one dimension (biases, BN).

    Parameters
    ----------
    model : torch.nn.Module
        Network whose biases and other 1-D tensors are marked.

    Returns
    -------
    numpy.ndarray
        (m,) bool.
    """
    return np.concatenate([np.full(p.numel(), p.dim() <= 1) for p in model.parameters()])


def bn_aware_direction(model: nn.Module, seed: int, *, kind: str = "filter", bn: str = "zero",
                       bias: str = "zero") -> np.ndarray:
    r"""A random direction whose batch-norm entries are zero (``bn="zero"``) or copies of the BN parameters
    (``bn="copy"``); other one-dimensional entries (biases) follow ``bias`` (``"zero"``, ``"copy"``, or
    ``"random"``: Gaussian for ``kind="gaussian"``, filter-normalised per entry otherwise). Weight matrices are
    filter-normalised (Sec. 5.4.2, :math:`d_{i,j} \leftarrow d_{i,j}\|\theta_{i,j}\|/\|d_{i,j}\|`) or Gaussian.
    Built on :func:`landscape.projections.random_direction`.

    Parameters
    ----------
    model : torch.nn.Module
        Network at the centre of the picture (its weights set the filter norms).
    seed : int
        Seed of the Gaussian draw.
    kind : str
        "filter" (filter-normalised) or "gaussian".
    bn : str
        "zero" or "copy".
    bias : str
        "zero", "copy" or "random".

    Returns
    -------
    numpy.ndarray
        (m,) direction.
    """
    for name, value, allowed in (("bn", bn, ("zero", "copy")), ("bias", bias, ("zero", "copy", "random"))):
        if value not in allowed:
            raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    d = projections.random_direction(model, seed, kind, bias="copy" if bias == "copy" else "zero")
    theta = torch.nn.utils.parameters_to_vector(model.parameters()).detach().cpu().double().numpy()
    bnm, onem = bn_parameter_mask(model), one_dim_mask(model)
    if bias == "random":
        g = np.random.default_rng(seed).standard_normal(d.size)  # the same draw random_direction used
        entries = onem & ~bnm
        d[entries] = g[entries] if kind == "gaussian" else np.abs(theta[entries]) * np.sign(g[entries])
    d[bnm] = 0.0 if bn == "zero" else theta[bnm]
    return d


def _buffers(model: nn.Module) -> list[torch.Tensor]:
    return [b for b in model.buffers() if b.is_floating_point()]


def buffer_vector(model: nn.Module) -> np.ndarray:
    """The floating-point buffers (BN running means and variances) as one flat float64 vector (possibly empty).

    Parameters
    ----------
    model : torch.nn.Module
        Network whose floating-point buffers are read.

    Returns
    -------
    numpy.ndarray
        (b,) float64, buffers in ``model.buffers()`` order.
    """
    bufs = _buffers(model)
    if not bufs:
        return np.zeros(0)
    return np.concatenate([b.detach().cpu().double().numpy().reshape(-1) for b in bufs])


def assign_buffers(model: nn.Module, vec) -> nn.Module:
    """Write a flat vector from :func:`buffer_vector` back into the model's floating-point buffers.

    Parameters
    ----------
    model : torch.nn.Module
        Network whose buffers are overwritten in place.
    vec : array_like
        Flat buffers (length of :func:`buffer_vector`).

    Returns
    -------
    torch.nn.Module
        ``model``.
    """
    bufs = _buffers(model)
    v = np.asarray(vec, dtype=np.float64).reshape(-1)
    n = sum(b.numel() for b in bufs)
    if v.size != n:
        raise ValueError(f"vec must have {n} entries (the model's floating-point buffers), got {v.size}")
    i = 0
    with torch.no_grad():
        for b in bufs:
            b.copy_(torch.as_tensor(v[i:i + b.numel()].reshape(b.shape), dtype=b.dtype))
            i += b.numel()
    return model


def interpolate_buffers(buf_a, buf_b, alphas) -> np.ndarray:
    r"""Running statistics along a segment, :math:`(1-\alpha)\,b_a + \alpha\,b_b`, shape (len(alphas), b).

    The linear interpolation of the running mean and variance (Im et al. interpolate whole checkpoints); the
    exact statistics of an interpolated network come from :func:`recompute_bn_statistics`.

    Parameters
    ----------
    buf_a, buf_b : array_like
        Flat buffer vectors of the two ends.
    alphas : array_like
        Positions on the segment.

    Returns
    -------
    numpy.ndarray
        (len(alphas), b) buffer vectors along the segment.
    """
    from .interpolation import segment

    a, b = np.asarray(buf_a, float).reshape(-1), np.asarray(buf_b, float).reshape(-1)
    if a.size == 0 and b.size == 0:
        return np.zeros((np.size(alphas), 0))
    return segment(a, b, alphas)


def recompute_bn_statistics(model: nn.Module, X, batch_size: int = 256) -> nn.Module:
    """Re-estimate every BN layer's running statistics at the current weights from ``X`` (cumulative average
    over minibatches, as SWA's ``bn_update``); the model is left in eval mode.

    Parameters
    ----------
    model : torch.nn.Module
        Network whose BN running statistics are re-estimated.
    X : array_like
        Inputs.
    batch_size : int
        Minibatch size of the forward passes.

    Returns
    -------
    torch.nn.Module
        ``model``.
    """
    bns = [m for m in model.modules() if isinstance(m, BN_TYPES)]
    if not bns:
        return model.eval()
    p0 = next(model.parameters())
    X = torch.as_tensor(X, device=p0.device).to(p0.dtype)
    moms = [m.momentum for m in bns]
    with torch.no_grad():
        for m in bns:
            m.reset_running_stats()
            m.momentum = None  # cumulative moving average
        model.train()
        for i in range(0, X.shape[0], batch_size):
            model(X[i:i + batch_size])
        for m, mom in zip(bns, moms, strict=True):
            m.momentum = mom
    return model.eval()


def _segment_unit(bn: bool, rerun: int, sizes: tuple[int, int, int, int], loss_fn, train, splits,
                  lrs: dict, epochs: int, batch_size: int, seed: int, alphas, device: str):
    """One (batch norm, re-run) of :func:`sgd_adam_segments` (module-level so that worker processes can run it)."""
    from . import interpolation, models, optimizers
    from .residual import residual_mlp

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
    trains a "noshort" residual MLP (:func:`landscape.residual.residual_mlp`, seed ``seed + 200 + r``) once with
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
        Worker processes, one (batch norm, re-run) pair each (:func:`landscape.executor.map_units`); the numbers
        do not depend on it.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        Runs ``bn, rerun, optimizer, loss_<split>`` and curves (one column per split, ``s, bn, rerun``), BN first.
    """
    import pandas as pd

    from .executor import map_units
    from .validation import check_scalar

    check_scalar(reruns, "reruns", int, min_val=1)
    a = np.asarray(alphas, dtype=float)
    units = [(bn, r, (n_in, n_out, width, depth), loss_fn, train, splits, dict(lrs), epochs, batch_size, seed, a,
              device) for bn in (True, False) for r in range(reruns)]
    out = map_units(_segment_unit, units, star=True, jobs=jobs, progress=False)
    return (pd.DataFrame([row for rows, _ in out for row in rows]),
            pd.concat([curve for _, curve in out], ignore_index=True))
