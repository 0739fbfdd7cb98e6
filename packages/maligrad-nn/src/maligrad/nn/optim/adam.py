"""Adam (optionally AMSGrad) and AdamW.

With ``g`` the gradient, step ``t`` and bias corrections ``c1 = 1 - b1^t``,
``c2 = 1 - b2^t``::

    m <- b1 m + (1 - b1) g          v <- b2 v + (1 - b2) g^2
    v_hat = max(v_hat, v) (amsgrad) or v
    p <- p - (lr / c1) m / (sqrt(v_hat) / sqrt(c2) + eps)

Adam adds ``weight_decay * p`` to ``g``; AdamW instead shrinks ``p <- p (1 - lr wd)``
before the update (decoupled weight decay).

    >>> import numpy as np, maligrad
    >>> from maligrad.nn import Parameter
    >>> from maligrad.nn.optim import Adam
    >>> p = Parameter(np.array([1.0], np.float32))
    >>> p.grad = maligrad.Variable(np.array([0.5], np.float32))
    >>> Adam([p], lr=0.1).step()
    >>> np.round(p.data, 4)
    array([0.9], dtype=float32)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from maligrad.nn.optim.optimizer import Optimizer, check_non_negative


class Adam(Optimizer):
    """Adam (Kingma & Ba) with PyTorch's arguments; ``amsgrad`` keeps the max of ``v``."""

    _decoupled = False

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        check_non_negative(lr=lr, eps=eps, weight_decay=weight_decay)
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"invalid beta parameters: {betas}")
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient."""
        loss = self._closure(closure)
        state = self.state
        decoupled = self._decoupled
        for group in self.param_groups:
            lr = group["lr"]
            b1, b2 = group["betas"]
            eps = group["eps"]
            wd = group["weight_decay"]
            amsgrad = group["amsgrad"]
            maximize = group["maximize"]
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                g = grad.data
                data = p.data
                if maximize:
                    g = -g
                st = state.get(p)
                if st is None:
                    st = {
                        "step": 0,
                        "exp_avg": np.zeros_like(data),
                        "exp_avg_sq": np.zeros_like(data),
                    }
                    if amsgrad:
                        st["max_exp_avg_sq"] = np.zeros_like(data)
                    state[p] = st
                if wd:
                    if decoupled:
                        data *= 1 - lr * wd
                    else:
                        g = g + wd * data
                st["step"] = t = st["step"] + 1
                m, v = st["exp_avg"], st["exp_avg_sq"]
                m *= b1
                m += (1 - b1) * g
                v *= b2
                v += (1 - b2) * (g * g)
                c1 = 1 - b1**t
                c2_sqrt = math.sqrt(1 - b2**t)
                if amsgrad:
                    vmax = st["max_exp_avg_sq"]
                    np.maximum(vmax, v, out=vmax)
                    denom = np.sqrt(vmax)
                else:
                    denom = np.sqrt(v)
                denom /= c2_sqrt
                denom += eps
                data -= (lr / c1) * (m / denom)
                p._bump_version()
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter); ``weight_decay`` 1e-2."""

    _decoupled = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
