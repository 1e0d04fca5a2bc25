"""The diffusion map of section 2.2: Markov matrix ``P`` (eq 2.11), its eigenpairs, the embedding
``Ψ_τ`` (eq 2.14) and the diffusion distance (eq 2.13).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import torch

from landscape.diffusion.distances import euclidean_sq
from landscape.diffusion.kernels import _symmetric_conjugate, gaussian_kernel
from landscape.infra.linalg import fix_signs


@dataclass(frozen=True)
class DiffusionMap:
    """Result of :func:`diffusion_map`.

    Parameters
    ----------
    eigenvalues : numpy.ndarray
        All ``M`` eigenvalues of ``P`` (eq 2.11), descending; ``eigenvalues[0] = λ_0 = 1``.
    psi, phi : numpy.ndarray
        Right / left eigenvectors, columns ``0 … k`` (``psi[:, 0] ≡ 1``, ``phi[:, 0] = π``).
    embedding : numpy.ndarray
        ``Ψ_τ`` of eq (2.14), ``(M, k)``: column ``l-1`` is ``λ_l^τ ψ_l`` for ``l = 1 … k``.
    stationary : numpy.ndarray
        The stationary distribution ``π``.
    eps, alpha, tau, knn : float, float, float, int or None
        The settings used.
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
        """Non-trivial coordinates ``k`` of the embedding."""
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
    """All eigenvalues of ``P = D̃^{-1} K̃`` (eq 2.11), descending, without eigenvectors (fast path).

    Parameters
    ----------
    sq_dists : array_like, shape (M, M)
        Squared distances (e.g. :func:`mahalanobis_sq`).
    eps : float
        Kernel scale ε of eq (2.10), ``exp(-d²/ε)``.
    alpha : float, default 0.5
        ``K̃ = D^{-α} K D^{-α}``; the source uses ``α = 1/2``.
    knn : int, optional
        Symmetrised k-NN sparsification of the kernel (see :func:`gaussian_kernel`); default: dense.
    backend : {"torch", "scipy"}
        Dense symmetric eigensolver.

    Returns
    -------
    numpy.ndarray, shape (M,)
        The eigenvalues, descending (the first is 1).

    Examples
    --------
    >>> import numpy as np
    >>> from landscape import diffusion
    >>> lam = diffusion.diffusion_spectrum(np.array([[0.0, 1.0], [1.0, 0.0]]), 1.0)
    >>> bool(np.allclose(lam, [1.0, np.tanh(0.5)]))  # two points: P = [[1, e], [e, 1]] / (1 + e), e = exp(-1)
    True
    """
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
    sq_dists : array_like, shape (M, M)
        Squared distances (e.g. :func:`mahalanobis_sq`).
    eps : float
        Kernel scale ε of eq (2.10), ``exp(-d²/ε)`` (pyDiffMap's ε is this / 4, datafold's this / 2; checked
        in ``tests/cross_library``).
    n_components : int, optional
        Number ``k`` of non-trivial coordinates kept (default all ``M - 1``). All eigenvalues are always
        returned.
    alpha : float
        ``K̃ = D^{-α} K D^{-α}``; the source uses ``α = 1/2``.
    tau : float
        Diffusion time τ in (2.14).
    knn : int, optional
        Symmetrised k-NN sparsification of the kernel (see :func:`gaussian_kernel`).
    backend : {"torch", "scipy"}
        Dense symmetric eigensolver.

    Returns
    -------
    DiffusionMap
        Eigenvalues, eigenvectors, embedding and the settings used.

    Examples
    --------
    >>> import numpy as np
    >>> from landscape import diffusion
    >>> t = 2 * np.pi * np.arange(12) / 12  # 12 equally spaced points on the unit circle
    >>> D2 = diffusion.euclidean_sq(np.column_stack([np.cos(t), np.sin(t)]))
    >>> dmap = diffusion.diffusion_map(D2, eps=0.5, n_components=2)
    >>> k = np.exp(-D2[0] / 0.5)  # P is circulant: its eigenvalues are the DFT of one row of K / its sum
    >>> exact = np.sort(np.fft.fft(k).real / k.sum())[::-1]
    >>> bool(np.allclose(dmap.eigenvalues, exact)), bool(np.allclose(dmap.psi[:, 0], 1.0))
    (True, True)
    >>> bool(np.allclose(np.linalg.norm(dmap.embedding, axis=1), np.linalg.norm(dmap.embedding[0])))  # a circle
    True
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

    Parameters
    ----------
    dmap : DiffusionMap
        A result of :func:`diffusion_map`.
    tau : float, optional
        Diffusion time τ (default: ``dmap.tau``).
    n_components : int, optional
        Non-trivial eigenpairs used, at most those ``dmap`` holds (default: all of them).

    Returns
    -------
    numpy.ndarray, shape (M, M)
        The squared diffusion distances of all pairs.

    Examples
    --------
    >>> import numpy as np
    >>> from landscape import diffusion
    >>> D2 = diffusion.euclidean_sq(np.random.default_rng(0).normal(size=(6, 2)))
    >>> dmap = diffusion.diffusion_map(D2, eps=1.0, alpha=0.0)
    >>> P = np.exp(-D2); P /= P.sum(axis=1, keepdims=True)  # alpha = 0: P is the row-normalised kernel
    >>> direct = (((P[0] - P[3]) ** 2) / dmap.stationary).sum()  # eq (2.13), tau = 1, from the rows of P
    >>> bool(np.isclose(diffusion.diffusion_distance(dmap)[0, 3], direct))
    True
    """
    t = dmap.tau if tau is None else float(tau)
    k = dmap.psi.shape[1] - 1 if n_components is None else int(n_components)
    if not 0 <= k <= dmap.psi.shape[1] - 1:
        raise ValueError(f"n_components: must lie in [0, {dmap.psi.shape[1] - 1}], got {n_components!r}")
    lam = dmap.eigenvalues[1 : k + 1]
    Y = dmap.psi[:, 1 : k + 1] * (np.abs(lam) ** t)[None, :]  # only (λ^τ)² = |λ|^{2τ} enters
    return euclidean_sq(Y)
