"""Tests of chapter 02's readings (the sensitivity study of issue 8), dimension tables and null models
(landscape.studies.diffusion_maps), against the direct eq (2.5) implementation and hand-computed spectra.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from landscape import diffusion
from landscape.diffusion import manifold
from landscape.nets.recording import RecordConfig, record_sgd
from landscape.studies.diffusion_maps import dimension_tables, null_models, readings, readings_study


@pytest.fixture
def tiny(tmp_root):
    cfg = RecordConfig(hidden=(3,), epochs=2, batch_size=20, seed=1)
    return record_sgd(cfg, progress=False)


@pytest.fixture(autouse=True)
def _sources(monkeypatch):
    """Every test sees the real data/sources even under a scratch root."""
    from landscape.infra import sources

    real = Path(sources.__file__).resolve().parents[3] / "data" / "sources"
    monkeypatch.setattr(sources, "sources_dir", lambda: real)


def test_one_pass_matches_direct_eq_2_5_at_every_cutoff(tiny):
    d2 = manifold.cutoff_distances(tiny, [1e-15, 6e-4, 1e-2], kinds=("sample", "fisher"))
    exact = manifold._pass(tiny, ("sample", "fisher"), (1e-15, 6e-4, 1e-2), False)  # float64, before storage
    for kind in ("sample", "fisher"):
        for rc in (1e-15, 6e-4, 1e-2):
            f = manifold.trajectory_factors(tiny, kind=kind)  # the direct form: factors, then mahalanobis_sq
            ref = diffusion.mahalanobis_sq(tiny.params, [f(i) for i in range(tiny.M)], rcond=rc)
            np.testing.assert_allclose(exact[kind, rc], ref, rtol=1e-10, atol=1e-12 * ref.max())
            # stored as float32: the nearest float32 of each float64 distance (2^-24 relative)
            np.testing.assert_allclose(d2[kind, rc], ref, rtol=2.0**-24 + 1e-10, atol=1e-12 * ref.max())
    # a larger cutoff keeps fewer directions of C⁺: every distance shrinks or stays
    assert np.all(d2["sample", 1e-2] <= d2["sample", 6e-4] * (1 + 1e-12))
    again = manifold.cutoff_distances(tiny, [6e-4], kinds=("fisher",))  # from the cache
    np.testing.assert_array_equal(again["fisher", 6e-4], d2["fisher", 6e-4])
    with pytest.raises(ValueError, match="kinds"):
        manifold.cutoff_distances(tiny, [1e-15], kinds=("sgd",))
    with pytest.raises(ValueError, match="rconds"):
        manifold.cutoff_distances(tiny, [1.5])


def test_covariance_scales():
    base = np.array([[0.0, 2.0], [2.0, 0.0]])
    N, n = 120, 20
    np.testing.assert_allclose(readings.scaled(base, "eq 2.6", N, n), base * n * (N - 1) / (N - n), rtol=1e-15)
    np.testing.assert_array_equal(readings.scaled(base, "1/N", N, n), base)
    np.testing.assert_allclose(readings.scaled(base, "1/(N-1)", N, n), base * (N - 1) / N, rtol=1e-15)
    assert not readings.scaled(base, "eq 2.6", N, N).any()  # full batch: C = 0, C⁺ = 0


def test_summaries_by_hand():
    lam = np.array([1.0, 0.6, 0.3, 0.1])
    s = readings.summaries(lam, beta=0.95)
    # λ0 left out: Λ = sqrt([.36, .45, .46] / .46) = [.885, .989, 1] -> d = 2
    assert s[False, "trapezoid"] == (2, pytest.approx(0.45 / 0.65, abs=1e-12))
    assert s[False, "sum"] == (2, pytest.approx(0.9, abs=1e-12))
    # λ0 in: Λ = sqrt([1, 1.36, 1.45, 1.46] / 1.46) = [.828, .965, ...] -> index 1, d = 1 counted from 0
    assert s[True, "trapezoid"] == (1, pytest.approx(0.8 / 1.45, abs=1e-12))
    assert s[True, "sum"] == (1, pytest.approx(1.6 / 2.0, abs=1e-12))
    flat = readings.summaries(np.array([1.0, 0.0, 0.0]))  # constant kernel: d = 0, AUC = 0 in every reading
    assert set(flat.values()) == {(0, 0.0)}


def test_reading_labels_and_validation():
    assert readings.LITERAL.label() == "literal"
    r = readings.Reading(rcond=6e-4, covariance="1/N", trivial=True)
    assert r.changes() == ["pinv cutoff 6e-04", "covariance 1/N", "λ0 in eq (3.3), d counted from 0"]
    for bad in (dict(rcond=1.0), dict(covariance="eq 2.9"), dict(kernel=0.0), dict(knn=0), dict(auc="simpson")):
        with pytest.raises(ValueError, match=next(iter(bad))):
            readings.Reading(**bad)
    assert len(readings.spectral_grid()) == 6 * 4 * 3 * 2


def test_judge_and_rank_use_the_source_tolerances():
    rows = []
    for rc, d, auc in ((1e-15, 38, 0.80), (6e-4, 15, 0.905), (1e-2, 17, 0.95)):
        base = dict(rcond=rc, covariance="eq 2.6", kernel=1.0, knn=0, trivial=False, auc="trapezoid")
        rows += [{**base, "key": "table2_iris_d", "measured": d}, {**base, "key": "table2_iris_auc", "measured": auc}]
    long = pd.DataFrame(rows)
    j = readings.judge(long)
    # d within 25 % and AUC within 0.02 (data/sources/000.csv): only 6e-4 matches both
    assert j.set_index("rcond")["Table 2"].to_dict() == {1e-15: False, 6e-4: True, 1e-2: False}
    ranked = readings.rank_readings(j, long)
    assert ranked.rcond.iloc[0] == 6e-4 and ranked.tables_matched.iloc[0] == 1
    # errors: d relative, AUC in units of 0.02 (|0.9147 - 0.80| / 0.02 + 21/17 for the literal row)
    assert ranked.set_index("rcond").error[1e-15] == pytest.approx(21 / 17 + 0.1147 / 0.02, abs=1e-9)
    # with its AUC unmeasured (dropped early) 1e-2 matches on d = 17 alone, error 0, yet ranks after 6e-4,
    # which matched on more numbers
    short = long[~((long.rcond == 1e-2) & (long.key == "table2_iris_auc"))]
    assert readings.rank_readings(readings.judge(short), short).rcond.tolist() == [6e-4, 1e-2, 1e-15]


def test_study_drops_failed_readings_and_dimension_table_matches_manifold(tiny):
    eps = manifold.median_sq(manifold.sq_distances(tiny, cache=False))
    t = readings_study.Target(tiny.config, eps, ("table2_iris_d", "table2_iris_auc"))
    grid = readings.spectral_grid([1e-15, 1e-2], ("eq 2.6",), (1.0,), (None,))
    long, judged = readings_study.study([[t], [t]], grid)
    assert len(judged) == 2 * 4 and set(long.key) == {"table2_iris_d", "table2_iris_auc"}
    # d = 17 is not a tiny run's dimension: nothing survives stage 1, so without carry_on stage 2 is skipped
    assert len(long) == 2 * 2 * 4 * 2  # carry_on: both stages, 2 readings x 4 variants x 2 keys
    stopped, _ = readings_study.study([[t], [t]], grid, carry_on=False)
    assert len(stopped) == 2 * 4 * 2
    table = dimension_tables.dimension_table({"tiny": tiny.config}, {"literal": readings.LITERAL}, {"median": eps})
    stored = manifold.sq_distances(tiny, cache=False).astype(manifold.STORAGE)  # the readings cache's precision
    ref = manifold.summarise(stored, eps)
    # both round to float32, from float64 values 1e-15 apart: a few entries land one float32 step apart (6e-8
    # relative), which moves the AUC by ~2e-10
    assert (table.d.iloc[0], table.auc.iloc[0]) == (ref.d, pytest.approx(ref.auc, abs=1e-9))


def test_null_curve_dimension_scales_as_one_over_sqrt_eps():
    X = null_models.smooth_curve(300, 20, seed=0)
    scan = null_models.dimension_scan(X, np.geomspace(1e-3, 3e-2, 4))
    # heat kernel on a loop: λ_k ≈ exp(-c ε k²), so d ∝ ε^(-1/2); measured slope -0.506 at M = 2400
    assert null_models.power_law(scan) == pytest.approx(-0.5, abs=0.06)
    assert scan.auc.between(0.87, 0.91).all()
    assert null_models.random_walk(5, 3, seed=1).shape == (5, 3)
    with pytest.raises(ValueError, match="M"):
        null_models.smooth_curve(2, 10)


def test_circle_spectrum_is_the_dft_of_its_kernel():
    # equally spaced points on a circle: K is circulant, D constant, so P = K / rowsum has the DFT eigenvalues
    M = 64
    X = null_models.smooth_curve(M, 2, n_freq=1)
    sq = diffusion.euclidean_sq(X)
    eps = 0.05
    lam = diffusion.diffusion_spectrum(sq, eps)
    row = np.exp(-sq[0] / eps)
    ref = np.sort(np.real(np.fft.fft(row)) / row.sum())[::-1]
    np.testing.assert_allclose(lam, ref, atol=1e-12)


def test_wide_table_and_trajectory_gap(tiny):
    other = RecordConfig(hidden=(3,), epochs=2, batch_size=30, seed=1)
    configs = {20: tiny.config, 30: other}
    best = readings.Reading(rcond=1e-2, covariance="1/N")
    eps = {"a": 1.0, "skip": lambda label, reading, sq: None if reading == "best" else 2.0}
    long = dimension_tables.dimension_table(configs, {"literal": readings.LITERAL, "best": best}, eps)
    assert len(long) == 2 * (2 + 1)  # two trajectories × (two readings at "a" + literal at "skip")
    w = dimension_tables.wide(long)
    assert list(w.label) == [20, 30] and "d, best, a" in w and "d, best, skip" not in w
    row = long[(long.label == 20) & (long.reading == "literal") & (long.eps_name == "a")]
    assert w.loc[0, "d, literal, a"] == row.d.iloc[0]
    gap = dimension_tables.trajectory_gap(configs, 20)
    assert gap.set_index("label").max_abs_diff[20] == 0.0
    assert gap.M.tolist() == [tiny.M, record_sgd(other, progress=False).M]


def test_study_heat_map_cells():
    import matplotlib

    matplotlib.use("Agg")
    from landscape.studies.diffusion_maps import study_plots

    ranked = pd.DataFrame({"rcond": [1e-15, 6e-4, 6e-4], "covariance": ["eq 2.6", "1/N", "1/N"], "kernel": 1.0,
                           "knn": [0, 0, 0], "Table 2": [False, True, True], "Table 3": [np.nan, True, False]})
    fig = study_plots.plot_study(ranked, ["Table 2", "Table 3"])
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == ["0", "2"]  # the best λ0/AUC variant per measured cell; unmeasured cells stay blank


def test_device_is_checked_before_any_work(tmp_root):
    traj = record_sgd(RecordConfig(hidden=(3,), epochs=1), progress=False)
    with pytest.raises(ValueError, match="device"):
        manifold.cutoff_distances(traj, [1e-15], device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device: 'cuda' requested but CUDA is not available"):
            manifold.cutoff_distances(traj, [1e-15], device="cuda")
    assert not (tmp_root / "data" / "cache" / "readings").exists()  # nothing computed, nothing cached
    cpu = manifold.cutoff_distances(traj, [1e-15], device="cpu")
    np.testing.assert_array_equal(cpu["sample", 1e-15], manifold.cutoff_distances(traj, [1e-15])["sample", 1e-15])
    # the CPU's cache names do not depend on the device argument; another device's results are kept apart
    name = manifold._cache_path(traj, "sample", 1e-15, None)
    assert manifold._cache_path(traj, "sample", 1e-15, None, "cpu") == name
    assert manifold._cache_path(traj, "sample", 1e-15, None, "cuda") != name
