"""The two errors maligrad.data raises for bad input: a failed download and a bad file.

Example::

    >>> from maligrad.data.errors import DataFormatError
    >>> issubclass(DataFormatError, ValueError)
    True
"""

from __future__ import annotations


class DownloadError(RuntimeError):
    """Every mirror failed for a file (or ``download=False`` and the file is missing).

    The message lists each URL tried with its reason, the cache folder, and how to
    place the file by hand or point ``MALIGRAD_DATA_URL`` at a mirror.
    """


class DataFormatError(ValueError):
    """A file is truncated, foreign or otherwise not in the expected format.

    The message names the file (and the archive member, for CIFAR) and what is wrong.
    """
