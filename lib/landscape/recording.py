"""Stable public path of :mod:`landscape.nets.recording`.

The module names of the project's design stay importable as ``landscape.recording``;
the code and its documentation live in :mod:`landscape.nets.recording`. Library code imports the real path.
"""

from landscape.nets.recording import (  # noqa: F401
    DTYPES,
    FORMAT_VERSION,
    MAX_BYTES,
    STAGES_ENV,
    CorruptRecordError,
    RecordConfig,
    Trajectory,
    build_model,
    cache_path,
    check_batch_size,
    check_record_size,
    format_bytes,
    provenance,
    record_sgd,
    record_size,
)

__all__ = [
    'build_model',
    'cache_path',
    'check_batch_size',
    'check_record_size',
    'CorruptRecordError',
    'DTYPES',
    'format_bytes',
    'FORMAT_VERSION',
    'MAX_BYTES',
    'provenance',
    'record_sgd',
    'record_size',
    'RecordConfig',
    'STAGES_ENV',
    'Trajectory',
]
