"""Tests of landscape.curvature.covariance against exact answers (eq 2.6, 2.7, 2.9 and per-sample gradients)."""

import itertools

import numpy as np
import pytest
import torch

from landscape.curvature.covariance import (
    covariance_scale,
    fisher_matrix,
    per_sample_grads,
    sgd_covariance,
    sgd_covariance_approx,
    sgd_noise_factor,
    trajectory_covariance,
)


def _grads(N=7, m=5, seed=0):
    return np.random.default_rng(seed).normal(size=(N, m))


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7])
def test_sgd_covariance_equals_enumeration_of_all_minibatches(n):
    # eq (2.6) is the exact covariance of the mean of n rows drawn without replacement
    G = _grads()
    N = G.shape[0]
    means = np.array([G[list(c)].mean(axis=0) for c in itertools.combinations(range(N), n)])
    mu = means.mean(axis=0)
    emp = (means - mu).T @ (means - mu) / len(means)
    np.testing.assert_allclose(mu, G.mean(axis=0), atol=1e-14)
    np.testing.assert_allclose(sgd_covariance(G, n), emp, rtol=0, atol=1e-12)


def test_full_batch_covariance_vanishes():
    G = _grads()
    assert np.all(sgd_covariance(G, G.shape[0]) == 0)
    assert np.all(sgd_noise_factor(G, G.shape[0]) == 0)


@pytest.mark.parametrize("kind", ["sgd", "approx", "fisher", "sample"])
def test_noise_factor_reproduces_matrix(kind):
    G = _grads(N=9, m=12, seed=1)
    n = 3
    F = sgd_noise_factor(G, n, kind=kind)
    assert F.shape == G.shape
    N = G.shape[0]
    ref = {
        "sgd": sgd_covariance(G, n),
        "approx": sgd_covariance_approx(G, n),
        "fisher": fisher_matrix(G),
        "sample": sgd_covariance(G, n) / covariance_scale(N, n),
    }[kind]
    np.testing.assert_allclose(F.T @ F, ref, rtol=0, atol=1e-13)


def test_sgd_factor_rank_at_most_N_minus_1():
    G = _grads(N=6, m=20, seed=2)
    F = sgd_noise_factor(G, 2)
    s = np.linalg.svd(F, compute_uv=False)
    assert s[-1] < 1e-13 * s[0]
    assert s[-2] > 1e-3 * s[0]


def test_approximation_and_fisher_relations():
    G = _grads()
    N, n = G.shape[0], 2
    gbar = G.mean(axis=0)
    c = (N - n) / (n * (N - 1))
    np.testing.assert_allclose(fisher_matrix(G), sum(np.outer(g, g) for g in G) / N, atol=1e-14)
    np.testing.assert_allclose(sgd_covariance_approx(G, n) - sgd_covariance(G, n), c * np.outer(gbar, gbar), atol=1e-14)


def test_trajectory_covariance_eq_2_9():
    X = np.random.default_rng(3).normal(size=(30, 4))
    t, L = 10, 3
    W = X[t - L : t + L + 1]
    ref = np.cov(W.T, bias=True) * W.shape[0]
    np.testing.assert_allclose(trajectory_covariance(X, t, L), ref, atol=1e-12)
    F = trajectory_covariance(X, t, L, factor=True)
    np.testing.assert_allclose(F.T @ F, ref, atol=1e-12)
    # clipped at the start
    assert trajectory_covariance(X, 0, 3, factor=True).shape == (4, 4)


def _net(dtype=torch.float64, n_out=3):
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, n_out)
    ).to(dtype)


def _loop_grads(model, loss_fn, X, y):
    rows = []
    for i in range(X.shape[0]):
        model.zero_grad()
        loss_fn(model(X[i : i + 1]), y[i : i + 1]).backward()
        rows.append(torch.nn.utils.parameters_to_vector([p.grad for p in model.parameters()]).clone())
    return torch.stack(rows)


@pytest.mark.parametrize(
    "name,fn,n_out",
    [
        ("cce", torch.nn.functional.cross_entropy, 3),
        ("mse", torch.nn.functional.mse_loss, 1),
        ("mae", torch.nn.functional.l1_loss, 1),
    ],
)
def test_per_sample_grads_equal_loop(name, fn, n_out):
    model = _net(n_out=n_out)
    g = torch.Generator().manual_seed(1)
    X = torch.randn(11, 4, generator=g, dtype=torch.float64)
    if name == "cce":
        y = torch.randint(0, 3, (11,), generator=g)
    else:
        y = torch.randn(11, 1, generator=g, dtype=torch.float64)
    G = per_sample_grads(model, name, X, y)
    m = sum(p.numel() for p in model.parameters())
    assert G.shape == (11, m) and G.dtype == torch.float64
    torch.testing.assert_close(G, _loop_grads(model, fn, X, y), rtol=1e-12, atol=1e-13)
    # the mean of the per-sample gradients is the full-batch gradient (eq 1.1)
    model.zero_grad()
    fn(model(X), y).backward()
    full = torch.nn.utils.parameters_to_vector([p.grad for p in model.parameters()])
    torch.testing.assert_close(G.mean(0), full, rtol=1e-12, atol=1e-13)


def test_per_sample_grads_at_given_flat_params_leaves_model_alone():
    model = _net()
    before = torch.nn.utils.parameters_to_vector(model.parameters()).detach().clone()
    other = before + 0.1 * torch.randn(before.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    X = torch.randn(5, 4, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 1, 0])
    G1 = per_sample_grads(model, "cce", X, y, params=other.numpy())
    torch.testing.assert_close(torch.nn.utils.parameters_to_vector(model.parameters()), before)
    torch.nn.utils.vector_to_parameters(other, model.parameters())
    torch.testing.assert_close(G1, _loop_grads(model, torch.nn.functional.cross_entropy, X, y), rtol=1e-12, atol=1e-13)


def test_validation_errors_name_the_parameter():
    G = _grads()
    with pytest.raises(ValueError, match="batch_size"):
        sgd_covariance(G, 0)
    with pytest.raises(ValueError, match="batch_size"):
        sgd_noise_factor(G, G.shape[0] + 1)
    bad = G.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="grads"):
        sgd_covariance(bad, 2)
    with pytest.raises(ValueError, match="grads"):
        sgd_noise_factor(G[0], 1)
    with pytest.raises(ValueError, match="kind"):
        sgd_noise_factor(G, 2, kind="nope")
    model = _net()
    with pytest.raises(ValueError, match="loss_name_or_fn"):
        per_sample_grads(model, "hinge", torch.zeros(2, 4), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="X, y"):
        per_sample_grads(model, "cce", torch.zeros(3, 4), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="params"):
        per_sample_grads(model, "cce", torch.zeros(2, 4), torch.zeros(2, dtype=torch.long), params=np.zeros(3))
    with pytest.raises(ValueError, match="X"):
        per_sample_grads(model, "cce", torch.full((2, 4), float("nan")), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="t"):
        trajectory_covariance(np.zeros((5, 2)), 7, 1)


def test_covariance_eigenvalues_and_correlation_block():
    from landscape.curvature.covariance import correlation_block, covariance_eigenvalues

    G = _grads(N=6, m=10, seed=4)
    F = sgd_noise_factor(G, 2)
    C = sgd_covariance(G, 2)
    np.testing.assert_allclose(covariance_eigenvalues(F), np.sort(np.linalg.eigvalsh(C))[::-1], atol=1e-13)
    R = correlation_block(F, np.arange(4))
    sd = np.sqrt(np.diag(C))[:4]
    np.testing.assert_allclose(R, C[:4, :4] / np.outer(sd, sd), atol=1e-12)
    np.testing.assert_allclose(np.diag(R), 1.0)


# --- the batched outer-product path (Sequential of Linear + elementwise activations) against vmap and the loop ---


@pytest.mark.parametrize("activation", sorted(__import__("landscape.nets.models").nets.models.ACTIVATIONS))
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_layered_path_equals_vmap_and_loop_for_every_activation(activation, dtype, tol):
    from landscape.curvature import covariance
    from landscape.nets import models

    net = models.mlp([4, 7, 5, 3], activation=activation, seed=2, dtype=dtype)
    assert covariance._layered(net)
    g = torch.Generator().manual_seed(3)
    X = torch.randn(13, 4, generator=g, dtype=dtype)
    for name, fn, y in [("cce", torch.nn.functional.cross_entropy, torch.randint(0, 3, (13,), generator=g)),
                        ("mse", torch.nn.functional.mse_loss, torch.randn(13, 3, generator=g, dtype=dtype))]:
        fast = per_sample_grads(net, name, X, y)
        general = per_sample_grads(net, name, X, y, chunk_size=13)  # chunk_size forces the vmap path
        loop = _loop_grads(net, fn, X, y)
        scale = float(loop.abs().max())
        assert float((fast - loop).abs().max()) <= tol * scale
        assert float((fast - general).abs().max()) <= tol * scale


def test_layered_path_on_a_trained_iris_network_matches_vmap(tmp_path):
    # the regime of chapter 02: float64 gradients of a trained 4-24-14-3 network at recorded points
    from landscape.diffusion import manifold
    from landscape.nets.recording import RecordConfig, record_sgd

    traj = record_sgd(RecordConfig(batch_size=20, epochs=60, lr=0.01, seed=0), cache_dir=tmp_path, progress=False)
    net, X, y, loss = manifold._grad_setup(traj)
    for i in (0, traj.M // 2, traj.M - 1):
        p = torch.from_numpy(traj.params[i])
        fast = per_sample_grads(net, loss, X, y, params=p)
        general = per_sample_grads(net, loss, X, y, params=p, chunk_size=X.shape[0])
        assert float((fast - general).abs().max()) <= 1e-14 * float(general.abs().max())


def test_networks_that_mix_samples_or_custom_losses_take_the_vmap_path():
    from landscape.curvature import covariance
    from landscape.nets import models

    assert not covariance._layered(models.mlp([4, 5, 3], batch_norm=True))
    assert not covariance._layered(torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Softmax(dim=1)))
    net = _net()
    X = torch.randn(6, 4, dtype=torch.float64)
    y = torch.randint(0, 3, (6,))
    G = per_sample_grads(net, torch.nn.functional.cross_entropy, X, y)  # a callable: general path
    torch.testing.assert_close(G, per_sample_grads(net, "cce", X, y), rtol=1e-12, atol=1e-13)
