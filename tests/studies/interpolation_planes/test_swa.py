"""He et al.'s flat-side test and the weight-decayed objective of chapter 06 (source 003, asymmetric valleys)."""

import numpy as np
import pytest
import torch

from landscape.nets import models
from landscape.studies.interpolation_planes.swa import flat_side_test, with_weight_decay


def test_flat_side_on_an_exact_asymmetric_valley():
    s = np.linspace(-1, 2, 31)  # last at s = 0, average at s = 1: 10 grid steps apart
    flat_right = np.where(s < 0.5, 4 * (0.5 - s), s - 0.5)  # minimum at 0.5, steep left, flat right
    r = flat_side_test(s, flat_right)
    assert r["s_min"] == pytest.approx(0.5, abs=1e-12) and r["interior"]
    # one solution-distance (1.0 in s) from the minimum: 1.0 higher on the right, 4.0 on the left
    assert r["rise_plus"] == pytest.approx(1.0, abs=1e-12) and r["rise_minus"] == pytest.approx(4.0, abs=1e-12)
    assert (r["flat_side"], r["average_side"], r["holds"]) == (1, 1, True)
    mirrored = flat_side_test(s, np.where(s < 0.5, 0.5 - s, 4 * (s - 0.5)))  # flat left, average right: fails
    assert (mirrored["flat_side"], mirrored["average_side"], mirrored["holds"]) == (-1, 1, False)


def test_flat_side_premise_fails_when_the_minimum_is_at_the_edge():
    s = np.linspace(-1, 2, 31)
    r = flat_side_test(s, 0.2 + 0.01 * s)  # still descending towards s = -1
    assert r["s_min"] == -1.0 and not r["interior"]
    with pytest.raises(ValueError, match="last and average"):
        flat_side_test(s, s ** 2, last=0.0, average=0.01)
    with pytest.raises(ValueError, match="s must be increasing"):
        flat_side_test(s[::-1], s ** 2)


def test_weight_decay_objective_gradient_is_loss_gradient_plus_lambda_theta():
    torch.manual_seed(0)
    net = models.mlp([3, 4, 2], seed=0, dtype=torch.float64)
    X, y = torch.randn(10, 3, dtype=torch.float64), torch.randint(0, 2, (10,))
    F = torch.nn.functional.cross_entropy
    grads = []
    for fn in (F, with_weight_decay(F, net, 0.3)):
        net.zero_grad()
        fn(net(X), y).backward()
        grads.append(torch.cat([p.grad.reshape(-1) for p in net.parameters()]))
    theta = models.flatten(net)
    assert torch.allclose(grads[1], grads[0] + 0.3 * theta, rtol=0, atol=1e-14)
    assert with_weight_decay(F, net, 0.0) is F
    with pytest.raises(ValueError, match="weight_decay"):
        with_weight_decay(F, net, -1.0)


def test_phase_drift_exact_and_rejects_bad_input():
    from landscape.studies.interpolation_planes.swa import phase_drift

    assert phase_drift([4.0, 3.0, 1.0]) == 0.75  # (4 - 1) / 4, exactly
    assert phase_drift([1.0, 1.2, 0.8, 1.0]) == 0.0  # oscillating around a level: no drift
    assert phase_drift([-2.0, -1.0]) == -0.5  # the sign follows the fall, scaled by |f_0|
    for bad in ([1.0], [0.0, 1.0], [1.0, float("nan")]):
        with pytest.raises(ValueError):
            phase_drift(bad)
