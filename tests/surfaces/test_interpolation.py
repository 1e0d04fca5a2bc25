"""Interpolation between parameter vectors (source 003, Sec. 5.1): endpoints and weights exact."""

import numpy as np
import pytest
import torch

from landscape.nets import models
from landscape.surfaces import interpolation as ip


def _vecs(k, m=37, seed=0):
    return np.random.default_rng(seed).standard_normal((k, m))


def test_segment_endpoints_exact_and_midpoint():
    a, b = _vecs(2)
    pts = ip.segment(a, b, [0.0, 0.5, 1.0, 2.0])
    assert np.array_equal(pts[0], a) and np.array_equal(pts[2], b)
    np.testing.assert_allclose(pts[1], (a + b) / 2, rtol=0, atol=1e-15)
    np.testing.assert_allclose(pts[3], 2 * b - a, rtol=0, atol=1e-14)  # extrapolation
    with pytest.raises(ValueError, match="theta_a"):
        ip.segment(a, b[:-1], [0.5])


def test_barycentric_weights_exact_fractions():
    n = 7
    w = ip.barycentric_weights(n)
    assert w.shape == (n * (n + 1) // 2, 3)
    ints = w * (n - 1)
    assert np.array_equal(ints, np.round(ints))  # i/(n-1) rounded once, times (n-1) gives the integer back
    assert np.array_equal(np.round(ints).sum(axis=1), np.full(len(w), n - 1))
    assert len({tuple(r) for r in ints}) == len(w)  # every lattice point once
    assert np.abs(w.sum(axis=1) - 1).max() <= 2 * np.finfo(float).eps


def test_barycentric_vertices_and_centroid():
    t = _vecs(3)
    pts = ip.barycentric(t, np.eye(3))
    assert np.array_equal(pts, t)
    np.testing.assert_allclose(ip.barycentric(t, [[1 / 3, 1 / 3, 1 / 3]])[0], t.mean(axis=0), atol=1e-15)
    with pytest.raises(ValueError, match="weights"):
        ip.barycentric(t, [[0.5, 0.6, -0.1]])


def test_bilinear_corners_and_centre():
    t = _vecs(4)
    pts = ip.bilinear(t, [0.0, 0.5, 1.0], [0.0, 0.5, 1.0]).reshape(3, 3, -1)
    for (i, j), k in {(0, 0): 0, (2, 0): 1, (0, 2): 2, (2, 2): 3}.items():
        assert np.array_equal(pts[i, j], t[k])
    np.testing.assert_allclose(pts[1, 1], t.mean(axis=0), atol=1e-15)
    np.testing.assert_allclose(pts[1, 0], (t[0] + t[1]) / 2, atol=1e-15)  # the u-edge is a segment


def test_plane_through_reconstructs_points():
    p = _vecs(3, seed=1)
    pl = ip.plane_through(*p)
    np.testing.assert_allclose(pl.basis @ pl.basis.T, np.eye(2), atol=1e-14)
    for k in range(3):
        np.testing.assert_allclose(pl.point(*pl.coordinates[k]), p[k], atol=1e-13)
    assert pl.coordinates[0].tolist() == [0.0, 0.0] and pl.coordinates[1, 1] == 0.0
    with pytest.raises(ValueError, match="collinear"):
        ip.plane_through(p[0], p[1], 2 * p[1] - p[0])


def test_loss_at_matches_direct_evaluation_and_restores():
    torch.manual_seed(0)
    model = models.mlp([4, 5, 3], seed=0, dtype=torch.float64)
    X, y = torch.randn(20, 4, dtype=torch.float64), torch.randint(0, 3, (20,))
    theta = models.flatten(model).numpy()
    pts = theta + 0.1 * _vecs(3, theta.size, seed=2)
    fr = ip.loss_at(model, torch.nn.functional.cross_entropy, (X, y), pts)
    assert np.array_equal(models.flatten(model).numpy(), theta)
    for k in range(3):
        other = models.assign(models.mlp([4, 5, 3], seed=1, dtype=torch.float64), pts[k])
        want = float(torch.nn.functional.cross_entropy(other(X), y).detach())
        assert fr.loss[k] == pytest.approx(want, rel=1e-14)


def test_barrier():
    assert ip.barrier([2.0, 1.0, 0.5]) == 0.0
    assert ip.barrier([0.0, 1.5, 3.0, 1.0]) == 2.0
