"""Elementwise math: one Function per numpy ufunc, each with its derivative beside it.

    exp   : g e^x                 log   : g / x              log1p : g / (1 + x)
    expm1 : g (y + 1)             sqrt  : g / (2 y)          sin   : g cos x
    cos   : -g sin x              tan   : g (1 + y^2)        tanh  : g (1 - y^2)
    sigmoid : g y (1 - y)         relu  : g [x > 0]          softplus : g sigmoid(x)
    abs   : g sign(x)             maximum/minimum : g to the selected input
    clip  : g where lo <= x <= hi  where : g to the selected branch

``y`` is the output. Masks such as ``[x > 0]`` are constants: their derivative is zero.
At kinks the conventions are PyTorch's: relu and abs have derivative 0 at 0, clip passes
the gradient at its bounds, maximum/minimum split it equally at ties.

Ops whose result is not an integer (exp, log, sqrt, the trigonometric ones, tanh, sigmoid,
softplus, erf) promote bool and integer input to the default float dtype, as numpy's
ufuncs (and PyTorch) do; relu, abs, maximum, minimum and clip with integer bounds keep it.
sigmoid, softplus, relu, clip, maximum and minimum refuse complex input (they are defined on
real numbers only, as in PyTorch).

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

from maligrad.function import Function, plain_gradient
from maligrad.grad_mode import GradMode
from maligrad.ops.broadcast import sum_to
from maligrad.ops.relu_kernel import MIN_SIZE as RELU_MIN_SIZE
from maligrad.ops.relu_kernel import relu_forward

_ndarray = np.ndarray


def real_float(x: Any, op: str) -> np.ndarray:
    """``x`` as an array of a real floating dtype, for an op whose result is not an integer.

    Integer and bool inputs are promoted to the default float dtype (as numpy's ufuncs and
    PyTorch do); complex input is refused for the ops that are not defined on it.
    """
    kind = x.dtype.kind if isinstance(x, np.ndarray) else np.asarray(x).dtype.kind
    if kind == "f":
        return x
    if kind in "biu":
        return np.asarray(x, dtype=GradMode.default_dtype)
    raise TypeError(
        f"{op}: expected real (bool, integer or float) input, got dtype {np.asarray(x).dtype}"
    )


def to_float(x: Any) -> np.ndarray:
    """``x`` promoted to the default float dtype when it is bool or integer (complex stays)."""
    if isinstance(x, np.ndarray) and x.dtype.kind in "fc":
        return x
    arr = np.asarray(x)
    if arr.dtype.kind in "biu":
        return arr.astype(GradMode.default_dtype)
    if arr.dtype.kind not in "fc":
        raise TypeError(f"expected numeric input, got dtype {arr.dtype}")
    return arr


class Exp(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        if type(x) is not _ndarray or x.dtype.kind != "f":  # inlined: per-op overhead
            x = to_float(x)
        y = np.exp(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy: Any) -> Any:
        if not GradMode.enabled:  # a plain backward: numpy (see ``Function.backward``)
            return plain_gradient(gy.data * self.saved_arrays[0])
        (y,) = self.saved_tensors
        return gy * y


class Log(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        if type(x) is not _ndarray or x.dtype.kind != "f":  # inlined: per-op overhead
            x = to_float(x)
        self.save_for_backward(x)
        return np.log(x)

    def backward(self, gy: Any) -> Any:
        (x,) = self.saved_tensors
        return gy / x


class Log1p(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        if type(x) is not _ndarray or x.dtype.kind != "f":  # inlined: per-op overhead
            x = to_float(x)
        self.save_for_backward(x)
        return np.log1p(x)

    def backward(self, gy: Any) -> Any:
        (x,) = self.saved_tensors
        return gy / (x + 1)


class Expm1(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        if type(x) is not _ndarray or x.dtype.kind != "f":  # inlined: per-op overhead
            x = to_float(x)
        y = np.expm1(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy: Any) -> Any:
        (y,) = self.saved_tensors
        return gy * (y + 1)


class Sqrt(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        if type(x) is not _ndarray or x.dtype.kind != "f":  # inlined: per-op overhead
            x = to_float(x)
        y = np.sqrt(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy: Any) -> Any:
        (y,) = self.saved_tensors
        return gy / (y * 2)


class Sin(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        if type(x) is not _ndarray or x.dtype.kind != "f":  # inlined: per-op overhead
            x = to_float(x)
        self.save_for_backward(x)
        return np.sin(x)

    def backward(self, gy: Any) -> Any:
        (x,) = self.saved_tensors
        return gy * Cos.apply(x)


class Cos(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        if type(x) is not _ndarray or x.dtype.kind != "f":  # inlined: per-op overhead
            x = to_float(x)
        self.save_for_backward(x)
        return np.cos(x)

    def backward(self, gy: Any) -> Any:
        (x,) = self.saved_tensors
        return -gy * Sin.apply(x)


class Tan(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        if type(x) is not _ndarray or x.dtype.kind != "f":  # inlined: per-op overhead
            x = to_float(x)
        y = np.tan(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy: Any) -> Any:
        (y,) = self.saved_tensors
        return gy * (y * y + 1)


class Tanh(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        if type(x) is not _ndarray or x.dtype.kind != "f":  # inlined: per-op overhead
            x = to_float(x)
        y = np.tanh(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy: Any) -> Any:
        if not GradMode.enabled:  # a plain backward: numpy (see ``Function.backward``)
            return plain_gradient(_tanh_grad(self.saved_arrays[0], gy.data))
        (y,) = self.saved_tensors
        return TanhGrad.apply(y, gy)


def _tanh_grad(y: np.ndarray, g: np.ndarray) -> np.ndarray:
    return g - g * y * y


class TanhGrad(Function):
    """``g (1 - y^2)`` as one op (tanh's backward); its own gradient keeps double backward."""

    def forward(self, y: np.ndarray, g: np.ndarray) -> np.ndarray:
        self.save_for_backward(y, g)
        return _tanh_grad(y, g)

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
        x = real_float(x, "sigmoid")
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
        if x.dtype.kind == "c":
            raise TypeError(f"relu: complex input is not supported (dtype {x.dtype})")
        self.mask = x > 0
        if x.dtype.kind == "f" and x.size >= RELU_MIN_SIZE:
            return relu_forward(x)
        y = np.maximum(x, 0)  # not x * mask: no -0.0
        return y if y.dtype is x.dtype else y.astype(x.dtype)

    def backward(self, gy: Any) -> Any:
        if not GradMode.enabled:  # a plain backward: numpy (see ``Function.backward``)
            g, mask = gy.data, self.mask
            if mask.flags.c_contiguous:
                return plain_gradient(g * mask)
            # The result in x's memory order (numpy would follow a broadcast ``g``'s).
            return plain_gradient(np.multiply(g, mask, out=np.empty_like(mask, g.dtype)))
        return gy * self.mask


class Softplus(Function):
    """``log(1 + e^x)``, stable for large ``|x|``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = real_float(x, "softplus")
        self.save_for_backward(x)
        return np.logaddexp(0, x).astype(x.dtype, copy=False)

    def backward(self, gy: Any) -> Any:
        (x,) = self.saved_tensors
        return gy * Sigmoid.apply(x)


class Abs(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.dtype.kind == "b":
            return x.copy()  # numpy's abs of bool; no sign to keep (bool has no gradient)
        self.sign = np.sign(x)
        return np.abs(x)

    def backward(self, gy: Any) -> Any:
        return gy * self.sign


class Maximum(Function):
    """Elementwise maximum, propagating NaN as numpy does.

    Gradient convention (PyTorch's): the larger input gets ``g``; at ties each input gets
    ``g / 2``; where either input is NaN both get ``g``.

        >>> import numpy as np
        >>> from maligrad import Variable, maximum
        >>> a = Variable(np.array([1.0, 2.0, np.nan]), requires_grad=True)
        >>> b = Variable(np.array([1.0, 0.0, 0.0]), requires_grad=True)
        >>> maximum(a, b).sum().backward()
        >>> a.grad.data.tolist(), b.grad.data.tolist()
        ([0.5, 1.0, 1.0], [0.5, 0.0, 1.0])
    """

    def forward(self, a: Any, b: Any) -> np.ndarray:
        out = np.maximum(a, b)
        self.shapes = (np.shape(a), np.shape(b))
        if out.dtype.kind == "f":  # integer and bool results have no gradient
            self.wa, self.wb = _tie_weights(a < b, a > b, a == b, out.dtype)
        elif out.dtype.kind == "c":
            raise TypeError(f"maximum: complex input is not supported (dtype {out.dtype})")
        return out

    def backward(self, gy: Any) -> Any:
        sa, sb = self.shapes
        needs = self.needs_input_grad
        return (
            sum_to(gy * self.wa, sa) if needs[0] else None,
            sum_to(gy * self.wb, sb) if needs[1] else None,
        )


def _tie_weights(
    a_loses: Any, b_loses: Any, tie: Any, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient weights of the two inputs of maximum/minimum: 1 to the winner, 1/2 at ties,
    1 to both where neither wins nor ties (a NaN)."""
    one_minus_half = dtype.type(1) - np.asarray(tie, dtype=dtype) * dtype.type(0.5)
    return (
        one_minus_half - np.asarray(a_loses, dtype=dtype),
        one_minus_half - np.asarray(b_loses, dtype=dtype),
    )


class Minimum(Function):
    """Elementwise minimum; the gradient convention is that of ``Maximum``."""

    def forward(self, a: Any, b: Any) -> np.ndarray:
        out = np.minimum(a, b)
        self.shapes = (np.shape(a), np.shape(b))
        if out.dtype.kind == "f":  # integer and bool results have no gradient
            self.wa, self.wb = _tie_weights(a > b, a < b, a == b, out.dtype)
        elif out.dtype.kind == "c":
            raise TypeError(f"minimum: complex input is not supported (dtype {out.dtype})")
        return out

    def backward(self, gy: Any) -> Any:
        sa, sb = self.shapes
        needs = self.needs_input_grad
        return (
            sum_to(gy * self.wa, sa) if needs[0] else None,
            sum_to(gy * self.wb, sb) if needs[1] else None,
        )


class Clip(Function):
    """Clamp to ``[lo, hi]`` (either may be None, not both).

    The gradient passes where ``lo <= x <= hi``, bounds included (PyTorch's convention), and
    is 0 at NaN. An integer ``x`` with a float bound is promoted to the default float dtype.
    """

    def forward(self, x: np.ndarray, lo: Any = None, hi: Any = None) -> np.ndarray:
        lo, hi = (getattr(v, "data", v) for v in (lo, hi))  # bounds are constants
        if lo is None and hi is None:
            raise ValueError("clip needs at least one of min and max, got min=None, max=None")
        if type(lo) not in _PLAIN_BOUNDS or type(hi) not in _PLAIN_BOUNDS or x.dtype.kind != "f":
            x = _clip_input(x, lo, hi)
        mask = np.ones(x.shape, dtype=bool)
        if lo is not None:
            mask &= x >= lo
        if hi is not None:
            mask &= x <= hi
        self.mask = mask
        return np.clip(x, lo, hi).astype(x.dtype, copy=False)

    def backward(self, gy: Any) -> Any:
        return gy * self.mask


_PLAIN_BOUNDS = (type(None), int, float)


def _clip_input(x: np.ndarray, lo: Any, hi: Any) -> np.ndarray:
    """The slow path of clip: check the bounds; promote an integer ``x`` for float bounds."""
    floating = False
    for name, bound in (("min", lo), ("max", hi)):
        if bound is None:
            continue
        kind = np.asarray(bound).dtype.kind
        if kind not in "biuf":
            raise TypeError(
                f"clip: {name} must be a real number, array or Variable, got "
                f"{type(bound).__name__} (dtype {np.asarray(bound).dtype})"
            )
        floating = floating or kind == "f"
    if x.dtype.kind == "c":
        raise TypeError(f"clip: complex input is not supported (dtype {x.dtype})")
    if floating and x.dtype.kind in "biu":
        return x.astype(GradMode.default_dtype)
    return x


class Where(Function):
    """``where(cond, a, b)``: ``a`` where ``cond`` holds, else ``b``; ``cond`` is a constant."""

    def forward(self, a: Any, b: Any, cond: np.ndarray) -> np.ndarray:
        self.cond = np.asarray(cond, dtype=bool)
        self.shapes = (np.shape(a), np.shape(b))
        out = np.where(self.cond, a, b)
        if out.dtype.kind not in "biufc":
            _check_operands("where", a=a, b=b)
        return out

    def backward(self, gy: Any) -> Any:
        sa, sb = self.shapes
        needs = self.needs_input_grad
        zero = np.zeros((), dtype=gy.dtype)
        return (
            sum_to(where(self.cond, gy, zero), sa) if needs[0] else None,
            sum_to(where(self.cond, zero, gy), sb) if needs[1] else None,
        )


class Cast(Function):
    """``astype``: the gradient is cast back to the input's dtype.

    Only a floating result is differentiable: ``Variable.astype`` to an integer, bool or
    complex dtype returns a Variable that does not require grad (the rounding has no useful
    derivative), as in PyTorch.
    """

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
    """Choose from ``a`` where ``condition`` is true, else from ``b`` (broadcasting).

    ``y = condition ? a : b`` elementwise, as ``np.where``; ``condition`` is a constant
    (a boolean array or Variable). Gradient: ``g`` goes to the input that was chosen,
    ``da = where(condition, g, 0)`` and ``db = where(condition, 0, g)``, each summed back
    to its input's shape.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> a = mg.Variable(np.array([1.0, 2.0]), requires_grad=True)
        >>> y = mg.where(np.array([True, False]), a, 0.0)
        >>> y.data.tolist()
        [1.0, 0.0]
        >>> y.sum().backward()
        >>> a.grad.data.tolist()
        [1.0, 0.0]
    """
    # A Variable's array; not an ndarray's ``.data``, which is a memoryview of its buffer.
    cond = condition if isinstance(condition, np.ndarray) else getattr(condition, "data", condition)
    if not isinstance(cond, np.ndarray) and np.asarray(cond).dtype.kind not in "biuf":
        raise TypeError(
            f"where: condition must be a boolean array or Variable, got {type(condition).__name__}"
        )
    try:
        return Where.apply(a, b, cond=cond)
    except TypeError:
        _check_operands("where", condition=cond, a=a, b=b)
        raise


def maximum(a: Any, b: Any) -> Any:
    """Elementwise maximum of two Variables (or a Variable and a constant), with broadcasting.

    As ``np.maximum``, NaN propagates. Gradient (PyTorch's convention): ``g`` goes to the
    larger input; at a tie each input gets ``g / 2``; where either is NaN both get ``g``.
    Each gradient is summed back to its input's shape.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> a = mg.Variable(np.array([1.0, 2.0, 3.0]), requires_grad=True)
        >>> y = mg.maximum(a, 2.0)
        >>> y.data.tolist()
        [2.0, 2.0, 3.0]
        >>> y.sum().backward()
        >>> a.grad.data.tolist()
        [0.0, 0.5, 1.0]
    """
    try:
        return Maximum.apply(a, b)
    except TypeError:
        _check_operands("maximum", a=a, b=b)
        raise


def minimum(a: Any, b: Any) -> Any:
    """Elementwise minimum of two Variables (or a Variable and a constant), with broadcasting.

    As ``np.minimum``, NaN propagates. Gradient: ``g`` goes to the smaller input; at a tie
    each input gets ``g / 2``; where either is NaN both get ``g`` (as
    [maximum][maligrad.maximum]).

        >>> import numpy as np
        >>> import maligrad as mg
        >>> a = mg.Variable(np.array([1.0, 2.0, 3.0]), requires_grad=True)
        >>> mg.minimum(a, 2.0).sum().backward()
        >>> a.grad.data.tolist()
        [1.0, 0.5, 0.0]
    """
    try:
        return Minimum.apply(a, b)
    except TypeError:
        _check_operands("minimum", a=a, b=b)
        raise


def _check_operands(op: str, **operands: Any) -> None:
    """The slow path of an op that failed: name the operand that is not made of numbers."""
    for name, value in operands.items():
        try:
            kind = np.asarray(getattr(value, "data", value)).dtype.kind
        except (TypeError, ValueError):
            kind = "O"
        if kind not in "biufc":
            raise TypeError(
                f"{op}: {name} must be a Variable, an array or a number, got {type(value).__name__}"
            ) from None
