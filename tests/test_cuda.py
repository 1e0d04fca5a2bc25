"""The same numbers on a GPU: run where CUDA is present (skipped on the CPU-only CI machines)."""

import numpy as np
import pytest
import torch

from landscape.curvature import covariance, hessian
from landscape.nets import models, recording
from landscape.nets.recording import RecordConfig

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def test_record_sgd_on_cuda_matches_cpu(tmp_path):
    cfg = RecordConfig(dataset="iris", hidden=(8,), epochs=5, dtype="float64")
    cpu = recording.record_sgd(cfg, cache_dir=tmp_path / "cpu", progress=False)
    gpu = recording.record_sgd(cfg, cache_dir=tmp_path / "gpu", progress=False, device="cuda")
    np.testing.assert_array_equal(cpu.batch_indices, gpu.batch_indices)
    np.testing.assert_allclose(gpu.params, cpu.params, rtol=0, atol=1e-10)
    assert gpu.provenance["device"].startswith("cuda")


def test_per_sample_grads_and_hvp_on_cuda_match_cpu():
    torch.manual_seed(0)
    net = models.mlp([4, 6, 3], seed=1, dtype=torch.float64)
    X, y = torch.randn(30, 4, dtype=torch.float64), torch.randint(0, 3, (30,))
    g_cpu = covariance.per_sample_grads(net, "cce", X, y)
    g_gpu = covariance.per_sample_grads(net.cuda(), "cce", X.cuda(), y.cuda())
    np.testing.assert_allclose(np.asarray(g_gpu.cpu()), np.asarray(g_cpu), atol=1e-12)
    net = net.cpu()
    H = hessian.dense_hessian(net, models.loss_function("cce"), (X, y))
    op = hessian.hessian_operator(net.cuda(), models.loss_function("cce"), (X.cuda(), y.cuda()), dtype=torch.float64)
    v = np.random.default_rng(0).standard_normal(H.shape[0])
    np.testing.assert_allclose(op @ v, H @ v, atol=1e-10)


def test_distances_on_cuda_match_cpu(tmp_root):
    """Eq (2.5) on the GPU (gradients, QR-first SVDs, blocked products, cumulative sums): the same float64
    arithmetic in another order, so equal to rounding; cached apart from the CPU's results.
    """
    from landscape import diffusion
    from landscape.diffusion import manifold
    from landscape.nets.recording import record_sgd

    traj = record_sgd(RecordConfig(batch_size=20, epochs=20, lr=0.01, seed=0), progress=False)  # M = 120
    cpu = manifold.cutoff_distances(traj, [1e-15, 6e-5], kinds=("sample", "fisher"))
    gpu = manifold.cutoff_distances(traj, [1e-15, 6e-5], kinds=("sample", "fisher"), device="cuda")
    off = ~np.eye(traj.M, dtype=bool)
    for key in cpu:
        rel = np.abs(gpu[key] - cpu[key])[off] / cpu[key][off]
        assert rel.max() <= 1e-6, (key, rel.max())  # float32 storage of both: ~6e-8 each
    assert len(list((tmp_root / "data" / "cache" / "readings").glob("*.npy"))) == 8
    get = manifold.trajectory_factors(traj, kind="sample", batch_size=20)
    F = [get(i) for i in range(traj.M)]
    for rc in (1e-15, 6e-5):
        a = diffusion.mahalanobis_sq(traj.params, F, rcond=rc)
        b = diffusion.mahalanobis_sq(traj.params, F, rcond=rc, device="cuda")
        assert (np.abs(b - a)[off] / a[off]).max() <= 1e-8
