"""`maligrad.nn` and `maligrad.data`: imported on first use, or a hint naming what to install.

Each case runs in a fresh interpreter, so what ``import maligrad`` imports is visible. The
core-only cases hide the sibling packages by narrowing ``maligrad.__path__`` to the core's
own folder (possible when they live in other folders, as in the editable workspace; the
wheel test in test_core_packaging.py checks the same in a real core-only environment).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

HIDE_SIBLINGS = """
import os, maligrad
core = os.path.dirname(maligrad.__file__)
if os.path.isdir(os.path.join(core, "nn")) or os.path.isdir(os.path.join(core, "data")):
    raise SystemExit(3)  # installed into one folder: they cannot be hidden this way
maligrad.__path__[:] = [core]
"""


def _installed(name: str) -> bool:
    try:  # with the core alone, the hint finder answers with its ModuleNotFoundError
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


@pytest.mark.parametrize(
    ("statement", "dist"),
    [
        ("from maligrad import nn", "maligrad-nn"),
        ("import maligrad.nn", "maligrad-nn"),
        ("maligrad.nn.Linear", "maligrad-nn"),
        ("from maligrad.nn import Linear", "maligrad-nn"),
        ("from maligrad import data", "maligrad-data"),
        ("import maligrad.data", "maligrad-data"),
        ("maligrad.data.DataLoader", "maligrad-data"),
    ],
)
def test_core_alone_names_the_distribution_to_install(statement: str, dist: str) -> None:
    result = _run(
        HIDE_SIBLINGS
        + f"try:\n    {statement}\nexcept ImportError as e:\n"
        + "    print(type(e).__name__, e)\n"
    )
    if result.returncode == 3:
        pytest.skip("maligrad-nn / maligrad-data are installed in the core's folder")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ModuleNotFoundError"), result.stdout
    assert f"install it with `pip install {dist}`" in result.stdout


def test_other_missing_attributes_are_attribute_errors() -> None:
    result = _run(
        "import maligrad\n"
        "print(hasattr(maligrad, 'nosuch'))\n"
        "try:\n    maligrad.nosuch\nexcept AttributeError as e:\n    print(e)\n"
    )
    assert result.stdout.splitlines() == ["False", "module 'maligrad' has no attribute 'nosuch'"]


@pytest.mark.skipif(
    not (_installed("maligrad.nn") and _installed("maligrad.data")),
    reason="needs maligrad-nn and maligrad-data installed",
)
def test_full_stack_imports_subpackages_on_first_use() -> None:
    result = _run(
        "import sys, maligrad\n"
        "print(sorted(m for m in sys.modules if m.startswith(('maligrad.nn', 'maligrad.data'))))\n"
        "print(maligrad.nn.Linear(3, 2).weight.shape)\n"
        "print(maligrad.data.DataLoader.__module__)\n"
        "from maligrad import nn, data\n"
        "print(nn is sys.modules['maligrad.nn'], data is maligrad.data)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "[]",  # plain `import maligrad` costs core-only users nothing
        "(2, 3)",
        "maligrad.data.loader",
        "True True",
    ]
