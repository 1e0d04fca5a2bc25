"""Stable public path of :mod:`landscape.geometry.linearise`.

The module names of the project's design stay importable as ``landscape.linearise``;
the code and its documentation live in :mod:`landscape.geometry.linearise`. Library code imports the real path.
"""

from landscape.geometry.linearise import (  # noqa: F401
    LinearisationError,
    PowerLaw,
    TwoLayer,
    gd_rate,
    gd_step_scan,
    hessian_split,
    jacobian,
    linear_gd,
    linearisation_error,
    min_norm_step,
    output_hessian_norm,
    power_law_fit,
    residual_targets,
    two_layer,
)

__all__ = [
    'gd_rate',
    'gd_step_scan',
    'hessian_split',
    'jacobian',
    'linear_gd',
    'linearisation_error',
    'LinearisationError',
    'min_norm_step',
    'output_hessian_norm',
    'power_law_fit',
    'PowerLaw',
    'residual_targets',
    'two_layer',
    'TwoLayer',
]
