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
    """``x`` itself if it is a Variable, else a new constant Variable of it.

    Numpy arrays keep their dtype; Python floats and lists get the default float dtype.

        >>> import maligrad as mg
        >>> v = mg.as_variable([1.0, 2.0])
        >>> v.dtype.name, mg.as_variable(v) is v
        ('float32', True)
    """
    return x if isinstance(x, Variable) else Variable(x)


def exp(x: Any) -> Variable:
    """Elementwise exponential, ``y = e^x``.

    Gradient: ``d/dx exp(x) = exp(x)``, so ``dx = g * y`` (the saved output is reused).
    Integer and bool input is promoted to the default float dtype.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([0.0, 1.0]), requires_grad=True)
        >>> mg.exp(x).sum().backward()
        >>> np.round(x.grad.data, 4).tolist()
        [1.0, 2.7183]
    """
    return ew.Exp.apply(as_variable(x))


def log(x: Any) -> Variable:
    """Elementwise natural logarithm, ``y = ln x``.

    Gradient: ``d/dx log(x) = 1 / x``, so ``dx = g / x``. Integer and bool input is promoted
    to the default float dtype; ``log(0)`` is ``-inf`` and a negative ``x`` gives NaN, as numpy.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([1.0, 4.0]), requires_grad=True)
        >>> mg.log(x).sum().backward()
        >>> x.grad.data.tolist()
        [1.0, 0.25]
    """
    return ew.Log.apply(as_variable(x))


def log1p(x: Any) -> Variable:
    """Elementwise ``y = ln(1 + x)``, accurate for small ``x``.

    Gradient: ``d/dx log1p(x) = 1 / (1 + x)``.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([0.0, 1.0]), requires_grad=True)
        >>> mg.log1p(x).sum().backward()
        >>> x.grad.data.tolist()
        [1.0, 0.5]
    """
    return ew.Log1p.apply(as_variable(x))


def expm1(x: Any) -> Variable:
    """Elementwise ``y = e^x - 1``, accurate for small ``x``.

    Gradient: ``d/dx expm1(x) = e^x = y + 1``.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> mg.expm1(mg.Variable(np.array([0.0]))).data.tolist()
        [0.0]
    """
    return ew.Expm1.apply(as_variable(x))


def sqrt(x: Any) -> Variable:
    """Elementwise square root, ``y = sqrt(x)``.

    Gradient: ``d/dx sqrt(x) = 1 / (2 sqrt(x))``, so ``dx = g / (2 y)`` (``inf`` at 0).

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([4.0, 16.0]), requires_grad=True)
        >>> mg.sqrt(x).sum().backward()
        >>> x.grad.data.tolist()
        [0.25, 0.125]
    """
    return ew.Sqrt.apply(as_variable(x))


def sin(x: Any) -> Variable:
    """Elementwise sine (radians).

    Gradient: ``d/dx sin(x) = cos(x)``; the backward is itself differentiable.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([0.0]), requires_grad=True)
        >>> mg.sin(x).sum().backward()
        >>> x.grad.data.tolist()
        [1.0]
    """
    return ew.Sin.apply(as_variable(x))


def cos(x: Any) -> Variable:
    """Elementwise cosine (radians).

    Gradient: ``d/dx cos(x) = -sin(x)``.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> mg.cos(mg.Variable(np.array([0.0]))).data.tolist()
        [1.0]
    """
    return ew.Cos.apply(as_variable(x))


def tan(x: Any) -> Variable:
    """Elementwise tangent (radians).

    Gradient: ``d/dx tan(x) = 1 + tan(x)^2 = 1 + y^2``.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([0.0]), requires_grad=True)
        >>> mg.tan(x).sum().backward()
        >>> x.grad.data.tolist()
        [1.0]
    """
    return ew.Tan.apply(as_variable(x))


def tanh(x: Any) -> Variable:
    """Elementwise hyperbolic tangent, ``y = (e^x - e^-x) / (e^x + e^-x)``.

    Gradient: ``d/dx tanh(x) = 1 - tanh(x)^2 = 1 - y^2`` (one fused op, differentiable again).

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([0.0, 1.0]), requires_grad=True)
        >>> mg.tanh(x).sum().backward()
        >>> np.round(x.grad.data, 4).tolist()
        [1.0, 0.42]
    """
    return ew.Tanh.apply(as_variable(x))


def sigmoid(x: Any) -> Variable:
    """Elementwise logistic sigmoid, ``y = 1 / (1 + e^-x)``, without overflow for large ``|x|``.

    Gradient: ``d/dx sigmoid(x) = y (1 - y)`` (one fused op, differentiable again).
    Complex input is refused.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([0.0]), requires_grad=True)
        >>> mg.sigmoid(x).sum().backward()
        >>> x.grad.data.tolist()
        [0.25]
    """
    return ew.Sigmoid.apply(as_variable(x))


def relu(x: Any) -> Variable:
    """Elementwise rectifier, ``y = max(x, 0)``; integer input stays integer.

    Gradient: ``dx = g * [x > 0]`` (0 at ``x = 0``, as in PyTorch).

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([-1.0, 0.0, 2.0]), requires_grad=True)
        >>> mg.relu(x).sum().backward()
        >>> x.grad.data.tolist()
        [0.0, 0.0, 1.0]
    """
    return ew.Relu.apply(as_variable(x))


def softplus(x: Any) -> Variable:
    """Elementwise ``y = ln(1 + e^x)``, a smooth relu, stable for large ``|x|``.

    Gradient: ``d/dx softplus(x) = sigmoid(x)``.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([0.0]), requires_grad=True)
        >>> mg.softplus(x).sum().backward()
        >>> x.grad.data.tolist()
        [0.5]
    """
    return ew.Softplus.apply(as_variable(x))


def abs(x: Any) -> Variable:
    """Elementwise absolute value ``|x|``; integer input stays integer.

    Gradient: ``dx = g * sign(x)`` (0 at ``x = 0``, as in PyTorch).

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([-2.0, 0.0, 3.0]), requires_grad=True)
        >>> mg.abs(x).sum().backward()
        >>> x.grad.data.tolist()
        [-1.0, 0.0, 1.0]
    """
    return ew.Abs.apply(as_variable(x))


def clip(x: Any, min: Any = None, max: Any = None) -> Variable:
    """Clamp ``x`` elementwise to ``[min, max]`` (either bound may be None, not both).

    ``y = minimum(maximum(x, min), max)``; the bounds are constants. Gradient:
    ``dx = g`` where ``min <= x <= max`` (bounds included, PyTorch's convention), else 0.
    An integer ``x`` with a float bound is promoted to the default float dtype.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([-2.0, 0.5, 3.0]), requires_grad=True)
        >>> y = mg.clip(x, 0.0, 1.0)
        >>> y.data.tolist()
        [0.0, 0.5, 1.0]
        >>> y.sum().backward()
        >>> x.grad.data.tolist()
        [0.0, 1.0, 0.0]
    """
    return ew.Clip.apply(as_variable(x), lo=min, hi=max)


def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:
    """Sum over ``axis`` (None: all axes; an int or a tuple of ints), as ``np.sum``.

    ``y = sum_i x_i`` over the reduced axes; ``keepdims`` keeps them with length one.
    Gradient: ``d/dx_i sum(x) = 1``: ``g`` is broadcast back over the reduced axes, so
    every entry of ``x`` gets the gradient of the sum it went into.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.ones((2, 3)), requires_grad=True)
        >>> s = mg.sum(x, axis=1)
        >>> s.data.tolist()
        [3.0, 3.0]
        >>> (s * np.array([1.0, 2.0])).sum().backward()
        >>> x.grad.data.tolist()
        [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]
    """
    return red.Sum.apply(as_variable(x), axis=axis, keepdims=keepdims)


def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:
    """Mean over ``axis`` (None: all axes), as ``np.mean``.

    ``y = (1/n) sum_i x_i`` with ``n`` the number of entries reduced. Gradient: ``g / n``
    broadcast back over the reduced axes. Integer and bool input gives the default float
    dtype.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([[1.0, 3.0], [5.0, 7.0]]), requires_grad=True)
        >>> m = mg.mean(x, axis=0)
        >>> m.data.tolist()
        [3.0, 5.0]
        >>> m.sum().backward()
        >>> x.grad.data.tolist()
        [[0.5, 0.5], [0.5, 0.5]]
    """
    return red.Mean.apply(as_variable(x), axis=axis, keepdims=keepdims)


def prod(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:
    """Product over ``axis`` (None: all axes), as ``np.prod``.

    Gradient: ``d/dx_i prod(x) = prod_{k != i} x_k``, i.e. ``g y / x_i`` where ``x`` has no
    zero; with zeros the product of the other entries is built from multiplications only,
    so it is exact and differentiable again there.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([2.0, 0.0, 4.0]), requires_grad=True)
        >>> mg.prod(x).backward()
        >>> x.grad.data.tolist()
        [0.0, 8.0, 0.0]
    """
    return red.Prod.apply(as_variable(x), axis=axis, keepdims=keepdims)


def var(x: Any, axis: Axis = None, ddof: int = 0, keepdims: bool = False) -> Variable:
    """Variance over ``axis``, ``y = sum_i (x_i - mean)^2 / (n - ddof)``, as ``np.var``.

    ``ddof=0`` is the population variance, ``ddof=1`` the sample variance. Gradient:
    ``dx_i = g * 2 (x_i - mean) / (n - ddof)``, ``g`` broadcast over the reduced axes.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([1.0, 2.0, 3.0, 4.0]), requires_grad=True)
        >>> v = mg.var(x)
        >>> v.item()
        1.25
        >>> v.backward()
        >>> x.grad.data.tolist()
        [-0.75, -0.25, 0.25, 0.75]
    """
    return red.Var.apply(as_variable(x), axis=axis, ddof=ddof, keepdims=keepdims)


def std(x: Any, axis: Axis = None, ddof: int = 0, keepdims: bool = False) -> Variable:
    """Standard deviation over ``axis``, ``y = sqrt(var(x, axis, ddof))``, as ``np.std``.

    Gradient: ``dx_i = g * (x_i - mean) / ((n - ddof) y)``, ``g`` broadcast over the
    reduced axes; where ``y = 0`` (a constant input) it is 0, as in PyTorch.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([1.0, 3.0]), requires_grad=True)
        >>> s = mg.std(x)
        >>> s.item()
        1.0
        >>> s.backward()
        >>> x.grad.data.tolist()
        [-0.5, 0.5]
    """
    return red.Std.apply(as_variable(x), axis=axis, ddof=ddof, keepdims=keepdims)


def max(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:
    """Largest entry over ``axis`` (None: all axes), as ``np.max``; NaN propagates.

    Gradient: ``g`` goes to the entries equal to the maximum, split equally between ties
    (between the NaN entries of a group whose maximum is NaN).

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([[1.0, 5.0], [3.0, 3.0]]), requires_grad=True)
        >>> m = mg.max(x, axis=1)
        >>> m.data.tolist()
        [5.0, 3.0]
        >>> m.sum().backward()
        >>> x.grad.data.tolist()
        [[0.0, 1.0], [0.5, 0.5]]
    """
    return red.Max.apply(as_variable(x), axis=axis, keepdims=keepdims)


def min(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:
    """Smallest entry over ``axis`` (None: all axes), as ``np.min``; NaN propagates.

    Gradient: ``g`` goes to the entries equal to the minimum, split equally between ties.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([2.0, 1.0, 1.0]), requires_grad=True)
        >>> mg.min(x).backward()
        >>> x.grad.data.tolist()
        [0.0, 0.5, 0.5]
    """
    return red.Min.apply(as_variable(x), axis=axis, keepdims=keepdims)


def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False) -> Variable:
    """``y = log(sum_i exp(x_i))`` over ``axis``, shifted by the maximum so it never overflows.

    Gradient: ``dx_i = g * exp(x_i - y)``, the softmax of ``x`` over the reduced axes.
    A group of all ``-inf`` gives ``-inf``.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([1000.0, 1000.0]), requires_grad=True)
        >>> y = mg.logsumexp(x)
        >>> round(y.item(), 4)
        1000.6931
        >>> y.backward()
        >>> x.grad.data.tolist()
        [0.5, 0.5]
    """
    return red.LogSumExp.apply(as_variable(x), axis=axis, keepdims=keepdims)


def cumsum(x: Any, axis: int | None = None) -> Variable:
    """Cumulative sum along ``axis`` (of the flattened ``x`` when None), as ``np.cumsum``.

    ``y_j = sum_{i <= j} x_i``. Gradient: ``dx_i = sum_{j >= i} g_j``, the reversed
    cumulative sum of ``g``.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([1.0, 2.0, 3.0]), requires_grad=True)
        >>> y = mg.cumsum(x)
        >>> y.data.tolist()
        [1.0, 3.0, 6.0]
        >>> y.sum().backward()
        >>> x.grad.data.tolist()
        [3.0, 2.0, 1.0]
    """
    return red.cumsum(as_variable(x), axis)


def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> Variable:
    """Indices of the largest entries along ``axis`` (of the flattened ``x`` when None).

    An int64 Variable outside the graph (indices have no gradient), as ``np.argmax``.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> mg.argmax(mg.Variable(np.array([[1.0, 5.0], [7.0, 3.0]])), axis=1).tolist()
        [1, 0]
    """
    return red.argmax(x, axis, keepdims)


def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> Variable:
    """Indices of the smallest entries along ``axis`` (of the flattened ``x`` when None).

    An int64 Variable outside the graph (indices have no gradient), as ``np.argmin``.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> mg.argmin(mg.Variable(np.array([[1.0, 5.0], [7.0, 3.0]])), axis=1).tolist()
        [0, 1]
    """
    return red.argmin(x, axis, keepdims)


def reshape(x: Any, shape: Any) -> Variable:
    """``x`` with a new ``shape`` (one entry may be -1), as ``np.reshape``.

    The elements keep their (C) order. Gradient: ``g`` reshaped back to ``x``'s shape.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> mg.reshape(mg.Variable(np.arange(6.0)), (2, -1)).data.tolist()
        [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    """
    return as_variable(x).reshape(shape)


def transpose(x: Any, axes: Any = None) -> Variable:
    """Permute the axes of ``x``: reversed when ``axes`` is None, as ``np.transpose``.

    ``y.shape[i] = x.shape[axes[i]]``. Gradient: ``g`` transposed by the inverse
    permutation (``np.argsort(axes)``).

        >>> import numpy as np
        >>> import maligrad as mg
        >>> mg.transpose(mg.Variable(np.array([[1.0, 2.0]]))).data.tolist()
        [[1.0], [2.0]]
    """
    return shape_ops.Transpose.apply(as_variable(x), axes=axes)


def permute(x: Any, axes: Any) -> Variable:
    """Reorder the axes of ``x``: axis ``i`` of the result is axis ``axes[i]`` of ``x``.

    PyTorch's name for [transpose][maligrad.transpose] with explicit axes:
    ``y[i_0, ..., i_n] = x[i_{p^-1(0)}, ...]``. The gradient is ``g`` permuted back by the
    inverse permutation (``np.argsort(axes)``).

        >>> import numpy as np
        >>> import maligrad as mg
        >>> mg.permute(mg.Variable(np.zeros((2, 3, 4))), (2, 0, 1)).shape
        (4, 2, 3)
    """
    return shape_ops.Transpose.apply(as_variable(x), axes=tuple(axes))


def swapaxes(x: Any, axis1: int, axis2: int) -> Variable:
    """Exchange axes ``axis1`` and ``axis2`` of ``x``, as ``np.swapaxes``.

    A transpose; the gradient swaps the same two axes of ``g`` back.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> mg.swapaxes(mg.Variable(np.zeros((2, 3, 4))), 0, 2).shape
        (4, 3, 2)
    """
    return shape_ops.swapaxes(as_variable(x), axis1, axis2)


def squeeze(x: Any, axis: Axis = None) -> Variable:
    """Drop axes of length one: all of them, or those in ``axis`` (others raise).

    A reshape; the gradient is ``g`` reshaped back to ``x``'s shape.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> mg.squeeze(mg.Variable(np.zeros((1, 3, 1)))).shape
        (3,)
    """
    return shape_ops.squeeze(as_variable(x), axis)


def expand_dims(x: Any, axis: int) -> Variable:
    """Insert an axis of length one at ``axis``, as ``np.expand_dims``.

    A reshape; the gradient is ``g`` reshaped back to ``x``'s shape. PyTorch calls it
    [unsqueeze][maligrad.unsqueeze].

        >>> import numpy as np
        >>> import maligrad as mg
        >>> mg.expand_dims(mg.Variable(np.zeros(3)), 0).shape
        (1, 3)
    """
    return shape_ops.expand_dims(as_variable(x), axis)


def unsqueeze(x: Any, axis: int) -> Variable:
    """Insert an axis of length one at ``axis``; PyTorch's name for numpy's ``expand_dims``.

    A reshape ([expand_dims][maligrad.expand_dims]): ``y`` has the elements of ``x`` in the
    same order, so the gradient is ``g`` reshaped back to ``x``'s shape.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> mg.unsqueeze(mg.Variable(np.zeros((2, 3))), 1).shape
        (2, 1, 3)
    """
    return shape_ops.expand_dims(as_variable(x), axis)


def flatten(x: Any, start_axis: int = 0, end_axis: int = -1) -> Variable:
    """Merge axes ``start_axis`` to ``end_axis`` (inclusive) into one, as ``torch.flatten``.

    A reshape; the gradient is ``g`` reshaped back to ``x``'s shape. A 0-d ``x`` becomes
    shape ``(1,)``.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> mg.flatten(mg.Variable(np.zeros((2, 3, 4))), 1).shape
        (2, 12)
    """
    return shape_ops.flatten(as_variable(x), start_axis, end_axis)


def broadcast_to(x: Any, shape: Any) -> Variable:
    """Broadcast ``x`` to ``shape`` (numpy's rules), as a writable copy.

    Gradient: ``g`` summed back over the broadcast axes ([sum_to][maligrad.sum_to]), so
    each entry of ``x`` gets the sum of the gradients of its copies.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([1.0, 2.0]), requires_grad=True)
        >>> mg.broadcast_to(x, (3, 2)).sum().backward()
        >>> x.grad.data.tolist()
        [3.0, 3.0]
    """
    return BroadcastTo.apply(as_variable(x), shape=tuple(shape))


def flip(x: Any, axis: Axis = None) -> Variable:
    """Reverse the order of the entries along ``axis`` (all axes when None), as ``np.flip``.

    Gradient: ``g`` flipped back along the same axes.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> mg.flip(mg.Variable(np.array([1.0, 2.0, 3.0]))).data.tolist()
        [3.0, 2.0, 1.0]
    """
    return reorder.Flip.apply(as_variable(x), axis=axis)


def roll(x: Any, shift: Any, axis: Axis = None) -> Variable:
    """Shift entries by ``shift`` along ``axis``, wrapping around, as ``np.roll``.

    Without ``axis`` the flattened ``x`` is rolled. Gradient: ``g`` rolled back by
    ``-shift``.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> mg.roll(mg.Variable(np.array([1.0, 2.0, 3.0])), 1).data.tolist()
        [3.0, 1.0, 2.0]
    """
    return reorder.Roll.apply(as_variable(x), shift=shift, axis=axis)


def repeat(x: Any, repeats: Any, axis: int | None = None) -> Variable:
    """Repeat each entry ``repeats`` times along ``axis``, as ``np.repeat``.

    Without ``axis`` the flattened ``x`` is repeated; ``repeats`` is an int or one count
    per entry. Gradient: each entry of ``x`` gets the sum of ``g`` over its copies.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([1.0, 2.0]), requires_grad=True)
        >>> y = mg.repeat(x, 2)
        >>> y.data.tolist()
        [1.0, 1.0, 2.0, 2.0]
        >>> (y * np.arange(4.0)).sum().backward()
        >>> x.grad.data.tolist()
        [1.0, 5.0]
    """
    return reorder.Repeat.apply(as_variable(x), repeats=repeats, axis=axis)


def tile(x: Any, reps: Any) -> Variable:
    """Repeat the whole of ``x`` ``reps`` times (per axis when a tuple), as ``np.tile``.

    Gradient: each entry of ``x`` gets the sum of ``g`` over its copies.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([1.0, 2.0]), requires_grad=True)
        >>> y = mg.tile(x, 2)
        >>> y.data.tolist()
        [1.0, 2.0, 1.0, 2.0]
        >>> y.sum().backward()
        >>> x.grad.data.tolist()
        [2.0, 2.0]
    """
    return reorder.Tile.apply(as_variable(x), reps=reps)


def matmul(a: Any, b: Any) -> Variable:
    """Matrix product ``a @ b``: 1-D, 2-D and batched, as ``np.matmul``.

    ``y_ik = sum_j a_ij b_jk``, leading (batch) axes broadcast. Gradients: ``da = g b^T``
    and ``db = a^T g``; a 1-D operand is a row (left) or column (right) vector whose added
    axis is dropped again, and gradients over broadcast batch axes are summed back to each
    operand's shape.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> a = mg.Variable(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
        >>> y = mg.matmul(a, np.array([1.0, 1.0]))
        >>> y.data.tolist()
        [3.0, 7.0]
        >>> y.sum().backward()
        >>> a.grad.data.tolist()
        [[1.0, 1.0], [1.0, 1.0]]
    """
    return MatMul.apply(a, b)
