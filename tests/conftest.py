import os

import pytest
import torch

# Small problems: one thread is faster and keeps timings stable on the 2-core machines.
torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")

# The longest test files, longest first (~ seconds in `make test` on two cores: the smoke book 75, the chapters on
# CSVs 45 and 35, sweeps 25, runs 20 and 15, Lanczos 14, parallel books 8). `make test` hands out whole files
# (--dist loadfile) in collection order (--no-loadscope-reorder; xdist's own order is by test count, which put the
# CSV files last and left one core idle for the last ~20 s): these start first and the short files fill in.
LONGEST_FIRST = ("tests/test_notebooks.py", "tests/test_your_data_a.py", "tests/test_your_data_b.py",
                 "tests/runner/test_sweep.py", "tests/runner/test_runs.py", "tests/runner/test_run_cases.py",
                 "tests/curvature/test_hessian_lanczos.py", "tests/runner/test_book_parallel.py")


def pytest_collection_modifyitems(items):
    """Put the files of :data:`LONGEST_FIRST` first, in that order; every other file keeps its place after them."""
    from pathlib import Path

    gone = [name for name in LONGEST_FIRST if not (Path(__file__).resolve().parents[1] / name).is_file()]
    assert not gone, f"tests/conftest.py LONGEST_FIRST names files that no longer exist: {gone}"
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


@pytest.fixture
def tmp_root(tmp_path, monkeypatch):
    """A scratch repository root: data/, notebooks/ and results live under tmp_path."""
    import shutil

    from landscape.infra import paths

    real = paths.root()
    (tmp_path / "data").mkdir()
    shutil.copytree(real / "data" / "raw", tmp_path / "data" / "raw")
    shutil.copytree(real / "notebooks", tmp_path / "notebooks")
    (tmp_path / "lib").symlink_to(real / "lib")
    monkeypatch.setenv("LANDSCAPE_ROOT", str(tmp_path))
    return tmp_path


def book_sources(root, *, pages: bool = True, api: bool = True):
    """Copy the book's sources into a scratch ``root`` (notebooks, shipped data, the source documents' numbers; with
    ``pages`` also the Jupyter Book config and pages) and link the library; returns ``root``. Runs pointed at it with
    ``LANDSCAPE_ROOT`` write their results, caches and executed notebooks there. ``api=False`` leaves the API page
    (``book/api.md``) out of the table of contents: Sphinx spends ~22 s on its autodoc, and
    tests/test_docstrings.py checks its docstrings the way the -W build would.
    """
    import shutil

    from landscape.infra import paths

    real = paths.root()
    for name in ("notebooks", "data/raw", "data/sources"):
        shutil.copytree(real / name, root / name)
    if pages:
        for name in ("_config.yml", "_toc.yml", "book/intro.md", "book/api.md", "book/references.bib"):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(real / name, root / name)
        if not api:
            toc = root / "_toc.yml"
            entry = "  - file: book/api\n"
            assert entry in toc.read_text(), "the API page's entry in _toc.yml changed"
            toc.write_text(toc.read_text().replace(entry, ""))
            (root / "book" / "api.md").unlink()
    (root / "lib").symlink_to(real / "lib")
    return root
