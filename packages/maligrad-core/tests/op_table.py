"""The declarative op table: each row names an op, its maligrad form, its numpy oracle and
the input shapes (broadcasting pairs included) on which it is checked.

Every row drives three tests in ``test_core_ops.py``: forward against numpy in float32
(values and dtype), backward against ``gradcheck`` and double backward against
``gradgradcheck`` in float64.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from math import erf as math_erf
from typing import Any

import numpy as np

import maligrad as mg


@dataclass
class Op:
    name: str
    fn: Callable[..., Any]
    oracle: Callable[..., Any]
    shapes: list[tuple[tuple[int, ...], ...]]
    # "real", "positive", "unit" (|x| < 0.9), "distinct" or "large" (1e3 to 1e6, spread ~1)
    domain: str = "real"
    gradgrad: bool = True
    grad_inputs: tuple[int, ...] | None = None  # which inputs get gradients (default: all)
    extra: dict[str, Any] = field(default_factory=dict)  # keyword arguments for gradcheck


UNARY = [((3, 4),), ((5,),), ((),)]
BINARY = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (3,)), ((3, 1), ())]
REDUCE = [((3, 4),), ((2, 3, 4),)]
REDUCE_ALL = [*REDUCE, ((),), ((1,),)]  # reductions over every axis also take 0-d input

_erf = np.vectorize(math_erf, otypes=[np.float64])


def _np_where(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(a > 0, a, b)


def _np_setitem(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    out = x * 2
    out[1:3, 0] = v
    return out


def _mg_setitem(x: Any, v: Any) -> Any:
    out = x * 2
    out[1:3, 0] = v
    return out


def _np_logsumexp(x: np.ndarray, axis: Any) -> np.ndarray:
    m = x.max(axis=axis, keepdims=True)
    return np.log(np.exp(x - m).sum(axis=axis, keepdims=True)).squeeze(axis) + m.squeeze(axis)


def _reflect(x: np.ndarray) -> np.ndarray:
    return np.pad(x, ((1, 2), (2, 1)), mode="reflect")


OPS: list[Op] = [
    # arithmetic
    Op("add", lambda a, b: a + b, np.add, BINARY),
    Op("sub", lambda a, b: a - b, np.subtract, BINARY),
    Op("mul", lambda a, b: a * b, np.multiply, BINARY),
    Op("div", lambda a, b: a / b, np.divide, BINARY, domain="positive"),
    Op("pow", lambda a, b: a**b, np.power, BINARY, domain="positive"),
    Op("pow_scalar", lambda a: a**3, lambda a: a**3, UNARY),
    Op("rpow_scalar", lambda a: 2.0**a, lambda a: 2.0**a, UNARY),
    Op("rsub_scalar", lambda a: 1.5 - a, lambda a: 1.5 - a, UNARY),
    Op("rdiv_scalar", lambda a: 1.5 / a, lambda a: 1.5 / a, UNARY, domain="positive"),
    Op("neg", lambda a: -a, np.negative, UNARY),
    Op("matmul_2d", lambda a, b: a @ b, np.matmul, [((3, 4), (4, 2))]),
    Op("matmul_1d_2d", lambda a, b: a @ b, np.matmul, [((4,), (4, 2)), ((3, 4), (4,))]),
    Op("matmul_1d_1d", lambda a, b: a @ b, np.matmul, [((4,), (4,))]),
    Op(
        "matmul_batched",
        lambda a, b: a @ b,
        np.matmul,
        [((2, 3, 4), (4, 2)), ((2, 1, 3, 4), (3, 4, 2)), ((4,), (2, 4, 3))],
    ),
    # elementwise
    Op("abs", abs, np.abs, UNARY, domain="distinct"),
    Op("exp", mg.exp, np.exp, UNARY),
    Op("log", mg.log, np.log, UNARY, domain="positive"),
    Op("log1p", mg.log1p, np.log1p, UNARY, domain="positive"),
    Op("expm1", mg.expm1, np.expm1, UNARY),
    Op("sqrt", mg.sqrt, np.sqrt, UNARY, domain="positive"),
    Op("sin", mg.sin, np.sin, UNARY),
    Op("cos", mg.cos, np.cos, UNARY),
    Op("tan", mg.tan, np.tan, UNARY, domain="unit"),
    Op("tanh", mg.tanh, np.tanh, UNARY),
    Op("sigmoid", mg.sigmoid, lambda a: 1 / (1 + np.exp(-a)), UNARY),
    Op("relu", mg.relu, lambda a: np.maximum(a, 0), UNARY, domain="distinct"),
    Op("softplus", mg.softplus, lambda a: np.log1p(np.exp(a)), UNARY),
    Op("erf", mg.erf, _erf, UNARY),
    Op("maximum", mg.maximum, np.maximum, BINARY, domain="distinct"),
    Op("minimum", mg.minimum, np.minimum, BINARY, domain="distinct"),
    Op(
        "clip",
        lambda a: mg.clip(a, -0.5, 0.7),
        lambda a: np.clip(a, -0.5, 0.7),
        UNARY,
        domain="distinct",
    ),
    Op("where", lambda a, b: mg.where(a.data > 0, a, b), _np_where, BINARY, domain="distinct"),
    # reductions
    Op("sum", lambda a: a.sum(), np.sum, REDUCE_ALL),
    Op("sum_axis", lambda a: a.sum(axis=1), lambda a: a.sum(axis=1), REDUCE),
    Op(
        "sum_axes_keepdims",
        lambda a: a.sum(axis=(0, -1), keepdims=True),
        lambda a: a.sum(axis=(0, -1), keepdims=True),
        REDUCE,
    ),
    Op("mean", lambda a: a.mean(axis=0), lambda a: a.mean(axis=0), REDUCE),
    Op("mean_all", lambda a: a.mean(), np.mean, REDUCE_ALL),
    Op("prod", lambda a: a.prod(axis=1), lambda a: a.prod(axis=1), REDUCE, domain="positive"),
    Op(
        "prod_with_zeros",
        lambda a: (a * (np.arange(a.size).reshape(a.shape) % 3 != 0)).prod(axis=-1),
        lambda a: (a * (np.arange(a.size).reshape(a.shape) % 3 != 0)).prod(axis=-1),
        REDUCE,
        gradgrad=False,
    ),
    Op("var", lambda a: a.var(axis=1, ddof=1), lambda a: a.var(axis=1, ddof=1), REDUCE),
    Op("var_all", lambda a: a.var(), np.var, REDUCE_ALL),
    Op("std_all", lambda a: a.std(), np.std, REDUCE_ALL),
    Op(
        "std_ddof1",
        lambda a: a.std(axis=(0, -1), ddof=1),
        lambda a: a.std(axis=(0, -1), ddof=1),
        REDUCE,
    ),
    Op(
        "std",
        lambda a: a.std(axis=-1, keepdims=True),
        lambda a: a.std(axis=-1, keepdims=True),
        REDUCE,
    ),
    Op("max", lambda a: a.max(axis=1), lambda a: a.max(axis=1), REDUCE, domain="distinct"),
    Op("max_all", lambda a: a.max(), np.max, REDUCE_ALL, domain="distinct"),
    Op("min_all", lambda a: a.min(), np.min, REDUCE_ALL, domain="distinct"),
    Op(
        "min", lambda a: a.min(axis=(0, 1)), lambda a: a.min(axis=(0, 1)), REDUCE, domain="distinct"
    ),
    Op("logsumexp", lambda a: a.logsumexp(axis=1), lambda a: _np_logsumexp(a, 1), REDUCE),
    Op("logsumexp_all", lambda a: a.logsumexp(), lambda a: _np_logsumexp(a, None), REDUCE_ALL),
    Op(
        "logsumexp_large",
        lambda a: a.logsumexp(axis=-1, keepdims=True),
        lambda a: _np_logsumexp(a, -1)[..., None],
        REDUCE,
        domain="large",
        extra={"eps": 1e-3},  # at 1e6, float64 differences over 1e-6 lose 4 digits
    ),
    Op("cumsum", lambda a: a.cumsum(axis=1), lambda a: a.cumsum(axis=1), REDUCE),
    Op("cumsum_flat", lambda a: a.cumsum(), np.cumsum, REDUCE),
    # products
    Op(
        "einsum",
        lambda a, b: mg.einsum("ij,jk->ik", a, b),
        lambda a, b: np.einsum("ij,jk->ik", a, b),
        [((3, 4), (4, 2))],
    ),
    Op(
        "einsum_batch_trace",
        lambda a, b: mg.einsum("bij,bjk->b", a, b),
        lambda a, b: np.einsum("bij,bjk->b", a, b),
        [((2, 3, 4), (2, 4, 3))],
    ),
    Op(
        "einsum_outer_sum",
        lambda a, b: mg.einsum("ij,k", a, b),
        lambda a, b: np.einsum("ij,k", a, b),
        [((2, 3), (4,))],
    ),
    Op(
        "einsum_trace_and_diagonal",
        lambda a: mg.einsum("ii->", a) + mg.einsum("ii->i", a).sum() * 2,
        lambda a: np.einsum("ii->", a) * 3,
        [((3, 3),)],
    ),
    Op(
        "einsum_ellipsis",
        lambda a, b: mg.einsum("...ij,...jk->...ik", a, b),
        lambda a, b: np.einsum("...ij,...jk->...ik", a, b),
        [((2, 3, 4), (4, 2)), ((1, 2, 3), (5, 3, 2))],
    ),
    Op(
        "tensordot",
        lambda a, b: mg.tensordot(a, b, axes=([1, 2], [0, 1])),
        lambda a, b: np.tensordot(a, b, axes=([1, 2], [0, 1])),
        [((2, 3, 4), (3, 4, 5))],
    ),
    # shape
    Op("reshape", lambda a: a.reshape(4, -1), lambda a: a.reshape(4, -1), [((2, 6),), ((3, 4),)]),
    Op("transpose", lambda a: a.transpose(2, 0, 1), lambda a: a.transpose(2, 0, 1), [((2, 3, 4),)]),
    Op("T", lambda a: a.T, lambda a: a.T, [((3, 4),)]),
    Op("swapaxes", lambda a: a.swapaxes(0, -1), lambda a: a.swapaxes(0, -1), [((2, 3, 4),)]),
    Op("squeeze", lambda a: a.squeeze(), lambda a: a.squeeze(), [((3, 1, 4, 1),)]),
    Op("unsqueeze", lambda a: a.unsqueeze(1), lambda a: np.expand_dims(a, 1), [((3, 4),)]),
    Op("flatten", lambda a: a.flatten(1), lambda a: a.reshape(a.shape[0], -1), [((2, 3, 4),)]),
    Op(
        "broadcast_to",
        lambda a: a.broadcast_to((2, 3, 4)),
        lambda a: np.broadcast_to(a, (2, 3, 4)),
        [((3, 1),), ((4,),)],
    ),
    Op(
        "concatenate",
        lambda a, b: mg.concatenate([a, b, a], axis=1),
        lambda a, b: np.concatenate([a, b, a], axis=1),
        [((2, 3), (2, 4))],
    ),
    Op(
        "stack",
        lambda a, b: mg.stack([a, b], axis=1),
        lambda a, b: np.stack([a, b], axis=1),
        [((2, 3), (2, 3))],
    ),
    Op(
        "split",
        lambda a: mg.split(a, [1, 3], axis=1)[1] * 2,
        lambda a: np.split(a, [1, 3], axis=1)[1] * 2,
        [((2, 5),)],
    ),
    Op(
        "pad_constant",
        lambda a: mg.pad(a, ((1, 0), (2, 1)), value=0.5),
        lambda a: np.pad(a, ((1, 0), (2, 1)), constant_values=0.5),
        [((3, 4),)],
    ),
    Op("pad_reflect", lambda a: mg.pad(a, ((1, 2), (2, 1)), mode="reflect"), _reflect, [((3, 4),)]),
    Op("flip", lambda a: a.flip(1), lambda a: np.flip(a, 1), [((3, 4),)]),
    Op("roll", lambda a: a.roll(2, axis=1), lambda a: np.roll(a, 2, axis=1), [((3, 4),)]),
    Op("roll_flat", lambda a: a.roll(-3), lambda a: np.roll(a, -3), [((3, 4),)]),
    Op("repeat", lambda a: a.repeat(2, axis=1), lambda a: np.repeat(a, 2, axis=1), [((3, 4),)]),
    Op(
        "repeat_counts",
        lambda a: a.repeat([1, 0, 3], axis=0),
        lambda a: np.repeat(a, [1, 0, 3], axis=0),
        [((3, 2),)],
    ),
    Op("repeat_flat", lambda a: a.repeat(3), lambda a: np.repeat(a, 3), [((2, 2),)]),
    Op("tile", lambda a: a.tile((2, 1, 3)), lambda a: np.tile(a, (2, 1, 3)), [((3, 4),)]),
    # indexing
    Op("getitem_basic", lambda a: a[1:, ::2], lambda a: a[1:, ::2], [((3, 4),)]),
    Op("getitem_int", lambda a: a[1], lambda a: a[1], [((3, 4),)]),
    Op(
        "getitem_newaxis_ellipsis",
        lambda a: a[None, ..., 1],
        lambda a: a[None, ..., 1],
        [((2, 3, 4),)],
    ),
    Op(
        "getitem_repeated",
        lambda a: a[np.array([0, 2, 0, 0])],
        lambda a: a[[0, 2, 0, 0]],
        [((3, 4),)],
    ),
    Op(
        "getitem_pairs",
        lambda a: a[np.array([0, 1, 1]), np.array([3, 3, 3])],
        lambda a: a[[0, 1, 1], [3, 3, 3]],
        [((3, 4),)],
    ),
    Op("getitem_bool", lambda a: a[a.data > 0], lambda a: a[a > 0], [((3, 4),)]),
    Op("setitem", _mg_setitem, _np_setitem, [((3, 4), (2,)), ((3, 4), ())]),
    # dtype casting round trip keeps the gradient
    Op("clone", lambda a: a.clone() * 2, lambda a: a * 2, UNARY),
]


def make_inputs(op: Op, shapes: tuple[tuple[int, ...], ...], dtype: Any, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    arrays = []
    for i, shape in enumerate(shapes):
        if op.domain == "positive":
            a = rng.uniform(0.5, 2.0, size=shape)
        elif op.domain == "unit":
            a = rng.uniform(-0.9, 0.9, size=shape)
        elif op.domain == "large":  # logsumexp far from 0, where rounding of y shows
            a = (1e3 if len(shape) == 2 else 1e6) + rng.normal(size=shape)
        elif op.domain == "distinct":
            # Values far from kinks and ties: random signs, magnitudes spread apart.
            n = int(np.prod(shape))
            mags = 0.3 + 0.07 * i + 0.25 * rng.permutation(n)
            a = (mags * rng.choice([-1, 1], size=n)).reshape(shape)
        else:
            a = rng.normal(size=shape)
        arrays.append(np.asarray(a, dtype=dtype))
    return arrays
