"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay.

With ``g`` the gradient (``+ weight_decay * p``) and ``b`` the momentum buffer::

    b <- g (first step),   b <- momentum * b + (1 - dampening) * g (later steps)
    d  = g + momentum * b (nesterov)  or  b (momentum)  or  g (no momentum)
    p <- p - lr * d

    >>> import numpy as np, maligrad
    >>> from maligrad.nn import Parameter
    >>> from maligrad.nn.optim import SGD
    >>> p = Parameter(np.array([1.0], np.float32))
    >>> p.grad = maligrad.Variable(np.array([2.0], np.float32))
    >>> SGD([p], lr=0.1).step()
    >>> p.data
    array([0.8], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from maligrad import Variable
from maligrad.nn.optim.optimizer import Optimizer, check_flag, check_number


class SGD(Optimizer):
    """Stochastic gradient descent (PyTorch's arguments and update rule).

    With ``g`` the gradient (``+ weight_decay * p``; negated with ``maximize``) and ``b``
    the momentum buffer::

        b <- g (first step),   b <- momentum b + (1 - dampening) g (later steps)
        d  = g + momentum b (nesterov)  or  b (momentum)  or  g (no momentum)
        p <- p - lr d

        >>> import numpy as np, maligrad
        >>> from maligrad.nn import Parameter
        >>> from maligrad.nn.optim import SGD
        >>> p = Parameter(np.array([1.0], np.float32))
        >>> opt = SGD([p], lr=0.1, momentum=0.9)
        >>> for _ in range(2):
        ...     p.grad = maligrad.Variable(np.array([2.0], np.float32))
        ...     opt.step()
        >>> print(p.data.round(4))  # 1 - 0.1 * 2, then - 0.1 * (0.9 * 2 + 2)
        [0.42]
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def check_options(self, options: dict[str, Any]) -> None:
        """Check (and normalise in place) a group's SGD options, naming a bad one."""
        for name in ("lr", "momentum", "weight_decay"):
            options[name] = check_number(name, options[name])
        options["dampening"] = check_number("dampening", options["dampening"], 0.0, 1.0)
        for name in ("nesterov", "maximize"):
            options[name] = check_flag(name, options[name])
        if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def update(
        self, param: Variable, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        """Apply the SGD update rule above to one parameter, in place."""
        momentum, wd = group["momentum"], group["weight_decay"]
        d = grad
        if wd:
            d = d + wd * param.data
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = d.copy()
            else:
                dampening = group["dampening"]
                buf *= momentum
                buf += (1 - dampening) * d if dampening else d
            d = d + momentum * buf if group["nesterov"] else buf
        param.sub_(d, alpha=group["lr"])
