"""The learning-rate scan figure draws what the table holds."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from landscape.studies.diffusion_maps import study_plots  # noqa: E402


def test_lr_scan_plots_each_reading_against_lr():
    lrs = [0.001, 0.01, 0.1]
    t = pd.DataFrame([{"lr": lr, "reading": r, "a_max": 0.4 + i / 10, "d": 10 * (i + 1) + (r == "best"),
                       "auc": 0.9} for i, lr in enumerate(lrs) for r in ("literal", "best")])
    fig = study_plots.plot_lr_scan(t, {"a_max": 1.07, "d": 17, "auc": 0.9147})
    a, b, _ = fig.axes
    lines = {ln.get_label(): ln for ln in a.get_lines()}
    np.testing.assert_allclose(lines["literal"].get_xdata(), lrs)
    np.testing.assert_allclose(lines["literal"].get_ydata(), [0.4, 0.5, 0.6])
    assert lines["source"].get_ydata()[0] == 1.07 and lines["a curve (1/2)"].get_ydata()[0] == 0.5
    best = {ln.get_label(): ln for ln in b.get_lines()}["best"]
    np.testing.assert_allclose(best.get_ydata(), [11, 21, 31])
    assert b.get_yscale() == "log" and a.get_xscale() == "log"
    plt.close(fig)
