"""Activation functions and (log-)softmax, each one fused op.

Derivatives (``y`` is the output)::

    leaky_relu : 1 if x > 0 else slope        elu  : 1 if x > 0 else y + alpha
    gelu       : Phi(x) + x phi(x)            gelu (tanh) : from u = c (x + 0.044715 x^3)
    silu       : s (1 + x (1 - s)),  s = sigmoid(x)
    softmax    : dx = y (g - sum(g y))        log_softmax : dx = g - e^y sum(g)

Softmax and log-softmax subtract the maximum first, so logits of 1e4 give no NaN.
When a graph is recorded during backward the gradients are built from maligrad ops, so
second derivatives work.

    >>> import numpy as np, maligrad
    >>> import maligrad.nn.functional as F
    >>> F.log_softmax(maligrad.Variable(np.array([0.0, 1e4], np.float32))).data
    array([-10000.,      0.], dtype=float32)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import maligrad
from maligrad import Function, Variable
from maligrad.nn.functional._common import normalize_dim, recording, wrap
from maligrad.ops.erf import erf_array

_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_C = math.sqrt(2.0 / math.pi)


class Relu(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x > 0
        return np.maximum(x, 0)

    def backward(self, gy: Variable) -> Any:
        if not recording():
            return wrap(gy.data * self.mask)
        return gy * self.mask


def relu(input: Variable, inplace: bool = False) -> Variable:
    """``max(x, 0)`` (the gradient is 0 at 0)."""
    return Relu.apply(input)


def sigmoid(input: Variable) -> Variable:
    """``1 / (1 + e^-x)`` (stable for large ``|x|``)."""
    return maligrad.sigmoid(input)


def tanh(input: Variable) -> Variable:
    """Hyperbolic tangent."""
    return maligrad.tanh(input)


class LeakyRelu(Function):
    def forward(self, x: np.ndarray, slope: float) -> np.ndarray:
        mask = x > 0
        self.deriv = np.where(mask, 1, slope).astype(x.dtype)
        return x * self.deriv

    def backward(self, gy: Variable) -> Any:
        if not recording():
            return wrap(gy.data * self.deriv)
        return gy * self.deriv


def leaky_relu(input: Variable, negative_slope: float = 0.01, inplace: bool = False) -> Variable:
    """``x`` for ``x > 0``, else ``negative_slope * x``."""
    return LeakyRelu.apply(input, slope=negative_slope)


class Elu(Function):
    def forward(self, x: np.ndarray, alpha: float) -> np.ndarray:
        self.mask = x > 0
        self.alpha = alpha
        y = np.where(self.mask, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)
        self.save_for_backward(x)
        return y

    def backward(self, gy: Variable) -> Any:
        (x,) = self.saved_tensors
        if not recording():
            d = np.where(self.mask, 1, self.alpha * np.exp(np.minimum(x.data, 0)))
            return wrap(gy.data * d.astype(x.data.dtype, copy=False))
        neg = maligrad.minimum(x, 0).exp() * self.alpha
        return gy * maligrad.where(self.mask, np.ones((), x.dtype), neg)


def elu(input: Variable, alpha: float = 1.0, inplace: bool = False) -> Variable:
    """``x`` for ``x > 0``, else ``alpha (e^x - 1)``."""
    return Elu.apply(input, alpha=alpha)


class Gelu(Function):
    def forward(self, x: np.ndarray, approximate: str) -> np.ndarray:
        self.save_for_backward(x)
        self.approximate = approximate
        if approximate == "tanh":
            t = np.tanh(_TANH_C * (x + 0.044715 * x**3))
            self.t = t
            return (0.5 * x * (1 + t)).astype(x.dtype, copy=False)
        cdf = 0.5 * (1 + erf_array(x / _SQRT_2))
        self.cdf = cdf
        return (x * cdf).astype(x.dtype, copy=False)

    def backward(self, gy: Variable) -> Any:
        (x,) = self.saved_tensors
        if self.approximate == "tanh":
            if not recording():
                xa, t = x.data, self.t
                du = _TANH_C * (1 + 3 * 0.044715 * xa * xa)
                d = 0.5 * (1 + t) + 0.5 * xa * (1 - t * t) * du
                return wrap(gy.data * d.astype(xa.dtype, copy=False))
            t = ((x + x * x * x * 0.044715) * _TANH_C).tanh()
            du = (x * x * (3 * 0.044715) + 1) * _TANH_C
            return gy * ((t + 1) * 0.5 + x * (1 - t * t) * du * 0.5)
        if not recording():
            xa = x.data
            pdf = np.exp(-0.5 * xa * xa) * _INV_SQRT_2PI
            return wrap(gy.data * (self.cdf + xa * pdf).astype(xa.dtype, copy=False))
        cdf = (maligrad.erf(x / _SQRT_2) + 1) * 0.5
        pdf = (x * x * -0.5).exp() * _INV_SQRT_2PI
        return gy * (cdf + x * pdf)


def gelu(input: Variable, approximate: str = "none") -> Variable:
    """``x Phi(x)`` with ``Phi`` the normal CDF (``approximate='tanh'``: the tanh form)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    return Gelu.apply(input, approximate=approximate)


class Silu(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        s = np.exp(-np.logaddexp(0, -x)).astype(x.dtype, copy=False)
        self.s = s
        self.save_for_backward(x)
        return x * s

    def backward(self, gy: Variable) -> Any:
        (x,) = self.saved_tensors
        if not recording():
            s = self.s
            return wrap(gy.data * (s * (1 + x.data * (1 - s))))
        s = x.sigmoid()
        return gy * (s * (x * (1 - s) + 1))


def silu(input: Variable, inplace: bool = False) -> Variable:
    """``x sigmoid(x)`` (a.k.a. swish)."""
    return Silu.apply(input)


class Softmax(Function):
    def forward(self, x: np.ndarray, axis: int) -> np.ndarray:
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        e /= e.sum(axis=axis, keepdims=True)
        self.axis = axis
        self.save_for_backward(e)
        return e

    def backward(self, gy: Variable) -> Any:
        (y,) = self.saved_tensors
        if not recording():
            ya, g = y.data, gy.data
            return wrap(ya * (g - (g * ya).sum(axis=self.axis, keepdims=True)))
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    def forward(self, x: np.ndarray, axis: int) -> np.ndarray:
        shifted = x - x.max(axis=axis, keepdims=True)
        y = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        self.axis = axis
        self.save_for_backward(y)
        return y

    def backward(self, gy: Variable) -> Any:
        (y,) = self.saved_tensors
        if not recording():
            g = gy.data
            return wrap(g - np.exp(y.data) * g.sum(axis=self.axis, keepdims=True))
        return gy - y.exp() * gy.sum(axis=self.axis, keepdims=True)


def _softmax_dim(input: Any, dim: int | None, fn: str) -> int:
    ndim = np.ndim(input.data if isinstance(input, Variable) else input)
    if dim is None:
        dim = 0 if ndim in (0, 1, 3) else 1  # PyTorch's legacy implicit choice
    return normalize_dim(dim, ndim, fn)


def softmax(input: Variable, dim: int | None = None, dtype: Any = None) -> Variable:
    """``e^x_i / sum_j e^x_j`` along ``dim`` (stable: the maximum is subtracted first)."""
    if dtype is not None:
        input = input.astype(dtype)
    return Softmax.apply(input, axis=_softmax_dim(input, dim, "softmax"))


def log_softmax(input: Variable, dim: int | None = None, dtype: Any = None) -> Variable:
    """``x_i - log sum_j e^x_j`` along ``dim`` (stable)."""
    if dtype is not None:
        input = input.astype(dtype)
    return LogSoftmax.apply(input, axis=_softmax_dim(input, dim, "log_softmax"))
