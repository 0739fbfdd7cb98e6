"""Normalisation: ``batch_norm``, ``layer_norm``, ``group_norm``.

Each standardises over some axes with one fused op and then applies the optional affine
``gamma * xhat + beta``::

    xhat = (x - mean) / sqrt(var + eps)          (biased variance over the axes)
    dx   = (g - mean(g) - xhat mean(g xhat)) / sqrt(var + eps)

The gradient is a Function of its own (``StandardizeGrad``, numpy forward, backward in
maligrad ops), so first and higher derivatives come from the same code.

    >>> import numpy as np, maligrad
    >>> import maligrad.nn.functional as F
    >>> x = maligrad.Variable(np.array([[1.0, 3.0]], np.float32))
    >>> F.layer_norm(x, (2,), eps=0.0).data
    array([[-1.,  1.]], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from maligrad import Function, Variable, no_grad
from maligrad.nn.functional._common import layer_input


class Standardize(Function):
    """``(x - mean) / sqrt(var + eps)`` over ``axes`` (biased variance)."""

    def forward(self, x: np.ndarray, axes: tuple[int, ...], eps: float) -> np.ndarray:
        mean = x.mean(axis=axes, keepdims=True)
        xc = x - mean
        var = (xc * xc).mean(axis=axes, keepdims=True)
        inv = 1.0 / np.sqrt(var + eps)
        xhat = xc * inv
        self.axes, self.eps, self.inv = axes, eps, inv
        self.mean, self.var = mean, var
        self.save_for_backward(x, xhat)
        return xhat

    def backward(self, gy: Variable) -> Any:
        x, xhat = self.saved_tensors
        return StandardizeGrad.apply(
            x, gy, axes=self.axes, eps=self.eps, xhat=xhat.data, inv=self.inv
        )


class StandardizeGrad(Function):
    """``(g - mean(g) - xhat mean(g xhat)) / sqrt(var + eps)``: Standardize's backward.

    It is symmetric in ``g``, so its gradient in ``g`` is ``StandardizeGrad(x, gz)``. In
    ``x``, with ``inv = 1 / sqrt(var + eps)``, ``a = mean(g xhat)``, ``c = g - mean(g)``
    and ``z`` this op's output::

        -inv^2 xhat (mean(gz c) - a mean(gz xhat)) - inv a StandardizeGrad(x, gz)
            - inv mean(gz xhat) z
    """

    def forward(
        self, x: np.ndarray, g: np.ndarray, axes: tuple[int, ...], eps: float,
        xhat: np.ndarray | None = None, inv: np.ndarray | None = None,
    ) -> np.ndarray:  # fmt: skip
        if xhat is None or inv is None:
            xc = x - x.mean(axis=axes, keepdims=True)
            inv = 1.0 / np.sqrt((xc * xc).mean(axis=axes, keepdims=True) + eps)
            xhat = xc * inv
        self.axes, self.eps = axes, eps
        self.save_for_backward(x, g)
        gm = g.mean(axis=axes, keepdims=True)
        return (g - gm - xhat * (g * xhat).mean(axis=axes, keepdims=True)) * inv

    def backward(self, gz: Variable) -> Any:
        x, g = self.saved_tensors
        axes, eps = self.axes, self.eps
        needs = self.needs_input_grad
        gx = gg = None
        if needs[0]:
            xc = x - x.mean(axis=axes, keepdims=True)
            inv = ((xc * xc).mean(axis=axes, keepdims=True) + eps) ** -0.5
            xh = xc * inv
            a = (g * xh).mean(axis=axes, keepdims=True)
            c = g - g.mean(axis=axes, keepdims=True)
            gz_xh = (gz * xh).mean(axis=axes, keepdims=True)
            z = StandardizeGrad.apply(x, g, axes=axes, eps=eps)
            gx = (
                -(inv * inv) * xh * ((gz * c).mean(axis=axes, keepdims=True) - a * gz_xh)
                - inv * a * StandardizeGrad.apply(x, gz, axes=axes, eps=eps)
                - inv * gz_xh * z
            )
        if needs[1]:
            gg = StandardizeGrad.apply(x, gz, axes=axes, eps=eps)
        return gx, gg


def _affine(y: Variable, weight: Any, bias: Any, shape: tuple[int, ...]) -> Variable:
    if weight is not None:
        y = y * (weight.reshape(shape) if weight.shape != shape else weight)
    if bias is not None:
        y = y + (bias.reshape(shape) if bias.shape != shape else bias)
    return y


def batch_norm(
    input: Variable,
    running_mean: Variable | None,
    running_var: Variable | None,
    weight: Variable | None = None,
    bias: Variable | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Variable:
    """Batch normalisation over every axis but the channel axis 1 of ``(N, C, *)``.

    In training (or without running statistics) the batch statistics are used and the
    running ones, if given, are updated in place:
    ``running = (1 - momentum) running + momentum batch`` (unbiased variance).
    Otherwise ``running_mean``/``running_var`` are used.
    """
    x = input if isinstance(input, Variable) else layer_input(input, "batch_norm")
    if x.ndim < 2:
        raise ValueError(f"batch_norm expects an input of shape (N, C, *), got {x.shape}")
    c = x.shape[1]
    shape = (1, c) + (1,) * (x.ndim - 2)
    for name, v in (("running_mean", running_mean), ("running_var", running_var)):
        if v is not None and v.shape != (c,):
            raise ValueError(f"batch_norm: {name} has shape {v.shape}, expected ({c},)")
    axes = (0, *range(2, x.ndim))
    if training or running_mean is None or running_var is None:
        n = x.size // c
        if n <= 1 and training:
            raise ValueError(
                f"expected more than 1 value per channel when training, got input of shape "
                f"{x.shape}"
            )
        y = Standardize.apply(x, axes=axes, eps=eps)
        if training and running_mean is not None and running_var is not None:
            node = y.grad_fn
            data = x.data
            if node is not None:
                mean, var = node.mean.reshape(c), node.var.reshape(c)
            else:
                mean = data.mean(axis=axes)
                var = data.var(axis=axes)
            with no_grad():  # public in-place updates: each moves the version counter on
                rm, rv = running_mean, running_var
                rm.mul_(1 - momentum).add_((momentum * mean).astype(rm.dtype, copy=False))
                unbiased = momentum * var * (n / max(n - 1, 1))
                rv.mul_(1 - momentum).add_(unbiased.astype(rv.dtype, copy=False))
        return _affine(y, weight, bias, shape)
    inv = 1.0 / np.sqrt(running_var.data + eps)
    scale = inv.astype(x.data.dtype, copy=False)
    if weight is not None:
        w = weight.reshape(shape) * scale.reshape(shape)
        shift = -(running_mean.data.reshape(shape) * w)
        if bias is not None:
            shift = shift + bias.reshape(shape)
        return x * w + shift
    y = (x - running_mean.data.reshape(shape).astype(x.data.dtype)) * scale.reshape(shape)
    return y if bias is None else y + bias.reshape(shape)


def layer_norm(
    input: Variable,
    normalized_shape: int | Sequence[int],
    weight: Variable | None = None,
    bias: Variable | None = None,
    eps: float = 1e-5,
) -> Variable:
    """Normalise over the trailing ``normalized_shape`` dimensions, then ``weight``/``bias``."""
    if not isinstance(input, Variable):
        input = layer_input(input, "layer_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or tuple(input.shape[-k:]) != shape:
        raise ValueError(
            f"layer_norm: normalized_shape {shape} does not match the trailing dimensions of "
            f"an input of shape {input.shape}"
        )
    axes = tuple(range(input.ndim - k, input.ndim))
    y = Standardize.apply(input, axes=axes, eps=eps)
    return _affine(y, weight, bias, shape)


def group_norm(
    input: Variable,
    num_groups: int,
    weight: Variable | None = None,
    bias: Variable | None = None,
    eps: float = 1e-5,
) -> Variable:
    """Normalise ``(N, C, *)`` over each group of ``C / num_groups`` channels (and ``*``)."""
    if not isinstance(input, Variable):
        input = layer_input(input, "group_norm")
    if input.ndim < 2:
        raise ValueError(f"group_norm expects an input of shape (N, C, *), got {input.shape}")
    n, c = input.shape[:2]
    if c % num_groups:
        raise ValueError(f"group_norm: {c} channels are not divisible into {num_groups} groups")
    y = Standardize.apply(input.reshape(n, num_groups, -1), axes=(2,), eps=eps)
    y = y.reshape(input.shape)
    return _affine(y, weight, bias, (1, c) + (1,) * (input.ndim - 2))
