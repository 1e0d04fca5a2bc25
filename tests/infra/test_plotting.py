"""The report's verdict pictures: counts per chapter and verdict, bar segments equal to those counts, table tints."""

import matplotlib

matplotlib.use("Agg")

import re  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from landscape.infra import plotting  # noqa: E402
from landscape.infra.results import VERDICTS  # noqa: E402

CLAIMS = pd.DataFrame({
    "chapter": ["02_x", "02_x", "02_x", "03_y", "03_y", "05_z"],
    "claim": list("abcdef"), "source": "", "measured": "",
    "verdict": ["reproduced", "partly", "reproduced", "substituted", "reproduced under reading", "not reproduced"],
    "note": ["a long note " * 20] + [""] * 5,
})


def test_every_verdict_has_a_colour_in_order():
    assert tuple(plotting.VERDICT_COLORS) == VERDICTS


def test_verdict_counts_per_chapter_in_order_of_appearance():
    counts = plotting.verdict_counts(CLAIMS)
    assert list(counts.index) == ["02_x", "03_y", "05_z"]
    assert list(counts.columns) == list(VERDICTS)
    assert counts.loc["02_x"].tolist() == [2, 0, 1, 0, 0, 0, 0]
    assert counts.to_numpy().sum() == len(CLAIMS)


def test_verdict_counts_rejects_unknown_verdicts():
    with pytest.raises(ValueError, match="unknown verdict"):
        plotting.verdict_counts(CLAIMS.assign(verdict="maybe"))


def test_verdict_bars_segments_are_the_counts_with_the_verdict_colours():
    fig = plotting.verdict_bars(CLAIMS)
    ax = fig.axes[0]
    counts = plotting.verdict_counts(CLAIMS)
    by_height = sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])
    assert [t.get_text() for t in by_height] == list(counts.index)  # first chapter on top
    for container, verdict in zip(ax.containers, VERDICTS, strict=True):
        bars = sorted(container, key=lambda b: -b.get_y())  # top to bottom
        assert [b.get_width() for b in bars] == counts[verdict].tolist()
        assert matplotlib.colors.to_hex(container[0].get_facecolor()) == plotting.VERDICT_COLORS[verdict].lower()
    plt.close(fig)


def test_claims_table_fits_the_page_and_tints_verdicts():
    html = plotting.claims_table(CLAIMS).to_html()
    assert "table-layout: fixed" in html and "width: 100%" in html
    assert "overflow-wrap: break-word" in html
    assert "02_\u200bx" in html  # chapter names may break after underscores
    assert plotting.verdict_tint("not reproduced") in html
    widths = [float(w) for w in re.findall(r"width: ([0-9.]+)%", html) if w != "100"]
    assert len(widths) == 6 and abs(sum(widths) - 100) < 0.5  # chapter, claim, source, measured, verdict, note


def test_claims_table_shows_the_full_text_and_the_interval():
    claims = CLAIMS.assign(key="k", kind="value", ci_low="", ci_high="", n_runs="1", reading="", premise="")
    claims.loc[0, ["measured", "ci_low", "ci_high", "n_runs"]] = ["16.2", "15.1", "17.3", "5"]
    html = plotting.claims_table(claims).to_html()
    assert ("a long note " * 20).strip() in html  # never cut at 50 characters
    assert "16.2 [15.1, 17.3], 5 runs" in html
    assert ">premise<" not in html and ">reading<" not in html  # empty columns left out


def test_sensitivity_table_has_variants_and_no_tint():
    variants = CLAIMS.drop(columns="verdict").assign(variant="lr 0.05")
    html = plotting.claims_table(variants).to_html()
    assert "lr 0.05" in html and "background-color" not in html


def test_no_claims_yet_gives_an_empty_figure_and_table():
    empty = CLAIMS.iloc[:0]
    assert plotting.verdict_counts(empty).shape == (0, len(VERDICTS))
    plt.close(plotting.verdict_bars(empty))
    assert "<table" in plotting.claims_table(empty).to_html()


def test_pairplot_and_training_curves(tmp_path):
    import matplotlib.pyplot as plt

    from landscape.nets import data, recording

    ds = data.load("iris")
    g = plotting.pairplot(ds, hue=ds.target_name, title="iris")
    assert g.axes.shape == (4, 4) and g.figure._suptitle.get_text() == "iris"
    t = recording.record_sgd(hidden=(3,), epochs=2, cache_dir=tmp_path, progress=False)
    fig = plotting.training_curves([t], [ds])
    (ax,) = fig.axes
    assert ax.get_yscale() == "log" and len(ax.lines) == 3 and ax.get_xlim()[1] >= 2
    plt.close("all")


def _style_file_params():
    from importlib import resources

    import matplotlib as mpl

    with resources.as_file(plotting.STYLE) as path:
        return mpl.rc_params_from_file(path, use_default_template=False)


def test_use_style_sets_every_rcparam_the_style_file_names():
    import matplotlib as mpl

    named = _style_file_params()
    assert len(named) == 17
    with mpl.rc_context():
        mpl.rcdefaults()
        mpl.rcParams["image.cmap"] = "gray"  # the one setting the style shares with matplotlib's defaults
        changed = [k for k in named if mpl.rcParams[k] != named[k]]
        plotting.use_style()
        assert {k: mpl.rcParams[k] for k in named} == dict(named)
    assert changed == list(named)  # every setting differs before the call, so each one is checked


def test_style_file_is_the_look_of_the_former_rcparams_and_of_the_constants():
    import matplotlib as mpl

    before = {  # the dict use_style() passed to rcParams.update before the style file
        "figure.dpi": 110, "savefig.dpi": 150, "figure.figsize": plotting.SIZES["single"],
        "figure.constrained_layout.use": True, "axes.prop_cycle": mpl.cycler(color=plotting.COLORS),
        "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
        "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9, "legend.frameon": False,
        "xtick.labelsize": 9, "ytick.labelsize": 9, "image.cmap": plotting.CMAP, "lines.linewidth": 1.6,
    }
    with mpl.rc_context():
        mpl.rcdefaults()
        mpl.rcParams.update(before)
        expected = {k: mpl.rcParams[k] for k in before}  # validated forms: lists, '#0072b2', ...
    assert dict(_style_file_params()) == expected
