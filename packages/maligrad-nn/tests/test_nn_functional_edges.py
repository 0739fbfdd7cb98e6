"""maligrad.nn.functional at its edges: one gradient path (``backward()`` and
``grad(create_graph=True)`` agree, also at extreme logits), in-place activations, integer
inputs, and bad hyperparameters refused with an error that names the argument."""

from __future__ import annotations

import math

import numpy as np
import pytest

import maligrad
import maligrad.nn.functional as F
from maligrad import Variable, gradgradcheck, nn

RNG = np.random.default_rng(7)


def np_log_softmax(x, axis=1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def both_gradients(loss_fn, *inputs):
    """``[(backward grads), (grad(create_graph=True) grads)]`` of ``loss_fn(*inputs)``."""
    loss = loss_fn(*inputs)
    loss.backward()
    first = [v.grad.data.copy() for v in inputs]
    second = [g.data for g in maligrad.grad(loss_fn(*inputs), list(inputs), create_graph=True)]
    return first, second


# -- one gradient path: the drift of issue 10 and the numerics of issue 12 -----------------
def test_cross_entropy_soft_target_gradient_at_underflowed_exp():
    x = Variable(np.array([[0.0, -200.0, 5.0]], np.float32), requires_grad=True)
    t = Variable(np.array([[0.2, 0.3, 0.5]], np.float32), requires_grad=True)
    expected = -np_log_softmax(x.data.astype(np.float64))  # d loss / d t = -log p
    assert expected[0, 1] == pytest.approx(205.0067, abs=1e-4)
    first, second = both_gradients(F.cross_entropy, x, t)
    for grads in (first, second):
        assert np.all(np.isfinite(grads[1]))
        np.testing.assert_allclose(grads[1], expected, rtol=1e-6)
        np.testing.assert_allclose(grads[0], np.exp(-expected) - t.data, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_first_and_second_order_exact_at_1e4(reduction):
    n, c = 6, 5
    x = Variable((1e4 + RNG.uniform(-3, 3, (n, c))).astype(np.float32), requires_grad=True)
    y = RNG.integers(0, c, n)
    x64 = x.data.astype(np.float64)
    p = np.exp(np_log_softmax(x64))
    k = 1.0 / n if reduction == "mean" else 1.0
    g_ref = (p - np.eye(c)[y]) * k
    v = RNG.standard_normal((n, c)).astype(np.float32)
    hvp_ref = k * (p * v - p * (p * v).sum(axis=1, keepdims=True))

    def loss_fn(x):
        return F.cross_entropy(x, y, reduction=reduction)

    first, second = both_gradients(loss_fn, x)
    scale = np.abs(g_ref).max()
    for g in (first[0], second[0]):
        assert np.abs(g - g_ref).max() <= 2e-6 * scale
    (g,) = maligrad.grad(loss_fn(x), [x], create_graph=True)
    (hvp,) = maligrad.grad((g * v).sum(), [x])
    assert hvp.dtype == np.float32
    assert np.abs(hvp.data - hvp_ref).max() <= 2e-5 * np.abs(hvp_ref).max()


def test_cross_entropy_soft_targets_second_order_exact_at_1e4():
    x = Variable((-1e4 + RNG.uniform(-2, 2, (3, 4))).astype(np.float32), requires_grad=True)
    q = RNG.dirichlet(np.ones(4), 3).astype(np.float32)
    x64 = x.data.astype(np.float64)
    p = np.exp(np_log_softmax(x64))
    v = RNG.standard_normal((3, 4)).astype(np.float32)
    (g,) = maligrad.grad(F.cross_entropy(x, q), [x], create_graph=True)
    np.testing.assert_allclose(g.data, (p - q) / 3, rtol=1e-5, atol=1e-7)
    (hvp,) = maligrad.grad((g * v).sum(), [x])
    ref = (p * v - p * (p * v).sum(axis=1, keepdims=True)) / 3
    assert np.abs(hvp.data - ref).max() <= 2e-5 * np.abs(ref).max()


# A gradient of every fused op along both paths: identical arrays.
ONE_PATH = [
    ("mse", lambda x, t: F.mse_loss(x, t)),
    ("smooth_l1", lambda x, t: F.smooth_l1_loss(x, t, beta=0.7)),
    ("huber", lambda x, t: F.huber_loss(x, t, delta=0.5, reduction="sum")),
    ("bce", lambda x, t: F.binary_cross_entropy(x.sigmoid(), t.sigmoid())),
    ("bce_logits", lambda x, t: F.binary_cross_entropy_with_logits(x, t.sigmoid())),
    ("cross_entropy", lambda x, t: F.cross_entropy(x, F.softmax(t, 1), label_smoothing=0.1)),
    ("kl_div", lambda x, t: F.kl_div(F.log_softmax(x, 1), F.softmax(t, 1), "batchmean")),
    ("gelu", lambda x, t: (F.gelu(x) * t).sum()),
    ("gelu_tanh", lambda x, t: (F.gelu(x, approximate="tanh") * t).sum()),
    ("elu", lambda x, t: (F.elu(x) * t).sum()),
    ("silu", lambda x, t: (F.silu(x) * t).sum()),
    ("layer_norm", lambda x, t: (F.layer_norm(x, (4,)) * t).sum()),
    ("linear", lambda x, t: F.linear(x, t).sum()),
]


@pytest.mark.parametrize("name,fn", ONE_PATH, ids=[c[0] for c in ONE_PATH])
def test_backward_and_create_graph_give_identical_gradients(name, fn):
    x = Variable(RNG.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    t = Variable(RNG.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    if name == "linear":
        t = Variable(RNG.standard_normal((2, 4)).astype(np.float32), requires_grad=True)
    first, second = both_gradients(fn, x, t)
    for a, b in zip(first, second):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4), (4,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradients_on_both_paths_equal_the_formulas(shape, bias):
    # backward() computes them in numpy, grad(create_graph=True) with maligrad ops.
    x = Variable(RNG.standard_normal(shape).astype(np.float32), requires_grad=True)
    w = Variable(RNG.standard_normal((5, 4)).astype(np.float32), requires_grad=True)
    b = Variable(RNG.standard_normal(5).astype(np.float32), requires_grad=True)
    g = RNG.standard_normal(shape[:-1] + (5,)).astype(np.float32)
    inputs = [x, w, b] if bias else [x, w]

    def loss_fn(*args):
        return (F.linear(*args) * Variable(g)).sum()

    x2, g2 = x.data.astype(np.float64).reshape(-1, 4), g.astype(np.float64).reshape(-1, 5)
    expected = [g2 @ w.data.astype(np.float64), g2.T @ x2, g2.sum(axis=0)]
    for grads in both_gradients(loss_fn, *inputs):
        assert [a.dtype for a in grads] == [np.float32] * len(inputs)
        assert grads[0].shape == shape
        for a, e in zip(grads, expected):
            np.testing.assert_allclose(a.reshape(e.shape), e, rtol=1e-5, atol=1e-5)
    # An input that needs no gradient gets none; the weight's is unchanged.
    x.requires_grad = False
    x.grad = w.grad = None
    loss_fn(*inputs).backward()
    assert x.grad is None
    np.testing.assert_allclose(w.grad.data, expected[1], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["row-broadcast", "strided"])
def test_linear_plain_backward_is_bit_identical_to_the_recorded_one(kind):
    # Gradients with zero or odd strides (a user's seed, a hook): the plain path must run
    # the same kernels as the Functions of the recorded one, not merely the same formulas.
    rng = np.random.default_rng(0)
    for _ in range(40):
        n, k, m = (int(v) for v in rng.integers(1, 70, 3))
        x = Variable(rng.standard_normal((n, k)).astype(np.float32), requires_grad=True)
        w = Variable(rng.standard_normal((m, k)).astype(np.float32), requires_grad=True)
        b = Variable(rng.standard_normal(m).astype(np.float32), requires_grad=True)
        if kind == "row-broadcast":
            seed = np.broadcast_to(rng.standard_normal(m).astype(np.float32), (n, m))
        else:
            seed = rng.standard_normal((n, 2 * m)).astype(np.float32)[:, ::2]
        F.linear(x, w, b).backward(Variable(seed))
        recorded = maligrad.grad(F.linear(x, w, b), [x, w, b], Variable(seed), create_graph=True)
        for v, r in zip((x, w, b), recorded):
            np.testing.assert_array_equal(v.grad.data, r.data)


GRADGRAD = [
    ("bce_logits_weights", lambda x, t: F.binary_cross_entropy_with_logits(
        x, t, weight=np.array([1.0, 2.0, 0.5]), pos_weight=np.array([2.0, 1.0, 3.0]))),
    ("bce_weights", lambda x, t: F.binary_cross_entropy(
        x.sigmoid(), t, weight=np.array([1.0, 2.0, 0.5]), reduction="sum")),
    ("ce_soft_weighted_none", lambda x, t: F.cross_entropy(
        x, t, weight=np.array([1.0, 2.0, 0.5]), reduction="none", label_smoothing=0.2)),
    ("kl_log_target_none", lambda x, t: F.kl_div(x, t, reduction="none", log_target=True)),
    ("huber_none", lambda x, t: F.huber_loss(x, t, reduction="none", delta=0.3)),
]  # fmt: skip


@pytest.mark.parametrize("name,fn", GRADGRAD, ids=[c[0] for c in GRADGRAD])
def test_second_derivatives_of_weighted_losses(name, fn):
    x = Variable(RNG.uniform(-1, 1, (4, 3)), requires_grad=True)
    t = Variable(RNG.uniform(0.1, 0.9, (4, 3)), requires_grad=True)
    assert gradgradcheck(fn, [x, t])


# -- BCE at p = 0 and 1; stable paths at large magnitudes ------------------------------------
def test_binary_cross_entropy_at_zero_and_one():
    p = Variable(np.array([0.0, 1.0, 0.0, 1.0]), requires_grad=True)
    t = Variable(np.array([0.0, 1.0, 1.0, 0.0]), requires_grad=True)
    loss = F.binary_cross_entropy(p, t)
    assert loss.item() == pytest.approx(50.0)  # logs clamped at -100, as in PyTorch
    first, second = both_gradients(F.binary_cross_entropy, p, t)
    for gp, gt in (first, second):
        np.testing.assert_array_equal(gp, [0.0, 0.0, -0.25e12, 0.25e12])
        np.testing.assert_array_equal(gt, [25.0, -25.0, 25.0, -25.0])


@pytest.mark.parametrize("magnitude", [1e3, 1e4, 1e5, 1e6])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_family_stable_at_large_magnitudes(magnitude, dtype):
    x = (magnitude * np.array([[1.0, -1.0, 0.5], [-1.0, -1.0, -1.0]])).astype(dtype)
    x64 = x.astype(np.float64)
    ref = np_log_softmax(x64)
    np.testing.assert_allclose(F.log_softmax(Variable(x), 1).data, ref, rtol=1e-6)
    np.testing.assert_allclose(F.softmax(Variable(x), 1).data, np.exp(ref), atol=1e-7)
    ce = F.cross_entropy(Variable(x), np.array([0, 1]), reduction="none").data
    np.testing.assert_allclose(ce, -ref[[0, 1], [0, 1]], rtol=1e-6)
    t = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]], dtype)
    bce = F.binary_cross_entropy_with_logits(Variable(x), t, reduction="none").data
    ref_bce = np.maximum(x64, 0) - x64 * t + np.log1p(np.exp(-np.abs(x64)))
    assert np.all(np.isfinite(bce))
    np.testing.assert_allclose(bce, ref_bce, rtol=1e-6, atol=1e-30)


# -- in place ------------------------------------------------------------------------------
INPLACE = [
    ("relu", lambda x, **k: F.relu(x, **k)),
    ("leaky_relu", lambda x, **k: F.leaky_relu(x, 0.1, **k)),
    ("elu", lambda x, **k: F.elu(x, **k)),
    ("silu", lambda x, **k: F.silu(x, **k)),
    ("dropout", lambda x, **k: F.dropout(x, 0.5, generator=np.random.default_rng(0), **k)),
    ("ReLU", lambda x, inplace=False: nn.ReLU(inplace)(x)),
    ("LeakyReLU", lambda x, inplace=False: nn.LeakyReLU(0.1, inplace)(x)),
    ("ELU", lambda x, inplace=False: nn.ELU(inplace=inplace)(x)),
    ("SiLU", lambda x, inplace=False: nn.SiLU(inplace)(x)),
    ("Dropout", lambda x, inplace=False: nn.Dropout(
        0.5, inplace, generator=np.random.default_rng(0))(x)),
]  # fmt: skip


@pytest.mark.parametrize("name,fn", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_writes_the_input_outside_the_graph(name, fn):
    data = np.array([-2.0, -0.5, 0.0, 1.5], np.float32)
    expected = fn(Variable(data.copy())).data
    x = Variable(data.copy())
    y = fn(x, inplace=True)
    assert y is x
    np.testing.assert_array_equal(x.data, expected)

    # the version counter moved on: a backward that saved the old values refuses to run
    x = Variable(data.copy())
    w = Variable(np.ones(4, np.float32), requires_grad=True)
    z = (w * x).sum()
    fn(x, inplace=True)
    with pytest.raises(RuntimeError, match="modified in place"):
        z.backward()

    # inside the graph: refused, naming the way out; under no_grad: done
    leaf = Variable(data.copy(), requires_grad=True)
    with pytest.raises(RuntimeError, match="inplace=False"):
        fn(leaf, inplace=True)
    np.testing.assert_array_equal(leaf.data, data)
    with maligrad.no_grad():
        assert fn(leaf, inplace=True) is leaf
    np.testing.assert_array_equal(leaf.data, expected)


def test_inplace_refuses_a_result_the_input_dtype_cannot_hold():
    with pytest.raises(TypeError, match="int64"):
        F.elu(Variable(np.array([-1, 2])), inplace=True)
    x = Variable(np.array([-1, 2]))
    assert F.relu(x, inplace=True) is x  # relu's values are integers: allowed
    np.testing.assert_array_equal(x.data, [0, 2])


# -- integer and bool inputs -----------------------------------------------------------------
ACTIVATIONS = [
    ("sigmoid", F.sigmoid, nn.Sigmoid()),
    ("tanh", F.tanh, nn.Tanh()),
    ("relu", F.relu, nn.ReLU()),
    ("leaky_relu", F.leaky_relu, nn.LeakyReLU()),
    ("elu", F.elu, nn.ELU()),
    ("gelu", F.gelu, nn.GELU()),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), nn.GELU("tanh")),
    ("silu", F.silu, nn.SiLU()),
    ("softmax", lambda x: F.softmax(x, -1), nn.Softmax(-1)),
    ("log_softmax", lambda x: F.log_softmax(x, -1), nn.LogSoftmax(-1)),
]


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_])
@pytest.mark.parametrize("name,fn,layer", ACTIVATIONS, ids=[c[0] for c in ACTIVATIONS])
def test_activation_integer_and_bool_inputs(name, fn, layer, dtype):
    data = np.array([-1, 0, 1, 3]).astype(dtype)
    as_float = fn(Variable(data.astype(np.float32))).data
    for call in (fn, layer):
        y = call(Variable(data))
        if name == "relu":  # integer values: the dtype is kept (as in PyTorch)
            assert y.dtype == dtype
            np.testing.assert_array_equal(y.data, as_float.astype(dtype))
        else:
            assert y.dtype == maligrad.get_default_dtype()
            np.testing.assert_allclose(y.data, as_float, rtol=1e-6)
    sig = nn.Sigmoid()(Variable(np.array([-1, 0, 1]))).data  # issue 12's example
    np.testing.assert_allclose(sig, [0.26894, 0.5, 0.73106], atol=1e-5)


# -- bad hyperparameters ---------------------------------------------------------------------
X = Variable(np.ones((2, 3), np.float32))
T = np.zeros((2, 3), np.float32)
IDX = np.array([0, 1])

BAD = [
    (lambda: F.leaky_relu(X, negative_slope=None), TypeError, "negative_slope"),
    (lambda: F.leaky_relu(X, "a"), TypeError, "negative_slope"),
    (lambda: F.leaky_relu(X, math.nan), ValueError, "negative_slope"),
    (lambda: F.leaky_relu(X, math.inf), ValueError, "negative_slope"),
    (lambda: nn.LeakyReLU("a"), TypeError, "negative_slope"),
    (lambda: F.elu(X, alpha=None), TypeError, "alpha"),
    (lambda: F.elu(X, alpha=-math.inf), ValueError, "alpha"),
    (lambda: nn.ELU(alpha="1"), TypeError, "alpha"),
    (lambda: F.gelu(X, approximate="fast"), ValueError, "approximate"),
    (lambda: nn.GELU("fast"), ValueError, "approximate"),
    (lambda: F.relu(X, inplace="yes"), TypeError, "inplace"),
    (lambda: nn.ReLU(inplace=None), TypeError, "inplace"),
    (lambda: F.softmax(X, dim="a"), TypeError, "dim"),
    (lambda: F.log_softmax(X, dim=1.5), TypeError, "dim"),
    (lambda: F.softmax(X, dim=2), IndexError, "dim"),
    (lambda: F.dropout(X, p=1.5), ValueError, "p must be between 0 and 1"),
    (lambda: F.dropout(X, p=-0.1), ValueError, "p must be between 0 and 1"),
    (lambda: F.dropout(X, p="0.5"), TypeError, "p must be a real number"),
    (lambda: F.dropout(X, p=math.nan), ValueError, "p must be finite"),
    (lambda: F.dropout(X, p=True), TypeError, "p must be a real number"),
    (lambda: nn.Dropout("0.5"), TypeError, "p must be a real number"),
    (lambda: nn.Dropout(2), ValueError, "p must be between 0 and 1"),
    (lambda: F.cross_entropy(X, IDX, label_smoothing=1.5), ValueError, "label_smoothing"),
    (lambda: F.cross_entropy(X, IDX, label_smoothing=-0.1), ValueError, "label_smoothing"),
    (lambda: F.cross_entropy(X, IDX, label_smoothing="0.1"), TypeError, "label_smoothing"),
    (lambda: F.cross_entropy(X, IDX, label_smoothing=math.nan), ValueError, "label_smoothing"),
    (lambda: F.huber_loss(X, T, delta=0), ValueError, "delta must be positive"),
    (lambda: F.huber_loss(X, T, delta=-1.0), ValueError, "delta"),
    (lambda: F.huber_loss(X, T, delta=math.inf), ValueError, "delta"),
    (lambda: F.huber_loss(X, T, delta=None), TypeError, "delta"),
    (lambda: F.smooth_l1_loss(X, T, beta=-0.5), ValueError, "beta"),
    (lambda: F.smooth_l1_loss(X, T, beta=math.nan), ValueError, "beta"),
    (lambda: F.smooth_l1_loss(X, T, beta="1"), TypeError, "beta"),
    (lambda: F.mse_loss(X, T, reduction="avg"), ValueError, "reduction"),
    (lambda: F.l1_loss(X, T, reduction=None), ValueError, "reduction"),
    (lambda: F.cross_entropy(X, IDX, reduction="batchmean"), ValueError, "reduction"),
    (lambda: F.nll_loss(X, IDX, reduction="Mean"), ValueError, "reduction"),
    (lambda: F.binary_cross_entropy(X, T, reduction=1), ValueError, "reduction"),
    (lambda: F.binary_cross_entropy_with_logits(X, T, reduction=""), ValueError, "reduction"),
    (lambda: F.kl_div(X, T, reduction="avg"), ValueError, "reduction"),
    (lambda: F.huber_loss(X, T, reduction="max"), ValueError, "reduction"),
    (lambda: F.smooth_l1_loss(X, T, reduction=["mean"]), ValueError, "reduction"),
    (lambda: F.linear(X, None), TypeError, "weight expected a Variable or array, got NoneType"),
    (lambda: F.linear(None, X), TypeError, "input expected a Variable or array, got NoneType"),
    (lambda: F.linear(X, X, "b"), TypeError, "bias expected a Variable or array, got str"),
    (lambda: F.linear([[1.0]], X), TypeError, "input expected a Variable or array, got list"),
]


@pytest.mark.parametrize("call,exc,name", BAD, ids=[f"{i}-{c[2]}" for i, c in enumerate(BAD)])
def test_bad_hyperparameters_name_the_argument(call, exc, name):
    with pytest.raises(exc, match=name):
        call()


def test_smooth_l1_beta_zero_is_l1():
    # PyTorch's convention: beta = 0 is allowed and gives the L1 loss (and its gradient).
    x = Variable(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    t = np.array([0.0, 0.0, 2.0])
    F.smooth_l1_loss(x, t, beta=0.0).backward()
    np.testing.assert_array_equal(x.grad.data, np.array([1.0, -1.0, 0.0]) / 3)
    assert F.smooth_l1_loss(x, t, beta=0.0).item() == F.l1_loss(x, t).item()


THIRD_ORDER = [
    ("cross_entropy", lambda x, q: F.cross_entropy(x, q)),
    ("cross_entropy_idx", lambda x, q: F.cross_entropy(x, np.array([0, 3, 1]))),
    ("gelu", lambda x, q: (F.gelu(x) * q).sum()),
    ("silu", lambda x, q: (F.silu(x) * q).sum()),
    ("elu", lambda x, q: (F.elu(x) * q).sum()),
    ("softmax", lambda x, q: (F.softmax(x, 1) ** 2 * q).sum()),
    ("layer_norm", lambda x, q: (F.layer_norm(x, (4,)) ** 3 * q).sum()),
]


@pytest.mark.parametrize("name,fn", THIRD_ORDER, ids=[c[0] for c in THIRD_ORDER])
def test_third_derivatives(name, fn):
    # the XGrad Functions' backward is itself differentiable: check the gradient's Hessian
    x = Variable(RNG.uniform(-1, 1, (3, 4)), requires_grad=True)
    q = RNG.dirichlet(np.ones(4), 3)

    def gradient(x):
        return maligrad.grad(fn(x, q), [x], create_graph=True)[0]

    assert gradgradcheck(gradient, [x])
