"""One figure style for the whole book: readable at a glance, colour-blind safe, the same in every chapter."""

from __future__ import annotations

import matplotlib as mpl

# Okabe-Ito palette: distinguishable with the common colour-vision deficiencies.
COLORS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
SIZES = {"wide": (9.0, 3.6), "square": (4.8, 4.4), "grid": (9.0, 7.5), "single": (6.0, 3.8)}
CMAP = "viridis"
DIVERGING = "RdBu_r"


def use_style() -> None:
    """Set the book's matplotlib defaults (call once at the top of a chapter)."""
    mpl.rcParams.update({
        "figure.dpi": 110,
        "savefig.dpi": 150,
        "figure.figsize": SIZES["single"],
        "figure.constrained_layout.use": True,
        "axes.prop_cycle": mpl.cycler(color=COLORS),
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 11,
        "axes.labelsize": 10,
        "legend.fontsize": 9,
        "legend.frameon": False,
        "xtick.labelsize": 9,
        "ytick.labelsize": 9,
        "image.cmap": CMAP,
        "lines.linewidth": 1.6,
    })


def fig_size(kind: str = "wide") -> tuple[float, float]:
    if kind not in SIZES:
        raise ValueError(f"kind must be one of {list(SIZES)}, got {kind!r}")
    return SIZES[kind]
