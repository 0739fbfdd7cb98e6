"""Functional transforms of a Python function of Variables: vjp, jvp, jacobian, hessian, hvp.

They are built on ``maligrad.grad``, so they work for any function made of maligrad
ops. ``inputs`` is a Variable, an array, or a tuple of them; results mirror that shape.

This is PyTorch's ``torch.autograd.functional`` (transforms of a whole function); the
stateless layer functions (``relu``, ``conv2d``, ...) are ``maligrad.nn.functional``, as
``torch.nn.functional``.

    >>> import numpy as np
    >>> from maligrad import functional as F
    >>> H = F.hessian(lambda x: (x ** 3).sum(), np.array([1.0, 2.0]))
    >>> H.data
    array([[ 6.,  0.],
           [ 0., 12.]])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from maligrad.autograd import grad
from maligrad.grad_mode import enable_grad
from maligrad.ops.join import stack
from maligrad.variable import Variable

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vjp"]


def _prepare(inputs: Any, create_graph: bool) -> tuple[tuple[Variable, ...], bool]:
    single = not isinstance(inputs, (tuple, list))
    items = (inputs,) if single else tuple(inputs)
    out = []
    for x in items:
        if isinstance(x, Variable):
            v = x if create_graph and x.requires_grad else x.detach()
        else:
            v = Variable(np.asarray(x))
        out.append(v.requires_grad_(True) if not v.requires_grad else v)
    return tuple(out), single


def _grads(
    outputs: list[Variable],
    inputs: list[Variable],
    grad_outputs: Any = None,
    create_graph: bool = False,
    retain_graph: bool | None = None,
) -> tuple[Variable, ...]:
    """``grad`` over the outputs that depend on the inputs; zeros where nothing does.

    A function whose derivative is constant (linear, ReLU, ...) has a gradient that no
    longer depends on its inputs: its own derivative is zero, not an error.
    """
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not pairs:
        return tuple(Variable(np.zeros_like(x.data)) for x in inputs)
    gs = grad(
        [o for o, _ in pairs],
        inputs,
        [g for _, g in pairs],
        retain_graph=retain_graph,
        create_graph=create_graph,
        allow_unused=True,
    )
    return _zeros_if_none(gs, tuple(inputs))


def _zeros_if_none(gs: tuple[Any, ...], xs: tuple[Variable, ...]) -> tuple[Variable, ...]:
    return tuple(Variable(np.zeros_like(x.data)) if g is None else g for g, x in zip(gs, xs))


def _outputs(func: Callable[..., Any], xs: tuple[Variable, ...]) -> tuple[Any, bool]:
    with enable_grad():
        out = func(*xs)
    return out, not isinstance(out, (tuple, list))


def vjp(
    func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False
) -> tuple[Any, Any]:
    """``(func(inputs), v^T J)``: the vector-Jacobian product at ``inputs``.

    ``J = d func / d inputs``; ``v`` has the output's shape (it may be omitted for a
    one-element output). One backward pass. With ``create_graph=True`` the results stay
    differentiable.

        >>> import numpy as np
        >>> from maligrad import functional as F
        >>> out, vjp = F.vjp(lambda x: x * x, np.array([1.0, 2.0]), np.array([1.0, 1.0]))
        >>> out.tolist(), vjp.tolist()
        ([1.0, 4.0], [2.0, 4.0])
    """
    xs, single = _prepare(inputs, create_graph)
    out, single_out = _outputs(func, xs)
    outs = (out,) if single_out else tuple(out)
    vs = None if v is None else ((v,) if single_out else tuple(v))
    if vs is not None:
        vs = tuple(
            x if isinstance(x, Variable) else Variable(np.asarray(x, o.dtype))
            for x, o in zip(vs, outs)
        )
    gs = _grads(list(outs), list(xs), vs, create_graph=create_graph)
    res_out = out if create_graph else _detach_all(out)
    return res_out, gs[0] if single else gs


def jvp(
    func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False
) -> tuple[Any, Any]:
    """``(func(inputs), J v)``: the Jacobian-vector product (forward derivative along ``v``).

    ``v`` has the inputs' shape (it may be omitted when each input has one element).
    Computed by differentiating the vjp ``u -> u^T J`` with respect to ``u`` (two backward
    passes).

        >>> import numpy as np
        >>> from maligrad import functional as F
        >>> _, jv = F.jvp(lambda x: x * x, np.array([1.0, 2.0]), np.array([1.0, 0.0]))
        >>> jv.tolist()
        [2.0, 0.0]
    """
    xs, single = _prepare(inputs, True)
    out, single_out = _outputs(func, xs)
    outs = (out,) if single_out else tuple(out)
    if v is None:
        if any(x.data.size != 1 for x in xs):
            raise RuntimeError("jvp: v can be omitted only when every input has one element")
        v = tuple(np.ones_like(x.data) for x in xs)
    vs = (v,) if single else tuple(v)
    vs = tuple(
        x if isinstance(x, Variable) else Variable(np.asarray(x, xi.dtype)) for x, xi in zip(vs, xs)
    )
    us = tuple(Variable(np.zeros_like(o.data), requires_grad=True) for o in outs)
    gs = _grads(list(outs), list(xs), list(us), create_graph=True)
    total = sum(((g * vv).sum() for g, vv in zip(gs, vs)), Variable(np.zeros((), outs[0].dtype)))
    jv = _grads([total], list(us), create_graph=create_graph)
    res_out = out if create_graph else _detach_all(out)
    return res_out, jv[0] if single_out else jv


def jacobian(func: Callable[..., Any], inputs: Any, create_graph: bool = False) -> Any:
    """The Jacobian ``J[i, j] = d func(x)_i / d x_j``, of shape ``output.shape + input.shape``.

    For several inputs, a tuple with one Jacobian per input. One backward pass per output
    entry; ``func`` must return a single Variable.

        >>> import numpy as np
        >>> from maligrad import functional as F
        >>> F.jacobian(lambda x: x * x, np.array([1.0, 2.0])).tolist()
        [[2.0, 0.0], [0.0, 4.0]]
    """
    xs, single = _prepare(inputs, create_graph)
    out, single_out = _outputs(func, xs)
    if not single_out:
        raise NotImplementedError("jacobian of a function with several outputs")
    flat = out.reshape(-1)
    rows: list[list[Variable]] = [[] for _ in xs]
    for i in range(flat.shape[0]):
        gs = _grads([flat[i]], list(xs), create_graph=create_graph, retain_graph=True)
        for k, g in enumerate(gs):
            rows[k].append(g)
    jacs = tuple(
        stack(r).reshape(out.shape + x.shape) if r else Variable(np.zeros(out.shape + x.shape))
        for r, x in zip(rows, xs)
    )
    if not create_graph:
        jacs = tuple(j.detach() for j in jacs)
    return jacs[0] if single else jacs


def hessian(func: Callable[..., Any], inputs: Any, create_graph: bool = False) -> Any:
    """The Hessian ``H[i, j] = d^2 func(x) / dx_i dx_j`` of a scalar function of one input.

    Of shape ``input.shape + input.shape``: the Jacobian of the gradient (computed with
    ``create_graph=True``).

        >>> import numpy as np
        >>> from maligrad import functional as F
        >>> F.hessian(lambda x: (x[0] * x[1]) ** 2, np.array([1.0, 2.0])).tolist()
        [[8.0, 8.0], [8.0, 2.0]]
    """
    xs, single = _prepare(inputs, True)

    def gradient(*args: Variable) -> Any:
        return _grads([func(*args)], [args[0]], create_graph=True)[0]

    if not single:
        raise NotImplementedError("hessian of a function of several inputs")
    return jacobian(gradient, xs[0], create_graph=create_graph)


def hvp(
    func: Callable[..., Any], inputs: Any, v: Any, create_graph: bool = False
) -> tuple[Any, Any]:
    """``(func(inputs), H v)``: a Hessian-vector product without forming ``H``.

    ``H v = d/dx <grad func(x), v>``: two backward passes, whatever the size of ``x``
    (Newton and conjugate-gradient steps use it).

        >>> import numpy as np
        >>> from maligrad import functional as F
        >>> _, hv = F.hvp(lambda x: (x ** 3).sum(), np.array([1.0, 2.0]), np.array([1.0, 1.0]))
        >>> hv.tolist()
        [6.0, 12.0]
    """
    xs, single = _prepare(inputs, True)
    out, _ = _outputs(func, xs)
    vs = (v,) if single else tuple(v)
    gs = _grads([out], list(xs), create_graph=True)
    total = sum(
        (
            (g * (vv.data if isinstance(vv, Variable) else np.asarray(vv, g.dtype))).sum()
            for g, vv in zip(gs, vs)
        ),
        Variable(np.zeros((), out.dtype)),
    )
    hv = _grads([total], list(xs), create_graph=create_graph)
    res_out = out if create_graph else out.detach()
    return res_out, hv[0] if single else hv


def _detach_all(out: Any) -> Any:
    if isinstance(out, Variable):
        return out.detach()
    return type(out)(o.detach() for o in out)
