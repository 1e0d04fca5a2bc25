"""Checks of Secs. 5.2 / 5.6.3 that can fail (source 003): the cone eq (4), descent in the wedge, a trained
linear autoencoder.
"""

import numpy as np
import pytest
import torch

from landscape.geometry import symmetry
from landscape.nets import models
from landscape.studies.symmetries_spectra import symmetry_studies as checks


def _net(sizes, seed):
    net = models.mlp(sizes, "tanh", seed=seed, dtype=torch.float64)
    models.assign(net, torch.randn(models.n_params(net), generator=torch.Generator().manual_seed(seed),
                                   dtype=torch.float64))
    return net


def test_cone_holds_one_member_of_a_generic_throng_and_follows_the_output_bias_sign():
    small = _net([2, 3, 2, 1], 1)
    assert checks.cone_members(small) == 1  # eq (4): a minimal sufficient search set
    net = models.mlp([2, 2, 1], "tanh", seed=0, dtype=torch.float64)
    with torch.no_grad():
        net[0].bias.copy_(torch.tensor([2.0, 1.0]))
        net[2].bias.fill_(0.5)
        assert checks.in_cone(net) and symmetry.in_wedge(net)  # positive output bias: the cone is the wedge
        net[2].bias.fill_(-0.5)
        assert not checks.in_cone(net)
        net[0].bias.copy_(torch.tensor([-2.0, -1.0]))  # negative output bias: biases negative, increasing
        assert checks.in_cone(net) and not symmetry.in_wedge(net)
    assert checks.cone_members(models.mlp([2, 3, 1], "tanh", seed=0, dtype=torch.float64)) == 0  # zero biases


def test_wedge_descent_has_the_plain_losses_and_does_cross_the_wedge():
    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(40, 4, generator=gen, dtype=torch.float64), torch.randint(0, 3, (40,), generator=gen)
    out = checks.wedge_descent(_net([4, 5, 3], 2), "cce", X, y, steps=40, lr=0.5)
    assert out["crossings"] > 0  # canonicalisation did move the second run
    assert out["max_loss_diff"] <= 1e-13 and out["end_distance"] <= 1e-10
    with pytest.raises(ValueError, match="steps"):
        checks.wedge_descent(_net([4, 5, 3], 2), "cce", X, y, steps=0, lr=0.5)


def test_trained_autoencoder_reaches_the_principal_projector():
    X = np.diag([3.0, 2.0, 1.0, 0.5]) @ np.random.default_rng(0).standard_normal((4, 200))
    assert checks.trained_autoencoder_error(X, 2, seed=1) <= 1e-6
    # the check can fail: a projector onto another pair of directions is a unit away
    U = np.linalg.eigh(X @ X.T / 200)[1][:, ::-1]
    assert np.linalg.norm(U[:, [0, 2]] @ U[:, [0, 2]].T - U[:, :2] @ U[:, :2].T) == pytest.approx(np.sqrt(2))
    with pytest.raises(ValueError, match="p"):
        checks.trained_autoencoder_error(X, 4)
