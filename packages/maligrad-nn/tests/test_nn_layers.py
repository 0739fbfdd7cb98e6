"""Layers: shapes, PyTorch initialisation rules, forward references, modes, init functions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from maligrad import Variable, gradcheck, nn
from maligrad.nn import init

RNG = np.random.default_rng(7)


def x32(*shape):
    return Variable(RNG.normal(size=shape).astype(np.float32), requires_grad=True)


def test_linear_shapes_init_and_forward():
    layer = nn.Linear(16, 5)
    assert layer.weight.shape == (5, 16) and layer.bias.shape == (5,)
    assert layer.weight.dtype == np.float32
    bound = 1 / math.sqrt(16)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    x = x32(2, 3, 16)
    y = layer(x)
    assert y.shape == (2, 3, 5) and y.dtype == np.float32
    np.testing.assert_allclose(
        y.data, x.data @ layer.weight.data.T + layer.bias.data, rtol=1e-5, atol=1e-6
    )
    y.sum().backward()
    np.testing.assert_allclose(layer.bias.grad.data, np.full(5, 6.0))
    assert layer.weight.grad.dtype == np.float32
    assert nn.Linear(2, 3, bias=False).bias is None
    assert nn.Linear(2, 3, dtype=np.float64).weight.dtype == np.float64


def test_linear_module_gradcheck_in_float64():
    layer = nn.Linear(3, 2).double()
    x = Variable(RNG.normal(size=(4, 3)), requires_grad=True)
    assert gradcheck(lambda x, w, b: nn.functional.linear(x, w, b), [x, layer.weight, layer.bias])


def test_bilinear_identity_flatten():
    bl = nn.Bilinear(3, 4, 2)
    assert bl.weight.shape == (2, 3, 4)
    a, b = x32(5, 3), x32(5, 4)
    ref = np.einsum("ni,kij,nj->nk", a.data, bl.weight.data, b.data) + bl.bias.data
    np.testing.assert_allclose(bl(a, b).data, ref, rtol=1e-5, atol=1e-6)
    assert bl(x32(2, 5, 3), x32(2, 5, 4)).shape == (2, 5, 2)
    x = x32(2, 3, 4)
    assert nn.Identity(1, key=2)(x) is x
    assert nn.Flatten()(x).shape == (2, 12)
    assert nn.Flatten(0, 1)(x).shape == (6, 4)


ACTS = [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    (nn.GELU(), None),
    (nn.GELU("tanh"), None),
    (nn.SiLU(), lambda x: x / (1 + np.exp(-x))),
    (nn.Tanh(), np.tanh),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Softmax(dim=1), lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
    (nn.LogSoftmax(dim=1), lambda x: x - np.log(np.exp(x).sum(1, keepdims=True))),
]


@pytest.mark.parametrize("layer,ref", ACTS, ids=[repr(a[0]) for a in ACTS])
def test_activation_layers(layer, ref):
    x = x32(3, 4)
    y = layer(x)
    assert y.shape == x.shape and y.dtype == np.float32
    if ref is not None:
        np.testing.assert_allclose(y.data, ref(x.data), rtol=1e-5, atol=1e-6)
    f64 = lambda v: layer(v)  # noqa: E731
    assert gradcheck(f64, [Variable(RNG.normal(size=(2, 3)) + 0.01, requires_grad=True)])


def test_gelu_known_values():
    y = nn.GELU()(Variable(np.array([-1.0, 0.0, 1.0])))
    np.testing.assert_allclose(y.data, [-0.158655254, 0.0, 0.841344746], rtol=1e-7)


def test_batchnorm1d_running_stats_and_eval():
    bn = nn.BatchNorm1d(3, momentum=0.5)
    assert [n for n, _ in bn.named_buffers()] == [
        "running_mean",
        "running_var",
        "num_batches_tracked",
    ]
    x = x32(8, 3)
    y = bn(x)
    np.testing.assert_allclose(y.data.mean(0), 0, atol=1e-6)
    np.testing.assert_allclose(y.data.std(0), 1, atol=1e-3)
    np.testing.assert_allclose(bn.running_mean.data, 0.5 * x.data.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.data, 0.5 + 0.5 * x.data.var(0, ddof=1), rtol=1e-5)
    assert bn.num_batches_tracked.item() == 1
    bn.eval()
    before = bn.running_mean.data.copy()
    y = bn(x)
    ref = (x.data - bn.running_mean.data) / np.sqrt(bn.running_var.data + 1e-5)
    np.testing.assert_allclose(y.data, ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(bn.running_mean.data, before)
    assert y.dtype == np.float32
    y.sum().backward()
    assert bn.weight.grad is not None and x.grad.dtype == np.float32
    assert bn(x32(4, 3, 5)).shape == (4, 3, 5)
    with pytest.raises(ValueError, match=r"got an input with 4 channels"):
        bn(x32(2, 4))


def test_batchnorm_cumulative_momentum_and_no_tracking():
    bn = nn.BatchNorm1d(2, momentum=None)
    a, b = x32(4, 2), x32(4, 2)
    bn(a)
    bn(b)
    np.testing.assert_allclose(
        bn.running_mean.data, (a.data.mean(0) + b.data.mean(0)) / 2, rtol=1e-5
    )
    nt = nn.BatchNorm1d(2, track_running_stats=False, affine=False)
    assert list(nt.parameters()) == [] and list(nt.buffers()) == []
    nt.eval()
    np.testing.assert_allclose(nt(a).data.mean(0), 0, atol=1e-6)


def test_batchnorm2d():
    bn = nn.BatchNorm2d(3)
    x = x32(2, 3, 4, 4)
    y = bn(x)
    np.testing.assert_allclose(y.data.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    with pytest.raises(ValueError, match="4-D"):
        bn(x32(2, 3))
    assert "BatchNorm2d(3, eps=1e-05, momentum=0.1" in repr(bn)


def test_layernorm_groupnorm_layers():
    ln = nn.LayerNorm(4)
    x = x32(2, 3, 4)
    y = ln(x)
    np.testing.assert_allclose(y.data.mean(-1), 0, atol=1e-6)
    assert [n for n, _ in ln.named_parameters()] == ["weight", "bias"]
    assert list(nn.LayerNorm((3, 4), elementwise_affine=False).parameters()) == []
    gn = nn.GroupNorm(2, 4)
    y = gn(x32(2, 4, 3))
    np.testing.assert_allclose(y.data.reshape(2, 2, -1).mean(-1), 0, atol=1e-6)
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(3, 4)


def test_dropout_layer_modes_and_generator():
    d = nn.Dropout(0.5, generator=np.random.default_rng(0))
    x = Variable(np.ones((10, 10), np.float32))
    y = d(x)
    assert set(np.unique(y.data).tolist()) == {0.0, 2.0}
    d.eval()
    assert d(x) is x
    with pytest.raises(ValueError):
        nn.Dropout(-0.1)


def test_embedding_layer():
    emb = nn.Embedding(6, 3, padding_idx=-1)
    assert emb.padding_idx == 5 and np.all(emb.weight.data[5] == 0)
    idx = np.array([[0, 5, 2]])
    y = emb(Variable(idx))
    assert y.shape == (1, 3, 3) and y.dtype == np.float32
    y.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.data[5], 0)
    np.testing.assert_array_equal(emb.weight.grad.data[0], 1)
    pre = nn.Embedding.from_pretrained(np.eye(3, dtype=np.float32))
    assert not pre.weight.requires_grad
    np.testing.assert_array_equal(pre(np.array([1])).data, [[0, 1, 0]])
    assert repr(emb) == "Embedding(6, 3, padding_idx=5)"


def test_loss_modules_match_functional():
    x = x32(4, 3)
    y = np.array([0, 2, 1, 2])
    F = nn.functional
    np.testing.assert_allclose(
        nn.CrossEntropyLoss(label_smoothing=0.1)(x, y).data,
        F.cross_entropy(x, y, label_smoothing=0.1).data,
    )
    np.testing.assert_allclose(
        nn.NLLLoss(reduction="sum")(x, y).data, F.nll_loss(x, y, reduction="sum").data
    )
    t = RNG.uniform(size=(4, 3)).astype(np.float32)
    for mod, fn in [
        (nn.MSELoss(), F.mse_loss),
        (nn.L1Loss(), F.l1_loss),
        (nn.SmoothL1Loss(), F.smooth_l1_loss),
        (nn.HuberLoss(), F.huber_loss),
        (nn.BCEWithLogitsLoss(), F.binary_cross_entropy_with_logits),
    ]:
        np.testing.assert_allclose(mod(x, t).data, fn(x, t).data)
    p = F.sigmoid(x)
    np.testing.assert_allclose(nn.BCELoss()(p, t).data, F.binary_cross_entropy(p, t).data)
    lp = F.log_softmax(x, 1)
    np.testing.assert_allclose(
        nn.KLDivLoss(reduction="batchmean")(lp, t).data,
        F.kl_div(lp, t, reduction="batchmean").data,
    )
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="batchmean")
    assert repr(nn.MSELoss()) == "MSELoss(reduction='mean')"


# -- init --------------------------------------------------------------------------------
def test_fan_and_gain():
    w = Variable(np.empty((8, 4, 3, 3), np.float32))
    assert init._calculate_fan_in_and_fan_out(w) == (36, 72)
    with pytest.raises(ValueError, match="fewer than 2"):
        init._calculate_fan_in_and_fan_out(Variable(np.empty(3)))
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == math.sqrt(2 / 6)
    assert init.calculate_gain("tanh") == 5 / 3


def test_init_functions_bounds_and_statistics():
    g = np.random.default_rng(0)
    w = nn.Parameter(np.empty((200, 300), np.float32))
    v = w._version
    init.uniform_(w, -0.5, 0.25, generator=g)
    assert w._version == v + 1 and w.dtype == np.float32
    assert w.data.min() >= -0.5 and w.data.max() <= 0.25
    init.normal_(w, 1.0, 0.1, generator=g)
    assert abs(w.data.mean() - 1) < 0.01 and abs(w.data.std() - 0.1) < 0.01
    init.constant_(w, 3.0)
    assert np.all(w.data == 3)
    init.zeros_(w)
    assert np.all(w.data == 0)
    init.ones_(w)
    assert np.all(w.data == 1)
    init.xavier_uniform_(w, generator=g)
    assert np.abs(w.data).max() <= math.sqrt(6 / 500)
    init.xavier_normal_(w, gain=2.0, generator=g)
    assert abs(w.data.std() - 2 * math.sqrt(2 / 500)) < 0.003
    init.kaiming_uniform_(w, a=0, nonlinearity="relu", generator=g)
    assert np.abs(w.data).max() <= math.sqrt(2) * math.sqrt(3 / 300)
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu", generator=g)
    assert abs(w.data.std() - math.sqrt(2 / 200)) < 0.003
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_normal_(w, mode="fan_avg")
    with pytest.raises(TypeError, match="Variable"):
        init.zeros_(np.zeros(3))


def test_orthogonal_and_reproducibility():
    for shape in [(4, 6), (6, 4), (3, 2, 2)]:
        w = Variable(np.empty(shape))
        init.orthogonal_(w, gain=2.0, generator=np.random.default_rng(1))
        flat = w.data.reshape(shape[0], -1)
        gram = flat @ flat.T if shape[0] <= flat.shape[1] else flat.T @ flat
        np.testing.assert_allclose(gram, 4 * np.eye(gram.shape[0]), atol=1e-10)
    a = init.normal_(Variable(np.empty(5)), generator=np.random.default_rng(3)).data
    b = init.normal_(Variable(np.empty(5)), generator=np.random.default_rng(3)).data
    np.testing.assert_array_equal(a, b)


def test_init_on_parameter_requiring_grad_is_allowed():
    p = nn.Parameter(np.zeros(3, np.float32))
    init.ones_(p)
    assert np.all(p.data == 1) and p.requires_grad
