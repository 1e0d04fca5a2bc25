"""`landscape book --jobs N`: chapters execute side by side in worker processes, with the same notebooks' tables as
a serial build; a failing chapter does not stop the others and is named; a bad --jobs fails before anything runs.
"""

import pandas as pd
import pytest

from landscape import runner
from landscape.__main__ import main
from landscape.infra import paths

CHAPTER = '''---
jupytext:
  text_representation: {extension: .md, format_name: myst, format_version: 0.13}
kernelspec: {display_name: Python 3, language: python, name: python3}
---

# Chapter NAME

```{code-cell} ipython3
:tags: [parameters]

profile = "paper"
seed = SEED
```

```{code-cell} ipython3
import numpy as np
import pandas as pd
from landscape.infra.results import save_table

if seed == 13:
    raise RuntimeError("unlucky seed")
x = np.random.default_rng(seed).normal(size=4)
save_table(pd.DataFrame({"i": range(4), "x": x}), "NAME", profile, "draws")
```
'''


def _root(path, seeds):
    (path / "notebooks" / "profiles").mkdir(parents=True)
    for k, seed in enumerate(seeds, start=1):
        name = f"0{k}_c{k}"
        (path / "notebooks" / f"{name}.md").write_text(CHAPTER.replace("NAME", name).replace("SEED", str(seed)))
    (path / "lib").symlink_to(paths.root() / "lib")
    return path


def _tables(root):
    return {p.relative_to(root).as_posix(): pd.read_csv(p) for p in sorted((root / "data" / "results").rglob("*.csv"))}


@pytest.mark.slow
def test_parallel_chapters_match_a_serial_build(tmp_path, monkeypatch):
    tables = {}
    for jobs in (1, 2):
        root = _root(tmp_path / f"j{jobs}", [0, 1, 2])
        monkeypatch.setenv("LANDSCAPE_ROOT", str(root))
        out = runner.execute_all("paper", progress=False, log=lambda *a: None, jobs=jobs)
        assert [p.name for p in out] == ["01_c1.ipynb", "02_c2.ipynb", "03_c3.ipynb"]  # book order
        tables[jobs] = _tables(root)
    assert list(tables[1]) == list(tables[2]) and len(tables[1]) == 3
    for key in tables[1]:
        pd.testing.assert_frame_equal(tables[1][key], tables[2][key], check_exact=True)


@pytest.mark.slow
def test_a_failing_chapter_is_named_and_the_others_are_published(tmp_path, monkeypatch):
    root = _root(tmp_path / "r", [0, 13, 2])
    monkeypatch.setenv("LANDSCAPE_ROOT", str(root))
    with pytest.raises(runner.RunError, match="02_c2.*unlucky seed"):
        runner.execute_all("paper", progress=False, log=lambda *a: None, jobs=2)
    executed = root / "book" / "_executed" / "paper"
    assert (executed / "01_c1.stamp.json").exists() and (executed / "03_c3.stamp.json").exists()
    assert not (executed / "02_c2.stamp.json").exists()
    assert (root / "book" / "_executed" / "_failed" / "paper" / "02_c2.ipynb").exists()


def test_bad_jobs_exits_2_before_anything_runs(tmp_path, monkeypatch, capsys):
    root = _root(tmp_path / "r", [0])
    monkeypatch.setenv("LANDSCAPE_ROOT", str(root))
    assert main(["book", "--jobs", "many"]) == 2
    assert "--jobs" in capsys.readouterr().err
    assert not (root / "book" / "_executed").exists()
