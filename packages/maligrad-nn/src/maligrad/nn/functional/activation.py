"""Activation functions and (log-)softmax, each one fused op.

Each op's ``forward`` is the numpy formula; its gradient is a Function of its own
(``EluGrad``, ``GeluGrad``, ...) whose ``forward`` is the numpy formula of the gradient and
whose ``backward`` is written with maligrad ops, so first and higher derivatives come from
the same code. Derivatives (``y`` is the output, ``s = sigmoid(x)``)::

    leaky_relu : 1 if x > 0 else slope        elu  : 1 if x > 0 else alpha e^x
    gelu       : Phi(x) + x phi(x)            gelu (tanh) : from u = c (x + 0.044715 x^3)
    silu       : s (1 + x (1 - s))
    softmax    : dx = y (g - sum(g y))        log_softmax : dx = g - e^y sum(g)

Softmax and log-softmax subtract the maximum first, so logits of 1e4 give no NaN. Integer
and bool inputs are promoted to the default float dtype (``relu`` keeps them: its values
are integers). ``inplace=True`` overwrites the input's array (see ``relu``).

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
from maligrad.nn.functional._common import (
    check_number,
    float_input,
    layer_input,
    normalize_dim,
    write_inplace,
)

_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_C = math.sqrt(2.0 / math.pi)
_GELU_A = 0.044715


def _check_inplace_flag(fn: str, inplace: Any) -> bool:
    if not isinstance(inplace, (bool, np.bool_)):
        raise TypeError(f"{fn}: inplace must be a bool, got {type(inplace).__name__}")
    return bool(inplace)


def relu(input: Variable, inplace: bool = False) -> Variable:
    """``max(x, 0)`` (the gradient is 0 at 0; integer inputs stay integer).

    ``inplace=True`` writes the result into ``input``'s array and returns ``input`` (its
    version counter moves on). As for every in-place change in maligrad this happens outside
    the graph only: an input that requires grad while the graph is recorded raises a
    RuntimeError (use ``inplace=False`` there); under ``no_grad`` (inference) it saves the
    memory of a second array. The same holds for ``leaky_relu``, ``elu``, ``silu`` and
    ``dropout``.

        >>> import numpy as np, maligrad
        >>> x = maligrad.Variable(np.array([-1.0, 2.0], np.float32))
        >>> relu(x, inplace=True) is x, x.data
        (True, array([0., 2.], dtype=float32))
    """
    if not isinstance(input, Variable):
        input = layer_input(input, "relu")
    if inplace is not False and _check_inplace_flag("relu", inplace):
        return write_inplace(input, maligrad.relu(input), "relu")
    return maligrad.relu(input)


def sigmoid(input: Variable) -> Variable:
    """``1 / (1 + e^-x)`` (stable for large ``|x|``)."""
    return maligrad.sigmoid(float_input(input, "sigmoid"))


def tanh(input: Variable) -> Variable:
    """Hyperbolic tangent."""
    return maligrad.tanh(float_input(input, "tanh"))


class LeakyRelu(Function):
    """``x`` for ``x > 0``, else ``slope x``; the gradient ``g * deriv`` is that formula."""

    def forward(self, x: np.ndarray, slope: float) -> np.ndarray:
        self.deriv = np.where(x > 0, x.dtype.type(1), x.dtype.type(slope))
        return x * self.deriv

    def backward(self, gy: Variable) -> Any:
        return gy * self.deriv


def leaky_relu(input: Variable, negative_slope: float = 0.01, inplace: bool = False) -> Variable:
    """``x`` for ``x > 0``, else ``negative_slope * x`` (``inplace``: see ``relu``)."""
    slope = check_number("leaky_relu", "negative_slope", negative_slope)
    y = LeakyRelu.apply(float_input(input, "leaky_relu"), slope=slope)
    return (
        write_inplace(input, y, "leaky_relu") if _check_inplace_flag("leaky_relu", inplace) else y
    )


class Elu(Function):
    def forward(self, x: np.ndarray, alpha: float) -> np.ndarray:
        self.alpha = alpha
        self.save_for_backward(x)
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)

    def backward(self, gy: Variable) -> Any:
        (x,) = self.saved_tensors
        return EluGrad.apply(x, gy, alpha=self.alpha)


class EluGrad(Function):
    """``g * (1 if x > 0 else alpha e^x)``."""

    def forward(self, x: np.ndarray, g: np.ndarray, alpha: float) -> np.ndarray:
        self.alpha = alpha
        self.save_for_backward(x, g)
        d = np.where(x > 0, 1, alpha * np.exp(np.minimum(x, 0)))
        return (g * d).astype(x.dtype, copy=False)

    def backward(self, gz: Variable) -> Any:
        x, g = self.saved_tensors
        needs = self.needs_input_grad
        gx = gg = None
        if needs[0]:  # d/dx of the derivative: 0 for x > 0, alpha e^x beyond
            neg = maligrad.minimum(x, 0).exp() * self.alpha
            gx = gz * g * maligrad.where(x.data > 0, np.zeros((), x.dtype), neg)
        if needs[1]:
            gg = EluGrad.apply(x, gz, alpha=self.alpha)
        return gx, gg


def elu(input: Variable, alpha: float = 1.0, inplace: bool = False) -> Variable:
    """``x`` for ``x > 0``, else ``alpha (e^x - 1)`` (``inplace``: see ``relu``)."""
    alpha = check_number("elu", "alpha", alpha)
    y = Elu.apply(float_input(input, "elu"), alpha=alpha)
    return write_inplace(input, y, "elu") if _check_inplace_flag("elu", inplace) else y


def _erf(x: np.ndarray) -> np.ndarray:
    return maligrad.erf(x).data


class Gelu(Function):
    def forward(self, x: np.ndarray, approximate: str) -> np.ndarray:
        self.approximate = approximate
        self.save_for_backward(x)
        if approximate == "tanh":
            t = np.tanh(_TANH_C * (x + _GELU_A * x**3))
            return (0.5 * x * (1 + t)).astype(x.dtype, copy=False)
        return (x * (0.5 * (1 + _erf(x / _SQRT_2)))).astype(x.dtype, copy=False)

    def backward(self, gy: Variable) -> Any:
        (x,) = self.saved_tensors
        return GeluGrad.apply(x, gy, approximate=self.approximate)


class GeluGrad(Function):
    """``g * gelu'(x)``: ``Phi(x) + x phi(x)``, or the derivative of the tanh form.

    Its own derivative in ``x``: ``phi(x) (2 - x^2)``; for the tanh form, with
    ``t = tanh(u)``, ``u = c (x + a x^3)``: ``(1 - t^2) (u' - x t u'^2 + x u'' / 2)``.
    """

    def forward(self, x: np.ndarray, g: np.ndarray, approximate: str) -> np.ndarray:
        self.approximate = approximate
        self.save_for_backward(x, g)
        if approximate == "tanh":
            t = np.tanh(_TANH_C * (x + _GELU_A * x**3))
            du = _TANH_C * (1 + 3 * _GELU_A * x * x)
            d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du
        else:
            pdf = np.exp(-0.5 * x * x) * _INV_SQRT_2PI
            d = 0.5 * (1 + _erf(x / _SQRT_2)) + x * pdf
        return (g * d).astype(x.dtype, copy=False)

    def backward(self, gz: Variable) -> Any:
        x, g = self.saved_tensors
        needs = self.needs_input_grad
        gx = gg = None
        if needs[0]:
            if self.approximate == "tanh":
                t = ((x + x * x * x * _GELU_A) * _TANH_C).tanh()
                du = (x * x * (3 * _GELU_A) + 1) * _TANH_C
                d2 = (1 - t * t) * (du - x * t * du * du + x * x * (3 * _GELU_A * _TANH_C))
            else:
                d2 = (x * x * -0.5).exp() * _INV_SQRT_2PI * (2 - x * x)
            gx = gz * g * d2
        if needs[1]:
            gg = GeluGrad.apply(x, gz, approximate=self.approximate)
        return gx, gg


def gelu(input: Variable, approximate: str = "none") -> Variable:
    """``x Phi(x)`` with ``Phi`` the normal CDF (``approximate='tanh'``: the tanh form)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return Gelu.apply(float_input(input, "gelu"), approximate=approximate)


class Silu(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x)
        return x * np.exp(-np.logaddexp(0, -x)).astype(x.dtype, copy=False)

    def backward(self, gy: Variable) -> Any:
        (x,) = self.saved_tensors
        return SiluGrad.apply(x, gy)


class SiluGrad(Function):
    """``g s (1 + x (1 - s))``; its derivative in ``x``: ``s (1 - s) (2 + x (1 - 2 s))``."""

    def forward(self, x: np.ndarray, g: np.ndarray) -> np.ndarray:
        self.save_for_backward(x, g)
        s = np.exp(-np.logaddexp(0, -x)).astype(x.dtype, copy=False)
        return g * (s * (1 + x * (1 - s)))

    def backward(self, gz: Variable) -> Any:
        x, g = self.saved_tensors
        needs = self.needs_input_grad
        gx = gg = None
        if needs[0]:
            s = x.sigmoid()
            gx = gz * g * (s * (1 - s) * (x * (1 - s * 2) + 2))
        if needs[1]:
            gg = SiluGrad.apply(x, gz)
        return gx, gg


def silu(input: Variable, inplace: bool = False) -> Variable:
    """``x sigmoid(x)`` (a.k.a. swish; ``inplace``: see ``relu``)."""
    y = Silu.apply(float_input(input, "silu"))
    return write_inplace(input, y, "silu") if _check_inplace_flag("silu", inplace) else y


class Softmax(Function):
    def forward(self, x: np.ndarray, axis: int) -> np.ndarray:
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        e /= e.sum(axis=axis, keepdims=True)
        self.axis = axis
        self.save_for_backward(e)
        return e

    def backward(self, gy: Variable) -> Any:
        (y,) = self.saved_tensors
        return SoftmaxGrad.apply(y, gy, axis=self.axis)


class SoftmaxGrad(Function):
    """``y (g - sum(g y))``: the softmax output ``y``'s vector-Jacobian product.

    Its gradients: ``gz (g - sum(g y)) - g sum(gz y)`` for ``y``, ``SoftmaxGrad(y, gz)``
    for ``g`` (the Jacobian is symmetric).
    """

    def forward(self, y: np.ndarray, g: np.ndarray, axis: int) -> np.ndarray:
        self.axis = axis
        self.save_for_backward(y, g)
        return y * (g - (g * y).sum(axis=axis, keepdims=True))

    def backward(self, gz: Variable) -> Any:
        y, g = self.saved_tensors
        needs = self.needs_input_grad
        axis = self.axis
        g_y = g_g = None
        if needs[0]:
            g_y = gz * (g - (g * y).sum(axis=axis, keepdims=True)) - g * (gz * y).sum(
                axis=axis, keepdims=True
            )
        if needs[1]:
            g_g = SoftmaxGrad.apply(y, gz, axis=axis)
        return g_y, g_g


class LogSoftmax(Function):
    def forward(self, x: np.ndarray, axis: int) -> np.ndarray:
        shifted = x - x.max(axis=axis, keepdims=True)
        y = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        self.axis = axis
        self.save_for_backward(y)
        return y

    def backward(self, gy: Variable) -> Any:
        (y,) = self.saved_tensors
        return LogSoftmaxGrad.apply(y, gy, axis=self.axis)


class LogSoftmaxGrad(Function):
    """``g - e^y sum(g)`` for the log-softmax output ``y``.

    Its gradients: ``-gz e^y sum(g)`` for ``y``, ``gz - sum(gz e^y)`` for ``g``.
    """

    def forward(self, y: np.ndarray, g: np.ndarray, axis: int) -> np.ndarray:
        self.axis = axis
        self.save_for_backward(y, g)
        return g - np.exp(y) * g.sum(axis=axis, keepdims=True)

    def backward(self, gz: Variable) -> Any:
        y, g = self.saved_tensors
        needs = self.needs_input_grad
        axis = self.axis
        g_y = g_g = None
        p = y.exp() if needs[0] or needs[1] else None
        if needs[0]:
            g_y = -gz * p * g.sum(axis=axis, keepdims=True)
        if needs[1]:
            g_g = gz - (gz * p).sum(axis=axis, keepdims=True)
        return g_y, g_g


def _softmax_dim(input: Any, dim: int | None, fn: str) -> int:
    ndim = np.ndim(input.data if isinstance(input, Variable) else input)
    if dim is None:
        dim = 0 if ndim in (0, 1, 3) else 1  # PyTorch's legacy implicit choice
    return normalize_dim(dim, ndim, fn)


def softmax(input: Variable, dim: int | None = None, dtype: Any = None) -> Variable:
    """``e^x_i / sum_j e^x_j`` along ``dim`` (stable: the maximum is subtracted first)."""
    input = float_input(input, "softmax")
    if dtype is not None:
        input = input.astype(dtype)
    return Softmax.apply(input, axis=_softmax_dim(input, dim, "softmax"))


def log_softmax(input: Variable, dim: int | None = None, dtype: Any = None) -> Variable:
    """``x_i - log sum_j e^x_j`` along ``dim`` (stable)."""
    input = float_input(input, "log_softmax")
    if dtype is not None:
        input = input.astype(dtype)
    return LogSoftmax.apply(input, axis=_softmax_dim(input, dim, "log_softmax"))
