"""The backward engine: order, accumulation, freeing, hooks, modes and error messages."""

from __future__ import annotations

import gc
import operator
import sys
import weakref
from collections.abc import Callable
from typing import Any

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


def test_leaf_sums_never_write_into_gradients_that_other_paths_hold() -> None:
    """A leaf's gradient is summed in place only once it is a sum the pass made itself: the
    array ``Add`` hands to both its inputs (and the seed) stay untouched."""
    a = Variable(np.array([1.0, 2.0], np.float32), requires_grad=True)
    b = Variable(np.array([3.0, 4.0], np.float32), requires_grad=True)
    u = a * 2 + a * 3  # reached last: a's first gradient is the array shared with b
    s = a + b
    seed = np.ones(2, np.float32)
    (u + s).backward(seed)
    np.testing.assert_array_equal(a.grad.data, [6.0, 6.0])
    np.testing.assert_array_equal(b.grad.data, [1.0, 1.0])
    np.testing.assert_array_equal(seed, [1.0, 1.0])
    assert not np.shares_memory(a.grad.data, b.grad.data)
    c = Variable(np.float32(0.5), requires_grad=True)  # 0-d sums (numpy gives scalars)
    y = c
    for _ in range(5):
        y = y * 1 + c
    y.backward()
    assert float(c.grad.data) == 6.0 and type(c.grad.data) is np.ndarray
    w0 = np.linspace(-1, 1, 16)
    w = Variable(w0, requires_grad=True)
    x = Variable(np.full(16, 0.3))
    xs = [x.data]
    for _ in range(50):
        x = (x * w).tanh()
        xs.append(x.data)
    x.sum().backward()
    g, want = np.ones(16), np.zeros(16)  # by hand: x_{k+1} = tanh(w x_k)
    for xk, xn in zip(reversed(xs[:-1]), reversed(xs[1:])):
        g = g * (1 - xn * xn)
        want += g * xk
        g = g * w0
    np.testing.assert_allclose(w.grad.data, want, rtol=1e-12)


@pytest.mark.parametrize(
    "fn",
    [
        lambda a, b: (a * b).exp(),
        lambda a, b: (a * 2.5).tanh() * b,
        lambda a, b: mg.relu(a - 0.1) * b.tanh(),
        lambda a, b: a * b[0] * np.float64(3.0),  # broadcast, a float64 constant
        lambda a, b: (b[1] * b[2]).exp() * a,  # 0-d products
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_plain_backward_gives_the_gradients_create_graph_gives(fn, dtype) -> None:
    """Exp, Tanh, ReLU and Mul compute a plain backward's gradients with numpy from
    ``saved_arrays``; ``create_graph`` takes the differentiable ops."""
    rng = np.random.default_rng(3)
    a0, b0 = rng.normal(size=(3, 4)).astype(dtype), rng.normal(size=4).astype(dtype)
    grads = []
    for create_graph in (False, True):
        a, b = Variable(a0, requires_grad=True), Variable(b0, requires_grad=True)
        y = fn(a, b)
        seed = np.linspace(-1, 1, y.data.size).reshape(y.shape).astype(y.dtype)
        ga, gb = mg.grad(y, [a, b], grad_outputs=[Variable(seed)], create_graph=create_graph)
        assert ga.dtype == dtype and gb.dtype == dtype and ga.shape == a0.shape
        grads.append((ga.data, gb.data))
    for plain, recorded in zip(*grads):
        np.testing.assert_allclose(plain, recorded, rtol=1e-6 if dtype == np.float32 else 1e-14)


def test_plain_and_recorded_backward_read_a_rebound_leaf_alike() -> None:
    """A leaf whose ``.data`` is replaced between forward and backward (as ``Module.to``
    does) gives its new array to both paths, as ``saved_tensors`` gives the leaf itself."""
    grads = []
    for create_graph in (False, True):
        x = Variable(np.array([1.0, 2.0], np.float32), requires_grad=True)
        w = Variable(np.array([3.0, 4.0], np.float32), requires_grad=True)
        y = (x * w).sum()
        x.data = np.array([10.0, 20.0], np.float32)
        (gw,) = mg.grad([y], [w], create_graph=create_graph)
        grads.append(gw.data)
    np.testing.assert_array_equal(grads[0], [10.0, 20.0])
    np.testing.assert_array_equal(grads[1], [10.0, 20.0])


def test_relu_gradient_keeps_the_inputs_memory_order() -> None:
    """A mean's broadcast gradient through ReLU comes back in the input's memory order (a
    batch-last conv output stays batch-last for the layers below), with the same values
    as the recorded path."""
    rng = np.random.default_rng(0)
    data = rng.normal(size=(5, 4, 3, 2)).astype(np.float32)
    x = Variable(np.ascontiguousarray(data.transpose(3, 0, 1, 2)).transpose(1, 2, 3, 0))
    x.requires_grad_()
    mg.relu(x).mean(axis=(2, 3)).sum().backward()
    assert x.grad.data.strides == x.data.strides
    want = (data > 0) / np.float32(6)
    np.testing.assert_array_equal(x.grad.data, want)


def test_saved_arrays_are_checked_as_saved_tensors_are() -> None:
    x = Variable(np.array([0.5, 1.0], np.float32), requires_grad=True)
    y = x.exp()
    (saved,) = y.grad_fn.saved_arrays
    assert saved is y.data and type(saved) is np.ndarray
    z = (y * x).sum()
    with mg.no_grad():
        y.mul_(2.0)
    with pytest.raises(RuntimeError, match=r"modified in place.*version 0 -> 1"):
        z.backward()
    with pytest.raises(RuntimeError, match=r"modified in place.*version 0 -> 1"):
        y.grad_fn.saved_arrays  # noqa: B018  (the output alone: its own short path)

    class Scale(mg.Function):  # one saved constant
        def forward(self, a: np.ndarray) -> np.ndarray:
            self.save_for_backward(2.5)
            return a * 2.5

        def backward(self, g: Variable) -> Variable:
            (k,) = self.saved_arrays
            return g * k

    s = Scale.apply(x)
    assert s.grad_fn.saved_arrays == (2.5,)
    x.grad = None
    s.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.5, 2.5])
    t = (x * x).tanh()
    t.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        t.grad_fn.saved_arrays  # noqa: B018


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


def _relu_layouts(rng: np.random.Generator, dtype: type) -> list[np.ndarray]:
    """Arrays past the zero-buffer path's size in C, Fortran, batch-last and sliced memory,
    with NaN, infinities and both zeros."""
    base = rng.normal(size=(8, 6, 16, 12)).astype(dtype)
    base.flat[::7] = np.nan
    base.flat[1::11] = -np.inf
    base.flat[2::13] = np.inf
    base.flat[3::5] = -0.0
    base.flat[4::17] = 0.0
    return [
        base,
        np.asfortranarray(base),
        np.ascontiguousarray(base.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2),
        base[:, :, ::2],  # gaps: numpy's own loop
        base[::-1],  # a reversed axis
        base.reshape(-1),
    ]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_relu_zero_buffer_path_matches_numpy_maximum(dtype: type) -> None:
    """Arrays of 4096 elements and more take ``maximum`` against the shared zero buffer:
    the same values as ``np.maximum(x, 0)`` (NaN kept, the same signed zeros),
    the input's dtype and memory order, and the buffer stays zero."""
    from maligrad.ops import relu_kernel

    rng = np.random.default_rng(0)
    for x in _relu_layouts(rng, dtype):
        assert x.size >= relu_kernel.MIN_SIZE
        out = mg.relu(Variable(x)).data
        want = np.maximum(x, 0)
        assert out.dtype == x.dtype and out.shape == x.shape
        assert out.strides == np.empty_like(x).strides
        np.testing.assert_array_equal(out, want)
        np.testing.assert_array_equal(np.signbit(out), np.signbit(want))  # signed zeros too
        if dtype is not np.float16:  # (numpy's float16 maximum keeps -0.0, either way)
            assert not np.signbit(out[~np.isnan(out)]).any()
    zeros = relu_kernel.zeros(relu_kernel._buffer.size // 4, np.dtype(np.float32))
    assert not zeros.flags.writeable and not zeros.any()


def test_relu_zero_buffer_grows_for_a_larger_input() -> None:
    from maligrad.ops import relu_kernel

    size = relu_kernel._buffer.size // 4 + 1000  # float32 elements past the buffer's end
    x = np.full(size, -3.0, np.float32)
    x[-1] = 5.0
    out = mg.relu(Variable(x)).data
    assert relu_kernel._buffer.size >= x.nbytes
    assert out[-1] == 5.0 and not out[:-1].any() and not np.signbit(out).any()


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


class _TooFew(mg.Function):
    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a * b

    def backward(self, gy: Variable) -> Variable:
        return gy  # one gradient for two inputs


class _TooMany(mg.Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        return x * 2

    def backward(self, gy: Variable) -> tuple[Variable, Variable]:
        return gy * 2, gy  # two gradients for one input


class _ReturnsNone(mg.Function):
    def forward(self, x: np.ndarray) -> None:
        return None

    def backward(self, gy: Variable) -> Variable:
        return gy


class _ReturnsObjects(mg.Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.array([object()] * x.size)

    def backward(self, gy: Variable) -> Variable:
        return gy


def _leaf(n: int = 3) -> Variable:
    return Variable(np.ones(n, np.float32), requires_grad=True)


def _hook_wrong_shape_on_leaf() -> None:
    x = _leaf()
    x.register_hook(lambda g: Variable(np.ones(4, np.float32)))
    (x * 2).sum().backward()


def _hook_wrong_shape_on_intermediate() -> None:
    h = _leaf() * 2
    h.register_hook(lambda g: Variable(np.ones(4, np.float32)))
    h.sum().backward()


def _grad_assigned_wrong_shape() -> None:
    x = _leaf()
    x.grad = Variable(np.ones(1, np.float32))
    (x * 2).sum().backward()


def _seed_of_wrong_dtype() -> None:
    y = _leaf() * 2
    y.backward(Variable(np.ones(3, np.float64)))


# (what is done wrong, the exception, what its message must name)
ENGINE_ERRORS = [
    (_hook_wrong_shape_on_leaf, RuntimeError, r"\(3,\).*\(4,\)"),
    (_hook_wrong_shape_on_intermediate, RuntimeError, r"\(3,\).*\(4,\)"),
    (_grad_assigned_wrong_shape, RuntimeError, r"\(1,\).*\(3,\)"),
    (_seed_of_wrong_dtype, TypeError, "float64.*float32"),
    (lambda: mg.grad(None, _leaf()), TypeError, "outputs must be a Variable.*NoneType"),
    (lambda: mg.grad((_leaf() * 2).sum(), None), TypeError, "inputs must be.*NoneType"),
    (lambda: mg.grad([(_leaf() * 2).sum(), 3.0], _leaf()), TypeError, r"outputs\[1\].*float"),
    (lambda: mg.grad((_leaf() * 2).sum(), [np.ones(3)]), TypeError, r"inputs\[0\].*ndarray"),
    (lambda: mg.grad(np.ones(3), _leaf()), TypeError, "outputs must be.*ndarray"),
    (lambda: _TooFew.apply(_leaf(), _leaf()).sum().backward(), RuntimeError, "1 gradients for 2"),
    (lambda: _TooMany.apply(_leaf()).sum().backward(), RuntimeError, "2 gradients for 1"),
    (lambda: _ReturnsNone.apply(_leaf()), TypeError, "_ReturnsNone.forward returned None"),
    (lambda: _ReturnsObjects.apply(_leaf()), TypeError, "_ReturnsObjects.*dtype object"),
]


@pytest.mark.parametrize(
    ("bad", "error", "message"), ENGINE_ERRORS, ids=[f[0].__name__ for f in ENGINE_ERRORS]
)
def test_engine_errors_name_the_problem(bad, error, message) -> None:
    with pytest.raises(error, match=message):
        bad()


def test_leaf_switched_off_after_the_graph_was_built_gets_no_grad() -> None:
    x, w = _leaf(), _leaf()
    y = (x * w * 3).sum()
    w.requires_grad_(False)
    y.backward()
    assert w.grad is None
    np.testing.assert_array_equal(x.grad.data, [3, 3, 3])


def test_leaf_hook_runs_once_on_the_summed_gradient() -> None:
    x = _leaf()
    seen = []
    x.register_hook(lambda g: seen.append(g.data.copy()))
    (x * 2 + x * 5).sum().backward()
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], [7, 7, 7])


def test_the_same_output_twice_in_grad_adds_its_gradients() -> None:
    x = Variable(f32(3), requires_grad=True)
    y = (x * x).sum()
    (once,) = mg.grad(y, x, retain_graph=True)
    (twice,) = mg.grad([y, y], x, retain_graph=True)
    np.testing.assert_allclose(twice.data, 2 * once.data)
    z = x * x
    (weighted,) = mg.grad([z, z], x, [np.ones(3, np.float32), np.full(3, 2, np.float32)])
    np.testing.assert_allclose(weighted.data, 3 * 2 * x.data)
    assert weighted.dtype == np.float32


def test_intermediate_gradients_take_their_variables_dtype() -> None:
    x = Variable(f32(3), requires_grad=True)
    h64 = x.astype(np.float64) * 2.0  # a float64 stretch inside a float32 graph
    h32 = h64.astype(np.float32) * 3.0
    seen: dict[str, np.dtype] = {}
    h64.register_hook(lambda g: seen.update(h64=g.dtype))
    h32.register_hook(lambda g: seen.update(h32=g.dtype))
    w64 = Variable(np.ones(3, np.float64), requires_grad=True)
    (h32 * w64).sum().backward()  # float32 * float64: the product is float64
    assert seen == {"h64": np.float64, "h32": np.float32}
    assert x.grad.dtype == np.float32 and w64.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.data, np.full(3, 6.0))


def test_seed_array_is_cast_to_the_outputs_dtype() -> None:
    x = _leaf()
    (x * 2).backward(np.ones(3, np.float64))  # a numpy seed is converted, as a constant
    assert x.grad.dtype == np.float32


def test_grad_runs_only_what_it_needs_and_leaves_the_rest_intact() -> None:
    x, w = _leaf(), _leaf()
    z = x.exp()
    y = z.sum() + (w * 2).sum()
    (gw,) = mg.grad(y, w)
    np.testing.assert_array_equal(gw.data, [2, 2, 2])
    with pytest.raises(RuntimeError, match="second time"):  # what it ran is freed
        mg.grad(y, w)
    z.sum().backward()  # the branch it did not need is intact
    np.testing.assert_allclose(x.grad.data, np.exp(1.0) * np.ones(3), rtol=1e-6)
    assert w.grad is None  # grad() accumulates nothing


def test_integer_outputs_of_an_op_do_not_require_grad() -> None:
    class Floor(mg.Function):
        def forward(self, x: np.ndarray) -> np.ndarray:
            return np.floor(x).astype(np.int64)

    out = Floor.apply(_leaf())
    assert out.dtype == np.int64 and not out.requires_grad and out.grad_fn is None


def test_backward_error_restores_grad_mode_and_the_garbage_collector() -> None:
    class Fails(mg.Function):
        def forward(self, x: np.ndarray) -> np.ndarray:
            return x * 2

        def backward(self, gy: Variable) -> Variable:
            raise ValueError("boom")

    assert gc.isenabled()
    with pytest.raises(ValueError, match="boom"):
        Fails.apply(_leaf()).sum().backward(create_graph=True)
    assert gc.isenabled() and mg.is_grad_enabled()


def test_a_node_waits_for_a_long_branch_and_a_chain_runs_in_order() -> None:
    # ``a`` feeds ``c`` directly and through a chain of ten ops: backward must run the whole
    # chain before ``a``'s node (run early, that node would be freed and then needed again).
    x = Variable(np.array([0.3, -0.2, 0.7]), requires_grad=True)

    def f(x: Variable) -> Variable:
        a = x.tanh()
        b = a
        for _ in range(10):
            b = (b * 0.9).tanh()
        return (a * b).sum()

    f(x).backward()
    a = np.tanh(x.data)
    b, db = a, np.ones(3)
    for _ in range(10):
        b = np.tanh(b * 0.9)
        db = db * (1 - b * b) * 0.9
    expected = (b + a * db) * (1 - a * a)
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-12)
    assert mg.gradcheck(f, [x])


def test_a_one_input_op_may_return_its_gradient_alone_or_in_a_tuple() -> None:
    class Twice(mg.Function):
        def forward(self, x: np.ndarray) -> np.ndarray:
            return x * 2

        def backward(self, gy: Variable) -> Any:
            return (gy * 2,) if self.as_tuple else gy * 2

    for as_tuple in (False, True):
        Twice.as_tuple = as_tuple
        x = _leaf()
        (Twice.apply(Twice.apply(x)) * x).sum().backward()
        np.testing.assert_array_equal(x.grad.data, 4 * x.data + 4 * x.data)


def _mul_operands() -> list[tuple[str, Any, Any]]:
    """Operands of ``Mul`` of every kind: leaves, op outputs, no-grad Variables, constants."""

    def leaf(v: float) -> Variable:
        return Variable(np.full(3, v, np.float32), requires_grad=True)

    def computed(v: float) -> Variable:
        return leaf(v) * 1.0

    def plain(v: float) -> Variable:
        return Variable(np.full(3, v, np.float32))

    kinds = {"leaf": leaf, "computed": computed, "plain": plain}
    out = [(f"{ka}*{kb}", fa(2.0), fb(3.0)) for ka, fa in kinds.items() for kb, fb in kinds.items()]
    same, shared, detached = leaf(2.0), leaf(2.0), leaf(2.0)
    out += [
        ("x*x", same, same),
        ("one array", shared, Variable(shared.data)),  # two Variables on one array
        ("detached", detached, detached.detach()),
        ("leaf*2.5", leaf(2.0), 2.5),
        ("array*leaf", np.ones(3), leaf(3.0)),
    ]
    return [case for case in out if "plain*plain" not in case[0]]


@pytest.mark.parametrize(
    ("a", "b"), [c[1:] for c in _mul_operands()], ids=[c[0] for c in _mul_operands()]
)
def test_mul_saved_arrays_short_path_equals_the_general_unpacking(a: Any, b: Any) -> None:
    """``Mul`` saves its two inputs through short paths in ``_record`` and ``saved_arrays``;
    what they give equals the general loop's, and an input changed in place is caught."""
    fn = (a * b).grad_fn
    general = fn._unpack(True)
    assert len(fn.saved_arrays) == len(general) == 2
    for got, want in zip(fn.saved_arrays, general):
        assert got is want or got == want
    tensors = fn.saved_tensors
    for got, want in zip(fn.saved_arrays, tensors):
        assert got is (want.data if isinstance(want, Variable) else want)
    for i, operand in enumerate((a, b)):
        if isinstance(operand, Variable) and isinstance(general[1 - i], np.ndarray):
            with mg.no_grad():
                operand.add_(1.0)
            with pytest.raises(RuntimeError, match=r"Mul\.backward.*modified in place"):
                fn.saved_arrays  # noqa: B018
            break


def test_mul_gives_a_leaf_its_data_as_it_is_now() -> None:
    """As ``saved_tensors`` gives the leaf itself, the short path gives its ``.data`` now."""
    x = Variable(np.full(3, 2.0, np.float32), requires_grad=True)
    w = Variable(np.full(3, 3.0, np.float32), requires_grad=True)
    fn = (x * w).grad_fn
    w.data = np.full(3, 5.0, np.float32)
    assert fn.saved_arrays[1] is w.data
    assert fn._unpack(True)[1] is w.data


class _MulSavingThree(mg.Function):
    """``Mul`` that also saves a constant: its inputs go through ``_record``'s general loop."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.save_for_backward(a, b, 1.0)
        return a * b

    def backward(self, gy: Variable) -> tuple[Variable, Variable]:
        a, b, _ = self.saved_tensors
        return gy * b, gy * a


def _variable_pairs() -> list[tuple[str, Variable, Variable]]:
    """The operands of ``_mul_operands`` that are both Variables: ``Mul``'s short path."""
    return [c for c in _mul_operands() if all(isinstance(v, Variable) for v in c[1:])]


@pytest.mark.parametrize(
    ("a", "b"), [p[1:] for p in _variable_pairs()], ids=[p[0] for p in _variable_pairs()]
)
def test_record_short_path_keeps_what_the_general_loop_keeps(a: Variable, b: Variable) -> None:
    """``Mul`` saves its inputs through ``_record``'s short path; a Function saving them and
    a constant goes through the loop: the same arrays, counters, versions and positions."""
    short = (a * b).grad_fn._saved
    loop = _MulSavingThree.apply(a, b).grad_fn._saved[:8]
    assert len(short) == 8
    for i, (got, want) in enumerate(zip(short, loop)):
        assert got is want or (i % 4 == 2 and bytes(got) == bytes(want)), i


@pytest.mark.parametrize("op", [operator.mul, operator.truediv, operator.pow])
def test_two_inputs_on_one_array_each_keep_their_own_version(op: Callable) -> None:
    """``b`` is another Variable on ``a``'s array: a change through ``b`` is caught (``Pow``
    saves three items, through the general loop)."""
    a = Variable(np.array([1.5, 2.0, 3.0], np.float32), requires_grad=True)
    b = Variable(a.data)
    y = op(a, b).sum()
    with mg.no_grad():
        b.add_(1.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_two_leaves_on_one_array_each_give_their_data_as_it_is_now() -> None:
    a = Variable(np.array([1.0, 2.0, 3.0], np.float32), requires_grad=True)
    b = Variable(a.data, requires_grad=True)
    y = (a * b).sum()
    a.data = a.data * 3
    y.backward()
    np.testing.assert_array_equal(a.grad.data, [1, 2, 3])
    np.testing.assert_array_equal(b.grad.data, [3, 6, 9])


def test_a_backward_that_frees_its_own_node_still_passes_its_gradients_on() -> None:
    class FreesItself(mg.Function):
        def forward(self, *xs: np.ndarray) -> np.ndarray:
            return sum(xs[1:], xs[0])

        def backward(self, gy: Variable) -> Any:
            n = len(self.parents)
            self.release()
            return gy if n == 1 else (gy,) * n

    for n in (1, 2, 3, 4):
        xs = [_leaf() for _ in range(n)]
        FreesItself.apply(*xs).sum().backward()
        for x in xs:
            np.testing.assert_array_equal(x.grad.data, [1, 1, 1])
