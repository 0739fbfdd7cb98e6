"""Elementwise math: one Function per numpy ufunc, each with its derivative beside it.

    exp   : g e^x                 log   : g / x              log1p : g / (1 + x)
    expm1 : g (y + 1)             sqrt  : g / (2 y)          sin   : g cos x
    cos   : -g sin x              tan   : g (1 + y^2)        tanh  : g (1 - y^2)
    sigmoid : g y (1 - y)         relu  : g [x > 0]          softplus : g sigmoid(x)
    abs   : g sign(x)             maximum/minimum : g to the selected input
    clip  : g where lo <= x <= hi  where : g to the selected branch

``y`` is the output. Masks such as ``[x > 0]`` are constants: their derivative is zero.

    >>> import numpy as np
    >>> from maligrad import Variable
    >>> x = Variable(np.array([0.0, 1.0]), requires_grad=True)
    >>> x.tanh().sum().backward()
    >>> np.round(x.grad.data, 4).tolist()
    [1.0, 0.42]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from maligrad.function import Function
from maligrad.ops.broadcast import sum_to


class Exp(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        y = np.exp(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy: Any) -> Any:
        (y,) = self.saved_tensors
        return gy * y


class Log(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x)
        return np.log(x)

    def backward(self, gy: Any) -> Any:
        (x,) = self.saved_tensors
        return gy / x


class Log1p(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x)
        return np.log1p(x)

    def backward(self, gy: Any) -> Any:
        (x,) = self.saved_tensors
        return gy / (x + 1)


class Expm1(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        y = np.expm1(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy: Any) -> Any:
        (y,) = self.saved_tensors
        return gy * (y + 1)


class Sqrt(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        y = np.sqrt(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy: Any) -> Any:
        (y,) = self.saved_tensors
        return gy / (y * 2)


class Sin(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x)
        return np.sin(x)

    def backward(self, gy: Any) -> Any:
        (x,) = self.saved_tensors
        return gy * Cos.apply(x)


class Cos(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x)
        return np.cos(x)

    def backward(self, gy: Any) -> Any:
        (x,) = self.saved_tensors
        return -gy * Sin.apply(x)


class Tan(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        y = np.tan(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy: Any) -> Any:
        (y,) = self.saved_tensors
        return gy * (y * y + 1)


class Tanh(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        y = np.tanh(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy: Any) -> Any:
        (y,) = self.saved_tensors
        return TanhGrad.apply(y, gy)


class TanhGrad(Function):
    """``g (1 - y^2)`` as one op (tanh's backward); its own gradient keeps double backward."""

    def forward(self, y: np.ndarray, g: np.ndarray) -> np.ndarray:
        self.save_for_backward(y, g)
        return g - g * y * y

    def backward(self, gz: Any) -> Any:
        y, g = self.saved_tensors
        needs = self.needs_input_grad
        return (
            gz * g * y * -2 if needs[0] else None,
            TanhGrad.apply(y, gz) if needs[1] else None,
        )


class Sigmoid(Function):
    """``1 / (1 + e^-x)``, computed without overflow for large ``|x|``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = np.exp(-np.logaddexp(0, -x)).astype(x.dtype, copy=False)
        self.save_for_backward(y)
        return y

    def backward(self, gy: Any) -> Any:
        (y,) = self.saved_tensors
        return SigmoidGrad.apply(y, gy)


class SigmoidGrad(Function):
    """``g y (1 - y)`` as one op (sigmoid's backward); differentiable again."""

    def forward(self, y: np.ndarray, g: np.ndarray) -> np.ndarray:
        self.save_for_backward(y, g)
        gy = g * y
        return gy - gy * y

    def backward(self, gz: Any) -> Any:
        y, g = self.saved_tensors
        needs = self.needs_input_grad
        return (
            gz * g * (1 - y * 2) if needs[0] else None,
            SigmoidGrad.apply(y, gz) if needs[1] else None,
        )


class Relu(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x > 0
        return np.maximum(x, 0).astype(x.dtype, copy=False)  # not x * mask: no -0.0

    def backward(self, gy: Any) -> Any:
        return gy * self.mask


class Softplus(Function):
    """``log(1 + e^x)``, stable for large ``|x|``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x)
        return np.logaddexp(0, x).astype(x.dtype, copy=False)

    def backward(self, gy: Any) -> Any:
        (x,) = self.saved_tensors
        return gy * Sigmoid.apply(x)


class Abs(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.sign = np.sign(x)
        return np.abs(x)

    def backward(self, gy: Any) -> Any:
        return gy * self.sign


class Maximum(Function):
    """Elementwise maximum; at ties the gradient is split equally, as for ``max``."""

    def forward(self, a: Any, b: Any) -> np.ndarray:
        out = np.maximum(a, b)
        self.shapes = (np.shape(a), np.shape(b))
        self.wa, self.wb = _tie_weights(a > b, a == b, out.dtype)
        return out

    def backward(self, gy: Any) -> Any:
        sa, sb = self.shapes
        needs = self.needs_input_grad
        return (
            sum_to(gy * self.wa, sa) if needs[0] else None,
            sum_to(gy * self.wb, sb) if needs[1] else None,
        )


def _tie_weights(first: Any, tie: Any, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Gradient weights of the two inputs of maximum/minimum: 1 to the winner, 1/2 at ties."""
    half = np.asarray(tie, dtype=dtype) * dtype.type(0.5)
    wa = np.asarray(first, dtype=dtype) + half
    return wa, dtype.type(1) - wa


class Minimum(Function):
    def forward(self, a: Any, b: Any) -> np.ndarray:
        out = np.minimum(a, b)
        self.shapes = (np.shape(a), np.shape(b))
        self.wa, self.wb = _tie_weights(a < b, a == b, out.dtype)
        return out

    def backward(self, gy: Any) -> Any:
        sa, sb = self.shapes
        needs = self.needs_input_grad
        return (
            sum_to(gy * self.wa, sa) if needs[0] else None,
            sum_to(gy * self.wb, sb) if needs[1] else None,
        )


class Clip(Function):
    """Clamp to ``[lo, hi]`` (either may be None); the gradient passes where unclipped."""

    def forward(self, x: np.ndarray, lo: Any = None, hi: Any = None) -> np.ndarray:
        lo, hi = (getattr(v, "data", v) for v in (lo, hi))  # bounds are constants
        if lo is None and hi is None:
            raise ValueError("clip needs at least one of min and max")
        mask = np.ones(x.shape, dtype=bool)
        if lo is not None:
            mask &= x >= lo
        if hi is not None:
            mask &= x <= hi
        self.mask = mask
        return np.clip(x, lo, hi).astype(x.dtype, copy=False)

    def backward(self, gy: Any) -> Any:
        return gy * self.mask


class Where(Function):
    """``where(cond, a, b)``: ``a`` where ``cond`` holds, else ``b``; ``cond`` is a constant."""

    def forward(self, a: Any, b: Any, cond: np.ndarray) -> np.ndarray:
        self.cond = np.asarray(cond, dtype=bool)
        self.shapes = (np.shape(a), np.shape(b))
        return np.where(self.cond, a, b)

    def backward(self, gy: Any) -> Any:
        sa, sb = self.shapes
        needs = self.needs_input_grad
        zero = np.zeros((), dtype=gy.dtype)
        return (
            sum_to(where(self.cond, gy, zero), sa) if needs[0] else None,
            sum_to(where(self.cond, zero, gy), sb) if needs[1] else None,
        )


class Cast(Function):
    """``astype``: the gradient is cast back to the input's dtype."""

    def forward(self, x: np.ndarray, dtype: np.dtype) -> np.ndarray:
        self.in_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, gy: Any) -> Any:
        return Cast.apply(gy, dtype=self.in_dtype)


class Copy(Function):
    """``clone``: a differentiable copy."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.copy()

    def backward(self, gy: Any) -> Any:
        return gy


def where(condition: Any, a: Any, b: Any) -> Any:
    """Choose from ``a`` where ``condition`` is true, else from ``b`` (broadcasting)."""
    cond = condition.data if hasattr(condition, "data") else condition
    return Where.apply(a, b, cond=cond)


def maximum(a: Any, b: Any) -> Any:
    return Maximum.apply(a, b)


def minimum(a: Any, b: Any) -> Any:
    return Minimum.apply(a, b)
