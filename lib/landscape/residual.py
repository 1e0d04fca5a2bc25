r"""Residual MLPs of adjustable depth and width, with or without skip connections and batch norm.

The CPU-sized stand-in for Li et al.'s ResNet-20/56/110 and their "-noshort" versions (source 003, Sec. 5.4.3)
and for Im et al.'s networks with and without batch normalisation (Sec. 5.1.4): an input layer to ``width``
units, ``depth`` blocks :math:`h \leftarrow \mathrm{relu}(h + W_2\,\mathrm{relu}(W_1 h))` (``skip=True``) or
:math:`h \leftarrow \mathrm{relu}(W_2\,\mathrm{relu}(W_1 h))` (``skip=False``, the "noshort" net: the same
parameters without the identity), optional BN after each linear layer of a block, and a linear read-out.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from .validation import check_scalar

__all__ = ["FamilyMember", "ResidualMLP", "family_member", "residual_mlp", "train_family"]


class _Block(nn.Module):
    def __init__(self, width: int, skip: bool, bn: bool):
        super().__init__()
        self.skip = skip
        self.fc1, self.fc2 = nn.Linear(width, width), nn.Linear(width, width)
        self.bn1 = nn.BatchNorm1d(width) if bn else nn.Identity()
        self.bn2 = nn.BatchNorm1d(width) if bn else nn.Identity()

    def forward(self, h):
        z = self.bn2(self.fc2(torch.relu(self.bn1(self.fc1(h)))))
        return torch.relu(h + z if self.skip else z)


class ResidualMLP(nn.Module):
    """See :func:`residual_mlp`."""

    def __init__(self, n_in: int, n_out: int, width: int, depth: int, skip: bool, bn: bool):
        super().__init__()
        self.inp = nn.Linear(n_in, width)
        self.blocks = nn.Sequential(*[_Block(width, skip, bn) for _ in range(depth)])
        self.out = nn.Linear(width, n_out)

    def forward(self, x):
        return self.out(self.blocks(torch.relu(self.inp(x))))


def residual_mlp(n_in: int, n_out: int, *, width: int = 32, depth: int = 2, skip: bool = True, bn: bool = False,
                 seed: int = 0, dtype=torch.float32) -> ResidualMLP:
    """A residual MLP (module docstring) with PyTorch's default initialisation drawn with ``seed``.

    Not :func:`landscape.models.mlp` with ``batch_norm=True``: the blocks, PyTorch's default initialisation and
    batch norm with running statistics (inside the blocks only) make it a different network.

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths.
    width : int
        Width of every hidden layer.
    depth : int
        Residual blocks (two linear layers each); ``depth=0`` is a one-hidden-layer MLP, and the number of linear
        layers is ``2 * depth + 2``.
    skip : bool
        Identity connections around the blocks (False: Li et al.'s "noshort" net).
    bn : bool
        ``BatchNorm1d`` after each linear layer of a block.
    seed : int
        Seed of ``torch.manual_seed`` before the layers are built.
    dtype : torch.dtype
        Parameter precision of the residual net.

    Returns
    -------
    ResidualMLP
        A new residual net, in train mode.

    >>> sum(p.numel() for p in residual_mlp(64, 10, width=8, depth=1).parameters())
    754
    """
    for name, v, lo in (("n_in", n_in, 1), ("n_out", n_out, 1), ("width", width, 1), ("depth", depth, 0)):
        check_scalar(v, name, int, min_val=lo)
    torch.manual_seed(seed)
    return ResidualMLP(n_in, n_out, width, depth, bool(skip), bool(bn)).to(dtype)


@dataclass(frozen=True)
class FamilyMember:
    """One trained member of a :func:`train_family` run: its ``row`` (``depth, width, skip, layers, n_params,
    train_loss, plane_loss, nonconvexity, sharpness, test_error``), its filter-normalised plane ``surface`` (a
    :func:`landscape.projections.loss_surface` frame), the trained ``model`` and the plane's directions.

    ``train_loss`` is the training run's best loss (:func:`landscape.approximation.train`: measured in train mode,
    batch norm on the statistics of all training points); ``plane_loss`` is the loss the plane shows at its
    centre (eval mode, the running statistics restored with the best epoch) on the split named ``"train"``
    (NaN without one). With batch norm the two differ a little (issue 23: 0.027 and 0.045 for the 22-layer net
    without skips at the paper settings)."""

    row: dict
    surface: pd.DataFrame
    model: ResidualMLP
    d1: np.ndarray
    d2: np.ndarray


def family_member(depth: int, width: int, skip: bool, *, train, splits, loss_fn: Callable, grid, bn: bool = True,
                  epochs: int = 60, lr: float = 0.02, batch_size: int = 64, seed: int = 0, key: Mapping | None = None,
                  metrics: Mapping[str, Callable] | None = None, device: str = "cpu",
                  cache_dir=None) -> FamilyMember:
    r"""Train one residual MLP (SGD with Nesterov momentum 0.9, cached) and look at it (source 003, Sec. 5.4.3).

    The net (``residual_mlp(..., seed=seed)``) is trained on the CPU by
    :func:`landscape.approximation.cached_train` (cache key ``key`` plus depth, width, skip, bn and seed), then
    moved to ``device``; two filter-normalised directions (:func:`landscape.batchnorm.bn_aware_direction`, seeds
    ``seed + 1`` and ``seed + 2``, BN entries zero) span the plane :math:`\theta^* + \alpha d_1 + \beta d_2`
    evaluated on ``grid`` x ``grid`` (Li et al.'s eq (12)).

    Parameters
    ----------
    depth, width, skip
        The architecture (:func:`residual_mlp`).
    train : tuple of tensors
        ``(X, y)`` training data (class labels).
    splits : mapping
        ``{name: (X, y)}`` evaluated on the plane; a ``"test"`` split with an ``accuracy`` metric gives
        ``test_error``.
    loss_fn : callable
        Training and plane loss, ``loss_fn(output, y)``.
    grid : array_like
        Symmetric grid of plane coordinates containing 0; the sharpness radius is half its largest value.
    bn, epochs, lr, batch_size, seed
        Batch norm in the blocks; the training run.
    key : mapping or None
        Extra cache-key entries (e.g. the chapter).
    metrics : mapping or None
        Extra metrics of the surface (as in :func:`landscape.projections.loss_surface`).
    device : str
        Where the plane is evaluated (training stays on the CPU).
    cache_dir : path or None
        Where trained weights are cached (None: the project's ``data/cache/hessian``).

    Returns
    -------
    FamilyMember
        The trained member and its plane.
    """
    from . import approximation, batchnorm, convexity, export, projections

    X, y = train
    net = residual_mlp(int(X.shape[1]), int(y.max()) + 1, width=width, depth=depth, skip=skip, bn=bn, seed=seed)
    res = approximation.cached_train(net, loss_fn, X, y, key={**dict(key or {}), "depth": depth, "width": width,
                                                              "skip": skip, "bn": bn, "seed": seed},
                                     epochs=epochs, lr=lr, batch_size=batch_size, momentum=0.9, nesterov=True,
                                     seed=seed, cache_dir=cache_dir)
    net = net.to(device)
    d1, d2 = (batchnorm.bn_aware_direction(net, seed + k) for k in (1, 2))
    grid = np.asarray(grid, dtype=float)
    surf = projections.loss_surface(net, loss_fn, splits, d1, d2, grid, grid, metrics=metrics)
    centre = surf[(surf.alpha == 0) & (surf.beta == 0)].set_index("split")
    row = {"depth": depth, "width": width, "skip": skip, "layers": 2 * depth + 2,
           "n_params": sum(p.numel() for p in net.parameters()), "train_loss": res.best_loss,
           "plane_loss": float(centre.loc["train", "loss"]) if "train" in centre.index else float("nan"),
           "nonconvexity": convexity.surface_nonconvexity(grid, grid, export.surface_arrays(surf)[2]),
           "sharpness": convexity.sharpness(surf, 0.5 * float(np.abs(grid).max())),
           "test_error": 1 - float(centre.loc["test", "accuracy"]) if "accuracy" in centre else float("nan")}
    return FamilyMember(row, surf, net, d1, d2)


def train_family(members: Sequence[tuple[int, int, bool]], *, jobs: int | None = None, progress: bool = False,
                 **kwargs) -> list[FamilyMember]:
    """:func:`family_member` for every ``(depth, width, skip)`` of ``members``, in order.

    Parameters
    ----------
    members : sequence of (int, int, bool)
        Depth, width and skip of each net.
    jobs : int or None
        Worker processes (:func:`landscape.executor.map_units`; None: ``$LANDSCAPE_JOBS``, else 1); every member
        carries its own seed, so the numbers do not depend on it.
    progress : bool
        Show a progress bar.
    **kwargs
        Passed to :func:`family_member` (the same for every member).

    Returns
    -------
    list of FamilyMember
        In the order of ``members``.
    """
    from .executor import map_units

    units = [(int(d), int(w), bool(s)) for d, w, s in members]
    return map_units(functools.partial(_member_unit, kwargs), units, jobs=jobs, progress=progress,
                     desc="residual family")


def _member_unit(kwargs: dict, spec: tuple[int, int, bool]) -> FamilyMember:
    return family_member(*spec, **kwargs)
