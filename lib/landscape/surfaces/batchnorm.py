r"""Batch normalisation and landscape pictures (source 003, Secs. 5.1.4 and 5.4.2).

A batch-norm (BN) layer makes the function invariant to the scale of the weights feeding it, and carries
*running statistics* (buffers, not parameters) that the network uses in eval mode. Li et al.'s code treats the
one-dimensional parameter tensors (biases, BN scales and shifts) specially: the direction is zero there
(``ignore='biasbn'``) or a copy of the weights. Interpolating between two BN networks (Im et al., Sec. 5.1.4)
must also interpolate their running statistics, or the points in between use the wrong normalisation.

This module gives the masks of those entries, BN-aware directions, and the buffers along a segment (flat vectors of
the buffers: :func:`landscape.nets.models.buffer_vector`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from landscape.surfaces import projections
from landscape.surfaces.interpolation import segment

__all__ = ["BN_TYPES", "bn_parameter_mask", "one_dim_mask", "bn_aware_direction", "interpolate_buffers",
           "recompute_bn_statistics"]

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
    Built on :func:`landscape.surfaces.projections.random_direction`.

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
