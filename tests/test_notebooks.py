"""Smoke runs: every chapter executes under the smoke profile (the quick profile with smaller epochs, seeds and grids:
``notebooks/profiles/smoke.yaml`` inherits ``quick.yaml``) without an error, glues every key its prose uses,
and writes its results; then the whole book builds with -W (broken references and missing glue fail it), all but
the API page, whose docstrings tests/test_docstrings.py checks as that build would, at a fraction of its cost.

The chapters execute once, side by side on two worker processes (``build_book(jobs=2)``, as ``make book`` does), and
the tests below check what that build left. ``make test`` distributes by file (pytest-xdist ``--dist loadfile``),
so the book is built once, on one worker, while the other workers run the rest of the suite.
"""

import re
import shutil

import pandas as pd
import pytest
from conftest import book_sources

from landscape import runner
from landscape.infra import paths
from landscape.infra.results import CLAIM_COLUMNS, VERDICTS

CHAPTERS = list(runner.chapters())  # book order, the report last
PROFILE = "smoke"  # every code path of the quick profile at a fraction of its cost; numbers are not checked here
DRAWN = {"01_trajectories"}  # the chapters whose figures are drawn into the smoke book


@pytest.fixture(scope="module")
def book_root(tmp_path_factory):
    """A scratch root holding the book sources; results, caches and executed notebooks land there."""
    root = book_sources(tmp_path_factory.mktemp("book"), api=False)  # its docstrings: tests/test_docstrings.py
    (root / "book" / "_static").mkdir()
    mp = pytest.MonkeyPatch()
    mp.setenv("LANDSCAPE_ROOT", str(root))
    yield root
    mp.undo()


@pytest.fixture(scope="module")
def built(book_root):
    """Every chapter executed under smoke (two at a time), then the report, then the book with -W: the HTML index."""
    mathjax = paths.root() / "book" / "_static" / "mathjax"
    if (mathjax / "tex-mml-chtml.js").exists():  # else build_book fetches it, as `make book` does
        shutil.copytree(mathjax, book_root / "book" / "_static" / "mathjax")
    # one chapter draws its figures (the page test below looks for them); the others lay theirs out only, which
    # still fails on a label that cannot be drawn (runner.figure_check) at a third of the cost
    return runner.build_book(PROFILE, progress=False, log=lambda *a: None, jobs=2, figures=DRAWN)


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_under_smoke(built, book_root, chapter):
    out = book_root / "book" / "_executed" / PROFILE / f"{chapter}.ipynb"
    assert out.exists(), f"{chapter} was not executed"
    assert runner.check_notebook(out) == []
    results = book_root / "data" / "results" / PROFILE / chapter
    csvs = sorted(results.glob("*.csv"))
    assert csvs, f"{chapter} wrote no results"
    for csv in csvs:
        assert not pd.read_csv(csv).empty, f"{csv.name} is empty"
    if chapter != runner.REPORT:
        claims = pd.read_csv(results / "claims.csv")
        assert tuple(claims.columns) == CLAIM_COLUMNS and len(claims) > 0
        assert set(claims.verdict) <= set(VERDICTS)
        assert claims.key.is_unique, f"{chapter}: one verdict per claim"


@pytest.mark.slow
def test_smoke_takes_the_branches_quick_takes(built, book_root):
    """A shrink of the smoke profile must not empty a section the quick profile fills: chapter 04 still verifies its
    minima and fits Fig. 2(a) on usable settings (with too few Newton steps or learning rates none is usable).
    """
    results = book_root / "data" / "results" / PROFILE / "04_noise_hessian"
    neg = pd.read_csv(results / "negative_eigenvalues.csv")
    assert neg.used.sum() >= 2 and (neg.min_below >= 0).all()
    claims = pd.read_csv(results / "claims.csv").set_index("key")
    assert pd.notna(pd.to_numeric(claims.loc["fig2a_slope", "measured"], errors="coerce"))


@pytest.mark.slow
def test_book_builds_and_rebuild_is_a_no_op(built, book_root):
    html = built
    assert html.exists()
    built = book_root / "_build" / "html"
    page = (built / "book" / "chapters" / "01_trajectories.html").read_text()
    assert "<img" in page and "mathjax/tex-mml-chtml.js" in page and "cdn.jsdelivr" not in page
    undrawn = (built / "book" / "chapters" / "02_diffusion_maps.html").read_text()
    assert "<img" not in undrawn and "&lt;Figure size" not in undrawn  # laid out only: no image, no figure repr
    script = built / "_static" / "mathjax" / "tex-mml-chtml.js"
    assert script.exists() and script.stat().st_size > 100_000  # the real MathJax bundle, served offline
    text = re.sub(r"<[^>]+>", "", page)  # the command is syntax-highlighted: one <span> per word
    assert "Rerun this chapter" in text and "Provenance" in text and "landscape run 01_trajectories" in text
    stamps = {p: p.read_bytes() for p in (book_root / "book" / "_executed" / PROFILE).glob("*.stamp.json")}
    index_mtime = html.stat().st_mtime_ns
    said = []
    runner.build_book(PROFILE, progress=False, log=said.append, figures=DRAWN)
    assert {p: p.read_bytes() for p in stamps} == stamps  # nothing re-executed
    assert any("HTML up to date" in line for line in said) and not any("jupyter-book" in line for line in said)
    assert html.stat().st_mtime_ns == index_mtime  # Sphinx did not run
    intro = book_root / "book" / "intro.md"
    intro.write_text(intro.read_text() + "\nOne more sentence.\n")  # an input changed: Sphinx runs again
    said.clear()
    runner.build_book(PROFILE, progress=False, log=said.append, figures=DRAWN)
    assert any("jupyter-book" in line for line in said)
    assert "One more sentence." in (built / "book" / "intro.html").read_text()
