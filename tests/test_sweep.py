"""Sweeps and the executor: the grid is the cartesian product, bad points fail before anything runs, a failed
point is reported by name without losing the others, a rerun resumes, and serial, local-process and Dask runs
give identical tables."""

import shutil

import pandas as pd
import pytest

from landscape.infra import executor, paths
from landscape import runner, sweep

TINY = '''---
jupytext:
  text_representation: {extension: .md, format_name: myst, format_version: 0.13}
kernelspec: {display_name: Python 3, language: python, name: python3}
---

# Tiny

```{code-cell} ipython3
:tags: [parameters]

profile = "paper"
a = 1
b = 0.5
seed = 0
```

```{code-cell} ipython3
import numpy as np
import pandas as pd
from landscape.infra.results import save_table

if a == 13:
    raise RuntimeError("unlucky a")
x = np.random.default_rng([seed, a]).normal(size=3) * b
save_table(pd.DataFrame({"i": range(3), "x": x}), "01_tiny", profile, "draws")
save_table(pd.DataFrame({"total": [float(x.sum())]}), "01_tiny", profile, "summary")
```
'''


def _root(path):
    (path / "notebooks" / "profiles").mkdir(parents=True)
    (path / "notebooks" / "01_tiny.md").write_text(TINY)
    (path / "lib").symlink_to(paths.root() / "lib")
    return path


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    root = _root(tmp_path / "a")
    monkeypatch.setenv("LANDSCAPE_ROOT", str(root))
    return root


def _square(x):
    return x * x


def test_expand_and_parse_grid():
    assert sweep.expand_grid({"a": [1, 2], "b": ["x"]}) == [{"a": 1, "b": "x"}, {"a": 2, "b": "x"}]
    assert sweep.parse_grid(["a=[1, 2]", "b=[[8, 8], [4]]"]) == {"a": [1, 2], "b": [[8, 8], [4]]}
    for bad in ("a", "a=1", "a=[]", "a=[1,"):
        with pytest.raises(runner.ChapterError, match="grid"):
            sweep.parse_grid([bad])


def test_map_units_keeps_order_on_every_backend():
    items = list(range(7))
    assert executor.map_units(_square, items, jobs=1, progress=False) == [i * i for i in items]
    assert executor.map_units(_square, items, jobs=2, progress=False) == [i * i for i in items]
    with pytest.raises(ValueError, match="jobs"):
        executor.resolve_jobs(0)
    with pytest.raises(ValueError, match="jobs"):
        executor.resolve_jobs("many")
    assert executor.resolve_jobs("all") >= 1


def test_bad_point_fails_before_anything_runs(tiny):
    with pytest.raises(runner.ChapterError, match="'a' expects int"):
        sweep.run_sweep("01_tiny", {"a": [1, "x"]}, progress=False, log=lambda *a: None)
    with pytest.raises(runner.ChapterError, match="both swept"):
        sweep.run_sweep("01_tiny", {"a": [1]}, overrides={"a": 2}, progress=False, log=lambda *a: None)
    assert not (tiny / "data" / "results").exists() or not any((tiny / "data" / "results").rglob("*.csv"))


@pytest.mark.slow
def test_sweep_gathers_tables_reports_failures_and_resumes(tiny):
    out, results = sweep.run_sweep("01_tiny", {"a": [1, 13, 2], "b": [0.5]}, jobs=1, name="s",
                                   progress=False, log=lambda *a: None)
    assert [r.ok for r in results] == [True, False, True]
    assert "unlucky a" in results[1].error
    draws = pd.read_csv(out / "draws.csv")
    assert list(draws.columns[:2]) == ["a", "b"] and len(draws) == 6 and set(draws.a) == {1, 2}
    runs = pd.read_csv(out / "sweep_runs.csv")
    assert runs.ok.tolist() == [True, False, True]
    # the points are ordinary runs: `run` with the same values reuses them, and a rerun executes nothing new
    assert results[0].label == runner.run_label("paper", {"a": 1, "b": 0.5})
    stamps = {p: p.stat().st_mtime_ns for p in (tiny / "book" / "_executed").rglob("*.stamp.json")}
    sweep.run_sweep("01_tiny", {"a": [1, 2], "b": [0.5]}, jobs=1, name="s2", progress=False,
                    log=lambda *a: None)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


@pytest.mark.slow
def test_local_processes_and_dask_cluster_match_serial(tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    grid = {"a": [1, 2], "b": [2.0]}
    tables = {}
    for backend in ("serial", "loky", "dask"):
        root = _root(tmp_path / backend)
        monkeypatch.setenv("LANDSCAPE_ROOT", str(root))
        if backend == "dask":
            with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                          dashboard_address=None) as cluster:
                out, res = sweep.run_sweep("01_tiny", grid, scheduler=cluster.scheduler_address, name="s",
                                           progress=False, log=lambda *a: None)
        else:
            out, res = sweep.run_sweep("01_tiny", grid, jobs=1 if backend == "serial" else 2, name="s",
                                       progress=False, log=lambda *a: None)
        assert all(r.ok for r in res), [r.error for r in res]
        tables[backend] = {p.name: p.read_bytes() for p in sorted(out.glob("*.csv")) if p.name != "sweep_runs.csv"}
        shutil.rmtree(root / "book", ignore_errors=True)
    assert tables["serial"] and tables["loky"] == tables["serial"] and tables["dask"] == tables["serial"]


def test_cli_bad_sweep_input_exits_2_with_one_line(tiny, capsys):
    from landscape.__main__ import main

    for argv, what in [(["--grid", "a=[1]", "--jobs", "0"], "jobs"), (["--grid", "a=[1]", "--scheduler", "x"],
                                                                     "scheduler"), (["--grid", "a=1"], "JSON list")]:
        assert main(["sweep", "01_tiny", *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and what in err[0]
    assert not (tiny / "book").exists()
