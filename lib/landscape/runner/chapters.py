"""Chapters and their parameters: discovery, the parameters cell read statically, profiles, ``-p`` values.

A chapter is a jupytext MyST notebook ``notebooks/<NN>_<name>.md`` whose cell tagged ``parameters`` holds the
paper-faithful defaults. A profile (``notebooks/profiles/<profile>.yaml``) overrides them per chapter; the profile
``paper`` is the defaults themselves. ``-p name=value`` overrides go last.

Each parameter line may state its allowed values beside its default, ``name = literal  # <rule> | <meaning>``
(grammar in :mod:`landscape.infra.validation`); profile and ``-p`` values are checked against the rule (or, without
one, against the default's type) before any kernel starts, so a bad value fails in one line and writes nothing.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import re
from pathlib import Path

import yaml

from landscape.infra import paths
from landscape.infra.validation import RuleSyntaxError, RuleViolation, split_comment

REPORT = "99_report"
PAPER = "paper"
# Set by the runner, never by a profile or -p: the run label and the chapter's own name (a chapter may declare
# them in its parameters cell, e.g. ``chapter = "05_mine"  # chapter name, set by the runner``, for a run outside
# the runner; the runner injects the real values).
RESERVED = ("profile", "chapter")


class ChapterError(ValueError):
    """Unknown chapter, profile or parameter, a value its rule does not allow, or a bad run label."""


_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


def chapters() -> dict[str, Path]:
    """Chapter name -> notebook source, in book order: by number, the report last (it gathers the others).

    Chapters are ``notebooks/[0-9][0-9]_*.md``: a file whose name does not start with two digits (the template
    ``_template.md``) is not a chapter.

    Returns
    -------
    dict of str to Path
    """
    found = {p.stem: p for p in sorted(paths.notebooks_dir().glob("[0-9][0-9]_*.md"))}
    if REPORT in found:
        found[REPORT] = found.pop(REPORT)
    return found


def chapter_path(chapter: str) -> Path:
    """The source of ``chapter``, or :class:`ChapterError` listing the chapters.

    Parameters
    ----------
    chapter : str
        A chapter name, e.g. ``"01_trajectories"``.

    Returns
    -------
    Path
        ``notebooks/<chapter>.md``.
    """
    found = chapters()
    if chapter not in found:
        raise ChapterError(f"unknown chapter {chapter!r}; chapters are: {', '.join(found) or '(none)'}")
    return found[chapter]


@functools.lru_cache(maxsize=64)
def _parameters_cell(source: str) -> str:
    """The parameters cell of a chapter's source text (memoised on the text: a book build asks ~140 times, and
    parsing MyST with jupytext costs ~0.1 s each).
    """
    import jupytext

    nb = jupytext.reads(source, fmt="md:myst")
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ChapterError(f"a chapter needs exactly one cell tagged 'parameters', found {len(cells)}")
    return cells[0].source


def read_parameters(chapter: str) -> dict[str, dict]:
    """``{name: {"default", "type", "rule", "allowed", "help"}}`` from the parameters cell.

    Only plain ``name = <literal>`` assignments are allowed, so defaults (and the rules in their comments) can be
    read without running code. ``rule`` is a :class:`landscape.infra.validation.Rule` or None, ``allowed`` its text
    (or the default's type name), ``help`` the meaning. A default its own rule does not allow is an error.

    Parameters
    ----------
    chapter : str
        A chapter name.

    Returns
    -------
    dict
        Parameter name -> its description, in the cell's order.
    """
    src = _parameters_cell(chapter_path(chapter).read_text())
    lines = src.splitlines()
    out: dict[str, dict] = {}
    for node in ast.parse(src).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            raise ChapterError(f"{chapter}: the parameters cell may only hold 'name = literal' lines "
                               f"(line {node.lineno})")
        name = node.targets[0].id
        try:
            value = ast.literal_eval(node.value)
        except ValueError as exc:
            raise ChapterError(f"{chapter}: parameter {name} is not a literal") from exc
        line = lines[node.end_lineno - 1]
        comment = line.split("#", 1)[1].strip() if "#" in line[node.end_col_offset:] else ""
        try:
            rule, meaning = split_comment(comment)
            if rule is not None:
                rule.check(value, base=paths.root())
        except (RuleSyntaxError, RuleViolation) as exc:
            raise ChapterError(f"{chapter}: parameter {name!r}: the parameters cell says {comment!r}: {exc}") from None
        out[name] = {"default": value, "type": type(value).__name__, "rule": rule,
                     "allowed": str(rule) if rule else type(value).__name__, "help": meaning}
    if "profile" not in out:
        raise ChapterError(f"{chapter}: the parameters cell must define profile = 'paper'")
    return out


INHERIT = "inherit"  # key of a profile file naming the profile it starts from


def profiles() -> list[str]:
    """``paper`` (the defaults themselves), then every ``notebooks/profiles/<name>.yaml``.

    Returns
    -------
    list of str
    """
    return [PAPER] + sorted(p.stem for p in (paths.notebooks_dir() / "profiles").glob("*.yaml"))


def load_profile(profile: str, *, base: str | Path | None = None, chapter: str | None = None) -> dict[str, dict]:
    """Per-chapter values of a profile, checked against the chapters' parameters (rules or types); dataset paths
    in it are resolved against ``base`` (default: the working directory).

    Parameters
    ----------
    profile : str
        ``"paper"`` (no overrides) or the name of a file in ``notebooks/profiles/``.
    base : str, path or None
        Folder that relative dataset paths are resolved against.
    chapter : str or None
        Read and check only this chapter's values (a run needs no other; reading a chapter's parameters parses
        its notebook, ~0.1 s each); every section must still name a chapter. None: every chapter's.

    Returns
    -------
    dict
        Chapter -> {parameter: checked value}.

    Notes
    -----
    A profile file may start with ``inherit: <other profile>``: the other file's values come first and this
    file's override them, parameter by parameter (``smoke`` inherits ``quick`` this way).
    """
    return _load_profile(profile, base, (), chapter)


def _load_profile(profile: str, base, chain: tuple, only: str | None = None) -> dict[str, dict]:
    if profile == PAPER:
        return {}
    path = paths.notebooks_dir() / "profiles" / f"{profile}.yaml"
    if not isinstance(profile, str) or not _LABEL.match(profile) or not path.exists():
        raise ChapterError(f"unknown profile {profile!r}; profiles are: {', '.join(profiles())}")
    spec = yaml.safe_load(path.read_text()) or {}
    if not isinstance(spec, dict):
        raise ChapterError(f"{path.name}: expected a mapping of chapter -> parameters")
    out = {}
    parent = spec.pop(INHERIT, None)
    if parent is not None:  # another profile's values first, then this file's, chapter by chapter
        if not isinstance(parent, str) or parent == PAPER or parent in (*chain, profile):
            raise ChapterError(f"{path.name}: {INHERIT} must name another profile file (no cycle), got {parent!r}")
        inherited = _load_profile(parent, base, (*chain, profile), only)
        out = {chapter: dict(values) for chapter, values in inherited.items()}
    for chapter, overrides in spec.items():
        if only is not None and chapter != only:
            chapter_path(chapter)  # raises for an unknown chapter
            continue
        params = read_parameters(chapter)  # raises for an unknown chapter
        out.setdefault(chapter, {}).update(
            {name: check_value(chapter, name, value, params, base=base, where=f"profile {profile!r}")
             for name, value in (overrides or {}).items()})
    return out


def _type_ok(value, default) -> bool:
    if default is None or value is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    if isinstance(default, list | tuple):
        return isinstance(value, list | tuple)
    return isinstance(value, type(default))


def check_value(chapter: str, name: str, value, params: dict | None = None, *, base: str | Path | None = None,
                where: str = "-p"):
    """``value`` checked against parameter ``name`` of ``chapter`` and returned as the kernel will get it (an int
    for a float parameter becomes a float; a dataset path becomes absolute). Raises :class:`ChapterError` with
    one line naming the chapter, the parameter, the value and what is allowed.

    Parameters
    ----------
    chapter : str
        A chapter name.
    name : str
        A parameter of its parameters cell (not one of :data:`RESERVED`).
    value : object
        The value to check.
    params : dict or None
        The chapter's :func:`read_parameters` (read when None).
    base : str, path or None
        Folder that a relative dataset path is resolved against.
    where : str
        Where the value came from, for the message (``"-p"``, ``"profile 'quick'"``).

    Returns
    -------
    object
        The value as the kernel gets it.
    """
    params = read_parameters(chapter) if params is None else params
    if name in RESERVED:
        how = "use --profile" if name == "profile" else "it is the chapter's name"
        raise ChapterError(f"{chapter}: parameter {name!r} is set by the runner ({how})")
    if name not in params:
        valid = ", ".join(p for p in params if p not in RESERVED)
        raise ChapterError(f"{chapter}: unknown parameter {name!r}; parameters are: {valid}")
    spec = params[name]
    if spec["rule"] is not None:
        try:
            return spec["rule"].check(value, base=base)
        except RuleViolation as exc:
            raise ChapterError(f"{chapter}: parameter {name!r} ({where}): {exc}") from None
    default = spec["default"]
    if not _type_ok(value, default):
        raise ChapterError(f"{chapter}: parameter {name!r} expects {type(default).__name__} "
                           f"(default {default!r}), got {value!r}")
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return value


def parse_assignment(text: str) -> tuple[str, object]:
    """``name=value`` from the command line. The value is read as a Python literal when it is one
    (``3``, ``0.1``, ``[24, 14]``, ``True``), else as a plain string (``path/to/file.csv``).

    Parameters
    ----------
    text : str
        ``NAME=VALUE``.

    Returns
    -------
    tuple
        ``(name, value)``.
    """
    if "=" not in text:
        raise ChapterError(f"-p expects name=value, got {text!r}")
    name, raw = text.split("=", 1)
    name = name.strip()
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    if raw.strip().lower() in ("true", "false"):
        value = raw.strip().lower() == "true"
    return name, value


def resolve(chapter: str, profile: str = PAPER, overrides: dict | None = None, *,
            base: str | Path | None = None) -> dict:
    """Defaults <- profile <- overrides, each checked (:func:`check_value`); relative dataset paths are
    resolved against ``base`` (default: the working directory).

    Parameters
    ----------
    chapter : str
        A chapter name.
    profile : str
        ``"paper"`` or a profile of ``notebooks/profiles/``.
    overrides : dict or None
        ``-p`` values.
    base : str, path or None
        Folder that relative dataset paths are resolved against.

    Returns
    -------
    dict
        Every parameter of the chapter with its value for this run (``profile`` is the profile's name; the
        runner replaces it with the run label and adds ``chapter``).
    """
    params = read_parameters(chapter)
    resolved = {k: v["default"] for k, v in params.items()}
    resolved.update(load_profile(profile, base=base, chapter=chapter).get(chapter, {}))
    for name, value in (overrides or {}).items():
        resolved[name] = check_value(chapter, name, value, params, base=base)
    return resolved


def check_label(label: str) -> str:
    """A run label is a plain name (letters, digits, ``_ . + -``, starting with a letter or digit): it names
    folders under ``book/_executed/`` and ``data/results/`` and must never reach outside them.

    Parameters
    ----------
    label : str
        The label to check.

    Returns
    -------
    str
        ``label`` unchanged.
    """
    if not isinstance(label, str) or not _LABEL.match(label) or ".." in label:
        raise ChapterError(f"label must be a plain name (letters, digits, _ . + -, starting with a letter or "
                           f"digit), got {label!r}")
    return label


def run_label(profile: str, overrides: dict | None, label: str | None = None) -> str:
    """``label`` if given (checked), the profile for a run without overrides, else ``<profile>+<hash of the
    overrides>`` so that custom runs never overwrite the book's results.

    Parameters
    ----------
    profile : str
        The profile of the run.
    overrides : dict or None
        Its ``-p`` values, as given.
    label : str or None
        A label chosen with ``--label``.

    Returns
    -------
    str
    """
    if label is not None:
        return check_label(label)
    if not overrides:
        return profile
    digest = hashlib.sha256(json.dumps(overrides, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return f"{profile}+{digest}"
