"""Training-side choices of source 000 that :class:`~landscape.nets.recording.RecordConfig` does not vary (issue 21).

Source 000 trains its networks in Keras and states neither how the inputs were prepared nor what its "30 runs"
(Sec. 3.4) re-draw. :class:`VariantConfig` adds those choices to a recording configuration:

- ``standardise``: inputs standardised with the training part's statistics (:func:`landscape.nets.data.load`,
  the book's default) or left raw (in the file's units);
- ``missing``: the six auto-MPG cars without horsepower imputed with the training median or dropped;
- ``target_scale``: a regression target as given (``"raw"``, miles per gallon) or standardised with the training
  part's mean and standard deviation (``"standardised"``);
- ``order_seed``: the seed of the minibatch order, apart from ``seed`` (the initial weights). ``None`` takes
  ``seed``, as :func:`~landscape.nets.recording.record_sgd` does; a run with the same ``seed`` and another
  ``order_seed`` starts from the same weights and only sees its minibatches in another order.

:func:`record_variant` trains exactly as :func:`~landscape.nets.recording.record_sgd` (eq (1.2) of the source: plain
SGD, minibatches without replacement from the permutation ``numpy.random.default_rng([order_seed, epoch])``); with
the defaults it gives the same record bit for bit (tested). Its :class:`VariantTrajectory` loads its data through
:func:`variant_dataset`, so every tool that takes a trajectory (distances of eq (2.5), covariances) sees the
variant's data; the configuration's cache key differs from every plain :class:`RecordConfig`'s, so cached distances
never mix. Training is not cached (an iris or auto-MPG run of 2,400 steps takes seconds).

:func:`numpy_float32_distances` is the reading "numpy's ``pinv`` in float32": eq (2.5) with ``C_i`` formed in
float32 and inverted by ``numpy.linalg.pinv`` at its default ``rcond = 1e-15`` (the same for every dtype; ``m · eps``
is scipy's and torch's default, ``10 · m · eps`` TensorFlow's). In float32 the rounding floor of ``C_i``'s spectrum
lies near ``eps32 · λ_max ≈ 1e-7 λ_max``, far above ``1e-15 λ_max``, so the pseudo-inverse keeps the ``m - rank``
rounding directions at weights near ``1e7 / λ_max``.

To move later: :class:`VariantConfig`'s fields belong in ``RecordConfig`` and ``record_sgd`` (``nets/``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from landscape.infra.validation import check_choice, check_scalar
from landscape.nets import data, models
from landscape.nets.recording import DTYPES, RecordConfig, Trajectory, build_model, check_batch_size, provenance

__all__ = ["VariantConfig", "VariantTrajectory", "variant_dataset", "record_variant", "path_gap",
           "numpy_float32_distances"]

TARGET_SCALES = ("raw", "standardised")


@dataclass(frozen=True)
class VariantConfig(RecordConfig):
    """A :class:`~landscape.nets.recording.RecordConfig` with the training-side choices of the module docstring.

    Parameters
    ----------
    dataset, target, hidden, activation, init, init_value, loss, batch_size
        As :class:`~landscape.nets.recording.RecordConfig`.
    epochs, lr, seed, data_seed, dtype, task, split, record_every
        As :class:`~landscape.nets.recording.RecordConfig` (``record_every`` must be 1: a variant records every
        step).
    standardise : bool, default True
        Standardise the inputs with the training part's statistics (False: raw inputs).
    missing : {"impute", "drop"}, default "impute"
        The auto-MPG cars without horsepower (:func:`landscape.nets.data.load`); unused for other data.
    target_scale : {"raw", "standardised"}, default "raw"
        A regression target as given or standardised with the training part's mean and standard deviation.
    order_seed : int, optional
        Seed of the minibatch order (None: ``seed``, which always sets the initial weights).
    """

    standardise: bool = True
    missing: str = "impute"
    target_scale: str = "raw"
    order_seed: int | None = None

    def __post_init__(self):
        """Check the recording fields (:class:`RecordConfig`) and the variant's (``ValueError`` naming them)."""
        super().__post_init__()
        if not isinstance(self.standardise, bool):
            raise ValueError(f"standardise must be True or False, got {self.standardise!r}")
        check_choice(self.missing, "missing", ("impute", "drop"))
        check_choice(self.target_scale, "target_scale", TARGET_SCALES)
        if self.order_seed is not None:
            check_scalar(self.order_seed, "order_seed", int, min_val=0)
        if self.record_every != 1:
            raise ValueError(f"record_every: a variant records every step (1), got {self.record_every}")

    @property
    def minibatch_seed(self) -> int:
        """The seed of the minibatch order: ``order_seed``, or ``seed`` when that is None."""
        return self.seed if self.order_seed is None else self.order_seed


def variant_dataset(config: VariantConfig) -> data.Dataset:
    """The data of ``config``: :func:`landscape.nets.data.load`, then the variant's input and target scaling.

    Parameters
    ----------
    config : VariantConfig
        Dataset, split and the variant's ``standardise``, ``missing`` and ``target_scale``.

    Returns
    -------
    landscape.nets.data.Dataset
        Raw inputs (``mean`` and ``scale`` None) when ``standardise`` is False; a regression target divided by the
        training part's standard deviation after its mean is removed when ``target_scale`` is "standardised".

    Examples
    --------
    >>> raw = variant_dataset(VariantConfig(standardise=False))
    >>> round(float(raw.X_train[:, 2].max()), 1)  # iris petal length in cm
    6.9
    """
    missing = config.missing if config.dataset == "auto-mpg" else "impute"
    ds = data.load(config.dataset, target=config.target, seed=config.data_seed, task=config.task,
                   split=config.split, missing=missing)
    changes = {}
    if not config.standardise and ds.mean is not None:
        changes.update(X_train=ds.X_train * ds.scale + ds.mean, X_val=ds.X_val * ds.scale + ds.mean, mean=None,
                       scale=None)
    if config.target_scale == "standardised":
        if ds.task != "regression":
            raise ValueError(f"target_scale: {ds.name} is a classification task; only a regression target scales")
        mu, sd = float(ds.y_train.mean()), float(ds.y_train.std())
        changes.update(y_train=(ds.y_train - mu) / sd, y_val=(ds.y_val - mu) / sd,
                       info={**ds.info, "target_mean": mu, "target_scale": sd})
    return dataclasses.replace(ds, **changes) if changes else ds


class VariantTrajectory(Trajectory):
    """A :class:`~landscape.nets.recording.Trajectory` of a :class:`VariantConfig`: its data come from
    :func:`variant_dataset`, so distances and covariances are taken on the data it was trained on.

    Parameters
    ----------
    config : VariantConfig
        The configuration that produced the record (:func:`record_variant`).
    params, initial, batch_indices, batch_sizes, batch_loss, epoch_train_loss, epoch_val_loss, provenance, steps
        As :class:`~landscape.nets.recording.Trajectory`.
    """

    def dataset(self) -> data.Dataset:
        """The training data of the run (:func:`variant_dataset` of its config)."""
        return variant_dataset(self.config)


def record_variant(config: VariantConfig, *, threads: int | None = 1) -> VariantTrajectory:
    """Train ``config`` with plain SGD and record every step, as :func:`~landscape.nets.recording.record_sgd`.

    Parameters
    ----------
    config : VariantConfig
        What to train; the minibatch order of epoch ``e`` is ``default_rng([config.minibatch_seed, e])``.
    threads : int or None, default 1
        torch's CPU threads while training (restored afterwards); None keeps torch's setting.

    Returns
    -------
    VariantTrajectory
        The record (``params`` after every step, minibatches, losses), not cached.

    Raises
    ------
    FloatingPointError
        When the training loss becomes NaN or infinite (lower ``lr``).
    """
    if not isinstance(config, VariantConfig):
        raise ValueError(f"config: need a VariantConfig, got {type(config).__name__}")
    ds = variant_dataset(config)
    loss_name = config.loss or ds.loss
    check_batch_size(config.batch_size, ds)
    loss_fn = models.loss_function(loss_name)
    previous = torch.get_num_threads()
    if threads is not None:
        check_scalar(threads, "threads", int, min_val=1)
        torch.set_num_threads(threads)
    try:
        net = build_model(config, ds)
        m = models.n_params(net)
        X, y = ds.tensors("train", dtype=DTYPES[config.dtype])
        Xv, yv = ds.tensors("val", dtype=DTYPES[config.dtype])
        N, n = ds.N, config.batch_size
        per_epoch = -(-N // n)
        rows = config.epochs * per_epoch
        rec = {"params": np.empty((rows, m)), "batch_indices": np.full((rows, n), -1, dtype=np.int64),
               "batch_sizes": np.empty(rows, dtype=np.int64), "batch_loss": np.empty(rows),
               "epoch_train_loss": np.empty(config.epochs), "epoch_val_loss": np.empty(config.epochs)}
        initial = models.flatten(net).cpu().double().numpy()
        opt = torch.optim.SGD(net.parameters(), lr=config.lr)
        step = 0
        for epoch in range(config.epochs):
            perm = np.random.default_rng([config.minibatch_seed, epoch]).permutation(N)
            for b in range(per_epoch):
                idx = perm[b * n : (b + 1) * n]
                it = torch.as_tensor(idx)
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(net(X[it]), y[it])
                loss.backward()
                opt.step()
                rec["batch_loss"][step] = loss.item()
                rec["batch_indices"][step, : len(idx)] = idx
                rec["batch_sizes"][step] = len(idx)
                rec["params"][step] = torch.nn.utils.parameters_to_vector(net.parameters()).detach().double().numpy()
                step += 1
            with torch.no_grad():
                rec["epoch_train_loss"][epoch] = loss_fn(net(X), y).item()
                rec["epoch_val_loss"][epoch] = loss_fn(net(Xv), yv).item()
            if not np.isfinite(rec["epoch_train_loss"][epoch]):
                raise FloatingPointError(f"training diverged at epoch {epoch}; lower lr")
    finally:
        torch.set_num_threads(previous)
    return VariantTrajectory(config=config, initial=initial, provenance=provenance(torch.device("cpu")), **rec)


def path_gap(a, b) -> float:
    """The largest coordinate difference between two recorded paths of the same length, over every step.

    Parameters
    ----------
    a, b : landscape.nets.recording.Trajectory
        Two records with equal ``params`` shapes.

    Returns
    -------
    float
        ``max_{i,k} |a.params[i, k] - b.params[i, k]|``.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> path_gap(NS(params=np.zeros((2, 3))), NS(params=np.full((2, 3), 0.5)))
    0.5
    """
    if a.params.shape != b.params.shape:
        raise ValueError(f"b: params of shape {b.params.shape} do not match a's {a.params.shape}")
    return float(np.abs(a.params - b.params).max())


def numpy_float32_distances(traj, *, rcond: float = 1e-15, batch_size: int | None = None,
                            threads: int | None = 1) -> np.ndarray:
    """Eq (2.5) with ``C_i`` (eq 2.6) formed in float32 and inverted by ``numpy.linalg.pinv`` at ``rcond``.

    ``C_i = F_iᵀ F_i`` from the float64 factor of :func:`landscape.diffusion.manifold.trajectory_factors` cast to
    float32; ``P_i = pinv(C_i, rcond)`` in float32 (numpy's default ``rcond`` is 1e-15 for every dtype); then, in
    float64, ``d²_ij = ½ (Δᵀ P_i Δ + Δᵀ P_j Δ)`` with ``Δ = x_j - x_i`` (eq 2.5). Cost: ``M`` dense ``m × m``
    pseudo-inverses and ``M² m²`` multiply-adds.

    Parameters
    ----------
    traj : landscape.nets.recording.Trajectory
        The recorded trajectory (``M`` points in ``m`` dimensions).
    rcond : float, default 1e-15
        ``numpy.linalg.pinv``'s cutoff relative to the largest singular value, in ``[0, 1)``.
    batch_size : int, optional
        Minibatch size ``n`` of eq (2.6) (default: the trajectory's).
    threads : int or None, default 1
        torch threads of the per-sample gradients.

    Returns
    -------
    numpy.ndarray, shape (M, M)
        Symmetric "squared distances" with a zero diagonal, float64. Some may be negative: in float32 the
        rounding eigenvalues of ``C_i`` take either sign and ``pinv`` keeps them, so ``P_i`` is indefinite.
    """
    from landscape.diffusion import manifold

    if not (np.isfinite(rcond) and 0 <= rcond < 1):
        raise ValueError(f"rcond: must lie in [0, 1), got {rcond!r}")
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        factor = manifold.trajectory_factors(traj, kind="sgd", batch_size=batch_size)
        X = traj.params
        q = np.empty((traj.M, traj.M))
        for i in range(traj.M):
            F = factor(i).astype(np.float32)
            P = np.linalg.pinv(F.T @ F, rcond=rcond).astype(np.float64)
            D = X - X[i]
            q[i] = np.einsum("jk,jk->j", D @ P, D)
    finally:
        torch.set_num_threads(previous)
    sq = 0.5 * (q + q.T)
    np.fill_diagonal(sq, 0.0)
    return sq
