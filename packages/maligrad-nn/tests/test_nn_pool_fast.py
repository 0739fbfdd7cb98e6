"""The tiled max-pooling kernels (stride == kernel) against the general max-pool kernels.

Each case runs ``max_pool2d`` with the fast path on and off on the same random data (with
many ties: values drawn from a few integers, as after a ReLU) and compares the output, the
input gradient and a second-order product; gradcheck and gradgradcheck run on the fast path.
"""

from __future__ import annotations

import numpy as np
import pytest

import maligrad as mg
import maligrad.nn.functional as F
from maligrad.nn.functional import _maxpool_tiles, pooling


@pytest.fixture
def general_path(monkeypatch):
    def switch(fast: bool) -> None:
        monkeypatch.setattr(pooling, "FAST", fast)

    return switch


# (shape, kernel, dtype): whole tiles, cropped borders, 1x1, non-square kernels, unbatched.
CASES = [
    ((2, 3, 8, 8), 2, np.float64),
    ((3, 2, 9, 7), 2, np.float64),
    ((1, 2, 9, 12), 3, np.float64),
    ((2, 1, 6, 10), (2, 5), np.float32),
    ((2, 2, 4, 5), 1, np.float32),
    ((4, 11, 13), (3, 2), np.float64),
    ((64, 8, 24, 24), 2, np.float32),
]


def _run(case, seed, ties):
    shape, k, dtype = case
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 3, size=shape) if ties else rng.normal(size=shape)
    x = mg.Variable(data.astype(dtype), requires_grad=True)
    y = F.max_pool2d(x, k)
    gy = mg.Variable(rng.normal(size=y.shape).astype(dtype), requires_grad=True)
    (gx,) = mg.grad((y * gy).sum(), [x], create_graph=True)
    v = mg.Variable(rng.normal(size=x.shape).astype(dtype))
    (ggy,) = mg.grad((gx * v).sum(), [gy])
    return [y.data, gx.data, ggy.data]


@pytest.mark.parametrize("ties", [True, False])
@pytest.mark.parametrize("case", CASES)
def test_fast_max_pool_matches_general_path(case, ties, general_path):
    _, k, _ = case
    kk = (k, k) if isinstance(k, int) else k
    assert _maxpool_tiles.applies((kk, kk, (0, 0, 0, 0), (1, 1), (1, 1)))
    fast = _run(case, 0, ties)
    general_path(False)
    general = _run(case, 0, ties)
    for a, b in zip(fast, general):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_fast_max_pool_ties_route_to_the_first_maximum():
    x = mg.Variable(np.array([[[[1.0, 3.0], [3.0, 3.0]]]]), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [[[[0.0, 1.0], [0.0, 0.0]]]])


def test_fast_max_pool_nan_window_routes_to_its_first_nan():
    x = mg.Variable(np.array([[[[1.0, 2.0], [np.nan, np.nan]]]]), requires_grad=True)
    y = F.max_pool2d(x, 2)
    assert np.isnan(y.data).all()
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [[[[0.0, 0.0], [1.0, 0.0]]]])


@pytest.mark.parametrize("fast", [True, False], ids=["tiled", "general"])
@pytest.mark.parametrize("where", [(0, 2), (2, 0), (2, 2), (1, 2)])
def test_max_pool_nan_at_any_offset_of_a_3x3_window(where, fast, general_path):
    """A NaN past the first two offsets of a window is found too, by the tiled and the
    general kernels: the window's output is NaN and its gradient goes to the NaN."""
    general_path(fast)
    data = np.arange(36.0).reshape(1, 1, 6, 6)
    data[0, 0, where[0], where[1]] = np.nan
    data[0, 0, 5, 5] = np.nan  # a second NaN window, at its last offset
    x = mg.Variable(data, requires_grad=True)
    y = F.max_pool2d(x, 3)
    y.sum().backward()
    want = np.zeros_like(data)
    for i, j in [where, (2, 5), (5, 2), (5, 5)]:  # the NaNs, and the maxima 17 and 32
        want[0, 0, i, j] = 1.0
    assert np.isnan(y.data[0, 0, 0, 0]) and np.isnan(y.data[0, 0, 1, 1])
    assert not np.isnan(y.data[0, 0, 0, 1]) and not np.isnan(y.data[0, 0, 1, 0])
    np.testing.assert_array_equal(x.grad.data, want)


def test_general_max_pool_overlapping_nan_windows_take_their_first_nan(general_path):
    general_path(False)
    data = np.array([[[[1.0, np.nan, 5.0, np.nan], [0.0, 2.0, 3.0, 4.0]]]])
    x = mg.Variable(data, requires_grad=True)
    y = F.max_pool2d(x, 2, stride=1)  # overlapping windows: not the tiled kernels
    assert np.isnan(y.data).all()
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[[[0.0, 2.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]]]])


def test_fast_max_pool_applies_only_to_tiling_windows():
    assert not _maxpool_tiles.applies(((2, 2), (1, 1), (0, 0, 0, 0), (1, 1), (3, 3)))
    assert not _maxpool_tiles.applies(((2, 2), (2, 2), (1, 1, 1, 1), (1, 1), (3, 3)))
    assert not _maxpool_tiles.applies(((2, 2), (2, 2), (0, 0, 0, 0), (2, 2), (3, 3)))


@pytest.mark.parametrize("shape, k", [((1, 2, 4, 6), 2), ((2, 1, 7, 5), (3, 2))])
def test_fast_max_pool_gradcheck_first_and_second_order(shape, k):
    rng = np.random.default_rng(1)
    x = mg.Variable(rng.normal(size=shape), requires_grad=True)
    fn = lambda x: F.max_pool2d(x, k)  # noqa: E731
    assert mg.gradcheck(fn, [x])
    assert mg.gradgradcheck(fn, [x])


def test_fast_max_pool_non_finite_gradient_stays_at_the_maximum():
    x = mg.Variable(np.array([[[[1.0, 3.0], [2.0, 0.0]]]]), requires_grad=True)
    y = F.max_pool2d(x, 2)
    (gx,) = mg.grad(y, [x], grad_outputs=[np.array([[[[np.inf]]]])])
    np.testing.assert_array_equal(gx.data, [[[[0.0, np.inf], [0.0, 0.0]]]])


def test_fast_max_pool_1x1_output_is_not_a_view_of_the_input():
    data = np.arange(4.0).reshape(1, 1, 2, 2)
    y = F.max_pool2d(mg.Variable(data), 1)
    y.data[...] = -1
    np.testing.assert_array_equal(data, np.arange(4.0).reshape(1, 1, 2, 2))


def _nan_check_layouts(dtype: type) -> list[np.ndarray]:
    a = np.arange(2 * 3 * 4 * 5, dtype=dtype).reshape(2, 3, 4, 5) - 50
    return [
        a,
        np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2),  # batch-last
        a[:, :, ::2],  # gaps: the sum
    ]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.complex64])
def test_nan_and_finite_checks_of_the_tiled_kernels(dtype):
    """``has_nan`` (a sum of squares by BLAS, else a sum) finds one NaN anywhere, also beside
    infinities of both signs, and raises no alarm for them; ``all_finite`` finds an inf or a
    NaN. Every memory order gives the same answer."""
    for a in _nan_check_layouts(dtype):
        assert not _maxpool_tiles.has_nan(a) and _maxpool_tiles.all_finite(a)
        for index in [(0, 0, 0, 0), (1, 2, 1, 2), (1, 2, a.shape[2] - 1, 4)]:
            b = a.copy(order="K") if a.base is None else a.copy()
            b[index] = np.inf
            assert _maxpool_tiles.all_finite(b) is False
            if dtype in (np.float32, np.float64) and b.flags.c_contiguous:
                assert not _maxpool_tiles.has_nan(b)  # the sum of squares: no false alarm
            c = b.copy()
            c[0, 0, 0, 1] = -np.inf
            c[index] = np.nan
            assert _maxpool_tiles.has_nan(c) and not _maxpool_tiles.all_finite(c)
    assert not _maxpool_tiles.has_nan(np.arange(6))  # integers hold no NaN
