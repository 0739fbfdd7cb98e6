"""The fused batch-norm Functions against the general path they replace.

``F.batch_norm`` in training runs one ``BatchNorm`` Function (statistics, normalisation and
affine) whose gradient is ``BatchNormGrad`` and ``BatchNormParamGrad``. The general path is
``Standardize`` followed by a multiplication and an addition, each its own op. Both run on
the same random data (channel means far from zero included, where a one-pass variance
would cancel digits); outputs, first derivatives and a second-order product must agree,
and gradcheck / gradgradcheck run on the fused path.
"""

from __future__ import annotations

import numpy as np
import pytest

import maligrad as mg
import maligrad.nn.functional as F
from maligrad import nn
from maligrad.nn.functional.normalization import Standardize

# (input shape, weight, bias, channel offset): BatchNorm1d's (N, C) and (N, C, L), 2-d
# images, affine or not, means near zero and far from it.
CASES = [
    ((6, 3), True, True, 0.0),
    ((5, 2, 3), True, False, 4.0),
    ((3, 4, 2, 5), False, True, -3.0),
    ((2, 3, 4, 4), False, False, 0.5),
    ((4, 5, 3, 2), True, True, 40.0),
]


def _general(x, w, b, eps=1e-5):
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    y = Standardize.apply(x, axes=(0, *range(2, x.ndim)), eps=eps)
    if w is not None:
        y = y * w.reshape(shape)
    if b is not None:
        y = y + b.reshape(shape)
    return y


def _fused(x, w, b, eps=1e-5):
    return F.batch_norm(x, None, None, w, b, training=True, eps=eps)


def _inputs(case, seed, dtype=np.float64):
    shape, weight, bias, offset = case
    rng = np.random.default_rng(seed)
    c = shape[1]
    spread = rng.uniform(0.5, 2.0, size=(1, c) + (1,) * (len(shape) - 2))
    data = offset + spread * rng.normal(size=shape)
    x = mg.Variable(data.astype(dtype), requires_grad=True)
    w = mg.Variable(rng.normal(size=c).astype(dtype), requires_grad=True) if weight else None
    b = mg.Variable(rng.normal(size=c).astype(dtype), requires_grad=True) if bias else None
    return x, w, b, rng


def _run(fn, case, seed):
    x, w, b, rng = _inputs(case, seed)
    y = fn(x, w, b)
    gy = mg.Variable(rng.normal(size=y.shape), requires_grad=True)
    args = [a for a in (x, w, b) if a is not None]
    grads = mg.grad((y * gy).sum(), args, create_graph=True)
    # Second order: d/d(x, w, b, gy) of <grad, v> summed over the first-order gradients.
    total = sum((g * mg.Variable(rng.normal(size=g.shape))).sum() for g in grads)
    second = mg.grad(total, args + [gy], allow_unused=True)  # nothing depends on b twice
    second = [np.zeros(a.shape) if g is None else g.data for a, g in zip(args + [gy], second)]
    return [y.data] + [g.data for g in grads] + second


@pytest.mark.parametrize("case", CASES)
def test_fused_batch_norm_matches_general_path(case):
    fused = _run(_fused, case, 0)
    general = _run(_general, case, 0)
    assert len(fused) == len(general)
    for a, b in zip(fused, general):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("case", CASES)
def test_fused_batch_norm_gradcheck_first_and_second_order(case):
    x, w, b, _ = _inputs(case, 1)
    args = [a for a in (x, w, b) if a is not None]

    def fn(*a):
        it = iter(a)
        return _fused(
            next(it), next(it) if w is not None else None, next(it) if b is not None else None
        )

    assert mg.gradcheck(fn, args)
    assert mg.gradgradcheck(fn, args)


@pytest.mark.parametrize("offset", [0.0, 1.5, 3.0, 1000.0])
def test_fused_batch_norm_float32_within_rounding(offset):
    """In float32 the fused path is as close to a float64 reference as the general path."""
    case = ((16, 4, 8, 8), True, True, offset)
    x, w, b, rng = _inputs(case, 2, np.float32)
    gy = rng.normal(size=x.shape).astype(np.float32)

    def run(fn, dtype):
        args = [mg.Variable(a.data.astype(dtype), requires_grad=True) for a in (x, w, b)]
        y = fn(*args)
        return [y.data] + [g.data for g in mg.grad((y * gy.astype(dtype)).sum(), args)]

    fused, general, exact = (
        run(_fused, np.float32),
        run(_general, np.float32),
        run(_general, np.float64),
    )
    for got, near, want in zip(fused, general, exact):
        assert got.dtype == np.float32
        scale = np.abs(want).max()
        assert np.abs(got - want).max() <= 2 * np.abs(near - want).max() + 1e-6 * scale


def test_running_stats_same_with_and_without_a_graph():
    x, w, b, _ = _inputs(((8, 3, 4, 4), True, True, 2.0), 3)
    stats = []
    for record in (True, False):
        rm, rv = mg.Variable(np.zeros(3)), mg.Variable(np.ones(3))
        if record:
            y = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.3)
            assert y.grad_fn is not None
        else:
            with mg.no_grad():
                y = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.3)
        stats.append((y.data, rm.data.copy(), rv.data.copy()))
    data = x.data
    mean, var = data.mean(axis=(0, 2, 3)), data.var(axis=(0, 2, 3))
    for y, rm, rv in stats:
        np.testing.assert_allclose(rm, 0.3 * mean, rtol=1e-12)
        np.testing.assert_allclose(rv, 0.7 + 0.3 * var * 128 / 127, rtol=1e-12)
        np.testing.assert_allclose(y, stats[0][0], rtol=0, atol=0)


def test_weight_of_another_size_is_refused():
    x = mg.Variable(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"batch_norm: weight has shape \(2,\), expected \(3,\)"):
        F.batch_norm(x, None, None, mg.Variable(np.ones(2)), None, training=True)


def test_float32_stays_float32_past_65535_values_per_channel():
    # numpy 1.26 promoted float32 / int to float64 once the int needed 32 bits.
    x = mg.Variable(np.random.default_rng(0).standard_normal((64, 2, 32, 32), np.float32))
    x.requires_grad_()
    bn = nn.BatchNorm2d(2)
    y = bn(x)
    (y * y).sum().backward()
    dtypes = {y.dtype, x.grad.dtype, bn.weight.grad.dtype, bn.bias.grad.dtype}
    assert dtypes == {np.dtype(np.float32)}
    assert bn.running_mean.dtype == bn.running_var.dtype == np.float32


@pytest.mark.parametrize("length", [5, 1 << 16, (1 << 17) + 77, 3 << 16])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_channel_sums_of_contiguous_runs(length, dtype):
    """A ``(1, C, L)`` frame is summed per channel by products with a vector of ones (rows
    longer than that vector in pieces): the float64 sums, within float32 rounding."""
    from maligrad.nn.functional import normalization as N

    a = (np.random.default_rng(4).standard_normal((1, 3, length)) + 3).astype(dtype)
    got = N._channel_sum(a)
    want = a.astype(np.float64).sum(axis=(0, 2))
    assert got.dtype == dtype and got.shape == (3,)
    np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == np.float32 else 1e-13)
    two = np.concatenate([a, a])  # an (N, C, L) frame: the einsum
    rtol = 1e-5 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(N._channel_sum(two), 2 * want, rtol=rtol)


def test_batch_last_frames_past_the_ones_vector_match_nchw():
    """Batch-last input whose channels run longer than ``_channel_sum``'s vector of ones
    (72 x 32 x 32 = 65536 + 8192 values each) gives NCHW input's output and gradients."""
    rng = np.random.default_rng(5)
    data = (rng.standard_normal((72, 2, 32, 32)) * 2 + 1).astype(np.float32)
    gy = rng.standard_normal(data.shape).astype(np.float32)
    outs = []
    for arr in (data, np.ascontiguousarray(data.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)):
        x = mg.Variable(arr, requires_grad=True)
        bn = nn.BatchNorm2d(2)
        y = bn(x)
        y.backward(mg.Variable(gy))
        outs.append([y.data, x.grad.data, bn.weight.grad.data, bn.bias.grad.data])
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * np.abs(b).max())
