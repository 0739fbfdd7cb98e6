"""Version counters: how many times the memory behind a Variable was changed in place.

Every in-place change (``add_``, ``copy_``, ``x[i] = v`` outside the graph, ...) moves the
counter of the Variable on; Variables whose arrays are views of the same memory
(``detach()``, reshapes, basic indexing) share one counter. A graph node remembers the
counter of each Variable it saved and the version it had then, and ``saved_tensors``
raises if they differ: the saved array was overwritten.

A counter is a ``bytearray`` of 8 bytes holding the version as a little-endian unsigned
integer, and a node keeps copies of it (``ZERO`` for a new one), because the cyclic garbage
collector tracks neither bytes nor bytearrays: the tuple in which a node keeps its counters
is then not tracked either, and a graph of N ops costs the collector N objects, the nodes
themselves (a full collection walks every tracked object, and a long forward pass triggers
several).

    >>> from maligrad import version_counter
    >>> counter = version_counter.new()
    >>> version_counter.bump(counter)
    >>> version_counter.read(counter), bytes(counter) == version_counter.ZERO
    (1, False)
"""

from __future__ import annotations

ZERO = bytes(8)
"""The state of a new counter (version 0)."""

#: ``new_zero()`` is ``new()``, twice as fast: the copy of a zero counter (``bytearray(8)``
#: parses its argument). Nodes call it for every saved op output.
new_zero = bytearray(8).copy


def new(version: int = 0) -> bytearray:
    """A counter at ``version``."""
    return bytearray(version.to_bytes(8, "little"))


def read(counter: bytes | bytearray) -> int:
    """The version a counter (or a saved copy of one) holds."""
    return int.from_bytes(counter, "little")


def bump(counter: bytearray) -> None:
    """Add one to a counter in place (a carry from byte to byte, as on paper)."""
    i = 0
    while counter[i] == 255:
        counter[i] = 0
        i += 1
    counter[i] += 1


def write(counter: bytearray, version: int) -> None:
    """Set a counter to ``version`` in place."""
    counter[:] = version.to_bytes(8, "little")
