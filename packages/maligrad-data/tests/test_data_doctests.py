"""The runnable examples in the maligrad.data docstrings (all offline)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "maligrad.data",
    "maligrad.data.cifar",
    "maligrad.data.cli",
    "maligrad.data.dataset",
    "maligrad.data.datasets",
    "maligrad.data.download",
    "maligrad.data.errors",
    "maligrad.data.idx",
    "maligrad.data.loader",
    "maligrad.data.registry",
    "maligrad.data.sample",
    "maligrad.data.transforms",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
