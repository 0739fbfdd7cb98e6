"""Bad input to core's public API: one row per mistake a user makes, each asserting the
exception type and that the message names the argument (or the operand) at fault.

A second table lists inputs that are accepted by design, each with the reason and an
assertion of what they give.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import maligrad as mg
from maligrad import Variable


def _x() -> Variable:
    return Variable(np.arange(6, dtype=np.float32).reshape(2, 3))


def _leaf() -> Variable:
    return Variable(np.ones(3), requires_grad=True)


def _square_sum(x: Variable) -> Variable:
    return (x * x).sum()


_C = Variable(np.array([1j, 2.0]))  # complex data is allowed, not differentiable
_STR = np.array(["a", "b"])

# (id, call, exception type, regex the message must contain)
BAD: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    # -- constructing a Variable -------------------------------------------------------
    ("Variable(None)", lambda: Variable(None), TypeError, r"data.*NoneType"),
    ("Variable(str)", lambda: Variable("abc"), TypeError, r"data.*str"),
    ("Variable(list of str)", lambda: Variable(["a", "b"]), TypeError, r"data.*list"),
    ("Variable(object)", lambda: Variable(object()), TypeError, r"data.*object"),
    ("Variable(dict)", lambda: Variable({"a": 1}), TypeError, r"data.*dict"),
    ("Variable(set)", lambda: Variable({1.0}), TypeError, r"data.*set"),
    (
        "Variable(object array)",
        lambda: Variable(np.array([1, None], dtype=object)),
        TypeError,
        r"data.*dtype object",
    ),
    ("Variable(str array)", lambda: Variable(_STR), TypeError, r"data.*<U1"),
    (
        "Variable(datetime64)",
        lambda: Variable(np.array(["2020-01-01"], dtype="datetime64[D]")),
        TypeError,
        r"data.*datetime64",
    ),
    (
        "Variable(timedelta64)",
        lambda: Variable(np.array([1], dtype="timedelta64[s]")),
        TypeError,
        r"data.*timedelta64",
    ),
    ("Variable(ragged list)", lambda: Variable([[1, 2], [3]]), ValueError, r"data.*list"),
    ("Variable(Variable)", lambda: Variable(_x()), TypeError, r"Variable.*detach"),
    ("dtype=object", lambda: Variable([1.0], dtype=object), TypeError, r"dtype.*object"),
    ("dtype=str", lambda: Variable([1.0], dtype=str), TypeError, r"dtype.*<U"),
    ("dtype=nonsense", lambda: Variable([1.0], dtype="nonsense"), TypeError, r"dtype.*nonsense"),
    (
        "ndarray with dtype=datetime64",
        lambda: Variable(np.ones(2), dtype="datetime64[s]"),
        TypeError,
        r"dtype.*datetime64",
    ),
    (
        "requires_grad='yes'",
        lambda: Variable([1.0], requires_grad="yes"),
        TypeError,
        "requires_grad",
    ),
    ("requires_grad=1", lambda: Variable([1.0], requires_grad=1), TypeError, "requires_grad.*int"),
    ("requires_grad on int", lambda: Variable([1], requires_grad=True), TypeError, r"dtype int64"),
    ("requires_grad on bool", lambda: Variable([True], requires_grad=True), TypeError, "bool"),
    ("requires_grad on complex", lambda: Variable([1j], requires_grad=True), TypeError, "complex"),
    ("requires_grad_(None)", lambda: _x().requires_grad_(None), TypeError, "requires_grad"),
    ("name=3", lambda: Variable([1.0], name=3), TypeError, r"name.*int"),
    # -- array facts -----------------------------------------------------------------
    ("len() of 0-d", lambda: len(Variable(1.0)), TypeError, r"len\(\) of a 0-d"),
    ("bool() of 2 elements", lambda: bool(_x()), ValueError, "truth value"),
    # -- operators with a non-number -------------------------------------------------
    ("x + str", lambda: _x() + "a", TypeError, r"\+: Variable and str"),
    ("str + x", lambda: "a" + _x(), TypeError, r"\+: str and Variable"),
    ("x - None", lambda: _x() - None, TypeError, r"-: Variable and NoneType"),
    ("None - x", lambda: None - _x(), TypeError, r"-: NoneType and Variable"),
    ("x * object", lambda: _x() * object(), TypeError, r"\*: Variable and object"),
    ("x / str", lambda: _x() / "a", TypeError, r"/: Variable and str"),
    ("str / x", lambda: "a" / _x(), TypeError, r"/: str and Variable"),
    ("x ** str", lambda: _x() ** "a", TypeError, r"\*\*: Variable and str"),
    ("str ** x", lambda: "a" ** _x(), TypeError, r"\*\*: str and Variable"),
    ("x + list of str", lambda: _x() + ["a", "b", "c"], TypeError, r"\+: Variable and list"),
    ("x + dict", lambda: _x() + {"a": 1}, TypeError, r"\+: Variable and dict"),
    ("x + str array", lambda: Variable(["1", "2"], dtype=float) + _STR, TypeError, "ndarray"),
    ("x < str", lambda: _x() < "a", TypeError, r"<: Variable and str"),
    ("x >= None", lambda: _x() >= None, TypeError, r">=: Variable and NoneType"),
    ("x > object", lambda: _x() > object(), TypeError, r">: Variable and object"),
    ("x <= str", lambda: _x() <= "a", TypeError, r"<=: Variable and str"),
    # -- astype ------------------------------------------------------------------------
    ("astype(object)", lambda: _x().astype(object), TypeError, r"dtype.*object"),
    ("astype(str)", lambda: _x().astype(str), TypeError, r"dtype.*<U"),
    ("astype(datetime64)", lambda: _x().astype("datetime64[s]"), TypeError, "datetime64"),
    ("astype(nonsense)", lambda: _x().astype("nonsense"), TypeError, r"dtype.*nonsense"),
    # -- reductions: axis and ddof ---------------------------------------------------
    ("sum(axis=1.5)", lambda: _x().sum(axis=1.5), TypeError, r"axis.*float 1\.5"),
    ("mean(axis='0')", lambda: _x().mean(axis="0"), TypeError, r"axis.*str"),
    ("max(axis=(0, 1.0))", lambda: _x().max(axis=(0, 1.0)), TypeError, r"axis.*\(0, 1\.0\)"),
    ("min(axis=[0.5])", lambda: _x().min(axis=[0.5]), TypeError, r"axis.*0\.5"),
    ("var(axis=1.5)", lambda: _x().var(axis=1.5), TypeError, "axis"),
    ("std(axis=object)", lambda: _x().std(axis=object()), TypeError, r"axis.*object"),
    ("prod(axis=1.5)", lambda: _x().prod(axis=1.5), TypeError, "axis"),
    ("logsumexp(axis=1.5)", lambda: _x().logsumexp(axis=1.5), TypeError, "axis"),
    ("cumsum(axis=1.5)", lambda: _x().cumsum(axis=1.5), TypeError, "axis"),
    ("sum(axis=True)", lambda: _x().sum(axis=True), TypeError, r"axis.*bool"),
    ("mg.sum(axis=1.5)", lambda: mg.sum(_x(), axis=1.5), TypeError, "axis"),
    ("mg.mean(axis=None-like str)", lambda: mg.mean(_x(), axis="None"), TypeError, "axis"),
    ("sum(axis=5)", lambda: _x().sum(axis=5), ValueError, r"axis 5 is out of bounds"),
    ("sum(axis=-3)", lambda: _x().sum(axis=-3), ValueError, r"axis -3 is out of bounds"),
    ("sum(axis=(0, 0))", lambda: _x().sum(axis=(0, 0)), ValueError, r"repeated axis"),
    ("var(ddof=1.5)", lambda: _x().var(ddof=1.5), TypeError, r"ddof.*float"),
    ("std(ddof=-1)", lambda: _x().std(ddof=-1), ValueError, r"ddof.*-1"),
    ("var(ddof='1')", lambda: _x().var(ddof="1"), TypeError, r"ddof.*str"),
    ("max of empty", lambda: Variable(np.zeros(0)).max(), ValueError, r"max of an empty"),
    ("min of empty", lambda: Variable(np.zeros((2, 0))).min(), ValueError, r"min of an empty"),
    # -- clip --------------------------------------------------------------------------
    ("clip() no bounds", lambda: _x().clip(), ValueError, r"min.*max"),
    ("mg.clip(None, None)", lambda: mg.clip(_x(), None, None), ValueError, r"min.*max"),
    ("clip(min=str)", lambda: _x().clip("a", 1), TypeError, r"min.*str"),
    ("clip(max=str)", lambda: _x().clip(0, "b"), TypeError, r"max.*str"),
    ("clip(min=complex)", lambda: _x().clip(1j), TypeError, r"min.*complex"),
    ("clip of complex", lambda: _C.clip(0, 1), TypeError, "complex"),
    # -- ops given None, strings, complex --------------------------------------------
    ("exp(None)", lambda: mg.exp(None), TypeError, r"data.*NoneType"),
    ("log(str)", lambda: mg.log("x"), TypeError, r"data.*str"),
    ("sigmoid(str)", lambda: mg.sigmoid("a"), TypeError, r"data.*str"),
    ("relu(None)", lambda: mg.relu(None), TypeError, r"data.*NoneType"),
    ("sum(None)", lambda: mg.sum(None), TypeError, r"data.*NoneType"),
    ("maximum(x, str)", lambda: mg.maximum(_x(), "a"), TypeError, r"maximum: b.*str"),
    ("minimum(None, x)", lambda: mg.minimum(None, _x()), TypeError, r"minimum: a.*NoneType"),
    ("where(None, x, x)", lambda: mg.where(None, _x(), _x()), TypeError, r"condition.*NoneType"),
    ("where(c, x, str)", lambda: mg.where(_x().data > 1, _x(), "a"), TypeError, r"where: b.*str"),
    ("where(c, None, x)", lambda: mg.where(_x().data > 1, None, _x()), TypeError, r"where: a"),
    ("sigmoid(complex)", lambda: mg.sigmoid(_C), TypeError, r"sigmoid.*complex"),
    ("softplus(complex)", lambda: mg.softplus(_C), TypeError, r"softplus.*complex"),
    ("erf(complex)", lambda: mg.erf(_C), TypeError, r"erf.*complex"),
    ("relu(complex)", lambda: mg.relu(_C), TypeError, r"relu.*complex"),
    ("max(complex)", lambda: _C.max(), TypeError, r"max.*complex"),
    ("min(complex)", lambda: mg.min(_C), TypeError, r"min.*complex"),
    ("maximum(complex)", lambda: mg.maximum(_C, 0.0), TypeError, r"maximum.*complex"),
    ("minimum(complex)", lambda: mg.minimum(_C, _C), TypeError, r"minimum.*complex"),
    # -- gradcheck ---------------------------------------------------------------------
    ("gradcheck(fn=None)", lambda: mg.gradcheck(None, [_leaf()]), TypeError, r"fn.*NoneType"),
    ("gradgradcheck(fn=3)", lambda: mg.gradgradcheck(3, [_leaf()]), TypeError, r"fn.*int"),
    (
        "gradcheck(inputs=[None])",
        lambda: mg.gradcheck(_square_sum, [None]),
        TypeError,
        r"inputs\[0\].*NoneType",
    ),
    (
        "gradcheck(inputs=[x, str])",
        lambda: mg.gradcheck(_square_sum, [_leaf(), "a"]),
        TypeError,
        r"inputs\[1\].*str",
    ),
    ("gradcheck(eps=0)", lambda: mg.gradcheck(_square_sum, [_leaf()], eps=0), ValueError, "eps"),
    (
        "gradcheck(eps=str)",
        lambda: mg.gradcheck(_square_sum, [_leaf()], eps="1e-6"),
        TypeError,
        r"eps.*str",
    ),
    (
        "gradcheck(atol=-1)",
        lambda: mg.gradcheck(_square_sum, [_leaf()], atol=-1),
        ValueError,
        r"atol.*-1",
    ),
    (
        "gradcheck(rtol=nan)",
        lambda: mg.gradcheck(_square_sum, [_leaf()], rtol=float("nan")),
        ValueError,
        r"rtol.*nan",
    ),
    (
        "gradcheck(fn returns float)",
        lambda: mg.gradcheck(lambda x: 3.0, [_leaf()]),
        TypeError,
        r"fn must return.*float",
    ),
    (
        "gradcheck(fn returns ndarray tuple)",
        lambda: mg.gradcheck(lambda x: (x.sum(), np.ones(2)), [_leaf()]),
        TypeError,
        r"fn must return.*ndarray",
    ),
    (
        "gradcheck(no input requires grad)",
        lambda: mg.gradcheck(_square_sum, [Variable(np.ones(2))]),
        ValueError,
        "requires grad",
    ),
]


@pytest.mark.parametrize(("call", "exc", "pattern"), [r[1:] for r in BAD], ids=[r[0] for r in BAD])
def test_bad_input_raises_a_clear_error(call: Callable[[], Any], exc: type, pattern: str) -> None:
    with pytest.raises(exc) as info:
        call()
    assert type(info.value) is exc, f"got {type(info.value).__name__}: {info.value}"
    assert re.search(pattern, str(info.value)), str(info.value)


def test_the_bad_input_table_is_large_and_unique() -> None:
    ids = [r[0] for r in BAD]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 60


# Accepted by design: (id, call, check of the result, reason).
ACCEPTED: list[tuple[str, Callable[[], Any], Callable[[Any], bool], str]] = [
    (
        "x + list of numbers",
        lambda: _x() + [1.0, 2.0, 3.0],
        lambda v: v.dtype == np.float32 and v.data[1, 2] == 8.0,
        "numpy broadcasts lists; the list takes the Variable's dtype",
    ),
    (
        "sum(axis=np.int64)",
        lambda: _x().sum(axis=np.int64(0)),
        lambda v: v.data.tolist() == [3.0, 5.0, 7.0],
        "numpy integers are integers",
    ),
    (
        "sum(axis=[0, 1])",
        lambda: _x().sum(axis=[0, 1]),
        lambda v: float(v.data) == 15.0,
        "a list of axes is read as a tuple, as numpy does",
    ),
    (
        "complex data",
        lambda: Variable([1 + 2j]),
        lambda v: v.dtype == np.complex128 and not v.requires_grad,
        "complex arrays compute (exp, +, *, ...) but cannot require grad",
    ),
    (
        "requires_grad=np.True_",
        lambda: Variable([1.0], requires_grad=np.True_),
        lambda v: v.requires_grad,
        "numpy's bool is a bool",
    ),
    (
        "clip(min > max)",
        lambda: _x().clip(4, 1),
        lambda v: (v.data == 1).all(),
        "numpy and PyTorch give max everywhere",
    ),
    (
        "var(ddof=n)",
        lambda: Variable(np.ones(1)).var(ddof=1),
        lambda v: np.isnan(v.data),
        "numpy and PyTorch give nan (inf for nonzero spread), no error",
    ),
    (
        "astype(int64) of a leaf that requires grad",
        lambda: _leaf().astype(np.int64),
        lambda v: v.dtype == np.int64 and not v.requires_grad and v.grad_fn is None,
        "allowed, but the integer result is cut from the graph (as in PyTorch)",
    ),
    (
        "exp of int",
        lambda: mg.exp(Variable([0, 1])),
        lambda v: v.dtype == np.float32 and np.allclose(v.data, [1.0, np.e]),
        "float-valued ops promote integers to the default float dtype",
    ),
]


@pytest.mark.parametrize(
    ("call", "check"), [r[1:3] for r in ACCEPTED], ids=[r[0] for r in ACCEPTED]
)
def test_accepted_by_design(call: Callable[[], Any], check: Callable[[Any], bool]) -> None:
    with np.errstate(invalid="ignore", divide="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out = call()
    assert check(out)
