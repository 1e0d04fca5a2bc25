"""Input checks in one place: scalars (modelled on scikit-learn's ``check_scalar``), finiteness, choices, and the
parameter rules that chapters write beside their defaults.

A parameters-cell line reads ``name = literal  # <rule> | <meaning>``. The comment is split at ``" | "``; the
leading parts that read as rules are the allowed alternatives, the first part that does not (and everything after
it) is the meaning shown to readers. A line whose comment starts with no rule keeps only a type check against its
default. Rule alternatives:

- ``int``, ``float``, optionally bounded: ``int >= 1``, ``float > 0``, ``int in [1, 1000]``, ``float in (0, 1]``
  (``[``/``]`` include the bound, ``(``/``)`` exclude it); a ``float`` is always finite and takes integers too;
- ``bool``, ``str``, ``dict``, ``any``;
- ``one of "cpu", "cuda"`` (Python literals separated by commas);
- ``list[<rule>]``, e.g. ``list[int >= 1]``, ``list[one of "zeros", "constant"]``;
- ``dataset``: a built-in name of :mod:`landscape.nets.data` or the path of an existing ``.csv`` file, resolved
  against the caller's working directory (the runner hands the kernel the absolute path), that passes the checks
  of :func:`landscape.infra.csv_files.read_csv` (header, missing values, stray tokens, row numbers, ...: everything
  that can be checked without knowing the target column), so a bad file stops a run before its kernel starts;
- ``None``: the value None, e.g. ``target = None  # str | None | target column of a CSV``.

>>> rule, meaning = split_comment("int in [1, 1000] | minibatch size n")
>>> rule.check(20), str(rule), meaning
(20, 'int in [1, 1000]', 'minibatch size n')
>>> rule.check(0)
Traceback (most recent call last):
...
landscape.infra.validation.RuleViolation: 0 is not allowed; allowed: int in [1, 1000]
>>> parse_rule("float > 0").check(1)  # an integer for a float rule becomes a float
1.0
"""

from __future__ import annotations

import ast
import numbers
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["ParameterTypeError", "Rule", "RuleSyntaxError", "RuleViolation", "check_choice", "check_finite",
           "check_scalar", "parse_rule", "split_comment"]


class ParameterTypeError(TypeError, ValueError):
    """A value of the wrong type (a ``TypeError`` as in scikit-learn, and a ``ValueError`` as the library's other
    input errors, so either ``except`` catches it).
    """


class RuleSyntaxError(ValueError):
    """A parameter rule that does not follow the grammar of the module docstring."""


class RuleViolation(ValueError):
    """A value that a parameter rule does not allow."""


_BOUNDARIES = ("both", "left", "right", "neither")


def check_scalar(x, name: str, target_type, *, min_val=None, max_val=None, include_boundaries: str = "both"):
    """Check a scalar's type and range and return it; modelled on :func:`sklearn.utils.check_scalar`.

    ``target_type`` is a type or tuple of types (``int`` also accepts numpy integers, ``float`` accepts any real
    number; ``bool`` is never an ``int`` here). ``include_boundaries`` says which of ``min_val``/``max_val`` are
    allowed values ("both", "left", "right", "neither").

    Parameters
    ----------
    x : object
        The value.
    name : str
        The parameter's name, for the message.
    target_type : type or tuple of types
        The allowed types.
    min_val, max_val : float, optional
        Bounds.
    include_boundaries : {"both", "left", "right", "neither"}
        Which bounds are allowed values.

    >>> check_scalar(3, "epochs", int, min_val=1)
    3
    >>> check_scalar(0.0, "lr", float, min_val=0, include_boundaries="right")
    Traceback (most recent call last):
    ...
    ValueError: lr == 0.0, must be > 0.
    >>> check_scalar(True, "epochs", int)
    Traceback (most recent call last):
    ...
    landscape.infra.validation.ParameterTypeError: epochs must be an instance of int, not bool.
    """
    if include_boundaries not in _BOUNDARIES:
        raise ValueError(f"include_boundaries must be one of {list(_BOUNDARIES)}, got {include_boundaries!r}")
    types = target_type if isinstance(target_type, tuple) else (target_type,)
    expanded = tuple(numbers.Integral if t is int else numbers.Real if t is float else t for t in types)
    if (isinstance(x, bool | np.bool_) and bool not in types) or not isinstance(x, expanded):
        names = " or ".join(t.__name__ for t in types)
        raise ParameterTypeError(f"{name} must be an instance of {names}, not {type(x).__name__}.")
    left = include_boundaries in ("both", "left")
    right = include_boundaries in ("both", "right")
    if min_val is not None and (x < min_val or (x == min_val and not left)):
        raise ValueError(f"{name} == {x}, must be {'>=' if left else '>'} {min_val}.")
    if max_val is not None and (x > max_val or (x == max_val and not right)):
        raise ValueError(f"{name} == {x}, must be {'<=' if right else '<'} {max_val}.")
    return x


def check_finite(x, name: str):
    """Raise ``ValueError`` naming ``name`` when ``x`` (a number or array) holds NaN or inf; return ``x``.

    Parameters
    ----------
    x : float or array_like
        The value(s).
    name : str
        The parameter's name, for the message.

    >>> check_finite([1.0, float("nan")], "eps")
    Traceback (most recent call last):
    ...
    ValueError: eps must be finite, got 1 NaN and 0 inf values
    """
    a = np.asarray(x, dtype=float)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite, got {int(np.isnan(a).sum())} NaN and {int(np.isinf(a).sum())} "
                         f"inf values")
    return x


def check_choice(x, name: str, choices):
    """Return ``x`` if it is one of ``choices``, else raise ``ValueError`` listing them.

    Parameters
    ----------
    x : object
        The value.
    name : str
        The parameter's name, for the message.
    choices : iterable
        The allowed values (a bool is never taken for 0 or 1).

    >>> check_choice("tpu", "device", ("cpu", "cuda"))
    Traceback (most recent call last):
    ...
    ValueError: device must be one of ['cpu', 'cuda'], got 'tpu'
    """
    if isinstance(x, bool) and not any(isinstance(c, bool) for c in choices) or x not in tuple(choices):
        raise ValueError(f"{name} must be one of {list(choices)}, got {x!r}")
    return x


# ---------------------------------------------------------------- parameter rules

_KEYWORDS = ("int", "float", "bool", "str", "dict", "any", "one", "list", "dataset", "None")
_BOUNDED = re.compile(r"^(int|float)\s*(?:(>=|>|<=|<)\s*(\S+)|in\s*([\[(])\s*([^,]+),\s*([^\])]+)([\])]))?$")


def _number(text: str) -> float:
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        value = None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RuleSyntaxError(f"not a number in a rule: {text.strip()!r}")
    return value


@dataclass(frozen=True)
class _Alternative:
    """One alternative of a rule: a kind (int, float, ...) and its constraint."""

    text: str
    kind: str
    low: float | None = None
    high: float | None = None
    include: str = "both"
    choices: tuple = ()
    item: _Alternative | None = None

    def check(self, value, base: Path | None):
        """The value (coerced: int -> float, dataset path -> absolute) or raise RuleViolation."""
        kind = self.kind
        if kind == "any":
            return value
        if kind == "None":
            if value is None:
                return value
        elif kind == "one of":
            if any(value == c and type(value) is type(c) for c in self.choices):
                if value == "cuda" and not _cuda_available():
                    raise RuleViolation("no cuda", "no CUDA device on this machine: torch.cuda.is_available() "
                                        "is False")
                return value
        elif kind == "list":
            if isinstance(value, list | tuple):
                return [self.item.check(v, base) for v in value]
        elif kind == "dataset":
            return _check_dataset(value, base)
        elif kind in ("int", "float"):
            target = int if kind == "int" else float
            try:
                if kind == "float":
                    check_finite(check_scalar(value, "value", float), "value")
                check_scalar(value, "value", target, min_val=self.low, max_val=self.high,
                             include_boundaries=self.include)
            except ValueError:
                raise RuleViolation(f"{value!r} is not allowed; allowed: {self.text}") from None
            return float(value) if kind == "float" else int(value)
        elif kind in ("bool", "str", "dict"):
            if type(value).__name__ == kind:
                return value
        raise RuleViolation(f"{value!r} is not allowed; allowed: {self.text}")


def _cuda_available() -> bool:
    import torch  # only when "cuda" is asked for: checking the default values stays free of torch

    return torch.cuda.is_available()


#: The datasets shipped with the book (``landscape.nets.data.BUILTIN``); kept here so that checking a parameter does not
#: import torch and pandas (a no-op book rebuild checks every chapter's values).
BUILTIN_DATASETS = ("iris", "auto-mpg", "digits")


def _check_dataset(value, base: Path | None):
    if value in BUILTIN_DATASETS:
        return value
    if not isinstance(value, str) or not value:
        raise RuleViolation("not a dataset")
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = (base or Path(os.getcwd())) / path
    if not path.is_file():
        raise RuleViolation("not a dataset", f"no such file: {path}")
    if path.suffix.lower() != ".csv":
        raise RuleViolation("not a dataset", f"not a .csv file: {path}")
    from landscape.infra.csv_files import check_csv  # pandas, only for a CSV value: built-in names stay cheap

    try:
        check_csv(path)
    except (ValueError, OSError) as exc:  # the file's own problem (column, row, token) on the violation's line
        raise RuleViolation("not a dataset", " ".join(str(exc).split())) from None
    return str(path.resolve())


def _parse_alternative(text: str) -> _Alternative:
    text = text.strip()
    if text in ("any", "bool", "str", "dict", "dataset", "None"):
        return _Alternative(text, text)
    if text.startswith("one of "):
        try:
            choices = ast.literal_eval("[" + text[len("one of "):] + "]")
        except (ValueError, SyntaxError) as exc:
            raise RuleSyntaxError(f"'one of' needs Python literals separated by commas: {text!r}") from exc
        return _Alternative(text, "one of", choices=tuple(choices))
    if text.startswith("list[") and text.endswith("]"):
        return _Alternative(text, "list", item=_parse_alternative(text[5:-1]))
    m = _BOUNDED.match(text)
    if not m:
        raise RuleSyntaxError(f"not a parameter rule: {text!r}")
    kind, op, bound, open_, lo, hi, close = m.groups()
    if op:
        low = _number(bound) if op.startswith(">") else None
        high = _number(bound) if op.startswith("<") else None
        include = "both" if "=" in op else ("right" if op == ">" else "left")
        return _Alternative(text, kind, low, high, include)
    if open_:
        include = {("[", "]"): "both", ("[", ")"): "left", ("(", "]"): "right", ("(", ")"): "neither"}[open_, close]
        low, high = _number(lo), _number(hi)
        if low > high:
            raise RuleSyntaxError(f"empty interval in {text!r}")
        return _Alternative(text, kind, low, high, include)
    return _Alternative(text, kind)


@dataclass(frozen=True)
class Rule:
    """The allowed values of one parameter: alternatives joined by ``" | "``.

    Made by :func:`parse_rule` (or :func:`split_comment`) from its text; a value is allowed when any alternative
    allows it.

    Parameters
    ----------
    alternatives : tuple of _Alternative
        The parsed alternatives (``int >= 1``, ``None``, ...; grammar: the module docstring), in the order written.
    """

    alternatives: tuple[_Alternative, ...]

    def __str__(self) -> str:
        """The rule's text: the alternatives as written, joined by ``" | "``."""
        return " | ".join(a.text for a in self.alternatives)

    def check(self, value, *, base: str | Path | None = None):
        """Return ``value`` (an int for a float rule becomes a float; a dataset path becomes absolute, relative
        paths resolved against ``base``, default the working directory) or raise :class:`RuleViolation`.

        Parameters
        ----------
        value : object
            The value to check.
        base : str or pathlib.Path, optional
            Folder that relative dataset paths are resolved against (default: the working directory).

        Returns
        -------
        object
            The value allowed by the first alternative that accepts it, coerced as above.
        """
        details = []
        for alt in self.alternatives:
            try:
                return alt.check(value, Path(base) if base is not None else None)
            except RuleViolation as exc:
                details += list(exc.args[1:])
        detail = f" ({details[0]})" if details else ""
        allowed = str(self)
        if any(a.kind == "dataset" for a in self.alternatives):
            allowed += f" (dataset: {', '.join(BUILTIN_DATASETS)} or the path of a .csv file)"
        raise RuleViolation(f"{value!r} is not allowed{detail}; allowed: {allowed}")


def parse_rule(text: str) -> Rule:
    """A :class:`Rule` from its text, e.g. ``"int >= 1"`` or ``"str | None"``; ``RuleSyntaxError`` otherwise.

    Parameters
    ----------
    text : str
        Alternatives joined by ``" | "`` (grammar: the module docstring).
    """
    return Rule(tuple(_parse_alternative(part) for part in text.split(" | ")))


def split_comment(comment: str) -> tuple[Rule | None, str]:
    """``(rule, meaning)`` of a parameters-cell comment (see the module docstring); ``rule`` is None when the
    comment starts with no rule. A first part that begins with a rule keyword but does not parse is an error,
    so a typo never silently drops a rule.

    Parameters
    ----------
    comment : str
        The comment of a parameters-cell line, without ``#``.

    >>> rule, meaning = split_comment("str | None | target column of a CSV")
    >>> str(rule), meaning
    ('str | None', 'target column of a CSV')
    >>> split_comment("run label, set by the runner")
    (None, 'run label, set by the runner')
    """
    parts = comment.split(" | ")
    alternatives = []
    for i, part in enumerate(parts):
        try:
            alternatives.append(_parse_alternative(part))
        except RuleSyntaxError:
            first_word = re.split(r"[\s\[]", part.strip(), maxsplit=1)[0]
            if i == 0 and len(parts) > 1 and first_word in _KEYWORDS:
                raise
            return (Rule(tuple(alternatives)) if alternatives else None), " | ".join(parts[i:]).strip()
    return Rule(tuple(alternatives)), ""
