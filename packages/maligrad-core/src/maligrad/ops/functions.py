"""Function forms of the ops, as in numpy: ``maligrad.exp(x)``, ``maligrad.sum(x, axis=0)``.

Each accepts a Variable (or anything ``Variable()`` accepts) and calls one op. A private
module: use these names from ``maligrad``; it is unrelated to ``maligrad.functional``
(function transforms) and ``maligrad.nn.functional`` (layer functions).

    >>> import numpy as np
    >>> import maligrad as mg
    >>> mg.exp(mg.Variable(np.zeros(2))).data
    array([1., 1.])
"""

from __future__ import annotations

from typing import Any

from maligrad.ops import elementwise as ew
from maligrad.ops import reductions as red
from maligrad.ops import reorder
from maligrad.ops import shape as shape_ops
from maligrad.ops.broadcast import BroadcastTo
from maligrad.ops.linalg import MatMul
from maligrad.variable import Axis, Variable


def as_variable(x: Any) -> Variable:
    """``x`` itself if it is a Variable, else a new constant Variable of it."""
    return x if isinstance(x, Variable) else Variable(x)


def exp(x: Any) -> Variable:
    return ew.Exp.apply(as_variable(x))


def log(x: Any) -> Variable:
    return ew.Log.apply(as_variable(x))


def log1p(x: Any) -> Variable:
    return ew.Log1p.apply(as_variable(x))


def expm1(x: Any) -> Variable:
    return ew.Expm1.apply(as_variable(x))


def sqrt(x: Any) -> Variable:
    return ew.Sqrt.apply(as_variable(x))


def sin(x: Any) -> Variable:
    return ew.Sin.apply(as_variable(x))


def cos(x: Any) -> Variable:
    return ew.Cos.apply(as_variable(x))


def tan(x: Any) -> Variable:
    return ew.Tan.apply(as_variable(x))


def tanh(x: Any) -> Variable:
    return ew.Tanh.apply(as_variable(x))


def sigmoid(x: Any) -> Variable:
    return ew.Sigmoid.apply(as_variable(x))


def relu(x: Any) -> Variable:
    return ew.Relu.apply(as_variable(x))


def softplus(x: Any) -> Variable:
    return ew.Softplus.apply(as_variable(x))


def abs(x: Any) -> Variable:
    return ew.Abs.apply(as_variable(x))


def clip(x: Any, min: Any = None, max: Any = None) -> Variable:
    return ew.Clip.apply(as_variable(x), lo=min, hi=max)


def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:
    return red.Sum.apply(as_variable(x), axis=axis, keepdims=keepdims)


def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:
    return red.Mean.apply(as_variable(x), axis=axis, keepdims=keepdims)


def prod(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:
    return red.Prod.apply(as_variable(x), axis=axis, keepdims=keepdims)


def var(x: Any, axis: Axis = None, ddof: int = 0, keepdims: bool = False) -> Variable:
    return red.Var.apply(as_variable(x), axis=axis, ddof=ddof, keepdims=keepdims)


def std(x: Any, axis: Axis = None, ddof: int = 0, keepdims: bool = False) -> Variable:
    return red.Std.apply(as_variable(x), axis=axis, ddof=ddof, keepdims=keepdims)


def max(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:
    return red.Max.apply(as_variable(x), axis=axis, keepdims=keepdims)


def min(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:
    return red.Min.apply(as_variable(x), axis=axis, keepdims=keepdims)


def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:
    return red.LogSumExp.apply(as_variable(x), axis=axis, keepdims=keepdims)


def cumsum(x: Any, axis: int | None = None) -> Variable:
    return red.cumsum(as_variable(x), axis)


def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> Variable:
    return red.argmax(x, axis, keepdims)


def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> Variable:
    return red.argmin(x, axis, keepdims)


def reshape(x: Any, shape: Any) -> Variable:
    """``x`` with a new ``shape`` (one entry may be -1), as ``np.reshape``."""
    return as_variable(x).reshape(shape)


def transpose(x: Any, axes: Any = None) -> Variable:
    return shape_ops.Transpose.apply(as_variable(x), axes=axes)


def permute(x: Any, axes: Any) -> Variable:
    """Reorder the axes of ``x``: axis ``i`` of the result is axis ``axes[i]`` of ``x``.

    PyTorch's name for :func:`transpose` with explicit axes:
    ``y[i_0, ..., i_n] = x[i_{p^-1(0)}, ...]``. The gradient is ``g`` permuted back by the
    inverse permutation (``np.argsort(axes)``).

        >>> import numpy as np
        >>> import maligrad as mg
        >>> mg.permute(mg.Variable(np.zeros((2, 3, 4))), (2, 0, 1)).shape
        (4, 2, 3)
    """
    return shape_ops.Transpose.apply(as_variable(x), axes=tuple(axes))


def swapaxes(x: Any, axis1: int, axis2: int) -> Variable:
    return shape_ops.swapaxes(as_variable(x), axis1, axis2)


def squeeze(x: Any, axis: Axis = None) -> Variable:
    return shape_ops.squeeze(as_variable(x), axis)


def expand_dims(x: Any, axis: int) -> Variable:
    return shape_ops.expand_dims(as_variable(x), axis)


def unsqueeze(x: Any, axis: int) -> Variable:
    """Insert an axis of length one at ``axis`` (PyTorch's name for :func:`expand_dims`).

    A reshape: ``y`` has the elements of ``x`` in the same order, so the gradient is ``g``
    reshaped back to ``x``'s shape.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> mg.unsqueeze(mg.Variable(np.zeros((2, 3))), 1).shape
        (2, 1, 3)
    """
    return shape_ops.expand_dims(as_variable(x), axis)


def flatten(x: Any, start_axis: int = 0, end_axis: int = -1) -> Variable:
    return shape_ops.flatten(as_variable(x), start_axis, end_axis)


def broadcast_to(x: Any, shape: Any) -> Variable:
    return BroadcastTo.apply(as_variable(x), shape=tuple(shape))


def flip(x: Any, axis: Axis = None) -> Variable:
    return reorder.Flip.apply(as_variable(x), axis=axis)


def roll(x: Any, shift: Any, axis: Axis = None) -> Variable:
    return reorder.Roll.apply(as_variable(x), shift=shift, axis=axis)


def repeat(x: Any, repeats: Any, axis: int | None = None) -> Variable:
    return reorder.Repeat.apply(as_variable(x), repeats=repeats, axis=axis)


def tile(x: Any, reps: Any) -> Variable:
    return reorder.Tile.apply(as_variable(x), reps=reps)


def matmul(a: Any, b: Any) -> Variable:
    return MatMul.apply(a, b)
