"""The runnable examples in the docstrings of maligrad-core are correct."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import maligrad

MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(maligrad.__path__, "maligrad.")
    if not name.startswith(("maligrad.nn", "maligrad.data"))
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
