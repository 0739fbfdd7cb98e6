"""Stride-1 convolution as one GEMM with a banded ("row-Toeplitz") weight matrix.

The fast path of ``conv2d`` (stride 1, dilation 1, one group, any padding). Each output
row ``i`` of sample ``n`` is cut into ``nb`` blocks of ``B`` pixels. The input a block
needs is ``kh`` input rows of ``B + kw - 1`` pixels for every channel: copied as ``C kh``
contiguous runs, it is one row of the *patch matrix*

    P[(n, i, b), (c, p, t)] = xp[n, c, i + p, b B + t]        t < B + kw - 1

(``xp`` is the zero-padded input) with a last column of ones. The weight becomes the
banded *Toeplitz matrix*

    T[(c, p, t), (o, j)] = w[o, c, p, t - j]   if 0 <= t - j < kw, else 0
    T[ones, (o, j)]      = b[o]

so that the whole convolution, bias included, is one GEMM ``Y = P @ T`` of shape
``(N Ho nb, O B)``. It multiplies the band's zeros too (``(B + kw - 1) / kw`` times the
useful work), but its copies move long runs and its GEMM is large, which is what numpy is
fast at. The adjoints are GEMMs with the same two matrices:

    dP = G @ T^T   then  dxp[n, c, i + p, b B + t] += dP[(n, i, b), (c, p, t)]
                   (kh nb slice-adds of whole (N, C, Ho, B + kw - 1) blocks, or, when
                   there are more blocks than patch columns, kh (B + kw - 1) strided
                   slice-adds of (N, C, Ho, nb) columns)
    dT = P^T @ G   then  dw[o, c, p, q] = sum_j dT[(c, p, j + q), (o, j)]   (the band's
                   diagonals, read through a strided view) and db[o] = sum_j dT[ones, (o, j)]

where ``G[(n, i, b), (o, j)] = gy[n, o, i, b B + j]`` is the output gradient in the same
row layout (zero past the last output column). ``B = 1`` is plain im2col with one GEMM.

When a row has more blocks than a patch has columns (deep layers: ``nb > B + kw - 1``),
the patches are built and kept as ``P^T (K + 1, N Ho nb)`` and the input gradient
computes ``dP^T = T[:K] G^T``: each (kernel row, patch column) is then one
contiguous ``(C, N, Ho, nb)`` slab to copy or add, instead of ``N Ho nb`` runs of a few
pixels; ``Y^T = T^T P^T`` and ``dT = P^T G`` are the same GEMMs transposed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from maligrad.nn.functional._im2col import Pair, Quad


def applies(stride: Pair, dilation: Pair, groups: int) -> bool:
    """Whether the banded GEMM computes this convolution."""
    return stride == (1, 1) and dilation == (1, 1) and groups == 1


@dataclass(frozen=True)
class Plan:
    """Sizes of one convolution in the row-block layout."""

    n: int
    c: int
    h: int
    w: int
    o: int
    kh: int
    kw: int
    pad: Quad
    ho: int
    wo: int
    block: int  # B: output pixels per block
    nb: int  # blocks per output row

    @property
    def run(self) -> int:  # B + kw - 1: input pixels per block and kernel row
        return self.block + self.kw - 1

    @property
    def k(self) -> int:  # patch length (without the ones column)
        return self.c * self.kh * self.run

    @property
    def rows(self) -> int:  # GEMM rows
        return self.n * self.ho * self.nb

    @property
    def transposed(self) -> bool:  # patches kept as P^T: more blocks than patch columns
        return self.nb > self.run

    @property
    def canvas(self) -> tuple[int, int, int, int]:  # padded input, widened to whole blocks
        return (
            self.n,
            self.c,
            self.h + self.pad[0] + self.pad[1],
            (self.nb - 1) * self.block + self.run,
        )


def plan(x_shape: tuple[int, ...], w_shape: tuple[int, ...], pad: Quad) -> Plan:
    """The layout for input ``(N, C, H, W)``, weight ``(O, C, kh, kw)`` and ``pad``."""
    n, c, h, w = x_shape
    o, _, kh, kw = w_shape
    ho = h + pad[0] + pad[1] - kh + 1
    wo = w + pad[2] + pad[3] - kw + 1
    # Wider blocks waste more multiply-adds on the band's zeros; worth it while the
    # patch is short (few channels, the first layers), not on deep 3x3 layers nor for 1x1
    # kernels (whose band would be all waste).
    block = min(wo, 4) if c * kh * kw <= 256 and kw > 1 else 1
    nb = -(-wo // block)
    return Plan(n, c, h, w, o, kh, kw, pad, ho, wo, block, nb)


def _shaped(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A view of ``a`` with ``shape`` (an error rather than a silent copy)."""
    v = a.view()
    v.shape = shape
    return v


def patches(x: np.ndarray, pl: Plan) -> np.ndarray:
    """``P (N Ho nb, K + 1)``: the row-block patches of ``x`` and a column of ones.

    When a row has more blocks than a patch has columns (``pl.transposed``), ``P^T
    (K + 1, N Ho nb)`` instead: one contiguous ``(C, N, Ho, nb)`` slab per (kernel row,
    patch column) rather than ``N Ho nb C kh`` short runs.
    """
    xp = x
    if any(pl.pad) or pl.canvas[3] != pl.w:
        xp = np.zeros(pl.canvas, dtype=x.dtype)
        xp[:, :, pl.pad[0] : pl.pad[0] + pl.h, pl.pad[2] : pl.pad[2] + pl.w] = x
    if pl.transposed:
        out = np.empty((pl.k + 1, pl.rows), dtype=x.dtype)
        out[pl.k] = 1
        dst = _shaped(out[: pl.k], (pl.c, pl.kh, pl.run, pl.n, pl.ho, pl.nb))
        last = (pl.nb - 1) * pl.block
        for p in range(pl.kh):
            for q in range(pl.run):
                src = xp[:, :, p : p + pl.ho, q : q + last + 1 : pl.block]
                dst[:, p, q] = src.transpose(1, 0, 2, 3)
        return out
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


def grad_rows(gy: np.ndarray, pl: Plan) -> np.ndarray:
    """``G (N Ho nb, O B)``: ``gy (N, O, Ho, Wo)`` in the row-block layout."""
    if pl.nb * pl.block != pl.wo:
        wide = np.zeros((pl.n, pl.o, pl.ho, pl.nb * pl.block), dtype=gy.dtype)
        wide[..., : pl.wo] = gy
        gy = wide
    g5 = gy.reshape(pl.n, pl.o, pl.ho, pl.nb, pl.block).transpose(0, 2, 3, 1, 4)
    return np.ascontiguousarray(g5).reshape(pl.rows, pl.o * pl.block)


def output(y: np.ndarray, pl: Plan) -> np.ndarray:
    """``Y (N Ho nb, O B)`` back to ``(N, O, Ho, Wo)``."""
    y5 = y.reshape(pl.n, pl.ho, pl.nb, pl.o, pl.block).transpose(0, 3, 1, 2, 4)
    out = np.ascontiguousarray(y5).reshape(pl.n, pl.o, pl.ho, pl.nb * pl.block)
    if pl.nb * pl.block != pl.wo:
        out = np.ascontiguousarray(out[..., : pl.wo])
    return out


def conv(p: np.ndarray, w: np.ndarray, b: np.ndarray | None, pl: Plan) -> np.ndarray:
    """``conv2d(x, w) + b`` as ``(N, O, Ho, Wo)``, from the patches ``p`` of ``x``."""
    t = toeplitz(w, b, pl)
    if pl.transposed:  # Y^T = T^T P^T, (O, B, N, Ho, nb)
        yt = (t.T @ p).reshape(pl.o, pl.block, pl.n, pl.ho, pl.nb)
        out = np.ascontiguousarray(yt.transpose(2, 0, 3, 4, 1))
        out = out.reshape(pl.n, pl.o, pl.ho, pl.nb * pl.block)
        return out if pl.nb * pl.block == pl.wo else np.ascontiguousarray(out[..., : pl.wo])
    return output(p @ t, pl)


def input_grad(g: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...], pad: Quad) -> np.ndarray:
    """``dx`` of ``conv2d`` for ``gy`` (or ready rows ``g``) and weight ``w``."""
    pl = plan(x_shape, w.shape, pad)
    if g.ndim == 4:
        g = grad_rows(g, pl)
    t = toeplitz(w, None, pl)[: pl.k]
    bb, r = pl.block, pl.run
    if not pl.transposed:  # few blocks: one slice-add of whole runs per (kernel row, block)
        dp6 = (g @ t.T).reshape(pl.n, pl.ho, pl.nb, pl.c, pl.kh, r)
        canvas = np.zeros(pl.canvas, dtype=dp6.dtype)
        for p in range(pl.kh):
            for blk in range(pl.nb):
                part = dp6[:, :, blk, :, p].transpose(0, 2, 1, 3)
                canvas[:, :, p : p + pl.ho, blk * bb : blk * bb + r] += part
    else:  # many short blocks: one strided slice-add per (kernel row, patch column)
        # dP^T, so that each (p, t) column is a contiguous (C, N, Ho, nb) block.
        dpt = (t @ g.T).reshape(pl.c, pl.kh, r, pl.n, pl.ho, pl.nb)
        n, c, hp, wp = pl.canvas
        cnhw = np.zeros((c, n, hp, wp), dtype=dpt.dtype)
        last = (pl.nb - 1) * bb
        for p in range(pl.kh):
            for q in range(r):
                cnhw[:, :, p : p + pl.ho, q : q + last + 1 : bb] += dpt[:, p, q]
        canvas = np.ascontiguousarray(cnhw.transpose(1, 0, 2, 3))
    pt, pleft = pl.pad[0], pl.pad[2]
    return canvas[:, :, pt : pt + pl.h, pleft : pleft + pl.w]


def weight_grad(
    p: np.ndarray, g: np.ndarray, w_shape: tuple[int, ...], pl: Plan
) -> tuple[np.ndarray, np.ndarray]:
    """``(dw, db)`` of ``conv2d`` from patches ``p`` and gradient rows ``g``."""
    dt = (p if pl.transposed else p.T) @ g  # (K + 1, O B)
    dw = _band(dt[: pl.k], pl).sum(axis=4).transpose(3, 0, 1, 2)
    db = dt[pl.k].reshape(pl.o, pl.block).sum(axis=1)
    return np.ascontiguousarray(dw).reshape(w_shape), db
