"""Mahalanobis distances, diffusion maps and the intrinsic-dimension tools of the source.

Source: Fjellström & Nyström, "Deep learning, SGD and diffusion maps", sections 2.1-2.2 and 3.2-3.3.

Layout (distance -> kernel -> map, one layer per file): ``distances`` (Mahalanobis eq 2.5, Euclidean),
``kernels`` (eq 2.10, k-NN, α-normalisation), ``embedding`` (diffusion map, spectrum, diffusion distance),
``bandwidth`` (L(ε), its slope, Berry-Harlim), ``spectrum`` (energy ratio, d, AUC ratio, s(α)); ``inputs``
holds the private input checks. Import from the package: ``from landscape import diffusion``.

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

from landscape.diffusion.bandwidth import KernelSumScan, kernel_slope, kernel_sum
from landscape.diffusion.distances import DEFAULT_RCOND, euclidean_sq, inverse_root, mahalanobis_sq
from landscape.diffusion.embedding import (
    BACKENDS,  # noqa: F401 - public name, outside __all__ as before the split
    DiffusionMap,
    diffusion_distance,
    diffusion_map,
    diffusion_spectrum,
)
from landscape.diffusion.kernels import gaussian_kernel
from landscape.diffusion.spectrum import ZERO_TOL, auc_ratio, energy_ratio, intrinsic_dimension, s_alpha

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
