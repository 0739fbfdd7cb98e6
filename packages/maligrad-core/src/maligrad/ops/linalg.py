"""Products: ``matmul`` (1-D, 2-D and batched, as numpy's ``@``), ``einsum``, ``tensordot``.

For ``y = a @ b`` with matrices: ``da = g b^T`` and ``db = a^T g``; a 1-D operand is
treated as a row (left) or column (right) vector and the added axis dropped again;
broadcast batch axes are summed back. ``einsum``'s gradient for each operand is another
``einsum`` of the output gradient with the other operands.

    >>> import numpy as np
    >>> from maligrad import Variable
    >>> a = Variable(np.eye(2), requires_grad=True)
    >>> (a @ np.array([1.0, 2.0])).sum().backward()
    >>> a.grad.data
    array([[1., 2.],
           [1., 2.]])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from maligrad.function import Function
from maligrad.ops.broadcast import BroadcastTo, sum_to


class MatMul(Function):
    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if np.ndim(a) == 0 or np.ndim(b) == 0:
            raise ValueError("matmul: operands must be at least 1-D (use * for scalars)")
        self.save_for_backward(a, b)
        try:
            return np.matmul(a, b)
        except ValueError:
            raise ValueError(
                f"matmul: shapes {np.shape(a)} and {np.shape(b)} do not match "
                f"({np.shape(a)[-1]} != {np.shape(b)[-2] if np.ndim(b) > 1 else np.shape(b)[0]})"
            ) from None

    def backward(self, gy: Any) -> Any:
        a, b = self.saved_tensors
        needs = self.needs_input_grad
        a_shape, b_shape = np.shape(a), np.shape(b)
        if len(a_shape) == 1 and len(b_shape) == 1:  # inner product: gy is a scalar
            return (gy * b if needs[0] else None, gy * a if needs[1] else None)
        if len(a_shape) == 1:
            a = a.reshape(1, -1) if needs[1] else a
            gy = gy.expand_dims(-2)
        if len(b_shape) == 1:
            b = b.reshape(-1, 1) if needs[0] else b
            gy = gy.expand_dims(-1)
        ga = gb = None
        if needs[0]:
            ga = gy @ b.swapaxes(-1, -2)
            ga = _reduce_to(ga, a_shape)
        if needs[1]:
            gb = a.swapaxes(-1, -2) @ gy
            gb = _reduce_to(gb, b_shape)
        return ga, gb


def _reduce_to(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum broadcast batch axes of a matmul gradient and drop a 1-D operand's added axis."""
    if len(shape) == 1:
        g = g.reshape(g.shape[:-2] + (-1,)) if g.ndim > 2 else g.reshape(-1)
        return sum_to(g, shape)
    return sum_to(g, shape)


def _parse(subscripts: str, n: int) -> tuple[list[str], str]:
    spec = subscripts.replace(" ", "")
    if "." in spec:
        raise NotImplementedError("einsum with '...' is not supported; name every axis")
    if "->" in spec:
        lhs, out = spec.split("->")
    else:
        lhs = spec
        letters = lhs.replace(",", "")
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    ins = lhs.split(",")
    if len(ins) != n:
        raise ValueError(f"einsum: {subscripts!r} names {len(ins)} operands, got {n}")
    return ins, out


class Einsum(Function):
    def forward(self, *operands: np.ndarray, subscripts: str) -> np.ndarray:
        self.ins, self.out = _parse(subscripts, len(operands))
        for spec, op in zip(self.ins, operands):
            if len(spec) != np.ndim(op):
                raise ValueError(
                    f"einsum: operand with subscripts {spec!r} has shape {np.shape(op)}"
                )
        self.save_for_backward(*operands)
        return np.asarray(np.einsum(f"{','.join(self.ins)}->{self.out}", *operands))

    def backward(self, gy: Any) -> Any:
        ops = self.saved_tensors
        grads: list[Any] = []
        for i, (spec, x) in enumerate(zip(self.ins, ops)):
            if not self.needs_input_grad[i]:
                grads.append(None)
                continue
            if len(set(spec)) != len(spec):
                raise NotImplementedError(
                    f"einsum gradient for repeated subscripts {spec!r} is not supported"
                )
            others = [o for j, o in enumerate(ops) if j != i]
            other_specs = [s for j, s in enumerate(self.ins) if j != i]
            present = set(self.out).union(*other_specs) if other_specs else set(self.out)
            kept = "".join(c for c in spec if c in present)
            g = Einsum.apply(
                gy, *others, subscripts=",".join([self.out, *other_specs]) + "->" + kept
            )
            if kept != spec:
                # Axes summed only within this operand: the gradient is constant along them.
                keep_shape = tuple(n if c in kept else 1 for c, n in zip(spec, x.shape))
                g = BroadcastTo.apply(g.reshape(keep_shape), shape=x.shape)
            grads.append(sum_to(g, x.shape))  # a size-1 axis may have been broadcast
        return tuple(grads)


def einsum(subscripts: str, *operands: Any) -> Any:
    """Einstein summation over Variables (no '...'; explicit or implicit output)."""
    return Einsum.apply(*operands, subscripts=subscripts)


class Tensordot(Einsum):
    """``np.tensordot`` (BLAS) forward; its gradient is that of the equivalent einsum."""

    def forward(self, a: np.ndarray, b: np.ndarray, axes: Any = 2) -> np.ndarray:  # type: ignore[override]
        self.ins, self.out = _tensordot_subscripts(np.ndim(a), np.ndim(b), axes)
        self.save_for_backward(a, b)
        try:
            return np.asarray(np.tensordot(a, b, axes))
        except ValueError:
            raise ValueError(
                f"tensordot: shapes {np.shape(a)} and {np.shape(b)} do not match over axes {axes}"
            ) from None


def _tensordot_subscripts(na: int, nb: int, axes: Any) -> tuple[list[str], str]:
    axes_a: list[Any]
    axes_b: list[Any]
    if isinstance(axes, (int, np.integer)):
        axes_a = list(range(na - int(axes), na))
        axes_b = list(range(int(axes)))
    else:
        axes_a, axes_b = ([x] if isinstance(x, (int, np.integer)) else list(x) for x in axes)
    if len(axes_a) != len(axes_b):
        raise ValueError(f"tensordot: axes {axes_a} and {axes_b} differ in length")
    axes_a = [ax % na for ax in axes_a]
    axes_b = [ax % nb for ax in axes_b]
    letters = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    sa = [next(letters) for _ in range(na)]
    sb = [next(letters) for _ in range(nb)]
    for i, j in zip(axes_a, axes_b):
        sb[j] = sa[i]
    out = [c for k, c in enumerate(sa) if k not in axes_a]
    out += [c for k, c in enumerate(sb) if k not in axes_b]
    return ["".join(sa), "".join(sb)], "".join(out)


def tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    """``np.tensordot`` as a differentiable op."""
    return Tensordot.apply(a, b, axes=axes)
