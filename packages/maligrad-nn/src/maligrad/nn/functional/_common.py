"""Small helpers shared by the fused Functions of maligrad.nn.functional (private)."""

from __future__ import annotations

from typing import Any

import numpy as np

from maligrad import Variable
from maligrad.grad_mode import GradMode

_new = object.__new__


def wrap(array: np.ndarray) -> Variable:
    """A constant Variable around ``array`` (no copy, no checks: for gradients)."""
    v = _new(Variable)
    v.data = array
    return v


def recording() -> bool:
    """True inside ``backward(create_graph=True)``: gradients must be built from ops."""
    return GradMode.enabled


def as_var(x: Any, name: str = "input") -> Variable:
    """``x`` itself if it is a Variable, else a constant Variable (clear error otherwise)."""
    if isinstance(x, Variable):
        return x
    if isinstance(x, np.ndarray):
        return Variable(x)
    raise TypeError(f"{name} must be a Variable or numpy array, got {type(x).__name__}")


def check_reduction(reduction: str, allowed: tuple[str, ...] = ("none", "mean", "sum")) -> None:
    if reduction not in allowed:
        raise ValueError(f"reduction must be one of {allowed}, got {reduction!r}")


def normalize_dim(dim: int, ndim: int, fn: str) -> int:
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"{fn}: dim {dim} is out of range for an input with {ndim} dimensions")
    return dim % max(ndim, 1)
