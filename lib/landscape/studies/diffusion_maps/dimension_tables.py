"""Tables 2-5 and the seed study of source 000 as one tidy computation: trajectories × readings × ε → ``d``, AUC.

Chapter 02 used to run the same record → distances → spectrum loop three times in its cells; it is here once.
Every trajectory gets one distance pass (:func:`landscape.diffusion.manifold.cutoff_distances`) that serves every
reading's cutoff, and one spectrum per (reading's kernel, ε).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from landscape import diffusion as dm
from landscape.diffusion import manifold
from landscape.studies.diffusion_maps import readings as rd

__all__ = ["reading_distances", "distances_of", "dimension_table", "summary", "kernel_support", "nondegenerate",
           "kernel_premise", "length_premise", "all_premises", "cv_interval", "bracket_at_d", "eps_at_d", "fitted_eps",
           "trajectory_gap", "wide"]

#: An off-diagonal kernel entry exp(-d²/ε) at most this far from 0 (or from 1) counts as 0 (as 1).
TINY = 1e-12


def reading_distances(traj, reading_set: Mapping[str, rd.Reading], *, threads: int | None = 1,
                      progress: bool = False, cache_dir=None, also=None, device="cpu") -> dict[str, np.ndarray]:
    """Eq (2.5) distances of ``traj`` under each named reading (one pass for all), as ``{name: (M, M)}``.

    ``also = (rconds, kinds)`` computes and caches those cutoffs and covariance factor kinds in the same pass
    (for a later study of the same trajectory: one pass instead of two). ``device`` as in
    :func:`landscape.diffusion.manifold.cutoff_distances`.

    Parameters
    ----------
    traj : landscape.nets.recording.Trajectory
        The recorded trajectory (its iterates and dataset give the distances, its batch size the scale).
    reading_set : Mapping of str to landscape.studies.diffusion_maps.readings.Reading
        Named readings; each gives a covariance factor kind and a cutoff ``rcond``.
    threads : int or None, default 1
        torch / BLAS threads of the distance pass (None: leave them as they are).
    progress : bool, default False
        Show a progress bar over the points.
    cache_dir : str or pathlib.Path, optional
        Root of the readings cache (default: the project's cache).
    also : tuple, optional
        ``(rconds, kinds)``: further cutoffs and factor kinds computed and cached in the same pass.
    device : str, default "cpu"
        Where the pass runs (``"cpu"`` or ``"cuda"``).

    Returns
    -------
    dict of str to numpy.ndarray
        Reading name -> ``(M, M)`` squared distances, cut off and scaled as the reading says.
    """
    kinds = tuple(dict.fromkeys(rd.COVARIANCES[r.covariance][0] for r in reading_set.values()))
    rconds = [r.rcond for r in reading_set.values()]
    if also is not None:
        extra_rconds, extra_kinds = also
        rconds = [*rconds, *extra_rconds]
        kinds = tuple(dict.fromkeys((*kinds, *extra_kinds)))
    d2 = manifold.cutoff_distances(traj, rconds, kinds=kinds, threads=threads, progress=progress, cache_dir=cache_dir,
                             device=device)
    N, n = traj.dataset().N, traj.config.batch_size
    return {name: rd.scaled(d2[rd.COVARIANCES[r.covariance][0], r.rcond], r.covariance, N, n)
            for name, r in reading_set.items()}


def distances_of(trajectories: Mapping[str, object], reading_set: Mapping[str, rd.Reading], *,
                 threads: int | None = 1, jobs: int | str | None = None, also=None, device="cpu"
                 ) -> dict[str, dict[str, np.ndarray]]:
    """:func:`reading_distances` of several trajectories (or their configs), ``{label: {reading name: (M, M)}}``.
    ``also`` and ``device`` as in :func:`reading_distances`.

    The passes run as units of :func:`landscape.infra.executor.map_units` on ``jobs`` workers (``None``:
    ``$LANDSCAPE_JOBS``, default 1); each leaves its distances in the readings cache, which this process then
    loads, so nothing large is pickled and the arrays are the same for any number of workers.

    Parameters
    ----------
    trajectories : Mapping of str to Trajectory or RecordConfig
        Label -> a recorded :class:`~landscape.nets.recording.Trajectory` or its
        :class:`~landscape.nets.recording.RecordConfig` (recorded, or loaded from the cache).
    reading_set : Mapping of str to landscape.studies.diffusion_maps.readings.Reading
        Named readings.
    threads : int or None, default 1
        torch / BLAS threads of each pass when there is one worker (workers always use one).
    jobs : int, str or None
        Worker processes (``None``: ``$LANDSCAPE_JOBS``, default 1; ``"all"``: every core).
    also : tuple, optional
        ``(rconds, kinds)`` as in :func:`reading_distances`.
    device : str, default "cpu"
        Where the passes run.

    Returns
    -------
    dict of str to dict of str to numpy.ndarray
        Label -> reading name -> ``(M, M)`` squared distances.
    """
    from landscape.infra import executor, paths

    workers = executor.resolve_jobs(jobs)
    configs = {label: getattr(t, "config", t) for label, t in trajectories.items()}
    root = str(paths.cache_dir())
    units = [(config, dict(reading_set), threads if workers == 1 else 1, root, False, also, device)
             for config in configs.values()]
    executor.map_units(_distances_unit, units, star=True, jobs=workers, progress=False)
    return {label: _distances_unit(config, reading_set, threads, root, load=True, device=device)
            for label, config in configs.items()}


def _distances_unit(config, reading_set, threads, cache_dir, load: bool = False, also=None, device="cpu"):
    from landscape.nets.recording import record_sgd

    out = reading_distances(record_sgd(config, progress=False, cache_dir=cache_dir), reading_set, threads=threads,
                            cache_dir=cache_dir, also=also, device=device)
    return out if load else None


def dimension_table(configs: Mapping[str, object], reading_set: Mapping[str, rd.Reading],
                    eps: Mapping[str, float | Callable], *, beta: float = 0.99, threads: int | None = 1,
                    progress: bool = False, keep: Callable | None = None, jobs: int | str | None = None,
                    device="cpu") -> pd.DataFrame:
    """``d`` and AUC ratio for every trajectory config × reading × ε, one tidy row each.

    Parameters
    ----------
    configs : label -> :class:`~landscape.nets.recording.RecordConfig` (recorded or loaded from the cache).
    reading_set : name -> :class:`~landscape.studies.diffusion_maps.readings.Reading`.
    eps : name -> ε, a number or a callable ``(label, reading name, sq) -> ε`` (e.g. a re-tuning rule); an ε
        of ``None`` skips that cell.
    keep : optional callable ``(label, reading name, sq)`` called with every distance matrix (to keep one); it
        runs in this process, after the trajectories, on the distances reloaded from the cache.
    threads : torch / BLAS threads of each distance pass when ``jobs`` is 1 (workers always use one).
    jobs : trajectories run as independent units through :func:`landscape.infra.executor.map_units` on this many
        workers (``None``: ``$LANDSCAPE_JOBS``, default 1). The rows are the same for any number of workers.
    device : where the distance passes run (:func:`landscape.diffusion.manifold.cutoff_distances`).
    beta : float, default 0.99
        Energy threshold of the dimension ``d`` (eq 3.3, :func:`landscape.diffusion.intrinsic_dimension`).
    progress : bool, default False
        Show a progress bar over the trajectories.

    Returns
    -------
    pandas.DataFrame
        Columns: ``label, reading, eps_name, eps, d, auc, neighbours, flat_share, M, m, N, n, final_loss, seconds``
        (neighbours, flat_share: :func:`kernel_support` at the reading's kernel scale; seconds: the
        trajectory's record + distance time). A diverging run gives one row with ``note``.
    """
    from landscape.infra import executor, paths

    workers = executor.resolve_jobs(jobs)
    root = str(paths.cache_dir())  # explicit: a reused worker process may have served another root
    units = [(label, config, dict(reading_set), dict(eps), beta, threads if workers == 1 else 1, root, device)
             for label, config in configs.items()]
    parts = executor.map_units(_table_unit, units, star=True, jobs=workers, progress=progress, desc="trajectories")
    if keep is not None:
        from landscape.nets.recording import record_sgd

        for (label, config, *_), part in zip(units, parts, strict=True):
            if part and "note" in part[0]:
                continue
            sq_by = reading_distances(record_sgd(config, progress=False), reading_set, threads=threads,
                                      device=device)
            for rname in reading_set:
                keep(label, rname, sq_by[rname])
    return pd.DataFrame([row for part in parts for row in part])


def _table_unit(label, config, reading_set, eps, beta, threads, cache_dir, device="cpu") -> list[dict]:
    """One trajectory of :func:`dimension_table`: its rows (small), its distances left in the readings cache."""
    from landscape.nets.recording import record_sgd

    t0 = time.perf_counter()
    try:
        traj = record_sgd(config, progress=False, cache_dir=cache_dir)
    except FloatingPointError as exc:
        return [{"label": label, "note": f"diverged: {exc}"}]
    sq_by = reading_distances(traj, reading_set, threads=threads, cache_dir=cache_dir, device=device)
    info = {"M": traj.M, "m": traj.m, "N": traj.dataset().N, "n": config.batch_size,
            "final_loss": float(traj.epoch_train_loss[-1]), "seconds": time.perf_counter() - t0}
    rows = []
    for rname, r in reading_set.items():
        sq = sq_by[rname]
        for ename, e in eps.items():
            value = e(label, rname, sq) if callable(e) else e
            if value is None:
                continue
            d, a, _ = summary(sq, value, r, beta=beta)
            nbrs, flat = kernel_support(sq, r.kernel * float(value))
            rows.append({"label": label, "reading": rname, "eps_name": ename, "eps": float(value), "d": d,
                         "auc": a, "neighbours": nbrs, "flat_share": flat, **info})
    return rows


def kernel_support(sq, eps: float, tiny: float = TINY) -> tuple[float, float]:
    """How much of the dense kernel ``exp(-d²/ε)`` of eq (2.10) is neither 0 nor 1: the premise of any ``d`` read
    at a fixed ε.

    A kernel whose off-diagonal entries all underflow to 0 is the identity (``d`` is then about ``M - 1`` whatever
    the data); one whose entries are all 1 is constant (``d = 0``). Either says nothing about the points.

    Parameters
    ----------
    sq : array_like, shape (M, M)
        Squared distances.
    eps : float
        Kernel scale (the kernel is ``exp(-sq / eps)``), positive.
    tiny : float, default :data:`TINY`
        An entry above ``tiny`` counts as a neighbour, one above ``1 - tiny`` as flat.

    Returns
    -------
    tuple of (float, float)
        The effective neighbours (mean number of other points per point with a kernel entry above ``tiny``) and
        the flat share (share of off-diagonal entries above ``1 - tiny``).
    """
    sq = np.asarray(sq, dtype=float)
    if sq.ndim != 2 or sq.shape[0] != sq.shape[1] or sq.shape[0] < 2:
        raise ValueError(f"sq must be a square matrix with at least 2 rows, got shape {sq.shape}")
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}")
    M = sq.shape[0]
    off = ~np.eye(M, dtype=bool)
    k = np.exp(-np.maximum(sq[off], 0.0) / float(eps))
    return float(np.count_nonzero(k > tiny) / M), float(np.count_nonzero(k > 1.0 - tiny) / k.size)


def nondegenerate(neighbours: float, flat_share: float) -> bool:
    """The premise of a ``d`` read at a fixed ε: on average at least one other point in the kernel's reach and not
    every entry 1 (see :func:`kernel_support`).

    Parameters
    ----------
    neighbours, flat_share : float
        The two numbers of :func:`kernel_support`.

    Returns
    -------
    bool
        ``neighbours >= 1`` and ``flat_share < 1``.
    """
    return bool(neighbours >= 1.0 and flat_share < 1.0)


def kernel_premise(neighbours, flat_share, where: str = "at the source's eps") -> tuple[str, bool, str]:
    """The premise ``(name, holds, detail)`` of a claim read at a fixed ε, for one kernel or several (every one must
    be non-degenerate, :func:`nondegenerate`), in the form :meth:`landscape.infra.results.Claims.check` takes.

    Parameters
    ----------
    neighbours, flat_share : float or array_like
        :func:`kernel_support`'s numbers, one per kernel the claim reads (e.g. the ``neighbours`` and
        ``flat_share`` columns of :func:`dimension_table`).
    where : str
        Which ε, for the premise's name.

    Returns
    -------
    tuple of (str, bool, str)
        The premise's name, whether it holds, and the worst kernel's numbers.
    """
    nb, fl = np.atleast_1d(np.asarray(neighbours, float)), np.atleast_1d(np.asarray(flat_share, float))
    if nb.size == 0 or nb.shape != fl.shape:
        raise ValueError(f"neighbours and flat_share must be non-empty and of one shape, got {nb.shape}, {fl.shape}")
    ok = all(nondegenerate(a, b) for a, b in zip(nb, fl, strict=True))
    many = f" (worst of {nb.size} kernels)" if nb.size > 1 else ""
    detail = (f"{nb.min():.3g} effective neighbours per point (kernel entry > {TINY:g}; needs >= 1), "
              f"{100 * fl.max():.3g} % of entries 1 (needs < 100 %){many}")
    return f"kernel non-degenerate {where}", ok, detail


def length_premise(M: int, epochs: int, *, src_M: int = 2400, src_epochs: int = 400,
                   src_d: float | None = None) -> tuple[str, bool, str]:
    """The premise ``(name, holds, detail)`` that a run is as long as the source's: at least ``src_epochs`` epochs
    and ``src_M`` recorded points (source 000, Sec. 3.1: 400 epochs, M = 2400), and, with ``src_d``, room for the
    source's ``d`` (``d <= M - 1``: a diffusion map on M points has M - 1 non-trivial eigenvalues).

    Parameters
    ----------
    M, epochs : int
        The run's recorded points and epochs (the smallest over the runs a claim reads).
    src_M, src_epochs : int
        The source's.
    src_d : float, optional
        The source's ``d`` for the claim.

    Returns
    -------
    tuple of (str, bool, str)
        The premise's name, whether it holds, and the numbers.
    """
    if M < 1 or epochs < 1:
        raise ValueError(f"M and epochs must be >= 1, got M = {M}, epochs = {epochs}")
    ok = M >= src_M and epochs >= src_epochs and (src_d is None or src_d <= M - 1)
    room = "" if src_d is None else f", d = {src_d:g} needs M - 1 >= {src_d:g}"
    return ("trained as long as the source", bool(ok),
            f"{epochs} epochs, M = {M} (source: {src_epochs} epochs, M = {src_M}{room})")


def all_premises(*premises: tuple[str, bool, str]) -> tuple[str, bool, str]:
    """Several premises as one ``(name, holds, detail)``: it holds when every one does; the detail marks each.

    Parameters
    ----------
    *premises : tuple of (str, bool, str)
        E.g. :func:`kernel_premise` and :func:`length_premise`.

    Returns
    -------
    tuple of (str, bool, str)
        Names joined by "and", all held, details with each one's "(holds)" or "(FAILS)".
    """
    if not premises:
        raise ValueError("premises must name at least one premise")
    names = " and ".join(p[0] for p in premises)
    detail = "; ".join(f"{p[0]}: {p[2]} ({'holds' if p[1] else 'FAILS'})" for p in premises)
    return names, all(bool(p[1]) for p in premises), detail


def cv_interval(sample, level: float = 0.95) -> tuple[float, float, float]:
    """Coefficient of variation ``s / mean`` of a sample with the chi-square interval of ``s`` (normal sample, the
    mean taken as exact), for the source's "30 runs consistently give the same d" (Sec. 3.4).

    Parameters
    ----------
    sample : array_like
        At least 2 values with a positive mean.
    level : float, default 0.95
        Coverage, in (0, 1).

    Returns
    -------
    tuple of (float, float, float)
        ``(cv, low, high)``: ``s sqrt((n-1) / chi2_{(1+level)/2}) / mean`` and ``s sqrt((n-1) / chi2_{(1-level)/2})
        / mean`` around ``cv``.
    """
    from scipy import stats

    x = np.asarray(sample, dtype=float)
    if x.ndim != 1 or x.size < 2 or not np.mean(x) > 0:
        raise ValueError(f"sample must hold at least 2 values with a positive mean, got {x!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    n, s, m = x.size, float(np.std(x, ddof=1)), float(np.mean(x))
    lo = s * np.sqrt((n - 1) / stats.chi2.ppf((1 + level) / 2, n - 1)) / m
    hi = s * np.sqrt((n - 1) / stats.chi2.ppf((1 - level) / 2, n - 1)) / m
    return s / m, float(lo), float(hi)


def bracket_at_d(scan: pd.DataFrame, d_target: float) -> dict | None:
    """The two scanned ε whose ``d`` bracket ``d_target`` and their AUC ratios: the honest form of "the AUC where
    d = 17" (Table 2) on a finite ε grid, with no interpolation between the scanned points.

    Parameters
    ----------
    scan : pandas.DataFrame
        Rows with ``eps, d, auc`` (e.g. :func:`landscape.diffusion.manifold.eps_scan`'s table); ``d`` falls as ε
        grows.
    d_target : float
        The source's ``d``.

    Returns
    -------
    dict or None
        ``eps_lo, eps_hi, d_lo, d_hi, auc_lo, auc_hi`` (``d_lo <= d_target <= d_hi``; the rows nearest in ``d`` on
        each side; the AUC keys are the smaller and the larger of the two AUC ratios), or ``None`` if the scan
        never reaches ``d_target``. A row with ``d == d_target`` is both sides.
    """
    if not {"eps", "d", "auc"} <= set(scan.columns):
        raise ValueError(f"scan must have columns eps, d, auc, got {list(scan.columns)}")
    sel = scan[scan.d >= 1]
    above, below = sel[sel.d >= d_target], sel[sel.d <= d_target]
    if above.empty or below.empty:
        return None
    hi_row = above.sort_values(["d", "eps"]).iloc[0]  # the smallest d at or above the target
    lo_row = below.sort_values(["d", "eps"], ascending=[False, True]).iloc[0]  # the largest d at or below it
    aucs = sorted((float(lo_row.auc), float(hi_row.auc)))
    return {"eps_lo": float(lo_row.eps), "eps_hi": float(hi_row.eps), "d_lo": int(lo_row.d), "d_hi": int(hi_row.d),
            "auc_lo": aucs[0], "auc_hi": aucs[1]}


def eps_at_d(scan: pd.DataFrame, d_target: float) -> float | None:
    """The ε where a scan's ``d`` crosses ``d_target``, interpolated in log ε against log d (an effective ε fitted
    continuously on one ``d``); ``None`` if the scan never reaches it.

    Parameters
    ----------
    scan : pandas.DataFrame
        Rows with ``eps, d`` (:func:`landscape.diffusion.manifold.eps_scan`).
    d_target : float
        The ``d`` to hit, positive.

    Returns
    -------
    float or None
        The interpolated ε.
    """
    if not d_target > 0:
        raise ValueError(f"d_target must be positive, got {d_target}")
    sel = scan[scan.d >= 1].sort_values("d")
    if sel.empty or not sel.d.min() <= d_target <= sel.d.max():
        return None
    return float(np.exp(np.interp(np.log(d_target), np.log(sel.d.to_numpy(float)), np.log(sel.eps.to_numpy(float)))))


def fitted_eps(sq, d_target: float, eps_grid, *, n_scan: int, beta: float = 0.99, eps_fixed: float | None = None,
               factor: float = 50.0) -> float | None:
    """One run's effective ε where its ``d`` equals ``d_target``, on the ``d`` scan the chapter uses for its first run:
    ``n_scan`` ε spanning the linear region of L(ε) (eq 2.10's kernel sum, :func:`landscape.diffusion.kernel_sum` on
    ``eps_grid``), extended to ``eps_fixed`` and to ``10 * factor`` times the maximal-slope ε, plus those two ε
    (``factor`` times the maximal-slope ε and ``eps_fixed``), then :func:`eps_at_d`. Run per seed, it measures how
    far the fitted ε (and its ratio to the maximal-slope ε) moves from one run to the next.

    Parameters
    ----------
    sq : array_like, shape (M, M)
        Squared distances.
    d_target : float
        The source's ``d``.
    eps_grid : array_like
        The L(ε) grid.
    n_scan : int
        ε of the ``d`` scan (each one eigendecomposition), >= 2.
    beta : float, default 0.99
        Threshold of eq (3.3).
    eps_fixed : float, optional
        An ε the scan must reach (the source's).
    factor : float, default 50
        The chapter's ε rule: ``factor`` times the maximal-slope ε.

    Returns
    -------
    float or None
        The fitted ε, or ``None`` if the scan never reaches ``d_target``.
    """
    if n_scan < 2:
        raise ValueError(f"n_scan must be >= 2, got {n_scan}")
    ks = dm.kernel_sum(sq, np.asarray(eps_grid, dtype=float))
    lo, hi = ks.linear_region
    fixed = [] if eps_fixed is None else [float(eps_fixed)]
    ends = [lo, hi, 10 * factor * ks.eps_max, *fixed]
    grid = np.unique(np.r_[np.geomspace(min(ends), max(ends), n_scan), fixed, factor * ks.eps_max])
    frame, _ = manifold.eps_scan(sq, grid, beta=beta)
    return eps_at_d(frame, d_target)


def summary(sq, eps: float, reading: rd.Reading, *, beta: float = 0.99) -> tuple[int, float, np.ndarray]:
    """``(d, AUC ratio, spectrum)`` of distances ``sq`` (already under ``reading``'s cutoff and covariance) at
    ``eps``, with the reading's kernel scale, kernel type, λ0 and AUC conventions.

    Parameters
    ----------
    sq : numpy.ndarray, shape (M, M)
        Squared distances under the reading (e.g. a value of :func:`reading_distances`).
    eps : float
        Kernel scale ε before the reading's factor (the kernel uses ``reading.kernel * eps``).
    reading : landscape.studies.diffusion_maps.readings.Reading
        The reading: kernel scale, k-NN sparsification, whether λ0 counts, AUC rule. A k-NN kernel on fewer
        than ``knn`` points (a short window) keeps every point, as
        :func:`landscape.studies.diffusion_maps.readings.summaries` does.
    beta : float, default 0.99
        Energy threshold of ``d`` (eq 3.3).

    Returns
    -------
    tuple of (int, float, numpy.ndarray)
        ``d``, the AUC ratio and the descending spectrum of ``P`` (eq 2.11).
    """
    knn = reading.knn if reading.knn is None else min(reading.knn, len(sq))
    lam = dm.diffusion_spectrum(sq, reading.kernel * float(eps), knn=knn)
    d, a = rd.summaries(lam, beta)[reading.trivial, reading.auc]
    return d, a, lam


def trajectory_gap(configs: Mapping[str, object], reference: str) -> pd.DataFrame:
    """How far each trajectory is from ``configs[reference]``: the largest coordinate difference over the
    common steps (``max_abs_diff``) and between the final points (``final_abs_diff``), in parameter units.

    Parameters
    ----------
    configs : Mapping of str to RecordConfig
        Label -> trajectory configuration (recorded, or loaded from the cache).
    reference : str
        The label compared against.

    Returns
    -------
    pandas.DataFrame
        One row per label: ``label, M, common_steps, max_abs_diff, final_abs_diff``.
    """
    from landscape.nets.recording import record_sgd

    ref = record_sgd(configs[reference], progress=False)
    rows = []
    for label, config in configs.items():
        traj = record_sgd(config, progress=False)
        k = min(traj.M, ref.M)
        rows.append({"label": label, "M": traj.M, "common_steps": k,
                     "max_abs_diff": float(np.abs(traj.params[:k] - ref.params[:k]).max()),
                     "final_abs_diff": float(np.abs(traj.params[-1] - ref.params[-1]).max())})
    return pd.DataFrame(rows)


def wide(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`dimension_table`'s rows as one row per trajectory: ``M, m, final_loss`` and a ``d`` and an
    ``AUC`` column per (reading, ε).

    Parameters
    ----------
    table : pandas.DataFrame
        Rows of :func:`dimension_table` (rows without ``d``, e.g. diverged runs, are dropped).

    Returns
    -------
    pandas.DataFrame
        ``label, M, m, final_loss``, then ``"d, <reading>, <eps_name>"`` and ``"AUC, <reading>, <eps_name>"``
        columns.
    """
    t = table.dropna(subset=["d"])
    w = t.pivot_table(index="label", columns=["reading", "eps_name"], values=["d", "auc"], aggfunc="first", sort=False)
    w = w[[c for c in w.columns if c[0] == "d"] + [c for c in w.columns if c[0] == "auc"]]
    w.columns = [f"{'AUC' if v == 'auc' else v}, {r}, {e}" for v, r, e in w.columns]
    info = t.groupby("label", sort=False)[["M", "m", "final_loss"]].first()
    return info.join(w).reset_index()
