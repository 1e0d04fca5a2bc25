"""Execute one chapter with Papermill (unless its stamp is current), check the executed notebook, and stamp it."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from landscape.infra import paths
from landscape.infra.cache import atomic_write
from landscape.infra.executor import JOBS_ENV
from landscape.runner import pages
from landscape.runner.chapters import (
    PAPER,
    REPORT,
    ChapterError,
    chapter_path,
    chapters,
    check_label,
    resolve,
    run_label,
)
from landscape.runner.fingerprint import fingerprint, library_modules
from landscape.runner.logs import configure, configured_level, emitter

_NUMPY_REPR = re.compile(r"^np\.(float|int|uint|bool_)\w*\(")
_GLUE_DIRECTIVE = re.compile(r"^```\{glue(?::figure|:math|:md|:any)?\}\s+(\S+)", re.M)
_GLUE_ROLE = re.compile(r"\{glue(?::(?:text|any|md|figure|math))?\}`([^`]*)`")  # key[:format] between backticks


def check_notebook(path: str | Path) -> list[str]:
    """Problems of an executed notebook: error outputs, glue keys the prose uses but the run never glued, keys
    glued twice, and glue roles that lost their closing backtick (myst-nb's ``-W`` build fails on each; this says so
    before Sphinx runs).

    Parameters
    ----------
    path : str or Path
        An executed ``.ipynb``.

    Returns
    -------
    list of str
        One line per problem (empty: none).
    """
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    problems, glued, used = [], set(), set()
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            for span in _GLUE_ROLE.findall(cell.source):
                if re.search(r"\s|\{", span):  # a key or format never holds these: the role swallowed prose
                    problems.append(f"cell {i}: glue role `{span[:40]}...` runs on into the prose (a missing "
                                    "closing backtick)")
                else:
                    used.add(span.split(":")[0])
            used.update(_GLUE_DIRECTIVE.findall(cell.source))
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                problems.append(f"cell {i}: {out.get('ename')}: {out.get('evalue')}")
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                if name in glued:
                    problems.append(f"cell {i}: glue key {name!r} is glued twice (a glue inside a loop?)")
                glued.add(name)
                text = "".join(out.get("data", {}).get(out["metadata"]["scrapbook"].get("mime_prefix", "")
                                                       + "text/plain", ""))
                if _NUMPY_REPR.match(text):
                    problems.append(f"glue key {name!r} holds a numpy scalar ({text[:30]}); glue float()/int() "
                                    f"so that a format spec like :.2f works")
    problems += [f"glue key {k!r} is used in the prose but never glued" for k in sorted(used - glued)]
    return problems


class RunError(RuntimeError):
    """A chapter's notebook failed, or its results could not be published; the message names the failing cell
    and where the partial notebook is.
    """


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run: nothing was published; the message says where the partial notebook went."""


def executed_dir(label: str) -> Path:
    """``book/_executed/<label>/``: the executed notebooks and stamps of one label.

    Parameters
    ----------
    label : str
        A run label (:func:`landscape.runner.check_label`).

    Returns
    -------
    Path
    """
    return paths.executed_root() / check_label(label)


def failed_path(label: str, chapter: str) -> Path:
    """Where the partial notebook of a failed run goes: ``book/_executed/_failed/<label>/<chapter>.ipynb``.

    Parameters
    ----------
    label : str
        A run label.
    chapter : str
        A chapter name.

    Returns
    -------
    Path
    """
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
    params["chapter"] = chapter
    out = executed_dir(label) / f"{chapter}.ipynb"
    return params, checked, label, out, out.with_suffix(".stamp.json"), fingerprint(chapter, params)


def _results_dir(label: str, chapter: str) -> Path:
    return paths.results_root() / label / chapter


def _tables(folder: Path) -> dict[str, str]:
    """``{path relative to folder: sha256}`` of every file a run published (none when the folder is missing)."""
    from landscape.infra.cache import file_sha256

    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): file_sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def _current(out: Path, stamp: Path, fp: str, figures: bool = True) -> bool:
    """The published run is the answer: notebook there, stamp with this fingerprint, drawn figures when they are
    asked for (a run without them never stands in for one with them, nor the other way), and every table the stamp
    lists present with the content it recorded (a stamp of an older runner, without the list, needs the
    results folder to exist).
    """
    record = _read_stamp(stamp)
    if not out.exists() or record.get("fingerprint") != fp or record.get("figures", True) != figures:
        return False
    folder = _results_dir(out.parent.name, out.name.removesuffix(".ipynb"))
    tables = record.get("tables")
    if tables is None:
        return folder.is_dir()
    from landscape.infra.cache import file_sha256

    return all((folder / name).is_file() and file_sha256(folder / name) == digest for name, digest in tables.items())


def _probe(folder: Path) -> None:
    """Raise :class:`ChapterError` unless a file can be created in ``folder`` (or, when it does not exist yet, in
    its nearest existing parent, where it would be created).
    """
    where = folder
    while not where.exists() and where != where.parent:
        where = where.parent
    try:
        with tempfile.TemporaryFile(dir=where, prefix=".landscape-probe-"):
            pass
    except OSError as exc:
        rel = where.relative_to(paths.root()) if where.is_relative_to(paths.root()) else where
        raise ChapterError(f"cannot write {rel}/ ({exc.strerror or exc}); nothing was run") from None


def check_writable(label: str, chapter: str | None = None) -> None:
    """Fail before anything runs when a run under ``label`` could not publish: the results folder
    (``data/results/<label>/[<chapter>/]``) and the executed notebooks' folder (``book/_executed/``, where the
    run stages and ``<label>/``) must accept new files.

    Parameters
    ----------
    label : str
        A run label.
    chapter : str or None
        A chapter name (its own results folder is probed too when it exists).

    Raises
    ------
    ChapterError
        One line naming the folder that is not writable.
    """
    folders = [paths.results_root() / check_label(label), paths.executed_root(), executed_dir(label)]
    if chapter is not None and _results_dir(label, chapter).exists():
        folders.append(_results_dir(label, chapter))
    for folder in folders:
        _probe(folder)


def execute(chapter: str, profile: str = PAPER, overrides: dict | None = None, *, label: str | None = None,
            force: bool = False, progress: bool = True, log=None, jobs: int | str | None = None,
            figures: bool = True) -> Path:
    """Execute one chapter with Papermill (unless its stamp is current) and return the executed notebook.

    Every value is checked before a kernel starts (:func:`resolve`), and so are the folders the run publishes
    into (:func:`check_writable`). The run writes into a fresh staging folder (its notebook and its tables);
    only on success are they moved into ``book/_executed/<label>/`` and ``data/results/<label>/<chapter>/``
    (replacing the previous run's), and the stamp, which lists every published table by content, is written
    last. A failed run changes nothing there: its partial notebook goes to :func:`failed_path` and
    :class:`RunError` names it. "Up to date" means the notebook, the stamp's fingerprint and every table the
    stamp lists are there as published. The kernel gets the chapter's name as the parameter ``chapter`` and its
    label as ``profile``.

    Parameters
    ----------
    chapter : str
        A chapter name.
    profile : str
        ``"paper"`` or a profile of ``notebooks/profiles/``.
    overrides : dict or None
        ``-p`` values (checked against the chapter's rules).
    label : str or None
        The run label (default: :func:`run_label`).
    force : bool
        Execute even when the published run is current.
    progress : bool
        Show Papermill's per-cell progress bar.
    log : callable or None
        Receives each message as a string; None logs to ``landscape.runner`` (:mod:`landscape.runner.logs`).
    jobs : int, str or None
        Worker processes for the units inside the chapter (``LANDSCAPE_JOBS`` of the kernel; ``"all"`` = one
        per core; None: inherited). The numbers do not depend on it.
    figures : bool, default True
        Draw the figures into the notebook. ``False``: every figure is still built and laid out, texts and
        mathtext included (a label that cannot be drawn still fails the run), but never rasterised
        (:mod:`landscape.runner.figure_check`), which saves about two thirds of each figure's cost; the tables and
        claims are the same. The stamp records it, so such a run is never taken for an up-to-date run with
        figures (the book build re-executes it).

    Returns
    -------
    Path
        The executed notebook, ``book/_executed/<label>/<chapter>.ipynb``.
    """
    say = emitter(log)
    if jobs is not None:
        from landscape.infra.executor import resolve_jobs

        try:
            resolve_jobs(jobs)
        except ValueError as exc:
            raise ChapterError(f"--jobs: {exc}") from None
    params, checked, label, out, stamp, fp = _plan(chapter, profile, overrides, label)
    if not force and _current(out, stamp, fp, figures):
        say(f"{chapter} ({label}): up to date")
        return out
    check_writable(label, chapter)
    staging = paths.executed_root() / "_staging" / f"{label}.{chapter}.{uuid.uuid4().hex[:12]}"
    staging.mkdir(parents=True)
    try:
        say(f"{chapter} ({label}): executing with {json.dumps(params, default=str)}")
        say(f"{chapter}: fingerprint {fp[:12]} over {len(library_modules(chapter))} library files", logging.DEBUG)
        t0 = time.time()
        _run_papermill(chapter, params, staging, label, progress, jobs, figures)
        seconds = time.time() - t0
        command = pages.rerun_command(chapter, profile, checked, label if label != run_label(
            profile, overrides) else None)
        pages.finish_page(staging / "notebook.ipynb", box=pages.rerun_box(chapter, command),
                          footer=pages.provenance(label, profile, params, seconds))
        record = {"fingerprint": fp, "figures": figures, "parameters": params, "seconds": round(seconds, 1),
                  "tables": _tables(staging / "results" / label / chapter)}
        try:
            _publish(staging, out, stamp, chapter, label, record)
        except OSError as exc:
            failed = failed_path(label, chapter)
            with contextlib.suppress(OSError):
                failed.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(staging / "notebook.ipynb"), str(failed))
            where = failed.relative_to(paths.root()) if failed.exists() else "(the notebook could not be kept)"
            raise RunError(f"{chapter} ({label}) ran but could not be published ({exc}); the executed notebook "
                           f"is {where}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        with contextlib.suppress(OSError):
            staging.parent.rmdir()  # only when no other run is staging
    for problem in check_notebook(out):
        say(f"{chapter}: {problem}", logging.WARNING)
    say(f"{chapter} ({label}): done in {seconds:.1f} s -> {out.relative_to(paths.root())}")
    return out


# Kernel start-up chatter that says nothing about the chapter: ipykernel's "Kernel is running over TCP without
# encryption" warning (the kernel talks to this process on localhost only) and its log lines when a run is
# interrupted. The chapter's own output, errors included, reaches the notebook through the messaging protocol.
_QUIET_KERNEL = ["--IPKernelApp.log_level=CRITICAL"]
# Every kernel ends without Python's teardown of its modules (landscape.runner.kernel_exit): ~1 s of CPU per run
_KERNEL_EXIT = ["--IPKernelApp.exec_lines=__import__('landscape.runner.kernel_exit', fromlist=['install']).install()"]
# Figures built and laid out but not drawn (landscape.runner.figure_check)
_FIGURE_CHECK = "module://landscape.runner.figure_check"


#: During a run the executed notebook is written when it starts, then at most this often (seconds), and always at
#: its end, error and Ctrl-C included. Papermill writes it at the start and end of every cell (~160 writes of the
#: whole notebook, its figures included, for a chapter): a third of a smoke run's time went to serialising it.
SAVE_EVERY = 10.0

_ENGINE = "landscape"


@functools.cache
def _register_engine() -> None:
    """Register papermill's nbclient engine with the writes of :data:`SAVE_EVERY` as the engine ``"landscape"``
    (once per process).
    """
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

    class ThrottledSaves(NotebookExecutionManager):
        written = False

        def save(self, **kwargs):
            if (self.written and self.end_time is None
                    and (self.now() - self.last_save_time).total_seconds() < SAVE_EVERY):
                return  # a cell started or ended: after the first write, at most every SAVE_EVERY seconds
            super().save(**kwargs)
            self.written = self.output_path is not None

    class Engine(NBClientEngine):
        @classmethod
        def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False,
                             autosave_cell_every=30, **kwargs):
            # papermill 2.x's Engine.execute_notebook with the manager above
            nb_man = ThrottledSaves(nb, output_path=output_path, progress_bar=progress_bar, log_output=log_output,
                                    autosave_cell_every=autosave_cell_every)
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()  # end_time set: always written
            return nb_man.nb

    papermill_engines.register(_ENGINE, Engine)


def _run_papermill(chapter: str, params: dict, staging: Path, label: str, progress: bool,
                   jobs: int | str | None = None, figures: bool = True) -> None:
    """Execute into ``staging/notebook.ipynb`` with tables going to ``staging/results``; on failure move the
    partial notebook to :func:`failed_path` and raise :class:`RunError` (:class:`Interrupted` for Ctrl-C).
    """
    import jupytext
    import papermill

    nb = jupytext.read(chapter_path(chapter))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    tmp = staging / "notebook.ipynb"
    # kernels must keep the inline backend (figures!) unless figures are not drawn; tables go to the staging folder
    env = {"MPLBACKEND": None if figures else _FIGURE_CHECK, "LANDSCAPE_STAGING": staging / "results"}
    if jobs is not None:
        env[JOBS_ENV] = str(jobs)
    verbose = logging.getLogger("landscape.runner").isEnabledFor(logging.DEBUG)
    # Papermill's own parameter inference counts '=' signs and warns about rule comments such as 'int >= 1'
    # ("Unable to parse line", "Passed unknown parameter"); the runner has checked every value already.
    pm_logger = logging.getLogger("papermill")
    pm_level = pm_logger.level
    if not verbose:
        pm_logger.setLevel(logging.ERROR)
    try:
        with paths.environment(**env):
            _register_engine()
            papermill.execute_notebook(nb, str(tmp), parameters=params, kernel_name="python3", engine_name=_ENGINE,
                                       cwd=str(paths.root()), progress_bar=progress, log_output=False,
                                       extra_arguments=_KERNEL_EXIT + ([] if verbose else _QUIET_KERNEL))
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
        if isinstance(exc, KeyboardInterrupt) and not isinstance(exc, Interrupted):
            raise Interrupted(f"{chapter} ({label}) interrupted; nothing was published; the partial notebook is "
                              f"{where}") from None
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


def _execute_unit(root: str, chapter: str, profile: str, force: bool,
                  level: int | None = None, figures: bool = True) -> tuple[str | None, str | None]:
    """One chapter in a worker process: ``(notebook path, None)`` or ``(None, the one-line error)``; its messages
    go through a handler like the caller's when the caller configured one (``level``).
    """
    if level is not None and configured_level() != level:
        configure(level)
    with paths.rooted(root):
        try:
            return str(execute(chapter, profile, force=force, progress=False, figures=figures)), None
        except RunError as exc:
            return None, str(exc)


def _abandon_staging(label: str, chapters_: list[str]) -> None:
    """After Ctrl-C stopped worker processes (which may not reach their own clean-up): each staging folder of
    these chapters under ``label`` gives its partial notebook to :func:`failed_path` and is removed.
    """
    staging = paths.executed_root() / "_staging"
    for chapter in chapters_:
        for folder in staging.glob(f"{label}.{chapter}.*"):
            with contextlib.suppress(OSError):
                if (folder / "notebook.ipynb").exists():
                    failed_path(label, chapter).parent.mkdir(parents=True, exist_ok=True)
                    shutil.move(str(folder / "notebook.ipynb"), str(failed_path(label, chapter)))
            shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(OSError):
        staging.rmdir()


def _last_seconds(chapter: str, profile: str) -> float:
    """The run time the chapter's stamp recorded last time (0 if none): longest chapters are started first."""
    return float(_read_stamp(executed_dir(profile) / f"{chapter}.stamp.json").get("seconds") or 0.0)


def _draws(figures, chapter: str) -> bool:
    """Whether ``chapter`` draws its figures under ``figures`` (True: every chapter; False: none; a collection of
    chapter names: those).

    Parameters
    ----------
    figures : bool or collection of str
        As :func:`execute_all`.
    chapter : str
        A chapter name.

    Returns
    -------
    bool

    Examples
    --------
    >>> _draws(True, "02_diffusion_maps"), _draws({"01_trajectories"}, "02_diffusion_maps")
    (True, False)
    """
    if isinstance(figures, bool):
        return figures
    if isinstance(figures, str):
        raise ValueError(f"figures must be a bool or a collection of chapter names, got the string {figures!r}")
    return chapter in set(figures)


def execute_all(profile: str = PAPER, *, force: bool = False, progress: bool = True, log=None,
                jobs: int | str | None = 1, figures=True) -> list[Path]:
    """Every chapter, the report last (it gathers the others' claims); in book order.

    With ``jobs > 1`` (``None``: ``$LANDSCAPE_JOBS``; ``"all"``: every core) the chapters before the report run in
    that many worker processes at once, the longest last time first; each is an ordinary :func:`execute` (its own
    kernel, staging folder and stamp), so the result is the same as a serial build. A failed chapter does not
    stop the others; the first failure is raised once all have finished.

    Parameters
    ----------
    profile : str
        ``"paper"`` or a profile of ``notebooks/profiles/``; it is also the label.
    force : bool
        Execute every chapter even when its published run is current.
    progress : bool
        Show Papermill's per-cell progress bar (serial runs only).
    log : callable or None
        Receives each message as a string; None logs to ``landscape.runner``.
    jobs : int, str or None
        Chapters executed at once.
    figures : bool or collection of str, default True
        Which chapters draw their figures (True: every chapter; False: none; a collection of chapter names:
        those); the others lay them out only (:func:`execute`'s ``figures=False``). The test suite's smoke book
        draws one chapter's.

    Returns
    -------
    list of Path
        The executed notebooks, in book order.
    """
    from landscape.infra.executor import map_units, resolve_jobs

    say = emitter(log)
    names = chapters()
    body = [c for c in names if c != REPORT]
    plans = {c: _plan(c, profile, None, None) for c in body}
    stale = [c for c in body if force or not _current(*plans[c][3:], _draws(figures, c))]
    n_jobs = min(resolve_jobs(jobs), max(len(stale), 1))
    if stale:
        check_writable(profile)
    if n_jobs == 1:  # also when at most one chapter needs running: no worker processes to start
        return [execute(c, profile, force=force, progress=progress, log=log, figures=_draws(figures, c))
                for c in names]
    done = {}
    for c in body:
        if c not in stale:
            say(f"{c} ({plans[c][2]}): up to date")
            done[c] = (str(plans[c][3]), None)
    order = sorted(stale, key=lambda c: -_last_seconds(c, profile))
    say(f"{len(order)} chapters on {n_jobs} worker processes: {', '.join(order)}")
    level = configured_level() if log is None else None
    try:
        done.update(zip(order, map_units(_execute_unit, [(str(paths.root()), c, profile, force, level,
                                                          _draws(figures, c)) for c in order],
                                         jobs=n_jobs, star=True, progress=False), strict=True))
    except KeyboardInterrupt:
        _abandon_staging(profile, order)
        raise Interrupted(f"interrupted; the chapters in progress published nothing (partial notebooks in "
                          f"{failed_path(profile, 'x').parent.relative_to(paths.root())}/)") from None
    errors = [err for c in body for _, err in [done[c]] if err]
    if errors:
        for err in errors[1:]:
            say(err, logging.ERROR)
        raise RunError(errors[0])
    out = [Path(done[c][0]) for c in body]
    if REPORT in names:
        out.append(execute(REPORT, profile, force=force, progress=progress, log=log,
                           figures=_draws(figures, REPORT)))
    return out
