"""The bundled offline sample of real MNIST: 6,000 training and 1,000 test images.

The images were drawn, with a fixed seed and an equal share per class, from the
canonical MNIST files (sha256-verified) by ``scripts/make_sample.py``; the file also
records the indices used, so the draw can be checked against the full dataset. No
download and no cache folder are involved.

Example::

    >>> from maligrad.data import mnist_sample
    >>> train = mnist_sample(train=True)
    >>> len(train), train.images.shape[1:], train.images.dtype, train.labels.dtype
    (6000, (1, 28, 28), dtype('uint8'), dtype('int64'))
    >>> len(mnist_sample(train=False))
    1000
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from ._checks import check_bool
from .datasets import MNIST, MNIST_CLASSES

SAMPLE_FILE = "mnist_sample.npz"


def sample_arrays() -> dict[str, np.ndarray]:
    """Every array in the bundled sample file (images, labels and the source indices)."""
    ref = resources.files("maligrad.data") / "_sample" / SAMPLE_FILE
    with ref.open("rb") as fh, np.load(fh, allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def mnist_sample(train: bool = True) -> MNIST:
    """The bundled MNIST sample as an [`MNIST`][maligrad.data.MNIST] dataset, offline.

    ``train=True`` gives 6,000 images drawn from the 60,000 canonical training images,
    ``train=False`` 1,000 drawn from the 10,000 test images; ``ds.indices`` holds each
    image's index in the canonical file.

    >>> ds = mnist_sample(train=False)
    >>> len(ds), ds.images.shape, ds.images.dtype, ds.labels.dtype
    (1000, (1000, 1, 28, 28), dtype('uint8'), dtype('int64'))
    """
    split = "train" if check_bool(train, "train") else "test"
    arrays = sample_arrays()
    images = arrays[f"{split}_images"][:, None, :, :]
    dataset = MNIST.from_arrays(images, arrays[f"{split}_labels"], MNIST_CLASSES, train=train)
    dataset.indices = arrays[f"{split}_indices"].astype(np.int64)
    return dataset
