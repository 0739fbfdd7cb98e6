"""``dropout``: zero each element with probability ``p`` and scale the rest by ``1/(1-p)``.

``y = x m / (1 - p)`` with ``m ~ Bernoulli(1 - p)``; the gradient ``g m / (1 - p)`` is a
maligrad op (a product with a constant), so it is differentiable again. In
evaluation (``training=False``) or with ``p = 0`` it is the identity.

    >>> import numpy as np, maligrad
    >>> import maligrad.nn.functional as F
    >>> x = maligrad.Variable(np.ones(6, np.float32))
    >>> y = F.dropout(x, 0.5, generator=np.random.default_rng(0))
    >>> sorted(set(y.data.tolist()))
    [0.0, 2.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from maligrad import Function, Variable
from maligrad.nn.functional._common import check_number, write_inplace
from maligrad.random import generator_or_default


class Dropout(Function):
    def forward(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        self.mask = mask
        return x * mask

    def backward(self, gy: Variable) -> Any:
        return gy * self.mask


def dropout(
    input: Variable,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    generator: np.random.Generator | None = None,
) -> Variable:
    """Inverted dropout: zero with probability ``p``, scale the kept elements by ``1/(1-p)``.

    ``inplace=True`` writes the result into ``input``'s array and returns ``input``; as for
    every in-place change in maligrad, only outside the graph (an input that requires grad
    while the graph is recorded raises; see [`relu`][maligrad.nn.functional.relu]).
    """
    p = check_number("dropout", "p", p, 0.0, 1.0)
    if not training or p == 0.0:
        return input
    data = input.data if isinstance(input, Variable) else np.asarray(input)
    if data.dtype.kind != "f":
        raise TypeError(f"dropout expects a floating input, got dtype {data.dtype}")
    if p == 1.0:
        mask = np.zeros(data.shape, dtype=data.dtype)
    else:
        rng = generator_or_default(generator)
        draw_dtype = data.dtype if data.dtype in (np.float32, np.float64) else np.float64
        keep = rng.random(data.shape, dtype=draw_dtype) >= p
        mask = keep.astype(data.dtype) * np.asarray(1.0 / (1.0 - p), dtype=data.dtype)
    if inplace:
        return write_inplace(input, Dropout.apply(input, mask=mask), "dropout")
    return Dropout.apply(input, mask=mask)
