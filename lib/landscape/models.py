"""Stable public path of :mod:`landscape.nets.models`.

The module names of the project's design stay importable as ``landscape.models``;
the code and its documentation live in :mod:`landscape.nets.models`. Library code imports the real path.
"""

from landscape.nets.models import (  # noqa: F401
    ACTIVATIONS,
    BIAS_RULE,
    INITS,
    LOSSES,
    assign,
    assign_buffers,
    buffer_vector,
    evaluating,
    flatten,
    loss_function,
    mlp,
    n_params,
    unflatten,
)

__all__ = [
    'ACTIVATIONS',
    'assign',
    'assign_buffers',
    'BIAS_RULE',
    'buffer_vector',
    'evaluating',
    'flatten',
    'INITS',
    'loss_function',
    'LOSSES',
    'mlp',
    'n_params',
    'unflatten',
]
