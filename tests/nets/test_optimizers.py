"""SGD, Adam, Heun (RK2) and Adam+RK2 steps against hand-computed updates (source 003, Sec. 5.1)."""

import numpy as np
import pytest
import torch

from landscape.nets import models
from landscape.nets.optimizers import train

F = torch.nn.functional


def _problem():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(16, 3, dtype=torch.float64, generator=g)
    y = torch.randn(16, 2, dtype=torch.float64, generator=g)
    return X, y


def _lin(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Linear(3, 2).double()


def _grad_and_hessian(model, X, y):
    """Full-batch gradient and exact Hessian of the MSE of a linear model (dense, float64)."""
    theta = models.flatten(model)

    def loss(v):
        out = torch.func.functional_call(model, models.unflatten(model, v), (X,))
        return F.mse_loss(out, y)

    return torch.func.grad(loss)(theta), torch.func.hessian(loss)(theta), theta


def test_sgd_and_heun_steps_are_exact_on_a_quadratic():
    X, y = _problem()
    lr = 0.1
    for method in ("sgd", "rk2"):
        model = _lin()
        g, H, theta = _grad_and_hessian(model, X, y)
        run = train(model, F.mse_loss, X, y, [(method, 1, lr)], batch_size=16)
        # Heun on a quadratic: theta - lr g + lr^2/2 H g (the second-order Taylor step of the gradient flow)
        want = theta - lr * g + (0.5 * lr ** 2 * H @ g if method == "rk2" else 0)
        np.testing.assert_allclose(run.params[-1], want.numpy(), rtol=0, atol=1e-14)
        assert run.params.shape == (2, 8) and list(run.history.epoch) == [0, 1]


def test_adam_matches_torch_optim():
    X, y = _problem()
    model, ref = _lin(), _lin()
    train(model, F.mse_loss, X, y, [("adam", 3, 0.01)], batch_size=4, seed=2)
    opt = torch.optim.Adam(ref.parameters(), lr=0.01)
    for epoch in range(3):
        perm = np.random.default_rng([2, epoch]).permutation(16)
        for i in range(0, 16, 4):
            idx = torch.as_tensor(perm[i:i + 4])
            opt.zero_grad()
            F.mse_loss(ref(X[idx]), y[idx]).backward()
            opt.step()
    np.testing.assert_allclose(models.flatten(model).numpy(), models.flatten(ref).numpy(), rtol=0, atol=1e-13)


def test_adam_rk2_first_step_by_hand():
    X, y = _problem()
    lr, eps = 0.05, 1e-8
    model = _lin()
    g1, H, theta = _grad_and_hessian(model, X, y)
    pred = theta - lr * g1 / (g1.abs() + eps)  # Adam's first step direction is m/sqrt(v) = g/|g|
    g2 = g1 + H @ (pred - theta)  # exact gradient of a quadratic at the predictor
    g = 0.5 * (g1 + g2)
    want = theta - lr * g / (g.abs() + eps)
    run = train(model, F.mse_loss, X, y, [("adam_rk2", 1, lr)], batch_size=16)
    np.testing.assert_allclose(run.params[-1], want.numpy(), rtol=0, atol=1e-13)


def test_phases_switch_and_validation():
    X, y = _problem()
    run = train(_lin(), F.mse_loss, X, y, [("adam", 2, 0.01), ("sgd", 3, 0.05)], batch_size=8)
    assert list(run.history.method) == ["adam"] * 3 + ["sgd"] * 3 and run.params.shape == (6, 8)
    with pytest.raises(ValueError, match="method"):
        train(_lin(), F.mse_loss, X, y, [("lbfgs", 1, 0.1)])
    with pytest.raises(ValueError, match="lr"):
        train(_lin(), F.mse_loss, X, y, [("sgd", 1, -0.1)])
