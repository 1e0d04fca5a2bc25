"""Stable public path of :mod:`landscape.nets.recording` (the module names of the project's design stay importable as
``landscape.recording``); the code and its documentation live there. Library code imports the real path."""

from landscape.nets.recording import (  # noqa: F401
    build_model,
    cache_path,
    CorruptRecordError,
    DTYPES,
    FORMAT_VERSION,
    provenance,
    record_sgd,
    RecordConfig,
    Trajectory,
)

__all__ = [
    'build_model',
    'cache_path',
    'CorruptRecordError',
    'DTYPES',
    'FORMAT_VERSION',
    'provenance',
    'record_sgd',
    'RecordConfig',
    'Trajectory',
]
