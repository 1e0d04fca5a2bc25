"""Chapter 02's units of work (trajectories of dimension_table, distance passes and eigenproblems of the readings
study) give bit-identical results on one worker and on two; readings whose computation is identical share one
eigenproblem; a sweep's grid points run in workers keep LANDSCAPE_JOBS=1 for their chapters.
"""

import dataclasses
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from landscape import sweep
from landscape.diffusion import manifold
from landscape.infra import executor
from landscape.nets.recording import RecordConfig, record_sgd
from landscape.studies.diffusion_maps import dimension_tables, readings, readings_study

CFG = RecordConfig(hidden=(3,), epochs=2, batch_size=20, seed=1)


@pytest.fixture(autouse=True)
def _sources(monkeypatch):
    from landscape.infra import sources

    real = Path(sources.__file__).resolve().parents[3] / "data" / "sources"
    monkeypatch.setattr(sources, "sources_dir", lambda: real)


def test_dimension_table_is_the_same_on_one_and_two_workers(tmp_root):
    configs = {s: dataclasses.replace(CFG, seed=s) for s in (1, 2, 3)}
    both = {"literal": readings.LITERAL, "other": readings.Reading(rcond=6e-4, covariance="1/N", knn=8)}
    eps = {"fixed": 0.5, "median": lambda label, reading, sq: manifold.median_sq(sq)}
    kept = {1: {}, 2: {}}
    tables = [dimension_tables.dimension_table(configs, both, eps, jobs=jobs, keep=lambda *a, into=kept[jobs]:
                                               into.update({(a[0], a[1]): a[2]})) for jobs in (1, 2)]
    one, two = (t.drop(columns="seconds") for t in tables)
    assert len(one) == 3 * 2 * 2
    pd.testing.assert_frame_equal(one, two, check_exact=True)
    for label in configs:
        for name in both:
            np.testing.assert_array_equal(kept[1][label, name], kept[2][label, name])


def test_study_is_the_same_on_one_and_two_workers(tmp_root):
    traj = record_sgd(CFG, progress=False)
    eps = manifold.median_sq(manifold.sq_distances(traj, cache=False))
    T = readings_study.Target
    stages = [[T(CFG, eps, ("table2_iris_d", "table2_iris_auc"))],
              [T(dataclasses.replace(CFG, seed=s), eps * s, (f"table3_n{n}_d", f"table3_n{n}_auc"))
               for s, n in ((2, 10), (3, 20))]]
    grid = readings.spectral_grid([1e-15, 6e-4], ("eq 2.6", "1/N", "eq 2.7/2.8"), (1.0, 2.0), (None, 8))
    runs = [readings_study.study(stages, grid, jobs=jobs) for jobs in (1, 2)]
    pd.testing.assert_frame_equal(runs[0][0], runs[1][0], check_exact=True)
    pd.testing.assert_frame_equal(runs[0][1], runs[1][1], check_exact=True)
    # and equal to measuring each target on its own, one spectrum per reading (the study's arithmetic)
    d2 = manifold.cutoff_distances(traj, [1e-15, 6e-4], kinds=("sample", "fisher"))
    direct = readings.measure(d2, eps, traj.dataset().N, 20, grid, ("table2_iris_d", "table2_iris_auc"))
    pd.testing.assert_frame_equal(runs[0][0].iloc[:len(direct)], direct, check_exact=True)


def test_identical_computations_share_one_eigenproblem(tmp_root, monkeypatch):
    full = dataclasses.replace(CFG, batch_size=120, epochs=30)  # n = N: eq (2.6)'s factor is 0, its distances vanish
    traj = record_sgd(full, progress=False)
    d2 = manifold.cutoff_distances(traj, [1e-15, 6e-4], kinds=("sample", "fisher"))
    d2["sample", 0.5] = d2["sample", 6e-4]  # a cutoff keeping the same directions everywhere: an equal matrix
    grid = [readings.Reading(rcond=rc, covariance=c, kernel=k, knn=kn) for rc in (1e-15, 6e-4, 0.5)
            for c in ("eq 2.6", "1/N", "eq 2.7/2.8") for k in (1.0, 2.0) for kn in (None, 8)
            if not (rc == 0.5 and c == "eq 2.7/2.8")]
    calls = []
    spectrum = readings.dm.diffusion_spectrum
    monkeypatch.setattr(readings.dm, "diffusion_spectrum", lambda *a, **k: calls.append(1) or spectrum(*a, **k))
    got = readings.measure(d2, 0.3, traj.dataset().N, 120, grid, ("a_d", "a_auc"))
    # eq 2.6 and 2.7/2.8 at n = N: 2 problems (dense, 8-NN); 1/N: 2 distinct matrices x 2 kernels x 2 = 8
    assert len(calls) == 2 + 8 < len(grid)
    for r in grid:  # each reading's numbers are those of its own eigenproblem, computed directly
        sq = readings.scaled(d2[readings.COVARIANCES[r.covariance][0], r.rcond], r.covariance, traj.dataset().N, 120)
        d, a, _ = dimension_tables.summary(sq, 0.3, r)
        mine = got[(got.rcond == r.rcond) & (got.covariance == r.covariance) & (got.kernel == r.kernel)
                   & (got.knn == (r.knn or 0)) & ~got.trivial & (got.auc == "trapezoid")]
        assert mine.set_index("key").measured.to_dict() == {"a_d": d, "a_auc": a}


def _jobs_seen(*args, **kwargs):
    raise RuntimeError(os.environ.get(executor.JOBS_ENV, "unset"))


def test_sweep_points_in_workers_keep_one_job_each(monkeypatch):
    monkeypatch.setattr(sweep.runner, "execute", lambda *a, **k: _jobs_seen(*a, **k))
    monkeypatch.setenv(executor.JOBS_ENV, "2")
    root = str(Path.cwd())
    inner = sweep._run_point(root, "x", "paper", {}, "1")
    assert inner.error == "RuntimeError: 1"
    assert os.environ[executor.JOBS_ENV] == "2"  # restored in this process
    assert sweep._run_point(root, "x", "paper", {}, None).error == "RuntimeError: 2"


def test_distances_of_several_trajectories_equal_one_at_a_time(tmp_root):
    configs = {s: dataclasses.replace(CFG, seed=s) for s in (4, 5)}
    reading_set = {"literal": readings.LITERAL, "cut": readings.Reading(rcond=1e-2, covariance="eq 2.7/2.8")}
    got = dimension_tables.distances_of(configs, reading_set, jobs=2)
    for label, config in configs.items():
        ref = dimension_tables.reading_distances(record_sgd(config, progress=False), reading_set)
        for name in reading_set:
            np.testing.assert_array_equal(got[label][name], ref[name])


def test_also_caches_a_later_study_s_cutoffs_in_the_same_pass(tmp_root, monkeypatch):
    config = dataclasses.replace(CFG, seed=6)
    also = ([1e-13, 6e-5, 1e-2], ("sample", "fisher"))
    first = dimension_tables.distances_of({"a": config}, {"literal": readings.LITERAL}, jobs=1, also=also)
    traj = record_sgd(config, progress=False)

    def no_pass(*args, **kwargs):
        raise AssertionError("a second distance pass ran")

    monkeypatch.setattr(manifold, "_pass", no_pass)
    later = manifold.cutoff_distances(traj, [1e-15, *also[0]], kinds=also[1])
    assert len(later) == 8
    N, n = traj.dataset().N, config.batch_size
    np.testing.assert_array_equal(readings.scaled(later["sample", 1e-15], "eq 2.6", N, n), first["a"]["literal"])
