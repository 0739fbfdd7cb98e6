"""grad(), create_graph, and the functional transforms against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

import maligrad as mg
from maligrad import Variable
from maligrad import functional as F


def nth_derivative(f, x0: float, n: int) -> float:
    x = Variable(np.array(x0), requires_grad=True)
    y = f(x)
    for _ in range(n):
        (y,) = mg.grad(y, x, create_graph=True)
    return float(y.data)


def test_third_derivative_of_tanh() -> None:
    for x0 in (-1.3, 0.0, 0.7):
        t = math.tanh(x0)
        expected = -2 * (1 - t * t) * (1 - 3 * t * t)
        assert nth_derivative(lambda x: x.tanh(), x0, 3) == pytest.approx(expected, rel=1e-12)


def test_third_derivative_of_cube() -> None:
    assert nth_derivative(lambda x: x**3, 1.7, 1) == pytest.approx(3 * 1.7**2)
    assert nth_derivative(lambda x: x**3, 1.7, 2) == pytest.approx(6 * 1.7)
    assert nth_derivative(lambda x: x**3, 1.7, 3) == pytest.approx(6.0)
    assert nth_derivative(lambda x: x**3, 1.7, 4) == pytest.approx(0.0)


def test_grad_does_not_touch_dot_grad_and_handles_intermediates() -> None:
    x = Variable(np.array([1.0, 2.0]), requires_grad=True)
    h = x * x
    y = (h * 3).sum()
    gx, gh = mg.grad(y, [x, h])
    np.testing.assert_allclose(gx.data, 6 * x.data)
    np.testing.assert_allclose(gh.data, [3.0, 3.0])
    assert x.grad is None


def test_grad_allow_unused() -> None:
    x = Variable(np.ones(2), requires_grad=True)
    z = Variable(np.ones(2), requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="not used"):
        mg.grad(y, [x, z], retain_graph=True)
    gx, gz = mg.grad(y, [x, z], allow_unused=True)
    assert gz is None
    np.testing.assert_allclose(gx.data, [2.0, 2.0])


def test_grad_with_grad_outputs_and_several_outputs() -> None:
    x = Variable(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    (g,) = mg.grad([x * 2, x.sum()], x, grad_outputs=[np.array([1.0, 0.0, 1.0]), np.array(5.0)])
    np.testing.assert_allclose(g.data, [7.0, 5.0, 7.0])


def test_hessian_vector_product_by_double_backward() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 4))
    x = Variable(rng.normal(size=4), requires_grad=True)
    v = rng.normal(size=4)
    y = (x @ a @ x) * 0.5 + (x**3).sum()
    (g,) = mg.grad(y, x, create_graph=True)
    (hv,) = mg.grad((g * v).sum(), x)
    hess = (a + a.T) / 2 + np.diag(6 * x.data)
    np.testing.assert_allclose(hv.data, hess @ v, rtol=1e-10)


def f_vec(x: Variable) -> Variable:
    return mg.stack([x[0] * x[1], x[1].sin(), x[0] ** 2 + x[2]])


def jac_vec(x: np.ndarray) -> np.ndarray:
    return np.array([[x[1], x[0], 0], [0, np.cos(x[1]), 0], [2 * x[0], 0, 1]])


def test_functional_vjp_jvp_jacobian() -> None:
    x0 = np.array([0.5, -1.2, 2.0])
    jac = jac_vec(x0)
    v = np.array([1.0, 2.0, -1.0])
    out, vj = F.vjp(f_vec, x0, v)
    np.testing.assert_allclose(out.data, f_vec(Variable(x0)).data)
    np.testing.assert_allclose(vj.data, v @ jac)
    _, jv = F.jvp(f_vec, x0, v)
    np.testing.assert_allclose(jv.data, jac @ v)
    np.testing.assert_allclose(F.jacobian(f_vec, x0).data, jac)


def test_functional_hessian_and_hvp() -> None:
    def f(x: Variable) -> Variable:
        return (x[0] ** 2 * x[1] + x[1].exp()).sum()

    x0 = np.array([1.5, 0.3])
    hess = np.array([[2 * x0[1], 2 * x0[0]], [2 * x0[0], np.exp(x0[1])]])
    np.testing.assert_allclose(F.hessian(f, x0).data, hess)
    v = np.array([0.2, -1.0])
    _, hv = F.hvp(f, x0, v)
    np.testing.assert_allclose(hv.data, hess @ v)


def test_functional_with_several_inputs() -> None:
    a0, b0 = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    ja, jb = F.jacobian(lambda a, b: a * b, (a0, b0))
    np.testing.assert_allclose(ja.data, np.diag(b0))
    np.testing.assert_allclose(jb.data, np.diag(a0))


def test_gradcheck_catches_a_wrong_gradient() -> None:
    class WrongSin(mg.Function):
        def forward(self, x: np.ndarray) -> np.ndarray:
            self.save_for_backward(x)
            return np.sin(x)

        def backward(self, gy: Variable) -> Variable:
            (x,) = self.saved_tensors
            return gy * x.cos() * 1.01

    x = Variable(np.linspace(0.1, 1.0, 5), requires_grad=True)
    with pytest.raises(mg.GradcheckError, match="input 0"):
        mg.gradcheck(WrongSin.apply, x)
    assert mg.gradcheck(WrongSin.apply, x, raise_exception=False) is False
    big = Variable(np.linspace(0.1, 1.0, 500), requires_grad=True)  # random-direction mode
    with pytest.raises(mg.GradcheckError, match="random direction"):
        mg.gradcheck(WrongSin.apply, big)


def test_gradgradcheck_catches_a_wrong_second_derivative() -> None:
    class NoDoubleBackward(mg.Function):
        def forward(self, x: np.ndarray) -> np.ndarray:
            self.save_for_backward(x)
            return x**3

        def backward(self, gy: Variable) -> Variable:
            (x,) = self.saved_tensors
            return gy * Variable(3 * x.data**2)  # right value, but cut from the graph

    x = Variable(np.array([0.5, 1.5]), requires_grad=True)
    assert mg.gradcheck(NoDoubleBackward.apply, x)
    with pytest.raises(mg.GradcheckError):
        mg.gradgradcheck(NoDoubleBackward.apply, x)


def test_gradcheck_large_inputs_use_random_directions() -> None:
    x = Variable(np.random.default_rng(1).normal(size=(20, 30)), requires_grad=True)
    w = Variable(np.random.default_rng(2).normal(size=(30, 5)), requires_grad=True)
    assert mg.gradcheck(lambda x, w: (x @ w).tanh().logsumexp(axis=1), [x, w])
    assert mg.gradgradcheck(lambda x, w: (x @ w).tanh().logsumexp(axis=1), [x, w])
