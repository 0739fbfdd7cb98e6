"""The arithmetic operators ``+ - * / **`` and unary ``-``, with numpy broadcasting.

Gradients (``g`` is the output gradient; each is summed back to its input's shape)::

    a + b : g, g            a * b : g b, g a           a ** b : g b a^(b-1), g a^b log a
    a - b : g, -g           a / b : g / b, -g a / b^2  -a     : -g

    >>> import numpy as np
    >>> from maligrad import Variable
    >>> a = Variable(np.array([1.0, 2.0]), requires_grad=True)
    >>> (a * a + 1 / a).sum().backward()
    >>> a.grad.data
    array([1.  , 3.75])
"""

from __future__ import annotations

from typing import Any, NoReturn

import numpy as np

from maligrad.function import Function, plain_gradient
from maligrad.grad_mode import GradMode
from maligrad.ops.broadcast import sum_to
from maligrad.ops.elementwise import Log, where
from maligrad.variable import Variable


def _shape(x: Any) -> tuple[int, ...]:
    """Shape of an operand: an array, a Variable, or a constant number or list."""
    return x.shape if hasattr(x, "shape") else np.shape(x)


def _raise_broadcast_error(op: str, a: Any, b: Any) -> NoReturn:
    raise ValueError(
        f"{op}: operands could not be broadcast together with shapes {_shape(a)} and {_shape(b)}"
    )


class Add(Function):
    def forward(self, a: Any, b: Any) -> np.ndarray:
        try:
            return a + b
        except ValueError:
            _raise_broadcast_error("add", a, b)

    def backward(self, gy: Any) -> Any:
        pa, pb = self._p0, self._p1  # ``self.parents``, read from the slots: per-op overhead
        shape = gy.data.shape
        ga = gb = None
        # The inputs' shapes from the edges (``input_shape``, written out: per-op overhead).
        if pa is not None:
            s = pa.out_shape if isinstance(pa, Function) else pa.data.shape
            ga = gy if s == shape else sum_to(gy, s)
        if pb is not None:
            s = pb.out_shape if isinstance(pb, Function) else pb.data.shape
            gb = gy if s == shape else sum_to(gy, s)
        return ga, gb


class Sub(Function):
    def forward(self, a: Any, b: Any) -> np.ndarray:
        try:
            return a - b
        except ValueError:
            _raise_broadcast_error("subtract", a, b)

    def backward(self, gy: Any) -> Any:
        pa, pb = self.parents  # type: ignore[misc]
        return (
            None if pa is None else sum_to(gy, self.input_shape(0)),
            None if pb is None else sum_to(-gy, self.input_shape(1)),
        )


class Mul(Function):
    def forward(self, a: Any, b: Any) -> np.ndarray:
        # ``a`` serves only b's gradient and ``b`` only a's: next to a number (a constant, as
        # a Variable's data is always an array) the other operand is not kept.
        self.save_for_backward(
            a if type(b) is np.ndarray else None, b if type(a) is np.ndarray else None
        )
        try:
            return a * b
        except ValueError:
            _raise_broadcast_error("multiply", a, b)

    def backward(self, gy: Any) -> Any:
        pa, pb = self._p0, self._p1  # ``self.parents``, read from the slots: per-op overhead
        ga = gb = None
        if GradMode.enabled:
            a, b = self.saved_tensors
            if pa is not None:
                ga = Mul.apply(gy, b)
            if pb is not None:
                gb = Mul.apply(gy, a)
        else:  # a plain backward: numpy (see ``Function.backward``)
            a, b = self.saved_arrays
            g = gy.data
            if pa is not None:
                ga = plain_gradient(g * b)
            if pb is not None:
                gb = plain_gradient(g * a)
        # The inputs' shapes from the edges (``input_shape``, written out: per-op overhead).
        if pa is not None:
            s = pa.out_shape if isinstance(pa, Function) else pa.data.shape
            if ga.data.shape != s:  # type: ignore[union-attr]
                ga = sum_to(ga, s)
        if pb is not None:
            s = pb.out_shape if isinstance(pb, Function) else pb.data.shape
            if gb.data.shape != s:  # type: ignore[union-attr]
                gb = sum_to(gb, s)
        return ga, gb


def _float_array(x: Any) -> bool:
    return isinstance(x, (np.ndarray, np.generic)) and x.dtype.kind == "f"


class Div(Function):
    def forward(self, a: Any, b: Any) -> np.ndarray:
        self.save_for_backward(a, b)
        try:
            out = a / b
        except ValueError:
            _raise_broadcast_error("divide", a, b)
        if out.dtype == np.float64 and not (_float_array(a) or _float_array(b)):
            # integers (and Python floats) divided: the default float dtype, as PyTorch
            return out.astype(GradMode.default_dtype, copy=False)
        return out

    def backward(self, gy: Any) -> Any:
        a, b = self.saved_tensors
        needs = self.needs_input_grad
        ga = gy / b
        return (
            sum_to(ga, _shape(a)) if needs[0] else None,
            sum_to(-ga * a / b, _shape(b)) if needs[1] else None,
        )


class Neg(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        return -x

    def backward(self, gy: Any) -> Any:
        return -gy


class Pow(Function):
    """``a ** b`` for a Variable base or exponent (or both).

    As in PyTorch, ``d(a^0)/da`` is 0 (also at ``a = 0``), and the exponent's gradient is
    0 where the base is 0 (instead of ``0 * log 0``).
    """

    def forward(self, a: Any, b: Any) -> np.ndarray:
        out = np.power(a, b)
        self.save_for_backward(a, b, out)
        return out

    def backward(self, gy: Any) -> Any:
        a, b, out = self.saved_tensors
        needs = self.needs_input_grad
        ga = gb = None
        if needs[0]:
            b_const = not isinstance(b, Variable)
            if b_const and not np.any(b):  # a ** 0
                ga = sum_to(gy * 0, _shape(a))
            else:
                is_array = isinstance(b, (np.generic, np.ndarray))
                exponent = np.subtract(b, 1, dtype=b.dtype) if is_array else b - 1
                b_zero = np.equal(getattr(b, "data", b), 0)
                if b_const or not b_zero.any():
                    ga = sum_to(gy * b * a**exponent, _shape(a))
                else:  # b * a^(b-1) is 0 * inf at a = b = 0 (x ** x): 0 where b = 0
                    with np.errstate(divide="ignore", invalid="ignore"):
                        ga = sum_to(where(b_zero, 0.0, gy * b * a**exponent), _shape(a))
        if needs[1]:
            if isinstance(a, Variable):
                zero = a.data == 0
                if not zero.any():
                    log_a = Log.apply(a)
                else:
                    with np.errstate(divide="ignore"):
                        log_a = where(zero, 0.0, Log.apply(a))
            else:  # a constant base: as a Python float it stays weakly typed
                with np.errstate(divide="ignore"):
                    log_a = np.where(np.equal(a, 0), 0.0, np.log(a))
                log_a = float(log_a) if np.ndim(a) == 0 else log_a.astype(out.dtype)
            gb = sum_to(gy * out * log_a, _shape(b))
        return ga, gb
