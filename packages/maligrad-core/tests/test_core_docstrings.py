"""Every public name of maligrad-core has a docstring, written in Markdown (no Sphinx roles).

Public means: each name in ``__all__`` of ``maligrad``, ``maligrad.functional`` and
``maligrad.random``, and each public method and property of ``Variable`` and ``Function``
(the API reference in docs/reference/core.md renders exactly these). mkdocstrings renders
Markdown, so a reStructuredText role (":class:`Variable`") would reach the page as literal
text; cross-references are written ``[Variable][maligrad.Variable]``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from types import ModuleType
from typing import Any

import maligrad

PUBLIC_MODULES = ("maligrad", "maligrad.functional", "maligrad.random")
CLASSES = (maligrad.Variable, maligrad.Function)
ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|mod|obj|exc|data|const|ref)s?:`")


def _doc(obj: Any) -> str | None:
    """The object's own docstring (a class does not inherit one; a property has its getter's)."""
    if isinstance(obj, (classmethod, staticmethod)):
        obj = obj.__func__
    doc = obj.__doc__
    return doc.strip() if isinstance(doc, str) else None


def public_objects() -> dict[str, Any]:
    """``{qualified name: object}`` for every public name the reference documents."""
    found: dict[str, Any] = {}
    for modname in PUBLIC_MODULES:
        module = importlib.import_module(modname)
        found[modname] = module
        for name in module.__all__:
            if not name.startswith("__"):  # __version__
                found[f"{modname}.{name}"] = getattr(module, name)
    for cls in CLASSES:
        for name, member in vars(cls).items():
            if name.startswith("_"):
                continue
            if isinstance(member, (property, classmethod, staticmethod)) or inspect.isfunction(
                member
            ):
                found[f"maligrad.{cls.__name__}.{name}"] = member
    return found


def test_the_walk_sees_the_public_api() -> None:
    names = public_objects()
    for expected in (
        "maligrad.exp",
        "maligrad.sum",
        "maligrad.matmul",
        "maligrad.GradcheckError",
        "maligrad.functional.hvp",
        "maligrad.random.generator_or_default",
        "maligrad.Variable.backward",
        "maligrad.Variable.shape",
        "maligrad.Variable.clamp",
        "maligrad.Function.apply",
        "maligrad.Function.saved_tensors",
    ):
        assert expected in names
    assert len(names) > 150


def test_every_public_name_has_a_docstring() -> None:
    missing = sorted(name for name, obj in public_objects().items() if not _doc(obj))
    assert missing == [], f"{len(missing)} public names without a docstring: {missing}"


def test_public_docstrings_start_with_a_summary_line() -> None:
    """The first line says what it does (the reference's summary); the rest follows a blank."""
    bad = []
    for name, obj in public_objects().items():
        lines = (_doc(obj) or "").splitlines()
        if len(lines) > 1 and lines[1].strip():
            bad.append(name)
    assert bad == [], f"no one-line summary (first line, then a blank line): {bad}"


def _all_core_modules() -> list[ModuleType]:
    names = [
        name
        for _, name, _ in pkgutil.walk_packages(maligrad.__path__, "maligrad.")
        if not name.startswith(("maligrad.nn", "maligrad.data"))
    ]
    return [maligrad] + [importlib.import_module(n) for n in sorted(names)]


def _defined_in(obj: Any, modname: str) -> bool:
    """Is ``obj`` a function, class, property or method written in module ``modname``?"""
    if isinstance(obj, (classmethod, staticmethod)):
        obj = obj.__func__
    if isinstance(obj, property):
        obj = obj.fget
    if not (inspect.isfunction(obj) or inspect.isclass(obj)):
        return False
    return obj.__module__ == modname


def test_no_sphinx_role_in_any_core_docstring() -> None:
    found = []
    for module in _all_core_modules():
        objects: list[tuple[str, Any]] = [(module.__name__, module)]
        for name, obj in vars(module).items():
            if not _defined_in(obj, module.__name__):
                continue
            objects.append((f"{module.__name__}.{name}", obj))
            if inspect.isclass(obj):
                objects += [
                    (f"{module.__name__}.{name}.{m}", v)
                    for m, v in vars(obj).items()
                    if _defined_in(v, module.__name__)
                ]
        for qualname, obj in objects:
            role = ROLE.search(_doc(obj) or "")
            if role:
                found.append(f"{qualname}: {role.group(0)}")
    assert found == [], f"Sphinx roles (use [name][maligrad.path] cross-references): {found}"
