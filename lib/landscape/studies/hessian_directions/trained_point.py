r"""What a trained network's point is, and what its loss planes show (Böttcher & Wheeler, Sec. IV, Apps. C--D).

:func:`study_point` computes, at the trained weights, the dominant Hessian directions (Lanczos and the
annihilation step of App. B), the gradient and its shares along them, :math:`\eta\lambda_{\max}/2` and the
curvature length :math:`\sqrt{L_0/\lambda_{\max}}` (:func:`landscape.surfaces.planes.curvature_scale`).
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

from landscape.curvature import hessian
from landscape.infra.validation import check_finite, check_scalar
from landscape.studies.hessian_directions import digits_nets
from landscape.surfaces import planes, projections

__all__ = ["TrainedPoint", "study_point", "study_points", "point_planes", "classifier_studies", "headline", "table2",
           "table2_comparison", "network_traces", "trace_interval_z", "mean_absolute_error"]

TASKS = ("classification", "regression")


@dataclass(frozen=True)
class TrainedPoint:
    r"""A trained network at its weights: ``directions`` (:class:`landscape.surfaces.projections.HessianDirections`),
    ``diagnostics`` (:class:`landscape.surfaces.planes.PointDiagnostics`), ``scale``
    (:math:`\sqrt{L_0/\lambda_{\max}}`),
    ``n_params``.

    Parameters
    ----------
    name : str
        Label of the point.
    model : torch.nn.Module
        The trained network.
    n_params : int
        Its number of trainable scalars.
    directions : landscape.surfaces.projections.HessianDirections
        Its dominant Hessian directions.
    diagnostics : landscape.surfaces.planes.PointDiagnostics
        Losses, gradient shares and extreme curvatures.
    scale : float
        The curvature length :math:`\sqrt{L_0/\lambda_{\max}}` (:func:`landscape.surfaces.planes.curvature_scale`).
    """

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
                ncv: int | None = None, eig_tol: float = 1e-10, dtype=torch.float64, device=None) -> TrainedPoint:
    r"""What the trained point is (Sec. IV, App. D): its Hessian directions, gradient diagnostics and curvature length.

    Parameters
    ----------
    name : str
        Label of the point.
    model : torch.nn.Module
        The trained network; moved to ``device`` when one is given.
    loss_fn : callable
        ``loss_fn(output, target) -> scalar``.
    data : mapping
        ``{"train": (X, y), "test": (X, y)}``; the Hessian is taken on the training split.
    lr : float
        The training step :math:`\eta` (for :math:`\eta\lambda_{\max}/2`).
    seed : int
        Seed of the Lanczos start vector.
    ncv, eig_tol
        Lanczos basis size and tolerance of the annihilation step
        (:func:`landscape.surfaces.projections.hessian_directions`).
    dtype : torch.dtype
        Compute dtype of the Hessian-vector products.
    device : str or torch.device, optional
        Where the model is evaluated (default: where it is).

    Returns
    -------
    TrainedPoint
    """
    if device is not None:
        model = model.to(device)
    op = hessian.hessian_operator(model, loss_fn, data["train"], dtype=dtype)
    hd = projections.hessian_directions(op, ncv=ncv, seed=seed, eig_tol=eig_tol)
    diag = planes.point_diagnostics(model, loss_fn, data, hd, lr)
    scale = planes.curvature_scale(diag.train_loss, diag.lambda_max)
    n = sum(p.numel() for p in model.parameters())
    return TrainedPoint(name, model, n, hd, diag, scale)


def study_points(models: Mapping[str, nn.Module], loss_fn: Callable, data, *, jobs: int | None = None,
                 progress: bool = False, **kwargs) -> dict[str, TrainedPoint]:
    """:func:`study_point` for every named model, each a unit of :func:`landscape.infra.executor.map_units`.

    Parameters
    ----------
    models : mapping
        Name -> trained network.
    loss_fn, data
        As in :func:`study_point` (``loss_fn`` module-level when ``jobs > 1``: it is pickled).
    jobs : int or None
        Worker processes (None: ``$LANDSCAPE_JOBS``, else 1). Every unit runs with one thread and its own
        explicit ``seed``, so the numbers do not depend on ``jobs``; with ``jobs > 1`` each point holds a copy of
        its model.
    progress : bool
        Show a progress bar.
    **kwargs
        Passed to :func:`study_point` (``lr``, ``seed``, ``ncv``, ``eig_tol``, ``dtype``, ``device``).

    Returns
    -------
    dict
        Name -> :class:`TrainedPoint`, in the order of ``models``.
    """
    from landscape.infra.executor import map_units

    units = [(name, model, loss_fn, data, kwargs) for name, model in models.items()]
    done = map_units(_point_unit, units, star=True, jobs=jobs, progress=progress, desc="trained points")
    return dict(zip(models, done, strict=True))


def _point_unit(name, model, loss_fn, data, kwargs) -> TrainedPoint:
    return study_point(name, model, loss_fn, data, **kwargs)


def point_planes(point: TrainedPoint, loss_fn: Callable, data, *, factors: Sequence[float],
                 random_ranges: Sequence[float], n_points: int, seed: int = 0, random_on_factors: bool = True,
                 kinds: Sequence[str] = ("hessian", "gaussian", "filter"),
                 metrics: Mapping[str, Callable] | None = None, progress: bool = False,
                 jobs: int | None = None) -> planes.PlaneSweep:
    r"""The three planes the chapter compares (Fig. 9, Table 2), on ranges set by the curvature length.

    Parameters
    ----------
    point : TrainedPoint
        From :func:`study_point`.
    loss_fn, data
        As in :func:`landscape.surfaces.planes.plane_sweep`.
    factors : sequence of float
        Half-widths of the Hessian plane and the unit Gaussian control, in units of ``point.scale``.
    random_ranges : sequence of float
        Half-widths of the filter-normalised random plane (drawn with ``seed``, ``seed + 1``) in its usual
        coordinates, e.g. [-1, 1]; with ``random_on_factors`` it is drawn on the small half-widths too.
    n_points : int
        Grid points per axis (odd).
    seed : int
        Seed of the random planes (the unit Gaussian control uses ``seed + 2``).
    random_on_factors : bool
        Also draw the filter plane on the curvature-set half-widths.
    kinds : sequence of str
        Which of ``"hessian"``, ``"gaussian"``, ``"filter"`` are drawn.
    metrics, progress, jobs
        As in :func:`landscape.surfaces.planes.plane_sweep` (``jobs``: worker processes for the planes).

    Returns
    -------
    landscape.surfaces.planes.PlaneSweep
        With a column ``factor`` in the summary (NaN for the random ranges).
    """
    fac = np.asarray(factors, dtype=np.float64)
    if fac.size == 0:
        raise ValueError("factors must not be empty")
    check_finite(fac, "factors")
    for f in fac:
        check_scalar(float(f), "factors", float, min_val=0, include_boundaries="neither")
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
                               progress=progress, jobs=jobs)
    factor = sweep.summary.half_width / point.scale
    sweep.summary.insert(2, "factor", np.where(np.isin(sweep.summary.half_width, small), factor, np.nan))
    return sweep


def headline(summary: pd.DataFrame, factor: float, random_range: float) -> pd.DataFrame:
    r"""The source's comparison (Fig. 9, Table 2): the Hessian plane and the unit Gaussian control on
    ``factor`` x scale against the filter-normalised plane on ``random_range`` ("the smallest training loss found
    in a random-projection plot"). Rows of :func:`landscape.surfaces.planes.plane_gains`.

    Parameters
    ----------
    summary : pandas.DataFrame
        The summary of :func:`point_planes`.
    factor : float
        Half-width of the Hessian plane and the control, in units of the curvature length.
    random_range : float
        Half-width of the filter-normalised plane.

    Returns
    -------
    pandas.DataFrame
    """
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
    and the parameter-space distance between the training and the test minimum (alignment, App. C).

    Parameters
    ----------
    summary : pandas.DataFrame
        The summary of :func:`point_planes` with ``metric`` columns.
    network : str
        Label of the rows.
    factor, random_range : float
        As in :func:`headline`.
    metric : str
        The metric's name (``accuracy``).

    Returns
    -------
    pandas.DataFrame
        Three rows: ``trained point``, ``random plane``, ``Hessian plane``.
    """
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
    ``method, half_width, estimate, stderr, n_probes`` (``half_width`` NaN for Hutchinson).

    Parameters
    ----------
    model : torch.nn.Module
        The network.
    loss_fn : callable
        ``loss_fn(output, target) -> scalar``.
    train : tuple
        ``(X, y)`` of the training data.
    half_widths : sequence of float
        Fit half-widths :math:`h`.
    n_probes : int
        Gaussian directions (the same for both estimators).
    n_points : int
        Points per quadratic fit.
    seed : int
        Seed of the directions.

    Returns
    -------
    pandas.DataFrame
    """
    op = hessian.hessian_operator(model, loss_fn, train, dtype=torch.float64)
    hut = hessian.hutchinson_trace(op, n_probes, seed=seed, dist="gaussian")
    loss, theta = hessian.flat_loss(model, loss_fn, train)
    cur = hessian.curvature_trace_scan(loss, theta, n_probes, half_widths, n_points=n_points, seed=seed)
    first = pd.DataFrame([{"method": "hutchinson", "half_width": np.nan, "estimate": hut.estimate,
                           "stderr": hut.stderr, "n_probes": hut.n_probes}])
    return pd.concat([first, cur.drop(columns="n_points").assign(method="curvature")], ignore_index=True)


def classifier_studies(names: Sequence[str], data, *, seed: int, width: int, epochs: int, lr: float,
                       plane_factor: float, plane_range: float, n_points: int, plane_seed: int,
                       ncv: int | None = None, eig_tol: float = 1e-6, dtype=torch.float32, device=None,
                       cache_dir=None, jobs: int | None = None, progress: bool = False, n_in: int = 64,
                       n_out: int = 10, task: str = "classification") -> dict[str, tuple]:
    """Train each digits stand-in of Table 2 (:func:`landscape.studies.hessian_directions.digits_nets.digits_net`; SGD
    with Nesterov momentum 0.9, batch 64, cached), study its point and draw its Hessian plane (``plane_factor`` x
    scale) and filter plane (``plane_range``), with the accuracy: one unit of
    :func:`landscape.infra.executor.map_units` per network.
    On other data (``n_in``, ``n_out``, ``task``) the same stand-ins take its inputs; a regression trains with the
    mean squared error and reports the mean absolute error (:func:`mean_absolute_error`) instead of the accuracy.

    Parameters
    ----------
    names : sequence of str
        Architectures (keys of :data:`landscape.studies.hessian_directions.digits_nets.ARCHITECTURES`).
    data : mapping
        ``{"train": (X, y), "test": (X, y)}`` of the digits.
    seed : int
        Seed of the initial weights, the minibatch order and the Lanczos start vector.
    width, epochs, lr
        Units after the stem, SGD epochs and learning rate.
    plane_factor, plane_range, n_points, plane_seed
        The planes of :func:`point_planes` (``factors=[plane_factor]``, ``random_ranges=[plane_range]``,
        ``seed=plane_seed``).
    ncv, eig_tol, dtype, device
        As in :func:`study_point` (``device`` also for the training).
    cache_dir : path, optional
        Cache of the trained weights (default ``data/cache/hessian``).
    jobs : int or None
        Worker processes (None: ``$LANDSCAPE_JOBS``, else 1); the numbers do not depend on it.
    progress : bool
        Show a progress bar.
    n_in, n_out : int, default 64 and 10
        Input width and outputs of the stand-ins (the digits' 64 pixels and 10 classes; other data: its features
        and its classes or target width).
    task : {"classification", "regression"}, default "classification"
        Cross entropy and the accuracy, or the mean squared error and the mean absolute error.

    Returns
    -------
    dict
        Name -> ``(TrainedPoint, landscape.surfaces.planes.PlaneSweep)``, in the order of ``names``.
    """
    from landscape.infra.executor import map_units
    from landscape.infra.paths import cache_dir as default_cache

    for name in names:
        digits_nets.source_name(name)
    check_scalar(n_in, "n_in", int, min_val=1)
    check_scalar(n_out, "n_out", int, min_val=1)
    if task not in TASKS:
        raise ValueError(f"task must be one of {list(TASKS)}, got {task!r}")
    config = {"data": data, "seed": seed, "width": width, "n_in": n_in, "n_out": n_out, "task": task,
              "epochs": epochs, "lr": lr, "plane_factor": plane_factor,
              "plane_range": plane_range, "n_points": n_points, "plane_seed": plane_seed, "ncv": ncv,
              "eig_tol": eig_tol, "dtype": dtype, "device": device,
              "cache_dir": cache_dir if cache_dir is not None else default_cache() / "hessian"}
    done = map_units(_classifier_unit, [(name, config) for name in names], star=True, jobs=jobs, progress=progress,
                     desc="classifiers")
    return dict(zip(names, done, strict=True))


def _classifier_unit(name: str, c: dict) -> tuple:
    from landscape.nets import approximation

    classify = c["task"] == "classification"
    ce = torch.nn.functional.cross_entropy if classify else torch.nn.functional.mse_loss
    net = digits_nets.digits_net(name, c["seed"], c["width"], n_in=c["n_in"], n_out=c["n_out"])
    key = {"experiment": "digits_net", "name": name, "width": c["width"], "seed": c["seed"]}
    if not classify:  # the digits' keys stay as they were; the data's hash is part of every key
        key["task"] = c["task"]
    approximation.cached_train(net, ce, *c["data"]["train"], epochs=c["epochs"], lr=c["lr"], key=key,
                               cache_dir=c["cache_dir"], batch_size=64, momentum=0.9, nesterov=True, seed=c["seed"],
                               log_every=1, **({} if c["device"] is None else {"device": c["device"]}))
    point = study_point(name, net, ce, c["data"], lr=c["lr"], seed=c["seed"], ncv=c["ncv"], eig_tol=c["eig_tol"],
                        dtype=c["dtype"], device=c["device"])
    sweep = point_planes(point, ce, c["data"], factors=[c["plane_factor"]], random_ranges=[c["plane_range"]],
                         n_points=c["n_points"], seed=c["plane_seed"], random_on_factors=False,
                         metrics={"accuracy": projections.accuracy} if classify else {"mae": mean_absolute_error},
                         jobs=1)
    return point, sweep


def mean_absolute_error(output: torch.Tensor, target: torch.Tensor) -> float:
    """Mean absolute error, the metric of a regression in :func:`classifier_studies` (the accuracy's place).

    Parameters
    ----------
    output : torch.Tensor
        Predictions, shape ``(N, k)``.
    target : torch.Tensor
        Targets of the same shape.

    Returns
    -------
    float

    Examples
    --------
    >>> mean_absolute_error(torch.tensor([[1.0], [3.0]]), torch.tensor([[2.0], [3.0]]))
    0.5
    """
    return float((output - target).abs().double().mean())


def table2_comparison(table: pd.DataFrame, accuracy_tol: float = 0.01, metric: str = "accuracy") -> dict:
    """Read the comparison of Table 2 and App. C off :func:`table2` rows of several networks.

    Parameters
    ----------
    table : pandas.DataFrame
        Concatenated :func:`table2` frames (rows ``"random plane"`` and ``"Hessian plane"`` per network, in the
        same network order).
    accuracy_tol : float
        Largest difference of test accuracy that still counts as a tie.
    metric : str, default "accuracy"
        The metric of :func:`table2` whose test values are compared (``mae`` for a regression).

    Returns
    -------
    dict
        ``comparable``: every network's two planes have test accuracies within ``accuracy_tol``; ``aligned``:
        the number of networks whose Hessian plane has the closer training and test minima; ``networks``.

    >>> t = pd.DataFrame({"row": ["random plane", "Hessian plane"] * 2, "test_accuracy": [0.9, 0.905, 0.8, 0.85],
    ...                   "train_test_distance": [1.0, 0.5, 0.2, 0.3]})
    >>> table2_comparison(t)
    {'comparable': False, 'aligned': 1, 'networks': 2}
    """
    check_scalar(accuracy_tol, "accuracy_tol", float, min_val=0)
    hes = table[table.row == "Hessian plane"].reset_index(drop=True)
    rnd = table[table.row == "random plane"].reset_index(drop=True)
    if len(hes) != len(rnd):
        raise ValueError(f"table: {len(hes)} Hessian-plane rows but {len(rnd)} random-plane rows")
    col = f"test_{metric}"
    return {"comparable": bool((np.abs(hes[col] - rnd[col]) <= accuracy_tol).all()),
            "aligned": int((hes.train_test_distance < rnd.train_test_distance).sum()), "networks": len(hes)}


def trace_interval_z(traces: pd.DataFrame) -> pd.Series:
    r"""How many joint standard errors each curvature-based trace of :func:`network_traces` lies from Hutchinson's:
    :math:`|\hat t_h - \hat t_{\rm H}| / \sqrt{\sigma_h^2 + \sigma_{\rm H}^2}`, indexed by the fit half-width.

    Parameters
    ----------
    traces : pandas.DataFrame
        The frame of :func:`network_traces`.

    Returns
    -------
    pandas.Series

    Examples
    --------
    >>> t = pd.DataFrame({"method": ["hutchinson", "curvature"], "half_width": [np.nan, 0.1],
    ...                   "estimate": [10.0, 15.0], "stderr": [3.0, 4.0]})
    >>> trace_interval_z(t).tolist()
    [1.0]
    """
    hut = traces[traces.method == "hutchinson"]
    if len(hut) != 1:
        raise ValueError(f"traces must hold exactly one Hutchinson row, got {len(hut)}")
    h = hut.iloc[0]
    cur = traces[traces.method == "curvature"]
    z = np.abs(cur.estimate - h.estimate) / np.hypot(cur.stderr, h.stderr)
    return pd.Series(z.to_numpy(), index=cur.half_width.to_numpy(), name="z")
