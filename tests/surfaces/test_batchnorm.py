"""Batch-norm aware directions and running statistics (source 003, Secs. 5.1.4, 5.4.2)."""

import numpy as np
import pytest
import torch

from landscape.nets import models
from landscape.nets.residual import residual_mlp
from landscape.surfaces import batchnorm as bnm
from landscape.surfaces import interpolation as ip

F = torch.nn.functional


def _bn_net(seed=0):
    net = residual_mlp(6, 3, width=5, depth=2, skip=False, bn=True, seed=seed, dtype=torch.float64)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.eps = 1e-30  # (torch needs eps > 0) scale invariance exact to rounding
    with torch.no_grad():  # non-trivial BN scales and shifts
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    return net


def test_masks_and_zero_bn_direction():
    net = _bn_net()
    mask = bnm.bn_parameter_mask(net)
    assert mask.sum() == 2 * 2 * (5 + 5)  # 2 blocks x 2 BN layers x (scale + shift) of width 5
    d = bnm.bn_aware_direction(net, seed=0, bn="zero", bias="random")
    assert np.all(d[mask] == 0) and np.all(d[~mask] != 0)
    theta = models.flatten(net).numpy()
    dc = bnm.bn_aware_direction(net, seed=0, bn="copy")
    assert np.array_equal(dc[mask], theta[mask])


def test_filter_normalised_rows_have_the_weights_norms():
    net = _bn_net()
    d = bnm.bn_aware_direction(net, seed=3)
    i = 0
    for p in net.parameters():
        k = p.numel()
        if p.dim() == 2:
            w = p.detach().numpy()
            np.testing.assert_allclose(np.linalg.norm(d[i:i + k].reshape(w.shape), axis=1),
                                       np.linalg.norm(w, axis=1), rtol=1e-13)
        i += k


def test_function_unchanged_along_bn_zero_and_scale_directions():
    """Along a direction that is zero except on a linear layer that feeds a BN layer and equal to that layer's
    weights and bias (a pure rescaling), a BN network (batch statistics, eps = 1e-30) computes the same function.
    """
    net = _bn_net()
    X = torch.randn(40, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    theta = models.flatten(net).numpy()
    d = np.zeros_like(theta)
    i = 0
    for name, p in net.named_parameters():
        if name.startswith("blocks.0.fc1"):
            d[i:i + p.numel()] = p.detach().numpy().reshape(-1)
        i += p.numel()
    net.train()
    ref = net(X).detach().clone()
    for alpha in (-0.5, 0.7, 3.0):
        models.assign(net, theta + alpha * d)
        np.testing.assert_allclose(net(X).detach().numpy(), ref.numpy(), rtol=0, atol=1e-12)
    # the BN-zero direction leaves every BN parameter where it was at every point of the line
    models.assign(net, theta)
    dz = bnm.bn_aware_direction(net, seed=1, bn="zero")
    pts = theta + np.linspace(-1, 2, 7)[:, None] * dz
    mask = bnm.bn_parameter_mask(net)
    assert np.all(pts[:, mask] == theta[mask])


def test_buffers_roundtrip_interpolation_and_recompute():
    a, b = _bn_net(0), _bn_net(1)
    X = torch.randn(50, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    for net in (a, b):
        bnm.recompute_bn_statistics(net, X, batch_size=50)
    ba, bb = models.buffer_vector(a), models.buffer_vector(b)
    path = bnm.interpolate_buffers(ba, bb, [0.0, 0.5, 1.0])
    assert np.array_equal(path[0], ba) and np.array_equal(path[2], bb)
    models.assign_buffers(a, bb)
    assert np.array_equal(models.buffer_vector(a), bb)
    models.assign_buffers(a, ba)
    # one full batch: the running mean/var are the batch mean and the unbiased batch variance of fc1's output
    h = torch.relu(a.inp(X))
    z = a.blocks[0].fc1(h).detach()
    np.testing.assert_allclose(a.blocks[0].bn1.running_mean.numpy(), z.mean(0).numpy(), atol=1e-13)
    np.testing.assert_allclose(a.blocks[0].bn1.running_var.numpy(), z.var(0, unbiased=True).numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="vec"):
        models.assign_buffers(a, ba[:-1])


def test_filter_normalisation_is_blind_to_relu_rescaling():
    """Li et al.'s point (Sec. 5.4.2): rescaling layer 1 by c and layer 2 by 1/c leaves a ReLU net's function
    unchanged; the filter-normalised line is then identical, a Gaussian line is not.
    """
    X = torch.randn(30, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, 3, (30,), generator=torch.Generator().manual_seed(1))
    net = models.mlp([4, 6, 3], seed=0, dtype=torch.float64)
    with torch.no_grad():
        net[0].bias.uniform_(-0.3, 0.3)
    scaled = models.mlp([4, 6, 3], seed=0, dtype=torch.float64)
    c = 10.0
    with torch.no_grad():
        scaled[0].weight.copy_(c * net[0].weight)
        scaled[0].bias.copy_(c * net[0].bias)
        scaled[2].weight.copy_(net[2].weight / c)
        scaled[2].bias.copy_(net[2].bias)
    alphas = np.linspace(-1, 1, 5)
    lines = {}
    for kind in ("filter", "gaussian"):
        for name, m in (("net", net), ("scaled", scaled)):
            d = bnm.bn_aware_direction(m, seed=5, kind=kind)
            pts = models.flatten(m).numpy() + alphas[:, None] * d
            lines[kind, name] = ip.loss_at(m, F.cross_entropy, (X, y), pts)["loss"].to_numpy()
    np.testing.assert_allclose(lines["filter", "net"], lines["filter", "scaled"], rtol=1e-12)
    assert np.abs(lines["gaussian", "net"] - lines["gaussian", "scaled"]).max() > 0.1
