"""The source documents' numbers, read from data files instead of typed into notebooks.

Each source document has a table ``data/sources/<source>.csv`` (``source`` is the seed's three-digit id, e.g.
``"000"``) with one row per number or qualitative claim the book checks:

``key, claim, kind, value, section, tol, partly, relative, scale_dependent, note``

- ``key``: a short identifier the chapter uses (``table2_iris_d``), unique in the file;
- ``claim``: the claim in words, as the claims table shows it;
- ``kind``: what sort of claim it is (:data:`KINDS`), which fixes how :func:`landscape.results.verdict` judges it:

  - ``value``: the source's own number, judged two-sided (``|measured - value| <= tol``);
  - ``upper_bound`` / ``lower_bound``: a one-sided statement ("the error is O(p^-1/2)", "more than 9 %"), met by
    anything at or below (above) ``value`` (+- ``tol``);
  - ``qualitative``: a true/false statement, ``value`` is ``true``/``false``;
  - ``identity``: holds by construction of the method (linear algebra, a symmetry, our own model checked against
    our own sampler); it is checked and reported, but counted apart, never as evidence about the source.

  A number we computed never sits in ``value`` of a ``value``/bound row: those are the source's numbers;
- ``value``: the source's number; a qualitative claim ("the trace decreases") is written ``true``/``false``
  and checked against a boolean measurement;
- ``section``: where the source states it (``Table 2``, ``Sec. 4.3``, ``Fig. 5``);
- ``tol``, ``partly``, ``relative``: the tolerances of :func:`landscape.infra.results.verdict`, fixed here, in advance,
  beside the number they judge (empty ``partly`` = no partial verdict; ``relative`` is ``true``/``false``);
- ``scale_dependent``: ``true`` when the number depends on a scale the source does not state (a dimension read at a
  fixed kernel width eps): its verdict says as much about the unstated scale as about the claim;
- ``note``: anything a reader needs to judge the number (what was lost in extraction, what we assume).

Examples
--------
>>> from landscape.infra import sources
>>> row = sources.source_value("000", "table2_iris_d")
>>> row.value, row.section, row.kind, row.scale_dependent
(17.0, 'Table 2', 'value', True)
"""

from __future__ import annotations

import dataclasses
import functools
import re
from pathlib import Path

import pandas as pd

from landscape.infra import paths

COLUMNS = ("key", "claim", "kind", "value", "section", "tol", "partly", "relative", "scale_dependent", "note")
#: The kinds of claim a data file may hold (column ``kind``), see the module docstring.
KINDS = ("value", "upper_bound", "lower_bound", "qualitative", "identity")
_SOURCE = re.compile(r"^[0-9]{3}$")
_TRUE, _FALSE = ("true", "yes"), ("false", "no")


@dataclasses.dataclass(frozen=True)
class SourceValue:
    """One number (or qualitative claim, as a bool) of a source document, with the tolerances that judge it.

    Parameters
    ----------
    source : str
        Three-digit id of the source document.
    key : str
        The row's key, unique in the file.
    claim : str
        The claim in words.
    value : float or bool
        The source's number (``bool`` for a qualitative claim).
    section : str
        Where the source states it.
    tol, partly : float, optional
        Tolerance of "reproduced" and of "partly" (``None``: no partial verdict).
    relative : bool
        Tolerances relative to ``|value|``.
    note : str
        What a reader needs to judge the number.
    kind : str
        One of :data:`KINDS`.
    scale_dependent : bool
        The number depends on a scale the source does not state.
    """

    source: str
    key: str
    claim: str
    value: float | bool
    section: str
    tol: float = 0.0
    partly: float | None = None
    relative: bool = False
    note: str = ""
    kind: str = "value"
    scale_dependent: bool = False


def sources_dir() -> Path:
    """``data/sources/`` under the project root (:func:`landscape.paths.root`)."""
    return paths.root() / "data" / "sources"


def _bool(text: str, what: str) -> bool:
    t = text.strip().lower()
    if t in _TRUE:
        return True
    if t in _FALSE or t == "":
        return False
    raise ValueError(f"{what} must be true or false, got {text!r}")


@functools.lru_cache(maxsize=32)
def _read(path: Path, mtime: float) -> pd.DataFrame:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    if tuple(df.columns) != COLUMNS:
        raise ValueError(f"{path.name}: columns must be {', '.join(COLUMNS)}, got {', '.join(df.columns)}")
    dup = df.key[df.key.duplicated()].tolist()
    if dup:
        raise ValueError(f"{path.name}: duplicated key(s) {dup}")
    bad = df[~df.kind.isin(KINDS)]
    if not bad.empty:
        raise ValueError(f"{path.name}: kind must be one of {list(KINDS)}; rows {bad.key.tolist()} have "
                         f"{sorted(set(bad.kind))}")
    return df


def source_table(source: str) -> pd.DataFrame:
    """The whole table of ``source`` (strings, as stored).

    Parameters
    ----------
    source : str
        Three-digit id of the source document (``"000"``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`.
    """
    if not isinstance(source, str) or not _SOURCE.match(source):
        raise ValueError(f"source must be a three-digit id such as '000', got {source!r}")
    path = sources_dir() / f"{source}.csv"
    if not path.exists():
        have = sorted(p.stem for p in sources_dir().glob("*.csv"))
        raise ValueError(f"source {source!r} has no table {path}; tables exist for: {', '.join(have) or '(none)'}")
    return _read(path, path.stat().st_mtime).copy()


def source_value(source: str, key: str) -> SourceValue:
    """The row ``key`` of ``data/sources/<source>.csv`` as a :class:`SourceValue`.

    Parameters
    ----------
    source : str
        Three-digit id of the source document (``"000"``).
    key : str
        The row's key.

    Returns
    -------
    SourceValue

    Raises
    ------
    ValueError
        Unknown source or key; a value that is not a number where the kind needs one (``value``, bounds), or not
        ``true``/``false`` for a ``qualitative`` claim.
    """
    df = source_table(source)
    rows = df[df.key == key]
    if rows.empty:
        raise ValueError(f"key {key!r} is not in data/sources/{source}.csv; keys are: {', '.join(df.key)}")
    r = rows.iloc[0]
    where = f"data/sources/{source}.csv, key {key!r}"
    raw = r.value.strip()
    if raw.lower() in _TRUE + _FALSE:
        value: float | bool = _bool(raw, f"{where}: value")
    else:
        try:
            value = float(raw)
        except ValueError as exc:
            raise ValueError(f"{where}: value must be a number or true/false, got {raw!r}") from exc
    kind = r.kind.strip()
    if kind == "qualitative" and not isinstance(value, bool):
        raise ValueError(f"{where}: value of a qualitative claim must be true or false, got {raw!r}")
    if kind in ("value", "upper_bound", "lower_bound") and isinstance(value, bool):
        raise ValueError(f"{where}: value of a {kind} claim must be a number, got {raw!r}")

    def number(name):
        text = r[name].strip()
        if not text:
            return None
        try:
            return float(text)
        except ValueError as exc:
            raise ValueError(f"{where}: {name} must be a number, got {text!r}") from exc

    return SourceValue(source=source, key=key, claim=r.claim, value=value, section=r.section,
                       tol=number("tol") or 0.0, partly=number("partly"),
                       relative=_bool(r.relative, f"{where}: relative"), note=r.note, kind=kind,
                       scale_dependent=_bool(r.scale_dependent, f"{where}: scale_dependent"))
