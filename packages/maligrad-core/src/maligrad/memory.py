"""Keep freed memory in the process for the next step instead of handing it to the kernel.

A training step allocates and frees the same large temporaries every step: activations,
patch matrices, gradients, megabytes each. glibc's ``malloc`` serves a large block with
fresh pages (``mmap``) and gives freed memory at the top of its heap back to the kernel as
soon as more than its *trim threshold* is free. Both thresholds adapt to the largest block
freed so far, but a step frees several large blocks at once, so the heap is trimmed again
at the end of every step, and the next step touches new pages: one page fault per 4 KiB,
each zeroing its page in the kernel. On a LeNet step at batch 32 that is about 2,000
faults, a third of the step, and worse when two processes share the memory bus
(data-parallel training).

``keep_freed_memory(limit)`` sets glibc's thresholds once and for all (``mallopt``):

- blocks of up to 32 MiB (glibc's largest mmap threshold) come from the heap, and
- up to ``limit`` bytes of free memory at the heap's top are kept for reuse.

After the first step, every step then reuses the same pages: no faults. The price is that
the process's resident memory stays at its peak plus at most ``limit`` bytes after a large
computation has ended. ``import maligrad`` applies the default limit (256 MiB), as numpy
applies its own memory policy on import; set the environment variable
``MALIGRAD_KEEP_FREED_MEMORY=0`` before the import to leave glibc's defaults alone, or call
``keep_freed_memory(0)`` to hand free memory back promptly again. On other C libraries
(macOS, Windows, musl) it does nothing and returns False.

    >>> import maligrad as mg
    >>> applied = mg.keep_freed_memory(64 * 2**20)  # True under glibc (Linux)
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable

#: The limit ``import maligrad`` applies: free memory kept at the heap's top, in bytes.
DEFAULT_LIMIT = 256 * 2**20
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# glibc refuses a larger mmap threshold (HEAP_MAX_SIZE / 2 on 64-bit systems).
_HEAP_BLOCKS = 32 * 2**20 if sys.maxsize > 2**32 else 512 * 2**10
# glibc's initial (static) thresholds, for ``keep_freed_memory(0)``.
_GLIBC_DEFAULT = 128 * 2**10


def _glibc_mallopt() -> Callable[[int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018  (only glibc has it; musl's mallopt is a stub)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt  # type: ignore[no-any-return]


def keep_freed_memory(limit: int = DEFAULT_LIMIT) -> bool:
    """Keep up to ``limit`` bytes of freed memory for reuse; 0 hands it back at once.

    Returns True when the C library (glibc) took the setting, False elsewhere. ``limit``
    must be a non-negative int below 2 GiB.

        >>> import maligrad as mg
        >>> applied = mg.keep_freed_memory()        # the default, 256 MiB
        >>> applied = mg.keep_freed_memory(0)       # glibc's static defaults again
        >>> applied = mg.keep_freed_memory()
    """
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError(f"keep_freed_memory: limit must be an int, got {type(limit).__name__}")
    if not 0 <= limit < 2**31:
        raise ValueError(f"keep_freed_memory: limit must be in [0, 2**31), got {limit}")
    mallopt = _glibc_mallopt()
    if mallopt is None:
        return False
    if limit == 0:
        return bool(
            mallopt(_M_MMAP_THRESHOLD, _GLIBC_DEFAULT)
            and mallopt(_M_TRIM_THRESHOLD, _GLIBC_DEFAULT)
        )
    return bool(mallopt(_M_MMAP_THRESHOLD, _HEAP_BLOCKS) and mallopt(_M_TRIM_THRESHOLD, limit))


def _apply_default() -> None:
    """What ``import maligrad`` does, unless ``MALIGRAD_KEEP_FREED_MEMORY=0``."""
    if os.environ.get("MALIGRAD_KEEP_FREED_MEMORY", "1").strip() != "0":
        keep_freed_memory(DEFAULT_LIMIT)
