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


# (N, C, H, W, O, kernel, padding, bias): 'same' and wider padding (input gradient by this
# kernel), no padding (by the banded GEMM's scatter), padding past k - 1, uneven kernels
# and paddings, a batch of one, kernel width one.
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


@pytest.mark.parametrize("order", ["nchw", "batch-last"])
def test_rowstack_float32_any_memory_order(order, path):
    """A resnet-small-sized layer: float32 stays float32, within rounding of the general
    path, for NCHW and batch-last input alike."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(16, 16, 12, 12)).astype(np.float32)
    if order == "batch-last":
        x = np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
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
    padding short of 'same' (the input gradient would not be this kernel's) the banded GEMM."""
    ph, pw = (pad, pad) if isinstance(pad, int) else pad
    quad = (ph, ph, pw, pw)
    assert _rowstack.applies(x_shape, w_shape, (1, 1), quad, (1, 1), 1) is rowstack
    assert not _rowstack.applies(x_shape, w_shape, (2, 2), quad, (1, 1), 1)


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


def test_saved_stack_is_not_shared_between_live_graphs(path):
    """Each forward keeps its own ``E``: two live graphs, each differentiated twice."""
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
    """A weight that needs no gradient: the input gradient alone (by this kernel, or by the
    banded GEMM's scatter where the padding is short of 'same') equals the general path's."""
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
