"""Indexing: ``x[key]`` and differentiable ``x[key] = value``.

``x[key]`` accepts everything numpy does (ints, slices, ``None``, ``...``, integer and
boolean arrays). Its gradient scatters ``g`` back into zeros of ``x``'s shape, adding where
an integer index repeats (``np.add.at``). ``x[key] = value`` copies ``x``'s array first,
so an array saved for backward is never overwritten; the gradient of the old ``x`` is
``g`` with ``key`` zeroed, that of ``value`` is ``g[key]``.

    >>> import numpy as np
    >>> from maligrad import Variable
    >>> x = Variable(np.zeros(3), requires_grad=True)
    >>> x[np.array([0, 0, 2])].sum().backward()
    >>> x.grad.data
    array([2., 0., 1.])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from maligrad import version_counter
from maligrad.function import Function
from maligrad.grad_mode import GradMode
from maligrad.ops.broadcast import sum_to
from maligrad.variable import Variable


def _plain_key(key: Any) -> Any:
    """Replace Variables, lists and inner tuples of an index by arrays, as numpy reads them.

    ``x[(0, 0), (1, 1)]`` indexes with two integer arrays (numpy's advanced indexing), so
    that repeated positions take the accumulating path of the gradient.
    """
    if isinstance(key, Variable):
        return key.data
    if isinstance(key, tuple):
        return tuple(
            k.data
            if isinstance(k, Variable)
            else _index_array(k)
            if isinstance(k, (list, tuple))
            else k
            for k in key
        )
    if isinstance(key, list):
        return _index_array(key)
    return key


def _index_array(seq: list[Any] | tuple[Any, ...]) -> np.ndarray:
    array = np.asarray(seq)
    return array.astype(np.intp) if array.size == 0 else array


def _has_int_array(key: Any) -> bool:
    parts = key if isinstance(key, tuple) else (key,)
    return any(isinstance(k, np.ndarray) and k.dtype.kind in "iu" for k in parts)


def _index(x: np.ndarray, key: Any) -> np.ndarray:
    try:
        return x[key]
    except IndexError as err:
        raise IndexError(f"{err} (indexing a Variable of shape {x.shape} with {key!r})") from None


class GetItem(Function):
    def forward(self, x: np.ndarray, key: Any) -> np.ndarray:
        self.key = _plain_key(key)
        self.x_shape = x.shape
        out = _index(x, self.key)
        return out if isinstance(out, np.ndarray) else np.asarray(out)

    def backward(self, gy: Any) -> Any:
        return IndexAdd.apply(gy, key=self.key, shape=self.x_shape)


class IndexAdd(Function):
    """Zeros of ``shape`` with ``g`` added at ``key`` (the adjoint of ``x[key]``)."""

    def forward(self, g: np.ndarray, key: Any, shape: tuple[int, ...]) -> np.ndarray:
        self.key = key
        out = np.zeros(shape, dtype=g.dtype)
        if _has_int_array(key):
            np.add.at(out, key, g)
        else:
            out[key] = g
        return out

    def backward(self, gy: Any) -> Any:
        return GetItem.apply(gy, key=self.key)


class SetItem(Function):
    """A copy of ``x`` with ``x[key] = value``."""

    def forward(self, x: np.ndarray, value: Any, key: Any) -> np.ndarray:
        self.key = key
        self.value_shape = np.shape(value)
        out = x.copy()
        try:
            out[key] = value
        except ValueError:
            raise ValueError(
                f"cannot assign a value of shape {np.shape(value)} to x{_describe(key)} of a "
                f"Variable of shape {x.shape}"
            ) from None
        return out

    def backward(self, gy: Any) -> Any:
        needs = self.needs_input_grad
        gx = SetItem.apply(gy, 0, key=self.key) if needs[0] else None
        gv = None
        if needs[1]:
            gv = GetItem.apply(gy, key=self.key)
            extra = len(self.value_shape) - gv.ndim
            if extra > 0:  # numpy drops leading size-1 axes of the value when assigning
                gv = gv.reshape((1,) * extra + gv.shape)
            gv = sum_to(gv, self.value_shape)
        return gx, gv


def _describe(key: Any) -> str:
    return f"[{key!r}]" if not isinstance(key, tuple) else f"[{', '.join(map(repr, key))}]"


def set_item(x: Any, key: Any, value: Any) -> None:
    """``x[key] = value``: recorded in the graph when ``x`` or ``value`` requires grad."""
    key = _plain_key(key)
    value_requires = isinstance(value, Variable) and value.requires_grad
    if GradMode.enabled and (x.requires_grad or value_requires):
        if x.requires_grad and x.grad_fn is None:
            raise RuntimeError(
                f"a leaf Variable of shape {x.shape} that requires grad cannot be modified in "
                "place; assign into a clone() or inside `with maligrad.no_grad():`"
            )
        version = x._version
        out = SetItem.apply(x, value, key=key)
        x.data = out.data
        x.grad_fn = out.grad_fn
        x.requires_grad = True
        # A new array: views of the old one no longer share x's version counter.
        x._version_box = version_counter.new(version + 1)
        return
    else:
        v = value.data if isinstance(value, Variable) else value
        try:
            x.data[key] = v
        except ValueError:
            raise ValueError(
                f"cannot assign a value of shape {np.shape(v)} to x{_describe(key)} of a "
                f"Variable of shape {x.shape}"
            ) from None
        x._bump_version()
