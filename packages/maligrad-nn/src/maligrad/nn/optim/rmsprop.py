"""RMSprop (optionally centred, with momentum).

s <- alpha s + (1 - alpha) g^2;   centred: a <- alpha a + (1 - alpha) g, s~ = s - a^2
d = g / (sqrt(s~) + eps);         momentum: b <- momentum b + d, d = b
p <- p - lr d

>>> import numpy as np, maligrad
>>> from maligrad.nn import Parameter
>>> from maligrad.nn.optim import RMSprop
>>> p = Parameter(np.array([1.0], np.float32))
>>> p.grad = maligrad.Variable(np.array([1.0], np.float32))
>>> RMSprop([p], lr=0.01, alpha=0.75).step()
>>> np.round(p.data, 4)
array([0.98], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from maligrad.nn.optim.optimizer import Optimizer, check_non_negative


class RMSprop(Optimizer):
    """RMSprop with PyTorch's arguments."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        check_non_negative(lr=lr, eps=eps, alpha=alpha, momentum=momentum)
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient."""
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            wd, momentum, centered = group["weight_decay"], group["momentum"], group["centered"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data
                data = p.data
                if group["maximize"]:
                    g = -g
                if wd:
                    g = g + wd * data
                st = self.state.get(p)
                if st is None:
                    st = {"step": 0, "square_avg": np.zeros_like(data)}
                    if momentum > 0:
                        st["momentum_buffer"] = np.zeros_like(data)
                    if centered:
                        st["grad_avg"] = np.zeros_like(data)
                    self.state[p] = st
                st["step"] += 1
                sq = st["square_avg"]
                sq *= alpha
                sq += (1 - alpha) * (g * g)
                if centered:
                    ga = st["grad_avg"]
                    ga *= alpha
                    ga += (1 - alpha) * g
                    avg = np.sqrt(sq - ga * ga)
                else:
                    avg = np.sqrt(sq)
                avg += eps
                if momentum > 0:
                    buf = st["momentum_buffer"]
                    buf *= momentum
                    buf += g / avg
                    data -= lr * buf
                else:
                    data -= lr * (g / avg)
                p._bump_version()
        return loss
