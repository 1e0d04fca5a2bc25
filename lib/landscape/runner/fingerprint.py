"""Fingerprints: the hash of everything that can change a chapter's output (its source, its resolved parameters,
the content of every data file it reads, the library code it imports, the runner's page layout, and for the report
the claims tables it gathers). A chapter whose stamp holds the current fingerprint is not executed again.

The library code a chapter depends on is found statically, by module *file*: the ``landscape`` imports of the
chapter's code cells are resolved to the files on disk (``lib/landscape/**.py``), and each file's own imports
(absolute and relative, with the ``__init__.py`` of every package on the way) are followed until nothing new is
found (:func:`library_modules`). Nothing here lists the library's modules: a file moved into a subpackage is
found where it is.
"""

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


@functools.lru_cache(maxsize=1024)
def _imported_names(source: str, package: tuple[str, ...] = ()) -> frozenset[str]:
    """Dotted ``landscape`` names a piece of code may import: modules, packages, or ``module.name`` candidates.

    ``from A import b`` yields ``A`` and ``A.b`` (``b`` may be a submodule; :func:`_module_file` keeps the names
    that are files). ``package`` is the dotted package of the file holding ``source`` (``("landscape",
    "hessian")`` for ``landscape/hessian/ops.py`` and for ``landscape/hessian/__init__.py``); it is empty for
    notebook code, where relative imports cannot occur. Imports inside functions count too (they run when the
    function does), and so do attribute chains such as ``landscape.curvature.hessian.trace`` after ``import landscape``.

    Parameters
    ----------
    source : str
        Python source text.
    package : tuple of str
        The package the source belongs to, for relative imports.

    Returns
    -------
    frozenset of str
        Dotted names starting with ``landscape``.

    >>> sorted(_imported_names("from landscape import data\\nimport landscape.hessian.ops"))
    ['landscape', 'landscape.data', 'landscape.hessian.ops']
    >>> sorted(_imported_names("from ..models import mlp\\nfrom . import trace", ("landscape", "hessian")))
    ['landscape.hessian', 'landscape.hessian.trace', 'landscape.models', 'landscape.models.mlp']
    """  # noqa: D301 - the examples' source holds \\n on purpose
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name == "landscape" or a.name.startswith("landscape.")}
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = (node.module or "").split(".")
            elif package and node.level <= len(package):
                base = [*package[: len(package) - node.level + 1], *filter(None, (node.module or "").split("."))]
            else:
                continue
            if base[0] != "landscape":
                continue
            found.add(".".join(base))
            found |= {".".join([*base, a.name]) for a in node.names if a.name != "*"}
        elif isinstance(node, ast.Attribute):
            chain = []
            while isinstance(node, ast.Attribute):
                chain.append(node.attr)
                node = node.value
            if isinstance(node, ast.Name) and node.id == "landscape":
                found.add(".".join(["landscape", *reversed(chain)]))
    return frozenset(found)  # memoised on the text: a no-op book build fingerprints every chapter


def _module_file(lib: Path, dotted: str) -> Path | None:
    """The file that defines the dotted module name under ``lib`` (the ``landscape`` folder): ``a/b.py`` or
    ``a/b/__init__.py``; the longest prefix that is a module when the tail names an attribute
    (``landscape.curvature.hessian.trace.hutchinson_trace`` -> ``hessian/trace.py``); None outside the library.
    """
    parts = dotted.split(".")[1:]
    while True:
        base = lib.joinpath(*parts)
        for candidate in (base.with_suffix(".py") if parts else None, base / "__init__.py"):
            if candidate is not None and candidate.is_file():
                return candidate
        if not parts:
            return None
        parts = parts[:-1]


def _package_inits(lib: Path, path: Path) -> list[Path]:
    """The ``__init__.py`` files Python runs before ``path``: every package from ``landscape`` down to it."""
    out, folder = [], path.parent
    while True:
        init = folder / "__init__.py"
        if init.is_file():
            out.append(init)
        if folder == lib or lib not in folder.parents:
            return out
        folder = folder.parent


def library_modules(chapter: str) -> list[Path]:
    """The library files a chapter depends on, by module file.

    The ``landscape`` imports of the chapter's code cells are resolved to files under ``lib/landscape/`` and
    closed under each file's own imports, absolute and relative (``from landscape.pkg import name`` counts the
    submodule ``pkg/name.py`` when there is one, else only ``pkg/__init__.py``), together with the
    ``__init__.py`` of every package on the way. Only these files enter the chapter's fingerprint, so editing
    one tool re-executes only the chapters whose closure contains its file.

    Parameters
    ----------
    chapter : str
        A chapter name (``notebooks/<chapter>.md``).

    Returns
    -------
    list of Path
        The files, sorted.
    """
    lib = paths.root() / "lib" / "landscape"
    todo = list(_imported_names(_notebook_code(chapter_path(chapter).read_text())))
    files: set[Path] = set()
    seen_names: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen_names:
            continue
        seen_names.add(name)
        found = _module_file(lib, name)
        if found is None:
            continue
        for path in [found, *_package_inits(lib, found)]:
            if path in files:
                continue
            files.add(path)
            package = ("landscape",) + path.parent.relative_to(lib).parts
            todo += _imported_names(path.read_text(), package)
    return sorted(files)


@functools.lru_cache(maxsize=64)
def _notebook_code(source: str) -> str:
    """The code cells of a chapter's MyST source, magics left out (memoised on the text)."""
    import jupytext

    nb = jupytext.reads(source, fmt="md:myst")
    return "\n".join(c.source for c in nb.cells
                     if c.cell_type == "code" and not c.source.lstrip().startswith(("%", "!")))


def library_digest(chapter: str | None = None) -> str:
    """Hash of the library code ``chapter`` depends on (all of it when ``chapter`` is None).

    Parameters
    ----------
    chapter : str or None
        A chapter name; None hashes every file of the library.

    Returns
    -------
    str
        sha256 hex digest of the files' paths (relative to ``lib/landscape``) and contents.
    """
    files = library_modules(chapter) if chapter else sorted((paths.root() / "lib" / "landscape").rglob("*.py"))
    h = hashlib.sha256()
    lib = paths.root() / "lib" / "landscape"
    for p in files:
        h.update(p.relative_to(lib).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def data_files(chapter: str, params: dict) -> list[Path]:
    """The data files a run reads: every ``dataset``-rule parameter naming a CSV, and the shipped ``data/raw``
    files (through their checksum list).

    Parameters
    ----------
    chapter : str
        A chapter name.
    params : dict
        The run's resolved parameters (:func:`landscape.runner.resolve`).

    Returns
    -------
    list of Path
        The CSV files named by the parameters, then ``data/raw/SHA256SUMS`` when it exists.
    """
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
    library code it imports (:func:`library_digest`) and, for the report, the claims tables it gathers.

    Parameters
    ----------
    chapter : str
        A chapter name.
    params : dict
        The run's resolved parameters, the label included as ``profile``.

    Returns
    -------
    str
        sha256 hex digest.
    """
    # not landscape.nets.data: that would import torch for a no-op check
    from landscape.infra.cache import file_sha256 as sha256

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
