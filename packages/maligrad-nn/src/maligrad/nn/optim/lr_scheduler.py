"""Learning-rate schedulers: ``StepLR``, ``MultiStepLR``, ``ExponentialLR``,
``CosineAnnealingLR``, ``LinearLR``, ``OneCycleLR``, ``ReduceLROnPlateau``.

Each sets ``group["lr"]`` of its optimizer's groups. Call ``scheduler.step()`` once per
epoch (``OneCycleLR``: once per batch) after ``optimizer.step()``. Used alone, the rates
are these functions of ``epoch`` (= ``last_epoch``) and the base rates::

    StepLR            : base * gamma^(epoch // step_size)
    MultiStepLR       : base * gamma^(number of milestones <= epoch)
    ExponentialLR     : base * gamma^epoch
    CosineAnnealingLR : eta_min + (base - eta_min) (1 + cos(pi epoch / T_max)) / 2
    LinearLR          : base * (start + (end - start) min(epoch, total_iters) / total_iters)

As in PyTorch, ``StepLR``, ``MultiStepLR``, ``ExponentialLR`` and ``LinearLR`` apply their
factor to the group's current rate at each step, so they chain with each other and keep a
rate changed by hand; ``CosineAnnealingLR`` and ``OneCycleLR`` set the rate outright.

    >>> from maligrad import nn
    >>> opt = nn.optim.SGD(nn.Linear(2, 1).parameters(), lr=1.0)
    >>> sched = nn.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for _ in range(4):
    ...     opt.step(); sched.step(); lrs.append(sched.get_last_lr()[0])
    >>> lrs
    [1.0, 0.5, 0.5, 0.25]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from maligrad.nn.optim.optimizer import Optimizer, check_flag, check_int, check_number

__all__ = [
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LinearLR",
    "MultiStepLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
    "StepLR",
]


class LRScheduler:
    """Base class: ``get_lr()`` gives the rates for ``self.last_epoch``."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        last_epoch = check_int("last_epoch", last_epoch, low=-1)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when "
                        "resuming a scheduler (last_epoch != -1)"
                    )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def get_lr(self) -> list[float]:
        """The learning rate of each parameter group at ``last_epoch`` (subclasses implement it)."""
        raise NotImplementedError

    def _current(self) -> list[float]:
        """The groups' rates now (the factor-based schedulers multiply these)."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The rates set by the last ``step()``."""
        return list(self._last_lr)

    def step(self) -> None:
        """Advance one epoch (or batch) and set the groups' learning rates."""
        self.last_epoch += 1
        lrs = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = lrs

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (plain numbers and lists)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned (lists a file format turned into tuples
        become lists again)."""
        _load_attributes(self, state_dict)


def _load_attributes(scheduler: Any, state_dict: dict[str, Any]) -> None:
    for k, v in state_dict.items():
        if k == "optimizer":
            continue
        if isinstance(v, tuple) and isinstance(getattr(scheduler, k, None), list):
            v = list(v)
        setattr(scheduler, k, v)


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs.

    ``lr_t = lr_0 gamma^floor(t / step_size)`` at epoch ``t`` (``last_epoch``).

        >>> import numpy as np
        >>> from maligrad.nn import Parameter
        >>> from maligrad.nn.optim import SGD
        >>> from maligrad.nn.optim.lr_scheduler import StepLR
        >>> opt = SGD([Parameter(np.zeros(1, np.float32))], lr=1.0)
        >>> sched = StepLR(opt, step_size=2, gamma=0.5)
        >>> rates = []
        >>> for _ in range(5):
        ...     rates.append(opt.param_groups[0]["lr"])
        ...     opt.step()
        ...     sched.step()
        >>> rates
        [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        self.step_size = check_int("step_size", step_size)
        self.gamma = check_number("gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """Each group's rate at ``last_epoch``: times ``gamma`` every ``step_size`` epochs."""
        if self.last_epoch == 0 or self.last_epoch % self.step_size:
            return self._current()
        return [lr * self.gamma for lr in self._current()]


class MultiStepLR(LRScheduler):
    """Multiply the rate by ``gamma`` at each milestone epoch.

    ``lr_t = lr_0 gamma^k`` with ``k`` the number of milestones ``<= t``.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Sequence[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        if isinstance(milestones, (str, bytes)) or not isinstance(milestones, Iterable):
            raise TypeError(
                f"invalid milestones value: expected a list of integers, got {milestones!r}"
            )
        self.milestones = sorted(check_int("milestones", m, low=0) for m in milestones)
        self.gamma = check_number("gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """Each group's rate at ``last_epoch``: multiplied by ``gamma`` at each milestone."""
        k = self.milestones.count(self.last_epoch)  # a milestone may be listed twice
        return [lr * self.gamma**k for lr in self._current()]


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` every epoch: ``lr_t = lr_0 gamma^t``."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = check_number("gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """Each group's rate at ``last_epoch``: ``lr_t = lr_0 gamma^t``."""
        if self.last_epoch == 0:
            return self._current()
        return [lr * self.gamma for lr in self._current()]


class CosineAnnealingLR(LRScheduler):
    """Cosine from the base rate down to ``eta_min`` over ``T_max`` epochs (then back up).

    ``lr_t = eta_min + (lr_0 - eta_min) (1 + cos(pi t / T_max)) / 2``.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_max: int,
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        self.T_max = check_int("T_max", T_max)
        self.eta_min = check_number("eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """Each group's rate at epoch ``t = last_epoch`` (cosine annealing).

        ``lr_t = eta_min + (lr_0 - eta_min) (1 + cos(pi t / T_max)) / 2``.
        """
        c = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (b - self.eta_min) * c for b in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale the rate linearly from ``start_factor`` to ``end_factor`` over ``total_iters``.

    ``lr_t = lr_0 (start_factor + (end_factor - start_factor) min(t, total_iters) / total_iters)``.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        self.start_factor = check_number("start_factor", start_factor, 0.0, 1.0, low_open=True)
        self.end_factor = check_number("end_factor", end_factor, 0.0, 1.0)
        self.total_iters = check_int("total_iters", total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """Each group's rate at ``last_epoch``: ``lr_0`` times a factor going linearly from
        ``start_factor`` to ``end_factor`` over ``total_iters``.
        """
        # The ratio of this step's factor to the previous one's, applied to the current rate.
        t, n = self.last_epoch, self.total_iters
        start, end = self.start_factor, self.end_factor
        if t == 0:
            return [lr * start for lr in self._current()]
        if t > n:
            return self._current()
        ratio = 1 + (end - start) / (n * start + (t - 1) * (end - start))
        return [lr * ratio for lr in self._current()]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin): warm up to ``max_lr``, then anneal far below.

    Rates start at ``max_lr / div_factor``, reach ``max_lr`` after ``pct_start`` of
    ``total_steps`` and end at ``initial_lr / final_div_factor``; with ``cycle_momentum``
    the momentum (or Adam's ``beta1``) moves inversely between ``max_momentum`` and
    ``base_momentum``. Step it once per batch.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | Sequence[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("give total_steps, or both epochs and steps_per_epoch")
            total_steps = check_int("epochs", epochs) * check_int(
                "steps_per_epoch", steps_per_epoch
            )
        total_steps = check_int("total_steps", total_steps)
        pct_start = check_number("pct_start", pct_start, 0.0, 1.0)
        div_factor = check_number("div_factor", div_factor, low_open=True)
        final_div_factor = check_number("final_div_factor", final_div_factor, low_open=True)
        base_momentum = check_number("base_momentum", base_momentum, 0.0, 1.0)
        max_momentum = check_number("max_momentum", max_momentum, 0.0, 1.0)
        cycle_momentum = check_flag("cycle_momentum", cycle_momentum)
        three_phase = check_flag("three_phase", three_phase)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.total_steps = total_steps
        self.anneal_strategy = anneal_strategy
        self.cycle_momentum = cycle_momentum
        groups = optimizer.param_groups
        max_lrs = list(max_lr) if isinstance(max_lr, Sequence) else [max_lr] * len(groups)
        if len(max_lrs) != len(groups):
            raise ValueError(f"expected {len(groups)} max_lr values, got {len(max_lrs)}")
        max_lrs = [check_number("max_lr", lr) for lr in max_lrs]
        # Each phase: (its last step, lr from, lr to, momentum from, momentum to), the
        # endpoints naming group entries; a phase starts where the previous one ends.
        warmup_end = float(pct_start * total_steps) - 1
        self._phases = [(warmup_end, "initial_lr", "max_lr", "max_momentum", "base_momentum")]
        if three_phase:
            self._phases += [
                (2 * warmup_end, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                (total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self._phases += [(total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        if last_epoch == -1:
            for lr, group in zip(max_lrs, groups):
                group["initial_lr"] = lr / div_factor
                group["max_lr"] = lr
                group["min_lr"] = group["initial_lr"] / final_div_factor
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("optimizer must support momentum or betas with cycle_momentum")
            self._use_betas = "betas" in optimizer.defaults
            if last_epoch == -1:
                for group in groups:
                    if self._use_betas:
                        group["betas"] = (max_momentum, *group["betas"][1:])
                    else:
                        group["momentum"] = max_momentum
                    group["max_momentum"] = max_momentum
                    group["base_momentum"] = base_momentum
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        """Each group's rate at ``last_epoch`` on the one-cycle schedule (warm-up to ``max_lr``,
        then annealing).
        """
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(
                f"tried to step {step} times; OneCycleLR was set up for {self.total_steps} steps"
            )
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr0, lr1, m0, m1) in enumerate(self._phases):
                if step <= end or i == len(self._phases) - 1:
                    pct = (step - start) / (end - start) if end != start else 1.0
                    lr = self._anneal(group[lr0], group[lr1], pct)
                    if self.cycle_momentum:
                        mom = self._anneal(group[m0], group[m1], pct)
                        if self._use_betas:
                            group["betas"] = (mom, *group["betas"][1:])
                        else:
                            group["momentum"] = mom
                    break
                start = end
            lrs.append(lr)
        return lrs


class ReduceLROnPlateau:
    """Multiply the rate by ``factor`` when ``metrics`` stop improving for ``patience`` epochs.

    Call ``step(metric)`` once per epoch. ``mode='min'`` (a loss) or ``'max'`` (an
    accuracy); improvement means beating the best by ``threshold`` (relative with
    ``threshold_mode='rel'``, absolute with ``'abs'``).
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | Sequence[float] = 0.0,
        eps: float = 1e-8,
    ) -> None:
        factor = check_number("factor", factor, 0.0, 1.0, high_open=True)
        patience = check_int("patience", patience, low=0)
        threshold = check_number("threshold", threshold)
        cooldown = check_int("cooldown", cooldown, low=0)
        eps = check_number("eps", eps)
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        n = len(optimizer.param_groups)
        self.min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * n
        if len(self.min_lrs) != n:
            raise ValueError(f"expected {n} min_lr values, got {len(self.min_lrs)}")
        self.min_lrs = [check_number("min_lr", m) for m in self.min_lrs]
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [g["lr"] for g in optimizer.param_groups]

    def _is_better(self, a: float, best: float) -> bool:
        if self.mode == "min":
            ref = (
                best * (1 - self.threshold)
                if self.threshold_mode == "rel"
                else best - self.threshold
            )
            return a < ref
        ref = best * (1 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold
        return a > ref

    def step(self, metrics: Any) -> None:
        """Record this epoch's metric and reduce the rates if it has plateaued."""
        current = float(metrics.item() if hasattr(metrics, "item") else metrics)
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                old = group["lr"]
                new = max(old * self.factor, min_lr)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The rates after the last ``step()``."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (plain numbers and lists)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned."""
        _load_attributes(self, state_dict)
