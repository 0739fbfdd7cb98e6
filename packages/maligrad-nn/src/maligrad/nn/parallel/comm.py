"""Collectives over MPI (``mpi4py``), and their one-process fallbacks.

A script runs unchanged under ``python script.py`` and ``mpiexec -n N python script.py``:
started by an MPI launcher (``mpiexec``, ``mpirun``, ``srun``), every process joins
``MPI.COMM_WORLD``; started any other way, or without ``mpi4py``, the world is this one
process (rank 0 of 1) and every collective returns its input unchanged.

    all_reduce:  every rank ends with  op(x_0, x_1, ..., x_{N-1})   (elementwise)
    broadcast:   every rank ends with  x_src

Arrays are reduced in place, as in PyTorch: pass a numpy array or a ``Variable`` (its
array is changed in place and its version counter moves). Example (one process)::

    >>> import numpy as np
    >>> from maligrad.nn import parallel
    >>> parallel.get_rank(), parallel.get_world_size()
    (0, 1)
    >>> parallel.all_reduce(np.array([1.0, 2.0], np.float32), op="mean")
    array([1., 2.], dtype=float32)
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import numpy as np

import maligrad
from maligrad import Variable

#: Environment variables that MPI launchers set in the processes they start.
LAUNCHER_VARIABLES = (
    "PMI_RANK",  # MPICH (hydra), Intel MPI, MVAPICH
    "PMI_SIZE",
    "PMIX_RANK",  # PMIx: Open MPI 5, Slurm with --mpi=pmix
    "OMPI_COMM_WORLD_SIZE",  # Open MPI
    "MV2_COMM_WORLD_SIZE",  # MVAPICH2
)
REDUCE_OPS = ("sum", "mean", "max", "min", "prod")


def is_available() -> bool:
    """True when ``mpi4py`` can be imported (this process may still be alone)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def launched_by_mpi() -> bool:
    """True when an MPI launcher started this process (one of ``LAUNCHER_VARIABLES`` is set).

    ``MALIGRAD_MPI=1`` forces MPI on (a launcher this list misses), ``MALIGRAD_MPI=0`` off.
    """
    forced = os.environ.get("MALIGRAD_MPI")
    if forced is not None:
        return forced.strip() not in ("", "0", "false", "no")
    return any(name in os.environ for name in LAUNCHER_VARIABLES)


@cache
def world() -> Any:
    """``MPI.COMM_WORLD``, or None for a one-process world (see the module docstring)."""
    if not launched_by_mpi():
        return None
    try:
        from mpi4py import MPI
    except ImportError as exc:
        if int(os.environ.get("PMI_SIZE", os.environ.get("OMPI_COMM_WORLD_SIZE", "1"))) > 1:
            raise RuntimeError(
                "this process was started by mpiexec with several ranks, but mpi4py is not "
                "installed: pip install 'maligrad-nn[mpi]' (or mpi4py for a system MPI)"
            ) from exc
        return None
    return MPI.COMM_WORLD


def get_rank() -> int:
    """This process's rank in the world, 0 to ``get_world_size() - 1``."""
    comm = world()
    return 0 if comm is None else comm.Get_rank()


def get_world_size() -> int:
    """The number of processes that take part in the collectives."""
    comm = world()
    return 1 if comm is None else comm.Get_size()


def _array(x: Any, name: str) -> np.ndarray:
    if isinstance(x, Variable):
        return x.data
    if isinstance(x, np.ndarray):
        return x
    raise TypeError(f"{name} expects a numpy array or a Variable, got {type(x).__name__}")


def _mpi_op(op: str) -> Any:
    from mpi4py import MPI

    return {"sum": MPI.SUM, "mean": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN, "prod": MPI.PROD}[op]


def _write_back(x: Any, result: np.ndarray) -> None:
    """Store ``result`` in ``x``: through ``copy_`` for a Variable (its version moves)."""
    if isinstance(x, Variable):
        with maligrad.no_grad():
            x.copy_(result)
    elif result is not x:
        np.copyto(x, result, casting="same_kind")


def all_reduce(x: Any, op: str = "sum") -> Any:
    """Reduce ``x`` over all ranks in place (``op``: sum, mean, max, min or prod); return it.

    ``mean`` is the sum divided by the world size (integer arrays round toward zero).
    """
    if op not in REDUCE_OPS:
        raise ValueError(f"all_reduce: op must be one of {', '.join(REDUCE_OPS)}, got {op!r}")
    array = _array(x, "all_reduce")
    comm = world()
    if comm is None:
        return x
    from mpi4py import MPI

    buf = np.ascontiguousarray(array)
    if buf is array and isinstance(x, np.ndarray):
        comm.Allreduce(MPI.IN_PLACE, buf, op=_mpi_op(op))
    else:
        buf = buf.copy()
        comm.Allreduce(MPI.IN_PLACE, buf, op=_mpi_op(op))
    if op == "mean":
        if np.issubdtype(buf.dtype, np.integer):
            buf //= comm.Get_size()
        else:
            buf /= buf.dtype.type(comm.Get_size())
    _write_back(x, buf)
    return x


def broadcast(x: Any, src: int = 0) -> Any:
    """Overwrite ``x`` on every rank with rank ``src``'s ``x`` (same shape and dtype); return it."""
    array = _array(x, "broadcast")
    comm = world()
    if comm is None:
        if src != 0:
            raise ValueError(f"broadcast: src={src} but the world has 1 process (rank 0)")
        return x
    if not 0 <= src < comm.Get_size():
        raise ValueError(f"broadcast: src={src} is not a rank of a world of {comm.Get_size()}")
    buf = np.ascontiguousarray(array)
    if buf is not array or isinstance(x, Variable):
        buf = buf.copy()
    comm.Bcast(buf, root=src)
    _write_back(x, buf)
    return x


def all_gather_object(obj: Any) -> list[Any]:
    """Every rank's ``obj`` (picklable, small), in rank order, on every rank."""
    comm = world()
    if comm is None:
        return [obj]
    return list(comm.allgather(obj))


def barrier() -> None:
    """Wait until every rank has called ``barrier()``."""
    comm = world()
    if comm is not None:
        comm.Barrier()


class Work:
    """A started non-blocking allreduce: ``wait()`` blocks until its result is in place."""

    def __init__(self, request: Any = None) -> None:
        self.request = request

    def test(self) -> bool:
        """Let MPI progress the operation; True once it has finished."""
        return self.request is None or bool(self.request.Test())

    def wait(self) -> None:
        if self.request is not None:
            self.request.Wait()
            self.request = None


def all_reduce_async(buffer: np.ndarray) -> Work:
    """Start summing the contiguous array ``buffer`` over all ranks in place; ``wait()`` on it."""
    comm = world()
    if comm is None:
        return Work()
    if not buffer.flags.c_contiguous:
        raise ValueError("all_reduce_async needs a C-contiguous array")
    from mpi4py import MPI

    return Work(comm.Iallreduce(MPI.IN_PLACE, buffer, op=MPI.SUM))
