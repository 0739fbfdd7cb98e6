"""``Embedding``: a learnable lookup table of vectors.

>>> import numpy as np, maligrad
>>> from maligrad import nn
>>> emb = nn.Embedding(10, 4, padding_idx=0)
>>> emb(maligrad.Variable(np.array([[0, 3]]))).shape
(1, 2, 4)
>>> bool((emb.weight.data[0] == 0).all())
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from maligrad import Variable, no_grad
from maligrad.nn import init
from maligrad.nn.functional._common import check_number, check_size, layer_input
from maligrad.nn.functional.embedding import embedding
from maligrad.nn.module import Module
from maligrad.nn.parameter import Parameter, parameter_dtype


class Embedding(Module):
    """Rows of ``weight`` (``(num_embeddings, embedding_dim)``, init ``N(0, 1)``) by index.

    Args:
        num_embeddings: size of the table.
        embedding_dim: size of each vector.
        padding_idx: this row starts at zero and receives no gradient.
        max_norm: rows looked up with a larger ``norm_type``-norm are renormalised in place.
        _weight: optional initial table.
        generator: optional ``int`` seed or ``numpy.random.Generator`` for the initialisation.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        _weight: Any = None,
        dtype: Any = None,
        generator: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        num_embeddings = check_size("Embedding", "num_embeddings", num_embeddings)
        embedding_dim = check_size("Embedding", "embedding_dim", embedding_dim)
        if padding_idx is not None:
            padding_idx = check_size("Embedding", "padding_idx", padding_idx, None)
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx {padding_idx} must be within num_embeddings "
                    f"{num_embeddings} (in [-{num_embeddings}, {num_embeddings}))"
                )
            padding_idx %= num_embeddings
        if max_norm is not None:
            max_norm = check_number("Embedding", "max_norm", max_norm, 0.0, low_open=True)
        norm_type = check_number("Embedding", "norm_type", norm_type)
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        self.norm_type = norm_type
        dt = parameter_dtype(dtype)
        if _weight is None:
            self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype=dt))
            self.reset_parameters(generator)
        else:
            w = _weight.data if isinstance(_weight, Variable) else np.asarray(_weight)
            if w.shape != (num_embeddings, embedding_dim):
                raise ValueError(
                    f"_weight has shape {w.shape}, expected {(num_embeddings, embedding_dim)}"
                )
            self.weight = Parameter(w)

    def reset_parameters(self, generator: int | np.random.Generator | None = None) -> None:
        """Re-draw the parameters with the initialisation described above (PyTorch's default)."""
        init.normal_(self.weight, generator=generator)
        if self.padding_idx is not None:
            with no_grad():
                self.weight.data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(
        cls, embeddings: Any, freeze: bool = True, padding_idx: int | None = None
    ) -> Embedding:
        """An Embedding holding ``embeddings`` (2-D); frozen unless ``freeze=False``."""
        w = embeddings.data if isinstance(embeddings, Variable) else np.asarray(embeddings)
        if w.ndim != 2:
            raise ValueError(f"embeddings must be 2-D, got shape {w.shape}")
        emb = cls(w.shape[0], w.shape[1], padding_idx=padding_idx, _weight=w.copy())
        emb.weight.requires_grad = not freeze
        return emb

    def forward(self, input: Any) -> Variable:
        """The rows of ``weight`` at the indices in ``input``."""
        if not isinstance(input, Variable):
            input = layer_input(input, "Embedding")
        return embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type)

    def extra_repr(self) -> str:
        """The constructor arguments shown inside ``repr(module)``."""
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        return s
