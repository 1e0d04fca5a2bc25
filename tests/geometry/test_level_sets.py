"""Exact checks of landscape.geometry.level_sets on constructed two-dimensional losses."""

import pytest
import torch

from landscape.geometry import level_sets
from landscape.nets import models


def quadratic(v):
    return 0.5 * (v[0] ** 2 + 3.0 * v[1] ** 2 + v[0] * v[1])


def double_well(v):
    return (v[0] ** 2 - 1) ** 2 + v[1] ** 2


def ring(v):
    return (v[0] ** 2 + v[1] ** 2 - 1) ** 2


A, B = [-1.0, 0.0], [1.0, 0.0]


def test_convex_straight_barrier_zero():
    path = level_sets.straight_path(quadratic, [1.0, -2.0], [-0.5, 3.0], n_points=201)
    assert level_sets.barrier(path) <= 1e-12


def test_double_well_barrier_one():
    straight = level_sets.straight_path(double_well, A, B, n_points=101)
    assert level_sets.barrier(straight) == pytest.approx(1.0, abs=1e-15)
    # every path crosses x = 0 where f(0, y) = 1 + y^2 >= 1: the found path cannot do better
    found = level_sets.bisection_path(double_well, A, B, depth=3, steps=200, seed=0)
    assert level_sets.barrier(found) >= 1.0 - 1e-12


def test_ring_found_path_below_level():
    straight = level_sets.straight_path(ring, A, B, n_points=101)
    assert level_sets.barrier(straight) == pytest.approx(1.0, abs=1e-15)
    found = level_sets.bisection_path(ring, A, B, tol=1e-3, depth=6, steps=500, lr=0.05, seed=0)
    assert level_sets.barrier(found) <= 1e-3
    assert found.t.iloc[0] == 0.0 and found.t.iloc[-1] == pytest.approx(1.0)


def test_bad_input():
    with pytest.raises(ValueError, match="theta_b"):
        level_sets.straight_path(ring, A, [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="depth"):
        level_sets.bisection_path(ring, A, B, depth=-1)
    with pytest.raises(ValueError, match="tol"):
        level_sets.bisection_path(ring, A, B, tol=0.0)
    with pytest.raises(ValueError, match="n_points"):
        level_sets.straight_path(ring, A, B, n_points=1)


def test_linear_net_minima_connected():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(20, 3, generator=gen, dtype=torch.float64)
    y = X @ torch.randn(3, 2, generator=gen, dtype=torch.float64)
    net = models.mlp([3, 4, 2], activation="identity", seed=0, dtype=torch.float64)
    f = level_sets.mse_loss(net, X, y)
    ends = [level_sets.train(f, models.flatten(models.mlp([3, 4, 2], activation="identity", seed=s,
                                                           dtype=torch.float64)), steps=1500, lr=0.02)
            for s in (1, 2)]
    found = level_sets.bisection_path(f, ends[0], ends[1], tol=1e-3, depth=5, steps=300, lr=0.05, seed=0)
    assert level_sets.barrier(found) <= 1e-3


def test_solution_pairs_units_bit_identical():
    """Issue 15: one pair of solutions per unit; one worker or two give the same table and paths to the bit."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 2))
    Y = X @ rng.standard_normal((2, 1))
    nets = [("linear", [2, 3, 1], "identity", X, Y), ("relu", [2, 4, 1], "relu", X, Y)]
    kw = {"seed": 0, "train_steps": 40, "tol": 1e-2, "depth": 1}
    (t1, p1), (t2, p2) = (level_sets.solution_pairs(nets, jobs=j, **kw) for j in (1, 2))
    pd.testing.assert_frame_equal(t1, t2, check_exact=True)
    for a, b in zip(p1, p2, strict=True):
        pd.testing.assert_frame_equal(a.found, b.found, check_exact=True)
    assert list(t1.width) == [3, 4] and (t1.found_max == t1["lambda"] + t1.found_barrier).all()
    ends = max(p1[0].straight.loss.iloc[0], p1[0].straight.loss.iloc[-1])  # (1 - s) a + s b at s = 0, 1: to rounding
    assert t1["lambda"][0] == p1[0].level == pytest.approx(ends, rel=1e-12)


def _linear_and_relu():
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 2))
    Y = X @ rng.standard_normal((2, 1))  # realisable by the linear net: its minima have loss 0
    return [("linear", [2, 3, 1], "identity", X, Y), ("relu", [2, 4, 1], "relu", X, Y)]


def test_tolerance_scan_rows_and_linear_barrier_within_each_tolerance():
    nets = _linear_and_relu()
    table, pairs = level_sets.tolerance_scan(nets, [1e-2, 1e-3], seed=0, train_steps=400, depth=5, jobs=1)
    assert list(table.net) == ["linear", "linear", "relu", "relu"] and list(table.tol) == [1e-2, 1e-3] * 2
    lin = table[table.net == "linear"]
    assert (lin.found_barrier <= lin.tol).all()  # one component: the search meets every tolerance
    assert (table.resolved == (table.found_barrier > 10 * table.tol)).all()
    assert all(set(p.by_tol) == {1e-2, 1e-3} and p.found is p.by_tol[1e-3] and len(p.ends) == 2 for p in pairs)
    with pytest.raises(ValueError, match="tols"):
        level_sets.tolerance_scan(nets, [])
    with pytest.raises(ValueError, match="tols"):
        level_sets.tolerance_scan(nets, [0.0])


def test_common_level_barriers():
    """Far above both endpoints the straight segment already lies in the sublevel set: path max < level."""
    nets = _linear_and_relu()
    _, pairs = level_sets.tolerance_scan(nets, [1e-2], seed=0, train_steps=100, depth=1, jobs=1)
    level = 10.0 + max(p.straight.loss.max() for p in pairs)
    c = level_sets.common_level_barriers(nets, pairs, level, tol=1e-3, depth=1, jobs=1)
    assert c.ends_below.all() and (c.common_barrier < 0).all()
    for top, p in zip(c.path_max, pairs, strict=True):  # the path is the segment itself, on a coarser grid
        assert top <= p.straight.loss.max() + 1e-12
    with pytest.raises(ValueError, match="pairs"):
        level_sets.common_level_barriers(nets, pairs[:1], level, tol=1e-3)


def test_common_level_at_a_pairs_own_level_is_its_own_search():
    """At a pair's own level with its own tolerance the common-level search is tolerance_scan's search (same level,
    target and seed): the reused path and a fresh search agree to the bit.
    """
    nets = _linear_and_relu()[1:]
    _, pairs = level_sets.tolerance_scan(nets, [1e-2], seed=0, train_steps=60, depth=2, jobs=1)
    c = level_sets.common_level_barriers(nets, pairs, pairs[0].level, tol=1e-2, depth=2, jobs=1)
    fresh = level_sets._common_unit(nets[0][1], "relu", nets[0][3], nets[0][4], 0, pairs[0].ends, pairs[0].level,
                                    1e-2, 2)
    assert c.path_max.iloc[0] == fresh
