"""Argument checks shared by the public entry points: each names the argument it refuses.

>>> check_bool(True, "shuffle")
True
>>> check_bool("yes", "shuffle")
Traceback (most recent call last):
...
TypeError: shuffle must be a bool, got str ('yes')
"""

from __future__ import annotations

import numbers
import os
from typing import Any

import numpy as np


def _got(value: Any) -> str:
    text = repr(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"{type(value).__name__} ({text})" if value is not None else "None"


def check_bool(value: Any, name: str) -> bool:
    """``value`` as a bool; a TypeError for anything but ``bool`` and ``numpy.bool_``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {_got(value)}")
    return bool(value)


def check_real(value: Any, name: str) -> float:
    """``value`` as a float: a real number (not a bool, a string or None)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {_got(value)}")
    return float(value)


def check_int(value: Any, name: str) -> int:
    """``value`` as an int: a Python or numpy integer (not a bool or a float)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {_got(value)}")
    return int(value)


def check_path(value: Any, name: str) -> str:
    """``value`` as a path string: a non-empty str or ``os.PathLike``."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike, got {_got(value)}")
    text = os.fspath(value)
    if not isinstance(text, str):
        text = os.fsdecode(text)
    if not text.strip():
        raise ValueError(f"{name} is an empty string")
    return text


def check_dataset(value: Any, name: str = "dataset") -> None:
    """A TypeError unless ``value`` has ``__len__`` and ``__getitem__``."""
    if not (hasattr(value, "__len__") and hasattr(value, "__getitem__")) or isinstance(
        value, (str, bytes)
    ):
        raise TypeError(
            f"{name} must be a dataset (with __len__ and __getitem__), got {_got(value)}"
        )


def check_batch(x: Any, transform: str) -> np.ndarray:
    """``x`` as a numeric numpy array, or a TypeError naming ``transform``."""
    if not isinstance(x, np.ndarray):
        if x is None or isinstance(x, (str, bytes)):
            raise TypeError(f"{transform} expects a numeric array batch, got {_got(x)}")
        x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{transform} expects a numeric array batch, got dtype {x.dtype}")
    return x
