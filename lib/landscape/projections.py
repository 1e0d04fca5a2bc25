"""Stable public path of :mod:`landscape.surfaces.projections`.

The module names of the project's design stay importable as ``landscape.projections``;
the code and its documentation live in :mod:`landscape.surfaces.projections`. Library code imports the real path.
"""

from landscape.surfaces.projections import (  # noqa: F401
    HessianDirections,
    accuracy,
    check_grid,
    hessian_directions,
    loss_line,
    loss_surface,
    random_direction,
    surface_minimum,
    symmetric_grid,
)

__all__ = [
    'accuracy',
    'check_grid',
    'hessian_directions',
    'HessianDirections',
    'loss_line',
    'loss_surface',
    'random_direction',
    'surface_minimum',
    'symmetric_grid',
]
