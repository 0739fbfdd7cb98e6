"""MNIST, Fashion-MNIST, CIFAR-10 and CIFAR-100 as uint8 NCHW images and int64 labels.

The concrete, downloadable datasets (as ``torchvision.datasets``); the generic building
blocks they rest on (the ``Dataset`` protocol, ``ArrayDataset``, ``Subset``,
``random_split``) are in ``maligrad.data.dataset``.

Each class takes ``(root=None, train=True, download=True)``: files are looked up in the
cache folder (``root``, else ``$MALIGRAD_DATA_DIR``, else ``pooch.os_cache("maligrad")``),
verified by sha256, downloaded from the mirrors when missing or bad, then parsed. A
keyword-only ``spec`` swaps in another [`DatasetSpec`][maligrad.data.DatasetSpec]
(other hashes or mirrors; the tests use it).

Example (downloads about 11 MB on first use)::

    >>> from maligrad.data import MNIST
    >>> train = MNIST(train=True)                                   # doctest: +SKIP
    >>> train.images.shape, train.images.dtype, train.labels.dtype  # doctest: +SKIP
    ((60000, 1, 28, 28), dtype('uint8'), dtype('int64'))
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

from ._checks import check_bool
from .cifar import CIFAR10_CLASSES, read_cifar10, read_cifar100
from .download import fetch
from .errors import DataFormatError
from .idx import read_idx
from .registry import REGISTRY, DatasetSpec

MNIST_CLASSES = (
    "0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
    "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine",
)  # fmt: skip

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip

T = TypeVar("T", bound="ImageDataset")


class ImageDataset:
    """Images ``(N, C, H, W)`` uint8, labels ``(N,)`` int64 and class names.

    ``ds[i]`` is ``(image, label)``; ``ds.__getitems__(idx)`` returns a whole batch.
    """

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    train: bool
    indices: np.ndarray | None = None
    """For a sample ([`mnist_sample`][maligrad.data.mnist_sample]): positions in the full file."""

    def _set(self, images: np.ndarray, labels: np.ndarray, classes: tuple[str, ...]) -> None:
        if images.ndim != 4 or images.dtype != np.uint8:
            raise DataFormatError(f"images must be uint8 NCHW, got {images.dtype} {images.shape}")
        if labels.shape != (images.shape[0],):
            raise DataFormatError(f"{images.shape[0]} images but labels of shape {labels.shape}")
        self.images = images
        self.labels = labels.astype(np.int64, copy=False)
        self.classes = tuple(classes)

    @classmethod
    def from_arrays(
        cls: type[T],
        images: np.ndarray,
        labels: np.ndarray,
        classes: tuple[str, ...] | None = None,
        train: bool = True,
    ) -> T:
        """A dataset of this class over arrays already in memory (no files, no network).

        ``classes`` defaults to the class's own names (the ten digits for MNIST, the
        clothing names for Fashion-MNIST, ...), or to ``"0"``, ``"1"``, ... up to the
        largest label.
        """
        self = cls.__new__(cls)
        self.train = check_bool(train, "train")
        labels = np.asarray(labels)
        if labels.size and labels.dtype.kind not in "iu":
            raise TypeError(f"labels must be integers, got dtype {labels.dtype}")
        if classes is None:
            classes = getattr(cls, "_classes", None)
        if classes is None:
            classes = tuple(str(i) for i in range(int(labels.max(initial=-1)) + 1))
        self._set(np.asarray(images), labels, classes)
        return self

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, index: int) -> tuple[np.ndarray, Any]:
        return self.images[index], self.labels[index]

    def __getitems__(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.images[indices], self.labels[indices]

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        return f"{type(self).__name__}({split}, {len(self)} images of {self.images.shape[1:]})"


def _read_idx_pair(
    paths: dict[str, Path], prefix: str, classes: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    image_path = paths[f"{prefix}-images-idx3-ubyte.gz"]
    label_path = paths[f"{prefix}-labels-idx1-ubyte.gz"]
    images = read_idx(image_path, ndim=3)
    labels = read_idx(label_path, ndim=1)
    if images.dtype != np.uint8 or labels.dtype != np.uint8:
        raise DataFormatError(
            f"{image_path} / {label_path}: expected uint8 data, got {images.dtype} / {labels.dtype}"
        )
    if images.shape[0] != labels.shape[0]:
        raise DataFormatError(
            f"{image_path} holds {images.shape[0]} images but {label_path} holds "
            f"{labels.shape[0]} labels"
        )
    if labels.size and labels.max() >= len(classes):
        raise DataFormatError(
            f"{label_path}: label {labels.max()} is outside 0..{len(classes) - 1}"
        )
    return images[:, None, :, :], labels.astype(np.int64)


class _IDXDataset(ImageDataset):
    _spec_name: str
    _classes: tuple[str, ...]

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        train: bool = True,
        download: bool = True,
        *,
        spec: DatasetSpec | None = None,
    ) -> None:
        check_bool(train, "train")
        spec = REGISTRY[self._spec_name] if spec is None else spec
        prefix = "train" if train else "t10k"
        names = [f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"]
        paths = fetch(spec, root, download, filenames=names)
        images, labels = _read_idx_pair(paths, prefix, self._classes)
        self.train = train
        self._set(images, labels, self._classes)


class MNIST(_IDXDataset):
    """MNIST digits: 60,000 training / 10,000 test images of 1 x 28 x 28, labels 0..9.

    For the bundled offline sample (no download) use
    [`mnist_sample`][maligrad.data.mnist_sample].
    """

    _spec_name = "mnist"
    _classes = MNIST_CLASSES


class FashionMNIST(_IDXDataset):
    """Fashion-MNIST (Zalando): 60,000 / 10,000 images of 1 x 28 x 28 in 10 clothing classes."""

    _spec_name = "fashion-mnist"
    _classes = FASHION_MNIST_CLASSES


class CIFAR10(ImageDataset):
    """CIFAR-10: 50,000 training / 10,000 test images of 3 x 32 x 32 in 10 classes."""

    _classes = CIFAR10_CLASSES

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        train: bool = True,
        download: bool = True,
        *,
        spec: DatasetSpec | None = None,
    ) -> None:
        check_bool(train, "train")
        spec = REGISTRY["cifar10"] if spec is None else spec
        (path,) = fetch(spec, root, download).values()
        images, labels, classes = read_cifar10(path, train)
        self.train = train
        self._set(images, labels, classes)


class CIFAR100(ImageDataset):
    """CIFAR-100: 50,000 / 10,000 images of 3 x 32 x 32 with fine (100) and coarse (20) labels.

    ``labels`` and ``classes`` follow ``label_mode`` (``"fine"`` by default); both kinds
    are always available as ``fine_labels`` / ``fine_classes`` and ``coarse_labels`` /
    ``coarse_classes``.
    """

    fine_labels: np.ndarray
    coarse_labels: np.ndarray
    fine_classes: tuple[str, ...]
    coarse_classes: tuple[str, ...]

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        train: bool = True,
        download: bool = True,
        *,
        label_mode: Literal["fine", "coarse"] = "fine",
        spec: DatasetSpec | None = None,
    ) -> None:
        if label_mode not in ("fine", "coarse"):
            raise ValueError(f"label_mode must be 'fine' or 'coarse', not {label_mode!r}")
        check_bool(train, "train")
        spec = REGISTRY["cifar100"] if spec is None else spec
        (path,) = fetch(spec, root, download).values()
        images, coarse, fine, coarse_classes, fine_classes = read_cifar100(path, train)
        self.train = train
        self.label_mode = label_mode
        self.fine_labels, self.coarse_labels = fine, coarse
        self.fine_classes, self.coarse_classes = fine_classes, coarse_classes
        if label_mode == "fine":
            self._set(images, fine, fine_classes)
        else:
            self._set(images, coarse, coarse_classes)
