"""maligrad.nn.functional: forward against numpy references, gradients against gradcheck."""

from __future__ import annotations

import math

import numpy as np
import pytest

import maligrad
import maligrad.nn.functional as F
from maligrad import Variable, gradcheck, gradgradcheck

RNG = np.random.default_rng(1234)


def v64(*shape, low=-2.0, high=2.0):
    return Variable(RNG.uniform(low, high, size=shape), requires_grad=True)


def np_log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def np_erf(x):
    return np.vectorize(math.erf)(x)


# -- activations: (name, functional call, numpy reference) -----------------------------
ACTIVATIONS = [
    ("relu", F.relu, lambda x: np.maximum(x, 0)),
    ("sigmoid", F.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    ("tanh", F.tanh, np.tanh),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    ("elu", lambda x: F.elu(x, 1.5), lambda x: np.where(x > 0, x, 1.5 * np.expm1(x))),
    ("gelu", F.gelu, lambda x: 0.5 * x * (1 + np_erf(x / np.sqrt(2)))),
    (
        "gelu_tanh",
        lambda x: F.gelu(x, approximate="tanh"),
        lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
    ),
    ("silu", F.silu, lambda x: x / (1 + np.exp(-x))),
    ("softmax", lambda x: F.softmax(x, dim=-1), lambda x: np.exp(np_log_softmax(x, -1))),
    ("softmax0", lambda x: F.softmax(x, dim=0), lambda x: np.exp(np_log_softmax(x, 0))),
    ("log_softmax", lambda x: F.log_softmax(x, dim=1), lambda x: np_log_softmax(x, 1)),
]


@pytest.mark.parametrize("name,fn,ref", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_forward_and_gradients(name, fn, ref):
    x = v64(3, 4)
    x.data[x.data == 0] = 0.1
    np.testing.assert_allclose(fn(x).data, ref(x.data), rtol=1e-6, atol=1e-7)
    assert gradcheck(fn, [x])
    if name != "relu":  # relu's second derivative is zero everywhere it exists
        assert gradgradcheck(fn, [x])


@pytest.mark.parametrize("name,fn,ref", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_float32_stays_float32(name, fn, ref):
    x = Variable(RNG.normal(size=(2, 3)).astype(np.float32), requires_grad=True)
    y = fn(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_softmax_log_softmax_stable_at_large_logits():
    x = Variable(np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4]], np.float32), requires_grad=True)
    s = F.softmax(x, dim=1)
    ls = F.log_softmax(x, dim=1)
    assert np.all(np.isfinite(s.data)) and np.all(np.isfinite(ls.data))
    np.testing.assert_allclose(s.data[0], [1, 0, 0])
    np.testing.assert_allclose(ls.data[1], np.log([1 / 3] * 3), rtol=1e-6)
    (s.sum() + ls.sum()).backward()
    assert np.all(np.isfinite(x.grad.data))


# -- linear ------------------------------------------------------------------------------
def test_linear_forward_and_double_backward():
    x, w, b = v64(2, 3, 4), v64(5, 4), v64(5)
    np.testing.assert_allclose(F.linear(x, w, b).data, x.data @ w.data.T + b.data)
    np.testing.assert_allclose(F.linear(x, w).data, x.data @ w.data.T)
    assert gradcheck(F.linear, [x, w, b])
    assert gradgradcheck(F.linear, [x, w, b])
    assert gradgradcheck(lambda x, w: F.linear(x, w), [v64(4), w])


def test_linear_hessian_vector_product():
    x, w = v64(3, 4), v64(2, 4)
    loss = (F.linear(x, w) ** 2).sum()
    (gw,) = maligrad.grad([loss], [w], create_graph=True)
    (hv,) = maligrad.grad([(gw * gw).sum()], [w])
    # loss = sum (x w^T)^2 -> gw = 2 (x w^T)^T x; d/dw sum gw^2 computed by hand:
    a = x.data.T @ x.data
    ref = 8 * (w.data @ a) @ a
    np.testing.assert_allclose(hv.data, ref, rtol=1e-10)


def test_linear_errors_name_shapes_and_dtypes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(5, 4\)"):
        F.linear(Variable(np.ones((2, 3))), Variable(np.ones((5, 4))))
    with pytest.raises(TypeError, match=r"float64.*float32"):
        F.linear(Variable(np.ones((2, 4))), Variable(np.ones((5, 4), np.float32)))


def test_bilinear_forward_and_gradients():
    x1, x2, w, b = v64(2, 3), v64(2, 4), v64(5, 3, 4), v64(5)
    ref = np.einsum("ni,kij,nj->nk", x1.data, w.data, x2.data) + b.data
    np.testing.assert_allclose(F.bilinear(x1, x2, w, b).data, ref)
    assert gradcheck(F.bilinear, [x1, x2, w, b])


# -- losses ------------------------------------------------------------------------------
def reduce(elems, reduction, denom=None):
    if reduction == "none":
        return elems
    if reduction == "sum":
        return elems.sum()
    return elems.sum() / (elems.size if denom is None else denom)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses(reduction):
    x, t = v64(3, 4), v64(3, 4)
    d = x.data - t.data
    a = np.abs(d)
    cases = [
        (F.mse_loss, {}, d * d),
        (F.l1_loss, {}, a),
        (F.smooth_l1_loss, {"beta": 0.5}, np.where(a < 0.5, 0.5 * d * d / 0.5, a - 0.25)),
        (F.huber_loss, {"delta": 0.7}, np.where(a < 0.7, 0.5 * d * d, 0.7 * (a - 0.35))),
    ]
    for fn, kw, elems in cases:
        out = fn(x, t, reduction=reduction, **kw)
        np.testing.assert_allclose(out.data, reduce(elems, reduction), rtol=1e-12)
        assert gradcheck(lambda x, t, fn=fn, kw=kw: fn(x, t, reduction=reduction, **kw), [x, t])
    assert gradgradcheck(lambda x, t: F.mse_loss(x, t, reduction=reduction), [x, t])
    assert gradgradcheck(lambda x, t: F.smooth_l1_loss(x, t, reduction=reduction, beta=0.5), [x, t])


def test_regression_loss_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\(3,\).*\(3, 1\)"):
        F.mse_loss(Variable(np.ones((3, 1))), np.ones(3))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy(reduction):
    p = Variable(RNG.uniform(0.05, 0.95, size=(3, 2)), requires_grad=True)
    t = Variable(RNG.uniform(0, 1, size=(3, 2)), requires_grad=True)
    w = RNG.uniform(0.5, 2, size=(2,))
    elems = -w * (t.data * np.log(p.data) + (1 - t.data) * np.log(1 - p.data))
    out = F.binary_cross_entropy(p, t, weight=w, reduction=reduction)
    np.testing.assert_allclose(out.data, reduce(elems, reduction), rtol=1e-12)
    fn = lambda p, t: F.binary_cross_entropy(p, t, weight=w, reduction=reduction)  # noqa: E731
    assert gradcheck(fn, [p, t])
    assert gradgradcheck(fn, [p, t])


def test_binary_cross_entropy_clamps_log():
    out = F.binary_cross_entropy(
        Variable(np.array([0.0, 1.0])), np.array([1.0, 0.0]), reduction="none"
    )
    np.testing.assert_allclose(out.data, [100.0, 100.0])
    with pytest.raises(ValueError, match="probabilities"):
        F.binary_cross_entropy(Variable(np.array([1.5])), np.array([1.0]))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits(reduction):
    x = v64(3, 2, low=-4, high=4)
    t = Variable(RNG.uniform(0, 1, size=(3, 2)), requires_grad=True)
    pw = np.array([2.0, 0.5])
    w = np.array([1.0, 3.0])
    sig = 1 / (1 + np.exp(-x.data))
    elems = -w * (pw * t.data * np.log(sig) + (1 - t.data) * np.log(1 - sig))
    out = F.binary_cross_entropy_with_logits(x, t, w, reduction, pw)
    np.testing.assert_allclose(out.data, reduce(elems, reduction), rtol=1e-10)
    fn = lambda x, t: F.binary_cross_entropy_with_logits(x, t, w, reduction, pw)  # noqa: E731
    assert gradcheck(fn, [x, t])
    assert gradgradcheck(fn, [x, t])
    plain = lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction=reduction)  # noqa: E731
    assert gradcheck(plain, [x, t])


def test_bce_with_logits_stable():
    x = Variable(np.array([1e4, -1e4], np.float32), requires_grad=True)
    out = F.binary_cross_entropy_with_logits(x, np.array([1.0, 0.0], np.float32))
    assert out.item() == 0.0
    out.backward()
    assert np.all(np.isfinite(x.grad.data))


def ce_reference(x, y, w=None, ignore=-100, eps=0.0, reduction="mean"):
    """Cross-entropy over axis 1 written the long way."""
    c = x.shape[1]
    logp = np_log_softmax(x, 1)
    xm = np.moveaxis(logp, 1, -1).reshape(-1, c)
    yf = y.reshape(-1)
    w = np.ones(c) if w is None else w
    losses, weights = [], []
    for row, cls in zip(xm, yf):
        if cls == ignore:
            losses.append(0.0)
            weights.append(0.0)
            continue
        nll = -w[cls] * row[cls]
        smooth = -(w * row).sum() / c
        losses.append((1 - eps) * nll + eps * smooth)
        weights.append(w[cls])
    losses = np.array(losses).reshape(y.shape)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / np.sum(weights)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("eps", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_class_indices(reduction, eps, weighted):
    x = v64(5, 4)
    y = np.array([0, 3, -100, 1, 3])
    w = RNG.uniform(0.5, 2, size=4) if weighted else None
    out = F.cross_entropy(x, y, w, reduction=reduction, label_smoothing=eps)
    np.testing.assert_allclose(
        out.data, ce_reference(x.data, y, w, -100, eps, reduction), rtol=1e-10
    )
    fn = lambda x: F.cross_entropy(x, y, w, reduction=reduction, label_smoothing=eps)  # noqa: E731
    assert gradcheck(fn, [x])
    assert gradgradcheck(fn, [x])


def test_cross_entropy_spatial_and_unbatched():
    x = v64(2, 3, 2, 2)
    y = RNG.integers(0, 3, size=(2, 2, 2))
    y[0, 0, 0] = 7
    out = F.cross_entropy(x, y, ignore_index=7, reduction="none")
    np.testing.assert_allclose(out.data, ce_reference(x.data, y, ignore=7, reduction="none"))
    assert gradcheck(lambda x: F.cross_entropy(x, y, ignore_index=7), [x])
    x1 = v64(4)
    out = F.cross_entropy(x1, np.array(2))
    np.testing.assert_allclose(out.data, -np_log_softmax(x1.data, 0)[2])


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_cross_entropy_probabilities(eps):
    x = v64(3, 4)
    t = Variable(np.exp(np_log_softmax(RNG.normal(size=(3, 4)), 1)), requires_grad=True)
    w = np.array([1.0, 2.0, 0.5, 1.0])
    tt = t.data * (1 - eps) + eps / 4
    ref = -(w * tt * np_log_softmax(x.data, 1)).sum(axis=1).mean()
    out = F.cross_entropy(x, t, weight=w, label_smoothing=eps)
    np.testing.assert_allclose(out.data, ref, rtol=1e-12)
    fn = lambda x, t: F.cross_entropy(x, t, weight=w, label_smoothing=eps)  # noqa: E731
    assert gradcheck(fn, [x, t])
    assert gradgradcheck(fn, [x, t])


def test_cross_entropy_stable_and_float32():
    x = Variable(np.array([[1e4, 0.0], [0.0, 1e4]], np.float32), requires_grad=True)
    loss = F.cross_entropy(x, np.array([0, 0]))
    assert loss.dtype == np.float32
    np.testing.assert_allclose(loss.data, 5000.0)
    loss.backward()
    assert x.grad.dtype == np.float32 and np.all(np.isfinite(x.grad.data))
    np.testing.assert_allclose(x.grad.data, [[0, 0], [-0.5, 0.5]], atol=1e-7)


def test_cross_entropy_errors():
    x = Variable(np.zeros((2, 3)))
    with pytest.raises(IndexError, match="target 3 is out of bounds for 3 classes"):
        F.cross_entropy(x, np.array([0, 3]))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        F.cross_entropy(x, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(x, np.array([0, 1]), reduction="avg")


@pytest.mark.parametrize("n", [1, 5, 40])  # a few targets (checked as ints) and many
@pytest.mark.parametrize(
    "dtype, bad, ignore, message",
    [
        (np.int64, None, -100, None),
        (np.int32, None, -100, None),
        (np.uint8, None, -100, None),
        (np.int64, -1, -100, "target -1 is out of bounds for 3 classes"),
        (np.int64, 3, -100, "target 3 is out of bounds for 3 classes"),
        (np.int8, -2, -100, "target -2 is out of bounds for 3 classes"),
        (np.int64, -100, -100, None),  # ignored
        (np.int64, 1, 1, None),  # ignore_index that is a class
    ],
)
def test_cross_entropy_class_index_checks(n, dtype, bad, ignore, message):
    rng = np.random.default_rng(n)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    t = rng.integers(0, 3, size=n).astype(dtype)
    if bad is not None:
        t[n // 2] = bad
    if message is not None:
        with pytest.raises(IndexError, match=message):
            F.cross_entropy(Variable(x), t, ignore_index=ignore)
        return
    xv = Variable(x, requires_grad=True)
    loss = F.cross_entropy(xv, t, ignore_index=ignore)
    loss.backward()
    keep = t.astype(np.int64) != ignore
    logp = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    picked = logp[np.arange(n), np.where(keep, t, 0)] * keep
    want = -picked.sum() / keep.sum() if keep.any() else np.nan
    np.testing.assert_allclose(loss.data, want, rtol=1e-5)
    if keep.any():
        onehot = np.eye(3, dtype=np.float32)[np.where(keep, t, 0)] * keep[:, None]
        grad = (np.exp(logp) * keep[:, None] - onehot) / keep.sum()
        np.testing.assert_allclose(xv.grad.data, grad, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss(reduction):
    x = v64(4, 3)
    y = np.array([2, -100, 0, 1])
    w = np.array([0.5, 1.0, 2.0])
    logp = x.data
    elems = np.array([-w[c] * logp[i, c] if c != -100 else 0.0 for i, c in enumerate(y)])
    denom = sum(w[c] for c in y if c != -100)
    out = F.nll_loss(x, y, w, reduction=reduction)
    np.testing.assert_allclose(out.data, reduce(elems, reduction, denom))
    fn = lambda x: F.nll_loss(x, y, w, reduction=reduction)  # noqa: E731
    assert gradcheck(fn, [x])
    assert gradgradcheck(fn, [x])
    # nll_loss(log_softmax(x)) == cross_entropy(x)
    np.testing.assert_allclose(
        F.nll_loss(F.log_softmax(x, 1), y, w, reduction=reduction).data,
        F.cross_entropy(x, y, w, reduction=reduction).data,
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    x = Variable(np_log_softmax(RNG.normal(size=(3, 4)), 1), requires_grad=True)
    tp = np.exp(np_log_softmax(RNG.normal(size=(3, 4)), 1))
    t = Variable(np.log(tp) if log_target else tp, requires_grad=True)
    elems = tp * (np.log(tp) - x.data)
    ref = elems.sum() / 3 if reduction == "batchmean" else reduce(elems, reduction)
    out = F.kl_div(x, t, reduction=reduction, log_target=log_target)
    np.testing.assert_allclose(out.data, ref, rtol=1e-12)
    fn = lambda x, t: F.kl_div(x, t, reduction=reduction, log_target=log_target)  # noqa: E731
    assert gradcheck(fn, [x, t])
    assert gradgradcheck(fn, [x, t])


def test_kl_div_zero_target_is_zero():
    out = F.kl_div(Variable(np.array([-1.0, -2.0])), np.array([0.0, 1.0]), reduction="sum")
    np.testing.assert_allclose(out.data, 2.0)


# -- one_hot, embedding, dropout -------------------------------------------------------
def test_one_hot():
    out = F.one_hot(Variable(np.array([[0, 2], [1, 1]])), 3)
    assert out.dtype == np.int64 and out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.data.argmax(-1), [[0, 2], [1, 1]])
    assert F.one_hot(np.array([0, 4])).shape == (2, 5)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        F.one_hot(np.array([3]), 3)


def test_embedding_gradients_accumulate_and_skip_padding():
    w = v64(5, 3)
    idx = np.array([[1, 1, 0], [4, 0, 2]])
    out = F.embedding(idx, w, padding_idx=0)
    np.testing.assert_array_equal(out.data, w.data[idx])
    g = RNG.normal(size=out.shape)
    out.backward(Variable(g))
    ref = np.zeros((5, 3))
    np.add.at(ref, idx, g)
    ref[0] = 0
    np.testing.assert_allclose(w.grad.data, ref)
    assert gradcheck(lambda w: F.embedding(idx, w), [w])
    assert gradgradcheck(lambda w: F.embedding(idx, w, padding_idx=0) ** 2, [w])
    with pytest.raises(IndexError, match="out of range"):
        F.embedding(np.array([5]), w)
    with pytest.raises(TypeError, match="integers"):
        F.embedding(np.array([1.0]), w)


def test_embedding_max_norm_renormalises_rows_in_place():
    w = Variable(np.array([[3.0, 4.0], [0.3, 0.4]]))
    F.embedding(np.array([0, 1]), w, max_norm=1.0)
    np.testing.assert_allclose(np.linalg.norm(w.data, axis=1), [1.0, 0.5], rtol=1e-6)


def test_dropout():
    x = Variable(np.ones((200, 50), np.float32), requires_grad=True)
    y = F.dropout(x, 0.3, generator=np.random.default_rng(0))
    vals = set(np.unique(y.data).tolist())
    assert vals <= {0.0, np.float32(1 / 0.7).item()}
    assert abs((y.data == 0).mean() - 0.3) < 0.02
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, y.data)
    assert F.dropout(x, 0.3, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert np.all(F.dropout(x, 1.0).data == 0)
    a = F.dropout(x, 0.5, generator=np.random.default_rng(3)).data
    b = F.dropout(x, 0.5, generator=np.random.default_rng(3)).data
    np.testing.assert_array_equal(a, b)
    x64 = v64(3, 4)
    mask_rng = lambda: np.random.default_rng(5)  # noqa: E731
    assert gradcheck(lambda x: F.dropout(x, 0.4, generator=mask_rng()), [x64])
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, 1.5)


# -- normalisation -----------------------------------------------------------------------
def test_layer_norm():
    x, w, b = v64(2, 3, 4), v64(3, 4), v64(3, 4)
    mean = x.data.mean(axis=(1, 2), keepdims=True)
    var = x.data.var(axis=(1, 2), keepdims=True)
    ref = (x.data - mean) / np.sqrt(var + 1e-5) * w.data + b.data
    np.testing.assert_allclose(F.layer_norm(x, (3, 4), w, b).data, ref, rtol=1e-10)
    fn = lambda x, w, b: F.layer_norm(x, (3, 4), w, b)  # noqa: E731
    assert gradcheck(fn, [x, w, b])
    assert gradgradcheck(fn, [x, w, b])
    with pytest.raises(ValueError, match="normalized_shape"):
        F.layer_norm(x, (5,))


def test_group_norm():
    x, w, b = v64(2, 4, 3), v64(4), v64(4)
    g = x.data.reshape(2, 2, -1)
    ref = ((g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + 1e-5)).reshape(
        2, 4, 3
    ) * w.data[:, None] + b.data[:, None]
    np.testing.assert_allclose(F.group_norm(x, 2, w, b).data, ref, rtol=1e-10)
    fn = lambda x, w, b: F.group_norm(x, 2, w, b)  # noqa: E731
    assert gradcheck(fn, [x, w, b])
    assert gradgradcheck(fn, [x, w, b])


def test_batch_norm_training_and_eval():
    x, w, b = v64(4, 3, 2), v64(3), v64(3)
    rm, rv = Variable(np.zeros(3)), Variable(np.ones(3))
    out = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.1)
    mean = x.data.mean(axis=(0, 2))
    var = x.data.var(axis=(0, 2))
    ref = (x.data - mean[:, None]) / np.sqrt(var[:, None] + 1e-5) * w.data[:, None] + b.data[
        :, None
    ]
    np.testing.assert_allclose(out.data, ref, rtol=1e-10)
    np.testing.assert_allclose(rm.data, 0.1 * mean)
    np.testing.assert_allclose(rv.data, 0.9 + 0.1 * var * 8 / 7)
    fn = lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True)  # noqa: E731
    assert gradcheck(fn, [x, w, b])
    assert gradgradcheck(fn, [x, w, b])
    ev = F.batch_norm(x, rm, rv, w, b, training=False)
    ref = (x.data - rm.data[:, None]) / np.sqrt(rv.data[:, None] + 1e-5) * w.data[:, None] + b.data[
        :, None
    ]
    np.testing.assert_allclose(ev.data, ref, rtol=1e-10)
    assert gradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b), [x, w, b])
