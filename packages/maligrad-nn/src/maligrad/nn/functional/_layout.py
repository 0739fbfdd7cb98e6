"""Batch-last memory: how the conv, pooling and batch-norm kernels hand activations over.

An activation ``a`` has PyTorch's shape ``(N, C, H, W)`` whatever its memory order. The
stride-1 convolution's GEMM (``_toeplitz``) makes its output with the batch innermost, so
it returns ``a`` as a view of a C-contiguous ``(C, H, W, N)`` array
(``a.transpose(3, 0, 1, 2)``), and the kernels downstream read that memory directly: every
run they copy, compare or reduce is then ``N`` floats long or longer. numpy's ufuncs
allocate their results in their inputs' memory order, so the order survives ReLU, adds and
the products of backward passes. Values never depend on the memory order; kernels that
receive any other (NCHW, sliced) read it through a copy or strided views.

    >>> import numpy as np
    >>> a = np.zeros((4, 3, 2, 2), dtype=np.float32)
    >>> batch_last(a), batch_last(np.zeros((3, 2, 2, 4)).transpose(3, 0, 1, 2))
    (False, True)
"""

from __future__ import annotations

import numpy as np


def batch_last(a: np.ndarray, whole: bool = False) -> bool:
    """Whether ``a (N, ...)`` keeps its batch innermost in memory: a unit-stride batch axis
    (every run along it contiguous), or with ``whole`` a C-contiguous ``(..., N)`` transpose.
    A batch of one counts as neither (any memory order serves it)."""
    if a.ndim < 2 or a.shape[0] < 2:
        return False
    if whole:
        return a.transpose(*range(1, a.ndim), 0).flags.c_contiguous
    return a.strides[0] == a.itemsize
