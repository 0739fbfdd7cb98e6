"""Convolution layers: ``Conv1d``, ``Conv2d``, ``ConvTranspose1d``, ``ConvTranspose2d``.

Each holds a ``weight`` Parameter and an optional ``bias`` and calls the fused Function of
``maligrad.nn.functional.convolution``. Initialisation follows PyTorch:
``kaiming_uniform_(weight, a=sqrt(5))``, i.e. ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, and the
bias ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with ``fan_in = weight.shape[1] * prod(kernel)``.

    >>> import numpy as np, maligrad as mg
    >>> from maligrad import nn
    >>> conv = nn.Conv2d(3, 8, kernel_size=3, padding="same")
    >>> conv(mg.Variable(np.zeros((2, 3, 16, 16), np.float32))).shape
    (2, 8, 16, 16)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from maligrad import Variable
from maligrad.nn import init
from maligrad.nn.functional._im2col import ints
from maligrad.nn.functional.convolution import (
    conv1d,
    conv2d,
    conv_transpose1d,
    conv_transpose2d,
)
from maligrad.nn.module import Module
from maligrad.nn.parameter import Parameter, parameter_dtype

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]


def _pair(values: tuple[int, ...]) -> tuple[int, int]:
    # A 2-D layer's per-dimension setting, typed as the pair the 2-D functionals take.
    return values[0], values[1]


class _ConvNd(Module):
    """Shared construction: shapes, checks and PyTorch's default initialisation."""

    _dims = 2
    _transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        output_padding: Any = 0,
        dtype: Any = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        for arg, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            ints(value, 1, f"{name}: {arg}", 1)
        ints(groups, 1, f"{name}: groups", 1)
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels={in_channels} and out_channels={out_channels} must "
                f"both be divisible by groups={groups}"
            )
        if padding_mode != "zeros":
            raise NotImplementedError(f"{name}: only padding_mode='zeros' is supported")
        n = self._dims
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = ints(kernel_size, n, f"{name}: kernel_size", 1)
        self.stride = ints(stride, n, f"{name}: stride", 1)
        self.dilation = ints(dilation, n, f"{name}: dilation", 1)
        if isinstance(padding, str):
            if padding not in ("same", "valid") or self._transposed:
                raise ValueError(f"{name}: unsupported padding {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' needs stride 1, got {self.stride}")
            self.padding: Any = padding
        else:
            self.padding = ints(padding, n, f"{name}: padding", 0)
        self.output_padding = ints(output_padding, n, f"{name}: output_padding", 0)
        for op, s, d in zip(self.output_padding, self.stride, self.dilation):
            if op >= max(s, d):
                raise ValueError(
                    f"{name}: output_padding {self.output_padding} must be smaller than "
                    f"stride {self.stride} or dilation {self.dilation}"
                )
        if self._transposed:
            shape = (in_channels, out_channels // groups, *self.kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *self.kernel_size)
        dtype = parameter_dtype(dtype)
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        self.bias = Parameter(np.empty((out_channels,), dtype=dtype)) if bias else None
        self.reset_parameters(generator)

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        """PyTorch's default: ``kaiming_uniform_(a=sqrt(5))``; bias ``U(+-1/sqrt(fan_in))``."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound, generator=generator)

    def _check_input(self, x: Any) -> None:
        batched = x.ndim == self._dims + 2
        if not (batched or x.ndim == self._dims + 1) or x.shape[int(batched)] != self.in_channels:
            layout = "(N, C, L) or (C, L)" if self._dims == 1 else "(N, C, H, W) or (C, H, W)"
            raise ValueError(
                f"{type(self).__name__}: expected input {layout} with C={self.in_channels}, "
                f"got shape {x.shape}"
            )

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * self._dims:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._dims:
            s += f", dilation={self.dilation}"
        if self._transposed and self.output_padding != (0,) * self._dims:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv2d(_ConvNd):
    """2-D convolution over ``(N, C_in, H, W)``, giving ``(N, C_out, H_out, W_out)``.

    ``y = b + sum_c w[:, c] * x[:, c]`` (cross-correlation), with
    ``H_out = floor((H + 2 p - d (k - 1) - 1) / s) + 1``. ``padding`` is an int, a pair,
    ``'valid'`` or ``'same'``. Weight ``(C_out, C_in / groups, kh, kw)``.

        >>> import numpy as np, maligrad as mg
        >>> from maligrad import nn
        >>> nn.Conv2d(1, 4, 5, stride=2)(mg.Variable(np.zeros((1, 1, 28, 28), np.float32))).shape
        (1, 4, 12, 12)
    """

    def forward(self, input: Variable) -> Variable:
        """Cross-correlate ``input`` with ``weight`` and add ``bias``."""
        self._check_input(input)
        return conv2d(
            input, self.weight, self.bias, _pair(self.stride), self.padding,
            _pair(self.dilation), self.groups,
        )  # fmt: skip


class Conv1d(_ConvNd):
    """1-D convolution over ``(N, C_in, L)``, giving ``(N, C_out, L_out)``.

    >>> import numpy as np, maligrad as mg
    >>> from maligrad import nn
    >>> nn.Conv1d(2, 3, 3, padding=1)(mg.Variable(np.zeros((4, 2, 10), np.float32))).shape
    (4, 3, 10)
    """

    _dims = 1

    def forward(self, input: Variable) -> Variable:
        """Cross-correlate ``input`` with ``weight`` and add ``bias``."""
        self._check_input(input)
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return conv1d(
            input, self.weight, self.bias, self.stride[0], padding, self.dilation[0], self.groups
        )


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution (adjoint of [`Conv2d`][maligrad.nn.Conv2d]), e.g. for upsampling.

    ``H_out = (H - 1) s - 2 p + d (k - 1) + output_padding + 1``; weight
    ``(C_in, C_out / groups, kh, kw)``.

        >>> import numpy as np, maligrad as mg
        >>> from maligrad import nn
        >>> up = nn.ConvTranspose2d(4, 2, 2, stride=2)
        >>> up(mg.Variable(np.zeros((1, 4, 5, 5), np.float32))).shape
        (1, 2, 10, 10)
    """

    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        dtype: Any = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode, output_padding, dtype, generator,
        )  # fmt: skip

    def forward(self, input: Variable) -> Variable:
        """The transposed convolution of ``input`` with ``weight``, plus ``bias``."""
        self._check_input(input)
        return conv_transpose2d(
            input, self.weight, self.bias, _pair(self.stride), self.padding,
            _pair(self.output_padding), self.groups, _pair(self.dilation),
        )  # fmt: skip


class ConvTranspose1d(ConvTranspose2d):
    """Transposed 1-D convolution over ``(N, C_in, L)``; weight ``(C_in, C_out / groups, k)``.

    >>> import numpy as np, maligrad as mg
    >>> from maligrad import nn
    >>> nn.ConvTranspose1d(2, 1, 3)(mg.Variable(np.zeros((1, 2, 4), np.float32))).shape
    (1, 1, 6)
    """

    _dims = 1

    def forward(self, input: Variable) -> Variable:
        """The transposed convolution of ``input`` with ``weight``, plus ``bias``."""
        self._check_input(input)
        return conv_transpose1d(
            input, self.weight, self.bias, self.stride[0], self.padding[0],
            self.output_padding[0], self.groups, self.dilation[0],
        )  # fmt: skip
