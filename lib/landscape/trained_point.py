r"""What a trained network's point is, and what its loss planes show (Böttcher & Wheeler, Sec. IV, Apps. C--D).

:func:`study_point` computes, at the trained weights, the dominant Hessian directions (Lanczos and the
annihilation step of App. B), the gradient and its shares along them, :math:`\eta\lambda_{\max}/2` and the
curvature length :math:`\sqrt{L_0/\lambda_{\max}}` (:func:`landscape.planes.curvature_scale`).
:func:`point_planes` draws the three planes the chapter compares: the Hessian plane
:math:`(v_{\max}, v_{\min})`, a unit-norm Gaussian plane of the same Euclidean extent (the control) and a
filter-normalised random plane (Li et al., the source's random plane), on ranges set by that length.
:func:`headline` reads the source's comparison off a sweep, :func:`table2` lays a sweep out as the source's
Table 2 and :func:`network_traces` sets the curvature-based trace (eq (23)) beside Hutchinson's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import hessian, planes, projections

__all__ = ["TrainedPoint", "study_point", "point_planes", "headline", "table2", "network_traces"]


@dataclass(frozen=True)
class TrainedPoint:
    """A trained network at its weights: ``directions`` (:class:`landscape.projections.HessianDirections`),
    ``diagnostics`` (:class:`landscape.planes.PointDiagnostics`), ``scale`` (:math:`\\sqrt{L_0/\\lambda_{\\max}}`),
    ``n_params``."""

    name: str
    model: nn.Module
    n_params: int
    directions: projections.HessianDirections
    diagnostics: planes.PointDiagnostics
    scale: float

    def row(self) -> dict:
        """One row for a summary table: name, parameters, the diagnostics and the Hessian-direction search."""
        return {"network": self.name, "n_params": self.n_params, **self.diagnostics.__dict__,
                "is_saddle": self.directions.is_saddle, "hvps": self.directions.n_matvecs, "scale": self.scale}


def study_point(name: str, model: nn.Module, loss_fn: Callable, data, *, lr: float, seed: int = 0,
                ncv: int | None = None, eig_tol: float = 1e-10, dtype=torch.float64) -> TrainedPoint:
    """Hessian directions (HVPs in ``dtype`` on the training split of ``data = {"train", "test"}``), gradient
    diagnostics for step ``lr`` and the curvature length at the model's current weights."""
    op = hessian.hessian_operator(model, loss_fn, data["train"], dtype=dtype)
    hd = projections.hessian_directions(op, ncv=ncv, seed=seed, eig_tol=eig_tol)
    diag = planes.point_diagnostics(model, loss_fn, data, hd, lr)
    scale = planes.curvature_scale(diag.train_loss, diag.lambda_max)
    n = sum(p.numel() for p in model.parameters())
    return TrainedPoint(name, model, n, hd, diag, scale)


def point_planes(point: TrainedPoint, loss_fn: Callable, data, *, factors: Sequence[float],
                 random_ranges: Sequence[float], n_points: int, seed: int = 0, random_on_factors: bool = True,
                 kinds: Sequence[str] = ("hessian", "gaussian", "filter"),
                 metrics: Mapping[str, Callable] | None = None, progress: bool = False) -> planes.PlaneSweep:
    r"""The Hessian plane and the unit Gaussian control on half-widths ``factors`` x ``point.scale``; the
    filter-normalised random plane (drawn with ``seed``, ``seed + 1``) on ``random_ranges`` (its usual
    coordinates, e.g. [-1, 1]) and, with ``random_on_factors``, on the small half-widths too; ``kinds`` picks
    which of the three planes are drawn. Returns
    :func:`landscape.planes.plane_sweep`'s result with a column ``factor`` (NaN for the random ranges)."""
    fac = np.asarray(factors, dtype=np.float64)
    if fac.size == 0 or not np.all(np.isfinite(fac)) or np.any(fac <= 0):
        raise ValueError(f"factors must be finite and > 0, got {factors!r}")
    small = [float(f * point.scale) for f in fac]
    d = point.directions.directions
    ps = {"hessian": (d[0], d[-1]), "gaussian": planes.unit_gaussian_plane(point.n_params, seed + 2),
          "filter": (projections.random_direction(point.model, seed, kind="filter"),
                     projections.random_direction(point.model, seed + 1, kind="filter"))}
    unknown = set(kinds) - set(ps)
    if unknown or not kinds:
        raise ValueError(f"kinds must be a non-empty subset of {sorted(ps)}, got {kinds!r}")
    rnd = sorted(set(small if random_on_factors else []) | {float(r) for r in random_ranges})
    widths = {k: w for k, w in {"hessian": small, "gaussian": small, "filter": rnd}.items() if k in kinds}
    ps = {k: v for k, v in ps.items() if k in kinds}
    sweep = planes.plane_sweep(point.model, loss_fn, data, ps, widths, n_points, metrics=metrics,
                               progress=progress)
    factor = sweep.summary.half_width / point.scale
    sweep.summary.insert(2, "factor", np.where(np.isin(sweep.summary.half_width, small), factor, np.nan))
    return sweep


def headline(summary: pd.DataFrame, factor: float, random_range: float) -> pd.DataFrame:
    r"""The source's comparison (Fig. 9, Table 2): the Hessian plane and the unit Gaussian control on
    ``factor`` x scale against the filter-normalised plane on ``random_range`` ("the smallest training loss found
    in a random-projection plot"). Rows of :func:`landscape.planes.plane_gains`."""
    at = summary[np.isclose(summary.factor, factor)]
    if at.empty:
        raise ValueError(f"factor {factor!r} is not among the sweep's factors {sorted(set(summary.factor.dropna()))}")
    keep = np.isclose(summary.factor, factor) | ((summary.plane == "filter") & (summary.half_width == random_range))
    return planes.plane_gains(summary[keep & ~((summary.plane == "filter") & (summary.half_width != random_range))],
                              "filter", reference_width=float(random_range))


def table2(summary: pd.DataFrame, network: str, factor: float, random_range: float,
           metric: str = "accuracy") -> pd.DataFrame:
    """Table 2 layout for one network: the trained point, the random (filter) plane's training minimum on
    ``random_range`` and the Hessian plane's on ``factor`` x scale: training and test loss and ``metric`` there,
    and the parameter-space distance between the training and the test minimum (alignment, App. C)."""
    rnd = summary[(summary.plane == "filter") & np.isclose(summary.half_width, random_range)].iloc[0]
    hes = summary[(summary.plane == "hessian") & np.isclose(summary.factor, factor)].iloc[0]
    m = metric
    rows = [{"network": network, "row": "trained point", "train_loss": rnd.train_loss_origin,
             "test_loss": rnd.test_loss_origin, f"train_{m}": rnd[f"train_{m}_origin"],
             f"test_{m}": rnd[f"test_{m}_origin"], "train_test_distance": np.nan, "half_width": 0.0}]
    for label, r in (("random plane", rnd), ("Hessian plane", hes)):
        rows.append({"network": network, "row": label, "train_loss": r.train_loss_min,
                     "test_loss": r.test_loss_at_train_min, f"train_{m}": r[f"train_{m}_at_train_min"],
                     f"test_{m}": r[f"test_{m}_at_train_min"], "train_test_distance": r.train_test_distance,
                     "half_width": r.half_width})
    return pd.DataFrame(rows)


def network_traces(model: nn.Module, loss_fn: Callable, train, half_widths: Sequence[float], n_probes: int, *,
                   n_points: int = 50, seed: int = 0) -> pd.DataFrame:
    r"""Hutchinson's trace (HVPs, float64) and the curvature-based trace (quadratic fits on :math:`[-h, h]`,
    eq (23)) with the same Gaussian directions, for every fit half-width :math:`h`. Tidy frame
    ``method, half_width, estimate, stderr, n_probes`` (``half_width`` NaN for Hutchinson)."""
    op = hessian.hessian_operator(model, loss_fn, train, dtype=torch.float64)
    hut = hessian.hutchinson_trace(op, n_probes, seed=seed, dist="gaussian")
    loss, theta = hessian.flat_loss(model, loss_fn, train)
    cur = hessian.curvature_trace_scan(loss, theta, n_probes, half_widths, n_points=n_points, seed=seed)
    first = pd.DataFrame([{"method": "hutchinson", "half_width": np.nan, "estimate": hut.estimate,
                           "stderr": hut.stderr, "n_probes": hut.n_probes}])
    return pd.concat([first, cur.drop(columns="n_points").assign(method="curvature")], ignore_index=True)
