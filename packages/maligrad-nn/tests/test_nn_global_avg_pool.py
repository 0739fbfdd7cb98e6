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
