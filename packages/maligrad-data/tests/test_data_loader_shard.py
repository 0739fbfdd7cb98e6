"""DataLoader(num_replicas=, rank=): each replica's share of every epoch (no MPI needed)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from maligrad.data import ArrayDataset, DataLoader


def epoch(loader: DataLoader) -> list[int]:
    return [int(i) for x, _ in loader for i in x]


@pytest.mark.parametrize(
    ("n", "replicas", "batch", "shuffle"),
    [(10, 2, 3, False), (10, 3, 2, True), (7, 4, 1, True), (12, 1, 5, True), (3, 5, 2, False)],
)
def test_shares_are_disjoint_cover_and_equal(n: int, replicas: int, batch: int, shuffle: bool):
    ds = ArrayDataset(np.arange(n), np.zeros(n))
    loaders = [
        DataLoader(ds, batch, shuffle=shuffle, generator=4, num_replicas=replicas, rank=r)
        for r in range(replicas)
    ]
    whole = DataLoader(ds, 1, shuffle=shuffle, generator=4)
    for _ in range(2):  # two epochs: every replica draws the same new order
        order = epoch(whole)
        shares = [epoch(loader) for loader in loaders]
        per = -(-n // replicas)
        padded = (order * replicas)[: per * replicas]  # the order, its start repeated
        for r, share in enumerate(shares):
            assert share == padded[r::replicas]
            assert len(share) == per
        assert {i for s in shares for i in s} == set(range(n))
        assert len({len(loader) for loader in loaders}) == 1
        assert len(loaders[0]) == -(-per // batch)


def test_global_batches_match_one_process() -> None:
    """Step i of 2 replicas with batch 4 each sees the samples of step i of one with 8."""
    ds = ArrayDataset(np.arange(32), np.zeros(32))
    one = [set(x.tolist()) for x, _ in DataLoader(ds, 8, shuffle=True, generator=1)]
    two = [DataLoader(ds, 4, shuffle=True, generator=1, num_replicas=2, rank=r) for r in (0, 1)]
    steps = [set(a.tolist()) | set(b.tolist()) for (a, _), (b, _) in zip(*two)]
    assert steps == one


def test_set_epoch_reseeds_the_same_on_every_replica() -> None:
    ds = ArrayDataset(np.arange(20), np.zeros(20))
    loaders = [
        DataLoader(ds, 20, shuffle=True, generator=7, num_replicas=2, rank=r) for r in (0, 1)
    ]
    orders = {}
    for e in (0, 1, 0):
        for loader in loaders:
            loader.set_epoch(e)
        share0, share1 = (epoch(loader) for loader in loaders)
        assert sorted(share0 + share1) == list(range(20))
        orders.setdefault(e, []).append(share0)
    assert orders[0][0] == orders[0][1]  # epoch 0 again: the same order
    assert orders[0][0] != orders[1][0]
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="set_epoch expects an int"):
            loaders[0].set_epoch(bad)


def test_unseeded_replicas_agree() -> None:
    ds = ArrayDataset(np.arange(50), np.zeros(50))
    shares = [epoch(DataLoader(ds, 5, True, num_replicas=2, rank=r)) for r in (0, 1)]
    assert sorted(shares[0] + shares[1]) == list(range(50))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_replicas": 2}, ValueError, "num_replicas and rank go together"),
        ({"rank": 0}, ValueError, "num_replicas and rank go together"),
        ({"num_replicas": 0, "rank": 0}, ValueError, "num_replicas must be at least 1"),
        ({"num_replicas": 2, "rank": 2}, ValueError, r"rank must be in \[0, 2\), got 2"),
        ({"num_replicas": 2, "rank": -1}, ValueError, "rank must be in"),
        ({"num_replicas": 2.0, "rank": 0}, TypeError, "num_replicas must be an int"),
        ({"num_replicas": 2, "rank": "0"}, TypeError, "rank must be an int"),
    ],
)
def test_bad_replicas(kwargs: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        DataLoader(ArrayDataset(np.arange(4)), 2, **kwargs)
