r"""Loss planes at a trained network, with ranges set by curvature (Böttcher & Wheeler, Sec. IV, Apps. C--D).

A loss plane :math:`\ell(\alpha, \beta) = L(\theta^* + \alpha\delta + \beta\eta)` (eq (12)) only shows what its
grid resolves. Along a unit eigenvector of curvature :math:`\lambda_{\max}` the quadratic model
:math:`L_0 + \tfrac12\lambda_{\max}\alpha^2` doubles the loss :math:`L_0` at
:math:`\alpha = \sqrt{2L_0/\lambda_{\max}}`, so features of a plane spanned by unit eigenvectors live on the
scale :func:`curvature_scale` :math:`= \sqrt{L_0/\lambda_{\max}}`; the source examines Hessian planes "in a small
domain around the optimum" (App. C) for this reason. Filter-normalised random directions (Li et al.) have the
norm of the weights, :math:`\|\delta\| \approx \|\theta\|`, so the two kinds of plane drawn on the same
:math:`(\alpha, \beta)` range differ in physical size by that factor. :func:`plane_sweep` therefore compares
planes over a sweep of ranges and records each plane's Euclidean extent; :func:`unit_gaussian_plane` is the
control of the same extent as the Hessian plane.

Everything returns tidy frames or frozen dataclasses; directions are float64 numpy vectors in
``parameters_to_vector`` order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse.linalg as spla
import torch
from torch import nn

from landscape.infra.validation import check_finite, check_scalar
from landscape.surfaces.projections import HessianDirections, loss_line, loss_surface, split_data, symmetric_grid

__all__ = [
    "curvature_scale",
    "unit_gaussian_plane",
    "PointDiagnostics",
    "point_diagnostics",
    "PlaneSweep",
    "plane_sweep",
    "plane_gains",
    "direction_scans",
    "scan_minima",
    "projected_curvatures",
]


def curvature_scale(loss0: float, lambda_max: float) -> float:
    r"""The length :math:`\sqrt{L_0/\lambda_{\max}}` on which a unit-eigenvector plane shows its features.

    Along the eigenvector of :math:`\lambda_{\max}` the quadratic model :math:`L_0 + \tfrac12\lambda_{\max}
    \alpha^2` has risen by :math:`L_0/2` at this :math:`\alpha`.

    Parameters
    ----------
    loss0 : float
        The loss :math:`L_0` at the point (> 0).
    lambda_max : float
        The largest Hessian eigenvalue there (> 0).

    Returns
    -------
    float

    Examples
    --------
    >>> curvature_scale(2e-5, 20.0)
    0.001
    """
    for name, v in (("loss0", loss0), ("lambda_max", lambda_max)):
        check_scalar(check_finite(v, name), name, float, min_val=0, include_boundaries="neither")
    return float(np.sqrt(loss0 / lambda_max))


def unit_gaussian_plane(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Two orthonormal random directions (Gaussian draws, Gram--Schmidt): a plane of the same Euclidean size
    per unit of :math:`(\alpha, \beta)` as a plane of two unit eigenvectors.

    Parameters
    ----------
    n : int
        Dimension (>= 2).
    seed : int
        Seed of the Gaussian draws.

    Returns
    -------
    tuple of numpy.ndarray
        Two orthonormal float64 vectors of length ``n``.
    """
    check_scalar(n, "n", int, min_val=2)
    rng = np.random.default_rng(seed)
    d1, d2 = rng.standard_normal(n), rng.standard_normal(n)
    d1 /= np.linalg.norm(d1)
    d2 -= (d2 @ d1) * d1
    return d1, d2 / np.linalg.norm(d2)


@dataclass(frozen=True)
class PointDiagnostics:
    r"""What a trained point is: losses, gradient norm, the shares :math:`(g\cdot v)^2/\|g\|^2` of the squared
    gradient along the unit directions ``v_max`` and ``v_min``, the extreme curvatures, and
    :math:`\eta\lambda_{\max}/2` (1 at the edge of stability of full-batch gradient descent with step
    :math:`\eta`).

    Parameters
    ----------
    train_loss, test_loss : float
        Loss on the training and the test data.
    grad_norm : float
        :math:`\|g\|_2` of the full training gradient.
    share_vmax, share_vmin : float
        :math:`(g\cdot v)^2/\|g\|^2` along the unit eigenvectors of :math:`\lambda_{\max}` and
        :math:`\lambda_{\min}`.
    lambda_max, lambda_min : float
        The extreme Hessian eigenvalues.
    lr : float
        The step :math:`\eta` the point was trained with.
    lr_lambda_half : float
        :math:`\eta\lambda_{\max}/2`.
    """

    train_loss: float
    test_loss: float
    grad_norm: float
    share_vmax: float
    share_vmin: float
    lambda_max: float
    lambda_min: float
    lr: float
    lr_lambda_half: float

    def frame(self, **labels) -> pd.DataFrame:
        """One-row frame (``labels`` become leading columns).

        Parameters
        ----------
        **labels
            Extra columns (e.g. ``net="..."``), placed first.

        Returns
        -------
        pandas.DataFrame
        """
        return pd.DataFrame([{**labels, **self.__dict__}])


def _flat_grad(model: nn.Module, loss_fn: Callable, X, y) -> tuple[float, np.ndarray]:
    """Loss and gradient in float64 at the model's weights (a float64 copy; the model is not changed)."""
    import copy

    m = copy.deepcopy(model).to(torch.float64).eval()
    device = next(m.parameters()).device
    X = torch.as_tensor(X).to(device=device, dtype=torch.float64)
    y = torch.as_tensor(y).to(device)
    y = y.to(torch.float64) if y.is_floating_point() else y
    loss = loss_fn(m(X), y)
    g = torch.autograd.grad(loss, list(m.parameters()))
    return float(loss.detach()), torch.cat([t.reshape(-1) for t in g]).cpu().numpy()


def point_diagnostics(model: nn.Module, loss_fn: Callable, data, directions: HessianDirections,
                      lr: float) -> PointDiagnostics:
    r"""Gradient and curvature at the trained point (is it a critical point? is it at the edge of stability?).

    ``data``: a mapping ``{"train": (X, y), "test": (X, y)}``; ``directions`` from
    :func:`landscape.surfaces.projections.hessian_directions` (first the largest curvature, last the most negative);
    ``lr``: the training step :math:`\eta`. Gradients are computed in float64.

    Parameters
    ----------
    model : torch.nn.Module
        The trained network (not changed).
    loss_fn : callable
        ``loss_fn(output, target) -> scalar``.
    data : mapping
        ``{"train": (X, y), "test": (X, y)}`` ("test" optional).
    directions : landscape.surfaces.projections.HessianDirections
        First the largest curvature, last the most negative.
    lr : float
        The training step :math:`\eta` (> 0).

    Returns
    -------
    PointDiagnostics

    """
    check_scalar(check_finite(lr, "lr"), "lr", float, min_val=0, include_boundaries="neither")
    splits = split_data(data)
    if "train" not in splits:
        raise ValueError("data must contain a 'train' split")
    loss, g = _flat_grad(model, loss_fn, *splits["train"])
    test = _flat_grad(model, loss_fn, *splits["test"])[0] if "test" in splits else float("nan")
    v_max, v_min = directions.directions[0], directions.directions[-1]
    if v_max.shape != g.shape:
        raise ValueError(f"directions must have {g.size} entries, got {v_max.size}")
    gn = float(np.linalg.norm(g))
    share = (lambda v: float((g @ v) ** 2 / (gn ** 2 * (v @ v)))) if gn > 0 else (lambda v: float("nan"))
    lam_max, lam_min = float(directions.eigenvalues[0]), float(directions.eigenvalues[-1])
    return PointDiagnostics(loss, test, gn, share(v_max), share(v_min), lam_max, lam_min, float(lr),
                            float(lr * lam_max / 2))


@dataclass(frozen=True)
class PlaneSweep:
    """``summary``: one row per plane and half-width (see :func:`plane_sweep`); ``surfaces``: the loss surfaces,
    keyed ``(plane, half_width)``, as frames of :func:`landscape.surfaces.projections.loss_surface`.

    Parameters
    ----------
    summary : pandas.DataFrame
        One row per plane and half-width.
    surfaces : dict
        ``(plane, half_width)`` -> loss-surface frame.
    """

    summary: pd.DataFrame
    surfaces: dict


def _summarise(df: pd.DataFrame, d1: np.ndarray, d2: np.ndarray, metrics=()) -> dict:
    tr = df[df.split == "train"].reset_index(drop=True)
    te = df[df.split == "test"].reset_index(drop=True)
    o = int(np.flatnonzero((tr.alpha == 0) & (tr.beta == 0))[0])
    i, j = int(tr.loss.idxmin()), int(te.loss.idxmin())
    step = (te.alpha[j] - tr.alpha[i]) * d1 + (te.beta[j] - tr.beta[i]) * d2
    extra = {}
    for m in metrics:
        extra.update({f"train_{m}_origin": tr[m][o], f"test_{m}_origin": te[m][o], f"train_{m}_at_train_min": tr[m][i],
                      f"test_{m}_at_train_min": te[m][i], f"train_{m}_max": tr[m].max(), f"test_{m}_max": te[m].max()})
    return {**extra, "train_loss_origin": tr.loss[o], "test_loss_origin": te.loss[o], "train_loss_min": tr.loss[i],
            "alpha_train_min": tr.alpha[i], "beta_train_min": tr.beta[i], "test_loss_at_train_min": te.loss[i],
            "test_loss_min": te.loss[j], "alpha_test_min": te.alpha[j], "beta_test_min": te.beta[j],
            "train_test_distance": float(np.linalg.norm(step)),
            "train_test_distance_rel": float(np.linalg.norm(step)) / max(float(np.linalg.norm(d1)), 1e-300)
            / max(float(tr.alpha.max()), 1e-300),
            "train_reduction_pct": 100 * (1 - tr.loss[i] / tr.loss[o]),
            "test_change_pct": 100 * (1 - te.loss[i] / te.loss[o])}


def plane_sweep(model: nn.Module, loss_fn: Callable, data, planes: Mapping[str, tuple], half_widths,
                n_points: int, *, metrics: Mapping[str, Callable] | None = None, progress: bool = False,
                jobs: int | None = None) -> PlaneSweep:
    r"""Loss planes for every plane in ``planes`` (name -> ``(d1, d2)``) on every half-width.

    Parameters
    ----------
    model : torch.nn.Module
        The network at the plane's centre :math:`\theta^*` (eq (12)); evaluated on its own device.
    loss_fn : callable
        ``loss_fn(output, target) -> scalar`` (a module-level function when ``jobs > 1``: it is pickled).
    data : mapping
        ``{"train": (X, y), "test": (X, y)}``.
    planes : mapping
        Plane name -> ``(d1, d2)``, float64 directions in ``parameters_to_vector`` order.
    half_widths : sequence of float or mapping
        Used for all planes, or a mapping plane -> sequence.
    n_points : int
        Points per axis of the symmetric grid (odd; the origin is on it).
    metrics : mapping, optional
        E.g. ``{"accuracy": landscape.surfaces.projections.accuracy}``: per metric, its value at the origin and at the
        training minimum and its maximum on the plane, for both splits.
    progress : bool
        Show a progress bar over the planes.
    jobs : int or None
        Worker processes for the planes (:func:`landscape.infra.executor.map_units`; None: ``$LANDSCAPE_JOBS``, else
        1). Every plane is evaluated with one thread, so the numbers do not depend on ``jobs``.

    Returns
    -------
    PlaneSweep
        ``summary`` columns: ``plane, half_width, extent`` (the Euclidean radius :math:`h\max(\|d_1\|,
        \|d_2\|)` of the plane in parameter space), the losses at the origin, the training minimum and its
        location, the test loss there, the test minimum and its location, ``train_test_distance`` (Euclidean
        distance in parameter space between the training and the test minimum: the alignment of Fig. 7 /
        App. C; ``train_test_distance_rel``: the same over the plane's extent along ``d1``),
        ``train_reduction_pct`` (training minimum below the origin) and ``test_change_pct`` (test loss at the
        training minimum below the origin; negative: higher). ``surfaces``: the frames of
        :func:`landscape.surfaces.projections.loss_surface` keyed ``(plane, half_width)``.
    """
    from landscape.infra.executor import map_units

    splits = split_data(data)
    if set(splits) != {"train", "test"}:
        raise ValueError(f"data must have exactly the splits 'train' and 'test', got {sorted(splits)}")
    widths = half_widths if isinstance(half_widths, Mapping) else {k: half_widths for k in planes}
    keys = [(k, float(h)) for k in planes for h in widths[k]]
    units = [(model, loss_fn, splits, planes[k], h, n_points, metrics) for k, h in keys]
    done = map_units(_plane_unit, units, star=True, jobs=jobs, progress=progress, desc="planes")
    surfaces = {key: df for key, (df, _) in zip(keys, done, strict=True)}
    rows = [{"plane": k, "half_width": h, **row} for (k, h), (_, row) in zip(keys, done, strict=True)]
    return PlaneSweep(pd.DataFrame(rows), surfaces)


def _plane_unit(model, loss_fn, splits, directions, h, n_points, metrics) -> tuple[pd.DataFrame, dict]:
    """One plane of :func:`plane_sweep`: its surface and its summary row (without the plane's name)."""
    d1, d2 = (np.asarray(d, dtype=np.float64) for d in directions)
    g = symmetric_grid(h, n_points)
    df = loss_surface(model, loss_fn, splits, d1, d2, g, g, metrics=metrics)
    ext = h * max(np.linalg.norm(d1), np.linalg.norm(d2))
    return df, {"extent": float(ext), **_summarise(df, d1, d2, tuple(metrics or ()))}


def plane_gains(summary: pd.DataFrame, reference: str, *, reference_width: float | None = None) -> pd.DataFrame:
    r"""How much lower each plane's training minimum (and the test loss there) is than the ``reference``
    plane's (Fig. 9 / Table 2 of the source: "X% smaller than the smallest training loss found in a
    random-projection plot"). Each row is compared with the reference row of the same ``half_width``, or, with
    ``reference_width``, with the reference row of that half-width. Adds ``train_gain_pct`` and
    ``test_gain_pct`` (positive: lower than the reference) to the rows of the other planes.

    Parameters
    ----------
    summary : pandas.DataFrame
        The summary of :func:`plane_sweep` (columns ``plane, half_width, train_loss_min, test_loss_at_train_min``).
    reference : str
        The plane compared against.
    reference_width : float, optional
        Compare every row with the reference row of this half-width instead of its own.

    Returns
    -------
    pandas.DataFrame
        The rows of the other planes with ``reference_width``, ``train_gain_pct`` and ``test_gain_pct``.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"plane": ["r", "h"], "half_width": [1.0, 1.0], "train_loss_min": [2.0, 1.0],
    ...                   "test_loss_at_train_min": [1.0, 1.0]})
    >>> plane_gains(s, "r").train_gain_pct.tolist()
    [50.0]
    """
    if reference not in set(summary.plane):
        raise ValueError(f"reference plane {reference!r} is not in the summary")
    ref = summary[summary.plane == reference].set_index("half_width")
    out = summary[summary.plane != reference].copy()
    if reference_width is None:
        at = out.half_width.to_numpy()
    else:
        if float(reference_width) not in ref.index:
            raise ValueError(f"reference_width {reference_width!r} is not a half-width of plane {reference!r}")
        at = np.full(len(out), float(reference_width))
    r_tr = ref.train_loss_min.reindex(at).to_numpy()
    r_te = ref.test_loss_at_train_min.reindex(at).to_numpy()
    out["reference_width"] = at
    out["train_gain_pct"] = 100 * (1 - out.train_loss_min.to_numpy() / r_tr)
    out["test_gain_pct"] = 100 * (1 - out.test_loss_at_train_min.to_numpy() / r_te)
    return out.reset_index(drop=True)


def direction_scans(model: nn.Module, loss_fn: Callable, data, directions: Mapping[str, np.ndarray],
                    half_widths: Sequence[float], n_points: int, *, jobs: int | None = None) -> pd.DataFrame:
    r"""1-D scans :math:`\ell(\alpha) = L(\theta^* + \alpha v)` (eq (12) with one direction) along each named
    direction on each half-width.

    Parameters
    ----------
    model, loss_fn, data
        As in :func:`plane_sweep` (``data`` may also be a single pair, split "train").
    directions : mapping
        Name -> float64 direction in ``parameters_to_vector`` order.
    half_widths : sequence of float
        Half-widths of the scans.
    n_points : int
        Points per scan (odd; the origin is on it).
    jobs : int or None
        Worker processes for the scans (:func:`landscape.infra.executor.map_units`); the numbers do not depend on it.

    Returns
    -------
    pandas.DataFrame
        Tidy frame ``direction, half_width, alpha, split, loss``.
    """
    from landscape.infra.executor import map_units

    keys = [(name, float(h)) for name in directions for h in half_widths]
    units = [(model, loss_fn, data, directions[name], symmetric_grid(h, n_points)) for name, h in keys]
    frames = map_units(_line_unit, units, star=True, jobs=jobs, progress=False, desc="scans")
    frames = [df.assign(direction=name, half_width=h) for (name, h), df in zip(keys, frames, strict=True)]
    cols = ["direction", "half_width", "alpha", "split", "loss"]
    return pd.concat(frames, ignore_index=True)[cols]


def _line_unit(model, loss_fn, data, direction, alphas) -> pd.DataFrame:
    return loss_line(model, loss_fn, data, direction, alphas)


def scan_minima(scans: pd.DataFrame) -> pd.DataFrame:
    """Per direction and half-width of :func:`direction_scans`: the training minimum, where it is, the training
    reduction below the origin and the test change there (percent, positive = lower).

    Parameters
    ----------
    scans : pandas.DataFrame
        The frame of :func:`direction_scans`.

    Returns
    -------
    pandas.DataFrame
        One row per direction and half-width: ``direction, half_width, alpha_min, train_loss_origin,
        train_loss_min, train_reduction_pct, test_change_pct``.
    """
    rows = []
    for (name, h), g in scans.groupby(["direction", "half_width"], sort=False):
        tr = g[g.split == "train"].reset_index(drop=True)
        te = g[g.split == "test"].reset_index(drop=True)
        o, i = int(np.flatnonzero(tr.alpha == 0)[0]), int(tr.loss.idxmin())
        rows.append({"direction": name, "half_width": h, "alpha_min": tr.alpha[i], "train_loss_origin": tr.loss[o],
                     "train_loss_min": tr.loss[i], "train_reduction_pct": 100 * (1 - tr.loss[i] / tr.loss[o]),
                     "test_change_pct": 100 * (1 - te.loss[i] / te.loss[o]) if len(te) else np.nan})
    return pd.DataFrame(rows)


def projected_curvatures(operators: Mapping[str, object], planes: Mapping[str, tuple]) -> pd.DataFrame:
    r"""The projected matrix :math:`\tilde M = [\delta\ \eta]^\top M\,[\delta\ \eta]` (eq (19); with the
    Gauss--Newton part :math:`M = G` it is the projected Fisher of eq (20), reconstructed) for every operator
    and plane. Tidy frame ``matrix, plane, h11, h12, h22, kappa1, kappa2`` (principal curvatures, eq (21)).

    Parameters
    ----------
    operators : mapping
        Name -> symmetric operator or matrix (:class:`landscape.curvature.hessian.CurvatureOperator`, numpy array).
    planes : mapping
        Name -> ``(d1, d2)``, directions of the operators' dimension.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> import numpy as np
    >>> projected_curvatures({"H": np.diag([2.0, -1.0, 0.5])}, {"e": (np.eye(3)[0], np.eye(3)[1])})[["h11", "h22"]]
       h11  h22
    0  2.0 -1.0
    """
    rows = []
    for mname, op in operators.items():
        A = spla.aslinearoperator(op)
        for pname, (d1, d2) in planes.items():
            D = np.column_stack([np.asarray(d1, dtype=np.float64), np.asarray(d2, dtype=np.float64)])
            if D.shape[0] != A.shape[0]:
                raise ValueError(f"planes[{pname!r}]: directions have {D.shape[0]} entries, operator {A.shape[0]}")
            M = D.T @ A.matmat(D)
            M = 0.5 * (M + M.T)
            k2, k1 = np.linalg.eigvalsh(M)
            rows.append({"matrix": mname, "plane": pname, "h11": M[0, 0], "h12": M[0, 1], "h22": M[1, 1],
                         "kappa1": k1, "kappa2": k2})
    return pd.DataFrame(rows)
