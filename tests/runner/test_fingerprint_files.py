"""Fingerprints by module file (issue 25 item 1): editing one tool re-executes only the chapters whose import
closure holds its file. A fake library tree in a scratch root, so the test does not depend on the real layout.
"""

import pytest

from landscape import runner

HEADER = """---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
---

# Chapter

```{code-cell} ipython3
:tags: [parameters]

profile = "paper"
```

```{code-cell} ipython3
CODE
```
"""

TREE = {
    "__init__.py": '"""the package"""\n',
    "tools/__init__.py": '"""tools: light, re-exports nothing"""\n',
    "tools/alpha.py": "from landscape.tools.shared import helper\n",  # absolute, to a sibling module
    "tools/shared.py": "def helper():\n    return 1\n",
    "tools/beta.py": "from . import gamma\n\n\ndef late():\n    from .lazy import x  # inside a function\n",
    "tools/gamma.py": "import numpy as np\n",
    "tools/lazy.py": "x = 1\n",
    "tools/export.py": '"""imported by nobody"""\n',
    "pkg/__init__.py": "from .inner import thing\n",  # a package re-exporting a submodule's name
    "pkg/inner.py": "from ..tools import gamma\n\nthing = 1\n",  # relative, two levels
    "pkg/unused.py": "from landscape.tools import export\n",
    "studies/__init__.py": "",
    "studies/y/__init__.py": "",
    "studies/y/analysis.py": "import landscape.pkg.inner\n",
}

CHAPTERS = {
    "01_x": "from landscape.tools import alpha",  # `name` is a submodule of the package
    "02_y": "from landscape.tools.beta import late\nfrom landscape.pkg import thing\n"
            "from landscape.studies.y import analysis",
}


@pytest.fixture
def fake(tmp_path, monkeypatch):
    lib = tmp_path / "lib" / "landscape"
    for rel, text in TREE.items():
        (lib / rel).parent.mkdir(parents=True, exist_ok=True)
        (lib / rel).write_text(text)
    (tmp_path / "notebooks" / "profiles").mkdir(parents=True)
    for name, code in CHAPTERS.items():
        (tmp_path / "notebooks" / f"{name}.md").write_text(HEADER.replace("CODE", code))
    monkeypatch.setenv("LANDSCAPE_ROOT", str(tmp_path))
    return lib


def _deps(lib, chapter):
    return {p.relative_to(lib).as_posix() for p in runner.library_modules(chapter)}


def test_closure_by_file(fake):
    assert _deps(fake, "01_x") == {"__init__.py", "tools/__init__.py", "tools/alpha.py", "tools/shared.py"}
    assert _deps(fake, "02_y") == {
        "__init__.py", "tools/__init__.py", "tools/beta.py", "tools/gamma.py", "tools/lazy.py",
        "pkg/__init__.py", "pkg/inner.py", "studies/__init__.py", "studies/y/__init__.py", "studies/y/analysis.py"}


def _fingerprints():
    return {c: runner.fingerprint(c, {"profile": "paper"}) for c in CHAPTERS}


@pytest.mark.parametrize("edited, changed", [
    ("tools/alpha.py", {"01_x"}),  # imported only by chapter 01
    ("tools/shared.py", {"01_x"}),  # through alpha's own import
    ("tools/gamma.py", {"02_y"}),  # through a relative import of beta and of pkg/inner
    ("tools/lazy.py", {"02_y"}),  # imported inside a function
    ("pkg/inner.py", {"02_y"}),  # through the package's __init__
    ("tools/export.py", set()),  # imported by nobody a chapter reaches
    ("pkg/unused.py", set()),  # in a package chapter 02 imports, but not in its closure
    ("tools/__init__.py", {"01_x", "02_y"}),  # runs before every module of the package
])
def test_editing_one_file_changes_only_the_chapters_that_import_it(fake, edited, changed):
    before = _fingerprints()
    (fake / edited).write_text((fake / edited).read_text() + "\n# edited\n")
    after = _fingerprints()
    assert {c for c in CHAPTERS if after[c] != before[c]} == changed


def test_a_moved_module_is_found_where_it_is(fake):
    """No module list: after a move into a subpackage (and the import rewritten) the new file is the dependency."""
    (fake / "nets").mkdir()
    (fake / "nets" / "__init__.py").write_text("")
    (fake / "tools" / "shared.py").rename(fake / "nets" / "shared.py")
    (fake / "tools" / "alpha.py").write_text("from landscape.nets.shared import helper\n")
    assert _deps(fake, "01_x") == {"__init__.py", "tools/__init__.py", "tools/alpha.py", "nets/__init__.py",
                                   "nets/shared.py"}
