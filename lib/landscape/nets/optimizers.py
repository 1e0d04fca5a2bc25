r"""SGD, Adam, Heun (second-order Runge--Kutta) and Adam+RK2 on a model, with optimizer switches
(source 003, Sec. 5.1: Im et al. compare the solutions these four methods reach from one initialisation).

With minibatch gradient :math:`g(\theta)` on a batch :math:`B` and step size :math:`\eta`:

* SGD: :math:`\theta \leftarrow \theta - \eta\, g(\theta)`.
* Adam (Kingma & Ba): :math:`m \leftarrow \beta_1 m + (1-\beta_1)g`, :math:`v \leftarrow \beta_2 v + (1-\beta_2)g^2`,
  :math:`\theta \leftarrow \theta - \eta\,\hat m/(\sqrt{\hat v} + \epsilon)` with bias-corrected :math:`\hat m,\hat v`.
* RK2 (Heun's method for the gradient flow :math:`\dot\theta = -\nabla L`): predictor
  :math:`\tilde\theta = \theta - \eta\,g(\theta)`, then
  :math:`\theta \leftarrow \theta - \tfrac{\eta}{2}\bigl(g(\theta) + g(\tilde\theta)\bigr)` (both on the same batch).
* Adam+RK2: the predictor is an Adam step (moments not updated), and Adam is then fed the Heun average
  :math:`\tfrac12(g(\theta) + g(\tilde\theta))`. Im et al. do not spell out their combination; this is our reading.

Batch-norm running statistics are not advanced by the predictor evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from landscape.infra.validation import check_choice, check_finite, check_scalar

__all__ = ["METHODS", "TrainRun", "train"]

METHODS = ("sgd", "adam", "rk2", "adam_rk2")


@dataclass(frozen=True)
class TrainRun:
    """``history``: frame ``epoch, method, train_loss`` (loss on all of X after each epoch; epoch 0 = start);
    ``params`` (epochs + 1, m) float64: the parameter vector at the start and after every epoch.

    Parameters
    ----------
    history : pandas.DataFrame
        Columns ``epoch, method, train_loss``; epoch 0 is the start.
    params : numpy.ndarray, shape (epochs + 1, m)
        Flat float64 parameter vectors (``parameters_to_vector`` order) at the start and after every epoch.
    """

    history: pd.DataFrame
    params: np.ndarray


def _grad(model, loss_fn, X, y) -> torch.Tensor:
    model.zero_grad(set_to_none=True)
    loss_fn(model(X), y).backward()
    return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
                      for p in model.parameters()]).detach()


class _Adam:
    def __init__(self, n, like, b1=0.9, b2=0.999, eps=1e-8):
        z = torch.zeros(n, dtype=like.dtype, device=like.device)
        self.m, self.v, self.t = z, z.clone(), 0
        self.b1, self.b2, self.eps = b1, b2, eps

    def direction(self, g, update: bool) -> torch.Tensor:
        t = self.t + 1
        m = self.b1 * self.m + (1 - self.b1) * g
        v = self.b2 * self.v + (1 - self.b2) * g * g
        if update:
            self.m, self.v, self.t = m, v, t
        return (m / (1 - self.b1 ** t)) / (torch.sqrt(v / (1 - self.b2 ** t)) + self.eps)


def _step(method, model, params, loss_fn, X, y, lr, adam):
    theta = torch.nn.utils.parameters_to_vector(params).detach()
    g1 = _grad(model, loss_fn, X, y)
    if method == "sgd":
        new = theta - lr * g1
    elif method == "adam":
        new = theta - lr * adam.direction(g1, update=True)
    else:
        pred = theta - lr * (g1 if method == "rk2" else adam.direction(g1, update=False))
        bufs = [b.detach().clone() for b in model.buffers()]
        torch.nn.utils.vector_to_parameters(pred, params)
        g2 = _grad(model, loss_fn, X, y)
        with torch.no_grad():
            for b, b0 in zip(model.buffers(), bufs, strict=True):
                b.copy_(b0)
        g = 0.5 * (g1 + g2)
        new = theta - lr * (g if method == "rk2" else adam.direction(g, update=True))
    torch.nn.utils.vector_to_parameters(new, params)


def train(model: nn.Module, loss_fn: Callable, X, y, phases: Sequence[tuple[str, int, float]], *,
          batch_size: int = 64, seed: int = 0, progress: bool = False) -> TrainRun:
    r"""Train ``model`` in place through ``phases`` = [(method, epochs, lr), ...] (a switch of optimizer is a
    new phase, Sec. 5.1.3; Adam's moments restart at a switch). Minibatches are reshuffled every epoch from
    ``default_rng([seed, epoch])``; the same ``seed`` gives the same batches for every method, so runs differ
    only by the update rule. Raises ``FloatingPointError`` when the loss becomes NaN/inf.

    Parameters
    ----------
    model : torch.nn.Module
        Trained in place through the phases.
    loss_fn : callable
        Minibatch loss ``loss_fn(output, y)``.
    X, y : array_like
        Training data.
    phases : sequence of (str, int, float)
        ``(method, epochs, lr)`` with ``method`` in :data:`METHODS`.
    batch_size : int
        Minibatch size, >= 1.
    seed : int
        Seed of the minibatch order.
    progress : bool
        A progress bar over the epochs.

    Returns
    -------
    TrainRun
        History and parameter snapshots.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_scalar(batch_size, "batch_size", int, min_val=1)
    phases = [tuple(p) for p in phases]
    if not phases:
        raise ValueError("phases must not be empty")
    for method, epochs, lr in phases:
        check_choice(method, "phases: method", METHODS)
        check_scalar(epochs, "phases: epochs", int, min_val=1)
        check_finite(check_scalar(lr, "phases: lr", float, min_val=0, include_boundaries="right"), "phases: lr")
    params = list(model.parameters())
    p0 = params[0]
    X = torch.as_tensor(X, device=p0.device).to(p0.dtype)
    y = torch.as_tensor(y, device=p0.device)
    n = X.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"X has {n} rows but y has {y.shape[0]}")

    def full_loss():
        model.eval()
        with torch.no_grad():
            out = float(loss_fn(model(X), y))
        model.train()
        return out

    snaps = [torch.nn.utils.parameters_to_vector(params).detach().cpu().double().numpy()]
    rows = [{"epoch": 0, "method": phases[0][0], "train_loss": full_loss()}]
    total = sum(p[1] for p in phases)
    bar = tqdm(total=total, desc="train", disable=not progress, mininterval=2)
    epoch = 0
    model.train()
    for method, epochs, lr in phases:
        adam = _Adam(sum(p.numel() for p in params), p0.detach()) if "adam" in method else None
        for _ in range(epochs):
            perm = np.random.default_rng([seed, epoch]).permutation(n)
            for i in range(0, n, batch_size):
                idx = torch.as_tensor(perm[i:i + batch_size], device=p0.device)
                _step(method, model, params, loss_fn, X[idx], y[idx], lr, adam)
            epoch += 1
            cur = full_loss()
            if not np.isfinite(cur):
                raise FloatingPointError(f"training diverged at epoch {epoch} ({method}, loss {cur})")
            rows.append({"epoch": epoch, "method": method, "train_loss": cur})
            snaps.append(torch.nn.utils.parameters_to_vector(params).detach().cpu().double().numpy())
            bar.update(1)
    bar.close()
    model.zero_grad(set_to_none=True)
    model.eval()
    return TrainRun(pd.DataFrame(rows), np.stack(snaps))
