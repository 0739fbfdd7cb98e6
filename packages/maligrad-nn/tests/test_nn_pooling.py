"""Pooling: forward against naive loops, gradients against finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import maligrad as mg
import maligrad.nn.functional as F
from maligrad import nn


def naive_pool2d(x, k, s, p, d=(1, 1), op="max", count_include_pad=True):
    n, c, h, w = x.shape
    fill = -np.inf if op == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=fill)
    real = np.pad(np.ones((h, w)), ((p[0], p[0]), (p[1], p[1])))
    ho = (h + 2 * p[0] - d[0] * (k[0] - 1) - 1) // s[0] + 1
    wo = (w + 2 * p[1] - d[1] * (k[1] - 1) - 1) // s[1] + 1
    y = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            rows = slice(i * s[0], i * s[0] + d[0] * (k[0] - 1) + 1, d[0])
            cols = slice(j * s[1], j * s[1] + d[1] * (k[1] - 1) + 1, d[1])
            win = xp[:, :, rows, cols]
            if op == "max":
                y[:, :, i, j] = win.max(axis=(2, 3))
            else:
                count = k[0] * k[1] if count_include_pad else real[rows, cols].sum()
                y[:, :, i, j] = win.sum(axis=(2, 3)) / count
    return y


# (kernel, stride, padding, dilation)
CASES = [
    ((2, 2), (2, 2), (0, 0), (1, 1)),
    ((3, 3), (2, 2), (1, 1), (1, 1)),
    ((3, 2), (1, 2), (1, 0), (1, 1)),
    ((2, 2), (1, 1), (0, 0), (2, 1)),
    ((3, 3), (3, 3), (0, 0), (1, 1)),
]


@pytest.mark.parametrize("k,s,p,d", CASES)
def test_max_pool2d(k, s, p, d):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 7, 6))
    y = F.max_pool2d(mg.Variable(x), k, s, p, d)
    np.testing.assert_array_equal(y.data, naive_pool2d(x, k, s, p, d, "max"))
    xv = mg.Variable(rng.normal(size=(1, 2, 5, 5)), requires_grad=True)
    assert mg.gradcheck(lambda x: F.max_pool2d(x, k, s, p, d), xv)
    assert mg.gradgradcheck(lambda x: F.max_pool2d(x, k, s, p, d), xv)


@pytest.mark.parametrize("k,s,p,d", [c for c in CASES if c[3] == (1, 1)])
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d(k, s, p, d, count_include_pad):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 7, 6))
    y = F.avg_pool2d(mg.Variable(x), k, s, p, count_include_pad=count_include_pad)
    ref = naive_pool2d(x, k, s, p, op="avg", count_include_pad=count_include_pad)
    np.testing.assert_allclose(y.data, ref, atol=1e-12)
    xv = mg.Variable(rng.normal(size=(1, 2, 5, 5)), requires_grad=True)

    def fn(x):
        return F.avg_pool2d(x, k, s, p, count_include_pad=count_include_pad)

    assert mg.gradcheck(fn, xv)
    assert mg.gradgradcheck(fn, xv)


def test_max_pool_ties_route_gradient_once():
    x = mg.Variable(np.zeros((1, 1, 4, 4), np.float32), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert x.grad.data.sum() == 4 and x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data[0, 0, ::2, ::2], np.ones((2, 2)))


def test_pool1d():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3, 9))
    y = F.max_pool1d(mg.Variable(x), 3, 2, 1)
    ref = naive_pool2d(x[:, :, None], (1, 3), (1, 2), (0, 1))[:, :, 0]
    np.testing.assert_array_equal(y.data, ref)
    y = F.avg_pool1d(mg.Variable(x), 2)
    np.testing.assert_allclose(y.data, x[:, :, :8].reshape(2, 3, 4, 2).mean(-1), atol=1e-12)
    xv = mg.Variable(x[:1], requires_grad=True)
    assert mg.gradcheck(lambda x: F.max_pool1d(x, 3, 2, 1) + F.avg_pool1d(x, 3, 2, 1), xv)
    assert nn.MaxPool1d(2)(mg.Variable(x)).shape == (2, 3, 4)
    assert nn.AvgPool1d(3, stride=1)(mg.Variable(x)).shape == (2, 3, 7)


def _adaptive_reference(x, oh, ow):
    n, c, h, w = x.shape
    y = np.zeros((n, c, oh, ow))
    for i in range(oh):
        h0, h1 = (i * h) // oh, -(-((i + 1) * h) // oh)
        for j in range(ow):
            w0, w1 = (j * w) // ow, -(-((j + 1) * w) // ow)
            y[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    return y


@pytest.mark.parametrize("out", [(1, 1), (2, 3), (3, 2), (5, 4), (None, 2)])
def test_adaptive_avg_pool2d(out):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3, 6, 7))
    y = F.adaptive_avg_pool2d(mg.Variable(x), out)
    oh, ow = 6 if out[0] is None else out[0], out[1]
    np.testing.assert_allclose(y.data, _adaptive_reference(x, oh, ow), atol=1e-12)
    xv = mg.Variable(x[:1, :2], requires_grad=True)
    assert mg.gradcheck(lambda x: F.adaptive_avg_pool2d(x, out), xv)


def test_pool_layers_float32_and_modules():
    rng = np.random.default_rng(4)
    x = mg.Variable(rng.normal(size=(2, 3, 8, 8)).astype(np.float32), requires_grad=True)
    model = nn.Sequential(
        nn.MaxPool2d(3, stride=1, padding=1),
        nn.AvgPool2d(2),
        nn.AdaptiveAvgPool2d(3),
    )
    y = model(x)
    assert y.shape == (2, 3, 3, 3) and y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    assert list(model.parameters()) == []
    assert nn.AdaptiveAvgPool2d((1, 1))(x).shape == (2, 3, 1, 1)


def test_pool_errors():
    x = mg.Variable(np.zeros((2, 3, 8, 8), np.float32))
    with pytest.raises(ValueError, match="4-D input"):
        F.max_pool2d(mg.Variable(np.zeros((8, 8))), 2)
    with pytest.raises(ValueError, match="at most half"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match=r"\(2, 3, 8, 8\)"):
        F.avg_pool2d(x, 9)
    with pytest.raises(ValueError, match="3-D input"):
        F.max_pool1d(x, 2)


def test_ceil_mode_keeps_the_partial_last_window():
    x = mg.Variable(np.arange(9.0).reshape(1, 1, 3, 3), requires_grad=True)
    np.testing.assert_array_equal(F.max_pool2d(x, 2, ceil_mode=True).data[0, 0], [[4, 5], [7, 8]])
    # The border added for the partial window is not counted in the mean (as in PyTorch):
    avg = F.avg_pool2d(x, 2, ceil_mode=True).data[0, 0]
    np.testing.assert_allclose(avg, [[2.0, 3.5], [6.5, 8.0]])
    assert nn.MaxPool2d(2, ceil_mode=True)(x).shape == (1, 1, 2, 2)
    assert F.max_pool1d(mg.Variable(np.arange(5.0).reshape(1, 1, 5)), 2, ceil_mode=True).shape == (
        1,
        1,
        3,
    )
    assert mg.gradcheck(lambda v: F.avg_pool2d(v, 2, ceil_mode=True), x)
    assert mg.gradgradcheck(lambda v: F.max_pool2d(v, 2, ceil_mode=True), x)
