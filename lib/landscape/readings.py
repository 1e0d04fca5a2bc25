"""Readings of source 000's unstated choices, and which of them reproduce its tables (issue 8).

Fjellström & Nyström state eqs (2.5), (2.6), (2.10)-(2.11) and (3.3) but not: the tolerance of the pseudo-inverse
in (2.5), whether the covariance carries the batch factor ``(N - n)/(n (N - 1))`` of (2.6), the kernel's scale
convention, dense or k-nearest-neighbour kernels, whether ``λ_0`` enters the energy ratio (3.3), nor the AUC
formula. A :class:`Reading` fixes one choice of each; :data:`LITERAL` is eq (2.6) as written, all eigenvalues of
``C`` kept (``numpy.linalg.pinv``'s 1e-15), ``exp(-d²/ε)``, a dense kernel, ``λ_0`` left out, trapezoid AUC.

Cost. All readings of one trajectory share one pass (:func:`cutoff_distances`): per recorded point the
per-sample gradients and one thin SVD of the covariance factor, then every pseudo-inverse cutoff at once,
because a cutoff only decides how many leading singular directions are kept (a prefix of a cumulative sum).
The covariance scale (batch factor, ``1/N`` or ``1/(N-1)``) and the kernel scale multiply the distances by a
constant, so they are one distance matrix at another ε; ``λ_0`` and the AUC formula are post-processing of one
spectrum (:func:`summaries`). Only eigenvalues are computed (``eigvalsh``).
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

from . import covariance as cov
from . import diffusion as dm
from . import manifold
from .cache import atomic_write
from .diffusion.distances import Blocks, check_device, right_svd
from .linalg import limit_threads

__all__ = [
    "CUTOFFS",
    "COVARIANCES",
    "Reading",
    "LITERAL",
    "cutoff_distances",
    "scaled",
    "summaries",
    "spectral_grid",
    "measure",
    "from_row",
    "judge",
    "rank_readings",
]

#: Pseudo-inverse cutoffs of the study, relative to the largest eigenvalue of ``C``: numpy's 1e-15, a stricter
#: 1e-13, ``m · eps(float32)`` ≈ 6e-5 (numpy/scipy/torch pinv on float32) and ``10 · m · eps(float32)`` ≈ 6e-4
#: (TensorFlow's pinv) for ``m = 515``, and two coarser ones.
CUTOFFS = (1e-15, 1e-13, 6e-5, 6e-4, 3e-3, 1e-2)

#: Covariance readings: name -> (factor kind of :func:`landscape.covariance.sgd_noise_factor` whose distances
#: are computed, how the covariance is scaled relative to it). ``"batch"`` is eq (2.6)'s ``(N - n)/(n (N - 1))``.
COVARIANCES = {
    "eq 2.6": ("sample", "batch"),
    "1/N": ("sample", "one"),
    "1/(N-1)": ("sample", "N/(N-1)"),
    "eq 2.7/2.8": ("fisher", "batch"),
}
AUC_METHODS = ("trapezoid", "sum")
#: 3: the strict upper triangle of d² as float32, 11.5 MB per matrix at M = 2400 (format 2 stored the full float32
#: matrix, 23 MB; format 1 float64, 46 MB; files of older formats are never read: the format is part of the name).
CACHE_FORMAT = 3
#: Storage type of the cached distances. Rounding d² to float32 changes it by at most 6e-8 relative; d and the AUC
#: computed from it are checked against float64 in ``tests/test_readings_storage.py``.
STORAGE = np.float32


@dataclass(frozen=True)
class Reading:
    """One reading of the source's unstated choices (see the module docstring)."""

    rcond: float = 1e-15
    covariance: str = "eq 2.6"
    kernel: float = 1.0
    knn: int | None = None
    trivial: bool = False
    auc: str = "trapezoid"

    def __post_init__(self):
        if not (np.isfinite(self.rcond) and 0 <= self.rcond < 1):
            raise ValueError(f"rcond: must lie in [0, 1), got {self.rcond!r}")
        if self.covariance not in COVARIANCES:
            raise ValueError(f"covariance: expected one of {list(COVARIANCES)}, got {self.covariance!r}")
        if not (np.isfinite(self.kernel) and self.kernel > 0):
            raise ValueError(f"kernel: must be a positive number, got {self.kernel!r}")
        if self.knn is not None and (isinstance(self.knn, bool) or int(self.knn) != self.knn or self.knn < 1):
            raise ValueError(f"knn: must be None or a positive integer, got {self.knn!r}")
        if self.auc not in AUC_METHODS:
            raise ValueError(f"auc: expected one of {AUC_METHODS}, got {self.auc!r}")

    def changes(self) -> list[str]:
        """The non-literal choices of this reading, in words (empty for :data:`LITERAL`)."""
        out = []
        if self.rcond != LITERAL.rcond:
            out.append(f"pinv cutoff {self.rcond:.0e}")
        if self.covariance != LITERAL.covariance:
            out.append(f"covariance {self.covariance}")
        if self.kernel != 1:
            out.append(f"kernel exp(-d²/({self.kernel:g}ε))")
        if self.knn is not None:
            out.append(f"{self.knn}-NN kernel")
        if self.trivial:
            out.append("λ0 in eq (3.3), d counted from 0")
        if self.auc != LITERAL.auc:
            out.append(f"AUC as a {self.auc}")
        return out

    def label(self) -> str:
        return ", ".join(self.changes()) or "literal"


LITERAL = Reading()


def _save(path: Path, array: np.ndarray) -> None:
    with atomic_write(path) as f:  # unique temp file, then os.replace: readers never see half a matrix
        np.save(f, array)


def _pack(sq: np.ndarray) -> np.ndarray:
    """The strict upper triangle of a symmetric, zero-diagonal ``(M, M)`` matrix, row by row, as :data:`STORAGE`.

    Lossless for the matrices of :func:`_pass` (``½ (Q + Qᵀ)`` is symmetric bit for bit, its diagonal zero), so
    ``_unpack(_pack(a), M) == a.astype(STORAGE)`` exactly, at half the bytes of the full matrix."""
    return sq[np.triu_indices(sq.shape[0], 1)].astype(STORAGE)


def _unpack(packed: np.ndarray, M: int) -> np.ndarray | None:
    """The ``(M, M)`` float64 matrix of :func:`_pack`'s output, or ``None`` if ``packed`` cannot be one."""
    if packed.ndim != 1 or packed.dtype != STORAGE or packed.size != M * (M - 1) // 2:
        return None
    out = np.zeros((M, M), dtype=np.float64)
    out[np.triu_indices(M, 1)] = packed
    return out + out.T  # adding the zero lower triangle: exact


def _cache_path(traj, kind: str, rcond: float, cache_dir, device="cpu") -> Path:
    from . import paths

    base = Path(cache_dir) if cache_dir is not None else paths.cache_dir()
    config = {"trajectory": traj.config.key(), "kind": kind, "rcond": rcond, "format": CACHE_FORMAT}
    kind_of_device = torch.device(device).type
    if kind_of_device != "cpu":  # other rounding, so other numbers: cached apart (CPU keys unchanged)
        config["device"] = kind_of_device
    blob = json.dumps(config)
    return base / "readings" / f"{hashlib.sha256(blob.encode()).hexdigest()[:20]}.npy"


def _pass(traj, kinds, rconds, progress, device="cpu") -> dict:
    """One loop over the points: per-sample gradients, one SVD per factor kind, every cutoff from a cumsum.

    The products run blocked (:class:`landscape.diffusion.distances.Blocks`, the code of
    :func:`~landscape.diffusion.mahalanobis_sq`); everything runs on ``device``. Returns
    ``{(kind, rcond): (M, M) float64 numpy array}``."""
    from tqdm.auto import tqdm

    dev = torch.device(device)
    net, X, y, loss = manifold._grad_setup(traj)
    net, X, y = net.to(dev), X.to(dev), y.to(dev)
    N = X.shape[0]
    M = traj.M
    params = torch.from_numpy(traj.params).to(dev)
    Xt = torch.from_numpy(traj.params - traj.params.mean(axis=0)).to(dev)  # centred as in mahalanobis_sq
    Q = {(k, rc): torch.zeros((M, M), dtype=torch.float64, device=dev) for k in kinds for rc in rconds}

    def emit(i, Y, payload):
        k, kept = payload
        C = torch.cumsum(Y.square_(), dim=1)  # Y is this call's own array: squaring in place saves an allocation
        for rc, kr in kept.items():
            Q[k, rc][i] = C[:, kr - 1]

    blocks = Blocks(Xt, emit)
    for i in tqdm(range(M), disable=not progress, desc="eq 2.5, all cutoffs"):
        G = cov.per_sample_grads(net, loss, X, y, params=params[i])
        for k in kinds:
            F = (G - G.mean(dim=0)) if k == "sample" else G
            s, Vt = right_svd(F / np.sqrt(N))
            if s.numel() == 0 or s[0] == 0:
                continue  # C = 0: C⁺ = 0, the row stays 0
            kept = {rc: int((s * s > rc * s[0] * s[0]).sum()) for rc in rconds}
            r = max(kept.values())
            blocks.add(i, Vt[:r] / s[:r, None], (k, kept))
    blocks.flush()
    out = {}
    for key, q in Q.items():
        d2 = 0.5 * (q + q.T)
        d2.fill_diagonal_(0.0)
        out[key] = d2.cpu().numpy()
    return out


def cutoff_distances(traj, rconds=CUTOFFS, *, kinds=("sample",), threads: int | None = 1, cache: bool = True,
                     cache_dir=None, progress: bool = False, device="cpu") -> dict:
    """Eq (2.5) distances of ``traj`` for several pseudo-inverse cutoffs and covariance factors in one pass.

    Returns ``{(kind, rcond): (M, M) array}`` for the covariance ``C = FᵀF`` with ``F = (G − 1ḡᵀ)/√N``
    (``kind="sample"``: eq (2.6) without its batch factor) or ``F = G/√N`` (``kind="fisher"``: eq (2.7) without
    its batch factor). ``rcond`` keeps the eigenvalues of ``C`` above ``rcond · λ_max``, as
    :func:`landscape.diffusion.mahalanobis_sq` does; the results agree with it to rounding. Per point: one
    gradient evaluation, one thin SVD per kind, and the ``M × m × rank`` products stacked into large GEMMs as in
    :func:`~landscape.diffusion.mahalanobis_sq`; every cutoff comes from one cumulative sum over the singular
    directions. Cached per ``(kind, rcond)`` in ``data/cache/readings/`` as the float32 (:data:`STORAGE`) upper
    triangle; the returned float64 arrays hold the stored values whether they were computed now or loaded, so a
    result never depends on the cache's state. ``device="cuda"`` runs the gradients, SVDs and products on the
    GPU (float64); its results are cached apart from the CPU's, since they differ in rounding.

    >>> from landscape.recording import RecordConfig, record_sgd
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
        if cache and all(p.exists() for p in paths_k.values()):
            loaded = {rc: _unpack(np.load(p, allow_pickle=False), traj.M) for rc, p in paths_k.items()}
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
                _save(_cache_path(traj, key[0], key[1], cache_dir, dev), stored)
            out[key] = _unpack(stored, traj.M)  # the stored values, cached or not: the same numbers either way
    return out


def scaled(sq_base, covariance: str, N: int, n: int) -> np.ndarray:
    """Distances under ``covariance`` from those of its factor kind (:data:`COVARIANCES`).

    ``C = s · C_base`` gives ``C⁺ = C_base⁺ / s`` and ``d² = d²_base / s``; eq (2.6)'s batch factor is
    ``s = (N - n)/(n (N - 1))`` (zero at ``n = N``: ``C⁺ = 0`` and all distances 0), ``1/(N-1)`` is
    ``s = N/(N - 1)`` relative to ``1/N``.

    >>> float(scaled(np.ones((2, 2)), "1/(N-1)", 4, 2)[0, 1])
    0.75
    """
    return _apply_scale(sq_base, _scale(covariance, N, n))


def _scale(covariance: str, N: int, n: int) -> float:
    if covariance not in COVARIANCES:
        raise ValueError(f"covariance: expected one of {list(COVARIANCES)}, got {covariance!r}")
    rule = COVARIANCES[covariance][1]
    return {"batch": lambda: cov.covariance_scale(N, n), "one": lambda: 1.0, "N/(N-1)": lambda: N / (N - 1)}[rule]()


def _apply_scale(sq_base, s: float) -> np.ndarray:
    D2 = np.asarray(sq_base, dtype=np.float64)
    return np.zeros_like(D2) if s == 0 else D2 / s


def summaries(lam, beta: float = 0.99) -> dict:
    """``(d, AUC)`` of one descending spectrum (``λ_0`` first) under the four λ0 × AUC readings.

    Keys ``(trivial, auc)``. ``trivial=False``: eq (3.3) from ``λ_1``
    (:func:`~landscape.diffusion.intrinsic_dimension`).
    ``trivial=True``: ``λ_0`` included and ``d`` counted from 0, i.e. ``d`` eigenvalues beyond ``λ_0``; the AUC
    ratio then runs over ``λ_0 … λ_d``. A constant kernel (all distances 0) gives ``d = 0`` either way.

    >>> lam = np.array([1.0, 0.5, 0.0, 0.0])
    >>> summaries(lam)[(False, "trapezoid")], summaries(lam)[(True, "sum")]
    ((1, 0.0), (1, 1.0))
    """
    out = {}
    for trivial in (False, True):
        d1 = dm.intrinsic_dimension(lam, beta, include_trivial=trivial)
        d = max(d1 - 1, 0) if trivial else d1
        for method in AUC_METHODS:
            npts = d + 1 if trivial else d
            a = dm.auc_ratio(lam, npts, method=method, include_trivial=trivial) if d > 0 else 0.0
            out[trivial, method] = (int(d), float(a))
    return out


def spectral_grid(rconds=CUTOFFS, covariances=tuple(COVARIANCES), kernels=(1.0, 2.0, 4.0), knns=(None, 64)):
    """The readings that need their own spectrum (λ0 and AUC choices are added by :func:`measure`)."""
    return [Reading(rcond=r, covariance=c, kernel=k, knn=kn) for r in rconds for c in covariances
            for k in kernels for kn in knns]


def measure(sq_by_key, eps: float, N: int, n: int, readings, keys: tuple[str, str], *, beta: float = 0.99,
            progress: bool = False) -> pd.DataFrame:
    """Tidy rows ``reading fields…, key, measured`` of ``d`` (``keys[0]``) and AUC (``keys[1]``) at ``eps``.

    ``sq_by_key`` is :func:`cutoff_distances`' dict; ``readings`` are spectral readings (their ``trivial``
    and ``auc`` are ignored: all four are reported from each spectrum, computed once). Readings whose
    computation is identical share one eigenproblem (:func:`_spectral_keys`: equal distance matrices, e.g. two
    cutoffs that keep the same directions at every point, or the all-zero distances of eq (2.6) at ``n = N``).
    """
    from tqdm.auto import tqdm

    for r in readings:
        if (COVARIANCES[r.covariance][0], r.rcond) not in sq_by_key:
            raise ValueError(f"sq_by_key: no distances for kind {COVARIANCES[r.covariance][0]!r} at rcond {r.rcond:g}")
    fps = {key: _fingerprint(a) for key, a in sq_by_key.items()}
    keyed, todo = _spectral_keys(readings, fps, eps, N, n)
    done = {}
    for (kind, rc), jobs in tqdm(todo.items(), disable=not progress, desc="spectra"):
        done.update(zip([j[0] for j in jobs], _spectra(sq_by_key[kind, rc], jobs, beta), strict=True))
    return _rows(readings, keyed, done, keys)


def _fingerprint(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).view(np.uint8)).hexdigest()


def _spectral_keys(readings, fps: dict, eps: float, N: int, n: int):
    """Which eigenproblem each reading needs: ``keyed[reading] = key`` and, per distance matrix ``(kind, rcond)``,
    the distinct problems ``(key, scale, kernel ε, knn)`` to solve on it (each key once). Two readings share a key
    only when the computation is the same bit for bit: equal matrices (fingerprints), equal scale, equal kernel ε
    and neighbours; with a zero scale (eq 2.6 at ``n = N``) all distances are 0 whatever the matrix."""
    keyed, todo, seen = {}, {}, set()
    for r in readings:
        kind = COVARIANCES[r.covariance][0]
        s = _scale(r.covariance, N, n)
        knn = r.knn
        key = ("zero", knn) if s == 0 else (fps[kind, r.rcond], s, r.kernel * eps, knn)
        keyed[r] = key
        if key not in seen:
            seen.add(key)
            todo.setdefault((kind, r.rcond), []).append((key, s, r.kernel * eps, knn))
    return keyed, todo


def _spectra(sq_base, jobs, beta: float) -> list[dict]:
    """:func:`summaries` of each ``(key, scale, kernel ε, knn)`` problem on one distance matrix."""
    out = []
    for _, s, e, knn in jobs:
        sq = _apply_scale(sq_base, s)
        lam = dm.diffusion_spectrum(sq, e, knn=knn if knn is None else min(knn, len(sq)))
        out.append(summaries(lam, beta))
    return out


def _rows(readings, keyed: dict, done: dict, keys: tuple[str, str]) -> pd.DataFrame:
    rows = []
    for r in readings:
        for (trivial, method), (d, a) in done[keyed[r]].items():
            base = dataclasses.asdict(dataclasses.replace(r, trivial=trivial, auc=method))
            base["knn"] = r.knn or 0  # 0: dense (a tidy int column)
            rows += [{**base, "key": keys[0], "measured": d}, {**base, "key": keys[1], "measured": a}]
    return pd.DataFrame(rows)


READING_COLUMNS = [f.name for f in dataclasses.fields(Reading)]


def from_row(row) -> Reading:
    """The :class:`Reading` of one row of :func:`measure` or :func:`judge` (``knn = 0`` means dense)."""
    kw = {c: row[c] for c in READING_COLUMNS}
    kw["knn"] = None if kw["knn"] == 0 else int(kw["knn"])
    kw["trivial"] = bool(kw["trivial"])
    return Reading(**kw)


def judge(long: pd.DataFrame, source: str = "000") -> pd.DataFrame:
    """Per reading and table of the source: does every number match?

    A number matches when :func:`landscape.results.verdict` with the tolerances of ``data/sources/<source>.csv``
    says "reproduced" or "partly" (the ``partly`` tolerance is the study's criterion, fixed in the data file).
    Returns one row per reading, a bool column per table (``NaN`` where that table was not measured for the
    reading) and ``label``.
    """
    from .results import verdict
    from .sources import source_value

    rows = []
    for key, grp in long.groupby("key"):
        sv = source_value(source, key)
        ok = [verdict(sv.value, m, tol=sv.tol, partly=sv.partly, relative=sv.relative) != "not reproduced"
              for m in grp.measured]
        rows.append(grp[READING_COLUMNS].assign(table=sv.section, match=ok))
    flat = pd.concat(rows, ignore_index=True)
    wide = flat.groupby(READING_COLUMNS + ["table"]).match.all().unstack("table").reset_index()
    wide.columns.name = None
    wide["label"] = [from_row(r).label() for _, r in wide.iterrows()]
    return wide


def rank_readings(judged: pd.DataFrame, long: pd.DataFrame, source: str = "000", errors_of=("Table 2",)):
    """``judged`` sorted best first: most tables matched, then the most numbers of ``errors_of`` measured (a
    reading dropped at an early stage has fewer), then the smallest summed error on them (relative for ``d``, in
    units of the ``partly`` tolerance for AUC), then the fewest non-literal choices."""
    from .sources import source_value

    err, counted = [], []
    for _, r in judged.iterrows():
        sel = long[(long[READING_COLUMNS] == r[READING_COLUMNS].to_numpy()).all(axis=1)]
        e, k = 0.0, 0
        for _, row in sel.iterrows():
            sv = source_value(source, row.key)
            if sv.section in errors_of:
                scale = abs(sv.value) if sv.relative else max(sv.partly or sv.tol or 1.0, 1e-12)
                e, k = e + abs(float(row.measured) - sv.value) / scale, k + 1
        err.append(e)
        counted.append(k)
    tables = [c for c in judged.columns if c.startswith("Table")]
    out = judged.assign(tables_matched=judged[tables].fillna(False).astype(bool).sum(axis=1), error=err,
                        numbers=counted, changes=[len(from_row(r).changes()) for _, r in judged.iterrows()])
    # a reading dropped early has fewer numbers in its error: more numbers measured ranks first
    order = ["tables_matched", "numbers", "error", "changes"]
    return out.sort_values(order, ascending=[False, False, True, True]).reset_index(drop=True)


def __getattr__(name):
    """:class:`Target` and :func:`study` live in :mod:`landscape.readings_study` (the study's units of work)."""
    if name in ("Target", "study"):
        from . import readings_study

        return getattr(readings_study, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
