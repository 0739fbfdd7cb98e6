"""Every public function, class and method of maligrad.nn has a docstring.

``missing_docstrings`` is self-contained so that the core and data suites can copy it as is.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import textwrap

import pytest


def public_modules(package: str) -> list[str]:
    """``package`` and its submodules, skipping private ones (``_x``) and ``__main__``."""
    root = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(root.__path__, prefix=package + "."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


def _public_names(module) -> list[str]:
    """``__all__``, or else the public functions and classes defined in ``module`` itself."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        name
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and obj.__module__ == module.__name__
    ]


def _own_doc(obj) -> bool:
    """Whether ``obj`` has a docstring of its own (not inherited, not generated)."""
    doc = (getattr(obj, "__doc__", None) or "").strip()
    if inspect.isclass(obj):
        if "__doc__" not in vars(obj):
            return False  # inherited from a base class
        if dataclasses.is_dataclass(obj) and doc.startswith(f"{obj.__name__}("):
            return False  # the signature that @dataclass writes when there is no docstring
    return bool(doc)


def _methods(cls: type):
    """The public methods and properties ``cls`` defines itself (inherited ones are checked
    on the class that defines them)."""
    for name, attr in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(attr, (staticmethod, classmethod)):
            attr = attr.__func__
        if inspect.isfunction(attr) or isinstance(attr, property):
            yield name, attr


def missing_docstrings(module_names: list[str]) -> list[str]:
    """The dotted names of public functions, classes and methods without a docstring.

    Walks ``__all__`` of each module (or, where a module has none, the public functions and
    classes it defines); constants and other data are skipped (they document themselves in
    the module text). A module without a docstring is reported by its own name. Each object
    is reported once, under the first name it is found by.
    """
    missing: list[str] = []
    seen: set[int] = set()
    for module_name in module_names:
        module = importlib.import_module(module_name)
        if not _own_doc(module):
            missing.append(module_name)
        for name in _public_names(module):
            obj = getattr(module, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)) or id(obj) in seen:
                continue
            seen.add(id(obj))
            qualname = f"{module_name}.{name}"
            if not _own_doc(obj):
                missing.append(qualname)
            if inspect.isclass(obj):
                for method_name, method in _methods(obj):
                    if id(method) not in seen:
                        seen.add(id(method))
                        if not _own_doc(method):
                            missing.append(f"{qualname}.{method_name}")
    return missing


# The public modules are those with an ``__all__``: the package, functional, init, optim,
# lr_scheduler, parallel, utils (and the layer modules, whose exports nn re-exports). The
# other submodules hold the Functions behind the functional ops, which are not public API.
MODULES = [
    m for m in public_modules("maligrad.nn") if hasattr(importlib.import_module(m), "__all__")
]


def test_public_modules_found():
    # The walk must see the package's modules, or the check below would pass vacuously.
    assert {
        "maligrad.nn",
        "maligrad.nn.functional",
        "maligrad.nn.init",
        "maligrad.nn.optim",
        "maligrad.nn.optim.lr_scheduler",
        "maligrad.nn.parallel",
        "maligrad.nn.utils",
    } <= set(MODULES)
    assert not any(m.split(".")[-1].startswith("_") for m in MODULES)


def test_missing_docstrings_reports_undocumented(tmp_path, monkeypatch):
    # The checker itself: a throwaway module with one gap of each kind.
    source = textwrap.dedent(
        '''
        """A module."""
        import dataclasses

        __all__ = ["f", "g", "C", "Inherits", "D", "N"]
        N = 3

        def f():
            """Documented."""

        def g():
            pass

        class C:
            """Documented."""

            def ok(self):
                """Documented."""

            def bad(self):
                pass

            def _private(self):
                pass

            @property
            def prop(self):
                return 1

        class Inherits(C):
            pass

        @dataclasses.dataclass
        class D:
            x: int = 0
        '''
    )
    (tmp_path / "docless_mod.py").write_text(source, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert missing_docstrings(["docless_mod"]) == [
        "docless_mod.g",
        "docless_mod.C.bad",
        "docless_mod.C.prop",
        "docless_mod.Inherits",
        "docless_mod.D",
    ]


def test_every_public_object_has_a_docstring():
    missing = missing_docstrings(MODULES)
    assert not missing, f"{len(missing)} public objects without a docstring: " + ", ".join(missing)


@pytest.mark.parametrize(
    ("module_name", "data"),
    [
        ("maligrad.nn", {"__version__", "functional", "init", "optim", "parallel", "utils"}),
        ("maligrad.nn.functional", set()),
        ("maligrad.nn.init", set()),
        ("maligrad.nn.optim", {"lr_scheduler"}),
        ("maligrad.nn.optim.lr_scheduler", set()),
        ("maligrad.nn.parallel", set()),
        ("maligrad.nn.utils", set()),
    ],
)
def test_exports_are_functions_or_classes(module_name, data):
    # missing_docstrings skips data, so an export that is neither (an alias object, say)
    # would go unchecked: only these are data (or submodules) on purpose.
    module = importlib.import_module(module_name)
    found = {
        name
        for name in module.__all__
        if not (inspect.isfunction(getattr(module, name)) or inspect.isclass(getattr(module, name)))
    }
    assert found == data
