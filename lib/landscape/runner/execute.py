"""Execute one chapter with Papermill (unless its stamp is current), check the executed notebook, and stamp it."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from pathlib import Path

from landscape.infra import paths
from landscape.infra.cache import atomic_write
from landscape.runner import pages
from landscape.runner.chapters import PAPER, REPORT, chapter_path, chapters, check_label, resolve, run_label
from landscape.runner.fingerprint import fingerprint


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


class RunError(RuntimeError):
    """A chapter's notebook failed; the message names the failing cell and where the partial notebook is."""


def executed_dir(label: str) -> Path:
    return paths.executed_root() / check_label(label)


def failed_path(label: str, chapter: str) -> Path:
    """Where the partial notebook of a failed run goes: ``book/_executed/_failed/<label>/<chapter>.ipynb``."""
    return paths.executed_root() / "_failed" / check_label(label) / f"{chapter}.ipynb"


def _read_stamp(stamp: Path) -> dict:
    try:
        return json.loads(stamp.read_text())
    except (OSError, ValueError):
        return {}


def _plan(chapter: str, profile: str, overrides: dict | None, label: str | None):
    """The resolved values of a run, the ``-p`` values as given, its label, notebook, stamp and fingerprint."""
    params = resolve(chapter, profile, overrides)
    checked = {name: params[name] for name in overrides or {}}
    label = run_label(profile, overrides, label)  # of the values as given, as `sweep` and users compute it
    params["profile"] = label
    out = executed_dir(label) / f"{chapter}.ipynb"
    return params, checked, label, out, out.with_suffix(".stamp.json"), fingerprint(chapter, params)


def _current(out: Path, stamp: Path, fp: str) -> bool:
    return out.exists() and _read_stamp(stamp).get("fingerprint") == fp


def execute(chapter: str, profile: str = PAPER, overrides: dict | None = None, *, label: str | None = None,
            force: bool = False, progress: bool = True, log=print) -> Path:
    """Execute one chapter with Papermill (unless its stamp is current) and return the executed notebook.

    Every value is checked before a kernel starts (:func:`resolve`). The run writes into a fresh staging folder
    (its notebook and its tables); only on success are they moved into ``book/_executed/<label>/`` and
    ``data/results/<label>/<chapter>/`` (replacing the previous run's), and the stamp is written last. A failed
    run changes nothing there: its partial notebook goes to :func:`failed_path` and :class:`RunError` names it.
    """
    params, checked, label, out, stamp, fp = _plan(chapter, profile, overrides, label)
    if not force and _current(out, stamp, fp):
        log(f"[landscape] {chapter} ({label}): up to date")
        return out
    staging = paths.executed_root() / "_staging" / f"{label}.{chapter}.{uuid.uuid4().hex[:12]}"
    staging.mkdir(parents=True)
    try:
        log(f"[landscape] {chapter} ({label}): executing with {json.dumps(params, default=str)}")
        t0 = time.time()
        _run_papermill(chapter, params, staging, label, progress)
        seconds = time.time() - t0
        command = pages.rerun_command(chapter, profile, checked, label if label != run_label(
            profile, overrides) else None)
        pages.finish_page(staging / "notebook.ipynb", box=pages.rerun_box(chapter, command),
                          footer=pages.provenance(label, profile, params, seconds))
        _publish(staging, out, stamp, chapter, label, {"fingerprint": fp, "parameters": params,
                                                        "seconds": round(seconds, 1)})
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        with contextlib.suppress(OSError):
            staging.parent.rmdir()  # only when no other run is staging
    for problem in check_notebook(out):
        log(f"[landscape] warning: {chapter}: {problem}")
    log(f"[landscape] {chapter} ({label}): done in {seconds:.1f} s -> {out.relative_to(paths.root())}")
    return out


def _run_papermill(chapter: str, params: dict, staging: Path, label: str, progress: bool) -> None:
    """Execute into ``staging/notebook.ipynb`` with tables going to ``staging/results``; on failure move the
    partial notebook to :func:`failed_path` and raise :class:`RunError`."""
    import jupytext
    import papermill

    nb = jupytext.read(chapter_path(chapter))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    tmp = staging / "notebook.ipynb"
    # kernels must keep the inline backend (figures!); tables go to the staging folder
    env = paths.environment(MPLBACKEND=None, LANDSCAPE_STAGING=staging / "results")
    # Papermill's own parameter inference counts '=' signs and warns about rule comments such as 'int >= 1'
    # ("Unable to parse line", "Passed unknown parameter"); the runner has checked every value already.
    pm_logger = logging.getLogger("papermill")
    pm_level = pm_logger.level
    pm_logger.setLevel(logging.ERROR)
    try:
        with env:
            papermill.execute_notebook(nb, str(tmp), parameters=params, kernel_name="python3",
                                       cwd=str(paths.root()), progress_bar=progress, log_output=False)
    except BaseException as exc:
        failed = failed_path(label, chapter)
        if tmp.exists():
            failed.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(tmp), str(failed))
        where = failed.relative_to(paths.root()) if failed.exists() else "(no notebook was written)"
        if isinstance(exc, papermill.PapermillExecutionError):
            raise RunError(f"{chapter} ({label}) failed in cell [{exc.exec_count}]: {exc.ename}: "
                           f"{str(exc.evalue).splitlines()[0] if exc.evalue else ''}; nothing was published; "
                           f"the failed notebook is {where}") from None
        raise
    finally:
        pm_logger.setLevel(pm_level)


def _publish(staging: Path, out: Path, stamp: Path, chapter: str, label: str, record: dict) -> None:
    """Move a successful run into place: old stamp out first, tables (the whole folder), notebook, stamp last."""
    stamp.unlink(missing_ok=True)
    dest = paths.results_root() / label / chapter
    new = staging / "results" / label / chapter
    trash = dest.with_name(f".{chapter}.old.{uuid.uuid4().hex[:12]}")
    if dest.exists():
        os.replace(dest, trash)
    if new.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(new), str(dest))
    shutil.rmtree(trash, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging / "notebook.ipynb", out)
    failed_path(label, chapter).unlink(missing_ok=True)
    with atomic_write(stamp, "w") as f:
        json.dump(record, f, indent=1, default=str)


def _execute_unit(root: str, chapter: str, profile: str, force: bool) -> tuple[str | None, str | None]:
    """One chapter in a worker process: ``(notebook path, None)`` or ``(None, the one-line error)``."""
    with paths.rooted(root):
        try:
            return str(execute(chapter, profile, force=force, progress=False)), None
        except RunError as exc:
            return None, str(exc)


def _last_seconds(chapter: str, profile: str) -> float:
    """The run time the chapter's stamp recorded last time (0 if none): longest chapters are started first."""
    return float(_read_stamp(executed_dir(profile) / f"{chapter}.stamp.json").get("seconds") or 0.0)


def execute_all(profile: str = PAPER, *, force: bool = False, progress: bool = True, log=print,
                jobs: int | str | None = 1) -> list[Path]:
    """Every chapter, the report last (it gathers the others' claims); in book order.

    With ``jobs > 1`` (``None``: ``$LANDSCAPE_JOBS``; ``"all"``: every core) the chapters before the report run in
    that many worker processes at once, the longest last time first; each is an ordinary :func:`execute` (its own
    kernel, staging folder and stamp), so the result is the same as a serial build. A failed chapter does not
    stop the others; the first failure is raised once all have finished.
    """
    from landscape.infra.executor import map_units, resolve_jobs

    names = chapters()
    body = [c for c in names if c != REPORT]
    plans = {c: _plan(c, profile, None, None) for c in body}
    stale = [c for c in body if force or not _current(*plans[c][3:])]
    n_jobs = min(resolve_jobs(jobs), max(len(stale), 1))
    if n_jobs == 1:  # also when at most one chapter needs running: no worker processes to start
        return [execute(c, profile, force=force, progress=progress, log=log) for c in names]
    done = {}
    for c in body:
        if c not in stale:
            log(f"[landscape] {c} ({plans[c][2]}): up to date")
            done[c] = (str(plans[c][3]), None)
    order = sorted(stale, key=lambda c: -_last_seconds(c, profile))
    log(f"[landscape] {len(order)} chapters on {n_jobs} worker processes: {', '.join(order)}")
    done.update(zip(order, map_units(_execute_unit, [(str(paths.root()), c, profile, force) for c in order],
                                     jobs=n_jobs, star=True, progress=False), strict=True))
    errors = [err for c in body for _, err in [done[c]] if err]
    if errors:
        for err in errors[1:]:
            log(f"[landscape] {err}")
        raise RunError(errors[0])
    out = [Path(done[c][0]) for c in body]
    if REPORT in names:
        out.append(execute(REPORT, profile, force=force, progress=progress, log=log))
    return out
