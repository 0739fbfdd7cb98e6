"""Intra-op parallelism: the GEMMs on BLAS's threads, the large copies on a small pool.

A convolution kernel is a GEMM between copies: the patches before it, the output blocks
or the input gradient's slice-adds after it. The GEMM runs whole on the calling thread,
and BLAS threads it (numpy's OpenBLAS keeps its threads spinning for a moment after each
GEMM, ready for the next). The copies are split into contiguous pieces of an axis
(output channels, input channels, patch rows, samples) for a small pool of Python
threads: numpy releases the GIL in array copies and ufunc loops, so the pieces run in
parallel. Waking a pool thread, and handing the GIL between threads at every numpy call
of a piece, costs tens of microseconds on a virtual machine, and two cores copy less than
twice as fast as one (they share the memory bandwidth). So a piece is never smaller than
:data:`MIN_WORK` elements: a LeNet step keeps its copies on the calling thread (measured
0.69x the time of splitting them, and of splitting its GEMMs over the pool rather than
BLAS), resnet-small's larger copies are split (0.88x when measured; 0.997x in a later
A/B, when OpenBLAS's threads, spinning for about 0.1 s after each GEMM, held the second
core: see docs/benchmarks.md). Pieces write disjoint slices of the result, so the answer
does not depend on the thread count.

``set_num_threads(n)`` sets both: the pool's size and, as PyTorch's ``set_num_threads``
governs its BLAS, numpy's OpenBLAS thread count (through its ``openblas_set_num_threads``,
as ``threadpoolctl`` does), process-wide. Until it is called, OpenBLAS keeps its own
setting (``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``, else every core), which is the
pool's default too. Another BLAS is set through its own variable (``MKL_NUM_THREADS``).

    >>> from maligrad import nn
    >>> before = nn.get_num_threads()
    >>> nn.set_num_threads(2)
    >>> nn.get_num_threads()
    2
    >>> nn.set_num_threads(before)
"""

from __future__ import annotations

import ctypes
import functools
import importlib
import operator
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

__all__ = ["get_num_threads", "set_num_threads"]

#: Fewest elements a kernel hands to one thread (4 MiB of float32).
MIN_WORK = 1 << 20


def _available_cores() -> int:
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _default_threads() -> int:
    """``OMP_NUM_THREADS`` when it is a positive int (as PyTorch), else the cores available."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else _available_cores()


_num_threads = _default_threads()
_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _after_fork_in_child() -> None:
    """A forked child has none of the parent's pool threads: start afresh."""
    global _pool, _lock
    _pool, _lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def set_num_threads(n: int) -> None:
    """Use ``n`` threads inside the convolution and pooling kernels, and for BLAS.

    ``n`` is the size of the pool over which the kernels split their large copies (the
    calling thread included) and, where numpy's BLAS is OpenBLAS, its thread count,
    process-wide (linear layers and your own numpy code included), as PyTorch's
    ``set_num_threads`` governs its BLAS. The default is ``OMP_NUM_THREADS`` where it is set
    to a positive int (as in PyTorch; launchers of one process per core set it to 1), else
    the number of cores available to the process (``len(os.sched_getaffinity(0))`` where the
    platform has it), and OpenBLAS keeps its own setting until this is called. ``1`` runs
    every kernel on the calling thread. Results do not depend on ``n``: each thread writes
    its own slice.

        >>> from maligrad import nn
        >>> before = nn.get_num_threads()
        >>> nn.set_num_threads(1)  # every kernel on the calling thread, BLAS included
        >>> nn.get_num_threads()
        1
        >>> nn.set_num_threads(before)
    """
    try:
        count = operator.index(n)
    except TypeError:
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__}") from None
    if isinstance(n, bool) or count < 1:
        raise ValueError(f"set_num_threads: n must be a positive int, got {n!r}")
    global _num_threads, _pool
    with _lock:
        old, _pool = _pool, None
        _num_threads = count
        openblas = _openblas()
        if openblas is not None:
            openblas[1](count)
    if old is not None:
        old.shutdown(wait=True)


def get_num_threads() -> int:
    """The number of threads the convolution kernels use (see
    [`set_num_threads`][maligrad.nn.set_num_threads]).

        >>> from maligrad import nn
        >>> nn.get_num_threads() >= 1
        True
    """
    return _num_threads


@functools.cache
def _openblas() -> tuple[Callable[[], int], Callable[[int], None]] | None:
    """numpy's OpenBLAS ``(get_num_threads, set_num_threads)``, or None for another BLAS."""
    for module in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):
        try:  # the extension module that links numpy's BLAS
            lib = ctypes.CDLL(importlib.import_module(module).__file__)
            break
        except (ImportError, OSError, TypeError):
            continue
    else:
        return None
    for prefix in ("scipy_openblas", "openblas"):
        for suffix in ("64_", ""):
            get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
            put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
            if get is not None and put is not None:
                get.restype, put.restype = ctypes.c_int, None
                return get, put
    return None


def pieces(length: int, work: int) -> list[tuple[int, int]]:
    """``range(length)`` cut into contiguous ``(start, stop)`` pieces, one per thread, each
    carrying at least :data:`MIN_WORK` of the kernel's ``work`` elements."""
    k = max(min(_num_threads, length, work // MIN_WORK), 1)
    bounds = [length * i // k for i in range(k + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def run(fn: Callable[[int, int], object], parts: list[tuple[int, int]]) -> None:
    """``fn(start, stop)`` for every piece: the first on this thread, the rest on the pool.

    A piece calls no BLAS: several threads calling into a multi-threaded BLAS queue behind
    one another.
    """
    if len(parts) == 1:
        fn(*parts[0])
        return
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_num_threads - 1, thread_name_prefix="maligrad-nn")
        pool = _pool
    futures: list[Future[object]] = [pool.submit(fn, a, b) for a, b in parts[1:]]
    try:
        fn(*parts[0])
    finally:
        for f in futures:
            f.result()
