"""Normalisation: ``batch_norm``, ``layer_norm``, ``group_norm``.

Each standardises over some axes and applies the optional affine ``gamma * xhat + beta``::

    xhat = (x - mean) / sqrt(var + eps)          (biased variance over the axes)
    dx   = (g - mean(g) - xhat mean(g xhat)) / sqrt(var + eps)

``layer_norm`` and ``group_norm`` standardise with one fused op (``Standardize``) and apply
the affine with ordinary ops; ``batch_norm`` in training fuses the affine too (``BatchNorm``,
over every axis but the channel axis 1). Each gradient is a Function of its own
(``StandardizeGrad``; ``BatchNormGrad`` and ``BatchNormParamGrad``: numpy forward, backward
in maligrad ops), so first and higher derivatives come from the same code.

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
from maligrad.nn.functional._layout import batch_last


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

    It is symmetric in ``g``, so its gradient in ``g`` is ``StandardizeGrad(x, gz)``; its
    gradient in ``x`` is ``_standardize_grad_vjp_x``.
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
        gx = _standardize_grad_vjp_x(x, g, gz, axes, eps) if needs[0] else None
        gg = StandardizeGrad.apply(x, gz, axes=axes, eps=eps) if needs[1] else None
        return gx, gg


def _standardize_grad_vjp_x(
    x: Variable, g: Variable, gz: Variable, axes: tuple[int, ...], eps: float
) -> Variable:
    """The gradient in ``x`` of ``<gz, StandardizeGrad(x, g)>``, in maligrad ops.

    With ``inv = 1 / sqrt(var + eps)``, ``a = mean(g xhat)``, ``c = g - mean(g)`` and
    ``z = StandardizeGrad(x, g)``::

        -inv^2 xhat (mean(gz c) - a mean(gz xhat)) - inv a StandardizeGrad(x, gz)
            - inv mean(gz xhat) z
    """
    xc = x - x.mean(axis=axes, keepdims=True)
    inv = ((xc * xc).mean(axis=axes, keepdims=True) + eps) ** -0.5
    xh = xc * inv
    a = (g * xh).mean(axis=axes, keepdims=True)
    c = g - g.mean(axis=axes, keepdims=True)
    gz_xh = (gz * xh).mean(axis=axes, keepdims=True)
    z = StandardizeGrad.apply(x, g, axes=axes, eps=eps)
    return (
        -(inv * inv) * xh * ((gz * c).mean(axis=axes, keepdims=True) - a * gz_xh)
        - inv * a * StandardizeGrad.apply(x, gz, axes=axes, eps=eps)
        - inv * gz_xh * z
    )


# --- batch norm: one fused Function, its gradient a Function of its own -----------------
#
# ``x (N, C, *)`` is viewed as a *channel frame* ``(A, C, B)``: each channel's statistics run
# over the ``M = A B`` values of its slab, and every per-channel quantity is a ``(C,)``
# vector. For NCHW memory the frame is ``(N, C, L)``; for batch-last memory (``(C, *, N)``,
# as the convolutions hand it over, see ``_toeplitz``) it is ``(1, C, L N)``, so that every
# channel's values are one contiguous run. Either is a view; the result comes back in the
# input's memory order, and the gradient ``g`` is read through ``x``'s frame (a copy when its
# own memory order differs).


def _as_channels(a: np.ndarray, last: bool = False) -> np.ndarray:
    """``(N, C, *)`` -> its channel frame: ``(N, C, L)``, or ``(1, C, L N)`` when ``last``
    (views when ``a`` is laid out so, else copies)."""
    if last:
        return a.transpose(*range(1, a.ndim), 0).reshape(1, a.shape[1], -1)
    return a.reshape(a.shape[0], a.shape[1], -1)


def _from_channels(a3: np.ndarray, shape: tuple[int, ...], last: bool) -> np.ndarray:
    """Inverse of :func:`_as_channels` for a contiguous frame: an ``(N, C, *)`` view."""
    if last:
        return a3.reshape(*shape[1:], shape[0]).transpose(len(shape) - 1, *range(len(shape) - 1))
    return a3.reshape(shape)


def _batch_stats(
    x3: np.ndarray, eps: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``mean``, biased ``var``, ``inv = 1 / sqrt(var + eps)`` per channel of ``x3 (N, C, L)``,
    and the centred ``xc = x3 - mean`` (a new array the caller may overwrite).

    Two passes, as the variance needs for accuracy (``E[x^2] - mean^2`` cancels digits
    when a channel's mean is large against its spread, common after a ReLU): the sum by
    ``_channel_sum``, then ``sum xc^2`` by ``_channel_dot`` over the centred copy (no
    squared temporary).
    """
    per = 1.0 / (x3.shape[0] * x3.shape[2])  # a Python float: numpy 1.26 turns x / int into
    mean = _channel_sum(x3) * per  # float64 once the int no longer fits in 16 bits
    xc = x3 - mean[:, None]
    var = _channel_dot(xc, xc) * per
    return mean, var, 1.0 / np.sqrt(var + eps), xc


#: Length of the vector of ones that ``_channel_sum`` multiplies rows by (256 KiB of float32;
#: longer rows are cut into pieces of this length).
_ONES = 1 << 16

_ones: dict[np.dtype, np.ndarray] = {}


def _channel_sum(a3: np.ndarray) -> np.ndarray:
    """``sum a`` per channel of an ``(N, C, L)`` frame. Where each channel is one contiguous
    run (a ``(1, C, L)`` frame) it is a matrix-vector product with a vector of ones, which
    BLAS runs 3x faster than the einsum reduction (1M float32 values: 0.13 against 0.39 ms)
    and on its threads; else that einsum."""
    if a3.shape[0] != 1 or not a3.flags.c_contiguous or a3.dtype.kind != "f":
        return np.einsum("ncl->c", a3)
    ones = _ones.get(a3.dtype)
    if ones is None:
        ones = _ones[a3.dtype] = np.ones(_ONES, dtype=a3.dtype)
        ones.flags.writeable = False
    rows, length = a3[0], a3.shape[2]
    if length <= _ONES:
        return rows @ ones[:length]
    whole = length - length % _ONES
    pieces = rows[:, :whole].reshape(rows.shape[0], -1, _ONES) @ ones  # (C, pieces)
    return pieces.sum(axis=1) + rows[:, whole:] @ ones[: length - whole]


def _channel_dot(a3: np.ndarray, b3: np.ndarray) -> np.ndarray:
    """``sum a b`` per channel of two ``(N, C, L)`` frames: one BLAS dot per channel where
    each channel is one contiguous run (a ``(1, C, L)`` frame; 2-3x faster than the einsum),
    else an einsum reduction."""
    if a3.shape[0] == 1 and a3.flags.c_contiguous and b3.flags.c_contiguous:
        return np.matmul(a3[0][:, None, :], b3[0][:, :, None])[:, 0, 0]
    return np.einsum("ncl,ncl->c", a3, b3)


#: Backward works from ``x`` itself (``sum g xc = sum g x - mean sum g``, no centred copy)
#: unless a channel's mean exceeds this many of its standard deviations: the error of those
#: one-pass forms grows as ``eps (1 + |mean| / std)``, so up to 4 std it stays a few roundings.
_CENTRE_ABOVE = 4.0


def _needs_centring(mean: np.ndarray, var: np.ndarray) -> bool:
    return bool(np.any(mean * mean > (_CENTRE_ABOVE * _CENTRE_ABOVE) * var))


def _grad_sums(
    g3: np.ndarray, x3: np.ndarray, mean: np.ndarray, inv: np.ndarray, xc: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """``sum g`` and ``sum g xhat = inv sum g (x - mean)`` per channel: two reductions, over
    ``xc = x - mean`` when given, else over ``x`` (``sum g x - mean sum g``)."""
    sg = _channel_sum(g3)
    if xc is not None:
        return sg, _channel_dot(g3, xc) * inv
    return sg, (_channel_dot(g3, x3) - mean * sg) * inv


def _bn_input_grad(
    g3: np.ndarray, x3: np.ndarray, w: np.ndarray | None, mean: np.ndarray, inv: np.ndarray,
    xc: np.ndarray | None, sg: np.ndarray, sgxh: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """``w inv (g - sum g / M - xhat sum(g xhat) / M)`` as ``a g + b (x - mean) + c``.

    Per channel ``a = w inv``, ``b = -a inv sum(g xhat) / M``, ``c = -a sum g / M`` (with
    ``x`` in place of ``xc``: ``b x + (c - b mean)``). Two passes over the frame: ``gx = a g``,
    then ``gx += b x + c`` a cache-sized block at a time (samples of ``(N, C, L)``, channels
    of ``(1, C, L N)``) through a small scratch block, not a full-size temporary (folding
    ``c`` into the block took resnet-small's input gradients 0.92-0.96x the time).
    """
    per = 1.0 / (x3.shape[0] * x3.shape[2])  # a Python float (see ``_batch_stats``)
    a = inv if w is None else w * inv
    b = -a * inv * sgxh * per
    c = -a * sg * per
    src = x3 if xc is None else xc
    if xc is None:
        c -= b * mean
    gx = np.multiply(g3, a[:, None])
    blocks = _blocks(x3.shape)
    scratch = np.empty(gx[blocks[0][0]].size, dtype=gx.dtype)
    for idx, ch in blocks:
        out = gx[idx]
        t = scratch[: out.size].reshape(out.shape)
        np.multiply(src[idx], b[ch, None], out=t)
        t += c[ch, None]
        out += t
    return gx


def _blocks(shape: tuple[int, ...]) -> list[tuple[tuple[slice, slice], slice]]:
    """Cache-sized blocks of an ``(N, C, L)`` frame, as ``(index, channels)``: samples of
    ``(N, C, L)`` (every channel), channels of a ``(1, C, L N)`` frame (one contiguous run
    each)."""
    n, c, length = shape
    if n > 1:
        step = max(1, _BLOCK // max(1, c * length))
        return [((slice(i, i + step), slice(None)), slice(None)) for i in range(0, n, step)]
    step = max(1, _BLOCK // max(1, length))
    return [((slice(None), slice(i, i + step)), slice(i, i + step)) for i in range(0, c, step)]


#: Values per scratch block of ``_bn_input_grad`` (256 KiB of float32).
_BLOCK = 1 << 16


class BatchNorm(Function):
    """``y = (x - mean) / sqrt(var + eps) * weight + bias`` per channel (axis 1) of
    ``(N, C, *)``, with the batch's ``mean`` and biased ``var``; ``weight``/``bias`` (``(C,)``)
    may be None.

    Forward: the statistics and ``xc = x - mean`` (``_batch_stats``), then
    ``y = xc (weight inv) + bias`` in place, two passes: one new array, and nothing kept but
    ``x`` and the ``(C,)`` statistics (what the forward pass holds must be fetched fresh from
    the OS). Backward works from ``x`` (centred again only where a mean is large, see
    ``_CENTRE_ABOVE``); with ``g`` the output gradient and ``M`` the values per channel::

        dx = weight inv (g - sum(g) / M - xhat sum(g xhat) / M)     (BatchNormGrad)
        dweight = sum g xhat,   dbias = sum g                        (BatchNormParamGrad)

    the two channel sums computed once, by ``_grad_sums``, for all three. The channel frame
    follows ``x``'s memory order (batch-last ``x``: one contiguous run per channel), and ``y``
    and ``dx`` keep it.

        >>> import numpy as np, maligrad as mg
        >>> x = mg.Variable(np.array([[1.0], [3.0]], np.float32), requires_grad=True)
        >>> y = BatchNorm.apply(x, None, None, eps=0.0)
        >>> y.data.ravel().tolist()
        [-1.0, 1.0]
    """

    def forward(
        self, x: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None, eps: float
    ) -> np.ndarray:
        self.last = last = batch_last(x, whole=True)
        mean, var, inv, y = _batch_stats(_as_channels(x, last), eps)
        y *= (inv if weight is None else weight * inv)[:, None]  # y = xc, normalised in place
        if bias is not None:  # (a second pass: in blocks, with the scaling, it measured slower)
            y += bias[:, None]
        self.eps, self.mean, self.var, self.inv = eps, mean, var, inv
        self.centre = _needs_centring(mean, var)
        self.save_for_backward(x, weight)
        return _from_channels(y, x.shape, last)

    def backward(self, gy: Variable) -> Any:
        x, w = self.saved_tensors
        needs = self.needs_input_grad
        x3, mean = _as_channels(x.data, self.last), self.mean
        stats = (mean, self.inv, x3 - mean[:, None] if self.centre else None)
        sums = _grad_sums(_as_channels(gy.data, self.last), x3, *stats)
        gx = gw = gb = None
        if needs[0]:
            gx = BatchNormGrad.apply(x, gy, w, eps=self.eps, stats=stats, sums=sums)
        if needs[1] or needs[2]:
            gp = BatchNormParamGrad.apply(x, gy, eps=self.eps, stats=stats, sums=sums)
            gw = gp[0] if needs[1] else None
            gb = gp[1] if needs[2] else None
        return gx, gw, gb


def _channel_axes(x: Variable) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The reduced axes of a batch norm of ``x (N, C, *)`` and the ``(1, C, 1, ...)`` shape."""
    return (0, *range(2, x.ndim)), (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _stats_and_sums(x3: np.ndarray, g3: Any, eps: float, stats: Any, sums: Any) -> Any:
    """``stats = (mean, inv, xc or None)`` and ``sums`` as BatchNorm.backward hands them on,
    or computed afresh (then centred: the copy is made anyway) from the channel frames of
    ``x`` and ``g`` (``g3`` is needed only without ``sums``)."""
    if stats is None:
        mean, _, inv, xc = _batch_stats(x3, eps)
        stats = (mean, inv, xc)
    if sums is None:
        sums = _grad_sums(g3, x3, *stats)
    return stats, sums


class BatchNormGrad(Function):
    """``dx = weight StandardizeGrad(x, g)`` over every axis but 1: BatchNorm's input
    gradient (``weight`` may be None).

    ``stats = (mean, inv, xc or None)`` and ``sums = (sum g, sum g xhat)`` may come from
    BatchNorm's backward, which has them. Its own gradients, with ``gz`` the
    output's::

        d g      = BatchNormGrad(x, gz, weight)              (symmetric in g)
        d weight = sum gz StandardizeGrad(x, g)
        d x      = _standardize_grad_vjp_x(x, g, weight gz)
    """

    def forward(
        self, x: np.ndarray, g: np.ndarray, weight: np.ndarray | None, eps: float,
        stats: Any = None, sums: Any = None,
    ) -> np.ndarray:  # fmt: skip
        last = batch_last(x, whole=True)
        g3, x3 = _as_channels(g, last), _as_channels(x, last)
        (mean, inv, xc), (sg, sgxh) = _stats_and_sums(x3, g3, eps, stats, sums)
        self.eps = eps
        self.save_for_backward(x, g, weight)
        gx = _bn_input_grad(g3, x3, weight, mean, inv, xc, sg, sgxh)
        return _from_channels(gx, x.shape, last)

    def backward(self, gz: Variable) -> Any:
        x, g, w = self.saved_tensors
        needs = self.needs_input_grad
        axes, shape = _channel_axes(x)
        eps = self.eps
        gx = gg = gw = None
        if needs[0]:
            gzw = gz if w is None else gz * w.reshape(shape)
            gx = _standardize_grad_vjp_x(x, g, gzw, axes, eps)
        if needs[1]:
            gg = BatchNormGrad.apply(x, gz, w, eps=eps)
        if needs[2]:
            gw = (gz * StandardizeGrad.apply(x, g, axes=axes, eps=eps)).sum(axis=axes)
        return gx, gg, gw


class BatchNormParamGrad(Function):
    """``(2, C)``: ``[sum g xhat, sum g]`` per channel, BatchNorm's weight and bias gradients.

    ``stats`` and ``sums`` as in BatchNormGrad. With ``p`` the output's gradient::

        d g = xhat p[0] + p[1],      d x = StandardizeGrad(x, g p[0])
    """

    def forward(
        self, x: np.ndarray, g: np.ndarray, eps: float, stats: Any = None, sums: Any = None
    ) -> np.ndarray:
        last = batch_last(x, whole=True)
        g3 = None if sums is not None else _as_channels(g, last)
        _, (sg, sgxh) = _stats_and_sums(_as_channels(x, last), g3, eps, stats, sums)
        self.eps = eps
        self.save_for_backward(x, g)
        return np.stack([sgxh, sg])

    def backward(self, gp: Variable) -> Any:
        x, g = self.saved_tensors
        needs = self.needs_input_grad
        axes, shape = _channel_axes(x)
        pw, pb = gp[0].reshape(shape), gp[1].reshape(shape)
        gx = gg = None
        if needs[0]:
            gx = StandardizeGrad.apply(x, g * pw, axes=axes, eps=self.eps)
        if needs[1]:
            gg = Standardize.apply(x, axes=axes, eps=self.eps) * pw + pb
        return gx, gg


def _per_channel(v: Any, c: int, name: str) -> Any:
    """``v`` as a ``(C,)`` weight or bias (None stays None); another size is an error."""
    if v is None or tuple(v.shape) == (c,):
        return v
    if v.size != c:
        raise ValueError(f"batch_norm: {name} has shape {v.shape}, expected ({c},)")
    return v.reshape(c)


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
    if training or running_mean is None or running_var is None:
        n = x.size // c
        if n <= 1 and training:
            raise ValueError(
                f"expected more than 1 value per channel when training, got input of shape "
                f"{x.shape}"
            )
        y = BatchNorm.apply(
            x, _per_channel(weight, c, "weight"), _per_channel(bias, c, "bias"), eps=eps
        )
        if training and running_mean is not None and running_var is not None:
            node = y.grad_fn
            if node is not None:
                mean, var = node.mean, node.var
            else:  # no graph recorded: no node kept the statistics
                mean, var = _batch_stats(_as_channels(x.data, batch_last(x.data, whole=True)), eps)[
                    :2
                ]
            with no_grad():  # public in-place updates: each moves the version counter on
                rm, rv = running_mean, running_var
                rm.mul_(1 - momentum).add_((momentum * mean).astype(rm.dtype, copy=False))
                unbiased = momentum * var * (n / max(n - 1, 1))
                rv.mul_(1 - momentum).add_(unbiased.astype(rv.dtype, copy=False))
        return y
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
