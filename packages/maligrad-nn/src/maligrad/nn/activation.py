"""Activation layers: thin Modules over :mod:`maligrad.nn.functional`.

>>> import numpy as np, maligrad
>>> from maligrad import nn
>>> nn.Tanh()(maligrad.Variable(np.array([0.0], np.float32))).data
array([0.], dtype=float32)
"""

from __future__ import annotations

from maligrad import Variable, sigmoid, tanh
from maligrad.nn.functional import activation as A
from maligrad.nn.module import Module


class ReLU(Module):
    """``max(x, 0)``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Variable) -> Variable:
        return A.Relu.apply(input)


class LeakyReLU(Module):
    """``x`` if ``x > 0`` else ``negative_slope * x``."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: Variable) -> Variable:
        return A.LeakyRelu.apply(input, slope=self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class GELU(Module):
    """``x Phi(x)`` (``approximate='tanh'`` for the tanh approximation)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input: Variable) -> Variable:
        return A.Gelu.apply(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """``x sigmoid(x)``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Variable) -> Variable:
        return A.Silu.apply(input)


class Tanh(Module):
    """Hyperbolic tangent."""

    def forward(self, input: Variable) -> Variable:
        return tanh(input)


class Sigmoid(Module):
    """``1 / (1 + e^-x)``."""

    def forward(self, input: Variable) -> Variable:
        return sigmoid(input)


class Softmax(Module):
    """Softmax along ``dim``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Variable) -> Variable:
        return A.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """Log-softmax along ``dim``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Variable) -> Variable:
        return A.log_softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
