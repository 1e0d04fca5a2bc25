"""Networks and training records for the chapter-04 experiments on digits (stand-ins for the source's MNIST /
CIFAR runs): resized inputs, the small CNN of App. A.5, SGD runs that keep every state and minibatch gradient,
flat loss/gradient callables for valley projection, and per-epoch FDR criteria along a run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from landscape.curvature import hessian
from landscape.infra.executor import map_units
from landscape.infra.validation import check_choice, check_scalar
from landscape.nets import models
from landscape.noise.fdr import fdr_sides

__all__ = ["resize_digits", "small_cnn", "SGDRecord", "SAMPLINGS", "sgd_record", "flat_loss", "flat_loss_grad",
           "negative_eigen_sum", "fdr_along"]


def resize_digits(X, size: int = 7) -> np.ndarray:
    """8x8 digits (rows of 64) resized to ``size x size`` (bilinear, antialiased) and re-standardised per pixel
    (App. A.4 resizes CIFAR to 7x7 grey scale to make H and C tractable).

    Parameters
    ----------
    X : array (N, 64)
        Digits, rows of 8x8 pixels.
    size : int
        Side of the resized images, 1 to 8.

    Returns
    -------
    ndarray (N, size**2)
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 64:
        raise ValueError(f"X must have shape (N, 64), got {X.shape}")
    check_scalar(size, "size", int, min_val=1, max_val=8)
    t = torch.as_tensor(X).reshape(-1, 1, 8, 8)
    r = nn.functional.interpolate(t, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    R = r.reshape(len(X), -1).numpy()
    sd = R.std(axis=0)
    return (R - R.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def small_cnn(channels=(15, 20, 10), seed: int = 0, *, dtype=torch.float32) -> nn.Sequential:
    """App. A.5's small CNN for 8x8 digits: 3x3 convolutions (padding 1) with ``channels`` outputs and ReLUs,
    then a linear layer to 10 logits. ``(15, 20, 10)``: 11,090 parameters.

    Parameters
    ----------
    channels : sequence of int
        Output channels of the convolutions.
    seed : int
        Seed of the initial weights (``torch.manual_seed``).
    dtype : torch.dtype
        Of the parameters.

    Returns
    -------
    torch.nn.Sequential
        Input (N, 64), output (N, 10) logits.
    """
    if len(channels) < 1:
        raise ValueError(f"channels must name at least one convolution, got {channels!r}")
    for c in channels:
        check_scalar(c, "channels", int, min_val=1)
    torch.manual_seed(seed)
    layers: list[nn.Module] = [nn.Unflatten(1, (1, 8, 8))]
    c_in = 1
    for c in channels:
        layers += [nn.Conv2d(c_in, int(c), 3, padding=1), nn.ReLU()]
        c_in = int(c)
    layers += [nn.Flatten(), nn.Linear(c_in * 64, 10)]
    return nn.Sequential(*layers).to(dtype)


@dataclass(frozen=True)
class SGDRecord:
    """``states`` (T+1, m) every parameter vector (or only epoch ends), ``grads`` (T, m) the minibatch gradient
    of each step (or None), ``epoch_end`` (E+1,) the step index of each epoch end (0 first), ``train_loss``
    (E+1,) the full training loss there, ``val_loss`` (E+1,) or None.

    Parameters
    ----------
    states : numpy.ndarray
        ``(T+1, m)`` parameter vectors of every step, or ``(E+1, m)`` of the epoch ends only.
    grads : numpy.ndarray or None
        ``(T, m)`` minibatch gradient of each step, or None when not recorded.
    epoch_end : numpy.ndarray
        ``(E+1,)`` step index of each epoch end, 0 first.
    train_loss : numpy.ndarray
        ``(E+1,)`` full training loss at each epoch end.
    val_loss : numpy.ndarray or None
        ``(E+1,)`` validation loss there, or None without validation data.
    """

    states: np.ndarray
    grads: np.ndarray | None
    epoch_end: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray | None


def _full_loss(model, loss_fn, X, y) -> float:
    with torch.no_grad():
        return float(loss_fn(model(X), y))


SAMPLINGS = ("reshuffle", "independent")


def sgd_record(model: nn.Module, loss_fn, X, y, *, lr: float, batch_size: int, epochs: int, seed: int = 0,
               keep: str = "all", val=None, progress: bool = False, sampling: str = "reshuffle") -> SGDRecord:
    r"""Plain minibatch SGD that keeps every state and minibatch gradient (``keep="all"``) or only the epoch-end
    states (``"epochs"``). The model is updated in place. ``val = (X_val, y_val)`` adds the validation loss per
    epoch.

    Two samplers (``sampling``), both with ``ceil(N / batch_size)`` steps per epoch and seeded by ``seed``:
    ``"reshuffle"`` walks through a fresh permutation every epoch (every sample once per epoch, the last minibatch
    possibly smaller; PyTorch's ``DataLoader(shuffle=True)``); ``"independent"`` draws every step's minibatch afresh,
    ``batch_size`` distinct samples uniformly at random, independently of the other steps. Only the second makes the
    step noises independent with the covariance :math:`(1/S - 1/N)\,\Sigma` of source 004's Sec. 2.1.2 (Hoffer et
    al.) at every step, the model that App. A.3 of source 004 (and Theorem 1) assume; under reshuffling the noises
    of one epoch sum to zero at a fixed point, so part of the noise cancels over an epoch.

    Parameters
    ----------
    model : torch.nn.Module
        Updated in place by every step.
    loss_fn : callable
        ``loss_fn(outputs, targets)``.
    X, y : tensors
        Training set.
    lr, batch_size, epochs : float, int, int
    seed : int
        Seed of the shuffles.
    keep : str
        "all" or "epochs".
    val : (tensor, tensor) or None
        Validation set.
    progress : bool, default False
        Show a progress bar over the epochs.
    sampling : str, default "reshuffle"
        "reshuffle" or "independent" (see above).

    Returns
    -------
    SGDRecord
    """
    check_choice(keep, "keep", ("all", "epochs"))
    check_choice(sampling, "sampling", SAMPLINGS)
    check_scalar(lr, "lr", float, min_val=0, include_boundaries="neither")
    check_scalar(batch_size, "batch_size", int, min_val=1)
    check_scalar(epochs, "epochs", int, min_val=1)
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    gen = torch.Generator().manual_seed(seed)
    params = list(model.parameters())
    states, grads, ends = [models.flatten(model).cpu().numpy().copy()], [], [0]
    losses = [_full_loss(model, loss_fn, X, y)]
    vlosses = [] if val is None else [_full_loss(model, loss_fn, *val)]
    step = 0
    for _ in tqdm(range(int(epochs)), desc="sgd", disable=not progress, mininterval=2):
        perm = torch.randperm(len(X), generator=gen) if sampling == "reshuffle" else None
        for i in range(0, len(X), int(batch_size)):
            if perm is None:  # every step its own draw of batch_size distinct samples
                idx = torch.randperm(len(X), generator=gen)[:int(batch_size)]
            else:
                idx = perm[i:i + int(batch_size)]
            model.zero_grad(set_to_none=True)
            loss_fn(model(X[idx]), y[idx]).backward()
            with torch.no_grad():
                g = torch.cat([p.grad.reshape(-1) for p in params])
                for p in params:
                    p.sub_(lr * p.grad)
            step += 1
            if keep == "all":
                grads.append(g.cpu().numpy().copy())
                states.append(models.flatten(model).cpu().numpy().copy())
        ends.append(step)
        if keep == "epochs":
            states.append(models.flatten(model).cpu().numpy().copy())
        losses.append(_full_loss(model, loss_fn, X, y))
        if val is not None:
            vlosses.append(_full_loss(model, loss_fn, *val))
        if not np.isfinite(losses[-1]):
            raise FloatingPointError(f"SGD diverged (loss {losses[-1]}); lower lr")
    return SGDRecord(np.stack(states), np.stack(grads) if grads else None, np.array(ends), np.array(losses),
                     None if val is None else np.array(vlosses))


def flat_loss(model: nn.Module, loss_fn, X, y):
    """``loss(theta) -> float`` on a flat parameter vector (numpy), evaluated with ``model``'s structure.

    Parameters
    ----------
    model : torch.nn.Module
        Its structure evaluates ``theta``; its weights are not used.
    loss_fn : callable
    X, y : tensors
        The samples of the loss.

    Returns
    -------
    callable
        ``loss(theta) -> float``.
    """
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    p0 = next(model.parameters())

    def loss(theta):
        with torch.no_grad():
            t = torch.as_tensor(theta, dtype=p0.dtype, device=p0.device)
            return float(loss_fn(torch.func.functional_call(model, models.unflatten(model, t), (X,)), y))

    return loss


def flat_loss_grad(model: nn.Module, loss_fn, X, y):
    """``loss_grad(theta) -> (loss, gradient)`` on flat numpy vectors (for :func:`project_to_valley`).

    Parameters
    ----------
    model : torch.nn.Module
        Gives the structure; its weights are not used.
    loss_fn : callable
    X, y : tensors

    Returns
    -------
    callable
        ``loss_grad(theta) -> (float, ndarray)``.
    """
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    p0 = next(model.parameters())

    def f(t):
        return loss_fn(torch.func.functional_call(model, models.unflatten(model, t), (X,)), y)

    vg = torch.func.grad_and_value(f)

    def loss_grad(theta):
        g, v = vg(torch.as_tensor(theta, dtype=p0.dtype, device=p0.device))
        return float(v), g.detach().to("cpu", torch.float64).numpy()

    return loss_grad


def negative_eigen_sum(model: nn.Module, loss_fn, X, y, *, chunk: int = 128) -> tuple[float, np.ndarray]:
    """Sum of the negative eigenvalues of the full training-loss Hessian (Sec. 4.1 / Fig. 2a), from the dense
    float64 Hessian (``torch.func.hessian`` of the flat loss for a float64 model, else assembled by HVPs in blocks
    of ``chunk``); returns ``(sum, eigenvalues)``.

    Parameters
    ----------
    model : torch.nn.Module
        Small enough for a dense float64 Hessian.
    loss_fn : callable
    X, y : tensors
        The training set.
    chunk : int
        Hessian-vector products per block.

    Returns
    -------
    (float, ndarray)
        The sum of the negative eigenvalues and all eigenvalues (ascending).
    """
    data = (torch.as_tensor(X), torch.as_tensor(y))
    theta = models.flatten(model).detach()
    if theta.dtype == torch.float64:  # torch.func.hessian of the flat loss: 5-30x faster than HVP blocks here
        def flat(t):
            return loss_fn(torch.func.functional_call(model, models.unflatten(model, t), (data[0],)), data[1])

        try:
            H = torch.func.hessian(flat)(theta).detach().cpu().numpy()
        except RuntimeError:  # an operation without a forward-mode rule
            H = None
    else:
        H = None
    if H is None:
        try:  # forward-over-reverse blocks
            H = hessian.hessian_operator(model, loss_fn, data, dtype=torch.float64, method="forward").to_dense(chunk)
        except RuntimeError:  # an operation without a forward-mode rule
            H = hessian.hessian_operator(model, loss_fn, data, dtype=torch.float64, method="reverse").to_dense(chunk)
    w = np.linalg.eigvalsh(0.5 * (H + H.T))
    return float(w[w < 0].sum()), w


def _at(model: nn.Module, theta) -> nn.Module:
    p0 = next(model.parameters())
    return models.assign(model, torch.as_tensor(np.asarray(theta), dtype=p0.dtype, device=p0.device))


def _fdr_epoch(model: nn.Module, loss_fn, X, y, state, thetas, grads, lr: float, top_k: int, seed: int) -> dict:
    """FDR and FDR' over one epoch's steps (a module-level unit for :func:`~landscape.infra.executor.map_units`)."""
    op = hessian.hessian_operator(_at(model, state), loss_fn, (torch.as_tensor(X), torch.as_tensor(y)))
    ep = hessian.eigenpairs(op, top_k, seed=seed, tol=1e-4)
    full, top = fdr_sides(thetas, grads, lr), fdr_sides(thetas, grads, lr, basis=ep.eigenvectors)
    return {"top_eigenvalue": float(ep.eigenvalues[0]), "o_left": full.o_left, "o_right": full.o_right,
            "criterion_full": full.criterion, "o_left_top": top.o_left, "o_right_top": top.o_right,
            "criterion_top": top.criterion}


def fdr_along(record: SGDRecord, model: nn.Module, loss_fn, X, y, lr: float, *, top_k: int = 1,
              seed: int = 0, jobs=None, progress: bool = False) -> pd.DataFrame:
    r"""Per epoch, :math:`|O_L/O_R - 1|` (App. A.5, Fig. 6) over that epoch's steps in the raw parameter space and
    in the top-``top_k`` Hessian eigenspace at the epoch's start (Lanczos,
    :func:`landscape.curvature.hessian.eigenpairs`).

    Parameters
    ----------
    record : SGDRecord
        A run that kept every state and gradient (``sgd_record(..., keep="all")``).
    model : torch.nn.Module
        The network of the run (its weights are overwritten).
    loss_fn : callable
        Picklable when ``jobs > 1``.
    X, y : tensors
        The samples on which the Hessian is evaluated.
    lr : float
        The run's learning rate :math:`\eta`.
    top_k : int
        Dimension of the eigenspace of FDR'.
    seed : int
        Seed of the Lanczos start vector (the same every epoch).
    jobs : int or None
        Worker processes for the epochs (:func:`landscape.infra.executor.map_units`); the numbers do not depend on it.
    progress : bool, default False
        Show a progress bar over the epochs.

    Returns
    -------
    pandas.DataFrame
        One row per epoch: epoch, train_loss, top_eigenvalue, o_left, o_right, criterion_full, o_left_top,
        o_right_top, criterion_top.
    """
    if record.grads is None:
        raise ValueError("record must keep every step (sgd_record(..., keep='all'))")
    top_k = check_scalar(top_k, "top_k", int, min_val=1)
    ends = record.epoch_end
    units = [(model, loss_fn, X, y, record.states[ends[e - 1]], record.states[ends[e - 1]:ends[e]],
              record.grads[ends[e - 1]:ends[e]], lr, top_k, seed) for e in range(1, len(ends))]
    rows = map_units(_fdr_epoch, units, star=True, jobs=jobs, progress=progress, desc="FDR")
    return pd.DataFrame([{"epoch": e, "train_loss": record.train_loss[e], **row} for e, row in enumerate(rows, 1)])
