"""The blocked all-pairs product of eq (2.5): stacking the W_i of several points into one GEMM gives the distances
of the one-point-at-a-time product (to rounding), whatever the block size, ranks differing between points.
"""

import numpy as np
import pytest

from landscape.diffusion import distances, mahalanobis_sq


def _problem(M=30, m=12, seed=0):
    rng = np.random.default_rng(seed)
    X = np.cumsum(rng.normal(size=(M, m)), axis=0)
    factors = [rng.normal(size=(1 + i % 7, m)) * np.geomspace(1, 1e-2, 1 + i % 7)[:, None] for i in range(M)]
    factors[5] = np.zeros((3, m))  # C = 0: C+ = 0, the row is zero
    return X, factors


def _dense(X, factors):
    pinv = [np.linalg.pinv(F.T @ F, rcond=1e-15, hermitian=True) for F in factors]
    diff = X[:, None, :] - X[None, :, :]
    Q = np.stack([np.einsum("jk,kl,jl->j", diff[i], pinv[i], diff[i]) for i in range(len(X))])
    out = 0.5 * (Q + Q.T)
    np.fill_diagonal(out, 0.0)
    return out


@pytest.mark.parametrize("rows", [1, 5, 16, 10_000])
def test_blocks_of_any_size_give_the_dense_answer(monkeypatch, rows):
    X, factors = _problem()
    monkeypatch.setattr(distances, "_BLOCK_ROWS", rows)
    D = mahalanobis_sq(X, factors)
    ref = _dense(X, factors)
    np.testing.assert_allclose(D, ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max())
    assert np.all(D[5, np.arange(len(X)) != 5] > 0)  # point 5's own C+ is 0, the partner's term remains


def test_block_size_changes_nothing_beyond_rounding(monkeypatch):
    X, factors = _problem(seed=1)
    monkeypatch.setattr(distances, "_BLOCK_ROWS", 1)
    one = mahalanobis_sq(X, factors)
    monkeypatch.setattr(distances, "_BLOCK_ROWS", 64)
    many = mahalanobis_sq(X, factors)
    np.testing.assert_allclose(many, one, rtol=1e-13, atol=1e-13 * np.abs(one).max())


def test_right_svd_of_a_wide_factor_equals_the_direct_svd():
    # a factor with known singular values spanning 1e-9..1 and a zero one (rank N - 1, as centred gradients)
    import torch

    rng = np.random.default_rng(4)
    k, m = 40, 170
    U = np.linalg.qr(rng.normal(size=(k, k)))[0]
    V = np.linalg.qr(rng.normal(size=(m, k)))[0]
    s_true = np.r_[np.geomspace(1.0, 1e-9, k - 1), 0.0]
    F = torch.from_numpy(U @ np.diag(s_true) @ V.T)
    s, Vt = distances.right_svd(F)
    assert Vt.shape == (k, m)
    np.testing.assert_allclose(s.numpy()[:-1], s_true[:-1], rtol=1e-6, atol=2e-15)
    _, s_d, Vt_d = torch.linalg.svd(F, full_matrices=False)
    np.testing.assert_allclose(s.numpy(), s_d.numpy(), rtol=0, atol=1e-15)
    # the quantity eq (2.5) uses: squared projections scaled by s^-2, on the directions kept at rcond 1e-15
    D = torch.from_numpy(rng.normal(size=(m, 25)))
    r = int((s * s > 1e-15 * s[0] ** 2).sum())
    q = ((Vt[:r] / s[:r, None]) @ D).pow(2).sum(0)
    q_d = ((Vt_d[:r] / s_d[:r, None]) @ D).pow(2).sum(0)
    np.testing.assert_allclose(q.numpy(), q_d.numpy(), rtol=1e-7)
    tall = F.T.contiguous()  # 170 x 40: no QR step, the direct SVD itself
    direct = torch.linalg.svd(tall, full_matrices=False)[2]
    np.testing.assert_array_equal(distances.right_svd(tall)[1].numpy(), direct.numpy())
