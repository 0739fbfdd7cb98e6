"""The row-stacked conv kernels (``_rowstack``) against the general im2col kernels.

Each case runs ``conv2d`` with the row-stacked kernel forced on and with the fast paths off,
on the same random data, and compares the output, the first derivatives (plain and
recorded) and a second-order product; chunked multiplications, memory orders, float32, the
choice of kernel per shape, and gradcheck / gradgradcheck are covered too.
"""

from __future__ import annotations

import numpy as np
import pytest

import maligrad as mg
import maligrad.nn.functional as F
from maligrad.nn.functional import _rowstack, _streaming, convolution


@pytest.fixture
def path(monkeypatch):
    """``path("rowstack")`` forces the row-stacked kernel; ``path("general")`` the
    general im2col kernels."""

    def switch(which: str) -> None:
        monkeypatch.setattr(_rowstack, "FORCE", True if which == "rowstack" else None)
        monkeypatch.setattr(convolution, "FAST", which != "general")

    return switch


# (N, C, H, W, O, kernel, padding, bias): 'same' and wider padding, no padding, padding past
# k - 1, uneven kernels and paddings, a batch of one, kernel width one.
CASES = [
    (3, 4, 6, 7, 5, 3, 1, True),
    (2, 3, 5, 6, 4, 3, 0, False),
    (1, 2, 6, 5, 3, (2, 3), (1, 2), True),
    (4, 2, 7, 9, 3, (3, 5), "same", False),
    (2, 3, 5, 5, 2, 3, 3, True),
    (2, 2, 6, 6, 3, (3, 1), 1, True),
    (9, 6, 5, 8, 7, 3, 2, False),
]


def _random_cases(count, seed):
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        kh, kw = (int(k) for k in rng.integers(1, 5, size=2))
        pad = (int(rng.integers(0, kh + 1)), int(rng.integers(0, kw + 1)))
        h = int(rng.integers(max(kh - 2 * pad[0], 1), 9))
        w = int(rng.integers(max(kw - 2 * pad[1], 1), 10))
        n = 1 if i % 3 == 0 else int(rng.integers(2, 10))
        c, o = (int(v) for v in rng.integers(1, 9, size=2))
        if (kh, kw) == (1, 1):  # 1x1 kernels take the pointwise kernel
            kw = 2
            w = max(w, 2 - 2 * pad[1])
        cases.append((n, c, h, w, o, (kh, kw), pad, bool(i % 2)))
    return cases


@pytest.mark.parametrize("chunk", [1, 5000, 1 << 30], ids=["row", "rows", "whole"])
@pytest.mark.parametrize("case", CASES + _random_cases(8, 11))
def test_rowstack_matches_general_path(case, chunk, path, monkeypatch, conv_products):
    """Forward, gradients and a second-order product equal the general kernels', with the
    GEMM done a row at a time, several rows (a shorter last chunk) or whole."""
    monkeypatch.setattr(_streaming, "CHUNK_BYTES", chunk)
    path("rowstack")
    fast, plan = conv_products(case, 0)
    assert isinstance(plan, _rowstack.Plan)
    path("general")
    general, _ = conv_products(case, 0)
    for a, b in zip(fast, general):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_shifted_views_of_the_gradient_cover_each_column_once():
    """``G_q`` reads ``gy[o, i, v - q, n]`` where ``0 <= v - q < Wo`` and zero elsewhere."""
    n, o, ho, wo, kw = 2, 3, 4, 5, 3
    pl = _rowstack.plan((n, 1, ho, wo), (o, 1, 1, kw), (0, 0, 1, 1))
    gy = np.arange(1.0, n * o * ho * wo + 1).reshape(n, o, ho, wo)
    g = _rowstack.grad_rows(gy, pl)
    size = pl.ho * pl.row
    for q in range(kw):
        view = g[:, pl.lead - q * n : pl.lead - q * n + size].reshape(o, ho, pl.wp, n)
        ref = np.zeros((o, ho, pl.wp, n))
        ref[:, :, q : q + wo] = gy.transpose(1, 2, 3, 0)
        np.testing.assert_array_equal(view, ref)


def _batch_last(a):
    """``a``'s values in batch-last memory ((C, H, W, N) C-contiguous, an NCHW view)."""
    return np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)


@pytest.mark.parametrize("order", ["nchw", "batch-last"])
def test_rowstack_float32_any_memory_order(order, path):
    """A resnet-small-sized layer: float32 stays float32, within rounding of the general
    path, for NCHW and batch-last input alike."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(16, 16, 12, 12)).astype(np.float32)
    if order == "batch-last":
        x = _batch_last(x)
    w = rng.normal(size=(16, 16, 3, 3)).astype(np.float32)
    b = rng.normal(size=16).astype(np.float32)
    out = []
    for which in ("auto", "general"):
        path(which)
        xv, wv, bv = (mg.Variable(a, requires_grad=True) for a in (x, w, b))
        y = F.conv2d(xv, wv, bv, padding=1)
        if which == "auto":
            assert isinstance(y.grad_fn.plan, _rowstack.Plan)
        y.backward(np.cos(y.data))
        assert y.dtype == np.float32 and xv.grad.data.dtype == np.float32
        out.append([y.data, xv.grad.data, wv.grad.data, bv.grad.data])
    for a, b_ in zip(*out):
        np.testing.assert_allclose(a, b_, rtol=1e-4, atol=1e-4 * np.abs(b_).max())


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "pad", "rowstack"),
    [
        ((64, 16, 32, 32), (16, 16, 3, 3), 1, True),
        ((64, 32, 16, 16), (32, 32, 3, 3), 1, True),
        ((64, 64, 8, 8), (64, 64, 3, 3), 1, False),
        ((64, 3, 32, 32), (16, 3, 3, 3), 1, False),
        ((64, 8, 12, 12), (16, 8, 5, 5), 0, False),
        ((4, 16, 32, 32), (16, 16, 3, 3), 1, False),
        ((64, 64, 1, 128), (64, 64, 1, 5), (0, 2), False),
        ((64, 16, 32, 32), (16, 16, 3, 3), 0, False),
    ],
    ids=[
        "resnet-16", "resnet-32", "resnet-64", "resnet-stem", "lenet-conv2", "batch-4", "1-d",
        "no-padding",
    ],
)  # fmt: skip
def test_kernel_chosen_per_shape(x_shape, w_shape, pad, rowstack):
    """resnet-small's 16- and 32-channel 3x3 layers take the row-stacked kernel; its 64-
    channel layers, its first layer, LeNet's 5x5 layer, small batches, 1-d kernels and
    padding short of 'same' (not measured) the banded GEMM."""
    ph, pw = (pad, pad) if isinstance(pad, int) else pad
    quad = (ph, ph, pw, pw)
    assert _rowstack.applies(x_shape, w_shape, (1, 1), quad, (1, 1), 1) is rowstack
    assert not _rowstack.applies(x_shape, w_shape, (2, 2), quad, (1, 1), 1)


# CASES, 'same' padding of an even kernel (uneven: more at the bottom and right) and more.
GRAD_CASES = CASES + [(3, 3, 5, 6, 2, (2, 4), "same", False)] + _random_cases(10, 12)


@pytest.mark.parametrize("chunk", [1, 5000, 1 << 30], ids=["row", "rows", "whole"])
@pytest.mark.parametrize("order", ["nchw", "batch-last"])
@pytest.mark.parametrize("case", GRAD_CASES)
def test_input_gradient_matches_general_path(case, order, chunk, monkeypatch):
    """``input_grad`` (any padding: short of, at or past 'same', uneven) equals the general
    kernel's transposed convolution, a row of ``dx`` at a time, several rows or whole, for
    ``gy`` in either memory order."""
    monkeypatch.setattr(_streaming, "CHUNK_BYTES", chunk)
    n, c, h, w, o, k, pad, _ = case
    kh, kw = (k, k) if isinstance(k, int) else k
    quad = convolution._padding(pad, (kh, kw), (1, 1), (1, 1))
    ho, wo = convolution._conv_out((n, c, h, w), (kh, kw), (1, 1), quad, (1, 1))
    rng = np.random.default_rng(7)
    wt = rng.normal(size=(o, c, kh, kw))
    gy = rng.normal(size=(n, o, ho, wo))
    if order == "batch-last" and n > 1:
        gy = _batch_last(gy)
    got = _rowstack.input_grad(gy, wt, (n, c, h, w), quad)
    ref = convolution._input_grad(gy, wt, (n, c, h, w), (1, 1), quad, (1, 1), 1)
    assert got.shape == ref.shape == (n, c, h, w)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    ("n", "c", "kw", "order", "takes"),
    [
        (64, 8, 5, "batch-last", True),
        (64, 8, 5, "nchw", False),
        (1, 8, 5, "nchw", True),
        (64, 1, 5, "batch-last", False),
        (64, 2, 3, "batch-last", False),
        (64, 2, 5, "batch-last", True),
    ],
    ids=["lenet-conv2", "nchw", "batch-1", "one-channel", "c-kw-6", "c-kw-10"],
)
def test_input_gradient_chosen_for_banded_layers(n, c, kw, order, takes, path, monkeypatch):
    """The banded GEMM's layers take this kernel's input gradient for a batch-last ``gy``
    (or a batch of one) with ``C kw >= 8``, and the result equals the general path's."""
    path("auto")
    rng = np.random.default_rng(6)
    x = rng.normal(size=(n, c, 8, 9)).astype(np.float32)
    w = rng.normal(size=(4, c, 3, kw)).astype(np.float32)
    gy = rng.normal(size=(n, 4, 6, 9 - kw + 1)).astype(np.float32)
    if order == "batch-last":
        x, gy = _batch_last(x), _batch_last(gy)
    assert _rowstack.takes_input_grad(gy, w.shape) is takes
    calls = []
    spy = _rowstack.input_grad
    monkeypatch.setattr(_rowstack, "input_grad", lambda *a: calls.append(1) or spy(*a))
    xv = mg.Variable(x, requires_grad=True)
    y = F.conv2d(xv, mg.Variable(w, requires_grad=True))
    assert isinstance(y.grad_fn.plan, convolution._toeplitz.Plan)
    y.backward(gy)
    assert len(calls) == int(takes)
    ref = convolution._input_grad(gy, w, x.shape, (1, 1), (0, 0, 0, 0), (1, 1), 1)
    np.testing.assert_allclose(xv.grad.data, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


def test_rowstack_gradcheck_first_and_second_order(path):
    path("rowstack")
    rng = np.random.default_rng(1)
    x = mg.Variable(rng.normal(size=(2, 2, 4, 5)), requires_grad=True)
    w = mg.Variable(rng.normal(size=(3, 2, 3, 2)), requires_grad=True)
    b = mg.Variable(rng.normal(size=3), requires_grad=True)
    fn = lambda x, w, b: F.conv2d(x, w, b, padding=1)  # noqa: E731
    assert isinstance(fn(x, w, b).grad_fn.plan, _rowstack.Plan)
    assert mg.gradcheck(fn, [x, w, b])
    assert mg.gradgradcheck(fn, [x, w, b])


def test_saved_padded_input_is_not_shared_between_live_graphs(path):
    """Each forward keeps its own padded input: two live graphs, each differentiated twice."""
    path("rowstack")
    rng = np.random.default_rng(4)
    w = mg.Variable(rng.normal(size=(2, 1, 3, 3)), requires_grad=True)
    xs = [mg.Variable(rng.normal(size=(1, 1, 6, 6))) for _ in range(2)]
    losses = [(F.conv2d(x, w, padding=1) ** 2).sum() for x in xs]
    grads = [mg.grad(loss, [w], retain_graph=True)[0].data for loss in losses]
    again = [mg.grad(loss, [w])[0].data for loss in losses]
    for x, g, g2 in zip(xs, grads, again):
        y = F.conv2d(x, w, padding=1).data
        cols = np.lib.stride_tricks.sliding_window_view(np.pad(x.data[0, 0], 1), (3, 3))
        ref = np.einsum("oij,ijpq->opq", 2 * y[0], cols)[:, None]
        np.testing.assert_allclose(g, ref, rtol=1e-10)
        np.testing.assert_allclose(g2, ref, rtol=1e-10)


@pytest.mark.parametrize("pad", [0, 1, 2])
def test_frozen_weight_input_gradient(pad, path):
    """A weight that needs no gradient: the input gradient alone equals the general path's."""
    rng = np.random.default_rng(5)
    x, w = rng.normal(size=(3, 4, 6, 7)), rng.normal(size=(5, 4, 3, 3))
    out = []
    for which in ("rowstack", "general"):
        path(which)
        xv = mg.Variable(x, requires_grad=True)
        y = F.conv2d(xv, mg.Variable(w), padding=pad)
        y.backward(np.sin(y.data))
        out.append([y.data, xv.grad.data])
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("pad", [0, 1])
def test_transposed_conv_through_rowstack(pad, path):
    """``conv_transpose2d``'s gradients run ``Conv2d`` forward passes: with this kernel
    forced, output and gradients equal the general path's."""
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(3, 4, 5, 6)), rng.normal(size=(4, 2, 3, 3))
    out = []
    for which in ("rowstack", "general"):
        path(which)
        xv, wv = mg.Variable(x, requires_grad=True), mg.Variable(w, requires_grad=True)
        y = F.conv_transpose2d(xv, wv, padding=pad)
        (y * mg.Variable(np.cos(y.data))).sum().backward()
        out.append([y.data, xv.grad.data, wv.grad.data])
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
