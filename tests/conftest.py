import os

import pytest
import torch

# Small problems: one thread is faster and keeps timings stable on the 2-core machines.
torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")


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
