"""Chapters 02-04 on a user's CSV (issue 24 item 1).

Each runs under the smoke profile (quick, shrunk) from ``-p dataset=... -p target=... -p task=...`` in a scratch root,
its tables show the CSV's shapes, and no network claim is judged.

Each test writes a small scikit-learn dataset as a CSV (wine, a binary slice of breast_cancer, a regression slice
of diabetes), so that together they cover a multi-class and a binary classifier and a regression. The ``-p``
overrides only shorten the runs (fewer batch sizes, seeds, toys); the data parameters are the ones a user gives.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from conftest import book_sources

from landscape import runner
from landscape.infra.results import CLAIM_COLUMNS
from landscape.infra.sources import source_value
from landscape.nets import models

LABEL = "yourdata"


@pytest.fixture
def book_root(tmp_path, monkeypatch):
    """A scratch root holding the book's sources; results, caches and executed notebooks land there."""
    root = book_sources(tmp_path / "book", pages=False)
    monkeypatch.setenv("LANDSCAPE_ROOT", str(root))
    return root


def run_chapter(root, chapter: str, overrides: dict):
    """Execute ``chapter`` under the smoke profile (quick, shrunk) with ``overrides``; return its results folder."""
    out = runner.execute(chapter, "smoke", overrides, label=LABEL, progress=False, log=lambda *a: None, figures=False)
    assert runner.check_notebook(out) == []
    return root / "data" / "results" / LABEL / chapter


def read_claims(results) -> pd.DataFrame:
    claims = pd.read_csv(results / "claims.csv")
    assert tuple(claims.columns) == CLAIM_COLUMNS
    return claims


def write_csv(frame: pd.DataFrame, path) -> str:
    frame.to_csv(path, index=False)
    return str(path)


@pytest.mark.slow
def test_chapter02_on_a_csv(book_root, tmp_path):
    """The diffusion-map pipeline on a wine trajectory (13 inputs, 3 classes): Table 2 holds its N and m and
    labels the run by the file's name; claims.csv has no rows (every claim compares with iris). About 3 min.
    """
    from sklearn.datasets import load_wine

    EPOCHS = 6  # noqa: N806 -- the -p overrides shorten every run: the test checks shapes, not numbers
    wine = load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
    csv = write_csv(wine, tmp_path / "wine.csv")
    results = run_chapter(book_root, "02_diffusion_maps", {
        "dataset": csv, "target": "cultivar", "task": "classification", "epochs_iris": EPOCHS, "epochs_mpg": 2,
        "batch_sizes": [20], "batch_steps": 40, "epochs_batch_sizes": [20], "depths": [2],
        "inits": ["glorot_uniform"], "n_seeds": 2, "window": 20, "stride": 20, "lrs": [0.01],
        "study_rconds": [1e-15], "study_kernels": [1.0], "study_covariances": ["eq 2.6"], "rcond_values": [],
        "n_subsamples": 2, "null_M": 30, "null_m": 20, "null_eps": [1e-2], "n_eps_L": 10, "n_eps_scan": 2})
    t2 = pd.read_csv(results / "table2.csv").set_index("model")
    n_train = 142  # 178 wines, 80/20 stratified split
    assert t2.loc["wine", "N"] == n_train
    assert t2.loc["wine", "m"] == models.n_params(models.mlp([13, 24, 14, 3]))
    assert t2.loc["wine", "M"] == EPOCHS * math.ceil(n_train / 20)
    assert t2.loc["auto-mpg", "m"] == 510  # the second network stays the source's
    assert set(pd.read_csv(results / "eps_scan.csv").dataset) == {"wine", "auto-mpg"}
    assert read_claims(results).empty


@pytest.mark.slow
def test_chapter03_on_a_csv(book_root, tmp_path):
    """Sec. IV on a binary CSV (10 features of breast_cancer, 200 rows): the five stand-ins take 10 inputs and
    2 outputs, an MLP replaces the digits CNN, and none of the classifier claims is judged. About 2 min.
    """
    from sklearn.datasets import load_breast_cancer

    from landscape.studies.hessian_directions import digits_nets

    bc = load_breast_cancer(as_frame=True).frame
    frame = bc.iloc[:200, :10].assign(diagnosis=bc.target.iloc[:200].map({0: "malignant", 1: "benign"}))
    csv = write_csv(frame, tmp_path / "cancer.csv")
    results = run_chapter(book_root, "03_hessian_directions", {
        "dataset": csv, "target": "diagnosis", "task": "classification", "mlp_hidden": [16],
        "table2_archs": ["resnet", "densenet"], "cnn_epochs": 5, "cnn_plane_points": 5, "slq_probes": 2,
        "slq_steps": 10,
        # the parts that do not read the CSV, as small as they run: the test checks the classifier side
        "orth_dims": [10, 100], "orth_pairs": 50, "toy_n": 1000, "n_projections": 200, "scan_dims": [1000, 2000],
        "trace_probes": 10, "toy_grid": 11, "fa_layers": [1, 2], "fa_width": 10, "fa_epochs": [200, 100],
        "gain_seeds": [2, 2],
        "plane_points": 7, "line_points": 21, "sweep_points": 5, "plane_factors": [1.0, 3.0], "sgd_epochs": 20,
        "trace_net_probes": 3, "trace_net_ranges": [1.0], "small_dims": [4]})
    points = pd.read_csv(results / "classifier_points.csv").set_index("network")
    for name in ("resnet", "densenet"):
        net = digits_nets.digits_net(name, width=8, n_in=10, n_out=2)  # table2_width of quick (and smoke)
        assert points.loc[name, "n_params"] == sum(p.numel() for p in net.parameters())
    table2 = pd.read_csv(results / "table2_digits.csv")
    assert {"train_accuracy", "test_accuracy"} <= set(table2.columns)
    claims = read_claims(results)
    classifier_claims = {source_value("002", key).claim for key in
                         ("classifier_saddle", "table2_comparable", "alignment", "densenet_drop")}
    assert not any(claim.startswith(c) for claim in claims.claim for c in classifier_claims)
    assert claims.empty  # on other data nothing is compared with the source (Claims.active is False)


@pytest.mark.slow
def test_chapter04_on_a_regression_csv(book_root, tmp_path):
    """The network experiments on a regression CSV (diabetes, 10 features, 200 rows): MSE everywhere, one
    CS(H, C) run, an MLP in place of the CNNs; the steps per epoch follow N, and only the toy claims are judged.
    About 1 min.
    """
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame.iloc[:200]
    frame["target"] = (frame.target - frame.target.mean()) / frame.target.std()  # raw (25-346): SGD diverges
    csv = write_csv(frame, tmp_path / "diabetes.csv")
    results = run_chapter(book_root, "04_noise_hessian", {
        "dataset": csv, "target": "target", "task": "regression", "mlp_hidden": [8], "cs_batch": 32,
        "shuffled": True, "valley_batch": 32,
        "neg_lrs": [0.003, 0.01]})  # lr 0.1 diverges from the sharp L-BFGS minimum of a 97-parameter regressor
    n_train = 160  # 200 rows, 80/20 split
    alignment = pd.read_csv(results / "alignment.csv")
    assert set(alignment.loss) == {"MSE"}
    assert (alignment.step == alignment.epoch * math.ceil(n_train / 32)).all()
    # shuffled_n = 400 is more than half of the 160 rows: B is a quarter of them, and SGD runs on the other 120
    for name, n in (("valley_path", n_train), ("shuffled_path", n_train - n_train // 4)):
        path = pd.read_csv(results / f"{name}.csv")
        whole = path[path.epoch == path.epoch.round()]
        assert len(whole) and (whole.iteration == whole.epoch * math.ceil(n / 32)).all(), name
    neg = pd.read_csv(results / "negative_eigenvalues.csv")
    m = models.n_params(models.mlp([10, 4, 1]))  # neg_hidden 4 of the quick profile (smoke inherits it)
    assert (neg.n_negative <= m).all()
    claims = read_claims(results)
    network = [source_value("004", k).claim for k in ("fig2a_slope", "fig5_cs_ce", "fig5_cs_mse", "fig6_top1",
                                                      "fig1_connected", "fig3_trace", "a22_diffuse")]
    assert not any(claim.startswith(c) for claim in claims.claim for c in network)
    assert claims.empty  # on other data nothing is compared with the source (Claims.active is False)


# The library side of the three chapters' data parameters: fast, exact checks.


def test_stand_ins_take_the_data_shapes():
    """digits_net with n_in = 5 and n_out = 2: stem 5 x 8 + 8, two residual blocks 2 x 2 x (8 x 8 + 8), head
    8 x 2 + 2 = 354 parameters; the digits' default (64 -> 10) keeps its 6,634.
    """
    import torch

    from landscape.studies.hessian_directions import digits_nets

    net = digits_nets.digits_net("resnet", width=8, n_in=5, n_out=2)
    assert sum(p.numel() for p in net.parameters()) == 5 * 8 + 8 + 2 * 2 * (8 * 8 + 8) + 8 * 2 + 2
    assert net(torch.zeros(3, 5)).shape == (3, 2)
    assert sum(p.numel() for p in digits_nets.digits_net("resnet").parameters()) == 6634
    with pytest.raises(ValueError, match="n_in"):
        digits_nets.digits_net("resnet", n_in=0)


def test_table2_comparison_reads_the_named_metric():
    from landscape.studies.hessian_directions import trained_point

    t = pd.DataFrame({"row": ["random plane", "Hessian plane"] * 2, "test_mae": [0.5, 0.505, 0.3, 0.2],
                      "train_test_distance": [1.0, 0.5, 0.2, 0.3]})
    assert trained_point.table2_comparison(t, metric="mae") == {"comparable": False, "aligned": 1, "networks": 2}
    assert trained_point.table2_comparison(t, accuracy_tol=0.1, metric="mae")["comparable"]


def test_a_knn_kernel_on_fewer_points_keeps_every_point():
    """A window of 10 points under a 64-NN reading (a best reading of the study on a short window): the same
    spectrum as a 10-NN kernel, where it used to raise.
    """
    import numpy as np

    from landscape.studies.diffusion_maps import dimension_tables, readings

    x = np.random.default_rng(0).normal(size=(10, 3))
    sq = ((x[:, None] - x[None]) ** 2).sum(-1)
    d64, a64, lam64 = dimension_tables.summary(sq, 1.0, readings.Reading(knn=64))
    d10, a10, lam10 = dimension_tables.summary(sq, 1.0, readings.Reading(knn=10))
    assert (d64, a64) == (d10, a10) and np.array_equal(lam64, lam10)


def test_alignment_study_builds_its_mlp_with_the_data_outputs():
    """A regression target of width 1: the MLP ends in one output (the digits' 10 would not fit the target)."""
    import torch

    from landscape.studies.noise_hessian import experiments

    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(16, 4, generator=gen), torch.randn(16, 1, generator=gen)
    df = experiments.alignment_study([("MSE", torch.nn.functional.mse_loss, y, 0.1)], X, hidden=3, batch_size=8,
                                     checkpoints=[0, 1], n_eval=8, n_probes=2, n_out=1)
    assert list(df.epoch) == [0, 1] and df.cs.between(-1, 1).all()
    with pytest.raises(ValueError, match="n_out"):
        experiments.alignment_study([("MSE", torch.nn.functional.mse_loss, y, 0.1)], X, hidden=3, batch_size=8,
                                    checkpoints=[0], n_eval=8, n_out=0)
