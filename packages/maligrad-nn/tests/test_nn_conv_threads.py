"""``nn.set_num_threads``: the conv kernels give the same results on 1 and on 2 threads."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

import maligrad as mg
import maligrad.nn.functional as F
from maligrad import nn
from maligrad.nn.functional import _threads, _toeplitz, _workspace


@pytest.fixture
def threads(monkeypatch):
    """Split every kernel (no minimum piece size) and restore the thread counts afterwards
    (nn's and OpenBLAS's)."""
    before = nn.get_num_threads()
    openblas = _threads._openblas()
    blas_before = openblas[0]() if openblas is not None else None
    monkeypatch.setattr(_threads, "MIN_WORK", 1)
    yield nn.set_num_threads
    nn.set_num_threads(before)
    if openblas is not None:
        openblas[1](blas_before)


def test_default_is_omp_num_threads_or_the_cores_available(monkeypatch):
    if hasattr(os, "sched_getaffinity"):
        assert _threads._available_cores() == len(os.sched_getaffinity(0))
    assert _threads._available_cores() >= 1
    for value, want in [("3", 3), (" 1 ", 1), ("0", None), ("two", None), ("", None)]:
        monkeypatch.setenv("OMP_NUM_THREADS", value)
        assert _threads._default_threads() == (want or _threads._available_cores())
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert _threads._default_threads() == _threads._available_cores()


def test_set_and_get_round_trip(threads):
    for n in (3, 1, np.int64(2)):
        threads(n)
        assert nn.get_num_threads() == n
        assert type(nn.get_num_threads()) is int


@pytest.mark.parametrize(
    ("bad", "err", "match"),
    [(0, ValueError, "positive"), (-2, ValueError, "positive"), (True, ValueError, "positive"),
     (1.5, TypeError, "float"), ("2", TypeError, "str")],
)  # fmt: skip
def test_bad_thread_counts_are_refused(bad, err, match, threads):
    with pytest.raises(err, match=match):
        nn.set_num_threads(bad)


def test_set_num_threads_sets_openblas_too(threads):
    openblas = _threads._openblas()
    if openblas is None:
        pytest.skip("numpy's BLAS is not OpenBLAS")
    for n in (1, 2, 1):
        threads(n)
        assert openblas[0]() == n


def test_small_kernels_stay_on_the_calling_thread(threads, monkeypatch):
    threads(2)
    assert len(_threads.pieces(10, 10**9)) == 2
    monkeypatch.setattr(_threads, "MIN_WORK", 1 << 20)
    assert _threads.pieces(10, (2 << 20) - 1) == [(0, 10)]
    assert _threads.pieces(10, 2 << 20) == [(0, 5), (5, 10)]


def test_pieces_run_on_the_pool_and_no_piece_calls_blas(threads, monkeypatch):
    """Each piece runs once, the first on the calling thread; the kernels' pieces are copies
    (several threads calling a multi-threaded BLAS would queue behind one another)."""
    threads(3)
    seen = []
    _threads.run(lambda a, b: seen.append((a, b, threading.get_ident())), [(0, 1), (1, 2), (2, 4)])
    assert sorted(s[:2] for s in seen) == [(0, 1), (1, 2), (2, 4)]
    assert [s[2] for s in seen if s[:2] == (0, 1)] == [threading.get_ident()]
    in_piece = threading.local()
    real_matmul = np.matmul

    def matmul(*args, **kwargs):
        assert not getattr(in_piece, "active", False), "a GEMM inside a piece of the pool"
        return real_matmul(*args, **kwargs)

    real_run = _threads.run

    def run(fn, parts):
        def marked(a, b):
            in_piece.active = True
            try:
                fn(a, b)
            finally:
                in_piece.active = False

        real_run(marked, parts)

    monkeypatch.setattr(_threads, "run", run)
    monkeypatch.setattr(np, "matmul", matmul)
    for inner in (True, False):
        monkeypatch.setattr(_toeplitz, "FORCE_INNER", inner)
        for case in CASES:
            _conv_and_grads(case)


def test_pieces_cover_the_range_once(threads):
    threads(3)
    for length in (0, 1, 2, 5, 17):
        parts = _threads.pieces(length, 10**9)
        assert len(parts) == max(min(3, length), 1)
        covered = [i for a, b in parts for i in range(a, b)]
        assert covered == list(range(length))


# (N, C, H, W, O, kernel, padding): blocks of 4 and of 1 pixel, padding, batch 1.
CASES = [
    (9, 3, 10, 11, 5, 3, 1),
    (8, 20, 7, 6, 6, 3, (0, 2)),
    (1, 4, 8, 9, 3, 5, 2),
    (12, 1, 12, 12, 4, 5, 0),
]


def _conv_and_grads(case):
    n, c, h, w, o, k, pad = case
    rng = np.random.default_rng(7)
    x = mg.Variable(rng.normal(size=(n, c, h, w)), requires_grad=True)
    wt = mg.Variable(rng.normal(size=(o, c, k, k)), requires_grad=True)
    b = mg.Variable(rng.normal(size=o), requires_grad=True)
    y = F.conv2d(x, wt, b, padding=pad)
    gx, gw, gb = mg.grad((y * np.cos(y.data)).sum(), [x, wt, b], create_graph=True)
    (ggw,) = mg.grad((gx * gx).sum(), [wt])
    return [y.data, gx.data, gw.data, gb.data, ggw.data]


@pytest.mark.parametrize("inner", [True, False], ids=["batch-inner", "rows"])
@pytest.mark.parametrize("case", CASES)
def test_conv_on_one_and_two_threads_agree(case, inner, threads, monkeypatch):
    monkeypatch.setattr(_toeplitz, "FORCE_INNER", inner)
    threads(1)
    one = _conv_and_grads(case)
    threads(2)
    two = _conv_and_grads(case)
    for a, b in zip(one, two):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_conv1d_float32_on_one_and_two_threads_agree(threads):
    rng = np.random.default_rng(8)
    x = rng.normal(size=(16, 6, 40)).astype(np.float32)
    w = rng.normal(size=(8, 6, 5)).astype(np.float32)
    out = []
    for n in (1, 2):
        threads(n)
        xv, wv = mg.Variable(x, requires_grad=True), mg.Variable(w, requires_grad=True)
        y = F.conv1d(xv, wv, padding=2)
        y.backward(np.ones_like(y.data))
        assert y.dtype == np.float32 and xv.grad.dtype == np.float32
        out.append([y.data, xv.grad.data, wv.grad.data])
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * np.abs(b).max())


def test_workspace_reuses_a_buffer_per_name_and_thread(monkeypatch):
    a = _workspace.scratch("test-a", (4, 5), np.float32)
    b = _workspace.scratch("test-a", (2, 3), np.float64)
    assert a.shape == (4, 5) and a.dtype == np.float32 and a.flags.c_contiguous
    assert b.shape == (2, 3) and b.dtype == np.float64 and np.shares_memory(a, b)
    assert not np.shares_memory(a, _workspace.scratch("test-b", (4, 5), np.float32))
    other = []
    thread = threading.Thread(
        target=lambda: other.append(_workspace.scratch("test-a", (4, 5), np.float32))
    )
    thread.start()
    thread.join()
    assert not np.shares_memory(a, other[0])
    monkeypatch.setattr(_workspace, "KEEP_BYTES", 64)
    big = _workspace.scratch("test-a", (100,), np.float32)
    assert not np.shares_memory(big, _workspace.scratch("test-a", (100,), np.float32))


def _conv_in_child(queue) -> None:  # type: ignore[no-untyped-def]
    queue.put(_conv_and_grads(CASES[0])[0].sum())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_a_pool_of_its_own(threads):
    import multiprocessing

    threads(2)
    here = _conv_and_grads(CASES[0])[0].sum()  # the parent's pool is running now
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_conv_in_child, args=(queue,))
    child.start()
    child.join(timeout=30)
    if child.is_alive():
        child.kill()
        pytest.fail("the forked child hung on the parent's thread pool")
    assert child.exitcode == 0
    np.testing.assert_allclose(queue.get(timeout=5), here, rtol=1e-12)


# Max pooling over tiling windows splits the batch: (N, C, H, W, kernel), with ties (ReLU
# zeros), a NaN, a cropped border (H or W not a multiple of the kernel) and batch 1.
POOL_CASES = [
    (5, 3, 8, 8, 2),
    (4, 2, 9, 7, 2),
    (3, 2, 9, 9, 3),
    (1, 4, 6, 6, 2),
    (6, 1, 4, 6, (1, 2)),
]


@pytest.mark.parametrize("last", [False, True], ids=["nchw", "batch-last"])
@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool_tiles_same_on_one_and_several_threads(threads, case, last):
    n, c, h, w, k = case
    rng = np.random.default_rng(7)
    x = np.maximum(rng.standard_normal((n, c, h, w)), 0).astype(np.float32)
    x[0, 0, 1, 1] = np.nan
    if last:  # (C, H, W, N) memory, as the conv kernels hand it over
        x = np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    kh, kw = (k, k) if isinstance(k, int) else k
    g = rng.standard_normal((n, c, h // kh, w // kw)).astype(np.float32)
    results = []
    for count in (1, 2, 3):
        threads(count)
        xv = mg.Variable(x, requires_grad=True)
        y = F.max_pool2d(xv, k)
        gy = mg.Variable(g, requires_grad=True)
        (gx,) = mg.grad(y, [xv], grad_outputs=[gy], create_graph=True)
        v = mg.Variable(np.linspace(-1, 1, x.size, dtype=np.float32).reshape(x.shape))
        (ggy,) = mg.grad((gx * v).sum(), [gy])
        results.append((y.data, gx.data, ggy.data))
    for got in results[1:]:
        for a, b in zip(results[0], got):
            np.testing.assert_array_equal(a, b)
    assert np.isnan(results[0][0]).sum() == 1  # the NaN's window, and only it, is NaN
