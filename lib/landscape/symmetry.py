"""Stable public path of :mod:`landscape.geometry.symmetry`.

The module names of the project's design stay importable as ``landscape.symmetry``;
the code and its documentation live in :mod:`landscape.geometry.symmetry`. Library code imports the real path.
"""

from landscape.geometry.symmetry import (  # noqa: F401
    apply_element,
    canonical_form,
    compose,
    fitness_distance_correlation,
    flip_units,
    group_elements,
    group_order,
    hidden_widths,
    in_wedge,
    is_generator,
    moved_copies,
    nearest_copy,
    permute_units,
    throng,
)

__all__ = [
    'apply_element',
    'canonical_form',
    'compose',
    'fitness_distance_correlation',
    'flip_units',
    'group_elements',
    'group_order',
    'hidden_widths',
    'in_wedge',
    'is_generator',
    'moved_copies',
    'nearest_copy',
    'permute_units',
    'throng',
]
