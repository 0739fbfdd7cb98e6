"""The points the op table avoids: kinks, ties, zeros, NaN and infinity, and integer input.

Each row of ``EDGES`` gives an op, its inputs, the expected value and the expected gradient
of ``out.sum()`` for every input; the conventions at kinks and ties are PyTorch's (checked
against torch 2.13) and documented in the ops' docstrings. ``INT_INPUT`` runs every public
unary op on int32, int64 and bool input and checks the result's dtype and value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import maligrad as mg
from maligrad import Variable

nan, inf = np.nan, np.inf

# (id, fn, inputs, expected output, expected gradients of out.sum(), one per input)
EDGES: list[tuple[str, Callable[..., Any], list[Any], Any, list[Any]]] = [
    ("relu at 0", mg.relu, [[-1.0, 0.0, 2.0]], [0.0, 0.0, 2.0], [[0.0, 0.0, 1.0]]),
    ("abs at 0", mg.abs, [[-1.0, 0.0, 2.0]], [1.0, 0.0, 2.0], [[-1.0, 0.0, 1.0]]),
    (
        "maximum ties and NaN",
        mg.maximum,
        [[1.0, 2.0, nan, 1.0], [1.0, 0.0, 0.0, nan]],
        [1.0, 2.0, nan, nan],
        [[0.5, 1.0, 1.0, 1.0], [0.5, 0.0, 1.0, 1.0]],
    ),
    (
        "minimum ties and NaN",
        mg.minimum,
        [[1.0, 2.0, nan, 1.0], [1.0, 0.0, 0.0, nan]],
        [1.0, 0.0, nan, nan],
        [[0.5, 0.0, 1.0, 1.0], [0.5, 1.0, 1.0, 1.0]],
    ),
    (
        "maximum with a constant at ties",
        lambda a: mg.maximum(a, 0.0),
        [[-1.0, 0.0, 1.0]],
        [0.0, 0.0, 1.0],
        [[0.0, 0.5, 1.0]],
    ),
    ("max ties", lambda a: a.max(), [[3.0, 1.0, 3.0]], 3.0, [[0.5, 0.0, 0.5]]),
    ("min ties", lambda a: a.min(), [[1.0, 3.0, 1.0, 1.0]], 1.0, [[1 / 3, 0.0, 1 / 3, 1 / 3]]),
    (
        "max axis ties",
        lambda a: a.max(axis=0),
        [[[2.0, 1.0], [2.0, 5.0]]],
        [2.0, 5.0],
        [[[0.5, 0.0], [0.5, 1.0]]],
    ),
    ("max with NaN", lambda a: a.max(), [[1.0, nan, nan, 3.0]], nan, [[0.0, 0.5, 0.5, 0.0]]),
    (
        "min axis with NaN",
        lambda a: a.min(axis=1),
        [[[1.0, nan], [2.0, 0.0]]],
        [nan, 0.0],
        [[[0.0, 1.0], [0.0, 1.0]]],
    ),
    ("max 0-d", lambda a: a.max(), [2.5], 2.5, [1.0]),
    (
        "clip at the bounds",
        lambda a: a.clip(-1.0, 1.0),
        [[-2.0, -1.0, 0.0, 1.0, 2.0]],
        [-1.0, -1.0, 0.0, 1.0, 1.0],
        [[0.0, 1.0, 1.0, 1.0, 0.0]],
    ),
    ("clip min only", lambda a: a.clip(min=0.0), [[-1.0, 0.0, 3.0]], [0.0, 0.0, 3.0], [[0, 1, 1]]),
    ("clip max only", lambda a: a.clip(max=0.0), [[-1.0, 0.0, 3.0]], [-1.0, 0.0, 0.0], [[1, 1, 0]]),
    ("clip NaN", lambda a: a.clip(-1.0, 1.0), [[nan]], [nan], [[0.0]]),
    (
        "erf at +-inf and NaN",
        mg.erf,
        [[inf, -inf, nan, 0.0]],
        [1, -1, nan, 0],
        [[0, 0, nan, 1.1283791670955126]],
    ),
    ("std of a constant", lambda a: a.std(), [[2.0, 2.0, 2.0]], 0.0, [[0.0, 0.0, 0.0]]),
    (
        "std ddof=1 of constant rows",
        lambda a: a.std(axis=1, ddof=1),
        [[[1.0, 1.0], [1.0, 3.0]]],
        [0.0, np.sqrt(2.0)],
        [[[0.0, 0.0], [-np.sqrt(0.5), np.sqrt(0.5)]]],
    ),
    ("std 0-d", lambda a: a.std(), [3.0], 0.0, [0.0]),
    ("var 0-d", lambda a: a.var(), [3.0], 0.0, [0.0]),
    (
        "var ddof=1",
        lambda a: a.var(ddof=1),
        [[1.0, 2.0, 4.0]],
        7 / 3,
        [[-4 / 3, -1 / 3, 5 / 3]],
    ),
    ("x ** x at 0", lambda a: a**a, [[0.0, 1.0]], [1.0, 1.0], [[0.0, 1.0]]),
    (
        "0 ** b",
        lambda a, b: a**b,
        [[0.0, 0.0, 0.0], [0.0, 1.0, 2.0]],
        [1.0, 0.0, 0.0],
        [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]],
    ),
    ("a ** 0 at 0", lambda a: a**0, [[0.0, 2.0]], [1.0, 1.0], [[0.0, 0.0]]),
    ("sqrt at 0", mg.sqrt, [[0.0, 4.0]], [0.0, 2.0], [[inf, 0.25]]),
    ("mul by literal zero", lambda a: a * 0.0, [[1.0, -2.0]], [0.0, -0.0], [[0.0, 0.0]]),
    (
        "prod with one zero",
        lambda a: a.prod(),
        [[2.0, 0.0, 3.0]],
        0.0,
        [[0.0, 6.0, 0.0]],
    ),
    (
        "logsumexp of an all -inf row",
        lambda a: a.logsumexp(axis=1),
        [[[-inf, -inf], [0.0, 0.0]]],
        [-inf, np.log(2.0)],
        [[[nan, nan], [0.5, 0.5]]],
    ),
    (
        "logsumexp at 1e6",
        lambda a: a.logsumexp(axis=1),
        [[[1e6, 1e6 - 1.0], [1e3, 2e3]]],
        [1e6 + np.log1p(np.exp(-1.0)), 2e3],
        [[[1 / (1 + np.exp(-1.0)), 1 / (1 + np.exp(1.0))], [0.0, 1.0]]],
    ),
    (
        "logsumexp with +inf",
        lambda a: a.logsumexp(),
        [[inf, 1.0]],
        inf,
        [[nan, 0.0]],
    ),
    ("logsumexp 0-d", lambda a: a.logsumexp(), [-inf], -inf, [nan]),
    ("sigmoid at +-inf", mg.sigmoid, [[inf, -inf]], [1.0, 0.0], [[0.0, 0.0]]),
    ("softplus large", mg.softplus, [[1e4, -1e4]], [1e4, 0.0], [[1.0, 0.0]]),
    ("tanh at +-inf", mg.tanh, [[inf, -inf]], [1.0, -1.0], [[0.0, 0.0]]),
]


@pytest.mark.parametrize(
    ("fn", "inputs", "expected", "grads"), [r[1:] for r in EDGES], ids=[r[0] for r in EDGES]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_edge_value_and_gradient(fn, inputs, expected, grads, dtype) -> None:
    xs = [Variable(np.asarray(a, dtype=dtype), requires_grad=True) for a in inputs]
    with np.errstate(all="ignore"):
        out = fn(*xs)
        out.sum().backward()
    assert out.dtype == dtype
    tol = {"rtol": 2e-6, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(out.data, np.asarray(expected, dtype=np.float64), **tol)
    for x, g in zip(xs, grads):
        assert x.grad is not None and x.grad.dtype == dtype
        np.testing.assert_allclose(x.grad.data, np.asarray(g, dtype=np.float64), **tol)


# -- integer and bool input ------------------------------------------------------------
_FLOAT_VALUED = {
    "exp": (mg.exp, np.exp),
    "log": (mg.log, np.log),
    "log1p": (mg.log1p, np.log1p),
    "expm1": (mg.expm1, np.expm1),
    "sqrt": (mg.sqrt, np.sqrt),
    "sin": (mg.sin, np.sin),
    "cos": (mg.cos, np.cos),
    "tan": (mg.tan, np.tan),
    "tanh": (mg.tanh, np.tanh),
    "sigmoid": (mg.sigmoid, lambda a: 1 / (1 + np.exp(-a))),
    "softplus": (mg.softplus, lambda a: np.log1p(np.exp(a))),
    "erf": (mg.erf, lambda a: np.vectorize(__import__("math").erf)(a)),
    "mean": (mg.mean, np.mean),
    "mean axis": (lambda a: a.mean(axis=0), lambda a: a.mean(axis=0)),
    "var": (mg.var, np.var),
    "std ddof=1": (lambda a: a.std(ddof=1), lambda a: a.std(ddof=1)),
    "logsumexp": (mg.logsumexp, lambda a: np.log(np.exp(a).sum())),
    "clip float bounds": (lambda a: a.clip(0.5, 1.5), lambda a: np.clip(a, 0.5, 1.5)),
    "divide by an int": (lambda a: a / 2, lambda a: a / 2),
    "divide by a float": (lambda a: a / 2.5, lambda a: a / 2.5),
    "divide into an int": (lambda a: 3 / (a + 1), lambda a: 3 / (a + 1)),
    "divide by itself": (lambda a: a / (a + 1), lambda a: a / (a + 1)),
}
# Ops whose result is an integer keep the input's dtype (sum, cumsum and prod follow numpy:
# bool and int32 accumulate in int64).
_INT_VALUED = {
    "relu": (mg.relu, lambda a: np.maximum(a, 0).astype(a.dtype)),
    "abs": (mg.abs, np.abs),
    "clip int bounds": (lambda a: a.clip(0, 1), lambda a: np.clip(a, 0, 1)),
    "maximum": (lambda a: mg.maximum(a, a), lambda a: a),
    "max": (mg.max, np.max),
    "min axis": (lambda a: a.min(axis=0), lambda a: a.min(axis=0)),
    "sum": (mg.sum, np.sum),
    "cumsum": (mg.cumsum, np.cumsum),
    "prod": (mg.prod, np.prod),
}
INT_CASES = [
    (name, fn, ref, dt, float_valued)
    for float_valued, table in ((True, _FLOAT_VALUED), (False, _INT_VALUED))
    for name, (fn, ref) in table.items()
    for dt in (np.int32, np.int64, np.bool_)
]


@pytest.mark.parametrize(
    ("fn", "ref", "dtype", "float_valued"),
    [c[1:] for c in INT_CASES],
    ids=[f"{c[0]}-{np.dtype(c[3]).name}" for c in INT_CASES],
)
def test_integer_and_bool_input(fn, ref, dtype, float_valued) -> None:
    data = np.array([0, 1, 1, 0, 1], dtype=dtype) if dtype == np.bool_ else np.arange(1, 6)
    data = data.astype(dtype)
    with np.errstate(divide="ignore"):
        out = fn(Variable(data))
        expected = np.asarray(ref(data.astype(np.float64) if float_valued else data))
    if float_valued:
        assert out.dtype == mg.get_default_dtype(), out.dtype
        np.testing.assert_allclose(out.data, expected, rtol=2e-6)
    else:
        accumulates = fn in (mg.sum, mg.cumsum, mg.prod)
        assert out.dtype == (np.asarray(ref(data)).dtype if accumulates else dtype)
        np.testing.assert_array_equal(out.data, expected)


def test_float_valued_ops_follow_the_default_dtype() -> None:
    old = mg.get_default_dtype()
    mg.set_default_dtype(np.float64)
    try:
        assert mg.sigmoid(Variable(np.array([1, 2], dtype=np.int32))).dtype == np.float64
    finally:
        mg.set_default_dtype(old)


def test_integer_results_do_not_require_grad() -> None:
    x = Variable(np.array([0.4, 1.6, 2.5]), requires_grad=True)
    rounded = x.astype(np.int64)
    assert not rounded.requires_grad and rounded.grad_fn is None
    (x * 2).sum().backward()  # the cast left nothing behind in the graph
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0, 2.0])
    back = x.astype(np.float32)  # a floating cast stays differentiable
    assert back.requires_grad
