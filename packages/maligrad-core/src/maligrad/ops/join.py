"""Joining and splitting: ``concatenate``, ``stack``, ``split`` and ``pad``.

Gradients: each input of ``concatenate``/``stack`` gets its slice of ``g``; ``split``
returns slices (each a ``x[key]`` node); ``pad`` takes the centre of ``g``, and for
``mode="reflect"`` first folds the mirrored borders back onto the entries they copy.

    >>> import numpy as np
    >>> from maligrad import Variable, concatenate
    >>> a = Variable(np.ones(2), requires_grad=True)
    >>> (concatenate([a, a * 3]) * np.arange(4.0)).sum().backward()
    >>> a.grad.data
    array([ 6., 10.])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from maligrad.function import Function
from maligrad.ops.indexing import GetItem, IndexAdd
from maligrad.ops.reductions import normalize_axis


class Concatenate(Function):
    def forward(self, *xs: np.ndarray, axis: int = 0) -> np.ndarray:
        if not xs:
            raise ValueError("concatenate needs at least one array")
        (self.axis,) = normalize_axis(axis, np.ndim(xs[0]))
        self.bounds = np.cumsum([0] + [np.shape(x)[self.axis] for x in xs])
        try:
            return np.concatenate(xs, axis=self.axis)
        except ValueError:
            shapes = ", ".join(str(np.shape(x)) for x in xs)
            raise ValueError(
                f"concatenate along axis {axis}: shapes {shapes} differ off that axis"
            ) from None

    def backward(self, gy: Any) -> Any:
        lead = (slice(None),) * self.axis
        return tuple(
            GetItem.apply(gy, key=lead + (slice(int(s), int(e)),)) if need else None
            for s, e, need in zip(self.bounds[:-1], self.bounds[1:], self.needs_input_grad)
        )


class Stack(Function):
    def forward(self, *xs: np.ndarray, axis: int = 0) -> np.ndarray:
        if not xs:
            raise ValueError("stack needs at least one array")
        ndim = np.ndim(xs[0]) + 1
        (self.axis,) = normalize_axis(axis, ndim)
        try:
            return np.stack(xs, axis=self.axis)
        except ValueError:
            shapes = ", ".join(str(np.shape(x)) for x in xs)
            raise ValueError(f"stack: all shapes must be equal, got {shapes}") from None

    def backward(self, gy: Any) -> Any:
        lead = (slice(None),) * self.axis
        return tuple(
            GetItem.apply(gy, key=lead + (i,)) if need else None
            for i, need in enumerate(self.needs_input_grad)
        )


class Pad(Function):
    """``np.pad`` with ``mode="constant"`` (any ``value``) or ``mode="reflect"``."""

    def forward(
        self, x: np.ndarray, pad_width: Any, mode: str = "constant", value: float = 0.0
    ) -> np.ndarray:
        widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
        if (widths < 0).any():
            raise ValueError(f"pad widths must be non-negative, got {pad_width!r}")
        self.x_shape = x.shape
        self.centre = tuple(slice(int(lo), int(lo) + n) for (lo, _), n in zip(widths, x.shape))
        if mode == "constant":
            self.index = None
            return np.pad(x, widths, mode="constant", constant_values=value)
        if mode == "reflect":
            for (lo, hi), n in zip(widths, x.shape):
                if max(lo, hi) > n - 1 and (lo or hi):
                    raise ValueError(
                        f"reflect padding of {max(lo, hi)} needs an axis longer than that, "
                        f"got shape {x.shape}"
                    )
            # Reflect padding is gathering with mirrored indices along every axis.
            self.index = np.ix_(
                *[_reflect_index(n, int(lo), int(hi)) for (lo, hi), n in zip(widths, x.shape)]
            )
            return x[self.index]
        raise ValueError(f"pad mode must be 'constant' or 'reflect', got {mode!r}")

    def backward(self, gy: Any) -> Any:
        if self.index is None:
            return GetItem.apply(gy, key=self.centre)
        return IndexAdd.apply(gy, key=self.index, shape=self.x_shape)


def _reflect_index(n: int, lo: int, hi: int) -> np.ndarray:
    i = np.arange(-lo, n + hi)
    if n == 1:
        return np.zeros_like(i)
    period = 2 * (n - 1)
    i = np.abs(i) % period
    return np.where(i >= n, period - i, i)


def concatenate(xs: Sequence[Any], axis: int = 0) -> Any:
    """Join Variables along an existing ``axis``, as ``np.concatenate``.

    Gradient: each input gets its own slice of ``g`` along ``axis``.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> a = mg.Variable(np.ones(2), requires_grad=True)
        >>> y = mg.concatenate([a, np.zeros(1)])
        >>> y.data.tolist()
        [1.0, 1.0, 0.0]
        >>> (y * np.array([1.0, 2.0, 3.0])).sum().backward()
        >>> a.grad.data.tolist()
        [1.0, 2.0]
    """
    return Concatenate.apply(*xs, axis=axis)


def stack(xs: Sequence[Any], axis: int = 0) -> Any:
    """Join Variables of one shape along a new ``axis``, as ``np.stack``.

    Gradient: input ``i`` gets ``g`` indexed at ``i`` along ``axis``.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> a = mg.Variable(np.ones(2), requires_grad=True)
        >>> y = mg.stack([a, a * 2], axis=1)
        >>> y.data.tolist()
        [[1.0, 2.0], [1.0, 2.0]]
        >>> y.sum().backward()
        >>> a.grad.data.tolist()
        [3.0, 3.0]
    """
    return Stack.apply(*xs, axis=axis)


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """Split ``x`` along ``axis`` into a list of Variables, as ``np.split``.

    ``indices_or_sections`` is a number of equal sections (which must divide the axis) or
    the indices to cut at. Each part is an ``x[...]`` slice, so its gradient is scattered
    back into the matching slice of ``x``.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> parts = mg.split(mg.Variable(np.arange(5.0)), [2])
        >>> [p.data.tolist() for p in parts]
        [[0.0, 1.0], [2.0, 3.0, 4.0]]
    """
    (ax,) = normalize_axis(axis, x.ndim)
    n = x.shape[ax]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0 or n % sections:
            raise ValueError(
                f"split: axis {axis} of length {n} does not divide into {sections} equal sections"
            )
        cuts = list(range(0, n + 1, n // sections))
    else:
        cuts = [0, *[int(i) for i in indices_or_sections], n]
    lead = (slice(None),) * ax
    return [x[lead + (slice(s, e),)] for s, e in zip(cuts[:-1], cuts[1:])]


def pad(x: Any, pad_width: Any, mode: str = "constant", value: float = 0.0) -> Any:
    """Pad ``x`` like ``np.pad``: ``mode`` is ``"constant"`` (with ``value``) or ``"reflect"``.

    ``pad_width`` is numpy's: one ``(before, after)`` pair per axis, one pair for all, or
    an int. Gradient: the centre of ``g`` (the entries that came from ``x``); with
    ``"reflect"`` the mirrored borders' gradients are first added onto the entries they copy.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([1.0, 2.0, 3.0]), requires_grad=True)
        >>> y = mg.pad(x, 1, mode="reflect")
        >>> y.data.tolist()
        [2.0, 1.0, 2.0, 3.0, 2.0]
        >>> y.sum().backward()
        >>> x.grad.data.tolist()
        [1.0, 3.0, 1.0]
    """
    return Pad.apply(x, pad_width=pad_width, mode=mode, value=value)
