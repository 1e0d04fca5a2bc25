"""Rolling windows under a reading (landscape.studies.diffusion_maps.rolling) against the literal implementation
and hand-made spectra.
"""

import numpy as np
import pandas as pd
import pytest

from landscape.diffusion import diffusion_spectrum, euclidean_sq, manifold
from landscape.studies.diffusion_maps import readings, rolling


@pytest.fixture(scope="module")
def walk_sq():
    steps = np.random.default_rng(3).normal(size=(90, 6)) * np.linspace(1.0, 0.2, 90)[:, None]  # shrinking steps
    return euclidean_sq(np.cumsum(steps, axis=0))


def test_literal_reading_equals_manifold_rolling_windows(walk_sq):
    eps = manifold.median_sq(walk_sq) / 20
    ours = rolling.rolling_windows(walk_sq, 30, 15, eps)
    ref = manifold.rolling_windows(walk_sq, 30, 15, eps)
    pd.testing.assert_frame_equal(ours[ref.columns], ref, check_dtype=False, rtol=1e-12)


def test_reading_kernel_scale_and_lambda0_are_applied_per_window(walk_sq):
    eps = manifold.median_sq(walk_sq) / 20
    r = readings.Reading(kernel=2.0, trivial=True, auc="sum")
    ours = rolling.rolling_windows(walk_sq, 30, 30, eps, r, retune=False)
    for _, row in ours.iterrows():
        a, b = int(row.start), int(row.stop)
        blk = walk_sq[a:b, a:b]
        expected = readings.summaries(diffusion_spectrum(blk, 2.0 * eps))[True, "sum"]
        assert (row.d_fixed, row.auc_fixed) == pytest.approx(expected, rel=1e-12)
    assert list(ours.start) == [0, 30, 60] and "d_retuned" not in ours


def test_windows_of_a_submatrix_are_its_blocks(walk_sq):
    """The point of the module: a window of the full matrix is the window's own matrix."""
    eps = manifold.median_sq(walk_sq) / 20
    full = rolling.rolling_windows(walk_sq, 30, 30, eps, retune=False)
    alone = rolling.rolling_windows(walk_sq[30:60, 30:60], 30, 1, eps, retune=False)
    assert full.d_fixed.iloc[1] == alone.d_fixed.iloc[0] and full.auc_fixed.iloc[1] == alone.auc_fixed.iloc[0]


@pytest.mark.parametrize("kwargs, match", [({"window": 1}, "window"), ({"window": 91}, "window"),
                                           ({"stride": 0}, "stride"), ({"eps": 0.0}, "eps")])
def test_bad_input(walk_sq, kwargs, match):
    args = {"window": 30, "stride": 10, "eps": 1.0} | kwargs
    with pytest.raises(ValueError, match=match):
        rolling.rolling_windows(walk_sq, args["window"], args["stride"], args["eps"])
