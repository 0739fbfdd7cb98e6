"""Data-parallel training over MPI: the same script on one process or on many machines.

Start N copies of a script with ``mpiexec -n N python script.py`` (or
``python -m maligrad.nn.parallel.launch -n N script.py``). Each copy is one rank: it builds
the same model, wraps it in
[`DistributedDataParallel`][maligrad.nn.parallel.DistributedDataParallel], reads its own
share of each batch (``DataLoader(..., num_replicas=get_world_size(), rank=get_rank())``)
and steps its optimizer on gradients averaged over all ranks. Without ``mpi4py``, or under plain
``python``, there is one rank and every collective is a no-op.

    >>> from maligrad import nn
    >>> from maligrad.nn import parallel
    >>> model = parallel.DistributedDataParallel(nn.Linear(4, 2))
    >>> parallel.get_world_size(), model.module.weight.shape
    (1, (2, 4))
"""

from maligrad.nn.parallel.abort import abort_on_exception
from maligrad.nn.parallel.comm import (
    all_gather_object,
    all_reduce,
    barrier,
    broadcast,
    get_rank,
    get_world_size,
    is_available,
)
from maligrad.nn.parallel.distributed import DistributedDataParallel

__all__ = [
    "DistributedDataParallel",
    "abort_on_exception",
    "all_gather_object",
    "all_reduce",
    "barrier",
    "broadcast",
    "get_rank",
    "get_world_size",
    "is_available",
]
