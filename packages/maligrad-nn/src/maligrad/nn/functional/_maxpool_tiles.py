"""Max pooling over windows that tile the input (stride == kernel, no dilation, no padding).

The fast path of ``max_pool2d`` (LeNet's and most CNNs' 2x2 pooling), in two separable
stages of elementwise maxima over contiguous planes. The input cropped to whole windows is
read as a *frame* ``F (L, Hc, Wc, T)`` (``Hc = Ho kh``, ``Wc = Wo kw``) in one of two memory
orders:

* batch-last (``x``'s batch axis has unit stride, as the convolutions hand it over, see
  ``_layout``): ``F = x.transpose(1, 2, 3, 0)``, ``L = C``, ``T = N``, a view, no copy;
* otherwise: ``F`` is ``x`` read as ``(N C, Hc, Wc, 1)`` (``T = 1``).

One copy first splits the frame into its ``kh kw`` window offsets, each a contiguous plane
(space-to-depth), and the stages then compare whole planes:

    D[q, p, l, i, j, t] = F[l, i kh + p, j kw + q, t]                  D is (kw, kh, L, Ho, Wo, T)
    stage 1 (columns):  a[p, l, i, j, t] = max_q D[q, p, l, i, j, t]    a is (kh, L, Ho, Wo, T)
    stage 2 (rows):     y[l, i, j, t] = max_p a[p, l, i, j, t]          y is (L, Ho, Wo, T)

numpy runs a ufunc over contiguous operands up to three times faster than over
interleaved views, which it copies through buffers first (a maximum of two planes of
147k floats: 26 us, against 84 us for the same values as alternate runs of 64). On
LeNet's first pool (8 x 24 x 24, batch 64, alone) the forward pass took 195-215 us this
way against 235-240 us comparing strided views of the frame, and the gradient 205-220 us
against 225-320 us; LeNet's step took 0.965x and 0.978x the time (in-process,
alternating, 200 rounds each). In batch-last memory the copies move runs of ``N`` floats.
The planes are allocated per call: with ``_workspace``'s kept arrays instead the step
measured 0.982x, against 0.960x (one run of 80 alternating rounds). ``y`` goes back in the
frame's order: a view of ``(C, Ho, Wo, N)`` memory for batch-last input, NCHW otherwise.

Each stage keeps one boolean mask per offset marking the *first* maximum (strict ``>``
against the running maximum, so ties go to the lowest offset), except offset 0 of a stage
of one or two offsets: it holds the maximum wherever the other offset does not, so its
mask is left implicit (None), and the gradient puts ``g - g C_1`` there (no boolean
product). The window's row-major first maximum is the first maximum column within the
first maximum row, so the two stages reproduce the general kernel's (and PyTorch's) tie
rule exactly, in either memory order. Where a maximum is NaN (NaN propagates through
``maximum``), the first NaN is marked instead.

The gradient runs the stages backwards with the forward's masks (plane-shaped), reading
``gy`` through the same frame (whatever its own memory order), and puts the planes back
into ``dx`` in the forward input's order with one copy (depth-to-space):

    gA[p, l, i, j, t] = R_p[l, i, j, t] gy[l, i, j, t]
    gD[q, p, l, i, j, t] = C_q[p, l, i, j, t] gA[p, l, i, j, t]
    dx[l, i kh + p, j kw + q, t] = gD[q, p, l, i, j, t]      (0 in a cropped border)

(``np.where`` instead of a product when ``gy`` holds inf or NaN, so that a masked-out
position gets exactly 0). Its adjoint, the gradient of the gradient, picks the masked
entries stage by stage from the planes of its input, which is the one marked entry of each
window. The masks are shared, read-only, by every Function of the pair.

With several threads (``nn.set_num_threads``) the forward pass and the gradient split the
frame's leading axis (samples and channels, or channels) into one piece per thread: each
piece writes its own slice of the planes, the output and the masks.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

import maligrad as mg
from maligrad.nn.functional import _threads
from maligrad.nn.functional._im2col import Pair, Quad
from maligrad.nn.functional._layout import batch_last

# (kernel, stride, padding (t, b, l, r), dilation, out (Ho, Wo)), as in ``pooling``.
Params = tuple[Pair, Pair, Quad, Pair, Pair]


class Masks(NamedTuple):
    """The first-maximum masks of both stages (None for a stage of one offset), plane-shaped,
    and whether the frame is batch-last."""

    cols: list[np.ndarray | None]  # kw masks (kh, L, Ho, Wo, T)
    rows: list[np.ndarray | None]  # kh masks (L, Ho, Wo, T)
    last: bool
    # ``masks[0]`` is None for a stage of one or two offsets: offset 0 is marked wherever
    # the other offset is not.


def applies(params: Params) -> bool:
    """Whether the windows tile the input: stride == kernel, dilation 1, no padding."""
    k, s, p, d, _ = params
    return s == k and d == (1, 1) and not any(p)


def _frame(a: np.ndarray, last: bool, crop: Pair) -> np.ndarray:
    """``a (N, C, H, W)`` cropped to ``crop`` as the frame ``(L, Hc, Wc, T)`` (a view of
    ``a``, or a copy where NCHW's ``N`` and ``C`` do not merge)."""
    hc, wc = crop
    if last:
        return a.transpose(1, 2, 3, 0)[:, :hc, :wc]
    n, c = a.shape[:2]
    return a[:, :, :hc, :wc].reshape(n * c, hc, wc, 1)


def _unframe(f: np.ndarray, last: bool, n: int) -> np.ndarray:
    """Inverse of ``_frame`` for a whole frame ``(L, H, W, T)``: ``(N, C, H, W)``."""
    if last:
        return f.transpose(3, 0, 1, 2)
    return f.reshape(n, f.shape[0] // n, f.shape[1], f.shape[2])


def _windows(f: np.ndarray, kernel: Pair) -> np.ndarray:
    """The frame ``(L, Ho kh, Wo kw, T)`` as ``(L, Ho, kh, Wo, kw, T)``: a view, any strides."""
    (kh, kw), (lead, hc, wc, t) = kernel, f.shape
    v = f.view()
    v.shape = (lead, hc // kh, kh, wc // kw, kw, t)
    return v


def _offsets(planes: np.ndarray) -> np.ndarray:
    """Planes ``(kw, kh, L, Ho, Wo, T)`` as ``(L, Ho, kh, Wo, kw, T)``, the axes of
    :func:`_windows`: a view."""
    return planes.transpose(2, 3, 1, 4, 0, 5)


def _squares(a: np.ndarray) -> float | None:
    """``sum(a * a)`` as one BLAS dot product (4x faster than ``np.sum``) for a float32 or
    float64 array that fills its memory in any axis order; None for any other. It is NaN
    exactly where ``a`` holds a NaN (the squares are never negative, so no inf - inf), and
    inf where ``a`` holds an inf or its squares overflow."""
    if a.dtype not in (np.float32, np.float64):
        return None
    if not a.flags.c_contiguous:
        a = a.transpose(sorted(range(a.ndim), key=lambda i: -a.strides[i]))
        if not a.flags.c_contiguous:
            return None
    flat = a.reshape(-1)
    return float(np.dot(flat, flat))


def has_nan(a: np.ndarray) -> bool:
    """Whether ``a`` may hold NaN: a NaN sum of squares or sum (one pass, no temporary; the
    sum raises a false alarm where +inf and -inf meet, and the NaN rule is a no-op without
    NaN)."""
    if a.dtype.kind not in "fc":
        return False
    squares = _squares(a)
    return bool(np.isnan(np.sum(a) if squares is None else squares))


def all_finite(a: np.ndarray) -> bool:
    """Whether ``a`` is free of inf and NaN (False also where its sum of squares, or sum,
    overflows: the caller then takes its exact route, which gives the same values)."""
    if a.dtype.kind not in "fc":
        return True
    squares = _squares(a)
    return bool(np.isfinite(np.sum(a) if squares is None else squares))


def first_nan(arg: np.ndarray, m: np.ndarray, views: list[np.ndarray]) -> None:
    """Where the maximum ``m`` of ``views`` is NaN, point ``arg`` at the first view holding
    NaN (``maximum`` propagates a NaN, but no value is ``>`` than it)."""
    isnan = np.isnan(m)
    for k in reversed(range(len(views))):
        np.copyto(arg, k, where=isnan & np.isnan(views[k]))


def _first_max(
    views: list[np.ndarray], m: np.ndarray, masks: list[np.ndarray | None], nan_possible: bool
) -> bool:
    """``m = `` the elementwise maximum of ``views``; ``masks[k]`` marks where ``views[k]``
    holds the first maximum (NaN counts as the maximum). Returns whether ``m`` may hold NaN
    (no check when ``nan_possible`` is False: the views are known to be free of it)."""
    if len(views) == 1:
        m[...] = views[0]
        return nan_possible
    np.maximum(views[0], views[1], out=m)
    if len(views) == 2:
        nan = nan_possible and has_nan(m)
        later = masks[1]
        assert later is not None and masks[0] is None  # offset 0: wherever ``later`` is not
        np.greater(views[1], views[0], out=later)
        if nan:
            later |= np.isnan(views[1])
            later &= ~np.isnan(views[0])
        return nan
    arg = np.zeros(m.shape, dtype=np.int8 if len(views) < 128 else np.int32)
    arg[views[1] > views[0]] = 1
    for k in range(2, len(views)):
        np.copyto(arg, k, where=views[k] > m)
        np.maximum(m, views[k], out=m)
    nan = nan_possible and has_nan(m)  # (after every view: a NaN may sit in any)
    if nan:
        first_nan(arg, m, views)
    for k, mask in enumerate(masks):
        np.equal(arg, k, out=mask)
    return nan


def _masks(count: int, shape: tuple[int, ...]) -> list[np.ndarray | None]:
    if count <= 2:  # offset 0 implicit: the complement of the other
        return [None] + [np.empty(shape, dtype=bool) for _ in range(count - 1)]
    return [np.empty(shape, dtype=bool) for _ in range(count)]


def max_and_masks(x: np.ndarray, params: Params) -> tuple[np.ndarray, Masks]:
    """``y (N, C, Ho, Wo)`` (in ``x``'s memory order when batch-last, else NCHW) and the
    masks of the two stages (by pieces of the frame's leading axis on threads)."""
    kernel, _, _, _, (ho, wo) = params
    kh, kw = kernel
    last = batch_last(x)
    f = _windows(_frame(x, last, (ho * kh, wo * kw)), kernel)
    lead, t = f.shape[0], f.shape[5]
    planes = np.empty((kw, kh, lead, ho, wo, t), dtype=x.dtype)
    y = np.empty((lead, ho, wo, t), dtype=x.dtype)
    a = np.empty((kh, lead, ho, wo, t), dtype=x.dtype) if kw > 1 else planes[0]
    masks = Masks(_masks(kw, a.shape), _masks(kh, y.shape), last)

    def piece(i: int, j: int) -> None:
        _offsets(planes)[i:j] = f[i:j]
        nan = True
        if kw > 1:  # (no NaN among the column maxima: none in the rows' stage either)
            views = [planes[q, :, i:j] for q in range(kw)]
            nan = _first_max(views, a[:, i:j], _sub(masks.cols, i, j, 1), True)
        rows = [a[p, i:j] for p in range(kh)]
        _first_max(rows, y[i:j], _sub(masks.rows, i, j, 0), nan)

    _threads.run(piece, _threads.pieces(lead, x.size))
    return _unframe(y, last, x.shape[0]), masks


def _sub(masks: list[np.ndarray | None], i: int, j: int, axis: int) -> list[np.ndarray | None]:
    """The masks' slices ``i:j`` of the frame's leading axis (``axis`` 1 for the columns')."""
    if axis:
        return [None if m is None else m[:, i:j] for m in masks]
    return [None if m is None else m[i:j] for m in masks]


def _put(g: np.ndarray, mask: np.ndarray, out: np.ndarray, exact: bool) -> None:
    if exact:  # inf * 0 would be NaN
        out[...] = np.where(mask, g, g.dtype.type(0))
    else:
        np.multiply(g, mask, out=out)


def _spread(
    g: np.ndarray, masks: list[np.ndarray | None], outs: list[np.ndarray], exact: bool
) -> None:
    """``outs[k] = g`` where ``masks[k]`` marks, else 0 (``masks[0]`` None: wherever the
    other offset's mask does not mark, all of ``g`` for a stage of one offset)."""
    for mask, out in zip(masks[1:], outs[1:]):
        _put(g, mask, out, exact)  # type: ignore[arg-type]
    if masks[0] is not None:
        _put(g, masks[0], outs[0], exact)
    elif len(outs) == 1:
        outs[0][...] = g
    elif exact:
        outs[0][...] = np.where(masks[1], g.dtype.type(0), g)  # type: ignore[arg-type]
    else:  # g - g C_1 is g where C_1 is 0 and 0 where it is 1 (g finite)
        np.subtract(g, outs[1], out=outs[0])


def scatter(gy: np.ndarray, masks: Masks, x_shape: tuple[int, ...], params: Params) -> np.ndarray:
    """``gy`` put at each window's first maximum, zero elsewhere (and in the cropped border),
    in the memory order of the forward's input frame."""
    kernel, _, _, _, (ho, wo) = params
    kh, kw = kernel
    n, c, h, w = x_shape
    hc, wc = ho * kh, wo * kw
    last = masks.last
    g = _frame(gy, last, (ho, wo))  # (L, Ho, Wo, T), any strides
    exact = not all_finite(gy)
    full = np.empty((c, h, w, n) if last else (n * c, h, w, 1), dtype=gy.dtype)
    lead, t = full.shape[0], full.shape[3]
    ga = np.empty((kh, lead, ho, wo, t), dtype=gy.dtype)
    planes = np.empty((kw, kh, lead, ho, wo, t), gy.dtype) if kw > 1 else ga[None]
    windows = _windows(full[:, :hc, :wc], kernel)

    def piece(i: int, j: int) -> None:
        rows = [ga[p, i:j] for p in range(kh)]
        _spread(g[i:j], _sub(masks.rows, i, j, 0), rows, exact)
        if kw > 1:
            cols = [planes[q, :, i:j] for q in range(kw)]
            _spread(ga[:, i:j], _sub(masks.cols, i, j, 1), cols, exact)
        windows[i:j] = _offsets(planes)[i:j]
        if (hc, wc) != (h, w):
            full[i:j, hc:] = 0
            full[i:j, :hc, wc:] = 0

    _threads.run(piece, _threads.pieces(lead, math.prod(x_shape)))
    return _unframe(full, last, n)


def _pick(views: list[np.ndarray], masks: list[np.ndarray | None]) -> np.ndarray:
    """The entry of ``views[k]`` where ``masks[k]`` marks (``masks[0]`` as in ``_spread``)."""
    if masks[0] is None:
        return views[0].copy() if len(views) == 1 else np.where(masks[1], views[1], views[0])  # type: ignore[arg-type]
    out = None
    for v, m in zip(views, masks):
        part = np.where(m, v, v.dtype.type(0))  # type: ignore[arg-type]
        out = part if out is None else np.add(out, part, out=out)
    assert out is not None
    return out


def gather(gx: np.ndarray, masks: Masks, params: Params) -> np.ndarray:
    """Adjoint of :func:`scatter`: the entry of ``gx`` at each window's first maximum."""
    kernel, _, _, _, (ho, wo) = params
    kh, kw = kernel
    f = _windows(_frame(gx, masks.last, (ho * kh, wo * kw)), kernel)
    planes = np.empty((kw, kh, f.shape[0], ho, wo, f.shape[5]), dtype=gx.dtype)
    _offsets(planes)[...] = f
    a = _pick([planes[q] for q in range(kw)], masks.cols)
    y = np.ascontiguousarray(_pick([a[p] for p in range(kh)], masks.rows))
    return _unframe(y, masks.last, gx.shape[0])


class MaxPoolTiles(mg.Function):
    """Max over tiling windows; keeps the first-maximum masks for the gradient."""

    def forward(self, x: np.ndarray, params: Params) -> np.ndarray:
        y, self.masks = max_and_masks(x, params)
        self.shape, self.params = x.shape, params
        return y

    def backward(self, gy: Any) -> Any:
        return MaxPoolTilesScatter.apply(gy, masks=self.masks, shape=self.shape, params=self.params)


class MaxPoolTilesScatter(mg.Function):
    """Gradient of :class:`MaxPoolTiles`: ``gy`` put at each window's first maximum."""

    def forward(
        self, gy: np.ndarray, masks: Masks, shape: tuple[int, ...], params: Params
    ) -> np.ndarray:
        self.masks, self.params = masks, params
        return scatter(gy, masks, shape, params)

    def backward(self, ggx: Any) -> Any:
        return MaxPoolTilesGather.apply(ggx, masks=self.masks, params=self.params)


class MaxPoolTilesGather(mg.Function):
    """The entries of ``x`` at the marked positions (adjoint of the scatter)."""

    def forward(self, x: np.ndarray, masks: Masks, params: Params) -> np.ndarray:
        self.masks, self.shape, self.params = masks, x.shape, params
        return gather(x, masks, params)

    def backward(self, gy: Any) -> Any:
        return MaxPoolTilesScatter.apply(gy, masks=self.masks, shape=self.shape, params=self.params)
