"""The blocked all-pairs product of eq (2.5): stacking the W_i of several points into one GEMM gives the distances
of the one-point-at-a-time product (to rounding), whatever the block size, ranks differing between points."""

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
