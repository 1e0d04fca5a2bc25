"""Lint as part of the test suite: ``ruff check lib tests benchmarks`` with the configuration of pyproject.toml
(pycodestyle, pyflakes, bugbear, pyupgrade, pydocstyle with the numpydoc convention, import sorting).
"""

import importlib.util
import subprocess
import sys
import tomllib

import pytest

from landscape.infra import paths

ROOT = paths.root()


def _pinned_ruff() -> str:
    test_extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    return next(d for d in test_extra if d.startswith("ruff"))


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None,
                    reason="ruff is not installed (it is in the `test` extra: pip install -e '.[test]')")
def test_ruff_check_is_clean():
    version = subprocess.run([sys.executable, "-m", "ruff", "--version"], capture_output=True, text=True).stdout
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise",
                          "lib", "tests", "benchmarks"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, (f"{version.strip()} (pinned: {_pinned_ruff()}) finds:\n{out.stdout}{out.stderr}"
                                 "\n`ruff check --fix lib tests benchmarks` fixes the ones marked [*]")


def test_ruff_is_pinned_exactly():
    # new ruff releases add rules: the lint test passes or fails the same on every machine only with one version
    assert _pinned_ruff().startswith("ruff==")
