r"""What a trained network's point is, and what its loss planes show (Böttcher & Wheeler, Sec. IV, Apps. C--D).

:func:`study_point` computes, at the trained weights, the dominant Hessian directions (Lanczos and the
annihilation step of App. B), the gradient and its shares along them, :math:`\eta\lambda_{\max}/2` and the
curvature length :math:`\sqrt{L_0/\lambda_{\max}}` (:func:`landscape.surfaces.planes.curvature_scale`).
:func:`point_planes` draws the three planes the chapter compares: the Hessian plane
:math:`(v_{\max}, v_{\min})`, a unit-norm Gaussian plane of the same Euclidean extent (the control) and a
filter-normalised random plane (Li et al., the source's random plane), on ranges set by that length.
:func:`headline` reads the source's comparison off a sweep, :func:`table2` lays a sweep out as the source's
Table 2 and :func:`network_traces` (:func:`paired_traces`) compares the curvature-based trace (eq (23)) with
Hutchinson's on the same directions, probe by probe.
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
           "table2_comparison", "equal_extent_gains", "fcnn_gains_over_seeds", "gain_intervals", "paired_traces",
           "network_traces", "trace_interval_z", "mean_absolute_error"]

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


#: Largest Newton step along :math:`v_{\max}`, in curvature lengths, at which a trained point counts as stationary
#: for the claims of Sec. IV and App. D (our choice: the gradient then moves the point by a tenth of the length on
#: which the loss changes along the stiffest direction).
STATIONARY_LIMIT = 0.1


def stationarity(grad_norm: float, lambda_max: float, lambda_min: float, scale: float,
                 limit: float = STATIONARY_LIMIT) -> tuple[float, bool, str]:
    r"""The stationary-point premise of a trained point, as a number: the Newton step along the stiffest direction
    in curvature lengths, :math:`r = \|g\| / (\lambda_{\max} s)` with :math:`s = \sqrt{L_0/\lambda_{\max}}`
    (:func:`landscape.surfaces.planes.curvature_scale`). On a quadratic valley :math:`L = \lambda x^2/2` with its
    floor at 0, :math:`r = \sqrt 2` wherever the point sits; :math:`r = 0` at a stationary point. The premise holds
    for :math:`r <` ``limit``.

    Parameters
    ----------
    grad_norm : float
        :math:`\|g\|_2` of the full training gradient (>= 0).
    lambda_max, lambda_min : float
        Extreme Hessian eigenvalues (``lambda_max`` > 0).
    scale : float
        The curvature length :math:`s` (> 0).
    limit : float
        Largest :math:`r` of a stationary point (> 0).

    Returns
    -------
    (float, bool, str)
        :math:`r`, whether the premise holds, and a one-line account (with the step :math:`\|g\|/|\lambda_{\min}|`
        along the negative curvature, also in curvature lengths).
    """
    grad_norm = float(check_scalar(grad_norm, "grad_norm", float, min_val=0.0))
    lambda_max = float(check_scalar(lambda_max, "lambda_max", float, min_val=0.0, include_boundaries="neither"))
    scale = float(check_scalar(scale, "scale", float, min_val=0.0, include_boundaries="neither"))
    limit = float(check_scalar(limit, "limit", float, min_val=0.0, include_boundaries="neither"))
    lambda_min = float(check_scalar(lambda_min, "lambda_min", float))
    ratio = grad_norm / (lambda_max * scale)
    neg = f"; along v_min |g|/|lambda_min| = {grad_norm / abs(lambda_min) / scale:.3g} s" if lambda_min < 0 else ""
    detail = (f"|g| = {grad_norm:.3g}, Newton step along v_max |g|/lambda_max = {ratio:.3g} curvature lengths s "
              f"(stationary below {limit:g}){neg}")
    return ratio, bool(ratio < limit), detail


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


def equal_extent_gains(point: TrainedPoint, loss_fn: Callable, data, extents: Sequence[float], *, n_points: int,
                       seed: int = 0, jobs: int | None = None) -> pd.DataFrame:
    r"""The source's gain (Fig. 9, App. D: the Hessian plane's training minimum below "the smallest training loss
    found in a random-projection plot", and the test loss there below the test loss at the random plane's
    training minimum) with both planes at the SAME extent in parameter distance: the Hessian plane
    :math:`(v_{\max}, v_{\min})` (unit eigenvectors) and a unit-norm Gaussian plane
    (:func:`landscape.surfaces.planes.unit_gaussian_plane`, seed ``seed + 2``), each on
    :math:`[-e, e]^2` for every extent :math:`e` (:func:`landscape.surfaces.planes.plane_gains`).

    Parameters
    ----------
    point : TrainedPoint
        From :func:`study_point`.
    loss_fn, data
        As in :func:`point_planes`.
    extents : sequence of float
        Half-widths :math:`e > 0` in parameter distance.
    n_points : int
        Grid points per axis (odd, so the trained point is on the grid).
    seed : int
        Seed of the random plane (as :func:`point_planes`).
    jobs : int or None
        Worker processes for the planes.

    Returns
    -------
    pandas.DataFrame
        One row per extent: ``extent, hessian_reduction_pct, gaussian_reduction_pct`` (each plane's lowest
        training loss below the trained point's), ``train_gain_pct, test_gain_pct`` (Hessian against Gaussian).
    """
    ext = np.atleast_1d(np.asarray(extents, dtype=np.float64))
    if ext.size == 0 or not np.all(np.isfinite(ext)) or np.any(ext <= 0):
        raise ValueError(f"extents must be finite and > 0, got {extents!r}")
    sweep = point_planes(point, loss_fn, data, factors=[float(e / point.scale) for e in ext], random_ranges=[],
                         n_points=n_points, seed=seed, kinds=("hessian", "gaussian"), jobs=jobs).summary
    gains = planes.plane_gains(sweep, "gaussian").set_index("half_width")
    red = sweep.set_index(["plane", "half_width"]).train_reduction_pct
    rows = []
    for e, h in zip(ext, sorted(set(sweep.half_width)), strict=True):  # half_width = (e / scale) * scale, ~ e
        rows.append({"extent": float(e), "hessian_reduction_pct": float(red["hessian", h]),
                     "gaussian_reduction_pct": float(red["gaussian", h]),
                     "train_gain_pct": float(gains.train_gain_pct[h]), "test_gain_pct": float(gains.test_gain_pct[h])})
    return pd.DataFrame(rows)


def fcnn_gains_over_seeds(n_layers: int, width: int, function_data, loss_fn: Callable, *, seeds: Sequence[int],
                          epochs: int, lr: float, extents: Sequence[float], plane_factor: float, plane_range: float,
                          n_points: int, plane_seed: int, lanczos_seed: int = 0, ncv: int | None = None,
                          eig_tol: float = 1e-6, device=None, first: TrainedPoint | None = None,
                          cache_dir=None, jobs: int | None = None) -> pd.DataFrame:
    r"""The FCNN gains of App. D over initialisations: for each init seed the network
    (:func:`landscape.nets.approximation.fcnn`) is trained as the chapter trains it (full batch, cached,
    :func:`landscape.nets.approximation.cached_train`), studied (:func:`study_point`) and compared twice: at equal
    extents (:func:`equal_extent_gains`) and as the headline of the chapter (Hessian plane on
    ``plane_factor`` curvature lengths against the filter-normalised plane on ``plane_range``, :func:`headline`;
    the two planes then differ in size by orders of magnitude).

    Parameters
    ----------
    n_layers, width : int
        The network (:func:`landscape.nets.approximation.fcnn`).
    function_data : mapping
        ``{"train": (X, y), "test": (X, y)}`` as float32 tensors.
    loss_fn : callable
        The training loss (module level when ``jobs > 1``).
    seeds : sequence of int
        Init seeds, one unit of :func:`landscape.infra.executor.map_units` each.
    epochs, lr : int, float
        Full-batch training.
    extents : sequence of float
        Equal-extent half-widths in parameter distance.
    plane_factor, plane_range : float
        The headline comparison.
    n_points : int
        Grid points per axis of every plane.
    plane_seed : int
        Seed of the random planes of ``seeds[0]``; the ``k``-th init seed draws its planes with ``plane_seed + k``,
        so the spread over seeds includes the draw of the random plane.
    lanczos_seed, ncv, eig_tol, device
        As in :func:`study_point`.
    first : TrainedPoint, optional
        The point of ``seeds[0]`` when it is already studied (not trained or studied again).
    cache_dir : path, optional
        Cache of the trained weights (default: that of :func:`landscape.nets.approximation.cached_train`).
    jobs : int or None
        Worker processes over the seeds; the numbers do not depend on it.

    Returns
    -------
    pandas.DataFrame
        One row per seed and comparison: ``init_seed, comparison`` (``"equal extent"`` or ``"headline"``),
        ``extent`` (NaN for the headline), ``train_gain_pct, test_gain_pct, hessian_reduction_pct,
        gaussian_reduction_pct, filter_reduction_pct, scale``, and the premise of the trained point:
        ``grad_norm, lambda_max, lambda_min, stationarity`` (the ratio of :func:`stationarity`).
    """
    from landscape.infra.executor import map_units

    seeds = [int(x) for x in seeds]
    if not seeds:
        raise ValueError("seeds must not be empty")
    config = {"n_layers": int(n_layers), "width": int(width), "data": function_data, "loss_fn": loss_fn,
              "epochs": int(epochs), "lr": float(lr), "extents": list(extents), "plane_factor": float(plane_factor),
              "plane_range": float(plane_range), "n_points": int(n_points), "plane_seed": int(plane_seed),
              "lanczos_seed": int(lanczos_seed), "ncv": ncv, "eig_tol": float(eig_tol), "device": device,
              "cache_dir": cache_dir}
    units = [(s, k, config, first if (k == 0 and first is not None) else None) for k, s in enumerate(seeds)]
    done = map_units(_gain_unit, units, star=True, jobs=jobs, desc="gain seeds")
    return pd.concat(done, ignore_index=True)


def gain_intervals(gains: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95 % Student-t interval over init seeds (:func:`landscape.infra.results.interval95`) of the train
    and test gains of :func:`fcnn_gains_over_seeds`, per ``network`` (when present), comparison and extent.

    Parameters
    ----------
    gains : pandas.DataFrame
        Rows of :func:`fcnn_gains_over_seeds` (optionally with a ``network`` column).

    Returns
    -------
    pandas.DataFrame
        ``network, comparison, extent, n_runs, train_mean, train_low, train_high, test_mean, test_low,
        test_high, hessian_reduction_pct`` (the mean; low/high NaN with one seed).

    Examples
    --------
    >>> g = pd.DataFrame({"comparison": "equal extent", "extent": 0.1, "train_gain_pct": [1.0, 2.0, 3.0],
    ...                   "test_gain_pct": 0.0, "hessian_reduction_pct": 5.0})
    >>> r = gain_intervals(g).iloc[0]
    >>> int(r.n_runs), round(float(r.train_mean), 4), round(float(r.train_low), 4)  # t_{0.975, 2} s / sqrt(3) = 2.4841
    (3, 2.0, -0.4841)
    """
    from landscape.infra.results import interval95

    frame = gains if "network" in gains else gains.assign(network="")
    rows = []
    for (net, comp, ext), g in frame.groupby(["network", "comparison", "extent"], sort=False, dropna=False):
        tr, te = interval95(g.train_gain_pct), interval95(g.test_gain_pct)
        rows.append({"network": net, "comparison": comp, "extent": ext, "n_runs": tr[3], "train_mean": tr[0],
                     "train_low": tr[1], "train_high": tr[2], "test_mean": te[0], "test_low": te[1],
                     "test_high": te[2], "hessian_reduction_pct": float(g.hessian_reduction_pct.mean())})
    return pd.DataFrame(rows)


def _gain_unit(init_seed: int, k: int, c: dict, point: TrainedPoint | None) -> pd.DataFrame:
    from landscape.nets import approximation

    if point is None:
        net = approximation.fcnn(c["n_layers"], c["width"], seed=init_seed)
        approximation.cached_train(net, c["loss_fn"], *c["data"]["train"],
                                   key={"experiment": "fcnn", "n_layers": c["n_layers"], "seed": init_seed},
                                   epochs=c["epochs"], lr=c["lr"], log_every=max(1, c["epochs"] // 200),
                                   cache_dir=c["cache_dir"], **({} if c["device"] is None else {"device": c["device"]}))
        point = study_point(f"{c['n_layers']} layers, init {init_seed}", net, c["loss_fn"], c["data"], lr=c["lr"],
                            seed=c["lanczos_seed"], ncv=c["ncv"], eig_tol=c["eig_tol"], device=c["device"])
    equal = equal_extent_gains(point, c["loss_fn"], c["data"], c["extents"], n_points=c["n_points"],
                               seed=c["plane_seed"] + k, jobs=1).assign(comparison="equal extent")
    head = point_planes(point, c["loss_fn"], c["data"], factors=[c["plane_factor"]], random_ranges=[c["plane_range"]],
                        n_points=c["n_points"], seed=c["plane_seed"] + k, random_on_factors=False,
                        kinds=("hessian", "filter"), jobs=1).summary
    row = headline(head, c["plane_factor"], c["plane_range"])
    row = row[row.plane == "hessian"].iloc[0]
    filt = head[head.plane == "filter"].iloc[0]
    hl = pd.DataFrame([{"comparison": "headline", "extent": np.nan, "train_gain_pct": float(row.train_gain_pct),
                        "test_gain_pct": float(row.test_gain_pct),
                        "hessian_reduction_pct": float(row.train_reduction_pct),
                        "gaussian_reduction_pct": np.nan, "filter_reduction_pct": float(filt.train_reduction_pct)}])
    d = point.diagnostics
    ratio, _, _ = stationarity(d.grad_norm, d.lambda_max, d.lambda_min, point.scale)
    out = pd.concat([equal, hl], ignore_index=True).assign(
        init_seed=init_seed, scale=point.scale, grad_norm=d.grad_norm, lambda_max=d.lambda_max,
        lambda_min=d.lambda_min, stationarity=ratio)
    return out[["init_seed", "comparison", "extent", "train_gain_pct", "test_gain_pct", "hessian_reduction_pct",
                "gaussian_reduction_pct", "filter_reduction_pct", "scale", "grad_norm", "lambda_max", "lambda_min",
                "stationarity"]]


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


def paired_traces(loss: Callable[[np.ndarray], float], x0, op, half_widths: Sequence[float], n_probes: int, *,
                  n_points: int = 50, seed: int = 0, dist: str = "gaussian") -> pd.DataFrame:
    r"""Hutchinson's trace (eq (25), products with ``op``) and the curvature-based trace (quadratic fits of
    :math:`\ell(\alpha) = L(x_0 + \alpha\delta)` on :math:`[-h, h]`, eq (23)) on the SAME probe directions
    :math:`\delta_j` (:func:`landscape.curvature.hessian.probe_vectors`), compared pair by pair.

    For each fit half-width :math:`h` the per-probe differences :math:`d_j = 2c_2(\delta_j; h) -
    \delta_j^\top H\delta_j` cancel the probe noise both estimators share (for a quadratic loss every
    :math:`d_j` is 0 up to rounding). Their mean, its standard error :math:`s_d/\sqrt k`, the paired statistic
    :math:`z = \bar d / (s_d/\sqrt k)` and the 95 % Student-t interval of :math:`\bar d`
    (:func:`landscape.infra.results.interval95`) say whether the two estimators agree at that :math:`h` (the
    interval holds 0) or not. A width ``differs`` when that interval excludes 0 and ``agrees`` when it lies within
    one standard error of Hutchinson's estimate (:math:`\pm s_{\rm H}/\sqrt k`, the noise the estimate has
    anyway): its bias is then too small to change what the estimate says. The paired test alone cannot call a
    non-quadratic loss equal at any :math:`h`, since the bias, however small, is systematic. One row per method
    and width, tidy: ``method, half_width, estimate, stderr, n_probes, paired_diff, paired_se, paired_z,
    paired_low, paired_high, differs, agrees`` (``half_width`` and the paired columns NaN on the Hutchinson row).
    (:func:`landscape.curvature.hessian.curvature_trace` fits in :math:`\alpha/h`, so tiny widths,
    :math:`h \sim 10^{-7}`, keep their :math:`\alpha^2` column.)

    Parameters
    ----------
    loss : callable
        Flat float64 vector -> float (:func:`landscape.curvature.hessian.flat_loss` for a network).
    x0 : array_like
        The point.
    op : scipy.sparse.linalg.LinearOperator or numpy.ndarray
        The Hessian at ``x0`` (an operator of Hessian-vector products or a dense matrix).
    half_widths : sequence of float
        Fit half-widths :math:`h` (> 0).
    n_probes : int
        Directions :math:`k \ge 2` (the same for both estimators and every width).
    n_points : int
        Equidistant points per quadratic fit (>= 3).
    seed : int
        Seed of the directions.
    dist : {"gaussian", "rademacher"}
        Entry distribution of the directions.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> H = np.diag([3.0, -1.0, 2.0])
    >>> t = paired_traces(lambda x: 0.5 * float(x @ H @ x), np.zeros(3), H, [0.5], 20, seed=1)
    >>> bool(abs(t.paired_diff[1]) < 1e-12)  # quadratic: the two estimators agree probe by probe
    True
    """
    from landscape.infra.results import interval95

    if not isinstance(n_probes, (int, np.integer)) or isinstance(n_probes, bool) or n_probes < 2:
        raise ValueError(f"n_probes must be an integer >= 2 (a paired interval needs two probes), got {n_probes!r}")
    hs = np.atleast_1d(np.asarray(half_widths, dtype=np.float64))
    if hs.size == 0 or not np.all(np.isfinite(hs)) or np.any(hs <= 0):
        raise ValueError(f"half_widths must be finite and > 0, got {half_widths!r}")
    if not isinstance(n_points, (int, np.integer)) or n_points < 3:
        raise ValueError(f"n_points must be an integer >= 3, got {n_points!r}")
    hut = hessian.hutchinson_trace(op, int(n_probes), seed=seed, dist=dist)
    rows = [{"method": "hutchinson", "half_width": np.nan, "estimate": hut.estimate, "stderr": hut.stderr,
             "n_probes": hut.n_probes, "paired_diff": np.nan, "paired_se": np.nan, "paired_z": np.nan,
             "paired_low": np.nan, "paired_high": np.nan}]
    x0 = np.asarray(x0, dtype=np.float64).reshape(-1)
    unit = np.linspace(-1.0, 1.0, int(n_points))
    for h in hs:
        cur = hessian.curvature_trace(loss, x0, int(n_probes), alphas=h * unit, seed=seed, dist=dist)
        samples = np.asarray(cur.samples)
        d = samples - np.asarray(hut.samples)
        mean, low, high, _ = interval95(d)
        se = float(d.std(ddof=1) / np.sqrt(d.size))
        rows.append({"method": "curvature", "half_width": float(h), "estimate": float(samples.mean()),
                     "stderr": float(samples.std(ddof=1) / np.sqrt(samples.size)), "n_probes": samples.size,
                     "paired_diff": mean, "paired_se": se,
                     "paired_z": mean / se if se > 0 else (0.0 if mean == 0 else np.inf),
                     "paired_low": low, "paired_high": high})
    out = pd.DataFrame(rows)
    margin = hut.stderr
    cur_rows = out.method == "curvature"
    differs = (out.paired_low > 0) | (out.paired_high < 0)
    agrees = (out.paired_low >= -margin) & (out.paired_high <= margin)
    for name, flag in (("differs", differs), ("agrees", agrees)):
        out[name] = pd.array([bool(v) if c else pd.NA for v, c in zip(flag, cur_rows, strict=True)], dtype="boolean")
    return out


def network_traces(model: nn.Module, loss_fn: Callable, train, half_widths: Sequence[float], n_probes: int, *,
                   n_points: int = 50, seed: int = 0) -> pd.DataFrame:
    r""":func:`paired_traces` at a network's weights: Hutchinson's trace (HVPs, float64) and the curvature-based
    trace (quadratic fits on :math:`[-h, h]`, eq (23), the loss in float64) on the same Gaussian directions, for
    every fit half-width :math:`h`, with the paired comparison of the two.

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
        Gaussian directions (the same for both estimators), >= 2.
    n_points : int
        Points per quadratic fit.
    seed : int
        Seed of the directions.

    Returns
    -------
    pandas.DataFrame
        The frame of :func:`paired_traces`.
    """
    op = hessian.hessian_operator(model, loss_fn, train, dtype=torch.float64)
    loss, theta = hessian.flat_loss(model, loss_fn, train)
    return paired_traces(loss, theta, op, half_widths, n_probes, n_points=n_points, seed=seed)


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
