"""The readings cache stores the upper triangle of d² as float32 (manifold.STORAGE): the effect on d², d and the AUC
ratio of a real trained trajectory is bounded against the float64 distances, and the cache holds nothing else.
"""

import numpy as np
import pytest

from landscape.diffusion import manifold
from landscape.nets.recording import RecordConfig, record_sgd
from landscape.studies.diffusion_maps import dimension_tables, readings

RCONDS = (1e-15, 6e-4)


@pytest.fixture
def iris(tmp_root):
    # the chapter's reference network and optimiser (4-24-14-3, n = 20, lr 0.01), 20 epochs: M = 120 points
    return record_sgd(RecordConfig(batch_size=20, epochs=20, lr=0.01, seed=0), progress=False)


def test_float32_storage_changes_d_and_auc_by_rounding_only(iris):
    exact = manifold._pass(iris, ("sample",), RCONDS, False)
    stored = manifold.cutoff_distances(iris, RCONDS)
    again = manifold.cutoff_distances(iris, RCONDS)  # from the cache: the same numbers as when computed
    files = sorted(_readings_cache().glob("*.npy"))
    M = iris.M
    assert len(files) == len(RCONDS)
    assert all(np.load(f).dtype == np.float32 and np.load(f).shape == (M * (M - 1) // 2,) for f in files)
    for rc in RCONDS:
        np.testing.assert_array_equal(again["sample", rc], stored["sample", rc])
        # the packed upper triangle loses nothing against the full float32 matrix (format 2)
        np.testing.assert_array_equal(stored["sample", rc], exact["sample", rc].astype(np.float32).astype(np.float64))
        off = ~np.eye(iris.M, dtype=bool)
        rel = np.abs(stored["sample", rc] - exact["sample", rc])[off] / exact["sample", rc][off]
        assert rel.max() <= 2.0**-24  # nearest float32: half an ulp, 6e-8 (issue 15 allows 1e-6)
        med = manifold.median_sq(exact["sample", rc])
        for reading in (readings.LITERAL, readings.Reading(rcond=rc, covariance="1/N", kernel=2.0, knn=64)):
            sq64 = readings.scaled(exact["sample", rc], reading.covariance, iris.dataset().N, 20)
            sq32 = readings.scaled(stored["sample", rc], reading.covariance, iris.dataset().N, 20)
            for eps in (3.0, 0.1 * med, med, 10 * med):
                d64, a64, lam64 = dimension_tables.summary(sq64, eps, reading)
                d32, a32, lam32 = dimension_tables.summary(sq32, eps, reading)
                assert d32 == d64
                assert abs(a32 - a64) <= 5e-9  # measured: at most 5e-10
                assert np.abs(lam32 - lam64).max() <= 1e-7  # measured: at most 1.1e-8


def _readings_cache():
    from landscape.infra import paths

    return paths.cache_dir() / "readings"


def test_a_cache_file_of_the_wrong_size_is_recomputed_not_misread(iris):
    first = manifold.cutoff_distances(iris, [6e-4])["sample", 6e-4]
    (f,) = _readings_cache().glob("*.npy")
    np.save(f, np.load(f)[:-1])  # one entry short: not the triangle of an M x M matrix
    again = manifold.cutoff_distances(iris, [6e-4])["sample", 6e-4]
    np.testing.assert_array_equal(again, first)
    assert np.load(f).size == iris.M * (iris.M - 1) // 2  # rewritten whole
    assert manifold._unpack(np.zeros(5, np.float32), 4) is None and manifold._unpack(np.zeros(6, np.float64), 4) is None
    np.testing.assert_array_equal(manifold._unpack(np.arange(1, 7, dtype=np.float32), 4),
                                  [[0, 1, 2, 3], [1, 0, 4, 5], [2, 4, 0, 6], [3, 5, 6, 0]])
