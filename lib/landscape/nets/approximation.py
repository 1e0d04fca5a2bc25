r"""Trained networks for the Hessian-direction chapter: the function approximator of Böttcher & Wheeler,
Appendix D, and a small CNN on the scikit-learn digits (the offline stand-in for their CIFAR-10 classifiers);
plus the comparison of loss planes (Fig. 9, Table 2).

Appendix D: :math:`f(x) = \log(\sin(10x) + 2) + \sin(x)` (eq (42), reconstructed from Adcock & Dexter 2021,
whose smooth 1-D test function this is) on :math:`[-1, 1]`; fully connected ReLU networks of width 100; the
source's "2 and 10 layers" with 20,501 and 101,301 parameters are ``1 -> 100``, then 2 (10) layers
``100 -> 100``, then ``100 -> 1``: :math:`200 + L\cdot 10100 + 101` parameters.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from landscape.infra.cache import atomic_write, canonical_json, same_config
from landscape.infra.validation import check_finite, check_scalar
from landscape.nets import data

__all__ = [
    "function_data",
    "target_function",
    "fcnn",
    "digits_cnn",
    "TrainResult",
    "train",
    "cached_train",
    "compare_planes",
]


def function_data(n_train: int = 50, n_test: int = 1000, seed: int = 0, *, low: float = -1.0,
                  high: float = 1.0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Appendix D data: ``n_train`` and ``n_test`` points drawn uniformly at random in [low, high] (independent
    draws from one generator seeded with ``seed``), targets from :func:`target_function`. Returns
    ``{"train": (x, y), "test": (x, y)}`` with arrays of shape (N, 1).

    Parameters
    ----------
    n_train, n_test : int
        Numbers of points.
    seed : int
        Seed of the draws.
    low, high : float
        The interval.

    Returns
    -------
    dict
    """
    ds = data.synthetic_function(target_function, n_train=n_train, n_test=n_test, low=low, high=high, seed=seed,
                                 name="appendix-d")
    return {"train": (ds.X_train, ds.y_train), "test": (ds.X_val, ds.y_val)}


def target_function(x):
    r"""Eq (42): :math:`f(x) = \log(\sin(10x) + 2) + \sin(x)` (numpy).

    Parameters
    ----------
    x : array_like
        Points.

    Returns
    -------
    numpy.ndarray
    """
    x = np.asarray(x, dtype=np.float64)
    return np.log(np.sin(10 * x) + 2) + np.sin(x)


def fcnn(n_layers: int, width: int = 100, seed: int = 0, *, dtype=torch.float32) -> nn.Sequential:
    """ReLU network ``1 -> width``, ``n_layers`` x ``width -> width``, ``width -> 1`` (Appendix D; PyTorch's
    default initialisation, drawn with ``seed``). ``n_layers=2``: 20,501 parameters; 10: 101,301.

    Parameters
    ----------
    n_layers : int
        Hidden ``width -> width`` layers (>= 0).
    width : int
        Units per layer (>= 1).
    seed : int
        Seed of the initial weights.
    dtype : torch.dtype
        Parameter dtype.

    Returns
    -------
    torch.nn.Sequential
    """
    check_scalar(n_layers, "n_layers", int, min_val=0)
    check_scalar(width, "width", int, min_val=1)
    torch.manual_seed(seed)
    layers: list[nn.Module] = [nn.Linear(1, width), nn.ReLU()]
    for _ in range(n_layers):
        layers += [nn.Linear(width, width), nn.ReLU()]
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers).to(dtype)


class _Reshape(nn.Module):
    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


def digits_cnn(seed: int = 0, channels: tuple[int, int] = (16, 32), *, dtype=torch.float32) -> nn.Sequential:
    """Small CNN for the 8x8 digits (flat 64 inputs reshaped to 1x8x8): two 3x3 conv + ReLU + 2x2 max-pool
    blocks and a linear classifier to 10 logits. ``channels=(16, 32)``: 6,090 parameters.

    Parameters
    ----------
    seed : int
        Seed of the initial weights.
    channels : tuple of int
        Channels of the two convolutions.
    dtype : torch.dtype
        Parameter dtype.

    Returns
    -------
    torch.nn.Sequential
    """
    c1, c2 = channels
    torch.manual_seed(seed)
    return nn.Sequential(
        _Reshape(1, 8, 8),
        nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(c2 * 4, 10),
    ).to(dtype)


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` did; the model is left at the best training loss ("the best model was saved").

    Parameters
    ----------
    history : pandas.DataFrame
        ``epoch, train_loss`` every ``log_every`` epochs and at the last.
    best_epoch : int
        The epoch whose whole state (parameters and batch-norm statistics) the model holds.
    best_loss : float
        Its training loss.
    seconds : float
        Wall time of the training (0 when loaded from the cache).
    """

    history: pd.DataFrame
    best_epoch: int
    best_loss: float
    seconds: float


def _state_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of the whole ``state_dict``: parameters *and* buffers (batch-norm running means, variances
    and batch counts), so that a restored model is evaluated with the statistics of its own epoch.
    """
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def train(model: nn.Module, loss_fn: Callable, X, y, *, epochs: int, lr: float, batch_size: int | None = None,
          momentum: float = 0.0, nesterov: bool = False, seed: int = 0, log_every: int = 100,
          progress: bool = False, device=None) -> TrainResult:
    """(Minibatch) SGD; ``batch_size=None`` is full batch (Appendix D: 50 points, lr 0.1). Reshuffled each epoch
    with ``seed``. The best model by the epoch's training loss (evaluated on all of X after the epoch for
    minibatches, before the step for full batch) is restored at the end, with its whole ``state_dict``: the
    parameters *and* the buffers, so a batch-norm net keeps the running statistics of its best epoch (restoring
    the parameters alone evaluated it with the last epoch's statistics, issue 23). The evaluation on all of X runs
    in train mode, as the epochs do: for a batch-norm net the loss uses the statistics of all of X and that
    forward pass also moves the running statistics (part of the trajectory; ``best_loss`` can therefore differ
    slightly from the eval-mode loss of the restored net). The restored model equals, bit for bit on one device,
    the same model trained for exactly ``best_epoch`` epochs (tested). ``device``: where the model is trained
    (it is moved there; default: where it is; the minibatch order is drawn on the CPU either way).

    Parameters
    ----------
    model : torch.nn.Module
        Trained in place.
    loss_fn : callable
        ``loss_fn(output, target) -> scalar``.
    X, y : array_like
        Training data.
    epochs : int
        Epochs (>= 1).
    lr : float
        Learning rate (> 0).
    batch_size : int, optional
        Minibatch size; None: full batch.
    momentum, nesterov
        SGD momentum and Nesterov's variant.
    seed : int
        Seed of the minibatch order.
    log_every : int
        Epochs between history rows.
    progress : bool
        Show a progress bar.
    device : str or torch.device, optional
        Where to train.

    Returns
    -------
    TrainResult
    """
    check_scalar(epochs, "epochs", int, min_val=1)
    check_scalar(check_finite(lr, "lr"), "lr", float, min_val=0, include_boundaries="neither")
    if device is not None:
        model.to(device)
    p0 = next(model.parameters())
    X = torch.as_tensor(X).to(device=p0.device, dtype=p0.dtype)
    y = torch.as_tensor(y).to(p0.device)
    y = y.to(p0.dtype) if y.is_floating_point() else y
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, nesterov=nesterov)
    gen = torch.Generator().manual_seed(seed)
    best, best_state, best_epoch = float("inf"), None, -1
    rows = []
    t0 = time.perf_counter()
    model.train()
    for epoch in tqdm(range(epochs), desc="train", disable=not progress, mininterval=2):
        if batch_size is None:
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(X), y)
            cur = float(loss.detach())
            if cur < best:
                best, best_epoch = cur, epoch
                best_state = _state_copy(model)
            loss.backward()
            opt.step()
        else:
            perm = torch.randperm(X.shape[0], generator=gen).to(p0.device)
            for i in range(0, X.shape[0], batch_size):
                idx = perm[i:i + batch_size]
                opt.zero_grad(set_to_none=True)
                loss_fn(model(X[idx]), y[idx]).backward()
                opt.step()
            with torch.no_grad():
                cur = float(loss_fn(model(X), y))
            if cur < best:
                best, best_epoch = cur, epoch + 1
                best_state = _state_copy(model)
        if epoch % log_every == 0 or epoch == epochs - 1:
            rows.append({"epoch": epoch, "train_loss": cur})
        if not np.isfinite(cur):
            raise FloatingPointError(f"training diverged at epoch {epoch} (loss {cur})")
    if batch_size is None:  # the final parameters have not been evaluated yet
        with torch.no_grad():
            cur = float(loss_fn(model(X), y))
        if cur < best:
            best, best_epoch, best_state = cur, epochs, None
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return TrainResult(pd.DataFrame(rows), best_epoch, best, time.perf_counter() - t0)


def cached_train(model: nn.Module, loss_fn: Callable, X, y, *, key: Mapping, cache_dir=None,
                 **train_kwargs) -> TrainResult:
    """:func:`train`, cached: the trained weights and history are stored under ``cache_dir`` keyed by a hash of
    ``key`` (the configuration), the training arguments and the data; a second call loads them
    (``torch.load(weights_only=True)``) after checking that the configuration stored in the file is the requested
    one (:mod:`landscape.infra.cache`; files written before configurations were stored are accepted). A ``device``
    other than the CPU is part of the configuration (a GPU gives other rounding, so other weights). For a model
    with buffers (batch norm) the configuration also records that the whole state was restored, so files from
    before that fix (best weights, last epoch's statistics) are not reused; other models keep their file names.

    Parameters
    ----------
    model : torch.nn.Module
        Trained (or loaded) in place.
    loss_fn : callable
        As in :func:`train`.
    X, y : array_like
        Training data (part of the cache key).
    key : mapping
        The configuration that names the run.
    cache_dir : path, optional
        Default ``data/cache/hessian``.
    **train_kwargs
        Passed to :func:`train`.

    Returns
    -------
    TrainResult
    """
    device = train_kwargs.get("device")
    skip = ("progress",) if device is not None and torch.device(device).type != "cpu" else ("progress", "device")
    config = {"key": {k: str(v) for k, v in dict(key).items()},
              "train": {k: str(v) for k, v in train_kwargs.items() if k not in skip}}
    h = hashlib.sha256()
    h.update(json.dumps(config["key"], sort_keys=True).encode())
    h.update(json.dumps(config["train"], sort_keys=True).encode())
    if any(True for _ in model.buffers()):
        # files written before :func:`train` restored the buffers hold a best epoch's weights with another
        # epoch's BN statistics: a net with buffers gets new names (nets without buffers keep theirs)
        config["restore"] = "state_dict"
        h.update(b"restore:state_dict")
    X, y = (a.detach().cpu() if torch.is_tensor(a) else a for a in (X, y))
    h.update(np.ascontiguousarray(np.asarray(X, dtype=np.float64)).tobytes())
    h.update(np.ascontiguousarray(np.asarray(y)).tobytes())
    for p in model.parameters():
        h.update(p.detach().cpu().double().numpy().tobytes())
    if cache_dir is None:
        from landscape.infra.paths import cache_dir as _cache_dir
        cache_dir = _cache_dir() / "hessian"
    path = Path(cache_dir) / f"{h.hexdigest()[:20]}.pt"
    blob = torch.load(path, weights_only=True) if path.exists() else None
    if blob is not None and same_config(blob.get("config", canonical_json(config)), config):
        model.load_state_dict(blob["state"])
        if device is not None:
            model.to(device)
        model.eval()
        hist = pd.DataFrame({"epoch": blob["epoch"].numpy(), "train_loss": blob["loss"].numpy()})
        return TrainResult(hist, int(blob["best_epoch"]), float(blob["best_loss"]), 0.0)
    res = train(model, loss_fn, X, y, **train_kwargs)
    with atomic_write(path) as f:
        state = {k: v.cpu() for k, v in model.state_dict().items()}
        torch.save({"state": state, "epoch": torch.tensor(res.history.epoch.to_numpy().copy()),
                    "loss": torch.tensor(res.history.train_loss.to_numpy().copy()),
                    "best_epoch": torch.tensor(res.best_epoch), "best_loss": torch.tensor(res.best_loss),
                    "config": canonical_json(config)}, f)
    return res


def compare_planes(planes: Mapping[str, pd.DataFrame], *, train: str = "train", test: str = "test",
                   metric: str | None = None) -> pd.DataFrame:
    r"""Summary of loss planes (Fig. 7/9, Table 2): for each plane (frames from
    :func:`landscape.surfaces.projections.loss_surface`) the loss at the origin, the minimum training loss and its
    location :math:`(\alpha, \beta)`, the test loss (and ``metric``, e.g. accuracy) at that location, and the
    minimum test loss and its location. Columns ``plane, split_origin_*`` etc. in one row per plane.

    Parameters
    ----------
    planes : mapping
        Name -> surface frame.
    train, test : str
        Names of the two splits.
    metric : str, optional
        Extra column to report.

    Returns
    -------
    pandas.DataFrame
    """
    rows = []
    for name, df in planes.items():
        tr = df[df.split == train].reset_index(drop=True)
        te = df[df.split == test].reset_index(drop=True)
        if len(tr) != len(te) or not np.allclose(tr[["alpha", "beta"]], te[["alpha", "beta"]]):
            raise ValueError(f"planes[{name!r}]: train and test grids differ")
        o = tr.index[(tr.alpha == 0) & (tr.beta == 0)][0]
        i = int(tr.loss.idxmin())
        j = int(te.loss.idxmin())
        row = {"plane": name, "train_loss_origin": tr.loss[o], "test_loss_origin": te.loss[o],
               "train_loss_min": tr.loss[i], "alpha_train_min": tr.alpha[i], "beta_train_min": tr.beta[i],
               "test_loss_at_train_min": te.loss[i], "test_loss_min": te.loss[j],
               "alpha_test_min": te.alpha[j], "beta_test_min": te.beta[j]}
        if metric is not None:
            row[f"train_{metric}_at_train_min"] = tr[metric][i]
            row[f"test_{metric}_at_train_min"] = te[metric][i]
            row[f"train_{metric}_max"] = tr[metric].max()
            row[f"test_{metric}_max"] = te[metric].max()
            row[f"train_{metric}_origin"] = tr[metric][o]
            row[f"test_{metric}_origin"] = te[metric][o]
        rows.append(row)
    return pd.DataFrame(rows)
