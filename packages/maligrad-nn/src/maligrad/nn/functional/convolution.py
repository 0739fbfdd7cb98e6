"""Convolutions as fused Functions over im2col windows and BLAS matmuls.

For an input ``x`` of shape ``(N, C, H, W)`` and a weight ``w`` of shape
``(O, C / groups, kh, kw)``, ``conv2d`` computes the cross-correlation

    y[n, o, i, j] = b[o] + sum_{c, p, q} w[o, c, p, q] x[n, g(o) C/groups + c,
                                                       s_h i + d_h p - pad_t,
                                                       s_w j + d_w q - pad_l]

by building the window matrix ``cols`` (im2col, a strided view copied once) and one batched
matmul ``w @ cols``. Faster routes compute the same maths: 1x1 kernels are one GEMM on the
sampled pixels, no im2col (``_pointwise``); stride-1, undilated, ungrouped convolutions (the
common case) one GEMM with a banded weight matrix, the bias fused as a column of ones
(``_toeplitz``), or, for short patches of small kernels, GEMMs over blocks of kernel rows
of one rows-first padded copy of the input, with an output plane per kernel column
(``_rowstack``, whose input gradient, the same construction on ``gy``, serves the banded
GEMM's layers too where ``gy`` is batch-last or a batch of one and ``C kw >= 8``); strided
ones build ``cols`` from the input's stride phases, so that its copies and its adjoint's
adds move long contiguous runs (``_im2col.phase_*``).

Memory order (``_layout``): the fast kernels return their results as ``(N, O, Ho, Wo)``
views of batch-last ``(O, Ho, Wo, N)`` memory, the order their GEMMs produce, where the
next layer reads it with no transpose. The stride-1 kernels always do; the 1x1 and strided
ones do for a batch-last input (and their input gradient for a batch-last ``gy``), NCHW
otherwise. Values never depend on the memory order; ``y.data`` is then not C-contiguous
(``np.ascontiguousarray`` gives an NCHW copy). Three Functions, each the adjoint of the
others, make up the family:

    Conv2d(x, w)              y  = w @ im2col(x)
    Conv2dInputGrad(gy, w)    gx = col2im(w^T @ gy)          (the transposed convolution)
    Conv2dWeightGrad(x, gy)   gw = sum_n gy @ im2col(x)^T

Each is bilinear, so each one's backward is written with the other two: gradients of any
order (``create_graph=True``, ``gradgradcheck``) work for ``conv2d``,
``conv_transpose2d`` and ``conv1d``.

    >>> import numpy as np
    >>> import maligrad as mg
    >>> from maligrad.nn import functional as F
    >>> x = mg.Variable(np.ones((1, 1, 4, 4), dtype=np.float32))
    >>> w = mg.Variable(np.ones((2, 1, 3, 3), dtype=np.float32), requires_grad=True)
    >>> y = F.conv2d(x, w, padding=1)
    >>> y.shape
    (1, 2, 4, 4)
    >>> y.data[0, 0]
    array([[4., 6., 6., 4.],
           [6., 9., 9., 6.],
           [6., 9., 9., 6.],
           [4., 6., 6., 4.]], dtype=float32)
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

import maligrad as mg
from maligrad.nn.functional import _pointwise, _rowstack, _toeplitz
from maligrad.nn.functional._common import accepts_unbatched, as_variable
from maligrad.nn.functional._im2col import (
    Pair,
    Quad,
    col2im,
    ints,
    out_size,
    pad_hw,
    pair,
    phase_conv,
    phase_grad_rows,
    phase_input_grad,
    phase_patches,
    phase_plan,
    phase_weight_grad,
    windows,
)
from maligrad.nn.functional._layout import batch_last

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]


# --- numpy kernels ----------------------------------------------------------------------

#: Use the fast kernels (``_pointwise``, ``_rowstack``, ``_toeplitz``, ``_im2col.phase_*``)
#: where they apply (tests switch it off to compare them with the general im2col kernels below).
FAST = True


def _fast(stride: Pair, dilation: Pair, groups: int) -> bool:
    return FAST and _toeplitz.applies(stride, dilation, groups)


def _pointwise_path(w_shape: tuple[int, ...]) -> bool:
    """1x1 kernels (any stride, padding, groups): a GEMM on the sampled pixels."""
    return FAST and _pointwise.applies(w_shape)


def _rowstack_path(
    x_shape: tuple[int, ...], w_shape: tuple[int, ...], stride: Pair, padding: Quad,
    dilation: Pair, groups: int,
) -> bool:  # fmt: skip
    """Stride-1 layers with short patches of small kernels: the row-stacked GEMM."""
    return FAST and _rowstack.applies(x_shape, w_shape, stride, padding, dilation, groups)


def _kernel(pl: Any) -> ModuleType:
    """The stride-1 kernel (``_rowstack`` or ``_toeplitz``) whose ``plan`` made ``pl``."""
    return _rowstack if isinstance(pl, _rowstack.Plan) else _toeplitz


def _phase_path(stride: Pair, dilation: Pair, groups: int) -> bool:
    """Strided convolutions: im2col from the input's stride phases. (Stride-1 dilated or
    grouped ones read contiguous runs already; there the general im2col is as fast.)"""
    return FAST and stride != (1, 1)


def _im2col(x: np.ndarray, k: Pair, s: Pair, p: Quad, d: Pair, groups: int) -> np.ndarray:
    """``(G, C/G kh kw, N Ho Wo)`` contiguous window matrix of ``x`` (NCHW).

    The batch sits in the GEMM's long dimension, so each group's convolution is one large
    GEMM (BLAS threads it well), not ``N`` small per-sample ones.
    """
    n, c, h, w = x.shape
    ho = out_size(h, k[0], s[0], d[0], p[0], p[1])
    wo = out_size(w, k[1], s[1], d[1], p[2], p[3])
    view = windows(pad_hw(x, p), k, s, d, (ho, wo)).transpose(1, 2, 3, 0, 4, 5)
    cols = np.ascontiguousarray(view)  # (C, kh, kw, N, Ho, Wo): the one im2col copy
    return cols.reshape(groups, (c // groups) * k[0] * k[1], n * ho * wo)


def _rows(a: np.ndarray, groups: int) -> np.ndarray:
    """``(N, O, Ho, Wo)`` -> ``(G, O/G, N Ho Wo)``, the output layout of the GEMMs."""
    o = a.shape[1]
    return np.ascontiguousarray(a.transpose(1, 0, 2, 3)).reshape(groups, o // groups, -1)


def _unrows(y: np.ndarray, n: int, ho: int, wo: int) -> np.ndarray:
    """Inverse of :func:`_rows`: ``(G, O/G, N Ho Wo)`` -> contiguous ``(N, O, Ho, Wo)``."""
    o = y.shape[0] * y.shape[1]
    return np.ascontiguousarray(y.reshape(o, n, ho, wo).transpose(1, 0, 2, 3))


def _conv_out(x_shape: tuple[int, ...], k: Pair, s: Pair, p: Quad, d: Pair) -> Pair:
    return (
        out_size(x_shape[2], k[0], s[0], d[0], p[0], p[1]),
        out_size(x_shape[3], k[1], s[1], d[1], p[2], p[3]),
    )


def _input_grad(
    gy: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...], s: Pair, p: Quad, d: Pair, g: int
) -> np.ndarray:
    n, o, ho, wo = gy.shape
    _, cg, kh, kw = w.shape
    wm = w.reshape(g, o // g, cg * kh * kw)
    gcols = np.matmul(wm.swapaxes(1, 2), _rows(gy, g))  # (G, C/G kh kw, N Ho Wo)
    gcols = gcols.reshape(g * cg, kh, kw, n, ho, wo).transpose(3, 0, 1, 2, 4, 5)
    h, wd = x_shape[2], x_shape[3]
    canvas = col2im(gcols, (n, g * cg, h + p[0] + p[1], wd + p[2] + p[3]), s, d)
    return canvas[:, :, p[0] : p[0] + h, p[2] : p[2] + wd]


def _weight_grad(cols: np.ndarray, gy: np.ndarray, w_shape: tuple[int, ...]) -> np.ndarray:
    g = cols.shape[0]
    return np.matmul(_rows(gy, g), cols.swapaxes(1, 2)).reshape(w_shape)


# --- the three Functions ----------------------------------------------------------------


class Conv2d(mg.Function):
    """``y = conv2d(x, w) + b`` (bias fused; ``b`` may be None). ``weight_only``: the input
    will need no gradient (a first layer), which the fast path's layout may use."""

    def forward(
        self, x: np.ndarray, w: np.ndarray, b: Any, stride: Pair, padding: Quad,
        dilation: Pair, groups: int, weight_only: bool = False,
    ) -> np.ndarray:  # fmt: skip
        self.plan: _toeplitz.Plan | _rowstack.Plan | None = None
        self.phase = None
        self.params = (stride, padding, dilation, groups)
        self.save_for_backward(x, w)
        if _pointwise_path(w.shape):
            out = _conv_out(x.shape, (1, 1), stride, padding, dilation)
            self.cols = _pointwise.sample(x, stride, padding, out, groups)
            return _pointwise.conv(self.cols, w, b, out)
        if _rowstack_path(x.shape, w.shape, stride, padding, dilation, groups):
            self.plan = rpl = _rowstack.plan(x.shape, w.shape, padding)
            self.cols = _rowstack.padded(x, rpl)
            return _rowstack.conv(self.cols, w, b, rpl)
        if _fast(stride, dilation, groups):
            self.plan = pl = _toeplitz.plan(x.shape, w.shape, padding, weight_only)
            self.cols = _toeplitz.patches(x, pl)
            return _toeplitz.conv(self.cols, w, b, pl)
        if _phase_path(stride, dilation, groups):
            self.phase = ph = phase_plan(
                x.shape, w.shape, stride, padding, dilation, groups, batch_last(x)
            )
            self.cols = phase_patches(x, ph)
            return phase_conv(self.cols, w, b, ph)
        n = x.shape[0]
        o, _, kh, kw = w.shape
        ho, wo = _conv_out(x.shape, (kh, kw), stride, padding, dilation)
        cols = _im2col(x, (kh, kw), stride, padding, dilation, groups)
        y = _unrows(np.matmul(w.reshape(groups, o // groups, -1), cols), n, ho, wo)
        if b is not None:
            y += b.reshape(1, o, 1, 1)
        self.cols = cols
        return y

    def backward(self, gy: Any) -> Any:
        x, w = self.saved_tensors
        stride, padding, dilation, groups = self.params
        needs = self.needs_input_grad
        pl = self.plan
        # The output gradient in the fast kernels' GEMM layout, for the weight gradient and
        # shared with the banded GEMM's input gradient (which makes it itself otherwise).
        rows = None
        if pl is not None and needs[1]:
            rows = _kernel(pl).grad_rows(gy.data if isinstance(gy, mg.Variable) else gy, pl)
        elif self.phase is not None and batch_last(gy.data) == self.phase.last:
            # (the input gradient comes in gy's memory order: share rows when that is x's)
            rows = phase_grad_rows(gy.data, self.phase)
        gx = gw = gb = None
        if needs[0]:
            gx = Conv2dInputGrad.apply(
                gy, w, x_shape=x.shape, stride=stride, padding=padding,
                dilation=dilation, groups=groups, rows=rows, plan=pl,
            )  # fmt: skip
        bias = len(needs) > 2 and needs[2]
        if needs[1] and bias and pl is not None and not mg.is_grad_enabled():
            # A plain backward (nothing recorded): the bias gradient is the weight-gradient
            # GEMM's row of the patches' ones, no second pass over gy.
            dw, db = _kernel(pl).weight_grad(self.cols, rows, w.shape, pl)
            return gx, mg.Variable(dw), mg.Variable(db)
        if needs[1]:
            gw = Conv2dWeightGrad.apply(
                x, gy, w_shape=w.shape, stride=stride, padding=padding,
                dilation=dilation, groups=groups, cols=self.cols, rows=rows, plan=pl,
            )  # fmt: skip
        if bias:
            gb = gy.sum(axis=(0, 2, 3))
        return gx, gw, gb


class Conv2dInputGrad(mg.Function):
    """``gx = conv2d``'s input gradient: the transposed convolution of ``gy`` by ``w``."""

    def forward(
        self, gy: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...], stride: Pair,
        padding: Quad, dilation: Pair, groups: int, rows: np.ndarray | None = None,
        plan: _toeplitz.Plan | _rowstack.Plan | None = None,
    ) -> np.ndarray:  # fmt: skip
        """``rows``: ``gy`` in the forward's GEMM layout, when at hand, with the fast path's
        ``plan`` it was made with."""
        self.params = (stride, padding, dilation, groups)
        self.save_for_backward(gy, w)
        if _pointwise_path(w.shape):
            return _pointwise.input_grad(gy, w, x_shape, stride, padding, groups)
        if _fast(stride, dilation, groups):
            if isinstance(plan, _rowstack.Plan) or _rowstack.takes_input_grad(gy, w.shape):
                return _rowstack.input_grad(gy, w, x_shape, padding)
            return _toeplitz.input_grad(gy, w, x_shape, padding, rows, plan)
        if _phase_path(stride, dilation, groups):
            ph = phase_plan(x_shape, w.shape, stride, padding, dilation, groups, batch_last(gy))
            return phase_input_grad(phase_grad_rows(gy, ph) if rows is None else rows, w, ph)
        return _input_grad(gy, w, x_shape, stride, padding, dilation, groups)

    def backward(self, ggx: Any) -> Any:
        gy, w = self.saved_tensors
        stride, padding, dilation, groups = self.params
        needs = self.needs_input_grad
        g_gy = g_w = None
        if needs[0]:
            g_gy = Conv2d.apply(
                ggx, w, None, stride=stride, padding=padding, dilation=dilation, groups=groups
            )
        if needs[1]:
            g_w = Conv2dWeightGrad.apply(
                ggx, gy, w_shape=w.shape, stride=stride, padding=padding,
                dilation=dilation, groups=groups,
            )  # fmt: skip
        return g_gy, g_w


class Conv2dWeightGrad(mg.Function):
    """``gw = conv2d``'s weight gradient: ``sum_n gy[n] @ im2col(x[n])^T``."""

    def forward(
        self, x: np.ndarray, gy: np.ndarray, w_shape: tuple[int, ...], stride: Pair,
        padding: Quad, dilation: Pair, groups: int, cols: np.ndarray | None = None,
        rows: np.ndarray | None = None, plan: _toeplitz.Plan | _rowstack.Plan | None = None,
    ) -> np.ndarray:  # fmt: skip
        """``cols`` and ``rows``: the forward's patches and ``gy`` in its GEMM layout, when
        at hand, with the fast path's ``plan`` they were made with."""
        self.params = (stride, padding, dilation, groups)
        self.save_for_backward(x, gy)
        if _pointwise_path(w_shape):
            if cols is None:
                cols = _pointwise.sample(x, stride, padding, gy.shape[2:], groups)
            return _pointwise.weight_grad(cols, gy, w_shape)
        if isinstance(plan, _rowstack.Plan):
            cols = _rowstack.padded(x, plan) if cols is None else cols
            rows = _rowstack.grad_rows(gy, plan) if rows is None else rows
            return _rowstack.weight_grad(cols, rows, w_shape, plan, bias=False)[0]
        if _fast(stride, dilation, groups):
            pl = _toeplitz.plan(x.shape, w_shape, padding) if plan is None else plan
            cols = _toeplitz.patches(x, pl) if cols is None else cols
            rows = _toeplitz.grad_rows(gy, pl) if rows is None else rows
            return _toeplitz.weight_grad(cols, rows, w_shape, pl)[0]
        if _phase_path(stride, dilation, groups):
            ph = phase_plan(x.shape, w_shape, stride, padding, dilation, groups, batch_last(x))
            cols = phase_patches(x, ph) if cols is None else cols
            rows = phase_grad_rows(gy, ph) if rows is None else rows
            return phase_weight_grad(cols, rows, w_shape)
        if cols is None:
            cols = _im2col(x, (w_shape[2], w_shape[3]), stride, padding, dilation, groups)
        return _weight_grad(cols, gy, w_shape)

    def backward(self, ggw: Any) -> Any:
        x, gy = self.saved_tensors
        stride, padding, dilation, groups = self.params
        needs = self.needs_input_grad
        g_x = g_gy = None
        if needs[0]:
            g_x = Conv2dInputGrad.apply(
                gy, ggw, x_shape=x.shape, stride=stride, padding=padding,
                dilation=dilation, groups=groups,
            )  # fmt: skip
        if needs[1]:
            g_gy = Conv2d.apply(
                x, ggw, None, stride=stride, padding=padding, dilation=dilation, groups=groups
            )
        return g_x, g_gy


# --- argument checking ------------------------------------------------------------------


def _same_padding(k: Pair, d: Pair) -> Quad:
    """PyTorch's ``'same'``: total ``d (k - 1)``, the odd element at the bottom/right."""
    th, tw = d[0] * (k[0] - 1), d[1] * (k[1] - 1)
    return th // 2, th - th // 2, tw // 2, tw - tw // 2


def _padding(padding: Any, k: Pair, s: Pair, d: Pair) -> Quad:
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        if padding == "same":
            if s != (1, 1):
                raise ValueError("padding='same' is not supported for strided convolutions")
            return _same_padding(k, d)
        raise ValueError(f"padding must be 'valid', 'same', an int or a pair, got {padding!r}")
    ph, pw = pair(padding, "conv2d: padding", 0)
    return ph, ph, pw, pw


def _check_conv(x: Any, w: Any, b: Any, groups: int, name: str, transposed: bool) -> None:
    for arg, v in (("input", x), ("weight", w), ("bias", b)):
        if v is not None and v.dtype.kind not in "iufc":
            raise TypeError(
                f"{name}: {arg} must hold numbers (float, int or complex), got dtype {v.dtype}"
            )
    ints(groups, 1, f"{name}: groups", 1)
    if x.ndim != 4:
        raise ValueError(
            f"{name}: expected a 4-D input (N, C, H, W) or a 3-D one (C, H, W), got shape {x.shape}"
        )
    if w.ndim != 4:
        raise ValueError(f"{name}: expected a 4-D weight, got shape {w.shape}")
    if groups < 1:
        raise ValueError(f"{name}: groups must be positive, got {groups}")
    c = x.shape[1]
    if transposed:
        ok = w.shape[0] == c and c % groups == 0
        want = f"weight of shape ({c}, out_channels / groups, kh, kw)"
        o = w.shape[1] * groups
    else:
        ok = w.shape[1] * groups == c and w.shape[0] % groups == 0
        want = f"weight of shape (out_channels, {c} / groups={groups}, kh, kw)"
        o = w.shape[0]
    if not ok:
        raise ValueError(
            f"{name}: input of shape {x.shape} (C={c}) and weight of shape {w.shape} do not "
            f"match with groups={groups}; expected a {want}"
        )
    if b is not None and tuple(b.shape) != (o,):
        raise ValueError(f"{name}: bias must have shape ({o},), got {b.shape}")


# --- public functions -------------------------------------------------------------------


@accepts_unbatched(4)
def conv2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] | str = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> mg.Variable:
    """2-D cross-correlation of ``input (N, C, H, W)`` with ``weight (O, C/groups, kh, kw)``.

    Output ``(N, O, Ho, Wo)`` with ``Ho = floor((H + 2 p - d (kh - 1) - 1) / s) + 1``.
    ``padding`` is an int, a pair, ``'valid'`` or ``'same'`` (stride 1; an odd total
    padding puts the extra row/column at the bottom/right, as PyTorch does).

        >>> import numpy as np, maligrad as mg
        >>> from maligrad.nn.functional import conv2d
        >>> conv2d(mg.Variable(np.ones((1, 2, 5, 5))), mg.Variable(np.ones((3, 2, 3, 3))),
        ...        stride=2).shape
        (1, 3, 2, 2)
    """
    x, w = as_variable(input, "input"), as_variable(weight, "weight")
    b = None if bias is None else as_variable(bias, "bias")
    _check_conv(x, w, b, groups, "conv2d", transposed=False)
    k = (w.shape[2], w.shape[3])
    if min(k) < 1:
        raise ValueError(f"conv2d: the kernel size {k} (weight shape {w.shape}) must be positive")
    s, d = pair(stride, "conv2d: stride", 1), pair(dilation, "conv2d: dilation", 1)
    p = _padding(padding, k, s, d)
    ho, wo = _conv_out(x.shape, k, s, p, d)
    if ho < 1 or wo < 1:
        raise ValueError(
            f"conv2d: input of shape {x.shape} (padded by {p}) is smaller than the "
            f"kernel {k} with dilation {d}"
        )
    # A first layer (a weight gradient to come, no input gradient) may take another layout.
    weight_only = not x.requires_grad and w.requires_grad and mg.is_grad_enabled()
    return Conv2d.apply(
        x, w, b, stride=s, padding=p, dilation=d, groups=groups, weight_only=weight_only
    )


@accepts_unbatched(3)
def conv1d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: int = 1,
    padding: int | str = 0,
    dilation: int = 1,
    groups: int = 1,
) -> mg.Variable:
    """1-D cross-correlation of ``input (N, C, L)`` with ``weight (O, C/groups, k)``.

    Computed as [`conv2d`][maligrad.nn.functional.conv2d] on a height-1 image.

        >>> import numpy as np, maligrad as mg
        >>> from maligrad.nn.functional import conv1d
        >>> conv1d(mg.Variable(np.arange(5.0).reshape(1, 1, 5)),
        ...        mg.Variable(np.ones((1, 1, 2)))).data
        array([[[1., 3., 5., 7.]]])
    """
    x, w = as_variable(input, "input"), as_variable(weight, "weight")
    if x.ndim != 3 or w.ndim != 3:
        raise ValueError(
            f"conv1d: expected input (N, C, L) and weight (O, C/groups, k), got shapes "
            f"{x.shape} and {w.shape}"
        )
    pad = padding if isinstance(padding, str) else (0, padding)
    y = conv2d(
        x.reshape(x.shape[0], x.shape[1], 1, x.shape[2]),
        w.reshape(w.shape[0], w.shape[1], 1, w.shape[2]),
        bias, (1, stride), pad, (1, dilation), groups,
    )  # fmt: skip
    return y.reshape(y.shape[0], y.shape[1], y.shape[3])


@accepts_unbatched(4)
def conv_transpose2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    output_padding: int | tuple[int, int] = 0,
    groups: int = 1,
    dilation: int | tuple[int, int] = 1,
) -> mg.Variable:
    """Transposed 2-D convolution (the adjoint of [`conv2d`][maligrad.nn.functional.conv2d];
    "deconvolution").

    ``input (N, C, H, W)``, ``weight (C, O/groups, kh, kw)``; output ``(N, O, Ho, Wo)`` with
    ``Ho = (H - 1) s - 2 p + d (kh - 1) + output_padding + 1``. Computed as ``col2im`` of
    ``w^T @ x``, i.e. exactly the input gradient of the matching ``conv2d``.

        >>> import numpy as np, maligrad as mg
        >>> from maligrad.nn.functional import conv_transpose2d
        >>> conv_transpose2d(mg.Variable(np.ones((1, 1, 2, 2))),
        ...                  mg.Variable(np.ones((1, 1, 2, 2))), stride=2).data[0, 0]
        array([[1., 1., 1., 1.],
               [1., 1., 1., 1.],
               [1., 1., 1., 1.],
               [1., 1., 1., 1.]])
    """
    x, w = as_variable(input, "input"), as_variable(weight, "weight")
    b = None if bias is None else as_variable(bias, "bias")
    _check_conv(x, w, b, groups, "conv_transpose2d", transposed=True)
    name = "conv_transpose2d"
    s, d = pair(stride, f"{name}: stride", 1), pair(dilation, f"{name}: dilation", 1)
    ph, pw = pair(padding, f"{name}: padding", 0)
    op = pair(output_padding, f"{name}: output_padding", 0)
    if min(w.shape[2:]) < 1:
        raise ValueError(f"{name}: the kernel size (weight shape {w.shape}) must be positive")
    if op[0] >= max(s[0], d[0]) or op[1] >= max(s[1], d[1]):
        raise ValueError(
            f"conv_transpose2d: output_padding {op} must be smaller than stride {s} or dilation {d}"
        )
    n, _, h, wd = x.shape
    kh, kw = w.shape[2], w.shape[3]
    ho = (h - 1) * s[0] - 2 * ph + d[0] * (kh - 1) + op[0] + 1
    wo = (wd - 1) * s[1] - 2 * pw + d[1] * (kw - 1) + op[1] + 1
    if ho < 1 or wo < 1:
        raise ValueError(f"conv_transpose2d: output size ({ho}, {wo}) is not positive")
    o = w.shape[1] * groups
    # conv2d's weight for the adjoint view has shape (C, O/groups, kh, kw): exactly ``w``.
    y = Conv2dInputGrad.apply(
        x, w, x_shape=(n, o, ho, wo), stride=s, padding=(ph, ph, pw, pw),
        dilation=d, groups=groups,
    )  # fmt: skip
    if b is not None:
        y = y + b.reshape(1, o, 1, 1)
    return y


@accepts_unbatched(3)
def conv_transpose1d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
    groups: int = 1,
    dilation: int = 1,
) -> mg.Variable:
    """Transposed 1-D convolution: [`conv_transpose2d`][maligrad.nn.functional.conv_transpose2d] on
    a height-1 image."""
    x, w = as_variable(input, "input"), as_variable(weight, "weight")
    if x.ndim != 3 or w.ndim != 3:
        raise ValueError(
            f"conv_transpose1d: expected input (N, C, L) and weight (C, O/groups, k), got "
            f"shapes {x.shape} and {w.shape}"
        )
    y = conv_transpose2d(
        x.reshape(x.shape[0], x.shape[1], 1, x.shape[2]),
        w.reshape(w.shape[0], w.shape[1], 1, w.shape[2]),
        bias, (1, stride), (0, padding), (0, output_padding), groups, (1, dilation),
    )  # fmt: skip
    return y.reshape(y.shape[0], y.shape[1], y.shape[3])
