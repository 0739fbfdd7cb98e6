"""The runnable examples in the docstrings of maligrad-nn are correct."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import maligrad.nn

MODULES = sorted(name for _, name, _ in pkgutil.walk_packages(maligrad.nn.__path__, "maligrad.nn."))


@pytest.mark.parametrize("name", ["maligrad.nn", *MODULES])
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
