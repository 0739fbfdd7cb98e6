"""``maligrad.grad``: gradients of outputs with respect to chosen inputs.

Unlike ``backward()``, nothing is accumulated into ``.grad``: the gradients are returned.
With ``create_graph=True`` they are themselves differentiable::

    >>> import numpy as np
    >>> import maligrad as mg
    >>> x = mg.Variable(np.array(2.0), requires_grad=True)
    >>> (dx,) = mg.grad(x ** 3, x, create_graph=True)    # 3 x^2 = 12
    >>> (ddx,) = mg.grad(dx, x)                           # 6 x = 12
    >>> float(dx.data), float(ddx.data)
    (12.0, 12.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from maligrad.engine import run_grad, seed_gradients
from maligrad.variable import Variable


def _variables(x: Any, name: str) -> list[Variable]:
    """``x`` as a list of Variables; anything else is a TypeError naming the argument."""
    if isinstance(x, Variable):
        return [x]
    if not isinstance(x, (list, tuple)):
        raise TypeError(
            f"grad(): {name} must be a Variable or a sequence of Variables, got {type(x).__name__}"
        )
    for i, v in enumerate(x):
        if not isinstance(v, Variable):
            raise TypeError(f"grad(): {name}[{i}] is a {type(v).__name__}, not a Variable")
    return list(x)


def grad(
    outputs: Variable | Sequence[Variable],
    inputs: Variable | Sequence[Variable],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Variable | None, ...]:
    """Return ``d(sum_k <grad_outputs_k, outputs_k>) / d(inputs_i)`` for each input.

    The gradients are returned as a tuple (one per input), not accumulated into ``.grad``;
    only the part of the graph between the inputs and the outputs is run.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([1.0, 2.0]), requires_grad=True)
        >>> (gx,) = mg.grad((x * x).sum(), x)
        >>> gx.tolist(), x.grad is None
        ([2.0, 4.0], True)

    Args:
        outputs: Variables to differentiate.
        inputs: Variables (leaves or intermediates) to differentiate with respect to.
        grad_outputs: one gradient per output; may be omitted for single-element outputs.
        retain_graph: keep the graph for another backward (defaults to ``create_graph``).
        create_graph: record the gradient computation for higher-order derivatives.
        allow_unused: give None for an input the outputs do not depend on, instead of an
            error.
    """
    outs = _variables(outputs, "outputs")
    ins = _variables(inputs, "inputs")
    for i, x in enumerate(ins):
        if not x.requires_grad:
            raise RuntimeError(f"input {i} of grad() does not require grad")
    if grad_outputs is not None and (
        isinstance(grad_outputs, Variable) or not isinstance(grad_outputs, (list, tuple))
    ):
        grad_outputs = [grad_outputs]
    seeds = seed_gradients(outs, grad_outputs)
    if retain_graph is None:
        retain_graph = create_graph
    return tuple(run_grad(outs, seeds, ins, retain_graph, create_graph, allow_unused))
