"""Window views and their adjoint: the numpy kernels under convolution and pooling.

``windows`` returns a strided *view* (no copy) of every ``kh x kw`` window of a padded
NCHW array, laid out ``(N, C, kh, kw, Ho, Wo)``; ``col2im`` is its adjoint: it adds such
an array back into an ``(N, C, Hp, Wp)`` canvas with one slice-add per kernel offset
(``kh * kw`` vectorised adds, never ``np.add.at``). When windows tile the input exactly
(stride == kernel, no dilation) both become a reshape.

The ``phase_*`` kernels are the fast path of strided convolutions (any stride, dilation,
groups): im2col from the input's stride phases, so that every copy and every add of the
patch matrix and of its adjoint moves one contiguous run per (channel, sample, kernel
tap) instead of one short strided run per output row (see ``phase_plan``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Pair = tuple[int, int]
Quad = tuple[int, int, int, int]


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def ints(value: Any, n: int, name: str, minimum: int | None = None) -> tuple[int, ...]:
    """``3 -> (3,) * n``; an ``n``-tuple of ints stays; each at least ``minimum``.

    Anything else is an error naming ``name``: a TypeError for what is not an int (floats,
    strings, bools), a ValueError for a wrong length or a value below ``minimum``.
    """
    if _is_int(value):
        out = (int(value),) * n
    elif isinstance(value, (tuple, list)) and all(_is_int(v) for v in value):
        if len(value) != n:
            raise ValueError(f"{name} must be an int or {n} ints, got {value!r}")
        out = tuple(int(v) for v in value)
    else:
        raise TypeError(
            f"{name} must be an int or a tuple of {n} ints, got {type(value).__name__} {value!r}"
        )
    if minimum is not None and min(out) < minimum:
        what = "positive" if minimum == 1 else f"at least {minimum}"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return out


def pair(value: Any, name: str, minimum: int | None = None) -> Pair:
    """``3 -> (3, 3)``; ``(2, 3)`` stays; anything else is an error naming ``name``."""
    h, w = ints(value, 2, name, minimum)
    return h, w


def out_size(size: int, k: int, s: int, d: int, p0: int, p1: int) -> int:
    """Output length of a window sweep: ``floor((size + p0 + p1 - d (k - 1) - 1) / s) + 1``."""
    return (size + p0 + p1 - d * (k - 1) - 1) // s + 1


@dataclass(frozen=True)
class ConvShape:
    """Sizes of one stride-1 convolution: input ``(N, C, H, W)``, weight ``(O, C, kh, kw)``
    and padding ``(top, bottom, left, right)``; the fast kernels' plans extend it."""

    n: int
    c: int
    h: int
    w: int
    o: int
    kh: int
    kw: int
    pad: Quad

    @property
    def hp(self) -> int:  # padded input height
        return self.h + self.pad[0] + self.pad[1]

    @property
    def wp(self) -> int:  # padded input width
        return self.w + self.pad[2] + self.pad[3]


def full_padding(x_shape: tuple[int, ...], w_shape: tuple[int, ...], pad: Quad) -> Quad | None:
    """The padding ``k - 1 - pad`` that makes the input gradient the full correlation of
    ``gy`` with the flipped kernel, where that is no dearer than ``_toeplitz``'s scatter
    (``H W <= Ho Wo``: 'same' padding and more); else None."""
    _, _, h, w = x_shape
    _, _, kh, kw = w_shape
    full = (kh - 1 - pad[0], kh - 1 - pad[1], kw - 1 - pad[2], kw - 1 - pad[3])
    ho, wo = h + pad[0] + pad[1] - kh + 1, w + pad[2] + pad[3] - kw + 1
    return full if min(full) >= 0 and h * w <= ho * wo else None


def pad_hw(x: np.ndarray, padding: Quad, value: float = 0.0) -> np.ndarray:
    """Pad the last two axes by ``(top, bottom, left, right)`` (no copy when all zero)."""
    pt, pb, pl, pr = padding
    if not (pt or pb or pl or pr):
        return x
    widths = [(0, 0)] * (x.ndim - 2) + [(pt, pb), (pl, pr)]
    return np.pad(x, widths, mode="constant", constant_values=value)


def windows(xp: np.ndarray, k: Pair, s: Pair, d: Pair, out: Pair) -> np.ndarray:
    """View ``(N, C, kh, kw, Ho, Wo)`` of the windows of the (already padded) ``xp``."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = k, s, d, out
    v = sliding_window_view(xp, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3))
    v = v[:, :, : sh * (ho - 1) + 1 : sh, : sw * (wo - 1) + 1 : sw, ::dh, ::dw]
    return v.transpose(0, 1, 4, 5, 2, 3)


def col2im(cols: np.ndarray, shape: tuple[int, int, int, int], s: Pair, d: Pair) -> np.ndarray:
    """Adjoint of ``windows``: sum ``cols (N, C, kh, kw, Ho, Wo)`` into ``shape``."""
    n, c, kh, kw, ho, wo = cols.shape
    (sh, sw), (dh, dw) = s, d
    out = np.zeros(shape, dtype=cols.dtype)
    if (sh, sw) == (kh, kw) and (dh, dw) == (1, 1):
        # Windows tile the canvas: the adjoint is a reshape into its top-left corner.
        block = cols.transpose(0, 1, 4, 2, 5, 3).reshape(n, c, ho * kh, wo * kw)
        out[:, :, : ho * kh, : wo * kw] = block
        return out
    for i in range(kh):
        h0 = i * dh
        hs = slice(h0, h0 + sh * (ho - 1) + 1, sh)
        for j in range(kw):
            w0 = j * dw
            out[:, :, hs, w0 : w0 + sw * (wo - 1) + 1 : sw] += cols[:, :, i, j]
    return out


# --- phase-split im2col: the general conv kernels with long copies ----------------------


@dataclass(frozen=True)
class PhasePlan:
    """Sizes of one convolution in the phase-split layout (see ``phase_plan``)."""

    x_shape: tuple[int, int, int, int]
    o: int
    kh: int
    kw: int
    groups: int
    ho: int
    wo: int
    hq: int  # rows of each phase image
    wq: int  # pitch of each phase image, and of the GEMM's output rows
    #: per phase: (row parity, column parity, first phase row, first x row, rows,
    #: first phase column, first x column, columns) of the x pixels it holds
    phases: tuple[tuple[int, int, int, int, int, int, int, int], ...]
    taps: tuple[tuple[int, int], ...]  # per (p, q), row-major: (phase, flat offset)
    stride: Pair
    #: batch-last layout: phase images (P, C, hq, wq, N), GEMM columns (i, j < wq, n)
    last: bool = False

    @property
    def run(self) -> int:  # L = Ho wq: output pixels per (sample, patch row), garbage included
        return self.ho * self.wq


def phase_plan(
    x_shape: tuple[int, ...], w_shape: tuple[int, ...], stride: Pair, padding: Quad,
    dilation: Pair, groups: int, last: bool = False,
) -> PhasePlan:  # fmt: skip
    """Plan the phase-split kernels for input ``x_shape`` and weight ``w_shape``.

    Phase ``(a, b)`` of the padded input ``xp`` is the image ``xp[:, :, a::s_h, b::s_w]``.
    Kernel tap ``(p, q)`` reads ``xp[n, c, s_h i + d_h p, s_w j + d_w q]``; with
    ``d_h p = s_h u + a`` and ``d_w q = s_w v + b`` that is pixel ``(i + u, j + v)`` of
    phase ``(a, b)``: a stride-1 read. Stored with a row pitch ``wq``, the pixels a tap
    reads for one sample are then ONE contiguous run of ``L = Ho wq`` values from flat
    offset ``u wq + v``, if each output row is computed ``wq`` wide: its last
    ``wq - Wo`` columns are garbage (they wrap into the next row), dropped from the output
    and given a zero gradient.

    With ``last`` (batch-last memory, see ``_layout``) the phase images are stored
    ``(P, C, hq, wq, N)``: a tap's reads for the whole batch are then one contiguous run of
    ``L N`` values from flat offset ``(u wq + v) N``, the GEMM's columns are ordered
    ``(i, j, n)``, and ``y`` and ``dx`` come back in batch-last memory.
    """
    n, c, h, w = (int(v) for v in x_shape)
    o, _, kh, kw = w_shape
    (sh, sw), (dh, dw), (pt, pb, pl, pr) = stride, dilation, padding
    ho = out_size(h, kh, sh, dh, pt, pb)
    wo = out_size(w, kw, sw, dw, pl, pr)
    rows = sorted({(dh * p) % sh for p in range(kh)})
    cols = sorted({(dw * q) % sw for q in range(kw)})
    used_h = sh * (ho - 1) + dh * (kh - 1) - pt  # the last x row and column any tap reads
    used_w = sw * (wo - 1) + dw * (kw - 1) - pl
    phases = []
    for a in rows:
        u0 = -((a - pt) // sh)  # first phase row holding an x row: ceil((pt - a) / s_h)
        r0 = sh * u0 + a - pt
        nu = max(0, (min(h - 1, used_h) - r0) // sh + 1)
        for b in cols:
            v0 = -((b - pl) // sw)
            c0 = sw * v0 + b - pl
            nv = max(0, (min(w - 1, used_w) - c0) // sw + 1)
            phases.append((a, b, u0, r0, nu, v0, c0, nv))
    umax, vmax = dh * (kh - 1) // sh, dw * (kw - 1) // sw
    wq = max(-(-(w + pl + pr) // sw), wo + vmax, *(p[5] + p[7] for p in phases))
    hq = max(ho + umax + (vmax > 0), *(p[2] + p[4] for p in phases))
    index = {(p[0], p[1]): i for i, p in enumerate(phases)}
    taps = tuple(
        (index[(dh * p) % sh, (dw * q) % sw], (dh * p // sh) * wq + dw * q // sw)
        for p in range(kh)
        for q in range(kw)
    )
    return PhasePlan(
        (n, c, h, w), o, kh, kw, groups, ho, wo, hq, wq, tuple(phases), taps, (sh, sw), last
    )


def _phase_slices(pl: PhasePlan, i: int) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """``(x rows, x columns)`` that phase ``i`` holds and ``(rows, columns)`` where it holds
    them."""
    sh, sw = pl.stride
    _, _, u0, r0, nu, v0, c0, nv = pl.phases[i]
    src = slice(r0, r0 + sh * (nu - 1) + 1, sh), slice(c0, c0 + sw * (nv - 1) + 1, sw)
    return src, (slice(u0, u0 + nu), slice(v0, v0 + nv))


def phase_patches(x: np.ndarray, pl: PhasePlan) -> np.ndarray:
    """The patch matrix ``(G, C/G kh kw, N L)``: rows ``(c, p, q)``, columns ``(n, i, j < wq)``
    (``(i, j < wq, n)`` for ``pl.last``).

    One strided copy of ``x`` into the zero-padded phase images ``(P, N, C, hq wq)``, then
    per tap one copy of ``N C`` contiguous runs of ``L`` (batch-last: images
    ``(P, C, hq wq N)``, per tap ``C`` runs of ``L N``).
    """
    n, c = pl.x_shape[:2]
    run = pl.run
    if pl.last:
        ph = np.zeros((len(pl.phases), c, pl.hq, pl.wq, n), dtype=x.dtype)
        xt = x.transpose(1, 2, 3, 0)
        for i, p in enumerate(pl.phases):
            if p[4] and p[7]:
                (rows, cols_), (dr, dc) = _phase_slices(pl, i)
                ph[i, :, dr, dc] = xt[:, rows, cols_]
        runs = ph.reshape(len(pl.phases), c, pl.hq * pl.wq * n)
        out = np.empty((c, len(pl.taps), run * n), dtype=x.dtype)
        for t, (i, off) in enumerate(pl.taps):
            out[:, t] = runs[i, :, off * n : (off + run) * n]
        return out.reshape(pl.groups, -1, run * n)
    ph = np.zeros((len(pl.phases), n, c, pl.hq, pl.wq), dtype=x.dtype)
    for i, p in enumerate(pl.phases):
        if p[4] and p[7]:
            (rows, cols_), (dr, dc) = _phase_slices(pl, i)
            ph[i, :, :, dr, dc] = x[:, :, rows, cols_]
    flat = ph.reshape(len(pl.phases), n, c, pl.hq * pl.wq)
    cols = np.empty((c, len(pl.taps), n, run), dtype=x.dtype)
    for t, (i, off) in enumerate(pl.taps):
        cols[:, t] = flat[i, :, :, off : off + run].transpose(1, 0, 2)
    return cols.reshape(pl.groups, -1, n * run)


def phase_conv(cols: np.ndarray, w: np.ndarray, b: Any, pl: PhasePlan) -> np.ndarray:
    """``y (N, O, Ho, Wo)``: one GEMM per group, ``W (O/G, C/G kh kw) @ cols``, the garbage
    columns dropped in the copy back to NCHW (to ``(O, Ho, Wo, N)`` memory for ``pl.last``)."""
    n = pl.x_shape[0]
    o = pl.o
    y = np.matmul(w.reshape(pl.groups, o // pl.groups, -1), cols)
    if pl.last:
        y = np.ascontiguousarray(y.reshape(o, pl.ho, pl.wq, n)[:, :, : pl.wo])
        if b is not None:
            y += b.reshape(o, 1, 1, 1)
        return y.transpose(3, 0, 1, 2)
    y = y.reshape(o, n, pl.ho, pl.wq)[:, :, :, : pl.wo].transpose(1, 0, 2, 3)
    y = np.ascontiguousarray(y)
    if b is not None:
        y += b.reshape(1, o, 1, 1)
    return y


def phase_grad_rows(gy: np.ndarray, pl: PhasePlan) -> np.ndarray:
    """The output gradient ``(G, O/G, N L)`` in the GEMM's layout, zero in garbage columns."""
    n, o = gy.shape[:2]
    if pl.last:
        rows = np.zeros((o, pl.ho, pl.wq, n), dtype=gy.dtype)
        rows[:, :, : pl.wo] = gy.transpose(1, 2, 3, 0)
    else:
        rows = np.zeros((o, n, pl.ho, pl.wq), dtype=gy.dtype)
        rows[:, :, :, : pl.wo] = gy.transpose(1, 0, 2, 3)
    return rows.reshape(pl.groups, o // pl.groups, -1)


def phase_input_grad(rows: np.ndarray, w: np.ndarray, pl: PhasePlan) -> np.ndarray:
    """``dx (N, C, H, W)``: ``dP = W^T @ G`` added back into the phase images (per tap one
    add of ``N C`` contiguous runs of ``L``, or ``C`` runs of ``L N`` for ``pl.last``), which
    one strided copy interleaves into ``dx`` (a view of ``(C, H, W, N)`` memory for
    ``pl.last``).

    Garbage columns of ``G`` are zero, so the wrapped reads of the forward pass add nothing.
    """
    n, c, h, wd = pl.x_shape
    g = pl.groups
    wm = w.reshape(g, pl.o // g, -1)
    run = pl.run
    dp = np.matmul(wm.swapaxes(1, 2), rows).reshape(c, len(pl.taps), n * run)
    covered = sum(p[4] * p[7] for p in pl.phases) == h * wd
    alloc = np.empty if covered else np.zeros
    if pl.last:
        canvas = np.zeros((len(pl.phases), c, pl.hq * pl.wq * n), dtype=dp.dtype)
        for t, (i, off) in enumerate(pl.taps):
            canvas[i, :, off * n : (off + run) * n] += dp[:, t]
        canvas = canvas.reshape(len(pl.phases), c, pl.hq, pl.wq, n)
        dxt = alloc((c, h, wd, n), dtype=dp.dtype)
        for i, p in enumerate(pl.phases):
            if p[4] and p[7]:
                (xr, xc), (dr, dc) = _phase_slices(pl, i)
                dxt[:, xr, xc] = canvas[i, :, dr, dc]
        return dxt.transpose(3, 0, 1, 2)
    dp = dp.reshape(c, len(pl.taps), n, run)
    canvas = np.zeros((len(pl.phases), n, c, pl.hq * pl.wq), dtype=dp.dtype)
    for t, (i, off) in enumerate(pl.taps):
        canvas[i, :, :, off : off + run] += dp[:, t].transpose(1, 0, 2)
    canvas = canvas.reshape(len(pl.phases), n, c, pl.hq, pl.wq)
    dx = alloc((n, c, h, wd), dtype=dp.dtype)
    for i, p in enumerate(pl.phases):
        if p[4] and p[7]:
            (xr, xc), (dr, dc) = _phase_slices(pl, i)
            dx[:, :, xr, xc] = canvas[i, :, :, dr, dc]
    return dx


def phase_weight_grad(cols: np.ndarray, rows: np.ndarray, w_shape: tuple[int, ...]) -> np.ndarray:
    """``dW = G @ cols^T`` per group (garbage columns of ``G`` are zero)."""
    if rows.shape[0] == 1:  # a 2-D GEMM: stacked ones with a transposed operand can be 50x
        return (rows[0] @ cols[0].T).reshape(w_shape)  # slower on threaded OpenBLAS
    return np.matmul(rows, cols.swapaxes(1, 2)).reshape(w_shape)
