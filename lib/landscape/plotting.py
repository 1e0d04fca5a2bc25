"""Stable public path of :mod:`landscape.infra.plotting`.

The module names of the project's design stay importable as ``landscape.plotting``;
the code and its documentation live in :mod:`landscape.infra.plotting`. Library code imports the real path.
"""

from landscape.infra.plotting import (  # noqa: F401
    CLAIMS_TABLE_WIDTHS,
    CMAP,
    COLORS,
    DIVERGING,
    SIZES,
    STYLE,
    VERDICT_COLORS,
    claims_table,
    fig_size,
    pairplot,
    training_curves,
    use_style,
    verdict_bars,
    verdict_counts,
    verdict_tint,
)

__all__ = [
    'claims_table',
    'CLAIMS_TABLE_WIDTHS',
    'CMAP',
    'COLORS',
    'DIVERGING',
    'fig_size',
    'pairplot',
    'SIZES',
    'STYLE',
    'training_curves',
    'use_style',
    'verdict_bars',
    'VERDICT_COLORS',
    'verdict_counts',
    'verdict_tint',
]
