"""Pooling layers: ``MaxPool1d/2d``, ``AvgPool1d/2d``, ``AdaptiveAvgPool1d/2d``.

Thin modules over ``maligrad.nn.functional.pooling`` (fused window Functions); they
have no parameters.

    >>> import numpy as np, maligrad as mg
    >>> from maligrad import nn
    >>> nn.MaxPool2d(2)(mg.Variable(np.zeros((1, 3, 8, 8), np.float32))).shape
    (1, 3, 4, 4)
"""

from __future__ import annotations

from typing import Any

from maligrad import Variable
from maligrad.nn.functional._im2col import ints
from maligrad.nn.functional.pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)
from maligrad.nn.module import Module

__all__ = [
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "MaxPool1d",
    "MaxPool2d",
]


def _check(layer: Module, kernel_size: Any, stride: Any, padding: Any, dilation: Any) -> None:
    """Refuse bad sizes when the layer is built (the functional form checks them again)."""
    name, n = type(layer).__name__, 1 if type(layer).__name__.endswith("1d") else 2
    ints(kernel_size, n, f"{name}: kernel_size", 1)
    if stride is not None and stride != ():
        ints(stride, n, f"{name}: stride", 1)
    ints(padding, n, f"{name}: padding", 0)
    ints(dilation, n, f"{name}: dilation", 1)


class MaxPool2d(Module):
    """Max over ``kernel_size`` windows of ``(N, C, H, W)``; ``stride`` defaults to the kernel.

    ``y[n, c, i, j] = max_{p, q} x[n, c, s i + d p - pad, s j + d q - pad]``.

        >>> import numpy as np, maligrad as mg
        >>> from maligrad import nn
        >>> nn.MaxPool2d(3, stride=2, padding=1)(
        ...     mg.Variable(np.zeros((1, 1, 8, 8), np.float32))).shape
        (1, 1, 4, 4)
    """

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        if return_indices:
            raise NotImplementedError("MaxPool: return_indices=True is not supported")
        _check(self, kernel_size, stride, padding, dilation)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.ceil_mode = dilation, ceil_mode

    def forward(self, input: Variable) -> Variable:
        """Pool ``input`` over its windows (see the class docstring)."""
        return max_pool2d(
            input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode
        )

    def extra_repr(self) -> str:
        """The constructor arguments shown inside ``repr(module)``."""
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}"
        )


class MaxPool1d(MaxPool2d):
    """Max over windows of ``(N, C, L)``.

    >>> import numpy as np, maligrad as mg
    >>> from maligrad import nn
    >>> nn.MaxPool1d(2)(mg.Variable(np.arange(6.0).reshape(1, 1, 6))).data
    array([[[1., 3., 5.]]])
    """

    def forward(self, input: Variable) -> Variable:
        """Pool ``input`` over its windows (see the class docstring)."""
        return max_pool1d(
            input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode
        )


class AvgPool2d(Module):
    """Mean over ``kernel_size`` windows of ``(N, C, H, W)``; ``stride`` defaults to the kernel.

    >>> import numpy as np, maligrad as mg
    >>> from maligrad import nn
    >>> nn.AvgPool2d(2)(mg.Variable(np.ones((1, 1, 4, 4), np.float32))).data[0, 0]
    array([[1., 1.],
           [1., 1.]], dtype=float32)
    """

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        _check(self, kernel_size, stride, padding, 1)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input: Variable) -> Variable:
        """Pool ``input`` over its windows (see the class docstring)."""
        return avg_pool2d(
            input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
            self.count_include_pad,
        )  # fmt: skip

    def extra_repr(self) -> str:
        """The constructor arguments shown inside ``repr(module)``."""
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(AvgPool2d):
    """Mean over windows of ``(N, C, L)``.

    >>> import numpy as np, maligrad as mg
    >>> from maligrad import nn
    >>> nn.AvgPool1d(3)(mg.Variable(np.arange(6.0).reshape(1, 1, 6))).data
    array([[[1., 4.]]])
    """

    def forward(self, input: Variable) -> Variable:
        """Pool ``input`` over its windows (see the class docstring)."""
        return avg_pool1d(
            input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
            self.count_include_pad,
        )  # fmt: skip


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed ``output_size`` (an int, or a pair where None keeps a size).

    >>> import numpy as np, maligrad as mg
    >>> from maligrad import nn
    >>> nn.AdaptiveAvgPool2d((1, 1))(mg.Variable(np.ones((2, 5, 7, 9), np.float32))).shape
    (2, 5, 1, 1)
    """

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Variable) -> Variable:
        """Pool ``input`` over its windows (see the class docstring)."""
        return adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        """The constructor arguments shown inside ``repr(module)``."""
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(AdaptiveAvgPool2d):
    """Average pooling of ``(N, C, L)`` to length ``output_size``."""

    def forward(self, input: Variable) -> Variable:
        """Pool ``input`` over its windows (see the class docstring)."""
        return adaptive_avg_pool1d(input, self.output_size)
