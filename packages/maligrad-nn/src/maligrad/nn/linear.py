"""Affine layers and shape helpers: ``Linear``, ``Bilinear``, ``Identity``, ``Flatten``.

>>> import numpy as np, maligrad
>>> from maligrad import nn
>>> layer = nn.Linear(3, 2)
>>> layer(maligrad.Variable(np.ones((4, 3), np.float32))).shape
(4, 2)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from maligrad import Variable
from maligrad.nn import init
from maligrad.nn.functional._common import check_size, layer_input
from maligrad.nn.functional.linear import Linear as _LinearFn
from maligrad.nn.functional.linear import bilinear
from maligrad.nn.module import Module
from maligrad.nn.parameter import Parameter, parameter_dtype


class Identity(Module):
    """Returns its input unchanged, whatever it is, as PyTorch's (constructor arguments are
    accepted and ignored)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Any) -> Any:
        """Return ``input`` unchanged."""
        return input


class Linear(Module):
    """Affine map ``y = x W^T + b``, weight ``W (out_features, in_features)`` as PyTorch's.

    Args:
        in_features: size of the last input dimension.
        out_features: size of the last output dimension.
        bias: learn an additive bias (default True).
        dtype: parameter dtype (default float32).
        generator: optional ``numpy.random.Generator`` for the initialisation.

    Zero sizes are allowed (an empty map), as in PyTorch.

    Initialisation (PyTorch's): ``W ~ U(-1/sqrt(in), 1/sqrt(in))`` (kaiming_uniform with
    ``a = sqrt(5)``), ``b ~ U(-1/sqrt(in), 1/sqrt(in))``.

        >>> import numpy as np, maligrad as mg
        >>> from maligrad import nn
        >>> fc = nn.Linear(3, 2)
        >>> fc.weight.shape, fc.bias.shape
        ((2, 3), (2,))
        >>> fc(mg.Variable(np.ones((4, 3), np.float32))).shape
        (4, 2)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        dtype: Any = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.in_features = in_features = check_size("Linear", "in_features", in_features, 0)
        self.out_features = out_features = check_size("Linear", "out_features", out_features, 0)
        dt = parameter_dtype(dtype)
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dt))
        if bias:
            self.bias = Parameter(np.empty((out_features,), dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        """Re-draw the parameters with the initialisation described above (PyTorch's default)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, input: Variable) -> Variable:
        """The affine map ``input W^T + b``."""
        if not isinstance(input, Variable):
            input = layer_input(input, "Linear")
        b = self.bias
        if b is None:
            return _LinearFn.apply(input, self.weight)
        return _LinearFn.apply(input, self.weight, b)

    def extra_repr(self) -> str:
        """The constructor arguments shown inside ``repr(module)``."""
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Bilinear(Module):
    """``y_k = x1^T A_k x2 + b_k`` with weight ``(out, in1, in2)``.

    Initialised from ``U(-1/sqrt(in1), 1/sqrt(in1))`` like PyTorch.
    """

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        out_features: int,
        bias: bool = True,
        dtype: Any = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.in1_features = in1_features = check_size("Bilinear", "in1_features", in1_features, 0)
        self.in2_features = in2_features = check_size("Bilinear", "in2_features", in2_features, 0)
        self.out_features = out_features = check_size("Bilinear", "out_features", out_features, 0)
        dt = parameter_dtype(dtype)
        self.weight = Parameter(np.empty((out_features, in1_features, in2_features), dtype=dt))
        if bias:
            self.bias = Parameter(np.empty((out_features,), dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        """Re-draw the parameters with the initialisation described above (PyTorch's default)."""
        bound = 1 / math.sqrt(self.weight.shape[1]) if self.weight.shape[1] else 0
        init.uniform_(self.weight, -bound, bound, generator=generator)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, input1: Variable, input2: Variable) -> Variable:
        """The bilinear form ``x1^T A x2 + b`` for each output feature."""
        if not isinstance(input1, Variable):
            input1 = layer_input(input1, "Bilinear", "input1")
        if not isinstance(input2, Variable):
            input2 = layer_input(input2, "Bilinear", "input2")
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        """The constructor arguments shown inside ``repr(module)``."""
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )


class Flatten(Module):
    """Flatten dimensions ``start_dim..end_dim`` into one (default: all but the batch)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = check_size("Flatten", "start_dim", start_dim, None)
        self.end_dim = check_size("Flatten", "end_dim", end_dim, None)

    def forward(self, input: Variable) -> Variable:
        """Flatten dimensions ``start_dim`` to ``end_dim`` of ``input`` into one."""
        if not isinstance(input, Variable):
            input = layer_input(input, "Flatten")
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        """The constructor arguments shown inside ``repr(module)``."""
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
