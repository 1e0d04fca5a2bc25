"""Tests of landscape.diffusion.manifold: the trajectory -> covariance -> Mahalanobis -> d pipeline on a tiny run."""

import numpy as np
import pytest
import torch

from landscape import diffusion as dm
from landscape.curvature import covariance as cov
from landscape.diffusion import manifold as mf
from landscape.nets.recording import RecordConfig, record_sgd


@pytest.fixture
def tiny(tmp_path):
    cfg = RecordConfig(hidden=(3,), epochs=2, batch_size=20, seed=1)
    return record_sgd(cfg, cache_dir=tmp_path, progress=False), tmp_path


def test_factor_matches_loop_gradients(tiny):
    traj, _ = tiny
    F = mf.trajectory_factor(traj, 3)
    ds = traj.dataset()
    net = traj.model(step=3).double()
    X, y = ds.tensors("train", dtype=torch.float64)
    rows = []
    for i in range(X.shape[0]):
        net.zero_grad()
        torch.nn.functional.cross_entropy(net(X[i : i + 1]), y[i : i + 1]).backward()
        rows.append(torch.nn.utils.parameters_to_vector([p.grad for p in net.parameters()]).detach().numpy().copy())
    G = np.array(rows)
    np.testing.assert_allclose(F.T @ F, cov.sgd_covariance(G, 20), rtol=1e-10, atol=1e-15)


def test_sq_distances_cached_and_consistent(tiny):
    traj, tmp = tiny
    sq = mf.sq_distances(traj, cache_dir=tmp)
    assert sq.shape == (traj.M, traj.M)
    f = mf.trajectory_factors(traj)
    ref = dm.mahalanobis_sq(traj.params, [f(i) for i in range(traj.M)])
    # eq (2.5) has one implementation and one cache (float32 upper triangle): 6e-8 relative is float32 rounding
    np.testing.assert_allclose(sq, ref, rtol=1e-7)
    assert len(list((tmp / "readings").glob("*.npy"))) == 1 and len(list((tmp / "readings").glob("*.json"))) == 1
    np.testing.assert_array_equal(mf.sq_distances(traj, cache_dir=tmp), sq)
    # the batch-size factor of eq (2.6) only rescales distances: full batch -> covariance 0 -> distances 0
    assert np.all(mf.sq_distances(traj, batch_size=traj.dataset().N, cache=False) == 0)
    s20 = mf.sq_distances(traj, kind="sample", cache=False)
    N, n = traj.dataset().N, 20
    np.testing.assert_allclose(sq, s20 / cov.covariance_scale(N, n), rtol=1e-9)
    np.testing.assert_allclose(mf.sq_distances(traj, metric="euclidean"), dm.euclidean_sq(traj.params))


def test_summaries_windows_subsamples(tiny):
    traj, tmp = tiny
    sq = mf.sq_distances(traj, cache_dir=tmp)
    eps = mf.median_sq(sq)
    r = mf.summarise(sq, eps)
    lam = dm.diffusion_spectrum(sq, eps)
    assert r.d == dm.intrinsic_dimension(lam) and r.auc == pytest.approx(dm.auc_ratio(lam, r.d))
    assert r.auc_sum == pytest.approx(dm.auc_ratio(lam, r.d, method="sum"))
    df, scan = mf.eps_scan(sq, np.geomspace(eps / 100, eps * 100, 5))
    assert list(df.columns) == ["eps", "L", "slope", "in_linear_region", "d", "auc"] and len(df) == 5
    w = mf.rolling_windows(sq, 6, 2, eps)
    assert list(w.start) == [0, 2, 4, 6]
    assert w.eps_retuned.iloc[0] == pytest.approx(eps)
    blk = sq[2:8, 2:8]
    assert w.d_fixed.iloc[1] == mf.summarise(blk, eps).d
    assert mf.retune_eps(2 * sq, 1.0, mf.median_sq(sq)) == pytest.approx(2.0)
    s = mf.subsample_dimension(sq, eps, n_rep=3, fraction=0.5, seed=0)
    assert len(s) == 3 and (s.n_points == 6).all()
    s2 = mf.subsample_dimension(sq, eps, n_rep=3, fraction=0.5, seed=0)
    assert s.equals(s2)
    with pytest.raises(ValueError, match="window"):
        mf.rolling_windows(sq, 100, 1, eps)
    with pytest.raises(ValueError, match="metric"):
        mf.sq_distances(traj, metric="cosine")
