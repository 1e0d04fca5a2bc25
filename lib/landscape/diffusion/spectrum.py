"""Summaries of a diffusion spectrum (section 3.2): ``s(α)`` (eq 3.1), energy ratio (eq 3.3), dimension ``d``
and the AUC ratio.
"""

from __future__ import annotations

import numpy as np

#: Eigenvalues of ``P`` with ``|λ| <= ZERO_TOL`` are treated as exactly 0 by the spectrum summaries. ``P`` is a
#: Markov matrix (``|λ| <= 1``), and eigenvalues that vanish in exact arithmetic (e.g. a constant kernel when all
#: distances are 0) come out of ``eigh`` as rounding noise of order 1e-16; without the threshold that noise would
#: define a dimension.
ZERO_TOL = 1e-12


def _spectrum(eigs, include_trivial: bool, tol: float = ZERO_TOL) -> np.ndarray:
    lam = np.asarray(eigs, dtype=np.float64).ravel()
    if lam.size < 1:
        raise ValueError("eigs: empty spectrum")
    if not np.all(np.isfinite(lam)):
        raise ValueError("eigs: contains NaN or inf")
    if np.any(np.diff(lam) > 1e-12 * max(1.0, np.abs(lam).max())):
        raise ValueError("eigs: must be sorted in descending order")
    if not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol: must be a finite number >= 0, got {tol!r}")
    lam = np.where(np.abs(lam) <= tol, 0.0, lam)
    return lam if include_trivial else lam[1:]


def energy_ratio(eigs, *, include_trivial: bool = False, tol: float = ZERO_TOL) -> np.ndarray:
    """Energy ratios ``Λ_i = sqrt(λ_1² + … + λ_i²) / sqrt(λ_1² + … + λ_N²)`` of eq (3.3), ``i = 1 … N``.

    ``eigs`` is the descending spectrum including ``λ_0`` (dropped unless ``include_trivial``). If all
    counted eigenvalues are 0 the ratios are defined as 0. ``|λ| <= tol`` counts as 0 (:data:`ZERO_TOL`).

    Parameters
    ----------
    eigs : array_like
        Eigenvalues of ``P`` in descending order, ``λ_0 = 1`` first (e.g. :func:`diffusion_spectrum`).
    include_trivial : bool, default False
        Count ``λ_0`` too (the source drops it).
    tol : float, default ZERO_TOL
        ``|λ| <= tol`` counts as 0 (:data:`ZERO_TOL`).

    Returns
    -------
    numpy.ndarray
        ``Λ_1 … Λ_N``, non-decreasing, the last 1 (or all 0).

    Examples
    --------
    >>> from landscape import diffusion
    >>> diffusion.energy_ratio([1.0, 0.8, 0.6])  # sqrt(0.64 / 1.0), sqrt(1.0 / 1.0)
    array([0.8, 1. ])
    """
    lam = _spectrum(eigs, include_trivial, tol)
    c = np.cumsum(lam * lam)
    if lam.size == 0 or c[-1] <= 0:
        return np.zeros(lam.size)
    return np.sqrt(c / c[-1])


def intrinsic_dimension(eigs, beta: float = 0.99, *, include_trivial: bool = False, tol: float = ZERO_TOL) -> int:
    """Dimension ``d`` of section 3.2: the smallest ``i`` with ``Λ_i > β`` (eq 3.3), ``β = 0.99`` by default.

    Returns 0 when all counted eigenvalues vanish (the source's ``d = 0`` of Table 5).

    Parameters
    ----------
    eigs : array_like
        Eigenvalues of ``P`` in descending order, ``λ_0 = 1`` first (e.g. :func:`diffusion_spectrum`).
    beta : float, default 0.99
        Threshold ``β`` in (0, 1).
    include_trivial : bool, default False
        Count ``λ_0`` too (the source drops it).
    tol : float, default ZERO_TOL
        ``|λ| <= tol`` counts as 0 (:data:`ZERO_TOL`).

    Returns
    -------
    int
        ``d``, between 0 and the number of counted eigenvalues.

    Examples
    --------
    >>> from landscape import diffusion
    >>> diffusion.intrinsic_dimension([1.0, 0.8, 0.6, 0.01]), diffusion.intrinsic_dimension([1.0, 0.0, 0.0])
    (2, 0)
    """
    if not 0 < beta < 1:
        raise ValueError(f"beta: must lie in (0, 1), got {beta!r}")
    Lam = energy_ratio(eigs, include_trivial=include_trivial, tol=tol)
    if Lam.size == 0 or Lam[-1] == 0:
        return 0
    return int(np.argmax(Lam > beta)) + 1


def auc_ratio(
    eigs, d: int, *, method: str = "trapezoid", include_trivial: bool = False, tol: float = ZERO_TOL
) -> float:
    """AUC ratio of section 3.2: share of the area under the eigenvalue curve ``i ↦ λ_i`` in the first ``d``.

    The source gives no formula. ``method="trapezoid"`` (default) is the trapezoidal area, as
    ``sklearn.metrics.auc``: ``auc(1…d, λ_1…λ_d) / auc(1…N, λ_1…λ_N)``; ``method="sum"`` uses
    ``Σ_{i≤d} λ_i / Σ_i λ_i``. Returns 0 for ``d = 0`` or a vanishing spectrum (``|λ| <= tol`` counts as 0).
    Eigenvalues of the modified-Mahalanobis kernel can be negative (eq 2.5 is not a Euclidean distance, so
    the kernel need not be positive semi-definite); they enter with their sign.

    Parameters
    ----------
    eigs : array_like
        Eigenvalues of ``P`` in descending order, ``λ_0 = 1`` first (e.g. :func:`diffusion_spectrum`).
    d : int
        Eigenvalues in the numerator, ``0 <= d <= N`` (e.g. :func:`intrinsic_dimension`).
    method : {"trapezoid", "sum"}
        Area rule (above).
    include_trivial : bool, default False
        Count ``λ_0`` too (the source drops it).
    tol : float, default ZERO_TOL
        ``|λ| <= tol`` counts as 0 (:data:`ZERO_TOL`).

    Returns
    -------
    float
        The ratio (1 for ``d = N`` with a positive area).

    Examples
    --------
    >>> from landscape import diffusion
    >>> round(diffusion.auc_ratio([1.0, 0.8, 0.6, 0.2], 2), 12)  # lambda_0 dropped; trapezoids 0.7 / (0.7 + 0.4)
    0.636363636364
    >>> round(diffusion.auc_ratio([1.0, 0.8, 0.6, 0.2], 2, method="sum"), 12)  # 1.4 / 1.6
    0.875
    """
    lam = _spectrum(eigs, include_trivial, tol)
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not 0 <= d <= lam.size:
        raise ValueError(f"d: must be an integer in [0, {lam.size}], got {d!r}")
    if d == 0:
        return 0.0
    if method == "trapezoid":
        tot = float(np.sum(0.5 * (lam[1:] + lam[:-1])))
        part = float(np.sum(0.5 * (lam[1:d] + lam[: d - 1])))
    elif method == "sum":
        tot, part = float(lam.sum()), float(lam[:d].sum())
    else:
        raise ValueError(f"method: expected 'trapezoid' or 'sum', got {method!r}")
    return part / tot if tot > 0 else 0.0


def s_alpha(eigs, alpha: float, *, include_trivial: bool = False) -> int:
    """``s(α) = max{l : |λ_l| > α |λ_1|}`` of eq (3.1) (Coifman-Lafon); 0 if none or ``λ_1 = 0``.

    Parameters
    ----------
    eigs : array_like
        Eigenvalues of ``P`` in descending order, ``λ_0 = 1`` first (e.g. :func:`diffusion_spectrum`).
    alpha : float
        Relative threshold ``α`` in (0, 1).
    include_trivial : bool, default False
        Count ``λ_0`` too (the source drops it).

    Returns
    -------
    int
        ``s(α)``.

    Examples
    --------
    >>> from landscape import diffusion
    >>> diffusion.s_alpha([1.0, 0.8, 0.5, 0.3, 0.1], 0.5)  # |lambda_l| > 0.4: l = 1, 2
    2
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha: must lie in (0, 1), got {alpha!r}")
    lam = _spectrum(eigs, include_trivial)
    if lam.size == 0 or lam[0] == 0:
        return 0
    hits = np.nonzero(np.abs(lam) > alpha * abs(lam[0]))[0]
    return int(hits[-1]) + 1 if hits.size else 0
