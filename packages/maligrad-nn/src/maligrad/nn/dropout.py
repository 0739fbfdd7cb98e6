"""``Dropout``: randomly zero elements during training (identity in ``eval()``).

>>> import numpy as np, maligrad
>>> from maligrad import nn
>>> drop = nn.Dropout(0.5).eval()
>>> drop(maligrad.Variable(np.ones(3, np.float32))).data
array([1., 1., 1.], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from maligrad import Variable
from maligrad.nn.functional._common import check_number, layer_input
from maligrad.nn.functional.dropout import dropout
from maligrad.nn.module import Module


class Dropout(Module):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Args:
        p: drop probability in ``[0, 1]``.
        inplace: write the result into the input's array (outside the graph only; see
            [`dropout`][maligrad.nn.functional.dropout]).
        generator: optional ``numpy.random.Generator`` for the masks (else the default).
    """

    def __init__(
        self, p: float = 0.5, inplace: bool = False, generator: np.random.Generator | None = None
    ) -> None:
        super().__init__()
        self.p = check_number("Dropout", "p", p, 0.0, 1.0)
        self.inplace = bool(inplace)
        self.generator = generator

    def forward(self, input: Variable) -> Variable:
        """Drop elements in training mode; the identity in eval mode."""
        if not isinstance(input, Variable):
            input = layer_input(input, "Dropout")
        return dropout(input, self.p, self.training, self.inplace, generator=self.generator)

    def extra_repr(self) -> str:
        """The constructor arguments shown inside ``repr(module)``."""
        return f"p={self.p}, inplace={self.inplace}"
