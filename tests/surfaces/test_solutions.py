"""Comparing solutions (source 003, Sec. 5.1): functional difference, basin profiles and widths, hump counts."""

import numpy as np
import pandas as pd
import pytest
import torch

from landscape.nets import models
from landscape.surfaces import solutions


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


def test_basin_interval_flags_the_grid_edge():
    a = np.linspace(0, 2, 21)
    ell = (a - 1) ** 2  # crosses 0.25 at alpha = 0.5 and 1.5: both ends closed
    assert solutions.basin_interval(a, ell, 0.25) == pytest.approx((0.5, 1.5, True, True), abs=1e-12)
    lo, hi, c_lo, c_hi = solutions.basin_interval(a, np.maximum(1 - a, 0.0) ** 2, 0.25)  # below the level to the end
    assert (lo, hi, c_lo, c_hi) == (pytest.approx(0.5, abs=1e-12), 2.0, True, False)
    lo, hi, c_lo, c_hi = solutions.basin_interval(a, ell + 1, 0.25)  # the centre is above the level: no basin
    assert np.isnan(lo) and np.isnan(hi) and not c_lo and not c_hi
    with pytest.raises(ValueError, match="alphas"):
        solutions.basin_interval(a[::-1], ell, 0.25)


def _digits_like():
    g = torch.Generator().manual_seed(0)
    return torch.randn(48, 6, generator=g), torch.randint(0, 3, (48,), generator=g)


def test_basin_profiles_bit_identical_for_one_and_two_workers_and_match_one_run():
    from landscape.nets import optimizers

    X, y = _digits_like()
    F = torch.nn.functional.cross_entropy
    kw = dict(epochs=2, reruns=2, alphas=np.linspace(0, 2, 5), level=0.5, batch_size=16, seed=3)
    one = solutions.basin_profiles([6, 5, 3], F, (X, y), {"sgd": 0.1, "adam": 0.01}, jobs=1, **kw)
    pd.testing.assert_frame_equal(one, solutions.basin_profiles([6, 5, 3], F, (X, y), {"sgd": 0.1, "adam": 0.01},
                                                                 jobs=2, **kw), check_exact=True)
    net = models.mlp([6, 5, 3], seed=3 + 100 + 1)  # adam, re-run 1, by hand
    theta = optimizers.train(net, F, X, y, [("adam", 2, 0.01)], batch_size=16, seed=3 + 1).params[-1]
    prof = solutions.scaling_profile(net, F, (X, y), theta, np.linspace(0, 2, 5))
    mine = one[(one.optimizer == "adam") & (one.rerun == 1)]
    assert np.array_equal(mine.loss.to_numpy(), prof.loss.to_numpy())
    assert mine.weight_norm.iloc[0] == np.linalg.norm(theta)
    within, between = solutions.profile_distances(one)
    assert within > 0 and between > 0


def test_sgd_adam_segments_bit_identical_for_one_and_two_workers():
    from landscape.studies.interpolation_planes import segments

    X, y = _digits_like()
    kw = dict(width=4, depth=1, loss_fn=torch.nn.functional.cross_entropy, train=(X, y),
              splits={"train": (X, y), "test": (X[:10], y[:10])}, lrs={"sgd": 0.1, "adam": 0.01}, epochs=2,
              reruns=2, alphas=np.linspace(0, 1, 3), batch_size=16, seed=1)
    runs1, curves1 = segments.sgd_adam_segments(6, 3, jobs=1, **kw)
    runs2, curves2 = segments.sgd_adam_segments(6, 3, jobs=2, **kw)
    pd.testing.assert_frame_equal(runs1, runs2, check_exact=True)
    pd.testing.assert_frame_equal(curves1, curves2, check_exact=True)
    assert list(runs1.bn) == [True] * 4 + [False] * 4 and len(curves1) == 4 * 3
    # the segment's ends are the two solutions (the BN buffers interpolated along with the weights)
    for (bn, r), c in curves1.groupby(["bn", "rerun"]):
        ends = runs1[(runs1.bn == bn) & (runs1.rerun == r)].set_index("optimizer").loss_train
        assert c.train.iloc[0] == pytest.approx(ends["sgd"], rel=1e-6)
        assert c.train.iloc[-1] == pytest.approx(ends["adam"], rel=1e-6)

