r"""The residual family of chapter 06 (source 003, Sec. 5.4.3): residual MLPs of several depths and widths, with
and without skip connections, trained (cached) and each looked at on its filter-normalised plane.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from landscape.infra.executor import map_units
from landscape.nets import approximation
from landscape.nets.residual import ResidualMLP, residual_mlp
from landscape.surfaces import batchnorm, convexity, export, projections

__all__ = ["FamilyMember", "family_member", "train_family"]


@dataclass(frozen=True)
class FamilyMember:
    r"""One trained member of a :func:`train_family` run: its ``row`` (``depth, width, skip, layers, n_params,
    train_loss, plane_loss, nonconvexity, sharpness, test_error``), its filter-normalised plane ``surface`` (a
    :func:`landscape.surfaces.projections.loss_surface` frame), the trained ``model`` and the plane's directions.

    Parameters
    ----------
    row : dict
        The member's line of the chapter's table: ``depth``, ``width``, ``skip``, ``layers`` (``2 depth + 2``),
        ``n_params``, ``train_loss`` (the training run's best loss, :func:`landscape.nets.approximation.train`:
        measured in train mode, batch norm on the statistics of all training points), ``plane_loss`` (the loss the
        plane shows at its centre on the split named ``"train"``: eval mode, the running statistics restored with the
        best epoch; NaN without one; with batch norm the two differ a little, issue 23: 0.027 and 0.045 for the
        22-layer net without skips at the paper settings), ``nonconvexity``
        (:func:`landscape.surfaces.convexity.surface_nonconvexity` of the training surface), ``sharpness``
        (:func:`landscape.surfaces.convexity.sharpness` at half the grid's radius) and ``test_error`` (1 − test
        accuracy at the centre; NaN without an ``accuracy`` metric on a ``"test"`` split).
    surface : pandas.DataFrame
        The plane :math:`\theta^* + \alpha d_1 + \beta d_2` (Li et al.'s eq (12)): columns
        ``alpha, beta, split, loss[, metrics]``.
    model : ResidualMLP
        The trained network, on the device the plane was evaluated on.
    d1, d2 : numpy.ndarray, shape (m,)
        The two filter-normalised directions (:func:`landscape.surfaces.batchnorm.bn_aware_direction`, batch-norm
        entries zero).
    """

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
    :func:`landscape.nets.approximation.cached_train` (cache key ``key`` plus depth, width, skip, bn and seed), then
    moved to ``device``; two filter-normalised directions (:func:`landscape.surfaces.batchnorm.bn_aware_direction`,
    seeds ``seed + 1`` and ``seed + 2``, BN entries zero) span the plane :math:`\theta^* + \alpha d_1 + \beta d_2`
    evaluated on ``grid`` x ``grid`` (Li et al.'s eq (12)).

    Parameters
    ----------
    depth, width, skip
        The architecture (:func:`residual_mlp`).
    train : tuple of tensors
        ``(X, y)`` training data: int64 class labels (outputs: the largest label + 1) or float regression targets
        of shape (N, r) (r outputs, with a matching ``loss_fn``).
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
        Extra metrics of the surface (as in :func:`landscape.surfaces.projections.loss_surface`).
    device : str
        Where the plane is evaluated (training stays on the CPU).
    cache_dir : path or None
        Where trained weights are cached (None: the project's ``data/cache/hessian``).

    Returns
    -------
    FamilyMember
        The trained member and its plane.
    """
    X, y = train
    n_out = int(y.shape[1]) if y.is_floating_point() else int(y.max()) + 1  # regression targets (N, r): r outputs
    net = residual_mlp(int(X.shape[1]), n_out, width=width, depth=depth, skip=skip, bn=bn, seed=seed)
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
        Worker processes (:func:`landscape.infra.executor.map_units`; None: ``$LANDSCAPE_JOBS``, else 1); every member
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
    units = [(int(d), int(w), bool(s)) for d, w, s in members]
    return map_units(functools.partial(_member_unit, kwargs), units, jobs=jobs, progress=progress,
                     desc="residual family")


def _member_unit(kwargs: dict, spec: tuple[int, int, bool]) -> FamilyMember:
    return family_member(*spec, **kwargs)
