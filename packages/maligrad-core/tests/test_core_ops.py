"""Every op in the table: forward against numpy (float32), gradcheck and gradgradcheck
(float64), and float32 gradients."""

from __future__ import annotations

import numpy as np
import pytest
from op_table import OPS, Op, make_inputs

import maligrad as mg

CASES = [(op, shapes) for op in OPS for shapes in op.shapes]
IDS = [f"{op.name}-{'x'.join(str(s) for s in shapes)}" for op, shapes in CASES]


def _variables(op: Op, shapes, dtype, requires_grad=True):
    arrays = make_inputs(op, shapes, dtype)
    return [mg.Variable(a, requires_grad=requires_grad) for a in arrays], arrays


@pytest.mark.parametrize(("op", "shapes"), CASES, ids=IDS)
def test_forward_matches_numpy_and_keeps_float32(op: Op, shapes) -> None:
    xs, arrays = _variables(op, shapes, np.float32)
    out = op.fn(*xs)
    expected = op.oracle(*[a.astype(np.float64) for a in arrays])
    assert out.dtype == np.float32, f"{op.name} gave {out.dtype}"
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize(("op", "shapes"), CASES, ids=IDS)
def test_gradients_are_float32(op: Op, shapes) -> None:
    xs, _ = _variables(op, shapes, np.float32)
    out = op.fn(*xs)
    out.backward(np.ones_like(out.data))
    for x in xs:
        assert x.grad is not None
        assert x.grad.dtype == np.float32
        assert x.grad.shape == x.shape


@pytest.mark.parametrize(("op", "shapes"), CASES, ids=IDS)
def test_gradcheck(op: Op, shapes) -> None:
    xs, _ = _variables(op, shapes, np.float64)
    assert mg.gradcheck(op.fn, xs, **op.extra)


@pytest.mark.parametrize(("op", "shapes"), CASES, ids=IDS)
def test_gradgradcheck(op: Op, shapes) -> None:
    if not op.gradgrad:
        pytest.skip("no second derivative")
    xs, _ = _variables(op, shapes, np.float64)
    assert mg.gradgradcheck(op.fn, xs, **op.extra)
