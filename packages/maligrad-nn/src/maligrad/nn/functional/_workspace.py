"""Work arrays that the conv kernels reuse from one call to the next.

A kernel's temporaries (a padded copy of the input, a GEMM result that is added into a
canvas, the canvas itself) are the size of a layer's activations times the kernel area.
Allocated afresh each step, glibc hands the large ones back to the kernel when they are
freed and the next step page-faults them in again; kept here, they stay mapped.

Each thread has its own buffers, one per name, grown to the largest request and kept while
no larger than :data:`KEEP_BYTES`. A buffer is only ever a temporary *inside* one kernel
call: an array that a kernel returns, or that a Function saves for backward, never comes
from here (so ``retain_graph`` and graphs kept alive by the user are unaffected).
"""

from __future__ import annotations

import math
import threading

import numpy as np

#: Largest buffer kept between calls; larger temporaries are allocated per call.
KEEP_BYTES = 64 << 20

_local = threading.local()


def scratch(name: str, shape: tuple[int, ...], dtype: np.dtype | type) -> np.ndarray:
    """An uninitialised C-contiguous ``shape`` array, reused by later calls with ``name``
    on this thread: its contents are only valid until the next such call."""
    dt = np.dtype(dtype)
    nbytes = math.prod(shape) * dt.itemsize
    if nbytes > KEEP_BYTES:
        return np.empty(shape, dtype=dt)
    bufs: dict[str, np.ndarray] = _local.__dict__.setdefault("bufs", {})
    buf = bufs.get(name)
    if buf is None or buf.nbytes < nbytes:
        buf = bufs[name] = np.empty(max(nbytes, 64), dtype=np.uint8)
    return buf[:nbytes].view(dt).reshape(shape)
