"""The registry: every canonical file with its sha256 and size, and the mirrors to try.

One table ([`REGISTRY`][maligrad.data.REGISTRY]) drives downloads, verification and the
command line. A [`DatasetSpec`][maligrad.data.DatasetSpec] names a dataset's files by *key*,
their path inside the cache folder (``mnist/train-images-idx3-ubyte.gz``). A canonical
mirror serves each file under its base name (``<mirror>/train-images-idx3-ubyte.gz``); a
mirror given by the ``MALIGRAD_DATA_URL`` environment variable is laid out like the cache
folder (``$MALIGRAD_DATA_URL/mnist/train-images-idx3-ubyte.gz``) and is tried first.

Tests and private mirrors can build their own specs::

    >>> from dataclasses import replace
    >>> from maligrad.data.registry import REGISTRY, get_spec
    >>> spec = get_spec("MNIST")
    >>> spec.name, len(spec.files), spec.files[0].key
    ('mnist', 4, 'mnist/train-images-idx3-ubyte.gz')
    >>> local = replace(spec, mirrors=("http://127.0.0.1:8000/",))
    >>> local.urls(spec.files[0], env_url=None)[0]
    'http://127.0.0.1:8000/train-images-idx3-ubyte.gz'
    >>> sorted(REGISTRY)
    ['cifar10', 'cifar100', 'fashion-mnist', 'mnist']
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

ENV_URL = "MALIGRAD_DATA_URL"
"""Environment variable naming an extra mirror, laid out like the cache folder, tried first."""

ENV_DIR = "MALIGRAD_DATA_DIR"
"""Environment variable naming the cache folder (``root=`` arguments take precedence)."""


@dataclass(frozen=True)
class RemoteFile:
    """One canonical file: its path in the cache (``key``), sha256 and size in bytes."""

    key: str
    sha256: str
    size: int

    @property
    def filename(self) -> str:
        """The file's base name, as canonical mirrors serve it."""
        return PurePosixPath(self.key).name

    @property
    def known_hash(self) -> str:
        """The hash in pooch's ``"sha256:<hex>"`` form."""
        return f"sha256:{self.sha256}"


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset's files and the canonical mirrors that serve them, in the order tried."""

    name: str
    files: tuple[RemoteFile, ...]
    mirrors: tuple[str, ...]
    title: str = ""
    licence: str = ""

    def file(self, filename: str) -> RemoteFile:
        """The file whose base name is ``filename``."""
        for f in self.files:
            if f.filename == filename:
                return f
        known = ", ".join(f.filename for f in self.files)
        raise KeyError(f"{self.name} has no file {filename!r} (it has: {known})")

    def urls(self, file: RemoteFile, env_url: str | None = None) -> list[str]:
        """Every URL to try for ``file``: ``env_url`` (default ``$MALIGRAD_DATA_URL``) first."""
        if env_url is None:
            env_url = os.environ.get(ENV_URL, "")
        urls = []
        if env_url.strip():
            urls.append(_join(env_url.strip(), file.key))
        urls.extend(_join(m, file.filename) for m in self.mirrors)
        return urls


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path


Registry = Mapping[str, DatasetSpec]
"""A mapping from dataset name to its [`DatasetSpec`][maligrad.data.DatasetSpec]."""

_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
_FASHION_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
_CIFAR_MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)

REGISTRY: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        title="MNIST handwritten digits (LeCun, Cortes & Burges)",
        licence="no explicit licence; commonly cited as CC BY-SA 3.0",
        mirrors=_MNIST_MIRRORS,
        files=(
            RemoteFile(
                "mnist/train-images-idx3-ubyte.gz",
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                9912422,
            ),
            RemoteFile(
                "mnist/train-labels-idx1-ubyte.gz",
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                28881,
            ),
            RemoteFile(
                "mnist/t10k-images-idx3-ubyte.gz",
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                1648877,
            ),
            RemoteFile(
                "mnist/t10k-labels-idx1-ubyte.gz",
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                4542,
            ),
        ),
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        title="Fashion-MNIST (Xiao, Rasul & Vollgraf, Zalando Research)",
        licence="MIT (Copyright 2017 Zalando SE)",
        mirrors=_FASHION_MIRRORS,
        files=(
            RemoteFile(
                "fashion-mnist/train-images-idx3-ubyte.gz",
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                26421880,
            ),
            RemoteFile(
                "fashion-mnist/train-labels-idx1-ubyte.gz",
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                29515,
            ),
            RemoteFile(
                "fashion-mnist/t10k-images-idx3-ubyte.gz",
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                4422102,
            ),
            RemoteFile(
                "fashion-mnist/t10k-labels-idx1-ubyte.gz",
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                5148,
            ),
        ),
    ),
    "cifar10": DatasetSpec(
        name="cifar10",
        title="CIFAR-10, binary version (Krizhevsky 2009)",
        licence="no formal licence stated; cite Krizhevsky (2009)",
        mirrors=_CIFAR_MIRRORS,
        files=(
            RemoteFile(
                "cifar-10-binary.tar.gz",
                "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
                170052171,
            ),
        ),
    ),
    "cifar100": DatasetSpec(
        name="cifar100",
        title="CIFAR-100, binary version (Krizhevsky 2009)",
        licence="no formal licence stated; cite Krizhevsky (2009)",
        mirrors=_CIFAR_MIRRORS,
        files=(
            RemoteFile(
                "cifar-100-binary.tar.gz",
                "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec",
                168513733,
            ),
        ),
    ),
}


def _normalise(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def get_spec(name: str, registry: Registry | None = None) -> DatasetSpec:
    """The spec called ``name`` (case, ``-`` and ``_`` ignored: ``"CIFAR-10"`` works).

    >>> get_spec("CIFAR-10").name, get_spec("fashion_mnist").name
    ('cifar10', 'fashion-mnist')
    """
    registry = REGISTRY if registry is None else registry
    if not isinstance(name, str):
        raise TypeError(f"dataset name must be a str, got {type(name).__name__}")
    wanted = _normalise(name)
    for key, spec in registry.items():
        if _normalise(key) == wanted:
            return spec
    raise KeyError(f"unknown dataset {name!r}; known: {', '.join(registry)}")


def pooch_registry(registry: Registry | None = None) -> dict[str, str]:
    """Every file key mapped to its ``"sha256:<hex>"`` hash, the form ``pooch.create`` takes."""
    registry = REGISTRY if registry is None else registry
    return {f.key: f.known_hash for spec in registry.values() for f in spec.files}
