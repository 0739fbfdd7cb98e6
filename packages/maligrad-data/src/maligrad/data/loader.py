"""``DataLoader``: numpy batches from a dataset, shuffled reproducibly, transformed.

Array-backed datasets (those with ``__getitems__``, such as every dataset in this
package) are batched by one fancy-indexing operation per array, with no per-sample
Python loop. Other datasets are indexed sample by sample and stacked.

Example::

    >>> import numpy as np
    >>> from maligrad.data import ArrayDataset, DataLoader
    >>> ds = ArrayDataset(np.arange(10), np.arange(10) * 10)
    >>> loader = DataLoader(ds, batch_size=4, shuffle=True, generator=0)
    >>> len(loader), [x.tolist() for x, _ in loader]
    (3, [[4, 6, 2, 7], [3, 5, 9, 0], [8, 1]])
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ._checks import check_bool, check_dataset
from .dataset import Dataset, as_generator, get_batch, renamed_keyword
from .transforms import Transform


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size``.

    ``shuffle`` draws a new permutation every epoch (every ``iter()``) from one
    generator made from ``generator`` (an int seed or a ``numpy.random.Generator``;
    ``seed=`` is its deprecated old name), so a seeded
    loader gives the same sequence of epochs each run and a different order each epoch.
    ``drop_last`` drops a final short batch. ``transform`` is applied to the first array
    of each batch (the inputs); the others (labels) pass through.

    ``num_replicas`` and ``rank`` (as in PyTorch's ``DistributedSampler``) give this
    process its share for data-parallel training: every replica draws the same order from
    the same ``seed`` (0 when None), pads it by repeating its start to a multiple of
    ``num_replicas`` and takes every ``num_replicas``-th index from ``rank`` on, so the
    shares are disjoint, cover the dataset and hold ``ceil(n / num_replicas)`` samples each
    (the same number of batches on every rank). ``batch_size`` is then the per-rank batch.
    ``set_epoch(epoch)`` makes the next order depend only on ``(seed, epoch)``.

    With ``n`` samples, each replica's epoch holds ``m = ceil(n / num_replicas)`` samples
    (``m = n`` without replicas) in ``len(loader) = ceil(m / batch_size)`` batches
    (``floor`` with ``drop_last``).

    >>> import numpy as np
    >>> from maligrad.data import ArrayDataset
    >>> ds = ArrayDataset(np.arange(10))
    >>> [b[0].tolist() for b in DataLoader(ds, batch_size=4)]
    [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    >>> [b[0].tolist() for b in DataLoader(ds, batch_size=2, num_replicas=3, rank=1)]
    [[1, 4], [7, 0]]
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        generator: int | np.random.Generator | None = None,
        transform: Transform | None = None,
        num_replicas: int | None = None,
        rank: int | None = None,
        *,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        check_dataset(dataset)
        generator = renamed_keyword("seed", seed, "generator", generator, "DataLoader")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"batch_size must be an int, got {batch_size!r}")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        shuffle = check_bool(shuffle, "shuffle")
        drop_last = check_bool(drop_last, "drop_last")
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable or None, got {type(transform).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.num_replicas, self.rank = _check_replicas(num_replicas, rank)
        if generator is None and self.num_replicas is not None:
            generator = 0  # every replica must draw the same order
        self.generator = as_generator(generator)
        self.transform = transform
        self.epoch: int | None = None
        """The epoch given to [`set_epoch`][maligrad.data.DataLoader.set_epoch], or None."""
        self._epoch_seed: int | None = (
            int(generator) if isinstance(generator, (int, np.integer)) else None
        )

    def set_epoch(self, epoch: int) -> None:
        """Seed the next epochs' shuffle from ``(seed, epoch)``: the same on every replica.

        >>> import numpy as np
        >>> from maligrad.data import ArrayDataset
        >>> loader = DataLoader(ArrayDataset(np.arange(6)), batch_size=6, shuffle=True,
        ...                     generator=0)
        >>> loader.set_epoch(3)
        >>> first = next(iter(loader))[0].tolist()
        >>> first == next(iter(loader))[0].tolist()   # same epoch, same order
        True
        """
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ValueError(f"set_epoch expects an int >= 0, got {epoch!r}")
        if self._epoch_seed is None:  # seeded by a Generator or from the OS: draw a base once
            self._epoch_seed = int(self.generator.integers(2**62))
        self.epoch = int(epoch)

    def _order(self) -> np.ndarray:
        """This epoch's indices: the permutation (or 0..n-1), then this replica's share."""
        n = len(self.dataset)
        if not self.shuffle:
            order = np.arange(n)
        elif self.epoch is not None and self._epoch_seed is not None:
            order = np.random.default_rng([self._epoch_seed, self.epoch]).permutation(n)
        else:
            order = self.generator.permutation(n)
        if self.num_replicas is None or n == 0:
            return order
        total = -(-n // self.num_replicas) * self.num_replicas
        if total > n:
            order = np.concatenate([order, np.resize(order, total - n)])
        return order[self.rank : total : self.num_replicas]

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.num_replicas is not None:
            n = -(-n // self.num_replicas)
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        order = self._order()
        n = len(order)
        size = self.batch_size
        stop = n - n % size if self.drop_last else n
        dataset, transform = self.dataset, self.transform
        for start in range(0, stop, size):
            batch = get_batch(dataset, order[start : start + size])
            if transform is not None:
                if isinstance(batch, tuple):
                    batch = (transform(batch[0]), *batch[1:])
                else:
                    batch = transform(batch)
            yield batch

    def __repr__(self) -> str:
        share = "" if self.num_replicas is None else f", rank={self.rank}/{self.num_replicas}"
        return (
            f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}{share})"
        )


def _check_replicas(num_replicas: Any, rank: Any) -> tuple[int | None, int | None]:
    """``(num_replicas, rank)`` checked: both None, or ints with ``0 <= rank < num_replicas``."""
    if num_replicas is None and rank is None:
        return None, None
    if num_replicas is None or rank is None:
        raise ValueError(
            f"num_replicas and rank go together, got num_replicas={num_replicas!r}, rank={rank!r}"
        )
    for name, value in (("num_replicas", num_replicas), ("rank", rank)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {value!r}")
    if num_replicas < 1:
        raise ValueError(f"num_replicas must be at least 1, got {num_replicas}")
    if not 0 <= rank < num_replicas:
        raise ValueError(f"rank must be in [0, {num_replicas}), got {rank}")
    return int(num_replicas), int(rank)
