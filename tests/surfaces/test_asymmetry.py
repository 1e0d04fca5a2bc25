"""Asymmetric valleys (source 003, He et al.): SGD's averaged iterate against its closed form."""

import numpy as np
import pytest
import torch

from landscape.nets import models
from landscape.surfaces import asymmetry as asy


def test_integer_c_average_is_exact_over_whole_periods():
    lr, a, c = 0.125, 1.0, 3.0  # all iterates are exact binary fractions
    w0 = 0.3 * lr * a  # inside the invariant interval [-lr a, lr c a)
    w = asy.asymmetric_sgd(w0, steps=4 * 1000, lr=lr, a=a, c=c)
    assert w.mean() == pytest.approx(asy.oscillation_average(w0, lr, a=a, c=c), abs=1e-14)
    assert asy.oscillation_average(w0, lr, a=a, c=c) > 0  # the flat side


def test_irrational_c_average_within_denjoy_koksma_bound():
    """C = golden ratio: rotation number 1/(1 + c) = 1/phi^2, convergent denominators are Fibonacci numbers q,
    and after q steps |mean - midpoint| <= P / q with P = lr a (1 + c) (Denjoy--Koksma, variation of w on I = P).
    """
    lr, a = 0.1, 1.0
    c = (1 + 5 ** 0.5) / 2
    q = 10946  # a Fibonacci number
    w = asy.asymmetric_sgd(0.0, steps=q, lr=lr, a=a, c=c)
    mid = asy.oscillation_average(0.0, lr, a=a, c=c)
    assert mid == pytest.approx(lr * a * (c - 1) / 2, rel=1e-15)
    assert abs(w.mean() - mid) <= lr * a * (1 + c) / q
    assert w.min() >= -lr * a - 1e-12 and w.max() < lr * c * a + 1e-12  # stays in I


def test_noisy_average_is_on_the_flat_side():
    w = asy.asymmetric_sgd(0.0, steps=20000, lr=0.05, a=1.0, c=8.0, noise=0.5, seed=0)
    assert w.mean() > 0.05 * 1.0 * (8.0 - 1) / 4  # well inside the flat side (noiseless midpoint: 0.175)


def test_loss_values_and_validation():
    L, g = asy.asymmetric_loss(np.array([-2.0, 0.0, 3.0]), a=0.5, c=4.0)
    assert L.tolist() == [4.0, 0.0, 1.5] and g.tolist() == [-2.0, 0.5, 0.5]
    with pytest.raises(ValueError, match="w0"):
        asy.oscillation_average(5.0, 0.1, a=1.0, c=3.0)
    with pytest.raises(ValueError, match=r"\bc\b"):
        asy.asymmetric_loss(0.0, c=-1.0)


def test_average_iterates_and_direction_asymmetry():
    P = np.arange(12.0).reshape(4, 3)
    assert asy.average_iterates(P, start=2).tolist() == [7.5, 8.5, 9.5]
    X = torch.randn(30, 4, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, 3, (30,), generator=torch.Generator().manual_seed(1))
    net = models.mlp([4, 8, 3], seed=0)
    fr = asy.direction_asymmetry(net, torch.nn.functional.cross_entropy, (X, y), 3, 0.5, n_points=5)
    assert (fr.ratio >= 1).all() and len(fr) == 3
    hi = np.maximum(fr.rise_plus, fr.rise_minus)
    lo = np.minimum(fr.rise_plus, fr.rise_minus)
    np.testing.assert_allclose(fr.ratio, np.where(lo > 0, hi / np.where(lo > 0, lo, 1), np.inf), rtol=1e-12)
    assert (np.sign(fr.rise_plus - fr.rise_minus).replace(0, 1) == fr.sharp_side).all()
