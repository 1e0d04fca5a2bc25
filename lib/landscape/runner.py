"""Execute chapters with Papermill under a profile, incrementally, and build the book with Jupyter Book.

A chapter is a jupytext MyST notebook ``notebooks/<NN>_<name>.md`` whose cell tagged ``parameters`` holds the
paper-faithful defaults. A profile (``notebooks/profiles/<profile>.yaml``) overrides them per chapter; the profile
``paper`` is the defaults themselves. ``-p name=value`` overrides go last and are type-checked against the default.

Each executed notebook is stamped with a fingerprint of everything that can change its output: the notebook
source, the resolved parameters, the library's source code, and (for the report) the claims tables it gathers.
A chapter whose stamp matches is not executed again.

Runs with ``-p`` overrides get their own label ``<profile>+<hash>`` (or ``--label``), so their results never
overwrite the paper or quick results: ``data/results/<label>/<chapter>/``.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from . import paths

REPORT = "99_report"
PAPER = "paper"
RESERVED = ("profile",)


class ChapterError(ValueError):
    """Unknown chapter, profile or parameter, or a value of the wrong type."""


# ---------------------------------------------------------------- discovery


def chapters() -> dict[str, Path]:
    """Chapter name -> notebook source, in book order: by number, the report last (it gathers the others)."""
    found = {p.stem: p for p in sorted(paths.notebooks_dir().glob("[0-9][0-9]_*.md"))}
    if REPORT in found:
        found[REPORT] = found.pop(REPORT)
    return found


def chapter_path(chapter: str) -> Path:
    found = chapters()
    if chapter not in found:
        raise ChapterError(f"unknown chapter {chapter!r}; chapters are: {', '.join(found) or '(none)'}")
    return found[chapter]


def _parameters_cell(source: str) -> str:
    import jupytext

    nb = jupytext.reads(source, fmt="md:myst")
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ChapterError(f"a chapter needs exactly one cell tagged 'parameters', found {len(cells)}")
    return cells[0].source


def read_parameters(chapter: str) -> dict[str, dict]:
    """``{name: {"default": value, "type": type name, "help": comment}}`` from the parameters cell.

    Only plain ``name = <literal>`` assignments are allowed, so defaults can be read without running code.
    """
    src = _parameters_cell(chapter_path(chapter).read_text())
    lines = src.splitlines()
    out: dict[str, dict] = {}
    for node in ast.parse(src).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            raise ChapterError(f"{chapter}: the parameters cell may only hold 'name = literal' lines "
                               f"(line {node.lineno})")
        try:
            value = ast.literal_eval(node.value)
        except ValueError as exc:
            raise ChapterError(f"{chapter}: parameter {node.targets[0].id} is not a literal") from exc
        line = lines[node.end_lineno - 1]
        comment = line.split("#", 1)[1].strip() if "#" in line[node.end_col_offset:] else ""
        out[node.targets[0].id] = {"default": value, "type": type(value).__name__, "help": comment}
    if "profile" not in out:
        raise ChapterError(f"{chapter}: the parameters cell must define profile = 'paper'")
    return out


def profiles() -> list[str]:
    return [PAPER] + sorted(p.stem for p in (paths.notebooks_dir() / "profiles").glob("*.yaml"))


def load_profile(profile: str) -> dict[str, dict]:
    """Per-chapter overrides of a profile, validated against the chapters' parameters."""
    if profile == PAPER:
        return {}
    path = paths.notebooks_dir() / "profiles" / f"{profile}.yaml"
    if not path.exists():
        raise ChapterError(f"unknown profile {profile!r}; profiles are: {', '.join(profiles())}")
    spec = yaml.safe_load(path.read_text()) or {}
    if not isinstance(spec, dict):
        raise ChapterError(f"{path.name}: expected a mapping of chapter -> parameters")
    for chapter, overrides in spec.items():
        params = read_parameters(chapter)  # raises for an unknown chapter
        for name, value in (overrides or {}).items():
            _check_value(chapter, name, value, params)
    return {ch: dict(v or {}) for ch, v in spec.items()}


# ---------------------------------------------------------------- parameters


def _type_ok(value, default) -> bool:
    if default is None or value is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    if isinstance(default, list | tuple):
        return isinstance(value, list | tuple)
    return isinstance(value, type(default))


def _check_value(chapter: str, name: str, value, params: dict) -> None:
    if name in RESERVED:
        raise ChapterError(f"{chapter}: parameter {name!r} is set by the runner (use --profile)")
    if name not in params:
        valid = ", ".join(p for p in params if p not in RESERVED)
        raise ChapterError(f"{chapter}: unknown parameter {name!r}; parameters are: {valid}")
    default = params[name]["default"]
    if not _type_ok(value, default):
        raise ChapterError(f"{chapter}: parameter {name!r} expects {type(default).__name__} "
                           f"(default {default!r}), got {value!r}")


def parse_assignment(text: str) -> tuple[str, object]:
    """``name=value`` from the command line. The value is read as a Python literal when it is one
    (``3``, ``0.1``, ``[24, 14]``, ``True``), else as a plain string (``path/to/file.csv``)."""
    if "=" not in text:
        raise ChapterError(f"-p expects name=value, got {text!r}")
    name, raw = text.split("=", 1)
    name = name.strip()
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    if raw.strip().lower() in ("true", "false"):
        value = raw.strip().lower() == "true"
    return name, value


def resolve(chapter: str, profile: str = PAPER, overrides: dict | None = None) -> dict:
    """Defaults <- profile <- overrides, type-checked; ``profile`` is the run label."""
    params = read_parameters(chapter)
    resolved = {k: v["default"] for k, v in params.items()}
    resolved.update(load_profile(profile).get(chapter, {}))
    for name, value in (overrides or {}).items():
        _check_value(chapter, name, value, params)
        if isinstance(params[name]["default"], float) and isinstance(value, int):
            value = float(value)
        resolved[name] = value
    return resolved


def run_label(profile: str, overrides: dict | None, label: str | None = None) -> str:
    if label:
        return label
    if not overrides:
        return profile
    digest = hashlib.sha256(json.dumps(overrides, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return f"{profile}+{digest}"


# ---------------------------------------------------------------- fingerprints and execution


def _imported_modules(source: str, package: str | None) -> set[str]:
    """``landscape`` modules a piece of code imports (absolute or, inside the package, relative)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("landscape.")}
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level == 0 and mod == "landscape" or node.level == 1 and package and not mod:
                found |= {a.name for a in node.names}
            elif node.level == 0 and mod.startswith("landscape."):
                found.add(mod.split(".")[1])
            elif node.level == 1 and package and mod:
                found.add(mod.split(".")[0])
    return found


def library_modules(chapter: str) -> list[Path]:
    """The library files a chapter depends on: what its code cells import, closed under the modules' own
    imports (plus ``__init__``). Only these enter the chapter's fingerprint, so editing the Hessian code does not
    re-execute a chapter that never touches it."""
    import jupytext

    lib = paths.root() / "lib" / "landscape"
    nb = jupytext.reads(chapter_path(chapter).read_text(), fmt="md:myst")
    code = "\n".join(c.source for c in nb.cells
                     if c.cell_type == "code" and not c.source.lstrip().startswith(("%", "!")))
    todo, seen = _imported_modules(code, None), {"__init__"}
    while todo:
        name = todo.pop()
        path = lib / f"{name}.py"
        if name in seen or not path.exists():
            continue
        seen.add(name)
        todo |= _imported_modules(path.read_text(), "landscape")
    return sorted(lib / f"{name}.py" for name in seen)


def library_digest(chapter: str | None = None) -> str:
    """Hash of the library code ``chapter`` depends on (all of it when ``chapter`` is None)."""
    files = library_modules(chapter) if chapter else sorted((paths.root() / "lib" / "landscape").rglob("*.py"))
    h = hashlib.sha256()
    for p in files:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def fingerprint(chapter: str, params: dict) -> str:
    h = hashlib.sha256()
    h.update(chapter_path(chapter).read_bytes())
    h.update(json.dumps(params, sort_keys=True, default=str).encode())
    h.update(library_digest(chapter).encode())
    if chapter == REPORT:
        label = params["profile"]
        for p in sorted((paths.results_root() / label).glob("*/claims.csv")):
            h.update(p.parent.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()


_GLUE_ROLE = re.compile(r"\{glue(?::(?:text|any|md|figure|math))?\}`([^`:]+)(?::[^`]*)?`")
_NUMPY_REPR = re.compile(r"^np\.(float|int|uint|bool_)\w*\(")
_GLUE_DIRECTIVE = re.compile(r"^```\{glue(?::figure|:math|:md|:any)?\}\s+(\S+)", re.M)


def check_notebook(path: str | Path) -> list[str]:
    """Problems of an executed notebook: error outputs, and glue keys the prose uses but the run never glued."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    problems, glued, used = [], set(), set()
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            used.update(_GLUE_ROLE.findall(cell.source))
            used.update(_GLUE_DIRECTIVE.findall(cell.source))
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                problems.append(f"cell {i}: {out.get('ename')}: {out.get('evalue')}")
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                glued.add(name)
                text = "".join(out.get("data", {}).get(out["metadata"]["scrapbook"].get("mime_prefix", "")
                                                       + "text/plain", ""))
                if _NUMPY_REPR.match(text):
                    problems.append(f"glue key {name!r} holds a numpy scalar ({text[:30]}); glue float()/int() "
                                    f"so that a format spec like :.2f works")
    problems += [f"glue key {k!r} is used in the prose but never glued" for k in sorted(used - glued)]
    return problems


def executed_dir(label: str) -> Path:
    return paths.root() / "book" / "_executed" / label


def execute(chapter: str, profile: str = PAPER, overrides: dict | None = None, *, label: str | None = None,
            force: bool = False, progress: bool = True, log=print) -> Path:
    """Execute one chapter with Papermill (unless its stamp is current) and return the executed notebook."""
    import jupytext
    import papermill

    label = run_label(profile, overrides, label)
    params = resolve(chapter, profile, overrides)
    params["profile"] = label
    out_dir = executed_dir(label)
    out = out_dir / f"{chapter}.ipynb"
    stamp = out.with_suffix(".stamp.json")
    fp = fingerprint(chapter, params)
    if not force and out.exists() and stamp.exists() and json.loads(stamp.read_text()).get("fingerprint") == fp:
        log(f"[landscape] {chapter} ({label}): up to date")
        return out
    out_dir.mkdir(parents=True, exist_ok=True)
    nb = jupytext.read(chapter_path(chapter))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    tmp = out_dir / f".{chapter}.running.ipynb"
    env_backend = os.environ.pop("MPLBACKEND", None)  # kernels must keep the inline backend (figures!)
    log(f"[landscape] {chapter} ({label}): executing with {json.dumps(params, default=str)}")
    t0 = time.time()
    try:
        papermill.execute_notebook(nb, str(tmp), parameters=params, kernel_name="python3",
                                   cwd=str(paths.root()), progress_bar=progress, log_output=False)
    except BaseException:
        if tmp.exists():
            tmp.replace(out_dir / f"{chapter}.failed.ipynb")
        log(f"[landscape] {chapter} failed; the partial notebook is {out_dir / (chapter + '.failed.ipynb')}")
        raise
    finally:
        if env_backend is not None:
            os.environ["MPLBACKEND"] = env_backend
    _tidy_parameter_cells(tmp)
    tmp.replace(out)
    for problem in check_notebook(out):
        log(f"[landscape] warning: {chapter}: {problem}")
    seconds = time.time() - t0
    stamp.write_text(json.dumps({"fingerprint": fp, "parameters": params, "seconds": round(seconds, 1)},
                                indent=1, default=str))
    log(f"[landscape] {chapter} ({label}): done in {seconds:.1f} s -> {out.relative_to(paths.root())}")
    return out


def _tidy_parameter_cells(path: Path) -> None:
    """In the rendered page, the values a run used matter, not the defaults they replaced: drop the defaults cell
    and fold the injected-parameters cell (its source stays one click away)."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags:
            tags.append("hide-input")
            cell.source = "# Parameters of this run (defaults, then profile and -p overrides)\n" + \
                cell.source.split("\n", 1)[-1]
        elif "parameters" in tags:
            tags.append("remove-cell")
    nbformat.write(nb, str(path))


def execute_all(profile: str = PAPER, *, force: bool = False, progress: bool = True, log=print) -> list[Path]:
    """Every chapter in book order (the report last: it gathers the others' claims)."""
    return [execute(c, profile, force=force, progress=progress, log=log) for c in chapters()]


def _sync(src: Path, dst: Path) -> None:
    """Copy only when the content differs, so Sphinx sees no change on a no-op rebuild."""
    if dst.exists() and dst.read_bytes() == src.read_bytes():
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


MATHJAX_WHEEL = "django-static-mathjax==3.2.2.1"  # MathJax 3.2.2's es5 bundle, as a plain PyPI wheel


def ensure_mathjax(log=print) -> Path:
    """Serve MathJax from the book (``book/_static/mathjax``) instead of a CDN, so the HTML renders offline.

    The files come from the PyPI wheel ``django-static-mathjax`` (no dependencies; only its ``es5`` folder is used),
    downloaded once into ``.cache/`` by pip, the one client a fresh machine is sure to have.
    """
    import zipfile

    dest = paths.root() / "book" / "_static" / "mathjax"
    if (dest / "tex-mml-chtml.js").exists():
        return dest
    cache = paths.root() / ".cache" / "mathjax"
    wheels = sorted(cache.glob("django_static_mathjax-*.whl"))
    if not wheels:
        log(f"[landscape] fetching MathJax ({MATHJAX_WHEEL}) from the package index")
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(cache),
                        MATHJAX_WHEEL], check=True)
        wheels = sorted(cache.glob("django_static_mathjax-*.whl"))
    prefix = "mathjax/static/mathjax/es5/"
    tmp = dest.with_name("mathjax.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    with zipfile.ZipFile(wheels[-1]) as z:
        for name in z.namelist():
            if name.startswith(prefix) and not name.endswith("/"):
                target = tmp / name[len(prefix):]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(z.read(name))
    tmp.replace(dest)
    return dest


def build_book(profile: str = PAPER, *, force: bool = False, progress: bool = True, mathjax: bool = True,
               log=print) -> Path:
    """Execute what changed, place the executed notebooks under ``book/chapters/`` and run Jupyter Book (-W)."""
    if mathjax:
        ensure_mathjax(log)
    executed = execute_all(profile, force=force, progress=progress, log=log)
    dest = paths.root() / "book" / "chapters"
    keep = {p.name for p in executed}
    for p in executed:
        _sync(p, dest / p.name)
    for stale in dest.glob("*.ipynb"):
        if stale.name not in keep:
            stale.unlink()
    cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(paths.root()), "-W", "-n",
           "--keep-going"]
    log("[landscape] " + " ".join(cmd))
    subprocess.run(cmd, check=True, cwd=paths.root())
    html = paths.root() / "_build" / "html" / "index.html"
    log(f"[landscape] book ({profile}) at {html}")
    return html
