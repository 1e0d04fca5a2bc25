"""Every public function and class of the library documents its arguments: a numpydoc ``Parameters`` section that
names each argument of its signature (docs/architecture.md, conventions).
"""

import importlib
import inspect
import pkgutil
import re

import landscape

_HEADER = re.compile(r"^(\S[^\n]*)\n-{3,}[ \t]*$", re.M)


def _public_callables():
    """(qualified name, object) of each public function and class defined in a public module of the package."""
    names = [landscape.__name__] + [m.name for m in pkgutil.walk_packages(landscape.__path__, "landscape.")]
    for name in names:
        if any(part.startswith("_") for part in name.split(".")[1:]):
            continue  # private modules and __main__
        module = importlib.import_module(name)
        for attr, obj in vars(module).items():
            if attr.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if obj.__module__ == name:  # defined here, not imported
                yield f"{name}.{attr}", obj


def _arguments(obj) -> list[str]:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):  # builtins without a signature
        return []
    return [p.name for p in signature.parameters.values() if p.name not in ("self", "cls")]


def _sections(doc: str) -> dict[str, str]:
    """Section title -> body of a numpydoc docstring (``inspect.getdoc`` text)."""
    heads = list(_HEADER.finditer(doc))
    ends = [h.start() for h in heads[1:]] + [len(doc)]
    return {h.group(1).strip(): doc[h.end():end] for h, end in zip(heads, ends, strict=False)}  # no heads: {}


def _documented(body: str) -> set[str]:
    """Argument names of a Parameters section: the unindented ``name : type`` (or ``a, b : type``) lines."""
    names = set()
    for line in body.splitlines():
        if line and not line[0].isspace():
            names |= {n.strip().lstrip("*") for n in line.split(" : ")[0].split(",")}
    return names


def test_the_package_has_public_callables():
    found = dict(_public_callables())
    # a walk that found nothing would pass the two tests below vacuously
    assert len(found) > 300
    assert "landscape.infra.plotting.fig_size" in found and "landscape.nets.models.mlp" in found


def test_every_public_callable_with_arguments_has_a_parameters_section():
    missing = sorted(name for name, obj in _public_callables()
                     if _arguments(obj) and "Parameters" not in _sections(inspect.getdoc(obj) or ""))
    assert not missing, f"{len(missing)} public names without a Parameters section:\n" + "\n".join(missing)


def test_every_argument_is_named_in_its_parameters_section():
    undocumented = []
    for name, obj in _public_callables():
        section = _sections(inspect.getdoc(obj) or "").get("Parameters")
        if section is not None:
            absent = [a for a in _arguments(obj) if a not in _documented(section)]
            if absent:
                undocumented.append(f"{name}: {', '.join(absent)}")
    assert not undocumented, f"{len(undocumented)} Parameters sections miss arguments:\n" + "\n".join(
        sorted(undocumented))


_LITERAL = re.compile(r"``.*?``|`[^`]*`|^\s*(>>>|\.\.\.) [^\n]*$", re.S | re.M)
_SUBSTITUTION = re.compile(r"(?<![\w|])\|[^\s|]([^|\n]*[^\s|])?\|(?![\w|])")


def test_no_docstring_uses_a_bare_substitution_reference():
    # `|x|` outside literals and math is a reStructuredText substitution: the API page (autodoc) fails the -W build on
    # it, and only the slow book build would say so. Absolute values go in :math:`|x|` or ``|x|``.
    found = []
    for name, obj in _public_callables():
        doc = _LITERAL.sub("", inspect.getdoc(obj) or "")
        found += [f"{name}: {m.group(0)}" for m in _SUBSTITUTION.finditer(doc)]
    assert found == []
