"""Sweeps and the executor: the grid is the cartesian product, bad points fail before anything runs, a failed
point is reported by name without losing the others, a rerun resumes, and serial, local-process and Dask runs
give identical tables.
"""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from landscape import runner, sweep
from landscape.infra import executor, paths

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
if a != 7:  # a = 7: the run succeeds but publishes no table
    save_table(pd.DataFrame({"i": range(3), "x": x}), "01_tiny", profile, "draws")
    # columns named like the parameters (as chapter 01's epochs and dataset, chapter 02's seed and lr)
    save_table(pd.DataFrame({"a": [a], "seed": [seed], "total": [float(x.sum())]}), "01_tiny", profile, "summary")
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
    assert list(draws.columns[:2]) == ["sweep_a", "sweep_b"] and len(draws) == 6 and set(draws.sweep_a) == {1, 2}
    # a swept name that is also a table column keeps both: gathering crashed here before
    summary = pd.read_csv(out / "summary.csv")
    assert summary.columns.tolist() == ["sweep_a", "sweep_b", "a", "seed", "total"]
    assert summary.sweep_a.tolist() == summary.a.tolist() == [1, 2] and summary.sweep_b.tolist() == [0.5, 0.5]
    runs = pd.read_csv(out / "sweep_runs.csv")
    assert runs.ok.tolist() == [True, False, True] and runs.columns[:2].tolist() == ["sweep_a", "sweep_b"]
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
            # one worker process: each point still travels, pickled, to another process as on a real cluster (the
            # parallel case is loky's above); a second worker only cost its start-up
            with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
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


@pytest.mark.slow
def test_a_point_without_tables_is_a_failure_not_ok_with_zero_tables(tiny):
    out, results = sweep.run_sweep("01_tiny", {"a": [7, 1], "seed": [0, 1]}, jobs=1, name="s", progress=False,
                                   log=lambda *a: None)
    assert [r.ok for r in results] == [False, False, True, True]
    assert results[0].error == f"the run left no tables in data/results/{results[0].label}/01_tiny/"
    summary = pd.read_csv(out / "summary.csv")  # swept seed and the table's own seed column side by side
    assert summary.sweep_seed.tolist() == summary.seed.tolist() == [0, 1] and set(summary.sweep_a) == {1}
    assert pd.read_csv(out / "sweep_runs.csv").ok.tolist() == [False, False, True, True]


def test_gather_names_columns_apart_from_every_chapters_tables(tiny, tmp_path):
    """Every parameter of every chapter of the book swept at once, over tables whose columns are those very names
    (the worst case: chapter 01's tables have epochs and dataset, 02's seed, lr, rcond, eps_factor, 05's seed):
    each table keeps its own columns, led by one sweep_ column per parameter.
    """
    real = paths.root()  # the tiny root; the book's chapters are read from the repository itself
    repo = Path(__file__).resolve().parents[2]
    with paths.environment(LANDSCAPE_ROOT=str(repo)):
        names = {c: [p for p in runner.read_parameters(c) if p not in runner.RESERVED]
                 for c in runner.chapters()}
    assert {"epochs", "dataset"} <= set(names["01_trajectories"])
    assert {"seed", "lr", "rcond", "eps_factor"} <= set(names["02_diffusion_maps"])
    for chapter, params in names.items():
        grid = {p: [0] for p in params}
        label = f"x-{chapter}"
        folder = real / "data" / "results" / label / chapter
        folder.mkdir(parents=True)
        own = {p: [1, 2] for p in params} | {"value": [0.5, 0.25]}
        pd.DataFrame(own).to_csv(folder / "t.csv", index=False)
        written = sweep.gather(chapter, [sweep.PointResult(grid, label, True, 0.0)], grid, tmp_path / chapter)
        table = pd.read_csv(written[0])
        assert table.columns.tolist() == [sweep.sweep_column(p) for p in params] + [*params, "value"]
        assert table[params].to_dict("list") == {p: [1, 2] for p in params}


def test_no_chapter_or_library_code_names_a_column_like_a_sweep_column():
    """A table column can only clash with sweep_<parameter> if some chapter or library source spells it."""
    import re

    repo = Path(__file__).resolve().parents[2]
    sources = [p.read_text() for p in sorted((repo / "notebooks").glob("*.md"))]
    sources += [p.read_text() for p in sorted((repo / "lib" / "landscape").rglob("*.py")) if p.name != "sweep.py"]
    with paths.environment(LANDSCAPE_ROOT=str(repo)):
        params = {p for c in runner.chapters() for p in runner.read_parameters(c)}
    assert len(params) > 50
    columns = {sweep.sweep_column(p): p for p in params}
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(columns))) + r")\b")  # one pass per source
    spelled = sorted({columns[m] for s in sources for m in pattern.findall(s)})
    assert spelled == []
    assert pattern.search(f"x = {sweep.sweep_column(sorted(params)[0])}\n")  # the pattern does find a spelling


def test_a_table_column_spelled_like_a_sweep_column_is_named_not_overwritten(tiny, tmp_path):
    folder = tiny / "data" / "results" / "x" / "01_tiny"
    folder.mkdir(parents=True)
    pd.DataFrame({"sweep_a": [5]}).to_csv(folder / "t.csv", index=False)
    with pytest.raises(ValueError, match=r"t\.csv: the table has its own column 'sweep_a', which the sweep needs"):
        sweep.gather("01_tiny", [sweep.PointResult({"a": 1}, "x", True, 0.0)], {"a": [1]}, tmp_path / "out")
