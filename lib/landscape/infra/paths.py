"""Where the book keeps things. The repository root is found from this file (editable install) or from the
environment variable ``LANDSCAPE_ROOT``; every other location derives from it.

While the runner executes a chapter it sets ``LANDSCAPE_STAGING`` to a fresh folder: the chapter's tables are
written there (:func:`results_write_root`) and moved into ``data/results/`` only when the run succeeds, so a failed
run never mixes its tables with older ones. Reading (the report gathering claims) always uses ``data/results/``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


def root() -> Path:
    """The repository root: ``$LANDSCAPE_ROOT`` when set, else the folder holding ``lib/``.

    Returns
    -------
    Path
        An absolute path.
    """
    env = os.environ.get("LANDSCAPE_ROOT")
    return Path(env).resolve() if env else Path(__file__).resolve().parents[3]


@contextlib.contextmanager
def environment(**values: str | os.PathLike | None) -> Iterator[None]:
    """Run the block with these environment variables set (``None``: removed), restoring the caller's values.

    Parameters
    ----------
    **values : str, path or None
        Variable name -> value (converted with ``str``), or None to remove the variable inside the block.

    Yields
    ------
    None

    Examples
    --------
    >>> import os
    >>> with environment(LANDSCAPE_EXAMPLE="1"):
    ...     os.environ["LANDSCAPE_EXAMPLE"]
    '1'
    >>> "LANDSCAPE_EXAMPLE" in os.environ
    False
    """
    before = {key: os.environ.get(key) for key in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = str(value)
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def rooted(path: str | os.PathLike) -> Iterator[Path]:
    """Run the block with ``LANDSCAPE_ROOT`` set to ``path``, restoring the caller's value afterwards.

    Worker processes are reused between calls, so a unit of work names its root instead of trusting the
    environment it was started with.

    Parameters
    ----------
    path : str or path
        The repository root for the block.

    Yields
    ------
    Path
        The root, resolved.
    """
    with environment(LANDSCAPE_ROOT=path):
        yield root()


def raw_dir() -> Path:
    """``data/raw``: the shipped datasets and their checksums.

    Returns
    -------
    Path
    """
    return root() / "data" / "raw"


def cache_dir() -> Path:
    """``data/cache``: trajectories, distance matrices, trained networks.

    Returns
    -------
    Path
    """
    return root() / "data" / "cache"


def results_root() -> Path:
    """``data/results``: the published tables, ``<label>/<chapter>/*.csv``.

    Returns
    -------
    Path
    """
    return root() / "data" / "results"


def results_write_root() -> Path:
    """Where tables are written: the run's staging folder while the runner executes a chapter, else
    :func:`results_root`.

    Returns
    -------
    Path
    """
    staging = os.environ.get("LANDSCAPE_STAGING")
    return Path(staging) if staging else results_root()


def executed_root() -> Path:
    """``book/_executed``: executed notebooks per label, ``_failed/`` and the runs' ``_staging/`` folders.

    Returns
    -------
    Path
    """
    return root() / "book" / "_executed"


def notebooks_dir() -> Path:
    """``notebooks``: the chapters' sources and ``profiles/``.

    Returns
    -------
    Path
    """
    return root() / "notebooks"
