"""Gradient clipping: ``clip_grad_norm_`` and ``clip_grad_value_``.

Both replace ``p.grad`` with a new Variable (gradient arrays may be shared between
parameters, so they are never modified in place).

    >>> import numpy as np
    >>> from maligrad import Variable
    >>> from maligrad.nn import Parameter
    >>> from maligrad.nn.utils import clip_grad_norm_
    >>> p = Parameter(np.zeros(2, np.float32))
    >>> p.grad = Variable(np.array([3.0, 4.0], np.float32))
    >>> float(clip_grad_norm_([p], 1.0).data)
    5.0
    >>> np.round(p.grad.data, 3)
    array([0.6, 0.8], dtype=float32)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from maligrad import Variable

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _params(parameters: Any) -> list[Variable]:
    if isinstance(parameters, Variable):
        return [parameters]
    return list(parameters)


def clip_grad_norm_(
    parameters: Variable | Iterable[Variable],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Variable:
    """Scale all gradients together so that their joint ``norm_type``-norm is ``<= max_norm``.

    ``total = (sum_p ||g_p||^q)^(1/q)`` (``q = inf``: the largest ``|g|``); when
    ``total > max_norm`` every gradient is multiplied by ``max_norm / (total + 1e-6)``.
    Returns the total norm before clipping (a 0-d Variable).
    """
    params = _params(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return Variable(np.asarray(0.0, dtype=np.float32))
    q = float(norm_type)
    if math.isinf(q):
        total = max(float(np.max(np.abs(g.data))) if g.data.size else 0.0 for g in grads)
    else:
        total = sum(float(np.sum(np.abs(g.data.astype(np.float64)) ** q)) for g in grads) ** (
            1.0 / q
        )
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"the total norm of order {norm_type} of the gradients is non-finite ({total}); "
            "pass error_if_nonfinite=False to clip anyway"
        )
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for p in params:
            g = p.grad
            if g is not None:
                p.grad = Variable(g.data * np.asarray(coef, dtype=g.data.dtype))
    return Variable(np.asarray(total, dtype=grads[0].data.dtype))


def clip_grad_value_(parameters: Variable | Iterable[Variable], clip_value: float) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]``."""
    if clip_value < 0:
        raise ValueError(f"clip_value must be non-negative, got {clip_value}")
    for p in _params(parameters):
        g = p.grad
        if g is not None:
            p.grad = Variable(np.clip(g.data, -clip_value, clip_value).astype(g.data.dtype))
