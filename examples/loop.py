"""The training loop the examples share: one epoch of minibatch training, and accuracy.

>>> # loss = train_epoch(model, loader, optimizer); acc = accuracy(model, test_loader)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import maligrad as mg
from maligrad import nn
from maligrad.nn import functional as F


def train_epoch(
    model: nn.Module,
    loader: Iterable[tuple[Any, Any]],
    optimizer: Any,
    on_batch: Callable[[float], None] | None = None,
    **loss_options: Any,
) -> float:
    """One pass over ``loader`` minimising cross-entropy; returns the mean batch loss."""
    model.train()
    total, batches = 0.0, 0
    for x, y in loader:
        loss = F.cross_entropy(model(mg.Variable(x)), y, **loss_options)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        value = loss.item()
        total, batches = total + value, batches + 1
        if on_batch is not None:
            on_batch(value)
    return total / max(batches, 1)


def count_correct(model: nn.Module, loader: Iterable[tuple[Any, Any]]) -> tuple[int, int]:
    """``(correctly classified, total)`` examples, in eval mode and without a graph."""
    model.eval()
    correct = total = 0
    with mg.no_grad():
        for x, y in loader:
            logits = model(mg.Variable(x))
            correct += int((logits.data.argmax(axis=1) == y).sum())
            total += len(y)
    return correct, total


def accuracy(model: nn.Module, loader: Iterable[tuple[Any, Any]]) -> float:
    """Fraction of correctly classified examples, in eval mode and without a graph."""
    correct, total = count_correct(model, loader)
    return correct / total
