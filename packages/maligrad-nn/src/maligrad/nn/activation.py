"""Activation layers: thin Modules over [`maligrad.nn.functional`][maligrad.nn.functional].

Integer and bool inputs are promoted to the default float dtype by every layer whose
values are not integers (all but ``ReLU``). ``inplace=True`` overwrites the input's array
outside the graph only (see [`relu`][maligrad.nn.functional.relu]).

>>> import numpy as np, maligrad
>>> from maligrad import nn
>>> nn.Tanh()(maligrad.Variable(np.array([0.0], np.float32))).data
array([0.], dtype=float32)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from maligrad import Variable
from maligrad.nn.functional import activation as A
from maligrad.nn.functional._common import check_number, check_size, layer_input
from maligrad.nn.module import Module


def _inplace_flag(layer: str, inplace: Any) -> bool:
    if not isinstance(inplace, (bool, np.bool_)):
        raise TypeError(f"{layer}: inplace must be a bool, got {type(inplace).__name__}")
    return bool(inplace)


class ReLU(Module):
    """``max(x, 0)``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = _inplace_flag("ReLU", inplace)

    def forward(self, input: Variable) -> Variable:
        """Apply ReLU elementwise; same shape as ``input``."""
        if not isinstance(input, Variable):
            input = layer_input(input, "ReLU")
        return A.relu(input, self.inplace)

    def extra_repr(self) -> str:
        """The constructor arguments shown inside ``repr(module)``."""
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """``x`` if ``x > 0`` else ``negative_slope * x``."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = check_number("LeakyReLU", "negative_slope", negative_slope)
        self.inplace = _inplace_flag("LeakyReLU", inplace)

    def forward(self, input: Variable) -> Variable:
        """Apply leaky ReLU elementwise; same shape as ``input``."""
        if not isinstance(input, Variable):
            input = layer_input(input, "LeakyReLU")
        return A.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        """The constructor arguments shown inside ``repr(module)``."""
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """``x`` if ``x > 0`` else ``alpha (e^x - 1)``."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = check_number("ELU", "alpha", alpha)
        self.inplace = _inplace_flag("ELU", inplace)

    def forward(self, input: Variable) -> Variable:
        """Apply ELU elementwise; same shape as ``input``."""
        if not isinstance(input, Variable):
            input = layer_input(input, "ELU")
        return A.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        """The constructor arguments shown inside ``repr(module)``."""
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    """``x Phi(x)`` (``approximate='tanh'`` for the tanh approximation)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if not isinstance(approximate, str) or approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input: Variable) -> Variable:
        """Apply GELU elementwise; same shape as ``input``."""
        if not isinstance(input, Variable):
            input = layer_input(input, "GELU")
        return A.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        """The constructor arguments shown inside ``repr(module)``."""
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """``x sigmoid(x)``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = _inplace_flag("SiLU", inplace)

    def forward(self, input: Variable) -> Variable:
        """Apply SiLU elementwise; same shape as ``input``."""
        if not isinstance(input, Variable):
            input = layer_input(input, "SiLU")
        return A.silu(input, self.inplace)

    def extra_repr(self) -> str:
        """The constructor arguments shown inside ``repr(module)``."""
        return "inplace=True" if self.inplace else ""


class Tanh(Module):
    """Hyperbolic tangent."""

    def forward(self, input: Variable) -> Variable:
        """Apply tanh elementwise; same shape as ``input``."""
        if not isinstance(input, Variable):
            input = layer_input(input, "Tanh")
        return A.tanh(input)


class Sigmoid(Module):
    """``1 / (1 + e^-x)``."""

    def forward(self, input: Variable) -> Variable:
        """Apply the logistic sigmoid elementwise; same shape as ``input``."""
        if not isinstance(input, Variable):
            input = layer_input(input, "Sigmoid")
        return A.sigmoid(input)


class Softmax(Module):
    """Softmax along ``dim``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = None if dim is None else check_size("Softmax", "dim", dim, None)

    def forward(self, input: Variable) -> Variable:
        """Softmax of ``input`` along ``dim``."""
        if not isinstance(input, Variable):
            input = layer_input(input, "Softmax")
        return A.softmax(input, self.dim)

    def extra_repr(self) -> str:
        """The constructor arguments shown inside ``repr(module)``."""
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """Log-softmax along ``dim``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = None if dim is None else check_size("LogSoftmax", "dim", dim, None)

    def forward(self, input: Variable) -> Variable:
        """LogSoftmax of ``input`` along ``dim``."""
        if not isinstance(input, Variable):
            input = layer_input(input, "LogSoftmax")
        return A.log_softmax(input, self.dim)

    def extra_repr(self) -> str:
        """The constructor arguments shown inside ``repr(module)``."""
        return f"dim={self.dim}"
