"""One figure style for the whole book: readable at a glance, colour-blind safe, the same in every chapter.

Also the report's pictures of the verdicts: one colour per verdict kind (:data:`VERDICT_COLORS`), the same in the
one-glance figure (:func:`verdict_bars`) and the claims table (:func:`claims_table`).
"""

from __future__ import annotations

from importlib import resources

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from landscape.infra.results import VERDICTS
from landscape.infra.validation import check_choice, check_finite, check_scalar

# Okabe-Ito palette: distinguishable with the common colour-vision deficiencies.
COLORS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
SIZES = {"wide": (9.0, 3.6), "square": (4.8, 4.4), "grid": (9.0, 7.5), "single": (6.0, 3.8)}
CMAP = "viridis"
DIVERGING = "RdBu_r"
#: The figure style (a matplotlib style file shipped with the package): sizes, fonts, grid, the colours of
#: :data:`COLORS` as the colour cycle, :data:`CMAP` as the colour map and ``SIZES["single"]`` as the figure size.
STYLE = resources.files("landscape") / "landscape.mplstyle"


def use_style() -> None:
    """Set the book's matplotlib defaults from the style file :data:`STYLE` (call once at the top of a chapter).

    Only the settings the file names change (``matplotlib.pyplot.style.use``); the others keep their values.

    Returns
    -------
    None
    """
    with resources.as_file(STYLE) as path:
        plt.style.use(path)


def fig_size(kind: str = "wide") -> tuple[float, float]:
    """Figure size ``(width, height)`` in inches of one of the book's layouts (:data:`SIZES`).

    Parameters
    ----------
    kind : str
        A key of :data:`SIZES`.

    Returns
    -------
    tuple of float

    Examples
    --------
    >>> from landscape import plotting
    >>> plotting.fig_size("square")
    (4.8, 4.4)
    """
    return SIZES[check_choice(kind, "kind", list(SIZES))]


#: Verdict kind -> colour (Okabe-Ito): green reproduced, sky blue under a named reading, orange partly, yellow
#: inconclusive, vermillion not reproduced, grey substituted, reddish purple holds by construction (identities,
#: counted apart). The claims table uses the same hues, lightened (:func:`verdict_tint`).
VERDICT_COLORS = {
    "reproduced": "#009E73",
    "reproduced under reading": "#56B4E9",
    "partly": "#E69F00",
    "inconclusive": "#F0E442",
    "not reproduced": "#D55E00",
    "substituted": "#999999",
    "holds by construction": "#CC79A7",
}
assert tuple(VERDICT_COLORS) == VERDICTS, "one colour per verdict kind, in the order of results.VERDICTS"


def verdict_tint(verdict: str, strength: float = 0.3) -> str:
    """The verdict's colour mixed with white (``strength`` of the colour): a background that keeps text readable.

    Unknown verdicts get white.

    Parameters
    ----------
    verdict : str
        A verdict kind (others give white).
    strength : float
        Mix with white, in [0, 1].

    Returns
    -------
    str
        Hex colour.

    Examples
    --------
    >>> from landscape import plotting
    >>> plotting.verdict_tint("not reproduced", 1.0), plotting.verdict_tint("anything else")
    ('#d55e00', '#ffffff')
    """
    check_scalar(check_finite(strength, "strength"), "strength", float, min_val=0, max_val=1)
    rgb = np.array(mpl.colors.to_rgb(VERDICT_COLORS.get(verdict, "#ffffff")))
    return mpl.colors.to_hex(1 - strength * (1 - rgb))


def verdict_counts(claims: pd.DataFrame) -> pd.DataFrame:
    """Claims per chapter (rows, in order of first appearance) and verdict kind (columns, as ``VERDICTS``).

    Parameters
    ----------
    claims : pandas.DataFrame
        Columns ``chapter`` and ``verdict``.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> import pandas as pd
    >>> from landscape import plotting
    >>> claims = pd.DataFrame({"chapter": ["a", "a", "b"], "verdict": ["reproduced", "partly", "reproduced"]})
    >>> counts = plotting.verdict_counts(claims)
    >>> counts.loc["a"].tolist(), counts.loc["b"].tolist()  # columns in the order of VERDICTS
    ([1, 0, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0])
    """
    missing = {"chapter", "verdict"} - set(claims.columns)
    if missing:
        raise ValueError(f"claims: missing column(s) {sorted(missing)}")
    unknown = set(claims.verdict) - set(VERDICTS)
    if unknown:
        raise ValueError(f"claims: unknown verdict(s) {sorted(unknown)}; expected one of {list(VERDICTS)}")
    order = list(dict.fromkeys(claims.chapter))
    counts = pd.crosstab(claims.chapter, claims.verdict).reindex(index=order, columns=list(VERDICTS), fill_value=0)
    return counts.fillna(0).astype(int)


def verdict_bars(claims: pd.DataFrame, ax=None, title: str = "Verdicts per chapter"):
    """One-glance figure of the report: a stacked horizontal bar per chapter, one segment per verdict kind.

    Segments are in the order of ``VERDICTS`` (reproduced first), coloured by :data:`VERDICT_COLORS`, and labelled
    with their count where wide enough; the first chapter is on top. Identities ("holds by construction") come last,
    hatched: they are counted apart, never as evidence about a source. Returns the figure.

    Parameters
    ----------
    claims : pandas.DataFrame
        Columns ``chapter`` and ``verdict`` (one row per claim).
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure).
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    """
    counts = verdict_counts(claims)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 1.2 + 0.4 * max(len(counts), 1)))
    y = np.arange(len(counts))[::-1]
    left = np.zeros(len(counts))
    for verdict in VERDICTS:
        n = counts[verdict].to_numpy() if len(counts) else np.zeros(0)
        bars = ax.barh(y, n, left=left, color=VERDICT_COLORS[verdict], label=verdict, height=0.7,
                       hatch="//" if verdict == "holds by construction" else None, edgecolor="white", linewidth=0.5)
        ax.bar_label(bars, labels=[str(k) if k >= 1 else "" for k in n], label_type="center", fontsize=8,
                     color="white" if verdict in ("reproduced", "not reproduced") else "black")
        left += n
    ax.set_yticks(y, counts.index)
    ax.set_xlim(0, 1.03 * max(float(left.max()) if len(left) else 0.0, 1.0))
    ax.set_xlabel("claims")
    ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
    ax.grid(axis="y", visible=False)
    ax.legend(ncols=4, loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=8, handlelength=1.2,
              columnspacing=1.0)
    ax.set_title(title, loc="left", pad=40)
    return ax.figure


#: Column widths of the claims table (percent of the page): claims and notes get the room, every cell wraps, no
#: text is cut.
CLAIMS_TABLE_WIDTHS = {"chapter": 9, "key": 10, "claim": 22, "kind": 7, "source": 6, "measured": 10, "verdict": 8,
                       "variant": 8, "reading": 8, "premise": 8, "note": 22}


def _claims_display(claims: pd.DataFrame) -> pd.DataFrame:
    """The columns a reader needs, the interval folded into ``measured``, empty columns dropped."""
    df = claims.copy()
    if "ci_low" in df.columns:
        def measured(r):
            lo, hi, n = (str(r.get(c, "")) for c in ("ci_low", "ci_high", "n_runs"))
            return f"{r.measured} [{lo}, {hi}], {n} runs" if lo not in ("", "nan") else str(r.measured)
        df["measured"] = [measured(r) for _, r in df.iterrows()] if len(df) else df.get("measured")
    keep = [c for c in CLAIMS_TABLE_WIDTHS if c in df.columns]
    if "chapter" in keep and df["chapter"].nunique() <= 1:
        keep.remove("chapter")
    keep = [c for c in keep if c in ("claim", "verdict", "variant", "source", "measured")
            or df[c].astype(str).replace("nan", "").str.len().gt(0).any()]
    return df[keep].fillna("")


def claims_table(claims: pd.DataFrame):
    """A claims (or sensitivity) table as a pandas ``Styler`` that fits the page: fixed layout at 100% width,
    :data:`CLAIMS_TABLE_WIDTHS`, the full text of every cell wrapped (never cut; words break only where they do not
    fit; names may break after their underscores), verdict cells tinted with the verdict colours of
    :func:`verdict_bars`. The 95 % interval and run count are shown with the measured value; empty columns and a
    single chapter's name are left out.

    Parameters
    ----------
    claims : pandas.DataFrame
        A claims table (``landscape.infra.results.CLAIM_COLUMNS``) or a sensitivity table (``variant`` instead of
        ``verdict``).

    Returns
    -------
    pandas.io.formats.style.Styler
    """
    shown = _claims_display(claims)
    widths = {c: w for c, w in CLAIMS_TABLE_WIDTHS.items() if c in shown.columns}
    total = sum(widths.values()) or 1
    cell = {"font-size": "0.85em", "vertical-align": "top", "white-space": "normal", "overflow-wrap": "break-word",
            "text-align": "left", "padding": "0.25em 0.5em"}
    head = "font-size: 0.85em; white-space: normal; overflow-wrap: break-word; text-align: left; padding: 0.25em 0.5em"
    names = [c for c in ("chapter", "key") if c in shown.columns]
    styler = shown.style.hide(axis="index")
    if names:
        styler = styler.format(lambda name: str(name).replace("_", "_\u200b"), subset=names)
    if "verdict" in shown.columns:
        styler = styler.map(lambda v: f"background-color: {verdict_tint(v)}" if v in VERDICT_COLORS else "",
                            subset=["verdict"])
    return (styler.set_table_styles([{"selector": "th", "props": head}])
            .set_properties(**cell)
            .set_table_attributes('style="table-layout: fixed; width: 100%; border-collapse: collapse"')
            .set_table_styles({c: [{"selector": "th", "props": f"width: {100 * w / total:.1f}%"}]
                               for c, w in widths.items()}, overwrite=False))


def pairplot(ds, columns=None, hue=None, diag: str = "kde", title: str | None = None):
    """Pairwise scatter plots of a dataset's raw features (source 000, Figs 1-2), per-class colours when ``hue``
    names the target, densities (``diag="kde"``) or histograms (``"hist"``) on the diagonal. Training and
    validation rows together; ``columns`` defaults to the first five features.

    Parameters
    ----------
    ds : landscape.nets.data.Dataset
        The dataset.
    columns : list of str, optional
        Features to plot.
    hue : str, optional
        Column that colours the points.
    diag : {"kde", "hist"}
        Diagonal panels.
    title : str, optional
        Figure title.

    Returns
    -------
    seaborn.PairGrid
    """
    import seaborn as sns

    frame = pd.concat([ds.frame("train", raw=True), ds.frame("val", raw=True)], ignore_index=True)
    cols = columns or [c for c in frame.columns if c != ds.target_name][:5]
    g = sns.pairplot(frame, vars=cols, hue=hue, diag_kind=diag, height=1.9,
                     palette=COLORS[: ds.n_classes] if hue else None,
                     plot_kws=dict(s=12, alpha=0.7, linewidth=0), corner=False)
    if title:
        g.figure.suptitle(title, y=1.02)
    return g


def training_curves(trajectories, datasets):
    """Minibatch loss per step (faint) and per-epoch training and validation loss of each recorded trajectory,
    one panel per trajectory, log scale, x in epochs.

    Parameters
    ----------
    trajectories : sequence of landscape.nets.recording.Trajectory
        The recorded runs.
    datasets : sequence of landscape.nets.data.Dataset
        Their datasets (names, loss).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = plt.subplots(1, len(trajectories), figsize=fig_size("wide"), squeeze=False)
    for ax, ds, t in zip(axes[0], datasets, trajectories, strict=True):
        spe = t.M // t.config.epochs
        ax.plot(np.arange(1, t.M + 1) / spe, t.batch_loss, lw=0.6, alpha=0.35, color=COLORS[5],
                label="minibatch (per step)")
        ax.plot(np.arange(1, t.config.epochs + 1), t.epoch_train_loss, label="training set")
        ax.plot(np.arange(1, t.config.epochs + 1), t.epoch_val_loss, label="validation set")
        ax.set(xlabel="epoch", ylabel=f"loss ({t.config.loss or ds.loss})", title=ds.name, yscale="log")
    axes[0][0].legend()
    return fig
