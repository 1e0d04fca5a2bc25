"""Stable public path of :mod:`landscape.curvature.covariance`.

The module names of the project's design stay importable as ``landscape.covariance``;
the code and its documentation live in :mod:`landscape.curvature.covariance`. Library code imports the real path.
"""

from landscape.curvature.covariance import (  # noqa: F401
    correlation_block,
    covariance_eigenvalues,
    covariance_scale,
    fisher_matrix,
    per_sample_grads,
    sgd_covariance,
    sgd_covariance_approx,
    sgd_noise_factor,
    trajectory_covariance,
)

__all__ = [
    'correlation_block',
    'covariance_eigenvalues',
    'covariance_scale',
    'fisher_matrix',
    'per_sample_grads',
    'sgd_covariance',
    'sgd_covariance_approx',
    'sgd_noise_factor',
    'trajectory_covariance',
]
