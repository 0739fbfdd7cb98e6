"""Max and average pooling as fused Functions over strided window views.

For a window of ``kh x kw`` positions swept with stride ``s`` (dilation ``d``, zero or
``-inf`` padding ``p``) over ``x (N, C, H, W)``:

    max_pool2d:  y[n, c, i, j] = max_{p, q} x[n, c, s_h i + d_h p - pad, s_w j + d_w q - pad]
    avg_pool2d:  y[n, c, i, j] = (1 / K) sum_{p, q} x[n, c, s_h i + p - pad, s_w j + q - pad]

The forward pass makes one vectorised pass per kernel offset over strided views of ``x``
(a running max with its argmax, or a running sum); no window matrix is materialised. The
gradient of max pooling routes ``gy`` to the argmax of each window (one position even
when values tie, as PyTorch does: the first maximum in row-major order, or the first NaN
of a window holding NaN); that of average pooling spreads ``gy / K`` over the
window. Both backward passes are slice-adds over kernel offsets (plain assignments when
windows do not overlap). Max pooling whose windows tile the input (stride == kernel, no
padding or dilation) takes the faster kernels of ``_maxpool_tiles`` (elementwise maxima of
strided views and first-maximum masks reused by the gradient), which keep a batch-last input's
memory order (see ``_layout``) for the output and the input gradient. Global average pooling
(``adaptive_avg_pool2d(x, 1)``) is a mean over ``H, W`` whose gradient is made in ``x``'s memory
order too. Each gradient Function's own backward is the forward gather, so second derivatives
work.

    >>> import numpy as np, maligrad as mg
    >>> from maligrad.nn import functional as F
    >>> x = mg.Variable(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    >>> F.max_pool2d(x, 2).data
    array([[[[ 5.,  7.],
             [13., 15.]]]])
    >>> F.avg_pool2d(x, 2).data
    array([[[[ 2.5,  4.5],
             [10.5, 12.5]]]])
"""

from __future__ import annotations

from typing import Any

import numpy as np

import maligrad as mg
from maligrad.nn.functional import _maxpool_tiles
from maligrad.nn.functional._common import accepts_unbatched, as_variable
from maligrad.nn.functional._im2col import Pair, Quad, out_size, pad_hw, pair
from maligrad.nn.functional._layout import batch_last

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "max_pool1d",
    "max_pool2d",
]

#: Max pooling over windows that tile the input takes the kernels of ``_maxpool_tiles``
#: (tests switch this off to compare them with the general kernels below).
FAST = True

# Params: (kernel, stride, padding (t, b, l, r), dilation, out (Ho, Wo)).
Params = tuple[Pair, Pair, Quad, Pair, Pair]


def _offsets(params: Params) -> list[tuple[slice, slice]]:
    """One ``(rows, cols)`` slice of the padded input per kernel offset, row-major."""
    (kh, kw), (sh, sw), _, (dh, dw), (ho, wo) = params
    out = []
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
        for j in range(kw):
            out.append((rows, slice(j * dw, j * dw + sw * (wo - 1) + 1, sw)))
    return out


def _overlapping(params: Params) -> bool:
    (kh, kw), (sh, sw), _, (dh, dw), _ = params
    return sh < dh * (kh - 1) + 1 or sw < dw * (kw - 1) + 1


def _padded_shape(shape: tuple[int, ...], p: Quad) -> tuple[int, int, int, int]:
    n, c, h, w = shape
    return n, c, h + p[0] + p[1], w + p[2] + p[3]


def _crop(canvas: np.ndarray, shape: tuple[int, ...], p: Quad) -> np.ndarray:
    if not any(p):
        return canvas
    return canvas[:, :, p[0] : p[0] + shape[2], p[2] : p[2] + shape[3]]


# --- max pooling ------------------------------------------------------------------------


def _max_gather(xp: np.ndarray, idx: np.ndarray, params: Params) -> np.ndarray:
    """``out[n, c, i, j] = xp[window (i, j) at offset idx[n, c, i, j]]``."""
    out = None
    for k, (rows, cols) in enumerate(_offsets(params)):
        part = np.where(idx == k, xp[:, :, rows, cols], 0)
        out = part if out is None else np.add(out, part, out=out)
    assert out is not None  # a kernel has at least one offset
    return out.astype(xp.dtype, copy=False)


def _max_scatter(
    gy: np.ndarray, idx: np.ndarray, shape: tuple[int, ...], params: Params
) -> np.ndarray:
    """Adjoint of ``_max_gather``: ``gy`` put at each window's argmax."""
    p = params[2]
    canvas = np.zeros(_padded_shape(shape, p), dtype=gy.dtype)
    zero = gy.dtype.type(0)
    if _overlapping(params):
        for k, (rows, cols) in enumerate(_offsets(params)):
            canvas[:, :, rows, cols] += np.where(idx == k, gy, zero)
    else:
        for k, (rows, cols) in enumerate(_offsets(params)):
            canvas[:, :, rows, cols] = np.where(idx == k, gy, zero)
    return _crop(canvas, shape, p)


class MaxPool2d(mg.Function):
    """Max over each window; remembers the (first) argmax offset of every window."""

    def forward(self, x: np.ndarray, params: Params) -> np.ndarray:
        xp = pad_hw(x, params[2], -np.inf)
        slices = _offsets(params)
        rows, cols = slices[0]
        best = xp[:, :, rows, cols].copy()
        idx = np.zeros(best.shape, dtype=np.int8 if len(slices) < 128 else np.int32)
        for k in range(1, len(slices)):
            rows, cols = slices[k]
            cand = xp[:, :, rows, cols]
            better = cand > best
            np.copyto(idx, k, where=better)
            np.maximum(best, cand, out=best)
        if _maxpool_tiles.has_nan(best):  # a NaN window: its first NaN, as the tiled kernels
            _maxpool_tiles.first_nan(idx, best, [xp[:, :, r, c] for r, c in slices])
        self.idx, self.params, self.shape = idx, params, x.shape
        return best

    def backward(self, gy: Any) -> Any:
        return MaxPool2dScatter.apply(gy, idx=self.idx, shape=self.shape, params=self.params)


class MaxPool2dScatter(mg.Function):
    """Gradient of max pooling: ``gy`` routed to each window's argmax."""

    def forward(
        self, gy: np.ndarray, idx: np.ndarray, shape: tuple[int, ...], params: Params
    ) -> np.ndarray:
        self.idx, self.params = idx, params
        return _max_scatter(gy, idx, shape, params)

    def backward(self, ggx: Any) -> Any:
        return MaxPool2dGather.apply(ggx, idx=self.idx, params=self.params)


class MaxPool2dGather(mg.Function):
    """The entries of ``x`` at the remembered argmax positions (adjoint of the scatter)."""

    def forward(self, x: np.ndarray, idx: np.ndarray, params: Params) -> np.ndarray:
        self.idx, self.params, self.shape = idx, params, x.shape
        return _max_gather(pad_hw(x, params[2]), idx, params)

    def backward(self, gy: Any) -> Any:
        return MaxPool2dScatter.apply(gy, idx=self.idx, shape=self.shape, params=self.params)


# --- average pooling --------------------------------------------------------------------


def _window_sum(xp: np.ndarray, params: Params) -> np.ndarray:
    (kh, kw), (sh, sw), _, (dh, dw), (ho, wo) = params
    if (sh, sw) == (kh, kw) and (dh, dw) == (1, 1):
        n, c = xp.shape[:2]
        tiles = xp[:, :, : ho * kh, : wo * kw].reshape(n, c, ho, kh, wo, kw)
        return tiles.sum(axis=(3, 5))
    out = None
    for rows, cols in _offsets(params):
        part = xp[:, :, rows, cols]
        out = part.copy() if out is None else np.add(out, part, out=out)
    assert out is not None  # a kernel has at least one offset
    return out


def _window_spread(g: np.ndarray, shape: tuple[int, ...], params: Params) -> np.ndarray:
    """Adjoint of ``_window_sum``: each ``g[i, j]`` added to its whole window."""
    p = params[2]
    canvas = np.zeros(_padded_shape(shape, p), dtype=g.dtype)
    overlap = _overlapping(params)
    for rows, cols in _offsets(params):
        if overlap:
            canvas[:, :, rows, cols] += g
        else:
            canvas[:, :, rows, cols] = g
    return _crop(canvas, shape, p)


class AvgPool2d(mg.Function):
    """Window sums divided by ``divisor`` (a scalar, or per-window counts)."""

    def forward(self, x: np.ndarray, params: Params, divisor: Any) -> np.ndarray:
        self.params, self.divisor, self.shape = params, divisor, x.shape
        y = _window_sum(pad_hw(x, params[2]), params)
        y /= np.asarray(divisor, dtype=x.dtype)
        return y

    def backward(self, gy: Any) -> Any:
        return AvgPool2dSpread.apply(gy, shape=self.shape, params=self.params, divisor=self.divisor)


class AvgPool2dSpread(mg.Function):
    """Gradient of average pooling: ``gy / divisor`` spread over each window."""

    def forward(
        self, gy: np.ndarray, shape: tuple[int, ...], params: Params, divisor: Any
    ) -> np.ndarray:
        self.params, self.divisor = params, divisor
        return _window_spread(gy / np.asarray(divisor, dtype=gy.dtype), shape, params)

    def backward(self, ggx: Any) -> Any:
        return AvgPool2d.apply(ggx, params=self.params, divisor=self.divisor)


class GlobalAvgPool2d(mg.Function):
    """``y[n, c] = mean_{i, j} x[n, c, i, j]`` as ``(N, C, 1, 1)``: global average pooling.

    Its gradient (``GlobalAvgPool2dSpread``) is ``gy / (H W)`` spread over the image, made in
    ``x``'s memory order: after batch-last convolutions (see ``_layout``) it meets ReLU masks
    and batch-norm inputs in that order, and an elementwise product of the two orders reads
    one of them with a stride of ``C H W`` floats (resnet-small's last ReLU: 1.8 against
    0.24 ms for its backward).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape, self.last = x.shape, batch_last(x, whole=True)
        return x.mean(axis=(2, 3), keepdims=True)

    def backward(self, gy: Any) -> Any:
        return GlobalAvgPool2dSpread.apply(gy, shape=self.shape, last=self.last)


class GlobalAvgPool2dSpread(mg.Function):
    """``gx[n, c, i, j] = gy[n, c] / (H W)`` for ``gy (N, C, 1, 1)``, as a new ``(N, C, H, W)``
    array, batch-last (``(C, H, W, N)`` memory) when ``last``; its gradient is the mean."""

    def forward(self, gy: np.ndarray, shape: tuple[int, ...], last: bool) -> np.ndarray:
        n, c, h, w = shape
        if last:
            out = np.empty((c, h, w, n), dtype=gy.dtype).transpose(3, 0, 1, 2)
        else:
            out = np.empty(shape, dtype=gy.dtype)
        count = np.asarray(h * w, dtype=np.result_type(gy.dtype, np.float32))  # (no f16 inf)
        out[...] = gy / count  # (N, C, 1, 1) values, broadcast
        return out

    def backward(self, ggx: Any) -> Any:
        return GlobalAvgPool2d.apply(ggx)


# --- public functions -------------------------------------------------------------------


def _params(
    name: str, shape: tuple[int, ...], kernel_size: Any, stride: Any, padding: Any,
    dilation: Any, ceil_mode: bool,
) -> Params:  # fmt: skip
    if len(shape) != 4:
        raise ValueError(
            f"{name}: expected a 4-D input (N, C, H, W) or a 3-D one (C, H, W), got shape {shape}"
        )
    k = pair(kernel_size, f"{name}: kernel_size", 1)
    s = k if stride is None or stride == () else pair(stride, f"{name}: stride", 1)
    ph, pw = pair(padding, f"{name}: padding", 0)
    d = pair(dilation, f"{name}: dilation", 1)
    if ph > k[0] // 2 or pw > k[1] // 2 or min(ph, pw) < 0:
        raise ValueError(
            f"{name}: padding {(ph, pw)} must be non-negative and at most half the kernel {k}"
        )
    ho = out_size(shape[2], k[0], s[0], d[0], ph, ph)
    wo = out_size(shape[3], k[1], s[1], d[1], pw, pw)
    if ho < 1 or wo < 1:
        raise ValueError(
            f"{name}: input of shape {shape} is smaller than the window {k} (padding "
            f"{(ph, pw)}, dilation {d})"
        )
    extra_h = extra_w = 0
    if ceil_mode:
        ho, extra_h = _ceil_extra(shape[2], k[0], s[0], d[0], ph)
        wo, extra_w = _ceil_extra(shape[3], k[1], s[1], d[1], pw)
    return k, s, (ph, ph + extra_h, pw, pw + extra_w), d, (ho, wo)


def _ceil_extra(size: int, k: int, s: int, d: int, p: int) -> tuple[int, int]:
    """``ceil_mode``: the output length rounded up, and the extra padding at the end it needs.

    As in PyTorch, a last window must start inside the input or its left padding.
    """
    span = d * (k - 1) + 1
    n = -(-(size + 2 * p - span) // s) + 1
    if (n - 1) * s >= size + p:
        n -= 1
    return n, max(0, (n - 1) * s + span - (size + 2 * p))


@accepts_unbatched(4)
def max_pool2d(
    input: Any,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    ceil_mode: bool = False,
) -> mg.Variable:
    """Max over ``kernel_size`` windows of ``input (N, C, H, W)``; ``stride`` defaults to the
    kernel. Padding (at most half the kernel) is ``-inf``.

        >>> import numpy as np, maligrad as mg
        >>> from maligrad.nn.functional import max_pool2d
        >>> max_pool2d(mg.Variable(np.arange(9.0).reshape(1, 1, 3, 3)), 2, stride=1).data
        array([[[[4., 5.],
                 [7., 8.]]]])
    """
    x = as_variable(input)
    params = _params("max_pool2d", x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    if FAST and _maxpool_tiles.applies(params):
        return _maxpool_tiles.MaxPoolTiles.apply(x, params=params)
    return MaxPool2d.apply(x, params=params)


@accepts_unbatched(4)
def avg_pool2d(
    input: Any,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> mg.Variable:
    """Mean over ``kernel_size`` windows of ``input (N, C, H, W)`` (zero padding counted in
    the mean unless ``count_include_pad=False``).

        >>> import numpy as np, maligrad as mg
        >>> from maligrad.nn.functional import avg_pool2d
        >>> avg_pool2d(mg.Variable(np.ones((1, 1, 2, 2))), 2, padding=1).data
        array([[[[0.25, 0.25],
                 [0.25, 0.25]]]])
    """
    x = as_variable(input)
    params = _params("avg_pool2d", x.shape, kernel_size, stride, padding, 1, ceil_mode)
    k, p = params[0], params[2]
    pt, pb, pl, pr = p
    divisor: Any = float(k[0] * k[1])
    if pb != pt or pr != pl:  # ceil_mode's extra border never counts, as in PyTorch
        h, w = x.shape[2], x.shape[3]
        if count_include_pad:
            counted = np.ones((1, 1, h + 2 * pt, w + 2 * pl), dtype=x.dtype)
            divisor = _window_sum(pad_hw(counted, (0, pb - pt, 0, pr - pl)), params)
        else:
            divisor = _window_sum(pad_hw(np.ones((1, 1, h, w), dtype=x.dtype), p), params)
    elif not count_include_pad and any(p):
        ones = pad_hw(np.ones((1, 1) + x.shape[2:], dtype=x.dtype), p)
        divisor = _window_sum(ones, params)
    return AvgPool2d.apply(x, params=params, divisor=divisor)


def _to2d(x: Any, name: str) -> Any:
    x = as_variable(x)
    if x.ndim != 3:
        raise ValueError(f"{name}: expected a 3-D input (N, C, L), got shape {x.shape}")
    return x.reshape(x.shape[0], x.shape[1], 1, x.shape[2])


def _from2d(y: Any) -> Any:
    return y.reshape(y.shape[0], y.shape[1], y.shape[3])


def _one(v: Any, name: str) -> int:
    if isinstance(v, (tuple, list)):
        if len(v) != 1:
            raise ValueError(f"{name} must be an int or a 1-tuple, got {v!r}")
        v = v[0]
    return int(v)


@accepts_unbatched(3)
def max_pool1d(
    input: Any,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> mg.Variable:
    """Max over windows of ``input (N, C, L)``: [`max_pool2d`][maligrad.nn.functional.max_pool2d] on
    a height-1 image."""
    k = _one(kernel_size, "kernel_size")
    s = k if stride is None else _one(stride, "stride")
    y = max_pool2d(
        _to2d(input, "max_pool1d"), (1, k), (1, s), (0, _one(padding, "padding")),
        (1, _one(dilation, "dilation")), ceil_mode,
    )  # fmt: skip
    return _from2d(y)


@accepts_unbatched(3)
def avg_pool1d(
    input: Any,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> mg.Variable:
    """Mean over windows of ``input (N, C, L)``: [`avg_pool2d`][maligrad.nn.functional.avg_pool2d]
    on a height-1 image."""
    k = _one(kernel_size, "kernel_size")
    s = k if stride is None else _one(stride, "stride")
    y = avg_pool2d(
        _to2d(input, "avg_pool1d"), (1, k), (1, s), (0, _one(padding, "padding")),
        ceil_mode, count_include_pad,
    )  # fmt: skip
    return _from2d(y)


def _adaptive_matrix(size: int, out: int, dtype: Any) -> np.ndarray:
    """``(out, size)`` averaging matrix over PyTorch's adaptive bins
    ``[floor(i size / out), ceil((i + 1) size / out))``."""
    m = np.zeros((out, size), dtype=dtype)
    for i in range(out):
        start = (i * size) // out
        end = -((-(i + 1) * size) // out)
        m[i, start:end] = 1.0 / (end - start)
    return m


@accepts_unbatched(4)
def adaptive_avg_pool2d(
    input: Any,
    output_size: int | tuple[int | None, int | None],
) -> mg.Variable:
    """Average pooling to a fixed ``output_size (Ho, Wo)`` whatever the input's ``H, W``.

    Bin ``i`` covers rows ``floor(i H / Ho)`` to ``ceil((i + 1) H / Ho)`` (PyTorch's rule);
    ``None`` keeps that dimension. Output ``(1, 1)`` is the mean over ``H, W``; when the
    sizes divide, this is [`avg_pool2d`][maligrad.nn.functional.avg_pool2d];
    otherwise two matmuls with constant averaging matrices, ``A_h x A_w^T``.

        >>> import numpy as np, maligrad as mg
        >>> from maligrad.nn.functional import adaptive_avg_pool2d
        >>> adaptive_avg_pool2d(mg.Variable(np.arange(6.0).reshape(1, 1, 2, 3)), 1).data
        array([[[[2.5]]]])
    """
    x = as_variable(input)
    if x.ndim != 4:
        raise ValueError(f"adaptive_avg_pool2d: expected (N, C, H, W), got shape {x.shape}")
    if isinstance(output_size, (int, np.integer)):
        output_size = (int(output_size), int(output_size))
    h, w = x.shape[2], x.shape[3]
    oh = h if output_size[0] is None else int(output_size[0])
    ow = w if output_size[1] is None else int(output_size[1])
    if oh < 1 or ow < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be positive, got {output_size}")
    if (oh, ow) == (1, 1):  # global average pooling: one mean, its gradient one broadcast
        if x.dtype.kind == "f":
            return GlobalAvgPool2d.apply(x)
        return x.mean(axis=(2, 3), keepdims=True)  # (integers: the default float dtype)
    if h % oh == 0 and w % ow == 0:
        k = (h // oh, w // ow)
        return AvgPool2d.apply(
            x, params=(k, k, (0, 0, 0, 0), (1, 1), (oh, ow)), divisor=float(k[0] * k[1])
        )
    y = mg.matmul(_adaptive_matrix(h, oh, x.dtype), x)
    return mg.matmul(y, _adaptive_matrix(w, ow, x.dtype).T)


@accepts_unbatched(3)
def adaptive_avg_pool1d(input: Any, output_size: int) -> mg.Variable:
    """Average pooling of ``input (N, C, L)`` to length ``output_size``."""
    return _from2d(adaptive_avg_pool2d(_to2d(input, "adaptive_avg_pool1d"), (1, output_size)))
