"""The source documents' numbers, read from data files instead of typed into notebooks.

Each source document has a table ``data/sources/<source>.csv`` (``source`` is the seed's three-digit id, e.g.
``"000"``) with one row per number or qualitative claim the book checks:

``key, claim, value, section, tol, partly, relative, note``

- ``key``: a short identifier the chapter uses (``table2_iris_d``), unique in the file;
- ``claim``: the claim in words, as the claims table shows it;
- ``value``: the source's number; a qualitative claim ("the trace decreases") is written ``true``/``false``
  and checked against a boolean measurement;
- ``section``: where the source states it (``Table 2``, ``Sec. 4.3``, ``Fig. 5``);
- ``tol``, ``partly``, ``relative``: the tolerances of :func:`landscape.infra.results.verdict`, fixed here, in advance,
  beside the number they judge (empty ``partly`` = no partial verdict; ``relative`` is ``true``/``false``);
- ``note``: anything a reader needs to judge the number (what was lost in extraction, what we assume).

Examples
--------
>>> from landscape.infra import sources
>>> row = sources.source_value("000", "table2_iris_d")
>>> row.value, row.section
(17.0, 'Table 2')
"""

from __future__ import annotations

import dataclasses
import functools
import re
from pathlib import Path

import pandas as pd

from landscape.infra import paths

COLUMNS = ("key", "claim", "value", "section", "tol", "partly", "relative", "note")
_SOURCE = re.compile(r"^[0-9]{3}$")
_TRUE, _FALSE = ("true", "yes"), ("false", "no")


@dataclasses.dataclass(frozen=True)
class SourceValue:
    """One number (or qualitative claim, as a bool) of a source document, with the tolerances that judge it."""

    source: str
    key: str
    claim: str
    value: float | bool
    section: str
    tol: float = 0.0
    partly: float | None = None
    relative: bool = False
    note: str = ""


def sources_dir() -> Path:
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
    return df


def source_table(source: str) -> pd.DataFrame:
    """The whole table of ``source`` (strings, as stored)."""
    if not isinstance(source, str) or not _SOURCE.match(source):
        raise ValueError(f"source must be a three-digit id such as '000', got {source!r}")
    path = sources_dir() / f"{source}.csv"
    if not path.exists():
        have = sorted(p.stem for p in sources_dir().glob("*.csv"))
        raise ValueError(f"source {source!r} has no table {path}; tables exist for: {', '.join(have) or '(none)'}")
    return _read(path, path.stat().st_mtime).copy()


def source_value(source: str, key: str) -> SourceValue:
    """The row ``key`` of ``data/sources/<source>.csv`` as a :class:`SourceValue`."""
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
                       relative=_bool(r.relative, f"{where}: relative"), note=r.note)
