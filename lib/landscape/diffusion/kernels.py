"""The Gaussian kernel of eq (2.10), its k-NN sparsification and the α-normalisation of section 2.2."""

from __future__ import annotations

import numpy as np

from landscape.diffusion.inputs import _check_eps, _check_sq_dists


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

    Parameters
    ----------
    sq_dists : array_like, shape (M, M)
        Symmetric squared distances ``d_ij²`` with a zero diagonal.
    eps : float
        Kernel scale ``ε > 0``.
    knn : int, optional
        Nearest points kept per row (default: the dense kernel).

    Returns
    -------
    numpy.ndarray, shape (M, M)
        The symmetric kernel matrix.

    Examples
    --------
    >>> import numpy as np
    >>> from landscape import diffusion
    >>> K = diffusion.gaussian_kernel(np.array([[0.0, 2.0], [2.0, 0.0]]), eps=2.0)
    >>> bool(np.allclose(K, [[1.0, np.exp(-1.0)], [np.exp(-1.0), 1.0]]))
    True
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
