"""``adaptive_avg_pool2d(x, 1)`` (a mean over H, W) against ``avg_pool2d`` over the image."""

from __future__ import annotations

import numpy as np
import pytest

import maligrad as mg
import maligrad.nn.functional as F


@pytest.mark.parametrize("shape,dtype", [((2, 3, 4, 5), np.float64), ((4, 8, 7, 7), np.float32)])
def test_global_average_pool_matches_window_pooling(shape, dtype):
    rng = np.random.default_rng(0)
    x = mg.Variable(rng.normal(size=shape).astype(dtype), requires_grad=True)
    gy = mg.Variable(rng.normal(size=shape[:2] + (1, 1)).astype(dtype))
    outs = []
    for fn in (lambda v: F.adaptive_avg_pool2d(v, 1), lambda v: F.avg_pool2d(v, shape[2:])):
        y = fn(x)
        (gx,) = mg.grad((y * gy).sum(), [x])
        outs.append((y.data, gx.data))
    tol = 1e-6 if dtype == np.float32 else 1e-12
    for a, b in zip(*outs):
        assert a.dtype == dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_global_average_pool_second_order():
    x = mg.Variable(np.random.default_rng(1).normal(size=(1, 2, 3, 3)), requires_grad=True)
    assert mg.gradgradcheck(lambda v: F.adaptive_avg_pool2d(v, (1, 1)) ** 2, [x])


@pytest.mark.parametrize("last", [False, True])
def test_global_average_pool_gradient_keeps_the_inputs_memory_order(last):
    """The gradient is ``gy / (H W)`` everywhere, in ``x``'s memory order (batch-last
    ``(C, H, W, N)`` memory as the convolutions hand it over, or NCHW)."""
    rng = np.random.default_rng(2)
    data = rng.normal(size=(6, 5, 4, 3)).astype(np.float32)
    if last:
        data = np.ascontiguousarray(data.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    x = mg.Variable(data, requires_grad=True)
    gy = rng.normal(size=(6, 5, 1, 1)).astype(np.float32)
    y = F.adaptive_avg_pool2d(x, 1)
    np.testing.assert_allclose(y.data, data.mean(axis=(2, 3), keepdims=True), rtol=1e-6)
    y.backward(mg.Variable(gy))
    want = np.broadcast_to(gy / np.float32(12), data.shape)
    np.testing.assert_array_equal(x.grad.data, want)
    assert x.grad.data.dtype == np.float32 and x.grad.data.strides == data.strides


def test_global_average_pool_second_order_batch_last():
    data = np.random.default_rng(3).normal(size=(3, 2, 3, 2))
    data = np.ascontiguousarray(data.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    x = mg.Variable(data, requires_grad=True)
    assert mg.gradcheck(lambda v: F.adaptive_avg_pool2d(v, 1) ** 3, [x])
    assert mg.gradgradcheck(lambda v: F.adaptive_avg_pool2d(v, 1) ** 3, [x])


def test_global_average_pool_of_integers_gives_the_default_float():
    x = mg.Variable(np.arange(24).reshape(1, 2, 3, 4))
    y = F.adaptive_avg_pool2d(x, 1)
    np.testing.assert_allclose(y.data.ravel(), [5.5, 17.5])
    assert y.dtype == mg.get_default_dtype()


def test_global_average_pool_float16_gradient_past_65504_pixels():
    x = mg.Variable(np.ones((1, 1, 256, 256), np.float16), requires_grad=True)
    F.adaptive_avg_pool2d(x, 1).sum().backward()
    assert x.grad.dtype == np.float16
    np.testing.assert_allclose(x.grad.data, np.float16(1 / 65536), rtol=1e-3)
