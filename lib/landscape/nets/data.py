"""Datasets of the book: iris, auto-MPG, digits, synthetic functions, and any user CSV.

Every dataset comes out the same way: a train/validation split drawn with a seed, features standardised with the
statistics of the *training* part only (no validation row ever touches the scaling), numpy float64 arrays.
``split="keras"`` instead holds out the *last* rows in file order, unshuffled, as Keras' ``fit(validation_split=f)``
does (``split_at = int(n (1 - f))``): for iris as scikit-learn ships it (sorted by class) the 30 validation rows are
all *virginica* and the 120 training rows hold 50 / 50 / 20 flowers of the three classes.

- ``iris``: scikit-learn's copy, 150 flowers, 4 features, 3 classes; 120 train / 30 validation (source 000,
  footnote 2), stratified by class.
- ``auto-mpg``: ``data/raw/auto-mpg.csv`` (sha256-checked; provenance in ``data/raw/README.md``), 398 cars,
  target ``mpg``; 80/20 split (318 / 80) so that batches of 20 give the 16 steps per epoch of the source.
  ``origin`` is one-hot encoded (9 inputs): with the source's hidden widths 21 and 13 that gives m = 510, the
  closest the stated widths can come to the source's m = 515 (7 raw inputs give 468). Missing horsepower
  (6 cars): imputed with the training median (``missing="impute"``, default) or dropped (``missing="drop"``).
- ``digits``: scikit-learn's 8x8 handwritten digits, 1797 images, 64 pixel features, 10 classes.
  Pixels that are constant on the training part (always 0 there) are centred and left unscaled.
- a path to a CSV file with ``target=<column>``: non-numeric feature columns are one-hot encoded. The task is
  ``task`` when given; otherwise classification for a text, True/False or two-valued target, regression for
  other numbers, and an integer target with more than two values is refused with a request to state ``task``
  (class labels and counts look alike). Data that would be silently changed or make training meaningless fail
  with a ``ValueError`` naming the file and the column (:func:`read_csv`): duplicate or missing column names (a
  saved pandas index), a one-column header holding ``;`` (a hint about the separator), NaN or inf values, a stray
  non-numeric token in a numeric column (named with its row), a row-number column, values too large to
  standardise (the column's standard deviation overflows), a target with a single class or a single value, a
  non-numeric column with a distinct value in (nearly) every row (an identifier, which one-hot encoding would
  turn into one feature per row), and too few rows to split.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from landscape.infra import paths
from landscape.infra.cache import file_sha256
from landscape.infra.csv_files import MIN_ROWS, read_csv
from landscape.infra.validation import BUILTIN_DATASETS, check_choice, check_scalar

BUILTIN = BUILTIN_DATASETS
TASKS = ("classification", "regression")
SPLITS = ("stratified", "keras")


@dataclass(frozen=True, eq=False)
class Dataset:
    """A split, standardised dataset. Classification targets are int64 of shape (N,); regression (N, 1).

    Made by :func:`load` (and :func:`synthetic_function`, which does not standardise).

    Parameters
    ----------
    name : str
        The dataset's name (``"iris"``, ``"auto-mpg"``, ``"digits"``, a CSV file's stem, ...).
    task : {"classification", "regression"}
        What the target is.
    X_train : numpy.ndarray, shape (N, n_in)
        Training features, float64, standardised with the training part's mean and standard deviation.
    y_train : numpy.ndarray, shape (N,) or (N, 1)
        Training targets: class indices ``0 … n_classes - 1`` (int64, shape (N,)) or values (float64, (N, 1)).
    X_val : numpy.ndarray, shape (N_val, n_in)
        Validation features, standardised with the *training* statistics.
    y_val : numpy.ndarray, shape (N_val,) or (N_val, 1)
        Validation targets, as ``y_train``.
    feature_names : tuple of str
        One name per feature column (one-hot columns named ``<column>_<value>``).
    target_name : str
        The target's name (``"species"``, ``"mpg"``, a CSV column, ...).
    loss : {"cce", "mse", "mae"}
        The dataset's default loss (:data:`landscape.nets.models.LOSSES`): ``"cce"`` for classification.
    n_classes : int, optional
        Number of classes (``max label + 1``); None for regression.
    class_names : tuple of str, optional
        Name of each class index, if known.
    mean, scale : numpy.ndarray, shape (n_in,), optional
        The standardisation ``X = (X_raw - mean) / scale`` (a constant training column keeps ``scale = 1``);
        None when the features are not standardised.
    info : dict
        Provenance and split details: sizes (``n_total``, ``n_train``, ``n_val``), ``seed``, ``val_fraction``,
        ``split``, the row indices ``train_index`` / ``val_index``, ``constant_features``, and per dataset e.g.
        ``sha256``, ``path``, ``imputed`` or ``dropped``.
    """

    name: str
    task: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    feature_names: tuple[str, ...]
    target_name: str
    loss: str
    n_classes: int | None = None
    class_names: tuple[str, ...] | None = None
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    @property
    def n_in(self) -> int:
        """Number of input features (columns of ``X_train``)."""
        return self.X_train.shape[1]

    @property
    def n_out(self) -> int:
        """Number of network outputs: one per class, or the target columns of a regression (1)."""
        return self.n_classes if self.task == "classification" else self.y_train.shape[1]

    @property
    def N(self) -> int:
        """Number of training samples (the N of source 000 eq (2.6))."""
        return self.X_train.shape[0]

    def tensors(self, split: str = "train", dtype=None, device="cpu"):
        """``(X, y)`` as tensors; y stays int64 for classification.

        Parameters
        ----------
        split : {"train", "val"}
            Which part of the split.
        dtype : torch.dtype, optional
            Floating dtype of X (and of a regression y); default ``torch.float32``.
        device : str or torch.device
            Where the tensors live.
        """
        import torch  # here, not at module level: checking a CSV before a run starts needs no torch

        dtype = torch.float32 if dtype is None else dtype
        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        X, y = (self.X_train, self.y_train) if split == "train" else (self.X_val, self.y_val)
        Xt = torch.as_tensor(X, dtype=dtype, device=device)
        yt = torch.as_tensor(y, device=device)
        yt = yt.long() if self.task == "classification" else yt.to(dtype)
        return Xt, yt

    def frame(self, split: str = "train", raw: bool = False) -> pd.DataFrame:
        """Features and target as a DataFrame (``raw=True`` undoes the standardisation) for plotting.

        Parameters
        ----------
        split : {"train", "val"}
            Which part of the split.
        raw : bool
            Undo the standardisation (features in the file's units).
        """
        X, y = (self.X_train, self.y_train) if split == "train" else (self.X_val, self.y_val)
        if raw and self.mean is not None:
            X = X * self.scale + self.mean
        df = pd.DataFrame(X, columns=list(self.feature_names))
        if self.task == "classification":
            df[self.target_name] = [self.class_names[i] for i in y] if self.class_names else y
        else:
            df[self.target_name] = y[:, 0]
        return df


def sha256(path: Path) -> str:
    """sha256 of a file's content (:func:`landscape.infra.cache.file_sha256`).

    Parameters
    ----------
    path : pathlib.Path
        The file.
    """
    return file_sha256(path)


def _verified_raw(name: str) -> Path:
    path = paths.raw_dir() / name
    sums = dict(
        reversed(line.split()) for line in (paths.raw_dir() / "SHA256SUMS").read_text().splitlines() if line.strip()
    )
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; it ships with the repository (see data/raw/README.md)")
    if sha256(path) != sums.get(name):
        raise ValueError(f"{path} does not match its sha256 in data/raw/SHA256SUMS: the file was altered")
    return path


def keras_split(n: int, val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Keras' ``validation_split``: the first ``int(n (1 - val_fraction))`` rows train, the rest validate, unshuffled.

    Parameters
    ----------
    n : int
        Number of rows.
    val_fraction : float
        Fraction held out for validation, in (0, 1).

    >>> tr, va = keras_split(150, 0.2)
    >>> len(tr), int(va[0]), int(va[-1])
    (120, 120, 149)
    """
    split_at = int(n * (1.0 - val_fraction))
    if not 0 < split_at < n:
        raise ValueError(f"val_fraction: {val_fraction} leaves {split_at} of {n} rows for training")
    return np.arange(split_at), np.arange(split_at, n)


def _approximate_mode(class_counts: np.ndarray, n_draws: int, rng: np.random.RandomState) -> np.ndarray:
    """scikit-learn's ``_approximate_mode`` (1.x): per-class counts of ``n_draws`` close to the mode of the
    multivariate hypergeometric, floors first, then the largest remainders, ties broken by ``rng``.
    """
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need_to_add)
            inds = rng.choice(inds, size=add_now, replace=False)
            floored[inds] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)


def seeded_split(n: int, val_fraction: float, seed: int,
                 strata: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The seeded train / validation split of :func:`load`: scikit-learn's ``train_test_split(range(n),
    test_size=val_fraction, random_state=seed, stratify=strata)`` (its 1.x algorithm, written out), both parts
    sorted.

    ``ceil(val_fraction n)`` rows validate. Without ``strata`` they are the first of a random permutation; with
    them every class contributes in proportion (the counts closest to the hypergeometric mode, ties broken by the
    seed) and each class is permuted on its own. Written out rather than imported so that the book's splits do not
    depend on scikit-learn's version and a chapter's kernel does not import scikit-learn for it (about 1.4 s);
    ``tests/nets/test_data_split.py`` checks it against ``train_test_split`` index for index.

    Parameters
    ----------
    n : int
        Number of rows.
    val_fraction : float
        Fraction held out for validation, in (0, 1).
    seed : int
        Seed of ``numpy.random.RandomState``, as ``random_state=seed``.
    strata : numpy.ndarray, optional
        Class labels of the rows (stratified split); every class needs at least two rows.

    Returns
    -------
    tuple of numpy.ndarray
        Training and validation row indices, each sorted.

    >>> tr, va = seeded_split(150, 0.2, 0, strata=np.repeat([0, 1, 2], 50))
    >>> len(tr), len(va), np.bincount(np.repeat([0, 1, 2], 50)[va]).tolist()
    (120, 30, [10, 10, 10])
    """
    n_test = math.ceil(val_fraction * n)
    n_train = n - n_test
    if n_train <= 0 or n_test <= 0:
        raise ValueError(f"val_fraction: {val_fraction} of {n} rows leaves {n_train} for training and {n_test} "
                         f"for validation")
    rng = np.random.RandomState(seed)
    if strata is None:
        permutation = rng.permutation(n)
        return np.sort(permutation[n_test:]), np.sort(permutation[:n_test])
    strata = np.asarray(strata)
    if strata.shape != (n,):
        raise ValueError(f"strata: one label per row expected, shape ({n},), got {strata.shape}")
    if strata.dtype.kind == "f" and np.isnan(strata).any():
        raise ValueError("strata: NaN labels")
    classes, y_indices, class_counts = np.unique(strata, return_inverse=True, return_counts=True)
    if class_counts.min() < 2:
        raise ValueError(f"The least populated classes in y have only 1 member, which is too few to split; classes "
                         f"with too few members are: {classes[class_counts < 2].tolist()}")
    if min(n_train, n_test) < len(classes):
        raise ValueError(f"val_fraction: {val_fraction} of {n} rows gives {n_train} training and {n_test} "
                         f"validation rows, fewer than the {len(classes)} classes")
    class_indices = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(class_counts)[:-1])
    n_i = _approximate_mode(class_counts, n_train, rng)
    t_i = _approximate_mode(class_counts - n_i, n_test, rng)
    train, test = [], []
    for i in range(len(classes)):
        permuted = class_indices[i].take(rng.permutation(class_counts[i]), mode="clip")
        train.extend(permuted[: n_i[i]])
        test.extend(permuted[n_i[i]: n_i[i] + t_i[i]])
    return np.sort(np.asarray(train, dtype=np.intp)), np.sort(np.asarray(test, dtype=np.intp))


def _split(n: int, val_fraction: float, seed: int, strata: np.ndarray | None,
           split: str = "stratified") -> tuple[np.ndarray, np.ndarray]:
    if split == "keras":
        return keras_split(n, val_fraction)
    return seeded_split(n, val_fraction, seed, strata)


def _sklearn_data(name: str) -> Path:
    """A data file that scikit-learn ships (``sklearn/datasets/data/<name>``), found without importing
    scikit-learn (its import costs a chapter's kernel about 1.4 s).
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("scikit-learn is not installed; the iris and digits datasets ship with it")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / name


def _iris() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """scikit-learn's iris as ``load_iris`` reads it: 150 x 4 float64, int targets, the class names."""
    with _sklearn_data("iris.csv").open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    head, body = rows[0], rows[1:]
    X = np.array([r[:-1] for r in body], dtype=np.float64)
    y = np.array([r[-1] for r in body], dtype=int)
    if X.shape != (int(head[0]), int(head[1])):
        raise ValueError(f"{_sklearn_data('iris.csv')}: {X.shape}, its header says {head[:2]}")
    return X, y, [str(name) for name in head[2:]]


def _digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits as ``load_digits`` reads them: 1797 x 64 float64 pixels, int targets."""
    with gzip.open(_sklearn_data("digits.csv.gz"), "rt") as f:
        table = np.loadtxt(f, delimiter=",")
    return table[:, :-1], table[:, -1].astype(int)


def _standardise(X_tr: np.ndarray, X_va: np.ndarray):
    mean = X_tr.mean(axis=0)
    scale = X_tr.std(axis=0)
    constant = scale == 0
    scale = np.where(constant, 1.0, scale)
    return (X_tr - mean) / scale, (X_va - mean) / scale, mean, scale, int(constant.sum())


def _finish(name, task, X, y, feature_names, target_name, loss, val_fraction, seed, class_names=None, info=None,
            impute_cols=(), split="stratified"):
    n = len(X)
    strata = y if task == "classification" else None
    if strata is not None and split == "stratified":
        codes, counts = np.unique(strata, return_counts=True)
        single = [class_names[c] if class_names is not None else c for c in codes[counts < 2]]
        if single:
            raise ValueError(f"target {target_name!r}: classes with a single row ({', '.join(map(str, single))}); "
                             f"a stratified split needs at least two rows per class")
    tr, va = _split(n, val_fraction, seed, strata, split)
    X_tr, X_va = X[tr].astype(np.float64), X[va].astype(np.float64)
    info = dict(info or {})
    for j in impute_cols:  # median of the training part only, never of validation rows
        med = np.nanmedian(X_tr[:, j])
        info.setdefault("imputed", {})[feature_names[j]] = {
            "train": int(np.isnan(X_tr[:, j]).sum()), "val": int(np.isnan(X_va[:, j]).sum()), "value": float(med)}
        X_tr[np.isnan(X_tr[:, j]), j] = med
        X_va[np.isnan(X_va[:, j]), j] = med
    if not (np.isfinite(X_tr).all() and np.isfinite(X_va).all()):
        raise ValueError(f"{name}: features contain NaN or inf")
    X_tr, X_va, mean, scale, n_const = _standardise(X_tr, X_va)
    info.update(n_total=n, n_train=len(tr), n_val=len(va), constant_features=n_const, seed=seed,
                val_fraction=val_fraction, split=split, train_index=tr, val_index=va)
    if task == "classification":
        y_tr, y_va = y[tr].astype(np.int64), y[va].astype(np.int64)
        n_classes = int(y.max()) + 1
    else:
        y_tr, y_va = y[tr].astype(np.float64).reshape(-1, 1), y[va].astype(np.float64).reshape(-1, 1)
        n_classes = None
    return Dataset(name=name, task=task, X_train=X_tr, y_train=y_tr, X_val=X_va, y_val=y_va,
                   feature_names=tuple(feature_names), target_name=target_name, loss=loss, n_classes=n_classes,
                   class_names=tuple(class_names) if class_names is not None else None, mean=mean, scale=scale,
                   info=info)


def load(
    name_or_path: str | Path,
    *,
    target: str | None = None,
    seed: int = 0,
    val_fraction: float | None = None,
    missing: str = "impute",
    task: str | None = None,
    split: str = "stratified",
) -> Dataset:
    """Load a dataset by name (``iris``, ``auto-mpg``, ``digits``) or from a CSV path with ``target=column``.

    ``val_fraction`` defaults to 0.2 (iris: 120 / 30 as in source 000; auto-MPG: 318 / 80). ``seed`` draws the
    split. ``missing`` ("impute" or "drop") is the rule for the 6 cars without horsepower. ``task`` forces
    "classification" or "regression" for a CSV. ``split``: "stratified" (default; a seeded split, stratified by
    class for classification) or "keras" (the last ``val_fraction`` of the rows in file order, unshuffled, as
    Keras' ``validation_split``; ``seed`` is then unused).

    Parameters
    ----------
    name_or_path : str or pathlib.Path
        A built-in name (``iris``, ``auto-mpg``, ``digits``) or the path of a ``.csv`` file (:func:`read_csv`).
    target : str, optional
        The target column of a CSV (required for one).
    seed : int
        Seed of the train / validation split.
    val_fraction : float, optional
        Fraction held out for validation (default 0.2).
    missing : {"impute", "drop"}
        The auto-MPG cars without horsepower: training median or dropped.
    task : {"classification", "regression"}, optional
        The task of a CSV's target; None: from the column (see the module docstring; integer labels with more
        than two values must state it).
    split : {"stratified", "keras"}
        A seeded (stratified) split or Keras' last rows.
    """
    if val_fraction is None:
        val_fraction = 0.2
    check_scalar(val_fraction, "val_fraction", float, min_val=0, max_val=1, include_boundaries="neither")
    check_choice(missing, "missing", ("impute", "drop"))
    check_choice(split, "split", SPLITS)
    if task is not None:
        check_choice(task, "task", TASKS)
    check_scalar(seed, "seed", int, min_val=0, max_val=2**32 - 1)  # numpy's RandomState seeds
    key = str(name_or_path)
    if key == "iris":
        X, y, class_names = _iris()
        names = ["sepal length", "sepal width", "petal length", "petal width"]
        return _finish("iris", "classification", X, y, names, "species", "cce", val_fraction, seed,
                       class_names=class_names, split=split)
    if key == "digits":
        X, y = _digits()
        names = [f"px{r}{c}" for r in range(8) for c in range(8)]
        return _finish("digits", "classification", X, y, names, "digit", "cce", val_fraction, seed,
                       class_names=[str(i) for i in range(10)], split=split)
    if key == "auto-mpg":
        df = pd.read_csv(_verified_raw("auto-mpg.csv"))
        info = {"sha256": sha256(paths.raw_dir() / "auto-mpg.csv")}
        if missing == "drop":
            info["dropped"] = int(df.horsepower.isna().sum())
            df = df[df.horsepower.notna()].reset_index(drop=True)
        numeric = ["cylinders", "displacement", "horsepower", "weight", "acceleration", "model_year"]
        origin = pd.get_dummies(df.origin.map({1: "usa", 2: "europe", 3: "japan"}), prefix="origin", dtype=float)
        origin = origin[["origin_usa", "origin_europe", "origin_japan"]]
        X = np.column_stack([df[numeric].to_numpy(float), origin.to_numpy(float)])
        names = numeric + list(origin.columns)
        impute = [names.index("horsepower")] if missing == "impute" else []
        return _finish("auto-mpg", "regression", X, df.mpg.to_numpy(float), names, "mpg", "mae", val_fraction,
                       seed, info=info, impute_cols=impute, split=split)
    return _load_csv(Path(name_or_path), target, val_fraction, seed, task, split)


def _load_csv(path: Path, target: str | None, val_fraction: float, seed: int, task: str | None,
              split: str = "stratified") -> Dataset:
    df = read_csv(path)
    if target is None:
        raise ValueError(f"target: name the target column of {path}; columns are {list(df.columns)}")
    if target not in df.columns:
        raise ValueError(f"target: no column {target!r} in {path}; columns are {list(df.columns)}")
    if len(df) < MIN_ROWS:
        raise ValueError(f"{path}: {len(df)} data rows; at least {MIN_ROWS} are needed for a training and a "
                         f"validation part")
    feats = df.drop(columns=[target])
    if feats.shape[1] == 0:
        raise ValueError(f"{path} has no feature columns besides the target {target!r}")
    _check_csv_columns(path, feats)
    feats = pd.get_dummies(feats, dtype=float)  # one-hot for non-numeric columns
    y, class_names, task, loss = _csv_target(path, df[target], target, task)
    info = {"path": str(path), "sha256": sha256(path)}
    try:
        return _finish(path.stem, task, feats.to_numpy(float), y, list(feats.columns), target, loss, val_fraction,
                       seed, class_names=class_names, info=info, split=split)
    except ValueError as exc:  # e.g. scikit-learn's split: name the file
        raise ValueError(f"{path}: {exc}") from None


def _check_csv_columns(path: Path, feats: pd.DataFrame) -> None:
    """Identifier-like text feature columns fail, naming file and column."""
    for col in feats.columns:
        x = feats[col]
        if not pd.api.types.is_numeric_dtype(x):
            distinct = x.nunique()
            if distinct > 20 and distinct > 0.5 * len(x):
                raise ValueError(f"{path}: column {col!r} is text with {distinct} distinct values in {len(x)} rows "
                                 f"(an identifier?); one-hot encoding would make {distinct} features. Drop the "
                                 f"column or encode it as numbers")


def _csv_target(path: Path, y_raw: pd.Series, target: str, task: str | None):
    """``(y, class_names, task, loss)`` of a CSV's target column.

    Without ``task``: text, True/False and any two-valued target are classes; integers with more than two values
    are refused (class labels or counts? the user says which); other numbers are a regression target.
    """
    distinct = int(y_raw.nunique())
    if task is None:
        if not pd.api.types.is_numeric_dtype(y_raw) or pd.api.types.is_bool_dtype(y_raw) or distinct == 2:
            task = "classification"
        elif pd.api.types.is_integer_dtype(y_raw) and distinct > 2:
            raise ValueError(f"task: target column {target!r} of {path} holds {distinct} distinct integers: state "
                             f"whether they are class labels or quantities with task='classification' or "
                             f"task='regression' (-p task=...)")
        else:
            task = "regression"
    if task == "classification":
        classes, y = np.unique(y_raw.astype(str), return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"{path}: target column {target!r} holds a single class ({classes[0]!r}); a classifier "
                             f"needs at least two")
        return y, list(classes), task, "cce"
    if not pd.api.types.is_numeric_dtype(y_raw) or pd.api.types.is_bool_dtype(y_raw):
        raise ValueError(f"{path}: target column {target!r} is not numeric; use task='classification'")
    y = y_raw.to_numpy(float)
    if not np.isfinite(y).all():
        raise ValueError(f"{path}: target column {target!r} holds {int((~np.isfinite(y)).sum())} inf values")
    if np.unique(y).size < 2:
        raise ValueError(f"{path}: target column {target!r} holds a single value ({y[0]!r}); nothing to learn")
    return y, None, task, "mse"


def synthetic_function(
    fn,
    *,
    n_train: int = 50,
    n_test: int = 1000,
    low: float = -1.0,
    high: float = 1.0,
    seed: int = 0,
    name: str = "function",
) -> Dataset:
    """A 1-D regression dataset y = fn(x) (source 002, Appendix D): ``n_train`` training and then ``n_test`` test
    points drawn uniformly in [low, high] from one generator seeded with ``seed`` (the test points are returned as
    the validation split). Not standardised: the function's domain is the point of the experiment.

    Parameters
    ----------
    fn : callable
        y = fn(x) on an (n, 1) array.
    n_train, n_test : int
        Training and test points.
    low, high : float
        The interval the points are drawn from.
    seed : int
        Seed of the one generator.
    name : str
        The dataset's name.
    """
    check_scalar(n_train, "n_train", int, min_val=1)
    check_scalar(n_test, "n_test", int, min_val=1)
    if not low < high:
        raise ValueError(f"low must be below high, got {low}, {high}")
    rng = np.random.default_rng(seed)
    x_tr = rng.uniform(low, high, (n_train, 1))
    x_te = rng.uniform(low, high, (n_test, 1))
    y_tr, y_te = np.asarray(fn(x_tr), float), np.asarray(fn(x_te), float)
    if not (np.isfinite(y_tr).all() and np.isfinite(y_te).all()):
        raise ValueError("fn produced NaN or inf on [low, high]")
    return Dataset(name=name, task="regression", X_train=x_tr, y_train=y_tr.reshape(-1, 1), X_val=x_te,
                   y_val=y_te.reshape(-1, 1), feature_names=("x",), target_name="y", loss="mse",
                   info={"n_train": n_train, "n_test": n_test, "seed": seed, "low": low, "high": high})
