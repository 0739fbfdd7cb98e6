"""Normalisation layers: ``BatchNorm1d``, ``BatchNorm2d``, ``LayerNorm``, ``GroupNorm``.

    xhat = (x - mean) / sqrt(var + eps),      y = gamma * xhat + beta

Batch norm keeps running statistics as buffers (``running_mean``, ``running_var``,
``num_batches_tracked``), updated in training with ``momentum`` (None: cumulative average)
and used in ``eval()``.

    >>> import numpy as np, maligrad
    >>> from maligrad import nn
    >>> bn = nn.BatchNorm1d(2)
    >>> y = bn(maligrad.Variable(np.array([[1.0, 2.0], [3.0, 6.0]], np.float32)))
    >>> bn.running_mean.data
    array([0.2, 0.4], dtype=float32)
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from maligrad import Variable
from maligrad.nn import init
from maligrad.nn.functional._common import (
    check_momentum,
    check_number,
    check_size,
    layer_input,
)
from maligrad.nn.functional.normalization import batch_norm, group_norm, layer_norm
from maligrad.nn.module import Module
from maligrad.nn.parameter import Parameter, parameter_dtype


def _affine(module: Module, shape: Any, dtype: np.dtype, weight: bool, bias: bool) -> None:
    """Register ``weight`` (ones) and ``bias`` (zeros) of ``shape``, or None in their place."""
    if weight:
        module.weight = Parameter(np.ones(shape, dtype=dtype))
    else:
        module.register_parameter("weight", None)
    if bias:
        module.bias = Parameter(np.zeros(shape, dtype=dtype))
    else:
        module.register_parameter("bias", None)


class _BatchNorm(Module):
    _expected_ndim: tuple[int, ...] = ()

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = num_features = check_size(name, "num_features", num_features)
        self.eps = check_number(name, "eps", eps, 0.0)
        self.momentum = check_momentum(name, momentum)
        self.affine = affine
        self.track_running_stats = track_running_stats
        dt = parameter_dtype(dtype)
        _affine(self, num_features, dt, weight=affine, bias=affine)
        if track_running_stats:
            self.register_buffer("running_mean", Variable(np.zeros(num_features, dtype=dt)))
            self.register_buffer("running_var", Variable(np.ones(num_features, dtype=dt)))
            self.register_buffer("num_batches_tracked", Variable(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, input: Variable) -> Variable:
        if not isinstance(input, Variable):
            input = layer_input(input, type(self).__name__)
        if input.ndim not in self._expected_ndim:
            dims = " or ".join(f"{d}-D" for d in self._expected_ndim)
            raise ValueError(f"{type(self).__name__} expects {dims} input, got shape {input.shape}")
        if input.shape[1] != self.num_features:
            raise ValueError(
                f"{type(self).__name__}({self.num_features}) got an input with "
                f"{input.shape[1]} channels (shape {input.shape})"
            )
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            nbt = self.num_batches_tracked
            nbt.add_(1)
            if self.momentum is None:
                momentum = 1.0 / float(nbt.data)
        use_batch = self.training or not self.track_running_stats
        track = self.training and self.track_running_stats
        return batch_norm(
            input,
            self.running_mean if track or not use_batch else None,
            self.running_var if track or not use_batch else None,
            self.weight,
            self.bias,
            use_batch,
            momentum,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of ``(N, C)`` or ``(N, C, L)`` over all axes but ``C``.

    In training mode, per channel ``c`` over the batch (and spatial) axes::

        y = (x - mean) / sqrt(var + eps) * weight[c] + bias[c]      (var biased)
        running_mean <- (1 - momentum) running_mean + momentum mean
        running_var  <- (1 - momentum) running_var + momentum var_unbiased

    (``momentum=None``: a cumulative average.) In eval mode (with
    ``track_running_stats``), ``running_mean`` and ``running_var`` replace the batch
    statistics.

        >>> import numpy as np, maligrad as mg
        >>> from maligrad import nn
        >>> bn = nn.BatchNorm1d(1)
        >>> bn(mg.Variable(np.array([[1.0], [3.0]], np.float32))).data.round(3).tolist()
        [[-1.0], [1.0]]
        >>> print(bn.running_mean.data, bn.running_var.data)  # momentum 0.1, unbiased var 2
        [0.2] [1.1]
    """

    _expected_ndim = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of ``(N, C, H, W)`` over ``N, H, W``.

    The same normalisation and running-statistics update as
    [BatchNorm1d][maligrad.nn.BatchNorm1d], per channel over the batch and both spatial axes.
    """

    _expected_ndim = (4,)


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` dimensions of each sample.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``, with ``mean`` and the biased
    ``var`` over those dimensions; the same in training and eval mode (no running stats).

    ``elementwise_affine`` adds ``weight`` (ones) and ``bias`` (zeros) of that shape.
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, (str, bytes)) or not isinstance(
            normalized_shape, (numbers.Integral, Sequence, np.ndarray)
        ):
            raise TypeError(
                "LayerNorm: normalized_shape must be an integer or a sequence of integers, "
                f"got {type(normalized_shape).__name__}"
            )
        shape = (
            (normalized_shape,)
            if isinstance(normalized_shape, numbers.Integral)
            else normalized_shape
        )
        self.normalized_shape = tuple(check_size("LayerNorm", "normalized_shape", s) for s in shape)
        self.eps = check_number("LayerNorm", "eps", eps, 0.0)
        self.elementwise_affine = elementwise_affine
        dt = parameter_dtype(dtype)
        _affine(self, self.normalized_shape, dt, elementwise_affine, elementwise_affine and bias)

    def forward(self, input: Variable) -> Variable:
        """Normalise ``input`` (see the class docstring for the maths)."""
        if not isinstance(input, Variable):
            input = layer_input(input, "LayerNorm")
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        """The constructor arguments shown inside ``repr(module)``."""
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class GroupNorm(Module):
    """Normalise ``(N, C, *)`` over groups of ``C / num_groups`` channels.

    ``y = (x - mean_g) / sqrt(var_g + eps) * weight[c] + bias[c]``, with ``mean_g`` and the
    biased ``var_g`` over the channels of the group of ``c`` and over ``*``, per sample.

    ``affine`` adds per-channel ``weight`` (ones) and ``bias`` (zeros).
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        num_groups = check_size("GroupNorm", "num_groups", num_groups)
        num_channels = check_size("GroupNorm", "num_channels", num_channels)
        if num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                f"({num_groups})"
            )
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = check_number("GroupNorm", "eps", eps, 0.0)
        self.affine = affine
        dt = parameter_dtype(dtype)
        _affine(self, num_channels, dt, weight=affine, bias=affine)

    def forward(self, input: Variable) -> Variable:
        """Normalise ``input`` (see the class docstring for the maths)."""
        if not isinstance(input, Variable):
            input = layer_input(input, "GroupNorm")
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise ValueError(
                f"GroupNorm expects (N, {self.num_channels}, *) input, got shape {input.shape}"
            )
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        """The constructor arguments shown inside ``repr(module)``."""
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
