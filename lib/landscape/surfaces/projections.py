r"""Low-dimensional views of a loss: random and Hessian directions, 1-D lines and 2-D surfaces.

A two-dimensional projection of :math:`L` around :math:`\theta^*` (Böttcher & Wheeler, eq (12)) is

.. math:: \ell(\alpha, \beta) = L(\theta^* + \alpha\,\delta + \beta\,\eta),

with directions :math:`\delta, \eta` either random (Gaussian, or filter-normalised as Li et al. 2018) or the
dominant Hessian directions (eigenvectors of the largest-magnitude positive and negative curvatures,
Sec. III.3 / IV). Directions are float64 numpy vectors in ``parameters_to_vector`` order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from landscape.curvature import hessian as _hs
from landscape.infra.validation import check_choice, check_finite, check_scalar

__all__ = [
    "random_direction",
    "HessianDirections",
    "hessian_directions",
    "loss_line",
    "loss_surface",
    "surface_minimum",
    "accuracy",
    "symmetric_grid",
    "check_grid",
]


def symmetric_grid(half_width: float, n_points: int) -> np.ndarray:
    """``n_points`` (odd) equidistant values on [-half_width, half_width] with the middle one exactly 0 and the
    grid exactly symmetric (the negative half is the mirrored positive half).

    Parameters
    ----------
    half_width : float
        Largest value (> 0).
    n_points : int
        Number of values (odd, >= 3).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> from landscape import projections
    >>> projections.symmetric_grid(1.0, 5)
    array([-1. , -0.5,  0. ,  0.5,  1. ])
    """
    check_scalar(check_finite(half_width, "half_width"), "half_width", float, min_val=0, include_boundaries="neither")
    if check_scalar(n_points, "n_points", int, min_val=3) % 2 == 0:
        raise ValueError(f"n_points must be odd, got {n_points!r}")
    pos = half_width * np.arange(1, n_points // 2 + 1) / (n_points // 2)
    return np.concatenate([-pos[::-1], [0.0], pos])


def _n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def random_direction(model_or_dim, seed: int, kind: str = "gaussian", *, bias: str = "zero") -> np.ndarray:
    r"""A random direction in parameter space (float64, ``parameters_to_vector`` order).

    ``kind="gaussian"``: i.i.d. :math:`\mathcal N(0, 1)` entries (Sec. II.2; ``model_or_dim`` may be an int).

    ``kind="filter"``: filter normalisation of Li et al. (2018): draw Gaussian :math:`d`, then for every
    parameter tensor with at least two dimensions and every output unit / filter :math:`i` (the slice
    ``[i]`` along the first axis: a row of a ``Linear`` weight, one output filter of a ``Conv`` weight)
    rescale :math:`d_i \leftarrow d_i\, \|\theta_i\| / \|d_i\|`, so each unit's slice of the direction has the
    norm of the corresponding weights. One-dimensional tensors (biases, batch-norm scales and shifts) follow
    Li et al.'s code: ``bias="zero"`` (their default ``ignore='biasbn'``: the direction is 0 there) or
    ``bias="copy"`` (the direction equals the weights there).

    Parameters
    ----------
    model_or_dim : torch.nn.Module or int
        The model (its parameter layout) or, for ``kind="gaussian"``, a dimension.
    seed : int
        Seed of the Gaussian draw.
    kind : {"gaussian", "filter"}
        Plain Gaussian or filter-normalised.
    bias : {"zero", "copy"}
        What a filter-normalised direction holds on one-dimensional tensors.

    Returns
    -------
    numpy.ndarray
        Float64 vector in ``parameters_to_vector`` order.

    """
    check_choice(kind, "kind", ("gaussian", "filter"))
    check_choice(bias, "bias", ("zero", "copy"))
    rng = np.random.default_rng(seed)
    if isinstance(model_or_dim, nn.Module):
        n = _n_params(model_or_dim)
    elif isinstance(model_or_dim, (int, np.integer)) and not isinstance(model_or_dim, bool):
        n = int(check_scalar(model_or_dim, "model_or_dim", int, min_val=1))
        if kind == "filter":
            raise ValueError("model_or_dim: filter normalisation needs a model, not a dimension")
    else:
        raise ValueError(f"model_or_dim must be an nn.Module or an int, got {type(model_or_dim).__name__}")
    d = rng.standard_normal(n)
    if kind == "gaussian":
        return d
    out, i = np.empty(n), 0
    for p in model_or_dim.parameters():
        w = p.detach().to("cpu", torch.float64).numpy()
        k = w.size
        di = d[i:i + k].reshape(w.shape)
        if w.ndim <= 1:
            di = np.zeros_like(w) if bias == "zero" else w.copy()
        else:
            wn = np.linalg.norm(w.reshape(w.shape[0], -1), axis=1)
            dn = np.linalg.norm(di.reshape(w.shape[0], -1), axis=1)
            scale = wn / np.where(dn > 0, dn, 1.0)
            di = di * scale.reshape((-1,) + (1,) * (w.ndim - 1))
        out[i:i + k] = di.reshape(-1)
        i += k
    return out


@dataclass(frozen=True)
class HessianDirections:
    """Dominant Hessian directions: ``directions`` (k, m) unit vectors, their ``eigenvalues``, ``is_saddle``
    (a positive and a negative curvature direction were found), ``message`` and ``n_matvecs``.

    Parameters
    ----------
    directions : numpy.ndarray, shape (k, m)
        Unit eigenvectors of the Hessian as rows (``parameters_to_vector`` order).
    eigenvalues : numpy.ndarray, shape (k,)
        Their eigenvalues.
    is_saddle : bool
        Whether a positive and a negative curvature direction were found.
    message : str
        What was found (e.g. why there is no opposite-sign direction).
    n_matvecs : int
        Hessian-vector products used.
    """

    directions: np.ndarray
    eigenvalues: np.ndarray
    is_saddle: bool
    message: str
    n_matvecs: int


def hessian_directions(op, k: int = 2, *, seed: int = 0, tol: float = 1e-6, ncv: int | None = None,
                       eig_tol: float = 1e-10) -> HessianDirections:
    r"""The dominant Hessian directions of Sec. IV (Algorithm 1 with the annihilation step, Appendix B).

    ``k=2``: the eigenvector of the largest-magnitude eigenvalue :math:`\lambda_1` first, then the eigenvector
    of the largest-magnitude eigenvalue of the opposite sign (:func:`landscape.curvature.hessian.opposite_extreme`),
    ordered as (direction of the largest positive curvature, direction of the most negative curvature). If the
    Hessian is semi-definite there is no such direction: the second direction is then the eigenvector of the
    second-largest-magnitude eigenvalue, ``is_saddle`` is False and ``message`` says so. ``k=1``: only the
    dominant direction. ``k>2``: the ``k`` largest-magnitude eigenpairs. ``ncv``, ``eig_tol``: see
    ``opposite_extreme`` (a looser ``eig_tol``, e.g. 1e-6, saves many products when the opposite end of the
    spectrum is small and clustered).

    Parameters
    ----------
    op : scipy.sparse.linalg.LinearOperator or numpy.ndarray
        The symmetric Hessian (e.g. :func:`landscape.curvature.hessian.hessian_operator`).
    k : int
        Number of directions.
    seed : int
        Seed of the Lanczos start vector.
    tol : float
        Lanczos tolerance of the dominant eigenpair.
    ncv, eig_tol
        Lanczos basis size and tolerance of the annihilation step.

    Returns
    -------
    HessianDirections

    """
    k = _hs._check_int(k, "k")
    if k == 2:
        res = _hs.opposite_extreme(op, seed=seed, tol=tol, ncv=ncv, eig_tol=eig_tol)
        if res.is_saddle:
            vals = np.array([res.dominant_value, res.opposite_value])
            vecs = np.stack([res.dominant_vector, res.opposite_vector])
            order = np.argsort(-vals)
            return HessianDirections(vecs[order], vals[order], True, res.message, res.n_matvecs)
        ep = _hs.eigenpairs(op, 2, "magnitude", seed=seed)
        return HessianDirections(ep.eigenvectors.T.copy(), ep.eigenvalues, False,
                                 res.message + "; using the two largest-magnitude eigenvectors instead",
                                 res.n_matvecs + ep.n_matvecs)
    ep = _hs.eigenpairs(op, k, "magnitude", seed=seed)
    sal = bool(ep.eigenvalues.min() < 0 < ep.eigenvalues.max())
    return HessianDirections(ep.eigenvectors.T.copy(), ep.eigenvalues, sal,
                             f"{k} largest-magnitude eigenpairs", ep.n_matvecs)


# ----------------------------------------------------------------------------------------------------------
# lines and surfaces
# ----------------------------------------------------------------------------------------------------------

def accuracy(output: torch.Tensor, target: torch.Tensor) -> float:
    """Share of samples whose arg-max output equals the integer target.

    Parameters
    ----------
    output : torch.Tensor
        Logits, shape ``(N, classes)``.
    target : torch.Tensor
        Integer labels, shape ``(N,)``.

    Returns
    -------
    float
    """
    return float((output.argmax(dim=1) == target).double().mean())


def split_data(data) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Named splits ``{name: (X, y)}`` from a pair ``(X, y)`` (named "train"), a mapping of pairs, or a
    :class:`landscape.nets.data.Dataset` ("train" and "test" = its validation part).

    Parameters
    ----------
    data : tuple, mapping or landscape.nets.data.Dataset
        The data in one of the three forms.

    Returns
    -------
    dict
        Split name -> ``(X, y)``.
    """
    if isinstance(data, Mapping):
        if not data:
            raise ValueError("data: empty mapping")
        out = {}
        for name, pair in data.items():
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise ValueError(f"data[{name!r}] must be a pair (X, y)")
            out[str(name)] = (pair[0], pair[1])
        return out
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return {"train": (data[0], data[1])}
    if hasattr(data, "tensors"):
        return {"train": data.tensors("train"), "test": data.tensors("val")}
    raise ValueError("data must be a pair (X, y), a mapping split -> (X, y), or a Dataset")


def check_grid(values, name: str) -> np.ndarray:
    r"""A plane's (or line's) grid axis, checked: non-empty, 1-D, finite, strictly increasing and containing 0.

    The 0 is the unperturbed point :math:`\theta^*` that the surfaces and their summaries are read at; any other
    axis raises ``ValueError`` naming ``name``.

    Parameters
    ----------
    values : array_like
        The grid coordinates along one direction, e.g. an odd-length symmetric ``np.linspace(-1, 1, 21)``.
    name : str
        The parameter's name for the message (``"alphas"``, ``"betas"``).

    Returns
    -------
    numpy.ndarray
        The coordinates as a float64 1-D array.

    Examples
    --------
    >>> check_grid([-1.0, 0.0, 1.0], "alphas")
    array([-1.,  0.,  1.])
    """
    a = np.asarray(values, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array")
    check_finite(a, name)
    if np.any(np.diff(a) <= 0):
        raise ValueError(f"{name} must be strictly increasing")
    if not np.any(a == 0.0):
        raise ValueError(f"{name} must contain 0 exactly (the unperturbed point), e.g. an odd-length "
                         f"symmetric np.linspace; got {a[:3]}...{a[-3:]}")
    return a


def _direction(d, n: int, name: str) -> torch.Tensor:
    a = np.asarray(d.detach().cpu().numpy() if torch.is_tensor(d) else d, dtype=np.float64).reshape(-1)
    if a.shape != (n,):
        raise ValueError(f"{name} must have {n} entries (the model's parameters), got {a.size}")
    check_finite(a, name)
    return torch.from_numpy(a)


def _evaluate(model, loss_fn, splits, metrics, points, dirs, progress, desc):
    """Loss (and metrics) at theta0 + sum_j c_j d_j for every coefficient tuple; weights and train/eval flags
    restored after (:func:`landscape.nets.models.evaluating`).
    """
    from landscape.nets.models import evaluating

    params = list(model.parameters())
    dtype, device = params[0].dtype, params[0].device
    theta0 = torch.nn.utils.parameters_to_vector(params).detach().clone()
    D = torch.stack(dirs).to(dtype=dtype, device=device) if dirs else None
    tens = {}
    for name, (X, y) in splits.items():
        X = torch.as_tensor(X, device=device)
        X = X.to(dtype) if X.is_floating_point() else X
        y = torch.as_tensor(y, device=device)
        y = y.to(dtype) if y.is_floating_point() else y
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"data[{name!r}]: X has {X.shape[0]} rows but y has {y.shape[0]}")
        tens[name] = (X, y)
    rows = []
    with evaluating(model):
        for coef in tqdm(points, desc=desc, disable=not progress):
            c = torch.as_tensor(coef, dtype=dtype, device=device)
            torch.nn.utils.vector_to_parameters(theta0 + c @ D, params)
            for name, (X, y) in tens.items():
                out = model(X)
                row = {"split": name, "loss": float(loss_fn(out, y))}
                for mname, fn in (metrics or {}).items():
                    row[mname] = float(fn(out, y))
                rows.append((tuple(float(v) for v in coef), row))
    return rows


def loss_line(model: nn.Module, loss_fn: Callable, data, direction, alphas, *,
              metrics: Mapping[str, Callable] | None = None, progress: bool = False) -> pd.DataFrame:
    r"""Loss along a line, :math:`\ell(\alpha) = L(\theta^* + \alpha\,\delta)` (eq (12) with one direction).

    ``data``: a pair ``(X, y)`` (split "train"), a mapping ``{"train": (X, y), "test": (X, y)}``, or a
    ``landscape.nets.data.Dataset`` (train and val as "test"). ``alphas`` must be strictly increasing and contain
    0 exactly. ``metrics``: extra columns ``name -> fn(output, target)`` (e.g. :func:`accuracy`). The model
    is evaluated in eval mode without gradients; its weights and train/eval flags are restored afterwards,
    also on an exception. Returns a tidy frame with columns ``alpha, split, loss[, metrics]``.

    Parameters
    ----------
    model : torch.nn.Module
        The network at :math:`\theta^*`; evaluated in eval mode on its own device, weights restored afterwards.
    loss_fn : callable
        ``loss_fn(output, target) -> scalar``.
    data : tuple, mapping or landscape.nets.data.Dataset
        See :func:`split_data`.
    direction : array_like
        :math:`\delta`, one entry per parameter.
    alphas : array_like
        Strictly increasing, containing 0.
    metrics : mapping, optional
        Name -> ``fn(output, target)``.
    progress : bool
        Show a progress bar.

    Returns
    -------
    pandas.DataFrame
        ``alpha, split, loss[, metrics]``.

    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    a = check_grid(alphas, "alphas")
    d = _direction(direction, _n_params(model), "direction")
    rows = _evaluate(model, loss_fn, split_data(data), metrics, [(x,) for x in a], [d], progress, "loss line")
    return pd.DataFrame([{"alpha": c[0], **r} for c, r in rows])


def loss_surface(model: nn.Module, loss_fn: Callable, data, d1, d2, alphas, betas, *,
                 metrics: Mapping[str, Callable] | None = None, progress: bool = False) -> pd.DataFrame:
    r"""Loss on a plane, :math:`\ell(\alpha, \beta) = L(\theta^* + \alpha\,\delta + \beta\,\eta)` (eq (12)).

    Grids ``alphas`` and ``betas`` must be strictly increasing and contain 0 exactly, so the unperturbed
    point is on the grid. Other arguments as in :func:`loss_line`. Returns a tidy frame with columns
    ``alpha, beta, split, loss[, metrics]`` (one row per grid point and split).

    Parameters
    ----------
    model : torch.nn.Module
        The network at :math:`\theta^*`; evaluated in eval mode on its own device, weights restored afterwards.
    loss_fn : callable
        ``loss_fn(output, target) -> scalar``.
    data : tuple, mapping or landscape.nets.data.Dataset
        See :func:`split_data`.
    d1, d2 : array_like
        :math:`\delta` and :math:`\eta`, one entry per parameter each.
    alphas, betas : array_like
        Strictly increasing grids, each containing 0.
    metrics : mapping, optional
        Name -> ``fn(output, target)``.
    progress : bool
        Show a progress bar.

    Returns
    -------
    pandas.DataFrame
        ``alpha, beta, split, loss[, metrics]``.

    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    a, b = check_grid(alphas, "alphas"), check_grid(betas, "betas")
    n = _n_params(model)
    D = [_direction(d1, n, "d1"), _direction(d2, n, "d2")]
    pts = [(x, z) for x in a for z in b]
    rows = _evaluate(model, loss_fn, split_data(data), metrics, pts, D, progress, "loss surface")
    return pd.DataFrame([{"alpha": c[0], "beta": c[1], **r} for c, r in rows])


def surface_minimum(frame: pd.DataFrame, split: str = "train", value: str = "loss") -> pd.Series:
    """The row of ``frame`` (from :func:`loss_surface` / :func:`loss_line`) with the smallest ``value`` in
    ``split`` (ties: the first in grid order).

    Parameters
    ----------
    frame : pandas.DataFrame
        From :func:`loss_surface` or :func:`loss_line`.
    split : str
        Which split's rows.
    value : str
        Which column is minimised.

    Returns
    -------
    pandas.Series
        The row of the minimum.
    """
    if "split" not in frame or split not in set(frame["split"]):
        raise ValueError(f"split {split!r} is not in the frame")
    if value not in frame:
        raise ValueError(f"value: no column {value!r}")
    sub = frame[frame["split"] == split]
    return sub.loc[sub[value].idxmin()]
