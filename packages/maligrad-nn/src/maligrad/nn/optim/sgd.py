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

from collections.abc import Callable, Iterable
from typing import Any

from maligrad.nn.optim.optimizer import Optimizer, check_non_negative


class SGD(Optimizer):
    """SGD (PyTorch's arguments and update rule)."""

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
        check_non_negative(lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient."""
        loss = self._closure(closure)
        state = self.state
        for group in self.param_groups:
            lr = group["lr"]
            momentum = group["momentum"]
            dampening = group["dampening"]
            wd = group["weight_decay"]
            nesterov = group["nesterov"]
            maximize = group["maximize"]
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                d = grad.data
                data = p.data
                if maximize:
                    d = -d
                if wd:
                    d = d + wd * data
                if momentum:
                    st = state.get(p)
                    if st is None:
                        buf = d.copy()
                        state[p] = {"momentum_buffer": buf}
                    else:
                        buf = st["momentum_buffer"]
                        buf *= momentum
                        buf += (1 - dampening) * d if dampening else d
                    d = d + momentum * buf if nesterov else buf
                data -= lr * d
                p._bump_version()
        return loss
