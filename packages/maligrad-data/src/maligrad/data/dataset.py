"""The ``Dataset`` protocol and the generic datasets: ``ArrayDataset``, ``Subset``, splits.

This module holds what any dataset is built from (the protocol, array-backed datasets,
subsets, ``random_split``, batching helpers); ``maligrad.data.datasets`` holds the concrete
downloadable datasets (MNIST, Fashion-MNIST, CIFAR), as ``torch.utils.data`` and
``torchvision.datasets`` are split.

A dataset is anything with ``__len__`` and ``__getitem__(i)``. Datasets backed by arrays
also define ``__getitems__(indices)``, which takes an int64 index array and returns a
whole batch at once; [`DataLoader`][maligrad.data.DataLoader] uses it to batch without a
per-sample Python loop.

Example::

    >>> import numpy as np
    >>> from maligrad.data import ArrayDataset, random_split
    >>> ds = ArrayDataset(np.arange(10).reshape(10, 1), np.arange(10) % 2)
    >>> x, y = ds[3]
    >>> len(ds), x.tolist(), int(y)
    (10, [3], 1)
    >>> train, val = random_split(ds, [8, 2], generator=0)
    >>> len(train), len(val)
    (8, 2)
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ._checks import check_dataset


@runtime_checkable
class Dataset(Protocol):
    """Anything with a length and integer indexing (``dataset[i]`` is one sample).

    A structural protocol, as ``torch.utils.data.Dataset`` is a base class: nothing needs
    to inherit from it, and ``isinstance`` checks the two methods.

    >>> isinstance([10, 20, 30], Dataset), isinstance(3, Dataset)
    (True, False)
    """

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any: ...


def as_generator(generator: int | np.random.Generator | None = None) -> np.random.Generator:
    """A ``generator`` argument as a ``numpy.random.Generator``.

    A Generator is returned as is, an int seeds a new one, ``None`` gives a new one seeded
    from fresh entropy (maligrad-data does not depend on the core, so it does not draw from
    ``maligrad.random``'s default generator). Anything else is a TypeError.
    """
    if isinstance(generator, np.random.Generator):
        return generator
    if generator is None:
        return np.random.default_rng()
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, (bool, np.bool_)):
        if generator < 0:
            raise ValueError(f"generator: a seed must be non-negative, got {generator}")
        return np.random.default_rng(int(generator))
    raise TypeError(
        "generator must be None, an int seed or a numpy.random.Generator, got "
        f"{type(generator).__name__}"
    )


def renamed_keyword(old: str, old_value: Any, new: str, new_value: Any, where: str) -> Any:
    """The value of a keyword renamed ``old`` -> ``new``: warn when the old one is used."""
    if old_value is None:
        return new_value
    if new_value is not None:
        raise TypeError(f"{where} got both {new}= and its old name {old}=; pass only {new}=")
    warnings.warn(
        f"{where}: the {old}= keyword is deprecated, use {new}= (same meaning)",
        DeprecationWarning,
        stacklevel=3,
    )
    return old_value


class ArrayDataset:
    """Samples are rows of equally long arrays: ``ds[i] == (a[i], b[i], ...)``.

    >>> ds = ArrayDataset(np.zeros((4, 2)), np.arange(4))
    >>> [a.shape for a in ds.__getitems__(np.array([0, 2]))]
    [(2, 2), (2,)]
    """

    def __init__(self, *arrays: np.ndarray) -> None:
        if not arrays:
            raise ValueError("ArrayDataset needs at least one array")
        for i, a in enumerate(arrays):
            if a is None or isinstance(a, (str, bytes, dict, set)):
                raise TypeError(
                    f"ArrayDataset argument {i} must be an array, got {type(a).__name__}"
                )
        try:
            arrays = tuple(np.asarray(a) for a in arrays)
        except ValueError as err:  # ragged nested lists
            raise ValueError(f"ArrayDataset arrays must be rectangular: {err}") from None
        lengths = [a.shape[0] if a.ndim else None for a in arrays]
        if None in lengths:
            raise ValueError("ArrayDataset arrays must have at least one dimension")
        if len(set(lengths)) != 1:
            raise ValueError(f"ArrayDataset arrays differ in length: {lengths}")
        self.arrays = arrays

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        return tuple(a[index] for a in self.arrays)

    def __getitems__(self, indices: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(a[indices] for a in self.arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(str(a.shape) for a in self.arrays)
        return f"ArrayDataset({shapes})"


class Subset:
    """The samples of ``dataset`` at ``indices``, in that order.

    >>> sub = Subset(ArrayDataset(np.arange(5) * 10), [4, 0])
    >>> len(sub), int(sub[0][0])
    (2, 40)
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int] | np.ndarray) -> None:
        check_dataset(dataset)
        given = np.asarray(indices)
        if given.size and given.dtype.kind not in "iu":
            raise TypeError(
                f"Subset indices must be integers, got dtype {given.dtype}"
                + (
                    " (for a boolean mask, pass np.flatnonzero(mask))"
                    if given.dtype == bool
                    else ""
                )
            )
        indices = given.astype(np.int64).reshape(-1)
        n = len(dataset)
        if indices.size and (indices.min() < -n or indices.max() >= n):
            raise IndexError(f"Subset indices out of range for a dataset of length {n}")
        self.dataset = dataset
        self.indices = indices % n if n else indices

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def __getitems__(self, indices: np.ndarray) -> Any:
        return get_batch(self.dataset, self.indices[indices])

    def __repr__(self) -> str:
        return f"Subset({self.dataset!r}, {len(self)} samples)"


def collate(samples: Sequence[Any]) -> Any:
    """Stack samples into a batch: tuples field by field, arrays and scalars with ``np.stack``.

    >>> x, y = collate([(np.zeros(2), 0), (np.ones(2), 1)])
    >>> x.shape, y.tolist()
    ((2, 2), [0, 1])
    """
    first = samples[0]
    if isinstance(first, tuple):
        return tuple(np.stack(field) for field in zip(*samples, strict=True))
    return np.stack(samples)


def get_batch(dataset: Dataset, indices: np.ndarray) -> Any:
    """The samples at ``indices`` as one batch: ``__getitems__`` when the dataset has it."""
    getitems = getattr(dataset, "__getitems__", None)
    if getitems is not None:
        return getitems(indices)
    return collate([dataset[int(i)] for i in indices])


def random_split(
    dataset: Dataset,
    lengths: Sequence[int | float],
    generator: int | np.random.Generator | None = None,
    *,
    seed: int | np.random.Generator | None = None,
) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets of the given ``lengths``.

    ``lengths`` are counts that sum to ``len(dataset)``, or fractions that sum to 1 (the
    remainder of rounding down goes to the first subsets, one each): with ``n`` samples,
    subset ``i`` gets ``floor(n * lengths[i])`` plus one for each ``i < r``, where ``r`` is
    ``n`` minus the sum of the floors. ``generator`` (an int seed or a
    ``numpy.random.Generator``) makes the split reproducible; ``seed=`` is its deprecated
    old name.

    >>> ds = ArrayDataset(np.arange(10))
    >>> [len(s) for s in random_split(ds, [0.25, 0.25, 0.5], generator=0)]  # 2+2+5, r=1
    [3, 2, 5]
    """
    generator = renamed_keyword("seed", seed, "generator", generator, "random_split")
    check_dataset(dataset)
    n = len(dataset)
    if isinstance(lengths, (str, bytes)) or not hasattr(lengths, "__iter__"):
        raise TypeError(f"lengths must be a sequence of numbers, got {type(lengths).__name__}")
    lengths = list(lengths)
    for x in lengths:
        if isinstance(x, (bool, np.bool_)) or not isinstance(
            x, (int, float, np.integer, np.floating)
        ):
            raise TypeError(f"lengths must hold counts or fractions, got {x!r}")
        if not math.isfinite(x):
            raise ValueError(f"lengths must be finite, got {x!r}")
    if not lengths:
        raise ValueError("random_split needs at least one length")
    if all(isinstance(x, (int, np.integer)) for x in lengths):
        counts = [int(x) for x in lengths]
    elif math.isclose(sum(lengths), 1.0, abs_tol=1e-9) and all(0 <= x <= 1 for x in lengths):
        counts = [math.floor(n * x) for x in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
    else:
        raise ValueError(f"lengths must be counts summing to {n} or fractions summing to 1")
    if any(c < 0 for c in counts) or sum(counts) != n:
        raise ValueError(f"lengths {lengths} do not add up to the dataset length {n}")
    order = as_generator(generator).permutation(n)
    bounds = np.cumsum([0, *counts])
    return [Subset(dataset, order[a:b]) for a, b in itertools.pairwise(bounds)]
