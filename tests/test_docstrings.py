"""Every public function and class of the library documents its arguments: a numpydoc ``Parameters`` section that
names each argument of its signature (docs/architecture.md, conventions); and every docstring the API page shows
is clean reStructuredText (what the book's -W build of ``book/api.md`` fails on).
"""

import functools
import importlib
import inspect
import pkgutil
import re

import pytest

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


def _api_page_docstrings():
    """(name, kind, docstring, object) of everything ``book/api.md`` shows, selected as autodoc's ``:members:``
    does: for each ``automodule`` there, the module, its ``#:`` attribute comments, and its members (the names of
    ``__all__`` when it has one, re-exports included; else what the module defines), functions unwrapped
    (``functools.cache`` and friends), classes with their public methods, properties, cached properties and nested
    classes.
    """
    from sphinx.pycode import ModuleAnalyzer

    from landscape.infra import paths

    def class_members(qual, cls):
        yield qual, "class", cls.__doc__, cls
        for member, value in vars(cls).items():
            if member.startswith("_"):
                continue
            if inspect.isclass(value):
                yield from class_members(f"{qual}.{member}", value)
                continue
            if isinstance(value, property):
                func = value.fget
            elif isinstance(value, functools.cached_property):
                func = value.func
            else:
                func = inspect.unwrap(getattr(value, "__func__", value))
            if inspect.isfunction(func):
                yield f"{qual}.{member}", "method", func.__doc__, func

    page = (paths.root() / "book" / "api.md").read_text()
    for modname in re.findall(r"automodule:: (\S+)", page):
        module = importlib.import_module(modname)
        yield modname, "module", module.__doc__, module
        for (owner, attr), lines in ModuleAnalyzer.for_module(modname).find_attr_docs().items():
            if not attr.startswith("_"):
                yield f"{modname}.{owner + '.' if owner else ''}{attr}", "attribute", "\n".join(lines), None
        names = getattr(module, "__all__", None)
        if names is None:
            names = [n for n, o in vars(module).items() if getattr(o, "__module__", None) == modname]
        for attr in names:
            if attr.startswith("_"):
                continue
            obj = getattr(module, attr)
            if inspect.isclass(obj):
                yield from class_members(f"{modname}.{attr}", obj)
            elif callable(obj) and inspect.isfunction(inspect.unwrap(obj)):
                yield f"{modname}.{attr}", "function", inspect.unwrap(obj).__doc__ or obj.__doc__, obj


@functools.cache
def _napoleon_config():
    """Once per process: Sphinx's Python roles registered with docutils as literals and its ``seealso`` and version
    directives as admonitions; returns napoleon's configuration with the book's settings.
    """
    from docutils import nodes, utils
    from docutils.parsers.rst import Directive, directives, roles
    from sphinx.ext.napoleon import Config

    def literal(role, rawtext, text, lineno, inliner, options=None, content=None):
        return [nodes.literal(rawtext, utils.unescape(text))], []

    class SeeAlso(Directive):
        has_content, optional_arguments, final_argument_whitespace = True, 1, True

        def run(self):
            node = nodes.admonition()
            self.state.nested_parse(self.content, self.content_offset, node)
            return [node]

    for role in ("func", "class", "mod", "data", "meth", "attr", "obj", "exc"):
        roles.register_local_role(role, literal)
        roles.register_local_role(f"py:{role}", literal)
    for name in ("seealso", "versionadded", "versionchanged", "deprecated"):  # Sphinx's, as admonitions
        directives.register_directive(name, SeeAlso)
    return Config(napoleon_google_docstring=False, napoleon_numpy_docstring=True, napoleon_use_ivar=True)


def _rst_warnings(docstring: str, kind: str, name: str, obj) -> str:
    """What docutils says (warnings and errors) of a docstring after napoleon turned its numpydoc sections into
    reStructuredText, as the book's autodoc build does (:func:`_napoleon_config`); empty when it renders cleanly.
    """
    import io

    from docutils.core import publish_doctree
    from sphinx.ext.napoleon.docstring import NumpyDocstring

    text = "\n".join(NumpyDocstring(inspect.cleandoc(docstring), _napoleon_config(), what=kind, name=name,
                                    obj=obj).lines())
    said = io.StringIO()
    publish_doctree(text, settings_overrides={"report_level": 2, "halt_level": 5, "warning_stream": said})
    return said.getvalue().strip()


def test_every_docstring_of_the_api_page_is_clean_restructuredtext():
    # The book builds its API page (book/api.md, autodoc + napoleon) with -W: a docstring that docutils warns about
    # fails `make book`. The tests' smoke book leaves that page out (building it costs ~22 s of Sphinx) and this
    # check reads the same docstrings through the same napoleon conversion and docutils parser in a few seconds.
    shown = list(_api_page_docstrings())
    assert len(shown) > 500  # modules, functions, classes, methods, attribute comments: not a vacuous walk
    bad = [f"{name}: {said}" for name, kind, doc, obj in shown if doc and (said := _rst_warnings(doc, kind, name, obj))]
    assert bad == [], "\n".join(bad)


@pytest.mark.parametrize("docstring, says", [
    ("Summary line\n    indented right after\nback\n", "unexpected unindent"),
    ("Text with `unclosed literal.", "start-string without end-string"),
    ("Absolute value |x| of x.", "Undefined substitution referenced"),
    ("A link_ nowhere.", 'Unknown target name: "link"'),
    ("S.\n\nParameters\n----------\nx : int\n    The `x.\n", "start-string without end-string"),
])
def test_the_restructuredtext_check_fails_on_what_the_book_build_fails_on(docstring, says):
    assert says in _rst_warnings(docstring, "function", "f", None)
    assert _rst_warnings("Fine :func:`f`, :math:`|x|`.\n\nSee Also\n--------\nf : the same.\n", "function", "f",
                         None) == ""
