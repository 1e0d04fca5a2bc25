"""Tidy results of a run: CSV tables per profile and chapter, and the claims table every chapter writes.

Layout: ``data/results/<profile>/<chapter>/<name>.csv``. A claims table has one row per claim of a source document:
``chapter, claim, source, measured, verdict, note``; the reproducibility report gathers them from every chapter.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from landscape.infra import paths
from landscape.infra.cache import atomic_write

VERDICTS = ("reproduced", "reproduced under reading", "partly", "not reproduced", "substituted")
CLAIM_COLUMNS = ("chapter", "claim", "source", "measured", "verdict", "note")
_NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")


def _check_name(what: str, value: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValueError(f"{what} must be a plain name (letters, digits, _ - . +), got {value!r}")
    return value


def results_dir(chapter: str, profile: str) -> Path:
    """``data/results/<profile>/<chapter>/``, created if missing (while the runner executes a chapter: the same
    layout in the run's staging folder, see :func:`landscape.infra.paths.results_write_root`)."""
    d = paths.results_write_root() / _check_name("profile", profile) / _check_name("chapter", chapter)
    d.mkdir(parents=True, exist_ok=True)
    return d


def save_table(df: pd.DataFrame, chapter: str, profile: str, name: str) -> Path:
    """Write ``df`` as ``<name>.csv`` (no index) in the chapter's results folder and return the path.

    The write is atomic (:func:`landscape.infra.cache.atomic_write`): concurrent writers never share a temporary file,
    and a reader sees one complete table.
    """
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    path = results_dir(chapter, profile) / f"{_check_name('name', name)}.csv"
    with atomic_write(path, "w") as f:
        df.to_csv(f, index=False)
    return path


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def verdict(source, measured, *, tol: float = 0.0, partly: float | None = None, relative: bool = False) -> str:
    """The verdict rule every chapter uses for a numeric claim.

    ``d = |measured - source|`` (divided by ``|source|`` when ``relative``): "reproduced" when ``d <= tol``,
    "partly" when ``partly`` is given and ``d <= partly``, else "not reproduced". State the tolerances next to
    the claim; they are never tuned to make a number pass.
    """
    if tol < 0 or (partly is not None and partly < tol):
        raise ValueError(f"tol must be >= 0 and partly >= tol, got tol={tol!r}, partly={partly!r}")
    d = abs(float(measured) - float(source))
    if relative:
        if source == 0:
            raise ValueError("relative: a relative tolerance needs a non-zero source value")
        d /= abs(float(source))
    if d <= tol:
        return "reproduced"
    if partly is not None and d <= partly:
        return "partly"
    return "not reproduced"


class Claims:
    """The claims table of one chapter: each claim of the source beside what this run measured."""

    def __init__(self, chapter: str, profile: str):
        self.chapter = _check_name("chapter", chapter)
        self.profile = _check_name("profile", profile)
        self._rows: list[dict] = []

    def add(self, claim: str, source, measured, verdict: str, note: str = "") -> Claims:
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {list(VERDICTS)}, got {verdict!r}")
        if not claim:
            raise ValueError("claim must be a non-empty description")
        self._rows.append({"chapter": self.chapter, "claim": claim, "source": _fmt(source),
                           "measured": _fmt(measured), "verdict": verdict, "note": note})
        return self

    def check(self, source: str, key: str, measured, *, note: str = "", reading: str | None = None) -> str:
        """Judge ``measured`` against the source's value ``key`` of ``data/sources/<source>.csv`` and add the row.

        The value and its tolerances are read from the data file (:mod:`landscape.infra.sources`), and the verdict
        comes from :func:`verdict`, the one rule. A qualitative claim (``true``/``false`` in the file) is judged
        on ``bool(measured)``. ``reading`` names the non-literal choices under which the number was measured
        (e.g. ``"rcond 6e-4, no batch factor"``): a match then counts as "reproduced under reading" and the
        reading is written into the note. Returns the verdict.
        """
        from landscape.infra.sources import source_value

        sv = source_value(source, key)
        if isinstance(sv.value, bool):
            result = verdict(float(sv.value), float(bool(measured)))
        else:
            result = verdict(sv.value, measured, tol=sv.tol, partly=sv.partly, relative=sv.relative)
        if reading:
            note = f"under reading: {reading}. {note}".strip()
            if result == "reproduced":
                result = "reproduced under reading"
        self.add(f"{sv.claim} ({sv.section})", sv.value, measured, result, note)
        return result

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self._rows, columns=list(CLAIM_COLUMNS))

    def write(self) -> pd.DataFrame:
        df = self.frame()
        save_table(df, self.chapter, self.profile, "claims")
        return df


def gather_claims(profile: str) -> pd.DataFrame:
    """Every chapter's ``claims.csv`` under ``data/results/<profile>/``, in chapter order."""
    base = paths.results_root() / _check_name("profile", profile)
    frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in sorted(base.glob("*/claims.csv"))]
    if not frames:
        return pd.DataFrame(columns=list(CLAIM_COLUMNS))
    return pd.concat(frames, ignore_index=True)
