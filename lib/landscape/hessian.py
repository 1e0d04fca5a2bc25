"""Stable public path of :mod:`landscape.curvature.hessian`.

The module names of the project's design stay importable as ``landscape.hessian``;
the code and its documentation live in :mod:`landscape.curvature.hessian`. Library code imports the real path.
"""

from landscape.curvature.hessian import (  # noqa: F401
    curvature_trace,
    curvature_trace_scan,
    CurvatureOperator,
    dense_function_hessian,
    dense_gauss_newton,
    dense_hessian,
    density_l1,
    Eigenpairs,
    eigenpairs,
    flat_loss,
    function_hessian_operator,
    gauss_newton,
    hessian_operator,
    hutchinson_trace,
    lanczos,
    opposite_extreme,
    OppositeExtreme,
    power_iteration,
    PowerIteration,
    probe_vectors,
    slq_density,
    SLQDensity,
    smoothed_density,
    TraceEstimate,
)

__all__ = [
    'curvature_trace',
    'curvature_trace_scan',
    'CurvatureOperator',
    'dense_function_hessian',
    'dense_gauss_newton',
    'dense_hessian',
    'density_l1',
    'Eigenpairs',
    'eigenpairs',
    'flat_loss',
    'function_hessian_operator',
    'gauss_newton',
    'hessian_operator',
    'hutchinson_trace',
    'lanczos',
    'opposite_extreme',
    'OppositeExtreme',
    'power_iteration',
    'PowerIteration',
    'probe_vectors',
    'slq_density',
    'SLQDensity',
    'smoothed_density',
    'TraceEstimate',
]
