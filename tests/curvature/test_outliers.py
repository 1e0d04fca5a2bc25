"""Spectral outlier tools (source 003, Sec. 5.5) against dense float64 answers."""

import numpy as np
import pandas as pd
import pytest
import torch

from landscape.curvature import covariance, hessian, outliers
from landscape.nets import models
from landscape.studies.symmetries_spectra import outlier_tracking


def _problem(seed=0, hidden=6, n=60):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 5, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (n,), generator=gen)
    net = models.mlp([5, hidden, 3], "tanh", seed=seed, dtype=torch.float64)
    return net, X, y


def test_ratio_energy_and_quadratic_closed_forms():
    lam = np.array([10.0, 5.0, 1.0, 0.5, -0.5])
    assert outliers.outlier_ratio(lam, k=2) == 2.0
    assert outliers.l1_energy_fraction(lam, 0.5) == pytest.approx(1.0 / 17.0, abs=1e-15)
    assert outliers.l1_energy_radius(lam, 0.5) == 10.0  # 7/17 < 0.5 below radius 5
    curve = outliers.gd_quadratic([4.0, 1.0], 3, lr=0.25, x0=[1.0, 2.0])
    assert curve[3] == pytest.approx(0.5 * 1.0 * 0.75 ** 6 * 4.0, rel=1e-14)  # the lambda=4 part vanishes
    with pytest.raises(ValueError, match="lr"):
        outliers.gd_quadratic([4.0, 1.0], 3, lr=0.5)
    with pytest.raises(ValueError, match="k"):
        outliers.outlier_ratio(lam, k=5)


def test_gradient_covariance_matches_dense():
    net, X, y = _problem()
    G = covariance.per_sample_grads(net, "cce", X, y)
    gc = outliers.gradient_covariance(G)
    S = (G.T @ G).numpy() / len(X)
    dense = np.sort(np.linalg.eigvalsh(S))[::-1][: len(gc.eigenvalues)]
    assert np.max(np.abs(gc.eigenvalues - dense)) <= 1e-12 * dense[0]
    v = gc.eigenvectors[:, 0]
    assert np.linalg.norm(S @ v - gc.eigenvalues[0] * v) <= 1e-12 * dense[0]
    assert np.allclose(gc.mean_gradient, G.mean(0).numpy(), rtol=0, atol=1e-15)


def test_subspace_energy_exact():
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((20, 20)))
    assert outliers.subspace_energy(Q[:, :3], Q[:, :5]) == pytest.approx(1.0, abs=1e-14)
    assert outliers.subspace_energy(Q[:, 5:7], Q[:, :5]) <= 1e-28
    v = Q[:, 0] + 2 * Q[:, 9]
    assert outliers.subspace_energy(v, Q[:, :5]) == pytest.approx(0.2, abs=1e-14)


def test_exact_eigenvalues_match_dense_hessian(tmp_path, monkeypatch):
    monkeypatch.setenv("LANDSCAPE_ROOT", str(tmp_path))
    net, X, y = _problem()
    lam = outliers.exact_eigenvalues(net, "cce", X, y)
    H = hessian.dense_hessian(net, models.loss_function("cce"), (X, y))
    assert np.max(np.abs(lam - np.linalg.eigvalsh(H))) <= 1e-12 * np.abs(lam).max()
    assert np.array_equal(outliers.exact_eigenvalues(net, "cce", X, y), lam)  # from the cache
    assert len(list((tmp_path / "data" / "cache" / "outliers").glob("*.npy"))) == 1


def test_slq_error_is_the_probe_error():
    """SLQ with 10 probes and 90 steps equals, to quadrature accuracy, the exact density weighted by the probes'
    squared projections on the eigenvectors; its distance to the uniform exact density is that probe error.
    """
    net, X, y = _problem(hidden=20)  # 183 parameters
    H = hessian.dense_hessian(net, models.loss_function("cce"), (X, y))
    lam, U = np.linalg.eigh(H)
    sigma = 0.01 * (lam.max() - lam.min())
    grid = np.linspace(lam.min() - 5 * sigma, lam.max() + 5 * sigma, 4000)
    est = hessian.slq_density(H, n_probes=10, n_steps=90, grid=grid, sigma=sigma, seed=3, deflate=False)
    rng = np.random.default_rng(3)
    w = np.mean([(U.T @ (v / np.linalg.norm(v))) ** 2 for v in rng.standard_normal((10, len(lam)))], axis=0)
    probe_weighted = hessian.smoothed_density(lam, grid, sigma, w)
    exact = hessian.smoothed_density(lam, grid, sigma)
    assert hessian.density_l1(grid, est.density, probe_weighted) <= 1e-6
    probe_error = hessian.density_l1(grid, probe_weighted, exact)
    assert abs(hessian.density_l1(grid, est.density, exact) - probe_error) <= 1e-6
    assert probe_error <= np.sum(np.abs(w - 1 / len(lam)))  # the triangle-inequality bound


def test_mlp_bn_uses_batch_statistics():
    net = outliers.mlp_bn([5, 4, 2], seed=0, dtype=torch.float64)
    net.eval()
    X = torch.randn(30, 5, dtype=torch.float64)
    z = net[1](net[0](X))
    assert torch.allclose(z.mean(0), torch.zeros(4, dtype=torch.float64), atol=1e-12)
    g = outliers.batch_gradients(net, models.loss_function("cce"), X, torch.zeros(30, dtype=torch.long), 10)
    assert g.shape == (3, models.n_params(net))


def test_track_spectra_is_bit_identical_for_one_and_two_workers_and_matches_snapshot(tmp_path):
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(64, 5, generator=g, dtype=torch.float64), torch.randint(0, 3, (64,), generator=g)

    def make():
        return {"plain": (models.mlp([5, 6, 3], seed=0), None), "BN": (outliers.mlp_bn([5, 6, 3], seed=0), 32)}

    kw = dict(train=(X.float(), y), evaluate=(X, y), snapshots=[0, 1, 2], lr=0.05, k=2, slq=(1, 5))
    one = outlier_tracking.track_spectra(make(), jobs=1, cache_dir=tmp_path / "a", **kw)
    two = outlier_tracking.track_spectra(make(), jobs=2, cache_dir=tmp_path / "b", **kw)
    pd.testing.assert_frame_equal(one.table, two.table, check_exact=True)
    order = [(n, e) for e in (0, 1, 2) for n in ("plain", "BN")]
    assert list(zip(one.table.net, one.table.epoch, strict=True)) == order
    assert all(np.array_equal(one.densities[key].density, two.densities[key].density) for key in one.densities)
    snap = outliers.snapshot(models.mlp([5, 6, 3], seed=0), "cce", X, y, k=2, seed=0)  # epoch 0 = the initial net
    row = one.table.iloc[0]
    assert (row.loss, row.lambda_1, row.zeta) == (snap.loss, float(snap.top[0]), snap.zeta)
    with pytest.raises(ValueError, match="snapshots"):
        outlier_tracking.track_spectra(make(), snapshots=[2, 1], **{k: v for k, v in kw.items() if k != "snapshots"})


def test_gd_steps_to_is_the_first_step_of_the_closed_form_curve():
    lam = np.sort(np.random.default_rng(0).gamma(0.3, 1.0, 200))[::-1]
    curve = outliers.gd_quadratic(lam, 5000)
    for frac in (0.5, 0.1, 0.01):
        assert outliers.gd_steps_to(lam, frac) == int(np.argmax(curve <= frac * curve[0]))
    assert outliers.gd_steps_to(lam, 0.01, max_steps=3) is None
    assert outliers.gd_steps_to([1.0], 1.0) == 0
    with pytest.raises(ValueError, match="fraction"):
        outliers.gd_steps_to(lam, 0.0)


def test_snapshot_measures_both_nets_alike_and_bounds_lambda_min():
    net, X, y = _problem(hidden=8, n=64)
    snap = outliers.snapshot(net, "cce", X, y, k=2, seed=1, slq=(2, 40), share_batch=16)
    G = outliers.batch_gradients(models.assign(net, models.flatten(net)), models.loss_function("cce"), X, y, 16, seed=1)
    gc = outliers.gradient_covariance(G)
    assert G.shape[0] == 4 and snap.sigma_top_share_batch == pytest.approx(gc.eigenvalues[:2].sum() / gc.trace,
                                                                          abs=1e-12)
    lam_min = np.linalg.eigvalsh(hessian.dense_hessian(net, models.loss_function("cce"), (X, y)))[0]
    # the smallest Ritz value is at least lambda_min (interlacing) and, after 40 steps on 59 parameters, equal to it
    assert lam_min - 1e-10 <= snap.lambda_min <= lam_min + 1e-8 * abs(lam_min)
    assert np.isnan(outliers.snapshot(net, "cce", X, y, k=2).sigma_top_share_batch)


def test_track_over_seeds_is_worker_independent_and_feeds_the_seed_statistics(tmp_path):
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(64, 5, generator=g, dtype=torch.float64), torch.randint(0, 3, (64,), generator=g)

    def make(s):
        return {"no BN": (models.mlp([5, 6, 3], seed=s), None), "BN": (outliers.mlp_bn([5, 6, 3], seed=s), 32)}

    kw = dict(train=(X.float(), y), evaluate=(X, y), snapshots=[0, 1], lr=0.05, k=2, slq=(1, 8), seeds=[0, 3])
    one = outlier_tracking.track_over_seeds(make, jobs=1, cache_dir=tmp_path / "a", **kw)
    two = outlier_tracking.track_over_seeds(make, jobs=2, cache_dir=tmp_path / "b", **kw)
    pd.testing.assert_frame_equal(one.table, two.table, check_exact=True)
    assert one.table.seed.tolist() == [0] * 4 + [3] * 4
    assert set(one.densities) == {(n, e) for n in make(0) for e in (0, 1)}
    stats = outlier_tracking.seed_statistics(one.table)
    row = one.table[(one.table.seed == 3) & (one.table.epoch == 1)].set_index("net")
    s3 = stats.set_index("seed").loc[3]
    assert s3.zeta_bn == row.loc["BN", "zeta"] and s3.share_bn == row.loc["BN", "sigma_top_share_batch"]
    assert s3.ratio_min == s3.ratio_max == row.loc["BN", "lambda_1"] / row.loc["no BN", "lambda_1"]
    with pytest.raises(ValueError, match="seeds"):
        outlier_tracking.track_over_seeds(make, **{**kw, "seeds": []})
