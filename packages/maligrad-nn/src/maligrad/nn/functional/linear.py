"""``linear`` and ``bilinear``: the affine maps behind :class:`~maligrad.nn.Linear`.

``linear(x, W, b) = x W^T + b`` is one fused op. With ``g`` the output gradient and the
leading dimensions of ``x`` flattened::

    dx = g W        dW = g^T x        db = sum over rows of g

These formulas are maligrad ops (matmuls and a sum), so the same backward gives first and
higher derivatives.

    >>> import numpy as np, maligrad
    >>> import maligrad.nn.functional as F
    >>> x = maligrad.Variable(np.ones((2, 3), np.float32))
    >>> W = maligrad.Variable(np.ones((4, 3), np.float32))
    >>> F.linear(x, W, maligrad.Variable(np.zeros(4, np.float32))).data
    array([[3., 3., 3., 3.],
           [3., 3., 3., 3.]], dtype=float32)
"""

from __future__ import annotations

from typing import Any

import numpy as np

import maligrad
from maligrad import Function, Variable


class Linear(Function):
    """``x @ W.T + b`` over any number of leading dimensions of ``x``."""

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        if x.ndim == 0 or x.shape[-1] != w.shape[1]:
            raise ValueError(
                f"linear: input of shape {x.shape} does not match weight of shape {w.shape} "
                f"(the last dimension of the input must be {w.shape[1]})"
            )
        if x.dtype != w.dtype:
            raise TypeError(
                f"linear: input dtype {x.dtype} does not match weight dtype {w.dtype}; "
                f"convert the input with .astype(np.{w.dtype})"
            )
        self.save_for_backward(x, w)
        y = x @ w.T
        if b is not None:
            y += b
        return y

    def backward(self, gy: Variable) -> tuple[Any, ...]:
        x, w = self.saved_tensors
        needs = self.needs_input_grad
        has_b = len(needs) == 3
        gx = gw = gb = None
        if needs[0]:
            gx = gy @ w
        if needs[1] or (has_b and needs[2]):
            gy2 = gy if gy.ndim == 2 else gy.reshape(-1, gy.shape[-1])
            if needs[1]:
                gw = gy2.T @ (x if x.ndim == 2 else x.reshape(-1, x.shape[-1]))
            if has_b and needs[2]:
                gb = gy2.sum(axis=0)
        return (gx, gw, gb) if has_b else (gx, gw)


def linear(input: Variable, weight: Variable, bias: Variable | None = None) -> Variable:
    """Affine map ``y = x W^T + b``.

    Args:
        input: ``(*, in_features)``.
        weight: ``(out_features, in_features)``.
        bias: ``(out_features,)`` or None.

    Returns:
        ``(*, out_features)``.
    """
    if bias is None:
        return Linear.apply(input, weight)
    return Linear.apply(input, weight, bias)


def bilinear(
    input1: Variable,
    input2: Variable,
    weight: Variable,
    bias: Variable | None = None,
) -> Variable:
    """Bilinear map ``y_k = x1^T A_k x2 + b_k``.

    Args:
        input1: ``(*, in1_features)``.
        input2: ``(*, in2_features)`` (same leading dimensions).
        weight: ``(out_features, in1_features, in2_features)``.
        bias: ``(out_features,)`` or None.
    """
    s1, s2, sw = np.shape(input1), np.shape(input2), np.shape(weight)
    if len(sw) != 3 or s1[-1:] != sw[1:2] or s2[-1:] != sw[2:3] or s1[:-1] != s2[:-1]:
        raise ValueError(
            f"bilinear: inputs of shapes {s1} and {s2} do not match weight of shape {sw}"
        )
    lead = tuple(s1[:-1])
    x1 = input1.reshape(-1, sw[1]) if len(s1) != 2 else input1
    x2 = input2.reshape(-1, sw[2]) if len(s2) != 2 else input2
    y = maligrad.einsum("ni,kij,nj->nk", x1, weight, x2)
    if len(s1) != 2:
        y = y.reshape(*lead, sw[0])
    return y if bias is None else y + bias
