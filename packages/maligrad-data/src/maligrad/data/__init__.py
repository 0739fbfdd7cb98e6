"""maligrad.data: verified MNIST / Fashion-MNIST / CIFAR downloads, an offline sample, loaders.

Framework-neutral: everything is numpy (uint8 NCHW images, int64 labels), and nothing
here imports the maligrad core.

Example::

    >>> from maligrad.data import DataLoader, Normalize, ToFloat, Compose, mnist_sample
    >>> train = mnist_sample(train=True)              # bundled real MNIST, no download
    >>> loader = DataLoader(train, batch_size=128, shuffle=True, generator=0,
    ...                     transform=Compose([ToFloat(), Normalize(0.1307, 0.3081)]))
    >>> x, y = next(iter(loader))
    >>> x.shape, x.dtype, y.dtype
    ((128, 1, 28, 28), dtype('float32'), dtype('int64'))
"""

from .__about__ import __version__
from .dataset import ArrayDataset, Dataset, Subset, random_split
from .datasets import CIFAR10, CIFAR100, MNIST, FashionMNIST, ImageDataset
from .download import cache_dir, fetch
from .errors import DataFormatError, DownloadError
from .loader import DataLoader
from .registry import REGISTRY, DatasetSpec, RemoteFile, get_spec
from .sample import mnist_sample
from .transforms import Compose, Normalize, RandomCrop, RandomHorizontalFlip, ToFloat

__all__ = [
    "CIFAR10",
    "CIFAR100",
    "MNIST",
    "REGISTRY",
    "ArrayDataset",
    "Compose",
    "DataFormatError",
    "DataLoader",
    "Dataset",
    "DatasetSpec",
    "DownloadError",
    "FashionMNIST",
    "ImageDataset",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RemoteFile",
    "Subset",
    "ToFloat",
    "__version__",
    "cache_dir",
    "fetch",
    "get_spec",
    "mnist_sample",
    "random_split",
]
