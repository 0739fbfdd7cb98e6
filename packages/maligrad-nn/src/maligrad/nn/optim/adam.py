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
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from maligrad import Variable
from maligrad.nn.optim.optimizer import Optimizer, check_flag, check_number


class Adam(Optimizer):
    """Adam (Kingma & Ba) with PyTorch's arguments; ``amsgrad`` keeps the max of ``v``.

    With ``g`` the gradient at step ``t`` and ``c1 = 1 - b1^t``, ``c2 = 1 - b2^t``::

        m <- b1 m + (1 - b1) g          v <- b2 v + (1 - b2) g^2
        v_hat = max(v_hat, v) (amsgrad) or v
        p <- p - (lr / c1) m / (sqrt(v_hat) / sqrt(c2) + eps)

    ``weight_decay`` adds ``weight_decay * p`` to ``g`` (L2 regularisation).
    """

    #: AdamW sets this: weight decay shrinks the parameter instead of adding to the gradient.
    decoupled_weight_decay = False

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
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def check_options(self, options: dict[str, Any]) -> None:
        """Check (and normalise in place) a group's Adam options, naming a bad one."""
        for name in ("lr", "eps", "weight_decay"):
            options[name] = check_number(name, options[name])
        betas = options["betas"]
        if isinstance(betas, (str, bytes)) or not isinstance(betas, Sequence) or len(betas) != 2:
            raise TypeError(f"invalid betas value: expected a pair (beta1, beta2), got {betas!r}")
        options["betas"] = tuple(
            check_number(f"betas[{i}]", b, 0.0, 1.0, high_open=True) for i, b in enumerate(betas)
        )
        for name in ("amsgrad", "maximize"):
            options[name] = check_flag(name, options[name])

    def update(
        self, param: Variable, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        """Apply the Adam update rule above to one parameter, in place."""
        lr, wd = group["lr"], group["weight_decay"]
        b1, b2 = group["betas"]
        data = param.data
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(data)
            state["exp_avg_sq"] = np.zeros_like(data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(data)
        g = grad
        if wd:
            if self.decoupled_weight_decay:
                param.mul_(1 - lr * wd)
            else:
                g = g + wd * data
        state["step"] = t = state["step"] + 1
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * (g * g)
        c1 = 1 - b1**t
        c2_sqrt = math.sqrt(1 - b2**t)
        if group["amsgrad"]:
            vmax = state["max_exp_avg_sq"]
            np.maximum(vmax, v, out=vmax)
            denom = np.sqrt(vmax)
        else:
            denom = np.sqrt(v)
        denom /= c2_sqrt
        denom += group["eps"]
        param.sub_(m / denom, alpha=lr / c1)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter); ``weight_decay`` 1e-2.

    Before the Adam step, ``p <- p (1 - lr weight_decay)``; ``g`` is left as it is.
    """

    decoupled_weight_decay = True

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
