"""Mahalanobis distances, diffusion maps and the intrinsic-dimension tools of the source.

Source: Fjellström & Nyström, "Deep learning, SGD and diffusion maps", sections 2.1-2.2 and 3.2-3.3.

Conventions (fixed here, stated once):

* Kernel (eq 2.10): ``k_ε(x_i, x_j) = exp(-d_ij² / ε)`` with ``d_ij²`` the *squared* distance, exactly as
  the source. pyDiffMap uses ``exp(-d²/(4ε))`` and datafold ``exp(-d²/(2ε))``: their ε is the source's
  ε / 4 and ε / 2 respectively.
* Normalisation (section 2.2): ``K̃ = D^{-α} K D^{-α}`` with ``D = diag(K 1)`` and ``α = 1/2`` (the source's
  choice), then ``P = D̃^{-1} K̃`` with ``D̃ = diag(K̃ 1)`` (eq 2.11).
* Eigenpairs come from the symmetric conjugate ``S = D̃^{-1/2} K̃ D̃^{-1/2}`` (same eigenvalues as ``P``)
  with a deterministic dense symmetric LAPACK solver, sorted descending: ``torch.linalg.eigh`` (MKL's
  syevd; default, ``backend="torch"``) or ``scipy.linalg.eigh`` (``backend="scipy"``). On the project's
  machines the MKL path is about 10x faster at M = 2400 (1.7 s against 19 s for the eigenvalues); both agree to
  rounding (tested). Right eigenvectors
  ``ψ_l = v_l / sqrt(π)`` and left eigenvectors ``φ_l = v_l · sqrt(π)`` with ``π = diag(D̃) / Σ diag(D̃)``
  the stationary distribution, so ``ψ_0 ≡ 1``, ``φ_0 = π`` and ``Σ_k φ_l(k) ψ_l'(k) = δ_ll'``.
* Sign rule: each eigenvector ``v_l`` of ``S`` is flipped so that its entry of largest absolute value
  (the first one on ties) is positive.
* Spectra passed to :func:`energy_ratio`, :func:`intrinsic_dimension`, :func:`auc_ratio` and :func:`s_alpha`
  are the full descending spectrum ``λ_0 = 1 ≥ λ_1 ≥ ...`` as returned by :func:`diffusion_map`. By default
  the trivial ``λ_0`` is dropped (``include_trivial=False``): the source's (3.3) starts at ``λ_1``, and its
  Table 5 reports ``d = 0, AUC = 0`` for a degenerate kernel, which only happens when ``λ_0`` is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import torch
from threadpoolctl import threadpool_limits

from ..linalg import fix_signs

__all__ = [
    "DEFAULT_RCOND",
    "inverse_root",
    "mahalanobis_sq",
    "euclidean_sq",
    "gaussian_kernel",
    "DiffusionMap",
    "diffusion_map",
    "diffusion_spectrum",
    "diffusion_distance",
    "KernelSumScan",
    "kernel_sum",
    "kernel_slope",
    "energy_ratio",
    "intrinsic_dimension",
    "auc_ratio",
    "s_alpha",
    "ZERO_TOL",
]

#: Default relative tolerance of the Moore-Penrose pseudo-inverse in eq (2.5): an eigenvalue of ``C`` is
#: kept when it exceeds ``rcond`` times the largest eigenvalue of ``C``. 1e-15 is the long-standing
#: default of ``numpy.linalg.pinv(C)``, i.e. what a direct implementation of (2.5) on the ``m × m`` matrix
#: would use; on the factor ``F`` (``C = FᵀF``) it keeps singular values ``s > sqrt(rcond) · s_max``.
DEFAULT_RCOND = 1e-15


# ----------------------------------------------------------------------------------------------------
# Mahalanobis distance, eq (2.5)
# ----------------------------------------------------------------------------------------------------


def inverse_root(factor, rcond: float = DEFAULT_RCOND) -> np.ndarray:
    """``W`` (``r × m``) with ``Wᵀ W = C⁺`` for ``C = Fᵀ F``, from the thin SVD of ``F`` (eq 2.5's ``C⁺``).

    ``F = U diag(s) Vᵀ`` gives ``C⁺ = V diag(s⁻²) Vᵀ`` over the kept singular values, so
    ``W = diag(s⁻¹) Vᵀ``. Kept: ``s_k² > rcond · s_max²`` (``rcond`` relative to the largest eigenvalue of
    ``C``, as ``numpy.linalg.pinv(C, rcond)``). A zero factor gives an empty ``(0, m)`` ``W`` (``C⁺ = 0``).
    """
    F = np.asarray(factor, dtype=np.float64)
    if F.ndim != 2:
        raise ValueError(f"factors: each factor must be 2-D (k, m), got shape {F.shape}")
    if not np.all(np.isfinite(F)):
        raise ValueError("factors: a factor contains NaN or inf")
    _, s, Vt = np.linalg.svd(F, full_matrices=False)
    if s.size == 0 or s[0] == 0.0:
        return np.zeros((0, F.shape[1]))
    keep = s * s > rcond * s[0] * s[0]
    return Vt[keep] / s[keep, None]


def _check_points(points) -> np.ndarray:
    X = np.asarray(points, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"points: expected a 2-D (M, m) array, got shape {X.shape}")
    if X.shape[0] < 1:
        raise ValueError("points: no points")
    if not np.all(np.isfinite(X)):
        raise ValueError("points: contains NaN or inf")
    return X


def _inverse_root_t(F: torch.Tensor, rcond: float) -> torch.Tensor:
    _, s, Vt = torch.linalg.svd(F, full_matrices=False)
    if s.numel() == 0 or s[0] == 0:
        return F.new_zeros((0, F.shape[1]))
    keep = s * s > rcond * s[0] * s[0]
    return Vt[keep] / s[keep, None]


def mahalanobis_sq(
    points,
    factors: Sequence | Callable[[int], np.ndarray],
    rcond: float = DEFAULT_RCOND,
    *,
    threads: int | None = 1,
    dtype=np.float64,
    progress: bool = False,
) -> np.ndarray:
    """Squared modified Mahalanobis distances of eq (2.5) between all pairs of points, ``(M, M)``.

    ``‖x_i − x_j‖²_MD = ½ (x_i − x_j)ᵀ (C_i⁺ + C_j⁺) (x_i − x_j)`` with ``C_i = F_iᵀ F_i``.

    Computed without any ``m × m`` matrix: for each point ``i`` the thin SVD of ``F_i`` gives ``W_i`` with
    ``W_iᵀ W_i = C_i⁺`` (:func:`inverse_root`), then ``Q[i, j] = ‖W_i (x_j − x_i)‖²`` for all ``j`` from one
    matrix product, and the result is ``½ (Q + Qᵀ)``. Points are streamed one at a time, so memory is
    ``O(M² + M m + k m)``. In float64 the product is ``W_i x̃_j − W_i x̃_i`` with ``x̃`` the points centred
    at their mean (the rounding error this adds is ~1e-16 · spread / distance, relative); with
    ``dtype=np.float32`` the differences are formed in float64 and only the product runs in float32.

    Parameters
    ----------
    points : ``(M, m)`` array, the trajectory ``x_1 … x_M``.
    factors : a sequence of ``M`` factors ``F_i`` (``k_i × m``, e.g. :func:`landscape.covariance.sgd_noise_factor`)
        or a callable ``i -> F_i`` (array or tensor) evaluated lazily once per point.
    rcond : pseudo-inverse tolerance relative to the largest eigenvalue of each ``C_i`` (see
        :data:`DEFAULT_RCOND`).
    threads : torch / BLAS threads during the loop (``None`` leaves the setting alone). Many small SVDs
        run faster on one thread than on two on the project's machines.
    dtype : ``np.float64`` (default) or ``np.float32`` for the per-point product (about 1e-6 relative).
    progress : show a tqdm bar.
    """
    X = _check_points(points)
    M, m = X.shape
    if not (np.isfinite(rcond) and 0 <= rcond < 1):
        raise ValueError(f"rcond: must lie in [0, 1), got {rcond!r}")
    if dtype not in (np.float64, np.float32):
        raise ValueError(f"dtype: expected np.float64 or np.float32, got {dtype!r}")
    if callable(factors):
        get = factors
    else:
        if len(factors) != M:
            raise ValueError(f"factors: expected {M} factors (one per point), got {len(factors)}")
        get = factors.__getitem__
    from tqdm.auto import tqdm

    Xt = torch.from_numpy(X - X.mean(axis=0))
    Q = torch.empty((M, M), dtype=torch.float64)
    old = torch.get_num_threads()
    limiter = threadpool_limits(limits=threads) if threads is not None else _nullcontext()
    try:
        if threads is not None:
            torch.set_num_threads(int(threads))
        with limiter:
            for i in tqdm(range(M), disable=not progress, desc="Mahalanobis"):
                F = get(i)
                F = F.detach().to("cpu", torch.float64) if isinstance(F, torch.Tensor) else torch.from_numpy(
                    np.asarray(F, dtype=np.float64))
                if F.ndim != 2 or F.shape[1] != m:
                    raise ValueError(f"factors: factor {i} has shape {tuple(F.shape)}, expected (k, {m})")
                if not torch.isfinite(F).all():
                    raise ValueError(f"factors: factor {i} contains NaN or inf")
                W = _inverse_root_t(F, rcond)
                if W.shape[0] == 0:
                    Q[i] = 0.0
                    continue
                if dtype == np.float64:
                    Y = Xt @ W.T
                    Y -= Y[i].clone()
                else:
                    Y = (Xt - Xt[i]).float() @ W.T.float()
                Q[i] = (Y * Y).sum(dim=1).double()
    finally:
        if threads is not None:
            torch.set_num_threads(old)
    out = 0.5 * (Q + Q.T)
    out.fill_diagonal_(0.0)
    return out.numpy()


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def euclidean_sq(points) -> np.ndarray:
    """Squared Euclidean distances ``‖x_i − x_j‖²`` (the identity-covariance case of eq 2.2), ``(M, M)``."""
    X = _check_points(points)
    Xc = X - X.mean(axis=0)
    sq = np.einsum("ij,ij->i", Xc, Xc)
    out = sq[:, None] + sq[None, :] - 2.0 * Xc @ Xc.T
    np.maximum(out, 0.0, out=out)
    np.fill_diagonal(out, 0.0)
    return out


# ----------------------------------------------------------------------------------------------------
# Kernel and diffusion map, eqs (2.10)-(2.14)
# ----------------------------------------------------------------------------------------------------


def _check_sq_dists(sq_dists) -> np.ndarray:
    D2 = np.asarray(sq_dists, dtype=np.float64)
    if D2.ndim != 2 or D2.shape[0] != D2.shape[1]:
        raise ValueError(f"sq_dists: expected a square (M, M) matrix, got shape {D2.shape}")
    if D2.shape[0] < 2:
        raise ValueError("sq_dists: need at least 2 points")
    if not np.all(np.isfinite(D2)):
        raise ValueError("sq_dists: contains NaN or inf")
    scale = max(float(np.abs(D2).max()), 1e-300)
    if D2.min() < -1e-12 * scale:
        raise ValueError("sq_dists: has negative entries (expected squared distances)")
    if not np.allclose(D2, D2.T, rtol=1e-10, atol=1e-12 * scale):
        raise ValueError("sq_dists: not symmetric")
    return D2


def _check_eps(eps) -> float:
    try:
        e = float(eps)
    except (TypeError, ValueError):
        raise ValueError(f"eps: expected a positive number, got {eps!r}") from None
    if not np.isfinite(e) or e <= 0:
        raise ValueError(f"eps: must be a finite positive number, got {eps!r}")
    return e


def _knn_mask(D2: np.ndarray, knn: int) -> np.ndarray:
    M = D2.shape[0]
    if isinstance(knn, bool) or not isinstance(knn, (int, np.integer)) or not 1 <= knn <= M:
        raise ValueError(f"knn: must be an integer in [1, {M}], got {knn!r}")
    D = D2.copy()
    np.fill_diagonal(D, -np.inf)  # each point is its own first neighbour
    idx = np.argpartition(D, knn - 1, axis=1)[:, :knn]
    mask = np.zeros_like(D2, dtype=bool)
    mask[np.arange(M)[:, None], idx] = True
    return mask | mask.T


def gaussian_kernel(sq_dists, eps: float, *, knn: int | None = None) -> np.ndarray:
    """Kernel matrix ``K[i, j] = exp(-d_ij² / ε)`` (eq 2.10), optionally k-NN sparsified.

    With ``knn = k``, ``K[i, j]`` is kept when ``j`` is among the ``k`` nearest points of ``i`` (the point
    itself counts as the first) *or* ``i`` among those of ``j`` (symmetrised by union), else set to 0.
    """
    D2 = _check_sq_dists(sq_dists)
    e = _check_eps(eps)
    K = np.exp(-D2 / e)
    if knn is not None:
        K *= _knn_mask(D2, knn)
    return K


def _symmetric_conjugate(K: np.ndarray, alpha: float):
    if not (np.isfinite(alpha) and 0 <= alpha <= 1):
        raise ValueError(f"alpha: must lie in [0, 1], got {alpha!r}")
    d = K.sum(axis=1)
    da = d ** (-alpha)
    Kt = da[:, None] * K * da[None, :]
    dt = Kt.sum(axis=1)
    r = 1.0 / np.sqrt(dt)
    S = r[:, None] * Kt * r[None, :]
    S = 0.5 * (S + S.T)
    return S, dt, Kt


@dataclass(frozen=True)
class DiffusionMap:
    """Result of :func:`diffusion_map`.

    eigenvalues : all ``M`` eigenvalues of ``P`` (eq 2.11), descending; ``eigenvalues[0] = λ_0 = 1``.
    psi, phi : right / left eigenvectors, columns ``0 … k`` (``psi[:, 0] ≡ 1``, ``phi[:, 0] = π``).
    embedding : ``Ψ_τ`` of eq (2.14), ``(M, k)``: column ``l-1`` is ``λ_l^τ ψ_l`` for ``l = 1 … k``.
    stationary : ``π``; eps, alpha, tau, knn : the settings used.
    """

    eigenvalues: np.ndarray
    psi: np.ndarray
    phi: np.ndarray
    embedding: np.ndarray
    stationary: np.ndarray
    eps: float
    alpha: float
    tau: float
    knn: int | None

    @property
    def n_components(self) -> int:
        return self.embedding.shape[1]


BACKENDS = ("torch", "scipy")


def _eigh(S: np.ndarray, backend: str, vectors: bool):
    if backend == "torch":
        St = torch.from_numpy(S)
        if vectors:
            w, V = torch.linalg.eigh(St)
            return w.numpy(), V.numpy()
        return torch.linalg.eigvalsh(St).numpy(), None
    if backend == "scipy":
        if vectors:
            return scipy.linalg.eigh(S, driver="evd")
        return scipy.linalg.eigh(S, eigvals_only=True, driver="evd"), None
    raise ValueError(f"backend: expected one of {BACKENDS}, got {backend!r}")


def diffusion_spectrum(sq_dists, eps: float, *, alpha: float = 0.5, knn: int | None = None,
                       backend: str = "torch") -> np.ndarray:
    """All eigenvalues of ``P = D̃^{-1} K̃`` (eq 2.11), descending, without eigenvectors (fast path)."""
    K = gaussian_kernel(sq_dists, eps, knn=knn)
    S, _, _ = _symmetric_conjugate(K, alpha)
    w, _ = _eigh(S, backend, vectors=False)
    return w[::-1].copy()


def diffusion_map(
    sq_dists,
    eps: float,
    n_components: int | None = None,
    *,
    alpha: float = 0.5,
    tau: float = 1,
    knn: int | None = None,
    backend: str = "torch",
) -> DiffusionMap:
    """Diffusion map of section 2.2: kernel (2.10), normalisation, ``P`` (2.11), embedding ``Ψ_τ`` (2.14).

    Parameters
    ----------
    sq_dists : ``(M, M)`` squared distances (e.g. :func:`mahalanobis_sq`).
    eps : kernel scale ε of eq (2.10) (``exp(-d²/ε)``; pyDiffMap's ε is this / 4, datafold's this / 2).
    n_components : number ``k`` of non-trivial coordinates kept (default all ``M - 1``). All eigenvalues
        are always returned.
    alpha : ``K̃ = D^{-α} K D^{-α}``; the source uses ``α = 1/2``.
    tau : diffusion time τ in (2.14).
    knn : optional symmetrised k-NN sparsification of the kernel (see :func:`gaussian_kernel`).
    backend : ``"torch"`` (default) or ``"scipy"`` dense symmetric eigensolver.
    """
    K = gaussian_kernel(sq_dists, eps, knn=knn)
    M = K.shape[0]
    k = M - 1 if n_components is None else int(n_components)
    if not 0 <= k <= M - 1:
        raise ValueError(f"n_components: must lie in [0, {M - 1}], got {n_components!r}")
    S, dt, _ = _symmetric_conjugate(K, alpha)
    w, V = _eigh(S, backend, vectors=True)
    w, V = w[::-1].copy(), V[:, ::-1][:, : k + 1]
    V = fix_signs(np.ascontiguousarray(V))
    pi = dt / dt.sum()
    sp = np.sqrt(pi)
    psi = V / sp[:, None]
    phi = V * sp[:, None]
    lam = np.asarray(w[: k + 1])
    lk = lam[1 : k + 1]
    emb = psi[:, 1 : k + 1] * (np.sign(lk) * np.abs(lk) ** tau)[None, :]
    return DiffusionMap(
        eigenvalues=np.ascontiguousarray(w),
        psi=psi,
        phi=phi,
        embedding=emb,
        stationary=pi,
        eps=float(eps),
        alpha=float(alpha),
        tau=float(tau),
        knn=knn,
    )


def diffusion_distance(dmap: DiffusionMap, tau: float | None = None, n_components: int | None = None) -> np.ndarray:
    """Diffusion distance of eq (2.13), ``Σ_{l≥1} λ_l^{2τ} (ψ_l(x_i) − ψ_l(x_j))²``, for all pairs.

    As in the source the quantity is a sum of squares (the square of the usual diffusion distance). Uses
    the first ``n_components`` non-trivial eigenpairs (default: all that ``dmap`` holds); with all ``M - 1``
    it equals ``Σ_k (p_τ(x_i, x_k) − p_τ(x_j, x_k))² / φ_0(x_k)`` exactly.
    """
    t = dmap.tau if tau is None else float(tau)
    k = dmap.psi.shape[1] - 1 if n_components is None else int(n_components)
    if not 0 <= k <= dmap.psi.shape[1] - 1:
        raise ValueError(f"n_components: must lie in [0, {dmap.psi.shape[1] - 1}], got {n_components!r}")
    lam = dmap.eigenvalues[1 : k + 1]
    Y = dmap.psi[:, 1 : k + 1] * (np.abs(lam) ** t)[None, :]  # only (λ^τ)² = |λ|^{2τ} enters
    sq = np.einsum("ij,ij->i", Y, Y)
    out = sq[:, None] + sq[None, :] - 2.0 * Y @ Y.T
    np.maximum(out, 0.0, out=out)
    np.fill_diagonal(out, 0.0)
    return out


# ----------------------------------------------------------------------------------------------------
# Choosing ε, section 3.3: L(ε) (3.4), its slope (3.6)-(3.7), Berry-Harlim d ≈ 2 max a
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KernelSumScan:
    """Result of :func:`kernel_sum`.

    eps, L : the grid and ``L(ε) = Σ_ij K_ε[i, j]`` (eq 3.4).
    slope : exact ``d log L / d log ε = Σ K d²/ε / Σ K`` at each grid point.
    eps_mid, slope_fd : finite-difference slopes ``a_i`` of eq (3.7) at the geometric midpoints.
    i_max, eps_max, a_max : where the exact slope is largest on the grid, and its value.
    dimension : Berry-Harlim estimate ``d ≈ 2 max a`` (section 3.3), from the exact slope.
    linear_region : ``(ε_lo, ε_hi)``, the contiguous grid range around ``eps_max`` where
        ``slope ≥ level · a_max`` (our rule; the source shades the region by eye).
    level : the level used.
    """

    eps: np.ndarray
    L: np.ndarray
    slope: np.ndarray
    eps_mid: np.ndarray
    slope_fd: np.ndarray
    i_max: int
    eps_max: float
    a_max: float
    dimension: float
    linear_region: tuple[float, float]
    level: float

    def in_linear_region(self, eps: float) -> bool:
        return self.linear_region[0] <= eps <= self.linear_region[1]


def kernel_sum(sq_dists, eps_grid, *, level: float = 0.5) -> KernelSumScan:
    """``L(ε) = Σ_ij exp(-d_ij²/ε)`` (eq 3.4) on a grid, with exact and finite-difference log-log slopes.

    The exact slope ``d log L / d log ε = Σ_ij K_ij d_ij² / ε / Σ_ij K_ij`` (eq 3.6 says it is ≈ d/2 in the
    linear region); the finite differences are eq (3.7). Berry-Harlim: ``d ≈ 2 max a``.
    """
    D2 = _check_sq_dists(sq_dists)
    grid = np.asarray(eps_grid, dtype=np.float64).ravel()
    if grid.size < 2:
        raise ValueError("eps_grid: need at least 2 values")
    if not np.all(np.isfinite(grid)) or np.any(grid <= 0):
        raise ValueError("eps_grid: values must be finite and positive")
    if np.any(np.diff(grid) <= 0):
        raise ValueError("eps_grid: must be strictly increasing")
    if not 0 < level <= 1:
        raise ValueError(f"level: must lie in (0, 1], got {level!r}")
    d = D2[np.triu_indices(D2.shape[0], 1)]
    M = D2.shape[0]
    L = np.empty(grid.size)
    slope = np.empty(grid.size)
    for k, e in enumerate(grid):
        Kv = np.exp(-d / e)
        s0 = M + 2.0 * Kv.sum()
        L[k] = s0
        slope[k] = 2.0 * (Kv * d).sum() / e / s0
    lg, lL = np.log(grid), np.log(L)
    slope_fd = np.diff(lL) / np.diff(lg)
    eps_mid = np.exp(0.5 * (lg[1:] + lg[:-1]))
    i_max = int(np.argmax(slope))
    a_max = float(slope[i_max])
    lo = hi = i_max
    while lo > 0 and slope[lo - 1] >= level * a_max:
        lo -= 1
    while hi < grid.size - 1 and slope[hi + 1] >= level * a_max:
        hi += 1
    return KernelSumScan(
        eps=grid,
        L=L,
        slope=slope,
        eps_mid=eps_mid,
        slope_fd=slope_fd,
        i_max=i_max,
        eps_max=float(grid[i_max]),
        a_max=a_max,
        dimension=2.0 * a_max,
        linear_region=(float(grid[lo]), float(grid[hi])),
        level=float(level),
    )


def kernel_slope(sq_dists, eps: float) -> float:
    """Exact log-log slope ``d log L / d log ε = Σ K d²/ε / Σ K`` of ``L(ε)`` (eqs 3.4-3.6) at one ``ε``."""
    D2 = _check_sq_dists(sq_dists)
    e = _check_eps(eps)
    K = np.exp(-D2 / e)
    return float((K * D2).sum() / e / K.sum())


# ----------------------------------------------------------------------------------------------------
# Spectrum summaries, section 3.2: s(α) (3.1), energy ratio (3.3), d, AUC ratio
# ----------------------------------------------------------------------------------------------------


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
    """
    lam = _spectrum(eigs, include_trivial, tol)
    c = np.cumsum(lam * lam)
    if lam.size == 0 or c[-1] <= 0:
        return np.zeros(lam.size)
    return np.sqrt(c / c[-1])


def intrinsic_dimension(eigs, beta: float = 0.99, *, include_trivial: bool = False, tol: float = ZERO_TOL) -> int:
    """Dimension ``d`` of section 3.2: the smallest ``i`` with ``Λ_i > β`` (eq 3.3), ``β = 0.99`` by default.

    Returns 0 when all counted eigenvalues vanish (the source's ``d = 0`` of Table 5).
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
    """``s(α) = max{l : |λ_l| > α |λ_1|}`` of eq (3.1) (Coifman-Lafon); 0 if none or ``λ_1 = 0``."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha: must lie in (0, 1), got {alpha!r}")
    lam = _spectrum(eigs, include_trivial)
    if lam.size == 0 or lam[0] == 0:
        return 0
    hits = np.nonzero(np.abs(lam) > alpha * abs(lam[0]))[0]
    return int(hits[-1]) + 1 if hits.size else 0
