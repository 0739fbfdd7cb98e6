"""1x1 ("pointwise") convolution as a plain GEMM on a strided view: no im2col.

The fast path of ``conv2d`` for a ``1 x 1`` kernel (any stride, padding, groups; dilation
does not matter). Each output pixel reads one input pixel, so with ``xp`` the zero-padded
input and ``X = xp[:, :, ::s_h, ::s_w]`` (the sampled pixels, ``(N, C, Ho, Wo)``) viewed as
``(N, G, C/G, Ho Wo)`` and the weight as ``W (G, O/G, C/G)``::

    Y[n, g]  = W[g] @ X[n, g]                      (N G GEMMs in one np.matmul; Y is NCHW)
    dX[n, g] = W[g]^T @ G[n, g]                    dxp[:, :, ::s_h, ::s_w] = dX, 0 elsewhere
    dW[g]    = sum_n G[n, g] @ X[n, g]^T

with ``G`` the output gradient in the same layout. ``X`` is the only copy (none at all for
stride 1 without padding: it is a reshape of the input), and the output needs no
transposition, as the general path's ``(O, N Ho Wo)`` GEMM does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from maligrad.nn.functional._im2col import Pair, Quad, pad_hw


def applies(w_shape: tuple[int, ...]) -> bool:
    """Whether the kernel is ``1 x 1`` (then dilation has no effect)."""
    return w_shape[2] == 1 and w_shape[3] == 1


def sample(x: np.ndarray, stride: Pair, padding: Quad, out: Pair, groups: int) -> np.ndarray:
    """``X (N, G, C/G, Ho Wo)``: the input pixels the kernel reads, contiguous."""
    n, c = x.shape[:2]
    sh, sw = stride
    xs = pad_hw(x, padding)[:, :, : sh * (out[0] - 1) + 1 : sh, : sw * (out[1] - 1) + 1 : sw]
    return np.ascontiguousarray(xs).reshape(n, groups, c // groups, out[0] * out[1])


def conv(xs: np.ndarray, w: np.ndarray, b: Any, out: Pair) -> np.ndarray:
    """``y (N, O, Ho, Wo) = W @ X (+ b)`` from the sampled pixels ``xs`` of ``sample``."""
    n, g = xs.shape[:2]
    o = w.shape[0]
    y = np.matmul(w.reshape(g, o // g, -1), xs).reshape(n, o, out[0], out[1])
    if b is not None:
        y += b.reshape(1, o, 1, 1)
    return y


def input_grad(
    gy: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...], stride: Pair, padding: Quad,
    groups: int,
) -> np.ndarray:  # fmt: skip
    """``dx (x_shape)``: ``W^T @ G`` scattered back to the pixels the kernel read."""
    n, o, ho, wo = gy.shape
    c = w.shape[1] * groups
    wm = w.reshape(groups, o // groups, -1)
    dxs = np.matmul(wm.swapaxes(1, 2), gy.reshape(n, groups, o // groups, ho * wo))
    dxs = dxs.reshape(n, c, ho, wo)
    h, wd = x_shape[2], x_shape[3]
    pt, pb, pl, pr = padding
    if stride == (1, 1) and (ho, wo) == (h + pt + pb, wd + pl + pr) and not any(padding):
        return dxs
    sh, sw = stride
    canvas = np.zeros((n, c, h + pt + pb, wd + pl + pr), dtype=dxs.dtype)
    canvas[:, :, : sh * (ho - 1) + 1 : sh, : sw * (wo - 1) + 1 : sw] = dxs
    return canvas[:, :, pt : pt + h, pl : pl + wd]


def weight_grad(xs: np.ndarray, gy: np.ndarray, w_shape: tuple[int, ...]) -> np.ndarray:
    """``dW = sum_n G[n] @ X[n]^T``, of shape ``w_shape``."""
    n, g = xs.shape[:2]
    o = gy.shape[1]
    rows = gy.reshape(n, g, o // g, -1)
    return np.matmul(rows, xs.swapaxes(2, 3)).sum(axis=0).reshape(w_shape)
