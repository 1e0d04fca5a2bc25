"""The pipeline of source 000 (Fjellström & Nyström) from a recorded SGD trajectory to the dimension ``d``.

trajectory ``X = {x_i}`` (``landscape.recording``) → per-sample gradients at every ``x_i`` → SGD covariance
factor (eq 2.6) → modified Mahalanobis distances (eq 2.5) → diffusion map (eqs 2.10-2.11) → energy ratio
(eq 3.3), dimension ``d`` (β = 0.99) and AUC ratio (section 3.2).

Also the analysis helpers the chapter uses: ε scans (section 3.3, Figs 5-6), rolling windows with fixed or
re-tuned ε (section 3.4.5, Figs 13-14), a subsampling interval for ``d``, and a rule to re-tune ε.

Distance matrices are cached in ``data/cache/distances/<key>.npy`` (float64, ``M² · 8`` bytes each), keyed by
the trajectory config and every setting that changes them; summaries are cheap and not cached.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import covariance as cov
from . import diffusion as dm
from .cache import atomic_write, canonical_json, content_key, same_config

__all__ = [
    "DimensionResult",
    "trajectory_factor",
    "trajectory_factors",
    "sq_distances",
    "summarise",
    "eps_scan",
    "median_sq",
    "retune_eps",
    "rolling_windows",
    "subsample_dimension",
    "analyse",
]

CACHE_FORMAT = 1


@dataclass(frozen=True)
class DimensionResult:
    """``d`` and AUC ratio of section 3.2 at one ε, with the full descending spectrum (``λ_0`` first)."""

    eps: float
    d: int
    auc: float
    auc_sum: float
    eigenvalues: np.ndarray
    beta: float

    @property
    def energy(self) -> np.ndarray:
        return dm.energy_ratio(self.eigenvalues)


def _grad_setup(traj):
    from . import models

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
    (:func:`landscape.covariance.per_sample_grads`), whatever dtype the trajectory was trained in, so that
    the pseudo-inverse of eq (2.5) is not polluted by float32 rounding. ``kind`` and ``batch_size`` (default:
    the trajectory's) go to :func:`landscape.covariance.sgd_noise_factor`.
    """
    net, X, y, loss = _grad_setup(traj)
    n = traj.config.batch_size if batch_size is None else batch_size
    params = traj.params

    def factor(i: int) -> np.ndarray:
        G = cov.per_sample_grads(net, loss, X, y, params=torch.from_numpy(params[i]))
        return cov.sgd_noise_factor(G.numpy(), n, kind=kind)

    return factor


def trajectory_factor(traj, step: int, *, kind: str = "sgd", batch_size: int | None = None) -> np.ndarray:
    """The factor ``F`` (``N × m``, ``FᵀF = C``) at recorded step ``step`` (0-based; ``x_{step+1}``)."""
    if not -traj.M <= step < traj.M:
        raise ValueError(f"step: must lie in [-{traj.M}, {traj.M - 1}], got {step}")
    return trajectory_factors(traj, kind=kind, batch_size=batch_size)(step % traj.M)


def _config(traj, **settings) -> dict:
    """What a cached distance matrix depends on; its :func:`landscape.cache.content_key` names the file."""
    return {"trajectory": traj.config.key(), "format": CACHE_FORMAT, **settings}


def _key(traj, **settings) -> str:
    return content_key(_config(traj, **settings))


def _load_distances(path: Path, traj, config: dict) -> np.ndarray | None:
    """The cached matrix if its stored config (``<key>.json`` beside it) equals ``config`` and its shape fits;
    None (recompute) otherwise. A matrix cached before configs were stored is accepted once and certified."""
    if not path.exists():
        return None
    sidecar = path.with_suffix(".json")
    if sidecar.exists() and not same_config(sidecar.read_text(), config):
        return None
    try:
        out = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if out.shape != (traj.M, traj.M):
        return None
    if not sidecar.exists():
        with atomic_write(sidecar, "w") as f:
            f.write(canonical_json(config))
    return out


def _save_distances(path: Path, out: np.ndarray, config: dict) -> None:
    with atomic_write(path) as f:
        np.save(f, out)
    with atomic_write(path.with_suffix(".json"), "w") as f:
        f.write(canonical_json(config))


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
    """Squared distances between all recorded points of ``traj``: eq (2.5) (``metric="mahalanobis"``) with
    the covariance of :func:`trajectory_factors`, or Euclidean (``metric="euclidean"``)."""
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
    config = _config(traj, kind=kind, batch_size=None if kind in ("sample", "fisher") else n, rcond=rcond)
    path = None
    if cache:
        from . import paths

        base_dir = Path(cache_dir) if cache_dir is not None else paths.cache_dir()
        path = base_dir / "distances" / f"{content_key(config)}.npy"
        out = _load_distances(path, traj, config)
        if out is not None:
            return out
    out = dm.mahalanobis_sq(traj.params, trajectory_factors(traj, kind=kind, batch_size=n), rcond=rcond,
                            threads=threads, progress=progress)
    if path is not None:
        _save_distances(path, out, config)
    return out


def summarise(
    sq,
    eps: float,
    *,
    beta: float = 0.99,
    alpha: float = 0.5,
    knn: int | None = None,
    auc_method: str = "trapezoid",
) -> DimensionResult:
    """Diffusion-map spectrum at ``eps`` and its ``d`` (energy ratio > β, eq 3.3) and AUC ratio."""
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
    at every ε of the grid. Returns a tidy frame and the :class:`~landscape.diffusion.KernelSumScan`."""
    scan = dm.kernel_sum(sq, eps_grid, level=level)
    df = pd.DataFrame({"eps": scan.eps, "L": scan.L, "slope": scan.slope})
    df["in_linear_region"] = [scan.in_linear_region(e) for e in scan.eps]
    if dimension:
        res = [summarise(sq, e, beta=beta, alpha=alpha) for e in scan.eps]
        df["d"] = [r.d for r in res]
        df["auc"] = [r.auc for r in res]
    return df, scan


def median_sq(sq) -> float:
    """Median of the off-diagonal squared distances (the scale used by :func:`retune_eps`)."""
    D2 = np.asarray(sq)
    iu = np.triu_indices(D2.shape[0], 1)
    return float(np.median(D2[iu]))


def retune_eps(sq, eps_ref: float, ref_median: float) -> float:
    """Our explicit ε re-tuning rule (the source re-tunes by eye): scale ``eps_ref`` by the ratio of median
    squared distances, ``ε = eps_ref · median(d²) / ref_median``, so that ``ε`` keeps the same place in the
    distribution of distances. Falls back to ``eps_ref`` when the median vanishes."""
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
    quantiles of the returned columns ``d`` and ``auc``."""
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
    """One configuration through the whole pipeline (:func:`analyse`)."""

    config: object
    results: tuple[DimensionResult, ...]
    final_loss: float
    M: int
    m: int
    N: int
    seconds: float

    def at(self, eps: float) -> DimensionResult:
        for r in self.results:
            if np.isclose(r.eps, eps):
                return r
        raise ValueError(f"eps: {eps} was not analysed (have {[r.eps for r in self.results]})")


def analyse(config, eps, *, kind: str = "sgd", rcond: float = dm.DEFAULT_RCOND, beta: float = 0.99,
            threads: int | None = 1, cache: bool = True, progress: bool = False, keep_sq: bool = False):
    """Record (or load) the trajectory of ``config`` and return ``d`` and AUC at each ε in ``eps``
    (a number or a sequence). With ``keep_sq`` also returns the distance matrix: ``(analysis, sq)``."""
    import time

    from .recording import record_sgd

    t0 = time.perf_counter()
    traj = record_sgd(config, progress=progress)
    sq = sq_distances(traj, kind=kind, rcond=rcond, threads=threads, cache=cache, progress=progress)
    eps_list = [float(eps)] if np.ndim(eps) == 0 else [float(e) for e in eps]
    res = tuple(summarise(sq, e, beta=beta) for e in eps_list)
    a = Analysis(config=config, results=res, final_loss=float(traj.epoch_train_loss[-1]), M=traj.M, m=traj.m,
                 N=traj.dataset().N, seconds=time.perf_counter() - t0)
    return (a, sq) if keep_sq else a


def config_row(config) -> dict:
    """A flat dict of a RecordConfig for tables."""
    d = dataclasses.asdict(config)
    d["hidden"] = ", ".join(str(h) for h in config.hidden)
    return d
