"""landscape.geometry.critical: known critical points of toy functions, exact minima of networks (Cooper's rank
count).
"""

import doctest

import numpy as np
import pytest
import torch

from landscape.curvature.hessian import dense_hessian
from landscape.geometry import critical, linearise


def test_finds_every_critical_point_of_a_separable_quartic():
    # L(t) = sum (t_i^2 - 1)^2: critical points t_i in {-1, 0, 1}; index = share of zero coordinates, loss = their count
    rng = np.random.default_rng(0)
    starts = rng.choice([-1.0, 0.0, 1.0], size=(6, 3)) + 0.05 * rng.standard_normal((6, 3))
    cp = critical.find_critical_points(lambda t: ((t**2 - 1) ** 2).sum(), starts, grad_tol=1e-10)
    expected = np.round(starts)
    assert cp.table["critical"].all()
    assert np.allclose(cp.thetas, expected, atol=1e-9)
    zeros = (expected == 0).sum(axis=1)
    assert np.array_equal(cp.table["n_negative"].to_numpy(), zeros)
    assert np.allclose(cp.table["loss"], zeros, atol=1e-12)
    assert np.allclose(cp.table["index"], zeros / 3)
    assert np.allclose(cp.eigenvalues[0], np.sort(np.where(expected[0] == 0, -4.0, 8.0)))


def test_model_loss_is_the_slides_energy():
    net = linearise.two_layer(3, 4, n_out=2, activation="tanh", seed=0, scaled=False, second="normal")
    X = np.random.default_rng(1).standard_normal((5, 3))
    Y = np.random.default_rng(2).standard_normal((5, 2))
    L = critical.model_loss(net, X, Y, "mse", scale=0.5)
    out = net(torch.as_tensor(X)).detach().numpy()
    eps = ((out - Y) ** 2).sum() / (2 * 5) / 2  # epsilon = n^{-1} (2m)^{-1} sum ||e||^2, n = 2 outputs
    theta = torch.nn.utils.parameters_to_vector(net.parameters()).detach()
    assert float(L(theta)) == pytest.approx(eps, rel=1e-12)


@pytest.mark.parametrize("m, r", [(5, 1), (4, 2), (7, 3)])
def test_exact_minimum_has_hessian_rank_m_times_r(m, r):
    # Cooper: at an exact fit of m points with r outputs (smooth activation) rank H = m r, null space p - m r
    net = linearise.two_layer(3, 12, n_out=r, activation="tanh", seed=m, scaled=False, second="normal")
    X = np.random.default_rng(m).standard_normal((m, 3))
    with torch.no_grad():
        Y = net(torch.as_tensor(X)).numpy()  # targets = the network's own outputs: theta is a global minimum
    L = critical.model_loss(net, X, Y, "mse", scale=0.5)
    theta = torch.nn.utils.parameters_to_vector(net.parameters()).detach()
    ev = np.linalg.eigvalsh(dense_hessian(net, lambda o, t: 0.5 * torch.nn.functional.mse_loss(o, t),
                                          (torch.as_tensor(X), torch.as_tensor(Y))))
    frac, neg, zero = critical.hessian_index(ev, 1e-10)
    p = theta.numel()
    assert (neg, p - zero) == (0, m * r)
    assert float(torch.func.grad(L)(theta).norm()) < 1e-14


def test_index_energy_fit_recovers_parameters():
    a = np.repeat([0.0, 0.05, 0.1, 0.2, 0.3], 3)
    e = 0.2 + (a / 1.5) ** (2 / 3)
    fit = critical.index_energy_fit(e, a)
    assert fit.eps_c == pytest.approx(0.2, abs=1e-12) and fit.alpha0 == pytest.approx(1.5, rel=1e-10)
    assert fit.exponent == pytest.approx(1.5, rel=1e-5) and fit.n_levels == 4  # the positive index levels
    assert fit.n_points == 12


def test_validation():
    with pytest.raises(ValueError, match="starts"):
        critical.find_critical_points(lambda t: (t**2).sum(), np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="eigenvalues"):
        critical.hessian_index([])
    with pytest.raises(ValueError, match="two different positive"):
        critical.index_energy_fit([0.1, 0.2], [0.0, 0.0])
    with pytest.raises(ValueError, match="rows"):
        critical.model_loss(linearise.two_layer(2, 3), np.ones((4, 2)), np.ones((3, 1)))


def test_doctests():
    assert doctest.testmod(critical, optionflags=doctest.ELLIPSIS).failed == 0


def test_descent_starts_are_gradient_descent_snapshots():
    A = np.diag([1.0, 2.0, 3.0])
    loss = lambda t: 0.5 * t @ torch.as_tensor(A) @ t  # noqa: E731
    starts = critical.descent_starts(loss, 3, 4, seed=5, lr=0.1, max_steps=20)
    steps = np.round(np.geomspace(1, 21, 4) - 1).astype(int)
    for i, k in enumerate(steps):
        t0 = np.random.default_rng([5, i]).standard_normal(3)
        assert np.allclose(starts[i], (1 - 0.1 * np.diag(A)) ** k * t0, atol=1e-14)


def test_index_energy_study_units_bit_identical():
    """Issue 15: the values of phi are independent units; one worker or two give the same frames to the bit, and
    every reported point meets the gradient tolerance with its energy at least the fitted eps_c's minimum.
    """
    import pandas as pd

    kw = {"n_starts": 2, "max_iter": 40, "grad_tol": 1e-3, "seed": 1, "polish_iter": 50}  # one start polishes to 5e-11
    one = critical.index_energy_study(2, [0.5, 0.8], jobs=1, **kw)
    two = critical.index_energy_study(2, [0.5, 0.8], jobs=2, **kw)
    for a, b in zip(one, two, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    cps, fits = one
    assert list(fits.m) == [8, 5] and len(cps) == 2 * kw["n_starts"]  # every start is reported
    crit = cps[cps.critical]
    assert len(crit) >= 1  # else the next line checks nothing (with seed 0 no start reached 1e-8)
    assert (crit.grad_norm <= 1e-8).all() and (cps[~cps.critical].grad_norm > 1e-8).all()  # flagged by the polish
    assert {"minima", "bracketed", "fit_points", "max_grad_norm"} <= set(fits.columns)
    assert fits.critical.sum() == len(crit)
    np.testing.assert_allclose(fits.eps_c_linear_source, 0.5 * (1 - fits.phi), rtol=1e-15)


def test_cooper_ranks_exact_fit():
    """At an exact fit H = H0 = J^T J / m: rank m r and null space p - m r (Cooper), no negative eigenvalue."""
    df = critical.cooper_ranks([3, 5], [1, 2], width=6, seed=1)
    assert (df["rank"] == df.m_r).all() and (df.null_dim == df.p_minus_mr).all() and (df.negative == 0).all()
    assert list(df.p) == [3 * 6 + 6 * r for r in (1, 2)] * 2


def _linear_net_points():
    from landscape.geometry import linear_networks as ln

    rng = np.random.default_rng(3)
    X = rng.standard_normal((4, 30))
    Y = rng.standard_normal((3, 4)) @ X + 0.3 * rng.standard_normal((3, 30))
    problem = ln.linear_problem(X, Y, 2)
    exact = ln.critical_points(problem, tol=1e-9)
    return problem, exact, ln


def test_polished_points_of_a_linear_net_have_the_exact_baldi_hornik_indices():
    """Baldi-Hornik critical points of a two-layer linear net (3 of them, index 0, 1 and 2 by their count), each
    perturbed by 1e-3: the search polishes them to |grad| <= 1e-10 at the exact point's loss (to 1e-12) and counts
    the exact index with the residual's tolerance; the GL(p) orbit's p^2 = 4 flat directions count as zero. The
    loose Levenberg-Marquardt end point (|grad| ~ 1e-3, the chapter's former rule) does not give the index.
    """
    problem, exact, ln = _linear_net_points()
    L = lambda t: ln.loss(problem, t)  # noqa: E731
    rng = np.random.default_rng(0)
    starts = np.array([ln.critical_point(problem, [int(i) for i in s.split()]) for s in exact.subset])
    starts = starts + 1e-3 * rng.standard_normal(starts.shape)
    cp = critical.find_critical_points(L, starts, max_iter=50, grad_tol=1e-3, polish_iter=100)
    t = cp.table
    assert sorted(exact.expected_index) == [0, 1, 2] and (exact.index == exact.expected_index).all()
    assert (t.grad_norm <= 1e-10).all() and t.critical.all()
    np.testing.assert_allclose(t.loss, exact.loss, rtol=0, atol=1e-12)
    assert list(t.n_negative) == list(exact.expected_index)
    assert list(t.n_zero) == [4, 4, 4] and (t.index_tol < 1e-6).all()
    assert (t["index"] == t.n_negative / problem.n_params).all()
    assert (t["grad_norm_lm"] > 1e-6).any()  # Levenberg-Marquardt alone stopped far above the polish
    # without the polish the zero modes carry signs: the relative rule miscounts somewhere
    loose = critical.find_critical_points(L, starts, max_iter=50, grad_tol=1e-3, polish_iter=0, zero_tol=1e-8)
    naive = [critical.hessian_index(ev, 1e-8)[1] for ev in loose.eigenvalues]
    assert naive != list(exact.expected_index)


def test_residual_tolerance_and_polish():
    # L = t0^2/2 - t1^2/2 + t0^3: at (1e-6, 0) the Newton step is ~ -1e-6 along t0, where H00 = 1 + 6 t0 changes by 6e-6
    quad = lambda t: 0.5 * (t[0] ** 2 - t[1] ** 2) + t[0] ** 3  # noqa: E731
    tau = critical.residual_tolerance(quad, np.array([1e-6, 0.0]))
    assert tau == pytest.approx(10 * 6e-6, rel=1e-3)
    assert critical.residual_tolerance(quad, np.zeros(2)) == pytest.approx(1e-10, rel=1e-12)  # the floor at |g| = 0
    th, gn, it = critical.polish(quad, np.array([0.05, 0.01]))
    assert gn <= 1e-10 and np.allclose(th, 0, atol=1e-10) and it <= 8
    assert critical.hessian_index([-1e-4, 0.5, 5.0], abs_tol=1e-3) == (0.0, 0, 1)
    assert critical.hessian_index([-1e-4, 0.5, 5.0]) == (1 / 3, 1, 0)
    with pytest.raises(ValueError, match="abs_tol"):
        critical.hessian_index([1.0], abs_tol=-1.0)
    with pytest.raises(ValueError, match="factor"):
        critical.residual_tolerance(quad, np.zeros(2), factor=0.0)


def test_index_energy_fit_uses_the_saddles_and_checks_the_bracket():
    a = np.array([0.0, 0.0, 0.1, 0.1, 0.2, 0.3])
    e = np.where(a > 0, 0.2 + (a / 1.5) ** (2 / 3), [0.15, 0.19, 0, 0, 0, 0])
    fit = critical.index_energy_fit(e, a)  # the minima (below 0.2) do not pull the line
    assert fit.eps_c == pytest.approx(0.2, abs=1e-12) and fit.alpha0 == pytest.approx(1.5, rel=1e-10)
    assert (fit.n_points, fit.n_levels, fit.n_below, fit.n_above, fit.bracketed) == (4, 3, 2, 4, True)
    e2 = np.where(a > 0, e, 0.25)  # minima above the fitted eps_c: it is not bracketed
    fit2 = critical.index_energy_fit(e2, a)
    assert fit2.n_below == 0 and not fit2.bracketed
    with pytest.raises(ValueError, match="positive"):
        critical.index_energy_fit([0.1, 0.2, 0.3], [0.0, 0.0, 0.1])
