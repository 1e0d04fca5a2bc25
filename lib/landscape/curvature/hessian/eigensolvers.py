"""Extreme eigenpairs of a curvature operator: our Lanczos (full reorthogonalisation, seeded, stopped by a
Ritz-residual test; ARPACK's ``eigsh`` as an option), the annihilation step for the opposite end of the spectrum,
and power iteration (the PyHessian baseline).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import scipy.sparse.linalg as spla

from landscape.curvature.hessian.inputs import _check_int
from landscape.curvature.hessian.linear_operator import _as_operator, _count, _Symmetric
from landscape.infra.linalg import fix_signs


def _start_vector(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)


_EPS = float(np.finfo(np.float64).eps)
_CHECK_EVERY_FROM = 200  # basis size above which the Ritz test runs every m // 50 steps, not every step


@dataclass
class _Krylov:
    """State of a Lanczos run: basis ``Q`` (n, m), tridiagonal ``alpha``/``beta``, Ritz values ``theta``
    (ascending), their vectors ``S`` in the basis, residual estimates ``resid`` and the start of every block.
    """

    Q: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    m: int
    theta: np.ndarray
    S: np.ndarray
    resid: np.ndarray
    blocks: list
    converged: bool
    n_matvecs: int

    def ritz_vectors(self, idx) -> np.ndarray:
        return self.Q[:self.m].T @ self.S[:, idx]


def _ritz(alpha, beta, m, b_last):
    if m == 1:
        theta, S = alpha[:1].copy(), np.ones((1, 1))
    else:
        theta, S = scipy.linalg.eigh_tridiagonal(alpha[:m], beta[:m - 1])
    return theta, S, abs(b_last) * np.abs(S[-1, :])


def _krylov(A, seed: int, max_steps: int, want) -> _Krylov:
    r"""Lanczos with full reorthogonalisation from a seeded start vector, stopped by a Ritz-residual test.

    After step :math:`m` the Ritz pairs :math:`(\theta_i, Q s_i)` of :math:`T_m = Q^\top A Q` have the residuals
    :math:`\|A Q s_i - \theta_i Q s_i\| = \beta_m |s_{mi}|` (exact up to rounding with full reorthogonalisation;
    Golub & Van Loan, Sec. 10.1.4). ``want(theta) -> (idx, thresholds)`` names the wanted Ritz values and the
    residual each must reach; the run stops when all of them do. At an invariant subspace (:math:`\beta_m`
    below :math:`10^{-10}\|T\|`) the Ritz values are exact eigenvalues but the Krylov space can miss copies of
    a repeated eigenvalue, so a new block starts from a seeded random vector orthogonal to the basis
    (:math:`T` is then block diagonal); the run stops only once the current block's own wanted values
    are converged and do not change the wanted values of all blocks (beyond their thresholds).
    """
    n = A.shape[0]
    rng = np.random.default_rng(seed)
    cap = min(n, max_steps)
    Q = np.empty((cap, n))  # the basis as rows: each vector contiguous, pages touched only when used
    alpha, beta = np.zeros(cap), np.zeros(cap)
    q = rng.standard_normal(n)
    Q[0] = q / np.linalg.norm(q)
    before = _count(A)
    blocks, start, broke = [0], 0, False
    theta = S = resid = None
    converged = False
    norm_est = 0.0
    m = 0
    for j in range(cap):
        w = np.asarray(A.matvec(Q[j]), dtype=np.float64).reshape(-1)
        a = float(Q[j] @ w)
        alpha[j] = a
        w = w - a * Q[j]
        if j > start:
            w -= beta[j - 1] * Q[j - 1]
        for _ in range(2):  # full reorthogonalisation: twice is enough (Parlett's rule)
            w -= Q[:j + 1].T @ (Q[:j + 1] @ w)
        b = float(np.linalg.norm(w))
        m = j + 1
        norm_est = max(norm_est, abs(a) + b + (beta[j - 1] if j > start else 0.0))
        broke = b <= 1e-10 * max(norm_est, np.finfo(np.float64).tiny)
        last = m == cap
        if broke or last or m <= _CHECK_EVERY_FROM or m % max(1, m // 50) == 0:
            theta, S, resid = _ritz(alpha, beta, m, 0.0 if broke else b)
            idx, thr = want(theta)
            floor = 10 * _EPS * max(float(np.abs(theta).max()), norm_est * 1e-300)
            ok = bool(np.all(resid[idx] <= np.maximum(thr, floor)))
            if ok and len(blocks) > 1:
                # after a restart: the current block must have converged its own wanted values and add none
                cur = np.linalg.norm(S[start:, :], axis=0) > 0.5
                sub = np.nonzero(cur)[0]
                sidx, sthr = want(theta[sub])
                own_ok = bool(np.all(resid[sub][sidx] <= np.maximum(sthr, floor)))
                prev = np.nonzero(~cur)[0]
                pidx, _ = want(theta[prev])
                # the block adds nothing if the wanted values without it are the same (ties count as the same)
                same = len(pidx) == len(idx) and bool(np.all(
                    np.abs(np.sort(theta[prev][pidx]) - np.sort(theta[idx])) <= np.maximum(thr, floor)))
                ok = own_ok and same
            elif ok and broke:
                ok = False  # the first invariant subspace: a new block looks for copies of the wanted values
            if ok:
                converged = True
                break
        if last:
            converged = bool(broke and m == n)
            break
        if broke:
            q = rng.standard_normal(n)
            for _ in range(2):
                q -= Q[:m].T @ (Q[:m] @ q)
            beta[j] = 0.0
            Q[j + 1] = q / np.linalg.norm(q)
            start = j + 1
            blocks.append(start)
            continue
        beta[j] = b
        Q[j + 1] = w / b
    if theta is None or len(theta) != m:
        theta, S, resid = _ritz(alpha, beta, m, 0.0 if broke else b)
    if broke and m == n:
        converged = True
    return _Krylov(Q, alpha[:m], beta[:max(m - 1, 0)], m, theta, S, resid, blocks, converged, _count(A) - before)


@dataclass(frozen=True)
class Eigenpairs:
    r"""Eigenvalues (ordered as requested), unit eigenvectors as columns, residuals ``‖Hv − λv‖``.

    ``n_matvecs`` counts the operator products the solver used (a residual check costs ``k`` more: ARPACK and
    ``true_residuals=True``; otherwise the residuals are Lanczos's :math:`\beta_m |s_{mi}|`);
    ``converged`` says whether the solver met its tolerance; ``method`` names the solver.

    Parameters
    ----------
    eigenvalues : numpy.ndarray, shape (k,)
        In the order ``which`` asks for.
    eigenvectors : numpy.ndarray, shape (n, k)
        Unit eigenvectors as columns (sign rule of :func:`landscape.infra.linalg.fix_signs`).
    residuals : numpy.ndarray, shape (k,)
        ``‖Hv − λv‖`` per pair (Lanczos's estimate unless ``true_residuals``).
    which : str
        "largest", "smallest" or "magnitude".
    n_matvecs : int
        Operator products used.
    converged : bool
        The tolerance was met within ``maxiter``.
    method : str
        "lanczos" or "arpack".
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    residuals: np.ndarray
    which: str
    n_matvecs: int
    converged: bool = True
    method: str = "lanczos"

    def __len__(self) -> int:
        """Number of eigenpairs."""
        return len(self.eigenvalues)


_WHICH = {"largest": "LA", "smallest": "SA", "magnitude": "LM"}
_METHODS = ("lanczos", "arpack")


def _order(w: np.ndarray, which: str) -> np.ndarray:
    if which == "largest":
        return np.argsort(-w, kind="stable")
    if which == "smallest":
        return np.argsort(w, kind="stable")
    return np.argsort(-np.abs(w), kind="stable")


def _max_steps(maxiter, n: int) -> int:
    if maxiter is None:
        return min(n, 1000)
    return _check_int(maxiter, "maxiter")


def eigenpairs(op, k: int = 1, which: str = "largest", *, seed: int = 0, tol: float = 0.0,
               ncv: int | None = None, maxiter: int | None = None, method: str = "lanczos",
               true_residuals: bool = False) -> Eigenpairs:
    r"""Extreme eigenpairs of a symmetric operator by Lanczos (default) or ARPACK's restarted Lanczos.

    This is how Böttcher & Wheeler compute dominant Hessian directions (Sec. IV, Algorithm 1).

    ``method="lanczos"`` (default): Lanczos with full reorthogonalisation (Golub & Van Loan, Alg. 10.1.1 with
    complete reorthogonalisation) from a standard normal start vector drawn with ``seed``; after every step the
    Ritz pairs :math:`(\theta_i, y_i)` of the tridiagonal matrix are computed and the run stops as soon as each of
    the ``k`` wanted Ritz pairs has the residual :math:`\|H y_i - \theta_i y_i\| = \beta_m |s_{mi}|
    \le \max(\mathrm{tol}\,|\theta_i|,\ 10\,\varepsilon\,\|T_m\|)` (relative to the eigenvalue, floored at the
    rounding level; ``tol=0``: to rounding). No restarts, so the same inputs give the same bits in every
    process. At an invariant subspace a new seeded block starts, so repeated eigenvalues are found. The basis
    holds at most ``maxiter`` vectors (default ``min(n, 1000)``); if the tolerance is not met by then a
    ``RuntimeWarning`` is raised and the best Ritz pairs are returned with ``converged=False``.
    ``method="arpack"``: ``scipy.sparse.linalg.eigsh`` (implicitly restarted Lanczos; ``tol``, ``ncv`` and
    ``maxiter`` are its own; its restarts round differently from process to process).

    ``which``: ``"largest"`` (algebraically largest, ordered descending), ``"smallest"`` (algebraically
    smallest, ascending) or ``"magnitude"`` (largest :math:`|\lambda|`, ordered by :math:`|\lambda|`
    descending). Each eigenvector's sign is fixed so that its largest-magnitude entry is positive.
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
        Seed of the start vector (and of any restart block).
    tol : float
        Relative residual tolerance (``>= 0``; 0: rounding level).
    ncv : int, optional
        ARPACK's basis size (``method="arpack"`` only).
    maxiter : int, optional
        Lanczos: most basis vectors (products), default ``min(n, 1000)``; ARPACK: most restarts.
    method : {"lanczos", "arpack"}
        The solver.
    true_residuals : bool
        Lanczos: recompute the residuals as ``‖Hv − λv‖`` with ``k`` more products instead of reporting
        :math:`\beta_m |s_{mi}|`, which equals it up to the rounding of the products (Golub & Van Loan, Sec. 10.1.4).
        ARPACK: always recomputed.

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
    >>> hessian.eigenpairs(A, 2, "largest", method="arpack").eigenvalues
    array([3., 1.])
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
    if method not in _METHODS:
        raise ValueError(f"method must be one of {list(_METHODS)}, got {method!r}")
    before = _count(A)
    converged = True
    if k >= n - 1:
        M = A.matmat(np.eye(n))
        M = 0.5 * (M + M.T)
        w, V = np.linalg.eigh(M)
    elif method == "lanczos":
        max_steps = _max_steps(maxiter, n)

        def want(theta):
            idx = _order(theta, which)[:k]
            return idx, tol * np.abs(theta[idx])

        kr = _krylov(A, seed, max(max_steps, k + 1), want)
        idx = _order(kr.theta, which)[:k]
        if len(idx) < k:
            raise ValueError(f"maxiter must be > k to find {k} eigenpairs, got {maxiter}")
        w, V, converged, est = kr.theta[idx], kr.ritz_vectors(idx), kr.converged, kr.resid[idx]
        if not converged:
            warnings.warn(f"Lanczos did not reach tol={tol:g} in {kr.m} steps (maxiter); the best Ritz pairs are "
                          f"returned (residual estimates {kr.resid[idx]})", RuntimeWarning, stacklevel=2)
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
    order = _order(w, which)
    w, V = w[order][:k], fix_signs(V[:, order][:, :k])
    if method == "lanczos" and k < n - 1 and not true_residuals:
        res = est[order][:k]
    else:
        AV = A.matmat(V)
        res = np.linalg.norm(AV - V * w, axis=0)
    return Eigenpairs(eigenvalues=w, eigenvectors=V, residuals=res, which=which, n_matvecs=used,
                      converged=converged, method=method)


def _opposite_lanczos(A, seed: int, eig_tol: float, zero_tol: float, dominant, max_steps: int):
    """Both ends from one Lanczos run: the dominant pair (unless given) and the opposite end (see
    :func:`opposite_extreme`).
    """

    def ends(theta):
        if dominant is None:
            d = int(np.argmax(np.abs(theta)))
            lam1 = float(theta[d])
        else:
            d, lam1 = None, float(dominant[0])
        o = 0 if lam1 > 0 else len(theta) - 1
        return d, o, lam1

    def want(theta):
        d, o, lam1 = ends(theta)
        if d is None:
            return np.array([o]), np.array([eig_tol * max(abs(theta[o]), zero_tol * abs(lam1))])
        if len(theta) == 1:  # one Ritz value cannot be both ends yet
            return np.array([0]), np.array([-1.0])
        return np.array([d, o]), np.array([eig_tol * abs(theta[d]), eig_tol * max(abs(theta[o]), zero_tol * abs(lam1))])

    kr = _krylov(A, seed, max(max_steps, 2), want)
    if not kr.converged:
        warnings.warn(f"Lanczos did not reach eig_tol={eig_tol:g} in {kr.m} steps (maxiter); the best Ritz pairs "
                      "are returned", RuntimeWarning, stacklevel=3)
    d, o, lam1 = ends(kr.theta)
    if d is None:
        v1 = np.asarray(dominant[1], dtype=np.float64)
    else:
        v1 = fix_signs(kr.ritz_vectors([d]))[:, 0]
    v_opp = fix_signs(kr.ritz_vectors([o]))[:, 0]
    return lam1, v1, float(kr.theta[o]), v_opp


@dataclass(frozen=True)
class OppositeExtreme:
    r"""Result of the annihilation step (Appendix B).

    ``dominant_value``/``dominant_vector``: the eigenpair of largest magnitude :math:`\lambda_1`.
    ``opposite_value``/``opposite_vector``: the eigenpair of largest magnitude among the eigenvalues of the
    opposite sign, or ``None`` when there is none (``is_saddle`` False: the operator is semi-definite up to
    ``tol``; ``extreme_value`` then holds the other end of the spectrum, of the same sign as
    :math:`\lambda_1` or zero). ``message`` says which case occurred.

    Parameters
    ----------
    dominant_value : float
        :math:`\lambda_1`, the eigenvalue of largest magnitude.
    dominant_vector : numpy.ndarray, shape (n,)
        Its unit eigenvector.
    opposite_value : float or None
        The extreme eigenvalue of the opposite sign, or None.
    opposite_vector : numpy.ndarray or None
        Its unit eigenvector, or None.
    extreme_value : float
        The other end of the spectrum (whatever its sign).
    is_saddle : bool
        Eigenvalues of both signs beyond ``tol``.
    message : str
        Which case occurred, in words.
    n_matvecs : int
        Operator products used (both ends).
    residuals : (float, float)
        ``‖Hv − λv‖`` of the dominant and the opposite pair.
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
                     dominant: tuple[float, np.ndarray] | None = None, ncv: int | None = None,
                     method: str = "lanczos", maxiter: int | None = None) -> OppositeExtreme:
    r"""Largest-magnitude eigenvalue of the sign opposite to the dominant one (annihilation, Appendix B).

    Let :math:`|\lambda_1| \ge \dots` with :math:`\lambda_1` the eigenvalue of largest magnitude (found by
    Lanczos, or passed as ``dominant=(value, vector)``). The shifted operator
    :math:`B = H - \lambda_1 I` (eq (40), reconstructed) has eigenvalues :math:`\lambda_i - \lambda_1`, all of
    the sign opposite to :math:`\lambda_1`; the dominant eigenvalue has been *annihilated* (mapped to 0), and
    the largest-magnitude eigenvalue of :math:`B` is :math:`\mu = \lambda_{\rm opp} - \lambda_1`, where
    :math:`\lambda_{\rm opp}` is the other end of the spectrum. The paper iterates the Rayleigh quotient of
    :math:`B` (eq (41)); we use Lanczos, which converges to the same eigenpair in far fewer products. Then
    :math:`\lambda_{\rm opp} = \mu + \lambda_1`.

    ``method="lanczos"`` (default): a Krylov space is invariant under shifts, so Lanczos on :math:`H` and on
    :math:`B` from the same start vector build the same basis and Ritz values differing by :math:`\lambda_1`;
    one seeded run of our Lanczos (see :func:`eigenpairs`) therefore yields both ends. It stops as soon as the
    dominant Ritz pair has the residual :math:`\le \mathrm{eig\_tol}\,|\lambda_1|` and the opposite end the
    residual :math:`\le \mathrm{eig\_tol}\,\max(|\lambda_{\rm opp}|, \mathrm{tol}\,|\lambda_1|)`: relative to
    the small end itself (ARPACK on :math:`B` tests against :math:`|\mu| \approx |\lambda_1|`, far looser for
    the tiny negative ends of trained networks), unless it lies below the zero threshold ``tol``, where only
    its sign matters. The same bits in every process.
    ``method="arpack"``: two ``eigsh`` calls, on :math:`H` (seed ``seed``) and on :math:`B` (``which="LM"``,
    seed ``seed + 1``, basis ``ncv``).

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
        ARPACK's basis size of the shifted problem (``method="arpack"`` only).
    method : {"lanczos", "arpack"}
        The solver (see above).
    maxiter : int, optional
        Lanczos: most basis vectors (default ``min(n, 1000)``); ARPACK: most restarts.

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
    if method not in _METHODS:
        raise ValueError(f"method must be one of {list(_METHODS)}, got {method!r}")
    if not np.isfinite(eig_tol) or eig_tol < 0:
        raise ValueError(f"eig_tol must be >= 0, got {eig_tol!r}")
    if dominant is not None:
        lam1, v1 = float(dominant[0]), np.asarray(dominant[1], dtype=np.float64)
        if v1.shape != (n,):
            raise ValueError(f"dominant: vector must have shape ({n},), got {v1.shape}")
    before = _count(A)
    if method == "lanczos" and n > 2:
        lam1, v1, lam_opp, v_opp = _opposite_lanczos(A, seed, eig_tol, tol, dominant, _max_steps(maxiter, n))
    else:
        if dominant is None:
            top = eigenpairs(A, 1, "magnitude", seed=seed, tol=eig_tol, method="arpack")
            lam1, v1 = float(top.eigenvalues[0]), top.eigenvectors[:, 0]
        if lam1 == 0.0:
            return OppositeExtreme(0.0, v1, None, None, 0.0, False, "the operator is zero: no curvature at all",
                                   _count(A) - before)
        shifted = spla.LinearOperator(A.shape, matvec=lambda x: A.matvec(x) - lam1 * np.asarray(x).reshape(-1),
                                      matmat=lambda X: A.matmat(X) - lam1 * np.asarray(X), dtype=np.float64)
        shifted = _Symmetric(shifted)
        sec = eigenpairs(shifted, 1, "magnitude", seed=seed + 1, tol=eig_tol, ncv=ncv, maxiter=maxiter,
                         method="arpack")
        lam_opp = float(sec.eigenvalues[0]) + lam1
        v_opp = sec.eigenvectors[:, 0]
    if lam1 == 0.0:
        return OppositeExtreme(0.0, v1, None, None, 0.0, False, "the operator is zero: no curvature at all",
                               _count(A) - before)
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
    r"""Power iteration history (:func:`power_iteration`).

    Parameters
    ----------
    eigenvalue : float
        The last Rayleigh quotient :math:`v^\top H v`.
    vector : numpy.ndarray, shape (n,)
        The last unit iterate.
    history : numpy.ndarray
        The Rayleigh quotient after each product.
    n_matvecs : int
        Operator products used.
    converged : bool
        PyHessian's stopping rule was met before ``maxiter``.
    """

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
