r"""Alignment of the Hessian and the gradient-noise covariance (source 004, Sec. 2.1.2 and App. A.4).

:math:`CS(A, B) = \operatorname{Tr}(AB^\top)/\sqrt{\operatorname{Tr}(AA^\top)\operatorname{Tr}(BB^\top)}` (eq (35))
for :math:`A = H` (the loss Hessian, or its Gauss--Newton part) and :math:`B = C`, the per-sample gradient
covariance :math:`C = \frac1M\sum_k (g_k-\bar g)(g_k-\bar g)^\top` (eq (5) up to the factor :math:`\frac1S(1-\frac
SM)`, which :math:`CS` ignores). Dense for small networks; matrix-free with Hessian-vector products
(:func:`landscape.curvature.hessian.hessian_operator`) and per-sample gradients
(:func:`landscape.curvature.covariance.per_sample_grads`) for larger ones.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from landscape.curvature import hessian
from landscape.curvature.covariance import per_sample_grads, sgd_noise_factor
from landscape.infra.validation import check_finite, check_scalar

__all__ = ["smoothed_cross_entropy", "smoothed_ce_floor", "cosine_similarity",
           "Alignment", "matrix_free_alignment", "dense_alignment"]


def smoothed_cross_entropy(smoothing: float = 0.1):
    """Label-smoothed cross entropy on logits (Szegedy et al. 2016; torch's ``label_smoothing``), mean over
    samples; ``smoothing = 0`` is plain cross entropy. Source 004 uses it so that a true minimum exists.

    Parameters
    ----------
    smoothing : float
        Label smoothing in [0, 1).

    Returns
    -------
    callable
        ``loss(logits, targets)``, picklable (a :func:`functools.partial` of torch's cross entropy).
    """
    check_scalar(smoothing, "smoothing", float, min_val=0.0, max_val=1.0, include_boundaries="left")
    return functools.partial(nn.functional.cross_entropy, label_smoothing=float(smoothing))


def smoothed_ce_floor(smoothing: float, n_classes: int) -> float:
    r"""The lower bound of label-smoothed cross entropy: the entropy :math:`-\sum_k q_k\log q_k` of the smoothed
    target :math:`q = (1-\epsilon)\,e_y + \epsilon/K`, reached only by a net that gives every training sample
    exactly :math:`q` (interpolation); 0 for plain cross entropy. The floor :math:`L^*` of App. A.3.

    Parameters
    ----------
    smoothing : float
        :math:`\epsilon` in [0, 1).
    n_classes : int
        :math:`K`, at least 2.

    Returns
    -------
    float

    Examples
    --------
    >>> round(smoothed_ce_floor(0.1, 10), 6)  # 0.91 on the label, 0.01 elsewhere
    0.500288
    >>> smoothed_ce_floor(0.0, 10)
    0.0
    """
    check_scalar(smoothing, "smoothing", float, min_val=0.0, max_val=1.0, include_boundaries="left")
    check_scalar(n_classes, "n_classes", int, min_val=2)
    q = np.full(n_classes, smoothing / n_classes)
    q[0] += 1 - smoothing
    q = q[q > 0]
    return max(0.0, float(-(q * np.log(q)).sum()))


def cosine_similarity(A, B) -> float:
    r"""Eq (35): :math:`CS(A,B) = \operatorname{Tr}(AB^\top)/\sqrt{\operatorname{Tr}(AA^\top)\operatorname{Tr}
    (BB^\top)}` (1 iff :math:`A = kB`, :math:`k > 0`).

    Parameters
    ----------
    A, B : array_like (k, k)
        Non-zero finite matrices of one shape.

    Returns
    -------
    float
        Eq (35).

    Examples
    --------
    >>> import numpy as np
    >>> cosine_similarity(np.eye(3), 2 * np.eye(3)), cosine_similarity(np.diag([1., 0]), np.diag([0., 1]))
    (1.0, 0.0)
    """
    A, B = np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64)
    if A.ndim != 2 or A.shape != B.shape:
        raise ValueError(f"A, B must be matrices of the same shape, got {A.shape} and {B.shape}")
    check_finite(A, "A")
    check_finite(B, "B")
    den = np.sqrt(np.sum(A * A) * np.sum(B * B))
    if den == 0:
        raise ValueError("A and B must be non-zero")
    return float(np.sum(A * B) / den)


@dataclass(frozen=True)
class Alignment:
    r"""``cs`` = eq (35) from ``tr_ab`` :math:`=\operatorname{Tr}(HC)`, ``norm_a`` :math:`=\|H\|_F`,
    ``norm_b`` :math:`=\|C\|_F`; ``method`` "dense" or "hvp" (then ``norm_a`` is a Hutchinson estimate
    with ``n_probes`` probes); ``n_matvecs`` HVPs used.

    Parameters
    ----------
    cs : float
        The alignment of eq (35), :math:`\operatorname{Tr}(HC) / (\|H\|_F \|C\|_F)`.
    tr_ab : float
        :math:`\operatorname{Tr}(HC)`.
    norm_a : float
        :math:`\|H\|_F` (a Hutchinson estimate when ``method`` is ``"hvp"``).
    norm_b : float
        :math:`\|C\|_F`.
    method : str
        ``"dense"`` or ``"hvp"``.
    n_probes : int, default 0
        Hutchinson probes of ``norm_a`` (0 for ``"dense"``).
    n_matvecs : int, default 0
        Hessian-vector products used.
    """

    cs: float
    tr_ab: float
    norm_a: float
    norm_b: float
    method: str
    n_probes: int = 0
    n_matvecs: int = 0


def _noise_factor(model, loss_fn, X, y) -> np.ndarray:
    G = per_sample_grads(model, loss_fn, X, y).detach().to(torch.float64).cpu().numpy()
    return sgd_noise_factor(G, 1, kind="sample")  # F (M, m) with F^T F = C


def dense_alignment(model: nn.Module, loss_fn, X, y, *, gauss_newton: bool = False) -> Alignment:
    """CS(H, C) (or CS(G, C) with the Gauss--Newton part ``G`` when ``gauss_newton``) from dense float64
    matrices (small networks: the oracle).

    Parameters
    ----------
    model : torch.nn.Module
        A small network (the dense Hessian has m^2 entries).
    loss_fn : callable
        ``loss_fn(outputs, targets)``, a mean over samples.
    X, y : tensors
        The samples of H and C (a few hundred at most).
    gauss_newton : bool
        Use the Gauss--Newton part G instead of H.

    Returns
    -------
    Alignment
        ``method="dense"``.
    """
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    F = _noise_factor(model, loss_fn, X, y)
    C = F.T @ F
    if gauss_newton:
        H = hessian.dense_gauss_newton(model, loss_fn, (X, y))
    else:
        H = hessian.dense_hessian(model, loss_fn, (X, y))
    H = 0.5 * (H + H.T)
    nh, nc = float(np.linalg.norm(H)), float(np.linalg.norm(C))
    tr = float(np.sum(H * C))
    return Alignment(tr / (nh * nc), tr, nh, nc, "dense")


def matrix_free_alignment(model: nn.Module, loss_fn, X, y, *, n_probes: int = 30, seed: int = 0,
                          gauss_newton: bool = False, batch_size: int | None = None) -> Alignment:
    r"""Matrix-free CS(H, C), eq (35), never forming an :math:`m\times m` matrix.

    With the centred per-sample gradients as rows of :math:`F` (:math:`C = F^\top F`):
    :math:`\operatorname{Tr}(HC) = \sum_k f_k^\top H f_k` (``M`` HVPs, exact),
    :math:`\|C\|_F = \|FF^\top\|_F` (exact, an ``M x M`` Gram matrix) and
    :math:`\|H\|_F^2 = \operatorname{Tr}(H^2) \approx \frac1k\sum_j \|Hv_j\|^2` (Hutchinson, Rademacher probes
    drawn with ``seed``). ``gauss_newton`` uses the Gauss--Newton operator instead of the Hessian.

    Parameters
    ----------
    model : torch.nn.Module
        Any size: only Hessian-vector products and per-sample gradients are formed.
    loss_fn : callable
        ``loss_fn(outputs, targets)``, a mean over samples.
    X, y : tensors
        The samples on which H and C are evaluated.
    n_probes : int
        Hutchinson probes for :math:`\|H\|_F`.
    seed : int
        Seed of the probes.
    gauss_newton : bool
        Use the Gauss--Newton operator.
    batch_size : int or None
        Batch size of the Hessian-vector products (None: all at once).

    Returns
    -------
    Alignment
        ``method="hvp"``; ``norm_a`` is a Hutchinson estimate.
    """
    check_scalar(n_probes, "n_probes", int, min_val=1)
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    F = _noise_factor(model, loss_fn, X, y)
    make = hessian.gauss_newton if gauss_newton else hessian.hessian_operator
    op = make(model, loss_fn, (X, y), batch_size=batch_size, dtype=torch.float64)
    HF = op.matmat(F.T)  # (m, M)
    tr = float(np.sum(F.T * HF))
    gram = F @ F.T
    nc = float(np.linalg.norm(gram))
    V = hessian.probe_vectors(F.shape[1], n_probes, seed)
    HV = op.matmat(V.T)
    nh = float(np.sqrt(np.mean(np.sum(HV * HV, axis=0))))
    return Alignment(tr / (nh * nc), tr, nh, nc, "hvp", n_probes, F.shape[0] + n_probes)
