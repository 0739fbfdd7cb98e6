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

Batch-last input (``(C, H, W, N)`` memory, as the stride-1 kernels of ``_toeplitz`` hand
it over) is read as ``X (G, C/G, Ho Wo N)`` instead, so that each group is *one* GEMM::

    Y[g] = W[g] @ X[g]        dX[g] = W[g]^T @ G[g]        dW[g] = G[g] @ X[g]^T

and ``y`` comes back in the same batch-last memory (``(O, Ho, Wo, N)``), as does ``dx`` for
a batch-last ``gy``. The weight gradient reads ``gy`` in the layout of the saved ``X``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from maligrad.nn.functional._im2col import Pair, Quad, pad_hw
from maligrad.nn.functional._layout import batch_last


def applies(w_shape: tuple[int, ...]) -> bool:
    """Whether the kernel is ``1 x 1`` (then dilation has no effect)."""
    return w_shape[2] == 1 and w_shape[3] == 1


def sample(x: np.ndarray, stride: Pair, padding: Quad, out: Pair, groups: int) -> np.ndarray:
    """The input pixels the kernel reads, contiguous: ``X (N, G, C/G, Ho Wo)``, or
    ``X (G, C/G, Ho Wo N)`` for batch-last ``x``."""
    n, c = x.shape[:2]
    sh, sw = stride
    xs = pad_hw(x, padding)[:, :, : sh * (out[0] - 1) + 1 : sh, : sw * (out[1] - 1) + 1 : sw]
    if batch_last(x):
        xs = np.ascontiguousarray(xs.transpose(1, 2, 3, 0))
        return xs.reshape(groups, c // groups, out[0] * out[1] * n)
    return np.ascontiguousarray(xs).reshape(n, groups, c // groups, out[0] * out[1])


def conv(xs: np.ndarray, w: np.ndarray, b: Any, out: Pair) -> np.ndarray:
    """``y (N, O, Ho, Wo) = W @ X (+ b)`` from the sampled pixels ``xs`` of ``sample``."""
    o = w.shape[0]
    if xs.ndim == 3:  # batch-last: one GEMM per group, y in (O, Ho, Wo, N) memory
        g = xs.shape[0]
        n = xs.shape[2] // (out[0] * out[1])
        y = np.matmul(w.reshape(g, o // g, -1), xs).reshape(o, out[0], out[1], n)
        if b is not None:
            y += b.reshape(o, 1, 1, 1)
        return y.transpose(3, 0, 1, 2)
    n, g = xs.shape[:2]
    y = np.matmul(w.reshape(g, o // g, -1), xs).reshape(n, o, out[0], out[1])
    if b is not None:
        y += b.reshape(1, o, 1, 1)
    return y


def _grad_frame(gy: np.ndarray, groups: int) -> np.ndarray:
    """``gy (N, O, Ho, Wo)`` as ``(G, O/G, Ho Wo N)`` (a view when in batch-last memory)."""
    o = gy.shape[1]
    return gy.transpose(1, 2, 3, 0).reshape(groups, o // groups, -1)


def input_grad(
    gy: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...], stride: Pair, padding: Quad,
    groups: int,
) -> np.ndarray:  # fmt: skip
    """``dx (x_shape)``: ``W^T @ G`` scattered back to the pixels the kernel read (in
    batch-last memory for a batch-last ``gy``)."""
    n, o, ho, wo = gy.shape
    c = w.shape[1] * groups
    wm = w.reshape(groups, o // groups, -1)
    h, wd = x_shape[2], x_shape[3]
    pt, pb, pl, pr = padding
    sh, sw = stride
    whole = stride == (1, 1) and (ho, wo) == (h + pt + pb, wd + pl + pr) and not any(padding)
    if batch_last(gy):
        dxs = np.matmul(wm.swapaxes(1, 2), _grad_frame(gy, groups)).reshape(c, ho, wo, n)
        if whole:
            return dxs.transpose(3, 0, 1, 2)
        canvas = np.zeros((c, h + pt + pb, wd + pl + pr, n), dtype=dxs.dtype)
        canvas[:, : sh * (ho - 1) + 1 : sh, : sw * (wo - 1) + 1 : sw] = dxs
        return canvas[:, pt : pt + h, pl : pl + wd].transpose(3, 0, 1, 2)
    dxs = np.matmul(wm.swapaxes(1, 2), gy.reshape(n, groups, o // groups, ho * wo))
    dxs = dxs.reshape(n, c, ho, wo)
    if whole:
        return dxs
    canvas = np.zeros((n, c, h + pt + pb, wd + pl + pr), dtype=dxs.dtype)
    canvas[:, :, : sh * (ho - 1) + 1 : sh, : sw * (wo - 1) + 1 : sw] = dxs
    return canvas[:, :, pt : pt + h, pl : pl + wd]


def weight_grad(xs: np.ndarray, gy: np.ndarray, w_shape: tuple[int, ...]) -> np.ndarray:
    """``dW = sum_n G[n] @ X[n]^T`` (``G @ X^T`` for batch-last ``xs``), of shape ``w_shape``."""
    if xs.ndim == 3:
        g = _grad_frame(gy, xs.shape[0])
        if xs.shape[0] == 1:  # a 2-D GEMM: stacked ones with a transposed operand can be
            return (g[0] @ xs[0].T).reshape(w_shape)  # 50x slower on threaded OpenBLAS
        return np.matmul(g, xs.swapaxes(1, 2)).reshape(w_shape)
    n, g = xs.shape[:2]
    o = gy.shape[1]
    rows = gy.reshape(n, g, o // g, -1)
    return np.matmul(rows, xs.swapaxes(2, 3)).sum(axis=0).reshape(w_shape)
