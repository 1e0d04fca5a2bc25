"""The cutoff pass (landscape.diffusion.manifold.cutoff_distances, through distances.mahalanobis_pass) runs its
products blocked: the distances equal those of the one-point-at-a-time form it replaced, whatever the block size, and
the dense pseudo-inverse of eq (2.5).
"""

import numpy as np
import pytest
import torch

from landscape.curvature import covariance
from landscape.diffusion import distances, manifold
from landscape.nets.recording import RecordConfig, record_sgd

RCONDS = (1e-15, 6e-4, 1e-2)


@pytest.fixture
def traj(tmp_root):
    return record_sgd(RecordConfig(hidden=(4,), epochs=3, batch_size=20, seed=2), progress=False)


def _per_point(traj, kind, rcond):
    """The former per-point form: Y = X̃ Vᵀ per point, minus its own row, divided by s, summed over kept columns."""
    net, X, y, loss = manifold._grad_setup(traj)
    N, M = X.shape[0], traj.M
    Xt = torch.from_numpy(traj.params - traj.params.mean(axis=0))
    Q = torch.zeros((M, M), dtype=torch.float64)
    for i in range(M):
        G = covariance.per_sample_grads(net, loss, X, y, params=torch.from_numpy(traj.params[i]))
        F = (G - G.mean(dim=0)) if kind == "sample" else G
        _, s, Vt = torch.linalg.svd(F / np.sqrt(N), full_matrices=False)
        r = int((s * s > rcond * s[0] * s[0]).sum())
        Y = Xt @ Vt[:r].T
        Y -= Y[i].clone()
        Q[i] = ((Y / s[:r]) ** 2).sum(dim=1)
    out = (0.5 * (Q + Q.T)).numpy()
    np.fill_diagonal(out, 0.0)
    return out




@pytest.mark.parametrize("rows", [1, 37, 100_000])
def test_blocked_pass_equals_the_per_point_form(traj, monkeypatch, rows):
    monkeypatch.setattr(distances, "_BLOCK_ROWS", rows)
    got = manifold._pass(traj, ("sample", "fisher"), RCONDS, False)
    for kind in ("sample", "fisher"):
        for rc in RCONDS:
            ref = _per_point(traj, kind, rc)
            assert ref.max() > 0
            # measured: at most 7e-15 relative; the two forms differ only in where 1/s is applied
            np.testing.assert_allclose(got[kind, rc], ref, rtol=1e-13, atol=0)


def test_block_size_changes_nothing_that_is_stored(traj, monkeypatch):
    monkeypatch.setattr(distances, "_BLOCK_ROWS", 1)
    one = manifold._pass(traj, ("sample",), RCONDS, False)
    monkeypatch.setattr(distances, "_BLOCK_ROWS", 2048)
    many = manifold._pass(traj, ("sample",), RCONDS, False)
    for key in one:
        np.testing.assert_allclose(many[key], one[key], rtol=1e-13, atol=1e-15 * one[key].max())
