"""Readings of source 000's unstated choices, and which of them reproduce its tables (issue 8).

Fjellström & Nyström state eqs (2.5), (2.6), (2.10)-(2.11) and (3.3) but not: the tolerance of the pseudo-inverse
in (2.5), whether the covariance carries the batch factor ``(N - n)/(n (N - 1))`` of (2.6), the kernel's scale
convention, dense or k-nearest-neighbour kernels, whether ``λ_0`` enters the energy ratio (3.3), nor the AUC
formula. A :class:`Reading` fixes one choice of each; :data:`LITERAL` is eq (2.6) as written, all eigenvalues of
``C`` kept (``numpy.linalg.pinv``'s 1e-15), ``exp(-d²/ε)``, a dense kernel, ``λ_0`` left out, trapezoid AUC.

Cost. All readings of one trajectory share one pass (:func:`landscape.diffusion.manifold.cutoff_distances`): per
recorded point the per-sample gradients and one thin SVD of the covariance factor, then every pseudo-inverse cutoff
at once, because a cutoff only decides how many leading singular directions are kept (a prefix of a cumulative
sum). The covariance scale (batch factor, ``1/N`` or ``1/(N-1)``) and the kernel scale multiply the distances by a
constant, so they are one distance matrix at another ε; ``λ_0`` and the AUC formula are post-processing of one
spectrum (:func:`summaries`). Only eigenvalues are computed (``eigvalsh``).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from landscape import diffusion as dm
from landscape.curvature import covariance as cov

__all__ = [
    "CUTOFFS",
    "COVARIANCES",
    "Reading",
    "LITERAL",
    "scaled",
    "summaries",
    "spectral_grid",
    "measure",
    "from_row",
    "judge",
    "rank_readings",
]

#: Pseudo-inverse cutoffs of the study, relative to the largest eigenvalue of ``C``: numpy's 1e-15 (its default
#: for every dtype), a stricter 1e-13, ``m · eps(float32)`` ≈ 6e-5 (scipy's and torch's default pinv cutoff on
#: float32) and ``10 · m · eps(float32)`` ≈ 6e-4 (TensorFlow's) for ``m = 515``, and two coarser ones. numpy's
#: 1e-15 applied in float32 arithmetic is
#: :func:`landscape.studies.diffusion_maps.training_variants.numpy_float32_distances`.
CUTOFFS = (1e-15, 1e-13, 6e-5, 6e-4, 3e-3, 1e-2)

#: Covariance readings: name -> (factor kind of :func:`landscape.curvature.covariance.sgd_noise_factor` whose distances
#: are computed, how the covariance is scaled relative to it). ``"batch"`` is eq (2.6)'s ``(N - n)/(n (N - 1))``.
COVARIANCES = {
    "eq 2.6": ("sample", "batch"),
    "1/N": ("sample", "one"),
    "1/(N-1)": ("sample", "N/(N-1)"),
    "eq 2.7/2.8": ("fisher", "batch"),
}
AUC_METHODS = ("trapezoid", "sum")
@dataclass(frozen=True)
class Reading:
    """One reading of the source's unstated choices (see the module docstring).

    The defaults are :data:`LITERAL`. Bad values raise ``ValueError`` naming the field.

    Parameters
    ----------
    rcond : float, default 1e-15
        Pseudo-inverse cutoff of eq (2.5) in ``[0, 1)``, relative to the largest eigenvalue of each ``C_i``
        (:data:`CUTOFFS` are the study's).
    covariance : str, default "eq 2.6"
        How ``C`` is scaled, a key of :data:`COVARIANCES`: ``"eq 2.6"`` (batch factor ``(N - n)/(n (N - 1))``),
        ``"1/N"``, ``"1/(N-1)"`` or ``"eq 2.7/2.8"`` (the uncentred gradients with the batch factor).
    kernel : float, default 1.0
        Kernel scale convention, positive: the kernel is ``exp(-d²/(kernel · ε))`` (eq 2.10 at ``kernel = 1``).
    knn : int, optional
        Nearest neighbours kept per row of the kernel; None: the dense kernel.
    trivial : bool, default False
        Count ``λ_0`` in the energy ratio of eq (3.3), ``d`` then counted from 0 (:func:`summaries`).
    auc : {"trapezoid", "sum"}, default "trapezoid"
        AUC ratio formula (:func:`landscape.diffusion.auc_ratio`).
    """

    rcond: float = 1e-15
    covariance: str = "eq 2.6"
    kernel: float = 1.0
    knn: int | None = None
    trivial: bool = False
    auc: str = "trapezoid"

    def __post_init__(self):
        """Check every field (``ValueError`` naming the first bad one)."""
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
        """:meth:`changes` joined by commas, or ``"literal"``."""
        return ", ".join(self.changes()) or "literal"


LITERAL = Reading()


def scaled(sq_base, covariance: str, N: int, n: int) -> np.ndarray:
    """Distances under ``covariance`` from those of its factor kind (:data:`COVARIANCES`).

    ``C = s · C_base`` gives ``C⁺ = C_base⁺ / s`` and ``d² = d²_base / s``; eq (2.6)'s batch factor is
    ``s = (N - n)/(n (N - 1))`` (zero at ``n = N``: ``C⁺ = 0`` and all distances 0), ``1/(N-1)`` is
    ``s = N/(N - 1)`` relative to ``1/N``.

    Parameters
    ----------
    sq_base : array_like, shape (M, M)
        Squared distances of the covariance's factor kind (``COVARIANCES[covariance][0]``, e.g. a matrix of
        :func:`landscape.diffusion.manifold.cutoff_distances`).
    covariance : str
        A key of :data:`COVARIANCES`.
    N : int
        Training samples.
    n : int
        Minibatch size, ``1 <= n <= N``.

    Returns
    -------
    numpy.ndarray, shape (M, M)
        ``sq_base / s`` as float64 (all zeros when ``s = 0``).

    Examples
    --------
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

    Parameters
    ----------
    lam : array_like
        Eigenvalues of ``P`` (eq 2.11), descending, ``λ_0 = 1`` first (e.g.
        :func:`landscape.diffusion.diffusion_spectrum`).
    beta : float, default 0.99
        Threshold ``β`` of eq (3.3), in (0, 1).

    Returns
    -------
    dict
        ``{(trivial, auc): (d, auc_ratio)}`` for ``trivial`` in (False, True) and ``auc`` in
        ``("trapezoid", "sum")``; ``d`` an int, the ratio a float (0 when ``d = 0``).

    Examples
    --------
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
    """The readings that need their own spectrum (λ0 and AUC choices are added by :func:`measure`).

    Parameters
    ----------
    rconds : sequence of float, default CUTOFFS
        Pseudo-inverse cutoffs of eq (2.5).
    covariances : sequence of str, default all keys of COVARIANCES
        Covariance scalings.
    kernels : sequence of float, default (1.0, 2.0, 4.0)
        Kernel scale conventions (``exp(-d²/(kernel · ε))``).
    knns : sequence of int or None, default (None, 64)
        Kernel sparsifications (None: dense).

    Returns
    -------
    list of Reading
        The cartesian product, ``rconds`` varying slowest, with ``trivial`` and ``auc`` at their defaults.
    """
    return [Reading(rcond=r, covariance=c, kernel=k, knn=kn) for r in rconds for c in covariances
            for k in kernels for kn in knns]


def measure(sq_by_key, eps: float, N: int, n: int, readings, keys: tuple[str, str], *, beta: float = 0.99,
            progress: bool = False) -> pd.DataFrame:
    """Tidy rows ``reading fields…, key, measured`` of ``d`` (``keys[0]``) and AUC (``keys[1]``) at ``eps``.

    ``sq_by_key`` is :func:`cutoff_distances`' dict; ``readings`` are spectral readings (their ``trivial``
    and ``auc`` are ignored: all four are reported from each spectrum, computed once). Readings whose
    computation is identical share one eigenproblem (:func:`_spectral_keys`: equal distance matrices, e.g. two
    cutoffs that keep the same directions at every point, or the all-zero distances of eq (2.6) at ``n = N``).

    Parameters
    ----------
    sq_by_key : dict
        ``{(kind, rcond): (M, M) squared distances}`` of
        :func:`landscape.diffusion.manifold.cutoff_distances`; it must hold every reading's factor kind and cutoff.
    eps : float
        Kernel scale ε of eq (2.10) (multiplied by each reading's ``kernel``).
    N : int
        Training samples of the trajectory.
    n : int
        Minibatch size of eq (2.6)'s batch factor.
    readings : sequence of Reading
        Spectral readings (e.g. :func:`spectral_grid`).
    keys : tuple of (str, str)
        Keys of ``data/sources/<source>.csv`` that the measured ``d`` and AUC ratio are compared with (e.g.
        ``("table2_iris_d", "table2_iris_auc")``); they fill the ``key`` column.
    beta : float, default 0.99
        Threshold ``β`` of eq (3.3).
    progress : bool, default False
        Show a tqdm bar over the distance matrices.

    Returns
    -------
    pandas.DataFrame
        Per reading and each of the four ``(trivial, auc)`` choices two rows (``key`` ``keys[0]`` with ``d``, and
        ``keys[1]`` with the AUC ratio in ``measured``); columns the :class:`Reading` fields (``knn`` 0 for dense),
        ``key`` and ``measured``.
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
    and neighbours; with a zero scale (eq 2.6 at ``n = N``) all distances are 0 whatever the matrix.
    """
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
    """The :class:`Reading` of one row of :func:`measure` or :func:`judge` (``knn = 0`` means dense).

    Parameters
    ----------
    row : mapping or pandas.Series
        A row holding the :class:`Reading` fields (``rcond, covariance, kernel, knn, trivial, auc``).

    Returns
    -------
    Reading
        The reading, ``knn`` None for 0.
    """
    kw = {c: row[c] for c in READING_COLUMNS}
    kw["knn"] = None if kw["knn"] == 0 else int(kw["knn"])
    kw["trivial"] = bool(kw["trivial"])
    return Reading(**kw)


def judge(long: pd.DataFrame, source: str = "000") -> pd.DataFrame:
    """Per reading and table of the source, whether every number matches.

    A number matches when :func:`landscape.infra.results.verdict` with the tolerances of ``data/sources/<source>.csv``
    says "reproduced" or "partly" (the ``partly`` tolerance is the study's criterion, fixed in the data file).
    Returns one row per reading, a bool column per table (``NaN`` where that table was not measured for the
    reading) and ``label``.

    Parameters
    ----------
    long : pandas.DataFrame
        Rows of :func:`measure` (any number of calls concatenated): the :class:`Reading` fields, ``key`` and
        ``measured``.
    source : str, default "000"
        The source document whose ``data/sources/<source>.csv`` holds the published numbers and tolerances.

    Returns
    -------
    pandas.DataFrame
        The :class:`Reading` fields, one column per table of the source (``"Table 2"``, ...; True when every
        number of that table matches) and ``label`` (:meth:`Reading.label`).
    """
    from landscape.infra.results import verdict
    from landscape.infra.sources import source_value

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
    units of the ``partly`` tolerance for AUC), then the fewest non-literal choices.

    Parameters
    ----------
    judged : pandas.DataFrame
        The output of :func:`judge`.
    long : pandas.DataFrame
        The rows of :func:`measure` that ``judged`` was made from.
    source : str, default "000"
        The source document (``data/sources/<source>.csv``).
    errors_of : tuple of str, default ("Table 2",)
        Tables (the ``section`` of the source file) whose numbers enter the summed error.

    Returns
    -------
    pandas.DataFrame
        ``judged`` with the columns ``tables_matched``, ``error``, ``numbers`` (numbers of ``errors_of`` measured)
        and ``changes`` (non-literal choices) added, sorted best first, index reset.
    """
    from landscape.infra.sources import source_value

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
