"""Tidy results of a run: CSV tables per profile and chapter, and the claims ledger every chapter writes.

Layout: ``data/results/<profile>/<chapter>/<name>.csv``. The ledger of a chapter is two tables:

- ``claims.csv``: exactly one row per claim of a source document (key unique), with the columns
  :data:`CLAIM_COLUMNS`: the source's value, what this run measured (mean over seeds with a 95 % interval when the
  quantity depends on a random draw), the claim's kind, the verdict, the non-literal reading it was measured under,
  the premise it needs and whether that premise held;
- ``sensitivity.csv``: the variants of a claim (other learning rates, readings, splits, scales), the same columns
  less the verdict plus ``variant``: they show how the number moves, they are never counted.

The reproducibility report gathers the claims tables of every chapter and counts claims, identities apart.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from landscape.infra import paths
from landscape.infra.cache import atomic_write

#: Verdicts, in the order of the report's legend. "inconclusive": the measurement cannot decide (its interval
#: straddles the tolerance band, or a premise of the claim failed); "holds by construction": an identity (kind
#: ``identity`` in the data file) that our run confirms: counted apart, never as evidence about the source.
VERDICTS = ("reproduced", "reproduced under reading", "partly", "inconclusive", "not reproduced", "substituted",
            "holds by construction")
#: Columns of a chapter's ``claims.csv`` (``doc``: the source document's id; ``source``: its value).
CLAIM_COLUMNS = ("chapter", "doc", "key", "claim", "kind", "source", "measured", "ci_low", "ci_high", "n_runs",
                 "verdict", "reading", "premise", "scale_dependent", "note")
#: Columns of a chapter's ``sensitivity.csv``: the claims columns with ``variant`` instead of ``verdict``.
SENSITIVITY_COLUMNS = tuple("variant" if c == "verdict" else c for c in CLAIM_COLUMNS)
_NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")
_KINDS = ("value", "upper_bound", "lower_bound", "qualitative", "identity")


def _check_name(what: str, value: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValueError(f"{what} must be a plain name (letters, digits, _ - . +), got {value!r}")
    return value


def results_dir(chapter: str, profile: str) -> Path:
    """``data/results/<profile>/<chapter>/``, created if missing (while the runner executes a chapter: the same
    layout in the run's staging folder, see :func:`landscape.infra.paths.results_write_root`).

    Parameters
    ----------
    chapter : str
        Chapter name (``01_trajectories``).
    profile : str
        Run label (``quick``, ``paper``, or a custom run's label).

    Returns
    -------
    pathlib.Path
    """
    d = paths.results_write_root() / _check_name("profile", profile) / _check_name("chapter", chapter)
    d.mkdir(parents=True, exist_ok=True)
    return d


def save_table(df: pd.DataFrame, chapter: str, profile: str, name: str) -> Path:
    """Write ``df`` as ``<name>.csv`` (no index) in the chapter's results folder and return the path.

    The write is atomic (:func:`landscape.infra.cache.atomic_write`): concurrent writers never share a temporary file,
    and a reader sees one complete table.

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    chapter, profile : str
        As :func:`results_dir`.
    name : str
        File name without ``.csv``.

    Returns
    -------
    pathlib.Path
    """
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    path = results_dir(chapter, profile) / f"{_check_name('name', name)}.csv"
    with atomic_write(path, "w") as f:
        df.to_csv(f, index=False)
    return path


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else f"{float(value):.4g}"
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


def _check_premise(premise) -> None:
    """A premise is ``(name, ok, detail)`` with a non-empty name."""
    if not (isinstance(premise, tuple) and len(premise) == 3 and isinstance(premise[0], str) and premise[0]):
        raise ValueError(f"premise must be (name, ok, detail), got {premise!r}")


def _bands(source: float, tol: float, partly: float | None, relative: bool, kind: str):
    """(low, high) of the "reproduced" band and of the "partly" band around ``source`` for a claim of ``kind``."""
    scale = abs(source) if relative else 1.0
    t, p = tol * scale, (tol if partly is None else partly) * scale
    if kind == "upper_bound":
        return (-math.inf, source + t), (-math.inf, source + p)
    if kind == "lower_bound":
        return (source - t, math.inf), (source - p, math.inf)
    return (source - t, source + t), (source - p, source + p)


def verdict(source, measured, *, tol: float = 0.0, partly: float | None = None, relative: bool = False,
            kind: str = "value", interval: tuple[float, float] | None = None) -> str:
    """The verdict rule every chapter uses for a numeric claim.

    The "reproduced" band is ``source +- tol`` and the "partly" band ``source +- partly`` (relative tolerances are
    multiplied by ``|source|``); for a one-sided claim the bands are ``(-inf, source + tol]`` (``upper_bound``: met
    by anything at or below the bound) or ``[source - tol, inf)`` (``lower_bound``). The measurement is the interval
    ``interval`` (a 95 % interval over seeds, or of a fit) or the point ``measured``:

    - "reproduced" when it lies inside the "reproduced" band;
    - "not reproduced" when it lies entirely outside the "partly" band (the "reproduced" band if no ``partly``);
    - "partly" when it lies inside the "partly" band and entirely outside the "reproduced" band;
    - "inconclusive" otherwise: the interval straddles a band's edge, the measurement cannot decide.

    A point (no interval) is never inconclusive, so with one run the rule is the plain distance rule. State the
    tolerances next to the claim; they are never tuned to make a number pass.

    Parameters
    ----------
    source : float
        The source's value (or bound).
    measured : float
        What we measured (the mean over seeds when ``interval`` is given).
    tol : float
        Half-width of the "reproduced" band (slack beyond a bound), >= 0.
    partly : float, optional
        Half-width of the "partly" band, >= ``tol``; ``None``: no partial verdict.
    relative : bool
        Tolerances relative to ``|source|`` (``source`` must be non-zero).
    kind : {"value", "upper_bound", "lower_bound", "identity"}
        Two-sided (``value``, a numeric ``identity``) or one-sided.
    interval : (float, float), optional
        ``(low, high)`` of the measurement, ``low <= high``.

    Returns
    -------
    str
        One of "reproduced", "partly", "inconclusive", "not reproduced".

    Examples
    --------
    >>> from landscape.infra.results import verdict
    >>> verdict(-0.5, -0.9, tol=0.15, kind="upper_bound")  # an O(p^-1/2) bound met by a faster fall
    'reproduced'
    >>> verdict(17, 14, tol=0.12, partly=0.25, relative=True, interval=(13, 14.5))  # below 17 - 2.04, above 17 - 4.25
    'partly'
    >>> verdict(17, 17, tol=0.12, partly=0.25, relative=True, interval=(11, 23))
    'inconclusive'
    """
    if tol < 0 or (partly is not None and partly < tol):
        raise ValueError(f"tol must be >= 0 and partly >= tol, got tol={tol!r}, partly={partly!r}")
    if kind not in ("value", "upper_bound", "lower_bound", "identity"):
        raise ValueError(f"kind must be value, upper_bound, lower_bound or identity for a number, got {kind!r}")
    if relative and float(source) == 0:
        raise ValueError("relative: a relative tolerance needs a non-zero source value")
    m = float(measured)
    if math.isnan(m):
        raise ValueError("measured is nan: a claim whose measurement is missing needs a failed premise, not a verdict")
    lo, hi = (m, m) if interval is None else (float(interval[0]), float(interval[1]))
    if not lo <= hi or math.isnan(lo) or math.isnan(hi):
        raise ValueError(f"interval must be (low, high) with low <= high, got {interval!r}")
    (t_lo, t_hi), (p_lo, p_hi) = _bands(float(source), tol, partly, relative, kind)
    if t_lo <= lo and hi <= t_hi:
        return "reproduced"
    if hi < p_lo or lo > p_hi:
        return "not reproduced"
    if partly is not None and p_lo <= lo and hi <= p_hi and (hi < t_lo or lo > t_hi):
        return "partly"
    return "inconclusive"


def interval95(sample) -> tuple[float, float, float, int]:
    """Mean and two-sided 95 % Student-t interval of a sample over seeds: ``(mean, low, high, n)``.

    ``mean +- t_{0.975, n-1} s / sqrt(n)`` with ``s`` the sample standard deviation (ddof 1); one run gives
    ``(x, nan, nan, 1)``.

    Parameters
    ----------
    sample : array_like
        One finite number per run (seed).

    Returns
    -------
    tuple
        ``(mean, low, high, n)``.

    Examples
    --------
    >>> from landscape.infra.results import interval95
    >>> [round(v, 4) for v in interval95([1.0, 2.0, 3.0])]  # t_{0.975, 2} = 4.3027, s/sqrt(3) = 0.5774
    [2.0, -0.4841, 4.4841, 3]
    """
    from scipy import stats

    x = np.asarray(sample, dtype=float).ravel()
    if x.size == 0 or not np.isfinite(x).all():
        raise ValueError(f"sample must hold at least one finite number, got {sample!r}")
    mean = float(x.mean())
    if x.size == 1:
        return mean, math.nan, math.nan, 1
    half = float(stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return mean, mean - half, mean + half, int(x.size)


def _is_sample(measured) -> bool:
    return isinstance(measured, (list, tuple, np.ndarray, pd.Series)) and not isinstance(measured, str)


#: What a :class:`Claims` that is not ``active`` returns instead of a verdict.
NOT_JUDGED = "not judged (other data)"


class Claims:
    """The ledger of one chapter: one verdict per claim of a source, and the claim's variants apart.

    Rows are keyed by the source's key (``data/sources/<source>.csv``): a key judged twice is a ``ValueError`` (record
    the other configurations with :meth:`variant`). Claims of the kind ``identity`` that hold are "holds by
    construction".

    Parameters
    ----------
    chapter : str
        Chapter name.
    profile : str
        Run label.
    active : bool
        False on data other than the source's (a user's CSV): nothing compares with the source's numbers there, so
        :meth:`check`, :meth:`add`, :meth:`substitute` and :meth:`variant` record nothing (they return
        :data:`NOT_JUDGED`) and the run's ledger is empty; the page says why. Settable later (``claims.active``).
    """

    def __init__(self, chapter: str, profile: str, *, active: bool = True):
        self.chapter = _check_name("chapter", chapter)
        self.profile = _check_name("profile", profile)
        self.active = bool(active)
        self._rows: list[dict] = []
        self._variants: list[dict] = []
        self._assumed: list[tuple] = []

    def assume(self, keys, premise: tuple[str, bool, str]) -> None:
        """A premise shared by many claims, checked once: every later :meth:`check` (and :meth:`threshold`) of a
        key in ``keys`` carries it besides its own, and is "inconclusive" when it fails.

        For premises of a whole profile or reading (the trajectory has the source's length; the kernel at the
        source's ε links the points), so that no row that needs them can be judged without them.

        Parameters
        ----------
        keys : collection of str or callable
            The claim keys it applies to, or ``keys(key) -> bool``.
        premise : (str, bool, str)
            ``(name, ok, detail)`` as in :meth:`check`.

        Examples
        --------
        >>> c = Claims("02_x", "quick", active=False)
        >>> c.assume(lambda key: key.endswith("_d"), ("the source's trajectory length", False, "M = 120 < 2400"))
        """
        _check_premise(premise)
        if not callable(keys):
            if isinstance(keys, str):
                raise ValueError("keys must be a collection of keys or a callable, not one string")
            members = frozenset(keys)
            keys = members.__contains__
        self._assumed.append((keys, (premise[0], bool(premise[1]), premise[2])))

    def _premises(self, key: str, premise):
        """The claim's own premise combined with the assumed ones that apply to ``key`` (one tuple, or None)."""
        found = ([premise] if premise is not None else []) + [p for match, p in self._assumed if match(key)]
        if len(found) <= 1:
            return found[0] if found else None
        for p in found:
            _check_premise(p)
        return (" and ".join(p[0] for p in found), all(bool(p[1]) for p in found),
                "; ".join(f"{p[0]}: {p[2]} ({'holds' if p[1] else 'FAILS'})" for p in found))

    # -- one row -------------------------------------------------------------------------------------------------
    def _row(self, source: str, key: str, measured, *, interval, n_runs, reading, premise, note, fit_set):
        from landscape.infra.sources import source_value

        sv = source_value(source, key)
        if interval is not None and _is_sample(measured):
            raise ValueError("interval: give a sample over seeds as measured, or an interval, not both")
        lo = hi = math.nan
        n = 1 if n_runs is None else int(n_runs)
        if n < 1:
            raise ValueError(f"n_runs must be >= 1, got {n_runs!r}")
        if _is_sample(measured):
            values = np.asarray(measured).ravel()
            if values.dtype == bool or (isinstance(sv.value, bool) and set(np.unique(values)) <= {0, 1}):
                agree = values.all() or not values.any()
                value, n = (bool(values.all()) if agree else float(values.mean())), values.size
            else:
                value, lo, hi, n = interval95(values)
        elif isinstance(measured, str):  # a described measurement (a substitute's outcome in words)
            value = measured
        elif isinstance(sv.value, bool) or isinstance(measured, (bool, np.bool_)):
            value = bool(measured)
        else:
            value = float(measured)
            if interval is not None:
                lo, hi = float(interval[0]), float(interval[1])
        if premise is not None:
            _check_premise(premise)
            name, ok, detail = premise
            premise_text = f"{name}: {detail} ({'holds' if ok else 'FAILS'})"
            premise_ok = bool(ok)
        else:
            premise_text, premise_ok = "", True
        if fit_set:
            fitted = [k for k in fit_set if k == key]
            named = ", ".join(fit_set) if len(fit_set) <= 4 else f"{', '.join(fit_set[:3])} and {len(fit_set) - 3} more"
            note = (f"reading fitted on {named}; "
                    f"{'this is its fit set: reported, not judged' if fitted else 'judged out of sample'}. {note}")
        row = {"chapter": self.chapter, "doc": source, "key": key, "claim": f"{sv.claim} ({sv.section})",
               "kind": sv.kind, "source": _fmt(sv.value), "measured": _fmt(value), "ci_low": _fmt(lo),
               "ci_high": _fmt(hi), "n_runs": str(n), "reading": reading or "", "premise": premise_text,
               "scale_dependent": "yes" if sv.scale_dependent else "", "note": note.strip()}
        return sv, value, (lo, hi), premise_ok, row

    def _judge(self, sv, value, ci, premise_ok, reading, fitted: bool) -> str:
        if fitted:
            raise ValueError(f"{sv.key}: the reading was fitted on this number; record it with variant(), not check()")
        if isinstance(value, str):
            raise ValueError(f"measured must be a number, a bool or a sample to be judged, got {value!r}; a "
                             "measurement in words goes with add() and the chapter's verdict")
        if not premise_ok:  # the claim does not apply: nothing to judge (the measurement may even be missing)
            return "inconclusive"
        if isinstance(value, bool) and isinstance(sv.value, bool):
            result = "reproduced" if value == sv.value else "not reproduced"
        elif isinstance(sv.value, bool):  # a mixed sample of true/false over seeds
            result = "inconclusive"
        else:
            kind = "value" if sv.kind in ("qualitative",) else sv.kind
            interval = None if math.isnan(ci[0]) else ci
            result = verdict(sv.value, value, tol=sv.tol, partly=sv.partly, relative=sv.relative, kind=kind,
                             interval=interval)
        if sv.kind == "identity" and result == "reproduced":
            return "holds by construction"
        if reading and result == "reproduced":
            return "reproduced under reading"
        return result

    def _append(self, row: dict) -> None:
        if any(r["key"] == row["key"] and r["doc"] == row["doc"] for r in self._rows):
            raise ValueError(f"key {row['key']!r} of source {row['doc']} is already judged in this chapter: one "
                             "verdict per claim; record other configurations with variant()")
        self._rows.append(row)

    # -- public --------------------------------------------------------------------------------------------------
    def check(self, source: str, key: str, measured, *, note: str = "", reading: str | None = None,
              premise: tuple[str, bool, str] | None = None, interval: tuple[float, float] | None = None,
              n_runs: int | None = None, fit_set: Sequence[str] | None = None) -> str:
        """Judge ``measured`` against the source's value ``key`` of ``data/sources/<source>.csv`` and add the row.

        The value, kind and tolerances are read from the data file (:mod:`landscape.infra.sources`), the verdict comes
        from :func:`verdict`, the one rule. A qualitative claim (``true``/``false`` in the file) is judged on
        ``bool(measured)``. Returns the verdict.

        Parameters
        ----------
        source : str
            Three-digit id of the source document.
        key : str
            The claim's key; each key is judged once per chapter.
        measured : float, bool or array_like
            One measurement, or a sample over seeds: its mean is recorded with a 95 % t-interval
            (:func:`interval95`) and the verdict uses the interval. A sample of bools that agree is judged as one
            bool; a mixed one is "inconclusive" (the share that holds is recorded).
        note : str
            What a reader needs to judge the row.
        reading : str, optional
            The non-literal choices the number was measured under (``"rcond 6e-4, no batch factor"``): a match is
            then "reproduced under reading".
        premise : (str, bool, str), optional
            ``(name, ok, detail)``: what the claim presupposes (a trained network, a stationary state, a minimum),
            checked as a number. A failed premise makes the verdict "inconclusive", never "not reproduced".
        interval : (float, float), optional
            A 95 % interval of ``measured`` obtained otherwise (a fit's, or the seed spread of a reference
            configuration), with ``n_runs``.
        n_runs : int, optional
            Runs behind ``interval`` (default 1, or the sample size).
        fit_set : sequence of str, optional
            Keys the ``reading`` was fitted on. The reading is credited only out of sample: a ``key`` in its own
            fit set is a ``ValueError`` here (record it with :meth:`variant`).

        Returns
        -------
        str
            The verdict.
        """
        if not self.active:
            return NOT_JUDGED
        fit_set = list(fit_set) if fit_set else None
        sv, value, ci, ok, row = self._row(source, key, measured, interval=interval, n_runs=n_runs, reading=reading,
                                           premise=self._premises(key, premise), note=note, fit_set=fit_set)
        row["verdict"] = self._judge(sv, value, ci, ok, reading, fitted=bool(fit_set) and key in fit_set)
        self._append(row)
        return row["verdict"]

    def add(self, source: str, key: str, measured, verdict: str, *, note: str = "", reading: str | None = None,
            premise: tuple[str, bool, str] | None = None, interval: tuple[float, float] | None = None,
            n_runs: int | None = None) -> str:
        """Add the claim ``key`` with a verdict given by the chapter (e.g. "substituted": the source's experiment
        needs data or hardware we cannot have, the chapter ran the closest honest substitute).

        Parameters
        ----------
        source, key : str
            As :meth:`check`.
        measured : float, bool, str or array_like
            As :meth:`check`, or the measurement in words (``"2/2 saddles"``).
        verdict : str
            One of :data:`VERDICTS`.
        note, reading, premise, interval, n_runs
            As :meth:`check` (recorded; the verdict is the one given).

        Returns
        -------
        str
            The verdict.
        """
        if not self.active:
            return NOT_JUDGED
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {list(VERDICTS)}, got {verdict!r}")
        _, _, _, _, row = self._row(source, key, measured, interval=interval, n_runs=n_runs, reading=reading,
                                    premise=premise, note=note, fit_set=None)
        row["verdict"] = verdict
        self._append(row)
        return verdict

    def substitute(self, source: str, key: str, measured, *, note: str = "", judge: bool = False, **kw) -> str:
        """:meth:`add` with the verdict "substituted".

        Parameters
        ----------
        source, key, measured
            As :meth:`add`.
        note : str
            The substitute and what differs from the source's experiment.
        judge : bool
            Also apply the source's rule (:meth:`check`'s, with the file's value, kind and tolerances) to the
            substitute's measurement and write its outcome into the note ("on the substitute: partly. ..."); the
            verdict stays "substituted" (the substitute is not the source's experiment).
        **kw
            ``reading``, ``premise``, ``interval``, ``n_runs`` as :meth:`add`.

        Returns
        -------
        str
            "substituted".
        """
        if not self.active:
            return NOT_JUDGED
        if judge:
            sv, value, ci, ok, _ = self._row(source, key, measured, interval=kw.get("interval"),
                                             n_runs=kw.get("n_runs"), reading=kw.get("reading"),
                                             premise=kw.get("premise"), note=note, fit_set=None)
            outcome = self._judge(sv, value, ci, ok, kw.get("reading"), fitted=False)
            note = f"on the substitute: {outcome}. {note}".strip()
        return self.add(source, key, measured, "substituted", note=note, **kw)

    def threshold(self, source: str, key: str, sample, *, at: float, partly_at: float | None = None,
                  note: str = "", reading: str | None = None,
                  premise: tuple[str, bool, str] | None = None) -> str:
        """Judge a true/false claim read as "the quantity is at least ``at``" on the 95 % interval of ``sample``.

        For words such as "almost all" (read as >= 0.9) or "substantially" (a relative fall >= 0.25), where a
        per-seed true/false would turn an interval across the threshold into a verdict. With the interval
        ``[low, high]`` (:func:`interval95`; one run: ``low = high``): ``low >= at`` is "reproduced" ("reproduced
        under reading" with a ``reading``); ``partly_at < low`` and ``high < at`` is "partly" (the effect is there
        but smaller); ``high < at`` without ``partly_at``, or ``high <= partly_at`` with it, is "not reproduced";
        anything else "inconclusive".
        The row records the mean and its interval, not a true/false.

        Parameters
        ----------
        source, key : str
            As :meth:`check`; the claim in the data file is qualitative with value ``true``.
        sample : array_like
            The quantity over seeds (finite numbers).
        at : float
            The reading's threshold: the claim holds when the quantity is at least ``at``.
        partly_at : float, optional
            Below ``at``: an interval wholly above it but not above ``at`` is "partly".
        note, reading, premise
            As :meth:`check`.

        Returns
        -------
        str
            The verdict.
        """
        if not self.active:
            return NOT_JUDGED
        values = np.asarray(sample, dtype=float).ravel()
        if values.size == 0 or not np.isfinite(values).all():
            raise ValueError(f"sample must be finite numbers over seeds, got {sample!r}")
        if partly_at is not None and not partly_at < at:
            raise ValueError(f"partly_at must be below at, got partly_at={partly_at!r}, at={at!r}")
        mean, lo, hi, n = interval95(values)
        if n == 1:
            lo = hi = mean
        if lo >= at:
            result = "reproduced under reading" if reading else "reproduced"
        elif partly_at is not None and lo > partly_at and hi < at:
            result = "partly"
        elif (hi < at) if partly_at is None else (hi <= partly_at):
            result = "not reproduced"
        else:
            result = "inconclusive"
        sv, _, _, ok, row = self._row(source, key, float(mean), interval=(lo, hi) if n > 1 else None, n_runs=n,
                                      reading=reading, premise=self._premises(key, premise), note=note, fit_set=None)
        if not isinstance(sv.value, bool) or sv.value is not True:
            raise ValueError(f"{key}: threshold() judges a qualitative claim whose value is true")
        row["measured"] = _fmt(float(mean))
        if n > 1:
            row["ci_low"], row["ci_high"] = _fmt(float(lo)), _fmt(float(hi))
        row["verdict"] = result if ok else "inconclusive"
        self._append(row)
        return row["verdict"]

    def variant(self, source: str, key: str, measured, *, variant: str, note: str = "", reading: str | None = None,
                interval: tuple[float, float] | None = None, n_runs: int | None = None,
                fit_set: Sequence[str] | None = None) -> None:
        """Record a variant of claim ``key`` (another learning rate, reading, split, scale) in ``sensitivity.csv``.

        Variants show how the number moves with a choice; they carry no verdict and are never counted.

        Parameters
        ----------
        source, key, measured, note, reading, interval, n_runs, fit_set
            As :meth:`check` (a reading's own fit set is allowed here: it is reported as fitted).
        variant : str
            What differs from the claim's row, in words (``"lr 0.05"``, ``"best reading (fitted)"``).
        """
        if not self.active:
            return None
        if not isinstance(variant, str) or not variant:
            raise ValueError("variant must be a non-empty description of what differs")
        _, _, _, _, row = self._row(source, key, measured, interval=interval, n_runs=n_runs, reading=reading,
                                    premise=None, note=note, fit_set=list(fit_set) if fit_set else None)
        row["variant"] = variant
        self._variants.append(row)

    def frame(self) -> pd.DataFrame:
        """The claims table (:data:`CLAIM_COLUMNS`)."""
        return pd.DataFrame(self._rows, columns=list(CLAIM_COLUMNS))

    def sensitivity(self) -> pd.DataFrame:
        """The variants (:data:`SENSITIVITY_COLUMNS`), in the order recorded."""
        return pd.DataFrame(self._variants, columns=list(SENSITIVITY_COLUMNS))

    def write(self) -> pd.DataFrame:
        """Write ``claims.csv`` (and ``sensitivity.csv`` when there are variants); return the claims table."""
        df = self.frame()
        save_table(df, self.chapter, self.profile, "claims")
        if self._variants:
            save_table(self.sensitivity(), self.chapter, self.profile, "sensitivity")
        return df


def is_evidence(claims: pd.DataFrame) -> pd.Series:
    """Rows that count as evidence about a source: every kind but ``identity``.

    Parameters
    ----------
    claims : pandas.DataFrame
        A claims table (column ``kind``).

    Returns
    -------
    pandas.Series of bool
    """
    return claims["kind"] != "identity"


def strip_section(claim: str) -> str:
    """The claim without its trailing ``(section)``, which :meth:`Claims.check` appends (nested brackets allowed).

    Parameters
    ----------
    claim : str
        A claim as the claims table holds it.

    Returns
    -------
    str

    Examples
    --------
    >>> from landscape.infra.results import strip_section
    >>> strip_section("no regional minima (Sec. 5.3 (Hamey's theorem))")
    'no regional minima'
    """
    text = claim.rstrip()
    if not text.endswith(")"):
        return text
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[i], 0)
        if depth == 0:
            return text[:i].rstrip()
    return text


def _glue_number(text: str) -> str:
    return text if text not in ("True", "False") else text.lower()


def what_holds(claims: pd.DataFrame) -> str:
    """Markdown for a chapter's closing "What holds and what does not": one paragraph per verdict group, each claim
    with the source's value and ours (and the reading, premise or interval where there is one).

    Parameters
    ----------
    claims : pandas.DataFrame
        A claims table (:data:`CLAIM_COLUMNS`).

    Returns
    -------
    str
        Markdown, empty for an empty table.
    """
    missing = {"claim", "verdict", "source", "measured", "kind"} - set(claims.columns)
    if missing:
        raise ValueError(f"claims: missing column(s) {sorted(missing)}")
    out = []
    heads = {"reproduced": "**Holds.**", "reproduced under reading": "**Holds under a named reading.**",
             "partly": "**Holds in part.**", "inconclusive": "**Undecided.**", "not reproduced": "**Does not hold.**",
             "substituted": "**Judged on a substitute.**", "holds by construction":
             "**Holds by construction** (identities: checks of our code, not evidence about the source)."}
    for v in VERDICTS:
        sel = claims[claims.verdict == v]
        if sel.empty:
            continue
        items = []
        for _, r in sel.iterrows():
            claim = strip_section(str(r.claim))
            src, got = _glue_number(str(r.source)), _glue_number(str(r.measured))
            boolean = src in ("true", "false")
            extra = []
            if str(r.get("ci_low", "")) not in ("", "nan"):
                extra.append(f"95 % interval [{r.ci_low}, {r.ci_high}] over {r.n_runs} runs")
            if str(r.get("reading", "")) not in ("", "nan"):
                extra.append(f"under {r.reading}")
            if str(r.get("premise", "")) not in ("", "nan") and "FAILS" in str(r.premise):
                extra.append(f"premise {r.premise}")
            tail = f"; {'; '.join(extra)}" if extra else ""
            if boolean:  # a true/false claim: the verdict says whether it held; name the outcome only when it differs
                items.append(f"{claim}{' (here ' + got + ')' if got != src else ''}{tail}")
            else:
                items.append(f"{claim}: source {src}, here {got}{tail}")
        out.append(f"{heads[v]} {len(sel)} claim{'s' if len(sel) != 1 else ''}: " + "; ".join(items) + ".")
    return "\n\n".join(out)


def gather_claims(profile: str) -> pd.DataFrame:
    """Every chapter's ``claims.csv`` under ``data/results/<profile>/``, in chapter order.

    Parameters
    ----------
    profile : str
        Run label.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CLAIM_COLUMNS` (strings).
    """
    return _gather(profile, "claims", CLAIM_COLUMNS)


def gather_sensitivity(profile: str) -> pd.DataFrame:
    """Every chapter's ``sensitivity.csv`` under ``data/results/<profile>/``, in chapter order.

    Parameters
    ----------
    profile : str
        Run label.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SENSITIVITY_COLUMNS` (strings).
    """
    return _gather(profile, "sensitivity", SENSITIVITY_COLUMNS)


def _gather(profile: str, name: str, columns) -> pd.DataFrame:
    base = paths.results_root() / _check_name("profile", profile)
    frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in sorted(base.glob(f"*/{name}.csv"))]
    if not frames:
        return pd.DataFrame(columns=list(columns))
    return pd.concat(frames, ignore_index=True).reindex(columns=list(columns), fill_value="")
