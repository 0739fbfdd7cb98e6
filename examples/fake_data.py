"""Synthetic image data for offline smoke runs of the examples (``--fake-data``).

Each image is uniform noise plus a bright horizontal band whose row depends on its label,
so a small CNN can learn the labels within a few dozen steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def banded_images(
    n: int, shape: tuple[int, int, int], num_classes: int = 10, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uint8 images of ``shape`` (C, H, W) and their int64 labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, size=n)
    images = rng.integers(0, 128, size=(n, *shape), dtype=np.uint8)
    rows = (labels * (shape[1] - 2)) // num_classes
    for offset in range(2):
        images[np.arange(n), :, rows + offset, :] += 127
    return images, labels.astype(np.int64)


def train_test(cls: Any, shape: tuple[int, int, int], fake: bool, limit: int) -> tuple[Any, Any]:
    """The train (first ``limit`` images) and test splits of a maligrad.data dataset class,
    or of banded fake images of ``shape`` when ``fake`` (no download)."""
    if fake:
        images, labels = banded_images(limit + 500, shape)
        return (
            cls.from_arrays(images[:limit], labels[:limit]),
            cls.from_arrays(images[limit:], labels[limit:]),
        )
    train, test = cls(train=True), cls(train=False)
    if len(train) > limit:
        train = cls.from_arrays(train.images[:limit], train.labels[:limit], train.classes)
    return train, test
