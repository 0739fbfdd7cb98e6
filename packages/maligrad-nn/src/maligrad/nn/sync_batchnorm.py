"""``SyncBatchNorm``: batch normalisation with statistics over the batch of every rank.

Under data-parallel training each rank sees ``B / N`` samples. Plain BatchNorm normalises
with that share's statistics (per rank); SyncBatchNorm allreduces them, so it normalises
exactly as one process would with the whole global batch of ``M = sum_r m_r`` values per
channel:

    mean = (1/M) sum_all x,     var = (1/M) sum_all (x - mean)^2,
    xhat = (x - mean) / sqrt(var + eps),     y = weight * xhat + bias.

Backward allreduces two per-channel sums too (``g`` the gradient of ``xhat``):

    dx = (g - (1/M) sum_all g - xhat (1/M) sum_all g xhat) / sqrt(var + eps).

Running statistics use the unbiased ``var * M / (M - 1)``. In ``eval()`` it is ordinary
batch norm with the running statistics, and in a one-process world it equals BatchNorm.

    >>> import numpy as np, maligrad
    >>> from maligrad import nn
    >>> model = nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(nn.BatchNorm1d(2)))
    >>> y = model(maligrad.Variable(np.array([[1.0, 2.0], [3.0, 6.0]], np.float32)))
    >>> type(model[0]).__name__, model[0].running_mean.data
    ('SyncBatchNorm', array([0.2, 0.4], dtype=float32))
"""

from __future__ import annotations

from typing import Any

import numpy as np

import maligrad
from maligrad import Function, Variable
from maligrad.nn.functional import batch_norm
from maligrad.nn.functional._common import layer_input
from maligrad.nn.module import Module
from maligrad.nn.normalization import BatchNorm1d, BatchNorm2d, _BatchNorm
from maligrad.nn.parallel.comm import all_reduce


class SyncStandardize(Function):
    """``(x - mean) / sqrt(var + eps)`` over ``axes``, with mean and var over all ranks."""

    def forward(self, x: np.ndarray, axes: tuple[int, ...], eps: float) -> np.ndarray:
        local = np.concatenate([x.sum(axis=axes), [x.size / x.shape[1]]]).astype(np.float64)
        total = all_reduce(local)
        count = total[-1]
        mean = (total[:-1] / count).astype(x.dtype)
        shape = (1, -1) + (1,) * (x.ndim - 2)
        xc = x - mean.reshape(shape)
        var = all_reduce((xc * xc).sum(axis=axes).astype(np.float64)) / count
        inv = (1.0 / np.sqrt(var + eps)).astype(x.dtype).reshape(shape)
        xhat = xc * inv
        self.axes, self.inv, self.count = axes, inv, count
        self.mean, self.var = mean, var
        self.save_for_backward(xhat)
        return xhat

    def backward(self, gy: Variable) -> Any:
        (xhat,) = self.saved_tensors
        g, xh, axes = gy.data, xhat.data, self.axes
        c = g.shape[1]
        sums = np.concatenate([g.sum(axis=axes), (g * xh).sum(axis=axes)]).astype(np.float64)
        sums = all_reduce(sums) / self.count
        shape = (1, -1) + (1,) * (g.ndim - 2)
        g_mean = sums[:c].astype(g.dtype).reshape(shape)
        gx_mean = sums[c:].astype(g.dtype).reshape(shape)
        return Variable((g - g_mean - xh * gx_mean) * self.inv)


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation of ``(N, C, *)`` over ``N`` and ``*`` on every rank together.

    The arguments, parameters (``weight``, ``bias``) and buffers (``running_mean``,
    ``running_var``, ``num_batches_tracked``) are those of ``BatchNorm2d``, so state dicts
    move between the two. Its backward is not differentiable a second time.
    """

    def forward(self, input: Variable) -> Variable:
        """Normalise ``input`` (see the class docstring for the maths); in training mode, update the
        running statistics if tracked.
        """
        if not isinstance(input, Variable):
            input = layer_input(input, "SyncBatchNorm")
        if input.ndim < 2 or input.shape[1] != self.num_features:
            raise ValueError(
                f"SyncBatchNorm({self.num_features}) expects an input of shape "
                f"(N, {self.num_features}, *), got {input.shape}"
            )
        if not self.training and self.track_running_stats:
            return batch_norm(
                input, self.running_mean, self.running_var, self.weight, self.bias, False,
                0.0, self.eps,
            )  # fmt: skip
        axes = (0, *range(2, input.ndim))
        y = SyncStandardize.apply(input, axes=axes, eps=self.eps)
        if self.track_running_stats:
            self._update_running_stats(y.grad_fn, input)
        shape = (1, self.num_features) + (1,) * (input.ndim - 2)
        if self.weight is not None:
            y = y * self.weight.reshape(shape)
        if self.bias is not None:
            y = y + self.bias.reshape(shape)
        return y

    def _update_running_stats(self, node: Any, input: Variable) -> None:
        if node is not None:
            mean, var, count = node.mean, node.var, node.count
        else:  # no graph recorded: compute the statistics again, without the output
            stats = SyncStandardize()
            stats.forward(input.data, (0, *range(2, input.ndim)), self.eps)
            mean, var, count = stats.mean, stats.var, stats.count
        with maligrad.no_grad():
            nbt = self.num_batches_tracked
            nbt.copy_(nbt.data + 1)
            momentum = 1.0 / float(nbt.data) if self.momentum is None else self.momentum
            unbiased = var * (count / max(count - 1.0, 1.0))
            rm, rv = self.running_mean, self.running_var
            rm.copy_((1 - momentum) * rm.data + momentum * mean)
            rv.copy_((1 - momentum) * rv.data + momentum * unbiased)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module) -> Module:
        """``module`` with every ``BatchNorm1d``/``BatchNorm2d`` replaced by a SyncBatchNorm.

        The new layers share the old ones' parameters (an optimizer built before keeps
        working) and copy their running statistics. Returns the new module when ``module``
        itself is a BatchNorm layer, else ``module``, changed in place.
        """
        if isinstance(module, (BatchNorm1d, BatchNorm2d)):
            sync = cls(
                module.num_features,
                module.eps,
                module.momentum,
                module.affine,
                module.track_running_stats,
                dtype=module.running_mean.data.dtype
                if module.running_mean is not None
                else (module.weight.data.dtype if module.weight is not None else None),
            )
            if module.affine:
                sync.weight, sync.bias = module.weight, module.bias
            if module.track_running_stats:
                with maligrad.no_grad():
                    for name in ("running_mean", "running_var", "num_batches_tracked"):
                        getattr(sync, name).copy_(getattr(module, name).data)
            sync.train(module.training)
            return sync
        for name, child in list(module.named_children()):
            converted = cls.convert_sync_batchnorm(child)
            if converted is not child:
                setattr(module, name, converted)
        return module
