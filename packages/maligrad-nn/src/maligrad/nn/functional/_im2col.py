"""Window views and their adjoint: the numpy kernels under convolution and pooling.

``windows`` returns a strided *view* (no copy) of every ``kh x kw`` window of a padded
NCHW array, laid out ``(N, C, kh, kw, Ho, Wo)``; ``col2im`` is its adjoint: it adds such
an array back into an ``(N, C, Hp, Wp)`` canvas with one slice-add per kernel offset
(``kh * kw`` vectorised adds, never ``np.add.at``). When windows tile the input exactly
(stride == kernel, no dilation) both become a reshape.
"""

from __future__ import annotations

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
