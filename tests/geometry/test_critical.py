"""landscape.geometry.critical: known critical points of toy functions, exact minima of networks (Cooper's rank count)."""

import doctest

import numpy as np
import pytest
import torch

from landscape.geometry import critical, linearise
from landscape.curvature.hessian import dense_hessian


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
    assert fit.exponent == pytest.approx(1.5, rel=1e-5) and fit.n_levels == 5


def test_validation():
    with pytest.raises(ValueError, match="starts"):
        critical.find_critical_points(lambda t: (t**2).sum(), np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="eigenvalues"):
        critical.hessian_index([])
    with pytest.raises(ValueError, match="two different"):
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
    every reported point meets the gradient tolerance with its energy at least the fitted eps_c's minimum."""
    import pandas as pd

    kw = {"n_starts": 3, "max_iter": 15, "grad_tol": 1e-3, "seed": 0}
    one = critical.index_energy_study(2, [0.5, 0.8], jobs=1, **kw)
    two = critical.index_energy_study(2, [0.5, 0.8], jobs=2, **kw)
    for a, b in zip(one, two, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    cps, fits = one
    assert list(fits.m) == [8, 5] and (cps.grad_norm <= 1e-3).all()
    assert fits.critical.sum() == len(cps)
    np.testing.assert_allclose(fits.eps_c_linear_source, 0.5 * (1 - fits.phi), rtol=1e-15)


def test_cooper_ranks_exact_fit():
    """At an exact fit H = H0 = J^T J / m: rank m r and null space p - m r (Cooper), no negative eigenvalue."""
    df = critical.cooper_ranks([3, 5], [1, 2], width=6, seed=1)
    assert (df["rank"] == df.m_r).all() and (df.null_dim == df.p_minus_mr).all() and (df.negative == 0).all()
    assert list(df.p) == [3 * 6 + 6 * r for r in (1, 2)] * 2
