"""``linear`` and ``bilinear``: the affine maps behind [`Linear`][maligrad.nn.Linear].

``linear(x, W, b) = x W^T + b`` is one fused op. With ``g`` the output gradient and the
leading dimensions of ``x`` flattened::

    dx = g W        dW = g^T x        db = sum over rows of g

``dx`` is a maligrad matmul; ``dW`` and ``db`` are Functions of their own (numpy forward,
backward in maligrad ops), as for the convolutions, so the same code gives first and higher
derivatives at the cost of a numpy call each. A plain backward (no ``create_graph``) computes
all three with numpy directly, without the per-op cost of those Functions (3-4% of a
7-5-3 MLP's training step at batch 1).

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
        if x.dtype is not w.dtype and x.dtype != w.dtype:
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
        needs = self.needs_input_grad
        if not maligrad.is_grad_enabled():  # a plain backward: the three formulas in numpy
            # The forward formulas of the Functions below (and of ``@``), so the same bits.
            xv, wv = self.saved_tensors  # (``saved_arrays`` is newer than nn's oldest core)
            x, w, g = xv.data, wv.data, gy.data
            grads = (
                Variable(g @ w) if needs[0] else None,
                Variable(_weight_grad(g, x)) if needs[1] else None,
            )
            if len(needs) == 3:
                return *grads, (Variable(_bias_grad(g)) if needs[2] else None)
            return grads
        x, w = self.saved_tensors
        gx = gy @ w if needs[0] else None
        gw = LinearWeightGrad.apply(gy, x) if needs[1] else None
        if len(needs) == 3:
            return gx, gw, (LinearBiasGrad.apply(gy) if needs[2] else None)
        return gx, gw


def _rows(a: np.ndarray) -> np.ndarray:
    return a if a.ndim == 2 else a.reshape(-1, a.shape[-1])


def _weight_grad(g: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``dW = g^T x`` over the flattened leading dimensions."""
    return _rows(g).T @ _rows(x)


def _bias_grad(g: np.ndarray) -> np.ndarray:
    """``db``: the sum of the rows of ``g`` (``np.add.reduce`` is what ``.sum`` calls, 1-2 us
    sooner on the small arrays where that is the cost)."""
    return np.add.reduce(_rows(g), axis=0)


class LinearWeightGrad(Function):
    """``dW = g^T x`` over the flattened leading dimensions; bilinear, so its gradients are
    ``linear(x, gz)`` for ``g`` and ``g @ gz`` for ``x``."""

    def forward(self, g: np.ndarray, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(g, x)
        return _weight_grad(g, x)

    def backward(self, gz: Variable) -> Any:
        g, x = self.saved_tensors
        needs = self.needs_input_grad
        return (
            Linear.apply(x, gz) if needs[0] else None,
            g @ gz if needs[1] else None,
        )


class LinearBiasGrad(Function):
    """``db = sum of the rows of g``; its gradient broadcasts ``gz`` back over the rows."""

    def forward(self, g: np.ndarray) -> np.ndarray:
        self.shape = g.shape
        return _bias_grad(g)

    def backward(self, gz: Variable) -> Any:
        return maligrad.broadcast_to(gz, self.shape)


def linear(input: Variable, weight: Variable, bias: Variable | None = None) -> Variable:
    """Affine map ``y = x W^T + b``.

    Args:
        input: ``(*, in_features)``.
        weight: ``(out_features, in_features)``.
        bias: ``(out_features,)`` or None.

    Returns:
        ``(*, out_features)``.
    """
    for name, v in (("input", input), ("weight", weight), ("bias", bias)):
        if not isinstance(v, (Variable, np.ndarray)) and (v is not None or name != "bias"):
            raise TypeError(f"linear: {name} expected a Variable or array, got {type(v).__name__}")
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
