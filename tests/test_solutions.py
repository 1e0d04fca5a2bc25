"""Comparing solutions (source 003, Sec. 5.1): functional difference, basin profiles and widths, hump counts."""

import numpy as np
import pytest
import torch

from landscape import models, solutions


def _net_and_data():
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(40, 3, generator=g, dtype=torch.float64), torch.randint(0, 3, (40,), generator=g)
    return models.mlp([3, 5, 3], seed=0, dtype=torch.float64), X, y


def test_functional_difference_zero_for_permuted_units_and_exact_otherwise():
    net, X, _ = _net_and_data()
    theta = models.flatten(net).numpy()
    perm = np.array([2, 0, 4, 1, 3])  # permute the hidden units: the same function
    W1, b1, W2, b2 = (p.detach().numpy() for p in net.parameters())
    permuted = np.concatenate([W1[perm].ravel(), b1[perm], W2[:, perm].ravel(), b2])
    other = models.flatten(models.mlp([3, 5, 3], seed=1, dtype=torch.float64)).numpy()
    fr = solutions.functional_difference(net, {"a": theta, "perm": permuted, "other": other}, X).set_index(["a", "b"])
    assert fr.loc[("a", "perm"), "msd"] < 1e-28 and fr.loc[("a", "perm"), "disagreement"] == 0.0
    with torch.no_grad():
        pa = torch.softmax(net(X), 1).numpy()
        pb = torch.softmax(models.mlp([3, 5, 3], seed=1, dtype=torch.float64)(X), 1).numpy()
    assert fr.loc[("a", "other"), "msd"] == pytest.approx(((pa - pb) ** 2).sum(1).mean(), rel=1e-12)
    assert fr.loc[("a", "other"), "disagreement"] == pytest.approx((pa.argmax(1) != pb.argmax(1)).mean(), abs=0)
    assert np.array_equal(models.flatten(net).numpy(), theta)


def test_scaling_profile_endpoints():
    net, X, y = _net_and_data()
    theta = models.flatten(net).numpy()
    prof = solutions.scaling_profile(net, torch.nn.functional.cross_entropy, (X, y), theta, [0.0, 1.0])
    assert prof.loss.iloc[0] == pytest.approx(np.log(3), rel=1e-14)  # all-zero weights: uniform softmax
    with torch.no_grad():
        assert prof.loss.iloc[1] == pytest.approx(float(torch.nn.functional.cross_entropy(net(X), y)), rel=1e-14)


def test_basin_width_and_local_maxima():
    a = np.linspace(0, 2, 21)
    ell = (a - 1) ** 2
    assert solutions.basin_width(a, ell, 0.25) == pytest.approx(1.0, abs=1e-12)  # |alpha - 1| <= 0.5
    assert solutions.basin_width(a, ell + 1, 0.25) == 0.0
    x = np.linspace(0, 1, 201)
    assert solutions.n_local_maxima(np.sin(2 * np.pi * 3 * x)) == 3
    assert solutions.n_local_maxima(x + 1e-6 * np.sin(50 * x)) == 0  # wiggles below the tolerance
