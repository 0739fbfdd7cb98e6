"""The backward engine: order, accumulation, freeing, hooks, modes and error messages."""

from __future__ import annotations

import gc
import sys
import weakref

import numpy as np
import pytest

import maligrad as mg
from maligrad import Variable


def f32(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def test_readme_example_values_and_repr() -> None:
    a = Variable(2 * np.ones((3, 3)), requires_grad=True)
    b = Variable(3 * np.ones((3, 3)))
    np.testing.assert_array_equal((a + b).data, np.full((3, 3), 5.0))
    np.testing.assert_array_equal((a * b).data, np.full((3, 3), 6.0))
    np.testing.assert_array_equal((a @ b[0]).data, np.full(3, 18.0))
    (a[0] * b).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [[9, 9, 9], [0, 0, 0], [0, 0, 0]])
    assert (
        repr(b) == "Variable(\n    data=\n    [[3. 3. 3.]\n     [3. 3. 3.]\n     [3. 3. 3.]]\n    )"
    )
    assert repr(a + b).endswith("    grad_fn=<Add>\n    )")
    assert "requires_grad=True" in repr(a)


def test_python_data_gets_default_dtypes() -> None:
    assert Variable(1.5).dtype == np.float32
    assert Variable([1.0, 2.0]).dtype == np.float32
    assert Variable([1, 2]).dtype == np.int64
    assert Variable(np.ones(2, np.float64)).dtype == np.float64
    mg.set_default_dtype(np.float64)
    try:
        assert Variable([1.0]).dtype == np.float64
    finally:
        mg.set_default_dtype(np.float32)
    with pytest.raises(TypeError, match="floating"):
        mg.set_default_dtype(np.int32)


def test_integer_variables_cannot_require_grad() -> None:
    with pytest.raises(TypeError, match="int64"):
        Variable(np.arange(3), requires_grad=True)


def test_chain_of_100k_ops_with_default_recursion_limit() -> None:
    assert sys.getrecursionlimit() <= 10_000
    x = Variable(np.ones(4, np.float32), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0001 + 0.0001
    y.sum().backward()
    np.testing.assert_allclose(
        x.grad.data, np.full(4, float(np.float32(1.0001)) ** 100_000), rtol=1e-3
    )
    assert x.grad.dtype == np.float32


def test_gradients_accumulate_on_leaves_and_diamonds_sum() -> None:
    x = Variable(np.array([1.0, 2.0]), requires_grad=True)
    y = x * x
    (y + y * 3).sum().backward()  # d/dx 4x^2 = 8x
    np.testing.assert_allclose(x.grad.data, [8.0, 16.0])
    (x * 2).sum().backward()
    np.testing.assert_allclose(x.grad.data, [10.0, 18.0])


def test_backward_twice_raises_unless_graph_retained() -> None:
    x = Variable(np.array([1.0, 2.0]), requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.data, 2 * (np.exp([1.0, 2.0]) * ([1.0, 2.0] + np.ones(2))))
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_saved_arrays_are_released_after_backward() -> None:
    x = Variable(np.ones(1000), requires_grad=True)
    big = x.exp()
    ref = weakref.ref(big.data)
    y = big.sum()
    del big
    gc.collect()
    assert ref() is not None  # held by Exp's saved output
    y.backward()
    gc.collect()
    assert ref() is None


def test_intermediate_gradients_are_freed_as_consumed() -> None:
    seen = []

    class Probe(mg.Function):
        def forward(self, x: np.ndarray) -> np.ndarray:
            return x.copy()

        def backward(self, gy: Variable) -> Variable:
            seen.append(weakref.ref(gy.data))
            return gy * 1.0

    x = Variable(np.ones(10), requires_grad=True)
    y = x
    for _ in range(5):
        y = Probe.apply(y)
    y.sum().backward()
    gc.collect()
    assert len(seen) == 5
    assert all(r() is None for r in seen)


def test_nonscalar_backward_needs_gradient() -> None:
    x = Variable(np.ones((2, 3)), requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\)"):
        y.backward()
    with pytest.raises(RuntimeError, match=r"\(3,\).*\(2, 3\)"):
        y.backward(np.ones(3))
    y.backward(np.full((2, 3), 0.5))
    np.testing.assert_allclose(x.grad.data, np.ones((2, 3)))


def test_retain_grad_and_hooks() -> None:
    x = Variable(np.array([1.0, 2.0]), requires_grad=True)
    h = x * 3
    h.retain_grad()
    seen = []
    h.register_hook(lambda g: seen.append(g.data.copy()))
    x.register_hook(lambda g: g * 10)  # replaces the gradient reaching x
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.data, 2 * h.data)
    np.testing.assert_allclose(seen[0], 2 * h.data)
    np.testing.assert_allclose(x.grad.data, 10 * 18 * x.data)


def test_detach_and_no_grad_and_enable_grad() -> None:
    x = Variable(np.ones(2), requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None and d.data is x.data
    with mg.no_grad():
        y = x * 2
        with mg.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad

    @mg.no_grad()
    def f(v: Variable) -> Variable:
        return v * 2

    assert not f(x).requires_grad
    assert mg.is_grad_enabled()


def test_comparisons_and_bool() -> None:
    x = Variable(np.array([1.0, 3.0]), requires_grad=True)
    c = x > 2
    assert c.dtype == bool and not c.requires_grad
    np.testing.assert_array_equal(c.data, [False, True])
    np.testing.assert_array_equal((x == 1.0).data, [True, False])
    np.testing.assert_array_equal((x <= x).data, [True, True])
    with pytest.raises(ValueError, match="ambiguous"):
        bool(x > 0)
    assert bool(Variable(np.array([2.0])) > 1)
    np.testing.assert_array_equal(x.argmax().data, 1)
    np.testing.assert_array_equal(mg.argmin(Variable(np.eye(2)), axis=1).data, [1, 0])


def test_inplace_change_of_saved_variable_is_detected() -> None:
    w = Variable(np.ones(3), requires_grad=True)
    x = Variable(np.array([1.0, 2.0, 3.0]))
    y = (w * x).sum()
    x.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_inplace_on_variable_requiring_grad_needs_no_grad() -> None:
    w = Variable(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w.add_(1.0)
    with mg.no_grad():
        w.sub_(np.ones(3), alpha=0.5)
    np.testing.assert_allclose(w.data, 0.5)
    assert w._version == 1


def test_setitem_is_differentiable_and_keeps_saved_arrays() -> None:
    x = Variable(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    v = Variable(np.array(5.0), requires_grad=True)
    h = x.tanh()  # Tanh saves its output h
    saved = h.data.copy()
    h[1] = v * 2
    np.testing.assert_allclose(h.data, [np.tanh(1.0), 10.0, np.tanh(3.0)])
    (h * h).sum().backward()
    t = np.tanh([1.0, 2.0, 3.0])
    np.testing.assert_allclose(
        x.grad.data, [2 * t[0] * (1 - t[0] ** 2), 0, 2 * t[2] * (1 - t[2] ** 2)]
    )
    np.testing.assert_allclose(v.grad.data, 2 * 10.0 * 2)
    np.testing.assert_allclose(saved, t)  # the array Tanh saved was not overwritten


def test_setitem_on_leaf_requiring_grad_raises() -> None:
    x = Variable(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        x[0] = 2.0


def test_setitem_builds_a_buffer_from_pieces() -> None:
    w = Variable(np.array([1.0, 2.0]), requires_grad=True)
    out = Variable(np.zeros((3, 2)))
    for i in range(3):
        out[i] = w * (i + 1)
    out.sum().backward()
    np.testing.assert_allclose(w.grad.data, [6.0, 6.0])


def test_errors_name_shapes_and_axes() -> None:
    a = Variable(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        a + np.ones(4)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 3\)"):
        a @ a
    with pytest.raises(ValueError, match="axis 2 is out of bounds"):
        a.sum(axis=2)
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*\(4, 2\)"):
        a.reshape(4, 2)
    with pytest.raises(IndexError, match=r"shape \(2, 3\)"):
        a[5]
    with pytest.raises(ValueError, match="concatenate"):
        mg.concatenate([a, Variable(np.ones((3, 3)))], axis=1)


def test_custom_function_with_bad_gradient_shape_is_reported() -> None:
    class Bad(mg.Function):
        def forward(self, x: np.ndarray) -> np.ndarray:
            return x * 2

        def backward(self, gy: Variable) -> Variable:
            return gy.sum()

    x = Variable(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Bad.backward returned a gradient of shape \(\)"):
        Bad.apply(x).sum().backward()


def test_custom_function_docstring_example() -> None:
    class Cube(mg.Function):
        def forward(self, x: np.ndarray) -> np.ndarray:
            self.save_for_backward(x)
            return x**3

        def backward(self, gy: Variable) -> Variable:
            (x,) = self.saved_tensors
            return gy * 3 * x * x

    x = Variable(np.array([1.0, 2.0]), requires_grad=True)
    assert mg.gradcheck(Cube.apply, x)
    assert mg.gradgradcheck(Cube.apply, x)


def test_float32_seeds_and_constants_stay_float32() -> None:
    x = Variable(f32(3, 4), requires_grad=True)
    y = ((x * 2.5 + 1) / 3.0 - x**2).exp().mean(axis=0)
    (g,) = mg.grad(y, x, grad_outputs=np.ones(4, np.float32), create_graph=True)
    assert y.dtype == g.dtype == np.float32
    (gg,) = mg.grad(g.sum(), x)
    assert gg.dtype == np.float32


def test_to_dot_names_ops_and_leaves() -> None:
    x = Variable(np.ones(2, np.float32), requires_grad=True, name="x")
    dot = mg.to_dot((x * 2).exp().sum())
    assert dot.startswith("digraph maligrad {") and dot.rstrip().endswith("}")
    for label in ("Mul", "Exp", "Sum", "x\\n(2,) float32"):
        assert label in dot
    assert dot.count("->") == 4


def test_erf_matches_math_erf_to_float64_precision() -> None:
    from math import erf

    xs = np.concatenate([np.linspace(-30, 30, 6001), [0.46875, -0.46875, 4.0, -4.0, 1e-300]])
    got = mg.erf(Variable(xs)).data
    want = np.array([erf(v) for v in xs])
    np.testing.assert_allclose(got, want, rtol=4e-16, atol=1e-300)


def test_relu_gives_positive_zero() -> None:
    out = mg.relu(Variable(np.array([-1.0, -0.0, 2.0], np.float32))).data
    assert not np.signbit(out).any()
    assert out.dtype == np.float32


def test_post_accumulate_grad_hook_sees_the_accumulated_grad():
    w = Variable(np.ones(3, dtype=np.float32), requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.data.copy()))
    (w * w).sum().backward()  # w used twice: the hook runs once, with the total
    (w * 3).sum().backward()  # accumulates: 2 + 3
    np.testing.assert_array_equal(seen[0], [2, 2, 2])
    np.testing.assert_array_equal(seen[1], [5, 5, 5])
    assert len(seen) == 2
    mg.grad((w * 4).sum(), w)  # grad() accumulates nothing and calls no hook
    assert len(seen) == 2
    with pytest.raises(RuntimeError, match="leaves"):
        (w * 2).register_post_accumulate_grad_hook(lambda p: None)


def test_queue_callback_runs_after_every_leaf_is_accumulated():
    a = Variable(np.ones(2, dtype=np.float32), requires_grad=True)
    b = Variable(np.ones(2, dtype=np.float32), requires_grad=True)
    order = []

    def first_hook(g):
        mg.queue_callback(lambda: order.append(("done", a.grad.data.sum(), b.grad.data.sum())))

    a.register_hook(first_hook)
    b.register_post_accumulate_grad_hook(lambda p: order.append("b"))
    (a * 2 + b * 5).sum().backward()
    assert order == ["b", ("done", 4.0, 10.0)]
    with pytest.raises(RuntimeError, match="during a backward"):
        mg.queue_callback(lambda: None)
