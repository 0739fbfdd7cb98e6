"""Reductions over ``axis`` (None, an int or a tuple) with ``keepdims``.

Gradients: the output gradient ``g`` is reshaped to keep the reduced axes as size 1,
broadcast back over them, then::

    sum  : g                      mean : g / n                prod : g y / x
    var  : g 2 (x - mean) / (n - ddof)          std : g (x - mean) / ((n - ddof) y)
    max, min : g on the extreme entries (split equally between ties)
    logsumexp : g exp(x - y)      cumsum : reversed cumsum of g

    >>> import numpy as np
    >>> from maligrad import Variable
    >>> x = Variable(np.array([[1.0, 5.0], [3.0, 2.0]]), requires_grad=True)
    >>> x.max(axis=1).sum().backward()
    >>> x.grad.data
    array([[0., 1.],
           [1., 0.]])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from maligrad.function import Function
from maligrad.grad_mode import GradMode
from maligrad.ops.broadcast import BroadcastTo
from maligrad.ops.elementwise import to_float
from maligrad.ops.indexing import IndexAdd
from maligrad.variable import Variable


def normalize_axis(axis: Any, ndim: int) -> tuple[int, ...]:
    """Axes as a sorted tuple of non-negative ints; raises naming the bad axis."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, (bool, np.bool_)):
        axes: Any = (axis,)
    elif isinstance(axis, (tuple, list)):
        axes = axis
    else:
        raise TypeError(
            f"axis must be None, an int or a tuple of ints, got {type(axis).__name__} {axis!r}"
        )
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, (bool, np.bool_)):
            raise TypeError(f"axis must be None, an int or a tuple of ints, got {axis!r}")
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of bounds for an array of dimension {ndim}")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis!r}")
    return tuple(sorted(out))


class _Reduction(Function):
    """Shared bookkeeping: the kept-dims shape of the output and the count reduced."""

    def _setup(self, x: np.ndarray, axis: Any, keepdims: bool) -> tuple[int, ...]:
        axes = normalize_axis(axis, x.ndim)
        self.x_shape = x.shape
        self.keep_shape = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
        self.keepdims = keepdims
        self.count = math.prod([x.shape[i] for i in axes])
        self.axes = axes
        return axes

    def _expand(self, gy: Any) -> Any:
        """Output gradient broadcast back to the input shape."""
        if not self.keepdims and gy.data.shape != self.keep_shape:
            gy = gy.reshape(self.keep_shape)
        if gy.data.shape == self.x_shape:
            return gy
        return BroadcastTo.apply(gy, shape=self.x_shape)

    def _keep(self, y: Any) -> Any:
        """A saved output with the reduced axes kept (for broadcasting against x)."""
        return y if self.keepdims or y.data.shape == self.keep_shape else y.reshape(self.keep_shape)


class Sum(_Reduction):
    def forward(self, x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
        axes = self._setup(x, axis, keepdims)
        return x.sum(axis=axes, keepdims=keepdims)

    def backward(self, gy: Any) -> Any:
        return self._expand(gy)


class Mean(_Reduction):
    """Mean; bool and integer input gives the default float dtype (numpy gives float64)."""

    def forward(self, x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
        x = to_float(x)
        axes = self._setup(x, axis, keepdims)
        return x.mean(axis=axes, keepdims=keepdims)

    def backward(self, gy: Any) -> Any:
        return self._expand(gy / self.count)


class Prod(_Reduction):
    """Product. The gradient is ``g y / x`` where ``x`` has no zero; otherwise ``g`` times
    the product of the other entries, built from multiplications only (no division), so
    that it is exact and differentiable again at zeros (Hessians, ``gradgradcheck``)."""

    def forward(self, x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
        axes = self._setup(x, axis, keepdims)
        y = x.prod(axis=axes, keepdims=keepdims)
        self.has_zero = not x.all()
        self.save_for_backward(x, y)
        return y

    def backward(self, gy: Any) -> Any:
        x, y = self.saved_tensors
        if not self.has_zero:
            return self._expand(gy * y) / x
        return self._expand(gy) * _product_of_others(x, self.axes)


def _product_of_others(x: Any, axes: tuple[int, ...]) -> Any:
    """For each entry ``x_i``, ``prod_{k != i} x_k`` over its reduction group (a Variable).

    The reduced axes are moved last and flattened to one axis of length ``n``; the result
    is the exclusive prefix product times the exclusive suffix product along it, each a
    Hillis-Steele scan (``log2 n`` steps of one multiplication by a shifted copy).
    """
    rest = [i for i in range(x.ndim) if i not in axes]
    order = rest + list(axes)
    moved = x.transpose(order)
    flat = moved.reshape(moved.shape[: len(rest)] + (-1,))
    left = _exclusive_cumprod(flat)
    right = _exclusive_cumprod(flat[..., ::-1])[..., ::-1]
    others = (left * right).reshape(moved.shape)
    return others.transpose(tuple(int(i) for i in np.argsort(order)))


def _exclusive_cumprod(v: Any) -> Any:
    """``out[..., j] = prod_{k < j} v[..., k]`` (1 at ``j = 0``) with multiplications only."""
    n = v.shape[-1]
    out = _shift(v, 1)
    step = 1
    while step < n:
        out = out * _shift(out, step)
        step *= 2
    return out


def _shift(v: Any, k: int) -> Any:
    """``v`` moved ``k`` places along its last axis, with ones coming in at the start."""
    n = v.shape[-1]
    if k >= n:
        return Variable(np.ones(v.shape, dtype=v.dtype))
    ones = np.zeros(v.shape, dtype=v.dtype)
    ones[..., :k] = 1
    return IndexAdd.apply(v[..., : n - k], key=(Ellipsis, slice(k, None)), shape=v.shape) + ones


class Var(_Reduction):
    """Variance with ``ddof`` (0: population, 1: sample); ``n <= ddof`` gives inf or nan, as
    in numpy and PyTorch. Bool and integer input gives the default float dtype."""

    def forward(
        self, x: np.ndarray, axis: Any = None, ddof: int = 0, keepdims: bool = False
    ) -> np.ndarray:
        x = to_float(x)
        axes = self._setup(x, axis, keepdims)
        self.ddof = _check_ddof(ddof)
        self.save_for_backward(x)
        return x.var(axis=axes, ddof=ddof, keepdims=keepdims)

    def backward(self, gy: Any) -> Any:
        (x,) = self.saved_tensors
        centered = x - Mean.apply(x, axis=self.axes, keepdims=True)
        return self._expand(gy) * centered * (2.0 / (self.count - self.ddof))


def _check_ddof(ddof: Any) -> int:
    if type(ddof) is not int:
        if not isinstance(ddof, (int, np.integer)) or isinstance(ddof, (bool, np.bool_)):
            raise TypeError(f"ddof must be a non-negative int, got {type(ddof).__name__} {ddof!r}")
    if ddof < 0:
        raise ValueError(f"ddof must be a non-negative int, got {ddof}")
    return int(ddof)


class Std(_Reduction):
    """Standard deviation with ``ddof``. Where it is 0 (a constant input) the gradient is 0,
    as in PyTorch, instead of ``0 / 0``."""

    def forward(
        self, x: np.ndarray, axis: Any = None, ddof: int = 0, keepdims: bool = False
    ) -> np.ndarray:
        x = to_float(x)
        axes = self._setup(x, axis, keepdims)
        self.ddof = _check_ddof(ddof)
        y = x.std(axis=axes, ddof=ddof, keepdims=keepdims)
        self.save_for_backward(x, y)
        return y

    def backward(self, gy: Any) -> Any:
        from maligrad.ops.elementwise import where

        x, y = self.saved_tensors
        centered = x - Mean.apply(x, axis=self.axes, keepdims=True)
        zero = y.data == 0
        if zero.any():  # then centered is 0 there too: divide by 1 instead of 0
            y = where(zero, np.ones((), dtype=y.data.dtype), y)
        scale = self._expand(gy / (y * (self.count - self.ddof)))
        return scale * centered


class _Extreme(_Reduction):
    """max/min: NaN propagates (as numpy); the gradient is split equally between the entries
    equal to the result (ties), or between the NaN entries of a group whose result is NaN
    (PyTorch's convention for ``max()``)."""

    pick: Any = staticmethod(np.max)

    def forward(self, x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
        axes = self._setup(x, axis, keepdims)
        if x.size == 0:
            raise ValueError(f"{type(self).__name__.lower()} of an empty array of shape {x.shape}")
        y = self.pick(x, axis=axes, keepdims=True)
        mask = x == y
        if x.dtype.kind == "c":
            raise TypeError(f"{type(self).__name__.lower()}: complex input is not supported")
        if x.dtype.kind == "f":
            nan = y != y
            if nan.any():
                mask |= nan & (x != x)
        self.weights = mask / mask.sum(axis=axes, keepdims=True).astype(x.dtype)
        return (
            y if keepdims else y.reshape(tuple(n for i, n in enumerate(x.shape) if i not in axes))
        )

    def backward(self, gy: Any) -> Any:
        return self._expand(gy) * self.weights


class Max(_Extreme):
    pick = staticmethod(np.max)


class Min(_Extreme):
    pick = staticmethod(np.min)


class LogSumExp(_Reduction):
    """``log(sum(exp(x)))``, shifted by the maximum so that it never overflows.

    A group of all ``-inf`` gives ``-inf`` (its gradient is NaN, as in PyTorch). Bool and
    integer input gives the default float dtype.
    """

    def forward(self, x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
        x = to_float(x)
        axes = self._setup(x, axis, keepdims)
        m = np.max(x, axis=axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0).astype(x.dtype, copy=False)
        log_s = np.log(np.exp(x - m).sum(axis=axes, keepdims=True))
        y = log_s + m
        if not keepdims:
            y = y.reshape(tuple(n for i, n in enumerate(x.shape) if i not in axes))
        # exp(x - y) with y rounded near 1e6 in float32 is off by up to 6%: the gradient uses
        # the unrounded exp((x - m) - log_s) instead.
        self.shift, self.log_s = m, log_s
        self.save_for_backward(x, y)
        return y

    def backward(self, gy: Any) -> Any:
        x, y = self.saved_tensors
        if GradMode.enabled:  # create_graph: keep the dependence on y (zero in value)
            yk = self._keep(y)
            y_const = np.where(np.isfinite(yk.data), yk.data, 0).astype(yk.data.dtype)
            p = ((x - self.shift) - self.log_s - (yk - y_const)).exp()
        else:
            p = np.exp((x.data - self.shift) - self.log_s)
        return self._expand(gy) * p


class Cumsum(Function):
    def forward(self, x: np.ndarray, axis: int) -> np.ndarray:
        (self.axis,) = normalize_axis(axis, x.ndim)
        return np.cumsum(x, axis=self.axis)

    def backward(self, gy: Any) -> Any:
        from maligrad.ops.reorder import Flip

        flipped = Flip.apply(gy, axis=self.axis)
        return Flip.apply(Cumsum.apply(flipped, axis=self.axis), axis=self.axis)


def cumsum(x: Any, axis: int | None = None) -> Any:
    """Cumulative sum along ``axis`` (flattened first when ``axis`` is None, as numpy)."""
    if axis is None:
        x = x.reshape(-1)
        axis = 0
    return Cumsum.apply(x, axis=axis)


def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
    """Indices of the maxima (int64, not differentiable)."""
    return Variable(np.argmax(_data(x), axis=axis, keepdims=keepdims).astype(np.int64))


def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
    """Indices of the minima (int64, not differentiable)."""
    return Variable(np.argmin(_data(x), axis=axis, keepdims=keepdims).astype(np.int64))


def _data(x: Any) -> np.ndarray:
    return x.data if hasattr(x, "data") else np.asarray(x)
