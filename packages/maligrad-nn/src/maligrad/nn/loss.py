"""Loss modules mirroring [`maligrad.nn.functional`][maligrad.nn.functional]'s losses.

>>> import numpy as np, maligrad
>>> from maligrad import nn
>>> loss = nn.MSELoss()(maligrad.Variable(np.array([1.0, 3.0], np.float32)),
...                     np.array([0.0, 1.0], np.float32))
>>> loss.item()
2.5
"""

from __future__ import annotations

from typing import Any

from maligrad import Variable
from maligrad.nn.functional import loss as L
from maligrad.nn.functional._common import check_reduction
from maligrad.nn.module import Module


class _Loss(Module):
    _reductions: tuple[str, ...] = ("none", "mean", "sum")

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(reduction, self._reductions)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Mean squared error: ``l = (x - t)^2`` for each element.

    ``reduction``: ``'mean'`` (default) averages the elementwise losses ``l``, ``'sum'``
    adds them, ``'none'`` returns ``l`` with the input's shape.
    """

    def forward(self, input: Variable, target: Any) -> Variable:
        """The mean squared error of ``input`` against ``target``, reduced by ``reduction``."""
        return L.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error: ``l = |x - t|`` for each element.

    ``reduction``: ``'mean'`` (default) averages the elementwise losses ``l``, ``'sum'``
    adds them, ``'none'`` returns ``l`` with the input's shape.
    """

    def forward(self, input: Variable, target: Any) -> Variable:
        """The mean absolute error of ``input`` against ``target``, reduced by ``reduction``."""
        return L.l1_loss(input, target, self.reduction)


class SmoothL1Loss(_Loss):
    """Smooth L1: quadratic below ``beta``, linear above.

    ``l = 0.5 d^2 / beta`` if ``|d| < beta`` else ``|d| - 0.5 beta``, with ``d = x - t``.

    ``reduction``: ``'mean'`` (default) averages the elementwise losses ``l``, ``'sum'``
    adds them, ``'none'`` returns ``l`` with the input's shape.
    """

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input: Variable, target: Any) -> Variable:
        """The smooth L1 loss of ``input`` against ``target``, reduced by ``reduction``."""
        return L.smooth_l1_loss(input, target, self.reduction, self.beta)


class HuberLoss(_Loss):
    """Huber: quadratic below ``delta``, ``delta``-sloped linear above.

    ``l = 0.5 d^2`` if ``|d| < delta`` else ``delta (|d| - 0.5 delta)``, with ``d = x - t``.

    ``reduction``: ``'mean'`` (default) averages the elementwise losses ``l``, ``'sum'``
    adds them, ``'none'`` returns ``l`` with the input's shape.
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input: Variable, target: Any) -> Variable:
        """The Huber loss of ``input`` against ``target``, reduced by ``reduction``."""
        return L.huber_loss(input, target, self.reduction, self.delta)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities ``p``.

    ``l = -w (t log p + (1 - t) log(1 - p))`` (logs clamped at -100).

    ``reduction``: ``'mean'`` (default) averages the elementwise losses ``l``, ``'sum'``
    adds them, ``'none'`` returns ``l`` with the input's shape.
    """

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = weight

    def forward(self, input: Variable, target: Any) -> Variable:
        """The binary cross-entropy of ``input`` against ``target``, reduced by ``reduction``."""
        return L.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy, stable for large logits ``x``.

    ``l = -w (pos_weight t log sigmoid(x) + (1 - t) log(1 - sigmoid(x)))``.

    ``reduction``: ``'mean'`` (default) averages the elementwise losses ``l``, ``'sum'``
    adds them, ``'none'`` returns ``l`` with the input's shape.
    """

    def __init__(self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None):
        super().__init__(reduction)
        self.weight = weight
        self.pos_weight = pos_weight

    def forward(self, input: Variable, target: Any) -> Variable:
        """The binary cross-entropy of ``sigmoid(input)`` against ``target``, reduced."""
        return L.binary_cross_entropy_with_logits(
            input, target, self.weight, self.reduction, self.pos_weight
        )


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy with class indices or probabilities (see ``F.cross_entropy``)."""

    def __init__(
        self,
        weight: Any = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(reduction)
        self.weight = weight
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Variable, target: Any) -> Variable:
        """The cross-entropy of the logits ``input`` against ``target``, reduced."""
        return L.cross_entropy(
            input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing
        )


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities ``x (N, C, ...)``: ``l = -w_t x_t``.

    ``'mean'`` divides by the summed weights ``w_t`` of the targets (as PyTorch).
    """

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self.weight = weight
        self.ignore_index = ignore_index

    def forward(self, input: Variable, target: Any) -> Variable:
        """The negative log-likelihood of ``input`` against ``target``, reduced by ``reduction``."""
        return L.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class KLDivLoss(_Loss):
    """KL divergence with log-probability inputs (``reduction='batchmean'`` for true KL)."""

    _reductions = ("none", "mean", "sum", "batchmean")

    def __init__(self, reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input: Variable, target: Any) -> Variable:
        """The KL divergence of ``input`` against ``target``, reduced by ``reduction``."""
        return L.kl_div(input, target, self.reduction, self.log_target)
