"""Small helpers shared by the fused Functions of maligrad.nn.functional (private)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from maligrad import Variable
from maligrad.grad_mode import GradMode

_new = object.__new__
F = TypeVar("F", bound=Callable[..., Any])


def wrap(array: np.ndarray) -> Variable:
    """A constant Variable around ``array`` (no copy, no checks: for gradients)."""
    v = _new(Variable)
    v.data = array
    return v


def recording() -> bool:
    """True inside ``backward(create_graph=True)``: gradients must be built from ops."""
    return GradMode.enabled


def as_variable(x: Any) -> Variable:
    """``x`` itself if it is a Variable, else a constant Variable of ``np.asarray(x)``."""
    return x if isinstance(x, Variable) else Variable(np.asarray(x))


def check_reduction(reduction: str, allowed: tuple[str, ...] = ("none", "mean", "sum")) -> None:
    if reduction not in allowed:
        raise ValueError(f"reduction must be one of {allowed}, got {reduction!r}")


def normalize_dim(dim: int, ndim: int, fn: str) -> int:
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"{fn}: dim {dim} is out of range for an input with {ndim} dimensions")
    return dim % max(ndim, 1)


def accepts_unbatched(batched_ndim: int) -> Callable[[F], F]:
    """Let a function of batched input (``batched_ndim`` axes, batch first) also take one
    unbatched sample, as PyTorch's convolutions and pools do: ``(C, H, W)`` runs as
    ``(1, C, H, W)`` and the batch axis is removed again."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(input: Any, *args: Any, **kwargs: Any) -> Any:
            if np.ndim(input) == batched_ndim - 1:
                return fn(as_variable(input).unsqueeze(0), *args, **kwargs).squeeze(0)
            return fn(input, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
