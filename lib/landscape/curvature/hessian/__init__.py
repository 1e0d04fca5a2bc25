r"""Hessian toolkit: curvature operators, extreme eigenpairs, traces and spectral densities.

One operator per concept, estimators as plain functions (the layout of curvlinops):

* :func:`hessian_operator` -- the loss Hessian :math:`H = \nabla^2_\theta L(\theta)` as a
  :class:`scipy.sparse.linalg.LinearOperator` that multiplies with Hessian-vector products (HVPs,
  Pearlmutter's trick, eq (33) of Böttcher & Wheeler), never forming :math:`H`.
* :func:`function_hessian_operator` -- the same for a plain scalar function of a flat vector (toy losses).
* :func:`gauss_newton` -- the positive semi-definite Gauss--Newton part :math:`G = J^\top H_L J`
  (eqs (9)--(11): the empirical Fisher for MSE / cross entropy at a perfect fit), so :math:`H - G` is available.
* :func:`dense_hessian`, :func:`dense_function_hessian`, :func:`dense_gauss_newton` -- dense float64
  matrices from ``torch.func`` for small models: the oracles of the test-suite.
* :func:`eigenpairs` (our Lanczos with full reorthogonalisation, seeded and stopped by a Ritz-residual test:
  the same bits in every process; ARPACK's ``eigsh`` with ``method="arpack"``), :func:`opposite_extreme` (the
  annihilation step of Appendix B, one Lanczos run for both ends), :func:`power_iteration` (the PyHessian
  baseline), :func:`hutchinson_trace` (eq (25)), :func:`curvature_trace` (the curvature-based estimate, eq (23)),
  :func:`slq_density` (stochastic Lanczos quadrature, Ghorbani et al. 2019, Algorithm 1, with the converged
  outliers deflated as exact point masses by default), :func:`smoothed_density` (the exact smoothed density).
* ``params=`` of :func:`hessian_operator` and :func:`gauss_newton` (names from :func:`parameter_indices`): the
  block of one layer or any named parameter subset, through the same solvers (per-layer spectra).

Layout (one idea per file): ``linear_operator`` (:class:`CurvatureOperator`), ``operators`` (Hessian,
function Hessian, Gauss--Newton), ``dense`` (the oracles), ``eigensolvers`` (Lanczos eigenpairs, annihilation,
power iteration), ``trace`` (Hutchinson, curvature-based), ``spectral_density`` (Lanczos, SLQ); ``inputs`` and
``flat_model`` hold the private input checks and the flat-parameter view of a model. Import from the package:
``from landscape import hessian``.

All vectors are float64 numpy arrays in ``torch.nn.utils.parameters_to_vector(model.parameters())`` order.
Every random draw takes an explicit ``seed``.
"""

from __future__ import annotations

from landscape.curvature.hessian.dense import dense_function_hessian, dense_gauss_newton, dense_hessian
from landscape.curvature.hessian.eigensolvers import (
    Eigenpairs,
    OppositeExtreme,
    PowerIteration,
    eigenpairs,
    opposite_extreme,
    power_iteration,
)
from landscape.curvature.hessian.inputs import _check_int  # noqa: F401 - used by landscape.surfaces.projections
from landscape.curvature.hessian.linear_operator import CurvatureOperator
from landscape.curvature.hessian.operators import (
    function_hessian_operator,
    gauss_newton,
    hessian_operator,
    parameter_indices,
)
from landscape.curvature.hessian.spectral_density import SLQDensity, density_l1, lanczos, slq_density, smoothed_density
from landscape.curvature.hessian.trace import (
    TraceEstimate,
    curvature_trace,
    curvature_trace_scan,
    flat_loss,
    hutchinson_trace,
    probe_vectors,
)

__all__ = [
    "CurvatureOperator",
    "hessian_operator",
    "function_hessian_operator",
    "gauss_newton",
    "parameter_indices",
    "dense_hessian",
    "dense_function_hessian",
    "dense_gauss_newton",
    "Eigenpairs",
    "eigenpairs",
    "OppositeExtreme",
    "opposite_extreme",
    "PowerIteration",
    "power_iteration",
    "TraceEstimate",
    "probe_vectors",
    "hutchinson_trace",
    "curvature_trace",
    "curvature_trace_scan",
    "flat_loss",
    "SLQDensity",
    "lanczos",
    "slq_density",
    "smoothed_density",
    "density_l1",
]
