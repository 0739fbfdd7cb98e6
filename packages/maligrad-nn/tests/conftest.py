"""Test settings that travel with the sdist (no repository configuration needed), and
fixtures that several test files share."""

from typing import Any

import numpy as np
import pytest

import maligrad as mg
import maligrad.nn.functional as F


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: builds wheels or virtual environments")


def _conv_products(case: tuple, seed: int) -> tuple[list[np.ndarray], Any]:
    """``conv2d`` on random float64 data for ``case = (N, C, H, W, O, kernel, padding,
    bias)``: its output, first derivatives (a recorded backward, checked against a plain
    one: the bias gradient then comes out of the weight-gradient GEMM) and a second-order
    product; with the Function's kernel plan (None for the general kernels)."""
    n, c, h, w, o, k, pad, bias = case
    kh, kw = (k, k) if isinstance(k, int) else k
    rng = np.random.default_rng(seed)
    x = mg.Variable(rng.normal(size=(n, c, h, w)), requires_grad=True)
    wt = mg.Variable(rng.normal(size=(o, c, kh, kw)), requires_grad=True)
    b = mg.Variable(rng.normal(size=o), requires_grad=True) if bias else None
    y = F.conv2d(x, wt, b, padding=pad)
    gy = mg.Variable(rng.normal(size=y.shape))
    args = [x, wt] + ([b] if bias else [])
    plain = mg.grad((y * gy).sum(), args, retain_graph=True)
    grads = mg.grad((y * gy).sum(), args, create_graph=True)
    for p, g in zip(plain, grads):
        np.testing.assert_allclose(p.data, g.data, rtol=1e-10, atol=1e-10)
    # A second-order product: d/d(x, w) of <grad_x, v> + |grad_w|^2 for a random v.
    v = mg.Variable(rng.normal(size=x.shape))
    second = mg.grad((grads[0] * v).sum() + (grads[1] * grads[1]).sum(), [x, wt])
    out = [y.data] + [g.data for g in grads] + [g.data for g in second]
    return out, getattr(y.grad_fn, "plan", None)


@pytest.fixture
def conv_products():
    """:func:`_conv_products`: conv2d's output and derivatives for a case and a seed."""
    return _conv_products
