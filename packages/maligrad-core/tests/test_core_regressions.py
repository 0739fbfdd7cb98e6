"""Regressions from the review of the engine: each test is one bug that once existed."""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

import maligrad as mg
from maligrad import Variable
from maligrad import functional as F


def test_list_index_inside_tuple_accumulates_repeats() -> None:
    x = Variable(np.zeros((3, 2)), requires_grad=True)
    x[[0, 0], :].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[2, 2], [0, 0], [0, 0]])
    y = Variable(np.zeros((2, 3)), requires_grad=True)
    y[1, [0, 0, 2]].sum().backward()
    np.testing.assert_array_equal(y.grad.data, [[0, 0, 0], [2, 0, 1]])


_REPEATED_KEYS = {
    "list": [0, 0, 1],
    "array": np.array([0, 0, 1]),
    "variable": Variable(np.array([0, 0, 1])),
    "tuple-of-tuples": ((0, 0), (1, 1)),
    "tuple-of-lists": ([0, 0], [1, 1]),
    "tuple-of-arrays": (np.array([0, 0]), np.array([1, 1])),
    "tuple-and-int": ((0, 0), 1),
    "int-and-tuple": (1, (0, 0)),
    "slice-and-tuple": (slice(None), (1, 1)),
    "slice-and-list": (slice(None), [1, 1]),
    "tuple-and-slice": ((0, 0), slice(None)),
    "nested-list": [[0, 0], [1, 0]],
    "ellipsis-and-tuple": (Ellipsis, (0, 0)),
    "tuple-and-variable": ((0, 0), Variable(np.array([1, 1]))),
}


@pytest.mark.parametrize("key", _REPEATED_KEYS.values(), ids=_REPEATED_KEYS.keys())
def test_every_spelling_of_a_repeated_index_accumulates(key) -> None:
    x = Variable(np.zeros((2, 2)), requires_grad=True)
    x[key].sum().backward()
    plain = key.data if isinstance(key, Variable) else key
    if isinstance(plain, tuple):  # numpy reads inner sequences as index arrays
        plain = tuple(
            k.data
            if isinstance(k, Variable)
            else np.asarray(k)
            if isinstance(k, (list, tuple))
            else k
            for k in plain
        )
    want = np.zeros((2, 2))
    np.add.at(want, plain, 1.0)
    assert want.max() >= 2  # the key really repeats a position
    np.testing.assert_array_equal(x.grad.data, want)


def test_repeated_tuple_index_from_the_review() -> None:
    x = Variable(np.zeros((2, 2)), requires_grad=True)
    x[(0, 0), (1, 1)].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0, 2], [0, 0]])
    assert mg.gradgradcheck(
        lambda v: v[(0, 0), (1, 1)] ** 2, Variable(np.ones((2, 2)), requires_grad=True)
    )


def test_prod_hessian_at_a_zero() -> None:
    h = F.hessian(lambda v: mg.prod(v), np.array([2.0, 0.0, 3.0]))
    np.testing.assert_allclose(h.data, [[0, 3, 0], [3, 0, 2], [0, 2, 0]])
    h2 = F.hessian(lambda v: mg.prod(v), np.array([0.0, 5.0, 0.0]))
    np.testing.assert_allclose(h2.data, [[0, 0, 5], [0, 0, 0], [5, 0, 0]])


@pytest.mark.parametrize(
    "point",
    [[2.0, 0.0, 3.0], [0.0, 0.0, 3.0], [0.0, 0.0, 0.0], [1.5, -2.0, 0.5, 0.0, 3.0], [0.0]],
    ids=["one-zero", "two-zeros", "all-zeros", "five-one-zero", "single-zero"],
)
def test_prod_is_twice_differentiable_at_zeros(point) -> None:
    x = Variable(np.array(point), requires_grad=True)
    assert mg.gradcheck(lambda v: v.prod(), x)
    assert mg.gradgradcheck(lambda v: v.prod(), x)


@pytest.mark.parametrize("axis", [0, 1, 2, (0, 2), None])
def test_prod_with_zeros_over_any_axes(axis) -> None:
    data = np.random.default_rng(1).normal(size=(3, 4, 5))
    data[1, 2, 3] = 0.0
    data[0, 1, :2] = 0.0
    x = Variable(data, requires_grad=True)
    assert mg.gradcheck(lambda v: v.prod(axis=axis), x)
    assert mg.gradgradcheck(lambda v: v.prod(axis=axis, keepdims=True), x)


def test_shape_keywords_use_numpy_spelling() -> None:
    x = Variable(np.arange(6.0))
    assert mg.reshape(x, shape=(2, 3)).shape == (2, 3)
    assert mg.broadcast_to(Variable(np.ones(3)), shape=(2, 3)).shape == (2, 3)
    assert mg.permute(Variable(np.zeros((2, 3, 4))), axes=(2, 0, 1)).shape == (4, 2, 3)
    assert mg.unsqueeze(x, axis=0).shape == (1, 6)


@pytest.mark.parametrize(
    "name",
    [
        "equal",
        "not_equal",
        "less",
        "less_equal",
        "greater",
        "greater_equal",
        "permute",
        "unsqueeze",
    ],
)
def test_former_aliases_are_functions_of_their_own(name) -> None:
    import inspect

    fn = getattr(mg, name)
    assert inspect.isfunction(fn) and fn.__name__ == name
    assert ">>>" in (fn.__doc__ or "")


def test_einsum_with_ellipsis() -> None:
    a = Variable(np.random.default_rng(0).normal(size=(2, 3, 4)), requires_grad=True)
    b = Variable(np.random.default_rng(1).normal(size=(4, 5)), requires_grad=True)
    out = mg.einsum("...ij,jk->...ik", a, b)
    np.testing.assert_allclose(out.data, np.einsum("...ij,jk->...ik", a.data, b.data))
    assert mg.gradcheck(lambda u, v: mg.einsum("...ij,jk->...ik", u, v), (a, b))


@pytest.mark.parametrize(
    "modify",
    [
        lambda x: x.detach().mul_(2.0),
        lambda x: x.reshape(3).mul_(10.0),
        lambda x: x[0:2].__setitem__(0, 100.0),
    ],
    ids=["detach", "reshape-view", "slice-view"],
)
def test_inplace_change_through_a_view_is_detected(modify) -> None:
    w = Variable(np.ones(3), requires_grad=True)
    x = Variable(np.array([1.0, 2.0, 3.0]))
    y = (w * x).sum()
    modify(x)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_inplace_change_of_a_saved_output_is_detected() -> None:
    x = Variable(np.array([1.0, 2.0]), requires_grad=True)
    e = x.exp()
    with mg.no_grad():
        e.mul_(2.0)
    with pytest.raises(RuntimeError, match=r"Exp\.backward"):
        e.sum().backward()


def test_float32_with_float64_constants_keeps_float32_gradients() -> None:
    x = Variable(np.ones((2, 3), np.float32), requires_grad=True)
    y = (x / np.sqrt(3.0) + x * np.float64(2.0) - [1.0, 2.0, 3.0]).sum()
    assert y.dtype == np.float32  # numpy scalars and lists follow the Variable's dtype
    y.backward()
    np.testing.assert_allclose(x.grad.data, np.full((2, 3), 1 / np.sqrt(3.0) + 2), rtol=1e-6)
    x.grad = None
    z = (x * np.ones(3)).sum()  # a float64 array promotes the value (numpy's rule)...
    assert z.dtype == np.float64
    z.backward()
    assert x.grad.dtype == np.float32  # ...but the gradient comes back in x's dtype


def test_forward_without_backward_frees_memory_without_gc() -> None:
    x = Variable(np.ones(200_000), requires_grad=True)
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    tracemalloc.start()
    try:
        for _ in range(10):
            y = x.exp().tanh().sigmoid().sum()
        del y
        live, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        if was_enabled:
            gc.enable()
    assert live < 2**20  # no reference cycle keeps the 1.6 MB intermediates alive


@pytest.mark.parametrize(
    "f", [lambda x: (x * 2).sum(), lambda x: x.relu().sum(), lambda x: x.sum() * 0 + 3.0]
)
def test_hessian_and_hvp_of_functions_with_constant_gradient_are_zero(f) -> None:
    x0 = np.array([1.0, 2.0])
    np.testing.assert_array_equal(F.hessian(f, x0).data, np.zeros((2, 2)))
    np.testing.assert_array_equal(F.hvp(f, x0, np.ones(2))[1].data, np.zeros(2))


def test_maximum_with_python_scalar_first_keeps_float32() -> None:
    a = Variable(np.array(0.3, np.float32), requires_grad=True)
    mg.maximum(0.0, a).backward()
    b = Variable(np.array(0.3, np.float32), requires_grad=True)
    mg.minimum(1.0, b).backward()
    assert a.grad.dtype == b.grad.dtype == np.float32
    assert float(a.grad.data) == float(b.grad.data) == 1.0


def test_grad_of_intermediate_after_lower_graph_was_freed() -> None:
    h = Variable(np.ones(3), requires_grad=True).exp()
    h.sum().backward()
    (g,) = mg.grad((h * h).sum(), h)
    np.testing.assert_allclose(g.data, 2 * np.e)


def test_retain_grad_twice_does_not_double() -> None:
    x = Variable(np.ones(3), requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.retain_grad()
    y.sum().backward()
    np.testing.assert_array_equal(y.grad.data, np.ones(3))


def test_setitem_value_with_leading_unit_axes() -> None:
    h = Variable(np.zeros((2, 3)))
    v = Variable(np.ones((1, 3)), requires_grad=True)
    h[0] = v * 2
    h.sum().backward()
    np.testing.assert_array_equal(v.grad.data, np.full((1, 3), 2.0))


def test_backward_returning_an_array_names_the_problem() -> None:
    class Bad(mg.Function):
        def forward(self, x: np.ndarray) -> np.ndarray:
            return x * 2

        def backward(self, gy: Variable) -> np.ndarray:
            return gy.data * 2

    with pytest.raises(TypeError, match=r"Bad\.backward must return Variables"):
        Bad.apply(Variable(np.ones(2), requires_grad=True)).sum().backward()


def test_leaf_gradients_do_not_share_memory() -> None:
    x = Variable(np.ones(2), requires_grad=True)
    w = Variable(np.ones(2), requires_grad=True)
    (x + w).sum().backward()
    assert not np.shares_memory(x.grad.data, w.grad.data)
    x.grad.zero_()
    np.testing.assert_array_equal(w.grad.data, [1.0, 1.0])
    seed = np.ones(2)
    z = Variable(np.ones(2), requires_grad=True)
    z.backward(seed)
    z.grad.zero_()
    np.testing.assert_array_equal(seed, [1.0, 1.0])


def test_einsum_broadcasts_unit_axes_in_backward() -> None:
    a = Variable(np.ones(1), requires_grad=True)
    b = Variable(np.arange(3.0), requires_grad=True)
    mg.einsum("i,i->i", a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [3.0])


def test_pow_gradients_at_zero() -> None:
    x = Variable(np.array([0.0, 2.0]), requires_grad=True)
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])
    y = Variable(np.array([1.0, 2.0]), requires_grad=True)
    (0.0**y).sum().backward()
    np.testing.assert_array_equal(y.grad.data, [0.0, 0.0])


def test_clip_accepts_variable_bounds_and_zero_d_axis_errors() -> None:
    out = mg.clip(Variable(np.arange(5.0)), Variable(np.array(1.0)), 3)
    np.testing.assert_array_equal(out.data, [1, 1, 2, 3, 3])
    with pytest.raises(ValueError, match="axis 0 is out of bounds"):
        Variable(np.array(2.0)).sum(axis=0)
