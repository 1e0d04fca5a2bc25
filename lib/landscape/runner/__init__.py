"""Execute chapters with Papermill under a profile, incrementally, and build the book with Jupyter Book.

- :mod:`.chapters`: discovery, the parameters cell (defaults read statically), profiles and ``-p`` values;
- :mod:`.fingerprint`: what a chapter's output depends on (source, parameters, library code, data files);
- :mod:`.execute`: one chapter through Papermill, checked (:func:`check_notebook`) and stamped;
- :mod:`.book`: every changed chapter, then Jupyter Book ``-W`` (MathJax served offline).

Runs with ``-p`` overrides get their own label ``<profile>+<hash>`` (or ``--label``), so their results never
overwrite the paper or quick results: ``data/results/<label>/<chapter>/``.
"""

from .book import MATHJAX_WHEEL, build_book, ensure_mathjax
from .chapters import (
    PAPER,
    REPORT,
    RESERVED,
    ChapterError,
    chapter_path,
    chapters,
    load_profile,
    parse_assignment,
    profiles,
    read_parameters,
    resolve,
    run_label,
)
from .execute import check_notebook, execute, execute_all, executed_dir
from .fingerprint import fingerprint, library_digest, library_modules

__all__ = [
    "MATHJAX_WHEEL", "PAPER", "REPORT", "RESERVED", "ChapterError", "build_book", "chapter_path", "chapters",
    "check_notebook", "ensure_mathjax", "execute", "execute_all", "executed_dir", "fingerprint", "library_digest",
    "library_modules", "load_profile", "parse_assignment", "profiles", "read_parameters", "resolve", "run_label",
]
