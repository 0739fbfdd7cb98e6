"""The fast kernels of the strided and 1x1 convolutions against the general im2col path.

1x1 kernels are a GEMM on the sampled pixels (``_pointwise``); other strided convolutions
take the phase-split im2col (``_im2col.phase_*``). Each case runs
``conv2d`` (and ``conv_transpose2d``, whose forward is the input gradient) with the fast
paths on and off on the same random data and compares outputs, first derivatives and a
second-order product; gradcheck and gradgradcheck run on the fast paths.
"""

from __future__ import annotations

import numpy as np
import pytest

import maligrad as mg
import maligrad.nn.functional as F
from maligrad.nn.functional import _pointwise, convolution


@pytest.fixture
def general_path(monkeypatch):
    def switch(fast: bool) -> None:
        monkeypatch.setattr(convolution, "FAST", fast)

    return switch


# (N, C, H, W, O, kernel, stride, padding, dilation, groups, bias). 1x1: resnet's stride-2
# skips, odd sizes whose last pixel the stride skips, padding, groups, dilation (no effect),
# stride 1. Others: resnet's stride-2 3x3, unequal strides and dilations, kernels that use
# only some phases (k 3, s 2, d 2) or one phase per tap (k 3, s 3), rows no window reads,
# groups, stride 1 along one axis only, a kernel as wide as the padded input.
CASES = [
    (2, 4, 8, 8, 6, 1, 2, 0, 1, 1, False),
    (3, 3, 7, 9, 5, 1, 2, 0, 1, 1, True),
    (2, 4, 5, 6, 4, 1, (1, 3), (1, 2), 1, 2, True),
    (1, 6, 4, 4, 3, 1, 1, 0, 2, 3, True),
    (2, 2, 6, 5, 3, 1, 1, 0, 1, 1, False),
    (2, 3, 5, 5, 2, 1, 3, 1, 1, 1, True),
    (2, 3, 8, 8, 4, 3, 2, 1, 1, 1, False),
    (2, 2, 9, 7, 3, 3, (2, 3), (1, 0), (1, 2), 1, True),
    (1, 2, 9, 9, 2, 3, 2, 1, 2, 1, True),
    (2, 3, 9, 10, 2, 3, 3, 0, 1, 1, False),
    (1, 2, 8, 7, 3, (2, 3), 2, 0, 1, 1, True),
    (2, 4, 7, 6, 6, 3, 2, 1, 1, 2, True),
    (1, 2, 7, 9, 2, 3, (1, 2), 2, 2, 1, True),
    (2, 2, 5, 4, 3, (3, 6), 2, 1, 1, 1, False),
]


def _kernel(k):
    return (k, k) if isinstance(k, int) else k


def _run(case, seed):
    n, c, h, w, o, k, s, p, d, g, bias = case
    rng = np.random.default_rng(seed)
    x = mg.Variable(rng.normal(size=(n, c, h, w)), requires_grad=True)
    wt = mg.Variable(rng.normal(size=(o, c // g, *_kernel(k))), requires_grad=True)
    b = mg.Variable(rng.normal(size=o), requires_grad=True) if bias else None
    y = F.conv2d(x, wt, b, stride=s, padding=p, dilation=d, groups=g)
    gy = mg.Variable(rng.normal(size=y.shape))
    args = [x, wt] + ([b] if bias else [])
    grads = mg.grad((y * gy).sum(), args, create_graph=True)
    v = mg.Variable(rng.normal(size=x.shape))
    second = mg.grad((grads[0] * v).sum() + (grads[1] * grads[1]).sum(), [x, wt])
    return [y.data] + [gr.data for gr in grads] + [gr.data for gr in second]


@pytest.mark.parametrize("case", CASES)
def test_fast_conv_matches_general_path(case, general_path):
    _, c, _, _, o, k, s, _, _, g, _ = case
    assert _pointwise.applies((o, c // g, *_kernel(k))) or s != 1
    fast = _run(case, 0)
    general_path(False)
    general = _run(case, 0)
    assert len(fast) == len(general)
    for a, b in zip(fast, general):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", CASES[:3] + CASES[6:9])
def test_fast_conv_gradcheck_first_and_second_order(case):
    _, c, h, w, o, k, s, p, d, g, _ = case
    rng = np.random.default_rng(1)
    x = mg.Variable(rng.normal(size=(1, c, h, w)), requires_grad=True)
    wt = mg.Variable(rng.normal(size=(o, c // g, *_kernel(k))), requires_grad=True)
    b = mg.Variable(rng.normal(size=o), requires_grad=True)
    fn = lambda x, w, b: F.conv2d(x, w, b, stride=s, padding=p, dilation=d, groups=g)  # noqa: E731
    assert mg.gradcheck(fn, [x, wt, b])
    assert mg.gradgradcheck(fn, [x, wt, b])


# (kernel, stride, padding, output_padding, dilation, groups)
TRANSPOSED = [
    (1, 1, 0, 0, 1, 1),
    (1, 2, 0, 1, 1, 1),
    (1, 2, 0, 0, 1, 2),
    (1, 3, 0, 2, 1, 1),
    (3, 2, 1, 1, 1, 1),
    (3, 2, 0, 0, 2, 2),
    (2, 3, 1, 2, 1, 1),
]


@pytest.mark.parametrize("k,s,p,op,d,g", TRANSPOSED)
def test_fast_transposed_conv_matches_general_path(k, s, p, op, d, g, general_path):
    rng = np.random.default_rng(2)
    x = mg.Variable(rng.normal(size=(2, 4, 5, 4)), requires_grad=True)
    w = mg.Variable(rng.normal(size=(4, 3, k, k)), requires_grad=True)
    outs = []
    for fast in (True, False):
        general_path(fast)
        y = F.conv_transpose2d(x, w, stride=s, padding=p, output_padding=op, groups=g, dilation=d)
        outs.append([y.data] + [v.data for v in mg.grad((y * y).sum(), [x, w])])
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("k", [1, 3])
def test_fast_float32_within_rounding_of_general_path(k, general_path):
    rng = np.random.default_rng(3)
    x = mg.Variable(rng.normal(size=(4, 16, 8, 8)).astype(np.float32), requires_grad=True)
    w = mg.Variable(rng.normal(size=(32, 16, k, k)).astype(np.float32), requires_grad=True)
    outs = []
    for fast in (True, False):
        general_path(fast)
        y = F.conv2d(x, w, stride=2, padding=k // 2)
        gx, gw = mg.grad((y * y).sum(), [x, w])
        outs.append([y.data, gx.data, gw.data])
    for a, b in zip(*outs):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * np.abs(b).max())
