"""Build the book: execute what changed, place the executed notebooks under ``book/chapters/``, serve MathJax
from the book itself, and run Jupyter Book with ``-W``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from .. import paths
from .chapters import PAPER, ChapterError, chapters, resolve
from .execute import execute_all


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
               log=print, jobs: int | str | None = 1) -> Path:
    """Execute what changed, place the executed notebooks under ``book/chapters/`` and run Jupyter Book (-W).

    The profile and every chapter's values are checked first, before anything is fetched or executed. ``jobs``
    chapters execute at once (see :func:`execute_all`)."""
    from ..executor import resolve_jobs

    try:
        resolve_jobs(jobs)
    except ValueError as exc:
        raise ChapterError(f"--jobs: {exc}") from None
    for chapter in chapters():
        resolve(chapter, profile)
    if mathjax:
        ensure_mathjax(log)
    executed = execute_all(profile, force=force, progress=progress, log=log, jobs=jobs)
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
