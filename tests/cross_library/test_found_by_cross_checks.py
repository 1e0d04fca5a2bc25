"""Bugs the cross-library checks found, pinned against our own dense float64 oracles (no other library needed)."""

import numpy as np
import torch
from torch import nn

from landscape.curvature import hessian


def test_gauss_newton_accepts_nn_mseloss():
    """``nn.MSELoss`` has no forward-mode rule for its gradient in torch 2.13 ("ZeroTensors are immutable"):
    the Gauss-Newton product falls back to reverse-over-reverse and must equal the dense ``J^T H_L J``.
    """
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    X, y = torch.randn(11, 3, dtype=torch.float64), torch.randn(11, 2, dtype=torch.float64)
    G = hessian.gauss_newton(model, nn.MSELoss(), (X, y), batch_size=4).to_dense()
    dense = hessian.dense_gauss_newton(model, nn.MSELoss(), (X, y))
    assert np.abs(G - dense).max() <= 1e-12 * np.abs(dense).max()
