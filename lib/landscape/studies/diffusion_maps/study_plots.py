"""Figures of chapter 02's sensitivity study and null models (issue 8): which readings reproduce which tables,
``d``, AUC against ε for point clouds that are curves by construction, and the learning-rate scan.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from landscape.infra import plotting

__all__ = ["plot_study", "plot_null_models", "plot_lr_scan"]


def plot_study(ranked: pd.DataFrame, tables) -> plt.Figure:
    """Heat map: rows pseudo-inverse cutoffs, columns covariance × kernel scale × kernel type; each cell the
    largest number of ``tables`` matched by any λ0 / AUC reading there (blank: not measured).

    Parameters
    ----------
    ranked : pandas.DataFrame
        Judged readings (:func:`landscape.studies.diffusion_maps.readings.rank_readings`): columns ``rcond, covariance,
        kernel, knn`` and a
        bool column per table.
    tables : sequence of str
        The table columns counted (e.g. ``["Table 2", "Table 3"]``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    df = ranked.assign(kernel_type=np.where(ranked.knn == 0, "dense", ranked.knn.astype(str) + "-NN"))
    df["column"] = df.covariance + ", k=" + df.kernel.map("{:g}".format) + ", " + df.kernel_type
    df["score"] = df[list(tables)].fillna(False).astype(bool).sum(axis=1)
    heat = df.pivot_table(index="rcond", columns="column", values="score", aggfunc="max")
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * heat.shape[1] + 2), 0.5 * heat.shape[0] + 2.2))
    im = ax.imshow(heat.to_numpy(float), cmap=plotting.CMAP, vmin=0, vmax=len(tables), aspect="auto")
    ax.set_xticks(range(heat.shape[1]), heat.columns, rotation=90, fontsize=7)
    ax.set_yticks(range(heat.shape[0]), [f"{r:.0e}" for r in heat.index])
    for (i, j), v in np.ndenumerate(heat.to_numpy(float)):
        if np.isfinite(v):
            ax.text(j, i, f"{int(v)}", ha="center", va="center", fontsize=7, color="w" if v < len(tables) else "k")
    ax.set(ylabel="pinv cutoff (relative)", title=f"tables matched of {', '.join(tables)}")
    ax.grid(False)
    fig.colorbar(im, ax=ax, shrink=0.8, label="tables matched")
    return fig


def plot_null_models(scans: dict, sgd: pd.DataFrame | None = None, sgd_label: str = "SGD (iris)") -> plt.Figure:
    """(a) ``d`` against ``ε / median(d²)`` on log axes with a ``ε^(-1/2)`` guide; (b) AUC ratio against ``d``.
    ``scans``: name -> :func:`landscape.studies.diffusion_maps.null_models.dimension_scan` frame; ``sgd`` (optional):
    the same columns
    for an SGD trajectory.

    Parameters
    ----------
    scans : dict of str to pandas.DataFrame
        Name -> :func:`landscape.studies.diffusion_maps.null_models.dimension_scan` frame (non-empty; the first sets
        the guide line).
    sgd : pandas.DataFrame, optional
        The same columns for an SGD trajectory, drawn last.
    sgd_label : str, default "SGD (iris)"
        Its legend entry (the trajectory's dataset).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = plt.subplots(1, 2, figsize=plotting.fig_size("wide"))
    items = list(scans.items()) + ([(sgd_label, sgd)] if sgd is not None else [])
    for k, (name, s) in enumerate(items):
        c = plotting.COLORS[k % len(plotting.COLORS)]
        axes[0].loglog(s.eps_factor, s.d, "o-", ms=3, color=c, label=name)
        axes[1].semilogx(s.d, s.auc, "o-", ms=3, color=c, label=name)
    f = np.asarray(items[0][1].eps_factor, float)
    ref = items[0][1].d.to_numpy(float)
    mid = len(f) // 2
    axes[0].loglog(f, ref[mid] * np.sqrt(f[mid] / f), "k:", lw=1, label="∝ ε^(-1/2)")
    axes[1].axhspan(0.89, 0.90, color="grey", alpha=0.2)
    axes[0].set(xlabel="ε / median d²", ylabel="d", title="(a) d against the kernel scale")
    axes[1].set(xlabel="d", ylabel="AUC ratio", title="(b) AUC ratio against d (band 0.89-0.90)")
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7)
    return fig


def plot_lr_scan(table: pd.DataFrame, source: dict) -> plt.Figure:
    """Three panels against the learning rate, one line per reading: (a) the largest slope of ``L(ε)`` with the
    curve level 1/2 and the source's value, (b) ``d`` and (c) the AUC ratio at the source's ε with the source's
    values. ``table``: :func:`landscape.studies.diffusion_maps.training_choices.bandwidth_table` rows (column ``lr``);
    ``source``: keys
    ``a_max``, ``d``, ``auc`` (the source's numbers, drawn as dashed lines).

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`landscape.studies.diffusion_maps.training_choices.bandwidth_table` rows with columns ``lr, reading,
        a_max, d, auc``.
    source : dict
        The source's ``a_max``, ``d`` and ``auc``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    t = table.dropna(subset=["reading"]) if "reading" in table else table.iloc[:0]
    for k, (name, grp) in enumerate(t.groupby("reading", sort=False)):
        g = grp.sort_values("lr")
        c = plotting.COLORS[k % len(plotting.COLORS)]
        for ax, col in zip(axes, ("a_max", "d", "auc"), strict=True):
            ax.plot(g.lr, g[col], "o-", ms=4, color=c, label=name)
    axes[0].axhline(0.5, color="grey", lw=1, ls=":", label="a curve (1/2)")
    for ax, col, label in zip(axes, ("a_max", "d", "auc"), ("largest slope of L(ε)", "d at the source's ε",
                                                           "AUC ratio at the source's ε"), strict=True):
        ax.axhline(source[col], color="k", lw=1, ls="--", label="source")
        ax.set(xscale="log", xlabel="learning rate", ylabel=label)
        ax.legend(fontsize=7)
    axes[1].set_yscale("log")
    axes[0].set_title("(a) when is the path wider than a curve?")
    axes[1].set_title("(b) dimension")
    axes[2].set_title("(c) AUC ratio")
    return fig
