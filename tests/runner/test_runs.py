"""Trustworthy runs, end to end through the command line (issue 7): bad values stop at the door (exit 2, one
line, nothing written), results are never stale (data files are fingerprinted by content) nor mixed (a failed run
publishes nothing and leaves its notebook in one named place), labels stay inside the book, and every executed
page carries its rerun box and provenance. A tiny chapter keeps the kernel runs to seconds.
"""

import json
from pathlib import Path

import pandas as pd
import pytest

from landscape import runner
from landscape.__main__ import main

TINY = '''---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A tiny chapter

Some text.

```{code-cell} ipython3
:tags: [parameters]

profile = "paper"  # run label, set by the runner
dataset = "iris"  # dataset | a built-in name or a CSV
n = 3  # int in [1, 10] | rows to keep
fail = False  # bool | raise after the first table
```

```{code-cell} ipython3
import pandas as pd
from landscape.infra.results import save_table

table = pd.read_csv(dataset) if dataset.endswith(".csv") else pd.DataFrame({"x": range(10)})
save_table(table.head(n), chapter, profile, "first")  # `chapter` is injected by the runner
if fail:
    raise RuntimeError("asked to fail")
save_table(table.head(1), chapter, profile, "second")
```
'''


@pytest.fixture
def tiny(tmp_root):
    (tmp_root / "notebooks" / "50_tiny.md").write_text(TINY)
    return tmp_root


def _nothing_written(root):
    return not (root / "book").exists() and not (root / "data" / "results").exists()


@pytest.mark.parametrize("args, says", [
    (["-p", "batch_size=0"], "parameter 'batch_size' (-p): 0 is not allowed; allowed: int >= 1"),
    (["-p", "batch_size=1.5"], "1.5 is not allowed; allowed: int >= 1"),  # above N: when the data is loaded
    (["-p", "lr=-1"], "parameter 'lr' (-p): -1 is not allowed; allowed: float in (0, 10]"),
    (["-p", "epochs=0"], "parameter 'epochs' (-p): 0 is not allowed"),
    (["-p", "seed=-1"], "parameter 'seed' (-p): -1 is not allowed; allowed: int >= 0"),
    (["-p", "device=tpu"], """'tpu' is not allowed; allowed: one of "cpu", "cuda\""""),
    (["-p", "task=foo"], """'foo' is not allowed; allowed: one of "classification", "regression" | None"""),
    (["-p", "dataset=missing.csv"], "'missing.csv' is not allowed (no such file: "),
    (["-p", "epoch=3"], "unknown parameter 'epoch'; parameters are: seed, data_seed"),
    (["--label", "my run"], "label must be a plain name"),
    (["--label", "../../x"], "label must be a plain name"),
    (["--profile", "nope"], "unknown profile 'nope'; profiles are: paper, quick"),
])
def test_bad_values_exit_2_with_one_line_and_write_nothing(tmp_root, capsys, args, says):
    assert main(["run", "01_trajectories", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err, err
    assert _nothing_written(tmp_root)


def test_bad_profile_values_are_checked_too(tmp_root, capsys):
    (tmp_root / "notebooks" / "profiles" / "bad.yaml").write_text("01_trajectories:\n  epochs: 0\n")
    assert main(["run", "01_trajectories", "--profile", "bad"]) == 2
    assert "parameter 'epochs' (profile 'bad'): 0 is not allowed" in capsys.readouterr().err
    assert main(["book", "--profile", "bad"]) == 2
    assert _nothing_written(tmp_root)


def test_book_validates_the_profile_before_fetching_anything(tmp_root, capsys, monkeypatch):
    monkeypatch.setattr(runner.book, "ensure_mathjax", lambda *a, **k: pytest.fail("fetched MathJax first"))
    assert main(["book", "--profile", "nope"]) == 2
    assert "unknown profile 'nope'" in capsys.readouterr().err


def test_an_edited_csv_is_not_up_to_date(tiny, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative paths resolve against the caller's directory
    (tmp_path / "mine.csv").write_text("a,b\n1,2\n3,4\n")
    assert main(["run", "50_tiny", "-p", "dataset=mine.csv", "--label", "csv"]) == 0
    table = tiny / "data" / "results" / "csv" / "50_tiny" / "first.csv"
    assert pd.read_csv(table).a.tolist() == [1, 3]
    assert main(["run", "50_tiny", "-p", "dataset=mine.csv", "--label", "csv"]) == 0  # up to date
    (tmp_path / "mine.csv").write_text("a,b\n5,6\n7,8\n")
    assert main(["run", "50_tiny", "-p", "dataset=mine.csv", "--label", "csv"]) == 0
    assert pd.read_csv(table).a.tolist() == [5, 7]


def test_a_failed_run_publishes_nothing_and_names_its_notebook(tiny, capsys):
    assert main(["run", "50_tiny", "-p", "n=2", "--label", "L"]) == 0
    results = tiny / "data" / "results" / "L" / "50_tiny"
    before = {p.name: p.read_bytes() for p in results.iterdir()}
    stamp = tiny / "book" / "_executed" / "L" / "50_tiny.stamp.json"
    stamp_before = stamp.read_bytes()
    capsys.readouterr()
    assert main(["run", "50_tiny", "-p", "n=5", "-p", "fail=true", "--label", "L"]) == 1
    err = capsys.readouterr().err
    failed = tiny / "book" / "_executed" / "_failed" / "L" / "50_tiny.ipynb"
    last = err.rstrip("\n").split("\n")[-1]  # above it only the progress bar (\r-updated)
    assert last.split("Executing")[-1].split("cell/s]")[-1].startswith("error: 50_tiny (L) failed in cell [")
    assert "RuntimeError: asked to fail" in last and "book/_executed/_failed/L/50_tiny.ipynb" in last
    assert failed.exists()
    assert {p.name: p.read_bytes() for p in results.iterdir()} == before  # the partial first.csv (5 rows) is gone
    assert stamp.read_bytes() == stamp_before
    lines = []
    runner.execute("50_tiny", "paper", {"n": 2}, label="L", progress=False, log=lines.append)
    assert lines == ["50_tiny (L): up to date"]  # the published results still match their stamp
    assert not (tiny / "book" / "_executed" / "_staging").exists()


def test_the_page_has_a_rerun_box_and_provenance(tiny):
    out = runner.execute("50_tiny", "quick", {"n": 4}, progress=False, log=lambda *a: None)
    assert out.parent.name.startswith("quick+")
    import nbformat

    nb = nbformat.read(str(out), as_version=4)
    assert nb.cells[0].source == "# A tiny chapter"
    box = nb.cells[1].source
    assert box.startswith("````{admonition} Rerun this chapter\n:class: dropdown")
    assert ".venv/bin/python -m landscape run 50_tiny --profile quick -p n=4" in box
    assert "| `n` | `3` |  | `int in [1, 10]` | rows to keep |" in box
    assert nb.cells[2].source == "Some text."
    footer = nb.cells[-1].source
    assert footer.startswith("## Provenance") and "`" + out.parent.name + "` (profile `quick`)" in footer
    assert "n=`4`" in footer and "torch " in footer and "git commit" in footer
    assert runner.check_notebook(out) == []
    stamp = json.loads(out.with_suffix(".stamp.json").read_text())
    assert stamp["parameters"]["n"] == 4


def test_no_figures_builds_but_does_not_draw_and_is_never_taken_for_a_run_with_figures(tiny):
    """``--no-figures``: every figure is laid out but not drawn (a label that cannot be drawn still fails the run),
    the tables are the same, and the stamp keeps such a run apart from one with figures (the book re-executes it).
    """
    import nbformat

    md = tiny / "notebooks" / "50_tiny.md"
    md.write_text(TINY + '\n```{code-cell} ipython3\nimport matplotlib.pyplot as plt\n\nfig, ax = plt.subplots()\n'
                  'ax.plot([1, 2], [3, 4])\nax.set_xlabel(r"$\\eta s$")\nplt.show()\n```\n')

    def images(out):
        nb = nbformat.read(str(out), as_version=4)
        return sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)

    lines = []
    out = runner.execute("50_tiny", "quick", progress=False, log=lines.append, figures=False)
    tables = {p.name: p.read_bytes() for p in (tiny / "data" / "results" / "quick" / "50_tiny").glob("*.csv")}
    assert images(out) == 0 and json.loads(out.with_suffix(".stamp.json").read_text())["figures"] is False
    assert runner.check_notebook(out) == []
    runner.execute("50_tiny", "quick", progress=False, log=lines.append, figures=False)
    assert sum("up to date" in line for line in lines) == 1  # the same request is current
    out = runner.execute("50_tiny", "quick", progress=False, log=lines.append)
    assert sum("up to date" in line for line in lines) == 1 and images(out) == 1  # re-executed, with the figure
    assert {p.name: p.read_bytes() for p in (tiny / "data" / "results" / "quick" / "50_tiny").glob("*.csv")} == tables
    assert main(["run", "50_tiny", "--profile", "quick", "--no-figures", "-q"]) == 0
    assert images(out) == 0
    md.write_text(md.read_text().replace(r'r"$\eta s$"', r'r"$\frac{$"'))  # mathtext that cannot be parsed
    with pytest.raises(runner.RunError, match="ValueError"):
        runner.execute("50_tiny", "quick", progress=False, log=lines.append, figures=False)


def test_the_notebook_is_written_at_the_start_and_end_not_at_every_cell(tiny, monkeypatch):
    """Papermill writes the whole notebook at the start and end of every cell; the runner's engine writes it when
    the run starts, then at most every SAVE_EVERY seconds, and at the end (a third of a smoke run went to it).
    """
    import importlib

    import papermill.engines
    import papermill.execute

    ex = importlib.import_module("landscape.runner.execute")  # the module (the package exports the function)

    writes = []
    for module in (papermill.engines, papermill.execute):
        real = module.write_ipynb
        monkeypatch.setattr(module, "write_ipynb", lambda nb, path, _real=real, **kw: (writes.append(path),
                                                                                       _real(nb, path, **kw)))
    runner.execute("50_tiny", "quick", progress=False, log=lambda *a: None)
    throttled = len(writes)
    writes.clear()
    monkeypatch.setattr(ex, "SAVE_EVERY", 0.0)  # every cell start and end: papermill's own behaviour
    runner.execute("50_tiny", "quick", force=True, progress=False, log=lambda *a: None)
    assert throttled <= 3 and len(writes) >= 8, (throttled, len(writes))  # the tiny chapter has 5 cells


def test_the_kernel_skips_pythons_teardown_but_not_the_exit_handlers_a_run_registers(tiny, tmp_path):
    """The kernel ends with os._exit once the exit handlers registered after its start have run
    (runner.kernel_exit): an exit handler of the chapter and the finaliser of a temporary directory left open run;
    the kernel's own earlier handlers and Python's teardown do not (without kernel_exit IPython's handler clears the
    user namespace and the object's finaliser runs).
    """
    import os
    import time

    handler, finaliser = tmp_path / "handler", tmp_path / "finaliser"
    md = tiny / "notebooks" / "50_tiny.md"
    md.write_text(TINY + f"""
```{{code-cell}} ipython3
import atexit, os, pathlib, tempfile


class Finalised:
    def __del__(self):
        pathlib.Path({str(finaliser)!r}).write_text("torn down")


kept = Finalised()  # in the user namespace, which IPython's own exit handler clears
atexit.register(pathlib.Path({str(handler)!r}).write_text, "exit handler ran")
scratch = tempfile.TemporaryDirectory()  # left open: its weakref finaliser removes it at exit
save_table(pd.DataFrame({{"pid": [os.getpid()], "scratch": [scratch.name]}}), chapter, profile, "kernel")
```
""")
    runner.execute("50_tiny", "quick", progress=False, log=lambda *a: None, figures=False)
    kernel = pd.read_csv(tiny / "data" / "results" / "quick" / "50_tiny" / "kernel.csv").iloc[0]
    pid = int(kernel.pid)

    def alive():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    deadline = time.monotonic() + 20
    while alive() and time.monotonic() < deadline:  # the kernel has been asked to shut down: wait for its end
        time.sleep(0.05)
    assert not alive()
    assert handler.read_text() == "exit handler ran"
    assert not finaliser.exists()
    assert not Path(kernel.scratch).exists()  # pending weakref finalisers still ran


def test_clean(tiny, capsys):
    (tiny / "data" / "cache").mkdir(parents=True)
    runner.execute("50_tiny", "quick", progress=False, log=lambda *a: None)
    assert main(["clean", "--cache", "--executed"]) == 0
    assert not (tiny / "data" / "cache").exists() and not (tiny / "book" / "_executed").exists()
    assert (tiny / "data" / "results").exists()
    assert main(["clean", "--results"]) == 0 and not (tiny / "data" / "results").exists()


@pytest.mark.slow
def test_readme_wine_example_trains_a_classifier(tmp_root, tmp_path, monkeypatch, capsys):
    """The README's own-CSV example, through the command line, from the caller's directory (epochs cut to 2)."""
    import re

    from sklearn.datasets import load_wine

    monkeypatch.chdir(tmp_path)
    load_wine(as_frame=True).frame.to_csv("wine.csv", index=False)
    from landscape.infra import paths

    text = (paths.root() / "lib").resolve().parent.joinpath("README.md").read_text()  # the real README
    command = re.search(r"-m landscape run (01_trajectories -p dataset=wine\.csv [^\n]*)\n", text.replace("\\\n", ""),
                        re.S).group(1).split()
    assert command[-1] == "compare_dataset="
    # the command, not its pictures (chapter 01 draws them in the smoke book)
    assert main(["run", *command, "-p", "epochs=2", "--label", "wine", "--no-figures"]) == 0
    networks = pd.read_csv(tmp_root / "data" / "results" / "wine" / "01_trajectories" / "networks.csv")
    assert networks.m.tolist() == [13 * 24 + 24 + 24 * 14 + 14 + 14 * 3 + 3]  # 731: one output per class
    assert networks.layers.tolist() == ["13 x 24 x 14 x 3"]
    nb = (tmp_root / "book" / "_executed" / "wine" / "01_trajectories.ipynb").read_text()
    assert "This run has no second dataset" in nb
    assert runner.check_notebook(tmp_root / "book" / "_executed" / "wine" / "01_trajectories.ipynb") == []
