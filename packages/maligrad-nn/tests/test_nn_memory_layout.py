"""Values do not depend on memory layout: the fast conv, max-pool and batch-norm kernels fed
NCHW-contiguous, batch-last (``(C, H, W, N)`` memory, as the conv kernels hand it over),
batch-last but sliced, and arbitrarily strided inputs and gradients, against the general
path on C-contiguous arrays: outputs, first derivatives and a second-order product.

Also: what a batch-last result does downstream (reshape, flatten, in-place ops, a layer's
state) is what a contiguous one does.
"""

from __future__ import annotations

import numpy as np
import pytest

import maligrad as mg
import maligrad.nn.functional as F
from maligrad import nn
from maligrad.nn.functional import _toeplitz, convolution, normalization, pooling
from maligrad.nn.functional.normalization import Standardize


def _nchw(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a)


def _last(a: np.ndarray) -> np.ndarray:
    """``a`` in ``(C, H, W, N)`` memory."""
    return np.ascontiguousarray(np.moveaxis(a, 0, -1)).transpose(3, 0, 1, 2)


def _last_sliced(a: np.ndarray) -> np.ndarray:
    """Batch innermost (unit stride) but not contiguous: a slice of a taller canvas."""
    n, c, h, w = a.shape
    canvas = np.full((c, h + 2, w + 1, n), np.nan, dtype=a.dtype)
    canvas[:, 1 : h + 1, :w] = np.moveaxis(a, 0, -1)
    return canvas[:, 1 : h + 1, :w].transpose(3, 0, 1, 2)


def _strided(a: np.ndarray) -> np.ndarray:
    """Every second element of a wider array, axes in an odd memory order."""
    n, c, h, w = a.shape
    canvas = np.full((h, 2 * n, w, c), np.nan, dtype=a.dtype)
    canvas[:, ::2] = a.transpose(2, 0, 3, 1)
    return canvas[:, ::2].transpose(1, 3, 0, 2)


LAYOUTS = {"nchw": _nchw, "last": _last, "last-sliced": _last_sliced, "strided": _strided}


@pytest.fixture(params=list(LAYOUTS))
def layout(request):
    return LAYOUTS[request.param]


def _compare(fast, general, rtol):
    for a, b in zip(fast, general):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)


def _first_and_second(op, x0, params, gy0, v0, layout):
    """``op(x, *params)`` with ``x`` and ``gy`` in ``layout``: y, the first derivatives and a
    second-order product (d/d(x, params) of <grad_x, v>)."""
    x = mg.Variable(layout(x0), requires_grad=True)
    ps = [mg.Variable(p, requires_grad=True) for p in params]
    y = op(x, *ps)
    gy = mg.Variable(layout(gy0), requires_grad=True)
    grads = mg.grad(y, [x, *ps, gy][:-1], grad_outputs=[gy], create_graph=True)
    # d/d(x, gy, params) of <grad_x, v>: the second-order paths of every kernel.
    second = mg.grad((grads[0] * mg.Variable(v0)).sum(), [x, gy, *ps], allow_unused=True)
    return [y.data] + [g.data for g in grads] + [g.data for g in second if g is not None]


# --- convolution: banded GEMM (stride 1), 1x1 GEMM, stride phases -------------------------

# (N, C, H, W, O, kernel, padding, stride, groups): blocks of 4 (whole and cut), blocks of 1,
# no padding (the input's memory is the padded input), 'same', 1x1 kernels (stride 1 and 2,
# padded, grouped), strided kernels (padded, grouped).
CONV_CASES = [
    (8, 1, 12, 12, 4, 5, 0, 1, 1),
    (9, 3, 7, 10, 5, 3, 1, 1, 1),
    (8, 30, 6, 6, 4, 3, 0, 1, 1),
    (10, 2, 5, 9, 3, (2, 4), "same", 1, 1),
    (3, 2, 6, 7, 2, 3, 0, 1, 1),
    (8, 4, 6, 5, 6, 1, 0, 1, 1),
    (9, 4, 7, 6, 4, 1, 1, 2, 2),
    (8, 3, 9, 8, 4, 3, 1, 2, 1),
    (8, 4, 8, 7, 2, (3, 2), (0, 1), (2, 3), 2),
]


@pytest.mark.parametrize("inner", [None, False])
@pytest.mark.parametrize("case", CONV_CASES)
def test_fast_conv_values_do_not_depend_on_memory_layout(case, inner, layout, monkeypatch):
    n, c, h, w, o, k, pad, stride, groups = case
    kh, kw = (k, k) if isinstance(k, int) else k
    rng = np.random.default_rng(0)
    x0 = rng.normal(size=(n, c, h, w))
    wt, b = rng.normal(size=(o, c // groups, kh, kw)), rng.normal(size=o)

    def op(x, w, b):
        return F.conv2d(x, w, b, stride=stride, padding=pad, groups=groups)

    y_shape = op(mg.Variable(x0), mg.Variable(wt), None).shape
    gy0, v0 = rng.normal(size=y_shape), rng.normal(size=x0.shape)
    monkeypatch.setattr(_toeplitz, "FORCE_INNER", inner)
    fast = _first_and_second(op, x0, [wt, b], gy0, v0, layout)
    monkeypatch.setattr(convolution, "FAST", False)
    general = _first_and_second(op, x0, [wt, b], gy0, v0, _nchw)
    _compare(fast, general, 1e-10)


@pytest.mark.parametrize("case", CONV_CASES[5:])
def test_strided_and_1x1_conv_keep_batch_last_memory(case):
    n, c, h, w, o, k, pad, stride, groups = case
    kh, kw = (k, k) if isinstance(k, int) else k
    rng = np.random.default_rng(8)
    x = mg.Variable(_last(rng.normal(size=(n, c, h, w))), requires_grad=True)
    wt = mg.Variable(rng.normal(size=(o, c // groups, kh, kw)))
    y = F.conv2d(x, wt, stride=stride, padding=pad, groups=groups)
    assert y.data.transpose(1, 2, 3, 0).flags.c_contiguous
    (gx,) = mg.grad(y, [x], grad_outputs=[_last(rng.normal(size=y.shape))])
    assert gx.data.strides[0] == gx.data.itemsize


def test_fast_conv_hands_over_batch_last_memory():
    rng = np.random.default_rng(1)
    x = mg.Variable(rng.normal(size=(8, 2, 9, 9)).astype(np.float32), requires_grad=True)
    w = mg.Variable(rng.normal(size=(3, 2, 3, 3)).astype(np.float32), requires_grad=True)
    y = F.conv2d(x, w)
    assert y.dtype == np.float32
    assert y.data.transpose(1, 2, 3, 0).flags.c_contiguous
    y2 = F.conv2d(y, mg.Variable(rng.normal(size=(2, 3, 3, 3)).astype(np.float32)))
    (gx,) = mg.grad(y2.sum(), [x])
    assert gx.dtype == np.float32 and gx.data.transpose(1, 2, 3, 0).flags.c_contiguous
    # The same values as on C-contiguous arrays through the general path.
    xc, wc = x.data.astype(np.float64), w.data.astype(np.float64)
    ref = F.conv2d(mg.Variable(xc), mg.Variable(wc), dilation=1, groups=1)
    np.testing.assert_allclose(y.data, ref.data, rtol=1e-5, atol=1e-5)


def test_fast_conv_dx_is_a_fresh_array_each_call():
    rng = np.random.default_rng(2)
    w = mg.Variable(rng.normal(size=(3, 2, 3, 3)))
    dxs = []
    for seed in range(2):
        x = mg.Variable(np.random.default_rng(seed).normal(size=(8, 2, 6, 6)), True)
        (gx,) = mg.grad(F.conv2d(x, w).sum(), [x])
        dxs.append(gx.data)
    assert not np.shares_memory(dxs[0], dxs[1])


# --- max pooling over tiling windows -----------------------------------------------------

# (shape, kernel): whole tiles, cropped borders, a 1-wide stage, a 3x3 window.
POOL_CASES = [
    ((8, 3, 8, 8), 2),
    ((9, 2, 9, 7), 2),
    ((8, 2, 6, 10), (2, 5)),
    ((10, 2, 9, 12), 3),
    ((8, 2, 4, 6), (1, 2)),
]


@pytest.mark.parametrize("ties", [True, False])
@pytest.mark.parametrize("case", POOL_CASES)
def test_fast_max_pool_values_do_not_depend_on_memory_layout(case, ties, layout, monkeypatch):
    shape, k = case
    rng = np.random.default_rng(3)
    x0 = rng.integers(0, 3, size=shape).astype(np.float64) if ties else rng.normal(size=shape)
    y_shape = F.max_pool2d(mg.Variable(x0), k).shape
    gy0, v0 = rng.normal(size=y_shape), rng.normal(size=shape)

    def op(x):
        return F.max_pool2d(x, k)

    fast = _first_and_second(op, x0, [], gy0, v0, layout)
    monkeypatch.setattr(pooling, "FAST", False)
    general = _first_and_second(op, x0, [], gy0, v0, _nchw)
    _compare(fast, general, 0.0)


def test_fast_max_pool_keeps_batch_last_memory():
    x = mg.Variable(_last(np.random.default_rng(4).normal(size=(8, 2, 6, 6))), True)
    y = F.max_pool2d(x, 2)
    assert y.data.transpose(1, 2, 3, 0).flags.c_contiguous
    (gx,) = mg.grad(y, [x], grad_outputs=[np.ones(y.shape)])
    assert gx.data.transpose(1, 2, 3, 0).flags.c_contiguous
    assert gx.data.sum() == y.size  # one 1 per window


# --- fused batch norm ----------------------------------------------------------------------

# (shape, channel offset): means near zero (one-pass sums) and far from it (centred copy).
BN_CASES = [((8, 3, 5, 4), 0.5), ((9, 2, 3, 3), 40.0), ((8, 4, 1, 6), -2.0)]


def _bn_general(x, w, b):
    y = Standardize.apply(x, axes=(0, 2, 3), eps=1e-5)
    return y * w.reshape(1, -1, 1, 1) + b.reshape(1, -1, 1, 1)


def _bn_fused(x, w, b):
    return F.batch_norm(x, None, None, w, b, training=True, eps=1e-5)


@pytest.mark.parametrize("block", [None, 7])
@pytest.mark.parametrize("case", BN_CASES)
def test_fused_batch_norm_values_do_not_depend_on_memory_layout(case, block, layout, monkeypatch):
    if block is not None:  # several scratch blocks (of samples or of channels)
        monkeypatch.setattr(normalization, "_BLOCK", block)
    shape, offset = case
    rng = np.random.default_rng(6)
    x0 = offset + rng.uniform(0.5, 2, size=(1, shape[1], 1, 1)) * rng.normal(size=shape)
    w, b = rng.normal(size=shape[1]), rng.normal(size=shape[1])
    gy0, v0 = rng.normal(size=shape), rng.normal(size=shape)
    fast = _first_and_second(_bn_fused, x0, [w, b], gy0, v0, layout)
    general = _first_and_second(_bn_general, x0, [w, b], gy0, v0, _nchw)
    _compare(fast, general, 1e-9)


def test_fused_batch_norm_keeps_batch_last_memory():
    rng = np.random.default_rng(7)
    x = mg.Variable(_last(rng.normal(size=(8, 3, 4, 4)).astype(np.float32)), True)
    bn = nn.BatchNorm2d(3)
    y = bn(x)
    assert y.dtype == np.float32 and y.data.transpose(1, 2, 3, 0).flags.c_contiguous
    np.testing.assert_allclose(bn.running_mean.data, 0.1 * x.data.mean(axis=(0, 2, 3)), 1e-5)
    (gx,) = mg.grad(y, [x], grad_outputs=[_last(rng.normal(size=x.shape).astype(np.float32))])
    assert gx.dtype == np.float32 and gx.data.transpose(1, 2, 3, 0).flags.c_contiguous


# --- downstream of a batch-last result ---------------------------------------------------


def test_batch_last_activations_downstream():
    rng = np.random.default_rng(5)
    mg.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(144, 3)
    )
    x = rng.normal(size=(8, 2, 14, 14)).astype(np.float32)
    h = model[0](mg.Variable(x))
    assert not h.data.flags.c_contiguous  # batch-last: the case under test
    # reshape / flatten / view copy rather than alias, values as on NCHW memory
    flat = h.reshape(8, -1)
    np.testing.assert_array_equal(flat.data, np.ascontiguousarray(h.data).reshape(8, -1))
    np.testing.assert_array_equal(h.flatten(1).data, flat.data)
    np.testing.assert_array_equal(h.view(8, 4, -1).data, flat.data.reshape(8, 4, -1))
    # in-place ops outside the graph write the array itself
    with mg.no_grad():
        before = h.data.copy()
        F.relu(h, inplace=True)
    np.testing.assert_array_equal(h.data, np.maximum(before, 0))
    # a whole step, against the same model on the general kernels
    out = model(mg.Variable(x))
    loss = F.cross_entropy(out, np.arange(8) % 3)
    loss.backward()
    grads = [p.grad.data.copy() for p in model.parameters()]
    state = {k: v.copy() for k, v in model.state_dict().items()}
    assert all(v.flags.c_contiguous for v in state.values())
    for p in model.parameters():
        p.grad = None
    old = (convolution.FAST, pooling.FAST)
    convolution.FAST = pooling.FAST = False
    try:
        out_general = model(mg.Variable(x))
        F.cross_entropy(out_general, np.arange(8) % 3).backward()
    finally:
        convolution.FAST, pooling.FAST = old
    np.testing.assert_allclose(out.data, out_general.data, rtol=1e-5, atol=1e-6)
    for g, p in zip(grads, model.parameters()):
        np.testing.assert_allclose(g, p.grad.data, rtol=1e-4, atol=1e-6)
