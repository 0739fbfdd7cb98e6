"""When and in what chunks the stride-1 conv kernels stream a patch matrix.

The banded GEMM's patch matrix ``P^T`` of a 3x3 layer holds 9 copies of its input: 9-36 MB
for resnet-small's layers at batch 64, more than this machine's caches. Made whole, it is
written to memory by the copy and read back by the GEMM. A *streamed* kernel (the input
gradient's convolution, see ``_toeplitz``) copies the columns of a chunk of whole output
rows (about ``CHUNK_BYTES``) into one work array and multiplies them at once, while they
are in the cache. It streams from ``STREAM_MIN`` patch values (at blocks of one pixel); a
chunk is at least one output row.

The strided convolutions' phase-split patches (``_im2col``) were tried streamed the same
way and measured no faster (resnet-small's two stride-2 3x3 layers, forward and both
gradients alone: 17.1 and 20.7 ms against 16.9 and 17.5 ms whole, 10.2 and 15.5 ms
against 9.3 and 12.1 ms): their copies already move runs of whole phase images, and the
weight gradient's sum over chunks multiplies small matrices. Streaming only their input
gradient's ``dP`` (made and added to the phase images a chunk of rows at a time) took
0.82-1.08x and 1.19-1.24x of the forward pass's time against 0.88-0.92x and 1.01-1.06x
whole (three fresh processes each, alternating).

    >>> rows_per_chunk(bytes_per_row=1 << 19, rows=32)
    4
"""

from __future__ import annotations

#: Patch-matrix values from which a kernel streams: 2^20 (4 MiB of float32).
STREAM_MIN = 1 << 20

#: Override for tests: None streams from ``STREAM_MIN``, True / False always / never.
FORCE_STREAM: bool | None = None

#: Bytes of the patch matrix per chunk: about 2 MiB (whole output rows, at least one).
CHUNK_BYTES = 2 << 20


def streams(values: int) -> bool:
    """Whether a patch matrix of ``values`` values is streamed (``FORCE_STREAM`` aside)."""
    return values >= STREAM_MIN if FORCE_STREAM is None else FORCE_STREAM


def rows_per_chunk(bytes_per_row: int, rows: int) -> int:
    """Output rows per chunk, for ``bytes_per_row`` bytes of patches per output row and
    ``rows`` rows in all: about ``CHUNK_BYTES`` of patches, at least one row."""
    return max(1, min(rows, CHUNK_BYTES // max(1, bytes_per_row)))
