"""Say which distribution to install when ``maligrad.nn`` or ``maligrad.data`` is missing.

``maligrad`` is one import namespace spread over three distributions; with only
maligrad-core installed, ``import maligrad.nn`` would fail with a bare "No module named".
This finder sits last on ``sys.meta_path``, so it is asked only after every real finder
has failed, and turns that failure into an ImportError naming the package to install.
"""

from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder
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
