"""Learning-rate / split table of chapter 02 (landscape.studies.diffusion_maps.training_choices) against direct
computations.
"""

import dataclasses

import numpy as np
import pytest

from landscape import diffusion
from landscape.diffusion import bgh
from landscape.nets.recording import RecordConfig, record_sgd
from landscape.studies.diffusion_maps import readings, training_choices
from landscape.studies.diffusion_maps.dimension_tables import reading_distances, summary

CFG = RecordConfig(hidden=(4,), epochs=2, batch_size=20, seed=1)
GRID = np.geomspace(1e-4, 1e8, 40)


def test_table_rows_equal_direct_measurements(tmp_root):
    best = readings.Reading(rcond=1e-2, kernel=2.0, auc="sum", trivial=True)
    both = {"literal": readings.LITERAL, "best": best}
    configs = training_choices.lr_configs(CFG, [0.01, 0.1]) | {"keras": dataclasses.replace(CFG, split="keras")}
    t = training_choices.bandwidth_table(configs, both, {0.01: 3.0, 0.1: 3.0, "keras": 0.5}, GRID, k=8)
    assert len(t) == 6 and set(t.reading) == {"literal", "best"}
    for label, cfg in configs.items():
        traj = record_sgd(cfg, progress=False)
        sq = reading_distances(traj, both)
        for name, r in both.items():
            row = t[(t.label == label) & (t.reading == name)].iloc[0]
            eps = 0.5 if label == "keras" else 3.0
            d, auc, _ = summary(sq[name], eps, r)
            scan = diffusion.kernel_sum(sq[name], GRID * r.kernel)
            choice = bgh.bgh_bandwidth(sq[name], k=8)
            assert (row.d, row.auc, row.eps) == (d, pytest.approx(auc, rel=1e-12), eps)
            assert row.a_max == pytest.approx(scan.a_max, rel=1e-12) and row.wider == (scan.a_max > 0.5)
            assert row.eps_max == pytest.approx(scan.eps_max / r.kernel, rel=1e-12)
            assert (row.bgh_eps, row.bgh_dimension) == (choice.eps, choice.dimension)
            assert row.lr == cfg.lr and row.split == cfg.split and row.M == traj.M


def test_kernel_scale_moves_eps_max_not_the_slope(tmp_root):
    traj = record_sgd(CFG, progress=False)
    k1, k4 = readings.LITERAL, readings.Reading(kernel=4.0)
    sq = reading_distances(traj, {"a": k1})["a"]
    grid = np.geomspace(1e-4, 1e8, 121)  # factor 4 = 6 grid steps: the same curve, shifted
    a = training_choices.bandwidth_row(sq, k1, 1.0, grid)
    b = training_choices.bandwidth_row(sq, k4, 1.0, grid / 4)
    assert b["a_max"] == pytest.approx(a["a_max"], rel=1e-12) and b["eps_max"] == pytest.approx(a["eps_max"] / 4)


def test_bad_input():
    with pytest.raises(ValueError, match="lrs"):
        training_choices.lr_configs(CFG, [0.0])
    with pytest.raises(ValueError, match="eps_grid"):
        training_choices.bandwidth_table({1: CFG}, {"literal": readings.LITERAL}, 3.0, [1.0])
    with pytest.raises(ValueError, match="reading_set"):
        training_choices.bandwidth_table({1: CFG}, {}, 3.0, GRID)


def test_auto_grid_spans_the_distances_and_zero_distances_give_nan():
    D2 = np.array([[0.0, 2.0, 50.0], [2.0, 0.0, 8.0], [50.0, 8.0, 0.0]])
    g = training_choices.auto_grid(D2)
    assert g[0] == pytest.approx(0.2) and g[-1] == pytest.approx(500.0) and np.all(np.diff(np.log10(g)) <= 1 / 8)
    row = training_choices.bandwidth_row(np.zeros((4, 4)), readings.LITERAL, 3.0)
    assert np.isnan(row["a_max"]) and not row["wider"] and row["d"] == 0


def test_two_workers_give_the_same_table(tmp_root):
    configs = training_choices.lr_configs(CFG, [0.01, 0.05])
    one = training_choices.bandwidth_table(configs, {"literal": readings.LITERAL}, 3.0, GRID, k=8, jobs=1)
    two = training_choices.bandwidth_table(configs, {"literal": readings.LITERAL}, 3.0, GRID, k=8, jobs=2)
    assert one.equals(two)
