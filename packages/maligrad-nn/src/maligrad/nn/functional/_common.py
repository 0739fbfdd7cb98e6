"""Small helpers shared by the fused Functions of maligrad.nn.functional (private)."""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

import maligrad
from maligrad import Variable

F = TypeVar("F", bound=Callable[..., Any])


def as_variable(x: Any, name: str | None = None) -> Variable:
    """``x`` itself if it is a Variable, else a constant Variable of ``np.asarray(x)``; an
    array the core refuses (strings, objects) is a TypeError that names the argument."""
    if isinstance(x, Variable):
        return x
    try:
        return Variable(np.asarray(x))
    except TypeError as exc:
        if name is None:
            raise
        raise TypeError(f"{name}: {exc}") from None


def layer_input(x: Any, where: str, name: str = "input") -> Variable:
    """The slow path of a layer's input check: ``x`` as a Variable if it is a numpy array or
    numpy scalar, else a TypeError naming ``where`` and the argument ``name``.

    Layers call it only when ``isinstance(x, Variable)`` is false, so the valid-input fast
    path costs one ``isinstance``. As in PyTorch, lists, strings, numbers and None are
    refused (pass ``np.asarray(...)`` or a Variable).
    """
    if isinstance(x, Variable):
        return x
    if isinstance(x, (np.ndarray, np.generic)):
        return Variable(x)
    raise TypeError(f"{where}: {name} expected a Variable or array, got {type(x).__name__}")


def check_size(fn: str, name: str, value: Any, minimum: int | None = 1) -> int:
    """``value`` as an int; TypeError unless an integer (bools, floats and strings are
    refused; numpy integers are fine), ValueError if below ``minimum`` (None: any)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{fn}: {name} must be an integer, got {type(value).__name__}")
    v = int(value)
    if minimum is not None and v < minimum:
        want = "positive" if minimum == 1 else f"at least {minimum}"
        raise ValueError(f"{fn}: {name} must be {want}, got {v}")
    return v


def check_momentum(fn: str, momentum: Any) -> float | None:
    """A batch norm's ``momentum``: None (cumulative average) or a number in ``[0, 1]``."""
    return None if momentum is None else check_number(fn, "momentum", momentum, 0.0, 1.0)


def float_input(x: Any, where: str = "input") -> Any:
    """``x`` with integer or bool values promoted to the default float dtype.

    For ops whose result is not an integer (sigmoid, gelu, softmax, ...), as PyTorch and
    numpy's ufuncs do. Floating (and complex) Variables are returned unchanged.
    """
    if not isinstance(x, Variable):
        x = layer_input(x, where)
    if x.data.dtype.kind in "biu":
        return Variable(x.data.astype(maligrad.get_default_dtype()))
    return x


def check_reduction(reduction: Any, allowed: tuple[str, ...] = ("none", "mean", "sum")) -> None:
    if not isinstance(reduction, str) or reduction not in allowed:
        raise ValueError(f"reduction must be one of {allowed}, got {reduction!r}")


def check_number(
    fn: str,
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
) -> float:
    """``value`` as a float; TypeError unless a real number, ValueError unless finite and in
    ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{fn}: {name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{fn}: {name} must be finite, got {v}")
    if v < low or v > high or (low_open and v == low):
        if high == math.inf:
            want = f"{'positive' if low_open and low == 0 else f'at least {low:g}'}"
        else:
            want = f"between {low:g} and {high:g}"
        raise ValueError(f"{fn}: {name} must be {want}, got {v:g}")
    return v


def normalize_dim(dim: Any, ndim: int, fn: str) -> int:
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"{fn}: dim must be an integer, got {type(dim).__name__}")
    d = int(dim)
    if not -max(ndim, 1) <= d < max(ndim, 1):
        raise IndexError(f"{fn}: dim {d} is out of range for an input with {ndim} dimensions")
    return d % max(ndim, 1)


def write_inplace(input: Any, result: Variable, fn: str) -> Any:
    """Store ``result`` in ``input``'s array and return ``input`` (``inplace=True``).

    As everywhere in maligrad, in-place changes happen outside the graph only: an input that
    requires grad while the graph is recorded is refused (pass ``inplace=False``). The
    version counter moves on, so a backward that saved the old values raises.
    """
    if not isinstance(input, Variable):
        raise TypeError(f"{fn}(inplace=True) needs a Variable, got {type(input).__name__}")
    if input.requires_grad and maligrad.is_grad_enabled():
        raise RuntimeError(
            f"{fn}(inplace=True) on a Variable that requires grad while the graph is recorded: "
            "maligrad changes arrays in place only outside the graph; use inplace=False"
        )
    if result.dtype != input.dtype:
        raise TypeError(
            f"{fn}(inplace=True): the result of dtype {result.dtype} cannot be stored in an "
            f"input of dtype {input.dtype}; convert the input first or use inplace=False"
        )
    return input.copy_(result)


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
