"""Broadcasting and its adjoint: ``broadcast_to`` and ``sum_to``.

Every binary op broadcasts its inputs, so its backward must sum the gradient back to each
input's shape: ``sum_to`` (DeZero's name) is that sum, and the two are each other's
gradient.

    >>> import numpy as np
    >>> from maligrad import Variable, sum_to
    >>> sum_to(Variable(np.ones((2, 3))), (1, 3)).data
    array([[2., 2., 2.]])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from maligrad.function import Function


def _sum_axes(shape: tuple[int, ...], target: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    lead = len(shape) - len(target)
    if lead < 0:
        raise ValueError(f"cannot sum shape {shape} down to the larger shape {target}")
    axes = [i for i in range(lead)]
    for i, n in enumerate(target):
        if n == 1 and shape[lead + i] != 1:
            axes.append(lead + i)
        elif n != shape[lead + i] and n != 1:
            raise ValueError(f"cannot sum shape {shape} down to shape {target}")
    return tuple(axes), lead


class SumTo(Function):
    """Sum over broadcast axes so that the result has ``shape``."""

    def forward(self, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        self.x_shape = x.shape
        axes, lead = _sum_axes(x.shape, shape)
        y = x.sum(axis=axes, keepdims=True) if axes else x
        return y.reshape(shape) if lead else y

    def backward(self, gy: Any) -> Any:
        return BroadcastTo.apply(gy, shape=self.x_shape)


class BroadcastTo(Function):
    """numpy's ``broadcast_to`` (the result is copied, so it is writable)."""

    def forward(self, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        self.x_shape = x.shape
        try:
            return np.array(np.broadcast_to(x, shape))
        except ValueError:
            raise ValueError(f"cannot broadcast shape {x.shape} to shape {shape}") from None

    def backward(self, gy: Any) -> Any:
        return sum_to(gy, self.x_shape)


def sum_to(x: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``x`` down to ``shape`` (the adjoint of broadcasting); a no-op when equal.

    Sums over the leading axes ``x`` has beyond ``shape`` and over the axes where ``shape``
    has length one, so ``sum_to(broadcast_to(y, s), y.shape)`` adds up the copies of each
    entry. Binary ops call it in their backward. Gradient: ``g`` broadcast back to
    ``x``'s shape ([broadcast_to][maligrad.broadcast_to]).

        >>> import numpy as np
        >>> import maligrad as mg
        >>> mg.sum_to(mg.Variable(np.ones((2, 3))), (1, 3)).data.tolist()
        [[2.0, 2.0, 2.0]]
    """
    if x.data.shape == shape:
        return x
    return SumTo.apply(x, shape=shape)


def broadcast_to(x: Any, shape: tuple[int, ...]) -> Any:
    """Broadcast ``x`` to ``shape``; a no-op when equal."""
    if x.data.shape == tuple(shape):
        return x
    return BroadcastTo.apply(x, shape=tuple(shape))
