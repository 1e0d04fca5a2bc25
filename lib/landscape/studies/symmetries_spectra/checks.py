r"""Checks of Secs. 5.2 and 5.6.3 that can fail (source 003): Chen's cone eq (4), gradient descent inside the wedge
eq (3), and the linear autoencoder trained rather than written down.

* :func:`in_cone` -- whether a tanh MLP lies in the open cone eq (4): every hidden bias has the sign of the output
  bias :math:`w_{K10}` and, multiplied by it, the biases of a layer decrease;
* :func:`cone_members` -- how many members of a net's throng lie in the cone (eq (4) is a minimal sufficient search
  set: one, for generic weights);
* :func:`wedge_descent` -- full-batch gradient descent twice, plainly and with every iterate moved into the wedge
  (:func:`landscape.geometry.symmetry.canonical_form`): the group acts by orthogonal maps that leave the loss
  unchanged, so the two runs have the same losses (the reason the wedge formulas are "of no use in learning");
* :func:`trained_autoencoder_error` -- a linear autoencoder trained by L-BFGS from random weights, compared with
  the projector onto the first principal components (Baldi & Hornik, Sec. 5.6.3), so the check does not reuse
  the closed-form minimum it tests.
"""

from __future__ import annotations

import copy

import numpy as np
import scipy.optimize
import torch
from torch import nn

from landscape.geometry import symmetry
from landscape.infra.validation import check_finite, check_scalar
from landscape.nets import models

__all__ = ["in_cone", "cone_members", "wedge_descent", "trained_autoencoder_error"]


def _linears(model: nn.Module) -> list[nn.Linear]:
    lins = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if len(lins) < 2:
        raise ValueError("model must be an MLP with at least one hidden layer")
    return lins


def in_cone(model: nn.Module) -> bool:
    r"""Whether ``model`` lies in Chen et al.'s open cone eq (4):
    :math:`w_{K10}\,w_{li0} > 0` and :math:`w_{K10}(w_{li0} - w_{l(i+1)0}) > 0` for every hidden layer :math:`l`
    (:math:`w_{li0}` the hidden biases, :math:`w_{K10}` the bias of the first output unit).

    Parameters
    ----------
    model : torch.nn.Sequential
        An MLP with at least one hidden layer.

    Returns
    -------
    bool

    Examples
    --------
    >>> net = models.mlp([2, 2, 1], "tanh", seed=0, dtype=torch.float64)
    >>> with torch.no_grad():
    ...     _ = net[0].bias.copy_(torch.tensor([-2.0, -1.0])), net[2].bias.fill_(-0.5)
    >>> in_cone(net)  # negative output bias: biases negative and increasing
    True
    """
    lins = _linears(model)
    out = float(lins[-1].bias[0].detach())
    for lin in lins[:-1]:
        b = lin.bias.detach().double().numpy()
        if not (np.all(out * b > 0) and np.all(out * (b[:-1] - b[1:]) > 0)):
            return False
    return True


def cone_members(model: nn.Module) -> int:
    """Members of ``model``'s throng (:func:`landscape.geometry.symmetry.throng`) inside the cone eq (4).

    Parameters
    ----------
    model : torch.nn.Sequential
        A tanh MLP small enough for the throng.

    Returns
    -------
    int
        1 for generic weights (eq (4) is a minimal sufficient search set).

    Examples
    --------
    >>> cone_members(models.mlp([2, 3, 1], "tanh", seed=0, dtype=torch.float64))  # biases zero: on the boundary
    0
    """
    _, elements = symmetry.throng(model)
    return int(sum(in_cone(symmetry.apply_element(copy.deepcopy(model), e)) for e in elements))


def wedge_descent(model: nn.Module, loss: str, X, y, *, steps: int, lr: float) -> dict:
    r"""Full-batch gradient descent from ``model``'s weights, plainly and with every iterate moved into the wedge
    eq (3) by :func:`landscape.geometry.symmetry.canonical_form` (Sec. 5.2: "if we are going downhill, and happen to
    cross the boundary of the minimal sufficient search set, we should just continue the descent").

    Each group element :math:`g` is an orthogonal map with :math:`L(gw) = L(w)`, hence
    :math:`\nabla L(gw) = g\nabla L(w)` and gradient descent commutes with it: the canonicalised run is the plain
    run moved by some :math:`g_t` at every step, with the same losses.

    Parameters
    ----------
    model : torch.nn.Sequential
        A tanh MLP (float64); it is not changed.
    loss : str
        Loss name (:func:`landscape.nets.models.loss_function`).
    X, y : torch.Tensor
        Full batch.
    steps : int
        Gradient steps, >= 1.
    lr : float
        Step size, > 0.

    Returns
    -------
    dict
        ``max_loss_diff`` (largest |loss difference| over the steps), ``end_distance`` (distance between the two
        runs' canonical end points), ``crossings`` (steps at which the plain run's iterate left the wedge, i.e.
        canonicalisation moved the other run), ``final_loss``.
    """
    check_scalar(steps, "steps", int, min_val=1)
    check_finite(check_scalar(lr, "lr", float, min_val=0, include_boundaries="neither"), "lr")
    fn = models.loss_function(loss)
    plain, wedge = copy.deepcopy(model).double(), symmetry.canonical_form(copy.deepcopy(model).double())
    diffs, crossings, last = [], 0, 0.0
    for _ in range(steps):
        losses = []
        for net in (plain, wedge):
            net.zero_grad(set_to_none=True)
            value = fn(net(X), y)
            value.backward()
            with torch.no_grad():
                for p in net.parameters():
                    p -= lr * p.grad
            losses.append(float(value.detach()))
        diffs.append(abs(losses[0] - losses[1]))
        last = losses[0]
        if not symmetry.in_wedge(wedge):
            crossings += 1
            wedge = symmetry.canonical_form(wedge)
    end = float(np.linalg.norm(models.flatten(symmetry.canonical_form(plain)).numpy()
                               - models.flatten(symmetry.canonical_form(wedge)).numpy()))
    return {"max_loss_diff": float(max(diffs)), "end_distance": end, "crossings": crossings, "final_loss": last}


def trained_autoencoder_error(X, p: int, *, seed: int = 0, scale: float = 0.1) -> float:
    r"""Train the linear autoencoder :math:`\hat X = ABX` (hidden width ``p``) on the mean squared error by L-BFGS
    from random weights :math:`\mathcal N(0, \text{scale}^2)` (``seed``) and return
    :math:`\|AB - U_pU_p^\top\|_F`, :math:`U_p` the first ``p`` eigenvectors of :math:`XX^\top/N` (Baldi & Hornik,
    Sec. 5.6.3: the unique minimum is this projector). Small when training finds the minimum; a saddle (another
    subset of eigenvectors) or an unconverged run leaves it of order one.

    Parameters
    ----------
    X : array_like
        (n, N) data, samples as columns.
    p : int
        Hidden width, ``1 <= p < n``.
    seed : int
        Seed of the initial weights.
    scale : float
        Standard deviation of the initial weights, > 0.

    Returns
    -------
    float
        Frobenius distance between the trained :math:`AB` and the projector.

    Examples
    --------
    >>> X = np.diag([3.0, 2.0, 1.0]) @ np.random.default_rng(0).standard_normal((3, 50))
    >>> trained_autoencoder_error(X, 2) < 1e-6
    True
    """
    X = check_finite(np.asarray(X, dtype=np.float64), "X")
    if X.ndim != 2:
        raise ValueError(f"X must be a (n, N) array, got shape {X.shape}")
    n, N = X.shape
    check_scalar(p, "p", int, min_val=1, max_val=n - 1)
    check_scalar(scale, "scale", float, min_val=0, include_boundaries="neither")
    S = X @ X.T / N

    def f(theta):
        A, B = theta[:n * p].reshape(n, p), theta[n * p:].reshape(p, n)
        R = A @ B - np.eye(n)  # loss tr(R S R^T) = mean ||(AB - I) x||^2
        RS = R @ S
        return float(np.sum(RS * R)), np.concatenate([(2 * RS @ B.T).ravel(), (2 * A.T @ RS).ravel()])

    theta0 = np.random.default_rng(seed).standard_normal(2 * n * p) * scale
    res = scipy.optimize.minimize(f, theta0, jac=True, method="L-BFGS-B",
                                  options={"maxiter": 20000, "ftol": 1e-30, "gtol": 1e-14})
    A, B = res.x[:n * p].reshape(n, p), res.x[n * p:].reshape(p, n)
    U = np.linalg.eigh(S)[1][:, ::-1][:, :p]
    return float(np.linalg.norm(A @ B - U @ U.T))
