"""``embedding`` (a row lookup) and ``one_hot``.

``embedding(idx, W) = W[idx]``. Its gradient adds each output gradient row into row
``idx`` of ``dW`` (repeated indices accumulate); the row ``padding_idx`` gets no gradient.

    >>> import numpy as np, maligrad
    >>> import maligrad.nn.functional as F
    >>> W = maligrad.Variable(np.arange(6, dtype=np.float32).reshape(3, 2))
    >>> F.embedding(maligrad.Variable(np.array([2, 0])), W).data
    array([[4., 5.],
           [0., 1.]], dtype=float32)
    >>> F.one_hot(maligrad.Variable(np.array([0, 2])), 3).data
    array([[1, 0, 0],
           [0, 0, 1]])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from maligrad import Function, Variable, no_grad


class Gather(Function):
    """Rows ``W[idx]``; with ``zero_pad`` the rows at ``idx == pad`` are zero."""

    def forward(
        self, w: np.ndarray, idx: np.ndarray, pad: int | None, zero_pad: bool = False
    ) -> np.ndarray:
        self.idx, self.pad, self.num = idx, pad, w.shape[0]
        out = w[idx]
        if zero_pad and pad is not None:
            out[idx == pad] = 0
        return out

    def backward(self, gy: Variable) -> Any:
        return Scatter.apply(gy, idx=self.idx, pad=self.pad, num=self.num)


class Scatter(Function):
    """Adjoint of ``Gather``: add row gradients into a ``(num, dim)`` array."""

    def forward(self, g: np.ndarray, idx: np.ndarray, pad: int | None, num: int) -> np.ndarray:
        self.idx, self.pad = idx, pad
        dim = g.shape[idx.ndim :]
        flat_idx = idx.reshape(-1)
        flat_g = g.reshape((-1, *dim))
        if pad is not None:
            keep = flat_idx != pad
            flat_idx, flat_g = flat_idx[keep], flat_g[keep]
        out = np.zeros((num, *dim), dtype=g.dtype)
        np.add.at(out, flat_idx, flat_g)
        return out

    def backward(self, gw: Variable) -> Any:
        return Gather.apply(gw, idx=self.idx, pad=self.pad, zero_pad=True)


def embedding(
    input: Variable,
    weight: Variable,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
) -> Variable:
    """Look up rows of ``weight`` (``(num_embeddings, dim)``) at integer indices ``input``.

    Indices must lie in ``[0, num_embeddings)`` (IndexError otherwise, as in PyTorch: a
    negative index does not count from the end); float indices are a TypeError.

    ``padding_idx``: that row receives no gradient. ``max_norm``: rows that are looked up
    and whose ``norm_type``-norm exceeds it are rescaled in place to norm ``max_norm``.
    """
    if isinstance(input, Variable):
        idx = input.data
    elif isinstance(input, (np.ndarray, np.generic)):
        idx = np.asarray(input)
    else:
        raise TypeError(
            f"embedding: input expected a Variable or array, got {type(input).__name__}"
        )
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {idx.dtype}")
    num = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= num):
        bad = idx[(idx < 0) | (idx >= num)].flat[0]
        raise IndexError(
            f"embedding: index {bad} is out of range [0, {num}) for {num} embeddings "
            f"(indices span [{idx.min()}, {idx.max()}])"
        )
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"padding_idx {padding_idx} is out of range for {num} embeddings")
        padding_idx %= num
    if max_norm is not None:
        rows = np.unique(idx)
        norms = np.linalg.norm(weight.data[rows], ord=norm_type, axis=-1, keepdims=True)
        scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        with no_grad():  # an in-place assignment: moves weight's version counter on
            weight[rows] = weight.data[rows] * scale.astype(weight.dtype)
    return Gather.apply(weight, idx=idx, pad=padding_idx)


def one_hot(tensor: Any, num_classes: int = -1) -> Variable:
    """int64 one-hot encoding with a new last dimension of size ``num_classes``.

    ``num_classes=-1`` uses ``max(tensor) + 1``.
    """
    idx = tensor.data if isinstance(tensor, Variable) else np.asarray(tensor)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot expects integer class indices, got dtype {idx.dtype}")
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise ValueError(
            f"one_hot: class values must be in [0, {num_classes}), got [{idx.min()}, {idx.max()}]"
        )
    out = np.zeros((*idx.shape, num_classes), dtype=np.int64)
    np.put_along_axis(out, idx[..., None].astype(np.intp), 1, axis=-1)
    return Variable(out)
