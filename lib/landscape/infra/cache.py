"""The one cache layer: content keys, atomic writes, verified loads; used by trajectories, distance matrices,
trained networks, result tables and the runner's stamps.

- :func:`content_key`: the hash of a canonical JSON form of a configuration (sorted keys), naming a cache file.
  Equal configurations give equal keys, and a key never changes as long as the configuration dictionary does not.
- :func:`atomic_write`: write through a unique temporary file in the target's folder, then ``os.replace``: readers
  see the old file or the new one, never a half-written or mixed one, and two writers never share a temp file.
- :func:`verified_load`: a cached file is used only if the configuration stored with it equals the requested
  one (a copied file or a key collision is detected); otherwise the caller recomputes, or
  :class:`StaleCacheError` names the file.
- :func:`file_sha256`: the content hash of a data file (fingerprints and trajectory keys).

>>> content_key({"b": 1, "a": [1, 2]}) == content_key({"a": (1, 2), "b": 1})
True
>>> len(content_key({"a": 1}))
20
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

__all__ = ["StaleCacheError", "atomic_write", "canonical_json", "content_key", "file_sha256", "same_config",
           "verified_load"]


class StaleCacheError(ValueError):
    """A cache file whose stored configuration is not the requested one."""


def canonical_json(config: Mapping, *, default: Callable = str) -> str:
    """``json.dumps(config, sort_keys=True, default=default)``: the one text that a configuration is hashed from
    (tuples become lists, so a tuple and a list of the same numbers give the same key).

    Parameters
    ----------
    config : Mapping
        The configuration (nested dicts, lists, tuples, numbers, strings).
    default : callable, default str
        Applied to values that JSON cannot encode (``json.dumps``'s ``default``): ``str`` by default, so a
        ``Path`` or a dtype is hashed by its text.

    Returns
    -------
    str
        The JSON text, keys sorted at every level.
    """
    return json.dumps(config, sort_keys=True, default=default)


def content_key(config: Mapping, *, length: int = 20, default: Callable = str) -> str:
    """The first ``length`` hex digits of the sha256 of :func:`canonical_json` of ``config``.

    Parameters
    ----------
    config : Mapping
        The configuration that names the cache file.
    length : int, default 20
        Hex digits kept (at most 64).
    default : callable, default str
        Encoder of values JSON cannot encode (see :func:`canonical_json`).

    Returns
    -------
    str
        ``length`` lower-case hex digits.
    """
    return hashlib.sha256(canonical_json(config, default=default).encode()).hexdigest()[:length]


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB chunks.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.

    Returns
    -------
    str
        64 lower-case hex digits.
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb") -> Iterator:
    """Open a unique temporary file next to ``path`` for writing; on success it is flushed, synced and moved onto
    ``path`` with ``os.replace``; on any error it is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or pathlib.Path
        The target file; its folder is created if missing.
    mode : str, default "wb"
        ``open`` mode of the temporary file (``"w"`` for text).

    Yields
    ------
    file object
        The open temporary file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "t.txt"
    >>> with atomic_write(target, "w") as f:
    ...     _ = f.write("hello")
    >>> target.read_text(), sorted(p.name for p in target.parent.iterdir())
    ('hello', ['t.txt'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def same_config(stored, requested, *, default: Callable = str) -> bool:
    """Whether two configurations are equal in their canonical JSON form (so a tuple equals a list).

    Parameters
    ----------
    stored, requested : Mapping or str
        The two configurations; a string is parsed as JSON first (a configuration stored as text).
    default : callable, default str
        Encoder of values JSON cannot encode (see :func:`canonical_json`).

    Returns
    -------
    bool
    """
    if isinstance(stored, str):
        stored = json.loads(stored)
    if isinstance(requested, str):
        requested = json.loads(requested)
    return canonical_json(stored, default=default) == canonical_json(requested, default=default)


def verified_load(path: str | Path, requested: Mapping, read: Callable, *, config_of: Callable,
                  recompute: bool = True, default: Callable = str):
    """``read(path)`` if the file exists and its stored configuration equals ``requested``.

    ``config_of(loaded)`` extracts the stored configuration. Returns ``None`` when the file is missing, or when
    its configuration differs and ``recompute`` is true (the caller then computes and overwrites it); raises
    :class:`StaleCacheError` naming the file when it differs and ``recompute`` is false.

    Parameters
    ----------
    path : str or pathlib.Path
        The cache file.
    requested : Mapping
        The configuration the caller needs.
    read : callable
        ``read(path)`` loads the file.
    config_of : callable
        ``config_of(loaded)`` is the configuration stored in what ``read`` returned (a Mapping or JSON text).
    recompute : bool, default True
        On a mismatch, return None (True) or raise :class:`StaleCacheError` (False).
    default : callable, default str
        Encoder of values JSON cannot encode (see :func:`canonical_json`).

    Returns
    -------
    object or None
        What ``read`` returned, or None when the file is missing or stale (and ``recompute``).

    Raises
    ------
    StaleCacheError
        When the stored configuration differs and ``recompute`` is false.
    """
    path = Path(path)
    if not path.exists():
        return None
    loaded = read(path)
    stored = config_of(loaded)
    if same_config(stored, requested, default=default):
        return loaded
    if recompute:
        return None
    raise StaleCacheError(f"{path}: the cached configuration differs from the requested one (a copied file or a "
                          f"key collision); delete it to recompute. stored={canonical_json(stored)[:200]}")
