"""The data-parallel job that ``test_nn_parallel.py`` runs under ``mpiexec -n 2``.

Each rank writes what it computed to ``OUT/rank<r>.npz``; the test compares that with the
single-process results of the same functions, which it imports from this file.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

import maligrad as mg
from maligrad import nn
from maligrad.nn import functional as F
from maligrad.nn import parallel
from maligrad.nn.parallel import distributed

STEPS = 3


def data() -> tuple[np.ndarray, np.ndarray]:
    """A global batch of 8 images (3x6x6) with 4 classes."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 3, 6, 6)).astype(np.float32)
    return x, rng.integers(0, 4, 8)


def share(array: np.ndarray, rank: int, size: int) -> np.ndarray:
    """Rank ``rank``'s interleaved share of a global batch (as the DataLoader deals it)."""
    return array[rank::size]


def mlp(seed: int) -> nn.Module:
    mg.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(108, 16), nn.Tanh(), nn.Linear(16, 4))


def bn_net(seed: int) -> nn.Module:
    mg.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(64, 4)
    )


class TwoHeads(nn.Module):
    """``a(x)``, plus ``b(x)`` when asked; ``c`` is never used."""

    def __init__(self) -> None:
        super().__init__()
        mg.manual_seed(3)
        self.a, self.b, self.c = nn.Linear(108, 4), nn.Linear(108, 4), nn.Linear(108, 4)

    def forward(self, x: Any, use_b: bool) -> Any:
        x = x.reshape(x.shape[0], -1)
        return self.a(x) + self.b(x) if use_b else self.a(x)


def train(model: nn.Module, net: Any, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """``STEPS`` steps of SGD with momentum through ``net`` (the model or its wrapper)."""
    opt = nn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(STEPS):
        opt.zero_grad()
        F.cross_entropy(net(mg.Variable(x)), y).backward()
        opt.step()
    return model.state_dict()


def accumulated_grads(model: nn.Module, net: Any, x: np.ndarray, y: np.ndarray) -> list[Any]:
    """Gradients of the mean loss over ``x``, from two half batches (first one in no_sync)."""
    half = len(x) // 2
    with net.no_sync():
        (F.cross_entropy(net(mg.Variable(x[:half])), y[:half]) * 0.5).backward()
    (F.cross_entropy(net(mg.Variable(x[half:])), y[half:]) * 0.5).backward()
    return [p.grad.data.copy() for p in model.parameters()]


def main(out: Path) -> None:
    parallel.abort_on_exception()
    rank, size = parallel.get_rank(), parallel.get_world_size()
    x, y = data()
    xs, ys = share(x, rank, size), share(y, rank, size)
    results: dict[str, Any] = {"size": np.array(size)}

    # Parameters start different on each rank: the wrapper broadcasts rank 0's.
    model = mlp(seed=rank)
    ddp = parallel.DistributedDataParallel(model, bucket_cap_mb=0.0003)  # 3 buckets
    results["mlp_buckets"] = np.array(len(ddp.buckets))
    # At each allreduce start: how many gradients backward has not produced yet.
    still_pending: list[int] = []
    start = distributed.all_reduce_async

    def recording_start(buffer: np.ndarray) -> Any:
        still_pending.append(sum(b.pending for b in ddp.buckets))
        return start(buffer)

    distributed.all_reduce_async = recording_start
    results["mlp_keys"] = np.array(sorted(ddp.state_dict()))
    for k, v in train(model, ddp, xs, ys).items():
        results[f"mlp/{k}"] = v
    distributed.all_reduce_async = start
    results["still_pending"] = np.array(still_pending)

    frozen = mlp(seed=rank)
    frozen.requires_grad_(False)  # frozen parameters are broadcast too
    parallel.DistributedDataParallel(frozen)
    results["frozen"] = frozen.state_dict()["1.bias"]

    model = nn.SyncBatchNorm.convert_sync_batchnorm(bn_net(seed=rank))
    for k, v in train(model, parallel.DistributedDataParallel(model), xs, ys).items():
        results[f"sync/{k}"] = v

    model = mlp(seed=0)
    for i, g in enumerate(
        accumulated_grads(model, parallel.DistributedDataParallel(model), xs, ys)
    ):
        results[f"accumulated/{i}"] = g

    heads = TwoHeads()
    net = parallel.DistributedDataParallel(heads)
    F.cross_entropy(net(mg.Variable(xs), use_b=rank == 1), ys).backward()
    for name, p in heads.named_parameters():
        results[f"unused/{name}"] = np.array(np.nan) if p.grad is None else p.grad.data

    value = np.array([rank + 1.0, 10.0 * rank], np.float32)
    for op in ("sum", "mean", "max", "min", "prod"):
        results[f"all_reduce/{op}"] = parallel.all_reduce(value.copy(), op=op)
    v = mg.Variable(np.full(3, float(rank), np.float32))
    parallel.broadcast(v, src=1)
    results["broadcast"] = v.data
    results["all_gather"] = np.array(parallel.all_gather_object(("r", rank)), dtype=str)
    parallel.barrier()

    try:  # rank 1 builds a different model: every rank must get the error
        parallel.DistributedDataParallel(nn.Linear(4, 2 + rank))
        results["mismatch"] = np.array("no error")
    except ValueError as exc:
        results["mismatch"] = np.array(str(exc))
    np.savez(out / f"rank{rank}.npz", **results)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
