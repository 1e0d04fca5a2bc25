"""Where the book keeps things. The repository root is found from this file (editable install) or from the
environment variable ``LANDSCAPE_ROOT``; every other location derives from it."""

from __future__ import annotations

import os
from pathlib import Path


def root() -> Path:
    env = os.environ.get("LANDSCAPE_ROOT")
    return Path(env).resolve() if env else Path(__file__).resolve().parents[2]


def raw_dir() -> Path:
    return root() / "data" / "raw"


def cache_dir() -> Path:
    return root() / "data" / "cache"


def results_root() -> Path:
    return root() / "data" / "results"


def notebooks_dir() -> Path:
    return root() / "notebooks"
