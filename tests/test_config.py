"""Install and configuration consistency: pyproject and environment.yml list the same pins; the CI script runs the
README's test command; the book config keeps the facts that make an offline, -W build work.
"""

import re
import tomllib

import yaml

from landscape.infra import paths

ROOT = paths.root()


def _name(requirement: str) -> str:
    return re.split(r"[<>=!\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _pyproject_deps():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = list(meta["dependencies"])
    for extra in meta["optional-dependencies"].values():
        deps += extra
    return {_name(d): d.replace(" ", "") for d in deps}


def _conda_deps():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return {_name(d): d.replace(" ", "") for d in pip if not d.startswith("-e")}


def test_environment_yml_matches_pyproject():
    assert _conda_deps() == _pyproject_deps()


def test_torch_is_pinned_exactly():
    assert _pyproject_deps()["torch"] == "torch==2.13.0"
    assert _pyproject_deps()["jupyter-book"] == "jupyter-book>=1,<2"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    test_cmd = re.search(r"^make test$", readme, re.M)
    assert test_cmd, "README must show `make test`"
    assert re.search(r"^make test$", ci, re.M)
    assert re.search(r"^make book$", readme, re.M)


def test_book_config_is_offline_and_strict():
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert cfg["execute"]["execute_notebooks"] == "off"  # Papermill executes, the book renders
    mathjax = cfg["sphinx"]["config"]["mathjax_path"]
    assert "mathjax" in mathjax and "http" not in mathjax
    assert ".*" in cfg["exclude_patterns"] and "notebooks/**" in cfg["exclude_patterns"]


def test_every_chapter_is_in_the_toc():
    toc = (ROOT / "_toc.yml").read_text()
    for nb in (ROOT / "notebooks").glob("[0-9][0-9]_*.md"):
        assert f"book/chapters/{nb.stem}" in toc, f"{nb.stem} missing from _toc.yml"


def test_gitignore_keeps_generated_files_out():
    ignored = (ROOT / ".gitignore").read_text().split()
    for entry in (".venv", "_build/", "book/chapters/", "book/_executed/", "data/cache/", "data/results/"):
        assert entry in ignored
