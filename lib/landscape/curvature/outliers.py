r"""Outlier eigenvalues of the Hessian and of the gradient covariance (Ghorbani, Krishnan & Xiao 2019;
source 003, Sec. 5.5).

* :func:`outlier_ratio` -- :math:`\zeta = \lambda_1/\lambda_k` (Sec. 5.5.3, scale invariant under batch norm).
* :func:`l1_energy_fraction`, :func:`l1_energy_radius` -- the share of the L1 energy
  :math:`\sum_i|\lambda_i|` held by eigenvalues in a ball around 0 (Sec. 5.5.4).
* :func:`gd_quadratic` -- gradient descent on the quadratic model eq (7) with a given spectrum, in closed form
  (eq (8): coordinate :math:`i` shrinks by :math:`|1-\eta\lambda_i|` per step); :func:`gd_steps_to` -- the
  first step at which that loss falls to a given fraction (bisection on the closed form, no curve).
* :func:`gradient_covariance` -- :math:`\Sigma = \frac1N\sum_i \nabla L_i \nabla L_i^\top` (Sec. 5.5.4) and its
  spectrum from a thin SVD of the stacked gradients (never forming the m x m matrix);
  :func:`batch_gradients` stacks minibatch gradients (for batch-normalised nets, whose per-sample gradients
  are not defined).
* :func:`subspace_energy` -- the fraction of the energy of vectors (Hessian outlier eigenvectors, gradients)
  inside a subspace (the source: 99% of the Hessian-outlier energy lies in :math:`\Sigma`'s outlier subspace).
* :func:`exact_eigenvalues` -- every eigenvalue of a model's Hessian (dense, float64), cached under
  ``data/cache/outliers`` with a content key; :func:`mlp_bn` -- an MLP with batch normalisation.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from landscape.infra.validation import check_finite, check_scalar
from landscape.nets import models

__all__ = [
    "outlier_ratio",
    "l1_energy_fraction",
    "l1_energy_radius",
    "gd_quadratic",
    "gd_steps_to",
    "GradientCovariance",
    "gradient_covariance",
    "batch_gradients",
    "subspace_energy",
    "exact_eigenvalues",
    "mlp_bn",
    "Snapshot",
    "snapshot",
]


def _eigs(eigenvalues, name: str = "eigenvalues") -> np.ndarray:
    """A non-empty finite 1-D float64 array, else a ValueError naming ``name``."""
    a = check_finite(np.asarray(eigenvalues, dtype=np.float64).reshape(-1), name)
    if a.size == 0:
        raise ValueError(f"{name} must not be empty")
    return a


def outlier_ratio(eigenvalues, k: int = 10) -> float:
    r"""Outlier ratio :math:`\zeta = \lambda_1/\lambda_k` of the algebraically largest eigenvalues (Sec. 5.5.3).

    Parameters
    ----------
    eigenvalues : array_like
        Eigenvalues (any order).
    k : int
        In [1, len(eigenvalues)]; the k-th largest must be positive.

    Returns
    -------
    float
        zeta.

    >>> outlier_ratio([1.0, 8.0, 2.0, 4.0], k=3)
    4.0
    """
    lam = np.sort(_eigs(eigenvalues))[::-1]
    check_scalar(k, "k", int, min_val=1, max_val=len(lam))
    if lam[k - 1] <= 0:
        raise ValueError(f"k: the {k}-th largest eigenvalue is not positive ({lam[k - 1]:.3g})")
    return float(lam[0] / lam[k - 1])


def l1_energy_fraction(eigenvalues, radius: float) -> float:
    r"""Share of the L1 energy :math:`\sum_i |\lambda_i|` held by eigenvalues with :math:`|\lambda_i| \le r`.

    Parameters
    ----------
    eigenvalues : array_like
        Spectrum whose L1 energy is split.
    radius : float
        r >= 0.

    Returns
    -------
    float
        In [0, 1].

    >>> l1_energy_fraction([-1.0, 1.0, 2.0, 4.0], radius=1.0)
    0.25
    """
    lam = np.abs(_eigs(eigenvalues))
    check_finite(check_scalar(radius, "radius", float, min_val=0), "radius")
    return float(lam[lam <= radius].sum() / lam.sum())


def l1_energy_radius(eigenvalues, fraction: float = 0.5) -> float:
    r"""The smallest radius :math:`r` with :func:`l1_energy_fraction` :math:`\ge` ``fraction``.

    Parameters
    ----------
    eigenvalues : array_like
        Spectrum whose L1 energy is accumulated.
    fraction : float
        Target share of the L1 energy.

    Returns
    -------
    float
        The radius r.

    >>> l1_energy_radius([1.0, 1.0, 2.0], fraction=0.5)
    1.0
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must lie in (0, 1], got {fraction!r}")
    lam = np.sort(np.abs(_eigs(eigenvalues)))
    cum = np.cumsum(lam) / lam.sum()
    return float(lam[int(np.searchsorted(cum, fraction - 1e-15))])


def _gd_step_and_start(lam: np.ndarray, lr, x0) -> tuple[float, np.ndarray]:
    """The step (default 1/lambda_1, checked to converge) and the start (default all ones) of eq (8)."""
    lr = 1.0 / lam.max() if lr is None else float(lr)
    if not 0 < lr < 2.0 / lam.max():
        raise ValueError(f"lr must lie in (0, 2/lambda_1) for convergence, got {lr!r}")
    x0 = np.ones_like(lam) if x0 is None else np.asarray(x0, dtype=np.float64).reshape(-1)
    if x0.shape != lam.shape:
        raise ValueError("x0 must have one entry per eigenvalue")
    return lr, x0


def gd_quadratic(eigenvalues, steps: int, *, lr: float | None = None, x0=None) -> np.ndarray:
    r"""Loss of gradient descent on :math:`L(\theta) = \frac12\sum_i \lambda_i (\theta-\theta^*)_i^2` (eq (7)).

    Each coordinate shrinks by the factor :math:`|1-\eta\lambda_i|` per step (eq (8), where the source's
    :math:`1 - 2\lambda_i/\lambda_1` is the factor at :math:`\eta = 2/\lambda_1`), so the loss after :math:`t`
    steps is :math:`\frac12\sum_i\lambda_i(1-\eta\lambda_i)^{2t}x_{0,i}^2` exactly. Default ``lr`` is
    :math:`1/\lambda_1`, default ``x0`` all ones. Eigenvalues must be positive. Returns the loss at
    ``t = 0..steps``.

    Parameters
    ----------
    eigenvalues : array_like
        Positive curvatures of the quadratic.
    steps : int
        Steps, >= 0.
    lr : float or None
        Step size in (0, 2 / lambda_max) (None: 1 / lambda_max).
    x0 : array_like or None
        Start offset from the minimum (None: all ones).

    Returns
    -------
    numpy.ndarray
        The loss after 0 .. steps steps.

    >>> gd_quadratic([2.0, 1.0], 2).tolist()
    [1.5, 0.125, 0.03125]
    """
    lam = _eigs(eigenvalues)
    if np.any(lam <= 0):
        raise ValueError("eigenvalues must be positive (a convex quadratic)")
    check_scalar(steps, "steps", int, min_val=0)
    lr, x0 = _gd_step_and_start(lam, lr, x0)
    log_factor = 2.0 * np.log(np.abs(1.0 - lr * lam) + 1e-300)
    t = np.arange(steps + 1)[:, None]
    return 0.5 * (np.exp(t * log_factor) * (lam * x0 ** 2)).sum(axis=1)


def _quadratic_loss(lam: np.ndarray, weights: np.ndarray, log_factor: np.ndarray, t: int) -> float:
    return float(0.5 * np.sum(np.exp(t * log_factor) * weights))


def gd_steps_to(eigenvalues, fraction: float = 0.01, *, lr: float | None = None, x0=None,
                max_steps: int = 10**12) -> int | None:
    r"""The first step :math:`t` at which gradient descent on the quadratic eq (7) has loss
    :math:`\le` ``fraction`` :math:`\cdot L(0)`, from the closed form of :func:`gd_quadratic` (eq (8)).

    Every term :math:`\lambda_i(1-\eta\lambda_i)^{2t}x_{0,i}^2` is non-increasing in :math:`t` for
    :math:`0 < \eta < 2/\lambda_1`, so the loss is, and the step is found by doubling and bisection: about
    :math:`2\log_2 t` evaluations instead of a curve of :math:`t` rows.

    Parameters
    ----------
    eigenvalues : array_like
        Positive curvatures of the quadratic.
    fraction : float
        Target share of the initial loss, in (0, 1].
    lr, x0
        As :func:`gd_quadratic`.
    max_steps : int
        Search limit, >= 1.

    Returns
    -------
    int or None
        The step, or None when the loss is still above the target after ``max_steps`` steps.

    >>> gd_steps_to([2.0, 1.0], 0.05)  # losses 1.5, 0.125, 0.03125 (gd_quadratic's example)
    2
    """
    lam = _eigs(eigenvalues)
    if np.any(lam <= 0):
        raise ValueError("eigenvalues must be positive (a convex quadratic)")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must lie in (0, 1], got {fraction!r}")
    check_scalar(max_steps, "max_steps", int, min_val=1)
    lr, x0 = _gd_step_and_start(lam, lr, x0)
    w = lam * x0 ** 2
    log_factor = 2.0 * np.log(np.abs(1.0 - lr * lam) + 1e-300)
    target = fraction * _quadratic_loss(lam, w, log_factor, 0)
    if _quadratic_loss(lam, w, log_factor, 0) <= target:
        return 0
    hi = 1
    while _quadratic_loss(lam, w, log_factor, hi) > target:
        if hi >= max_steps:
            return None
        hi = min(2 * hi, max_steps)
    lo = hi // 2  # loss(lo) > target (lo = 0 or a failed doubling), loss(hi) <= target
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if _quadratic_loss(lam, w, log_factor, mid) <= target else (mid, hi)
    return hi


@dataclass(frozen=True)
class GradientCovariance:
    r"""Spectrum of :math:`\Sigma = G^\top G / N` for stacked gradients ``G`` (N, m): ``eigenvalues``
    (descending, the non-zero part, at most N), ``eigenvectors`` (m, r) as columns, ``mean_gradient`` (m,).

    Parameters
    ----------
    eigenvalues : numpy.ndarray, shape (r,)
        Eigenvalues of :math:`\Sigma`, descending (``r <= N``).
    eigenvectors : numpy.ndarray, shape (m, r)
        The matching eigenvectors as columns.
    mean_gradient : numpy.ndarray, shape (m,)
        :math:`\bar g`, the mean of the rows of ``G``.
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    mean_gradient: np.ndarray

    @property
    def trace(self) -> float:
        r""":math:`\operatorname{Tr}\Sigma`, the sum of the eigenvalues."""
        return float(self.eigenvalues.sum())


def gradient_covariance(grads) -> GradientCovariance:
    r"""The (uncentred) gradient covariance :math:`\Sigma = \frac1N\sum_i g_i g_i^\top` (Sec. 5.5.4).

    From the thin SVD :math:`G/\sqrt N = U S V^\top`: eigenvalues :math:`S^2`, eigenvectors :math:`V`.

    Parameters
    ----------
    grads : array_like or torch.Tensor
        (N, m) gradients, one per row.

    Returns
    -------
    GradientCovariance
        Eigenvalues, eigenvectors and the mean gradient.

    >>> gc = gradient_covariance(np.array([[2.0, 0.0], [0.0, 1.0]]))
    >>> np.round(gc.eigenvalues, 12).tolist()
    [2.0, 0.5]
    """
    G = grads.detach().cpu().double().numpy() if isinstance(grads, torch.Tensor) else np.asarray(grads, float)
    if G.ndim != 2 or G.shape[0] == 0 or not np.all(np.isfinite(G)):
        raise ValueError(f"grads must be a finite (N, m) array, got shape {G.shape}")
    _, s, Vt = np.linalg.svd(G / np.sqrt(G.shape[0]), full_matrices=False)
    return GradientCovariance(s ** 2, Vt.T, G.mean(axis=0))


def batch_gradients(model: nn.Module, loss_fn, X, y, batch_size: int, *, seed: int = 0) -> torch.Tensor:
    """Gradients of the loss on the disjoint minibatches of one shuffled epoch (drawn with ``seed``), (B, m).

    Parameters
    ----------
    model : torch.nn.Module
        Network whose minibatch gradients are taken.
    loss_fn : callable
        Minibatch loss.
    X, y : torch.Tensor
        Data.
    batch_size : int
        In [1, len(X)].
    seed : int
        Seed of the shuffle.

    Returns
    -------
    torch.Tensor
        (B, m).
    """
    check_scalar(batch_size, "batch_size", int, min_val=1, max_val=len(X))
    perm = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))
    rows = []
    for i in range(0, len(X) - batch_size + 1, batch_size):
        idx = perm[i:i + batch_size]
        model.zero_grad(set_to_none=True)
        loss_fn(model(X[idx]), y[idx]).backward()
        rows.append(torch.cat([p.grad.reshape(-1) for p in model.parameters()]).detach().clone())
    model.zero_grad(set_to_none=True)
    return torch.stack(rows)


def subspace_energy(vectors, basis) -> float:
    r"""Fraction of the energy of ``vectors`` (columns, or one vector) inside the span of the orthonormal
    columns of ``basis``: :math:`\|B^\top V\|_F^2 / \|V\|_F^2`.

    Parameters
    ----------
    vectors : array_like
        (m,) or (m, n) columns.
    basis : array_like
        (m, k) orthonormal columns.

    Returns
    -------
    float
        Share of the energy of ``vectors`` in the span, in [0, 1].

    >>> subspace_energy(np.array([3.0, 4.0]), np.array([[1.0], [0.0]]))
    0.36
    """
    V = np.asarray(vectors, dtype=np.float64)
    V = V[:, None] if V.ndim == 1 else V
    B = np.asarray(basis, dtype=np.float64)
    B = B[:, None] if B.ndim == 1 else B
    if V.shape[0] != B.shape[0]:
        raise ValueError(f"vectors and basis need the same length, got {V.shape[0]} and {B.shape[0]}")
    return float(np.sum((B.T @ V) ** 2) / np.sum(V ** 2))


def exact_eigenvalues(model: nn.Module, loss: str, X, y, *, cache: bool = True, chunk: int = 256) -> np.ndarray:
    """All eigenvalues (ascending) of the full-data loss Hessian in float64, from the dense matrix built with
    Hessian-vector products (:func:`landscape.curvature.hessian.hessian_operator`) and ``numpy.linalg.eigvalsh``.

    Cached in ``data/cache/outliers/<key>.npy``; the key hashes the parameters, the data and the loss name.

    Parameters
    ----------
    model : torch.nn.Module
        Network whose dense Hessian is built.
    loss : str
        Loss name of :func:`landscape.nets.models.loss_function`.
    X, y : torch.Tensor
        Full data.
    cache : bool
        Store/load the eigenvalues under ``data/cache/outliers``.
    chunk : int
        Hessian rows built per batch of vector products.

    Returns
    -------
    numpy.ndarray
        Ascending eigenvalues.
    """
    from landscape.curvature import hessian
    from landscape.infra.paths import cache_dir

    h = hashlib.sha256(loss.encode())
    for a in (models.flatten(model), torch.as_tensor(X), torch.as_tensor(y)):
        h.update(a.detach().cpu().double().numpy().tobytes())
    h.update(repr(model).encode())
    path = Path(cache_dir()) / "outliers" / f"{h.hexdigest()[:20]}.npy"
    if cache and path.exists():
        return np.load(path, allow_pickle=False)
    op = hessian.hessian_operator(model, models.loss_function(loss), (X, y), dtype=torch.float64)
    H = op.to_dense(chunk=chunk)
    lam = np.linalg.eigvalsh(0.5 * (H + H.T))
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{np.random.default_rng().integers(1 << 30)}.tmp.npy")
        np.save(tmp, lam)
        tmp.replace(path)
    return lam


def mlp_bn(sizes, activation: str = "relu", seed: int = 0, *, dtype=torch.float32) -> nn.Sequential:
    """:func:`landscape.nets.models.mlp` with ``batch_norm=True``: ``BatchNorm1d`` after every hidden Linear layer
    (before the activation), always on the statistics of the batch it sees (``track_running_stats=False``), in
    train and eval mode alike, so the Hessian of the full-batch loss is that of the normalised network.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first.
    activation : str
        Hidden activation (a key of :data:`landscape.nets.models.ACTIVATIONS`).
    seed : int
        Seed of the Glorot-uniform weight draw (the same weights as ``models.mlp(sizes, seed=seed)``).
    dtype : torch.dtype
        Parameter precision of the normalised MLP.

    Returns
    -------
    torch.nn.Sequential
        The MLP with batch norm.
    """
    return models.mlp(sizes, activation, seed=seed, dtype=dtype, batch_norm=True)


@dataclass(frozen=True)
class Snapshot:
    r"""Spectral summary of one network state (Sec. 5.5): top-``k`` Hessian eigenvalues (descending), ``zeta``,
    the gradient covariance's top-``k`` share of its trace, the share of the Hessian-outlier energy inside
    Sigma's top-``k`` subspace (``overlap``), the share of the full gradient's energy in the Hessian's top-``k``
    subspace (``grad_in_outliers``), and the SLQ ``density`` (or None).

    Parameters
    ----------
    loss : float
        The loss of the state on the data.
    top : numpy.ndarray, shape (k,)
        The ``k`` largest Hessian eigenvalues, descending.
    zeta : float
        Outlier ratio :math:`\lambda_1/\lambda_k` (Sec. 5.5.3, :func:`outlier_ratio`).
    sigma_top_share : float
        Share of the gradient covariance's trace in its top ``k`` eigenvalues.
    overlap : float
        Share of the Hessian-outlier energy inside the gradient covariance's top-``k`` subspace.
    grad_in_outliers : float
        Share of the full gradient's squared norm in the Hessian's top-``k`` subspace.
    density : landscape.hessian.SLQDensity or None
        The SLQ spectral density, when asked for.
    sigma_top_share_batch : float
        The top-``k`` share of the trace of Sigma from the minibatch gradients of one epoch (``share_batch``): the
        same row kind and count for every net, so nets with and without batch norm compare like with like (nan
        when not asked for).
    lambda_min : float
        The smallest Ritz value of the SLQ runs (Lanczos finds the extreme eigenvalues first; by interlacing it is
        at least :math:`\lambda_{\min}`), nan without a density.
    """

    loss: float
    top: np.ndarray
    zeta: float
    sigma_top_share: float
    overlap: float
    grad_in_outliers: float
    density: object
    sigma_top_share_batch: float = float("nan")
    lambda_min: float = float("nan")


def snapshot(model: nn.Module, loss: str, X, y, *, k: int = 10, sigma_batch: int | None = None, seed: int = 0,
             slq: tuple[int, int] | None = None, slq_grid=None, slq_sigma: float | None = None,
             share_batch: int | None = None) -> Snapshot:
    """:class:`Snapshot` of ``model`` on ``(X, y)`` (float64 operators).

    Sigma comes from per-sample gradients (``sigma_batch=None``, the source's definition) or from the
    minibatch gradients of one epoch (``sigma_batch``: for batch-normalised nets). ``slq=(probes, steps)``
    adds an SLQ density on ``slq_grid`` with kernel width ``slq_sigma``.

    Parameters
    ----------
    model : torch.nn.Module
        Network at the state measured.
    loss : str
        Loss name of :func:`landscape.nets.models.loss_function`.
    X, y : torch.Tensor
        Full data (float64 operators).
    k : int
        Outliers: top-k eigenpairs and Sigma's top-k subspace.
    sigma_batch : int or None
        None: per-sample gradients; else minibatch gradients of this size.
    seed : int
        Seed of the Lanczos start, minibatches and SLQ probes.
    slq : (int, int) or None
        (probes, steps) of an SLQ density, or None.
    slq_grid, slq_sigma
        Grid and kernel width of the density.
    share_batch : int or None
        Also the top-``k`` share of Sigma from the minibatch gradients of this size (one epoch, ``seed``), for every
        kind of net alike (``sigma_top_share_batch``); None: not computed.

    Returns
    -------
    Snapshot
        The spectral summary.
    """
    from landscape.curvature import covariance, hessian

    loss_fn = models.loss_function(loss)
    op = hessian.hessian_operator(model, loss_fn, (X, y), dtype=torch.float64)
    ep = hessian.eigenpairs(op, k=k, which="largest", seed=seed, tol=1e-6)
    Xd, theta = torch.as_tensor(X).double(), models.flatten(model).double()
    work = models.assign(copy.deepcopy(model).double(), theta)
    if sigma_batch is None:
        G = covariance.per_sample_grads(work, loss, Xd, y)
    else:
        G = batch_gradients(work, loss_fn, Xd, y, sigma_batch, seed=seed)
    gc = gradient_covariance(G)
    share_b = float("nan")
    if share_batch is not None:
        gb = gc if share_batch == sigma_batch else gradient_covariance(
            batch_gradients(work, loss_fn, Xd, y, share_batch, seed=seed))
        share_b = float(gb.eigenvalues[:k].sum() / gb.trace)
    work.zero_grad(set_to_none=True)
    full = loss_fn(work(Xd), y)
    full.backward()
    g = torch.cat([p.grad.reshape(-1) for p in work.parameters()]).numpy()
    density, lam_min = None, float("nan")
    if slq is not None:
        density = hessian.slq_density(op, slq[0], slq[1], grid=slq_grid, sigma=slq_sigma, seed=seed)
        lam_min = float(min([float(np.min(n)) for n in density.nodes] + [float(d) for d in density.deflated]))
    overlap = subspace_energy(ep.eigenvectors, gc.eigenvectors[:, :k])
    return Snapshot(float(full.detach()), ep.eigenvalues, outlier_ratio(ep.eigenvalues, k),
                    float(gc.eigenvalues[:k].sum() / gc.trace), overlap, subspace_energy(g, ep.eigenvectors), density,
                    share_b, lam_min)
