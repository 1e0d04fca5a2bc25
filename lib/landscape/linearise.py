"""Stable public path of :mod:`landscape.geometry.linearise` (the module names of the project's design stay importable as
``landscape.linearise``); the code and its documentation live there. Library code imports the real path."""

from landscape.geometry.linearise import (  # noqa: F401
    gd_rate,
    gd_step_scan,
    hessian_split,
    jacobian,
    linear_gd,
    linearisation_error,
    LinearisationError,
    min_norm_step,
    power_law_fit,
    PowerLaw,
    residual_targets,
    two_layer,
    TwoLayer,
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
    'power_law_fit',
    'PowerLaw',
    'residual_targets',
    'two_layer',
    'TwoLayer',
]
