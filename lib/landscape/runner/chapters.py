"""Chapters and their parameters: discovery, the parameters cell read statically, profiles, ``-p`` values.

A chapter is a jupytext MyST notebook ``notebooks/<NN>_<name>.md`` whose cell tagged ``parameters`` holds the
paper-faithful defaults. A profile (``notebooks/profiles/<profile>.yaml``) overrides them per chapter; the profile
``paper`` is the defaults themselves. ``-p name=value`` overrides go last and are checked against the default.
"""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

import yaml

from .. import paths

REPORT = "99_report"
PAPER = "paper"
RESERVED = ("profile",)


class ChapterError(ValueError):
    """Unknown chapter, profile or parameter, or a value of the wrong type."""


def chapters() -> dict[str, Path]:
    """Chapter name -> notebook source, in book order: by number, the report last (it gathers the others)."""
    found = {p.stem: p for p in sorted(paths.notebooks_dir().glob("[0-9][0-9]_*.md"))}
    if REPORT in found:
        found[REPORT] = found.pop(REPORT)
    return found


def chapter_path(chapter: str) -> Path:
    found = chapters()
    if chapter not in found:
        raise ChapterError(f"unknown chapter {chapter!r}; chapters are: {', '.join(found) or '(none)'}")
    return found[chapter]


def _parameters_cell(source: str) -> str:
    import jupytext

    nb = jupytext.reads(source, fmt="md:myst")
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ChapterError(f"a chapter needs exactly one cell tagged 'parameters', found {len(cells)}")
    return cells[0].source


def read_parameters(chapter: str) -> dict[str, dict]:
    """``{name: {"default": value, "type": type name, "help": comment}}`` from the parameters cell.

    Only plain ``name = <literal>`` assignments are allowed, so defaults can be read without running code.
    """
    src = _parameters_cell(chapter_path(chapter).read_text())
    lines = src.splitlines()
    out: dict[str, dict] = {}
    for node in ast.parse(src).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            raise ChapterError(f"{chapter}: the parameters cell may only hold 'name = literal' lines "
                               f"(line {node.lineno})")
        try:
            value = ast.literal_eval(node.value)
        except ValueError as exc:
            raise ChapterError(f"{chapter}: parameter {node.targets[0].id} is not a literal") from exc
        line = lines[node.end_lineno - 1]
        comment = line.split("#", 1)[1].strip() if "#" in line[node.end_col_offset:] else ""
        out[node.targets[0].id] = {"default": value, "type": type(value).__name__, "help": comment}
    if "profile" not in out:
        raise ChapterError(f"{chapter}: the parameters cell must define profile = 'paper'")
    return out


def profiles() -> list[str]:
    return [PAPER] + sorted(p.stem for p in (paths.notebooks_dir() / "profiles").glob("*.yaml"))


def load_profile(profile: str) -> dict[str, dict]:
    """Per-chapter overrides of a profile, validated against the chapters' parameters."""
    if profile == PAPER:
        return {}
    path = paths.notebooks_dir() / "profiles" / f"{profile}.yaml"
    if not path.exists():
        raise ChapterError(f"unknown profile {profile!r}; profiles are: {', '.join(profiles())}")
    spec = yaml.safe_load(path.read_text()) or {}
    if not isinstance(spec, dict):
        raise ChapterError(f"{path.name}: expected a mapping of chapter -> parameters")
    for chapter, overrides in spec.items():
        params = read_parameters(chapter)  # raises for an unknown chapter
        for name, value in (overrides or {}).items():
            _check_value(chapter, name, value, params)
    return {ch: dict(v or {}) for ch, v in spec.items()}


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


def _check_value(chapter: str, name: str, value, params: dict) -> None:
    if name in RESERVED:
        raise ChapterError(f"{chapter}: parameter {name!r} is set by the runner (use --profile)")
    if name not in params:
        valid = ", ".join(p for p in params if p not in RESERVED)
        raise ChapterError(f"{chapter}: unknown parameter {name!r}; parameters are: {valid}")
    default = params[name]["default"]
    if not _type_ok(value, default):
        raise ChapterError(f"{chapter}: parameter {name!r} expects {type(default).__name__} "
                           f"(default {default!r}), got {value!r}")


def parse_assignment(text: str) -> tuple[str, object]:
    """``name=value`` from the command line. The value is read as a Python literal when it is one
    (``3``, ``0.1``, ``[24, 14]``, ``True``), else as a plain string (``path/to/file.csv``)."""
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


def resolve(chapter: str, profile: str = PAPER, overrides: dict | None = None) -> dict:
    """Defaults <- profile <- overrides, type-checked; ``profile`` is the run label."""
    params = read_parameters(chapter)
    resolved = {k: v["default"] for k, v in params.items()}
    resolved.update(load_profile(profile).get(chapter, {}))
    for name, value in (overrides or {}).items():
        _check_value(chapter, name, value, params)
        if isinstance(params[name]["default"], float) and isinstance(value, int):
            value = float(value)
        resolved[name] = value
    return resolved


def run_label(profile: str, overrides: dict | None, label: str | None = None) -> str:
    if label:
        return label
    if not overrides:
        return profile
    digest = hashlib.sha256(json.dumps(overrides, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return f"{profile}+{digest}"
