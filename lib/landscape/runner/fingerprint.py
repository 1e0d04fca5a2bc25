"""Fingerprints: the hash of everything that can change a chapter's output (its source, its resolved parameters,
the content of every data file it reads, the library code it imports, the runner's page layout, and for the report
the claims tables it gathers). A chapter whose stamp holds the current fingerprint is not executed again."""

from __future__ import annotations

import ast
import functools
import hashlib
import json
from pathlib import Path

from landscape.infra import paths
from landscape.runner.chapters import REPORT, chapter_path, read_parameters

# Bump when the runner changes what it adds to executed pages (the rerun box, the provenance section).
PAGE_FORMAT = 3


@functools.lru_cache(maxsize=512)
def _imported_modules(source: str, package: tuple[str, ...] = ()) -> frozenset[str]:
    """Top-level ``landscape`` modules or packages a piece of code imports, absolute or relative.

    ``package`` is the dotted package of the file holding ``source`` (``("landscape", "hessian")`` for
    ``landscape/hessian/ops.py``); it is empty for notebook code, where relative imports cannot occur.

    >>> sorted(_imported_modules("from landscape import data, models\\nimport landscape.hessian.ops"))
    ['data', 'hessian', 'models']
    >>> sorted(_imported_modules("from ..models import mlp\\nfrom . import lanczos", ("landscape", "hessian")))
    ['hessian', 'models']
    """
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("landscape.")}
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                full = (node.module or "").split(".")
            elif package and node.level <= len(package):
                full = [*package[: len(package) - node.level + 1], *filter(None, (node.module or "").split("."))]
            else:
                continue
            if full[0] != "landscape":
                continue
            found |= {full[1]} if len(full) > 1 else {a.name for a in node.names}
    return frozenset(found)  # memoised on the text: a no-op book build fingerprints every chapter


def _unit_files(lib: Path, name: str) -> list[Path]:
    """The files of one top-level unit of the library: ``<name>.py`` or every file of the package ``<name>/``."""
    if (lib / name).is_dir():
        return sorted((lib / name).rglob("*.py"))
    return [lib / f"{name}.py"] if (lib / f"{name}.py").exists() else []


def library_modules(chapter: str) -> list[Path]:
    """The library files a chapter depends on: what its code cells import, closed under the modules' own
    imports (plus ``__init__``). Only these enter the chapter's fingerprint, so editing the Hessian code does not
    re-execute a chapter that never touches it. A package (``landscape/hessian/``) counts as one unit."""
    lib = paths.root() / "lib" / "landscape"
    todo, seen, files = set(_imported_modules(_notebook_code(chapter_path(chapter).read_text()))), {"__init__"}, \
        [lib / "__init__.py"]
    while todo:
        name = todo.pop()
        unit = _unit_files(lib, name)
        if name in seen or not unit:
            continue
        seen.add(name)
        files += unit
        for path in unit:
            package = ("landscape",) + path.parent.relative_to(lib).parts
            todo |= _imported_modules(path.read_text(), package)
    return sorted(files)


@functools.lru_cache(maxsize=64)
def _notebook_code(source: str) -> str:
    """The code cells of a chapter's MyST source, magics left out (memoised on the text)."""
    import jupytext

    nb = jupytext.reads(source, fmt="md:myst")
    return "\n".join(c.source for c in nb.cells
                     if c.cell_type == "code" and not c.source.lstrip().startswith(("%", "!")))


def library_digest(chapter: str | None = None) -> str:
    """Hash of the library code ``chapter`` depends on (all of it when ``chapter`` is None)."""
    files = library_modules(chapter) if chapter else sorted((paths.root() / "lib" / "landscape").rglob("*.py"))
    h = hashlib.sha256()
    lib = paths.root() / "lib" / "landscape"
    for p in files:
        h.update(p.relative_to(lib).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def data_files(chapter: str, params: dict) -> list[Path]:
    """The data files a run reads: every ``dataset``-rule parameter naming a CSV, and the shipped ``data/raw``
    files (through their checksum list)."""
    files = []
    for name, spec in read_parameters(chapter).items():
        rule = spec["rule"]
        value = params.get(name)
        if rule is not None and any(a.kind == "dataset" for a in rule.alternatives) and isinstance(value, str) \
                and value.lower().endswith(".csv"):
            files.append(Path(value))
    sums = paths.raw_dir() / "SHA256SUMS"
    return files + ([sums] if sums.exists() else [])


def fingerprint(chapter: str, params: dict) -> str:
    """Hash of the chapter source, ``params``, the data files it reads (:func:`data_files`, by content), the
    library code it imports (:func:`library_digest`) and, for the report, the claims tables it gathers."""
    from landscape.infra.cache import file_sha256 as sha256  # not landscape.nets.data: that would import torch for a no-op check

    h = hashlib.sha256()
    h.update(chapter_path(chapter).read_bytes())
    h.update(json.dumps(params, sort_keys=True, default=str).encode())
    h.update(library_digest(chapter).encode())
    h.update(f"page format {PAGE_FORMAT}".encode())
    for path in data_files(chapter, params):
        h.update(f"{path}:{sha256(path) if path.exists() else 'missing'}".encode())
    if chapter == REPORT:
        label = params["profile"]
        for p in sorted((paths.results_root() / label).glob("*/claims.csv")):
            h.update(p.parent.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()
