"""Reading IDX files (the MNIST format), gzip-compressed or not, with every header checked.

An IDX file is two zero bytes, a type code, the number of dimensions, one big-endian
uint32 per dimension, then the data in C order. `read_idx` checks the magic
number, the dimensions and that the data length is exactly what the header promises,
and names the file in every error.

Example::

    >>> import gzip, os, tempfile
    >>> import numpy as np
    >>> from maligrad.data.idx import read_idx, write_idx
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte.gz")
    >>> write_idx(path, np.array([3, 1, 4], dtype=np.uint8))
    >>> read_idx(path, ndim=1)
    array([3, 1, 4], dtype=uint8)
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from .errors import DataFormatError

_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt: code for code, dt in _TYPES.items()}


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as fh:
        head = fh.read(2)
    if head != b"\x1f\x8b":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as fh:
            return fh.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFormatError(f"{path}: corrupt or truncated gzip stream ({exc})") from exc


def parse_idx(data: bytes, name: str = "<bytes>", ndim: int | None = None) -> np.ndarray:
    """Parse the (uncompressed) bytes of an IDX file; ``name`` is used in error messages."""
    if len(data) < 4:
        raise DataFormatError(f"{name}: not an IDX file: only {len(data)} bytes")
    zero, code, dims = struct.unpack(">HBB", data[:4])
    if zero != 0 or code not in _TYPES:
        raise DataFormatError(
            f"{name}: not an IDX file: bad magic number 0x{data[:4].hex()} "
            "(expected 0x0000 followed by a type code such as 0x08 for uint8)"
        )
    if ndim is not None and dims != ndim:
        raise DataFormatError(f"{name}: expected {ndim} dimension(s), the header says {dims}")
    header = 4 + 4 * dims
    if len(data) < header:
        raise DataFormatError(
            f"{name}: truncated header: {dims} dimensions need {header} bytes, "
            f"the file has {len(data)}"
        )
    shape = struct.unpack(f">{dims}I", data[4:header])
    dtype = _TYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header
    if actual != expected:
        what = "truncated" if actual < expected else "too long"
        raise DataFormatError(
            f"{name}: {what}: the header promises shape {tuple(shape)} = {expected} bytes "
            f"of data, the file holds {actual}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array if dtype.isnative else array.astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike[str], ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into a numpy array, checking ``ndim`` if given."""
    path = Path(path)
    return parse_idx(_read_bytes(path), name=str(path), ndim=ndim)


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write ``array`` as an IDX file, gzip-compressed when ``path`` ends in ``.gz``."""
    array = np.asarray(array)
    dtype = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    if dtype not in _CODES:
        raise TypeError(f"IDX cannot store dtype {array.dtype}")
    header = struct.pack(">HBB", 0, _CODES[dtype], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + np.ascontiguousarray(array, dtype=dtype).tobytes()
    if str(path).endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    Path(path).write_bytes(payload)
