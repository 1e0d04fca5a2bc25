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


# -- polishing endpoints (issue 22: converged endpoints) -----------------------------------------------------------

def _spd(n, seed):
    gen = torch.Generator().manual_seed(seed)
    Q = torch.randn(n, n, generator=gen, dtype=torch.float64)
    return Q @ Q.T + n * torch.eye(n, dtype=torch.float64), torch.randn(n, generator=gen, dtype=torch.float64)


def test_polish_endpoint_reaches_the_minimiser_of_a_quadratic_in_one_newton_step():
    A, b = _spd(6, 0)
    p = level_sets.polish_endpoint(lambda v: 0.5 * v @ A @ v - b @ v, 10 * torch.ones(6, dtype=torch.float64))
    assert p.converged and p.iterations == 1 and p.grad_norm <= 1e-10
    torch.testing.assert_close(p.theta, torch.linalg.solve(A, b), rtol=0, atol=1e-12)


def test_polish_endpoint_linear_least_squares_matches_lstsq():
    gen = torch.Generator().manual_seed(1)
    X = torch.randn(30, 4, generator=gen, dtype=torch.float64)
    y = torch.randn(30, generator=gen, dtype=torch.float64)  # not realisable: the minimum has a residual
    p = level_sets.polish_endpoint(lambda w: 0.5 * ((X @ w - y) ** 2).mean(), torch.zeros(4, dtype=torch.float64))
    w_star = torch.linalg.lstsq(X, y[:, None]).solution[:, 0]
    assert p.converged and p.grad_norm <= 1e-10
    torch.testing.assert_close(p.theta, w_star, rtol=0, atol=1e-10)


def test_polish_endpoint_damped_steps_reach_the_rosenbrock_minimum():
    """An indefinite Hessian on the way (the start is in the curved valley): damping keeps every step downhill."""
    p = level_sets.polish_endpoint(lambda v: (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2, [-1.2, 1.0])
    assert p.converged and p.iterations < 100
    torch.testing.assert_close(p.theta, torch.ones(2, dtype=torch.float64), rtol=0, atol=1e-10)


def test_polish_endpoint_within_fixed_linear_constraints_is_the_kkt_point():
    """Minimise 0.5 x'Ax - b'x subject to C x = 0: x* = N (N'AN)^-1 N'b with N an orthonormal null basis of C."""
    A, b = _spd(5, 2)
    C = torch.tensor([[1.0, -1.0, 0.0, 0.0, 2.0], [0.0, 1.0, 1.0, 0.0, 0.0]], dtype=torch.float64)
    N = torch.linalg.svd(C, full_matrices=True).Vh[2:].T
    x_star = N @ torch.linalg.solve(N.T @ A @ N, N.T @ b)
    p = level_sets.polish_endpoint(lambda v: 0.5 * v @ A @ v - b @ v, torch.full((5,), 3.0, dtype=torch.float64),
                                   fixed=C)
    assert p.converged
    torch.testing.assert_close(p.theta, x_star, rtol=0, atol=1e-10)
    assert float((C @ p.theta).abs().max()) <= 1e-12
    with pytest.raises(ValueError, match="fixed"):
        level_sets.polish_endpoint(lambda v: v @ v, torch.ones(5, dtype=torch.float64), fixed=C[:, :4])
    with pytest.raises(ValueError, match="grad_tol"):
        level_sets.polish_endpoint(lambda v: v @ v, [1.0], grad_tol=0.0)
    with pytest.raises(ValueError, match="max_iter"):
        level_sets.polish_endpoint(lambda v: v @ v, [1.0], max_iter=-1)


def _clusters(n_in_bias=False):
    import numpy as np

    rng = np.random.default_rng(0)
    X = (np.repeat([-3.0, -1.0, 1.0, 3.0], 3) + 0.1 * rng.standard_normal(12))[:, None]
    Y = np.tile([1.0, -1.0], 2).repeat(3)[:, None]
    return (np.hstack([X, np.ones_like(X)]) if n_in_bias else X), Y


def test_relu_kinks_jumps_are_the_one_sided_gradients_and_the_clarke_norm_their_closest_point_to_zero():
    X, Y = _clusters()
    net = models.mlp([1, 2, 1], seed=0, dtype=torch.float64)
    # unit 0's breakpoint exactly on data point 4 (s = w x + b = 0 there), unit 1 away from every point
    w0, w1 = 1.3, -0.7
    theta = torch.tensor([w0, w1, -w0 * X[4, 0], 0.2, 0.9, -0.4, 0.1], dtype=torch.float64)
    k = level_sets.relu_kinks(net, X, Y, theta)
    assert k.pairs == [(0, 4)] and k.rank == 1
    c = k.rows[0]
    f = level_sets.mse_loss(net, X, Y)
    grad = torch.func.grad(f)
    h = 1e-7  # gradients just on either side of the kink: the pieces sigma = 1 (s > 0) and sigma = 0
    g_on, g_off = grad(theta + h * c / (c @ c)), grad(theta - h * c / (c @ c))
    v = g_on - g_off
    t = float(torch.clamp(-(g_off @ v) / (v @ v), 0.0, 1.0))  # closest point of the segment [g_off, g_on] to 0
    assert k.clarke_norm == pytest.approx(float(torch.linalg.vector_norm(g_off + t * v)), rel=1e-5)
    assert k.t[0] == pytest.approx(t, abs=1e-5)
    assert k.jump[0] == pytest.approx(float(v @ c / (c @ c)), rel=1e-5)  # the slope's jump across the kink, per s
    assert k.concave == int(k.jump[0] < 0)
    # away from every kink the Clarke set is the gradient itself
    smooth = theta.clone()
    smooth[2] += 0.05
    k2 = level_sets.relu_kinks(net, X, Y, smooth)
    assert k2.pairs == [] and k2.clarke_norm == k2.grad_norm == float(torch.linalg.vector_norm(grad(smooth)))
    with pytest.raises(ValueError, match="two-layer"):
        level_sets.relu_kinks(models.mlp([1, 2, 2, 1], dtype=torch.float64), X, Y, torch.zeros(13))


@pytest.mark.parametrize("bias", [True, False])
def test_polish_relu_reaches_a_clarke_stationary_point_no_side_of_any_kink_descends(bias):
    X, Y = _clusters(n_in_bias=not bias)
    sizes = [X.shape[1], 6, 1]
    net = models.mlp(sizes, seed=0, dtype=torch.float64, bias=bias)
    f = level_sets.mse_loss(net, X, Y)
    start = level_sets.train(f, models.flatten(models.mlp(sizes, seed=3, dtype=torch.float64, bias=bias)), steps=300,
                             lr=0.02)
    p = level_sets.polish_relu(net, X, Y, start, max_iter=200)
    assert p.converged and p.clarke_norm <= 1e-10 and p.independent and p.concave == 0
    assert p.loss <= float(f(start)) and p.grad_norm >= p.clarke_norm
    # independent check of stationarity: off each kink, on either side, the loss rises at first order (no descent
    # larger than h^2 terms), and along the face the gradient vanishes
    k = level_sets.relu_kinks(net, X, Y, p.theta)
    assert k.zero_units == [] and k.stationarity == k.clarke_norm
    h = 1e-6
    for c in k.rows:
        for sign in (1.0, -1.0):
            assert float(f(p.theta + sign * h * c / torch.linalg.vector_norm(c))) - p.loss >= -1e-10 * h
    if k.pairs:
        N = torch.linalg.svd(k.rows, full_matrices=True).Vh[k.rank:].T
        assert float(torch.linalg.vector_norm(N.T @ torch.func.grad(f)(p.theta))) <= 1e-10


def test_tolerance_scan_polish_records_converged_endpoints_and_the_default_keeps_adams():
    nets = _linear_and_relu()
    _, plain = level_sets.tolerance_scan(nets, [1e-2], seed=0, train_steps=200, depth=1, jobs=1)
    f0 = level_sets.mse_loss(models.mlp([2, 3, 1], activation="identity", seed=0, dtype=torch.float64), *nets[0][3:])
    adam = level_sets.train(f0, models.flatten(models.mlp([2, 3, 1], activation="identity", seed=1,
                                                          dtype=torch.float64)), steps=200, lr=0.02)
    assert torch.equal(plain[0].ends[0], adam)  # polish = 0: the endpoints are Adam's, as before
    assert all(not r["polished"] and r["iterations"] == 0 for p in plain for r in p.endpoints)
    table, pol = level_sets.tolerance_scan(nets, [1e-2], seed=0, train_steps=200, depth=1, jobs=1, polish=200)
    ends = level_sets.endpoint_table(nets, pol)
    assert list(ends.net) == ["linear", "linear", "relu", "relu"] and list(ends.end) == [0, 1, 0, 1]
    assert (ends.stationarity <= 1e-10).all() and (ends.loss <= ends.loss_trained).all()
    assert (ends.grad_trained > 1e-6).all()  # Adam alone had not converged: the polish did something
    assert table["lambda"].tolist() == [max(e.loss) for _, e in ends.groupby("net", sort=False)]


def test_bias_free_pairs_and_their_common_level_search():
    X, Y = _clusters(n_in_bias=True)
    nets = [("free", [2, 4, 1], "relu", X, Y)]
    pairs = level_sets.solution_ends(nets, seed=0, train_steps=100, bias=False, jobs=1)
    assert len(pairs[0].ends[0]) == models.n_params(models.mlp([2, 4, 1], bias=False)) == 12
    assert pairs[0].found is pairs[0].straight and pairs[0].by_tol == {}
    level = float(pairs[0].straight.loss.max()) + 1.0  # above the whole segment: the segment is the path
    c = level_sets.common_level_barriers(nets, pairs, level, tol=1e-3, depth=1, jobs=1, bias=False)
    assert bool(c.ends_below.iloc[0]) and c.path_max.iloc[0] <= pairs[0].straight.loss.max() + 1e-12


def test_cone_min_is_exact_on_the_circle():
    """The least sum_mu w_mu relu(u . x_mu) over unit u in two dimensions, against a grid of a million angles."""
    import numpy as np

    rng = np.random.default_rng(3)
    for _ in range(5):
        Xu, w = rng.standard_normal((7, 2)), rng.standard_normal(7)
        val, u = level_sets._cone_min(Xu, w)
        ang = np.linspace(0.0, 2 * np.pi, 1_000_001)
        U = np.stack([np.cos(ang), np.sin(ang)], axis=1)
        grid = (np.maximum(U @ Xu.T, 0.0) @ w).min()
        assert abs(np.linalg.norm(u) - 1.0) < 1e-12 and val == pytest.approx(float(w @ np.maximum(Xu @ u, 0.0)))
        assert grid - 1e-9 <= val <= grid + 1e-12 * max(1.0, abs(grid))  # at most the grid's, and not below it


def test_relu_kinks_judges_a_unit_with_zero_input_weights_by_its_exact_first_order_condition():
    X, Y = _clusters()
    net = models.mlp([1, 2, 1], seed=0, dtype=torch.float64)
    theta = torch.tensor([1.3, 0.0, -1.0, 0.0, 0.9, -0.4, 0.1], dtype=torch.float64)  # unit 1: w = b = 0
    k = level_sets.relu_kinks(net, X, Y, theta)
    assert k.zero_units == [1] and len(k.pairs) == 12 and k.rank < len(k.pairs) and k.independent
    f = level_sets.mse_loss(net, X, Y)
    # phi(u): the loss's first-order change growing unit 1's (w, b) along u, by finite differences
    u = torch.as_tensor(k.zero_dirs[0])
    h = 1e-7
    grown = theta.clone()
    grown[[1, 3]] = h * u
    assert (float(f(grown)) - float(f(theta))) / h == pytest.approx(float(k.zero_descent[0]), abs=1e-6)
    assert k.stationarity >= max(0.0, -float(k.zero_descent[0]))


def test_dead_units_counts_units_inactive_on_every_sample():
    """A unit whose pre-activation is <= 0 on all samples is dead (it opens flat routes a search does not see);
    one active on a single sample is not; biases count; tanh nets have none.
    """
    import numpy as np

    X = np.array([[-1.0], [0.5], [2.0]])
    # 1-3-1 with biases, pre-activations w x + b: unit 0 = x (active on 0.5, 2), unit 1 = -x - 3 (never active),
    # unit 2 = x - 1.5 (active on x = 2 only)
    W1, b1, W2, b2 = [1.0, -1.0, 1.0], [0.0, -3.0, -1.5], [1.0, 1.0, 1.0], [0.0]
    assert level_sets.dead_units([1, 3, 1], X, W1 + b1 + W2 + b2) == 1
    assert level_sets.dead_units([1, 3, 1], X, [-1.0] * 3 + [-3.0] * 3 + W2 + b2) == 3
    assert level_sets.dead_units([1, 3, 1], X, W1 + b1 + W2 + b2, activation="tanh") == 0
    with pytest.raises(ValueError, match="theta"):
        level_sets.dead_units([1, 3, 1], X, W1 + b1 + W2)


def test_redundant_units_is_the_feature_rank_deficit():
    """Dead units and duplicated units (the same breakpoint on the same side) both leave a unit free; a generic
    narrow net has none; with more units than samples the deficit is at least the excess.
    """
    import numpy as np

    X = np.array([[-1.0], [0.5], [2.0], [3.0]])
    W2b2 = [1.0, 1.0, 0.0]
    generic = [1.0, -1.0] + [0.0, 1.0] + W2b2  # x and 1 - x: independent of each other and of the ones
    duplicate = [1.0, 2.0] + [-1.0, -2.0] + W2b2  # relu(x - 1) and relu(2x - 2): proportional on the data
    dead = [1.0, -1.0] + [0.0, -5.0] + W2b2  # the second unit never fires
    assert level_sets.redundant_units([1, 2, 1], X, generic) == 0
    assert level_sets.redundant_units([1, 2, 1], X, duplicate) == 1
    assert level_sets.redundant_units([1, 2, 1], X, dead) == 1 and level_sets.dead_units([1, 2, 1], X, dead) == 1
    assert level_sets.dead_units([1, 2, 1], X, duplicate) == 0  # what dead_units alone misses
    wide = np.random.default_rng(0).normal(size=3 * 8 + 1)  # 1-8-1: 9 columns, 4 samples
    assert level_sets.redundant_units([1, 8, 1], X, wide) >= 5
    with pytest.raises(ValueError, match="rtol"):
        level_sets.redundant_units([1, 2, 1], X, generic, rtol=0.0)
