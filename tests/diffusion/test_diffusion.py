"""Tests of landscape.diffusion against exact answers (eq 2.5, 2.10-2.14, 3.1, 3.3-3.7)."""

import numpy as np
import pytest
import scipy.stats

from landscape.diffusion import (
    auc_ratio,
    diffusion_distance,
    diffusion_map,
    diffusion_spectrum,
    energy_ratio,
    euclidean_sq,
    gaussian_kernel,
    intrinsic_dimension,
    inverse_root,
    kernel_sum,
    mahalanobis_sq,
    s_alpha,
)

RC = 1e-10


def _problem(M=14, m=8, k=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(M, m))
    F = [rng.normal(size=(k, m)) * rng.uniform(0.5, 2.0) for _ in range(M)]
    return X, F


def _dense_reference(X, F, rcond=RC):
    M = X.shape[0]
    Cp = [np.linalg.pinv(f.T @ f, rcond=rcond, hermitian=True) for f in F]
    out = np.zeros((M, M))
    for i in range(M):
        for j in range(M):
            v = X[i] - X[j]
            out[i, j] = 0.5 * v @ (Cp[i] + Cp[j]) @ v
    return out


def test_inverse_root_gives_pseudo_inverse():
    _, F = _problem()
    W = inverse_root(F[0], RC)
    assert W.shape == (5, 8)
    np.testing.assert_allclose(W.T @ W, np.linalg.pinv(F[0].T @ F[0], rcond=RC, hermitian=True), rtol=1e-9, atol=1e-12)
    assert inverse_root(np.zeros((3, 8))).shape == (0, 8)


def test_mahalanobis_equals_dense_pinv_and_callable_factors():
    X, F = _problem()
    D = mahalanobis_sq(X, F, rcond=RC)
    ref = _dense_reference(X, F)
    np.testing.assert_allclose(D, ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(D, D.T)
    assert np.all(np.diag(D) == 0)
    D2 = mahalanobis_sq(X, lambda i: F[i], rcond=RC)
    np.testing.assert_array_equal(D, D2)
    D32 = mahalanobis_sq(X, F, rcond=RC, dtype=np.float32)
    np.testing.assert_allclose(D32, ref, rtol=1e-4)


def test_float32_product_on_a_trained_trajectory(tmp_path):
    """The float32 option in the regime of the book (trained iris network, per-point SGD noise factors):
    issue 15 allows a float32 product only where d² stays within 1e-6 of float64. It does at the float32-style
    cutoffs (measured 3.6e-7 at 6e-5 and 3.0e-7 at 6e-4) but not at numpy's 1e-15 (measured 2.7e-6: the
    smallest kept directions amplify the rounding), so the book's distances stay float64.
    """
    from landscape.diffusion import manifold
    from landscape.nets.recording import RecordConfig, record_sgd

    traj = record_sgd(RecordConfig(batch_size=20, epochs=20, lr=0.01, seed=0), cache_dir=tmp_path, progress=False)
    get = manifold.trajectory_factors(traj, kind="sample", batch_size=20)
    F = [get(i) for i in range(traj.M)]
    off = ~np.eye(traj.M, dtype=bool)
    for rc, bound in ((1e-15, 1e-5), (6e-5, 1e-6), (6e-4, 1e-6)):
        ref = mahalanobis_sq(traj.params, F, rcond=rc)
        rel = (np.abs(mahalanobis_sq(traj.params, F, rcond=rc, dtype=np.float32) - ref)[off] / ref[off]).max()
        assert 1e-8 < rel <= bound, (rc, rel)


def test_mahalanobis_checks_device():
    X, F = _problem()
    with pytest.raises(ValueError, match="device: expected 'cpu', 'cuda' or 'cuda:N', got 'tpu'"):
        mahalanobis_sq(X, F, device="tpu")
    np.testing.assert_array_equal(mahalanobis_sq(X, F, device="cpu"), mahalanobis_sq(X, F))


def test_mahalanobis_rotation_invariant():
    X, F = _problem(seed=3)
    Qm = scipy.stats.ortho_group.rvs(8, random_state=4)
    D = mahalanobis_sq(X, F, rcond=RC)
    Dr = mahalanobis_sq(X @ Qm.T, [f @ Qm.T for f in F], rcond=RC)
    np.testing.assert_allclose(Dr, D, rtol=1e-9, atol=1e-12)


def test_mahalanobis_identity_covariance_is_euclidean_and_zero_factor():
    X, _ = _problem()
    eye = [np.eye(8)] * X.shape[0]
    np.testing.assert_allclose(mahalanobis_sq(X, eye), euclidean_sq(X), rtol=1e-12, atol=1e-12)
    zero = [np.zeros((3, 8))] * X.shape[0]
    assert np.all(mahalanobis_sq(X, zero) == 0)


def _circle(M=24):
    t = 2 * np.pi * np.arange(M) / M
    return np.c_[np.cos(t), np.sin(t)]


def test_circle_eigenvalues_closed_form():
    # equispaced circle: K is circulant, so P = K / rowsum has eigenvalues DFT(first row) / rowsum
    M, eps = 24, 0.7
    D2 = euclidean_sq(_circle(M))
    row = np.exp(-D2[0] / eps)
    exact = np.sort(np.real(np.fft.fft(row)) / row.sum())[::-1]
    dm = diffusion_map(D2, eps)
    np.testing.assert_allclose(dm.eigenvalues, exact, atol=1e-12)
    np.testing.assert_allclose(diffusion_spectrum(D2, eps), exact, atol=1e-12)
    np.testing.assert_allclose(dm.psi[:, 0], 1.0, atol=1e-10)
    np.testing.assert_allclose(dm.stationary, 1.0 / M, atol=1e-14)


def _direct_P(D2, eps, alpha=0.5):
    K = np.exp(-D2 / eps)
    d = K.sum(1)
    Kt = K / np.outer(d**alpha, d**alpha)
    dt = Kt.sum(1)
    return Kt / dt[:, None], Kt, dt


def test_markov_matrix_biorthogonality_and_frobenius():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 3))
    D2 = euclidean_sq(X)
    eps = 2.0
    dm = diffusion_map(D2, eps)
    P, Kt, dt = _direct_P(D2, eps)
    np.testing.assert_allclose(P.sum(1), 1.0, atol=1e-14)
    Prec = dm.psi @ np.diag(dm.eigenvalues) @ dm.phi.T
    np.testing.assert_allclose(Prec, P, atol=1e-12)
    np.testing.assert_allclose(dm.phi.T @ dm.psi, np.eye(30), atol=1e-10)
    S = Kt / np.sqrt(np.outer(dt, dt))
    np.testing.assert_allclose(np.sum(dm.eigenvalues**2), np.sum(S**2), rtol=1e-12)
    # P psi_l = lambda_l psi_l
    np.testing.assert_allclose(P @ dm.psi, dm.psi * dm.eigenvalues, atol=1e-11)
    # sign rule: the largest-|entry| of each eigenvector of S is positive
    V = dm.psi * np.sqrt(dm.stationary)[:, None]
    assert np.all(V[np.argmax(np.abs(V), 0), np.arange(30)] > 0)
    assert np.all(np.diff(dm.eigenvalues) <= 1e-14)


@pytest.mark.parametrize("tau", [1, 2])
def test_diffusion_distance_eq_2_13(tau):
    rng = np.random.default_rng(2)
    D2 = euclidean_sq(rng.normal(size=(20, 2)))
    dm = diffusion_map(D2, 1.5, tau=tau)
    P, _, _ = _direct_P(D2, 1.5)
    Pt = np.linalg.matrix_power(P, tau)
    ref = np.array([[np.sum((Pt[i] - Pt[j]) ** 2 / dm.stationary) for j in range(20)] for i in range(20)])
    np.testing.assert_allclose(diffusion_distance(dm), ref, rtol=1e-8, atol=1e-12)
    # and the embedding (2.14) realises it as a Euclidean distance
    np.testing.assert_allclose(euclidean_sq(dm.embedding), ref, rtol=1e-8, atol=1e-12)


def test_partial_components_match_full():
    rng = np.random.default_rng(5)
    D2 = euclidean_sq(rng.normal(size=(40, 3)))
    full = diffusion_map(D2, 1.0)
    part = diffusion_map(D2, 1.0, n_components=4)
    np.testing.assert_allclose(part.eigenvalues, full.eigenvalues, atol=1e-12)
    np.testing.assert_allclose(part.embedding, full.embedding[:, :4], atol=1e-9)
    assert part.n_components == 4


def test_knn_sparsification_symmetric():
    rng = np.random.default_rng(6)
    D2 = euclidean_sq(rng.normal(size=(25, 2)))
    K = gaussian_kernel(D2, 1.0, knn=3)
    np.testing.assert_array_equal(K, K.T)
    assert np.all((K > 0).sum(1) >= 3)
    assert np.all(np.diag(K) == 1)
    assert (K > 0).sum() < 25 * 25
    dm = diffusion_map(D2, 1.0, knn=3)
    assert abs(dm.eigenvalues[0] - 1) < 1e-12


def test_kernel_sum_slope_limits_and_dimension():
    g = np.linspace(0, 1, 30)
    X = np.array([(a, b) for a in g for b in g])  # a 2-D grid of 900 points
    D2 = euclidean_sq(X)
    eps = np.geomspace(1e-5, 1e2, 60)
    scan = kernel_sum(D2, eps)
    M = X.shape[0]
    assert abs(scan.L[0] - M) < 1e-6 * M and abs(scan.L[-1] / M**2 - 1) < 0.05
    # the exact slope agrees with finite differences (3.7) at midpoints
    mid = np.sqrt(eps[1:] * eps[:-1])
    exact_mid = kernel_sum(D2, np.sort(np.r_[mid, eps[0] / 2]))
    assert np.max(np.abs(scan.slope_fd - exact_mid.slope[1:])) < 0.01
    assert 1.6 < scan.dimension < 2.2  # Berry-Harlim d ≈ 2 max a for a 2-D set
    lo, hi = scan.linear_region
    assert lo <= scan.eps_max <= hi


def test_energy_ratio_dimension_auc_on_hand_made_spectra():
    eigs = [1.0, 0.8, 0.6, 0.0]
    np.testing.assert_allclose(energy_ratio(eigs), [0.8, 1.0, 1.0])
    assert intrinsic_dimension(eigs) == 2
    assert intrinsic_dimension(eigs, beta=0.7) == 1
    assert auc_ratio(eigs, 2) == pytest.approx(0.7)
    assert auc_ratio(eigs, 2, method="sum") == pytest.approx(1.0)
    assert auc_ratio(eigs, 0) == 0.0
    np.testing.assert_allclose(energy_ratio(eigs, include_trivial=True), np.sqrt(np.cumsum([1, 0.64, 0.36, 0]) / 2))
    assert intrinsic_dimension(eigs, include_trivial=True) == 3
    # geometric spectrum 2^-i: Λ_i² = (1 - 4^-i)/(1 - 4^-n)
    lam = np.r_[1.0, 0.5 ** np.arange(1, 21)]
    lam2 = lam[1:] ** 2
    ref = np.sqrt(np.cumsum(lam2) / lam2.sum())
    np.testing.assert_allclose(energy_ratio(lam), ref)
    assert intrinsic_dimension(lam, 0.99) == int(np.argmax(ref > 0.99)) + 1 == 3  # sqrt(1 - 4^-3) > 0.99
    # degenerate kernel (all non-trivial eigenvalues zero): d = 0 and AUC = 0, as the source's Table 5
    assert intrinsic_dimension([1.0, 0, 0, 0]) == 0
    assert auc_ratio([1.0, 0, 0, 0], 0) == 0.0
    assert s_alpha([1.0, 0.5, 0.3, 0.1], 0.5) == 2
    assert s_alpha([1.0, 0.5, 0.3, 0.1], 0.05) == 3


def test_validation_errors():
    X, F = _problem()
    D2 = euclidean_sq(X)
    for bad in [0, -1, np.nan, np.inf, "a"]:
        with pytest.raises(ValueError, match="eps"):
            diffusion_map(D2, bad)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="points"):
        mahalanobis_sq(Xn, F)
    with pytest.raises(ValueError, match="points"):
        euclidean_sq(Xn)
    with pytest.raises(ValueError, match="factors"):
        mahalanobis_sq(X, F[:-1])
    with pytest.raises(ValueError, match="factors"):
        mahalanobis_sq(X, [f[:, :-1] for f in F])
    with pytest.raises(ValueError, match="rcond"):
        mahalanobis_sq(X, F, rcond=-1)
    with pytest.raises(ValueError, match="sq_dists"):
        diffusion_map(D2[:, :-1], 1.0)
    D2n = D2.copy()
    D2n[0, 1] = D2n[1, 0] = np.nan
    with pytest.raises(ValueError, match="sq_dists"):
        diffusion_map(D2n, 1.0)
    asym = D2.copy()
    asym[0, 1] += 1
    with pytest.raises(ValueError, match="sq_dists"):
        kernel_sum(asym, [1, 2])
    with pytest.raises(ValueError, match="eps_grid"):
        kernel_sum(D2, [2, 1])
    with pytest.raises(ValueError, match="knn"):
        diffusion_map(D2, 1.0, knn=0)
    with pytest.raises(ValueError, match="n_components"):
        diffusion_map(D2, 1.0, n_components=X.shape[0])
    with pytest.raises(ValueError, match="beta"):
        intrinsic_dimension([1, 0.5], beta=1.5)
    with pytest.raises(ValueError, match="eigs"):
        energy_ratio([0.5, 1.0])
    with pytest.raises(ValueError, match="d"):
        auc_ratio([1.0, 0.5, 0.2], 5)


def test_constant_kernel_gives_dimension_zero():
    # all distances 0 (e.g. eq 2.6 at full batch): K = 1, P = 1/M, λ = (1, 0, ..., 0) up to rounding
    lam = diffusion_spectrum(np.zeros((50, 50)), 3.0)
    assert abs(lam[0] - 1) < 1e-12 and np.all(np.abs(lam[1:]) < 1e-12)
    assert intrinsic_dimension(lam) == 0 and auc_ratio(lam, 0) == 0.0
    assert intrinsic_dimension([1.0, 1e-15, -1e-15]) == 0
    assert intrinsic_dimension([1.0, 1e-15, -1e-15], tol=0) >= 1


def test_backends_agree():
    rng = np.random.default_rng(7)
    D2 = euclidean_sq(rng.normal(size=(40, 3)))
    a = diffusion_map(D2, 1.0, backend="torch")
    b = diffusion_map(D2, 1.0, backend="scipy")
    np.testing.assert_allclose(a.eigenvalues, b.eigenvalues, atol=1e-13)
    np.testing.assert_allclose(a.embedding[:, :5], b.embedding[:, :5], atol=1e-8)
    np.testing.assert_allclose(diffusion_spectrum(D2, 1.0, backend="scipy"), a.eigenvalues, atol=1e-13)
    with pytest.raises(ValueError, match="backend"):
        diffusion_spectrum(D2, 1.0, backend="numpy")


def test_kernel_slope_matches_scan():
    from landscape.diffusion import kernel_slope

    rng = np.random.default_rng(8)
    D2 = euclidean_sq(rng.normal(size=(30, 2)))
    scan = kernel_sum(D2, [0.1, 1.0, 10.0])
    for e, s in zip(scan.eps, scan.slope, strict=True):
        assert kernel_slope(D2, e) == pytest.approx(s, rel=1e-12)


def test_fix_signs_rule_is_exact_and_idempotent():
    from landscape.infra.linalg import fix_signs

    V = np.array([[0.1, -0.9, 0.0], [-0.8, 0.2, 0.0], [0.3, 0.3, 0.0]])
    W = fix_signs(V)
    np.testing.assert_array_equal(W, V * np.array([-1.0, -1.0, 1.0]))  # largest |entry| made positive
    np.testing.assert_array_equal(fix_signs(-V), W)  # independent of the solver's sign
    np.testing.assert_array_equal(fix_signs(W), W)
