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

from collections.abc import Iterable
from typing import Any

import numpy as np

from maligrad import Variable
from maligrad.nn.optim.optimizer import Optimizer, check_flag, check_number


class RMSprop(Optimizer):
    """RMSprop with PyTorch's arguments (optionally centred, with momentum).

    With ``g`` the gradient (``+ weight_decay * p``)::

        s <- alpha s + (1 - alpha) g^2;   centred: a <- alpha a + (1 - alpha) g, s~ = s - a^2
        d = g / (sqrt(s~) + eps);         momentum: b <- momentum b + d, d = b
        p <- p - lr d
    """

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

    def check_options(self, options: dict[str, Any]) -> None:
        """Check (and normalise in place) a group's RMSprop options, naming a bad one."""
        for name in ("lr", "eps", "weight_decay", "momentum"):
            options[name] = check_number(name, options[name])
        options["alpha"] = check_number("alpha", options["alpha"], 0.0, 1.0)
        for name in ("centered", "maximize"):
            options[name] = check_flag(name, options[name])

    def update(
        self, param: Variable, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        """Apply the RMSprop update rule above to one parameter, in place."""
        alpha, momentum, wd = group["alpha"], group["momentum"], group["weight_decay"]
        data = param.data
        g = grad
        if wd:
            g = g + wd * data
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(data)
            if momentum > 0:
                state["momentum_buffer"] = np.zeros_like(data)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(data)
        state["step"] += 1
        sq = state["square_avg"]
        sq *= alpha
        sq += (1 - alpha) * (g * g)
        if group["centered"]:
            ga = state["grad_avg"]
            ga *= alpha
            ga += (1 - alpha) * g
            avg = np.sqrt(sq - ga * ga)
        else:
            avg = np.sqrt(sq)
        avg += group["eps"]
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += g / avg
            param.sub_(buf, alpha=group["lr"])
        else:
            param.sub_(g / avg, alpha=group["lr"])
