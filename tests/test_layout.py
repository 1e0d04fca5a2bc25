"""The library's layout holds (docs/architecture.md "Layout"): the import contract, no import cycles, no private
name imported across packages, the stable public aliases in step with their modules, the API page generated from
the package tree.
"""

import ast
import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from landscape.runner import api_page

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "lib" / "landscape"
ALIASES = ["data", "models", "recording", "covariance", "hessian", "projections", "spectra", "linearise", "symmetry",
           "plotting", "results"]


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(LIB.rglob("*.py")):
        parts = list(p.relative_to(LIB.parent).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


def _imports(name: str, path: Path, modules: dict) -> list[tuple[str, str]]:
    """(imported module, imported name or '') for every landscape import of one file, relative ones resolved."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level:
                mod = ".".join(package[: len(package) - node.level + 1] + ([mod] if mod else []))
            if mod.split(".")[0] != "landscape":
                continue
            for a in node.names:
                sub = f"{mod}.{a.name}"
                out.append((sub, "") if sub in modules else (mod, a.name))
        elif isinstance(node, ast.Import):
            out += [(a.name, "") for a in node.names if a.name.split(".")[0] == "landscape"]
    return out


def test_import_contract_is_kept():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail("lint-imports (import-linter, the test extra) is not installed: run make install")
    run = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def test_no_import_cycles_between_modules():
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        deps = set()
        for mod, _ in _imports(name, path, modules):
            while mod not in modules and "." in mod:
                mod = mod.rsplit(".", 1)[0]
            if mod != name and not name.startswith(mod + "."):  # a module importing its own package's __init__
                deps.add(mod)
        graph[name] = deps
    state, cycles = {}, []

    def visit(u, stack):
        state[u] = 1
        stack.append(u)
        for v in sorted(graph.get(u, ())):
            if state.get(v) == 1:
                cycles.append(stack[stack.index(v):] + [v])
            elif v in graph and not state.get(v):
                visit(v, stack)
        stack.pop()
        state[u] = 2

    for u in sorted(graph):
        if not state.get(u):
            visit(u, [])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_no_private_name_crosses_a_package():
    modules = _modules()
    offenders = []
    for name, path in modules.items():
        own = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for mod, imported in _imports(name, path, modules):
            private = imported.startswith("_") and not imported.startswith("__")
            if private and not (mod == own or mod.startswith(own + ".")):
                offenders.append(f"{name} imports {mod}.{imported}")
    assert not offenders, offenders


@pytest.mark.parametrize("alias", ALIASES)
def test_public_alias_exports_its_module(alias):
    """``landscape.<alias>`` (the design's module names) re-exports every public name of the module it stands for,
    and the very same objects.
    """
    mod = importlib.import_module(f"landscape.{alias}")
    real = importlib.import_module(next(m for m in mod.__doc__.split("`") if m.startswith("landscape.")))
    if hasattr(real, "__all__"):
        names = set(real.__all__)
    else:
        tree = ast.parse(Path(real.__file__).read_text())
        names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        names |= {t.id for n in tree.body if isinstance(n, (ast.Assign, ast.AnnAssign))
                  for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)}
        names = {n for n in names if not n.startswith("_")}
    assert set(mod.__all__) == names, "regenerate the alias: its names differ from the module's"
    for n in names:
        assert getattr(mod, n) is getattr(real, n)


def test_api_page_is_generated_from_the_package_tree():
    assert (ROOT / "book" / "api.md").read_text() == api_page.render(), \
        "book/api.md is stale: python -m landscape.runner.api_page > book/api.md"


def test_every_module_is_on_the_api_page_or_reexported_by_a_package_on_it():
    listed = {m for top, _ in api_page.SECTIONS for m in api_page.api_modules(top)}
    modules = _modules()
    missing = []
    for name, path in modules.items():
        if name in listed or name == "landscape" or name.endswith("__main__") or name.count(".") == 1 and \
                name.split(".")[1] in ALIASES:
            continue
        parent = name.rsplit(".", 1)[0]
        if parent in listed and name in api_page._reexported(modules[parent], parent):
            continue
        if path.name == "__init__.py":  # a package without re-exports: its modules are listed one by one
            continue
        missing.append(name)
    assert not missing, missing


def test_tests_mirror_the_package_tree():
    """Unit tests live in ``tests/<package path>/``, beside the package they test (project-wide checks at the top)."""
    here = Path(__file__).resolve().parent
    for folder in sorted(p for p in here.rglob("*") if p.is_dir() and p.name not in ("__pycache__", "cross_library")):
        rel = folder.relative_to(here)
        assert (LIB / rel).is_dir(), f"tests/{rel.as_posix()}/ has no package lib/landscape/{rel.as_posix()}/"
