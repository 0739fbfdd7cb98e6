"""Say which distribution to install when ``maligrad.nn`` or ``maligrad.data`` is missing.

``maligrad`` is one import namespace spread over three distributions; with only
maligrad-core installed, ``import maligrad.nn`` would fail with a bare "No module named".
This finder sits last on ``sys.meta_path``, so it is asked only after every real finder
has failed, and turns that failure into an ImportError naming the package to install.

``from maligrad import nn`` takes another path: Python first looks for an attribute ``nn``
and, when the submodule cannot be imported, reports only "cannot import name". The module
``__getattr__`` below (which ``maligrad/__init__.py`` uses as its own) imports the
subpackage on first attribute access, so ``maligrad.nn.Linear`` works after a plain
``import maligrad`` (as ``torch.nn`` does after ``import torch``), the hint reaches both
import forms, and a core-only user pays no import cost.
"""

from __future__ import annotations

import importlib
import sys
from importlib.abc import MetaPathFinder
from types import ModuleType
from typing import Any

DISTRIBUTIONS = {"maligrad.nn": "maligrad-nn", "maligrad.data": "maligrad-data"}


class MissingDistributionFinder(MetaPathFinder):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        dist = DISTRIBUTIONS.get(fullname)
        if dist is not None:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: it ships in the {dist} distribution; "
                f"install it with `pip install {dist}`",
                name=fullname,
            )
        return None


def install() -> None:
    if not any(isinstance(f, MissingDistributionFinder) for f in sys.meta_path):
        sys.meta_path.append(MissingDistributionFinder())


def lazy_subpackage(name: str) -> ModuleType:
    """``maligrad.<name>`` for ``nn`` and ``data``, imported on first use (module __getattr__).

    A missing distribution raises the finder's ModuleNotFoundError, which names the
    package to install; any other name is an ordinary AttributeError.
    """
    fullname = f"maligrad.{name}"
    if fullname not in DISTRIBUTIONS:
        raise AttributeError(f"module 'maligrad' has no attribute {name!r}")
    return importlib.import_module(fullname)
