"""landscape.noise against exact answers: stationary variances (eq 8), the 4-D toy's trace drift (Theorem 1),
CS(H, C) against dense matrices (eq 35), the FDR identity on a quadratic (App. A.5), valley projection and the
recursive bisection on a circular valley (Sec. 2.1.1).
"""

import numpy as np
import pandas as pd
import pytest
import scipy.linalg
import torch

from landscape import noise
from landscape.curvature import hessian
from landscape.nets import models
from landscape.studies.noise_hessian import nets


@pytest.mark.parametrize("lr,lam,c", [(0.05, 1.0, 2.0), (0.2, 4.0, 0.5)])
def test_stationary_variance_eq8(lr, lam, c):
    R = 20000
    path = noisy = noise.noisy_descent(lambda t: lam * t, np.zeros((R, 1)), lr=lr, steps=int(20 / (lr * lam)),
                                       noise_cov=np.array([[c]]), seed=3, every=10)
    var = float(np.mean(noisy[-1] ** 2))
    exact = noise.stationary_variance(lr, c, lam)
    se = exact * np.sqrt(2 / R)  # std of a Gaussian sample variance
    assert abs(var - exact) < 4 * se
    # eq (8) is the leading order: exact = eq8 / (1 - lr lam / 2)
    assert exact == pytest.approx(lr * c / (2 * lam) / (1 - lr * lam / 2), rel=1e-12)
    assert path.shape == (int(20 / (lr * lam)) // 10 + 1, R, 1)


def test_noisy_descent_shapes_and_validation():
    g = lambda t: t  # noqa: E731
    assert noise.noisy_descent(g, np.ones(3), lr=0.1, steps=5).shape == (6, 3)
    gd = noise.noisy_descent(g, np.ones(3), lr=0.1, steps=5)
    np.testing.assert_allclose(gd[-1], 0.9 ** 5 * np.ones(3), rtol=1e-14)  # plain GD: exact
    full = np.array([[1.0, 0.3], [0.3, 0.5]])
    a = noise.noisy_descent(lambda t: 0 * t, np.zeros((20000, 2)), lr=1.0, steps=1, noise_cov=full, seed=0)
    b = noise.noisy_descent(lambda t: 0 * t, np.zeros((20000, 2)), lr=1.0, steps=1,
                            noise_cov=lambda t: np.broadcast_to(full, (len(t), 2, 2)), seed=0)
    np.testing.assert_allclose(a, b, atol=1e-12)  # constant and callable covariances draw the same noise
    np.testing.assert_allclose(np.cov(a[-1].T), full, atol=4 * np.sqrt(2 / 20000))
    with pytest.raises(ValueError, match="lr"):
        noise.noisy_descent(g, np.ones(3), lr=-1.0, steps=5)
    with pytest.raises(ValueError, match="steps"):
        noise.noisy_descent(g, np.ones(3), lr=0.1, steps=0)
    with pytest.raises(ValueError, match="theta0"):
        noise.noisy_descent(g, np.array([np.nan]), lr=0.1, steps=1)
    with pytest.raises(ValueError, match="noise_cov"):
        noise.noisy_descent(g, np.ones(3), lr=0.1, steps=1, noise_cov=np.eye(2))


def test_designed_noise_structures():
    toy = noise.anticorrelated_toy()
    th = np.array([[0.1, 0.2, 0.3, -0.4]])
    lam = toy.lambdas(th)
    np.testing.assert_allclose(np.diag(noise.sgd_noise(toy.lambdas, 4, 0.5)(th)[0]), [*0.5 * lam[0], 0, 0])
    np.testing.assert_allclose(np.diag(noise.isotropic_noise(toy.lambdas, 4, 2.0)(th)[0]), [2, 2, 0, 0])
    # closed-form gradient and curvatures against autograd / finite differences of the loss
    for t in (noise.four_d_toy(), toy, noise.entropic_toy(0.3)):
        x = np.array([[0.3, -0.2, 1.1, 0.7]])[:, :t.d]
        fd = [(t.loss(x + e) - t.loss(x - e))[0] / 2e-6 for e in 1e-6 * np.eye(t.d)]
        np.testing.assert_allclose(t.grad(x)[0], fd, rtol=1e-6, atol=1e-8)
        # lambda_i = d^2 L / d theta_i^2 (i <= n): central differences of the closed-form gradient
        fd2 = [(t.grad(x + e) - t.grad(x - e))[0, i] / 2e-6 for i, e in enumerate(1e-6 * np.eye(t.d)[:t.n])]
        np.testing.assert_allclose(fd2, t.lambdas(x)[0], rtol=1e-7)


def test_four_d_toy_trace_drift_closed_form():
    toy, lr, s, R, K = noise.four_d_toy(), 0.004, 1.0, 4000, 1000
    rng = np.random.default_rng(0)
    th = np.zeros((R, 4))
    th[:, 2:] = 5.0  # lambda = (20, 30), signs fixed throughout
    lam = toy.lambdas(th)[0]
    th[:, :2] = rng.normal(0, np.sqrt(noise.stationary_variance(lr, s * lam, lam)), (R, 2))  # start stationary
    path = noise.noisy_descent(toy.grad, th, lr=lr, steps=K, noise_cov=noise.sgd_noise(toy.lambdas, 4, s),
                               seed=1, every=K)
    dT = toy.trace(path[-1]) - toy.trace(path[0])
    # closed form: K steps of eqs (6)-(8) with the exact stationary variance, trapezoid over the (slow) drift
    rate = 0.5 * (noise.expected_change(toy, path[0], lr, s * toy.lambdas(path[0])).mean()
                  + noise.expected_change(toy, path[-1], lr, s * toy.lambdas(path[-1])).mean())
    se = dT.std(ddof=1) / np.sqrt(R)
    assert abs(dT.mean() - K * rate) < 4 * se
    # Theorem 1's leading order: -(lr^2 / 4) s ||sum grad lambda||^2 = -13 lr^2 s per step
    lead = noise.expected_change(toy, path[0], lr, s * toy.lambdas(path[0]), exact=False).mean()
    assert lead == pytest.approx(-13 * lr ** 2 * s, rel=1e-12)
    assert abs(dT.mean() / (K * lead) - 1) < 0.1  # exact/leading = 1/(1 - lr lam/2) ~ 1.05 here, plus 4 se


def test_theorem2_isotropic_drift_against_simulation():
    """Theorem 2 / Corollary 2.1: isotropic noise C = c I in the non-degenerate space lowers log det = sum log
    lambda_i at the rate of eq (12) with f = c log det: per step -(eta^2 c / 4) ||grad log det||^2 to leading order
    (closed form 0.08222... at lambda = (20, 30) on the 4-D toy), and the simulated change over 1000 steps lies
    within 4 standard errors of expected_change with weights 1/lambda and the exact discrete stationary variance.
    """
    toy, lr, c, R, K = noise.four_d_toy(), 0.004, 100.0, 2000, 1000
    rng = np.random.default_rng(0)
    th = np.zeros((R, 4))
    th[:, 2:] = 5.0  # lambda = (20, 30), grad lambda_1 = 2 (1, 1), grad lambda_2 = 2 (1, 2) while the signs hold
    lam = toy.lambdas(th)[0]
    th[:, :2] = rng.normal(0, np.sqrt(noise.stationary_variance(lr, c, lam)), (R, 2))  # start stationary
    path = noise.noisy_descent(toy.grad, th, lr=lr, steps=K, noise_cov=noise.isotropic_noise(toy.lambdas, 4, c),
                               seed=3, every=K)

    def logdet(t):
        return np.log(toy.lambdas(t)).sum(axis=1)

    d = logdet(path[-1]) - logdet(path[0])
    lead = noise.expected_change(toy, path[0][:1], lr, c, 1 / lam, exact=False)[0]
    grad_logdet = 2 / lam[0] * np.array([1, 1]) + 2 / lam[1] * np.array([1, 2])
    assert lead == pytest.approx(-lr ** 2 * c / 4 * grad_logdet @ grad_logdet, rel=1e-12)
    assert grad_logdet @ grad_logdet == pytest.approx(1 / 36 + 49 / 900, rel=1e-12)
    rate = 0.5 * sum(noise.expected_change(toy, p, lr, c, 1 / toy.lambdas(p)).mean() for p in (path[0], path[-1]))
    se = d.std(ddof=1) / np.sqrt(R)
    assert d.mean() < -10 * se  # the determinant falls, far beyond the noise
    assert abs(d.mean() - K * rate) < 4 * se
    assert abs(d.mean() / (K * lead) - 1) < 0.1  # the discrete correction 1/(1 - lr lam/2) ~ 1.05, plus 4 se


def test_entropic_equilibrium():
    assert noise.entropic_equilibrium(1e-4, 0.01) == pytest.approx(-0.02, rel=1e-12)
    # the discrete balance m (u - X) = -alpha with u = eta s / (2 - eta lam), a = 1 - eta lam,
    # X = 2 eta u^2 a^2 / (1 - (1 - eta u) a^2), lam = 1 + m^2 (worked by hand at the fixed point)
    lr, alpha = 0.1, 1e-3
    x = noise.entropic_equilibrium(alpha, lr, discrete=True)
    lam = 1 + x ** 2
    u, a = noise.stationary_variance(lr, lam, lam), 1 - lr * lam
    X = 2 * lr * u ** 2 * a ** 2 / (1 - (1 - lr * u) * a ** 2)
    assert x * (u - X) + alpha == pytest.approx(0, abs=1e-15)
    # the first-order terms cancel: m = -2 alpha / eta (1 + O(eta^2)), not the covariance-free eta lam / 2 off
    assert abs(x / -0.02 - 1) < lr ** 2  # 0.64 % at eta = 0.1
    no_cov = -alpha / u
    assert abs(no_cov / -0.02 - 1) > 0.9 * lr * lam / 2  # the balance without Cov(theta2, theta1^2): 5 % off
    for bad in ({"lr": 0.0}, {"lr": -1.0}):
        with pytest.raises(ValueError, match="lr"):
            noise.entropic_equilibrium(alpha, **bad)
    with pytest.raises(ValueError, match="strength"):
        noise.entropic_equilibrium(alpha, lr, strength=0.0)
    with pytest.raises(ValueError, match="lr"):
        noise.entropic_equilibrium(alpha, 2.5, discrete=True)


@pytest.mark.parametrize("alpha, lr, steps", [(2e-4, 0.08, 12_500), (1e-3, 0.1, 8_000)])
def test_entropic_equilibrium_discrete_against_simulation(alpha, lr, steps):
    """The discrete balance with its covariance term against noisy descent on the tilted toy: within 3 standard
    errors of the replica mean (1,000 replicas, 40 relaxation times 2 / eta^2, started at the prediction, the
    first 10 % dropped), where eq (38) and the covariance-free balance are both more than 3 s.e. off
    (measured: 1.0 / 4.0 / 25 s.e. at eta = 0.08 and 0.8 / 5.1 / 28 s.e. at eta = 0.1).
    """
    R = 1000
    toy = noise.entropic_toy(np.full(R, alpha))
    pred = noise.entropic_equilibrium(alpha, lr, discrete=True)
    theta0 = np.zeros((R, 2))
    theta0[:, 1] = pred
    path = noise.noisy_descent(toy.grad, theta0, lr=lr, steps=steps, every=steps // 400,
                               noise_cov=noise.sgd_noise(toy.lambdas, 2, 1.0), seed=1)
    tail = path[len(path) // 10:, :, 1].mean(0)
    mean, se = tail.mean(), tail.std(ddof=1) / np.sqrt(R)
    assert abs(mean - pred) < 3 * se
    assert abs(mean - noise.entropic_equilibrium(alpha, lr)) > 3 * se  # eq (38) alone is resolved off
    lam = 1 + pred ** 2  # the balance without Cov(theta2, theta1^2): m u = -alpha, off by eta lam / 2
    no_cov = -alpha / noise.stationary_variance(lr, lam, lam)
    assert abs(mean - no_cov) > 10 * se


def test_cosine_similarity_dense_and_matrix_free():
    assert noise.cosine_similarity(np.diag([1.0, 2.0]), np.diag([2.0, 4.0])) == pytest.approx(1.0)
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    B = np.array([[1.0, 0.0], [0.0, -1.0]])
    assert noise.cosine_similarity(A, B) == pytest.approx(-1 / np.sqrt(15 * 2))
    torch.manual_seed(0)
    X, y = torch.randn(40, 4, dtype=torch.float64), torch.randint(0, 3, (40,))
    model = models.mlp([4, 5, 3], activation="tanh", seed=1, dtype=torch.float64)
    loss = noise.smoothed_cross_entropy(0.1)
    dense = noise.dense_alignment(model, loss, X, y)
    G = nets_grads(model, loss, X, y)
    C = np.cov(G.T, bias=True)
    H = hessian.dense_hessian(model, loss, (X, y))
    assert dense.cs == pytest.approx(noise.cosine_similarity(H, C), rel=1e-12)
    k = 400
    free = noise.matrix_free_alignment(model, loss, X, y, n_probes=k, seed=2)
    assert free.tr_ab == pytest.approx(dense.tr_ab, rel=1e-10)  # sum_k f_k^T H f_k: exact
    assert free.norm_b == pytest.approx(dense.norm_b, rel=1e-10)  # ||F F^T||_F: exact
    # ||H||_F^2 by Hutchinson: Rademacher per-probe variance 2(||H^2||_F^2 - sum_i (H^2)_ii^2)
    H2 = H @ H
    sd = np.sqrt(2 * (np.sum(H2 ** 2) - np.sum(np.diag(H2) ** 2)) / k)
    assert abs(free.norm_a ** 2 - np.sum(H ** 2)) < 4 * sd
    gn = noise.dense_alignment(model, loss, X, y, gauss_newton=True)
    assert gn.cs == pytest.approx(noise.cosine_similarity(hessian.dense_gauss_newton(model, loss, (X, y)), C),
                                  rel=1e-10)


def nets_grads(model, loss, X, y):
    rows = []
    for i in range(len(X)):
        model.zero_grad()
        loss(model(X[i:i + 1]), y[i:i + 1]).backward()
        rows.append(torch.cat([p.grad.reshape(-1) for p in model.parameters()]).numpy().copy())
    return np.array(rows)


def test_fdr_identity_on_quadratic():
    H = np.array([[2.0, 0.5], [0.5, 1.0]])
    C = np.diag([1.0, 0.5])
    lr = 0.1
    A = np.eye(2) - lr * H
    Sigma = scipy.linalg.solve_discrete_lyapunov(A, lr ** 2 * C)  # exact stationary covariance
    o_left, o_right = np.trace(H @ Sigma), lr / 2 * (np.trace(H @ Sigma @ H) + np.trace(C))
    assert o_left == pytest.approx(o_right, rel=1e-12)  # FDR holds exactly at stationarity
    R, T = 2000, 200
    th0 = np.random.default_rng(0).multivariate_normal(np.zeros(2), Sigma, R)
    path = noise.noisy_descent(lambda t: t @ H, th0, lr=lr, steps=T, noise_cov=C, seed=5)
    thetas = path[:-1].reshape(-1, 2)
    grads = ((path[:-1] - path[1:]) / lr).reshape(-1, 2)  # v_t = (theta_t - theta_{t+1}) / lr
    sides = noise.fdr_sides(thetas, grads, lr)
    assert sides.o_left == pytest.approx(o_left, rel=0.03)
    assert sides.o_right == pytest.approx(o_right, rel=0.03)
    assert sides.criterion < 0.02
    u = np.linalg.eigh(H)[1][:, -1:]  # FDR' in the top eigenspace: exact identity too
    assert u[:, 0] @ H @ Sigma @ u[:, 0] == pytest.approx(lr / 2 * (u[:, 0] @ (H @ Sigma @ H + C) @ u[:, 0]),
                                                          rel=1e-12)
    assert noise.fdr_criterion(thetas, grads, lr, basis=u) < 0.03
    # far from stationarity (started at a large offset, GD-like descent) the criterion is large
    far = noise.noisy_descent(lambda t: t @ H, np.full((R, 2), 5.0), lr=lr, steps=5, noise_cov=C, seed=6)
    assert noise.fdr_criterion(far[:-1].reshape(-1, 2), ((far[:-1] - far[1:]) / lr).reshape(-1, 2), lr) > 1
    with pytest.raises(ValueError, match="basis"):
        noise.fdr_sides(thetas, grads, lr, basis=np.ones((3, 1)))


def _circle():
    def loss(t):
        return 0.25 * (t @ t - 1.0) ** 2

    def loss_grad(t):
        return loss(t), (t @ t - 1.0) * t

    return loss, loss_grad


def test_valley_projection_and_bisection_on_circle():
    loss, loss_grad = _circle()
    angles = 0.05 * np.arange(41)
    state_at = lambda t: 1.3 * np.array([np.cos(angles[t]), np.sin(angles[t])])  # noqa: E731
    p = noise.project_to_valley(loss_grad, state_at(7), lr=0.2, threshold=1e-12)
    assert p.reached and loss(p.theta) < 1e-12
    assert np.arctan2(p.theta[1], p.theta[0]) == pytest.approx(angles[7], abs=1e-12)  # radial descent
    # chord loss at s: (s(1-s)(1-cos D))^2, largest sampled s = 4/9 of 10 points; threshold between D = 0.5, 1
    tau = (20 / 81 * (1 - np.cos(0.75))) ** 2
    assert noise.line_connected(loss, [1, 0], [np.cos(0.5), np.sin(0.5)], threshold=tau)
    assert not noise.line_connected(loss, [1, 0], [np.cos(1.0), np.sin(1.0)], threshold=tau)
    path = noise.projected_path(state_at, [0, 40],
                                lambda th: noise.project_to_valley(loss_grad, th, lr=0.2, threshold=1e-12),
                                lambda a, b: noise.line_connected(loss, a, b, threshold=tau))
    np.testing.assert_array_equal(path.iterations, [0, 10, 20, 30, 40])  # 2 rad -> 1 -> 0.5 rad chords
    assert path.all_connected and path.reached.all()
    tiny = noise.projected_path(state_at, [0, 20, 40],
                                lambda th: noise.project_to_valley(loss_grad, th, lr=0.2, threshold=1e-12),
                                lambda a, b: noise.line_connected(loss, a, b, threshold=1e-12))
    np.testing.assert_array_equal(tiny.iterations, np.arange(41))  # refined down to adjacent iterations
    assert not tiny.connected.any()
    with pytest.raises(ValueError, match="checkpoints"):
        noise.projected_path(state_at, [5], lambda th: None, lambda a, b: True)


def test_network_helpers():
    X = np.random.default_rng(0).normal(size=(30, 64))
    assert nets.resize_digits(X, 7).shape == (30, 49)
    cnn = nets.small_cnn((15, 20, 10))
    assert models.n_params(cnn) == 11090
    torch.manual_seed(0)
    Xt, yt = torch.randn(20, 64), torch.randint(0, 10, (20,))
    model = nets.small_cnn((2, 2), seed=0)
    rec = nets.sgd_record(model, torch.nn.functional.cross_entropy, Xt, yt, lr=0.1, batch_size=8, epochs=2)
    assert rec.states.shape == (7, models.n_params(model)) and rec.grads.shape == (6, models.n_params(model))
    np.testing.assert_allclose(rec.states[1], rec.states[0] - 0.1 * rec.grads[0], atol=1e-6)  # SGD update
    lg = nets.flat_loss_grad(model, torch.nn.functional.cross_entropy, Xt, yt)
    val, g = lg(rec.states[-1])
    assert val == pytest.approx(rec.train_loss[-1], rel=1e-5)


def _batches(sampling, N=10, S=4, epochs=1500, seed=3):
    """The minibatches ``sgd_record`` drew, read off exactly: with ``X = I`` and the loss ``mean(outputs)`` of a
    bias-free linear map, a step's gradient is the indicator of its minibatch divided by its size.
    """
    model = torch.nn.Linear(N, 1, bias=False).double()
    rec = nets.sgd_record(model, lambda out, _: out.mean(), torch.eye(N, dtype=torch.float64), torch.zeros(N),
                          lr=0.1, batch_size=S, epochs=epochs, seed=seed, sampling=sampling)
    return rec.grads > 0, rec.grads


def test_sgd_record_samplers():
    """Issue 22: "reshuffle" visits every sample once per epoch; "independent" draws every step's ``S`` distinct
    samples afresh, so the step gradients have the without-replacement covariance of eq (1.3) at every step.
    """
    N, S = 10, 4
    steps_per_epoch = -(-N // S)
    member, _ = _batches("reshuffle", N, S, epochs=50)
    per_epoch = member.reshape(50, steps_per_epoch, N)
    assert (per_epoch.sum(axis=1) == 1).all()  # a partition of the samples in every epoch
    assert sorted(set(member.sum(axis=1))) == [N - S * (steps_per_epoch - 1), S]  # the last minibatch is smaller
    member, g = _batches("independent", N, S)
    assert (member.sum(axis=1) == S).all() and len(g) == 1500 * steps_per_epoch
    # P(i in batch) = S/N; Cov of the indicator/S: (S/N)(1 - S/N)/S^2 on the diagonal, off it
    # (S(S-1)/(N(N-1)) - (S/N)^2)/S^2 (sampling without replacement)
    p = S / N
    exact = np.full((N, N), (S * (S - 1) / (N * (N - 1)) - p * p) / S**2)
    np.fill_diagonal(exact, p * (1 - p) / S**2)
    emp = np.cov(g, rowvar=False)
    # 4500 steps: a variance's relative standard error is about sqrt(2/4500) = 2.1 %; 4 of them
    assert np.allclose(np.diag(emp), np.diag(exact), rtol=0.085)
    assert np.allclose(emp[~np.eye(N, dtype=bool)].mean(), exact[0, 1], rtol=0.085)
    # steps are independent: consecutive minibatches overlap as often as two independent draws do
    overlap = (member[1:] & member[:-1]).any(axis=1).mean()
    disjoint = np.prod([(N - S - k) / (N - k) for k in range(S)])  # C(N - S, S) / C(N, S)
    assert abs(overlap - (1 - disjoint)) < 4 * np.sqrt(disjoint * (1 - disjoint) / len(member))
    with pytest.raises(ValueError, match="sampling"):
        _batches("with_replacement", epochs=1)


def _digits_like(n=48, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, 64, generator=gen), torch.randint(0, 10, (n,), generator=gen)


def test_parallel_units_bit_identical():
    """Issue 15: the chapter's independent units (sweep settings, alignment runs, FDR epochs, valley projections
    and traces) give the same numbers, to the last bit, with one worker process or two.
    """
    from landscape.studies.noise_hessian import experiments

    X, y = _digits_like()
    ce = torch.nn.functional.cross_entropy

    def sweep(jobs):
        net = models.mlp([64, 4, 10], seed=0)
        theta0 = models.flatten(net)
        df, minimum = experiments.negative_eigen_window_sweep(net, noise.smoothed_cross_entropy(0.1), X, y,
                                                              batch_sizes=[8, 24], lrs=[0.05], steps=12,
                                                              snapshots=2, seed=1, lbfgs_iter=20, jobs=jobs)
        assert not torch.equal(models.flatten(net), theta0)  # left at the L-BFGS minimum
        return df.assign(min_loss=minimum["loss"], rounds=minimum["rounds"])

    def align(jobs):
        onehot = torch.nn.functional.one_hot(y, 10).to(torch.float32)
        return experiments.alignment_study([("ce", ce, y, 0.05), ("mse", torch.nn.functional.mse_loss, onehot, 0.1)],
                                           X[:, :9].contiguous(), hidden=3, batch_size=16, checkpoints=[0, 1],
                                           n_eval=12, n_probes=2, seed=0, jobs=jobs)

    def fdr(jobs):
        cnn = nets.small_cnn([2, 2], seed=0)
        rec = nets.sgd_record(cnn, ce, X, y, lr=0.05, batch_size=16, epochs=2, seed=0)
        return nets.fdr_along(rec, cnn, ce, X[:16], y[:16], 0.05, seed=0, jobs=jobs)

    def valley(jobs):
        net = nets.small_cnn([2], seed=0)
        path, df, sgd = experiments.valley_run(net, ce, X, y, X[:8], y[:8], lr=0.1, batch_size=16, epochs=3,
                                               start_epoch=1, max_gd_steps=20, trace_probes=2, seed=0, jobs=jobs)
        return df.assign(gd_steps=path.gd_steps)

    for run in (sweep, align, fdr, valley):
        one, two = run(1), run(2)
        assert len(one) >= 2
        pd.testing.assert_frame_equal(one, two, check_exact=True)


def test_toy_runs_against_theory():
    """The chapter's toy experiments as frames: the tilted toy settles at the discrete balance (eq (38) with its
    first correction, entropic_equilibrium(discrete=True)) within 4 standard errors; the 4-D toy's drift matches the
    exact discrete prediction within 4 standard errors.
    """
    from landscape.studies.noise_hessian import toy_runs

    grid, traj = toy_runs.entropic_grid([1e-3, 2e-3], [0.1], replicas=40, steps=8000, seed=2)
    assert list(grid.columns) == ["alpha", "lr", "theta2", "theta2_se", "theory", "theory_discrete"]
    assert np.all(np.abs(grid.theta2 - grid.theory_discrete) < 4 * grid.theta2_se)
    np.testing.assert_allclose(grid.theory, [-0.02, -0.04], rtol=1e-12)  # -2 alpha / eta
    assert len(traj) == 2 * (8000 // 40 + 1) and traj.step.max() == 8000
    drift = toy_runs.trace_drift([0.002, 0.004], replicas=400, steps=300, start=5.0, seed=1)
    assert np.all(np.abs(drift.delta_trace - drift.theory_exact) < 4 * drift.se)
    anti = toy_runs.anticorrelated_run(lr=0.05, steps=600, replicas=20, start=[0.7, 0.2], seed=0)
    assert set(anti.noise) == {"SGD-like", "isotropic"} and len(anti) == 2 * 101
    with pytest.raises(ValueError, match="replicas"):
        toy_runs.trace_drift([0.01], replicas=0, steps=10, start=5.0)


def test_negative_curvature_fit_exact_and_intervals():
    """Fig. 2(a)'s fits: an exact power law |y| = 3 x^1.5 gives exponent 1.5 with a zero-width interval; a line
    through the origin with noise of known size has the true slope inside the 95 % interval and the intercept's
    interval holding 0 (20 seeds: at least 17 cover, the binomial 95 % lower end for 0.95 x 20).
    """
    from landscape.studies.noise_hessian import experiments

    x = np.array([0.01, 0.02, 0.05, 0.1, 0.2])
    fit = experiments.negative_curvature_fit(x, -3 * x ** 1.5)
    assert fit.exponent == pytest.approx(1.5, abs=1e-12)
    assert fit.exponent_high - fit.exponent_low < 1e-9
    cover_slope = cover_b = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        xs = np.linspace(0.01, 0.1, 12)
        ys = -40 * xs + rng.normal(0, 0.05, xs.size)
        f = experiments.negative_curvature_fit(xs, ys)
        cover_slope += f.slope_low <= -40 <= f.slope_high
        cover_b += f.intercept_low <= 0 <= f.intercept_high
        assert f.n == 12 and 0 < f.r2_origin <= 1
    assert cover_slope >= 17 and cover_b >= 17
    with pytest.raises(ValueError, match="excess"):
        experiments.negative_curvature_fit([0.1, 0.0, 0.2], [-1.0, -1.0, -2.0])
    with pytest.raises(ValueError, match="length"):
        experiments.negative_curvature_fit([0.1, 0.2], [-1.0, -2.0])


def test_pooled_exponent_exact_and_intervals():
    """Fig. 2(a) over seeds: a common power law with a different prefactor per run gives its exponent exactly; with
    log-normal noise of known size the 95 % interval covers the true exponent in at least 17 of 20 draws; a fit of
    each run alone would not see the shared exponent when the prefactors differ (the pooled fit does).
    """
    from landscape.studies.noise_hessian import experiments

    x = np.array([0.01, 0.03, 0.1, 0.1, 0.3, 1.0])  # the runs cover different ranges of x
    g = np.array([0, 0, 0, 1, 1, 1])
    y = np.where(g == 0, 50.0, 2.0) * x ** 0.7
    p, lo, hi, n = experiments.pooled_exponent(x, -y, g)
    assert p == pytest.approx(0.7, abs=1e-12) and hi - lo < 1e-9 and n == 6
    naive = np.polyfit(np.log(x), np.log(y), 1)[0]  # one line through both runs: the prefactors bias it
    assert abs(naive - 0.7) > 0.5
    cover = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        xs = np.tile(np.geomspace(1e-4, 1e-2, 6), 3)
        gs = np.repeat([0, 1, 2], 6)
        ys = np.exp(rng.normal(0, 0.2, xs.size)) * np.array([1.0, 3.0, 9.0])[gs] * xs ** 0.6
        _, lo, hi, _ = experiments.pooled_exponent(xs, ys, gs)
        cover += lo <= 0.6 <= hi
    assert cover >= 17
    with pytest.raises(ValueError, match="groups"):
        experiments.pooled_exponent([0.1, 0.2], [1.0, 2.0], [0, 1])
    with pytest.raises(ValueError, match="nonzero"):
        experiments.pooled_exponent([0.1, 0.0, 0.2], [1.0, 1.0, 2.0], [0, 0, 0])


def test_loglog_slope_interval_covers_the_true_exponent():
    """Fig. 2(b) with the replicas' standard errors: means of y = 0.3 x^2 with known errors give the exponent inside
    the 95 % interval in at least 17 of 20 draws, and the interval narrows as 1/sqrt(replicas).
    """
    from landscape.studies.noise_hessian import toy_runs

    x = np.array([0.002, 0.004, 0.008])
    truth = 0.3 * x**2
    cover = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        se = 0.02 * truth
        _, lo, hi = toy_runs.loglog_slope(x, -(truth + rng.normal(0, se)), se)
        cover += lo <= 2 <= hi
    assert cover >= 17
    s1, lo1, hi1 = toy_runs.loglog_slope(x, -truth, 0.02 * truth)
    _, lo4, hi4 = toy_runs.loglog_slope(x, -truth, 0.005 * truth)  # 16x the replicas: a quarter of the width
    assert s1 == pytest.approx(2, abs=1e-12) and hi4 - lo4 == pytest.approx((hi1 - lo1) / 4, rel=1e-9)
    with pytest.raises(ValueError, match="se"):
        toy_runs.loglog_slope(x, -truth, np.zeros(3))


def test_window_sweep_verifies_the_minimum():
    """The window sweep of Fig. 2(a): L-BFGS reaches the minimum of a convex problem (softmax regression with
    label smoothing, float64) to a gradient norm below 1e-6, no SGD epoch end lies below it (verified, one round),
    every window excess is >= 0, and the spectra of a convex loss have no negative eigenvalue beyond round-off.
    """
    from landscape.studies.noise_hessian import experiments

    gen = torch.Generator().manual_seed(0)
    X = torch.randn(40, 5, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (40,), generator=gen)
    net = models.mlp([5, 3], seed=0, dtype=torch.float64)  # linear: convex in the weights
    df, m = experiments.negative_eigen_window_sweep(net, noise.smoothed_cross_entropy(0.1), X, y, batch_sizes=[4],
                                                    lrs=[0.05, 0.2], steps=200, snapshots=2, lbfgs_iter=500)
    assert m["grad_norm"] < 1e-6 and m["verified"] and m["rounds"] == 1 and m["below"] >= 0
    assert (df.train_loss >= m["loss"]).all() and (df.lowest_loss >= m["loss"]).all()
    assert (df.neg_to_pos < 1e-10).all()
    assert df.eta_s.tolist() == pytest.approx([0.05 * (1 / 4 - 1 / 40), 0.2 * (1 / 4 - 1 / 40)])
    assert df.train_loss.iloc[1] > df.train_loss.iloc[0] > m["loss"]  # the excess grows with eta s


class _Potential(torch.nn.Module):
    """A 'model' whose output is a fixed function of its two parameters (the data are ignored)."""

    def __init__(self, start, fn):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(start, dtype=torch.float64))
        self.fn = fn

    def forward(self, X):
        return self.fn(self.w)


def _identity_loss(out, y):
    return out


@pytest.mark.parametrize("name, start, fn, minimum", [
    # Rosenbrock from the classic start: the curved valley, minimum (1, 1) with loss 0
    ("rosenbrock", [-1.2, 1.0], lambda w: (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2, [1.0, 1.0]),
    # next to the saddle (0, 0) of x^2 + (y^2 - 1)^2 (Hessian diag(2, -4)): plain Newton converges to the saddle,
    # the saddle-free step descends the negative direction to the minimum (0, 1)
    ("saddle", [0.5, 1e-3], lambda w: w[0] ** 2 + (w[1] ** 2 - 1) ** 2, [0.0, 1.0]),
])
def test_newton_minimum_reaches_the_exact_minimum(name, start, fn, minimum):
    """Saddle-free damped Newton (Fig. 2(a)'s verified minimum) ends at the exact minimiser to 1e-8 with a gradient
    norm below 1e-9 and a positive definite Hessian (lambda_min > 0), from a start where plain Newton would not.
    """
    from landscape.studies.noise_hessian import experiments

    model = _Potential(start, fn)
    X = torch.zeros(1, 1, dtype=torch.float64)
    out = experiments.newton_minimum(model, _identity_loss, X, X, max_iter=200)
    assert model.w.detach().numpy() == pytest.approx(minimum, abs=1e-8), name
    assert out["grad_norm"] < 1e-9 and out["loss"] < 1e-15 and out["lambda_min"] > 0
    with pytest.raises(ValueError, match="max_iter"):
        experiments.newton_minimum(model, _identity_loss, X, X, max_iter=-1)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_negative_eigen_sum_exact_on_a_quadratic(dtype):
    """Fig. 2(a)'s negative sum on L = w0^2 - 3 w1^2 + w0 w1 (Hessian [[2, 1], [1, -6]], eigenvalues
    -2 -+ sqrt(17)): the float64 path (torch.func.hessian) and the float32 model's HVP path give the exact
    eigenvalues to round-off and the sum of the negative one.
    """
    from landscape.studies.noise_hessian import nets

    model = _Potential([0.3, -0.2], lambda w: w[0] ** 2 - 3 * w[1] ** 2 + w[0] * w[1]).to(dtype)
    X = torch.zeros(1, 1, dtype=dtype)
    s, w = nets.negative_eigen_sum(model, _identity_loss, X, X)
    exact = [-2 - np.sqrt(17), -2 + np.sqrt(17)]
    assert w == pytest.approx(exact, abs=1e-5 if dtype == torch.float32 else 1e-12)
    assert s == pytest.approx(exact[0], abs=1e-5 if dtype == torch.float32 else 1e-12)
