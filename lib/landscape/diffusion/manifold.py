"""The pipeline of source 000 (Fjellström & Nyström) from a recorded SGD trajectory to the dimension ``d``.

trajectory ``X = {x_i}`` (``landscape.nets.recording``) → per-sample gradients at every ``x_i`` → SGD covariance
factor (eq 2.6) → modified Mahalanobis distances (eq 2.5) → diffusion map (eqs 2.10-2.11) → energy ratio
(eq 3.3), dimension ``d`` (β = 0.99) and AUC ratio (section 3.2).

Also the analysis helpers the chapter uses: ε scans (section 3.3, Figs 5-6), rolling windows with fixed or
re-tuned ε (section 3.4.5, Figs 13-14), a subsampling interval for ``d``, and a rule to re-tune ε.

Distance matrices are cached in ``data/cache/readings/<key>.npy`` (the float32 upper triangle, ``2 M (M − 1)``
bytes each, format :data:`CACHE_FORMAT`), keyed by the trajectory config and every setting that changes them;
summaries are cheap and not cached.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from landscape import diffusion as dm
from landscape.curvature import covariance as cov
from landscape.diffusion.distances import check_device, mahalanobis_pass
from landscape.infra.cache import atomic_write, canonical_json, same_config
from landscape.infra.linalg import limit_threads

__all__ = [
    "DimensionResult",
    "trajectory_factor",
    "trajectory_factors",
    "cutoff_distances",
    "sq_distances",
    "summarise",
    "eps_scan",
    "median_sq",
    "retune_eps",
    "rolling_windows",
    "subsample_dimension",
    "analyse",
]

#: 3: the strict upper triangle of d² as float32, 11.5 MB per matrix at M = 2400 (format 2 stored the full float32
#: matrix, 23 MB; format 1 float64, 46 MB; files of older formats are never read: the format is part of the name).
CACHE_FORMAT = 3
#: Storage type of the cached distances. Rounding d² to float32 changes it by at most 6e-8 relative; d and the AUC
#: computed from it are checked against float64 in ``tests/studies/diffusion_maps/test_readings_storage.py``.
STORAGE = np.float32




@dataclass(frozen=True)
class DimensionResult:
    """``d`` and AUC ratio of section 3.2 at one ε, with the full descending spectrum (``λ_0`` first).

    Made by :func:`summarise`.

    Parameters
    ----------
    eps : float
        Kernel scale ε of eq (2.10), ``exp(-d²/ε)``.
    d : int
        Dimension of section 3.2: the smallest ``i`` with energy ratio ``Λ_i > β`` (eq 3.3, ``λ_0`` left out);
        0 when all counted eigenvalues vanish.
    auc : float
        AUC ratio of section 3.2 over the first ``d`` eigenvalues, by the rule ``auc_method`` of :func:`summarise`
        (trapezoid by default; see :func:`landscape.diffusion.auc_ratio`).
    auc_sum : float
        The same ratio as a plain sum, ``Σ_{i≤d} λ_i / Σ_i λ_i``, whatever ``auc_method`` was.
    eigenvalues : numpy.ndarray, shape (M,)
        All eigenvalues of ``P = D̃^{-1} K̃`` (eq 2.11), descending, ``λ_0 = 1`` first.
    beta : float
        The threshold ``β`` of eq (3.3) that ``d`` was taken at.
    """

    eps: float
    d: int
    auc: float
    auc_sum: float
    eigenvalues: np.ndarray
    beta: float

    @property
    def energy(self) -> np.ndarray:
        """Energy ratios ``Λ_1 … Λ_{M−1}`` of eq (3.3) (``λ_0`` left out), non-decreasing, the last 1 (or all 0)."""
        return dm.energy_ratio(self.eigenvalues)


def _grad_setup(traj):
    from landscape.nets import models

    ds = traj.dataset()
    net = traj.model(step=None).double()
    X, y = ds.tensors("train", dtype=torch.float64)
    loss = traj.config.loss or ds.loss
    if loss not in models.LOSSES:
        raise ValueError(f"loss: unknown loss {loss!r}")
    return net, X, y, loss


def trajectory_factors(traj, *, kind: str = "sgd", batch_size: int | None = None):
    """A callable ``i -> F_i`` with ``F_iᵀ F_i = C(x_i)`` (eq 2.6 by default) at the recorded point ``x_i``.

    Per-sample gradients are taken in float64 on the whole training set (N rows) with ``torch.func``
    (:func:`landscape.curvature.covariance.per_sample_grads`), whatever dtype the trajectory was trained in, so that
    the pseudo-inverse of eq (2.5) is not polluted by float32 rounding. ``kind`` and ``batch_size`` (default:
    the trajectory's) go to :func:`landscape.curvature.covariance.sgd_noise_factor`.

    Parameters
    ----------
    traj : landscape.nets.recording.Trajectory
        The recorded trajectory (its network, dataset, loss and ``params``).
    kind : {"sgd", "approx", "fisher", "sample"}, default "sgd"
        Which covariance the factor gives (:func:`landscape.curvature.covariance.sgd_noise_factor`): ``"sgd"`` is
        eq (2.6), ``"approx"`` eq (2.7), ``"fisher"`` ``G/√N``, ``"sample"`` eq (2.6) without its batch factor.
    batch_size : int, optional
        Minibatch size ``n`` of eqs (2.6)-(2.7), ``1 <= n <= N``; default the trajectory's
        (``traj.config.batch_size``).

    Returns
    -------
    callable
        ``i -> F_i``: for row ``i`` of ``traj.params`` the factor as a float64 numpy array of shape ``(N, m)``
        (``N`` training samples, ``m`` parameters), computed afresh on each call.
    """
    net, X, y, loss = _grad_setup(traj)
    n = traj.config.batch_size if batch_size is None else batch_size
    params = traj.params

    def factor(i: int) -> np.ndarray:
        G = cov.per_sample_grads(net, loss, X, y, params=torch.from_numpy(params[i]))
        return cov.sgd_noise_factor(G.numpy(), n, kind=kind)

    return factor


def trajectory_factor(traj, step: int, *, kind: str = "sgd", batch_size: int | None = None) -> np.ndarray:
    """The factor ``F`` (``N × m``, ``FᵀF = C``) at recorded step ``step`` (0-based; ``x_{step+1}``).

    One call of :func:`trajectory_factors`.

    Parameters
    ----------
    traj : landscape.nets.recording.Trajectory
        The recorded trajectory.
    step : int
        Row of ``traj.params``, in ``[-M, M - 1]`` (negative counts from the end: -1 is the last recorded step).
    kind : {"sgd", "approx", "fisher", "sample"}, default "sgd"
        Which covariance (see :func:`trajectory_factors`; ``"sgd"`` is eq (2.6)).
    batch_size : int, optional
        Minibatch size ``n``; default the trajectory's.

    Returns
    -------
    numpy.ndarray, shape (N, m)
        The factor ``F`` at that point, float64.
    """
    if not -traj.M <= step < traj.M:
        raise ValueError(f"step: must lie in [-{traj.M}, {traj.M - 1}], got {step}")
    return trajectory_factors(traj, kind=kind, batch_size=batch_size)(step % traj.M)


def _save(path: Path, array: np.ndarray, config: dict) -> None:
    """The packed matrix, then its sidecar ``<key>.json`` (the configuration and the sha256 of the stored bytes)."""
    with atomic_write(path) as f:  # unique temp file, then os.replace: readers never see half a matrix
        np.save(f, array)
    with atomic_write(path.with_suffix(".json"), "w") as f:
        f.write(canonical_json({**config, "sha256": _digest(array)}))


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).view(np.uint8)).hexdigest()


def _load(path: Path, config: dict, M: int) -> np.ndarray | None:
    """The cached ``(M, M)`` matrix, verified: its sidecar must hold ``config`` and the checksum of the stored bytes
    (a matrix of the right shape but other content, or one without a sidecar, is recomputed).
    """
    sidecar = path.with_suffix(".json")
    if not (path.exists() and sidecar.exists()):
        return None
    try:
        stored = json.loads(sidecar.read_text())
        packed = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    digest = stored.pop("sha256", None)
    if not same_config(stored, config) or digest != _digest(packed):
        return None
    return _unpack(packed, M)


def _pack(sq: np.ndarray) -> np.ndarray:
    """The strict upper triangle of a symmetric, zero-diagonal ``(M, M)`` matrix, row by row, as :data:`STORAGE`.

    Lossless for the matrices of :func:`_pass` (``½ (Q + Qᵀ)`` is symmetric bit for bit, its diagonal zero), so
    ``_unpack(_pack(a), M) == a.astype(STORAGE)`` exactly, at half the bytes of the full matrix.
    """
    return sq[np.triu_indices(sq.shape[0], 1)].astype(STORAGE)


def _unpack(packed: np.ndarray, M: int) -> np.ndarray | None:
    """The ``(M, M)`` float64 matrix of :func:`_pack`'s output, or ``None`` if ``packed`` cannot be one."""
    if packed.ndim != 1 or packed.dtype != STORAGE or packed.size != M * (M - 1) // 2:
        return None
    out = np.zeros((M, M), dtype=np.float64)
    out[np.triu_indices(M, 1)] = packed
    return out + out.T  # adding the zero lower triangle: exact


def _cache_config(traj, kind: str, rcond: float, device="cpu") -> dict:
    config = {"trajectory": traj.config.key(), "kind": kind, "rcond": rcond, "format": CACHE_FORMAT}
    kind_of_device = torch.device(device).type
    if kind_of_device != "cpu":  # other rounding, so other numbers: cached apart (CPU keys unchanged)
        config["device"] = kind_of_device
    return config


def _cache_path(traj, kind: str, rcond: float, cache_dir, device="cpu") -> Path:
    from landscape.infra import paths

    base = Path(cache_dir) if cache_dir is not None else paths.cache_dir()
    blob = json.dumps(_cache_config(traj, kind, rcond, device))
    return base / "readings" / f"{hashlib.sha256(blob.encode()).hexdigest()[:20]}.npy"


def _pass(traj, kinds, rconds, progress, device="cpu") -> dict:
    """Eq (2.5) on a trajectory by :func:`landscape.diffusion.distances.mahalanobis_pass`: per point one
    per-sample gradient evaluation (float64) serves every factor kind. Returns ``{(kind, rcond): (M, M)}``.
    """
    dev = torch.device(device)
    net, X, y, loss = _grad_setup(traj)
    net, X, y = net.to(dev), X.to(dev), y.to(dev)
    N = X.shape[0]
    params = torch.from_numpy(traj.params).to(dev)

    def factor_sets(i):
        G = cov.per_sample_grads(net, loss, X, y, params=params[i])
        return {k: ((G - G.mean(dim=0)) if k == "sample" else G) / np.sqrt(N) for k in kinds}

    return mahalanobis_pass(traj.params, factor_sets, rconds, kinds=kinds, progress=progress, device=dev,
                            desc="eq 2.5, all cutoffs")


def cutoff_distances(traj, rconds=(dm.DEFAULT_RCOND,), *, kinds=("sample",), threads: int | None = 1,
                     cache: bool = True,
                     cache_dir=None, progress: bool = False, device="cpu") -> dict:
    """Eq (2.5) distances of ``traj`` for several pseudo-inverse cutoffs and covariance factors in one pass.

    Returns ``{(kind, rcond): (M, M) array}`` for the covariance ``C = FᵀF`` with ``F = (G − 1ḡᵀ)/√N``
    (``kind="sample"``: eq (2.6) without its batch factor) or ``F = G/√N`` (``kind="fisher"``: eq (2.7) without
    its batch factor). ``rcond`` keeps the eigenvalues of ``C`` above ``rcond · λ_max``, as
    :func:`landscape.diffusion.mahalanobis_sq` does; the results agree with it to rounding. Per point: one
    gradient evaluation, one thin SVD per kind, and the ``M × m × rank`` products stacked into large GEMMs as in
    :func:`~landscape.diffusion.mahalanobis_sq`; every cutoff comes from one cumulative sum over the singular
    directions. Cached per ``(kind, rcond)`` in ``data/cache/readings/`` as the float32 (:data:`STORAGE`) upper
    triangle with a sidecar holding its configuration and checksum (verified on load: a file that does
    not match is recomputed); the returned float64 arrays hold the stored values whether they were computed now or
    loaded, so a result never depends on the cache's state. ``device="cuda"`` runs the gradients, SVDs and products
    on the GPU (float64); its results are cached apart from the CPU's, since they differ in rounding.

    Parameters
    ----------
    traj : landscape.nets.recording.Trajectory
        The recorded trajectory: ``M`` points of dimension ``m``, ``N`` training samples.
    rconds : float or sequence of float, default (DEFAULT_RCOND,)
        Pseudo-inverse cutoffs, each in ``[0, 1)``, relative to the largest eigenvalue of each ``C_i``
        (:data:`landscape.diffusion.DEFAULT_RCOND` is 1e-15); duplicates are merged.
    kinds : sequence of {"sample", "fisher"}, default ("sample",)
        Covariance factors (above); non-empty, duplicates merged.
    threads : int or None, default 1
        torch / BLAS threads during the pass (``None`` leaves the setting alone).
    cache : bool, default True
        Read matching matrices from the cache and write fresh ones to it; ``False`` computes and writes nothing.
    cache_dir : str or pathlib.Path, optional
        Folder holding ``readings/`` (default: the project's ``data/cache``).
    progress : bool, default False
        Show a tqdm bar over the points.
    device : str or torch.device, default "cpu"
        Where the gradients, SVDs and products run (:func:`landscape.diffusion.distances.check_device`).

    Returns
    -------
    dict
        ``{(kind, rcond): numpy.ndarray of shape (M, M)}`` with ``rcond`` as a float: symmetric float64 squared
        distances with a zero diagonal, rounded through float32 (:data:`STORAGE`).

    Examples
    --------
    >>> from landscape.nets.recording import RecordConfig, record_sgd
    >>> import tempfile
    >>> tmp = tempfile.mkdtemp()
    >>> traj = record_sgd(RecordConfig(hidden=(3,), epochs=1), cache_dir=tmp, progress=False)
    >>> d2 = cutoff_distances(traj, [1e-15, 1e-2], cache_dir=tmp)
    >>> bool(np.all(d2["sample", 1e-2] <= d2["sample", 1e-15] * (1 + 1e-12)))  # fewer directions, shorter
    True
    """
    rconds = tuple(sorted({float(r) for r in np.atleast_1d(rconds)}))
    for rc in rconds:
        if not (np.isfinite(rc) and 0 <= rc < 1):
            raise ValueError(f"rconds: each must lie in [0, 1), got {rc!r}")
    kinds = tuple(dict.fromkeys(kinds))
    if not kinds or any(k not in ("sample", "fisher") for k in kinds):
        raise ValueError(f"kinds: expected a non-empty subset of ('sample', 'fisher'), got {kinds!r}")
    dev = check_device(device)
    out, todo = {}, []
    for k in kinds:
        paths_k = {rc: _cache_path(traj, k, rc, cache_dir, dev) for rc in rconds}
        if cache:
            loaded = {rc: _load(p, _cache_config(traj, k, rc, dev), traj.M) for rc, p in paths_k.items()}
            if all(a is not None for a in loaded.values()):
                out.update({(k, rc): a for rc, a in loaded.items()})
                continue
        todo.append(k)
    if todo:
        with limit_threads(threads):
            fresh = _pass(traj, todo, rconds, progress, dev)
        for key, a in fresh.items():
            stored = _pack(a)
            if cache:
                _save(_cache_path(traj, key[0], key[1], cache_dir, dev), stored,
                      _cache_config(traj, key[0], key[1], dev))
            out[key] = _unpack(stored, traj.M)  # the stored values, cached or not: the same numbers either way
    return out



def sq_distances(
    traj,
    *,
    metric: str = "mahalanobis",
    kind: str = "sgd",
    batch_size: int | None = None,
    rcond: float = dm.DEFAULT_RCOND,
    threads: int | None = 1,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Squared distances between all recorded points of ``traj``: eq (2.5) (``metric="mahalanobis"``, through
    :func:`cutoff_distances` and its cache; ``kind`` "sgd" is eq (2.6) at ``batch_size``, "sample" and "fisher" the
    factors of :func:`cutoff_distances`), or Euclidean (``metric="euclidean"``).

    ``kind="sgd"`` divides the cached ``"sample"`` distances by eq (2.6)'s batch factor
    ``(N - n)/(n (N - 1))`` (:func:`landscape.curvature.covariance.covariance_scale`), so one cached matrix
    serves every batch size; at ``n = N`` the factor is 0 and so are all distances.

    Parameters
    ----------
    traj : landscape.nets.recording.Trajectory
        The recorded trajectory (``M`` points).
    metric : {"mahalanobis", "euclidean"}, default "mahalanobis"
        Eq (2.5) or the Euclidean distance between the parameter vectors (the other arguments are then unused).
    kind : {"sgd", "sample", "fisher"}, default "sgd"
        Covariance of eq (2.5): eq (2.6) at ``batch_size``, eq (2.6) without its batch factor, or eq (2.7) without
        it (``G/√N``).
    batch_size : int, optional
        Minibatch size ``n`` of ``kind="sgd"``; default the trajectory's (``traj.config.batch_size``).
    rcond : float, default DEFAULT_RCOND
        Pseudo-inverse cutoff in ``[0, 1)`` relative to the largest eigenvalue of each ``C_i`` (1e-15).
    threads : int or None, default 1
        torch / BLAS threads while computing (``None`` leaves the setting alone).
    cache : bool, default True
        Use and fill the distance cache of :func:`cutoff_distances`.
    cache_dir : str or pathlib.Path, optional
        Cache folder (default: the project's ``data/cache``).
    progress : bool, default False
        Show a tqdm bar.

    Returns
    -------
    numpy.ndarray, shape (M, M)
        Symmetric squared distances with a zero diagonal, float64.
    """
    if metric not in ("mahalanobis", "euclidean"):
        raise ValueError(f"metric: expected 'mahalanobis' or 'euclidean', got {metric!r}")
    if metric == "euclidean":
        return dm.euclidean_sq(traj.params)
    n = traj.config.batch_size if batch_size is None else batch_size
    if kind == "sgd":
        # eq (2.6) is the per-sample covariance times (N - n)/(n (N - 1)), so its distances are the "sample"
        # distances divided by that factor (exactly, up to rounding): one cached matrix serves every n.
        N = traj.dataset().N
        c = cov.covariance_scale(N, n)
        base = sq_distances(traj, kind="sample", rcond=rcond, threads=threads, cache=cache, cache_dir=cache_dir,
                            progress=progress)
        return base / c if c > 0 else np.zeros_like(base)
    if kind not in ("sample", "fisher"):
        raise ValueError(f"kind: expected 'sgd', 'sample' or 'fisher', got {kind!r}")
    return cutoff_distances(traj, [rcond], kinds=(kind,), threads=threads, cache=cache, cache_dir=cache_dir,
                            progress=progress)[kind, float(rcond)]


def summarise(
    sq,
    eps: float,
    *,
    beta: float = 0.99,
    alpha: float = 0.5,
    knn: int | None = None,
    auc_method: str = "trapezoid",
) -> DimensionResult:
    """Diffusion-map spectrum at ``eps`` and its ``d`` (energy ratio > β, eq 3.3) and AUC ratio.

    Parameters
    ----------
    sq : array_like, shape (M, M)
        Squared distances (e.g. :func:`sq_distances`).
    eps : float
        Kernel scale ε of eq (2.10), ``exp(-d²/ε)``, positive.
    beta : float, default 0.99
        Threshold ``β`` of eq (3.3), in (0, 1).
    alpha : float, default 0.5
        Exponent of the normalisation ``K̃ = D^{-α} K D^{-α}`` that precedes eq (2.11); the source's is 1/2.
    knn : int, optional
        Symmetrised k-nearest-neighbour sparsification of the kernel; default: the dense kernel.
    auc_method : {"trapezoid", "sum"}, default "trapezoid"
        Area rule of :attr:`DimensionResult.auc` (:func:`landscape.diffusion.auc_ratio`).

    Returns
    -------
    DimensionResult
        ``d``, both AUC ratios and the spectrum at ``eps``.
    """
    lam = dm.diffusion_spectrum(sq, eps, alpha=alpha, knn=knn)
    d = dm.intrinsic_dimension(lam, beta)
    other = "sum" if auc_method == "trapezoid" else "trapezoid"
    a = dm.auc_ratio(lam, d, method=auc_method)
    a2 = dm.auc_ratio(lam, d, method=other)
    return DimensionResult(eps=float(eps), d=d, auc=a, auc_sum=a2 if auc_method == "trapezoid" else a,
                           eigenvalues=lam, beta=beta)


def eps_scan(sq, eps_grid, *, beta: float = 0.99, alpha: float = 0.5, level: float = 0.5,
             dimension: bool = True) -> tuple[pd.DataFrame, dm.KernelSumScan]:
    """Section 3.3 / Figs 5-6: ``L(ε)``, its exact log-log slope and (if ``dimension``) ``d`` and AUC ratio
    at every ε of the grid. Returns a tidy frame and the :class:`~landscape.diffusion.KernelSumScan`.

    Parameters
    ----------
    sq : array_like, shape (M, M)
        Squared distances (e.g. :func:`sq_distances`).
    eps_grid : array_like
        Kernel scales ε: at least 2, finite, positive, strictly increasing (:func:`landscape.diffusion.kernel_sum`).
    beta : float, default 0.99
        Threshold ``β`` of eq (3.3) for ``d``.
    alpha : float, default 0.5
        Exponent of the normalisation ``K̃ = D^{-α} K D^{-α}`` that precedes eq (2.11); the source's is 1/2.
    level : float, default 0.5
        In (0, 1]: the linear region is where the exact slope is at least ``level`` times its maximum.
    dimension : bool, default True
        Also compute ``d`` and the AUC ratio at every ε (one eigenvalue problem per ε).

    Returns
    -------
    frame : pandas.DataFrame
        One row per ε: ``eps, L, slope, in_linear_region`` and, with ``dimension``, ``d, auc``.
    scan : landscape.diffusion.KernelSumScan
        The full scan of :func:`landscape.diffusion.kernel_sum`.
    """
    scan = dm.kernel_sum(sq, eps_grid, level=level)
    df = pd.DataFrame({"eps": scan.eps, "L": scan.L, "slope": scan.slope})
    df["in_linear_region"] = [scan.in_linear_region(e) for e in scan.eps]
    if dimension:
        res = [summarise(sq, e, beta=beta, alpha=alpha) for e in scan.eps]
        df["d"] = [r.d for r in res]
        df["auc"] = [r.auc for r in res]
    return df, scan


def median_sq(sq) -> float:
    """Median of the off-diagonal squared distances (the scale used by :func:`retune_eps`).

    Parameters
    ----------
    sq : array_like, shape (M, M)
        Symmetric squared distances; only the strict upper triangle is read (``M ≥ 2``).

    Returns
    -------
    float
        The median of the ``M (M − 1)/2`` distances ``d²_ij``, ``i < j``.
    """
    D2 = np.asarray(sq)
    iu = np.triu_indices(D2.shape[0], 1)
    return float(np.median(D2[iu]))


def retune_eps(sq, eps_ref: float, ref_median: float) -> float:
    """Our explicit ε re-tuning rule (the source re-tunes by eye): scale ``eps_ref`` by the ratio of median
    squared distances, ``ε = eps_ref · median(d²) / ref_median``, so that ``ε`` keeps the same place in the
    distribution of distances. Falls back to ``eps_ref`` when the median vanishes.

    Parameters
    ----------
    sq : array_like, shape (M, M)
        Squared distances of the points ε is tuned for.
    eps_ref : float
        Kernel scale ε chosen for the reference points.
    ref_median : float
        :func:`median_sq` of the reference points' distances.

    Returns
    -------
    float
        ``eps_ref · median_sq(sq) / ref_median``, or ``eps_ref`` when either median is not positive.
    """
    med = median_sq(sq)
    if ref_median <= 0 or med <= 0:
        return float(eps_ref)
    return float(eps_ref) * med / ref_median


def rolling_windows(sq, window: int, stride: int, eps: float, *, retune: bool = True, beta: float = 0.99,
                    alpha: float = 0.5) -> pd.DataFrame:
    """Section 3.4.5 / Figs 13-14: ``d`` and AUC on windows ``[s, s + window)`` moved by ``stride``.

    The distance between two points only involves their own covariances, so each window's distances are a
    sub-block of the full matrix. Columns for the fixed ``eps`` and, with ``retune``, for ε re-tuned per
    window by :func:`retune_eps` relative to the first window.

    Parameters
    ----------
    sq : array_like, shape (M, M)
        Squared distances of the whole trajectory.
    window : int
        Points per window, in ``[2, M]``.
    stride : int
        Shift between consecutive windows, ``>= 1``; windows that would run past ``M`` are left out.
    eps : float
        Kernel scale ε of eq (2.10) used in every window (and the re-tuning's reference).
    retune : bool, default True
        Also evaluate each window at ε re-tuned by :func:`retune_eps` to the median distance of the first window
        (so the first window's re-tuned ε is ``eps``).
    beta : float, default 0.99
        Threshold ``β`` of eq (3.3).
    alpha : float, default 0.5
        Exponent of the normalisation ``K̃ = D^{-α} K D^{-α}`` that precedes eq (2.11); the source's is 1/2.

    Returns
    -------
    pandas.DataFrame
        One row per window: ``start, stop`` (row indices, ``stop`` excluded), ``eps_fixed, d_fixed, auc_fixed`` and,
        with ``retune``, ``eps_retuned, d_retuned, auc_retuned``.
    """
    D2 = np.asarray(sq)
    M = D2.shape[0]
    if not 2 <= window <= M:
        raise ValueError(f"window: must lie in [2, {M}], got {window}")
    if stride < 1:
        raise ValueError(f"stride: must be >= 1, got {stride}")
    rows = []
    ref = None
    for s in range(0, M - window + 1, stride):
        blk = D2[s : s + window, s : s + window]
        r = summarise(blk, eps, beta=beta, alpha=alpha)
        row = {"start": s, "stop": s + window, "eps_fixed": eps, "d_fixed": r.d, "auc_fixed": r.auc}
        if retune:
            med = median_sq(blk)
            ref = med if ref is None else ref
            e2 = retune_eps(blk, eps, ref)
            r2 = summarise(blk, e2, beta=beta, alpha=alpha)
            row.update(eps_retuned=e2, d_retuned=r2.d, auc_retuned=r2.auc)
        rows.append(row)
    return pd.DataFrame(rows)


def subsample_dimension(sq, eps: float, *, n_rep: int = 20, fraction: float = 0.8, seed: int = 0,
                        beta: float = 0.99, alpha: float = 0.5, progress: bool = False) -> pd.DataFrame:
    """Variability of ``d`` and AUC under resampling of the trajectory's points: ``n_rep`` subsamples of
    ``fraction · M`` points drawn without replacement (a subsampling bootstrap; duplicated points, as in
    the ordinary bootstrap, would add zero distances to the kernel). Percentile intervals are the
    quantiles of the returned columns ``d`` and ``auc``.

    Parameters
    ----------
    sq : array_like, shape (M, M)
        Squared distances of the whole trajectory.
    eps : float
        Kernel scale ε of eq (2.10).
    n_rep : int, default 20
        Number of subsamples.
    fraction : float, default 0.8
        Share of the ``M`` points in each subsample, in (0, 1]; ``max(2, round(fraction · M))`` points.
    seed : int, default 0
        Seed of the :func:`numpy.random.default_rng` that draws the subsamples.
    beta : float, default 0.99
        Threshold ``β`` of eq (3.3).
    alpha : float, default 0.5
        Exponent of the normalisation ``K̃ = D^{-α} K D^{-α}`` that precedes eq (2.11); the source's is 1/2.
    progress : bool, default False
        Show a tqdm bar.

    Returns
    -------
    pandas.DataFrame
        One row per subsample: ``rep, n_points, d, auc``.
    """
    D2 = np.asarray(sq)
    M = D2.shape[0]
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction: must lie in (0, 1], got {fraction}")
    k = max(2, int(round(fraction * M)))
    rng = np.random.default_rng(seed)
    from tqdm.auto import tqdm

    rows = []
    for b in tqdm(range(n_rep), disable=not progress, desc="subsamples"):
        idx = np.sort(rng.choice(M, size=k, replace=False))
        r = summarise(D2[np.ix_(idx, idx)], eps, beta=beta, alpha=alpha)
        rows.append({"rep": b, "n_points": k, "d": r.d, "auc": r.auc})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Analysis:
    """One configuration through the whole pipeline (:func:`analyse`).

    Parameters
    ----------
    config : landscape.nets.recording.RecordConfig
        The trajectory's configuration.
    results : tuple of DimensionResult
        One per ε analysed, in the order given to :func:`analyse`.
    final_loss : float
        Training loss on the whole training set after the last epoch.
    M : int
        Recorded SGD steps (points of the trajectory).
    m : int
        Parameters of the network (dimension of each point).
    N : int
        Training samples.
    seconds : float
        Wall time of :func:`analyse`: recording (or loading), distances and spectra.
    """

    config: object
    results: tuple[DimensionResult, ...]
    final_loss: float
    M: int
    m: int
    N: int
    seconds: float

    def at(self, eps: float) -> DimensionResult:
        """The result at ``eps`` (matched with :func:`numpy.isclose`); ``ValueError`` if it was not analysed.

        Parameters
        ----------
        eps : float
            One of the kernel scales given to :func:`analyse`.

        Returns
        -------
        DimensionResult
            The first result whose ε is close to ``eps``.
        """
        for r in self.results:
            if np.isclose(r.eps, eps):
                return r
        raise ValueError(f"eps: {eps} was not analysed (have {[r.eps for r in self.results]})")


def analyse(config, eps, *, kind: str = "sgd", rcond: float = dm.DEFAULT_RCOND, beta: float = 0.99,
            threads: int | None = 1, cache: bool = True, progress: bool = False, keep_sq: bool = False):
    """Record (or load) the trajectory of ``config`` and return ``d`` and AUC at each ε in ``eps``
    (a number or a sequence). With ``keep_sq`` also returns the distance matrix: ``(analysis, sq)``.

    Parameters
    ----------
    config : landscape.nets.recording.RecordConfig
        The trajectory (recorded by :func:`landscape.nets.recording.record_sgd`, or loaded from its cache).
    eps : float or sequence of float
        Kernel scale(s) ε of eq (2.10).
    kind : {"sgd", "sample", "fisher"}, default "sgd"
        Covariance of eq (2.5) (:func:`sq_distances`; ``"sgd"`` is eq (2.6) at the config's batch size).
    rcond : float, default DEFAULT_RCOND
        Pseudo-inverse cutoff of eq (2.5), relative to the largest eigenvalue (1e-15).
    beta : float, default 0.99
        Threshold ``β`` of eq (3.3).
    threads : int or None, default 1
        torch / BLAS threads for the distances.
    cache : bool, default True
        Use and fill the distance cache (the trajectory goes through
        :func:`landscape.nets.recording.record_sgd`'s own cache either way).
    progress : bool, default False
        Show progress bars.
    keep_sq : bool, default False
        Also return the distance matrix.

    Returns
    -------
    Analysis or tuple of (Analysis, numpy.ndarray)
        The analysis; with ``keep_sq``, also the ``(M, M)`` squared distances.
    """
    import time

    from landscape.nets.recording import record_sgd

    t0 = time.perf_counter()
    traj = record_sgd(config, progress=progress)
    sq = sq_distances(traj, kind=kind, rcond=rcond, threads=threads, cache=cache, progress=progress)
    eps_list = [float(eps)] if np.ndim(eps) == 0 else [float(e) for e in eps]
    res = tuple(summarise(sq, e, beta=beta) for e in eps_list)
    a = Analysis(config=config, results=res, final_loss=float(traj.epoch_train_loss[-1]), M=traj.M, m=traj.m,
                 N=traj.dataset().N, seconds=time.perf_counter() - t0)
    return (a, sq) if keep_sq else a


def config_row(config) -> dict:
    """A flat dict of a RecordConfig for tables.

    Parameters
    ----------
    config : landscape.nets.recording.RecordConfig
        The configuration.

    Returns
    -------
    dict
        Field name -> value, with ``hidden`` as text (``"24, 14"``).
    """
    d = dataclasses.asdict(config)
    d["hidden"] = ", ".join(str(h) for h in config.hidden)
    return d
