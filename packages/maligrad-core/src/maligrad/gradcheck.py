"""Check analytic gradients against float64 central differences.

For a function ``f`` of Variables, ``gradcheck`` compares ``backward``'s vector-Jacobian
products with ``(phi(x + eps d) - phi(x - eps d)) / (2 eps)``, where
``phi = sum_k <u_k, f_k(x)>`` for random cotangents ``u``. Small problems are checked
entry by entry (every input coordinate ``d = e_i``); large ones along random directions
``d``. ``gradgradcheck`` applies the same test to the function ``(x, u) -> u^T J(x)``
computed with ``create_graph=True``, which checks every op's double backward.

    >>> import numpy as np
    >>> from maligrad import Variable, gradcheck
    >>> x = Variable(np.random.default_rng(0).normal(size=3), requires_grad=True)
    >>> gradcheck(lambda x: (x.sin() * x).sum(), x)
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from maligrad.autograd import grad
from maligrad.grad_mode import enable_grad, no_grad
from maligrad.variable import Variable


class GradcheckError(AssertionError):
    """The analytic and numerical gradients disagree (raised by gradcheck and gradgradcheck).

    An ``AssertionError``, so a failing check inside a test reads as a test failure; the
    message names the input and the worst entry (or random direction) with both values.
    """


def _inputs64(inputs: Any) -> list[Variable]:
    items = [inputs] if not isinstance(inputs, (tuple, list)) else list(inputs)
    out = []
    for k, x in enumerate(items):
        data = x.data if isinstance(x, Variable) else np.asarray(x)
        if data.dtype.kind not in "biuf":
            raise TypeError(
                f"gradcheck: inputs[{k}] must be a Variable or an array of real numbers, got "
                f"{type(x).__name__} of dtype {data.dtype}"
            )
        requires = x.requires_grad if isinstance(x, Variable) else data.dtype.kind == "f"
        if data.dtype.kind == "f":
            data = data.astype(np.float64)
        out.append(Variable(data.copy(), requires_grad=requires))
    return out


def _outputs(fn: Callable[..., Any], xs: Sequence[Variable]) -> list[Variable]:
    out = fn(*xs)
    if isinstance(out, Variable):
        return [out]
    if not isinstance(out, (tuple, list)) or not all(isinstance(o, Variable) for o in out):
        raise TypeError(
            f"gradcheck: fn must return a Variable or a tuple of Variables, got {_describe(out)}"
        )
    return list(out)


def _describe(out: Any) -> str:
    if isinstance(out, (tuple, list)):
        return f"{type(out).__name__} of ({', '.join(type(o).__name__ for o in out)})"
    return type(out).__name__


def _check_settings(fn: Any, **settings: Any) -> None:
    """Refuse a non-callable ``fn`` and steps or tolerances that are not finite numbers."""
    if not callable(fn):
        raise TypeError(f"gradcheck: fn must be callable, got {type(fn).__name__}")
    for name, value in settings.items():
        if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
            raise TypeError(f"gradcheck: {name} must be a number, got {type(value).__name__}")
        if not np.isfinite(value) or value < 0 or (name == "eps" and value == 0):
            limit = "> 0" if name == "eps" else ">= 0"
            raise ValueError(f"gradcheck: {name} must be finite and {limit}, got {value}")


def _phi(fn: Callable[..., Any], xs: Sequence[Variable], us: Sequence[np.ndarray]) -> float:
    with no_grad():
        outs = _outputs(fn, xs)
    return float(sum(np.sum(o.data * u) for o, u in zip(outs, us)))


def gradcheck(
    fn: Callable[..., Any],
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    max_full: int = 64,
    n_directions: int = 6,
    seed: int = 0,
    raise_exception: bool = True,
) -> bool:
    """True when ``fn``'s gradients match central differences in float64.

    For random cotangents ``u`` and ``phi(x) = sum_k <u_k, fn_k(x)>``, the analytic
    ``u^T J`` from backward must match ``(phi(x + eps d) - phi(x - eps d)) / (2 eps)``
    within ``atol + rtol |numeric|``, for every coordinate direction ``d`` (small inputs)
    or ``n_directions`` random ones (large inputs), with two draws of ``u``.

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([0.5, 1.5]), requires_grad=True)
        >>> mg.gradcheck(lambda x: (x.exp() * x).sum(), x)
        True

    Args:
        fn: a function of Variables returning a Variable or a tuple of them.
        inputs: a Variable/array or a sequence of them; floating inputs are converted to
            float64 copies, and those that require grad (all floating arrays) are checked.
        eps: the finite-difference step.
        atol, rtol: tolerances of ``|analytic - numeric| <= atol + rtol |numeric|``.
        max_full: inputs with at most this many elements in all are checked coordinate
            by coordinate; larger ones along ``n_directions`` random directions.
        seed: seeds the random cotangents and directions.
        raise_exception: raise [GradcheckError][maligrad.GradcheckError] naming the input
            and worst entry instead of returning False.
    """
    _check_settings(fn, eps=eps, atol=atol, rtol=rtol)
    rng = np.random.default_rng(seed)
    xs = _inputs64(inputs)
    checked = [i for i, x in enumerate(xs) if x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    outs = _outputs(fn, xs)
    diff_outs = [o for o in outs if o.requires_grad]
    if not diff_outs:
        raise ValueError("gradcheck: no output depends on an input that requires grad")
    for trial in range(2):
        us = [rng.normal(size=o.shape) for o in outs]
        if trial:
            outs = _outputs(fn, xs)
        pairs = [(o, Variable(u)) for o, u in zip(outs, us) if o.requires_grad]
        analytic = grad(
            [o for o, _ in pairs],
            [xs[i] for i in checked],
            [u for _, u in pairs],
            allow_unused=True,
        )
        total = sum(xs[i].data.size for i in checked)
        for i, g in zip(checked, analytic):
            a = np.zeros_like(xs[i].data) if g is None else g.data
            x = xs[i]
            base = x.data
            if total <= max_full:
                numeric = np.zeros_like(base)
                for idx in np.ndindex(base.shape):
                    numeric[idx] = _directional(fn, xs, i, us, _unit(base, idx), eps)
                ok, report = _compare(a, numeric, atol, rtol)
            else:
                ok, report = True, ""
                for _ in range(n_directions):
                    d = rng.normal(size=base.shape)
                    num = _directional(fn, xs, i, us, d, eps)
                    ana = float(np.sum(a * d))
                    if abs(ana - num) > atol + rtol * abs(num):
                        ok = False
                        report = f"along a random direction: analytic {ana:.6g}, numeric {num:.6g}"
                        break
            if not ok:
                if raise_exception:
                    raise GradcheckError(f"gradient of input {i} (shape {base.shape}): {report}")
                return False
    return True


def _unit(base: np.ndarray, idx: tuple[int, ...]) -> np.ndarray:
    d = np.zeros_like(base)
    d[idx] = 1.0
    return d


def _directional(
    fn: Callable[..., Any],
    xs: list[Variable],
    i: int,
    us: Sequence[np.ndarray],
    d: np.ndarray,
    eps: float,
) -> float:
    x = xs[i]
    base = x.data
    try:
        x.data = np.asarray(base + eps * d)  # 0-d arithmetic gives numpy scalars
        plus = _phi(fn, xs, us)
        x.data = np.asarray(base - eps * d)
        minus = _phi(fn, xs, us)
    finally:
        x.data = base
    return (plus - minus) / (2 * eps)


def _compare(a: np.ndarray, n: np.ndarray, atol: float, rtol: float) -> tuple[bool, str]:
    err = np.abs(a - n) - (atol + rtol * np.abs(n))
    if (err <= 0).all():
        return True, ""
    worst = np.unravel_index(np.argmax(err), a.shape) if a.shape else ()
    return False, (
        f"entry {tuple(int(k) for k in worst)}: analytic {a[worst]:.6g}, numeric {n[worst]:.6g}"
    )


def gradgradcheck(
    fn: Callable[..., Any],
    inputs: Any,
    grad_outputs: Any = None,
    seed: int = 0,
    **kwargs: Any,
) -> bool:
    """Check second derivatives: ``gradcheck`` of ``(x, u) -> u^T J(x)``.

    ``u^T J(x)`` is computed with ``create_graph=True``, so this checks every op's double
    backward. ``grad_outputs`` (the cotangents ``u``) default to random normal arrays; they
    are checked as inputs too, since the vector-Jacobian product is linear in them.
    Keyword arguments go to gradcheck (``eps``, ``atol``, ``rtol``, ...).

        >>> import numpy as np
        >>> import maligrad as mg
        >>> x = mg.Variable(np.array([0.5, 1.5]), requires_grad=True)
        >>> mg.gradgradcheck(lambda x: x.sin() * x, x)
        True
    """
    _check_settings(fn)
    rng = np.random.default_rng(seed + 1)
    xs = _inputs64(inputs)
    outs = _outputs(fn, xs)
    if grad_outputs is None:
        us = [Variable(rng.normal(size=o.shape), requires_grad=True) for o in outs]
    else:
        items = [grad_outputs] if isinstance(grad_outputs, (Variable, np.ndarray)) else grad_outputs
        us = _inputs64(items)
    n = len(xs)
    diff = [i for i, x in enumerate(xs) if x.requires_grad]

    def first_derivative(*args: Variable) -> tuple[Variable, ...]:
        with enable_grad():  # gradcheck evaluates under no_grad; this needs the graph
            inner = _outputs(fn, args[:n])
            pairs = [(o, u) for o, u in zip(inner, args[n:]) if o.requires_grad]
            gs = grad(
                [o for o, _ in pairs],
                [args[i] for i in diff],
                [u for _, u in pairs],
                create_graph=True,
                allow_unused=True,
            )
        return tuple(
            g if g is not None else Variable(np.zeros_like(args[i].data)) for g, i in zip(gs, diff)
        )

    return gradcheck(first_derivative, [*xs, *us], seed=seed, **kwargs)
