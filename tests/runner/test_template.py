"""The chapter template (notebooks/_template.md, docs/adding-a-chapter.md): it is no chapter of the book, and a
chapter built from it by the guide's steps (copy, a quick section) runs under the quick profile through the runner,
which injects the chapter's name.
"""

import pandas as pd
import pytest

from landscape import runner
from landscape.infra.results import CLAIM_COLUMNS


def test_the_template_is_not_a_chapter_and_states_every_rule(tmp_root):
    assert (tmp_root / "notebooks" / "_template.md").exists()
    assert not any("template" in name for name in runner.chapters())
    (tmp_root / "notebooks" / "50_mine.md").write_text((tmp_root / "notebooks" / "_template.md").read_text())
    params = runner.read_parameters("50_mine")
    assert list(params)[:2] == ["profile", "chapter"]  # both set by the runner
    missing = [name for name, spec in params.items() if spec["rule"] is None and name not in runner.RESERVED]
    assert missing == []  # every parameter of the template states its allowed values


@pytest.mark.slow
def test_a_chapter_built_from_the_template_runs_under_quick(tmp_root):
    notebooks = tmp_root / "notebooks"
    (notebooks / "50_mine.md").write_text((notebooks / "_template.md").read_text())  # step 1: copy
    quick = notebooks / "profiles" / "quick.yaml"
    quick.write_text(quick.read_text() + "50_mine:\n  top: 2\n  draw_spectrum: false\n")  # step 4: quick section
    sources = tmp_root / "data" / "sources"  # step 2: the source's numbers, one row per claim
    sources.mkdir(parents=True, exist_ok=True)
    (sources / "999.csv").write_text("key,claim,kind,value,section,tol,partly,relative,scale_dependent,note\n"
                                     "trace_is_input_count,the trace of a correlation matrix is the number of inputs,"
                                     "identity,true,Sec. 1,,,,,\n")
    out = runner.execute("50_mine", "quick", progress=False, log=lambda *a: None)
    assert out == tmp_root / "book" / "_executed" / "quick" / "50_mine.ipynb"
    assert runner.check_notebook(out) == []  # no error, every glue key the prose uses was glued
    results = tmp_root / "data" / "results" / "quick" / "50_mine"  # named by the injected `chapter`
    spectrum = pd.read_csv(results / "spectrum.csv")
    assert spectrum.k.tolist() == [1, 2, 3, 4]  # iris: 4 inputs
    assert abs(spectrum.eigenvalue.sum() - 4.0) < 1e-12  # trace of a 4 x 4 correlation matrix
    claims = pd.read_csv(results / "claims.csv")
    assert tuple(claims.columns) == CLAIM_COLUMNS and claims.chapter.tolist() == ["50_mine"]
    assert claims.verdict.tolist() == ["holds by construction"]
    page = out.read_text()
    assert "landscape run 50_mine --profile quick" in page and "This run draws no figure" in page
    assert "NN_name" not in pd.read_csv(results / "claims.csv").to_string()
