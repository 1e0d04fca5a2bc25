"""Execute one chapter with Papermill (unless its stamp is current), check the executed notebook, and stamp it."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

from .. import paths
from .chapters import PAPER, chapter_path, chapters, resolve, run_label
from .fingerprint import fingerprint


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
