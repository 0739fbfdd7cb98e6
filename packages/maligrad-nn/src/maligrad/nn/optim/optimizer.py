"""``Optimizer``: parameter groups, per-parameter state, the ``step()`` loop, checkpoints.

``Optimizer.step()`` is the one loop over the groups and their parameters: it skips
parameters without a gradient, negates the gradient when the group has ``maximize``, and
calls the subclass's ``Optimizer.update`` with the parameter, its gradient (a numpy
array), its state dict and its group. ``update`` changes the parameter with the public
in-place methods (``p.sub_``, ``p.mul_``, ...), which bump its version counter; the loop
runs them under ``no_grad``. ``state_dict()`` refers to parameters by their position across
the groups (as PyTorch does), so it can be saved with ``maligrad.nn.save`` and loaded
into an optimizer built the same way over a new model; training then continues bit for bit.

    >>> import numpy as np, maligrad
    >>> from maligrad import nn
    >>> model = nn.Linear(2, 1)
    >>> opt = nn.optim.SGD([{"params": [model.weight]}, {"params": [model.bias], "lr": 0.5}],
    ...                    lr=0.1)
    >>> [g["lr"] for g in opt.param_groups]
    [0.1, 0.5]
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from maligrad import Variable, enable_grad, no_grad


class _Required:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


def _copy_state_value(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, Variable):
        return v.data.copy()
    if isinstance(v, dict):
        return {k: _copy_state_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return type(v)(_copy_state_value(x) for x in v)
    return v


class Optimizer:
    """Base class: holds ``param_groups`` (dicts with ``'params'`` and options) and ``state``.

    A new optimizer passes its options as ``defaults`` and defines ``update`` (the rule for
    one parameter) and, to validate its options, ``check_options``:

        >>> class SignSGD(Optimizer):
        ...     def __init__(self, params, lr=0.01):
        ...         super().__init__(params, {"lr": lr})
        ...     def check_options(self, options):
        ...         options["lr"] = check_number("lr", options["lr"])
        ...     def update(self, param, grad, state, group):
        ...         param.sub_(np.sign(grad), alpha=group["lr"])
        >>> p = Variable(np.array([1.0, 1.0]), requires_grad=True)
        >>> p.grad = Variable(np.array([3.0, -0.5]))
        >>> SignSGD([p], lr=0.5).step()
        >>> p.data
        array([0.5, 1.5])

    Args:
        params: an iterable of Parameters, or of dicts ``{"params": [...], option: value}``
            that override ``defaults`` for that group.
        defaults: the default options.
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        if not any(v is required for v in defaults.values()):
            self.check_options(defaults)
        self.defaults = defaults
        self.state: dict[Variable, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Variable):
            raise TypeError(
                "params must be an iterable of Variables or dicts, got a single Variable; "
                "wrap it in a list"
            )
        if isinstance(params, (str, bytes)) or not isinstance(params, Iterable):
            raise TypeError(
                f"params must be an iterable of Variables or dicts, got {type(params).__name__}"
            )
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (missing ones from ``defaults``)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if isinstance(params, Variable):
            params = [params]
        elif params is None:
            raise ValueError("param group needs a 'params' entry")
        else:
            params = list(params)
        for i, p in enumerate(params):
            if not isinstance(p, Variable):
                raise TypeError(
                    f"optimizer can only optimize Variables, but param {i} of the group is a "
                    f"{type(p).__name__}"
                )
            if p.grad_fn is not None:
                raise ValueError(f"param {i} of the group is not a leaf Variable")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("a parameter group contains the same parameter more than once")
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in existing for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        group["params"] = params
        for k, v in self.defaults.items():
            if v is required and k not in group:
                raise ValueError(f"parameter group didn't specify a value of required option {k}")
            group.setdefault(k, v)
        self.check_options(group)
        self.param_groups.append(group)

    def check_options(self, options: dict[str, Any]) -> None:
        """Check (and normalise in place) a group's options, naming a bad one in the error.

        Runs on ``defaults`` and on every group added; subclasses check their own options
        with ``check_number``, ``check_int`` and ``check_flag``.
        """

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset gradients: to None (default) or to new zero arrays."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad = Variable(np.zeros_like(p.data))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient; returns ``closure()``'s loss.

        ``closure`` (optional) re-evaluates the model and returns the loss; it runs with
        gradients enabled before the update.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        state = self.state
        with no_grad():
            for group in self.param_groups:
                maximize = group.get("maximize", False)
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad.data
                    if maximize:
                        grad = -grad
                    st = state.get(p)
                    if st is None:
                        st = {}
                    self.update(p, grad, st, group)
                    if st:
                        state[p] = st
        return loss

    def update(
        self, param: Variable, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        """The update rule for one parameter (subclasses implement it).

        Args:
            param: the parameter; change it in place with its public in-place methods
                (``param.sub_(...)``, ``param.mul_(...)``), which bump its version counter.
            grad: its gradient as a numpy array (already negated for ``maximize``); do not
                modify it in place.
            state: this parameter's state (empty on the first step); fill it in place.
            group: the parameter's group, with its options.
        """
        raise NotImplementedError(f"{type(self).__name__} does not define update()")

    # -- checkpoints -------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}`` (copies)."""
        index: dict[int, int] = {}
        groups = []
        for g in self.param_groups:
            ids = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed = {k: copy.deepcopy(v) for k, v in g.items() if k != "params"}
            packed["params"] = ids
            groups.append(packed)
        state = {
            index[id(p)]: _copy_state_value(s) for p, s in self.state.items() if id(p) in index
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and state from ``state_dict`` (checks that the groups match)."""
        groups = state_dict.get("param_groups")
        saved_state = state_dict.get("state")
        if not isinstance(groups, (list, tuple)) or not isinstance(saved_state, dict):
            raise ValueError("optimizer state_dict needs 'state' (dict) and 'param_groups' (list)")
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(groups)} parameter groups, the optimizer has "
                f"{len(self.param_groups)}"
            )
        errors = []
        for i, (saved, mine) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(mine["params"]):
                errors.append(
                    f"group {i} has {len(saved['params'])} parameters in the state dict, "
                    f"{len(mine['params'])} in the optimizer"
                )
        if errors:
            raise ValueError("loaded state dict does not match the optimizer: " + "; ".join(errors))
        by_index: dict[int, Variable] = {}
        for saved, mine in zip(groups, self.param_groups):
            for idx, p in zip(saved["params"], mine["params"]):
                by_index[int(idx)] = p
        new_state: dict[Variable, dict[str, Any]] = {}
        for key, s in saved_state.items():
            p = by_index.get(int(key))
            if p is None:
                raise ValueError(f"state dict has state for parameter {key}, which no group lists")
            entry = {}
            for k, v in s.items():
                v = _copy_state_value(v)
                if isinstance(v, np.ndarray) and v.shape == p.data.shape and v.dtype.kind == "f":
                    v = v.astype(p.data.dtype, copy=False)
                    if np.shares_memory(v, p.data):
                        v = v.copy()
                entry[k] = v
            new_state[p] = entry
        self.state = new_state
        new_groups = []
        for saved, mine in zip(groups, self.param_groups):
            g = {k: _copy_state_value(v) for k, v in saved.items() if k != "params"}
            for k, v in g.items():  # a file format may turn tuples into lists: restore them
                if isinstance(v, list) and isinstance(mine.get(k), tuple):
                    g[k] = tuple(v)
            g["params"] = mine["params"]
            new_groups.append(g)
        self.param_groups = new_groups

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(g):
                if k != "params":
                    lines.append(f"    {k}: {g[k]}")
        lines.append(")")
        return "\n".join(lines)


def check_number(
    name: str,
    value: Any,
    low: float | None = 0.0,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Check one float hyperparameter: a real number, finite, within ``[low, high]``.

    ``low_open``/``high_open`` exclude that bound. Raises a TypeError (not a number, or a
    bool) or a ValueError (NaN, infinite, out of range) that names ``name``; returns the
    value as a Python float.

        >>> check_number("lr", 0.1)
        0.1
        >>> check_number("momentum", -1.0)
        Traceback (most recent call last):
        ...
        ValueError: invalid momentum value: expected a finite number >= 0.0, got -1.0
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(
            f"invalid {name} value: expected a number, got {type(value).__name__} {value!r}"
        )
    if isinstance(value, np.complexfloating):
        raise TypeError(f"invalid {name} value: expected a real number, got {value!r}")
    value = float(value)
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high}")
    expected = "a finite number" + (" " + " and ".join(parts) if parts else "")
    bad = not math.isfinite(value)
    if low is not None:
        bad = bad or value < low or (low_open and value == low)
    if high is not None:
        bad = bad or value > high or (high_open and value == high)
    if bad:
        raise ValueError(f"invalid {name} value: expected {expected}, got {value!r}")
    return value


def check_int(name: str, value: Any, low: int = 1) -> int:
    """Check an integer setting (a size, a step count): an int (not a bool), ``>= low``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"invalid {name} value: expected an integer, got {type(value).__name__} {value!r}"
        )
    if value < low:
        raise ValueError(f"invalid {name} value: expected an integer >= {low}, got {value}")
    return int(value)


def check_flag(name: str, value: Any) -> bool:
    """Check a switch (``nesterov``, ``amsgrad``, ``maximize``, ...): a bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"invalid {name} value: expected a bool, got {type(value).__name__} {value!r}"
        )
    return bool(value)
