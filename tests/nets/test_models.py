import math

import numpy as np
import pytest
import torch

from landscape.nets import models


def test_source_parameter_counts():
    assert models.n_params(models.mlp([4, 24, 14, 3])) == 515
    assert models.n_params(models.mlp([9, 21, 13, 1])) == 510  # auto-MPG, origin one-hot
    assert models.n_params(models.mlp([7, 21, 13, 1])) == 468  # auto-MPG, raw inputs
    # source 000 Table 4, column m (1 to 10 hidden layers)
    widths = [[64], [24, 14], [12, 18, 10], [10, 14, 12, 8], [9, 10, 13, 10, 6], [6, 8, 12, 12, 8, 5],
              [5, 8, 9, 11, 9, 8, 5], [5, 7, 9, 10, 9, 8, 6, 4], [5, 6, 7, 8, 10, 8, 7, 6, 5],
              [4, 5, 6, 8, 9, 9, 8, 6, 5, 4]]
    counts = [models.n_params(models.mlp([4, *w, 3])) for w in widths]
    assert counts == [515, 515, 517, 515, 515, 517, 515, 515, 516, 516]


def _weights(init, sizes=(200, 300, 3), seed=0):
    net = models.mlp(list(sizes), init=init, seed=seed, dtype=torch.float64)
    return net[0].weight.detach().numpy(), net[0].bias.detach().numpy()


def test_glorot_uniform_statistics():
    w, b = _weights("glorot_uniform")
    a = math.sqrt(6 / (200 + 300))
    assert np.abs(w).max() <= a and np.abs(w).max() > 0.99 * a
    assert abs(w.var() - a**2 / 3) < 0.02 * a**2 / 3
    assert (b == 0).all()


def test_other_initialisations():
    w, _ = _weights("random_uniform")
    assert np.abs(w).max() <= 0.05 and abs(w.var() - 0.1**2 / 12) < 1e-4
    w, _ = _weights("truncated_normal")
    assert np.abs(w).max() <= 0.1 + 1e-12
    # variance of N(0, 1) truncated to [-2, 2] is 0.7737
    assert abs(w.var() / 0.05**2 - 0.7737) < 0.02
    w, _ = _weights("orthogonal")
    np.testing.assert_allclose(w.T @ w, np.eye(200), atol=1e-10)  # 300 x 200: orthonormal columns
    w, _ = _weights("identity")
    np.testing.assert_array_equal(w, np.eye(300, 200))
    w, b = _weights("zeros")
    assert not w.any() and not b.any()
    net = models.mlp([4, 5, 3], init="constant", init_value=5)
    assert (net[0].weight == 5).all() and (net[0].bias == 0).all()


def test_same_seed_same_weights():
    a = models.flatten(models.mlp([4, 24, 14, 3], seed=3))
    b = models.flatten(models.mlp([4, 24, 14, 3], seed=3))
    c = models.flatten(models.mlp([4, 24, 14, 3], seed=4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_flat_views_round_trip():
    net = models.mlp([4, 6, 3], seed=1, dtype=torch.float64)
    x = torch.randn(5, 4, dtype=torch.float64)
    vec = models.flatten(net) + 0.1
    params = models.unflatten(net, vec)
    out = torch.func.functional_call(net, params, (x,))
    models.assign(net, vec)
    torch.testing.assert_close(out, net(x))
    torch.testing.assert_close(models.flatten(net), vec)
    with pytest.raises(ValueError, match="vec"):
        models.assign(net, vec[:-1])


@pytest.mark.parametrize("kwargs, match", [
    (dict(sizes=[4]), "sizes"), (dict(sizes=[4, 0, 3]), "sizes"), (dict(sizes=[4, 3], init="he"), "init"),
    (dict(sizes=[4, 3], activation="swish"), "activation"), (dict(sizes=[4, 3], init_value=2.0), "init_value"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        models.mlp(**kwargs)


def test_loss_functions():
    assert models.loss_function("mae")(torch.tensor([1.0, 2.0]), torch.tensor([0.0, 0.0])) == 1.5
    with pytest.raises(ValueError, match="loss"):
        models.loss_function("hinge")


def test_mlp_batch_norm_keeps_the_weights_and_normalises_hidden_layers():
    plain = models.mlp([5, 4, 3, 2], "tanh", seed=7, dtype=torch.float64)
    normed = models.mlp([5, 4, 3, 2], "tanh", seed=7, dtype=torch.float64, batch_norm=True)
    lin = [m for m in normed if isinstance(m, torch.nn.Linear)]
    assert [torch.equal(a.weight, b.weight) for a, b in zip(plain[::2], lin, strict=True)] == [True] * 3
    bns = [m for m in normed if isinstance(m, torch.nn.BatchNorm1d)]
    assert [b.num_features for b in bns] == [4, 3] and not any(b.track_running_stats for b in bns)
    X = torch.randn(50, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    h = normed[1](normed[0](X))  # the first hidden layer after BN: zero mean, unit (biased) variance per unit
    assert torch.allclose(h.mean(0), torch.zeros(4, dtype=h.dtype), atol=1e-12)
    # eps = 1e-5 in the denominator: the variance is v / (v + eps), within 1e-4 of 1 here
    assert torch.allclose(h.var(0, unbiased=False), torch.ones(4, dtype=h.dtype), atol=1e-4)


def test_evaluating_restores_weights_and_flags_after_an_error():
    net = models.mlp([3, 4, 2], seed=1).train()
    before = models.flatten(net)
    try:
        with models.evaluating(net) as params:
            torch.nn.utils.vector_to_parameters(torch.zeros_like(before), params)
            assert not net.training and not torch.is_grad_enabled()
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert torch.equal(models.flatten(net), before) and net.training


def test_assign_copies_so_training_leaves_the_callers_vector_alone():
    import numpy as np
    import torch

    from landscape.nets import models

    net = models.mlp([2, 3, 1], dtype=torch.float64)
    theta = np.linspace(-1.0, 1.0, models.n_params(net))
    kept = theta.copy()
    models.assign(net, theta)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    loss = net(torch.ones(4, 2, dtype=torch.float64)).pow(2).sum()
    loss.backward()
    opt.step()
    assert np.array_equal(theta, kept)  # the vector the caller passed is unchanged
    assert not np.array_equal(models.flatten(net).numpy(), kept)  # while the network moved


def test_bias_free_mlp_counts_weights_and_matches_a_hand_written_forward_pass():
    """bias=False: the source-001 net W3 phi(W2 phi(W1 x)) with no bias anywhere; weights equal the biased net's."""
    sizes = [3, 5, 4, 2]
    free = models.mlp(sizes, "relu", seed=5, dtype=torch.float64, bias=False)
    assert models.n_params(free) == 3 * 5 + 5 * 4 + 4 * 2 == 43
    assert models.n_params(models.mlp(sizes, seed=5)) == 43 + 5 + 4 + 2  # the default keeps its biases
    lin = [m for m in free if isinstance(m, torch.nn.Linear)]
    assert all(m.bias is None for m in lin)
    biased = models.mlp(sizes, "relu", seed=5, dtype=torch.float64)
    assert [torch.equal(a.weight, b.weight) for a, b in zip(lin, biased[::2], strict=True)] == [True] * 3
    # the forward pass in float64 numpy, with a non-zero flat vector (the zero-initialised biases of the default
    # net would hide a bias that is there): relu between layers, none after the last
    vec = torch.linspace(-1.0, 1.0, 43, dtype=torch.float64)
    models.assign(free, vec)
    w = vec.numpy()
    W1, W2, W3 = w[:15].reshape(5, 3), w[15:35].reshape(4, 5), w[35:].reshape(2, 4)
    X = np.random.default_rng(0).standard_normal((7, 3))
    expected = W3 @ np.maximum(W2 @ np.maximum(W1 @ X.T, 0.0), 0.0)
    np.testing.assert_allclose(free(torch.as_tensor(X)).detach().numpy(), expected.T, rtol=0, atol=1e-14)
    # a point x and its multiple c x (c > 0): a bias-free ReLU net is positively homogeneous, a biased one is not
    x = torch.as_tensor(X[:1])
    torch.testing.assert_close(free(3.0 * x), 3.0 * free(x), rtol=0, atol=1e-13)
    with pytest.raises(ValueError, match="bias"):
        models.mlp(sizes, bias="no")
