"""Stable public path of :mod:`landscape.infra.results`.

The module names of the project's design stay importable as ``landscape.results``;
the code and its documentation live in :mod:`landscape.infra.results`. Library code imports the real path.
"""

from landscape.infra.results import (  # noqa: F401
    CLAIM_COLUMNS,
    NOT_JUDGED,
    SENSITIVITY_COLUMNS,
    VERDICTS,
    Claims,
    gather_claims,
    gather_sensitivity,
    interval95,
    is_evidence,
    results_dir,
    save_table,
    strip_section,
    verdict,
    what_holds,
)

__all__ = [
    'CLAIM_COLUMNS',
    'Claims',
    'gather_claims',
    'gather_sensitivity',
    'interval95',
    'is_evidence',
    'NOT_JUDGED',
    'results_dir',
    'save_table',
    'SENSITIVITY_COLUMNS',
    'strip_section',
    'verdict',
    'VERDICTS',
    'what_holds',
]
