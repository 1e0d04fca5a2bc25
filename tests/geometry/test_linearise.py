"""landscape.geometry.linearise against exact answers: lstsq, analytic Jacobians, the GD contraction of a linear
system.
"""

import doctest

import numpy as np
import pytest
import torch

from landscape.geometry import linearise
from landscape.studies.linearisation import linearise_studies


@pytest.fixture
def problem():
    net = linearise.two_layer(4, 60, seed=3)
    X = np.random.default_rng(0).standard_normal((25, 4))
    y = np.cos(X[:, 1])
    return net, X, y


def test_jacobian_matches_analytic_formula(problem):
    net, X, _ = problem
    W1, w2 = net.w1.detach().numpy(), net.w2.detach().numpy()[0]
    s = 60**-0.5
    A = np.tanh(X @ W1.T)
    dW1 = s * (w2 * (1 - A**2))[:, :, None] * X[:, None, :]  # slide: p^{-1/2} w2_i phi'(w1_i x) x_j
    expected = np.concatenate([dW1.reshape(25, -1), s * A], axis=1)
    assert np.allclose(linearise.jacobian(net, X), expected, atol=1e-14)


def test_jacobian_rows_are_sample_major():
    net = linearise.two_layer(3, 7, n_out=2, seed=0)
    X = np.random.default_rng(1).standard_normal((5, 3))
    J = linearise.jacobian(net, X)
    J1 = linearise.jacobian(net, X[1:2])
    assert J.shape == (10, 35)
    assert np.allclose(J[2:4], J1, atol=1e-15)


@pytest.mark.parametrize("method", ["dense", "lsqr"])
def test_min_norm_step_equals_lstsq(problem, method):
    net, X, y = problem
    J = linearise.jacobian(net, X)
    r = y - net(torch.as_tensor(X)).detach().numpy().ravel()
    expected = np.linalg.lstsq(J, r, rcond=None)[0]
    step = linearise.min_norm_step(net, X, y, method=method)
    assert np.allclose(step, expected, atol=1e-9 if method == "lsqr" else 1e-12)
    # fits exactly (p > m, full rank) and is orthogonal to the null space of J: the least-norm solution
    assert np.allclose(J @ step, r, atol=1e-9)
    _, sv, Vt = np.linalg.svd(J)
    null = Vt[np.sum(sv > 1e-10 * sv[0]):]
    assert null.shape[0] == J.shape[1] - J.shape[0]
    assert np.abs(null @ step).max() < 1e-9


def test_linearisation_error_is_second_order(problem):
    net, X, y = problem
    d = linearise.min_norm_step(net, X, y)
    e1 = linearise.linearisation_error(net, X, 1e-3 * d).max_abs
    e2 = linearise.linearisation_error(net, X, 2e-3 * d).max_abs
    assert e2 / e1 == pytest.approx(4.0, rel=0.01)  # third-order term ~ 0.4% at this scale
    assert linearise.linearisation_error(net, X, 1e-2 * d).step_norm == pytest.approx(1e-2 * np.linalg.norm(d))


def test_linear_gd_contracts_at_the_predicted_rate():
    # J J^T with eigenvalues 1 and 9: residual factor (kappa - 1)/(kappa + 1) = 0.8 per step on both extreme modes
    J = np.array([[1.0, 0.0, 0.0], [0.0, 3.0, 0.0]])
    kappa, rate = linearise.gd_rate(J)
    assert (kappa, rate) == (pytest.approx(9.0), pytest.approx(0.8))
    losses = linearise.linear_gd(J, np.array([1.0, 1.0]), steps=20)
    assert np.allclose(losses[1:] / losses[:-1], rate**2, rtol=1e-12)


def test_power_law_fit_recovers_exponent_and_covers_it():
    rng = np.random.default_rng(0)
    x = np.geomspace(10, 1e4, 12)
    y = 2 * x**-0.5 * np.exp(0.05 * rng.standard_normal(12))
    fit = linearise.power_law_fit(x, y)
    assert fit.lo < -0.5 < fit.hi and fit.hi - fit.lo < 0.1


def test_validation(problem):
    net, X, y = problem
    with pytest.raises(ValueError, match="X"):
        linearise.jacobian(net, np.full((3, 4), np.nan))
    with pytest.raises(ValueError, match="y"):
        linearise.min_norm_step(net, X, y[:-1])
    with pytest.raises(ValueError, match="method"):
        linearise.min_norm_step(net, X, y, method="svd")
    with pytest.raises(ValueError, match="delta"):
        linearise.linearisation_error(net, X, np.zeros(3))
    with pytest.raises(ValueError, match="p"):
        linearise.two_layer(3, 0)


def test_doctests():
    assert doctest.testmod(linearise, optionflags=doctest.ELLIPSIS).failed == 0


def test_hessian_split_matches_the_gauss_newton_oracle():
    from landscape.curvature.hessian import dense_gauss_newton

    net = linearise.two_layer(3, 3, n_out=3, activation="tanh", seed=0, scaled=False, second="normal")
    X = np.random.default_rng(0).standard_normal((6, 3))
    Y = linearise.residual_targets(net, X, 0.3, seed=1)
    H, H0, H1 = linearise.hessian_split(net, X, Y)
    G = dense_gauss_newton(net, lambda o, t: 0.5 * ((o - t) ** 2).sum(dim=1).mean(),
                           (torch.as_tensor(X), torch.as_tensor(Y)))
    assert np.allclose(H0, G, atol=1e-13) and np.allclose(H, H0 + H1)
    assert np.abs(H1).max() > 1e-3  # non-zero residuals give a residual term
    Y0 = linearise.residual_targets(net, X, 0.0)
    assert np.abs(linearise.hessian_split(net, X, Y0)[2]).max() < 1e-13  # at an exact fit H = H0


def test_residual_targets_have_the_stated_energy():
    net = linearise.two_layer(4, 8, n_out=4, seed=0)
    X = np.random.default_rng(0).standard_normal((4000, 4))
    Y = linearise.residual_targets(net, X, 0.2, seed=3)
    e = net(torch.as_tensor(X)).detach().numpy() - Y
    eps = (e**2).sum() / (2 * 4000) / 4  # n^{-1} (2m)^{-1} sum ||e||^2
    assert eps == pytest.approx(0.2, rel=0.02)  # 16000 squared normals: relative sd 1.1%


def test_width_sweep_units_bit_identical_and_exact():
    """Issue 15: (width, initialisation) units; one worker or two give the same frame; the min-norm step fits the
    linearised problem (rank m, nullity p - m) to rounding at every width.
    """
    import pandas as pd

    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 3))
    y = np.sin(X[:, 0])
    one = linearise_studies.width_sweep(X, y, [4, 16], seeds=2, seed=1, jobs=1)
    two = linearise_studies.width_sweep(X, y, [4, 16], seeds=2, seed=1, jobs=2)
    pd.testing.assert_frame_equal(one, two, check_exact=True)
    assert (one["rank"] == 6).all() and (one.nullity == one.p - 6).all() and (one.fit_residual < 1e-10).all()
    assert (one.row_space_share > 1 - 1e-10).all()


def test_split_study_symmetry_null_space():
    """The linear n-n-n net: H0 has the GL(n) null space of dimension n^2; with eps = 0 (targets = outputs) H1 = 0 and
    no eigenvalue is negative.
    """
    df, spectra_ = linearise_studies.split_study(3, [0.5], [0.0, 0.3], activations=["linear"], seed=0)
    assert list(df.m) == [12, 12] and (df.null_H0 == 9).all()
    assert df.alpha.iloc[0] == 0.0 and df.alpha.iloc[1] > 0
    assert spectra_[("linear", 0.5, 0.3)].shape == (18,)


def test_gd_step_scan_threshold_and_rates():
    """GD on ||J Delta - r||^2 (slide update) converges iff alpha sigma_max < 2, exactly (grid 2 % either side of
    the threshold); the late per-step factor is rho(alpha) = max|1 - alpha sigma| to 1e-6 where it converges; the
    slide's rate (kappa-1)/(kappa+1) is met only at alpha* = 2/(sigma_max + sigma_min): below alpha* (inside the
    slide's condition) the factor is larger, between alpha* and 2/sigma_max GD still converges.
    """
    rng = np.random.default_rng(4)
    J = rng.standard_normal((6, 20)) / np.sqrt(20) + np.eye(6, 20)
    r = rng.standard_normal(6)
    sig = np.linalg.eigvalsh(J @ J.T)
    smin, smax = sig.min(), sig.max()
    lrs = np.array([0.3, 0.8, 1.0, 1.3, 1.98, 2.02, 2.5]) / smax
    df = linearise.gd_step_scan(J, r, lrs, steps=4000)
    assert df.converged.tolist() == [True, True, True, True, True, False, False]
    assert np.allclose(df.lr_sigma_max, lrs * smax, rtol=1e-12)
    np.testing.assert_allclose(df.rho, np.maximum(np.abs(1 - lrs * smin), np.abs(1 - lrs * smax)), rtol=1e-12)
    fast = df[df.converged & (df.loss_ratio > 1e-250)]  # not yet at float underflow
    np.testing.assert_allclose(fast.observed, fast.rho, rtol=1e-6)
    star = 2 / (smax + smin)
    at = linearise.gd_step_scan(J, r, [star, 0.5 * star], steps=200)
    kappa = smax / smin
    assert at.rho.iloc[0] == pytest.approx((kappa - 1) / (kappa + 1), rel=1e-12)
    assert at.below_slide_step.tolist() == [False, True]
    assert at.observed.iloc[1] > at.slide_rate.iloc[1] * 1.01  # the slide's condition does not give its rate
    assert (star * smax < 1.9) and df[(df.lr > star) & df.converged].shape[0] >= 1  # nor is it needed to converge
    with pytest.raises(ValueError, match="lrs"):
        linearise.gd_step_scan(J, r, [0.0], steps=10)
    with pytest.raises(ValueError, match="steps"):
        linearise.gd_step_scan(J, r, [0.1], steps=1)


@pytest.mark.parametrize("activation", ["tanh", "softplus", "erf", "linear"])
def test_output_hessian_norm_is_the_dense_hessian_norm(activation):
    """The closed form per hidden unit equals max_mu ||d^2 H(x_mu) / d theta^2||_2 of the dense Hessian (float64)."""
    from torch.func import functional_call, hessian

    from landscape.nets import models

    net = linearise.two_layer(3, 7, activation=activation, seed=1, second="normal")
    X = np.random.default_rng(0).standard_normal((4, 3))
    Xt, theta = torch.as_tensor(X), models.flatten(net)
    dense = max(np.abs(np.linalg.eigvalsh(hessian(
        lambda t, mu=mu: functional_call(net, models.unflatten(net, t), (Xt[mu:mu + 1],)).sum())(theta).numpy())).max()
        for mu in range(4))
    assert linearise.output_hessian_norm(net, X) == pytest.approx(dense, rel=1e-12)


def test_output_hessian_norm_falls_as_p_to_minus_half_and_rejects_bad_input():
    """For the linear net every block is [[0, x], [x^T, 0]] p^(-1/2), so L = |x| p^(-1/2) exactly."""
    X = np.array([[1.0, 2.0, 2.0]])
    for p in (4, 16, 64):
        net = linearise.two_layer(3, p, activation="linear", seed=0)
        assert linearise.output_hessian_norm(net, X) == pytest.approx(3.0 / np.sqrt(p), rel=1e-14)
    with pytest.raises(ValueError, match="model"):
        linearise.output_hessian_norm(linearise.two_layer(3, 4, n_out=2, seed=0), X)


def test_two_layer_positive_output_weights():
    net = linearise.two_layer(2, 5, activation="softplus", seed=0, second="positive")
    assert torch.equal(net.w2.detach(), torch.ones(1, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match="second"):
        linearise.two_layer(2, 5, second="negative")


def test_gd_step_scan_bounds_along_the_run():
    """J = diag(1, 2): sigma = 1, 4, kappa = 4, rate 0.6. A residual on the slow mode contracts by 1 - alpha per
    step exactly, the loss by (1 - alpha)^2: the slide's bound 0.6^k fails for alpha = 0.1 (0.81 > 0.6) and holds at
    alpha* = 0.4 (0.36) and at 0.45 (0.3025); rho^2k holds for every converging step.
    """
    J = np.diag([1.0, 2.0])
    df = linearise.gd_step_scan(J, [1.0, 0.0], [0.1, 0.4, 0.45], steps=50)
    assert df.slide_bound_run.tolist() == [False, True, True]
    assert df.rho_bound_run.all()


def test_width_sweep_centred_tight_case():
    """centred=True: the residual is y itself (the initial output of the positive-weight net is removed exactly);
    hess_norm is output_hessian_norm of the same net and bound = L |step|^2 / 2.
    """
    rng = np.random.default_rng(3)
    X = rng.standard_normal((6, 2))
    y = np.sin(X[:, 0])
    df = linearise_studies.width_sweep(X, y, [30], seeds=1, jobs=1, activation="softplus", second="positive",
                                       centred=True)
    row = df.iloc[0]
    assert row.residual_norm == pytest.approx(np.linalg.norm(y), rel=1e-12)
    net = linearise.two_layer(2, 30, activation="softplus", seed=0, second="positive")
    assert row.hess_norm == pytest.approx(linearise.output_hessian_norm(net, X), rel=1e-14)
    assert row.bound == pytest.approx(0.5 * row.hess_norm * row.step_norm**2, rel=1e-14)
    assert row.fit_residual < 1e-10
