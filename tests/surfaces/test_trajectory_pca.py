"""PCA directions of a trajectory (source 003, Sec. 5.4): a trajectory in a known plane is recovered exactly."""

import numpy as np
import pytest
from sklearn.decomposition import PCA

from landscape.surfaces.trajectory_pca import pca_directions


def _planar_trajectory(M=30, m=40, seed=0):
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((m, 2)))
    C = np.cumsum(rng.standard_normal((M, 2)) * [3.0, 1.0], axis=0)
    c = rng.standard_normal(m)
    return c + C @ U.T, U


def test_recovers_the_plane_and_the_coordinates():
    P, U = _planar_trajectory()
    tp = pca_directions(P)
    np.testing.assert_allclose(tp.directions @ tp.directions.T, np.eye(2), atol=1e-13)
    np.testing.assert_allclose(tp.directions.T @ tp.directions, U @ U.T, atol=1e-12)  # same plane
    np.testing.assert_allclose(tp.coordinates @ tp.directions, P - P[-1], atol=1e-12)  # nothing lost
    assert tp.explained.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.array_equal(tp.coordinates[-1], [0.0, 0.0])


def test_explained_variance_matches_sklearn():
    P, _ = _planar_trajectory(seed=3)
    P = P + 0.01 * np.random.default_rng(4).standard_normal(P.shape)  # off-plane noise
    tp = pca_directions(P, k=3)
    ref = PCA(n_components=3, svd_solver="full").fit(P - P[-1])
    np.testing.assert_allclose(tp.explained, ref.explained_variance_ratio_, rtol=1e-10)
    np.testing.assert_allclose(np.abs(tp.directions @ ref.components_.T), np.eye(3), atol=1e-8)


def test_validation():
    with pytest.raises(ValueError, match="params"):
        pca_directions(np.zeros((1, 5)))
    with pytest.raises(ValueError, match="coincide"):
        pca_directions(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"\bk\b"):
        pca_directions(np.eye(4), k=5)
