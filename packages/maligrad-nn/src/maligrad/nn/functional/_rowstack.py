"""Stride-1 convolution as GEMMs over blocks of kernel rows, one output plane per kernel
column.

A second fast path for ``conv2d`` (stride 1, dilation 1, one group), for the layers where
the banded GEMM of ``_toeplitz`` multiplies the most zeros: short patches of small kernels,
as resnet-small's 16- and 32-channel 3x3 layers. Memory is batch-last (see ``_layout``).
The zero-padded input is copied once with its image rows outermost, ``xp (Hp, C, Wp, N)``;
``Ho = Hp - kh + 1``, ``Wo = Wp - kw + 1``. The ``kh`` rows that output row ``i`` reads are
then one contiguous block of ``xp``, which read as a matrix is

    E_i[(p, c), (v, n)] = xp[i + p, c, v, n]                  v < Wp   (a view, no copy)

The GEMM's reduction runs over the kernel *rows* and the input channels; its output rows
hold one plane per kernel *column*, which are summed with shifts afterwards:

    W'[(q, o), (p, c)] = w[o, c, p, q]
    Z_i = W' E_i,      y[o, i, j, n] = b[o] + sum_q Z_i[(q, o), (j + q, n)]

one GEMM per output row, a chunk of rows per (batched) ``matmul``, so that ``Z`` and the
shifted sum stay in the cache (``_streaming``). The GEMMs do ``Wp / Wo`` times the useful
multiply-adds (the planes' ``kw - 1`` extra columns per row), against ``(B + kw - 1) / kw``
for the banded GEMM's blocks of ``B`` pixels; their shape (``kw O`` by ``kh C`` by
``Wp N``) suits BLAS where ``O`` and ``C kh kw`` are small, and ``im2col``'s patches (``kh
kw`` copies of the input in runs of ``Wo N``) are not needed: the forward pass keeps only
``xp`` for the weight gradient.

The weight gradient reads the same blocks. ``gy`` is copied, zero-extended to ``Wp``
columns, after ``(kw - 1) N`` leading zeros, into one flat array ``G`` per output channel;
then

    G_q[o, (i, v, n)] = gy[o, i, v - q, n]   (0 where v - q is outside [0, Wo))

is the view of ``G`` that starts ``q N`` floats earlier: a column shifted out of its row
lands on the previous row's ``kw - 1`` zero columns or on the leading zeros. So

    dw[o, c, p, q] = sum_i (E_i G_{q,i}^T)[(p, c), o]        db[o] = sum G[o]

are ``kw`` batched products of views, no patch copies. (Every column of ``E_i`` meets
every ``G_q``, zeros included: an infinite input makes ``inf * 0 = nan`` in
weight-gradient entries that never read it, where the im2col kernels keep them finite.)
Before, ``E`` was a copy (``kh`` row-shifted copies of the input, channels outermost) and
one GEMM covered all output rows: against that, resnet-small's 16- and 32-channel layers
took 0.75x and 0.8x the time for the forward pass and 0.8x and 0.9x for the weight gradient
alone (medians of 21), its step 0.916x (in-process, alternating, 15 rounds), and the step's
peak memory (tracemalloc) went from 110.8 to 89.5 MiB.

The input gradient is the forward pass's adjoint, built the same way from ``gy``: a GEMM
over ``kh`` row-shifted copies of ``gy`` with an output plane per kernel *column*, added
into ``dx`` with shifts, one per chunk of input rows (:func:`input_grad`). Its GEMM
multiplies no padded columns, only the zero rows the shifts bring in at the top and bottom
border (so an infinite weight makes ``inf * 0 = nan`` in ``dx`` rows it never reaches, as
in the weight gradient above); the full correlation of ``gy`` with the flipped kernel (this
kernel's forward pass on a padded ``gy``, what it did before) multiplies the padding too.
It serves any padding, so the banded GEMM's layers take it as well where ``gy`` is
batch-last or a batch of one and ``C kw >= 8`` (:func:`takes_input_grad`). In
resnet-small's step (in-process, alternating, 30 rounds) the input gradients of its 16-,
32- and 64-channel 3x3 layers took 0.93x, 0.82x and 0.89x the time of the full
correlations they replace (the 64-channel one the banded GEMM's), the step 0.986x; LeNet's
second layer's, the banded GEMM's scatter before, 0.995x (200 rounds).

The forward kernel is chosen only where it measured faster than the banded GEMM, at batch
64 (in-process, alternating runs, medians): resnet-small's 16- and 32-channel 3x3 layers
took 0.68-0.79x the time for the forward pass and 0.84-0.93x for the forward pass and both
gradients, its whole step 0.92x. Its 64-channel layers (8x8 images, ``Wp / Wo = 1.25``,
patches of 576) took 1.2x and stay on the banded GEMM, as does its first layer (3 input
channels: a reduction of 9); 1-d kernels measured no faster.

    >>> import numpy as np
    >>> x = np.ones((8, 16, 4, 4), dtype=np.float32)
    >>> w = np.ones((16, 16, 3, 3), dtype=np.float32)
    >>> pl = plan(x.shape, w.shape, (1, 1, 1, 1))
    >>> y = conv(padded(x, pl), w, None, pl)
    >>> y.shape, float(y[0, 0, 0, 0]), float(y[0, 0, 1, 1])
    ((8, 16, 4, 4), 64.0, 144.0)
    >>> dx = input_grad(np.ones_like(y), w, x.shape, (1, 1, 1, 1))
    >>> dx.shape, float(dx[0, 0, 0, 0]), float(dx[0, 0, 1, 1])
    ((8, 16, 4, 4), 64.0, 144.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from maligrad.nn.functional import _streaming
from maligrad.nn.functional._im2col import ConvShape, Pair, Quad, full_padding
from maligrad.nn.functional._layout import batch_last
from maligrad.nn.functional._workspace import scratch

#: Override for tests: None picks per shape, True / False force this kernel on / off.
FORCE: bool | None = None


def applies(
    x_shape: tuple[int, ...], w_shape: tuple[int, ...], stride: Pair, pad: Quad,
    dilation: Pair, groups: int,
) -> bool:  # fmt: skip
    """Whether this kernel computes the convolution: stride 1, from batch 8 (runs of ``N``
    floats), 2-d kernels (1-d ones measured no faster), a reduction ``C kh`` of 48 or more
    and patches ``C kh kw`` of at most 320 (where the banded GEMM wastes the most), images at
    least ``4 (kw - 1)`` wide (at most a quarter of extra columns) and 'same' padding or
    more (where it was measured). See the module docstring for the measurements."""
    if stride != (1, 1) or dilation != (1, 1) or groups != 1 or len(x_shape) != 4:
        return False
    if FORCE is not None:
        return FORCE
    n, c, _, width = x_shape
    _, _, kh, kw = w_shape
    short_patch = 48 <= c * kh and c * kh * kw <= 320
    return (
        n >= 8 and kh > 1 and kw > 1 and short_patch and width >= 4 * (kw - 1)
        and full_padding(x_shape, w_shape, pad) is not None
    )  # fmt: skip


@dataclass(frozen=True)
class Plan(ConvShape):
    """Sizes of one convolution (``Ho``, ``Wo`` and ``E``'s layout follow from them)."""

    @property
    def ho(self) -> int:
        return self.hp - self.kh + 1

    @property
    def wo(self) -> int:
        return self.wp - self.kw + 1

    @property
    def row(self) -> int:  # columns of E_i
        return self.wp * self.n

    @property
    def lead(self) -> int:  # zeros before G's first column
        return (self.kw - 1) * self.n


def plan(x_shape: tuple[int, ...], w_shape: tuple[int, ...], pad: Quad) -> Plan:
    """The plan for input ``x_shape``, weight ``w_shape`` and padding ``pad``."""
    n, c, h, w = x_shape
    return Plan(n, c, h, w, w_shape[0], w_shape[2], w_shape[3], pad)


def padded(x: np.ndarray, pl: Plan) -> np.ndarray:
    """``xp (Hp, C, Wp, N)``: ``x`` zero-padded, its image rows outermost (copied in runs of
    ``W N`` floats from batch-last memory)."""
    xp = np.empty((pl.hp, pl.c, pl.wp, pl.n), dtype=x.dtype)
    top, left = pl.pad[0], pl.pad[2]
    rows, cols = slice(top, top + pl.h), slice(left, left + pl.w)
    xp[:top] = 0
    xp[rows.stop :] = 0
    xp[rows, :, :left] = 0
    xp[rows, :, cols.stop :] = 0
    xp[rows, :, cols] = x.transpose(2, 1, 3, 0)
    return xp


def _blocks(xp: np.ndarray, pl: Plan) -> np.ndarray:
    """``E (Ho, kh C, Wp N)``, ``E[i] = xp[i : i + kh]`` read as a matrix: a view."""
    sh, sc, _, sn = xp.strides
    return as_strided(xp, (pl.ho, pl.kh * pl.c, pl.row), (sh, sc, sn), writeable=False)


def _planes(w: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``W' (kw O, kh C)``: one block of rows per kernel column."""
    o, c, kh, kw = w.shape
    return w.transpose(3, 0, 2, 1).reshape(kw * o, kh * c).astype(dtype, copy=False)


def _shift_sum(z: np.ndarray, y: np.ndarray, b: np.ndarray | None, pl: Plan) -> None:
    """``y[o, i, j, n] = b[o] + sum_q z[i, (q, o), (j + q, n)]`` for ``z (m, kw O, Wp N)``
    and ``y (O, m, Wo, N)``."""
    z5 = z.reshape(z.shape[0], pl.kw, pl.o, pl.wp, pl.n)
    out = y.transpose(1, 0, 2, 3)  # (m, O, Wo, N)
    wo = pl.wo
    if pl.kw == 1:  # (only where tests force this kernel: ``applies`` wants kw > 1)
        out[...] = z5[:, 0]
    else:
        np.add(z5[:, 0, :, :wo], z5[:, 1, :, 1 : wo + 1], out=out)
        for q in range(2, pl.kw):
            np.add(out, z5[:, q, :, q : q + wo], out=out)
    if b is not None:
        out += b[:, None, None]


def _chunk_rows(pl: Plan, itemsize: int) -> int:
    """Output rows per chunk: about ``_streaming.CHUNK_BYTES`` of ``Z``."""
    return _streaming.rows_per_chunk(pl.kw * pl.o * pl.row * itemsize, pl.ho)


def conv(xp: np.ndarray, w: np.ndarray, b: np.ndarray | None, pl: Plan) -> np.ndarray:
    """``conv2d(x, w) + b`` as ``(N, O, Ho, Wo)`` (a view of ``(O, Ho, Wo, N)`` memory) from
    ``xp = padded(x, pl)``."""
    dtype = np.result_type(xp, w)
    wm = _planes(w, dtype)
    e = _blocks(xp.astype(dtype, copy=False), pl)
    bias = None if b is None else b.astype(dtype, copy=False)
    y = np.empty((pl.o, pl.ho, pl.wo, pl.n), dtype=dtype)
    rows = _chunk_rows(pl, dtype.itemsize)
    z = scratch("rowstack-z", (rows, pl.kw * pl.o, pl.row), dtype)
    for i in range(0, pl.ho, rows):
        j = min(i + rows, pl.ho)
        np.matmul(wm, e[i:j], out=z[: j - i])
        _shift_sum(z[: j - i], y[:, i:j], bias, pl)
    return y.transpose(3, 0, 1, 2)


def grad_rows(gy: np.ndarray, pl: Plan) -> np.ndarray:
    """``G (O, (kw - 1) N + Ho Wp N)``: ``gy`` zero-extended to ``Wp`` columns, after
    ``(kw - 1) N`` zeros."""
    g = np.empty((pl.o, pl.lead + pl.ho * pl.row), dtype=gy.dtype)
    g[:, : pl.lead] = 0
    body = g[:, pl.lead :].reshape(pl.o, pl.ho, pl.wp, pl.n)
    body[:, :, : pl.wo] = gy.transpose(1, 2, 3, 0)
    body[:, :, pl.wo :] = 0
    return g


def weight_grad(
    xp: np.ndarray, g: np.ndarray, w_shape: tuple[int, ...], pl: Plan, bias: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(dw, db)`` from ``xp = padded(x, pl)`` and ``G = grad_rows(gy, pl)``: for each
    kernel column ``q`` the products ``E_i G_{q,i}^T`` of every output row ``i``, summed
    (``db`` None unless ``bias``)."""
    dtype = np.result_type(xp, g)
    e = _blocks(xp.astype(dtype, copy=False), pl)
    g = g.astype(dtype, copy=False)
    so, sv = g.strides
    dt = np.empty((pl.kw, pl.kh * pl.c, pl.o), dtype=dtype)
    for q in range(pl.kw):
        gq = as_strided(  # [i, (v, n), o] -> G_q[o, (i, v, n)]
            g[:, pl.lead - q * pl.n :], (pl.ho, pl.row, pl.o), (pl.row * sv, sv, so),
            writeable=False,
        )  # fmt: skip
        np.sum(np.matmul(e, gq), axis=0, out=dt[q])
    dw = dt.reshape(pl.kw, pl.kh, pl.c, pl.o).transpose(3, 2, 1, 0)
    db = g[:, pl.lead :].sum(axis=1) if bias else None
    return np.ascontiguousarray(dw).reshape(w_shape), db


def takes_input_grad(gy: np.ndarray, w_shape: tuple[int, ...]) -> bool:
    """Whether :func:`input_grad` computes the input gradient of a stride-1 convolution
    that the banded GEMM (``_toeplitz``) computes forward: where ``gy`` is batch-last (or a
    batch of one), so that the copies move runs of ``Wo N`` floats, and the GEMM has at
    least 8 rows (``C kw``; a one-channel 5x5 layer, with 5, measured 1.3-1.5x the banded
    GEMM's scatter). ``FORCE`` decides where set."""
    if FORCE is not None:
        return FORCE
    n = gy.shape[0]
    return w_shape[1] * w_shape[3] >= 8 and (n == 1 or batch_last(gy))


def _shifted_rows(s: np.ndarray, g: np.ndarray, a: int, top: int) -> None:
    """``s[o, p, r] = g[o, a + r + top - p]`` (0 where that row is outside ``g``), for
    ``s (O, kh, m, Wo, N)`` and ``g (O, Ho, Wo, N)``."""
    m, ho = s.shape[2], g.shape[1]
    for p in range(s.shape[1]):
        lo, hi = min(max(0, p - top - a), m), max(min(m, p - top - a + ho), 0)
        s[:, p, :lo] = 0
        if hi > lo:
            s[:, p, lo:hi] = g[:, a + lo + top - p : a + hi + top - p]
        s[:, p, max(hi, lo) :] = 0


def _spread_planes(z: np.ndarray, dx: np.ndarray, left: int) -> None:
    """``dx[c, h, u, n] = sum_q z[q, c, h, u + left - q, n]`` over the terms with
    ``0 <= u + left - q < Wo``, for ``z (kw, C, m, Wo, N)`` and ``dx (C, m, W, N)``."""
    kw, wo, width = z.shape[0], z.shape[3], dx.shape[2]
    bounds = [(max(0, q - left), min(width, wo + q - left)) for q in range(kw)]
    written = False
    for q, (lo, hi) in enumerate(bounds):
        if hi <= lo:
            continue
        src = z[q, :, :, lo + left - q : hi + left - q]
        if written:
            dx[:, :, lo:hi] += src
            continue
        dx[:, :, :lo] = 0
        dx[:, :, lo:hi] = src
        dx[:, :, hi:] = 0
        written = True
    if not written:
        dx[...] = 0


def input_grad(gy: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...], pad: Quad) -> np.ndarray:
    """``dx`` of a stride-1 ``conv2d`` (any padding) as a view of ``(C, H, W, N)`` memory:
    the adjoint of this kernel's forward pass, a GEMM over kernel-row-shifted copies of
    ``gy`` with an output plane per kernel column, added with shifts. With ``(pt, pl)``
    the top and left padding,

        S[(o, p), (h, j, n)] = gy[o, h + pt - p, j, n]   (0 outside ``[0, Ho)``), j < Wo
        W^[(q, c), (o, p)]   = w[o, c, p, q]
        Z = W^ S,      dx[c, h, u, n] = sum_q Z[(q, c), (h, u + pl - q, n)]

    (the terms with ``0 <= u + pl - q < Wo``), a chunk of input rows ``h`` at a time. Its
    multiply-adds are the useful ones but for ``S``'s zero rows at the top and bottom
    border, where the full correlation also multiplies the zero columns of a padded ``gy``
    and the banded GEMM its band's zeros."""
    n, c, h, width = x_shape
    o, _, kh, kw = w.shape
    wo = gy.shape[3]
    dtype = np.result_type(gy, w)
    wm = w.transpose(3, 1, 0, 2).reshape(kw * c, o * kh).astype(dtype, copy=False)
    g = gy.transpose(1, 2, 3, 0)  # (O, Ho, Wo, N)
    run = wo * n
    dx = np.empty((c, h, width, n), dtype=dtype)
    rows = _streaming.rows_per_chunk(max(o * kh, kw * c) * run * dtype.itemsize, h)
    s = scratch("rowstack-s", (o, kh, rows, wo, n), dtype)
    z = scratch("rowstack-z", (kw, c, rows, wo, n), dtype)
    for a in range(0, h, rows):
        m = min(rows, h - a)
        sc, zc = s[:, :, :m], z[:, :, :m]
        _shifted_rows(sc, g, a, pad[0])
        np.matmul(wm, sc.reshape(o * kh, m * run), out=zc.reshape(kw * c, m * run))
        _spread_planes(zc, dx[:, a : a + m], pad[2])
    return dx.transpose(3, 0, 1, 2)
