"""End the whole MPI job when one rank raises, instead of leaving the others waiting.

An uncaught exception on one rank would leave every other rank blocked forever in its next
collective. [`abort_on_exception`][maligrad.nn.parallel.abort_on_exception] replaces
``sys.excepthook``: it prints the traceback headed by the failing rank, then calls
``MPI.COMM_WORLD.Abort(1)``, which ends every process of the job (``mpiexec`` returns
non-zero). Call it first in a script run under mpiexec::

    from maligrad.nn import parallel
    parallel.abort_on_exception()
"""

from __future__ import annotations

import sys
import traceback
from types import TracebackType

from maligrad.nn.parallel.comm import get_rank, get_world_size, world


def _abort_hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    rank, size = get_rank(), get_world_size()
    text = "".join(traceback.format_exception(kind, value, tb))
    sys.stderr.write(f"[rank {rank} of {size}] uncaught exception, aborting the job:\n{text}")
    sys.stderr.flush()
    sys.stdout.flush()
    comm = world()
    if comm is not None:
        comm.Abort(1)


def abort_on_exception() -> None:
    """Make an uncaught exception on this rank end every rank (print it, then MPI Abort).

    Harmless in a one-process world: the exception is printed with its rank as usual.
    """
    if sys.excepthook is not _abort_hook:
        sys.excepthook = _abort_hook
