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

_ndarray = np.ndarray


class MatMul(Function):
    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if (a.ndim if type(a) is _ndarray else np.ndim(a)) == 0 or (
            b.ndim if type(b) is _ndarray else np.ndim(b)
        ) == 0:
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


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _parse(subscripts: str, ndims: list[int]) -> tuple[list[str], str]:
    """Operand and output subscripts with ``...`` spelled out as letters, as numpy reads them.

    Ellipsis axes are right-aligned across operands (broadcasting); an implicit output is
    the ellipsis axes followed by the letters used once, in alphabetical order.
    """
    spec = subscripts.replace(" ", "")
    lhs, arrow, out = spec.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(ndims):
        raise ValueError(f"einsum: {subscripts!r} names {len(ins)} operands, got {len(ndims)}")
    ell = ""
    if "..." in spec:
        counts = [nd - (len(s) - 3) for s, nd in zip(ins, ndims) if "..." in s]
        free = [c for c in _LETTERS if c not in spec]
        ell = "".join(free[: max(counts, default=0)])
        ins = [
            s.replace("...", ell[len(ell) - (nd - (len(s) - 3)) :] if nd >= len(s) - 3 else "?")
            if "..." in s
            else s
            for s, nd in zip(ins, ndims)
        ]
    if arrow:
        out = out.replace("...", ell)
    else:
        letters = "".join(ins)
        out = ell + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ell)
        )
    for s, nd in zip(ins, ndims):
        if len(s) != nd or "?" in s:
            raise ValueError(f"einsum: {subscripts!r} does not fit operands of {nd} dimensions")
    return ins, out


class Einsum(Function):
    """``np.einsum`` over explicit or implicit subscripts, with ``...`` and repeated letters.

    The gradient for each operand is an einsum of the output gradient with the other
    operands; letters repeated within an operand (a trace or a diagonal) get their
    gradient written back onto that diagonal.
    """

    def forward(self, *operands: np.ndarray, subscripts: str) -> np.ndarray:
        self.ins, self.out = _parse(subscripts, [np.ndim(op) for op in operands])
        self.save_for_backward(*operands)
        return np.asarray(np.einsum(f"{','.join(self.ins)}->{self.out}", *operands))

    def backward(self, gy: Any) -> Any:
        ops = self.saved_tensors
        grads: list[Any] = []
        for i, (spec, x) in enumerate(zip(self.ins, ops)):
            if not self.needs_input_grad[i]:
                grads.append(None)
                continue
            unique = "".join(dict.fromkeys(spec))  # each letter once, in order
            sizes = {c: n for c, n in zip(spec, x.shape)}
            others = [o for j, o in enumerate(ops) if j != i]
            other_specs = [s for j, s in enumerate(self.ins) if j != i]
            present = set(self.out).union(*other_specs)
            kept = "".join(c for c in unique if c in present)
            g = Einsum.apply(
                gy, *others, subscripts=",".join([self.out, *other_specs]) + "->" + kept
            )
            if kept != unique:
                # Axes summed only within this operand: the gradient is constant along them.
                keep_shape = tuple(sizes[c] if c in kept else 1 for c in unique)
                g = BroadcastTo.apply(g.reshape(keep_shape), shape=tuple(sizes[c] for c in unique))
            if unique != spec:
                g = DiagonalEmbed.apply(g, spec=spec, unique=unique, shape=x.shape)
            grads.append(sum_to(g, x.shape))  # a size-1 axis may have been broadcast
        return tuple(grads)


class DiagonalEmbed(Function):
    """Zeros of ``shape`` with ``g`` written on the diagonal that ``spec`` -> ``unique``
    reads (the adjoint of taking that diagonal, which is its gradient)."""

    def forward(self, g: np.ndarray, spec: str, unique: str, shape: tuple[int, ...]) -> np.ndarray:
        self.spec, self.unique = spec, unique
        out = np.zeros(shape, dtype=g.dtype)
        np.einsum(f"{spec}->{unique}", out)[...] = g  # a writable view of the diagonal
        return out

    def backward(self, gy: Any) -> Any:
        return Einsum.apply(gy, subscripts=f"{self.spec}->{self.unique}")


def einsum(subscripts: str, *operands: Any) -> Any:
    """Einstein summation over Variables, as ``np.einsum``.

    Subscripts are explicit (``"ij,jk->ik"``) or leave the output implicit; ``...`` stands
    for broadcast leading axes and a letter repeated within an operand takes a trace or
    diagonal. Gradient: for each operand, an einsum of ``g`` with the other operands (the
    subscripts rearranged), written back onto the diagonal for repeated letters.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> a = mg.Variable(np.ones((5, 2, 3)))
        >>> mg.einsum("...ij,jk->...ik", a, np.ones((3, 4))).shape
        (5, 2, 4)
    """
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
    """Sum products over the given axes of ``a`` and ``b``, as ``np.tensordot``.

    ``axes`` is an int ``n`` (the last ``n`` axes of ``a`` with the first ``n`` of ``b``) or
    a pair of axis lists. The forward uses BLAS; the gradient is that of the equivalent
    [einsum][maligrad.einsum]: ``g`` contracted with the other operand.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> a = mg.Variable(np.ones((2, 3)), requires_grad=True)
        >>> y = mg.tensordot(a, np.ones((3, 4)), axes=1)
        >>> y.shape
        (2, 4)
        >>> y.sum().backward()
        >>> a.grad.data.tolist()
        [[4.0, 4.0, 4.0], [4.0, 4.0, 4.0]]
    """
    return Tensordot.apply(a, b, axes=axes)
