"""Max pooling over windows that tile the input (stride == kernel, no dilation, no padding).

The fast path of ``max_pool2d`` (LeNet's and most CNNs' 2x2 pooling), in two separable
stages, each a few elementwise maxima over long strided views. Cropped to whole windows
and made contiguous, ``x (N, C, H, W)`` is read as

    stage 1 (columns):  X1[r, q] = x[n, c, h, j kw + q]            r = (n, c, h, j)
                        a[r]     = max_q X1[r, q]                   a is (N, C, Ho kh, Wo)
    stage 2 (rows):     A2[s, p, j] = a[n, c, i kh + p, j]          s = (n, c, i)
                        y[s, j]     = max_p A2[s, p, j]             y is (N, C, Ho, Wo)

Each stage keeps one boolean mask per offset marking the *first* maximum (strict ``>``
against the running maximum, so ties go to the lowest offset). The window's row-major
first maximum is the first maximum column within the first maximum row, so the two stages
reproduce the general kernel's (and PyTorch's) tie rule exactly. Where a maximum is NaN
(NaN propagates through ``maximum``), the first NaN is marked instead.

The gradient runs the stages backwards, with the forward's masks:

    gA2[s, p, j] = R_p[s, j] gy[s, j]        gX1[r, q] = C_q[r] ga[r]

(``kh + kw`` products writing strided views; ``np.where`` instead of a product when ``gy``
holds inf or NaN, so that a masked-out position gets exactly 0). Its adjoint, the gradient
of the gradient, sums the masked entries stage by stage, which picks the one marked entry
of each window. The masks are shared, read-only, by every Function of the pair.

With several threads (``nn.set_num_threads``) the forward pass and the gradient split the
batch into one piece per thread: samples are independent, and each piece writes its own
rows of the output and of the masks.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import maligrad as mg
from maligrad.nn.functional import _threads
from maligrad.nn.functional._im2col import Pair, Quad

# (kernel, stride, padding (t, b, l, r), dilation, out (Ho, Wo)), as in ``pooling``.
Params = tuple[Pair, Pair, Quad, Pair, Pair]


def applies(params: Params) -> bool:
    """Whether the windows tile the input: stride == kernel, dilation 1, no padding."""
    k, s, p, d, _ = params
    return s == k and d == (1, 1) and not any(p)


def _stages(shape: tuple[int, ...], params: Params) -> tuple[tuple[int, ...], ...]:
    """Shapes of the cropped input, of ``X1 (M, kw)`` and of ``A2 (S, kh, Wo)``."""
    (kh, kw), _, _, _, (ho, wo) = params
    n, c = shape[:2]
    return (n, c, ho * kh, wo * kw), (n * c * ho * kh * wo, kw), (n * c * ho, kh, wo)


def _first_max(views: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """Elementwise maximum of ``views`` and one mask per view marking the first maximum."""
    if len(views) == 1:
        return views[0], [None]
    m = np.maximum(views[0], views[1])
    if len(views) == 2:
        later = np.greater(views[1], views[0])
        if m.dtype.kind in "fc" and np.isnan(m).any():
            later |= np.isnan(views[1])
            later &= ~np.isnan(views[0])
        return m, [~later, later]
    arg = np.zeros(m.shape, dtype=np.int8 if len(views) < 128 else np.int32)
    arg[views[1] > views[0]] = 1
    for k in range(2, len(views)):
        np.copyto(arg, k, where=views[k] > m)
        np.maximum(m, views[k], out=m)
    if m.dtype.kind in "fc" and np.isnan(m).any():
        nan = np.isnan(m)
        for k in reversed(range(len(views))):
            np.copyto(arg, k, where=nan & np.isnan(views[k]))
    return m, [arg == k for k in range(len(views))]


Masks = tuple[list[np.ndarray | None], list[np.ndarray | None]]


def max_and_masks(x: np.ndarray, params: Params) -> tuple[np.ndarray, Masks]:
    """``y (N, C, Ho, Wo)`` and the masks of the two stages (by batch pieces on threads)."""
    parts = _threads.pieces(x.shape[0], x.size)
    if len(parts) == 1:
        return _max_and_masks(x, params)
    n = x.shape[0]
    crop, s1, s2 = _stages(x.shape, params)
    (kh, kw), _, _, _, (ho, wo) = params
    y = np.empty((n, crop[1], ho, wo), dtype=x.dtype)
    cols: list[np.ndarray | None] = [None]
    rows: list[np.ndarray | None] = [None]
    if kw > 1:
        cols = [np.empty(s1[0], dtype=bool) for _ in range(kw)]
    if kh > 1:
        rows = [np.empty((s2[0], wo), dtype=bool) for _ in range(kh)]
    r1, r2 = s1[0] // n, s2[0] // n  # mask rows per sample

    def piece(a: int, b: int) -> None:
        y[a:b], (cp, rp) = _max_and_masks(x[a:b], params)
        for whole, part in zip(cols + rows, cp + rp):
            if whole is not None:
                r = r1 if whole.ndim == 1 else r2
                whole[a * r : b * r] = part

    _threads.run(piece, parts)
    return y, (cols, rows)


def _max_and_masks(x: np.ndarray, params: Params) -> tuple[np.ndarray, Masks]:
    crop, s1, s2 = _stages(x.shape, params)
    xc = np.ascontiguousarray(x[:, :, : crop[2], : crop[3]]).reshape(s1)
    a, cols = _first_max([xc[:, q] for q in range(s1[1])])
    a2 = a.reshape(s2)
    y, rows = _first_max([a2[:, p] for p in range(s2[1])])
    n, c, ho, wo = crop[0], crop[1], s2[0] // (crop[0] * crop[1]), s2[2]
    if params[0] == (1, 1):  # no maximum taken: y is still a view of x
        y = y.copy()
    return y.reshape(n, c, ho, wo), (cols, rows)


def _put(g: np.ndarray, mask: np.ndarray | None, out: np.ndarray, exact: bool) -> None:
    if mask is None:
        out[...] = g
    elif exact:  # inf * 0 would be NaN
        out[...] = np.where(mask, g, g.dtype.type(0))
    else:
        np.multiply(g, mask, out=out)


def scatter(gy: np.ndarray, masks: Masks, x_shape: tuple[int, ...], params: Params) -> np.ndarray:
    """``gy`` put at each window's first maximum, zero elsewhere (and in the cropped border)."""
    n = x_shape[0]
    parts = _threads.pieces(n, math.prod(x_shape))
    if len(parts) == 1:
        return _scatter(gy, masks, x_shape, params)
    out = np.empty(x_shape, dtype=gy.dtype)
    _, s1, s2 = _stages(x_shape, params)
    r1, r2 = s1[0] // n, s2[0] // n
    cols, rows = masks

    def piece(a: int, b: int) -> None:
        sub = (
            [None if m is None else m[a * r1 : b * r1] for m in cols],
            [None if m is None else m[a * r2 : b * r2] for m in rows],
        )
        _scatter(gy[a:b], sub, (b - a, *x_shape[1:]), params, out[a:b])

    _threads.run(piece, parts)
    return out


def _scatter(
    gy: np.ndarray,
    masks: Masks,
    x_shape: tuple[int, ...],
    params: Params,
    out: np.ndarray | None = None,
) -> np.ndarray:
    crop, s1, s2 = _stages(x_shape, params)
    cols, rows = masks
    exact = gy.dtype.kind in "fc" and not np.isfinite(gy).all()
    gyr = gy.reshape(s2[0], s2[2])
    ga = np.empty(s2, dtype=gy.dtype)
    for p, m in enumerate(rows):
        _put(gyr, m, ga[:, p], exact)
    gaf = ga.reshape(-1)
    whole = tuple(x_shape) == crop
    gx = out.reshape(s1) if out is not None and whole else np.empty(s1, dtype=gy.dtype)
    for q, m in enumerate(cols):
        _put(gaf, m, gx[:, q], exact)
    if whole:
        return gx.reshape(crop)
    if out is None:
        full = np.zeros(x_shape, dtype=gy.dtype)
    else:
        full = out
        full.fill(0)
    full[:, :, : crop[2], : crop[3]] = gx.reshape(crop)
    return full


def _pick(views: list[np.ndarray], masks: list[np.ndarray | None]) -> np.ndarray:
    out = None
    for v, m in zip(views, masks):
        part = v.copy() if m is None else np.where(m, v, v.dtype.type(0))
        out = part if out is None else np.add(out, part, out=out)
    assert out is not None
    return out


def gather(gx: np.ndarray, masks: Masks, params: Params) -> np.ndarray:
    """Adjoint of :func:`scatter`: the entry of ``gx`` at each window's first maximum."""
    crop, s1, s2 = _stages(gx.shape, params)
    cols, rows = masks
    xc = np.ascontiguousarray(gx[:, :, : crop[2], : crop[3]]).reshape(s1)
    a2 = _pick([xc[:, q] for q in range(s1[1])], cols).reshape(s2)
    y = _pick([a2[:, p] for p in range(s2[1])], rows)
    return y.reshape(crop[0], crop[1], s2[0] // (crop[0] * crop[1]), s2[2])


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
