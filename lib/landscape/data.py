"""Stable public path of :mod:`landscape.nets.data`.

The module names of the project's design stay importable as ``landscape.data``;
the code and its documentation live in :mod:`landscape.nets.data`. Library code imports the real path.
"""

from landscape.nets.data import (  # noqa: F401
    BUILTIN,
    SPLITS,
    TASKS,
    Dataset,
    keras_split,
    load,
    seeded_split,
    sha256,
    synthetic_function,
)

__all__ = [
    'BUILTIN',
    'Dataset',
    'keras_split',
    'load',
    'seeded_split',
    'sha256',
    'SPLITS',
    'synthetic_function',
    'TASKS',
]
