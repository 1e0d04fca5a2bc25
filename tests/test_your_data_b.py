"""Chapters 05-07 on a user's CSV (issue 24 item 1).

Each chapter runs under the smoke profile (quick, shrunk) on a small CSV written from scikit-learn's bundled data, its
tables show that the CSV was used (input width, class count, m), and its claims ledger holds no verdict (the
comparison with the source's numbers is left out on other data).
"""


import pandas as pd
import pytest
from conftest import book_sources

from landscape import runner
from landscape.infra import paths
from landscape.infra.results import CLAIM_COLUMNS


@pytest.fixture(scope="module")
def csv_root(tmp_path_factory):
    """A scratch root holding the book sources (as tests/test_notebooks.py::quick_root); results land there."""
    root = book_sources(tmp_path_factory.mktemp("yourdata"))
    mp = pytest.MonkeyPatch()
    mp.setenv("LANDSCAPE_ROOT", str(root))
    yield root
    mp.undo()


def _wine_csv(folder):
    """scikit-learn's wine: 178 rows, 13 numeric features, 3 classes (text labels, so no `task` is needed)."""
    from sklearn.datasets import load_wine

    bunch = load_wine(as_frame=True)
    frame = bunch.frame.rename(columns={"od280/od315_of_diluted_wines": "od280_od315"})
    frame["target"] = [f"cultivar_{int(c)}" for c in frame["target"]]
    path = folder / "wine.csv"
    frame.to_csv(path, index=False)
    return path


def _diabetes_csv(folder):
    """scikit-learn's diabetes: 442 rows, 10 numeric features, a numeric disease-progression target."""
    from sklearn.datasets import load_diabetes

    path = folder / "diabetes.csv"
    load_diabetes(as_frame=True).frame.to_csv(path, index=False)
    return path


def _run(chapter, overrides):
    out = runner.execute(chapter, "smoke", overrides, progress=False, log=lambda *a: None, figures=False)
    assert runner.check_notebook(out) == []
    results = paths.root() / "data" / "results" / out.parent.name / chapter
    claims = pd.read_csv(results / "claims.csv")
    assert tuple(claims.columns) == CLAIM_COLUMNS
    assert claims.empty, f"{chapter} judged claims on a user CSV: {list(claims.claim)}"
    return results, out.read_text()


@pytest.mark.slow
def test_05_linearisation_on_a_regression_csv(csv_root, tmp_path):
    """The width study fits the CSV's first lin_m training rows: p = (d + 1) p_h with d = 10 diabetes features."""
    csv = _diabetes_csv(tmp_path)
    results, page = _run("05_linearisation", {
        "dataset": str(csv), "target": "target", "task": "regression", "lin_widths": [20, 40, 80], "lin_seeds": 1,
        "gd_steps": 20, "rmt_sizes": [60], "rmt_eps_points": 6, "cp_starts": 2, "cp_iters": 10, "ls_widths": [2],
        "ls_train_steps": 100, "ls_depth": 1, "cooper_m": [4], "cooper_r": [1], "hs_n": 4, "hs_eps": [0.0, 0.2]})
    lin = pd.read_csv(results / "linearised_fit.csv")
    assert set(lin.m) == {40}  # lin_m rows of the CSV (442 rows, 353 for training)
    assert (lin.p == lin.width * (10 + 1)).all()  # 10 inputs, one output
    assert (lin["rank"] == 40).all()
    assert "diabetes" in page and "left out" in page


def test_05_dataset_targets_one_hot_and_standardised(tmp_path):
    """dataset_targets: the first m training rows; classes one-hot, a regression target standardised on N rows."""
    import numpy as np

    from landscape.nets import data
    from landscape.studies.linearisation.linearise_studies import dataset_targets

    wine = data.load(_wine_csv(tmp_path), target="target", seed=0)
    X, y = dataset_targets(wine, 30)
    assert X.shape == (30, 13) and y.shape == (30, 3)
    np.testing.assert_array_equal(X, wine.X_train[:30])
    np.testing.assert_array_equal(y.argmax(axis=1), wine.y_train[:30])
    assert set(np.unique(y)) == {0.0, 1.0} and (y.sum(axis=1) == 1).all()
    diabetes = data.load(_diabetes_csv(tmp_path), target="target", task="regression", seed=0)
    X, y = dataset_targets(diabetes, 10_000)  # more than N: all N training rows
    full = diabetes.y_train[:, 0]
    assert X.shape == (diabetes.N, 10) and y.shape == (diabetes.N,)
    np.testing.assert_allclose(y, (full - full.mean()) / full.std(), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="m"):
        dataset_targets(wine, 0)


def test_05_width_sweep_with_one_hot_targets_has_one_output_per_class():
    """A (m, r) target gives the net r outputs: p = (d + r) p_h, rank(J0) = m r, and the min-norm step fits it."""
    import numpy as np

    from landscape.studies.linearisation.linearise_studies import width_sweep

    rng = np.random.default_rng(3)
    X = rng.standard_normal((12, 4))
    y = np.eye(3)[rng.integers(0, 3, 12)]
    lin = width_sweep(X, y, [20, 40], seeds=1, seed=0)
    assert lin.p.tolist() == [20 * (4 + 3), 40 * (4 + 3)]
    assert (lin["rank"] == 12 * 3).all() and (lin.nullity == lin.p - 36).all()
    assert (lin.fit_residual < 1e-8).all() and (lin.row_space_share > 1 - 1e-10).all()
    one = width_sweep(X, y[:, 0], [20], seeds=1, seed=0)  # a 1-d target keeps the single-output net
    assert one.p.tolist() == [20 * (4 + 1)] and int(one["rank"].iloc[0]) == 12


@pytest.mark.slow
def test_07_symmetries_spectra_on_a_csv(csv_root, tmp_path):
    """Every trained net of chapter 07 takes the CSV's 13 inputs and 3 classes (the group-order table names it)."""
    csv = _wine_csv(tmp_path)
    results, page = _run("07_symmetries_spectra", {
        "dataset": str(csv), "target": "target", "task": "classification", "sym_elements": 2, "digits_solutions": 2,
        "digits_epochs": 1, "n_students": 2, "student_epochs": 20, "n_fdc": 20, "xor_restarts": 4, "xor_steps": 100,
        "descend_steps": 20, "mlp_hidden": 8, "exact_hidden": 6, "snapshots": [0, 1], "slq_probes": 2,
        "slq_steps": 10, "track_probes": 1, "track_steps": 10, "top_k": 3})
    orders = pd.read_csv(results / "group_orders.csv")
    assert "wine 13-8-3" in set(orders.network)
    track = pd.read_csv(results / "spectra_through_training.csv")
    assert set(track.net) == {"no BN", "BN"} and len(track) == 4
    assert "wine" in page and "left out" in page


@pytest.mark.slow
def test_06_interpolation_planes_on_a_csv(csv_root, tmp_path):
    """Chapter 06 trains its MLPs, the CNN's MLP stand-in and the residual family on the CSV (13 inputs, 3 classes)."""
    from landscape.nets.residual import residual_mlp

    csv = _wine_csv(tmp_path)
    results, page = _run("06_interpolation_planes", {
        "dataset": str(csv), "target": "target", "task": "classification", "hidden": 8, "epochs": 3,
        "batch_size": 32, "cnn_channels": [6, 6], "cnn_epochs": 2, "line_points": 5, "tri_points": 3,
        "quad_points": 3, "reruns": 2, "scale_points": 5, "switch_epochs": [1], "bn_depth": 0, "depths": [0, 1],
        "widths": [4, 8], "family_width": 4, "width_depth": 0, "family_epochs": 1, "plane_points": 5,
        "ratio_points": 3, "pca_epochs": 2, "n_directions": 2, "swa_epochs": 2, "toy_steps": 100})
    one_d = pd.read_csv(results / "interpolation_1d_summary.csv")
    assert set(one_d.arch) == {"MLP", "stand-in MLP"}  # the digits CNN reads 8x8 images only
    family = pd.read_csv(results / "family.csv")
    expected = [sum(p.numel() for p in residual_mlp(13, 3, width=int(r.width), depth=int(r.depth), skip=bool(r.skip),
                                                    bn=True).parameters()) for r in family.itertuples()]
    assert family.n_params.tolist() == expected
    assert "wine" in page and "left out" in page
