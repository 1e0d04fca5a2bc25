"""Extreme eigenpairs of a curvature operator: Lanczos (``eigsh``), the annihilation step for the
opposite end of the spectrum, and power iteration (the PyHessian baseline)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse.linalg as spla

from landscape.infra.linalg import fix_signs
from landscape.curvature.hessian.inputs import _check_int
from landscape.curvature.hessian.linear_operator import _Symmetric, _as_operator, _count


def _start_vector(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)


@dataclass(frozen=True)
class Eigenpairs:
    """Eigenvalues (ordered as requested), unit eigenvectors as columns, residuals ``‖Hv − λv‖``.

    ``n_matvecs`` counts the operator products the solver used (the residual check costs ``k`` more).
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    residuals: np.ndarray
    which: str
    n_matvecs: int

    def __len__(self) -> int:
        return len(self.eigenvalues)


_WHICH = {"largest": "LA", "smallest": "SA", "magnitude": "LM"}


def eigenpairs(op, k: int = 1, which: str = "largest", *, seed: int = 0, tol: float = 0.0,
               ncv: int | None = None, maxiter: int | None = None) -> Eigenpairs:
    r"""Extreme eigenpairs of a symmetric operator by implicitly restarted Lanczos (``eigsh``, ARPACK).

    This is how Böttcher & Wheeler compute dominant Hessian directions (Sec. IV, Algorithm 1).

    ``which``: ``"largest"`` (algebraically largest, ordered descending), ``"smallest"`` (algebraically
    smallest, ascending) or ``"magnitude"`` (largest :math:`|\lambda|`, ordered by :math:`|\lambda|`
    descending). The start vector is a standard normal vector drawn with ``seed``; each eigenvector's sign is
    fixed so that its largest-magnitude entry is positive. ``tol=0`` asks ARPACK for machine precision.
    Small problems (``k >= n - 1``) fall back to a dense ``eigh`` of the operator.

    Parameters
    ----------
    op : scipy.sparse.linalg.LinearOperator or numpy.ndarray
        A symmetric operator (e.g. :func:`hessian_operator`) or a square matrix.
    k : int
        Number of eigenpairs, ``1 <= k <= n``.
    which : {"largest", "smallest", "magnitude"}
        Which end of the spectrum, and the order of the result.
    seed : int
        Seed of the start vector.
    tol, ncv, maxiter
        Passed to ``scipy.sparse.linalg.eigsh`` (``tol=0``: machine precision).

    Returns
    -------
    Eigenpairs
        Eigenvalues, unit eigenvectors (columns), residuals ``‖Hv − λv‖`` and the products used.

    Examples
    --------
    >>> import numpy as np
    >>> from landscape import hessian
    >>> A = np.diag([3.0, 1.0, 0.5, -2.0, 0.1])
    >>> top = hessian.eigenpairs(A, 2, "largest")
    >>> top.eigenvalues, bool(top.residuals.max() < 1e-12)
    (array([3., 1.]), True)
    >>> np.round(hessian.eigenpairs(A, 1, "magnitude").eigenvectors[:, 0], 12) + 0.0  # e_1, sign fixed
    array([1., 0., 0., 0., 0.])
    """
    A = _as_operator(op)
    n = A.shape[0]
    k = _check_int(k, "k")
    if k > n:
        raise ValueError(f"k must be <= the dimension {n}, got {k}")
    if which not in _WHICH:
        raise ValueError(f"which must be one of {sorted(_WHICH)}, got {which!r}")
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol!r}")
    before = _count(A)
    if k >= n - 1:
        M = A.matmat(np.eye(n))
        M = 0.5 * (M + M.T)
        w, V = np.linalg.eigh(M)
    else:
        try:
            w, V = spla.eigsh(A, k=k, which=_WHICH[which], v0=_start_vector(n, seed), tol=tol, ncv=ncv,
                              maxiter=maxiter)
        except spla.ArpackNoConvergence as err:
            # degenerate clusters (e.g. a large null space) can stall the residual test at tol=0; the Ritz
            # values are then converged to rounding: keep them if ARPACK returned all k (residuals reported)
            if err.eigenvalues is None or len(err.eigenvalues) < k:
                raise
            w, V = err.eigenvalues, err.eigenvectors
    used = _count(A) - before
    if which == "largest":
        order = np.argsort(-w)
    elif which == "smallest":
        order = np.argsort(w)
    else:
        order = np.argsort(-np.abs(w), kind="stable")
    w, V = w[order][:k], fix_signs(V[:, order][:, :k])
    AV = A.matmat(V)
    res = np.linalg.norm(AV - V * w, axis=0)
    return Eigenpairs(eigenvalues=w, eigenvectors=V, residuals=res, which=which, n_matvecs=used)


@dataclass(frozen=True)
class OppositeExtreme:
    r"""Result of the annihilation step (Appendix B).

    ``dominant_value``/``dominant_vector``: the eigenpair of largest magnitude :math:`\lambda_1`.
    ``opposite_value``/``opposite_vector``: the eigenpair of largest magnitude among the eigenvalues of the
    opposite sign, or ``None`` when there is none (``is_saddle`` False: the operator is semi-definite up to
    ``tol``; ``extreme_value`` then holds the other end of the spectrum, of the same sign as
    :math:`\lambda_1` or zero). ``message`` says which case occurred.
    """

    dominant_value: float
    dominant_vector: np.ndarray
    opposite_value: float | None
    opposite_vector: np.ndarray | None
    extreme_value: float
    is_saddle: bool
    message: str
    n_matvecs: int
    residuals: tuple[float, float] = field(default=(np.nan, np.nan))


def opposite_extreme(op, *, seed: int = 0, tol: float = 1e-6, eig_tol: float = 1e-10,
                     dominant: tuple[float, np.ndarray] | None = None, ncv: int | None = None) -> OppositeExtreme:
    r"""Largest-magnitude eigenvalue of the sign opposite to the dominant one (annihilation, Appendix B).

    Let :math:`|\lambda_1| \ge \dots` with :math:`\lambda_1` the eigenvalue of largest magnitude (found by
    Lanczos, or passed as ``dominant=(value, vector)``). The shifted operator
    :math:`B = H - \lambda_1 I` (eq (40), reconstructed) has eigenvalues :math:`\lambda_i - \lambda_1`, all of
    the sign opposite to :math:`\lambda_1`; the dominant eigenvalue has been *annihilated* (mapped to 0), and
    the largest-magnitude eigenvalue of :math:`B` is :math:`\mu = \lambda_{\rm opp} - \lambda_1`, where
    :math:`\lambda_{\rm opp}` is the other end of the spectrum. The paper iterates the Rayleigh quotient of
    :math:`B` (eq (41)); we hand :math:`B` to Lanczos (``eigsh``, ``which="LM"``) which converges to the same
    eigenpair in fewer products. Then :math:`\lambda_{\rm opp} = \mu + \lambda_1`.

    If :math:`\lambda_{\rm opp}` has the sign opposite to :math:`\lambda_1` and
    :math:`|\lambda_{\rm opp}| > \mathrm{tol}\,|\lambda_1|` the point is a saddle of the quadratic model and
    the pair is returned. Otherwise the operator is positive (or negative) semi-definite up to the tolerance:
    no saddle direction exists and ``opposite_value`` is ``None`` (with an explanation in ``message``); no
    spurious saddle is ever reported. ``ncv``: Lanczos basis size for the shifted problem (a larger basis
    helps when the opposite end of the spectrum is small and clustered, the usual case for trained networks).

    Parameters
    ----------
    op : scipy.sparse.linalg.LinearOperator or numpy.ndarray
        Symmetric operator.
    seed : int
        Seed of the Lanczos start vectors.
    tol : float
        Relative size below which the opposite end counts as zero.
    eig_tol : float
        Lanczos tolerance of the shifted problem.
    dominant : tuple, optional
        ``(value, vector)`` of the dominant eigenpair, if known.
    ncv : int, optional
        Lanczos basis size of the shifted problem.

    Returns
    -------
    OppositeExtreme

    Examples
    --------
    >>> import numpy as np
    >>> from landscape import hessian
    >>> r = hessian.opposite_extreme(np.diag([3.0, 1.0, 0.5, -2.0, 0.1]))
    >>> r.is_saddle, round(r.dominant_value, 12), round(r.opposite_value, 12)
    (True, 3.0, -2.0)
    >>> hessian.opposite_extreme(np.diag([3.0, 1.0, 0.5, 0.2, 0.1])).opposite_value is None  # positive definite
    True
    """
    A = _as_operator(op)
    n = A.shape[0]
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol!r}")
    before = _count(A)
    if dominant is None:
        top = eigenpairs(A, 1, "magnitude", seed=seed, tol=eig_tol)
        lam1, v1 = float(top.eigenvalues[0]), top.eigenvectors[:, 0]
    else:
        lam1, v1 = float(dominant[0]), np.asarray(dominant[1], dtype=np.float64)
        if v1.shape != (n,):
            raise ValueError(f"dominant: vector must have shape ({n},), got {v1.shape}")
    if lam1 == 0.0:
        return OppositeExtreme(0.0, v1, None, None, 0.0, False, "the operator is zero: no curvature at all",
                               _count(A) - before)
    shifted = spla.LinearOperator(A.shape, matvec=lambda x: A.matvec(x) - lam1 * np.asarray(x).reshape(-1),
                                  matmat=lambda X: A.matmat(X) - lam1 * np.asarray(X), dtype=np.float64)
    shifted = _Symmetric(shifted)
    sec = eigenpairs(shifted, 1, "magnitude", seed=seed + 1, tol=eig_tol, ncv=ncv)
    lam_opp = float(sec.eigenvalues[0]) + lam1
    v_opp = sec.eigenvectors[:, 0]
    r1 = float(np.linalg.norm(A.matvec(v1) - lam1 * v1))
    r2 = float(np.linalg.norm(A.matvec(v_opp) - lam_opp * v_opp))
    used = _count(A) - before
    sign = "positive" if lam1 > 0 else "negative"
    if np.sign(lam_opp) == -np.sign(lam1) and abs(lam_opp) > tol * abs(lam1):
        msg = (f"saddle: dominant eigenvalue {lam1:.6g} ({sign}), largest-magnitude eigenvalue of the "
               f"opposite sign {lam_opp:.6g}")
        return OppositeExtreme(lam1, v1, lam_opp, v_opp, lam_opp, True, msg, used, (r1, r2))
    msg = (f"no saddle: the dominant eigenvalue is {lam1:.6g} and the other end of the spectrum is "
           f"{lam_opp:.6g}, which is not of the opposite sign beyond tol*|lambda_1| = {tol * abs(lam1):.3g}; "
           f"the operator is {sign} semi-definite here, so no direction of opposite curvature exists")
    return OppositeExtreme(lam1, v1, None, None, lam_opp, False, msg, used, (r1, r2))


@dataclass(frozen=True)
class PowerIteration:
    """Power iteration history: ``eigenvalue`` estimate, ``vector``, ``history`` (Rayleigh quotient after each
    product), ``n_matvecs``, ``converged``."""

    eigenvalue: float
    vector: np.ndarray
    history: np.ndarray
    n_matvecs: int
    converged: bool


def power_iteration(op, *, shift: float = 0.0, tol: float = 1e-3, maxiter: int = 100, seed: int = 0) -> PowerIteration:
    r"""Power iteration on :math:`H - s I` as in PyHessian (Yao et al. 2020): the baseline of the benchmark.

    :math:`v \leftarrow (H - sI)v / \|(H - sI)v\|`, eigenvalue estimate :math:`\lambda = v^\top H v`;
    stops when :math:`|\lambda_t - \lambda_{t-1}| / (|\lambda_{t-1}| + 10^{-6}) < \mathrm{tol}` (PyHessian's
    rule) or after ``maxiter`` products. With ``shift = λ_max`` it finds :math:`\lambda_{\min}`.

    Parameters
    ----------
    op : scipy.sparse.linalg.LinearOperator or numpy.ndarray
        Symmetric operator.
    shift : float
        Iterate with :math:`H - \mathrm{shift}\,I`.
    tol : float
        Relative change of the eigenvalue that stops the iteration.
    maxiter : int
        Most iterations.
    seed : int
        Seed of the start vector.

    Returns
    -------
    PowerIteration

    Examples
    --------
    >>> import numpy as np
    >>> from landscape import hessian
    >>> r = hessian.power_iteration(np.diag([5.0, 1.0, 0.5]), tol=1e-10, maxiter=200)
    >>> round(r.eigenvalue, 8), r.converged
    (5.0, True)
    """
    A = _as_operator(op)
    maxiter = _check_int(maxiter, "maxiter")
    v = _start_vector(A.shape[0], seed)
    v /= np.linalg.norm(v)
    hist, lam_old, converged = [], None, False
    for _ in range(maxiter):
        Hv = A.matvec(v)
        lam = float(v @ Hv)
        hist.append(lam)
        w = Hv - shift * v
        nw = np.linalg.norm(w)
        if nw == 0:
            converged = True
            break
        v = w / nw
        if lam_old is not None and abs(lam - lam_old) / (abs(lam_old) + 1e-6) < tol:
            converged = True
            break
        lam_old = lam
    return PowerIteration(hist[-1], v, np.asarray(hist), len(hist), converged)
