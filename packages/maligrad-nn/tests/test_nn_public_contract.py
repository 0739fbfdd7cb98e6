"""maligrad-nn and maligrad-data use only maligrad-core's public, documented API.

The three distributions are released on their own, so a core release must not break an nn
already on PyPI: nn and data may import only the core modules in ``PUBLIC_MODULES`` (the
list that docs/reference/core.md documents) and may not touch a core private name. The
checks read the source with ``ast`` (no regular expressions):

(a) imports: ``import maligrad.x`` / ``from maligrad.x import ...`` for a core module ``x``
    not in ``PUBLIC_MODULES``, ``from maligrad import _x`` (or a non-public core
    submodule), and ``from <public module> import _x``;
(b) attributes: ``obj._name`` (and ``getattr(obj, "_name")``, ``setattr``, ``hasattr``)
    where ``_name`` (one leading underscore, not a dunder) is a private attribute the core
    defines: a name in a core class body or assigned as ``obj._name = ...`` in the core.

Each violation is reported as ``file:line: what``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

#: The core modules nn and data may import; docs/reference/core.md lists the same ones.
PUBLIC_MODULES = ("maligrad", "maligrad.functional", "maligrad.random")

PACKAGES = Path(__file__).resolve().parents[2]
CORE_SRC = PACKAGES / "maligrad-core" / "src" / "maligrad"
SCANNED = [
    PACKAGES / "maligrad-nn" / "src" / "maligrad" / "nn",
    PACKAGES / "maligrad-data" / "src" / "maligrad" / "data",
]
OWN_PACKAGES = ("maligrad.nn", "maligrad.data")


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def core_submodules() -> set[str]:
    """``maligrad.x`` for every module and package of the core source tree."""
    names = set()
    for path in CORE_SRC.rglob("*.py"):
        parts = path.relative_to(CORE_SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            names.add(".".join(("maligrad", *parts)))
    return names


def core_private_attributes() -> set[str]:
    """Private names defined in core class bodies or assigned as attributes in the core."""
    names: set[str] = set()
    for path in CORE_SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                        names.add(item.name)
                    elif isinstance(item, ast.Assign):
                        names.update(t.id for t in item.targets if isinstance(t, ast.Name))
                    elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        names.add(item.target.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
    return {n for n in names if _is_private(n)}


def _is_core(module: str) -> bool:
    return (module == "maligrad" or module.startswith("maligrad.")) and not any(
        module == own or module.startswith(own + ".") for own in OWN_PACKAGES
    )


def violations_in(source: str, where: str, submodules: set[str], private: set[str]) -> list[str]:
    """Every use of a non-public core module or private core name in one file's source."""
    tree = ast.parse(source, filename=where)
    found = []

    def report(node: ast.AST, what: str) -> None:
        found.append(f"{where}:{getattr(node, 'lineno', 0)}: {what}")

    # Names bound to the core package itself (``import maligrad``, ``import maligrad as mg``),
    # so that ``mg.ops.elementwise`` is seen as a use of ``maligrad.ops``.
    core_aliases = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name == "maligrad"
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _is_core(alias.name) and alias.name not in PUBLIC_MODULES:
                    report(node, f"imports the non-public core module {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            module = node.module
            if not _is_core(module):
                continue
            if module not in PUBLIC_MODULES:
                report(node, f"imports from the non-public core module {module}")
                continue
            for alias in node.names:
                full = f"{module}.{alias.name}"
                if _is_private(alias.name):
                    report(node, f"imports the private name {alias.name} from {module}")
                elif full in submodules and full not in PUBLIC_MODULES:
                    report(node, f"imports the non-public core module {full}")
        elif isinstance(node, ast.Attribute):
            if node.attr in private:
                report(node, f"uses the core's private attribute .{node.attr}")
            elif isinstance(node.value, ast.Name) and node.value.id in core_aliases:
                full = f"maligrad.{node.attr}"
                if full in submodules and full not in PUBLIC_MODULES:
                    report(node, f"uses the non-public core module {full}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in private
        ):
            report(node, f"uses the core's private attribute {node.args[1].value!r} by name")
    return found


def scanned_files() -> list[Path]:
    return sorted(p for root in SCANNED for p in root.rglob("*.py"))


@pytest.fixture(scope="module")
def all_violations() -> dict[str, list[str]]:
    if not CORE_SRC.is_dir():
        pytest.skip("needs the repository (the core's source tree is not next to nn's)")
    submodules, private = core_submodules(), core_private_attributes()
    assert "maligrad.variable" in submodules and "_bump_version" in private  # sanity
    found = {}
    for path in scanned_files():
        where = path.relative_to(PACKAGES).as_posix()
        found[where] = violations_in(path.read_text(encoding="utf-8"), where, submodules, private)
    return found


def test_nn_and_data_use_only_the_public_core_api(all_violations: dict[str, list[str]]) -> None:
    bad = [v for vs in all_violations.values() for v in vs]
    assert not bad, "nn/data reach into the core's private API:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import maligrad.ops.elementwise", "non-public core module maligrad.ops.elementwise"),
        ("from maligrad.grad_mode import GradMode", "non-public core module maligrad.grad_mode"),
        ("from maligrad import _namespace", "private name _namespace"),
        ("from maligrad import ops", "non-public core module maligrad.ops"),
        ("from maligrad.random import _State", "private name _State"),
        ("p._bump_version()", "private attribute ._bump_version"),
        ("x._version += 1", "private attribute ._version"),
        ("getattr(x, '_version_box')", "'_version_box' by name"),
        ("import maligrad as mg\nmg.ops.erf", "non-public core module maligrad.ops"),
    ],
)
def test_each_kind_of_violation_is_reported_with_its_line(source: str, expected: str) -> None:
    found = _probe("import numpy\n" + source + "\n")
    assert len(found) == 1 and expected in found[0], found
    line = 1 + len(source.splitlines())
    assert found[0].startswith(f"probe.py:{line}: ")


@pytest.mark.parametrize(
    "source",
    [
        "from maligrad import Variable, no_grad, random",
        "import maligrad.functional",
        "from maligrad.random import generator_or_default",
        "from maligrad.nn.functional._common import anything",  # nn's own private module
        "self._modules = {}",  # nn's own private attribute, not a core one
        "x.__class__",
        "import maligrad as mg\nmg.random.manual_seed(0)\nmg.nn.Linear",
    ],
)
def test_public_uses_pass(source: str) -> None:
    assert _probe(source + "\n") == []


def _probe(source: str) -> list[str]:
    if not CORE_SRC.is_dir():
        pytest.skip("needs the repository (the core's source tree is not next to nn's)")
    return violations_in(source, "probe.py", core_submodules(), core_private_attributes())


def test_the_public_module_list_is_the_documented_one() -> None:
    page = PACKAGES.parent / "docs" / "reference" / "core.md"
    if not page.is_file():
        pytest.skip("docs/ is not part of this checkout")
    text = page.read_text(encoding="utf-8")
    for module in PUBLIC_MODULES:
        assert f"`{module}`" in text, f"docs/reference/core.md does not list {module}"
