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
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        generator: int | np.random.Generator | None = None,
        transform: Transform | None = None,
        *,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        generator = renamed_keyword("seed", seed, "generator", generator, "DataLoader")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"batch_size must be an int, got {batch_size!r}")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = as_generator(generator)
        self.transform = transform

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        n = len(self.dataset)
        order = self.generator.permutation(n) if self.shuffle else np.arange(n)
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
        return (
            f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last})"
        )
