"""The book's API page (``book/api.md``), generated from the package tree.

One section per package of :mod:`landscape`, in the order of its layers (:data:`SECTIONS`); inside a section every
module file, except the submodules whose names the package's ``__init__`` re-exports (documented once, on the
package). The stable public aliases at the top level (``landscape.models`` ...) are not listed: they re-export
modules listed here. ``python -m landscape.runner.api_page`` prints the page; a test keeps ``book/api.md`` equal to it.
"""

from __future__ import annotations

import ast
from pathlib import Path

__all__ = ["SECTIONS", "api_modules", "render"]

#: (package, heading) in the order of the layers, tools before studies before the book machinery.
SECTIONS = (
    ("infra", "Infrastructure: paths, caches, checks, units of work, results, figures"),
    ("nets", "Networks: data, models, optimizers, recorded training"),
    ("curvature", "Curvature: Hessian operators and spectra, SGD noise covariance"),
    ("diffusion", "Diffusion maps: eq (2.5) distances, kernels, spectra, trajectories"),
    ("surfaces", "Loss surfaces: directions, planes, interpolation, convexity, export"),
    ("geometry", "Geometry: linearisation, critical points, level sets, symmetries, random-matrix spectra"),
    ("noise", "Noise: designed noisy descent, alignment, stationarity, valleys"),
    ("studies", "Chapters' own analyses"),
    ("runner", "Running the book"),
)

INTRO = """# API reference

The library `landscape` (`lib/landscape/`) behind every chapter, generated from its docstrings (numpydoc style) and
its package tree (`python -m landscape.runner.api_page`). Tools live in `infra`, `nets`, `curvature`, `diffusion`,
`surfaces`, `geometry` and `noise`; each chapter's own analysis in `studies.<chapter>`, which tools never import.
The module names of the project's design stay importable at the top level (`landscape.models`, `landscape.hessian`,
...): they re-export the modules below. The examples (`>>>`) run as tests (`make test` collects
`--doctest-modules`). `docs/architecture.md` in the repository is the map of how the modules fit together.
"""


def _lib() -> Path:
    return Path(__file__).resolve().parents[1]


def _name(path: Path, lib: Path) -> str:
    parts = list(path.relative_to(lib.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _reexported(init: Path, package: str) -> set[str]:
    """Submodules of ``package`` whose names its ``__init__`` imports (``from package.sub import ...``)."""
    out = set()
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(package + "."):
            out.add(node.module)
    return out


def api_modules(top: str) -> list[str]:
    """Dotted names of the modules documented under package ``top`` (e.g. ``"curvature"``), sorted.

    Parameters
    ----------
    top : str
        A first-level package of :mod:`landscape` (one of :data:`SECTIONS`), or ``"runner"`` (which also lists
        ``landscape.sweep``).

    Returns
    -------
    list of str
        Packages with a non-empty ``__all__`` first where they re-export, then module files.
    """
    lib = _lib()
    root = lib / top
    files = sorted(root.rglob("*.py"))
    hidden: set[str] = set()
    listed = []
    for f in files:
        name = _name(f, lib)
        if f.name == "__init__.py":
            sub = _reexported(f, name)
            if sub:
                hidden |= sub
                listed.append(name)
        elif f.name != "__main__.py":
            listed.append(name)
    out = [n for n in listed if n not in hidden]
    if top == "runner":
        out.append("landscape.sweep")
    return out


def render() -> str:
    """The whole page as MyST markdown.

    Returns
    -------
    str
        ``book/api.md``'s text.
    """
    parts = [INTRO]
    for top, heading in SECTIONS:
        parts.append(f"## {heading}\n")
        for name in api_modules(top):
            parts.append(f"### `{name}`\n\n```{{eval-rst}}\n.. automodule:: {name}\n   :members:\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
