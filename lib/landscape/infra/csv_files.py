"""Reading a user's CSV file so that nothing silently misleads a run (the checks behind ``dataset=<file>.csv``).

The checks need the file only, not the target column or torch, so the ``dataset`` parameter rule
(:mod:`landscape.infra.validation`) runs them before a kernel starts, and :func:`landscape.nets.data.load` reads the
file through :func:`read_csv`.
"""

from __future__ import annotations

import csv
import functools
import re
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["MIN_ROWS", "read_csv", "check_csv"]

MIN_ROWS = 10  # a CSV needs at least this many rows: 20 % of them form the validation part



def _check_finite(df: pd.DataFrame, what: str) -> None:
    bad = df.columns[df.isna().any()].tolist()
    if bad:
        counts = {c: int(df[c].isna().sum()) for c in bad}
        raise ValueError(f"{what}: missing values (NaN) in columns {counts}; clean or impute them first")



def read_csv(path: str | Path) -> pd.DataFrame:
    """Read a user CSV as :func:`landscape.nets.data.load` does, refusing what would silently mislead a run.

    The checks need the file only (not the target column), so the ``dataset`` parameter rule
    (:mod:`landscape.infra.validation`) runs them before a run starts (:func:`check_csv`). Each failure is a
    ``ValueError`` naming the file and the column (and for a stray token the row and the token):

    - a header read by this function itself (pandas would rename a duplicate ``x`` to ``x.1``): duplicate column
      names, a column without a name (the first one is a pandas index written by ``DataFrame.to_csv`` without
      ``index=False``, which pandas reads back as ``Unnamed: 0``) and a header that is one column holding ``;`` or
      a tab (the file uses another separator: a hint says which);
    - a table pandas cannot read, missing values (NaN) and inf;
    - a stray non-numeric token ("?", "NA?") in a column that is otherwise numeric (pandas would make the column
      text and one-hot encode it: 13 inputs became 66);
    - a row-number column: integers ``0, 1, ..., N-1`` or ``1, 2, ..., N`` in file order (an index or an id, which
      would be a feature that identifies each row), with at least ``MIN_ROWS`` rows.

    Such columns are refused, not dropped: the run then uses exactly the columns of the file.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.csv`` file, comma separated, with a header row.

    Returns
    -------
    pandas.DataFrame
        The table as pandas reads it.
    """
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise ValueError(f"name_or_path must be a built-in dataset name or a path to a .csv file, got {str(path)!r}")
    if not path.exists():
        raise FileNotFoundError(f"name_or_path: no such file {str(path)!r}")
    header = _read_header(path)
    _check_header(path, header)
    try:
        df = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable CSV table ({' '.join(str(exc).split())})") from None
    _check_finite(df, str(path))
    for col in df.columns:
        _check_stray_tokens(path, col, df[col])
        _check_row_numbers(path, col, df[col])
        _check_numeric_range(path, col, df[col])
    return df


def check_csv(path: str | Path) -> None:
    """Run the checks of :func:`read_csv` (raise ``ValueError`` naming file and column); cached per file version.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.csv`` file.
    """
    path = Path(path).resolve()
    stat = path.stat()
    _check_csv_version(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=32)
def _check_csv_version(path: str, mtime_ns: int, size: int) -> None:
    read_csv(path)  # a failure is not cached: lru_cache stores return values only


def _read_header(path: Path) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return next(csv.reader(fh), [])
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"{path}: not a readable CSV table ({exc})") from None


def _check_header(path: Path, header: list[str]) -> None:
    if not header:
        raise ValueError(f"{path}: not a readable CSV table (the file is empty)")
    if len(header) == 1:
        for sep, name in ((";", "';'"), ("\t", "a tab")):
            if sep in header[0]:
                shown = header[0] if len(header[0]) <= 60 else header[0][:57] + "..."
                raise ValueError(f"{path}: the header is one column named {shown!r}: the file seems to be "
                                 f"separated by {name}, and this reader takes commas; save it with commas, e.g. "
                                 f"pandas.read_csv(path, sep={sep!r}).to_csv(path, index=False)")
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if name.strip() == "" or _UNNAMED.match(name):
            if i == 0:
                raise ValueError(f"{path}: the first column has no name (a pandas index written by "
                                 f"DataFrame.to_csv without index=False; pandas reads it as 'Unnamed: 0'): save the "
                                 f"table with index=False or delete that column")
            raise ValueError(f"{path}: column {i + 1} has no name (header {name!r}); name it or delete it")
        if name in seen:
            raise ValueError(f"{path}: duplicate column name {name!r} (columns {seen[name] + 1} and {i + 1}); "
                             f"rename one (pandas would silently call the second {name + '.1'!r})")
        seen[name] = i


_UNNAMED = re.compile(r"^Unnamed: \d+$")


def _check_stray_tokens(path: Path, col, x: pd.Series) -> None:
    """A text column whose values are numbers except for a few tokens: name the first stray token and its row."""
    if pd.api.types.is_numeric_dtype(x) or pd.api.types.is_bool_dtype(x):
        return
    text = x.astype(str).str.strip()
    numeric = pd.to_numeric(text, errors="coerce")
    stray = numeric.isna().to_numpy()
    if stray.any() and stray.sum() < (~stray).sum():
        rows = np.flatnonzero(stray)
        tokens = list(dict.fromkeys(text.iloc[rows]))
        more = f" and {len(rows) - 1} more rows" if len(rows) > 1 else ""
        others = f" (tokens: {', '.join(repr(t) for t in tokens[:5])})" if len(tokens) > 1 else ""
        raise ValueError(f"{path}: column {col!r} is numeric except for the token {text.iloc[rows[0]]!r} in data "
                         f"row {rows[0] + 1}{more}{others}; it would turn the column into text categories: fix or "
                         f"delete those rows")


def _check_row_numbers(path: Path, col, x: pd.Series) -> None:
    """Integers 0..N-1 or 1..N in file order: a row number (an index or an id), not a measurement."""
    if len(x) < MIN_ROWS or not pd.api.types.is_integer_dtype(x) or pd.api.types.is_bool_dtype(x):
        return
    v = x.to_numpy()
    if v[0] in (0, 1) and np.array_equal(v, np.arange(v[0], v[0] + len(v))):
        raise ValueError(f"{path}: column {col!r} holds the row numbers {v[0]}, {v[0] + 1}, ..., {v[-1]} (an index "
                         f"or an id): as a feature it would identify each row; delete the column")


def _check_numeric_range(path: Path, col, x: pd.Series) -> None:
    if not pd.api.types.is_numeric_dtype(x) or pd.api.types.is_bool_dtype(x):
        return
    v = x.to_numpy(float)
    if not np.isfinite(v).all():
        raise ValueError(f"{path}: column {col!r} holds {int((~np.isfinite(v)).sum())} inf values")
    with np.errstate(over="ignore", invalid="ignore"):
        std = v.std()
    if not np.isfinite(std):
        raise ValueError(f"{path}: column {col!r} has values too large to standardise (|x| up to "
                         f"{np.abs(v).max():.3g}); rescale it")
