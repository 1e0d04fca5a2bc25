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

``record_every=k`` (a field of :class:`RecordConfig`; default 1, every step) keeps only the rows of steps k, 2k,
3k, ... and always the last step; ``steps`` (1-based step numbers) then says which, and ``M`` counts the recorded
rows while ``n_steps`` counts the SGD steps taken. Training is the same for any k: the same permutations and
updates, so the rows kept are exactly those rows of the full record.

Size. A record holds ``rows x (m + n + 2) x 8`` bytes (parameters, minibatch indices, size and loss) in memory and
as much again in its uncompressed cache file, plus, while recording, a checkpoint of up to the same size
(:func:`record_size`). ``record_sgd`` estimates both before training and refuses with one line (the estimate, and
how to record less) when either is above ``max_bytes`` (default :data:`MAX_BYTES`, 4 GiB) or the disk is short.

Progress. Besides tqdm's bar (``progress=True``), named stage lines ("stage: training iris 3f2a91c0: epoch 40/400,
train loss 0.2114") go to the logger ``landscape.stages`` at INFO (loading data, about every tenth of the
epochs, saving); ``progress="stages"`` or the environment variable ``LANDSCAPE_STAGES=1`` also prints them to
stderr, where a log or a runner can show them in place of a per-cell ETA.

Storage is content-addressed: ``data/cache/trajectories/<hash of the config>.npz`` (:mod:`landscape.infra.cache`). A
second call with the same config loads instead of training, after checking that the config stored in the file is the
one requested (a copied file or a key collision is recomputed, never used). Writes are atomic
(:func:`landscape.infra.cache.atomic_write`: a unique temporary file + ``os.replace``), so an interruption never
leaves a half-written record; long runs also write a checkpoint every ``checkpoint_every`` epochs and resume from
it, so an interrupted run loses nothing already recorded. Loading never unpickles (``allow_pickle=False``).

Determinism: the permutation of epoch e is drawn from ``numpy.random.default_rng([seed, e])`` and the weights from
``seed`` (see ``landscape.nets.models.mlp``), so a resumed run is bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import platform
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from landscape import __version__
from landscape.infra import paths
from landscape.infra.cache import atomic_write, content_key, verified_load
from landscape.infra.validation import check_choice, check_finite, check_scalar
from landscape.nets import data, models

FORMAT_VERSION = 1
DTYPES = {"float32": torch.float32, "float64": torch.float64}
#: Default limit of :func:`record_sgd` on a recording's memory and on its disk (each), in bytes: 4 GiB.
MAX_BYTES = 4 * 2**30
STAGES_ENV = "LANDSCAPE_STAGES"
_STAGES = logging.getLogger("landscape.stages")
# not passed on to the runner's "landscape" logger (whose handler prints progress on stdout): a library call inside
# a process that once ran the command line would otherwise print stage lines into the caller's output
_STAGES.propagate = False
_STAGES.addHandler(logging.NullHandler())


class CorruptRecordError(ValueError):
    """A cached record that cannot be read back (truncated, altered or not a record at all)."""


@dataclass(frozen=True)
class RecordConfig:
    """Everything that determines a trajectory. Equal configs give identical trajectories.

    ``task`` forces "classification" (one output per class, cross entropy) or "regression" for a CSV dataset;
    None takes it from the target column's type (see :func:`landscape.nets.data.load`). ``split`` is the train /
    validation split of :func:`landscape.nets.data.load`: "stratified" (default) or "keras" (the last rows held out,
    unshuffled, as Keras' ``validation_split``). ``record_every=k`` keeps every k-th step (and the last; see the
    module docstring): the same training, a k times smaller record. Every field is checked on construction (a
    ``ValueError`` naming it); ``batch_size`` is checked against the data's ``N`` when recording.

    Parameters
    ----------
    dataset : str, default "iris"
        A built-in dataset (``"iris"``, ``"auto-mpg"``, ``"digits"``) or the path of a CSV file
        (:func:`landscape.nets.data.load`).
    target : str, optional
        The target column of a CSV dataset (required for one; unused by the built-ins).
    hidden : tuple of int, default (24, 14)
        Hidden layer widths, each ``>= 1`` (source 000's iris network).
    activation : str, default "relu"
        Hidden activation, a key of :data:`landscape.nets.models.ACTIVATIONS`.
    init : str, default "glorot_uniform"
        Weight initialiser, one of :data:`landscape.nets.models.INITS` (biases start at zero).
    init_value : float, optional
        The constant of ``init="constant"`` (None: :func:`landscape.nets.models.mlp`'s default).
    loss : {"cce", "mse", "mae"}, optional
        Training loss; None: the dataset's own (:attr:`landscape.nets.data.Dataset.loss`).
    batch_size : int, default 20
        Minibatch size ``n`` of eq (1.2), ``1 <= n <= N``.
    epochs : int, default 400
        Passes over the training set, ``>= 1``.
    lr : float, default 0.01
        Learning rate ``η`` of eq (1.2), finite and ``> 0``.
    seed : int, default 0
        Seed of the initial weights and of each epoch's permutation (``numpy.random.default_rng([seed, epoch])``).
    data_seed : int, default 0
        Seed of the train / validation split (``seed`` of :func:`landscape.nets.data.load`).
    dtype : {"float32", "float64"}, default "float32"
        Training precision (the record itself is float64).
    task : {"classification", "regression"}, optional
        Task of a CSV target (above); None: from the column.
    split : {"stratified", "keras"}, default "stratified"
        Train / validation split (above).
    record_every : int, default 1
        Keep every k-th SGD step and the last, ``k >= 1``.
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
    record_every: int = 1

    def __post_init__(self):
        """Make ``hidden`` a tuple of ints and check every field (``ValueError`` naming the first bad one)."""
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
        check_scalar(self.record_every, "record_every", int, min_val=1)
        for h in self.hidden:
            check_scalar(h, "hidden widths", int, min_val=1)

    def key(self) -> str:
        """A hash of the config (and of a user CSV's content), naming the cache file. ``task=None``, the
        default ``split="stratified"`` and ``record_every=1`` are left out, so records made before these fields
        existed keep their keys.
        """
        d = dataclasses.asdict(self)
        if d["task"] is None:
            del d["task"]
        if d["split"] == "stratified":
            del d["split"]
        if d["record_every"] == 1:
            del d["record_every"]
        d["format"] = FORMAT_VERSION
        path = Path(self.dataset)
        if self.dataset not in data.BUILTIN and path.exists():
            d["dataset_sha256"] = data.sha256(path)
        return content_key(d, default=list)

    def to_json(self) -> str:
        """The config's fields as JSON with sorted keys (read back by :meth:`from_json`)."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, s: str) -> RecordConfig:
        """The config of :meth:`to_json`; fields written before they existed take their defaults.

        Parameters
        ----------
        s : str
            JSON of the config's fields.
        """
        d = json.loads(s)
        d["hidden"] = tuple(d["hidden"])
        return cls(**d)


@dataclass(frozen=True, eq=False)
class Trajectory:
    """A recorded SGD run (:func:`record_sgd`): the points ``x_i`` of source 000 (Sec. 3) and what produced them.

    ``M`` is the number of recorded rows (every SGD step unless ``config.record_every > 1``), ``m`` the number of
    parameters, ``n`` the batch size.

    Parameters
    ----------
    config : RecordConfig
        The configuration that produced the record.
    params : numpy.ndarray, shape (M, m)
        The parameter vector after each recorded step, float64 (exact copies of float32 weights).
    initial : numpy.ndarray, shape (m,)
        The parameter vector before the first step.
    batch_indices : numpy.ndarray, shape (M, n)
        Training rows of each recorded step's minibatch, int64, padded with -1 when a batch is short.
    batch_sizes : numpy.ndarray, shape (M,)
        Rows in each recorded step's minibatch, int64.
    batch_loss : numpy.ndarray, shape (M,)
        The minibatch loss at each recorded step, before its update.
    epoch_train_loss, epoch_val_loss : numpy.ndarray, shape (epochs,)
        Loss on the whole training / validation part after each epoch.
    provenance : dict
        Package versions, git commit, platform and device (:func:`provenance`).
    steps : numpy.ndarray, shape (M,), optional
        The 1-based SGD step of each row (int64) when ``record_every > 1``; None when every step is recorded.
    """

    config: RecordConfig
    params: np.ndarray
    initial: np.ndarray
    batch_indices: np.ndarray
    batch_sizes: np.ndarray
    batch_loss: np.ndarray
    epoch_train_loss: np.ndarray
    epoch_val_loss: np.ndarray
    provenance: dict
    steps: np.ndarray | None = None

    @property
    def M(self) -> int:
        """Number of recorded SGD steps (rows of ``params``; all steps unless ``record_every > 1``)."""
        return self.params.shape[0]

    @property
    def step_numbers(self) -> np.ndarray:
        """The 1-based SGD step after which each row of ``params`` was recorded (1, 2, ..., M for every step)."""
        return self.steps if self.steps is not None else np.arange(1, self.M + 1)

    @property
    def n_steps(self) -> int:
        """Number of SGD steps taken (the last one is always recorded)."""
        return int(self.step_numbers[-1])

    @property
    def m(self) -> int:
        """Dimension of the parameter space."""
        return self.params.shape[1]

    def dataset(self) -> data.Dataset:
        """The training data of the run, loaded again from ``config`` (:func:`landscape.nets.data.load`)."""
        return data.load(self.config.dataset, target=self.config.target, seed=self.config.data_seed,
                         task=self.config.task, split=self.config.split)

    def summary(self) -> dict:
        """One row describing the run (chapter 01's table): data sizes, batch size, steps, ``m``, final losses.

        ``steps per epoch`` is ``n_steps // epochs`` (the last batch of an epoch holds the remainder). A record of
        every k-th step (``record_every > 1``) adds ``recorded steps`` (M).
        """
        ds, epochs = self.dataset(), self.config.epochs
        row = {"dataset": ds.name, "N (samples)": ds.info["n_total"], "N train": ds.N,
               "n (batch)": self.config.batch_size, "steps per epoch": self.n_steps // epochs, "epochs": epochs,
               "M (SGD steps)": self.n_steps, "m": self.m, "final train loss": float(self.epoch_train_loss[-1]),
               "final val loss": float(self.epoch_val_loss[-1])}
        if self.config.record_every > 1:
            row["recorded steps"] = self.M
        return row

    def loss_frame(self, name: str | None = None):
        """Tidy per-epoch losses: columns ``dataset, epoch, train, validation`` (epochs counted from 1).

        Parameters
        ----------
        name : str, optional
            The ``dataset`` column (default: the dataset's name).
        """
        import pandas as pd

        epochs = np.arange(1, self.config.epochs + 1)
        return pd.DataFrame({"dataset": name or self.dataset().name, "epoch": epochs,
                             "train": self.epoch_train_loss, "validation": self.epoch_val_loss})

    def model(self, step: int | None = -1, device="cpu") -> torch.nn.Module:
        """The network with the weights of row ``step`` of ``params`` (``None``: before the first step).

        Parameters
        ----------
        step : int or None
            Row of ``params`` (-1: the last step); None: the initial weights.
        device : str or torch.device
            Where the network lives.
        """
        ds = self.dataset()
        net = build_model(self.config, ds, device=device)
        vec = self.initial if step is None else self.params[step]
        return models.assign(net, vec)

    def save(self, path: str | Path) -> Path:
        """Write atomically: a temporary file in the same folder, then ``os.replace``.

        Parameters
        ----------
        path : str or pathlib.Path
            The ``.npz`` file.
        """
        arrays = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if isinstance(
            getattr(self, f.name), np.ndarray)}
        meta = {"config": self.config.to_json(), "provenance": self.provenance, "format": FORMAT_VERSION}
        return _atomic_savez(Path(path), meta, arrays)

    @classmethod
    def load(cls, path: str | Path) -> Trajectory:
        """Read a record written by :meth:`save` (never unpickles; :class:`CorruptRecordError` if unreadable).

        Parameters
        ----------
        path : str or pathlib.Path
            The ``.npz`` file.
        """
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
    """The network of ``config`` for ``ds`` (input width and outputs from the data), with its initial weights.

    Parameters
    ----------
    config : RecordConfig
        Hidden widths, activation, initialisation, seed and dtype.
    ds : landscape.nets.data.Dataset
        The data: ``n_in`` inputs, ``n_out`` outputs.
    device : str or torch.device
        Where the weights live.
    """
    sizes = [ds.n_in, *config.hidden, ds.n_out]
    return models.mlp(sizes, config.activation, config.init, config.seed, init_value=config.init_value,
                      dtype=DTYPES[config.dtype], device=device)


def provenance(device) -> dict:
    """Package versions, git commit, platform and ``device`` of a record.

    Parameters
    ----------
    device : str or torch.device
        Where the record was trained.
    """
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
    """``<cache_dir>/trajectories/<config.key()>.npz``.

    Parameters
    ----------
    config : RecordConfig
        The record's configuration.
    cache_dir : str or pathlib.Path, optional
        Default ``data/cache`` (:func:`landscape.infra.paths.cache_dir`).
    """
    base = Path(cache_dir) if cache_dir is not None else paths.cache_dir()
    return base / "trajectories" / f"{config.key()}.npz"


def record_size(config: RecordConfig, n_train: int, m: int, *, checkpoint_every: int = 50) -> dict[str, int]:
    """Exact sizes of the record of ``config`` on ``n_train`` training rows and ``m`` parameters, in bytes.

    With ``S = epochs * ceil(N / n)`` SGD steps and ``k = record_every``, a record keeps ``R = ceil(S / k)`` rows
    of ``m`` float64 parameters, ``n`` int64 minibatch indices, a size and a loss (8 bytes each; and a step number
    when k > 1), plus the initial parameters and two losses per epoch: ``memory`` is that sum (the arrays of
    :class:`Trajectory`). The cache file is uncompressed, so it takes as much plus a small header; while
    recording, the last checkpoint (written every ``checkpoint_every`` epochs) is on disk too: ``disk`` adds it.

    Parameters
    ----------
    config : RecordConfig
        Epochs, batch size and ``record_every``.
    n_train : int
        Training rows N of the data (``Dataset.N``).
    m : int
        Parameters of the network.
    checkpoint_every : int
        Epochs between checkpoints (0: none).

    Returns
    -------
    dict
        ``steps`` (S), ``rows`` (R), ``memory``, ``record`` (= memory), ``checkpoint`` and ``disk`` in bytes.

    Examples
    --------
    The issue's example: 100,000 rows, batch 20, 40 epochs, m = 50*24+24 + 24*14+14 + 14+1 = 1589:

    >>> size = record_size(RecordConfig(epochs=40), 80_000, 1589)
    >>> size["steps"], round(size["memory"] / 2**30, 2)
    (160000, 1.92)
    """
    check_scalar(n_train, "n_train", int, min_val=1)
    check_scalar(m, "m", int, min_val=1)
    n = min(config.batch_size, n_train)
    per_epoch = -(-n_train // config.batch_size)
    steps = config.epochs * per_epoch
    k = config.record_every
    per_row = (m + n + 2 + (k > 1)) * 8
    rows = -(-steps // k)
    record = rows * per_row + m * 8 + config.epochs * 2 * 8
    ckpt_epochs = ((config.epochs - 1) // checkpoint_every) * checkpoint_every if checkpoint_every else 0
    checkpoint = (ckpt_epochs * per_epoch // k) * per_row + m * 8 + ckpt_epochs * 2 * 8 if ckpt_epochs else 0
    return {"steps": steps, "rows": rows, "memory": record, "record": record, "checkpoint": checkpoint,
            "disk": record + checkpoint}


def format_bytes(n: float) -> str:
    """``n`` bytes in binary units, three significant digits.

    Parameters
    ----------
    n : float
        A size in bytes.

    >>> format_bytes(2_060_000_000), format_bytes(4 * 2**30), format_bytes(512)
    ('1.92 GiB', '4 GiB', '512 B')
    """
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} B"


def check_record_size(config: RecordConfig, n_train: int, m: int, *, max_bytes: int | None = MAX_BYTES,
                      checkpoint_every: int = 50, cache_dir: str | Path | None = None, name: str = "") -> dict:
    """Refuse a recording whose memory or disk (:func:`record_size`) exceeds ``max_bytes``, or whose disk exceeds
    the free space of the cache folder, with one line: the estimate and the ``record_every`` that would fit.

    Parameters
    ----------
    config : RecordConfig
        The recording.
    n_train : int
        Training rows N of its data.
    m : int
        Parameters of its network.
    max_bytes : int or None
        Limit on memory and on disk, each, in bytes; None: no limit (the free disk space is still checked).
    checkpoint_every : int
        Epochs between checkpoints (0: none); they count towards the disk.
    cache_dir : str or pathlib.Path, optional
        Where the record is written; None: nothing is written (no disk needed).
    name : str
        The dataset's name, for the message.

    Returns
    -------
    dict
        The sizes of :func:`record_size`.
    """
    if max_bytes is not None:
        check_scalar(max_bytes, "max_bytes", int, min_val=1)
    size = record_size(config, n_train, m, checkpoint_every=checkpoint_every)
    disk = size["disk"] if cache_dir is not None else 0
    what = (f"recording {name or config.dataset} ({size['steps']} SGD steps, {size['rows']} recorded x m = {m} "
            f"parameters x 8 bytes, plus minibatch indices) needs about {format_bytes(size['memory'])} of memory"
            + (f" and {format_bytes(disk)} of disk" if disk else ""))
    if max_bytes is not None and max(size["memory"], disk) > max_bytes:
        k = config.record_every
        while k < size["steps"] and max(_sizes(config, k, n_train, m, checkpoint_every, disk > 0)) > max_bytes:
            k = min(size["steps"], max(k + 1, math.ceil(k * 1.1)))
        fits = max(_sizes(config, k, n_train, m, checkpoint_every, disk > 0)) <= max_bytes
        hint = f"record_every={k} fits" if fits else "even record_every cannot make it fit"
        raise ValueError(f"max_bytes: {what}, above max_bytes = {format_bytes(max_bytes)}; record every k-th step "
                         f"with record_every=k ({hint}), train fewer epochs or with a larger batch_size, or raise "
                         f"max_bytes")
    if disk:
        folder = Path(cache_dir)
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        free = shutil.disk_usage(folder).free
        if disk > free:
            raise ValueError(f"max_bytes: {what}, but {folder} has {format_bytes(free)} free; record every k-th "
                             f"step with record_every=k, train fewer epochs, or free disk space")
    return size


def _sizes(config: RecordConfig, k: int, n_train: int, m: int, checkpoint_every: int, on_disk: bool):
    size = record_size(dataclasses.replace(config, record_every=k), n_train, m, checkpoint_every=checkpoint_every)
    return size["memory"], size["disk"] if on_disk else 0


def _stage(message: str, progress) -> None:
    """A named stage line: to the ``landscape.stages`` logger, and to stderr when asked for."""
    _STAGES.info("stage: %s", message)
    if progress == "stages" or os.environ.get(STAGES_ENV, "") not in ("", "0"):
        print(f"stage: {message}", file=sys.stderr, flush=True)


def record_sgd(
    config: RecordConfig | None = None,
    *,
    cache_dir: str | Path | None = None,
    progress: bool | str = True,
    device: str | torch.device = "cpu",
    checkpoint_every: int = 50,
    use_cache: bool = True,
    threads: int | None = 1,
    max_bytes: int | None = MAX_BYTES,
    **overrides,
) -> Trajectory:
    """Train with minibatch SGD and record every step (see the module docstring); cached by config hash.

    Before training, the sizes of the record (:func:`record_size`) are checked against ``max_bytes`` and the free
    disk space (:func:`check_record_size`), and ``batch_size`` against the N training rows of the data: each
    failure is a ``ValueError`` naming the parameter. Neither ``max_bytes`` nor ``threads`` is part of the cache
    key.

    Parameters
    ----------
    config : RecordConfig, optional
        What to record (default ``RecordConfig()``).
    cache_dir : str or pathlib.Path, optional
        Cache folder (default ``data/cache``).
    progress : bool or "stages"
        True: tqdm's bar over the epochs; "stages": named stage lines on stderr instead (also with the
        environment variable ``LANDSCAPE_STAGES=1``); False: neither. Stage lines always go to the logger
        ``landscape.stages``.
    device : str or torch.device
        Where training runs ("cpu", "cuda", ...); records are identical in layout either way.
    checkpoint_every : int
        Epochs between checkpoints of a long run (it resumes from the last one); 0: none.
    use_cache : bool
        Load a cached record of the same config, and write the new one (False: neither).
    threads : int or None
        torch's CPU threads while training (restored afterwards): these networks are tiny, and on a loaded
        2-core machine two threads made one 400-epoch iris recording 30x slower than one. None keeps torch's
        setting.
    max_bytes : int or None
        Refuse a recording whose memory or disk exceeds this many bytes (default :data:`MAX_BYTES`, 4 GiB);
        None: no limit.
    **overrides
        Fields of ``config`` (or of the default config) to replace, e.g. ``record_sgd(epochs=10)``.
    """
    config = dataclasses.replace(config or RecordConfig(), **overrides)
    if progress not in (True, False, "stages"):
        raise ValueError(f"progress must be True, False or 'stages', got {progress!r}")
    if max_bytes is not None:
        check_scalar(max_bytes, "max_bytes", int, min_val=1)
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: CUDA was requested but is not available")
    path = cache_path(config, cache_dir)
    if use_cache:  # verified: a copied file or a key collision is recorded again, never used
        traj = verified_load(path, dataclasses.asdict(config), Trajectory.load,
                             config_of=lambda t: dataclasses.asdict(t.config), default=list)
        if traj is not None:
            _stage(f"loaded {config.dataset} {config.key()[:8]} from the cache ({traj.M} steps)", progress)
            return traj
    if threads is not None:
        check_scalar(threads, "threads", int, min_val=1)
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _record(config, path, progress=progress, device=device, checkpoint_every=checkpoint_every,
                       use_cache=use_cache, max_bytes=max_bytes)
    finally:
        torch.set_num_threads(previous)


_STEP_ARRAYS = ("params", "batch_indices", "batch_sizes", "batch_loss", "steps")
_EPOCH_ARRAYS = ("epoch_train_loss", "epoch_val_loss")


def _empty_record(rows: int, m: int, n: int, epochs: int, record_every: int = 1) -> dict[str, np.ndarray]:
    rec = {"params": np.empty((rows, m)), "batch_indices": np.full((rows, n), -1, dtype=np.int64),
           "batch_sizes": np.empty(rows, dtype=np.int64), "batch_loss": np.empty(rows),
           "epoch_train_loss": np.empty(epochs), "epoch_val_loss": np.empty(epochs)}
    if record_every > 1:
        rec["steps"] = np.empty(rows, dtype=np.int64)
    return rec


def check_batch_size(batch_size: int, ds: data.Dataset) -> None:
    """``batch_size`` may not exceed the N training rows of the data: a ``ValueError`` naming both otherwise.

    Parameters
    ----------
    batch_size : int
        Minibatch size n.
    ds : landscape.nets.data.Dataset
        The data (its training part has ``ds.N`` rows).
    """
    if batch_size > ds.N:
        raise ValueError(f"batch_size: {batch_size} is larger than N = {ds.N}, the training rows of {ds.name} "
                         f"({ds.info.get('n_total', ds.N)} rows, {ds.X_val.shape[0]} held out for validation); "
                         f"use batch_size <= {ds.N}")


def _resume(ckpt: Path, config: RecordConfig, rec: dict, steps_per_epoch: int, net: torch.nn.Module) -> int:
    """Fill ``rec`` from the checkpoint of the same config (if any), set the weights, return the epochs done."""
    if not ckpt.exists():
        return 0
    meta, arr = _safe_load(ckpt)
    if RecordConfig.from_json(meta["config"]) != config:
        return 0
    epochs_done = int(meta["epochs_done"])
    rows = epochs_done * steps_per_epoch // config.record_every
    for name in _STEP_ARRAYS:
        if name in rec:
            rec[name][:rows] = arr[name]
    for name in _EPOCH_ARRAYS:
        rec[name][:epochs_done] = arr[name]
    if epochs_done:  # the weights after the last step done (not always a recorded row when record_every > 1)
        models.assign(net, arr["last_params"] if "last_params" in arr else rec["params"][rows - 1])
    return epochs_done


def _checkpoint(ckpt: Path, config: RecordConfig, rec: dict, rows_done: int, epochs_done: int,
                last_params: np.ndarray) -> None:
    arrays = {k: rec[k][:rows_done] for k in _STEP_ARRAYS if k in rec} | {
        k: rec[k][:epochs_done] for k in _EPOCH_ARRAYS} | {"last_params": last_params}
    _atomic_savez(ckpt, {"config": config.to_json(), "epochs_done": epochs_done}, arrays)


def _record(config: RecordConfig, path: Path, *, progress, device: torch.device, checkpoint_every: int,
            use_cache: bool, max_bytes: int | None = MAX_BYTES) -> Trajectory:
    key8 = config.key()[:8]
    _stage(f"loading data {config.dataset}", progress)
    ds = data.load(config.dataset, target=config.target, seed=config.data_seed, task=config.task, split=config.split)
    loss_name = config.loss or ds.loss
    if ds.task == "classification" and loss_name != "cce":
        raise ValueError(f"loss {loss_name!r} does not fit the classification dataset {ds.name!r}; use 'cce'")
    check_batch_size(config.batch_size, ds)
    loss_fn = models.loss_function(loss_name)
    dtype = DTYPES[config.dtype]
    net = build_model(config, ds, device=device)
    m = models.n_params(net)
    size = check_record_size(config, ds.N, m, max_bytes=max_bytes, checkpoint_every=checkpoint_every if use_cache
                             else 0, cache_dir=path.parent if use_cache else None, name=ds.name)
    X, y = ds.tensors("train", dtype=dtype, device=device)
    Xv, yv = ds.tensors("val", dtype=dtype, device=device)
    N, n, k = ds.N, config.batch_size, config.record_every
    steps_per_epoch = -(-N // n)
    total = config.epochs * steps_per_epoch
    rec = _empty_record(size["rows"], m, n, config.epochs, k)
    initial = models.flatten(net).cpu().double().numpy()
    ckpt = path.with_suffix(".partial.npz")
    start_epoch = _resume(ckpt, config, rec, steps_per_epoch, net) if use_cache else 0
    _stage(f"training {ds.name} {key8}: {config.epochs} epochs, {total} SGD steps, m = {m}, "
           f"{size['rows']} recorded steps ({format_bytes(size['memory'])})"
           + (f", resuming after epoch {start_epoch}" if start_epoch else ""), progress)

    opt = torch.optim.SGD(net.parameters(), lr=config.lr)
    from tqdm.auto import tqdm

    every = max(1, config.epochs // 10)
    step = start_epoch * steps_per_epoch
    bar = tqdm(range(start_epoch, config.epochs), desc=f"SGD {ds.name} {key8}", disable=progress is not True,
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
            if (step + 1) % k == 0 or step + 1 == total:  # row step // k: every k-th step and the last
                row = step // k
                rec["batch_loss"][row] = loss.item()
                rec["batch_indices"][row, : len(idx)] = idx
                rec["batch_sizes"][row] = len(idx)
                rec["params"][row] = torch.nn.utils.parameters_to_vector(
                    net.parameters()).detach().cpu().double().numpy()
                if k > 1:
                    rec["steps"][row] = step + 1
            step += 1
        with torch.no_grad():
            rec["epoch_train_loss"][epoch] = loss_fn(net(X), y).item()
            rec["epoch_val_loss"][epoch] = loss_fn(net(Xv), yv).item()
        if not np.isfinite(rec["epoch_train_loss"][epoch]):
            raise FloatingPointError(f"training diverged at epoch {epoch} (loss {rec['epoch_train_loss'][epoch]}); "
                                     f"lower lr")
        bar.set_postfix(loss=f"{rec['epoch_train_loss'][epoch]:.4f}")
        if (epoch + 1) % every == 0 or epoch + 1 == config.epochs:
            _stage(f"training {ds.name} {key8}: epoch {epoch + 1}/{config.epochs}, train loss "
                   f"{rec['epoch_train_loss'][epoch]:.4g}", progress)
        if use_cache and checkpoint_every and (epoch + 1) % checkpoint_every == 0 and epoch + 1 < config.epochs:
            _checkpoint(ckpt, config, rec, step // k, epoch + 1, models.flatten(net).cpu().double().numpy())
    traj = Trajectory(config=config, initial=initial, provenance=provenance(device), **rec)
    if use_cache:
        _stage(f"saving {ds.name} {key8}: {format_bytes(size['record'])} to {path}", progress)
        traj.save(path)
        ckpt.unlink(missing_ok=True)
    return traj
