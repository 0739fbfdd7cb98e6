"""End the whole MPI job when one rank raises, instead of leaving the others waiting.

An uncaught exception on one rank would leave every other rank blocked forever in its next
collective. [`abort_on_exception`][maligrad.nn.parallel.abort_on_exception] replaces
``sys.excepthook``: it prints the traceback headed by the failing rank, then calls
``MPI.COMM_WORLD.Abort(1)``, which ends every process of the job (``mpiexec`` returns
non-zero). Before the abort it waits (at most two seconds for stderr, then two for stdout)
until the launcher has read what the rank wrote: under MPICH's Hydra a rank's stderr is a
pipe to its proxy, and a proxy that handles the abort before that pipe tears the job down
without printing the traceback. Call it first in a script run under mpiexec::

    from maligrad.nn import parallel
    parallel.abort_on_exception()
"""

from __future__ import annotations

import os
import stat
import sys
import time
import traceback
from types import TracebackType

from maligrad.nn.parallel.comm import get_rank, get_world_size, world


def _wait_until_read(stream: object, limit: float = 2.0) -> None:
    """Return once the pipe behind ``stream`` is empty (its reader took all), or after ``limit`` s.

    Does nothing where ``stream`` is not a pipe (a terminal, a file) or ``FIONREAD`` is missing.
    """
    try:
        import fcntl
        import termios
        from array import array

        fd = stream.fileno()  # type: ignore[attr-defined]
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return
        unread = array("i", [0])
        deadline = time.monotonic() + limit
        while True:
            fcntl.ioctl(fd, termios.FIONREAD, unread)
            if unread[0] == 0 or time.monotonic() >= deadline:
                return
            time.sleep(0.005)
    except (ImportError, AttributeError, OSError, ValueError):
        return


def _abort_hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    rank, size = get_rank(), get_world_size()
    text = "".join(traceback.format_exception(kind, value, tb))
    sys.stderr.write(f"[rank {rank} of {size}] uncaught exception, aborting the job:\n{text}")
    sys.stderr.flush()
    sys.stdout.flush()
    comm = world()
    if comm is not None:
        _wait_until_read(sys.stderr)
        _wait_until_read(sys.stdout)
        comm.Abort(1)


def abort_on_exception() -> None:
    """Make an uncaught exception on this rank end every rank (print it, then MPI Abort).

    Harmless in a one-process world: the exception is printed with its rank as usual.
    """
    if sys.excepthook is not _abort_hook:
        sys.excepthook = _abort_hook
