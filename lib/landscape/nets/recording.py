"""Train a network with minibatch SGD and record every step: the data set X = {x_i} of source 000 (Sec. 3).

``record_sgd`` trains with plain SGD, eq (1.2) of source 000, x_{j+1} = x_j - eta * grad f_Omega(x_j), drawing
minibatches without replacement within an epoch from a fresh permutation per epoch (as Keras' ``shuffle=True``;
the last batch of an epoch holds the remainder when n does not divide N). It records:

- ``params`` (M, m): the parameter vector after each of the M steps (float64; exact copies of float32 weights),
- ``initial`` (m,): the parameter vector before the first step,
- ``batch_indices`` (M, n): the training rows of each minibatch, padded with -1 when a batch is short,
  ``batch_sizes`` (M,),
- ``batch_loss`` (M,): the minibatch loss at each step (before the update),
- ``epoch_train_loss`` / ``epoch_val_loss`` (epochs,): full losses after each epoch,
- the config and provenance (package versions, git commit, device).

Storage is content-addressed: ``data/cache/trajectories/<hash of the config>.npz`` (:mod:`landscape.infra.cache`). A second
call with the same config loads instead of training, after checking that the config stored in the file is the one
requested (a copied file or a key collision is recomputed, never used). Writes are atomic
(:func:`landscape.infra.cache.atomic_write`: a unique temporary file + ``os.replace``), so an interruption never
leaves a half-written record; long runs also write a checkpoint every ``checkpoint_every`` epochs and resume from
it, so an interrupted run loses nothing already recorded. Loading never unpickles (``allow_pickle=False``).

Determinism: the permutation of epoch e is drawn from ``numpy.random.default_rng([seed, e])`` and the weights from
``seed`` (see ``landscape.nets.models.mlp``), so a resumed run is bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from landscape import __version__
from landscape.nets import data, models
from landscape.infra import paths
from landscape.infra.cache import atomic_write, content_key, verified_load
from landscape.infra.validation import check_choice, check_finite, check_scalar

FORMAT_VERSION = 1
DTYPES = {"float32": torch.float32, "float64": torch.float64}


class CorruptRecordError(ValueError):
    """A cached record that cannot be read back (truncated, altered or not a record at all)."""


@dataclass(frozen=True)
class RecordConfig:
    """Everything that determines a trajectory. Equal configs give identical trajectories.

    ``task`` forces "classification" (one output per class, cross entropy) or "regression" for a CSV dataset;
    None takes it from the target column's type (see :func:`landscape.nets.data.load`). ``split`` is the train /
    validation split of :func:`landscape.nets.data.load`: "stratified" (default) or "keras" (the last rows held out,
    unshuffled, as Keras' ``validation_split``).
    """

    dataset: str = "iris"
    target: str | None = None
    hidden: tuple[int, ...] = (24, 14)
    activation: str = "relu"
    init: str = "glorot_uniform"
    init_value: float | None = None
    loss: str | None = None
    batch_size: int = 20
    epochs: int = 400
    lr: float = 0.01
    seed: int = 0
    data_seed: int = 0
    dtype: str = "float32"
    task: str | None = None
    split: str = "stratified"

    def __post_init__(self):
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        check_scalar(self.batch_size, "batch_size", int, min_val=1)
        check_scalar(self.epochs, "epochs", int, min_val=1)
        check_finite(check_scalar(self.lr, "lr", float, min_val=0, include_boundaries="neither"), "lr")
        check_choice(self.dtype, "dtype", tuple(DTYPES))
        if self.loss is not None:
            check_choice(self.loss, "loss", tuple(models.LOSSES))
        if self.task is not None:
            check_choice(self.task, "task", data.TASKS)
        check_choice(self.split, "split", data.SPLITS)
        for h in self.hidden:
            check_scalar(h, "hidden widths", int, min_val=1)

    def key(self) -> str:
        """A hash of the config (and of a user CSV's content), naming the cache file. ``task=None`` and the
        default ``split="stratified"`` are left out, so records made before these fields existed keep their keys."""
        d = dataclasses.asdict(self)
        if d["task"] is None:
            del d["task"]
        if d["split"] == "stratified":
            del d["split"]
        d["format"] = FORMAT_VERSION
        path = Path(self.dataset)
        if self.dataset not in data.BUILTIN and path.exists():
            d["dataset_sha256"] = data.sha256(path)
        return content_key(d, default=list)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, s: str) -> RecordConfig:
        d = json.loads(s)
        d["hidden"] = tuple(d["hidden"])
        return cls(**d)


@dataclass(frozen=True, eq=False)
class Trajectory:
    config: RecordConfig
    params: np.ndarray
    initial: np.ndarray
    batch_indices: np.ndarray
    batch_sizes: np.ndarray
    batch_loss: np.ndarray
    epoch_train_loss: np.ndarray
    epoch_val_loss: np.ndarray
    provenance: dict

    @property
    def M(self) -> int:
        """Number of recorded SGD steps."""
        return self.params.shape[0]

    @property
    def m(self) -> int:
        """Dimension of the parameter space."""
        return self.params.shape[1]

    def dataset(self) -> data.Dataset:
        return data.load(self.config.dataset, target=self.config.target, seed=self.config.data_seed,
                         task=self.config.task, split=self.config.split)

    def summary(self) -> dict:
        """One row describing the run (chapter 01's table): data sizes, batch size, steps, ``m``, final losses.

        ``steps per epoch`` is ``M // epochs`` (the last batch of an epoch holds the remainder).
        """
        ds, epochs = self.dataset(), self.config.epochs
        return {"dataset": ds.name, "N (samples)": ds.info["n_total"], "N train": ds.N,
                "n (batch)": self.config.batch_size, "steps per epoch": self.M // epochs, "epochs": epochs,
                "M (SGD steps)": self.M, "m": self.m, "final train loss": float(self.epoch_train_loss[-1]),
                "final val loss": float(self.epoch_val_loss[-1])}

    def loss_frame(self, name: str | None = None):
        """Tidy per-epoch losses: columns ``dataset, epoch, train, validation`` (epochs counted from 1)."""
        import pandas as pd

        epochs = np.arange(1, self.config.epochs + 1)
        return pd.DataFrame({"dataset": name or self.dataset().name, "epoch": epochs,
                             "train": self.epoch_train_loss, "validation": self.epoch_val_loss})

    def model(self, step: int | None = -1, device="cpu") -> torch.nn.Module:
        """The network with the weights after ``step`` (``None``: before the first step)."""
        ds = self.dataset()
        net = build_model(self.config, ds, device=device)
        vec = self.initial if step is None else self.params[step]
        return models.assign(net, vec)

    def save(self, path: str | Path) -> Path:
        """Write atomically: a temporary file in the same folder, then ``os.replace``."""
        arrays = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if isinstance(
            getattr(self, f.name), np.ndarray)}
        meta = {"config": self.config.to_json(), "provenance": self.provenance, "format": FORMAT_VERSION}
        return _atomic_savez(Path(path), meta, arrays)

    @classmethod
    def load(cls, path: str | Path) -> Trajectory:
        meta, arrays = _safe_load(Path(path))
        try:
            return cls(config=RecordConfig.from_json(meta["config"]), provenance=meta["provenance"], **arrays)
        except (KeyError, TypeError) as exc:
            raise CorruptRecordError(f"{path}: not a trajectory record ({exc})") from exc


def _atomic_savez(path: Path, meta: dict, arrays: dict) -> Path:
    with atomic_write(path) as f:
        np.savez(f, __meta__=np.array(json.dumps(meta, default=str)), **arrays)
    return path


def _safe_load(path: Path) -> tuple[dict, dict]:
    if not path.exists():
        raise FileNotFoundError(f"no record at {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays.pop("__meta__")))
    except (zipfile.BadZipFile, ValueError, KeyError, OSError, EOFError, json.JSONDecodeError) as exc:
        raise CorruptRecordError(
            f"{path} is not a readable record ({type(exc).__name__}: {exc}); delete it to record again") from exc
    return meta, arrays


def build_model(config: RecordConfig, ds: data.Dataset, device="cpu") -> torch.nn.Module:
    sizes = [ds.n_in, *config.hidden, ds.n_out]
    return models.mlp(sizes, config.activation, config.init, config.seed, init_value=config.init_value,
                      dtype=DTYPES[config.dtype], device=device)


def provenance(device) -> dict:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.root(), capture_output=True, text=True,
                                timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    import scipy

    return {"landscape": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "scipy": scipy.__version__, "python": sys.version.split()[0], "platform": platform.platform(),
            "git_commit": commit, "device": str(device)}


def cache_path(config: RecordConfig, cache_dir: str | Path | None = None) -> Path:
    base = Path(cache_dir) if cache_dir is not None else paths.cache_dir()
    return base / "trajectories" / f"{config.key()}.npz"


def record_sgd(
    config: RecordConfig | None = None,
    *,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    device: str | torch.device = "cpu",
    checkpoint_every: int = 50,
    use_cache: bool = True,
    threads: int | None = 1,
    **overrides,
) -> Trajectory:
    """Train with minibatch SGD and record every step (see the module docstring); cached by config hash.

    ``overrides`` replace fields of ``config`` (or of the default config), e.g. ``record_sgd(epochs=10)``.
    ``device`` ("cpu", "cuda", ...) is where training runs; records are identical in layout either way.
    ``threads`` sets torch's CPU threads while training (restored afterwards): these networks are tiny, and on a
    loaded 2-core machine two threads made one 400-epoch iris recording 30x slower than one. ``None`` keeps
    torch's setting. The thread count is not part of the cache key.
    """
    config = dataclasses.replace(config or RecordConfig(), **overrides)
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: CUDA was requested but is not available")
    path = cache_path(config, cache_dir)
    if use_cache:  # verified: a copied file or a key collision is recorded again, never used
        traj = verified_load(path, dataclasses.asdict(config), Trajectory.load,
                             config_of=lambda t: dataclasses.asdict(t.config), default=list)
        if traj is not None:
            return traj
    if threads is not None:
        check_scalar(threads, "threads", int, min_val=1)
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _record(config, path, progress=progress, device=device, checkpoint_every=checkpoint_every,
                       use_cache=use_cache)
    finally:
        torch.set_num_threads(previous)


_STEP_ARRAYS = ("params", "batch_indices", "batch_sizes", "batch_loss")
_EPOCH_ARRAYS = ("epoch_train_loss", "epoch_val_loss")


def _empty_record(M: int, m: int, n: int, epochs: int) -> dict[str, np.ndarray]:
    return {"params": np.empty((M, m)), "batch_indices": np.full((M, n), -1, dtype=np.int64),
            "batch_sizes": np.empty(M, dtype=np.int64), "batch_loss": np.empty(M),
            "epoch_train_loss": np.empty(epochs), "epoch_val_loss": np.empty(epochs)}


def _resume(ckpt: Path, config: RecordConfig, rec: dict, steps_per_epoch: int, net: torch.nn.Module) -> int:
    """Fill ``rec`` from the checkpoint of the same config (if any), set the weights, return the epochs done."""
    if not ckpt.exists():
        return 0
    meta, arr = _safe_load(ckpt)
    if RecordConfig.from_json(meta["config"]) != config:
        return 0
    epochs_done = int(meta["epochs_done"])
    done = epochs_done * steps_per_epoch
    for name in _STEP_ARRAYS:
        rec[name][:done] = arr[name]
    for name in _EPOCH_ARRAYS:
        rec[name][:epochs_done] = arr[name]
    if done:
        models.assign(net, rec["params"][done - 1])
    return epochs_done


def _checkpoint(ckpt: Path, config: RecordConfig, rec: dict, steps_done: int, epochs_done: int) -> None:
    arrays = {k: rec[k][:steps_done] for k in _STEP_ARRAYS} | {k: rec[k][:epochs_done] for k in _EPOCH_ARRAYS}
    _atomic_savez(ckpt, {"config": config.to_json(), "epochs_done": epochs_done}, arrays)


def _record(config: RecordConfig, path: Path, *, progress: bool, device: torch.device, checkpoint_every: int,
            use_cache: bool) -> Trajectory:
    ds = data.load(config.dataset, target=config.target, seed=config.data_seed, task=config.task, split=config.split)
    loss_name = config.loss or ds.loss
    if ds.task == "classification" and loss_name != "cce":
        raise ValueError(f"loss {loss_name!r} does not fit the classification dataset {ds.name!r}; use 'cce'")
    if config.batch_size > ds.N:
        raise ValueError(f"batch_size {config.batch_size} exceeds the {ds.N} training samples")
    loss_fn = models.loss_function(loss_name)
    dtype = DTYPES[config.dtype]
    X, y = ds.tensors("train", dtype=dtype, device=device)
    Xv, yv = ds.tensors("val", dtype=dtype, device=device)
    net = build_model(config, ds, device=device)
    N, n = ds.N, config.batch_size
    steps_per_epoch = -(-N // n)
    rec = _empty_record(config.epochs * steps_per_epoch, models.n_params(net), n, config.epochs)
    initial = models.flatten(net).cpu().double().numpy()
    ckpt = path.with_suffix(".partial.npz")
    start_epoch = _resume(ckpt, config, rec, steps_per_epoch, net) if use_cache else 0

    opt = torch.optim.SGD(net.parameters(), lr=config.lr)
    from tqdm.auto import tqdm

    step = start_epoch * steps_per_epoch
    bar = tqdm(range(start_epoch, config.epochs), desc=f"SGD {ds.name} {config.key()[:8]}", disable=not progress,
               initial=start_epoch, total=config.epochs, unit="epoch")
    for epoch in bar:
        perm = np.random.default_rng([config.seed, epoch]).permutation(N)
        for b in range(steps_per_epoch):
            idx = perm[b * n : (b + 1) * n]
            it = torch.as_tensor(idx, device=device)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(X[it]), y[it])
            loss.backward()
            opt.step()
            rec["batch_loss"][step] = loss.item()
            rec["batch_indices"][step, : len(idx)] = idx
            rec["batch_sizes"][step] = len(idx)
            rec["params"][step] = torch.nn.utils.parameters_to_vector(net.parameters()).detach().cpu().double().numpy()
            step += 1
        with torch.no_grad():
            rec["epoch_train_loss"][epoch] = loss_fn(net(X), y).item()
            rec["epoch_val_loss"][epoch] = loss_fn(net(Xv), yv).item()
        if not np.isfinite(rec["epoch_train_loss"][epoch]):
            raise FloatingPointError(f"training diverged at epoch {epoch} (loss {rec['epoch_train_loss'][epoch]}); "
                                     f"lower lr")
        bar.set_postfix(loss=f"{rec['epoch_train_loss'][epoch]:.4f}")
        if use_cache and checkpoint_every and (epoch + 1) % checkpoint_every == 0 and epoch + 1 < config.epochs:
            _checkpoint(ckpt, config, rec, step, epoch + 1)
    traj = Trajectory(config=config, initial=initial, provenance=provenance(device), **rec)
    if use_cache:
        traj.save(path)
        ckpt.unlink(missing_ok=True)
    return traj
