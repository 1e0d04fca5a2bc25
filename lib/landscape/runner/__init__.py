"""Execute chapters with Papermill under a profile, incrementally, and build the book with Jupyter Book.

- :mod:`.chapters`: discovery, the parameters cell (defaults read statically), profiles and ``-p`` values;
- :mod:`.fingerprint`: what a chapter's output depends on (source, parameters, library code, data files);
- :mod:`.execute`: one chapter through Papermill in a fresh staging folder, published only on success, checked
  (:func:`check_notebook`) and stamped last;
- :mod:`.pages`: the "Rerun this chapter" box and the provenance section added to each executed page;
- :mod:`.book`: every changed chapter, then Jupyter Book ``-W`` (MathJax served offline);
- :mod:`.logs`: messages through stdlib :mod:`logging` (logger ``landscape``) and the command line's handler.

Runs with ``-p`` overrides get their own label ``<profile>+<hash>`` (or ``--label``), so their results never
overwrite the paper or quick results: ``data/results/<label>/<chapter>/``.
"""

from landscape.runner.book import MATHJAX_WHEEL, build_book, ensure_mathjax
from landscape.runner.chapters import (
    PAPER,
    REPORT,
    RESERVED,
    ChapterError,
    chapter_path,
    chapters,
    check_label,
    check_value,
    load_profile,
    parse_assignment,
    profiles,
    read_parameters,
    resolve,
    run_label,
)
from landscape.runner.execute import (
    Interrupted,
    RunError,
    check_notebook,
    check_writable,
    execute,
    execute_all,
    executed_dir,
    failed_path,
)
from landscape.runner.fingerprint import data_files, fingerprint, library_digest, library_modules

__all__ = [
    "MATHJAX_WHEEL", "PAPER", "REPORT", "RESERVED", "ChapterError", "Interrupted", "RunError", "build_book",
    "chapter_path", "chapters", "check_label", "check_notebook", "check_value", "check_writable", "data_files",
    "ensure_mathjax", "execute",
    "execute_all", "executed_dir", "failed_path", "fingerprint", "library_digest", "library_modules",
    "load_profile", "parse_assignment", "profiles", "read_parameters", "resolve", "run_label",
]
