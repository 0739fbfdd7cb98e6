"""Intra-op parallelism: the conv kernels split their large copies, GEMMs and slice-adds
over a small pool of threads.

numpy releases the GIL in BLAS calls, array copies and ufunc loops, so ``k`` threads that
each handle one contiguous piece of an axis (output channels, input channels, patch rows)
run in parallel. A piece is never smaller than :data:`MIN_WORK` elements: small kernels
stay on the calling thread, where a hand-off would cost more than it saves. Pieces write
disjoint slices of the result, so the answer does not depend on the thread count.

BLAS and this pool do not share cores well: concurrent calls into a multi-threaded
OpenBLAS queue behind one another, and OpenBLAS's threads keep spinning after each GEMM,
taking the cores the pool's copies need (a LeNet step measured 1.1x slower on a quiet
2-core machine, 3x slower beside one other busy process). So, as PyTorch's
``set_num_threads`` governs its BLAS, maligrad.nn takes numpy's OpenBLAS over (through its
``openblas_set_num_threads``, as ``threadpoolctl`` does): from the first kernel run with
more than one thread, OpenBLAS runs on one thread, process-wide; ``set_num_threads(1)``
gives it back the thread count it had. With one thread, BLAS keeps its own setting outside
the kernels and runs single-threaded inside them. Where BLAS is not OpenBLAS and runs
multi-threaded, the pool stays unused and BLAS threads the GEMMs.

    >>> from maligrad import nn
    >>> before = nn.get_num_threads()
    >>> nn.set_num_threads(2)
    >>> nn.get_num_threads()
    2
    >>> nn.set_num_threads(before)
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib
import operator
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

__all__ = ["get_num_threads", "set_num_threads"]

#: Fewest elements a kernel hands to one thread.
MIN_WORK = 1 << 16


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
    global _pool, _lock, _blas_users
    _pool, _lock, _blas_users = None, threading.Lock(), 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def set_num_threads(n: int) -> None:
    """Use ``n`` threads (the calling one included) inside the convolution kernels.

    The default is ``OMP_NUM_THREADS`` where it is set to a positive int (as in PyTorch;
    launchers of one process per core set it to 1), else the number of cores available to
    the process (``len(os.sched_getaffinity(0))`` where the platform has it). ``1`` runs
    every kernel on the calling thread. Results do not depend on ``n``: each thread writes
    its own slice. Above one thread, maligrad.nn runs numpy's OpenBLAS on one thread,
    process-wide, from its first threaded kernel on (OpenBLAS's spinning threads would take
    the cores); ``set_num_threads(1)`` gives OpenBLAS back its thread count.

        >>> from maligrad import nn
        >>> before = nn.get_num_threads()
        >>> nn.set_num_threads(1)  # every kernel on the calling thread
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
    global _num_threads, _pool, _blas_taken
    with _lock:
        old, _pool = _pool, None
        _num_threads = count
        if count == 1 and _blas_taken is not None:
            _openblas()[1](_blas_taken)  # type: ignore[index]
            _blas_taken = None
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


def blas_threaded() -> bool:
    """Whether BLAS runs a GEMM on several threads (unknown BLAS: from the environment)."""
    openblas = _openblas()
    if openblas is not None:
        return openblas[0]() > 1
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if var in os.environ:
            return os.environ[var].strip() != "1"
    return True


#: OpenBLAS's thread count before maligrad.nn set it to one (None: not taken over).
_blas_taken: int | None = None


def _take_blas() -> None:
    """OpenBLAS on one thread for good (until ``set_num_threads(1)``), remembering its count."""
    global _blas_taken
    openblas = _openblas()
    if openblas is None:
        return
    with _lock:
        if _blas_taken is None and _num_threads > 1:
            _blas_taken = openblas[0]()
            openblas[1](1)


_blas_users = 0  # pool runs in progress (several caller threads may run kernels)
_blas_saved = 1  # OpenBLAS's thread count before the first of them


@contextlib.contextmanager
def _blas_on_one_thread() -> Iterator[None]:
    """OpenBLAS single-threaded while any pool run is in progress."""
    global _blas_users, _blas_saved
    openblas = _openblas()
    if openblas is None:
        yield
        return
    get, put = openblas
    with _lock:
        if _blas_users == 0:
            _blas_saved = get()
            if _blas_saved > 1:
                put(1)
        _blas_users += 1
    try:
        yield
    finally:
        with _lock:
            _blas_users -= 1
            if _blas_users == 0 and _blas_saved > 1:
                put(_blas_saved)


def pieces(length: int, work: int) -> list[tuple[int, int]]:
    """``range(length)`` cut into contiguous ``(start, stop)`` pieces, one per thread, each
    carrying at least :data:`MIN_WORK` of the kernel's ``work`` elements (one piece while
    a BLAS other than OpenBLAS is multi-threaded)."""
    k = max(min(_num_threads, length, work // MIN_WORK), 1)
    if k > 1 and _openblas() is None and blas_threaded():
        k = 1
    bounds = [length * i // k for i in range(k + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def run(fn: Callable[[int, int], object], parts: list[tuple[int, int]]) -> None:
    """``fn(start, stop)`` for every piece, with BLAS single-threaded meanwhile: the first on
    this thread, the rest on the pool."""
    if _num_threads > 1 and _blas_taken is None:
        _take_blas()
    if len(parts) == 1:
        with _blas_on_one_thread():
            fn(*parts[0])
        return
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_num_threads - 1, thread_name_prefix="maligrad-nn")
        pool = _pool
    with _blas_on_one_thread():
        futures: list[Future[object]] = [pool.submit(fn, a, b) for a, b in parts[1:]]
        try:
            fn(*parts[0])
        finally:
            for f in futures:
                f.result()
