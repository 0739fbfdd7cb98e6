"""``DistributedDataParallel``: average gradients over ranks during ``backward()``.

Every rank holds the whole model and runs it on its own share of the global batch.
After ``loss.backward()`` each parameter's ``.grad`` is the mean over ranks

    g = (1 / N) * sum_r g_r,

which, for equal shares and a loss that is a mean over the batch, is the gradient of the
whole global batch: one optimizer step on N ranks matches one on a single process.

Gradients are packed into flat buckets of about ``bucket_cap_mb`` megabytes in reverse
parameter order (the order backward produces them). A post-accumulate-grad hook on each
parameter counts down its bucket; when the last gradient of a bucket is in, that bucket's
non-blocking allreduce starts while backward carries on with earlier layers. Buckets start
in the same order on every rank (MPI requires it). A callback queued for the end of
backward waits for them and writes the averages into ``.grad``.

A parameter without a gradient on this rank (unused in its forward) counts as zero, as
PyTorch's ``find_unused_parameters=True``; one unused on every rank keeps ``.grad=None``.

    >>> import numpy as np, maligrad
    >>> from maligrad import nn
    >>> from maligrad.nn.parallel import DistributedDataParallel
    >>> model = DistributedDataParallel(nn.Linear(3, 1))
    >>> model(maligrad.Variable(np.ones((2, 3), np.float32))).sum().backward()
    >>> model.module.bias.grad.data
    array([2.], dtype=float32)
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

import maligrad
from maligrad import Variable
from maligrad.nn.module import Module
from maligrad.nn.parallel.comm import (
    Work,
    all_gather_object,
    all_reduce_async,
    broadcast,
    get_rank,
    get_world_size,
)


class _Bucket:
    """Parameters whose gradients travel in one allreduce, and its flat buffer."""

    def __init__(self, params: list[Variable], dtype: np.dtype) -> None:
        self.params = params
        self.dtype = dtype
        sizes = [p.data.size for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int).tolist()
        self.numel = self.offsets[-1]
        self.pending = len(params)
        self.buffer: np.ndarray | None = None
        self.work: Work | None = None

    def pack(self) -> None:
        """Copy the gradients into a fresh flat buffer, then one "has a gradient" flag each.

        The flags, summed over ranks, tell a parameter unused everywhere (left None).
        """
        n = len(self.params)
        buf = np.empty(self.numel + n, dtype=self.dtype)
        for i, p in enumerate(self.params):
            view = buf[self.offsets[i] : self.offsets[i + 1]]
            if p.grad is None:
                view[...] = 0
                buf[self.numel + i] = 0
            else:
                view[...] = p.grad.data.reshape(-1)
                buf[self.numel + i] = 1
        self.buffer = buf


def _describe(entry: tuple[str, tuple[int, ...], str] | None) -> str:
    if entry is None:
        return "nothing"
    name, shape, dtype = entry
    return f"{name!r} of shape {shape} ({dtype})"


def _check_same_layout(named: list[tuple[str, tuple[int, ...], str]], what: str) -> None:
    """Raise on every rank, naming the first difference, if any rank's list differs."""
    lists = all_gather_object(named)
    ref = lists[0]
    for rank, other in enumerate(lists[1:], start=1):
        if other == ref:
            continue
        for i in range(max(len(ref), len(other))):
            a = ref[i] if i < len(ref) else None
            b = other[i] if i < len(other) else None
            if a != b:
                raise ValueError(
                    f"DistributedDataParallel: the {what} differ across ranks: {what[:-1]} #{i} "
                    f"is {_describe(a)} on rank 0 but {_describe(b)} on rank {rank}; every "
                    "rank must build the same model"
                )


class DistributedDataParallel(Module):
    """Wrap ``module`` so that ``backward()`` averages its gradients over all ranks.

    At construction the parameters and buffers of rank 0 are broadcast to every rank and
    the parameter and buffer names, shapes and dtypes are checked to agree (a ValueError
    naming the first difference on every rank). Calling the wrapper calls ``module``;
    ``state_dict()``/``load_state_dict()`` are the module's, without a prefix. Buffers
    (BatchNorm's running statistics) stay per rank; [`SyncBatchNorm`][maligrad.nn.SyncBatchNorm]
    shares batch statistics instead.
    """

    def __init__(self, module: Module, bucket_cap_mb: float = 25.0) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(
                f"DistributedDataParallel wraps an nn.Module, got {type(module).__name__}"
            )
        if not bucket_cap_mb > 0:
            raise ValueError(f"bucket_cap_mb must be positive, got {bucket_cap_mb}")
        self.module = module
        self.bucket_cap_mb = float(bucket_cap_mb)
        self.world_size = get_world_size()
        self.require_backward_grad_sync = True
        #: Seconds that backward has spent blocked on unfinished allreduces (a running total).
        self.wait_seconds = 0.0
        named = list(module.named_parameters())  # frozen ones too: broadcast and checked
        buffers = [(n, b) for n, b in module.named_buffers() if b is not None]
        if self.world_size > 1:
            layout = [
                (n, tuple(p.shape), str(p.data.dtype) + ("" if p.requires_grad else ", frozen"))
                for n, p in named
            ]
            _check_same_layout(layout, "parameters")
            blayout = [(n, tuple(b.shape), str(b.data.dtype)) for n, b in buffers]
            _check_same_layout(blayout, "buffers")
            with maligrad.no_grad():
                for _, v in [*named, *buffers]:
                    v.copy_(broadcast(v.data.copy(), src=0))
        trained = [p for _, p in named if p.requires_grad]
        self.buckets = self._make_buckets(trained)
        self._bucket_of: dict[int, _Bucket] = {}
        for bucket in self.buckets:
            for p in bucket.params:
                self._bucket_of[id(p)] = bucket
        self._in_pass = False
        self._next = 0  # the next bucket to start: buckets start in order on every rank
        if self.world_size > 1:
            for p in trained:
                p.register_post_accumulate_grad_hook(self._grad_ready)

    def _make_buckets(self, params: Sequence[Variable]) -> list[_Bucket]:
        cap = self.bucket_cap_mb * 2**20
        buckets: list[_Bucket] = []
        current: list[Variable] = []
        size = 0
        for p in reversed(params):  # backward finishes the last layers first
            nbytes = p.data.nbytes
            if current and (size + nbytes > cap or p.data.dtype != current[0].data.dtype):
                buckets.append(_Bucket(current, current[0].data.dtype))
                current, size = [], 0
            current.append(p)
            size += nbytes
        if current:
            buckets.append(_Bucket(current, current[0].data.dtype))
        return buckets

    # -- during backward -------------------------------------------------------------
    def _grad_ready(self, param: Variable) -> None:
        if not self.require_backward_grad_sync:
            return
        if not self._in_pass:
            self._in_pass = True
            self._next = 0
            for bucket in self.buckets:
                bucket.pending = len(bucket.params)
            maligrad.queue_callback(self._finish)
        bucket = self._bucket_of[id(param)]
        bucket.pending -= 1
        while self._next < len(self.buckets) and self.buckets[self._next].pending == 0:
            self._start(self.buckets[self._next])
        for b in self.buckets[: self._next]:  # MPI progresses requests only inside calls
            if b.work is not None:
                b.work.test()

    def _start(self, bucket: _Bucket) -> None:
        bucket.pack()
        assert bucket.buffer is not None
        bucket.work = all_reduce_async(bucket.buffer)
        self._next += 1

    def _finish(self) -> None:
        """End of backward: start what is left (unused here), wait, write the means."""
        self._in_pass = False
        while self._next < len(self.buckets):
            self._start(self.buckets[self._next])
        scale = 1.0 / self.world_size
        start = time.perf_counter()
        for bucket in self.buckets:
            assert bucket.work is not None
            bucket.work.wait()
        self.wait_seconds += time.perf_counter() - start
        with maligrad.no_grad():
            for bucket in self.buckets:
                assert bucket.buffer is not None
                buf = bucket.buffer
                buf *= buf.dtype.type(scale)
                for i, p in enumerate(bucket.params):
                    if buf[bucket.numel + i] == 0:  # unused on every rank
                        continue
                    mean = buf[bucket.offsets[i] : bucket.offsets[i + 1]].reshape(p.shape)
                    p.grad = Variable(mean)
                bucket.buffer, bucket.work = None, None

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes inside only accumulate local gradients (no communication).

        The first synchronised backward after it averages the accumulated sum.
        """
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # -- the wrapped module ------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Call the wrapped module; its gradients are averaged over the ranks in backward."""
        return self.module(*args, **kwargs)

    def state_dict(  # type: ignore[override]
        self, destination: dict[str, Any] | None = None, prefix: str = "", keep_vars: bool = False
    ) -> dict[str, Any]:
        """The wrapped module's state (no ``module.`` prefix): it loads into a plain model."""
        return self.module.state_dict(destination=destination, prefix=prefix, keep_vars=keep_vars)

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> Any:
        """Load into the wrapped module (keys without the ``module.`` prefix)."""
        return self.module.load_state_dict(state_dict, strict=strict)

    def extra_repr(self) -> str:
        """The constructor arguments shown inside ``repr(module)``."""
        return (
            f"world_size={self.world_size}, rank={get_rank()}, "
            f"buckets={len(self.buckets)}, bucket_cap_mb={self.bucket_cap_mb}"
        )
