"""Build the book: execute what changed, place the executed notebooks under ``book/chapters/``, serve MathJax
from the book itself, and run Jupyter Book with ``-W``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

from landscape.infra import paths
from landscape.runner.chapters import PAPER, ChapterError, chapters, resolve
from landscape.runner.execute import _read_stamp, execute_all
from landscape.runner.logs import emitter


def _sync(src: Path, dst: Path) -> None:
    """Copy only when the content differs, so Sphinx sees no change on a no-op rebuild."""
    if dst.exists() and dst.read_bytes() == src.read_bytes():
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


MATHJAX_WHEEL = "django-static-mathjax==3.2.2.1"  # MathJax 3.2.2's es5 bundle, as a plain PyPI wheel


def ensure_mathjax(log=None) -> Path:
    """Serve MathJax from the book (``book/_static/mathjax``) instead of a CDN, so the HTML renders offline.

    The files come from the PyPI wheel ``django-static-mathjax`` (no dependencies; only its ``es5`` folder is used),
    downloaded once into ``.cache/`` by pip, the one client a fresh machine is sure to have.

    Parameters
    ----------
    log : callable or None
        Receives each message as a string; None logs to ``landscape.runner``.

    Returns
    -------
    Path
        ``book/_static/mathjax``.
    """
    import zipfile

    dest = paths.root() / "book" / "_static" / "mathjax"
    if (dest / "tex-mml-chtml.js").exists():
        return dest
    cache = paths.root() / ".cache" / "mathjax"
    wheels = sorted(cache.glob("django_static_mathjax-*.whl"))
    if not wheels:
        emitter(log)(f"fetching MathJax ({MATHJAX_WHEEL}) from the package index")
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


def html_inputs_digest() -> str:
    """Hash of everything Jupyter Book reads: ``_config.yml``, ``_toc.yml``, the files under ``book/`` (the placed
    chapters, the API page, MathJax, the bibliography; not ``book/_executed``), the library sources (the API page
    is generated from their docstrings) and Jupyter Book's version. Equal digests mean the last successful HTML
    build is still the answer, so a no-op rebuild skips Sphinx.

    Returns
    -------
    str
        sha256 hex digest.
    """
    from importlib.metadata import version

    from landscape.infra.cache import file_sha256

    root = paths.root()
    files = [root / "_config.yml", root / "_toc.yml"]
    files += [p for p in (root / "book").rglob("*") if p.is_file() and "_executed" not in p.relative_to(root).parts]
    files += list((root / "lib" / "landscape").rglob("*.py"))
    h = hashlib.sha256(f"jupyter-book {version('jupyter-book')}".encode())
    for p in sorted(set(files)):
        if p.exists():
            h.update(f"{p.relative_to(root).as_posix()}:{file_sha256(p)}".encode())
    return h.hexdigest()


def build_book(profile: str = PAPER, *, force: bool = False, progress: bool = True, mathjax: bool = True,
               log=None, jobs: int | str | None = 1, figures=True) -> Path:
    """Execute what changed, place the executed notebooks under ``book/chapters/`` and run Jupyter Book (-W)
    unless none of its inputs changed since its last successful build (:func:`html_inputs_digest`; ``force``
    rebuilds anyway).

    The profile and every chapter's values are checked first, before anything is fetched or executed. ``jobs``
    chapters execute at once (see :func:`execute_all`).

    Parameters
    ----------
    profile : str
        ``"paper"`` or a profile of ``notebooks/profiles/``.
    force : bool
        Execute every chapter and run Jupyter Book even when nothing changed.
    progress : bool
        Show Papermill's per-cell progress bar.
    mathjax : bool
        Place MathJax under ``book/_static`` first (:func:`ensure_mathjax`).
    log : callable or None
        Receives each message as a string; None logs to ``landscape.runner``.
    jobs : int, str or None
        Chapters executed at once (``"all"``: one per core; None: ``$LANDSCAPE_JOBS``).
    figures : bool or collection of str, default True
        Which chapters draw their figures (see :func:`~landscape.runner.execute.execute_all`); ``make book`` draws
        every one.

    Returns
    -------
    Path
        ``_build/html/index.html``.
    """
    from landscape.infra.executor import resolve_jobs

    say = emitter(log)
    try:
        resolve_jobs(jobs)
    except ValueError as exc:
        raise ChapterError(f"--jobs: {exc}") from None
    for chapter in chapters():
        resolve(chapter, profile)
    if mathjax:
        ensure_mathjax(log)
    from landscape.infra.interactive import ensure_plotlyjs

    ensure_plotlyjs()  # the interactive surfaces' plotly.js, served from the book's own static files
    executed = execute_all(profile, force=force, progress=progress, log=log, jobs=jobs, figures=figures)
    dest = paths.root() / "book" / "chapters"
    keep = {p.name for p in executed}
    for p in executed:
        _sync(p, dest / p.name)
    for stale in dest.glob("*.ipynb"):
        if stale.name not in keep:
            stale.unlink()
    html = paths.root() / "_build" / "html" / "index.html"
    stamp = paths.root() / "_build" / ".landscape-html.json"
    digest = html_inputs_digest()
    if not force and html.exists() and _read_stamp(stamp).get("inputs") == digest:
        say(f"HTML up to date (no input of {html.parent.relative_to(paths.root())} changed)")
    else:
        cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(paths.root()), "-W", "-n",
               "--keep-going"]
        say(" ".join(cmd))
        stamp.unlink(missing_ok=True)
        subprocess.run(cmd, check=True, cwd=paths.root())
        stamp.write_text(json.dumps({"inputs": digest}))
    say(f"book ({profile}) at {html}")
    return html
