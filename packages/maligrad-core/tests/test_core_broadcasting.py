"""Binary ops over random broadcasting shape pairs (hypothesis, derandomized)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import maligrad as mg

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1),
    "pow": lambda a, b: (a * a + 1) ** b,
    "maximum": mg.maximum,
    "where": lambda a, b: mg.where(a.data > b.data, a, b * 2),
}


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(
    name=st.sampled_from(sorted(BINARY)),
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    seed=st.integers(0, 2**16),
)
def test_binary_ops_broadcast_in_forward_and_backward(name, shapes, seed) -> None:
    rng = np.random.default_rng(seed)
    sa, sb = shapes.input_shapes
    a = mg.Variable(rng.normal(size=sa), requires_grad=True)
    b = mg.Variable(rng.normal(size=sb) + 0.05, requires_grad=True)
    fn = BINARY[name]
    out = fn(a, b)
    assert out.shape == shapes.result_shape
    assert mg.gradcheck(fn, [a, b], seed=seed)
    a32 = mg.Variable(a.data.astype(np.float32), requires_grad=True)
    b32 = mg.Variable(b.data.astype(np.float32), requires_grad=True)
    fn(a32, b32).sum().backward()
    assert a32.grad.dtype == b32.grad.dtype == np.float32
    assert a32.grad.shape == sa and b32.grad.shape == sb
