"""Shape ops: ``reshape`` and ``transpose`` (and the names built on them).

``squeeze``, ``expand_dims``/``unsqueeze`` and ``flatten`` are reshapes; ``swapaxes`` and
``permute`` are transposes. Gradients: reshape back, or transpose by the inverse
permutation.

    >>> import numpy as np
    >>> from maligrad import Variable
    >>> Variable(np.arange(6.0)).reshape(2, 3).T.shape
    (3, 2)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from maligrad.function import Function
from maligrad.ops.reductions import normalize_axis


class Reshape(Function):
    def forward(self, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        self.x_shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(
                f"cannot reshape a Variable of shape {x.shape} ({x.size} elements) into {shape}"
            ) from None

    def backward(self, gy: Any) -> Any:
        return Reshape.apply(gy, shape=self.x_shape)


class Transpose(Function):
    def forward(self, x: np.ndarray, axes: Any = None) -> np.ndarray:
        if axes is None:
            axes = tuple(range(x.ndim - 1, -1, -1))
        if sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
            raise ValueError(f"axes {tuple(axes)} are not a permutation of a {x.ndim}-D array")
        self.axes = tuple(axes)
        return x.transpose(self.axes)

    def backward(self, gy: Any) -> Any:
        return Transpose.apply(gy, axes=tuple(np.argsort([a % gy.ndim for a in self.axes])))


def swapaxes(x: Any, axis1: int, axis2: int) -> Any:
    """Exchange two axes."""
    ndim = x.ndim
    (a,) = normalize_axis(axis1, ndim)
    (b,) = normalize_axis(axis2, ndim)
    axes = list(range(ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return Transpose.apply(x, axes=tuple(axes))


def squeeze(x: Any, axis: Any = None) -> Any:
    """Drop axes of length one (all of them, or those named; others raise)."""
    shape = x.shape
    if axis is None:
        axes = tuple(i for i, n in enumerate(shape) if n == 1)
    else:
        axes = normalize_axis(axis, len(shape))
        for a in axes:
            if shape[a] != 1:
                raise ValueError(f"cannot squeeze axis {a} of length {shape[a]} (shape {shape})")
    return Reshape.apply(x, shape=tuple(n for i, n in enumerate(shape) if i not in axes))


def expand_dims(x: Any, axis: int) -> Any:
    """Insert an axis of length one at ``axis`` (``unsqueeze``)."""
    shape = list(x.shape)
    ndim = len(shape) + 1
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for an array of dimension {ndim}")
    shape.insert(axis % ndim, 1)
    return Reshape.apply(x, shape=tuple(shape))


def flatten(x: Any, start_axis: int = 0, end_axis: int = -1) -> Any:
    """Merge axes ``start_axis..end_axis`` into one."""
    shape = x.shape
    if not shape:
        return Reshape.apply(x, shape=(1,))
    s, e = normalize_axis(start_axis, len(shape))[0], normalize_axis(end_axis, len(shape))[0]
    if s > e:
        raise ValueError(f"flatten: start axis {start_axis} comes after end axis {end_axis}")
    merged = math.prod(shape[s : e + 1])
    return Reshape.apply(x, shape=shape[:s] + (merged,) + shape[e + 1 :])
