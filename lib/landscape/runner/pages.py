"""What the runner adds to an executed page: a folded "Rerun this chapter" box after the title (the command and a
table of the parameters: default, quick value, allowed values, meaning), the parameters cells tidied, and a
"Provenance" section at the end (label and profile, the parameters used, git commit, library versions, run time).
Everything comes from the parameters cell and ``notebooks/profiles/quick.yaml``, read statically.
"""

from __future__ import annotations

import shlex
import subprocess
import time
from importlib import metadata
from pathlib import Path

from landscape.infra import paths
from landscape.runner.chapters import PAPER, RESERVED, load_profile, read_parameters


def _cell_text(value, limit: int = 60) -> str:
    """A value as a code span for a markdown table cell (pipes escaped, long values shortened)."""
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return "`" + text.replace("|", "\\|") + "`"


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def _cli_value(value) -> str:
    """A value as ``-p`` reads it back (see :func:`landscape.runner.parse_assignment`)."""
    if isinstance(value, str):
        from landscape.runner.chapters import parse_assignment

        return value if parse_assignment(f"x={value}")[1] == value else repr(value)
    return repr(value)


def rerun_command(chapter: str, profile: str, overrides: dict | None, label: str | None) -> str:
    """The shell command that reruns ``chapter`` with these settings.

    Parameters
    ----------
    chapter : str
        A chapter name.
    profile : str
        The run's profile.
    overrides : dict or None
        Its ``-p`` values (as checked).
    label : str or None
        A label chosen with ``--label`` (None: the default label, left out of the command).

    Returns
    -------
    str
        The command, quoted for a POSIX shell.
    """
    parts = [".venv/bin/python", "-m", "landscape", "run", chapter]
    if profile != PAPER or not overrides:
        parts += ["--profile", profile]
    for name, value in (overrides or {}).items():
        parts += ["-p", f"{name}={_cli_value(value)}"]
    if label:
        parts += ["--label", label]
    return " ".join(shlex.quote(p) for p in parts)


def rerun_box(chapter: str, command: str) -> str:
    """The markdown of the folded box: the command and a table of the chapter's parameters.

    Parameters
    ----------
    chapter : str
        A chapter name.
    command : str
        The command that reruns it (:func:`rerun_command`).

    Returns
    -------
    str
        MyST markdown.
    """
    try:
        quick = load_profile("quick", chapter=chapter).get(chapter, {})
    except Exception:  # noqa: BLE001 - a profile problem must not hide the box; `list` reports it
        quick = {}
    rows = ["| parameter | default | quick | allowed | meaning |", "|---|---|---|---|---|"]
    for name, spec in read_parameters(chapter).items():
        if name in RESERVED:
            continue
        q = _cell_text(quick[name]) if name in quick else ""
        rows.append(f"| `{name}` | {_cell_text(spec['default'])} | {q} | `{_escape(spec['allowed'])}` | "
                    f"{_escape(spec['help'])} |")
    table = "\n".join(rows) if len(rows) > 2 else "This chapter has no parameters besides the profile."
    return (f"````{{admonition}} Rerun this chapter\n:class: dropdown\n\n"
            f"From the repository root (`--profile quick` for a fast preview; `-p name=value` sets a parameter, "
            f"checked against *allowed* before anything runs; `python -m landscape list` shows them all):\n\n"
            f"```bash\n{command}\n```\n\n{table}\n\nThe chapter's source: "
            f"{{download}}`notebooks/{chapter}.md <../../notebooks/{chapter}.md>` (MyST markdown); the executed "
            f"notebook (.ipynb): the download button at the top of the page.\n````")


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=paths.root(), capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def provenance(label: str, profile: str, params: dict, seconds: float) -> str:
    """The markdown of the provenance section.

    Parameters
    ----------
    label : str
        The run label.
    profile : str
        The run's profile.
    params : dict
        The values the run used (the runner's own, :data:`landscape.runner.RESERVED`, are left out).
    seconds : float
        The run time.

    Returns
    -------
    str
        MyST markdown.
    """
    commit = _git("rev-parse", "--short=12", "HEAD") or "unknown"
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    versions = []
    for package in ("torch", "numpy", "scipy", "pandas", "scikit-learn"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            pass
    import platform

    used = ", ".join(f"{name}={_cell_text(value, 40)}" for name, value in params.items() if name not in RESERVED)
    rows = [
        ("run label", f"`{label}` (profile `{profile}`)"),
        ("parameters", used or "(none)"),
        ("git commit", f"`{commit}`" + (" with uncommitted changes" if dirty else "")),
        ("software", f"python {platform.python_version()}, " + ", ".join(versions)),
        ("run time", f"{seconds:.1f} s, finished {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"),
    ]
    table = "\n".join(f"| {k} | {_escape(v)} |" for k, v in rows)
    return f"## Provenance\n\nThis page was produced by the run below.\n\n| | |\n|---|---|\n{table}\n"


def finish_page(path: Path, *, box: str, footer: str) -> None:
    """Tidy the parameters cells (drop the defaults cell, fold the injected one: the values a run used matter,
    not the defaults they replaced), put ``box`` right after the title and ``footer`` at the end.

    Parameters
    ----------
    path : Path
        The executed notebook, rewritten in place.
    box : str
        Markdown of the rerun box (:func:`rerun_box`).
    footer : str
        Markdown of the provenance section (:func:`provenance`).
    """
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
    at = 0
    for i, cell in enumerate(nb.cells):
        lines = cell.source.splitlines() if cell.cell_type == "markdown" else []
        title = next((j for j, line in enumerate(lines) if line.startswith("# ")), None)
        if title is not None:
            head, rest = "\n".join(lines[: title + 1]), "\n".join(lines[title + 1:]).strip("\n")
            cell.source = head
            if rest:
                nb.cells.insert(i + 1, nbformat.v4.new_markdown_cell(rest))
            at = i + 1
            break
    nb.cells.insert(at, nbformat.v4.new_markdown_cell(box))
    nb.cells.append(nbformat.v4.new_markdown_cell(footer))
    nbformat.write(nb, str(path))
