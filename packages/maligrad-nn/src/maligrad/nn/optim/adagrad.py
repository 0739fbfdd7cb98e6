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

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from maligrad.nn.optim.optimizer import Optimizer, check_non_negative


class Adagrad(Optimizer):
    """Adagrad with PyTorch's arguments."""

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
        check_non_negative(
            lr=lr, lr_decay=lr_decay, initial_accumulator_value=initial_accumulator_value
        )
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient."""
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, lr_decay, wd, eps = (
                group["lr"],
                group["lr_decay"],
                group["weight_decay"],
                group["eps"],
            )
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data
                data = p.data
                if group["maximize"]:
                    g = -g
                st = self.state.get(p)
                if st is None:
                    init = group["initial_accumulator_value"]
                    st = {"step": 0, "sum": np.full_like(data, init)}
                    self.state[p] = st
                st["step"] += 1
                if wd:
                    g = g + wd * data
                clr = lr / (1 + (st["step"] - 1) * lr_decay)
                s = st["sum"]
                s += g * g
                std = np.sqrt(s)
                std += eps
                data -= clr * (g / std)
                p._bump_version()
        return loss
