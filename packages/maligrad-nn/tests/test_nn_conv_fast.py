"""The banded-GEMM (row-Toeplitz) conv kernels against the general im2col kernels.

Each case runs ``conv2d`` (and ``conv_transpose2d``, whose stride-1 form uses the fast input
gradient) with the fast path on and off on the same random data and compares outputs, first
derivatives and a second-order product, in both GEMM layouts of the fast path (batch-innermost
and rows); gradcheck and gradgradcheck run on the fast path.
"""

from __future__ import annotations

import numpy as np
import pytest

import maligrad as mg
import maligrad.nn.functional as F
from maligrad.nn.functional import _streaming, _toeplitz, convolution


@pytest.fixture
def general_path(monkeypatch):
    def switch(fast: bool) -> None:
        monkeypatch.setattr(convolution, "FAST", fast)

    return switch


@pytest.fixture(params=[None, True, False], ids=["auto", "batch-inner", "rows"])
def layout(request, monkeypatch):
    """The fast kernels' layout: chosen per shape, or forced to one of the two."""
    monkeypatch.setattr(_toeplitz, "FORCE_INNER", request.param)
    return request.param


# (N, C, H, W, O, kernel, padding, bias): widths that do and do not fill whole blocks,
# short patches (blocks of 4), mid-length ones of a 5-wide kernel at batch 32 (blocks of
# 2) and long ones (blocks of 1), 'same' with an even kernel.
CASES = [
    (2, 1, 9, 11, 3, 5, 0, True),
    (3, 2, 7, 8, 4, 3, 1, True),
    (1, 3, 6, 13, 2, (2, 4), (1, 2), False),
    (2, 30, 6, 6, 5, 3, 1, True),
    (32, 12, 6, 9, 3, 5, 1, True),
    (1, 1, 5, 5, 1, 1, 0, True),
    (2, 3, 8, 8, 2, 3, "same", False),
    (2, 2, 5, 6, 3, (4, 2), "same", True),
    (2, 4, 4, 4, 3, 4, 0, True),
]


def _random_cases(count, seed):
    """Random shapes for the fast path: kernel up to 5, padding, batch 1 included."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        kh, kw = (int(k) for k in rng.integers(1, 6, size=2))
        pad = (int(rng.integers(0, kh)), int(rng.integers(0, kw)))
        h = int(rng.integers(max(kh - 2 * pad[0], 1), 10))
        w = int(rng.integers(max(kw - 2 * pad[1], 1), 12))
        n = 1 if i % 3 == 0 else int(rng.integers(2, 12))
        c, o = (int(v) for v in rng.integers(1, 14, size=2))
        cases.append((n, c, h, w, o, (kh, kw), pad, bool(i % 2)))
    return cases


def _case_plans():
    """The banded GEMM's plan of each case with numeric padding ('same' left out)."""
    plans = []
    for n, c, h, w, o, k, pad, _ in CASES:
        if pad == "same":
            continue
        kh, kw = (k, k) if isinstance(k, int) else k
        ph, pw = (pad, pad) if isinstance(pad, int) else pad
        plans.append(_toeplitz.plan((n, c, h, w), (o, c, kh, kw), (ph, ph, pw, pw)))
    return plans


def test_cases_cover_every_block_width():
    """The comparisons below run blocks of 4, 2 and 1 output pixels (and partial blocks)
    with kernels wider than 1."""
    blocks = set()
    for pl in _case_plans():
        if pl.kw == 1:
            continue
        blocks.add(pl.block)
        if pl.nb * pl.block > pl.wo:
            blocks.add("partial")
    assert blocks == {1, 2, 4, "partial"}


def test_cases_cover_both_weight_gradient_products():
    """The comparisons below run weight gradients of short patches (``(G^T P)^T``) and of
    long ones (``P^T G``)."""
    assert {pl.k + 1 <= _toeplitz.SHORT_PATCH for pl in _case_plans()} == {True, False}


@pytest.mark.parametrize("case", CASES + _random_cases(10, 5))
def test_fast_conv_matches_general_path(case, general_path, layout, conv_products):
    assert _toeplitz.applies((1, 1), (1, 1), 1)
    fast, _ = conv_products(case, 0)
    general_path(False)
    general, _ = conv_products(case, 0)
    assert len(fast) == len(general)
    for a, b in zip(fast, general):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("chunk", [1, 3000, 1 << 30], ids=["row", "rows", "whole"])
@pytest.mark.parametrize("case", CASES + _random_cases(6, 7))
def test_streamed_input_gradient_matches_general_path(
    case, chunk, general_path, monkeypatch, conv_products
):
    """With every input gradient that is a convolution streamed (patches made a chunk of
    output rows at a time: chunks of one row, of several rows with a shorter last chunk,
    and of the whole output), the output, gradients and second-order product are the
    general kernels'."""
    monkeypatch.setattr(_streaming, "FORCE_STREAM", True)
    monkeypatch.setattr(_streaming, "CHUNK_BYTES", chunk)
    n, c, h, w, o, k, pad, _ = case
    kh, kw = (k, k) if isinstance(k, int) else k
    if pad != "same":
        ph, pw = (pad, pad) if isinstance(pad, int) else pad
        pl = _toeplitz.plan((n, c, h, w), (o, c, kh, kw), (ph, ph, pw, pw), stream=True)
        assert pl.stream == pl.inner and pl.block == (1 if pl.stream else pl.block)
        assert not _toeplitz.plan((n, c, h, w), (o, c, kh, kw), (ph, ph, pw, pw)).stream
    fast, _ = conv_products(case, 0)
    general_path(False)
    general, _ = conv_products(case, 0)
    for a, b in zip(fast, general):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_streamed_chunks_cover_every_output_row_once(monkeypatch):
    """Chunks of 3 rows over 8: the last one shorter, each row in exactly one chunk, and
    each chunk's columns equal to the whole patch matrix's."""
    x = np.random.default_rng(0).normal(size=(4, 2, 8, 5))
    planned = _toeplitz.plan(x.shape, (3, 2, 3, 3), (1, 1, 1, 1))
    one = _toeplitz.Plan(**{**planned.__dict__, "block": 1, "nb": planned.wo, "inner": True})
    stream = _toeplitz.Plan(**{**one.__dict__, "stream": True})
    pt = _toeplitz.patches(x, one)  # the whole P^T, blocks of one pixel
    xc = _toeplitz.padded(x, stream, True)
    width = stream.wo * stream.n
    monkeypatch.setattr(_streaming, "CHUNK_BYTES", 3 * (stream.k + 1) * width * x.itemsize)
    seen = []
    for i, j, chunk in _toeplitz._stream(xc, stream):
        seen += list(range(i, j))
        np.testing.assert_array_equal(chunk, pt[:, i * width : j * width])
    assert seen == list(range(8))


@pytest.mark.parametrize("case", CASES[:3])
def test_fast_conv_gradcheck_first_and_second_order(case, layout):
    _, c, h, w, o, k, pad, _ = case
    kh, kw = (k, k) if isinstance(k, int) else k
    rng = np.random.default_rng(1)
    x = mg.Variable(rng.normal(size=(1, c, min(h, 6), min(w, 7))), requires_grad=True)
    wt = mg.Variable(rng.normal(size=(o, c, kh, kw)), requires_grad=True)
    b = mg.Variable(rng.normal(size=o), requires_grad=True)
    fn = lambda x, w, b: F.conv2d(x, w, b, padding=pad)  # noqa: E731
    assert mg.gradcheck(fn, [x, wt, b])
    assert mg.gradgradcheck(fn, [x, wt, b])


@pytest.mark.parametrize("unbatched", [False, True])
def test_fast_conv1d_and_unbatched_input_match_general_path(unbatched, general_path, layout):
    rng = np.random.default_rng(6)
    x = rng.normal(size=(3, 10) if unbatched else (9, 3, 10))
    w, b = rng.normal(size=(4, 3, 3)), rng.normal(size=4)
    out = []
    for fast in (True, False):
        general_path(fast)
        xv, wv, bv = (mg.Variable(a, requires_grad=True) for a in (x, w, b))
        y = F.conv1d(xv, wv, bv, padding=2)
        y.backward(np.sin(y.data))
        out.append([y.data, xv.grad.data, wv.grad.data, bv.grad.data])
    assert out[0][0].shape == ((4, 12) if unbatched else (9, 4, 12))
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_fast_conv_float32_within_rounding_of_general_path(general_path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(8, 8, 12, 12)).astype(np.float32)
    w = rng.normal(size=(16, 8, 5, 5)).astype(np.float32)
    b = rng.normal(size=16).astype(np.float32)
    out = []
    for fast in (True, False):
        general_path(fast)
        xv, wv, bv = (mg.Variable(a, requires_grad=True) for a in (x, w, b))
        y = F.conv2d(xv, wv, bv)
        y.backward(np.ones_like(y.data))
        assert y.dtype == np.float32 and xv.grad.data.dtype == np.float32
        out.append([y.data, xv.grad.data, wv.grad.data, bv.grad.data])
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * np.abs(b).max())


@pytest.mark.parametrize(
    "case",
    [(9, 3, 8, 8, 16, 3, 1), (2, 1, 9, 11, 16, 5, 0), (3, 2, 6, 7, 8, 3, 1)],
    ids=["stem", "lenet-conv1", "few-outputs"],
)
def test_first_layer_weight_gradients_match_general_path(case, general_path):
    """An input that needs no gradient (a first layer) may take its own layout (blocks of 1
    from 16 output channels): weight and bias gradients, plain and recorded, and their
    gradient in ``gy`` match the general path."""
    n, c, h, w, o, k, pad = case
    rng = np.random.default_rng(7)
    x = rng.normal(size=(n, c, h, w))
    wt, b = rng.normal(size=(o, c, k, k)), rng.normal(size=o)
    out, blocks = [], []
    for fast in (True, False):
        general_path(fast)
        xv = mg.Variable(x)
        wv, bv = mg.Variable(wt, requires_grad=True), mg.Variable(b, requires_grad=True)
        y = F.conv2d(xv, wv, bv, padding=pad)
        if fast:
            blocks.append(y.grad_fn.plan.block)
        gy = mg.Variable(np.random.default_rng(8).normal(size=y.shape), requires_grad=True)
        plain = mg.grad((y * gy).sum(), [wv, bv], retain_graph=True)
        gw, gb = mg.grad((y * gy).sum(), [wv, bv], create_graph=True)
        second = mg.grad((gw * gw).sum() + (gb * gb).sum(), [gy])[0]
        out.append([y.data, plain[0].data, plain[1].data, gw.data, gb.data, second.data])
    assert blocks == [1 if o >= 16 else min(4, w + 2 * pad - k + 1)]
    for a, b_ in zip(*out):
        np.testing.assert_allclose(a, b_, rtol=1e-10, atol=1e-10)


def test_weight_only_layout_still_gives_input_gradients(general_path):
    """``gy`` in the GEMM layout travels with the plan it was made with: a ``Conv2d`` told
    ``weight_only`` whose input does need a gradient still gets it right."""
    rng = np.random.default_rng(9)
    x, wt = rng.normal(size=(9, 1, 9, 9)), rng.normal(size=(16, 1, 5, 5))
    out = []
    for fast in (True, False):
        general_path(fast)
        xv, wv = mg.Variable(x, requires_grad=True), mg.Variable(wt, requires_grad=True)
        y = convolution.Conv2d.apply(
            xv, wv, None, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1,
            weight_only=True,
        )  # fmt: skip
        y.backward(mg.Variable(np.cos(y.data)))
        out.append([y.data, xv.grad.data, wv.grad.data])
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("pad", [0, 1])
def test_stride1_transposed_conv_matches_general_path(pad, general_path, layout):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3, 5, 6))
    w = rng.normal(size=(3, 2, 3, 3))
    out = []
    for fast in (True, False):
        general_path(fast)
        xv, wv = mg.Variable(x, requires_grad=True), mg.Variable(w, requires_grad=True)
        y = F.conv_transpose2d(xv, wv, padding=pad)
        y.backward(np.cos(y.data))
        out.append([y.data, xv.grad.data, wv.grad.data])
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_graph_kept_alive_and_retained_backward_stay_correct(layout):
    """Patches saved by one step are not reused by another: two live graphs, twice each."""
    rng = np.random.default_rng(4)
    w = mg.Variable(rng.normal(size=(2, 1, 3, 3)), requires_grad=True)
    xs = [mg.Variable(rng.normal(size=(1, 1, 6, 6))) for _ in range(2)]
    losses = [(F.conv2d(x, w) ** 2).sum() for x in xs]
    grads = [mg.grad(loss, [w], retain_graph=True)[0].data for loss in losses]
    again = [mg.grad(loss, [w])[0].data for loss in losses]
    for x, g, g2 in zip(xs, grads, again):
        y = F.conv2d(x, w).data
        cols = np.lib.stride_tricks.sliding_window_view(x.data[0, 0], (3, 3))
        ref = np.einsum("oij,ijpq->opq", 2 * y[0], cols)[:, None]
        np.testing.assert_allclose(g, ref, rtol=1e-10)
        np.testing.assert_allclose(g2, ref, rtol=1e-10)
