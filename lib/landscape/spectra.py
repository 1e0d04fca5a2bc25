"""Stable public path of :mod:`landscape.geometry.spectra`.

The module names of the project's design stay importable as ``landscape.spectra``;
the code and its documentation live in :mod:`landscape.geometry.spectra`. Library code imports the real path.
"""

from landscape.geometry.spectra import (  # noqa: F401
    ACTIVATIONS,
    critical_energy,
    critical_energy_relu_slide,
    energy_from_h1_moment,
    marchenko_pastur_atom,
    marchenko_pastur_density,
    negative_fraction,
    pennington_bahri_density,
    sample_hessian_model,
    semicircle_density,
)

__all__ = [
    'ACTIVATIONS',
    'critical_energy',
    'critical_energy_relu_slide',
    'energy_from_h1_moment',
    'marchenko_pastur_atom',
    'marchenko_pastur_density',
    'negative_fraction',
    'pennington_bahri_density',
    'sample_hessian_model',
    'semicircle_density',
]
