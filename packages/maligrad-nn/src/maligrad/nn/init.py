"""Initialisers: fill a Variable or Parameter in place, outside the graph.

Every function writes under ``no_grad`` with ``copy_`` (which bumps the version counter),
returns its argument and takes an optional ``generator``: an ``int`` seed or a
``numpy.random.Generator`` (default: the process generator that ``maligrad.manual_seed``
reseeds; see ``maligrad.random.generator_or_default``). The rules are PyTorch's:

    xavier_uniform_  : U(-a, a),  a = gain * sqrt(6 / (fan_in + fan_out))
    xavier_normal_   : N(0, s^2), s = gain * sqrt(2 / (fan_in + fan_out))
    kaiming_uniform_ : U(-b, b),  b = gain * sqrt(3 / fan)
    kaiming_normal_  : N(0, s^2), s = gain / sqrt(fan)
    orthogonal_      : Q of the QR decomposition of a normal matrix (sign-corrected)

    >>> import numpy as np
    >>> from maligrad.nn import Parameter, init
    >>> w = Parameter(np.empty((3, 4), np.float32))
    >>> _ = init.xavier_uniform_(w, generator=np.random.default_rng(0))
    >>> bool(np.all(np.abs(w.data) <= np.sqrt(6 / 7)))
    True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from maligrad import Variable, no_grad
from maligrad.random import generator_or_default

__all__ = [
    "calculate_gain",
    "constant_",
    "eye_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "orthogonal_",
    "trunc_normal_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]


def _check(tensor: Any, fn: str) -> Variable:
    if not isinstance(tensor, Variable):
        raise TypeError(f"{fn} expects a Variable or Parameter, got {type(tensor).__name__}")
    return tensor


def _write(tensor: Variable, values: Any) -> Variable:
    with no_grad():
        tensor.copy_(np.asarray(values, dtype=tensor.data.dtype))
    return tensor


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table)."""
    linear = {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d"}
    if nonlinearity in linear or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor: Any) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)``."""
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(
            f"fan in and fan out can not be computed for a tensor with fewer than 2 dimensions "
            f"(shape {tuple(shape)})"
        )
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return int(shape[1]) * receptive, int(shape[0]) * receptive


def _calculate_correct_fan(tensor: Any, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(
    tensor: Variable,
    a: float = 0.0,
    b: float = 1.0,
    generator: int | np.random.Generator | None = None,
) -> Variable:
    """Fill with draws from ``U(a, b)``."""
    _check(tensor, "uniform_")
    rng = generator_or_default(generator)
    return _write(tensor, rng.uniform(a, b, size=tensor.shape))


def normal_(
    tensor: Variable,
    mean: float = 0.0,
    std: float = 1.0,
    generator: int | np.random.Generator | None = None,
) -> Variable:
    """Fill with draws from ``N(mean, std^2)``."""
    _check(tensor, "normal_")
    rng = generator_or_default(generator)
    return _write(tensor, rng.normal(mean, std, size=tensor.shape))


def trunc_normal_(
    tensor: Variable,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: int | np.random.Generator | None = None,
) -> Variable:
    """Fill with ``N(mean, std^2)`` draws restricted to ``[a, b]`` (by rejection)."""
    _check(tensor, "trunc_normal_")
    rng = generator_or_default(generator)
    out = rng.normal(mean, std, size=tensor.shape)
    bad = (out < a) | (out > b)
    while bad.any():
        out[bad] = rng.normal(mean, std, size=int(bad.sum()))
        bad = (out < a) | (out > b)
    return _write(tensor, out)


def constant_(tensor: Variable, val: float) -> Variable:
    """Fill with ``val``."""
    _check(tensor, "constant_")
    with no_grad():
        tensor.fill_(val)
    return tensor


def zeros_(tensor: Variable) -> Variable:
    """Fill with zeros."""
    return constant_(tensor, 0.0)


def ones_(tensor: Variable) -> Variable:
    """Fill with ones."""
    return constant_(tensor, 1.0)


def eye_(tensor: Variable) -> Variable:
    """Fill a 2-D tensor with the identity matrix."""
    _check(tensor, "eye_")
    if tensor.ndim != 2:
        raise ValueError(f"eye_ needs a 2-D tensor, got shape {tensor.shape}")
    return _write(tensor, np.eye(tensor.shape[0], tensor.shape[1]))


def xavier_uniform_(
    tensor: Variable, gain: float = 1.0, generator: int | np.random.Generator | None = None
) -> Variable:
    """Glorot uniform: ``U(-a, a)`` with ``a = gain * sqrt(6 / (fan_in + fan_out))``."""
    _check(tensor, "xavier_uniform_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return uniform_(tensor, -a, a, generator=generator)


def xavier_normal_(
    tensor: Variable, gain: float = 1.0, generator: int | np.random.Generator | None = None
) -> Variable:
    """Glorot normal: ``N(0, s^2)`` with ``s = gain * sqrt(2 / (fan_in + fan_out))``."""
    _check(tensor, "xavier_normal_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator=generator)


def kaiming_uniform_(
    tensor: Variable,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: int | np.random.Generator | None = None,
) -> Variable:
    """He uniform: ``U(-b, b)`` with ``b = gain(nonlinearity, a) * sqrt(3 / fan)``."""
    _check(tensor, "kaiming_uniform_")
    fan = _calculate_correct_fan(tensor, mode)
    if fan == 0:
        return tensor
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(tensor, -bound, bound, generator=generator)


def kaiming_normal_(
    tensor: Variable,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: int | np.random.Generator | None = None,
) -> Variable:
    """He normal: ``N(0, s^2)`` with ``s = gain(nonlinearity, a) / sqrt(fan)``."""
    _check(tensor, "kaiming_normal_")
    fan = _calculate_correct_fan(tensor, mode)
    if fan == 0:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator=generator)


def orthogonal_(
    tensor: Variable, gain: float = 1.0, generator: int | np.random.Generator | None = None
) -> Variable:
    """A (semi-)orthogonal matrix, flattened over the trailing dimensions, times ``gain``."""
    _check(tensor, "orthogonal_")
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_ needs at least 2 dimensions, got shape {tensor.shape}")
    if tensor.size == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.size // rows
    rng = generator_or_default(generator)
    flat = rng.normal(0.0, 1.0, size=(rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, gain * q.reshape(tensor.shape))
