"""The network experiments of chapter 04 (source 004 on digits): sweeps and runs that return tidy frames.

Each function trains or evaluates with :mod:`.nets`, :mod:`.alignment`, :mod:`.valley` and :mod:`.fdr`; the
chapter only calls them. Substitutes: digits (scikit-learn) instead of MNIST / CIFAR, small MLPs / CNNs instead of
the source's networks (the chapter names each difference).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from .. import hessian, models
from .alignment import dense_alignment, matrix_free_alignment
from .nets import flat_loss, flat_loss_grad, negative_eigen_sum, sgd_record
from .valley import ValleyPath, line_connected, project_to_valley, projected_path

__all__ = ["lbfgs_minimum", "negative_eigen_sweep", "alignment_during_training", "valley_run", "shuffled_label_start"]


def lbfgs_minimum(model, loss_fn, X, y, *, max_iter: int = 1000) -> tuple[float, float]:
    """Full-batch L-BFGS (strong Wolfe line search) from the model's weights to a minimum of the training loss,
    in place; returns ``(loss, gradient norm)``. A stand-in for the source's 10k epochs of GD (lr 0.1), which on
    our net stops measurably short of the minimum (SGD then descends further instead of fluctuating above it)."""
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    opt = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=max_iter, history_size=50,
                            line_search_fn="strong_wolfe", tolerance_grad=1e-9, tolerance_change=1e-14)

    def closure():
        opt.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        return loss

    opt.step(closure)
    opt.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    gnorm = float(torch.cat([p.grad.reshape(-1) for p in model.parameters()]).norm())
    model.zero_grad(set_to_none=True)
    return float(loss.detach()), gnorm


def negative_eigen_sweep(model, loss_fn, X, y, *, batch_sizes, lrs, steps: int, seed: int = 0,
                         progress: bool = False) -> pd.DataFrame:
    """Fig. 2(a) / App. A.3: from the model's current state (a GD minimum), SGD at each batch size and learning
    rate for about ``steps`` steps, then the training loss and the sum of negative Hessian eigenvalues (dense).
    The model is restored to its starting state after each run."""
    theta0 = models.flatten(model)
    N, rows = len(X), []
    grid = [(int(S), float(lr)) for S in batch_sizes for lr in lrs]
    for i, (S, lr) in enumerate(tqdm(grid, desc="sweep", disable=not progress)):
        models.assign(model, theta0)
        epochs = max(1, round(steps / math.ceil(N / S)))
        sgd_record(model, loss_fn, X, y, lr=lr, batch_size=S, epochs=epochs, seed=seed * 1000 + i, keep="epochs")
        with torch.no_grad():
            loss = float(loss_fn(model(torch.as_tensor(X)), torch.as_tensor(y)))
        neg, w = negative_eigen_sum(model, loss_fn, X, y)
        rows.append({"batch_size": S, "lr": lr, "strength": 1 / S - 1 / N, "epochs": epochs, "train_loss": loss,
                     "neg_sum": neg, "n_negative": int((w < 0).sum()), "top_eigenvalue": float(w[-1])})
    models.assign(model, theta0)
    return pd.DataFrame(rows)


def alignment_during_training(model, loss_fn, X, y, *, lr: float, batch_size: int, checkpoints, X_eval, y_eval,
                              n_probes: int = 30, seed: int = 0, gauss_newton: bool = False, dense: bool = False,
                              progress: bool = False) -> pd.DataFrame:
    """Fig. 5 / App. A.4: SGD in segments up to each checkpoint epoch; at each, CS(H, C) (eq 35) on
    ``(X_eval, y_eval)``, matrix-free (``dense``: the dense float64 oracle), and CS(G, C) with the Gauss--Newton
    part when ``gauss_newton``. Epoch 0 is the initialisation."""
    cps = sorted({int(c) for c in checkpoints})
    rows, done = [], 0
    for i, epoch in enumerate(tqdm(cps, desc="alignment", disable=not progress)):
        if epoch > done:
            sgd_record(model, loss_fn, X, y, lr=lr, batch_size=batch_size, epochs=epoch - done,
                       seed=seed * 1000 + i, keep="epochs")
            done = epoch
        with torch.no_grad():
            loss = float(loss_fn(model(torch.as_tensor(X)), torch.as_tensor(y)))
        kw = {} if dense else {"n_probes": n_probes, "seed": seed + i}
        fn = dense_alignment if dense else matrix_free_alignment
        row = {"epoch": epoch, "step": epoch * math.ceil(len(X) / batch_size), "train_loss": loss,
               "cs": fn(model, loss_fn, X_eval, y_eval, **kw).cs}
        if gauss_newton:
            row["cs_gauss_newton"] = fn(model, loss_fn, X_eval, y_eval, gauss_newton=True, **kw).cs
        rows.append(row)
    return pd.DataFrame(rows)


def valley_run(model, loss_fn, X, y, X_val, y_val, *, lr: float, batch_size: int, epochs: int, start_epoch: int = 1,
               threshold: float | None = None, line_factor: float = 2.0, n_points: int = 10,
               max_gd_steps: int = 2000, trace_probes: int = 10, seed: int = 0,
               progress: bool = False) -> tuple[ValleyPath, pd.DataFrame, pd.DataFrame]:
    """Figs. 1 and 3 (Secs. 2.1.1, 4.3): SGD keeping every state; each epoch end from ``start_epoch`` projected to
    the valley floor by GD (same ``lr``) until the training loss is below ``threshold`` (default: the smallest
    epoch-end training loss of the run, as in the source); consecutive projections line connected when the loss
    stays below ``line_factor * threshold`` at ``n_points`` points, refined by recursive bisection. Returns the
    path, a frame per projected point (epoch, losses, Hutchinson trace and its standard error) and the SGD
    run's per-epoch losses."""
    rec = sgd_record(model, loss_fn, X, y, lr=lr, batch_size=batch_size, epochs=epochs, seed=seed, keep="all",
                     val=(X_val, y_val), progress=progress)
    thr = float(rec.train_loss.min()) if threshold is None else float(threshold)
    lg, lf, lv = flat_loss_grad(model, loss_fn, X, y), flat_loss(model, loss_fn, X, y), flat_loss(
        model, loss_fn, X_val, y_val)
    path = projected_path(lambda t: rec.states[t], rec.epoch_end[start_epoch:],
                          lambda th: project_to_valley(lg, th, lr=lr, threshold=thr, max_steps=max_gd_steps),
                          lambda a, b: line_connected(lf, a, b, threshold=line_factor * thr, n_points=n_points))
    steps_per_epoch = rec.epoch_end[1]
    rows = []
    for k, (it, th) in enumerate(tqdm(list(zip(path.iterations, path.states, strict=True)), desc="trace",
                                      disable=not progress)):
        op = hessian.hessian_operator(models.assign(model, th), loss_fn, (torch.as_tensor(X), torch.as_tensor(y)))
        tr = hessian.hutchinson_trace(op, trace_probes, seed=seed + k)
        rows.append({"iteration": int(it), "epoch": it / steps_per_epoch, "train_loss": lf(th), "val_loss": lv(th),
                     "trace": tr.estimate, "trace_se": tr.stderr, "reached": bool(path.reached[k]),
                     "connected_next": bool(path.connected[k]) if k < len(path.connected) else np.nan})
    sgd = pd.DataFrame({"epoch": np.arange(len(rec.train_loss)), "train_loss": rec.train_loss,
                        "val_loss": rec.val_loss})
    return path, pd.DataFrame(rows), sgd


def shuffled_label_start(model, loss_fn, X, y, n_shuffled: int, *, lr: float, batch_size: int, epochs: int,
                         gd_steps: int, seed: int = 0):
    """App. A.2.2: split the training set into A (kept) and B (``n_shuffled`` samples, labels shuffled); SGD on
    A ∪ B for ``epochs``, then GD on A alone (up to ``gd_steps``, lr ``lr``) to a minimum of A. Returns
    ``(X_A, y_A)``; the model is left at that minimum (a poorly generalising start)."""
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    if not 0 < n_shuffled < len(X):
        raise ValueError(f"n_shuffled must lie in (0, {len(X)}), got {n_shuffled!r}")
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(X), generator=gen)
    a, b = perm[n_shuffled:], perm[:n_shuffled]
    yb = y[b][torch.randperm(n_shuffled, generator=gen)]
    sgd_record(model, loss_fn, torch.cat([X[a], X[b]]), torch.cat([y[a], yb]), lr=lr, batch_size=batch_size,
               epochs=epochs, seed=seed, keep="epochs")
    lg = flat_loss_grad(model, loss_fn, X[a], y[a])
    p = project_to_valley(lg, models.flatten(model).cpu().numpy(), lr=lr, threshold=1e-12, max_steps=gd_steps)
    models.assign(model, p.theta)
    return X[a], y[a]
