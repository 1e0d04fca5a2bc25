"""Pairwise squared distances between trajectory points: the modified Mahalanobis distance of eq (2.5)
and the Euclidean one (eq 2.2 with identity covariance).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from landscape.diffusion.inputs import _check_points
from landscape.infra.linalg import limit_threads

#: Default relative tolerance of the Moore-Penrose pseudo-inverse in eq (2.5): an eigenvalue of ``C`` is
#: kept when it exceeds ``rcond`` times the largest eigenvalue of ``C``. 1e-15 is the long-standing
#: default of ``numpy.linalg.pinv(C)``, i.e. what a direct implementation of (2.5) on the ``m × m`` matrix
#: would use; on the factor ``F`` (``C = FᵀF``) it keeps singular values ``s > sqrt(rcond) · s_max``.
DEFAULT_RCOND = 1e-15


def inverse_root(factor, rcond: float = DEFAULT_RCOND) -> np.ndarray:
    """``W`` (``r × m``) with ``Wᵀ W = C⁺`` for ``C = Fᵀ F``, from the thin SVD of ``F`` (eq 2.5's ``C⁺``).

    ``F = U diag(s) Vᵀ`` gives ``C⁺ = V diag(s⁻²) Vᵀ`` over the kept singular values, so
    ``W = diag(s⁻¹) Vᵀ``. Kept: ``s_k² > rcond · s_max²`` (``rcond`` relative to the largest eigenvalue of
    ``C``, as ``numpy.linalg.pinv(C, rcond)``). A zero factor gives an empty ``(0, m)`` ``W`` (``C⁺ = 0``).

    Parameters
    ----------
    factor : array_like, shape (k, m)
        The covariance factor ``F`` of one point (``C = FᵀF``, e.g.
        :func:`landscape.curvature.covariance.sgd_noise_factor`); finite, converted to float64.
    rcond : float, default DEFAULT_RCOND
        Pseudo-inverse tolerance relative to the largest eigenvalue of ``C`` (:data:`DEFAULT_RCOND`, 1e-15).

    Returns
    -------
    numpy.ndarray, shape (r, m)
        ``W = diag(s⁻¹) Vᵀ`` over the ``r`` kept singular values (``r = 0`` for a zero factor), float64.

    Examples
    --------
    >>> import numpy as np
    >>> from landscape import diffusion
    >>> W = diffusion.inverse_root(np.diag([2.0, 1.0]))  # C = F^T F = diag(4, 1)
    >>> W.T @ W
    array([[0.25, 0.  ],
           [0.  , 1.  ]])
    """
    F = np.asarray(factor, dtype=np.float64)
    if F.ndim != 2:
        raise ValueError(f"factors: each factor must be 2-D (k, m), got shape {F.shape}")
    if not np.all(np.isfinite(F)):
        raise ValueError("factors: a factor contains NaN or inf")
    return _inverse_root_t(torch.from_numpy(F), rcond).numpy()


def right_svd(F: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Singular values ``s`` (descending) and right singular vectors ``Vt`` of ``F`` (``k × m``), thin.

    A wide factor (``2k ≤ m``: per-sample gradients, ``N`` rows and ``m`` parameters) goes through a
    Householder QR first, ``Fᵀ = QR``, then the SVD of the small ``k × k`` ``Rᵀ = U diag(s) Wᵀ``, so that
    ``Vt = Wᵀ Qᵀ``: backward stable like the direct SVD, ~1.5× faster on the book's 120 × 515 factors, and
    equal to it to rounding (distances agree to ~1e-10 relative at the 1e-15 cutoff, far closer at larger
    cutoffs; tests). ``U`` is never needed by eq (2.5) and is not returned.

    Parameters
    ----------
    F : torch.Tensor, shape (k, m)
        The covariance factor of one point (float64 in the library's use), on any device.

    Returns
    -------
    s : torch.Tensor, shape (min(k, m),)
        The singular values of ``F``, descending.
    Vt : torch.Tensor, shape (min(k, m), m)
        The right singular vectors as rows (``F = U diag(s) Vt``), on ``F``'s device.
    """
    k, m = F.shape
    if 0 < k and 2 * k <= m:
        Q, R = torch.linalg.qr(F.T)
        _, s, Wt = torch.linalg.svd(R.T, full_matrices=False)
        return s, Wt @ Q.T
    _, s, Vt = torch.linalg.svd(F, full_matrices=False)
    return s, Vt


def check_device(device) -> torch.device:
    """``device`` as a :class:`torch.device` of type cpu or cuda, or ``ValueError`` naming the parameter (also when
    CUDA is asked for on a machine without it).

    Parameters
    ----------
    device : str or torch.device
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (anything :class:`torch.device` accepts whose type is cpu or cuda).

    Returns
    -------
    torch.device
        The device, of type cpu or cuda (cuda only when ``torch.cuda.is_available()``).
    """
    try:
        out = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device: expected 'cpu', 'cuda' or 'cuda:N', got {device!r}") from None
    if out.type not in ("cpu", "cuda"):
        raise ValueError(f"device: expected 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    if out.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: {device!r} requested but CUDA is not available")
    return out


def _inverse_root_t(F: torch.Tensor, rcond: float) -> torch.Tensor:
    s, Vt = right_svd(F)
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
    device="cpu",
) -> np.ndarray:
    """Squared modified Mahalanobis distances of eq (2.5) between all pairs of points, ``(M, M)``.

    ``‖x_i − x_j‖²_MD = ½ (x_i − x_j)ᵀ (C_i⁺ + C_j⁺) (x_i − x_j)`` with ``C_i = F_iᵀ F_i``.

    Computed by :func:`mahalanobis_pass` (the one implementation of eq (2.5); this is its single-cutoff form)
    without any ``m × m`` matrix: for each point ``i`` the thin SVD of ``F_i`` gives ``W_i`` with
    ``W_iᵀ W_i = C_i⁺`` (:func:`inverse_root`), then ``Q[i, j] = ‖W_i (x_j − x_i)‖²`` for all ``j`` from one
    matrix product, and the result is ``½ (Q + Qᵀ)``. Points are streamed one at a time, so memory is
    ``O(M² + M m + k m)``. In float64 the product is ``W_i x̃_j − W_i x̃_i`` with ``x̃`` the points centred
    at their mean (the rounding error this adds is ~1e-16 · spread / distance, relative); with
    ``dtype=np.float32`` the differences are formed in float64 and only the product runs in float32.

    Parameters
    ----------
    points : array_like, shape (M, m)
        The trajectory ``x_1 … x_M``.
    factors : sequence of arrays or callable
        ``M`` factors ``F_i`` (``k_i × m``, e.g. :func:`landscape.curvature.covariance.sgd_noise_factor`), or a callable
        ``i -> F_i`` (array or tensor) evaluated lazily once per point.
    rcond : float
        Pseudo-inverse tolerance relative to the largest eigenvalue of each ``C_i`` (see :data:`DEFAULT_RCOND`).
    threads : int or None
        torch / BLAS threads during the loop (``None`` leaves the setting alone). Many small SVDs run faster on
        one thread than on two on the project's machines.
    dtype : {numpy.float64, numpy.float32}
        Precision of the per-point product. float32 is ~2× faster per product but, on a trained iris trajectory,
        off by up to 2.7e-6 relative at the 1e-15 cutoff (3.6e-7 at 6e-5; ``tests/diffusion/test_diffusion.py``): above
        the 1e-6 the book accepts at the literal cutoff, so the book uses float64.
    progress : bool
        Show a tqdm bar.
    device : str or torch.device
        Where the SVDs and products run (``"cuda"``: on the GPU, same float64 arithmetic, other rounding).

    Returns
    -------
    numpy.ndarray, shape (M, M)
        Symmetric squared distances with a zero diagonal.

    Examples
    --------
    >>> import numpy as np
    >>> from landscape import diffusion
    >>> X = np.array([[0.0, 0.0], [3.0, 4.0]])
    >>> diffusion.mahalanobis_sq(X, [np.eye(2), np.eye(2)])  # C_i = I: the squared Euclidean distance
    array([[ 0., 25.],
           [25.,  0.]])
    >>> diffusion.mahalanobis_sq(X, [np.diag([1.0, 2.0]), np.eye(2)])  # (9 + 16/4 + 9 + 16) / 2
    array([[ 0., 19.],
           [19.,  0.]])
    """
    X = _check_points(points)
    M, m = X.shape
    if callable(factors):
        get = factors
    else:
        if len(factors) != M:
            raise ValueError(f"factors: expected {M} factors (one per point), got {len(factors)}")
        get = factors.__getitem__
    dev = check_device(device)

    def factor_sets(i):
        F = get(i)
        F = F.detach().to(dev, torch.float64) if isinstance(F, torch.Tensor) else torch.from_numpy(
            np.asarray(F, dtype=np.float64)).to(dev)
        if F.ndim != 2 or F.shape[1] != m:
            raise ValueError(f"factors: factor {i} has shape {tuple(F.shape)}, expected (k, {m})")
        if not torch.isfinite(F).all():
            raise ValueError(f"factors: factor {i} contains NaN or inf")
        return {None: F}

    with limit_threads(threads):
        out = mahalanobis_pass(X, factor_sets, [rcond], kinds=(None,), dtype=dtype, progress=progress,
                               device=dev, desc="Mahalanobis")
    return out[None, float(rcond)]


def mahalanobis_pass(points, factor_sets: Callable, rconds, *, kinds=(None,), dtype=np.float64,
                     progress: bool = False, device="cpu", desc: str = "eq 2.5") -> dict:
    """Eq (2.5) for several covariance factors per point and several pseudo-inverse cutoffs in one pass.

    The one implementation of eq (2.5): :func:`mahalanobis_sq` (one factor, one cutoff) and
    :func:`landscape.diffusion.manifold.cutoff_distances` (a recorded trajectory, cached) call it.
    ``factor_sets(i)`` returns ``{kind: F_i}`` (torch float64 tensors on ``device``, ``k × m``, ``C_i = F_iᵀF_i``)
    for every ``kind`` of ``kinds``. Per point and kind one thin SVD (:func:`right_svd`); a cutoff ``rcond`` keeps the
    singular values with ``s² > rcond · s_max²``, a prefix of the descending ``s``, so every cutoff comes from one
    cumulative sum over the kept directions of one product ``Y_i = (X̃ − 1x̃_iᵀ) W_iᵀ`` (blocked into large GEMMs by
    :class:`Blocks`; ``dtype=np.float32`` forms the product in float32, unblocked).

    Parameters
    ----------
    points : array_like, shape (M, m)
        The points ``x_1 … x_M`` (centred at their mean inside, which leaves the differences unchanged).
    factor_sets : callable
        ``i -> {kind: F_i}``, evaluated once per point, in order.
    rconds : sequence of float
        Cutoffs in ``[0, 1)`` relative to the largest eigenvalue of each ``C_i``.
    kinds : tuple
        The keys ``factor_sets`` returns.
    dtype : {numpy.float64, numpy.float32}
        Precision of the product (see :func:`mahalanobis_sq`).
    progress : bool
        Show a tqdm bar.
    device : str or torch.device
        Where the products run.
    desc : str
        Label of the progress bar.

    Returns
    -------
    dict
        ``{(kind, rcond): (M, M) float64 numpy array}``, symmetric with a zero diagonal.
    """
    from tqdm.auto import tqdm

    X = _check_points(points)
    M = X.shape[0]
    rconds = tuple(float(r) for r in rconds)
    for rc in rconds:
        if not (np.isfinite(rc) and 0 <= rc < 1):
            raise ValueError(f"rcond: must lie in [0, 1), got {rc!r}")
    if dtype not in (np.float64, np.float32):
        raise ValueError(f"dtype: expected np.float64 or np.float32, got {dtype!r}")
    dev = check_device(device)
    Xt = torch.from_numpy(X - X.mean(axis=0)).to(dev)
    Q = {(k, rc): torch.zeros((M, M), dtype=torch.float64, device=dev) for k in kinds for rc in rconds}

    def emit(i, Y, payload):
        k, kept = payload
        C = torch.cumsum(Y.square_(), dim=1)  # Y is this call's own array: squaring in place saves an allocation
        for rc, kr in kept.items():
            Q[k, rc][i] = C[:, kr - 1]

    blocks = Blocks(Xt, emit)
    for i in tqdm(range(M), disable=not progress, desc=desc):
        sets = factor_sets(i)
        for k in kinds:
            s, Vt = right_svd(sets[k])
            if s.numel() == 0 or s[0] == 0:
                continue  # C = 0: C⁺ = 0, the row stays 0
            kept = {rc: int((s * s > rc * s[0] * s[0]).sum()) for rc in rconds}
            r = max(kept.values())
            W = Vt[:r] / s[:r, None]
            if dtype == np.float64:
                blocks.add(i, W, (k, kept))
            else:
                emit(i, ((Xt - Xt[i]).float() @ W.T.float()).double(), (k, kept))
    blocks.flush()
    out = {}
    for key, q in Q.items():
        d2 = 0.5 * (q + q.T)
        d2.fill_diagonal_(0.0)
        out[key] = d2.cpu().numpy()
    return out


#: Rows of ``W`` stacked into one matrix product in :func:`mahalanobis_sq` (float64 path): one GEMM of
#: ``M × m`` by ``m × ~2048`` instead of many thin ones runs closer to the machine's dgemm peak
#: (``benchmarks/bench_distances.py``). The grouping depends only on the ranks, never on threads or workers.
_BLOCK_ROWS = 2048


class Blocks:
    """The blocked all-pairs product of eq (2.5) inside :func:`mahalanobis_pass`.

    ``add(i, W_i, payload)`` queues point ``i``'s ``W_i`` (``r_i × m``); once :data:`_BLOCK_ROWS` rows are queued
    (and at ``flush()``) one product ``X̃ [W_a; W_b; …]ᵀ`` serves them all, and ``emit(i, Y_i, payload)`` receives
    ``Y_i = (X̃ − 1 x̃_iᵀ) W_iᵀ`` (``M × r_i``: row ``j`` is ``W_i (x_j − x_i)``) for each queued point in order;
    ``Y_i`` is a fresh array that ``emit`` may overwrite.
    ``X̃`` is the points centred at their mean (``M × m``, float64). The grouping depends only on the ranks
    ``r_i``, never on threads or workers, so results are reproducible bit for bit.

    Parameters
    ----------
    Xt : torch.Tensor, shape (M, m)
        The points ``X̃`` centred at their mean, float64, on the device the products run on.
    emit : callable
        ``emit(i, Y_i, payload)``, called once per queued point, in the order of :meth:`add`, with
        ``Y_i`` (``M × r_i`` tensor, row ``j`` is ``W_i (x_j − x_i)``) and the ``payload`` given to :meth:`add`.
    """

    def __init__(self, Xt: torch.Tensor, emit):
        self.Xt, self.emit, self.block, self.rows = Xt, emit, [], 0

    def add(self, i: int, W: torch.Tensor, payload=None) -> None:
        """Queue point ``i``'s ``W_i``; flush once :data:`_BLOCK_ROWS` rows are queued.

        Parameters
        ----------
        i : int
            Index of the point (row of ``Xt``) that ``W`` belongs to.
        W : torch.Tensor, shape (r_i, m)
            The inverse root ``W_i`` of :func:`inverse_root` (``W_iᵀ W_i = C_i⁺``), float64, on ``Xt``'s device.
        payload : object, optional
            Handed back unchanged to ``emit`` with this point's ``Y_i``.
        """
        self.block.append((i, W, payload))
        self.rows += W.shape[0]
        if self.rows >= _BLOCK_ROWS:
            self.flush()

    def flush(self) -> None:
        """Run the product for the queued points, call ``emit`` for each in order, and empty the queue."""
        if not self.block:
            return
        Y = self.Xt @ torch.cat([W for _, W, _ in self.block]).T
        start = 0
        for i, W, payload in self.block:
            Yi = Y[:, start:start + W.shape[0]]
            self.emit(i, Yi - Yi[i], payload)
            start += W.shape[0]
        self.block, self.rows = [], 0


def euclidean_sq(points) -> np.ndarray:
    """Squared Euclidean distances ``‖x_i − x_j‖²`` (the identity-covariance case of eq 2.2), ``(M, M)``.

    Computed from the points centred at their mean as ``‖x̃_i‖² + ‖x̃_j‖² − 2 x̃_iᵀx̃_j``, clipped at 0.

    Parameters
    ----------
    points : array_like, shape (M, m)
        The trajectory ``x_1 … x_M`` (finite).

    Returns
    -------
    numpy.ndarray, shape (M, M)
        Symmetric, non-negative squared distances with a zero diagonal, float64.

    Examples
    --------
    >>> import numpy as np
    >>> from landscape import diffusion
    >>> diffusion.euclidean_sq(np.array([[0.0, 0.0], [3.0, 4.0]]))
    array([[ 0., 25.],
           [25.,  0.]])
    """
    X = _check_points(points)
    Xc = X - X.mean(axis=0)
    sq = np.einsum("ij,ij->i", Xc, Xc)
    out = sq[:, None] + sq[None, :] - 2.0 * Xc @ Xc.T
    np.maximum(out, 0.0, out=out)
    np.fill_diagonal(out, 0.0)
    return out
