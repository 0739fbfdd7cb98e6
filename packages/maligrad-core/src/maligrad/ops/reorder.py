"""Ops that move or copy elements: ``flip``, ``roll``, ``repeat``, ``tile``.

Gradients: flip back; roll back by ``-shift``; for ``repeat`` and ``tile`` the copies'
gradients are summed.

    >>> import numpy as np
    >>> from maligrad import Variable
    >>> x = Variable(np.array([1.0, 2.0]), requires_grad=True)
    >>> x.repeat(3).sum().backward()
    >>> x.grad.data
    array([3., 3.])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from maligrad.function import Function
from maligrad.ops.reductions import Sum, normalize_axis
from maligrad.ops.shape import Reshape


class Flip(Function):
    def forward(self, x: np.ndarray, axis: Any = None) -> np.ndarray:
        self.axis = normalize_axis(axis, x.ndim)
        return np.flip(x, self.axis).copy()

    def backward(self, gy: Any) -> Any:
        return Flip.apply(gy, axis=self.axis)


class Roll(Function):
    def forward(self, x: np.ndarray, shift: Any, axis: Any = None) -> np.ndarray:
        if axis is not None:
            normalize_axis(axis, x.ndim)
        self.shift, self.axis = shift, axis
        return np.roll(x, shift, axis)

    def backward(self, gy: Any) -> Any:
        shift = -np.asarray(self.shift)
        return Roll.apply(gy, shift=shift.tolist(), axis=self.axis)


class Repeat(Function):
    """``np.repeat``: each element (along ``axis``, or of the flattened array) ``repeats`` times."""

    def forward(self, x: np.ndarray, repeats: Any, axis: int | None = None) -> np.ndarray:
        self.x_shape = x.shape
        self.axis = None if axis is None else normalize_axis(axis, x.ndim)[0]
        self.repeats = repeats
        return np.repeat(x, repeats, axis=self.axis)

    def backward(self, gy: Any) -> Any:
        return RepeatGrad.apply(gy, repeats=self.repeats, axis=self.axis, x_shape=self.x_shape)


class RepeatGrad(Function):
    """The adjoint of ``repeat``: sum each run of copies (its own gradient is ``repeat``)."""

    def forward(
        self, g: np.ndarray, repeats: Any, axis: int | None, x_shape: tuple[int, ...]
    ) -> np.ndarray:
        self.repeats, self.axis, self.g_shape = repeats, axis, g.shape
        ax = 0 if axis is None else axis
        n = int(np.prod(x_shape)) if axis is None else x_shape[ax]
        before, after = g.shape[:ax], g.shape[ax + 1 :]
        if np.ndim(repeats) == 0 or len(repeats) == 1:
            r = int(np.asarray(repeats).reshape(-1)[0])
            out = g.reshape(before + (n, r) + after).sum(axis=ax + 1)
        else:
            index = np.repeat(np.arange(n), repeats)
            out = np.zeros(before + (n,) + after, dtype=g.dtype)
            np.add.at(out, (slice(None),) * ax + (index,), g)  # type: ignore[arg-type]
        return out.reshape(x_shape)

    def backward(self, gy: Any) -> Any:
        gx = Repeat.apply(
            gy if self.axis is not None else gy.reshape(-1), repeats=self.repeats, axis=self.axis
        )
        return gx.reshape(self.g_shape)


class Tile(Function):
    def forward(self, x: np.ndarray, reps: Any) -> np.ndarray:
        reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
        ndim = max(x.ndim, len(reps))
        self.x_shape = x.shape
        self.x_full = (1,) * (ndim - x.ndim) + x.shape
        self.reps = (1,) * (ndim - len(reps)) + reps
        return np.tile(x, reps)

    def backward(self, gy: Any) -> Any:
        # Split each axis into (copies, length) and sum over the copies.
        split = tuple(d for r, n in zip(self.reps, self.x_full) for d in (r, n))
        g = Reshape.apply(gy, shape=split)
        g = Sum.apply(g, axis=tuple(range(0, len(split), 2)))
        return Reshape.apply(g, shape=self.x_shape)
