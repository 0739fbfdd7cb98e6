"""Stride-1 convolution as one GEMM with a banded ("row-Toeplitz") weight matrix.

The fast path of ``conv2d`` (stride 1, dilation 1, one group, any padding). Each output
row ``i`` of sample ``n`` is cut into ``nb`` blocks of ``B`` pixels. The input a block
needs is ``kh`` input rows of ``B + kw - 1`` pixels for every channel: one column of the
*patch matrix*

    P^T[(c, p, t), (i, b, n)] = xp[n, c, i + p, b B + t]        t < B + kw - 1

(``xp`` is the zero-padded input) with a last row of ones. The weight becomes the
banded *Toeplitz matrix*

    T[(c, p, t), (o, j)] = w[o, c, p, t - j]   if 0 <= t - j < kw, else 0
    T[ones, (o, j)]      = b[o]

so that the whole convolution, bias included, is one GEMM ``Y^T = T^T P^T`` of shape
``(O B, Ho nb N)``. It multiplies the band's zeros too (``(B + kw - 1) / kw`` times the
useful work), but its copies move long runs and its GEMM is large, which is what numpy is
fast at. The adjoints are GEMMs with the same two matrices:

    dP^T = T G^T  then  dxp[n, c, i + p, b B + t] += dP^T[(c, p, t), (i, b, n)]
    dT = P^T G    then  dw[o, c, p, q] = sum_j dT[(c, p, j + q), (o, j)]   (the band's
                        diagonals, read through a strided view) and db[o] = sum_j dT[ones, (o, j)]

where ``G^T[(o, j), (i, b, n)] = gy[n, o, i, b B + j]`` is the output gradient in the same
column layout (zero past the last output column). ``B = 1`` is plain im2col with one GEMM.
Where the padding is 'same' or more (``H W <= Ho Wo``), ``dx`` is instead the forward
convolution of ``gy`` with the flipped, transposed kernel ``w[o, c, kh-1-p, kw-1-q]`` and
padding ``k - 1 - pad`` (the same multiply-adds, a GEMM output ``kh (B + kw - 1)`` times
smaller than ``dP^T`` and no slice-adds). Stride-1 input gradients (``Conv2dInputGrad``:
``conv2d``'s backward, ``conv_transpose2d``'s forward) take ``_rowstack``'s instead where
``gy`` is batch-last or a batch of one and ``C kw >= 8`` (``_rowstack.takes_input_grad``).

Batch-innermost layout (the columns ordered ``(i, b, n)``): the patches are copied from a
``(C, Hp, Wc, N)`` copy of the padded input, and ``dP^T`` is added, one ``(p, t)`` block at
a time, into a ``(C, Hp, Wc, N)`` canvas; every run these copies and slice-adds move is
``N`` floats long (``Wo N`` for ``B = 1``).

Batch-last memory between layers. The kernels hand their results over in the order the
GEMMs make them: ``y`` and ``dx`` are ``(N, C, H, W)``-shaped views of ``(C, H, W, N)``
C-contiguous arrays (``a.transpose(3, 0, 1, 2)``), as PyTorch's ``channels_last`` but with
the batch innermost. ``y`` is ``Y^T`` itself for ``B = 1`` and one copy of runs of ``N``
floats (blocks ``(i, b, j)`` to pixels ``(i, b B + j)``) for ``B > 1``; ``dx`` is the canvas
itself where there is no padding to crop, else a copy of its runs of ``W N`` floats.
Elementwise ufuncs keep that order (numpy allocates in the inputs' memory order), so
it reaches the next kernel, which reads it with no transpose: ``(C, H, W, N)`` memory *is*
the padded input when there is no padding (else one copy of runs of ``W N`` floats), and
``gy`` in that memory is ``G^T`` for ``B = 1``. Inputs in any other memory order (NCHW,
sliced) are first transposed (in two cache-friendly passes); values never depend on it.
Each GEMM runs whole, on BLAS's threads; the large copies and slice-adds around it are
split into pieces of output channels, input channels or output rows for the thread pool
of ``_threads`` (each piece writes its own slice: results do not depend on the thread
count). Temporaries live in the per-thread work arrays of ``_workspace``.

Rows layout (small batches with ``B > 1``, where runs of ``N`` are shorter than a block's
``B + kw - 1`` pixels): the transposed matrices ``P (N Ho nb, K + 1)`` and
``G (N Ho nb, O B)``, rows ordered ``(n, i, b)``, with ``Y = P T``, ``dP = G T^T`` and
``dT = P^T G``; ``dP`` is added as ``kh nb`` slice-adds of whole ``(N, C, Ho, B + kw - 1)``
blocks.

Streamed input gradients (batch-innermost, patch matrices of ``_streaming.STREAM_MIN``
values or more; see ``_streaming``): where ``dx`` is the full correlation above, its patch
matrix (of ``gy``) is needed by that one GEMM only. It is never made whole: the columns of
a chunk of whole output rows (about 2 MiB, blocks of one pixel) are copied into one work
array and multiplied at once, while they are in the cache, ``Y^T[:, rows] = T^T P^T[:,
rows]``. Alone, resnet-small's 'same' 3x3 layers (16, 32 and 64 channels) took a median
0.71-0.86x of their forward pass's time for the input gradient streamed against 0.96-1.0x
whole (three fresh processes each, alternating; one run in three of each layer came out
slower, 1.1-1.2x). The forward pass keeps its whole ``P^T``, which the weight gradient
reuses: streaming it too, and making the chunks again for the weight gradient, measured
no faster per layer (the weight gradient's sum over chunks multiplies small matrices).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from maligrad.nn.functional import _streaming, _threads
from maligrad.nn.functional._im2col import ConvShape, Pair, Quad, full_padding
from maligrad.nn.functional._layout import batch_last
from maligrad.nn.functional._workspace import scratch


def applies(stride: Pair, dilation: Pair, groups: int) -> bool:
    """Whether the banded GEMM computes this convolution."""
    return stride == (1, 1) and dilation == (1, 1) and groups == 1


#: Layout override for tests: None picks per shape, True / False force batch-innermost / rows.
FORCE_INNER: bool | None = None


@dataclass(frozen=True)
class Plan(ConvShape):
    """Sizes of one convolution and its layout (rows or batch-innermost)."""

    ho: int
    wo: int
    block: int  # B: output pixels per block
    nb: int  # blocks per output row
    inner: bool  # batch-innermost layout: P^T, columns (i, b, n)
    stream: bool = False  # P^T made and multiplied a chunk of output rows at a time

    @property
    def run(self) -> int:  # B + kw - 1: input pixels per block and kernel row
        return self.block + self.kw - 1

    @property
    def k(self) -> int:  # patch length (without the ones column)
        return self.c * self.kh * self.run

    @property
    def rows(self) -> int:  # GEMM rows (columns of P^T)
        return self.n * self.ho * self.nb

    @property
    def wc(self) -> int:  # padded input width, widened to whole blocks
        return (self.nb - 1) * self.block + self.run


def _block(k: int, kw: int, n: int, o: int, weight_only: bool) -> int:
    """Output pixels per block for patches of ``k = C kh kw`` values, kernel width ``kw``,
    batch ``n`` and ``o`` output channels; ``weight_only``: a first layer, whose input needs
    no gradient.

    A block of ``B`` multiplies ``(B + kw - 1) / kw`` times the useful multiply-adds (the
    band's zeros). Blocks of 4 pay while the patch is short (few channels, the first
    layers), because the input gradient's copies and slice-adds move long runs. Without an
    input gradient that advantage is gone, and from 16 output channels (GEMMs of 16 rows or
    more) blocks of 1 skip the block copies of ``y`` and ``gy``: the first convolution of
    the main job's LeNet (1 -> 16 channels, 5x5) takes 5% less time at batch 32 and 64 and
    30% less at 128, resnet-small's (3 -> 16, 3x3) 25% less; with 8 output channels it
    measured no faster, with 6 much slower. Blocks of 2 pay on mid-length patches of wide
    kernels (waste at most 1.2, ``kw >= 5``) from batch 32 up: the main job's LeNet's second
    convolution (16 -> 32 channels, 5x5) takes 6-23% less time than with blocks of 1 at
    batch 32 to 128, but more at batch 8 or 16, and resnet-small's 32-channel 3x3 layer
    (waste 4/3) measured no faster. Longer patches and 1x1 kernels (whose band would be
    all waste) use blocks of 1.
    """
    if kw == 1 or (weight_only and o >= 16):
        return 1
    if k <= 256:
        return 4
    return 2 if k <= 512 and kw >= 5 and n >= 32 else 1


def plan(
    x_shape: tuple[int, ...],
    w_shape: tuple[int, ...],
    pad: Quad,
    weight_only: bool = False,
    stream: bool = False,
) -> Plan:
    """The layout for input ``(N, C, H, W)``, weight ``(O, C, kh, kw)`` and ``pad``;
    ``weight_only``: the backward pass computes the weight gradient but no input gradient;
    ``stream``: no weight gradient will need the patches (the input gradient's convolution),
    so a large patch matrix may be streamed."""
    n, c, h, w = x_shape
    o, _, kh, kw = w_shape
    ho = h + pad[0] + pad[1] - kh + 1
    wo = w + pad[2] + pad[3] - kw + 1
    block = min(wo, _block(c * kh * kw, kw, n, o, weight_only))
    nb = -(-wo // block)
    # The batch-innermost layout moves runs of N floats (N Wo for blocks of one pixel): it
    # wins from batch 8 up; single blocks of a few pixels are longer runs below that.
    inner = block == 1 or n >= 8
    if FORCE_INNER is not None:
        inner = FORCE_INNER
    stream = stream and inner and _streaming.streams(c * kh * kw * ho * wo * n)
    if stream:  # (values of P^T at blocks of one pixel)
        block, nb = 1, wo
    return Plan(n, c, h, w, o, kh, kw, pad, ho, wo, block, nb, inner, stream)


def _shaped(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A view of ``a`` with ``shape`` (an error rather than a silent copy)."""
    v = a.view()
    v.shape = shape
    return v


def _skewed(a: np.ndarray) -> np.ndarray:
    """``a``, or a copy with its first axis's stride moved off the 4 KiB page grid.

    Moving the batch axis last reads ``a`` along its first axis innermost. Where that
    stride is a multiple of 512 bytes, the elements read fall into at most 8 of a page's 64
    cache-line slots, and so into the same few cache sets; a copy whose rows are 64 bytes
    longer spreads them over all of them for the price of one contiguous pass.
    """
    if a.shape[0] < 2 or math.gcd(a.strides[0], 4096) < 512:
        return a
    n, m = a.shape[0], a.size // a.shape[0]
    copy = scratch("skewed", (n, m + 64 // a.itemsize), a.dtype)[:, :m].reshape(a.shape)
    copy[...] = a
    return copy


def padded(x: np.ndarray, pl: Plan, inner: bool) -> np.ndarray:
    """``x`` zero-padded and widened to ``pl.wc`` columns (whole blocks): ``(N, C, Hp, Wc)``,
    or ``(C, Hp, Wc, N)`` when ``inner`` (a work array, or ``x``'s own memory where that is
    it already)."""
    shape = (pl.c, pl.hp, pl.wc, pl.n) if inner else (pl.n, pl.c, pl.hp, pl.wc)
    if not inner and shape == x.shape:
        return x
    if inner and batch_last(x, whole=True) and not any(pl.pad) and pl.wc == pl.w:
        return x.transpose(1, 2, 3, 0)  # (C, H, W, N) memory is the padded input already
    xp = scratch("padded", shape, x.dtype)
    top, cols = pl.pad[0], slice(pl.pad[2], pl.pad[2] + pl.w)
    frame = xp if inner else xp.transpose(1, 2, 3, 0)  # (C, Hp, Wc, N) either way
    frame[:, :top] = 0  # the border only: x fills the rest
    frame[:, top + pl.h :] = 0
    frame[:, top : top + pl.h, : cols.start] = 0
    frame[:, top : top + pl.h, cols.stop :] = 0
    if not inner:
        xp[:, :, top : top + pl.h, cols] = x
        return xp
    last = batch_last(x)

    def rows(a: int, b: int) -> None:
        src = x[:, :, a:b] if last else _skewed(x[:, :, a:b])
        xp[:, top + a : top + b, cols] = src.transpose(1, 2, 3, 0)

    _threads.run(rows, _threads.pieces(pl.h, x.size))
    return xp


def patches(x: np.ndarray, pl: Plan) -> np.ndarray:
    """The row-block patches of ``x`` and a column of ones.

    Rows layout: ``P (N Ho nb, K + 1)``. Batch-innermost layout: ``P^T (K + 1, Ho nb N)``,
    copied in one pass from a ``(C, Hp, Wc, N)`` copy of the padded input, so that every
    run it moves is ``N`` floats long (``Wo N`` for blocks of one pixel).
    """
    if pl.inner:
        xc = padded(x, pl, True)  # (C, Hp, Wc, N)
        sc, sh, sw, sn = xc.strides
        view = as_strided(
            xc,
            shape=(pl.c, pl.kh, pl.run, pl.ho, pl.nb, pl.n),
            strides=(sc, sh, sw, sh, pl.block * sw, sn),
            writeable=False,
        )
        out = np.empty((pl.k + 1, pl.rows), dtype=x.dtype)
        out[pl.k] = 1
        dst = _shaped(out[: pl.k], view.shape)

        def rows(a: int, b: int) -> None:  # output rows a:b of every patch column
            dst[:, :, :, a:b] = view[:, :, :, a:b]

        _threads.run(rows, _threads.pieces(pl.ho, out.size))
        return out
    xp = padded(x, pl, False)
    sn, sc, sh, sw = xp.strides
    view = as_strided(
        xp,
        shape=(pl.n, pl.ho, pl.nb, pl.c, pl.kh, pl.run),
        strides=(sn, sh, pl.block * sw, sc, sh, sw),
        writeable=False,
    )
    out = np.empty((pl.rows, pl.k + 1), dtype=x.dtype)
    out[:, pl.k] = 1
    dst = _shaped(out, (pl.n, pl.ho, pl.nb, pl.k + 1))[..., : pl.k]
    _shaped(dst, view.shape)[...] = view
    return out


def _band(t: np.ndarray, pl: Plan) -> np.ndarray:
    """View ``[c, p, q, o, j] -> t[(c, p, j + q), (o, j)]`` of a ``(K, O B)`` array."""
    t5 = _shaped(t, (pl.c, pl.kh, pl.run, pl.o, pl.block))
    sc, sp, st, so, sj = t5.strides
    return as_strided(
        t5, shape=(pl.c, pl.kh, pl.kw, pl.o, pl.block), strides=(sc, sp, st, so, st + sj)
    )


def toeplitz(w: np.ndarray, b: np.ndarray | None, pl: Plan) -> np.ndarray:
    """``T (K + 1, O B)``: the banded weight matrix, the bias as its last row."""
    t = np.zeros((pl.k + 1, pl.o * pl.block), dtype=w.dtype)
    _band(t[: pl.k], pl)[...] = w.transpose(1, 2, 3, 0)[..., None]
    if b is not None:
        t[pl.k] = np.repeat(b.astype(w.dtype, copy=False), pl.block)
    return t


def _widened(a: np.ndarray, pl: Plan) -> np.ndarray:
    """``(N, O, Ho, Wo)`` zero-extended to ``nb B`` columns."""
    if pl.nb * pl.block == pl.wo:
        return a
    wide = np.zeros((pl.n, pl.o, pl.ho, pl.nb * pl.block), dtype=a.dtype)
    wide[..., : pl.wo] = a
    return wide


def grad_rows(gy: np.ndarray, pl: Plan) -> np.ndarray:
    """``gy (N, O, Ho, Wo)`` in the layout of the GEMMs.

    Rows layout: ``G (N Ho nb, O B)``. Batch-innermost: ``G^T (O B, Ho nb N)``; that is
    ``gy``'s own memory when it is batch-last with ``B = 1``, else one copy, of runs of ``N``
    floats when ``gy``'s batch axis has unit stride.
    """
    if pl.inner and batch_last(gy):
        src = gy.transpose(1, 2, 3, 0)  # (O, Ho, Wo, N)
        if pl.block == 1 and src.flags.c_contiguous:
            return _shaped(src, (pl.o, pl.rows))
        gt = np.empty((pl.o, pl.block, pl.ho, pl.nb, pl.n), dtype=gy.dtype)

        def pixels(a: int, b: int) -> None:
            _to_blocks(src[a:b], gt[a:b], pl)

        _threads.run(pixels, _threads.pieces(pl.o, gt.size))
        return gt.reshape(pl.o * pl.block, pl.rows)
    g5 = _widened(gy, pl).reshape(pl.n, pl.o, pl.ho, pl.nb, pl.block)
    if pl.inner:
        gt = np.empty((pl.o, pl.block, pl.ho, pl.nb, pl.n), dtype=gy.dtype)

        def channels(a: int, b: int) -> None:
            gt[a:b] = _skewed(g5[:, a:b]).transpose(1, 4, 2, 3, 0)

        _threads.run(channels, _threads.pieces(pl.o, gt.size))
        return gt.reshape(pl.o * pl.block, pl.rows)
    return np.ascontiguousarray(g5.transpose(0, 2, 3, 1, 4)).reshape(pl.rows, pl.o * pl.block)


def _split(pixels: np.ndarray, pl: Plan) -> tuple[np.ndarray, np.ndarray | None]:
    """``(O', Ho, Wo, N)`` as whole blocks ``(O', Ho, nb', B, N)`` and the last, partial
    block ``(O', Ho, Wo - nb' B, N)`` (None when ``B`` divides ``Wo``): views."""
    full = pl.wo // pl.block
    o, ho, _, n = pixels.shape
    whole = _shaped(pixels[:, :, : full * pl.block], (o, ho, full, pl.block, n))
    return whole, (pixels[:, :, full * pl.block :] if full < pl.nb else None)


def _to_blocks(pixels: np.ndarray, blocks: np.ndarray, pl: Plan) -> None:
    """``blocks[o, j, i, b, n] = pixels[o, i, b B + j, n]`` (zero past ``Wo``)."""
    whole, part = _split(pixels, pl)
    full = whole.shape[2]
    blocks[:, :, :, :full] = whole.transpose(0, 3, 1, 2, 4)
    if part is not None:
        rem = part.shape[2]
        blocks[:, :rem, :, full] = part.transpose(0, 2, 1, 3)
        blocks[:, rem:, :, full] = 0


def _from_blocks(blocks: np.ndarray, pixels: np.ndarray, pl: Plan) -> None:
    """``pixels[o, i, b B + j, n] = blocks[o, j, i, b, n]`` (pixels past ``Wo`` dropped)."""
    whole, part = _split(pixels, pl)
    full = whole.shape[2]
    whole[...] = blocks[:, :, :, :full].transpose(0, 2, 3, 1, 4)
    if part is not None:
        part[...] = blocks[:, : part.shape[2], :, full].transpose(0, 2, 1, 3)


def _cropped(out: np.ndarray, pl: Plan) -> np.ndarray:
    """``(N, O, Ho, nb B)`` cropped to ``Wo`` columns, contiguous."""
    return out if pl.nb * pl.block == pl.wo else np.ascontiguousarray(out[..., : pl.wo])


def _chunk_rows(pl: Plan, itemsize: int) -> int:
    """Output rows per chunk of the streamed path (see ``_streaming``)."""
    return _streaming.rows_per_chunk((pl.k + 1) * pl.nb * pl.n * itemsize, pl.ho)


def _stream(xc: np.ndarray, pl: Plan) -> Iterator[tuple[int, int, np.ndarray]]:
    """``(i, j, pt)`` for chunks of output rows ``i:j``: ``pt`` holds the columns of ``P^T``
    for those rows, ``(K + 1, (j - i) nb N)``, copied from the padded input
    ``xc (C, Hp, Wc, N)`` into one work array (valid until the next chunk)."""
    sc, sh, sw, sn = xc.strides
    view = as_strided(
        xc,
        shape=(pl.c, pl.kh, pl.run, pl.ho, pl.nb, pl.n),
        strides=(sc, sh, sw, sh, pl.block * sw, sn),
        writeable=False,
    )
    rows, width = _chunk_rows(pl, xc.itemsize), pl.nb * pl.n
    buf = scratch("stream", (pl.k + 1, rows * width), xc.dtype)
    buf[pl.k] = 1
    for i in range(0, pl.ho, rows):
        j = min(i + rows, pl.ho)
        pt = buf[:, : (j - i) * width]
        _shaped(pt[: pl.k], (pl.c, pl.kh, pl.run, j - i, pl.nb, pl.n))[...] = view[:, :, :, i:j]
        yield i, j, pt


def _streamed_conv(xc: np.ndarray, t: np.ndarray, pl: Plan) -> np.ndarray:
    """``Y^T = T^T P^T`` a chunk of output rows at a time (blocks of one pixel):
    ``(O, Ho, Wo, N)``."""
    out = np.empty((pl.o, pl.ho, pl.wo, pl.n), dtype=np.result_type(xc, t))
    flat, width = _shaped(out, (pl.o, pl.ho * pl.wo * pl.n)), pl.wo * pl.n
    for i, j, pt in _stream(xc, pl):
        np.matmul(t.T, pt, out=flat[:, i * width : j * width])
    return out


def conv(p: np.ndarray, w: np.ndarray, b: np.ndarray | None, pl: Plan) -> np.ndarray:
    """``conv2d(x, w) + b`` as ``(N, O, Ho, Wo)``, from the patches ``p`` of ``x`` (the
    padded input ``(C, Hp, Wc, N)`` for a streamed plan; batch-innermost layout: a view of
    ``(O, Ho, Wo, N)`` memory)."""
    t = toeplitz(w, b, pl)
    if pl.stream:
        return _streamed_conv(p, t, pl).transpose(3, 0, 1, 2)
    if pl.inner:  # Y^T = T^T P^T: (O, Ho, Wo, N) for B = 1, else (O, B, Ho, nb, N)
        dtype = np.result_type(p, t)
        out = np.empty((pl.o, pl.ho, pl.wo, pl.n), dtype=dtype)
        bb = pl.block
        if bb == 1:
            np.matmul(t.T, p, out=_shaped(out, (pl.o, p.shape[1])))
            return out.transpose(3, 0, 1, 2)
        yt = scratch("gemm", (pl.o * bb, p.shape[1]), dtype)
        np.matmul(t.T, p, out=yt)
        blocks = _shaped(yt, (pl.o, bb, pl.ho, pl.nb, pl.n))

        def channels(a: int, b: int) -> None:
            _from_blocks(blocks[a:b], out[a:b], pl)

        _threads.run(channels, _threads.pieces(pl.o, out.size))
        return out.transpose(3, 0, 1, 2)
    y5 = _shaped(p @ t, (pl.n, pl.ho, pl.nb, pl.o, pl.block))  # Y = P T, (N, Ho, nb, O, B)
    out = np.ascontiguousarray(y5.transpose(0, 3, 1, 2, 4))
    return _cropped(_shaped(out, (pl.n, pl.o, pl.ho, pl.nb * pl.block)), pl)


def _scatter_blocks(dpt: np.ndarray, canvas: np.ndarray, pl: Plan) -> None:
    """``canvas[c, i + p, b B + t, n] += dpt[c, p, t, i, b, n]`` (batch-innermost layout).

    Split ``t = g B + j`` (``j < B``): group ``g`` of a kernel row ``p`` adds whole blocks,
    ``(c, i, b, j, n) -> canvas[c, i + p, (b + g) B + j, n]``, runs of ``B N`` floats. So the
    scatter is ``kh ceil(run / B)`` slice-adds rather than ``kh run``: every numpy call in a
    thread's piece is one more hand-over of the GIL between the pool's threads.
    """
    bb = pl.block
    sc, sh, sw, sn = canvas.strides
    for g in range(-(-pl.run // bb)):
        width = min(bb, pl.run - g * bb)
        src = dpt[:, :, g * bb : g * bb + width].transpose(0, 1, 3, 4, 2, 5)  # (c, p, i, b, j, n)
        dst = as_strided(  # [c, h, b, j, n] -> canvas[c, h, (b + g) B + j, n]
            canvas[:, :, g * bb :],
            shape=(canvas.shape[0], pl.hp, pl.nb, width, pl.n),
            strides=(sc, sh, bb * sw, sw, sn),
        )
        for p in range(pl.kh):
            dst[:, p : p + pl.ho] += src[:, p]


def input_grad(
    gy: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...], pad: Quad,
    g: np.ndarray | None = None, pl: Plan | None = None,
) -> np.ndarray:  # fmt: skip
    """``dx`` of ``conv2d`` for ``gy`` and weight ``w`` (``g``: ``gy`` in the GEMMs' layout,
    when at hand, with the ``pl`` it was made with). Batch-innermost layout: a view of a new
    ``(C, H, W, N)`` array, computed as the full correlation of ``gy`` with the flipped
    kernel (a forward convolution, ``w[o, c, p, q] -> w[c, o, kh-1-p, kw-1-q]``, padding
    ``k - 1 - pad``) where the padding makes that no dearer, else by the scatter of
    ``dP^T``."""
    pl = plan(x_shape, w.shape, pad) if pl is None else pl
    full = full_padding(x_shape, w.shape, pad) if pl.inner else None
    if full is not None:
        wt = w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]
        tpl = plan(gy.shape, wt.shape, full, stream=True)
        if tpl.inner:
            cols = padded(gy, tpl, True) if tpl.stream else patches(gy, tpl)
            return conv(cols, wt, None, tpl)
    g = grad_rows(gy, pl) if g is None else g
    t = toeplitz(w, None, pl)[: pl.k]
    bb, r = pl.block, pl.run
    pt, pleft = pl.pad[0], pl.pad[2]
    if pl.inner:  # dP^T = T G^T, (C, kh, run, Ho, nb, N): runs of N (or Wo N) floats
        dx = np.empty((pl.c, pl.h, pl.w, pl.n), dtype=np.result_type(t, g))
        rows = pl.kh * r
        # No padding to crop: the canvas is dx itself.
        direct = (pl.hp, pl.wc) == (pl.h, pl.w)

        dpt = scratch("gemm", (pl.c * rows, g.shape[1]), dx.dtype)
        np.matmul(t, g, out=dpt)
        dpt6 = _shaped(dpt, (pl.c, pl.kh, r, pl.ho, pl.nb, pl.n))

        def channels(a: int, b: int) -> None:  # input channels a:b, independent of the rest
            if direct:
                canvas = dx[a:b]
            else:
                canvas = scratch("canvas", (b - a, pl.hp, pl.wc, pl.n), dx.dtype)
            canvas.fill(0)
            _scatter_blocks(dpt6[a:b], canvas, pl)
            if not direct:
                dx[a:b] = canvas[:, pt : pt + pl.h, pleft : pleft + pl.w]

        _threads.run(channels, _threads.pieces(pl.c, dpt.size))
        return dx.transpose(3, 0, 1, 2)
    # Rows layout: one slice-add of whole runs per (kernel row, block).
    dp6 = _shaped(g @ t.T, (pl.n, pl.ho, pl.nb, pl.c, pl.kh, r))
    canvas = np.zeros((pl.n, pl.c, pl.hp, pl.wc), dtype=dp6.dtype)
    for p in range(pl.kh):
        for blk in range(pl.nb):
            part = dp6[:, :, blk, :, p].transpose(0, 2, 1, 3)
            canvas[:, :, p : p + pl.ho, blk * bb : blk * bb + r] += part
    return canvas[:, :, pt : pt + pl.h, pleft : pleft + pl.w]


#: Longest patch (rows of ``P^T``, the ones included) whose weight-gradient GEMM is computed
#: transposed, ``dT = (G^T P)^T``: the same products, which numpy's OpenBLAS runs faster when
#: ``P^T`` is this short (first layers: one to three channels, small kernels). Alone, at
#: batch 64: LeNet's first layer (41 rows, 9216 columns, ``O B = 32``) took 0.78x the time,
#: the main job's LeNet's (26 x 36864, 16) 0.80x, resnet-small's stem (28 x 65536, 16)
#: 0.65-0.71x; from 55 rows up it ranged over 0.85-1.22x with no rule, so they keep
#: ``P^T G``.
SHORT_PATCH = 48


def weight_grad(
    p: np.ndarray, g: np.ndarray, w_shape: tuple[int, ...], pl: Plan
) -> tuple[np.ndarray, np.ndarray]:
    """``(dw, db)`` of ``conv2d`` from patches ``p`` and gradient ``g`` (GEMM layouts)."""
    if pl.inner:  # dT (K + 1, O B)
        dt = (g @ p.T).T if p.shape[0] <= SHORT_PATCH else p @ g.T
    else:
        dt = p.T @ g
    dw = _band(dt[: pl.k], pl).sum(axis=4).transpose(3, 0, 1, 2)
    db = dt[pl.k].reshape(pl.o, pl.block).sum(axis=1)
    return np.ascontiguousarray(dw).reshape(w_shape), db
