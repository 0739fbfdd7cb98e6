"""Adagrad: per-element learning rates from the running sum of squared gradients.

t <- t + 1;   lr_t = lr / (1 + (t - 1) lr_decay)
s <- s + g^2; p <- p - lr_t g / (sqrt(s) + eps)

>>> import numpy as np, maligrad
>>> from maligrad.nn import Parameter
>>> from maligrad.nn.optim import Adagrad
>>> p = Parameter(np.array([1.0], np.float32))
>>> p.grad = maligrad.Variable(np.array([2.0], np.float32))
>>> Adagrad([p], lr=0.1).step()
>>> np.round(p.data, 4)
array([0.9], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from maligrad import Variable
from maligrad.nn.optim.optimizer import Optimizer, check_flag, check_number


class Adagrad(Optimizer):
    """Adagrad with PyTorch's arguments: per-element rates from summed squared gradients.

    With ``g`` the gradient (``+ weight_decay * p``) at step ``t``::

        lr_t = lr / (1 + (t - 1) lr_decay)
        s <- s + g^2          (s starts at initial_accumulator_value)
        p <- p - lr_t g / (sqrt(s) + eps)
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def check_options(self, options: dict[str, Any]) -> None:
        """Check (and normalise in place) a group's Adagrad options, naming a bad one."""
        for name in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            options[name] = check_number(name, options[name])
        options["maximize"] = check_flag("maximize", options["maximize"])

    def update(
        self, param: Variable, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        """Apply the Adagrad update rule above to one parameter, in place."""
        data = param.data
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(data, group["initial_accumulator_value"])
        state["step"] += 1
        g = grad
        if group["weight_decay"]:
            g = g + group["weight_decay"] * data
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        s = state["sum"]
        s += g * g
        std = np.sqrt(s)
        std += group["eps"]
        param.sub_(g / std, alpha=clr)
